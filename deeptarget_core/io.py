"""Every file format of the suite, in one place.

* ``'-'`` means stdin (for inputs) or stdout (for outputs).
* Inputs may be plain, gzip or bgzip (detected from the magic bytes, also on stdin).
* Outputs are written to a temporary file in the target directory and renamed only when
  complete, so a failed or interrupted run leaves no partial file behind; a tool with several
  outputs opens them in one :func:`output_group`: all of them or none.
* Readers raise :class:`~deeptarget_core.errors.InputError` naming file and line.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import gzip
import io
import os
import re
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Sequence

import numpy as np

from .errors import InputError
from .seq import MAX_MIRNA_LENGTH, MIN_MIRNA_LENGTH, MIRNA_LETTERS, TARGET_LETTERS, normalise

PathLike = str | os.PathLike

PAIR_COLUMNS = ("mirna_id", "mirna_seq", "mrna_id", "mrna_seq")
SITE_COLUMNS = (
    "mirna_id",
    "mrna_id",
    "site_type",
    "site_start",
    "site_end",
    "cts_start",
    "cts_end",
    "cts_seq",
)

_GZIP_MAGIC = b"\x1f\x8b"


# --------------------------------------------------------------------------- opening files


def display_name(path: PathLike) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


# Inputs that cannot be opened twice (stdin, a FIFO, process substitution, /dev/stdin): what a
# first reader took from them (e.g. a sniffer reading the header) is kept, with the still-open
# stream, and replayed to the next reader of the same name. Only what was read is kept, up to
# _REPLAY_CAP bytes; a stream read further than that cannot be read a second time.
_REPLAY_CAP = 256 << 20
_PENDING: dict[str, "_Replay"] = {}


class _Replay(io.RawIOBase):
    """A raw byte stream over ``prefix`` + ``source`` that records what it hands out."""

    def __init__(self, name: str, source: IO[bytes], prefix: bytes = b""):
        self.name = name
        self._source = source
        self._prefix = memoryview(prefix)
        self._record = bytearray(prefix)
        self._overflow = len(prefix) > _REPLAY_CAP
        self.eof = False
        self.key = _stream_key(name)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._source.read1(len(buffer)) if hasattr(self._source, "read1") else self._source.read(len(buffer))
        if not data:
            self.eof = True
            return 0
        if not self._overflow:
            self._record += data
            if len(self._record) > _REPLAY_CAP:
                self._overflow, self._record = True, bytearray()
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed and not self._overflow:
            # read again later (a sniffer first, then the reader): replay what was read
            again = _Replay(self.name, self._source, bytes(self._record))
            again.key = self.key
            _PENDING[self.name] = again
        elif not self.closed and self.name != "-":
            self._source.close()
        super().close()


def _stream_key(name: str) -> object:
    """What identifies the stream behind a name: stdin's file object, a pipe's inode (a later
    pipe or stdin of the same name, e.g. in the next in-process run, is another stream)."""
    if name == "-":
        return id(sys.stdin.buffer) if hasattr(sys.stdin, "buffer") else id(sys.stdin)
    try:
        st = os.stat(name)
        return (st.st_dev, st.st_ino)
    except OSError:
        return None


def _stream_once(name: str) -> IO[bytes] | None:
    """The replaying stream of a stdin/pipe input, or None for a file that can be reopened."""
    if name in _PENDING and _PENDING[name].key != _stream_key(name):
        io.RawIOBase.close(_PENDING.pop(name))  # stale: another stream has that name now
    if name in _PENDING:
        pending = _PENDING.pop(name)
        if pending._overflow:
            raise InputError("this input is a pipe that was read once already; give it as a file", name)
        return pending
    if name == "-":
        return _Replay(name, sys.stdin.buffer)
    import stat

    try:
        mode = os.stat(name).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
        try:
            return _Replay(name, open(name, "rb", buffering=0))
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror}", name) from exc
    return None


def open_input(path: PathLike) -> IO[str]:
    """Open a text input: '-' is stdin; gzip/bgzip is detected by content, not by name.

    stdin and pipes are read once: a second open of the same name continues where the bytes
    already read are replayed (see :class:`_Replay`)."""
    name = str(path)
    raw: IO[bytes] | None = _stream_once(name)
    if raw is None:
        p = Path(name)
        if not p.exists():
            raise InputError("no such file", name)
        if p.is_dir():
            raise InputError("is a directory, expected a file", name)
        try:
            raw = open(p, "rb")
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror}", name) from exc
    buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
    if buffered.peek(2)[:2] == _GZIP_MAGIC:
        stream: IO[bytes] = gzip.GzipFile(fileobj=buffered, mode="rb")  # handles bgzip too
    else:
        stream = buffered
    # newline=None: Windows line endings are accepted and normalised; utf-8-sig: a byte-order
    # mark at the start (what spreadsheet programs write) is dropped.
    return _CheckedText(io.TextIOWrapper(stream, encoding="utf-8-sig", newline=None), name, buffered)


MAX_LINE_CHARS = 64 << 20  # longer lines are refused: bounded memory for a file without line breaks
_PIECE = 1 << 20


class _CheckedText(io.TextIOBase):
    """Text stream that turns decoding and gzip errors into InputError with the file name."""

    def __init__(self, inner: io.TextIOWrapper, name: str, raw: IO[bytes] | None = None):
        self._inner = inner
        self._raw = raw  # closed too: GzipFile leaves the file it reads open
        self.name = name
        self.line = 0

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return self

    def _piece(self) -> str:
        try:
            piece = self._inner.readline(_PIECE)
        except UnicodeDecodeError as exc:
            raise InputError("not a text file (binary content)", self.name, self.line + 1) from exc
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"corrupt or truncated gzip data ({exc})", self.name, self.line + 1) from exc
        if "\x00" in piece:
            raise InputError("not a text file (binary content)", self.name, self.line + 1)
        return piece

    def __next__(self) -> str:
        # Read in pieces of at most 1 Mi characters: a line longer than MAX_LINE_CHARS (a file
        # without line breaks, /dev/zero) fails after that much, not after filling the memory.
        line = self._piece()
        if not line:
            raise StopIteration
        if not line.endswith("\n"):
            pieces, total = [line], len(line)
            while True:
                piece = self._piece()
                if not piece:
                    break
                pieces.append(piece)
                total += len(piece)
                if piece.endswith("\n"):
                    break
                if total > MAX_LINE_CHARS:
                    raise InputError(
                        f"line longer than {MAX_LINE_CHARS:,} characters (a file without line breaks?); "
                        "wrap long sequences, e.g. seqkit seq -w 60", self.name, self.line + 1,
                    )
            line = "".join(pieces)
        self.line += 1
        return line

    def readline(self, size: int = -1) -> str:  # type: ignore[override]
        try:
            return next(self)
        except StopIteration:
            return ""

    def close(self) -> None:
        self._inner.close()  # stdin itself stays open: its _Replay does not close it
        if self._raw is not None:
            self._raw.close()


def temp_prefix(dest: Path) -> str:
    """Hidden temporary name beside ``dest``: ``.NAME.`` with NAME cut to 40 characters, so
    that an output name near the file-system limit (255 bytes) still gets a temporary file."""
    return f".{dest.name[:40]}."


@contextlib.contextmanager
def atomic_output(path: PathLike, binary: bool = False) -> Iterator[IO]:
    """Write to ``path`` atomically ('-' = stdout). Gzip when the name ends in ``.gz``.

    The data go to a temporary file beside the destination, renamed on success and removed
    on any exception (including KeyboardInterrupt), so outputs are complete or absent.
    """
    name = str(path)
    if name == "-":
        out = sys.stdout.buffer if binary else sys.stdout
        yield out
        out.flush()
        return
    dest = Path(name)
    if dest.exists() and not dest.is_file():
        # /dev/null, /dev/stdout, a named pipe: nothing to rename over, write straight through.
        if dest.is_dir():
            raise InputError("output path is a directory", name)
        try:
            with open(dest, "wb" if binary else "w") as direct:
                yield direct
        except OSError as exc:
            _name_output_error(exc, name)
            raise
        return
    directory = dest.parent if str(dest.parent) else Path(".")
    if not directory.is_dir():
        raise InputError("output directory does not exist", directory)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(dest), suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc.strerror}", name) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            if name.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                    if binary:
                        yield gz
                    else:
                        text = io.TextIOWrapper(gz, encoding="utf-8", newline="\n")
                        yield text
                        text.flush()
                        text.detach()
            elif binary:
                yield raw
            else:
                text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
                yield text
                text.flush()
                text.detach()
        # Keep the permissions a plain open() would give (mkstemp makes 0600).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        group = _GROUP.get()
        if group is not None:
            group.append((tmp, dest))  # renamed when the whole group is complete
        else:
            os.replace(tmp, dest)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            _name_output_error(exc, name)
        raise


_GROUP: contextvars.ContextVar[list[tuple[Path, Path]] | None] = contextvars.ContextVar("output_group", default=None)


@contextlib.contextmanager
def output_group() -> Iterator[None]:
    """All :func:`atomic_output` files opened inside are renamed into place together, once
    every one of them is complete (devices such as /dev/full included): a tool with several
    outputs leaves all of them or none."""
    if _GROUP.get() is not None:  # nested: the outer group commits
        yield
        return
    pending: list[tuple[Path, Path]] = []
    token = _GROUP.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _ in pending:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _GROUP.reset(token)
    for tmp, dest in pending:
        os.replace(tmp, dest)


_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)


def _name_output_error(exc: OSError, name: str) -> None:
    """A full disk raises OSError without a file name: give it the destination's, so the
    one-line error says which output could not be written (never the temporary name)."""
    if exc.errno in _WRITE_ERRNOS and (exc.filename is None or str(exc.filename).endswith(".tmp")):
        exc.filename = name
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            exc.strerror = f"{exc.strerror or 'no space left'}; free some space or write the output elsewhere"


def check_output_path(path: PathLike, directory: bool = False) -> None:
    """Fail early, before any work, where :func:`atomic_output` would fail at the end: the
    parent directory is missing or not writable, or the path is a directory (a file for
    ``directory=True`` outputs). '-' and devices (/dev/null) pass."""
    name = str(path)
    if name == "-":
        return
    dest = Path(name)
    if dest.exists():
        if directory and not dest.is_dir():
            raise InputError("output path exists and is not a directory", name)
        if not directory and dest.is_dir():
            raise InputError("output path is a directory", name)
        if not dest.is_file() and not dest.is_dir():
            return  # a device or pipe: written straight through
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("output directory does not exist", parent)
    try:  # a real probe: os.access is wrong for root and for read-only mounts
        fd, probe = tempfile.mkstemp(prefix=temp_prefix(dest), suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc.strerror}", name) from exc
    os.close(fd)
    os.unlink(probe)


# --------------------------------------------------------------------------- FASTA


@dataclass(frozen=True)
class FastaRecord:
    id: str
    seq: str
    line: int  # line of the header, for error messages


def read_fasta(
    path: PathLike,
    kind: str = "target",
    min_length: int = 1,
) -> Iterator[FastaRecord]:
    """Stream normalised FASTA records.

    ``kind='mirna'`` allows only A/C/G/U(T) and 8-30 nt; ``kind='target'`` also allows N.
    Empty records, duplicate ids, a missing '>' and other letters are InputErrors.
    """
    allowed = MIRNA_LETTERS if kind == "mirna" else TARGET_LETTERS
    for header, chunks, header_line, name in iter_fasta_text(path):
        yield _make_record(header, chunks, header_line, name, kind, allowed, min_length)


def iter_fasta_text(path: PathLike, unique_ids: bool = True) -> Iterator[tuple[str, list[str], int, str]]:
    """The one FASTA parser: (header, sequence lines, header line number, display name) per
    record, unchecked letters. A header without an id, text before the first '>', no record
    at all and (with ``unique_ids``) a duplicate id are InputErrors. Own parser rather than
    Bio.SeqIO: errors must name the line, and Biopython's parsers do not track it.
    """
    seen: set[str] = set()
    name = display_name(path)
    handle = open_input(path)
    try:
        header: str | None = None
        header_line = 0
        chunks: list[str] = []
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if header is not None:
                    yield header, chunks, header_line, name
                header = line[1:].strip()
                header_line = handle.line
                if not header:
                    raise InputError("FASTA header without an id", name, header_line)
                rid = header.split()[0]
                if unique_ids:
                    if rid in seen:
                        raise InputError(f"duplicate sequence id '{rid}'", name, header_line)
                    seen.add(rid)
                chunks = []
            elif header is None:
                if line.strip():
                    raise InputError("not FASTA: expected a '>' header line", name, handle.line)
            else:
                chunks.append(line)
        if header is None:
            raise InputError("no FASTA records (empty file?)", name)
        yield header, chunks, header_line, name
    finally:
        handle.close()


def _make_record(
    header: str,
    chunks: list[str],
    line: int,
    name: str,
    kind: str,
    allowed: frozenset[str],
    min_length: int,
) -> FastaRecord:
    rid = header.split()[0]
    seq = normalise("".join(chunks).replace(" ", ""))
    if not seq:
        raise InputError(f"record '{rid}' has an empty sequence", name, line)
    bad = set(seq) - allowed
    if bad:
        letters = ", ".join(sorted(repr(c) for c in bad))
        policy = "A/C/G/U/T" if kind == "mirna" else "A/C/G/U/T/N"
        # the line that holds the first bad letter (sequence lines follow the header one by one)
        at = next((i for i, c in enumerate(chunks) if set(normalise(c.replace(" ", ""))) - allowed), -1)
        raise InputError(
            f"record '{rid}' contains {letters}; only {policy} are accepted", name, line + 1 + at
        )
    if kind == "mirna" and not MIN_MIRNA_LENGTH <= len(seq) <= MAX_MIRNA_LENGTH:
        raise InputError(
            f"miRNA '{rid}' is {len(seq)} nt; expected {MIN_MIRNA_LENGTH}-{MAX_MIRNA_LENGTH} nt",
            name,
            line,
        )
    if len(seq) < min_length:
        raise InputError(f"record '{rid}' is {len(seq)} nt, shorter than {min_length}", name, line)
    return FastaRecord(rid, seq, line)


def write_fasta(handle: IO[str], records: Sequence[tuple[str, str]], width: int = 0) -> None:
    for rid, seq in records:
        handle.write(f">{rid}\n")
        if width:
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")
        else:
            handle.write(seq + "\n")


# --------------------------------------------------------------------------- TSV tables


@dataclass
class Table:
    """A TSV table read as strings: ``columns`` and row lists, plus the line of each row."""

    path: str
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


def iter_tsv(
    path: PathLike,
    required: Sequence[str] = (),
    chunk_rows: int = 100_000,
) -> Iterator[Table]:
    """Stream a TSV with a header in chunks of at most ``chunk_rows`` rows.

    Every row must have as many fields as the header; ``required`` columns must be present
    (extra columns are kept). Empty lines are skipped; the first line is the header.
    """
    name = display_name(path)
    handle = open_input(path)
    try:
        header_line = None
        for raw in handle:
            if raw.strip():
                header_line = raw.rstrip("\r\n")
                break
        if header_line is None:
            raise InputError("empty table (no header line)", name, 1)
        columns = header_line.split("\t")
        missing = [c for c in required if c not in columns]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; header has {', '.join(columns)}",
                name,
                handle.line,
            )
        if len(set(columns)) != len(columns):
            raise InputError("duplicate column names in header", name, handle.line)
        n = len(columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        for raw in handle:
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split("\t")
            if len(fields) != n:
                raise InputError(
                    f"expected {n} tab-separated fields as in the header, found {len(fields)}",
                    name,
                    handle.line,
                )
            rows.append(fields)
            lines.append(handle.line)
            if len(rows) >= chunk_rows:
                yield Table(name, columns, rows, lines)
                rows, lines = [], []
        if rows:
            yield Table(name, columns, rows, lines)
        elif not lines and handle.line <= 1:
            # Header only: yield one empty table so callers still see the columns.
            yield Table(name, columns, [], [])
    finally:
        handle.close()


def read_tsv(path: PathLike, required: Sequence[str] = ()) -> Table:
    """Whole TSV in memory (for small tables: pairs, labels, metrics)."""
    tables = list(iter_tsv(path, required, chunk_rows=1 << 62))
    if not tables:
        return Table(display_name(path), list(required), [], [])
    return tables[0]


_DECIMAL = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")


def parse_decimal(text: str) -> float:
    """A number in a table, in the plain decimal grammar (``0.5``, ``-1e-3``, ``nan``, ``inf``;
    surrounding blanks ignored). Python's float() also takes ``1_0``, ``0x``-less hex-like
    forms and non-ASCII digits: those raise ValueError here, as any other text does."""
    t = text.strip()
    if not _DECIMAL.fullmatch(t) or not t.isascii():
        raise ValueError(text)
    return float(t)


def parse_integer(text: str) -> int:
    """A whole number in a table (``12``, ``-3``): no ``1_0``, no ``1.0``; ValueError else."""
    t = text.strip()
    if not _INTEGER.fullmatch(t) or not t.isascii():
        raise ValueError(text)
    return int(t)


def parse_label(value: str, path: str, line: int) -> int:
    if value in ("0", "1"):
        return int(value)
    if value in ("0.0", "1.0"):
        return int(float(value))
    raise InputError(f"label must be 0 or 1, found '{value}'", path, line)


@dataclass(frozen=True)
class Pair:
    """One row of a pair table (normalised sequences)."""

    mirna_id: str
    mirna_seq: str
    mrna_id: str
    mrna_seq: str
    label: int | None
    extra: tuple[str, ...]
    line: int


def check_mirna_seq(seq: str, what: str, path: str | None, line: int | None) -> str:
    """A miRNA sequence from a table or the command line, normalised; the one check (and
    message) of every reader: A/C/G/U(T) only, MIN_MIRNA_LENGTH-MAX_MIRNA_LENGTH nt."""
    s = normalise(seq)
    if not s or set(s) - MIRNA_LETTERS:
        raise InputError(f"{what} '{seq}' is not an A/C/G/U(T) sequence", path, line)
    if not MIN_MIRNA_LENGTH <= len(s) <= MAX_MIRNA_LENGTH:
        raise InputError(f"{what} is {len(s)} nt; expected {MIN_MIRNA_LENGTH}-{MAX_MIRNA_LENGTH} nt", path, line)
    return s


def check_target_seq(seq: str, what: str, path: str | None, line: int | None) -> str:
    """A target (UTR or CTS) sequence from a table or the command line, normalised:
    not empty, A/C/G/U/T/N only."""
    s = normalise(seq)
    if not s or set(s) - TARGET_LETTERS:
        raise InputError(f"{what} is empty or has letters other than A/C/G/U/T/N", path, line)
    return s


def pairs_of_table(table: Table) -> tuple[list[str], list[Pair]]:
    """``(extra_column_names, pairs)`` of one chunk of a pair table, every row validated."""
    cols = table.columns
    idx = [cols.index(c) for c in PAIR_COLUMNS]
    li = cols.index("label") if "label" in cols else -1
    extra_idx = [i for i, c in enumerate(cols) if c not in PAIR_COLUMNS and c != "label"]
    out = []
    for row, line in zip(table.rows, table.lines):
        mid, mseq, tid, tseq = (row[i] for i in idx)
        if not mid or not tid:
            raise InputError("empty mirna_id or mrna_id", table.path, line)
        mseq_n = check_mirna_seq(mseq, "mirna_seq", table.path, line)
        tseq_n = check_target_seq(tseq, "mrna_seq", table.path, line)
        label = parse_label(row[li], table.path, line) if li >= 0 else None
        out.append(Pair(mid, mseq_n, tid, tseq_n, label, tuple(row[i] for i in extra_idx), line))
    return [cols[i] for i in extra_idx], out


def iter_pairs(path: PathLike, chunk_rows: int = 100_000) -> Iterator[tuple[list[str], list[Pair]]]:
    """Stream a pair table: ``(extra_column_names, pairs)`` per chunk, validated."""
    for table in iter_tsv(path, PAIR_COLUMNS, chunk_rows):
        yield pairs_of_table(table)


def read_pairs(path: PathLike) -> tuple[list[str], list[Pair]]:
    extra: list[str] = []
    pairs: list[Pair] = []
    for names, chunk in iter_pairs(path):
        extra = names
        pairs.extend(chunk)
    return extra, pairs


def write_tsv_header(handle: IO[str], columns: Sequence[str]) -> None:
    handle.write("\t".join(columns) + "\n")


def format_float(values: np.ndarray, digits: int = 6) -> list[str]:
    """Fixed-precision text for score columns (byte-identical across runs)."""
    return [f"{v:.{digits}f}" for v in np.asarray(values, dtype=np.float64).tolist()]


def read_id_pairs(path: PathLike) -> dict[str, set[str]]:
    """(miRNA id, target id) pairs to restrict a scan: a table with ``mirna_id`` and
    ``mrna_id`` columns (a pair or site table), or a header-less two-column id list."""
    name = display_name(path)
    pairs: dict[str, set[str]] = {}
    with open_input(path) as handle:
        lines = [(i, raw.rstrip("\r\n")) for i, raw in enumerate(handle, start=1) if raw.strip()]
    if not lines:
        raise InputError("empty pair list", name, 1)
    header = lines[0][1].split("\t")
    if "mirna_id" in header and "mrna_id" in header:
        mi, ti = header.index("mirna_id"), header.index("mrna_id")
        body = lines[1:]
        width = len(header)
    elif len(header) == 2:
        mi, ti, body, width = 0, 1, lines, 2
    else:
        raise InputError(
            "expected columns mirna_id and mrna_id, or two tab-separated id columns", name, lines[0][0]
        )
    for line_no, text in body:
        fields = text.split("\t")
        if len(fields) != width:
            raise InputError(f"expected {width} tab-separated fields, found {len(fields)}", name, line_no)
        mid, tid = fields[mi].strip(), fields[ti].strip()
        if not mid or not tid:
            raise InputError("empty miRNA or target id", name, line_no)
        pairs.setdefault(mid, set()).add(tid)
    return pairs
