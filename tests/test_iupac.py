"""IUPAC ambiguity letters in UTRs (genome-derived UTRs carry R, Y, K, M, S, W, B, D, H, V):
read as N, so that no site is found through them, with one warning per file that counts them;
with --strict they are refused, naming the file and line. The run then gives exactly what the
same UTRs with N in those places give. Other letters stay an error."""

from __future__ import annotations

import subprocess

import pytest

from deeptarget_core import io as dio
from deeptarget_core.errors import InputError
from deeptarget_core.seq import AMBIGUOUS_LETTERS, mask_ambiguous

from conftest import BIN, LET7, MIR21, site_of

BODY = "ACGUCAGUCAAGUCGAUCGAUGCAUGCAUCGAUCAGCUAGCUAGCAUGCAUCG"


def _utrs(mark: str) -> str:
    """Three UTRs: u1 with an 8mer of let-7 whose middle letter is ``mark`` and a clean site of
    miR-21; u2 with ``mark`` letters away from any site; u3 clean."""
    let7 = site_of(LET7)
    broken = let7[:4] + mark + let7[5:]
    return (
        f">u1 gene_name=A\n{BODY}{broken}{BODY}\n{site_of(MIR21)}{BODY}\n"
        f">u2\n{BODY[:10]}{mark}{mark}{BODY[12:]}{site_of(LET7)}{BODY}\n"
        f">u3\n{BODY}{site_of(MIR21)}{BODY}\n"
    )


@pytest.fixture
def inputs(tmp_path):
    (tmp_path / "m.fa").write_text(f">let7\n{LET7}\n>mir21\n{MIR21}\n")
    (tmp_path / "iupac.fa").write_text(_utrs("R").replace(f"{BODY[:10]}RR", f"{BODY[:10]}yk"))  # lower case too
    (tmp_path / "n.fa").write_text(_utrs("N"))
    return tmp_path


def run(tool: str, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True)


def test_mask_ambiguous_reads_every_iupac_code_as_n():
    seq = "ACGU" + "".join(sorted(AMBIGUOUS_LETTERS)) + "N"
    assert mask_ambiguous(seq) == ("ACGU" + "N" * 10 + "N", 10)
    assert mask_ambiguous("ACGUN") == ("ACGUN", 0)


def test_dt_scan_cts_reads_them_as_n_and_counts_them(inputs):
    res = run("dt-scan-cts", "--mirna", inputs / "m.fa", "--utr", inputs / "iupac.fa", "-o", inputs / "iupac.tsv")
    assert res.returncode == 0, res.stderr
    ref = run("dt-scan-cts", "--mirna", inputs / "m.fa", "--utr", inputs / "n.fa", "-o", inputs / "n.tsv")
    assert ref.returncode == 0, ref.stderr
    assert (inputs / "iupac.tsv").read_text() == (inputs / "n.tsv").read_text()
    rows = [r.split("\t") for r in (inputs / "iupac.tsv").read_text().splitlines()[1:]]
    assert not any(r[0] == "let7" and r[1] == "u1" for r in rows)  # the site through the R is gone
    assert any(r[0] == "let7" and r[1] == "u2" for r in rows) and any(r[0] == "mir21" and r[1] == "u1" for r in rows)
    assert f"{inputs / 'iupac.fa'}: 3 IUPAC ambiguity letter(s) (K, R, Y) in 2 record(s) read as N" in res.stderr
    assert "IUPAC" not in ref.stderr


def test_strict_refuses_them_naming_file_and_line(inputs):
    res = run("dt-scan-cts", "--mirna", inputs / "m.fa", "--utr", inputs / "iupac.fa", "--strict", "-o", inputs / "s.tsv")
    assert res.returncode == 1 and not (inputs / "s.tsv").exists()
    assert res.stderr.strip() == (
        f"error: {inputs / 'iupac.fa'}:2: record 'u1' contains IUPAC ambiguity letters 'R'; "
        "strict reading accepts only A/C/G/U/T/N"
    )


def test_dt_predict_scan_reads_them_as_n(inputs):
    args = ["--mirna", inputs / "m.fa", "--model", "seed-match"]
    res = run("dt-predict", *args, "--utr", inputs / "iupac.fa", "-o", inputs / "p1.tsv", "--gene-output", inputs / "g1.tsv")
    ref = run("dt-predict", *args, "--utr", inputs / "n.fa", "-o", inputs / "p2.tsv", "--gene-output", inputs / "g2.tsv")
    assert res.returncode == 0 and ref.returncode == 0, res.stderr + ref.stderr
    assert (inputs / "p1.tsv").read_text() == (inputs / "p2.tsv").read_text()
    assert (inputs / "g1.tsv").read_text() == (inputs / "g2.tsv").read_text()
    assert "IUPAC ambiguity letter(s) (K, R, Y) in 2 record(s) read as N" in res.stderr
    strict = run("dt-predict", *args, "--utr", inputs / "iupac.fa", "--strict", "-o", inputs / "p3.tsv")
    assert strict.returncode == 1 and "contains IUPAC ambiguity letters 'R'" in strict.stderr
    assert not (inputs / "p3.tsv").exists()


def test_restricted_scan_through_a_fasta_index_reads_them_as_n(inputs):
    """With id pairs and a .fai, targets are fetched by random access: the same reading."""
    pysam = pytest.importorskip("pysam")
    pysam.faidx(str(inputs / "iupac.fa"))
    pysam.faidx(str(inputs / "n.fa"))
    (inputs / "pairs.tsv").write_text("mirna_id\tmrna_id\nlet7\tu1\nlet7\tu2\nmir21\tu1\n")
    out = {}
    for name in ("iupac", "n"):
        res = run("dt-scan-cts", "--mirna", inputs / "m.fa", "--utr", inputs / f"{name}.fa", "--pairs", inputs / "pairs.tsv",
                  "-o", inputs / f"r_{name}.tsv")  # fmt: skip
        assert res.returncode == 0, res.stderr
        out[name] = ((inputs / f"r_{name}.tsv").read_text(), res.stderr)
    assert out["iupac"][0] == out["n"][0]
    assert "IUPAC ambiguity letter(s) (K, R, Y) in 2 record(s) read as N" in out["iupac"][1]


def test_other_letters_and_mirnas_are_still_refused(tmp_path):
    (tmp_path / "t.fa").write_text(">a\nACGUACGU\n>b\nACGE\n")
    with pytest.raises(InputError, match=r"t.fa:4: record 'b' contains 'E'; only A/C/G/U/T/N are accepted"):
        list(dio.read_fasta(tmp_path / "t.fa", kind="target"))
    (tmp_path / "m.fa").write_text(">m\nUGAGGUAGRAGG\n")
    with pytest.raises(InputError, match=r"contains 'R'; only A/C/G/U/T are accepted"):
        list(dio.read_fasta(tmp_path / "m.fa", kind="mirna"))


def test_the_library_reader_records_what_it_read_as_n(tmp_path, caplog):
    (tmp_path / "t.fa").write_text(">a\nACGRYA\n>b\nACGU\n")
    with caplog.at_level("WARNING", logger="deeptarget"):
        records = list(dio.read_fasta(tmp_path / "t.fa"))
    assert [(r.seq, r.n_ambiguous, sorted(r.ambiguous)) for r in records] == [("ACGNNA", 2, ["R", "Y"]), ("ACGU", 0, [])]
    assert "2 IUPAC ambiguity letter(s) (R, Y) in 1 record(s) read as N" in caplog.text
    with pytest.raises(InputError, match=r"t.fa:2: record 'a' contains IUPAC ambiguity letters 'R', 'Y'"):
        list(dio.read_fasta(tmp_path / "t.fa", strict=True))
