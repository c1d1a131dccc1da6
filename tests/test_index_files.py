"""Index files beside a FASTA are checked against it, never trusted blindly.

A ``.fai`` (and a bgzip FASTA's ``.gzi``) that does not match its FASTA (older than it,
garbage, numbers that do not fit the file, records missing or moved) is ignored by the tools
that only read it (dt-scan-cts --id-pairs, dt-predict reading UTRs and their lengths: the FASTA
is read whole, with one ``note:`` line) and rebuilt by dt-extract-utrs (which builds one
anyway). The outputs are those of a run without any index: never a traceback, never an error
that blames the FASTA. A sound index (samtools' own, on plain, CRLF and bgzip FASTA) passes the
check.
"""

from __future__ import annotations

import os

import pytest

from deeptarget_core import indexed

from conftest import invoke, unpack_reference

pysam = pytest.importorskip("pysam")


def _shift(text: str, by: int) -> str:
    rows = [r.split("\t") for r in text.splitlines()]
    return "".join("\t".join([r[0], r[1], str(int(r[2]) + by), *r[3:]]) + "\n" for r in rows)


def _longer(text: str) -> str:
    rows = [r.split("\t") for r in text.splitlines()]
    return "".join("\t".join([r[0], str(int(r[1]) * 10), *r[2:]]) + "\n" for r in rows)


# how an index goes wrong: a function of the sound index's text (None: made stale instead)
BROKEN = {
    "garbage": lambda t: "this is not an index\n",
    "binary": lambda t: bytes(range(256)).decode("latin-1"),
    "empty": lambda t: "",
    "offsets-moved": lambda t: _shift(t, 3),
    "offsets-past-the-end": lambda t: _shift(t, 10_000),
    "lengths-too-long": _longer,
    "record-missing": lambda t: "".join(t.splitlines(keepends=True)[:-1]),
    "repeated-name": lambda t: t + t.splitlines(keepends=True)[0],
    "other-fasta": lambda t: "let7\t22\t6\t22\t23\nmir21\t22\t35\t22\t23\n",
    "stale": None,
}


def _break(fasta, how: str) -> None:
    fai = fasta.with_name(fasta.name + ".fai")
    pysam.faidx(str(fasta))
    if BROKEN[how] is None:
        os.utime(fai, (1_000_000, 1_000_000))  # older than the FASTA
    else:
        fai.write_bytes(BROKEN[how](fai.read_text()).encode("latin-1"))


def _wrapped(d):
    """The toy UTRs with lines of one width (what faidx can index), in place."""
    fa = d / "utrs.fa"
    recs = [r.split("\n", 1) for r in fa.read_text().split(">")[1:]]
    fa.write_text(
        "".join(
            f">{h}\n" + "".join(s[i : i + 50] + "\n" for i in range(0, len(s), 50))
            for h, s in ((h, s.replace("\n", "")) for h, s in recs)
        )
    )
    return d


def _clean(res) -> None:
    assert res.code == 0, res.stderr
    assert "Traceback" not in res.stderr and "error:" not in res.stderr


SCAN = ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "--id-pairs", "{d}/idpairs.tsv", "-o", "{d}/{out}"]
PREDICT = [
    *("{d}/sites.tsv", "--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "--model", "{d}/toy.pt"),
    *("--aggregate", "poisson", "-o", "{d}/{out}", "--gene-output", "{d}/genes_{out}"),
]


@pytest.mark.parametrize("tool, argv", [("dt-scan-cts", SCAN), ("dt-predict", PREDICT)], ids=["scan", "predict"])
@pytest.mark.parametrize("how", list(BROKEN))
def test_a_reading_tool_ignores_an_index_that_does_not_match(work, tool, argv, how):
    _wrapped(work)
    plain = invoke(tool, [a.format(d=work, out="plain.tsv") for a in argv])
    _clean(plain)
    _break(work / "utrs.fa", how)
    res = invoke(tool, [a.format(d=work, out="broken.tsv") for a in argv])
    _clean(res)
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:") and "utrs.fa.fai" in line]
    assert len(notes) == 1, res.stderr
    assert (work / "broken.tsv").read_bytes() == (work / "plain.tsv").read_bytes()
    if tool == "dt-predict":
        assert (work / "genes_broken.tsv").read_bytes() == (work / "genes_plain.tsv").read_bytes()


def test_a_sound_index_is_used_without_a_note(work):
    _wrapped(work)
    pysam.faidx(str(work / "utrs.fa"))
    res = invoke("dt-scan-cts", [a.format(d=work, out="o.tsv") for a in SCAN] + ["-v"])
    _clean(res)
    assert "through its .fai index" in res.stderr and "note:" not in res.stderr


@pytest.fixture
def genome(tmp_path):
    return unpack_reference(tmp_path)


def _extract(d, genome_name: str, out: str):
    return invoke("dt-extract-utrs", ["--gtf", d / "ann.gtf", "--genome", d / genome_name, "-o", d / out])


@pytest.mark.parametrize("how", list(BROKEN))
def test_extract_utrs_rebuilds_an_index_that_does_not_match(genome, how):
    _clean(_extract(genome, "genome.fa", "plain.fa"))
    sound = (genome / "genome.fa.fai").read_bytes()
    _break(genome / "genome.fa", how)
    res = _extract(genome, "genome.fa", "rebuilt.fa")
    _clean(res)
    assert any(line.startswith("note:") and "genome.fa.fai" in line for line in res.stderr.splitlines()), res.stderr
    assert (genome / "rebuilt.fa").read_bytes() == (genome / "plain.fa").read_bytes()
    assert (genome / "genome.fa.fai").read_bytes() == sound


def _wrong_gzi(sound: bytes) -> bytes:
    """Well formed (a count and that many pairs) but pointing where no block starts."""
    return (1).to_bytes(8, "little") + (5).to_bytes(8, "little") + (100).to_bytes(8, "little")


GZI = {"garbage": lambda b: b"\x07" * 37, "empty": lambda b: b"", "wrong-offsets": _wrong_gzi, "stale": None}


@pytest.mark.parametrize("how", list(GZI))
def test_a_reading_tool_ignores_a_gzi_that_does_not_match(work, how):
    _wrapped(work)
    pysam.tabix_compress(str(work / "utrs.fa"), str(work / "utrs.fa.bgz"))
    argv = [a.replace("utrs.fa", "utrs.fa.bgz") for a in SCAN]
    plain = invoke("dt-scan-cts", [a.format(d=work, out="plain.tsv") for a in argv])
    _clean(plain)
    pysam.faidx(str(work / "utrs.fa.bgz"))
    gzi = work / "utrs.fa.bgz.gzi"
    if GZI[how] is None:
        os.utime(gzi, (1_000_000, 1_000_000))
    else:
        gzi.write_bytes(GZI[how](gzi.read_bytes()))
    res = invoke("dt-scan-cts", [a.format(d=work, out="broken.tsv") for a in argv])
    _clean(res)
    assert sum(line.startswith("note:") for line in res.stderr.splitlines()) == 1, res.stderr
    assert (work / "broken.tsv").read_bytes() == (work / "plain.tsv").read_bytes()


def test_extract_utrs_indexes_for_the_run_when_a_folder_is_in_the_index_place(genome):
    _clean(_extract(genome, "genome.fa", "plain.fa"))
    (genome / "genome.fa.fai").unlink()
    (genome / "genome.fa.fai").mkdir()
    res = _extract(genome, "genome.fa", "again.fa")
    _clean(res)
    assert "indexed for this run only" in res.stderr and (genome / "genome.fa.fai").is_dir()
    assert (genome / "again.fa").read_bytes() == (genome / "plain.fa").read_bytes()


@pytest.mark.parametrize("gzi", ["garbage", "empty", "stale"])
def test_extract_utrs_rebuilds_a_bgzip_genomes_gzi_that_does_not_match(genome, gzi):
    pysam.tabix_compress(str(genome / "genome.fa"), str(genome / "g.fa.bgz"))
    _clean(_extract(genome, "g.fa.bgz", "first.fa"))
    path = genome / "g.fa.bgz.gzi"
    sound = path.read_bytes()
    if gzi == "stale":
        os.utime(path, (1_000_000, 1_000_000))
    else:
        path.write_bytes(b"" if gzi == "empty" else b"\x07" * 37)
    res = _extract(genome, "g.fa.bgz", "again.fa")
    _clean(res)
    assert (genome / "again.fa").read_bytes() == (genome / "first.fa").read_bytes()
    assert path.read_bytes() == sound


@pytest.mark.parametrize("form", ["plain", "crlf", "long-header", "bgzip"])
def test_samtools_own_index_passes_the_check(tmp_path, form):
    records = "".join(f">r{i}{' x' * 3000 if form == 'long-header' else ''}\n{'ACGU' * 20}\nAC\n" for i in range(200))
    fa = tmp_path / "t.fa"
    fa.write_bytes(records.replace("\n", "\r\n").encode() if form == "crlf" else records.encode())
    if form == "bgzip":
        pysam.tabix_compress(str(fa), str(tmp_path / "t.fa.bgz"))
        fa = tmp_path / "t.fa.bgz"
    pysam.faidx(str(fa))
    gzi = fa.with_name(fa.name + ".gzi") if form == "bgzip" else None
    assert indexed.index_problem(fa, fa.with_name(fa.name + ".fai"), gzi) == ""
    assert indexed.fasta_index(fa) is not None
    assert len(indexed.indexed_lengths(fa)) == 200


def test_an_index_named_like_another_records_file_is_reported_by_name(tmp_path):
    fa = tmp_path / "t.fa"
    fa.write_text(">a\nACGU\n>b\nGGGG\n")
    pysam.faidx(str(fa))
    fai = tmp_path / "t.fa.fai"
    fai.write_text(fai.read_text().replace("a\t", "z\t", 1))  # the first record renamed
    assert "record 'z' is not where it says" in indexed.index_problem(fa, fai)
