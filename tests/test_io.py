"""File formats: FASTA/TSV readers, gzip, stdin, atomic outputs, robust errors."""

from __future__ import annotations

import gzip
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeptarget_core import io, streams
from deeptarget_core.errors import InputError


def write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_fasta_normalises_case_t_and_line_endings(tmp_path):
    p = write(tmp_path / "u.fa", b">a desc here\r\nacgt\r\nNNac\r\n>b\nUUUU\n")
    recs = list(io.read_fasta(p))
    assert [(r.id, r.seq, r.line) for r in recs] == [("a", "ACGUNNAC", 1), ("b", "UUUU", 4)]


def test_gzip_and_bgzip_inputs_are_detected_by_content(tmp_path):
    import pysam

    plain = write(tmp_path / "u.fa", b">a\nACGU\n>b\nGGGG\n")
    gz = write(tmp_path / "u.weird-name", gzip.compress(plain.read_bytes()))
    pysam.tabix_compress(str(plain), str(tmp_path / "u.fa.bgz"))
    for path in (gz, tmp_path / "u.fa.bgz"):
        assert [r.seq for r in io.read_fasta(path)] == ["ACGU", "GGGG"]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "no FASTA records"),
        (b"ACGU\n", "expected a '>' header"),
        (b">a\n>b\nACGU\n", "empty sequence"),
        (b">a\nACGU\n>a\nACGU\n", "duplicate sequence id"),
        (b">a\nACXU\n", "contains 'X'"),
        (b">\nACGU\n", "header without an id"),
        (b"\x00\x01\x02binary", "binary"),
        (gzip.compress(b">a\nACGU\n" * 100, mtime=0)[:-20], "gzip"),
    ],
)
def test_fasta_errors(tmp_path, content, message):
    p = write(tmp_path / "bad.fa", content)
    with pytest.raises(InputError) as err:
        list(io.read_fasta(p))
    assert message in str(err.value)
    assert str(p) in str(err.value)


def test_fasta_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        list(io.read_fasta(tmp_path / "nope.fa"))
    with pytest.raises(InputError, match="is a directory"):
        list(io.read_fasta(tmp_path))


def test_mirna_policy(tmp_path):
    p = write(tmp_path / "m.fa", b">m\nUGAGGUAGNAGG\n")
    with pytest.raises(InputError, match="only A/C/G/U/T"):
        list(io.read_fasta(p, kind="mirna"))
    assert list(io.read_fasta(p, kind="target"))[0].seq == "UGAGGUAGNAGG"
    long = write(tmp_path / "l.fa", b">m\n" + b"A" * 31 + b"\n")
    with pytest.raises(InputError, match="expected 8-30 nt"):
        list(io.read_fasta(long, kind="mirna"))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet=">ACGUTNacgutn \n\r\tXR-", max_size=200).map(str.encode))
def test_fasta_reader_never_raises_anything_but_input_error(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("fuzz") / "x.fa"
    p.write_bytes(data)
    try:
        records = list(io.read_fasta(p))
    except InputError:
        return
    for r in records:
        assert r.seq and set(r.seq) <= set("ACGUN")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ab\t\n\r01xyACGU", max_size=200))
def test_pair_reader_never_raises_anything_but_input_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "p.tsv"
    p.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n" + text)
    try:
        _, pairs = io.read_pairs(p)
    except InputError:
        return
    for pair in pairs:
        assert pair.label in (0, 1)


def test_pair_table_errors_name_line(tmp_path):
    header = "mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n"
    good = "m\tUGAGGUAGUAGG\tt\tACGUACGU\t1\n"
    p = write(tmp_path / "p.tsv", (header + good + "m\tUGAGGUAGUAGG\tt\tACGU\t2\n").encode())
    with pytest.raises(InputError, match=r"p.tsv:3: label must be 0 or 1"):
        io.read_pairs(p)
    p = write(tmp_path / "q.tsv", ("mirna_id\tmrna_id\n" + "a\tb\n").encode())
    with pytest.raises(InputError, match="missing column"):
        io.read_pairs(p)
    p = write(tmp_path / "r.tsv", (header + "m\tUGAGGUAGUAGG\tt\n").encode())
    with pytest.raises(InputError, match=r"r.tsv:2: expected 5 tab-separated fields"):
        io.read_pairs(p)


def test_pair_table_keeps_extra_columns(tmp_path):
    p = write(tmp_path / "p.tsv", b"mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tsplit\nm\tugagguaguagg\tt\tacgt\tval\n")
    extra, pairs = io.read_pairs(p)
    assert extra == ["split"]
    assert pairs[0].mirna_seq == "UGAGGUAGUAGG" and pairs[0].mrna_seq == "ACGU"
    assert pairs[0].extra == ("val",) and pairs[0].label is None


def test_atomic_output_complete_or_absent(tmp_path):
    out = tmp_path / "x.tsv"
    with streams.atomic_output(out) as f:
        f.write("hello\n")
    assert out.read_text() == "hello\n"
    assert stat.S_IMODE(out.stat().st_mode) & 0o044  # readable by others, like open()
    with pytest.raises(RuntimeError):
        with streams.atomic_output(tmp_path / "y.tsv") as f:
            f.write("partial")
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tsv"]


def test_atomic_output_gzip_and_missing_directory(tmp_path):
    with streams.atomic_output(tmp_path / "z.tsv.gz") as f:
        f.write("a\tb\n")
    assert gzip.decompress((tmp_path / "z.tsv.gz").read_bytes()) == b"a\tb\n"
    with pytest.raises(InputError, match="output directory does not exist"):
        with streams.atomic_output(tmp_path / "missing" / "z.tsv"):
            pass


def test_atomic_output_to_device_writes_through(tmp_path):
    with streams.atomic_output(os.devnull) as f:
        f.write("discarded")
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)


def test_read_id_pairs_both_layouts(tmp_path):
    p = write(tmp_path / "a.tsv", b"mrna_id\tx\tmirna_id\nt1\t0\tm1\nt2\t0\tm1\n")
    assert io.read_id_pairs(p) == {"m1": {"t1", "t2"}}
    q = write(tmp_path / "b.tsv", b"m1\tt1\nm2\tt1\n")
    assert io.read_id_pairs(q) == {"m1": {"t1"}, "m2": {"t1"}}
    r = write(tmp_path / "c.tsv", b"a\tb\tc\n")
    with pytest.raises(InputError):
        io.read_id_pairs(r)
