"""Indexed files through pysam: bgzip + tabix outputs, faidx random access to FASTA.

* An output named ``*.bgz`` (``sites.tsv.bgz``, ``sites.bed.bgz``) is written sorted as tabix
  needs (by sequence, then start, then end; input order among ties), bgzip-compressed, with a
  tabix index beside it (``sites.tsv.bgz.tbi``). Site tables are indexed on ``mrna_id`` /
  ``site_start`` / ``site_end`` (1-based, the header kept as a ``#`` meta line), BED files as BED. A ``.gz``
  name stays a plain gzip stream in the tool's own row order (no index): the two are chosen
  by name so that nothing changes for existing ``.gz`` users.
* A FASTA with a current ``.fai`` index (``samtools faidx``; a bgzip FASTA also needs its
  ``.gzi``) is read by random access when only some records, or only the lengths, are needed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from . import io as dio
from . import streams
from .errors import InputError
from .seq import AMBIGUOUS_LETTERS, TARGET_LETTERS, mask_ambiguous, normalise
from .streams import compression_threads

log = logging.getLogger("deeptarget")

INDEXED_SUFFIX = ".bgz"
SORT_CHUNK_ROWS = 200_000

# tabix column layout (1-based columns) of the two indexed formats
SITE_TABLE = "sites"
BED = "bed"


def is_indexed_output(path: str | os.PathLike) -> bool:
    return str(path).endswith(INDEXED_SUFFIX)


def _site_columns(columns: list[str]) -> tuple[tuple[int, int, int], dict]:
    try:
        seq, start, end = (columns.index(c) for c in ("mrna_id", "site_start", "site_end"))
    except ValueError:
        raise InputError(
            "a .bgz output is indexed on mrna_id/site_start/site_end; this table has no such columns "
            f"(header: {', '.join(columns)}): write .tsv or .tsv.gz instead"
        ) from None
    return (seq, start, end), dict(seq_col=seq, start_col=start, end_col=end, meta_char="#", zerobased=False)


_BED_COLUMNS = (0, 1, 2)


# ----------------------------------------------------------------- sorting (memory-bounded)
#
# Rows are sorted by (sequence, start, end), input order among ties, in runs of about
# SORT_CHUNK_ROWS rows cut while the tool writes: each run's three key columns are parsed by
# pandas' C reader and ordered with numpy (a stable lexsort), not by a Python key per line.
# A table of one run goes straight to the compressor; several runs are written to temporary
# files with their keys (.npy) and merged a block at a time: what every run's block holds up
# to the smallest last key of the runs still being read is sorted and written. Keys end with
# the row's input index, so no two are equal and the merge is the stable sort exactly.

MERGE_BLOCK_ROWS = 100_000


def _parse_keys(data: bytes, cols: tuple[int, int, int]) -> tuple:
    """(sequence names, starts, ends) of the lines in ``data`` (numpy arrays)."""
    import csv
    import io as _io

    import numpy as np
    import pandas as pd

    if not data:
        return np.array([], dtype=object), np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    seq, start, end = cols
    try:
        frame = pd.read_csv(
            _io.BytesIO(data),
            sep="\t",
            header=None,
            usecols=[seq, start, end],
            dtype={seq: str, start: np.int64, end: np.int64},
            quoting=csv.QUOTE_NONE,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot sort the rows for tabix (positions must be whole numbers): {exc}") from None
    return frame[seq].to_numpy(dtype=object), frame[start].to_numpy(), frame[end].to_numpy()


def _order(names, starts, ends) -> tuple:
    """The stable order of the rows by (name, start, end); the sorted distinct names and each
    row's index among them."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(names, sort=True)
    return np.lexsort((ends, starts, codes)), codes, list(uniques)


class _Run:
    """One sorted run on disk (lines and their keys), read back a block at a time."""

    def __init__(self, workdir: Path, number: int, lines: list[bytes], keys: tuple, base: int):
        import numpy as np

        names, starts, ends = keys
        order, codes, self.names = _order(names, starts, ends)
        self.path = workdir / f"run{number}.txt"
        with open(self.path, "wb") as f:
            f.write(b"\n".join([lines[i] for i in order.tolist()]) + b"\n")
        self.keys = workdir / f"run{number}.npy"
        np.save(self.keys, np.stack([codes[order], starts[order], ends[order], order + base]).astype(np.int64))
        self.rows = len(lines)

    def open(self, code_map) -> None:
        import numpy as np

        self.handle = open(self.path, "rb")
        self.key_rows = np.load(self.keys, mmap_mode="r")
        self.code_map = code_map  # this run's name index -> the index among all runs' names
        self.read = 0

    def next_block(self, size: int) -> tuple[list[bytes], object]:
        import itertools

        import numpy as np

        lines = list(itertools.islice(self.handle, size))
        keys = np.array(self.key_rows[:, self.read : self.read + len(lines)])
        keys[0] = self.code_map[keys[0]]
        self.read += len(lines)
        return lines, keys

    @property
    def more(self) -> bool:
        return self.read < self.rows

    def close(self) -> None:
        handle = self.__dict__.pop("handle", None)
        if handle is not None:
            handle.close()
            self.key_rows = None


def _up_to(keys, bound: tuple) -> int:
    """How many columns of the sorted ``keys`` (4 x n) are <= ``bound``."""
    lo, hi = 0, keys.shape[1]
    while lo < hi:  # binary search over the columns, comparing tuples
        mid = (lo + hi) // 2
        if tuple(int(v) for v in keys[:, mid]) <= bound:
            lo = mid + 1
        else:
            hi = mid
    return lo


class _Sorter(io.RawIOBase):
    """The binary stream under the text handle of :func:`indexed_output`: cuts what the tool
    writes into runs of about SORT_CHUNK_ROWS lines, sorts each run (spilled to ``workdir``
    when there are several) and gives the sorted table back from :meth:`sorted_blocks`."""

    def __init__(self, cols: tuple[int, int, int] | None, workdir: Path, name: str):
        super().__init__()
        self.name = name
        self.discard = False  # after an error: what is still flushed is dropped
        self.cols = cols  # None: a site table, whose columns are read from its header
        self.workdir = workdir
        self.header = b""
        self.conf: dict = dict(preset="bed")
        self._pieces: list[bytes] = []
        self._lines = 0
        self._last: tuple[list[bytes], tuple] | None = None  # the last run, not spilled
        self._runs: list[_Run] = []
        self._rows = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        piece = bytes(data)
        if self.discard:
            return len(piece)
        self._pieces.append(piece)
        self._lines += piece.count(b"\n")
        if self._lines >= SORT_CHUNK_ROWS + (self.cols is None):
            self._cut()
        return len(piece)

    def _cut(self, final: bool = False) -> None:
        data = b"".join(self._pieces)
        end = len(data) if final else data.rfind(b"\n") + 1
        if final and data and not data.endswith(b"\n"):
            data += b"\n"
            end = len(data)
        self._pieces = [data[end:]] if end < len(data) else []
        self._lines = 0
        data = data[:end]
        if self.cols is None:  # the site table's header line
            if not data:
                return
            first = data.find(b"\n") + 1
            self.header, data = data[:first], data[first:]
            self.cols, self.conf = _site_columns(self.header.decode("utf-8").rstrip("\n").split("\t"))
        if not data:
            return
        lines = data.split(b"\n")
        lines.pop()
        self._last = (lines, _parse_keys(data, self.cols))
        if not final:  # more may follow: to disk (a table of one run is sorted in memory)
            self._spill()

    def _spill(self) -> None:
        assert self._last is not None
        lines, keys = self._last
        self._last = None
        self._runs.append(_Run(self.workdir, len(self._runs), lines, keys, self._rows))
        self._rows += len(lines)

    def sorted_blocks(self) -> Iterator[bytes]:
        """The header (site table) and the rows in tabix order, as blocks of lines."""
        import numpy as np

        self._cut(final=True)
        if self.cols is None:
            raise InputError("nothing to index (empty output)", self.name)
        # the header as tabix meta ('#' first): `tabix -H` and pysam's TabixFile.header show it;
        # the suite's table readers drop that one '#'
        yield b"#" + self.header if self.header and not self.header.startswith(b"#") else self.header
        if not self._runs:  # one run: sorted in memory
            if self._last is not None:
                lines, keys = self._last
                self._last = None
                order = _order(*keys)[0]
                yield b"\n".join([lines[i] for i in order.tolist()]) + b"\n"
            return
        if self._last is not None:
            self._spill()
        runs = self._runs
        names = sorted({n for run in runs for n in run.names})
        position = {n: i for i, n in enumerate(names)}
        for run in runs:
            run.open(np.array([position[n] for n in run.names], dtype=np.int64))
        block = max(1, min(MERGE_BLOCK_ROWS, SORT_CHUNK_ROWS // len(runs)))
        buffers = [run.next_block(block) for run in runs]
        try:
            while any(lines for lines, _ in buffers):
                # the rows up to the smallest last key of the runs still being read are final
                lasts = [tuple(int(v) for v in keys[:, -1]) for run, (_, keys) in zip(runs, buffers) if run.more]
                bound = min(lasts) if lasts else None
                take_lines: list[bytes] = []
                take_keys = []
                for i, (lines, keys) in enumerate(buffers):
                    n = len(lines) if bound is None else _up_to(keys, bound)
                    take_lines.extend(lines[:n])
                    take_keys.append(keys[:, :n])
                    buffers[i] = (lines[n:], keys[:, n:])
                    if not buffers[i][0] and runs[i].more:
                        buffers[i] = runs[i].next_block(block)
                keys = np.concatenate(take_keys, axis=1)
                order = np.lexsort((keys[3], keys[2], keys[1], keys[0]))
                yield b"".join([take_lines[i] for i in order.tolist()])
        finally:
            self.close_runs()

    def close_runs(self) -> None:
        for run in self._runs:
            run.close()


# ------------------------------------------------------------------------------ BGZF writer
#
# bgzip's format (SAM specification, section 4.1): gzip members of at most 64 KiB, each with
# its compressed size in a 'BC' extra field, and an empty member at the end. The blocks are
# compressed by ISA-L (python-isal, as the .gz outputs; pysam's tabix_compress has no threads
# and took 8.2 s on a 357 MB site table at zlib level 6, ISA-L takes under 1 s), several at a
# time in threads; each block is cut at a fixed offset of the text, so the bytes depend only
# on the text. tabix then indexes the file through pysam as before.

BGZF_BLOCK = 0xFF00  # bytes of text per block, as htslib's bgzip
_BGZF_BATCH = 64  # blocks handed to the threads at a time
_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _bgzf_block(data: bytes) -> bytes:
    import struct
    import zlib

    try:
        from isal import isal_zlib

        cdata = isal_zlib.compress(data, 2, -15)
    except ImportError:  # python-isal is a dependency; zlib at bgzip's level is the fallback
        cdata = zlib.compress(data, 6, -15)
    if len(cdata) > 0x10000 - 26:  # incompressible: stored, which always fits
        cdata = zlib.compress(data, 0, -15)
    header = struct.pack("<4BI2BH2BHH", 31, 139, 8, 4, 0, 0, 255, 6, 66, 67, 2, len(cdata) + 25)
    return header + cdata + struct.pack("<II", zlib.crc32(data), len(data))


class _BgzfWriter:
    def __init__(self, raw: IO[bytes], threads: int):
        from concurrent.futures import ThreadPoolExecutor

        self._raw = raw
        self._pending = bytearray()
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None

    def write(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= _BGZF_BATCH * BGZF_BLOCK:
            self._emit(final=False)

    def _emit(self, final: bool) -> None:
        pending = self._pending
        n = len(pending) if final else len(pending) - len(pending) % BGZF_BLOCK
        blocks = [bytes(pending[i : min(i + BGZF_BLOCK, n)]) for i in range(0, n, BGZF_BLOCK)]
        done = self._pool.map(_bgzf_block, blocks) if self._pool else map(_bgzf_block, blocks)
        self._raw.write(b"".join(done))
        del pending[:n]

    def close(self) -> None:
        try:
            self._emit(final=True)
            self._raw.write(_BGZF_EOF)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class _BgzfSink(io.RawIOBase):
    def __init__(self, writer: _BgzfWriter):
        super().__init__()
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        view = memoryview(data).cast("B")
        self._writer.write(bytes(view))
        return view.nbytes


@contextlib.contextmanager
def bgzf_writer(raw: IO[bytes]) -> Iterator[IO[bytes]]:
    """A binary writer of bgzip's format over ``raw`` (left open), finished when the block ends:
    what :func:`streams.atomic_output` writes for a ``.bgz`` name that is not a sorted, indexed
    table (a gene table, a FASTA), so that the file is what its name says. Same bytes for the
    same text, whatever the threads."""
    writer = _BgzfWriter(raw, compression_threads())
    try:
        buffered = io.BufferedWriter(_BgzfSink(writer), 1 << 20)
        yield buffered
        buffered.flush()
        writer.close()
    finally:
        writer.shutdown()


@contextlib.contextmanager
def indexed_output(path: str | os.PathLike, kind: str) -> Iterator[IO[str]]:
    """Yield a text handle; on success write ``path`` (bgzip, sorted) and ``path.tbi``
    through :func:`streams.atomic_output` (so both join an :func:`streams.output_group`: all outputs
    or none). ``kind`` is :data:`SITE_TABLE` (TSV with header) or :data:`BED`."""
    import pysam

    name = str(path)
    if name == "-" or (Path(name).exists() and not Path(name).is_file()):
        raise InputError("a .bgz output needs a file name (it is sorted and indexed), not stdout or a device", name)
    dest = Path(name)
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise streams.no_output_directory(parent)
    workdir = Path(tempfile.mkdtemp(prefix=streams.temp_prefix(dest), suffix=".sort", dir=parent))
    try:
        sorter = _Sorter(None if kind == SITE_TABLE else _BED_COLUMNS, workdir, name)
        handle = io.TextIOWrapper(io.BufferedWriter(sorter, 1 << 20), encoding="utf-8", newline="\n")
        try:
            try:
                yield handle
            except BaseException:
                sorter.discard = True
                raise
            handle.flush()
            bgz = workdir / "out.bgz"
            with open(bgz, "wb") as dst:
                writer = _BgzfWriter(dst, compression_threads())
                try:
                    for block in sorter.sorted_blocks():
                        writer.write(block)
                    writer.close()
                finally:
                    writer.shutdown()
        finally:
            sorter.close_runs()
        pysam.tabix_index(str(bgz), force=True, keep_original=True, **sorter.conf)  # columns 0-based
        with streams.output_group():
            for src_path, out_name in ((bgz, name), (Path(f"{bgz}.tbi"), f"{name}.tbi")):
                with open(src_path, "rb") as src_f, streams.atomic_output(out_name, binary=True, as_is=True) as out_f:
                    shutil.copyfileobj(src_f, out_f, 1 << 20)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- faidx


_PROBES = 64  # records whose header is read back to check an index against its FASTA
_NOTED: set[tuple] = set()
_FAI_LINE_MAX = 1 << 16
_BGZF_BLOCK = 1 << 16  # the most uncompressed bytes a BGZF block holds  # indexes already reported as ignored in this process


def is_bgzip(head: bytes) -> bool:
    """BGZF: gzip with FEXTRA and a 'BC' extra subfield (SAM spec, section 4.1)."""
    return len(head) >= 16 and head[:2] == b"\x1f\x8b" and bool(head[3] & 4) and head[12:14] == b"BC"


def read_fai(fai: str | os.PathLike) -> list[tuple[str, int, int, int, int]]:
    """The records of a ``.fai`` (name, length, offset, bases per line, bytes per line);
    ValueError saying what is wrong when it is not a sound FASTA index."""
    records = []
    names: set[str] = set()
    with open(fai, "rb") as f:
        # lines read in bounded pieces: a binary file in the index's place costs little
        for i, raw in enumerate(iter(lambda: f.readline(_FAI_LINE_MAX), b""), 1):
            if len(raw) == _FAI_LINE_MAX and not raw.endswith(b"\n"):
                raise ValueError(f"line {i} is too long for an index line")
            fields = raw.rstrip(b"\r\n").split(b"\t")
            try:
                name = fields[0].decode("utf-8")
                length, offset, bases, width = (int(x) for x in fields[1:5])
            except (IndexError, ValueError, UnicodeDecodeError):
                raise ValueError(f"line {i} is not an index line (name, length, offset, line bases, line bytes)") from None
            if not name or name in names:
                raise ValueError(f"line {i} has an empty or repeated name")
            if min(length, offset, bases, width) < 0 or (length and not (bases <= width <= bases + 2 and bases > 0)):
                raise ValueError(f"line {i} has impossible numbers")
            names.add(name)
            records.append((name, length, offset, bases, width))
    if not records:
        raise ValueError("it lists no records")
    return records


def _record_end(length: int, offset: int, bases: int, width: int) -> int:
    """Where a record's last base ends in a plain FASTA (its offsets from the index)."""
    if not length:
        return offset
    full, rest = divmod(length, bases)
    return offset + full * width + rest


def _check_against(fasta: Path, records: list, gz: bool) -> None:
    """ValueError unless the records fit the FASTA: increasing offsets; in a plain FASTA every
    record ends before the next begins, the last within the file with only blank lines after
    it, and the header read back before a sample of records names them."""
    last_end = -1
    for name, length, offset, bases, width in records:
        if offset <= last_end:
            raise ValueError(f"record '{name}' starts inside the record before it")
        last_end = offset if gz else _record_end(length, offset, bases, width)
    if gz:
        return  # offsets are into the uncompressed text: the .gzi is checked instead
    size = fasta.stat().st_size
    if last_end > size:
        raise ValueError("its records end past the end of the FASTA")
    step = max(1, len(records) // _PROBES)
    with open(fasta, "rb") as f:
        fd = f.fileno()
        tail = os.pread(fd, 4097, last_end)
        if len(tail) > 4096 or tail.strip():
            raise ValueError("the FASTA has more after its last record")
        for name, _, offset, _, _ in [*records[::step], records[-1]]:
            start = max(0, offset - 4096)
            before = os.pread(fd, offset - start, start)
            if not before.endswith(b"\n"):
                raise ValueError(f"record '{name}' is not where it says")
            cut = before[:-1].rfind(b"\n")
            if cut < 0 and start > 0:
                continue  # a header longer than what was read back: not checked
            if before[cut + 1 : -1].split(maxsplit=1)[:1] != [b">" + name.encode()]:
                raise ValueError(f"record '{name}' is not where it says")


def _check_gzi(gzi: Path, fasta: Path) -> int:
    """The uncompressed size the bgzip index ``gzi`` covers (its last block's start, at most
    one block short); ValueError unless it is a count, then that many (compressed, uncompressed)
    offset pairs, both increasing, each compressed one (a sample) the start of a BGZF block of
    ``fasta``."""
    with open(gzi, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little") if len(data) >= 8 else -1
    if n < 0 or len(data) != 8 + 16 * n:
        raise ValueError(f"{gzi.name} is not a bgzip index")
    pairs = [
        (int.from_bytes(data[i : i + 8], "little"), int.from_bytes(data[i + 8 : i + 16], "little"))
        for i in range(8, len(data), 16)
    ]
    if any(a[0] >= b[0] or a[1] >= b[1] for a, b in zip(pairs, pairs[1:])):
        raise ValueError(f"{gzi.name} has offsets out of order")
    size = fasta.stat().st_size
    with open(fasta, "rb") as f:
        for compressed, _ in pairs[:: max(1, len(pairs) // _PROBES)] + pairs[-1:]:
            if compressed >= size or os.pread(f.fileno(), 4, compressed) != b"\x1f\x8b\x08\x04":
                raise ValueError(f"{gzi.name} points where the FASTA has no bgzip block")
    return pairs[-1][1] if pairs else 0


def index_problem(path: str | os.PathLike, fai: Path, gzi: Path | None = None) -> str:
    """'' when ``fai`` (and ``gzi`` for a bgzip FASTA) is a current, sound index of the FASTA
    ``path``; else why not, e.g. 'is older than the FASTA'. Cheap: the index is read, and in a
    plain FASTA a sample of record headers and the end of the file."""
    fasta = Path(path)
    try:
        mtime = fasta.stat().st_mtime
        for index in (fai, gzi):
            if index is not None and index.stat().st_mtime < mtime:
                return f"{index.name} is older than the FASTA"
        records = read_fai(fai)
        if gzi is not None:
            covered = _check_gzi(gzi, fasta)
            if records[-1][2] > covered + _BGZF_BLOCK:
                raise ValueError("its records start past the end of the FASTA")
        _check_against(fasta, records, gz=gzi is not None)
    except ValueError as exc:
        return str(exc)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    return ""


def fasta_index(path: str | os.PathLike) -> Path | None:
    """The ``.fai`` of a FASTA file when it is current and sound (:func:`index_problem`; a
    bgzip FASTA also needs its ``.gzi``); None otherwise (stdin, plain gzip, no index). An
    index that does not match its FASTA is ignored, with a one-line note."""
    name = str(path)
    if name == "-":
        return None
    fai = Path(name + ".fai")
    try:
        if not fai.is_file() or not Path(name).is_file():
            return None
        with open(name, "rb") as f:
            head = f.read(18)
    except OSError:
        return None
    gzi = Path(name + ".gzi")
    if head[:2] == b"\x1f\x8b" and not (is_bgzip(head) and gzi.is_file()):
        return None  # plain gzip cannot be indexed; a bgzip FASTA without .gzi is read whole
    why = index_problem(name, fai, gzi if is_bgzip(head) else None)
    if why:
        key = (name, fai.stat().st_mtime_ns)
        if key not in _NOTED:
            _NOTED.add(key)
            log.warning("note: %s does not match %s (%s): read without it; rebuild it with samtools faidx", fai, name, why)
        return None
    return fai


def indexed_lengths(path: str | os.PathLike) -> dict[str, int] | None:
    """id -> length from the FASTA's ``.fai`` (no sequence read), or None without a sound index."""
    fai = fasta_index(path)
    if fai is None:
        return None
    try:
        return {name: length for name, length, *_ in read_fai(fai)}
    except (OSError, ValueError):  # replaced since it was checked: read the FASTA instead
        return None


def read_some_targets(path: str | os.PathLike, ids: set[str], strict: bool = False) -> Iterator:
    """Records of ``ids`` (in file order) by random access when the FASTA has a current
    ``.fai``; otherwise the whole FASTA streamed and filtered. Sequences are normalised and
    checked as :func:`io.read_fasta` does (``strict`` too); an id not in the FASTA is left
    out (the caller names it)."""

    fa = _open_indexed(path) if fasta_index(path) is not None else None
    if fa is None:
        yield from (r for r in dio.read_fasta(path, kind="target", strict=strict) if r.id in ids)
        return
    name = streams.display_name(path)
    log.debug("reading %d record(s) of %s through its .fai index", len(ids), name)
    tally = dio.AmbiguityTally()
    with fa:
        for rid in fa.references:
            if rid not in ids:
                continue
            try:
                seq = normalise(fa.fetch(rid))
            except (OSError, ValueError) as exc:  # htslib could not follow the index
                raise InputError(
                    f"record '{rid}' could not be read through the index {name}.fai ({' '.join(str(exc).split())[:200]}): "
                    "the index may not match the FASTA; delete it (and a .gzi) or rebuild it with samtools faidx",
                    name,
                ) from None
            if not seq:
                raise InputError(f"record '{rid}' has an empty sequence", name)
            bad = set(seq) - TARGET_LETTERS
            masked = 0
            if bad and bad <= AMBIGUOUS_LETTERS and not strict:  # read as N, as io.read_fasta does
                seq, masked = mask_ambiguous(seq, bad)
            elif bad:
                letters = ", ".join(sorted(repr(c) for c in bad))
                raise InputError(
                    f"record '{rid}' (read through {name}.fai) contains {letters}; only A/C/G/U/T/N are accepted"
                    " (if the index is out of date, delete it)",
                    name,
                )
            record = dio.FastaRecord(rid, seq, 0, "", frozenset(bad) if masked else frozenset(), masked)
            tally.add(record)
            yield record
    tally.report(name)


def _open_indexed(path: str | os.PathLike):
    """pysam's FastaFile over a FASTA whose index was checked; None (with a note) where htslib
    still refuses it, so that the caller reads the FASTA whole."""
    import pysam

    quiet = pysam.set_verbosity(0)  # htslib's own lines would break the one-line contract
    try:
        return pysam.FastaFile(str(path))
    except (OSError, ValueError) as exc:
        log.warning("note: %s.fai could not be used (%s): read without it", path, " ".join(str(exc).split())[:200])
        return None
    finally:
        pysam.set_verbosity(quiet)
