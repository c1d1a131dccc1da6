"""dt-scan-cts as a user runs it: files, gzip, pipes, pairs, errors."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from deeptarget_core.io import SITE_COLUMNS

from conftest import EXAMPLES

SCAN = [sys.executable, "-m", "deeptarget_tools.scan_cts"]


def run(args, stdin=None, cwd=None):
    return subprocess.run(
        [str(Path(sys.executable).parent / "dt-scan-cts"), *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines()]


def test_example_scan_has_header_and_sorted_rows():
    res = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz"])
    assert res.returncode == 0, res.stderr
    table = rows(res.stdout)
    assert table[0] == list(SITE_COLUMNS)
    body = table[1:]
    assert len(body) > 20
    mirna_order = [l[1:].strip() for l in (EXAMPLES / "mirnas.fa").read_text().splitlines() if l.startswith(">")]
    mirna_rank = {m: i for i, m in enumerate(mirna_order)}
    with gzip.open(EXAMPLES / "utrs.fa.gz", "rt") as f:
        utr_rank = {l[1:].split()[0]: i for i, l in enumerate(x for x in f if x.startswith(">"))}
    keys = [(mirna_rank[r[0]], utr_rank[r[1]], int(r[3])) for r in body]
    assert keys == sorted(keys)
    assert {r[2] for r in body} <= {"8mer", "7mer-m8", "7mer-A1", "6mer"}
    assert all(len(r[7]) == 40 for r in body)
    assert "sites" in res.stderr  # the summary goes to stderr, data to stdout


def test_every_planted_site_is_found():
    res = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "--site-types", "relaxed"])
    assert res.returncode == 0, res.stderr
    found = {(r[0].replace("hsa-", ""), r[1], r[2]) for r in rows(res.stdout)[1:]}
    with gzip.open(EXAMPLES / "utrs.fa.gz", "rt") as f:
        utr_ids = [l[1:].strip() for l in f if l.startswith(">")]
    for uid in utr_ids:
        _, mirna, kinds = uid.split("_")
        for kind in kinds.split("+"):
            assert (mirna, uid, kind) in found, (uid, kind)


def test_stdin_pipe_and_output_file_agree(tmp_path):
    out = tmp_path / "sites.tsv"
    utr_text = gzip.decompress((EXAMPLES / "utrs.fa.gz").read_bytes()).decode()
    piped = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", "-"], stdin=utr_text)
    to_file = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", out])
    assert piped.returncode == to_file.returncode == 0
    assert to_file.stdout == ""
    assert out.read_text() == piped.stdout


def test_same_command_gives_identical_output(tmp_path):
    a, b = tmp_path / "a.tsv.gz", tmp_path / "b.tsv.gz"
    for out in (a, b):
        assert run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", out]).returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).startswith(b"mirna_id\t")


def test_pairs_restriction_and_pairs_with_seq(tmp_path):
    pairs = tmp_path / "pairs.tsv"
    lines = (EXAMPLES / "pairs.tsv").read_text().splitlines()
    header, body = lines[0], lines[1:6]
    pairs.write_text("\n".join([header, *body]) + "\n")
    wanted = {(l.split("\t")[0], l.split("\t")[2]) for l in body}
    restricted = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "--pairs", pairs])
    with_seq = run(["--pairs-with-seq", pairs])
    assert restricted.returncode == 0 and with_seq.returncode == 0, restricted.stderr + with_seq.stderr
    got = {(r[0], r[1]) for r in rows(restricted.stdout)[1:]}
    assert got and got <= wanted
    assert sorted(rows(restricted.stdout)) == sorted(rows(with_seq.stdout))
    # two bare id columns work too
    ids = tmp_path / "ids.tsv"
    ids.write_text("".join(f"{m}\t{t}\n" for m, t in sorted(wanted)))
    bare = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "--pairs", ids])
    assert bare.stdout == restricted.stdout


def test_broken_pipe_is_not_an_error():
    proc = subprocess.run(
        f"'{Path(sys.executable).parent / 'dt-scan-cts'}' --mirna '{EXAMPLES / 'mirnas.fa'}' "
        f"--utr '{EXAMPLES / 'utrs.fa.gz'}' --site-types relaxed | head -2",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert len(proc.stdout.splitlines()) == 2
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr


@pytest.mark.parametrize(
    "mirna_text, utr_text, message",
    [
        ("", ">u\nACGU\n", "no FASTA records"),
        ("hello\n", ">u\nACGU\n", "expected a '>' header"),
        (">m\nUGAGGUAGUAGG\n>m\nUGAGGUAGUAGG\n", ">u\nACGU\n", "duplicate sequence id 'm'"),
        (">m\nUGAGGRAGUAGG\n", ">u\nACGU\n", "contains 'R'"),
        (">m\nUGAGG\n", ">u\nACGU\n", "expected 8-30 nt"),
        (">m\nUGAGGUAGUAGG\n", ">u\n\n>v\nACGU\n", "empty sequence"),
    ],
)
def test_bad_input_gives_one_error_line_and_no_output(tmp_path, mirna_text, utr_text, message):
    m, u, out = tmp_path / "m.fa", tmp_path / "u.fa", tmp_path / "out.tsv"
    m.write_text(mirna_text)
    u.write_text(utr_text)
    res = run(["--mirna", m, "--utr", u, "-o", out])
    assert res.returncode == 1
    assert res.stderr.startswith("error: ")
    assert len(res.stderr.strip().splitlines()) == 1
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists() and list(tmp_path.glob(".out.tsv*")) == []


def test_error_names_file_and_line(tmp_path):
    m = tmp_path / "m.fa"
    m.write_text(">a\nUGAGGUAGUAGG\n>b\nUGAXGUAGUAGG\n")
    res = run(["--mirna", m, "--utr", EXAMPLES / "utrs.fa.gz", "--strict"])
    assert res.returncode == 1
    assert f"{m}:4:" in res.stderr  # the line that holds the bad letter (issue 18 §6)
    # without --strict the record is skipped, named in one warning line, and the scan goes on
    res = run(["--mirna", m, "--utr", EXAMPLES / "utrs.fa.gz"])
    assert res.returncode == 0
    assert f"{m}: skipped 1 record(s) that cannot be miRNAs, the first at line 4: record 'b' contains 'X'" in res.stderr


def test_missing_file_and_usage_errors(tmp_path):
    res = run(["--mirna", tmp_path / "nope.fa", "--utr", EXAMPLES / "utrs.fa.gz"])
    assert res.returncode == 1 and "no such file" in res.stderr
    res = run(["--mirna", EXAMPLES / "mirnas.fa"])
    assert res.returncode == 2 and "give --mirna and --utr (or --pair-table)" in res.stderr
    res = run(["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "--cts-length", "5"])
    assert res.returncode == 2 and "--cts-length" in res.stderr and "greater than or equal to 20" in res.stderr


def test_windows_line_endings_and_lower_case_are_accepted(tmp_path):
    m, u = tmp_path / "m.fa", tmp_path / "u.fa"
    m.write_bytes(b">let7\r\nugagguaguagguuguauaguu\r\n")
    u.write_bytes(b">u1\r\nCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC\r\nCTACCTCACCCCCCCCCCC\r\n")
    res = run(["--mirna", m, "--utr", u])
    assert res.returncode == 0, res.stderr
    body = rows(res.stdout)[1:]
    # CUACCUCA across the CRLF line break: an 8mer of let-7 at 33-40
    assert [r[2:5] for r in body] == [["8mer", "33", "40"]]


def test_help_and_version_are_fast_and_do_not_import_torch():
    code = "import sys; from deeptarget_tools import scan_cts; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "False"
    assert run(["--version"]).stdout.startswith("deeptarget ")
