"""Indexed files through pysam: bgzip + tabix outputs, faidx random access to FASTA.

* An output named ``*.bgz`` (``sites.tsv.bgz``, ``sites.bed.bgz``) is written sorted as tabix
  needs (by sequence, then start, then end; input order among ties), bgzip-compressed, with a
  tabix index beside it (``sites.tsv.bgz.tbi``). Site tables are indexed on ``mrna_id`` /
  ``site_start`` / ``site_end`` (1-based, header line skipped), BED files as BED. A ``.gz``
  name stays a plain gzip stream in the tool's own row order (no index): the two are chosen
  by name so that nothing changes for existing ``.gz`` users.
* A FASTA with a current ``.fai`` index (``samtools faidx``; a bgzip FASTA also needs its
  ``.gzi``) is read by random access when only some records, or only the lengths, are needed.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator

from .errors import InputError

log = logging.getLogger("deeptarget")

INDEXED_SUFFIX = ".bgz"
SORT_CHUNK_ROWS = 500_000

# tabix column layout (1-based columns) of the two indexed formats
SITE_TABLE = "sites"
BED = "bed"


def is_indexed_output(path: str | os.PathLike) -> bool:
    return str(path).endswith(INDEXED_SUFFIX)


def _site_key(columns: list[str]) -> tuple[Callable[[str], tuple], dict]:
    try:
        seq, start, end = (columns.index(c) for c in ("mrna_id", "site_start", "site_end"))
    except ValueError:
        raise InputError(
            "a .bgz output is indexed on mrna_id/site_start/site_end; this table has no such columns "
            f"(header: {', '.join(columns)}): write .tsv or .tsv.gz instead"
        ) from None

    def key(line: str) -> tuple:
        f = line.split("\t")
        return (f[seq], int(f[start]), int(f[end]))

    return key, dict(seq_col=seq, start_col=start, end_col=end, line_skip=1, zerobased=False)


def _bed_key(line: str) -> tuple:
    f = line.split("\t", 3)
    return (f[0], int(f[1]), int(f[2]))


def _sorted_lines(lines: Iterable[str], key: Callable[[str], tuple], workdir: Path) -> Iterator[str]:
    """Sort lines by ``key`` (stable) in memory-bounded runs merged from temporary files."""
    runs: list[Path] = []
    batch: list[str] = []

    def spill() -> None:
        batch.sort(key=key)
        path = workdir / f"run{len(runs)}.txt"
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(batch)
        runs.append(path)
        batch.clear()

    for line in lines:
        batch.append(line)
        if len(batch) >= SORT_CHUNK_ROWS:
            spill()
    if not runs:
        batch.sort(key=key)
        yield from batch
        return
    if batch:
        spill()
    files = [open(p, encoding="utf-8", newline="\n") for p in runs]
    try:
        yield from heapq.merge(*files, key=key)  # stable: earlier runs first among ties
    finally:
        for f in files:
            f.close()


@contextlib.contextmanager
def indexed_output(path: str | os.PathLike, kind: str) -> Iterator[IO[str]]:
    """Yield a text handle; on success write ``path`` (bgzip, sorted) and ``path.tbi``
    through :func:`io.atomic_output` (so both join an :func:`io.output_group`: all outputs
    or none). ``kind`` is :data:`SITE_TABLE` (TSV with header) or :data:`BED`."""
    import pysam

    from . import io as dio

    name = str(path)
    if name == "-" or (Path(name).exists() and not Path(name).is_file()):
        raise InputError("a .bgz output needs a file name (it is sorted and indexed), not stdout or a device", name)
    dest = Path(name)
    parent = dest.parent if str(dest.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("output directory does not exist", parent)
    workdir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".sort", dir=parent))
    try:
        raw = workdir / "unsorted.txt"
        with open(raw, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
        sorted_path = workdir / "sorted.txt"
        with open(raw, encoding="utf-8", newline="\n") as src, open(sorted_path, "w", encoding="utf-8", newline="\n") as dst:
            if kind == SITE_TABLE:
                header = src.readline()
                if not header:
                    raise InputError("nothing to index (empty output)", name)
                key, conf = _site_key(header.rstrip("\n").split("\t"))
                dst.write(header)
            else:
                key, conf = _bed_key, dict(preset="bed")
            dst.writelines(_sorted_lines(src, key, workdir))
        bgz = workdir / "out.bgz"
        pysam.tabix_compress(str(sorted_path), str(bgz), force=True)
        pysam.tabix_index(str(bgz), force=True, keep_original=True, **conf)  # columns 0-based
        with dio.output_group():
            for src_path, out_name in ((bgz, name), (Path(f"{bgz}.tbi"), f"{name}.tbi")):
                with open(src_path, "rb") as src_f, dio.atomic_output(out_name, binary=True) as out_f:
                    shutil.copyfileobj(src_f, out_f, 1 << 20)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------- faidx


def fasta_index(path: str | os.PathLike) -> Path | None:
    """The ``.fai`` of a FASTA file when it exists and is not older than the FASTA (a bgzip
    FASTA also needs its ``.gzi``); None otherwise (stdin, no index, a stale index)."""
    name = str(path)
    if name == "-":
        return None
    fasta = Path(name)
    fai = Path(name + ".fai")
    try:
        if not fai.is_file() or fai.stat().st_mtime < fasta.stat().st_mtime:
            return None
        with open(fasta, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
    except OSError:
        return None
    if gz and not Path(name + ".gzi").is_file():
        return None  # plain gzip cannot be indexed; a bgzip FASTA without .gzi is read whole
    return fai


def indexed_lengths(path: str | os.PathLike) -> dict[str, int] | None:
    """id -> length from the FASTA's ``.fai`` (no sequence read), or None without an index."""
    fai = fasta_index(path)
    if fai is None:
        return None
    lengths: dict[str, int] = {}
    with open(fai, encoding="utf-8") as f:
        for i, text in enumerate(f, 1):
            fields = text.rstrip("\n").split("\t")
            try:
                lengths[fields[0]] = int(fields[1])
            except (IndexError, ValueError):
                raise InputError("not a FASTA index line (name, length, offset, ...)", fai, i) from None
    return lengths


def read_some_targets(path: str | os.PathLike, ids: set[str]) -> Iterator:
    """Records of ``ids`` (in file order) by random access when the FASTA has a current
    ``.fai``; otherwise the whole FASTA streamed and filtered. Sequences are normalised and
    checked as :func:`io.read_fasta` does; an id not in the FASTA is left out (the caller
    names it)."""
    from . import io as dio
    from .seq import TARGET_LETTERS, normalise

    if fasta_index(path) is None:
        yield from (r for r in dio.read_fasta(path, kind="target") if r.id in ids)
        return
    import pysam

    name = dio.display_name(path)
    log.debug("reading %d record(s) of %s through its .fai index", len(ids), name)
    with pysam.FastaFile(str(path)) as fa:
        for rid in fa.references:
            if rid not in ids:
                continue
            seq = normalise(fa.fetch(rid))
            if not seq:
                raise InputError(f"record '{rid}' has an empty sequence", name)
            bad = set(seq) - TARGET_LETTERS
            if bad:
                letters = ", ".join(sorted(repr(c) for c in bad))
                raise InputError(f"record '{rid}' contains {letters}; only A/C/G/U/T/N are accepted", name)
            yield dio.FastaRecord(rid, seq, 0)
