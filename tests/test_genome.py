"""Genome coordinates (--utr-bed, --format bed) and indexed outputs (.bgz + tabix, faidx).

Coordinates are checked two ways: against values worked out by hand (below, in the
comments), and against a synthetic genome: each UTR is cut out of it by its BED12 blocks
(reverse-complemented on the minus strand), and every site's genome blocks must spell the
site's own sequence again.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from deeptarget_core import genome, indexed
from deeptarget_core.errors import InputError

from conftest import BIN

MIRNA = "UGAGGUAGUAGGUUGUAUAGUU"  # let-7a-5p; an 8mer site on the target is CUACCUCA
SITE = "CUACCUCA"


def fill(n: int) -> str:
    return ("AAUAAA" * (n // 6 + 1))[:n]  # no let-7 seed match anywhere


def run(tool: str, *args, cwd=None):
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, cwd=cwd)


# --------------------------------------------------------------------------- hand-computed


def test_plus_strand_site_across_a_junction():
    # exons [100,110) and [150,180): transcript nt 1-10 are genome 100-109, nt 11-40 are 150-179
    tx = genome.Transcript("u", "chr1", "+", ((100, 110), (150, 180)))
    assert tx.length == 40
    assert tx.to_genome(8, 15) == [(107, 110), (150, 155)]  # nt 8-10 and 11-15
    assert tx.to_genome(1, 10) == [(100, 110)]
    assert tx.to_genome(11, 11) == [(150, 151)]
    assert tx.to_genome(40, 40) == [(179, 180)]


def test_minus_strand_site_across_a_junction():
    # exons [1000,1025) and [1040,1046), minus strand: transcript nt 1 is genome 1045, nt 6 is
    # 1040, nt 7 is 1024, nt 31 is 1000
    tx = genome.Transcript("u", "chr2", "-", ((1000, 1025), (1040, 1046)))
    assert tx.length == 31
    assert tx.to_genome(1, 1) == [(1045, 1046)]
    assert tx.to_genome(4, 11) == [(1020, 1025), (1040, 1043)]  # nt 7-11 -> 1024..1020, nt 4-6 -> 1042..1040
    assert tx.to_genome(31, 31) == [(1000, 1001)]
    with pytest.raises(ValueError):
        tx.to_genome(30, 32)


def test_bed_lines_six_and_twelve_columns():
    tx = genome.Transcript("u", "chr2", "-", ((1000, 1025), (1040, 1046)))
    assert genome.bed_line(tx, 4, 11, "m|u|8mer", 950, genome.BED12) == (
        "chr2\t1020\t1043\tm|u|8mer\t950\t-\t1020\t1043\t0\t2\t5,3\t0,20\n"
    )
    assert genome.bed_line(tx, 20, 27, "m|u|8mer", 950, genome.BED6) == "chr2\t1004\t1012\tm|u|8mer\t950\t-\n"
    assert genome.scaled_score(0.9974) == 997 and genome.scaled_score(1.2) == 1000 and genome.scaled_score(-1) == 0


# --------------------------------------------------------------------------- the tools, end to end


COMP = str.maketrans("ACGU", "UGCA")


def revcomp(s: str) -> str:
    return s.translate(COMP)[::-1]


@pytest.fixture()
def synthetic(tmp_path):
    """A genome, a BED12 annotation of four UTRs (both strands, 1-3 exons) and the UTR FASTA
    cut from the genome by the annotation, with let-7 8mers placed across exon junctions."""
    utrs = {
        # name: (strand, exon sizes, transcript sequence)
        "u_plus": ("+", [10, 30], fill(7) + SITE + fill(25)),  # site nt 8-15: 3 + 5 across the junction
        "u_minus": ("-", [25, 6], fill(3) + SITE + fill(20)),  # 31 nt; the first 6 nt are the right exon
        "u_three": ("+", [5, 4, 20], fill(2) + SITE + fill(19)),  # site nt 3-10 over three exons: 3 + 4 + 1
        "u_single": ("-", [40], fill(20) + SITE + fill(12)),
    }
    chrom_len = 4000
    genome_seq = {"chrA": list(fill(chrom_len)), "chrB": list(fill(chrom_len))}
    bed_lines, fasta = [], []
    place = {"u_plus": ("chrA", 100), "u_minus": ("chrB", 1000), "u_three": ("chrA", 2000), "u_single": ("chrB", 3000)}
    for name, (strand, sizes, seq) in utrs.items():
        assert sum(sizes) == len(seq)
        chrom, start = place[name]
        starts, pos = [], 0
        for size in sizes:
            starts.append(pos)
            pos += size + 40  # 40-nt introns
        end = start + starts[-1] + sizes[-1]
        plus_strand_seq = seq if strand == "+" else revcomp(seq)
        exon_seq = iter(plus_strand_seq)
        for s, n in zip(starts, sizes):
            for i in range(n):
                genome_seq[chrom][start + s + i] = next(exon_seq)
        bed_lines.append(
            f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\t{start}\t{end}\t0\t{len(sizes)}\t"
            + ",".join(map(str, sizes))
            + ",\t"
            + ",".join(map(str, starts))
            + ",\n"
        )
        fasta.append(f">{name}\n{seq}\n")
    (tmp_path / "m.fa").write_text(f">let-7a\n{MIRNA}\n")
    (tmp_path / "utrs.fa").write_text("".join(fasta))
    (tmp_path / "utrs.bed").write_text("track name=utrs\n" + "".join(bed_lines))
    return tmp_path, {c: "".join(s) for c, s in genome_seq.items()}


def spell(genome_seq: dict[str, str], fields: list[str]) -> str:
    """The transcript-strand sequence of a BED6/BED12 line, read from the genome."""
    chrom, start, strand = fields[0], int(fields[1]), fields[5]
    if len(fields) >= 12:
        sizes = [int(x) for x in fields[10].split(",") if x]
        starts = [int(x) for x in fields[11].split(",") if x]
        seq = "".join(genome_seq[chrom][start + s : start + s + n] for s, n in zip(starts, sizes))
    else:
        seq = genome_seq[chrom][start : int(fields[2])]
    return seq if strand == "+" else revcomp(seq)


def test_scan_bed_matches_hand_computed_coordinates_and_the_genome(synthetic):
    d, genome_seq = synthetic
    res = run("dt-scan-cts", "--mirna", d / "m.fa", "--utr", d / "utrs.fa", "--utr-bed", d / "utrs.bed", "--format", "bed")
    assert res.returncode == 0, res.stderr
    lines = [line.split("\t") for line in res.stdout.splitlines()]
    by_name = {f[3]: f for f in lines}
    assert all(len(f) == 12 for f in lines)  # multi-exon annotation: every line BED12
    # u_plus: exons [100,110) [150,180); site nt 8-15 -> [107,110) + [150,155)
    assert by_name["let-7a|u_plus|8mer"] == "chrA 107 155 let-7a|u_plus|8mer 950 + 107 155 0 2 3,5 0,43".split()
    # u_minus: exons [1000,1025) [1065,1071); transcript nt 1 = 1070; site nt 4-11:
    # nt 4-6 -> 1067..1065, nt 7-11 -> 1024..1020
    assert by_name["let-7a|u_minus|8mer"] == "chrB 1020 1068 let-7a|u_minus|8mer 950 - 1020 1068 0 2 5,3 0,45".split()
    # u_three: exons [2000,2005) [2045,2049) [2089,2109); site nt 3-10 -> 3 + 4 + 1 nt
    assert by_name["let-7a|u_three|8mer"] == "chrA 2002 2090 let-7a|u_three|8mer 950 + 2002 2090 0 3 3,4,1 0,43,87".split()
    # u_single: [3000,3040) minus; site nt 21-28 -> 3019..3012
    assert by_name["let-7a|u_single|8mer"] == "chrB 3012 3020 let-7a|u_single|8mer 950 - 3012 3020 0 1 8 0".split()
    for f in lines:
        assert spell(genome_seq, f) == SITE, f


def test_predict_bed_scores_are_the_model_scores(synthetic):
    d, genome_seq = synthetic
    common = ["--mirna", d / "m.fa", "--utr", d / "utrs.fa", "--model", "seed-match"]
    tsv = run("dt-predict", *common)
    bed = run("dt-predict", *common, "--utr-bed", d / "utrs.bed", "--format", "bed")
    assert tsv.returncode == 0 and bed.returncode == 0, bed.stderr
    scores = {r.split("\t")[1]: float(r.split("\t")[-1]) for r in tsv.stdout.splitlines()[1:]}  # one site per UTR
    assert len(scores) == 4
    for line in bed.stdout.splitlines():
        f = line.split("\t")
        assert int(f[4]) == round(1000 * scores[f[3].split("|")[1]])
        assert spell(genome_seq, f) == SITE
    # a site table piped in gives the same BED
    scan = run("dt-scan-cts", "--mirna", d / "m.fa", "--utr", d / "utrs.fa", "-o", d / "sites.tsv")
    assert scan.returncode == 0
    piped = run(
        "dt-predict",
        d / "sites.tsv",
        "--mirna",
        d / "m.fa",
        "--model",
        "seed-match",
        "--utr-bed",
        d / "utrs.bed",
        "--format",
        "bed",
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == bed.stdout


def test_single_exon_annotation_gives_bed6_and_bed12_on_request(tmp_path):
    (tmp_path / "m.fa").write_text(f">let-7a\n{MIRNA}\n")
    (tmp_path / "u.fa").write_text(f">u1\n{fill(20) + SITE + fill(12)}\n")
    (tmp_path / "u.bed").write_text("chr1\t500\t540\tu1\t0\t+\n")  # BED6: one exon
    args = ["--mirna", tmp_path / "m.fa", "--utr", tmp_path / "u.fa", "--utr-bed", tmp_path / "u.bed"]
    six = run("dt-scan-cts", *args, "--format", "bed")
    assert six.returncode == 0, six.stderr
    assert six.stdout == "chr1\t520\t528\tlet-7a|u1|8mer\t950\t+\n"
    twelve = run("dt-scan-cts", *args, "--format", "bed12")
    assert twelve.stdout == "chr1\t520\t528\tlet-7a|u1|8mer\t950\t+\t520\t528\t0\t1\t8\t0\n"


@pytest.mark.parametrize(
    "line, message",
    [
        ("chr1\t100\t180\tu_plus\t0\t+\t100\t180\t0\t2\t10,30,\t0,60,\n", "not at chromEnd 180"),
        ("chr1\t100\t180\tu_plus\t0\t.\t100\t180\t0\t2\t10,30,\t0,50,\n", "strand '.'"),
        ("chr1\tx\t180\tu_plus\t0\t+\n", "not whole numbers"),
        ("chr1\t100\t180\tu_plus\t0\t+\t100\t180\t0\t3\t10,30,\t0,50,\n", "blockCount is 3"),
        ("chr1 100 180 u_plus 0 +\n", "tab-separated"),
        ("chr1\t100\t180\tu_plus\t0\t+\t100\t180\t0\t2\t30,30,\t0,20,\n", "ascending"),
    ],
)
def test_bad_bed_line_is_one_error_line_naming_file_and_line(tmp_path, line, message):
    (tmp_path / "m.fa").write_text(f">let-7a\n{MIRNA}\n")
    (tmp_path / "u.fa").write_text(f">u_plus\n{fill(40)}\n")
    bed = tmp_path / "bad.bed"
    bed.write_text("# a comment\n" + line)
    res = run("dt-scan-cts", "--mirna", tmp_path / "m.fa", "--utr", tmp_path / "u.fa", "--utr-bed", bed, "--format", "bed")
    assert res.returncode == 1
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {bed}:2: "), res.stderr
    assert message in err[0]


def test_length_mismatch_and_missing_utr_are_errors(synthetic):
    d, _ = synthetic
    (d / "short.bed").write_text("chrA\t100\t130\tu_plus\t0\t+\n")
    res = run("dt-scan-cts", "--mirna", d / "m.fa", "--utr", d / "utrs.fa", "--utr-bed", d / "short.bed", "--format", "bed")
    assert res.returncode == 1
    assert "target 'u_plus' is 40 nt but its exons" in res.stderr and "30 nt" in res.stderr
    (d / "some.bed").write_text("chrA\t100\t140\tu_plus\t0\t+\n")
    res = run(
        "dt-scan-cts",
        "--mirna",
        d / "m.fa",
        "--utr",
        d / "utrs.fa",
        "--utr-bed",
        d / "some.bed",
        "--format",
        "bed",
        "-o",
        d / "x.bed",
    )
    assert res.returncode == 1 and "'u_minus' has no line in the UTR annotation" in res.stderr
    assert not (d / "x.bed").exists()


def test_format_bed_needs_utr_bed_and_site_coordinates(tmp_path):
    (tmp_path / "m.fa").write_text(f">let-7a\n{MIRNA}\n")
    (tmp_path / "u.fa").write_text(f">u1\n{fill(40)}\n")
    res = run("dt-scan-cts", "--mirna", tmp_path / "m.fa", "--utr", tmp_path / "u.fa", "--format", "bed")
    assert res.returncode == 2 and "needs --utr-bed" in res.stderr
    (tmp_path / "u.bed").write_text("chr1\t0\t40\tu1\t0\t+\n")
    pairs = tmp_path / "cts.tsv"
    pairs.write_text(f"mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nlet-7a\t{MIRNA}\tu1\t{fill(30) + SITE + 'AA'}\n")
    res = run("dt-predict", "--pair-table", pairs, "--model", "seed-match", "--utr-bed", tmp_path / "u.bed", "--format", "bed")
    assert res.returncode == 1 and "needs site coordinates" in res.stderr


# --------------------------------------------------------------------------- bgzip + tabix


def test_bgz_site_table_round_trips_through_tabix(synthetic):
    pysam = pytest.importorskip("pysam")
    d, _ = synthetic
    out = d / "sites.tsv.bgz"
    res = run("dt-scan-cts", "--mirna", d / "m.fa", "--utr", d / "utrs.fa", "-o", out)
    assert res.returncode == 0, res.stderr
    assert (d / "sites.tsv.bgz.tbi").is_file()
    plain = run("dt-scan-cts", "--mirna", d / "m.fa", "--utr", d / "utrs.fa").stdout.splitlines()
    with gzip.open(out, "rt") as f:
        text = f.read().splitlines()
    assert text[0] == "#" + plain[0]  # the header is kept as tabix meta
    keys = [(r.split("\t")[1], int(r.split("\t")[3])) for r in text[1:]]
    assert keys == sorted(keys) and sorted(text[1:]) == sorted(plain[1:])
    with pysam.TabixFile(str(out)) as tbx:
        assert sorted(tbx.contigs) == ["u_minus", "u_plus", "u_single", "u_three"]
        hits = list(tbx.fetch("u_plus", 9, 10))  # 0-based half-open: nt 10, inside the site nt 8-15
        assert len(hits) == 1 and hits[0].split("\t")[3:5] == ["8", "15"]
        assert list(tbx.fetch("u_plus", 20, 30)) == []
        assert list(tbx.header) == ["#" + plain[0]]  # what `tabix -H` prints
    # and the suite reads it back as the same table
    again = run("dt-predict", out, "--mirna", d / "m.fa", "--model", "seed-match")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == plain[0] + "\tscore"
    # dt-predict reads the bgzip table as any gzip input
    res = run("dt-predict", out, "--mirna", d / "m.fa", "--model", "seed-match")
    assert res.returncode == 0, res.stderr
    if shutil.which("tabix"):
        cli = subprocess.run(["tabix", str(out), "u_plus:10-10"], capture_output=True, text=True)
        assert cli.returncode == 0 and cli.stdout.splitlines() == [h for h in hits]


def test_bgz_bed_round_trips_through_tabix(synthetic):
    pysam = pytest.importorskip("pysam")
    d, _ = synthetic
    out = d / "sites.bed.bgz"
    res = run(
        "dt-predict",
        "--mirna",
        d / "m.fa",
        "--utr",
        d / "utrs.fa",
        "--model",
        "seed-match",
        "--utr-bed",
        d / "utrs.bed",
        "--format",
        "bed",
        "-o",
        out,
    )
    assert res.returncode == 0, res.stderr
    with pysam.TabixFile(str(out)) as tbx:
        assert sorted(tbx.contigs) == ["chrA", "chrB"]
        hits = list(tbx.fetch("chrB", 1030, 1066))  # the intron of u_minus: its BED12 line spans it
        assert [h.split("\t")[3] for h in hits] == ["let-7a|u_minus|8mer"]
    with gzip.open(out, "rt") as f:
        rows = [r.split("\t") for r in f.read().splitlines()]
    assert [(r[0], int(r[1])) for r in rows] == sorted((r[0], int(r[1])) for r in rows)
    if shutil.which("tabix"):
        cli = subprocess.run(["tabix", str(out), "chrA:108-108"], capture_output=True, text=True)
        assert cli.returncode == 0 and [x.split("\t")[3] for x in cli.stdout.splitlines()] == ["let-7a|u_plus|8mer"]


def test_bgz_output_needs_site_coordinates_and_a_file(tmp_path):
    pairs = tmp_path / "cts.tsv"
    pairs.write_text(f"mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm\t{MIRNA}\tu1\t{fill(30) + SITE + 'AA'}\n")
    res = run("dt-predict", "--pair-table", pairs, "--model", "seed-match", "-o", tmp_path / "x.tsv.bgz")
    assert res.returncode == 1 and "indexed on mrna_id/site_start/site_end" in res.stderr
    assert not list(tmp_path.glob("*.bgz*")) and not list(tmp_path.glob(".x*"))


def test_external_sort_merges_runs_stably(tmp_path, monkeypatch):
    monkeypatch.setattr(indexed, "SORT_CHUNK_ROWS", 3)
    header = "mirna_id\tmrna_id\tsite_type\tsite_start\tsite_end\n"
    rows = [f"m{i % 4}\tu{i % 3}\t8mer\t{(i * 7) % 11 + 1}\t{(i * 7) % 11 + 8}\n" for i in range(20)]
    with indexed.indexed_output(tmp_path / "s.tsv.bgz", indexed.SITE_TABLE) as h:
        h.write(header)
        h.writelines(rows)
    with gzip.open(tmp_path / "s.tsv.bgz", "rt") as f:
        got = f.read().splitlines(True)
    key = lambda r: (r.split("\t")[1], int(r.split("\t")[3]), int(r.split("\t")[4]))  # noqa: E731
    assert got == ["#" + header] + sorted(rows, key=key)  # Python's sort is stable: same ties order


# --------------------------------------------------------------------------- faidx


def test_faidx_lengths_and_random_access(tmp_path):
    pysam = pytest.importorskip("pysam")
    fa = tmp_path / "u.fa"
    fa.write_text(">a desc\nACGTAC\nGT\n>b\nNNAC\n>c\nUUUUU\n")
    assert indexed.indexed_lengths(fa) is None  # no index: the caller reads the FASTA
    pysam.faidx(str(fa))
    assert indexed.indexed_lengths(fa) == {"a": 8, "b": 4, "c": 5}
    recs = list(indexed.read_some_targets(fa, {"c", "a"}))
    assert [(r.id, r.seq) for r in recs] == [("a", "ACGUACGU"), ("c", "UUUUU")]
    # bgzip FASTA with .fai and .gzi
    pysam.tabix_compress(str(fa), str(tmp_path / "u.fa.gz"))
    pysam.faidx(str(tmp_path / "u.fa.gz"))
    assert [r.seq for r in indexed.read_some_targets(tmp_path / "u.fa.gz", {"b"})] == ["NNAC"]
    # a FASTA newer than its index is read whole, not through the stale index
    import os

    os.utime(fa, (os.path.getmtime(fa.with_suffix(".fa.fai")) + 10,) * 2)
    assert indexed.fasta_index(fa) is None


def test_bad_letters_through_faidx_are_input_errors(tmp_path):
    pysam = pytest.importorskip("pysam")
    fa = tmp_path / "u.fa"
    fa.write_text(">a\nACGXAC\n")
    pysam.faidx(str(fa))
    with pytest.raises(InputError, match="contains 'X'"):
        list(indexed.read_some_targets(fa, {"a"}))


def test_scan_with_id_pairs_reads_an_indexed_fasta_by_random_access(tmp_path):
    pysam = pytest.importorskip("pysam")
    examples = Path(__file__).resolve().parents[1] / "examples"
    fa = tmp_path / "utrs.fa"
    with gzip.open(examples / "utrs.fa.gz", "rt") as f:
        fa.write_text(f.read())
    ids = tmp_path / "ids.tsv"
    ids.write_text(
        "mirna_id\tmrna_id\nhsa-let-7a-5p\tUTR013_let-7a-5p_8mer+7mer-m8\nhsa-miR-21-5p\tUTR003_miR-21-5p_8mer+7mer-A1\n"
    )
    args = ["--mirna", examples / "mirnas.fa", "--utr", fa, "--id-pairs", ids]
    plain = run("dt-scan-cts", *args)
    pysam.faidx(str(fa))
    indexed_run = run("dt-scan-cts", *args, "-v")
    assert plain.returncode == indexed_run.returncode == 0, indexed_run.stderr
    assert indexed_run.stdout == plain.stdout and len(plain.stdout.splitlines()) > 2
    assert "through its .fai index" in indexed_run.stderr
    # an id missing from the FASTA is still an error naming the pair list
    ids.write_text("mirna_id\tmrna_id\nhsa-let-7a-5p\tnot-there\n")
    res = run("dt-scan-cts", *args)
    assert res.returncode == 1 and "not-there" in res.stderr and str(ids) in res.stderr


def test_poisson_utr_lengths_come_from_the_fai(tmp_path):
    pysam = pytest.importorskip("pysam")
    examples = Path(__file__).resolve().parents[1] / "examples"
    fa = tmp_path / "utrs.fa"
    with gzip.open(examples / "utrs.fa.gz", "rt") as f:
        fa.write_text(f.read())
    sites = tmp_path / "sites.tsv"
    assert run("dt-scan-cts", "--mirna", examples / "mirnas.fa", "--utr", fa, "-o", sites).returncode == 0
    args = [
        sites,
        "--mirna",
        examples / "mirnas.fa",
        "--utr",
        fa,
        "--model",
        "seed-match",
        "--aggregate",
        "poisson",
        "-o",
        "/dev/null",
        "--gene-output",
        "-",
    ]
    plain = run("dt-predict", *args)
    pysam.faidx(str(fa))
    from deeptarget_core.predict import read_utr_lengths

    assert read_utr_lengths(fa) == indexed.indexed_lengths(fa) and len(read_utr_lengths(fa)) == 40
    fast = run("dt-predict", *args)
    assert plain.returncode == fast.returncode == 0, fast.stderr
    assert fast.stdout == plain.stdout


def test_bed_lines_without_blocks_are_one_exon_and_extra_columns_are_ignored():
    nine = genome.parse_bed_line("chr1\t10\t50\tu\t0\t-\t10\t50\t255,0,0\n", "a.bed", 3)
    assert nine.exons == ((10, 50),) and nine.strand == "-" and nine.line == 3
    fourteen = genome.parse_bed_line("chr1\t10\t50\tu\t0\t+\t10\t50\t0\t2\t5,5\t0,35\tx\ty\n", "a.bed", 1)
    assert fourteen.exons == ((10, 15), (45, 50)) and fourteen.length == 10


def test_pair_table_utrs_map_to_the_genome_too(synthetic):
    d, genome_seq = synthetic
    utrs = dict(zip(*[iter(x.strip() for x in (d / "utrs.fa").read_text().splitlines())] * 2))
    table = d / "pt.tsv"
    table.write_text(
        "mirna_id\tmirna_seq\tmrna_id\tmrna_seq\n"
        + "".join(f"let-7a\t{MIRNA}\t{name[1:]}\t{seq}\n" for name, seq in utrs.items())
    )
    scan = run("dt-scan-cts", "--pair-table", table, "--utr-bed", d / "utrs.bed", "--format", "bed")
    assert scan.returncode == 0, scan.stderr
    lines = [line.split("\t") for line in scan.stdout.splitlines()]
    assert len(lines) == 4 and all(spell(genome_seq, f) == SITE for f in lines)
    pred = run(
        "dt-predict",
        "--pair-table",
        table,
        "--level",
        "gene",
        "--model",
        "seed-match",
        "--aggregate",
        "max",
        "--utr-bed",
        d / "utrs.bed",
        "--format",
        "bed",
    )
    assert pred.returncode == 0, pred.stderr
    assert [f[:4] for f in (x.split("\t") for x in pred.stdout.splitlines())] == [f[:4] for f in lines]
    (d / "short.bed").write_text("chrA\t100\t130\tu_plus\t0\t+\n")
    bad = run("dt-scan-cts", "--pair-table", table, "--utr-bed", d / "short.bed", "--format", "bed")
    assert bad.returncode == 1 and "target 'u_plus' is 40 nt but its exons" in bad.stderr


def test_gene_model_reads_only_the_site_tables_utrs_through_the_fai(tmp_path):
    pysam = pytest.importorskip("pysam")
    examples = Path(__file__).resolve().parents[1] / "examples"
    fa = tmp_path / "utrs.fa"
    with gzip.open(examples / "utrs.fa.gz", "rt") as f:
        fa.write_text(f.read())
    ids = tmp_path / "ids.tsv"
    ids.write_text(
        "mirna_id\tmrna_id\nhsa-let-7a-5p\tUTR013_let-7a-5p_8mer+7mer-m8\nhsa-miR-21-5p\tUTR003_miR-21-5p_8mer+7mer-A1\n"
    )
    sites = tmp_path / "sites.tsv"
    assert run("dt-scan-cts", "--mirna", examples / "mirnas.fa", "--utr", fa, "--id-pairs", ids, "-o", sites).returncode == 0
    args = [
        sites,
        "--mirna",
        examples / "mirnas.fa",
        "--utr",
        fa,
        "-o",
        "/dev/null",
        "--gene-output",
        "-",
    ]
    plain = run("dt-predict", *args)
    pysam.faidx(str(fa))
    fast = run("dt-predict", *args, "-v")
    assert plain.returncode == fast.returncode == 0, fast.stderr
    assert fast.stdout == plain.stdout and len(plain.stdout.splitlines()) == 3
    assert "reading 2 record(s)" in fast.stderr and "through its .fai index" in fast.stderr
