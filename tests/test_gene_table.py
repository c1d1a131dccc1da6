"""Gene tables ready to read: grouped by miRNA, sorted and ranked within it, named; one gene's
view (--gene); seed families (--families); a site model that the gene model ignores does not
pass for a baseline."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from pathlib import Path

import pytest

from deeptarget_core.gene_table import GeneInfo, RankedGeneTable, info_of_header

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BIN = Path(sys.executable).parent
HEADER = "mirna_id\tmrna_id\tscore\tn_sites\tbest_site_type\tlabel\n"


def test_rows_are_grouped_sorted_ranked_and_named():
    out = io.StringIO()
    table = RankedGeneTable(out, names={"t2": GeneInfo("ENSG2", "PTEN")})
    # written in pieces that split lines, miRNAs interleaved (as chunks of a scan are)
    text = HEADER + "m1\tt1\t0.2\t1\t6mer\t0\nm2\tt1\t0.9\t1\t8mer\t1\nm1\tt2\t0.7\t2\t8mer\t1\nm1\tt3\t0.2\t1\t6mer\t0\n"
    for i in range(0, len(text), 7):
        table.write(text[i : i + 7])
    table.close()
    assert out.getvalue() == (
        "mirna_id\tmrna_id\tscore\tn_sites\tbest_site_type\trank\tgene_name\tlabel\n"
        "m1\tt2\t0.7\t2\t8mer\t1\tPTEN\t1\n"
        "m1\tt1\t0.2\t1\t6mer\t2\t\t0\n"  # a tie keeps the input order
        "m1\tt3\t0.2\t1\t6mer\t3\t\t0\n"
        "m2\tt1\t0.9\t1\t8mer\t1\t\t1\n"
    )
    assert table.n_written == 4


def test_one_gene_view_keeps_the_rank_among_each_mirnas_genes():
    out = io.StringIO()
    names = {"ENST1.3": GeneInfo("ENSG1.7", "PTEN"), "ENST2.1": GeneInfo("ENSG2.1", "TP53")}
    table = RankedGeneTable(out, names=names, gene="pten")
    table.write(HEADER + "a\tENST2.1\t0.9\t1\t8mer\t1\na\tENST1.3\t0.5\t1\t6mer\t1\nb\tENST1.3\t0.8\t1\t8mer\t1\n")
    table.close()
    rows = [r.split("\t") for r in out.getvalue().splitlines()[1:]]
    assert [(r[0], r[5]) for r in rows] == [("b", "1"), ("a", "2")]  # by score across miRNAs
    for query in ("ENSG1", "ENST1.3", "enst1"):
        out = io.StringIO()
        table = RankedGeneTable(out, names=names, gene=query)
        table.write(HEADER + "a\tENST1.3\t0.5\t1\t6mer\t1\n")
        table.close()
        assert len(out.getvalue().splitlines()) == 2, query


def test_families_keep_the_best_member_per_target():
    out = io.StringIO()
    table = RankedGeneTable(out, families={"let7a": "let-7/98", "let7b": "let-7/98", "m21": "seed:AGCUUAU"})
    table.write(
        HEADER
        + "let7a\tt1\t0.3\t1\t6mer\t0\nlet7b\tt1\t0.6\t1\t8mer\t1\nlet7a\tt2\t0.5\t1\t7mer-m8\t1\nm21\tt1\t0.1\t1\t6mer\t0\n"
    )
    table.close()
    lines = out.getvalue().splitlines()
    assert lines[0].split("\t")[5:8] == ["rank", "gene_name", "mirna_family"]
    assert [r.split("\t")[:2] + r.split("\t")[5:8:2] for r in lines[1:]] == [
        ["let7b", "t1", "1", "let-7/98"],
        ["let7a", "t2", "2", "let-7/98"],
        ["m21", "t1", "1", "seed:AGCUUAU"],
    ]


def test_gene_names_from_headers():
    assert info_of_header("ENST00000371953.8 gene_id=ENSG00000171862.11 gene_name=PTEN") == GeneInfo("ENSG00000171862.11", "PTEN")
    # Ensembl cDNA FASTA headers
    assert (
        info_of_header("ENST1.1 cdna chromosome:GRCh38:10:1:2:1 gene:ENSG1.2 gene_biotype:x gene_symbol:PTEN").gene_name == "PTEN"
    )
    assert info_of_header("UTR001 no gene here") == GeneInfo()


def _predict(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "dt-predict"), *map(str, args)], cwd=tmp_path, capture_output=True, text=True)


@pytest.fixture()
def named_utrs(tmp_path: Path) -> Path:
    """The example UTRs with gene names in their headers (as dt-extract-utrs writes them)."""
    with gzip.open(EXAMPLES / "utrs.fa.gz", "rt") as f:
        text = f.read()
    out, k = [], 0
    for line in text.splitlines():
        if line.startswith(">"):
            k += 1
            line = f"{line} gene_id=G{k} gene_name=GENE{k}"
        out.append(line)
    path = tmp_path / "named.fa"
    path.write_text("\n".join(out) + "\n")
    return path


def test_dt_predict_gene_table_is_ranked_and_named(tmp_path, named_utrs):
    res = _predict(tmp_path, "--mirna", EXAMPLES / "mirnas.fa", "--utr", named_utrs, "-o", "s.tsv", "--gene-output", "g.tsv")
    assert res.returncode == 0, res.stderr
    lines = (tmp_path / "g.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    # the gene model's own column (predicted_log2fc) comes before rank and gene_name
    assert header[:5] == ["mirna_id", "mrna_id", "score", "n_sites", "best_site_type"] and header[-2:] == ["rank", "gene_name"]
    rank, name = header.index("rank"), header.index("gene_name")
    rows = [r.split("\t") for r in lines[1:]]
    seen: list[str] = []
    for i, r in enumerate(rows):
        if not seen or seen[-1] != r[0]:
            assert r[0] not in seen and r[rank] == "1"  # each miRNA once, as one group
            seen.append(r[0])
        else:
            assert int(r[rank]) == int(rows[i - 1][rank]) + 1 and float(r[2]) <= float(rows[i - 1][2])
        assert r[name] == "GENE" + str(int(r[1][3:6]))  # UTR007_... is the 7th record
    # one gene's view: the same rows of that gene, ranks unchanged
    res = _predict(
        tmp_path,
        "--mirna",
        EXAMPLES / "mirnas.fa",
        "--utr",
        named_utrs,
        "-o",
        "s2.tsv",
        "--gene-output",
        "one.tsv",
        "--gene",
        "gene13",
    )
    assert res.returncode == 0, res.stderr
    one = [r.split("\t") for r in (tmp_path / "one.tsv").read_text().splitlines()[1:]]
    assert one and sorted(one) == sorted(r for r in rows if r[name] == "GENE13")
    assert [float(r[2]) for r in one] == sorted((float(r[2]) for r in one), reverse=True)


def test_a_site_model_the_gene_model_ignores_switches_to_max_with_a_warning(tmp_path):
    common = ["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", "s.tsv"]
    assert _predict(tmp_path, *common, "--gene-output", "default.tsv").returncode == 0
    res = _predict(tmp_path, *common, "--model", "seed-match", "--gene-output", "seed.tsv")
    assert res.returncode == 0, res.stderr
    assert "gene scores by --aggregate max" in res.stderr
    default, seed = ((tmp_path / n).read_text() for n in ("default.tsv", "seed.tsv"))
    assert default != seed
    scores = {float(r.split("\t")[2]) for r in seed.splitlines()[1:]}
    assert scores <= {0.95, 0.85, 0.75, 0.55}  # the seed-match baseline's site-type scores


def test_gene_table_options_need_a_gene_table(tmp_path):
    res = _predict(tmp_path, "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", "s.tsv", "--gene", "X")
    assert res.returncode == 2 and "--gene, --genes and --families shape the gene table" in res.stderr


def test_a_gene_without_rows_is_said_and_the_table_keeps_its_header(caplog):
    out = io.StringIO()
    table = RankedGeneTable(out, names={"t1": GeneInfo("G1", "PTEN")}, gene="TP53")
    table.write(HEADER + "m1\tt1\t0.2\t1\t6mer\t0\n")
    with caplog.at_level("WARNING", logger="deeptarget"):
        table.close()
    assert out.getvalue() == "mirna_id\tmrna_id\tscore\tn_sites\tbest_site_type\trank\tgene_name\tlabel\n"
    assert table.n_written == 0 and "no row for gene 'TP53'" in caplog.text
