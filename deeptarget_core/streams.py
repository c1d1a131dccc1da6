"""Opening inputs and writing outputs: the stream layer under :mod:`deeptarget_core.io`.

* ``'-'`` means stdin (for inputs) or stdout (for outputs).
* Inputs may be plain, gzip or bgzip (detected from the magic bytes, also on stdin); a stream
  that cannot be opened twice replays what a first reader took from it; over-long lines are
  refused.
* Outputs are written to a temporary file in the target directory and renamed only when
  complete (:func:`atomic_output`); a tool with several outputs opens them in one
  :func:`output_group`: all of them or none.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import gzip
import io
import os
import sys
import tempfile
import zlib
from pathlib import Path
from typing import IO, Iterator, Sequence

from .errors import InputError

PathLike = str | os.PathLike

_GZIP_MAGIC = b"\x1f\x8b"
# compressions that are not read, named instead of 'binary content' (magic -> name, command)
_OTHER_COMPRESSION = {
    b"BZh": ("bzip2", "bunzip2 -k FILE, or bzcat FILE | bgzip"),
    b"\xfd7zXZ\x00": ("xz", "unxz -k FILE, or xzcat FILE | bgzip"),
    b"\x28\xb5\x2f\xfd": ("zstd", "unzstd FILE, or zstdcat FILE | bgzip"),
    b"PK\x03\x04": ("zip", "unzip FILE"),
}


# --------------------------------------------------------------------------- opening files


def display_name(path: PathLike) -> str:
    return "<stdin>" if str(path) == "-" else str(path)


# Standard streams that were closed when the tool started (cron, daemons and schedulers start
# jobs so): '-' cannot be read from or written to them.
_CLOSED: set[str] = set()


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False


def guard_standard_streams() -> None:
    """At start-up: a closed descriptor 0, 1 or 2 gets /dev/null, so that no file the run opens
    takes its number (a library writing to fd 1 or 2 would write into it). stdin and stdout are
    remembered as closed ('-' is then refused with an error); a closed stderr becomes /dev/null
    for Python too, so that messages go nowhere and exit codes stay right."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        closed = not _fd_open(fd)
        if closed:
            devnull = os.open(os.devnull, os.O_RDWR)  # the lowest free number: fd itself
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
        if closed or getattr(sys, name) is None:
            _CLOSED.add(name)
    if "stderr" in _CLOSED:
        sys.stderr = open(os.devnull, "w", encoding="utf-8")


def closed_standard_stream(name: str) -> bool:
    """Whether the standard stream ``name`` ('stdin', 'stdout') is closed: '-' cannot be used."""
    return name in _CLOSED or getattr(sys, name, None) is None


def _refuse_binary_terminal() -> None:
    """A checkpoint is binary: on a terminal it is noise that can upset the terminal (as gzip
    refuses to write compressed data to one)."""
    try:
        tty = os.isatty(1)
    except OSError:
        tty = False
    if tty:
        raise InputError("-o is - (stdout), which is a terminal: a checkpoint is binary; redirect stdout or give a file")


def _closed_stdout() -> InputError:
    return InputError("stdout is closed: write the output to a file instead of '-'")


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
        if closed_standard_stream("stdin"):
            raise InputError("stdin is closed: give the input as a file instead of '-'", name)
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
    head = buffered.peek(6)[:6]
    for magic, (kind, undo) in _OTHER_COMPRESSION.items():
        if head.startswith(magic) and (magic != b"BZh" or head[3:4].isdigit()):  # BZh + block size
            buffered.close()
            raise InputError(f"{kind}-compressed: only gzip and bgzip are read; decompress it first ({undo})", name, 1)
    if head[:2] == _GZIP_MAGIC:
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
                        "wrap long sequences, e.g. seqkit seq -w 60",
                        self.name,
                        self.line + 1,
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


# --------------------------------------------------------------------------- compressed outputs

# A ``.gz`` output is compressed with ISA-L through python-isal (``isal.igzip_threaded``): a
# 357 MB site table (2,656 miRNAs x 2,013 UTRs) took 60 s with Python's gzip at level 9 and
# takes under 2 s this way, for an 11% larger file. python-isal is chosen over xopen (which
# wraps the same library, or pigz in a child process) and over pysam's BGZF (no threads
# through pysam, and a BGZF stream is not what a ``.gz`` name promises): one well-kept
# wheel, no child process, and a threaded writer whose output does not depend on the number
# of threads. Its blocks are cut where the writes fall, so the writer below hands it blocks
# of exactly GZIP_BLOCK bytes and ignores flushes: the bytes of a ``.gz`` output depend only
# on the text written (gzip header with mtime 0 and no file name), never on how the caller's
# writes and flushes cut it, on the thread count or on thread timing.
# Without python-isal (its import fails) the standard library's gzip (zlib level 6) is used
# through the same fixed blocks: valid gzip, still deterministic, slower, other bytes.
GZIP_BLOCK = 1 << 20
GZIP_LEVEL = 2  # ISA-L's default (0-3); levels 1-3 ran alike here
GZIP_MAX_THREADS = 4  # ISA-L compresses ~400 MB/s a thread: more would wait for the writer
GZIP_THREADS_ENV = "DT_GZIP_THREADS"


def compression_threads() -> int:
    """Threads compressing a ``.gz`` output: ``$DT_GZIP_THREADS`` when set, else the CPUs
    this process may use, at most :data:`GZIP_MAX_THREADS`. The bytes written do not depend
    on it."""
    given = os.environ.get(GZIP_THREADS_ENV, "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise InputError(f"{GZIP_THREADS_ENV}={given!r}: expected a whole number of threads, 1 or more")
        return int(given)
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(GZIP_MAX_THREADS, cpus))


class _FixedBlocks(io.BufferedIOBase):
    """A binary writer that hands ``sink`` blocks of exactly ``block`` bytes (the last one
    shorter) whatever the sizes of the writes; ``flush()`` passes nothing on. Closing it
    writes the rest to ``sink`` and closes ``closer`` (the object that owns ``sink``)."""

    def __init__(self, sink: IO[bytes], closer: IO[bytes], block: int):
        super().__init__()
        self._sink = sink
        self._closer = closer
        self._block = block
        self._pending = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed file")
        view = memoryview(data).cast("B")
        self._pending += view
        block, pending = self._block, self._pending
        if len(pending) >= block:
            full = len(pending) - len(pending) % block
            for start in range(0, full, block):
                self._sink.write(bytes(pending[start : start + block]))
            del pending[:full]
        return view.nbytes

    def flush(self) -> None:
        if self.closed:
            raise ValueError("flush of a closed file")

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._pending:
                self._sink.write(bytes(self._pending))
                self._pending.clear()
            self._closer.close()
        finally:
            super().close()

    def abandon(self) -> None:
        """Close after an error: the compressor's threads end; what is written is discarded."""
        if self.closed:
            return
        self._pending.clear()
        with contextlib.suppress(Exception):
            self._closer.close()
        with contextlib.suppress(Exception):
            super().close()


def _gzip_sink(raw: IO[bytes], threads: int) -> _FixedBlocks:
    try:
        from isal import igzip_threaded
    except ImportError:  # python-isal is a dependency; the standard library is the fallback
        fallback = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0)
        return _FixedBlocks(fallback, fallback, GZIP_BLOCK)
    # open() gives a buffer over the threaded writer; a write of GZIP_BLOCK bytes to the
    # writer itself (the buffer's raw object) is one deflate block. The buffer is kept and
    # closed last: collecting it would close the writer.
    buffered = igzip_threaded.open(raw, "wb", compresslevel=GZIP_LEVEL, threads=threads, block_size=GZIP_BLOCK)
    return _FixedBlocks(buffered.raw, buffered, GZIP_BLOCK)


@contextlib.contextmanager
def gzip_writer(raw: IO[bytes], threads: int | None = None) -> Iterator[IO[bytes]]:
    """A binary gzip writer over ``raw`` (left open), finished when the block ends; after an
    exception the compressor is stopped and the partial stream is left for the caller to
    remove. The bytes depend only on what is written (see the notes above)."""
    writer = _gzip_sink(raw, threads or compression_threads())
    try:
        yield writer
    except BaseException:
        writer.abandon()
        raise
    writer.close()


def temp_prefix(dest: Path) -> str:
    """Hidden temporary name beside ``dest``: ``.NAME.`` with NAME cut to 40 characters, so
    that an output name near the file-system limit (255 bytes) still gets a temporary file."""
    return f".{dest.name[:40]}."


def _compressor(raw: IO[bytes], name: str) -> contextlib.AbstractContextManager[IO[bytes]]:
    """The binary writer over ``raw`` that an output's name asks for: bgzip for ``.bgz`` (a
    name that reaches here is not a sorted, indexed table: deeptarget_core.indexed writes
    those), gzip for ``.gz``, else ``raw`` itself."""
    if name.endswith(".bgz"):
        from .indexed import bgzf_writer  # imported here: indexed imports this module

        return bgzf_writer(raw)
    if name.endswith(".gz"):
        return gzip_writer(raw)
    return contextlib.nullcontext(raw)


@contextlib.contextmanager
def atomic_output(path: PathLike, binary: bool = False, as_is: bool = False) -> Iterator[IO]:
    """Write to ``path`` atomically ('-' = stdout). Gzip when the name ends in ``.gz``, bgzip
    when it ends in ``.bgz``; ``as_is``: the bytes given are the file (compressed already).

    The data go to a temporary file beside the destination, renamed on success and removed
    on any exception (including KeyboardInterrupt), so outputs are complete or absent.
    """
    name = str(path)
    if name == "-":
        if closed_standard_stream("stdout"):
            raise _closed_stdout()
        if binary:
            _refuse_binary_terminal()
        out = sys.stdout.buffer if binary else sys.stdout
        recoded = not binary and (getattr(out, "encoding", None) or "").replace("-", "").lower() != "utf8"
        if recoded:  # data are UTF-8 whatever the locale or PYTHONIOENCODING say (as files are)
            out.flush()
            out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        try:
            yield out
            out.flush()
        except OSError as exc:  # a full disk behind `> file`: name stdout, not nothing
            _name_output_error(exc, "stdout")
            raise
        finally:
            if recoded:
                out.detach()  # sys.stdout keeps its buffer
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
        raise no_output_directory(directory)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=temp_prefix(dest), suffix=".tmp", dir=directory)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc.strerror}", name) from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as raw:
            with contextlib.nullcontext(raw) if as_is else _compressor(raw, name) as sink:
                if binary or as_is:
                    yield sink
                else:
                    text = io.TextIOWrapper(sink, encoding="utf-8", newline="\n")
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


def no_output_directory(parent: Path) -> InputError:
    """The error for an output whose folder is not one: missing, or a file (``-o in.fa/x``)."""
    if parent.exists():
        return InputError("is not a directory, so no output can be written inside it", parent)
    return InputError("output directory does not exist", parent)


def check_input_paths(*paths: PathLike | Sequence[PathLike] | None) -> None:
    """Fail early, before a model is loaded or a long run starts, where :func:`open_input`
    would fail later: no such file, a directory, a file that cannot be opened. '-' and pipes
    are left to the reader (opening a pipe would take its bytes); None is skipped."""
    for value in paths:
        for path in value if isinstance(value, (list, tuple)) else [value]:
            name = "-" if path is None else str(path)
            if name == "-":
                continue
            p = Path(name)
            if not p.exists():
                raise InputError("no such file", name)
            if p.is_dir():
                raise InputError("is a directory, expected a file", name)
            if p.is_file():
                try:
                    open(p, "rb").close()
                except OSError as exc:
                    raise InputError(f"cannot open: {exc.strerror}", name) from exc


def check_output_path(path: PathLike, directory: bool = False, binary: bool = False) -> None:
    """Fail early, before any work, where :func:`atomic_output` would fail at the end: the
    parent directory is missing or not writable, or the path is a directory (a file for
    ``directory=True`` outputs); a ``binary`` output (a checkpoint) on stdout that is a
    terminal. '-' and devices (/dev/null) pass."""
    name = str(path)
    if name == "-":
        if closed_standard_stream("stdout"):
            raise _closed_stdout()
        if binary:
            _refuse_binary_terminal()
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
        raise no_output_directory(parent)
    try:  # a real probe: os.access is wrong for root and for read-only mounts
        fd, probe = tempfile.mkstemp(prefix=temp_prefix(dest), suffix=".tmp", dir=parent)
    except OSError as exc:
        raise InputError(f"cannot write output: {exc.strerror}", name) from exc
    os.close(fd)
    os.unlink(probe)
