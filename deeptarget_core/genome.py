"""Genome coordinates: map sites on a 3'UTR (transcript coordinates) to the genome.

The UTR annotation is BED12, one line per UTR (the TargetScan / UCSC format): ``name`` is the
UTR's FASTA id (``mrna_id`` of the site table), the blocks are its exons in ascending genome
order, on either strand. A UTR's sequence reads 5'->3' along the transcript: on the ``+``
strand from the first block's start rightwards, on the ``-`` strand from the last block's end
leftwards (the FASTA holds the reverse complement of the ``+`` strand there).

Transcript coordinates of the site table are 1-based inclusive; BED is 0-based half-open. A
site maps to one genome interval per exon it touches, in ascending genome order: one interval
is written as BED6, several (a site across an exon junction) as BED12 with blocks. A file holds
one kind of line: :func:`bed_kind` decides it from the annotation before anything is written
(BED12 when any UTR has more than one exon), so every line of a file has the same columns.

BED lines: ``chrom start end name score strand`` (+ ``thickStart thickEnd itemRgb blockCount
blockSizes blockStarts`` for BED12) with ``name = mirna_id|mrna_id|site_type`` and ``score`` =
round(1000 x model score) (0-1000, the UCSC shading scale).
"""

from __future__ import annotations

import contextlib
import io
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from . import indexed, streams
from .errors import InputError
from .streams import display_name, open_input

BED6 = "bed6"
BED12 = "bed12"


@dataclass(frozen=True)
class Transcript:
    """One UTR of the annotation: exons as genome intervals (0-based half-open, ascending)."""

    name: str
    chrom: str
    strand: str
    exons: tuple[tuple[int, int], ...]
    line: int = 0

    @cached_property
    def length(self) -> int:
        return sum(e - s for s, e in self.exons)

    def to_genome(self, start: int, end: int) -> list[tuple[int, int]]:
        """Genome intervals (0-based half-open, ascending) of transcript positions
        ``start..end`` (1-based inclusive, 5'->3' on the transcript)."""
        if not 1 <= start <= end <= self.length:
            raise ValueError(f"{start}-{end} outside 1-{self.length}")
        if len(self.exons) == 1:  # the common case, without the walk over exons
            gs, ge = self.exons[0]
            return [(gs + start - 1, gs + end)] if self.strand == "+" else [(ge - end, ge - start + 1)]
        a, b = start - 1, end  # 0-based half-open on the transcript
        pieces: list[tuple[int, int]] = []
        offset = 0
        exons = self.exons if self.strand == "+" else tuple(reversed(self.exons))
        for gs, ge in exons:
            size = ge - gs
            lo, hi = max(a, offset), min(b, offset + size)
            if lo < hi:
                if self.strand == "+":
                    pieces.append((gs + lo - offset, gs + hi - offset))
                else:
                    pieces.append((ge - (hi - offset), ge - (lo - offset)))
            offset += size
            if offset >= b:
                break
        return sorted(pieces)


class Annotation(Mapping[str, Transcript]):
    """UTRs by name, read from a BED12 (or BED6: one exon per UTR) file."""

    def __init__(self, transcripts: dict[str, Transcript], path: str):
        self._by_name = transcripts
        self.path = path

    def __getitem__(self, name: str) -> Transcript:
        return self._by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def bed_kind(self) -> str:
        """BED12 when any UTR has more than one exon (a site may be split), else BED6."""
        return BED12 if any(len(t.exons) > 1 for t in self._by_name.values()) else BED6

    def get_transcript(self, name: str, where: str | None = None, line: int | None = None) -> Transcript:
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"target '{name}' has no line in the UTR annotation {self.path}", where, line) from None

    def check_lengths(self, records: Iterable, fasta_name: str) -> Iterator:
        """Stream targets through (FASTA records with ``.id``, ``.seq``, ``.line``, or
        ``(id, seq)`` pairs), checking that each has a UTR in the annotation whose exons add up
        to its length."""
        for rec in records:
            rid, seq, line = (rec[0], rec[1], None) if isinstance(rec, tuple) else (rec.id, rec.seq, rec.line or None)
            tx = self.get_transcript(rid, fasta_name, line)
            if tx.length != len(seq):
                raise InputError(
                    f"target '{rid}' is {len(seq)} nt but its exons in {self.path} (line {tx.line}) add up to {tx.length} nt",
                    fasta_name,
                    line,
                )
            yield rec

    def check_length_map(self, lengths: Mapping[str, int], fasta_name: str) -> None:
        """As :meth:`check_lengths` for an id -> length map (a FASTA index)."""
        for name, n in lengths.items():
            tx = self.get_transcript(name, fasta_name)
            if tx.length != n:
                raise InputError(
                    f"target '{name}' is {n} nt but its exons in {self.path} (line {tx.line}) add up to {tx.length} nt",
                    fasta_name,
                )


def _ints(text: str, what: str, path: str, line: int, count: int) -> list[int]:
    parts = [p for p in text.strip().split(",")]
    if parts and parts[-1] == "":
        parts = parts[:-1]  # UCSC writes a trailing comma
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise InputError(f"{what} '{text}' is not a comma-separated list of whole numbers", path, line) from None
    if len(values) != count:
        raise InputError(f"{what} has {len(values)} values but blockCount is {count}", path, line)
    return values


def parse_bed_line(text: str, path: str, line: int) -> Transcript:
    """One BED6-BED12 line as a :class:`Transcript`; InputError naming ``path:line``."""
    fields = text.rstrip("\r\n").split("\t")
    if len(fields) < 6:
        raise InputError(
            f"expected a BED12 line (tab-separated; at least chrom, start, end, name, score, strand), found {len(fields)} field(s)",
            path,
            line,
        )
    chrom, start_text, end_text, name, _score, strand = fields[:6]
    if not chrom or not name:
        raise InputError("empty chrom or name", path, line)
    try:
        start, end = int(start_text), int(end_text)
    except ValueError:
        raise InputError(f"chromStart/chromEnd '{start_text}'/'{end_text}' are not whole numbers", path, line) from None
    if not 0 <= start < end:
        raise InputError(f"chromStart {start} and chromEnd {end}: need 0 <= chromStart < chromEnd", path, line)
    if strand not in ("+", "-"):
        raise InputError(f"strand '{strand}' must be '+' or '-' (the UTR's orientation)", path, line)
    if len(fields) < 12:  # BED6-BED9: no blocks, one exon
        return Transcript(name, chrom, strand, ((start, end),), line)
    try:
        count = int(fields[9])
    except ValueError:
        raise InputError(f"blockCount '{fields[9]}' is not a whole number", path, line) from None
    if count < 1:
        raise InputError(f"blockCount {count} must be at least 1", path, line)
    sizes = _ints(fields[10], "blockSizes", path, line, count)
    starts = _ints(fields[11], "blockStarts", path, line, count)
    if starts[0] != 0:
        raise InputError(f"the first blockStart is {starts[0]}; BED needs 0", path, line)
    exons = []
    prev_end = 0
    for i, (s, n) in enumerate(zip(starts, sizes)):
        if n < 1:
            raise InputError(f"block {i + 1} has size {n}", path, line)
        if s < prev_end:
            raise InputError(
                f"block {i + 1} starts at {s}, before the previous block ends ({prev_end}): blocks must be ascending and not overlap",
                path,
                line,
            )
        exons.append((start + s, start + s + n))
        prev_end = s + n
    if start + prev_end != end:
        raise InputError(f"the last block ends at {start + prev_end}, not at chromEnd {end}", path, line)
    return Transcript(name, chrom, strand, tuple(exons), line)


def read_utr_bed(path: str | Path) -> Annotation:
    """Read the UTR annotation (plain or gzip). ``track``/``browser``/``#`` lines and blank
    lines are skipped; a repeated name is an error naming both lines."""

    name = display_name(path)
    by_name: dict[str, Transcript] = {}
    handle = open_input(path)
    try:
        for text in handle:
            if not text.strip() or text.startswith(("#", "track", "browser")):
                continue
            tx = parse_bed_line(text, name, handle.line)
            if tx.name in by_name:
                raise InputError(
                    f"UTR '{tx.name}' again (first on line {by_name[tx.name].line}); one line per UTR", name, handle.line
                )
            by_name[tx.name] = tx
    finally:
        handle.close()
    if not by_name:
        raise InputError("no BED lines (empty annotation?)", name)
    return Annotation(by_name, name)


def bed_line(tx: Transcript, start: int, end: int, name: str, score: int, kind: str) -> str:
    """The BED line of transcript positions ``start..end`` (1-based inclusive)."""
    pieces = tx.to_genome(start, end)
    g0, g1 = pieces[0][0], pieces[-1][1]
    six = f"{tx.chrom}\t{g0}\t{g1}\t{name}\t{score}\t{tx.strand}"
    if kind == BED6:
        return six + "\n"
    if len(pieces) == 1:
        return f"{six}\t{g0}\t{g1}\t0\t1\t{g1 - g0}\t0\n"
    sizes = ",".join(str(e - s) for s, e in pieces)
    starts = ",".join(str(s - g0) for s, _ in pieces)
    return f"{six}\t{g0}\t{g1}\t0\t{len(pieces)}\t{sizes}\t{starts}\n"


def scaled_score(value: float) -> int:
    """A probability as a BED score: round(1000 x value), clipped to 0-1000."""
    return max(0, min(1000, int(round(value * 1000))))


class BedWriter(io.TextIOBase):
    """A text sink that takes a site table (TSV with header, as dt-scan-cts and dt-predict
    write it) and writes BED lines to ``out`` instead.

    Needed columns: ``mirna_id mrna_id site_start site_end``; ``site_type`` (else ``site``)
    and ``score`` (else ``type_scores[site_type]``, else 0) are used when present. A site
    outside its UTR, or a target missing from the annotation, is an InputError.
    """

    def __init__(
        self,
        out: IO[str],
        annotation: Annotation,
        kind: str | None = None,
        type_scores: Mapping[str, float] | None = None,
        source: str = "site table",
    ):
        self._out = out
        self._ann = annotation
        self.kind = kind or annotation.bed_kind()
        self._type_scores = dict(type_scores or {})
        self._source = source
        self._pending = ""
        self._cols: dict[str, int] | None = None
        self.n_written = 0
        self._row = 0
        self._last: Transcript | None = None

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:  # type: ignore[override]
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        if lines:
            self._rows(lines)
        return len(text)

    def writelines(self, lines) -> None:  # type: ignore[override]
        for text in lines:
            self.write(text)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:  # the wrapped handle belongs to the caller
        self.finish()

    def finish(self) -> None:
        if self._pending:
            row, self._pending = self._pending, ""
            self._rows([row])

    def _header(self, fields: list[str]) -> None:
        cols = {c: i for i, c in enumerate(fields)}
        missing = [c for c in ("mirna_id", "mrna_id", "site_start", "site_end") if c not in cols]
        if missing:
            raise InputError(
                f"BED output needs site coordinates; the {self._source} has no {', '.join(missing)} column "
                "(a site-level pair table has none: scan whole UTRs instead)"
            )
        self._cols = cols

    def _rows(self, rows: list[str]) -> None:
        """Convert complete TSV lines (the first one ever is the header); one write per batch."""
        out: list[str] = []
        if self._cols is None:
            while rows and not rows[0]:
                rows = rows[1:]
            if not rows:
                return
            self._header(rows[0].split("\t"))
            rows = rows[1:]
        c = self._cols
        assert c is not None
        i_m, i_t, i_s, i_e = c["mirna_id"], c["mrna_id"], c["site_start"], c["site_end"]
        i_type, i_score = c.get("site_type"), c.get("score")
        kind, type_scores = self.kind, self._type_scores
        tx = self._last
        for row in rows:
            if not row:
                continue
            self._row += 1
            f = row.split("\t")
            mirna_id, mrna_id = f[i_m], f[i_t]
            site_type = f[i_type] if i_type is not None else "site"
            if tx is None or tx.name != mrna_id:  # rows of one target come together
                tx = self._last = self._ann.get_transcript(mrna_id)
            try:
                start, end = int(f[i_s]), int(f[i_e])
                inside = 1 <= start <= end <= tx.length
            except ValueError:
                inside, start, end = False, 0, 0
            if not inside:
                raise InputError(
                    f"site {f[i_s]}-{f[i_e]} of '{mirna_id}' on '{mrna_id}' (row {self._row} of the "
                    f"{self._source}) lies outside the UTR's {tx.length} nt in {self._ann.path} line {tx.line}"
                )
            if i_score is not None:
                try:
                    value = float(f[i_score])
                except ValueError:
                    value = math.nan
                if not math.isfinite(value):
                    raise InputError(
                        f"score '{f[i_score]}' of '{mirna_id}' on '{mrna_id}' (row {self._row} of the {self._source}) "
                        "is not a finite number"
                    )
            else:
                value = type_scores.get(site_type, 0.0)
            out.append(bed_line(tx, start, end, f"{mirna_id}|{mrna_id}|{site_type}", scaled_score(value), kind))
        self.n_written += len(out)
        if out:
            self._out.write("".join(out))


@contextlib.contextmanager
def site_output(
    path: str,
    fmt: str = "tsv",
    annotation: Annotation | None = None,
    type_scores: Mapping[str, float] | None = None,
    source: str = "site table",
) -> Iterator[IO[str]]:
    """The site output of dt-scan-cts / dt-predict: a text handle that takes the site table.

    ``fmt`` ``tsv`` writes the table as is; ``bed`` / ``bed12`` convert it to genome
    coordinates with ``annotation`` (``bed``: BED6 or BED12 by :meth:`Annotation.bed_kind`).
    A name ending in ``.bgz`` is sorted, bgzip-compressed and tabix-indexed
    (:mod:`deeptarget_core.indexed`); ``.gz`` is gzip; ``-`` is stdout.
    """

    is_bgz = indexed.is_indexed_output(path)
    if fmt == "tsv":
        with indexed.indexed_output(path, indexed.SITE_TABLE) if is_bgz else streams.atomic_output(path) as handle:
            yield handle
        return
    if annotation is None:
        raise InputError(f"{fmt} output needs the UTR annotation (the UTRs' exons in the genome)")
    kind = BED12 if fmt == BED12 else annotation.bed_kind()
    with indexed.indexed_output(path, indexed.BED) if is_bgz else streams.atomic_output(path) as handle:
        writer = BedWriter(handle, annotation, kind, type_scores, source)
        yield writer
        writer.finish()
