"""Seed-match scanning and candidate target site (CTS) extraction.

Site types (miRNA 5'->3', nt 1-based; the target pairs antiparallel, so the site's 3' end
faces the miRNA's 5' end). Every seed match is reported once, with its best type; the
types are mutually exclusive for one alignment frame, so no site is counted twice.

canonical (TargetScan definitions)
  8mer            Watson-Crick (WC) to nt 2-8, plus an A opposite nt 1
  7mer-m8         WC to nt 2-8, no A opposite nt 1
  7mer-A1         WC to nt 2-7, nt 8 not WC, A opposite nt 1
  6mer            WC to nt 2-7, nt 8 not WC, no A opposite nt 1
relaxed (adds, in the spirit of TargetNet's extended seed alignment)
  offset-6mer     WC to nt 3-8, nt 2 not WC
  7mer-GU         nt 2-8 paired, exactly one G:U wobble at one of nt 3-7, the rest WC
  7mer-mismatch   nt 2-8 paired, exactly one mismatch (not WC, not G:U) at nt 3-7, rest WC
(A non-WC nt 8 with WC nt 2-7 is already a canonical 6mer/7mer-A1, a non-WC nt 2 with WC
nt 3-8 is an offset-6mer; bulges are not searched.)

Coordinates are 1-based inclusive on the target (5'->3'). ``site_start..site_end`` spans the
paired nucleotides plus the A1 when present, as TargetScan reports them.

CTS window: the public miRAW/TargetNet 40-nt sites put the site's 3' end (the A1 of an 8mer
or 7mer-A1, the nt-2 pair of a 7mer-m8 or 6mer) at window position 36 (measured on the
TEC-miTarget train positives: 62% of 8mers, 61% of 7mer-m8 there). So the window ends
``CTS_DOWNSTREAM = 4`` nt 3' of ``site_end`` and reaches ``cts_length - 5`` nt 5' of it.
Near a UTR end the window is clipped to the UTR (``cts_start``/``cts_end`` give the clipped
span) and ``cts_seq`` is padded with N on the missing side, so it always has
``cts_length`` letters and the seed sits at the same window position.

Speed: targets are packed in chunks into one array of 2-bit codes; the 6-mer code of every
position is computed once with numpy and stable-sorted, so all occurrences of a seed 6-mer
are one slice. Each miRNA then costs one lookup (16 for relaxed), with numpy checks for nt 8
and the A1, instead of one regex pass per miRNA per target.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .io import SITE_COLUMNS, FastaRecord, write_tsv_header

CANONICAL_TYPES = ("8mer", "7mer-m8", "7mer-A1", "6mer")
RELAXED_TYPES = ("offset-6mer", "7mer-GU", "7mer-mismatch")
SITE_TYPES = CANONICAL_TYPES + RELAXED_TYPES  # in order of preference: best first
SITE_TYPE_RANK = {name: rank for rank, name in enumerate(SITE_TYPES)}
NO_SITE_INDEX = len(SITE_TYPES)  # site-type index of a window without any seed match ("none")
DUPLEX_SITE = "duplex"  # site_type of a dt-make-negatives site (found by duplex alignment, not by seed)

CTS_DOWNSTREAM = 4
DEFAULT_CTS_LENGTH = 40
# Peak memory is about 40 bytes per nt of chunk (the 6-mer sort and the next chunk being read):
# 1.4 GB at 32 Mnt (200 MB FASTA, measured); 64 Mnt needed 2.2 GB.
DEFAULT_CHUNK_NT = 32_000_000

_K = 6
_NO_KMER = 4**_K  # code for a 6-mer containing N or a separator
_N_CODE = 4
_A, _C, _G, _U = 0, 1, 2, 3
_COMPLEMENT_CODE = np.array([_U, _G, _C, _A], dtype=np.uint8)
_BASE_CODE = np.full(256, _N_CODE, dtype=np.uint8)
for _code, _letter in enumerate("ACGU"):
    _BASE_CODE[ord(_letter)] = _code


@dataclass(frozen=True)
class Mirna:
    id: str
    seq: str  # normalised, 5'->3'


@dataclass
class TargetChunk:
    """Several targets packed into one array, separated by N runs at least one CTS long."""

    ids: list[str]
    starts: np.ndarray  # offset of each target's first nt in ``codes``
    lengths: np.ndarray
    codes: np.ndarray  # uint8, 0-3 = ACGU, 4 = N / separator
    ascii: np.ndarray  # uint8 letters, N in separators (for CTS extraction)
    kmer_positions: np.ndarray  # positions sorted by 6-mer code
    kmer_bounds: np.ndarray  # kmer_positions[bounds[c]:bounds[c+1]] hold 6-mer code c

    @property
    def n_nt(self) -> int:
        return int(self.lengths.sum())

    def positions_of(self, kmer_code: int) -> np.ndarray:
        return self.kmer_positions[self.kmer_bounds[kmer_code] : self.kmer_bounds[kmer_code + 1]]


def pack_targets(records: Sequence[tuple[str, str]], pad: int) -> TargetChunk:
    """Pack (id, normalised sequence) pairs into a :class:`TargetChunk` and index its 6-mers."""
    pad = max(pad, _K)
    ids = [rid for rid, _ in records]
    lengths = np.fromiter((len(s) for _, s in records), dtype=np.int64, count=len(records))
    spacer = "N" * pad
    text = spacer + spacer.join(s for _, s in records) + spacer
    ascii_buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    codes = _BASE_CODE[ascii_buf]
    starts = np.empty(len(records), dtype=np.int64)
    if len(records):
        starts[0] = pad
        starts[1:] = pad + np.cumsum(lengths[:-1] + pad)
    kmers = _kmer_codes(codes)
    # int32 positions (a chunk is far below 2^31 nt) halve the index; no extra int64 copy.
    order = np.argsort(kmers, kind="stable").astype(np.int32)
    bounds = np.zeros(_NO_KMER + 2, dtype=np.int64)
    np.cumsum(np.bincount(kmers, minlength=_NO_KMER + 1), out=bounds[1:])
    return TargetChunk(ids, starts, lengths, codes, ascii_buf, order, bounds)


def _kmer_codes(codes: np.ndarray) -> np.ndarray:
    """6-mer code starting at each position (``_NO_KMER`` where an N is inside)."""
    n = len(codes) - _K + 1
    kmers = np.zeros(max(n, 0), dtype=np.uint16)
    bad = np.zeros(max(n, 0), dtype=bool)
    for j in range(_K):
        part = codes[j : j + n]
        kmers = (kmers << 2) | (part & 3)
        bad |= part == _N_CODE
    kmers[bad] = _NO_KMER
    return kmers


def iter_target_chunks(
    records: Iterable[FastaRecord | tuple[str, str]],
    cts_length: int = DEFAULT_CTS_LENGTH,
    chunk_nt: int = DEFAULT_CHUNK_NT,
) -> Iterator[TargetChunk]:
    """Stream targets into chunks of about ``chunk_nt`` nucleotides (bounded memory)."""
    batch: list[tuple[str, str]] = []
    size = 0
    for rec in records:
        rid, seq = (rec.id, rec.seq) if isinstance(rec, FastaRecord) else rec
        batch.append((rid, seq))
        size += len(seq)
        if size >= chunk_nt:
            yield pack_targets(batch, cts_length)
            batch, size = [], 0
    if batch:
        yield pack_targets(batch, cts_length)


def _code_of(letters: Sequence[int]) -> int:
    code = 0
    for c in letters:
        code = (code << 2) | int(c)
    return code


@dataclass
class SiteBlock:
    """All sites of one miRNA in one chunk, sorted by target then position (numpy columns)."""

    mirna_id: str
    target_index: np.ndarray
    site_type: np.ndarray  # index into SITE_TYPES
    site_start: np.ndarray  # 1-based, on the target
    site_end: np.ndarray
    cts_start: np.ndarray
    cts_end: np.ndarray
    cts: np.ndarray  # (n, cts_length) uint8 letters, N-padded

    def __len__(self) -> int:
        return len(self.target_index)

    def cts_strings(self) -> list[str]:
        n, width = self.cts.shape
        text = self.cts.tobytes().decode("ascii")
        return [text[i : i + width] for i in range(0, n * width, width)]

    def to_tsv(self, chunk: TargetChunk) -> str:
        """The block as site-table rows (no Python work per field beyond one f-string)."""
        if not len(self):
            return ""
        ids = np.asarray(chunk.ids, dtype=object)[self.target_index].tolist()
        types = np.asarray(SITE_TYPES, dtype=object)[self.site_type].tolist()
        mid = self.mirna_id
        return "".join(
            f"{mid}\t{t}\t{ty}\t{a}\t{b}\t{c}\t{d}\t{s}\n"
            for t, ty, a, b, c, d, s in zip(
                ids,
                types,
                self.site_start.tolist(),
                self.site_end.tolist(),
                self.cts_start.tolist(),
                self.cts_end.tolist(),
                self.cts_strings(),
            )
        )


class SiteScanner:
    """Finds the sites of a fixed set of miRNAs in chunks of targets."""

    def __init__(
        self,
        mirnas: Sequence[Mirna],
        cts_length: int = DEFAULT_CTS_LENGTH,
        relaxed: bool = False,
        pairs: Mapping[str, set[str]] | None = None,
    ):
        if cts_length < 20:
            raise ValueError("cts_length must be at least 20")
        self.mirnas = list(mirnas)
        self.cts_length = cts_length
        self.relaxed = relaxed
        self.pairs = pairs
        self._patterns = [self._patterns_of(m.seq) for m in self.mirnas]

    def _patterns_of(self, seq: str) -> list[tuple[int, int, int, int, int, int]]:
        """Lookups for one miRNA: (6-mer code, type, check offset, check code, start, end).

        Offsets are relative to the 6-mer's first position p. ``check`` is the extra
        nt that must pair (-1 = none). Canonical types are decided later (nt 8 and A1).
        """
        m = _BASE_CODE[np.frombuffer(seq.encode("ascii"), dtype=np.uint8)]
        comp = _COMPLEMENT_CODE[m]  # comp[i] = WC partner of nt i+1
        # target 5'->3' pairing nt 7..2 (p = nt 7, p+5 = nt 2)
        site_2_7 = [comp[i] for i in range(6, 0, -1)]
        patterns = [(_code_of(site_2_7), -1, 0, 0, 0, 0)]  # canonical, resolved in _scan
        if self.relaxed:
            # offset-6mer: p = nt 8 ... p+5 = nt 3; nt 2 (p+6) must NOT be WC.
            site_3_8 = [comp[i] for i in range(7, 1, -1)]
            patterns.append((_code_of(site_3_8), SITE_TYPE_RANK["offset-6mer"], 6, int(comp[1]), 0, 5))
            # one non-WC at nt k (3..7) inside nt 2-7, nt 8 (p-1) must be WC.
            for k in range(3, 8):
                pos = 7 - k  # offset of nt k within the 6-mer
                mirna_base = int(m[k - 1])
                for x in range(4):
                    if x == comp[k - 1]:
                        continue
                    letters = list(site_2_7)
                    letters[pos] = x
                    wobble = (mirna_base, x) in ((_G, _U), (_U, _G))
                    kind = SITE_TYPE_RANK["7mer-GU" if wobble else "7mer-mismatch"]
                    patterns.append((_code_of(letters), kind, -1, int(comp[7]), -1, 5))
        return patterns

    def scan_chunk(self, chunk: TargetChunk) -> Iterator[SiteBlock]:
        """One :class:`SiteBlock` per miRNA (possibly empty), in miRNA input order."""
        allowed_cache: dict[str, np.ndarray] = {}
        id_to_index = None
        if self.pairs is not None:
            id_to_index = {tid: i for i, tid in enumerate(chunk.ids)}
        for mirna, patterns in zip(self.mirnas, self._patterns):
            allowed = None
            if self.pairs is not None:
                targets = self.pairs.get(mirna.id, set())
                allowed = allowed_cache.get(mirna.id)
                if allowed is None:
                    allowed = np.array(sorted(id_to_index[t] for t in targets if t in id_to_index), dtype=np.int64)
                    allowed_cache[mirna.id] = allowed
            yield self._scan(mirna, patterns, chunk, allowed)

    def _scan(self, mirna: Mirna, patterns, chunk: TargetChunk, allowed: np.ndarray | None) -> SiteBlock:
        codes = chunk.codes
        nt8_partner = _COMPLEMENT_CODE[_BASE_CODE[ord(mirna.seq[7])]]
        starts, ends, kinds = [], [], []
        for kmer, kind, check_off, check_code, s_off, e_off in patterns:
            p = chunk.positions_of(kmer)
            if not len(p):
                continue
            if kind < 0:  # canonical: nt 2-7 pair; decide nt 8 and A1
                m8 = codes[p - 1] == nt8_partner
                a1 = codes[p + 6] == _A
                t = np.where(m8, np.where(a1, 0, 1), np.where(a1, 2, 3)).astype(np.int8)
                starts.append(np.where(m8, p - 1, p))
                ends.append(np.where(a1, p + 6, p + 5))
                kinds.append(t)
                continue
            if check_off == 6:  # offset-6mer: exclude when nt 2 pairs (canonical then)
                p = p[codes[p + 6] != check_code]
            else:  # GU / mismatch seeds: nt 8 must pair
                p = p[codes[p - 1] == check_code]
            if len(p):
                starts.append(p + s_off)
                ends.append(p + e_off)
                kinds.append(np.full(len(p), kind, dtype=np.int8))
        if starts:
            start = np.concatenate(starts)
            end = np.concatenate(ends)
            kind_arr = np.concatenate(kinds)
            # Target-then-position order; ties (two frames with the same span) by type rank.
            order = np.lexsort((kind_arr, end, start))
            start, end, kind_arr = start[order], end[order], kind_arr[order]
        else:
            start = end = np.zeros(0, dtype=np.int64)
            kind_arr = np.zeros(0, dtype=np.int8)
        tidx = np.searchsorted(chunk.starts, start, side="right") - 1
        if allowed is not None:
            keep = np.isin(tidx, allowed)
            start, end, kind_arr, tidx = start[keep], end[keep], kind_arr[keep], tidx[keep]
        L = self.cts_length
        cts_end_buf = end + CTS_DOWNSTREAM
        cts_start_buf = cts_end_buf - L + 1
        windows = chunk.ascii[cts_start_buf[:, None] + np.arange(L)] if len(start) else np.zeros((0, L), np.uint8)
        offset = chunk.starts[tidx] - 1  # buffer -> 1-based target coordinate
        length = chunk.lengths[tidx]
        return SiteBlock(
            mirna_id=mirna.id,
            target_index=tidx,
            site_type=kind_arr,
            site_start=start - offset,
            site_end=end - offset,
            cts_start=np.maximum(cts_start_buf - offset, 1),
            cts_end=np.minimum(cts_end_buf - offset, length),
            cts=windows,
        )


@dataclass
class ScanSummary:
    n_mirnas: int = 0
    n_targets: int = 0
    n_nt: int = 0
    n_chunks: int = 0
    by_type: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def n_sites(self) -> int:
        return sum(self.by_type.values())

    def add(self, block: SiteBlock) -> None:
        if len(block):
            counts = np.bincount(block.site_type, minlength=len(SITE_TYPES))
            for name, n in zip(SITE_TYPES, counts.tolist()):
                if n:
                    self.by_type[name] += n


def write_site_table(
    handle: IO[str],
    scanner: SiteScanner,
    chunks: Iterable[TargetChunk],
    tmp_dir: str | Path | None = None,
) -> ScanSummary:
    """Scan and write the site table sorted by miRNA (input order), target, position.

    With one chunk the rows stream straight to ``handle``. With several, each chunk's
    rows go to a temporary file with the byte range of every miRNA recorded, and the
    ranges are then copied miRNA by miRNA: the output order is the same as with one chunk
    while memory stays bounded by one chunk.
    """
    t0 = time.perf_counter()
    summary = ScanSummary(n_mirnas=len(scanner.mirnas))
    write_tsv_header(handle, SITE_COLUMNS)
    chunk_iter = iter(chunks)
    first = next(chunk_iter, None)
    if first is None:
        summary.seconds = time.perf_counter() - t0
        return summary
    second = next(chunk_iter, None)

    def count(chunk: TargetChunk) -> None:
        summary.n_chunks += 1
        summary.n_targets += len(chunk.ids)
        summary.n_nt += chunk.n_nt

    if second is None:
        count(first)
        for block in scanner.scan_chunk(first):
            summary.add(block)
            handle.write(block.to_tsv(first))
        summary.seconds = time.perf_counter() - t0
        return summary

    workdir = Path(tempfile.mkdtemp(prefix="dt-scan-", dir=tmp_dir))
    try:
        spans: list[tuple[Path, list[tuple[int, int]]]] = []

        def spill(chunk: TargetChunk) -> None:
            count(chunk)
            path = workdir / f"chunk{len(spans)}.tsv"
            ranges = []
            with open(path, "wb") as out:
                for block in scanner.scan_chunk(chunk):
                    summary.add(block)
                    data = block.to_tsv(chunk).encode("ascii")
                    ranges.append((out.tell(), len(data)))
                    out.write(data)
            spans.append((path, ranges))

        spill(first)
        spill(second)
        for chunk in chunk_iter:
            spill(chunk)
        files = [open(path, "rb") for path, _ in spans]
        try:
            for i in range(len(scanner.mirnas)):
                for f, (_, ranges) in zip(files, spans):
                    start, size = ranges[i]
                    if size:
                        f.seek(start)
                        handle.write(f.read(size).decode("ascii"))
        finally:
            for f in files:
                f.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    summary.seconds = time.perf_counter() - t0
    return summary


@dataclass
class ScanInputs:
    """What a scan needs, whatever files it came from."""

    mirnas: list[Mirna]
    targets: Iterable[FastaRecord | tuple[str, str]]
    pairs: dict[str, set[str]] | None = None


def inputs_from_fasta(
    mirna_fasta: str | Path,
    utr_fasta: str | Path,
    pairs: dict[str, set[str]] | None = None,
    pairs_path: str | Path | None = None,
) -> ScanInputs:
    """miRNAs are read at once (small); targets stay a lazy stream."""
    from .errors import InputError
    from .io import read_fasta

    mirnas = [Mirna(r.id, r.seq) for r in read_fasta(mirna_fasta, kind="mirna")]
    if pairs is not None:
        known = {m.id for m in mirnas}
        unknown = sorted(set(pairs) - known)
        if unknown:
            raise InputError(
                f"{len(unknown)} miRNA id(s) of the pair list are not in {mirna_fasta}, e.g. '{unknown[0]}'",
                pairs_path,
            )
        mirnas = [m for m in mirnas if m.id in pairs]
        from .indexed import read_some_targets  # random access when the FASTA has a .fai

        wanted = set().union(*pairs.values()) if pairs else set()
        return ScanInputs(mirnas, _check_targets_seen(read_some_targets(utr_fasta, wanted), pairs, pairs_path, utr_fasta), pairs)
    return ScanInputs(mirnas, read_fasta(utr_fasta, kind="target"), pairs)


def _check_targets_seen(
    targets: Iterable[FastaRecord], pairs: dict[str, set[str]], pairs_path, utr_fasta
) -> Iterator[FastaRecord]:
    """Stream the targets; at the end, a target id of the pair list that never came is an
    InputError (as for miRNA ids), raised while the output is still a temporary file."""
    from .errors import InputError
    from .io import display_name

    wanted = set().union(*pairs.values()) if pairs else set()
    for rec in targets:
        wanted.discard(rec.id)
        yield rec
    if wanted:
        missing = sorted(wanted)
        raise InputError(
            f"{len(missing)} target id(s) of the pair list are not in {display_name(utr_fasta)}, e.g. '{missing[0]}'",
            pairs_path,
        )


def inputs_from_pair_table(path: str | Path) -> ScanInputs:
    """A pair table with whole target sequences in ``mrna_seq`` (miRAW/TargetNet gene level).

    The same id must always carry the same sequence.
    """
    from .errors import InputError
    from .io import read_pairs

    _, rows = read_pairs(path)
    mirnas: dict[str, str] = {}
    targets: dict[str, str] = {}
    pairs: dict[str, set[str]] = {}
    for row in rows:
        for table, key, seq, what in (
            (mirnas, row.mirna_id, row.mirna_seq, "miRNA"),
            (targets, row.mrna_id, row.mrna_seq, "target"),
        ):
            old = table.setdefault(key, seq)
            if old != seq:
                raise InputError(f"{what} id '{key}' appears with two different sequences", path, row.line)
        pairs.setdefault(row.mirna_id, set()).add(row.mrna_id)
    return ScanInputs([Mirna(k, v) for k, v in mirnas.items()], list(targets.items()), pairs)


def best_site_types(mirna_seqs: Sequence[str], ctss: Sequence[str], cts_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Best seed-match type (relaxed scan) of each (miRNA, CTS) pair, and a window of
    ``cts_length`` placed on that site as dt-scan-cts would place it (N-padded); rows
    without a site get the type ``none`` and an empty window."""
    n = len(ctss)
    types = np.full(n, NO_SITE_INDEX, dtype=np.int64)
    windows = np.zeros((n, cts_length), dtype=np.uint8)
    found = np.zeros(n, dtype=bool)
    by_mirna: dict[str, list[int]] = {}
    for i, m in enumerate(mirna_seqs):
        by_mirna.setdefault(m, []).append(i)
    mirnas = [Mirna(f"m{k}", seq) for k, seq in enumerate(by_mirna)]
    pairs = {f"m{k}": {str(i) for i in rows} for k, rows in enumerate(by_mirna.values())}
    scanner = SiteScanner(mirnas, cts_length=cts_length, relaxed=True, pairs=pairs)
    chunk = pack_targets([(str(i), s) for i, s in enumerate(ctss)], cts_length)
    target_rows = np.array([int(x) for x in chunk.ids], dtype=np.int64)
    for block in scanner.scan_chunk(chunk):
        if not len(block):
            continue
        rows = target_rows[block.target_index]
        order = np.lexsort((block.site_type, rows))  # best type first within each row
        rows_o = rows[order]
        firsts = order[np.r_[True, rows_o[1:] != rows_o[:-1]]]
        r = rows[firsts]
        better = block.site_type[firsts] < types[r]
        r_b = r[better]
        types[r_b] = block.site_type[firsts][better]
        windows[r_b] = block.cts[firsts][better]
        found[r_b] = True
    return types, np.where(found[:, None], windows, 0)
