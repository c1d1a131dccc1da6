"""Compressed outputs: .gz through ISA-L (deterministic whatever the threads and the writes),
.bgz through BGZF blocks + a tabix index whose header is the table's header line."""

from __future__ import annotations

import gzip
import hashlib
import random
import subprocess
import sys
import threading

import pytest

from deeptarget_core import indexed, streams
from deeptarget_core.errors import InputError

from conftest import BIN, EXAMPLES


def site_rows(n: int, seed: int = 0) -> list[str]:
    """Site-table lines with the variety of a real scan (compressible, not trivially)."""
    rng = random.Random(seed)
    types = ["8mer", "7mer-m8", "7mer-A1", "6mer"]
    rows = []
    for _ in range(n):
        start = rng.randrange(1, 5000)
        cts = "".join(rng.choice("ACGU") for _ in range(40))
        rows.append(
            f"hsa-miR-{rng.randrange(1, 900)}-5p\tENST{rng.randrange(10**6):011d}\t{rng.choice(types)}\t{start}\t{start + 7}\t{start - 29}\t{start + 10}\t{cts}\n"
        )
    return rows


HEADER = "mirna_id\tmrna_id\tsite_type\tsite_start\tsite_end\tcts_start\tcts_end\tcts_seq\n"


@pytest.fixture
def small_blocks(monkeypatch):
    """64 KiB deflate blocks, so that a few MB of text make many blocks and threads."""
    monkeypatch.setattr(streams, "GZIP_BLOCK", 1 << 16)


def write_gz(path, text: str, pieces: list[int] | None = None, flush: bool = False) -> bytes:
    """``text`` through atomic_output in pieces of the given sizes (cycled), flushing after
    each when asked; returns the file's bytes."""
    with streams.atomic_output(path) as handle:
        if pieces is None:
            handle.write(text)
        else:
            i, k = 0, 0
            while i < len(text):
                size = pieces[k % len(pieces)]
                handle.write(text[i : i + size])
                if flush:
                    handle.flush()
                i, k = i + size, k + 1
    return path.read_bytes()


def test_gz_bytes_depend_only_on_the_text(tmp_path, monkeypatch, small_blocks):
    text = HEADER + "".join(site_rows(30_000))  # ~2.7 MB: about 40 blocks of 64 KiB
    outputs = {}
    for threads in ("1", "2", "3", "4"):
        monkeypatch.setenv(streams.GZIP_THREADS_ENV, threads)
        outputs[f"whole, {threads} threads"] = write_gz(tmp_path / f"w{threads}.tsv.gz", text)
        outputs[f"pieces+flush, {threads} threads"] = write_gz(
            tmp_path / f"p{threads}.tsv.gz", text, pieces=[1, 8191, 70_000, 333], flush=True
        )
    outputs["again"] = write_gz(tmp_path / "again.tsv.gz", text)
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in outputs.items()}
    assert len(set(digests.values())) == 1, digests
    data = outputs["again"]
    # a gzip member with mtime 0, no file name (FLG 0), and the text back through stdlib gzip
    assert data[:4] == b"\x1f\x8b\x08\x00" and data[4:8] == b"\x00\x00\x00\x00"
    assert gzip.decompress(data).decode() == text
    assert len(data) < len(text) / 2  # compressed, not stored


def test_gz_is_read_back_by_the_suite_readers(tmp_path):
    from deeptarget_core import io as dio

    rows = site_rows(2_000)
    path = tmp_path / "sites.tsv.gz"
    with streams.atomic_output(path) as handle:
        handle.write(HEADER)
        handle.writelines(rows)
    with streams.open_input(path) as f:
        assert "".join(f) == HEADER + "".join(rows)
    table = dio.read_tsv(path, required=["mirna_id", "site_start"])
    assert table.columns == HEADER.rstrip("\n").split("\t") and len(table.rows) == len(rows)


def test_gz_binary_output_and_empty_output(tmp_path):
    with streams.atomic_output(tmp_path / "b.gz", binary=True) as handle:
        handle.write(b"abc" * 1000)
        handle.write(memoryview(b"xyz"))
    assert gzip.decompress((tmp_path / "b.gz").read_bytes()) == b"abc" * 1000 + b"xyz"
    with streams.atomic_output(tmp_path / "e.gz"):
        pass
    assert gzip.decompress((tmp_path / "e.gz").read_bytes()) == b""


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_gz_output_is_complete_or_absent(tmp_path, monkeypatch, small_blocks, error):
    monkeypatch.setenv(streams.GZIP_THREADS_ENV, "3")
    before = threading.active_count()
    text = "".join(site_rows(5_000))
    with pytest.raises(error):
        with streams.atomic_output(tmp_path / "x.tsv.gz") as handle:
            handle.write(text)  # several blocks are with the compressor's threads by now
            raise error("boom")
    assert list(tmp_path.iterdir()) == []  # no partial output, no temporary file
    assert threading.active_count() == before  # the compressor's threads ended


def test_gz_threads_setting_is_checked(monkeypatch):
    monkeypatch.setenv(streams.GZIP_THREADS_ENV, "two")
    with pytest.raises(InputError, match="DT_GZIP_THREADS"):
        streams.compression_threads()
    monkeypatch.setenv(streams.GZIP_THREADS_ENV, "2")
    assert streams.compression_threads() == 2
    monkeypatch.delenv(streams.GZIP_THREADS_ENV)
    assert 1 <= streams.compression_threads() <= streams.GZIP_MAX_THREADS


def test_gz_without_isal_falls_back_to_stdlib_gzip(tmp_path, monkeypatch, small_blocks):
    monkeypatch.setitem(sys.modules, "isal", None)  # import isal fails
    text = "".join(site_rows(3_000))
    first = write_gz(tmp_path / "a.gz", text, pieces=[5000], flush=True)
    second = write_gz(tmp_path / "b.gz", text)
    assert first == second and gzip.decompress(first).decode() == text


def test_dt_scan_cts_gz_output_is_the_plain_output_compressed(tmp_path):
    args = [str(BIN / "dt-scan-cts"), "--mirna", str(EXAMPLES / "mirnas.fa"), "--utr", str(EXAMPLES / "utrs.fa.gz"), "-q"]
    plain = subprocess.run(args, capture_output=True, check=True).stdout
    subprocess.run(args + ["-o", str(tmp_path / "a.tsv.gz")], check=True)
    subprocess.run(args + ["-o", str(tmp_path / "b.tsv.gz")], check=True, env={"DT_GZIP_THREADS": "1", "PATH": ""})
    a, b = (tmp_path / "a.tsv.gz").read_bytes(), (tmp_path / "b.tsv.gz").read_bytes()
    assert a == b and gzip.decompress(a) == plain and plain.count(b"\n") > 100


# --------------------------------------------------------------------------- .bgz + tabix


def write_bgz(path, rows: list[str], header: str = HEADER) -> bytes:
    with indexed.indexed_output(path, indexed.SITE_TABLE) as handle:
        handle.write(header)
        handle.writelines(rows)
    return path.read_bytes()


def tabix_key(row: str) -> tuple:
    f = row.split("\t")
    return (f[1], int(f[3]), int(f[4]))


@pytest.mark.parametrize("chunk", [10**6, 997])
def test_bgz_is_bgzf_sorted_stably_and_the_same_whatever_the_threads(tmp_path, monkeypatch, chunk):
    pysam = pytest.importorskip("pysam")
    monkeypatch.setattr(indexed, "SORT_CHUNK_ROWS", chunk)  # one run in memory, or many merged
    rows = site_rows(6_000)
    rows += [f"m{i}\t{rows[0].split(chr(9))[1]}\t8mer\t5\t12\t1\t40\tACGU\n" for i in range(30)]  # ties
    outputs = []
    for threads in ("1", "3"):
        monkeypatch.setenv(streams.GZIP_THREADS_ENV, threads)
        outputs.append(write_bgz(tmp_path / f"s{threads}.tsv.bgz", rows))
    assert outputs[0] == outputs[1]
    data = outputs[0]
    assert data[12:16] == b"BC\x02\x00" and data.endswith(
        bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    )
    text = gzip.decompress(data).decode()
    body = text.splitlines(True)[1:]
    assert body == sorted(rows, key=tabix_key)  # Python's sort is stable: input order among ties
    with pysam.TabixFile(str(tmp_path / "s1.tsv.bgz")) as tbx:
        seq, start = tabix_key(rows[0])[:2]
        hits = list(tbx.fetch(seq, start - 1, start))
        assert rows[0].rstrip("\n") in hits
        assert len(list(tbx.fetch(seq))) == sum(1 for r in rows if tabix_key(r)[0] == seq)


def test_bgz_output_is_complete_or_absent(tmp_path, monkeypatch):
    monkeypatch.setattr(indexed, "SORT_CHUNK_ROWS", 100)
    with pytest.raises(RuntimeError):
        with indexed.indexed_output(tmp_path / "s.tsv.bgz", indexed.SITE_TABLE) as handle:
            handle.write(HEADER)
            handle.writelines(site_rows(1_000))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InputError, match="nothing to index"):
        with indexed.indexed_output(tmp_path / "e.tsv.bgz", indexed.SITE_TABLE):
            pass
    with pytest.raises(InputError, match="whole numbers"):
        write_bgz(tmp_path / "bad.tsv.bgz", ["m\tu\t8mer\tten\t12\t1\t40\tACGU\n"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("binary", [False, True])
def test_a_bgz_name_that_is_not_a_sorted_table_is_still_bgzip(tmp_path, monkeypatch, binary):
    """A gene table, a FASTA, a metrics table or a log named *.bgz was written as plain text:
    it is bgzip's format (BGZF, readable by gzip and pysam), the same bytes whatever the threads."""
    import pysam

    text = "".join(f">r{i}\n{'ACGU' * (i % 50 + 1)}\n" for i in range(5000))
    data = text.encode() if binary else text
    written = []
    for threads in ("1", "3"):
        monkeypatch.setenv("DT_GZIP_THREADS", threads)
        path = tmp_path / f"t{threads}.fa.bgz"
        with streams.atomic_output(path, binary=binary) as out:
            out.write(data)
        written.append(path.read_bytes())
    raw = written[0]
    assert raw == written[1] and raw[:4] == b"\x1f\x8b\x08\x04" and raw[12:14] == b"BC"
    assert raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    assert gzip.decompress(raw).decode() == text
    pysam.faidx(str(tmp_path / "t1.fa.bgz"))  # htslib indexes only a real bgzip FASTA
    assert pysam.FastaFile(str(tmp_path / "t1.fa.bgz")).fetch("r7") == "ACGU" * 8


def test_dt_eval_bgz_output_is_bgzip(tmp_path):
    pred = tmp_path / "pred.tsv"
    pred.write_text("mirna_id\tmrna_id\tscore\tlabel\nm\ta\t0.9\t1\nm\tb\t0.1\t0\n")
    for out in ("m.tsv", "m.tsv.bgz"):
        res = subprocess.run([str(BIN / "dt-eval"), pred, "-o", tmp_path / out, "-q"], capture_output=True, timeout=300)
        assert res.returncode == 0, res.stderr
    raw = (tmp_path / "m.tsv.bgz").read_bytes()
    assert raw[12:14] == b"BC" and gzip.decompress(raw) == (tmp_path / "m.tsv").read_bytes()
