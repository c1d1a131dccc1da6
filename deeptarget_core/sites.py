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
are one slice. Each miRNA then costs one lookup (16 more for relaxed types), with numpy checks
for nt 8 and the A1, instead of one regex pass per miRNA per target; the lookups of a whole
group of miRNAs run as one set of numpy calls (:meth:`SiteScanner.scan_groups`), so 30,000
miRNAs against one UTR cost no Python round per miRNA.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .io import SITE_COLUMNS, FastaRecord, write_tsv_header

CANONICAL_TYPES = ("8mer", "7mer-m8", "7mer-A1", "6mer")
RELAXED_TYPES = ("offset-6mer", "7mer-GU", "7mer-mismatch")
SITE_TYPES = CANONICAL_TYPES + RELAXED_TYPES  # in order of preference: best first
SITE_TYPE_RANK = {name: rank for rank, name in enumerate(SITE_TYPES)}
NO_SITE_INDEX = len(SITE_TYPES)  # site-type index of a window without any seed match ("none")
NO_SITE = "none"  # best_site_type / site_type of a pair or window without any seed match
SITE_TYPE_NAMES = (*SITE_TYPES, NO_SITE)  # by site-type index, NO_SITE_INDEX included
DUPLEX_SITE = "duplex"  # site_type of a dt-make-negatives site (found by duplex alignment, not by seed)
FIND_SITE_TYPE = -1  # the index of a site-table row whose type is found from its sequence
# a site table's site_type -> index (a duplex site's type is found from its sequence)
SITE_TYPE_INDEX = {**{name: i for i, name in enumerate(SITE_TYPE_NAMES)}, DUPLEX_SITE: FIND_SITE_TYPE}

CTS_DOWNSTREAM = 4
DEFAULT_CTS_LENGTH = 40
# Peak memory is about 40 bytes per nt of chunk (the 6-mer sort and the next chunk being read):
# 1.4 GB at 32 Mnt (200 MB FASTA, measured); 64 Mnt needed 2.2 GB.
DEFAULT_CHUNK_NT = 32_000_000

_K = 6
_NO_KMER = 4**_K  # code for a 6-mer containing N or a separator
# nucleotide codes of the scanners (and of gene_features' pairing): A C G U, N (never pairs)
N_CODE = 4
A_CODE, C_CODE, G_CODE, U_CODE = 0, 1, 2, 3
COMPLEMENT_CODE = np.array([U_CODE, G_CODE, C_CODE, A_CODE], dtype=np.uint8)
BASE_CODE = np.full(256, N_CODE, dtype=np.uint8)
for _code, _letter in enumerate("ACGU"):
    BASE_CODE[ord(_letter)] = _code


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

    @cached_property
    def id_array(self) -> np.ndarray:
        """``ids`` as a numpy object array (for indexing by target index)."""
        return np.asarray(self.ids, dtype=object)

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
    codes = BASE_CODE[ascii_buf]
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
        bad |= part == N_CODE
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
        return window_strings(self.cts)

    def to_tsv(self, chunk: TargetChunk) -> str:
        """The block as site-table rows."""
        return "".join([row + "\n" for row in site_rows([self], chunk)])


_SITE_TYPE_NAMES = np.asarray(SITE_TYPES, dtype=object)


def window_strings(cts: np.ndarray) -> list[str]:
    """(n, L) uint8 letters -> n strings of L letters."""
    n, width = cts.shape
    text = cts.tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, n * width, width)]


def site_rows(blocks: Sequence[SiteBlock], chunk: TargetChunk) -> list[str]:
    """Site-table rows (SITE_COLUMNS, no newline) of several blocks, in block order: one set
    of numpy calls for all of them, then one f-string per row."""
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return []
    sizes = [len(b) for b in blocks]
    column = lambda name: np.concatenate([getattr(b, name) for b in blocks]).tolist()  # noqa: E731
    mirna_ids = np.repeat(np.asarray([b.mirna_id for b in blocks], dtype=object), sizes).tolist()
    target_ids = chunk.id_array[np.concatenate([b.target_index for b in blocks])].tolist()
    types = _SITE_TYPE_NAMES[np.concatenate([b.site_type for b in blocks])].tolist()
    windows = window_strings(np.concatenate([b.cts for b in blocks]))
    return [
        f"{m}\t{t}\t{ty}\t{a}\t{b}\t{c}\t{d}\t{w}"
        for m, t, ty, a, b, c, d, w in zip(
            mirna_ids,
            target_ids,
            types,
            column("site_start"),
            column("site_end"),
            column("cts_start"),
            column("cts_end"),
            windows,
        )
    ]


class SiteScanner:
    """Finds the sites of a fixed set of miRNAs in chunks of targets.

    Every miRNA's seed patterns (1 canonical lookup; 16 more for relaxed types) are one table
    of numpy columns, and a chunk is scanned for a whole group of miRNAs at once: 30,000
    miRNAs against one UTR cost a few numpy calls, not 30,000 rounds of them. Groups are
    cut so that each holds about ``GROUP_SITES`` seed hits (bounded memory on large chunks).
    """

    GROUP_SITES = 200_000

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
        self._patterns = _seed_patterns([m.seq for m in self.mirnas], relaxed)

    def scan_chunk(self, chunk: TargetChunk) -> Iterator[SiteBlock]:
        """One :class:`SiteBlock` per miRNA (possibly empty), in miRNA input order."""
        for group in self.scan_groups(chunk):
            yield from group

    def scan_groups(self, chunk: TargetChunk) -> Iterator[list[SiteBlock]]:
        """The blocks of :meth:`scan_chunk`, a list per group of miRNAs scanned together."""
        pat = self._patterns
        counts = chunk.kmer_bounds[pat.kmer + 1] - chunk.kmer_bounds[pat.kmer]
        hits_per_mirna = np.bincount(pat.mirna, weights=counts, minlength=len(self.mirnas))
        first = 0
        for last in _group_ends(hits_per_mirna, self.GROUP_SITES):
            yield self._scan_group(first, last, chunk)
            first = last

    def _allowed_keys(self, first: int, last: int, chunk: TargetChunk) -> np.ndarray | None:
        """(miRNA - first) x n_targets + target index of the pairs to keep (None = all)."""
        if self.pairs is None:
            return None
        index = {tid: i for i, tid in enumerate(chunk.ids)}
        n_t = len(chunk.ids)
        keys = [k * n_t + index[t] for k, m in enumerate(self.mirnas[first:last]) for t in self.pairs.get(m.id, ()) if t in index]
        return np.unique(np.asarray(keys, dtype=np.int64))

    def _scan_group(self, first: int, last: int, chunk: TargetChunk) -> list[SiteBlock]:
        """The blocks of miRNAs ``first``..``last``-1: every 6-mer hit of their patterns at once
        (one row per hit), checked, typed, sorted and cut into one block per miRNA."""
        pat = self._patterns.rows(first, last)
        codes = chunk.codes
        lo = chunk.kmer_bounds[pat.kmer]
        counts = chunk.kmer_bounds[pat.kmer + 1] - lo
        hit = np.repeat(np.arange(len(pat.kmer)), counts)
        within = np.arange(len(hit)) - np.repeat(np.cumsum(counts) - counts, counts)
        p = chunk.kmer_positions[lo[hit] + within].astype(np.int64)
        allowed = self._allowed_keys(first, last, chunk)
        if allowed is not None:  # before the checks below: a site table's pairs are a fraction of all
            target_of_hit = np.searchsorted(chunk.starts, p, side="right") - 1  # the 6-mer lies within its target
            ok = np.isin((pat.mirna[hit] - first) * len(chunk.ids) + target_of_hit, allowed)
            hit, p = hit[ok], p[ok]
        kind = pat.kind[hit].astype(np.int8)
        canonical = kind < 0
        # canonical: nt 2-7 pair; nt 8 and the A1 decide the type
        m8 = codes[p - 1] == pat.check[hit]
        a1 = codes[p + 6] == A_CODE
        kind = np.where(canonical, np.where(m8, np.where(a1, 0, 1), np.where(a1, 2, 3)), kind).astype(np.int8)
        start = np.where(canonical, np.where(m8, p - 1, p), p + pat.start_offset[hit])
        end = np.where(canonical, np.where(a1, p + 6, p + 5), p + 5)
        # offset-6mer: nt 2 must not pair (else canonical); GU / mismatch seeds: nt 8 must pair
        offset = pat.check_offset[hit] == 6
        keep = canonical | np.where(offset, codes[p + 6] != pat.check[hit], m8)
        mirna = pat.mirna[hit][keep] - first
        start, end, kind = start[keep], end[keep], kind[keep]
        tidx = np.searchsorted(chunk.starts, start, side="right") - 1
        # miRNA, then target-then-position order; ties (two frames with one span) by type rank
        order = np.lexsort((kind, end, start, mirna))
        mirna, start, end, kind, tidx = mirna[order], start[order], end[order], kind[order], tidx[order]
        L = self.cts_length
        cts_end_buf = end + CTS_DOWNSTREAM
        cts_start_buf = cts_end_buf - L + 1
        windows = np.lib.stride_tricks.sliding_window_view(chunk.ascii, L)[cts_start_buf]  # (n, L) letters, no index matrix
        offset_1 = chunk.starts[tidx] - 1  # buffer -> 1-based target coordinate
        length = chunk.lengths[tidx]
        cols = (
            tidx,
            kind,
            start - offset_1,
            end - offset_1,
            np.maximum(cts_start_buf - offset_1, 1),
            np.minimum(cts_end_buf - offset_1, length),
            windows,
        )
        bounds = np.searchsorted(mirna, np.arange(last - first + 1)).tolist()
        # one block per miRNA (30,000 miRNAs: 30,000 blocks, most empty against one UTR):
        # slices spelt out and one shared set of empty columns keep this cheap
        empty = tuple(c[:0] for c in cols)
        c0, c1, c2, c3, c4, c5, c6 = cols
        return [
            SiteBlock(m.id, c0[a:b], c1[a:b], c2[a:b], c3[a:b], c4[a:b], c5[a:b], c6[a:b]) if a < b else SiteBlock(m.id, *empty)
            for m, a, b in zip(self.mirnas[first:last], bounds[:-1], bounds[1:])
        ]


def _group_ends(hits_per_mirna: np.ndarray, budget: int) -> list[int]:
    """End indexes of consecutive miRNA groups of about ``budget`` hits (at least one miRNA each)."""
    ends, total = [], 0.0
    for i, h in enumerate(hits_per_mirna.tolist()):
        if total and total + h > budget:
            ends.append(i)
            total = 0.0
        total += h
    if len(hits_per_mirna):
        ends.append(len(hits_per_mirna))
    return ends


@dataclass
class _SeedPatterns:
    """6-mer lookups of many miRNAs, one row each, sorted by miRNA.

    ``kind``: -1 = canonical (type decided by nt 8 and the A1), else an index into
    SITE_TYPES. ``check``: the code that must face nt 8 (canonical, GU/mismatch) or nt 2
    (offset-6mer, where it must NOT pair); ``check_offset`` 6 marks the nt-2 check.
    ``start_offset``: site start relative to the 6-mer's first position p (end = p + 5)."""

    mirna: np.ndarray
    kmer: np.ndarray
    kind: np.ndarray
    check: np.ndarray
    check_offset: np.ndarray
    start_offset: np.ndarray

    def rows(self, first: int, last: int) -> "_SeedPatterns":
        a, b = np.searchsorted(self.mirna, [first, last])
        return _SeedPatterns(*(getattr(self, f)[a:b] for f in self.__dataclass_fields__))


def _seed_patterns(seqs: Sequence[str], relaxed: bool) -> _SeedPatterns:
    """The lookups of every miRNA, vectorised over miRNAs (see _SeedPatterns)."""
    n = len(seqs)
    letters = np.frombuffer("".join(s[:8] for s in seqs).encode("ascii"), dtype=np.uint8).reshape(n, 8)
    m = BASE_CODE[letters].astype(np.int64)
    comp = COMPLEMENT_CODE[m].astype(np.int64)  # comp[:, i] = WC partner of nt i+1
    weights = 4 ** np.arange(5, -1, -1)  # target 5'->3' letters -> 6-mer code
    site_2_7 = comp[:, 6:0:-1]  # p = nt 7 ... p+5 = nt 2
    rows = [(np.arange(n), site_2_7 @ weights, np.full(n, -1), comp[:, 7], np.zeros(n), np.zeros(n))]
    if relaxed:
        rows.append(  # offset-6mer: p = nt 8 ... p+5 = nt 3
            (
                np.arange(n),
                comp[:, 7:1:-1] @ weights,
                np.full(n, SITE_TYPE_RANK["offset-6mer"]),
                comp[:, 1],
                np.full(n, 6),
                np.zeros(n),
            )
        )
        for k in range(3, 8):  # one non-WC letter opposite nt k, the rest of nt 2-8 WC
            pos = 7 - k  # offset of nt k within the 6-mer
            for x in range(4):
                use = comp[:, k - 1] != x
                letters = site_2_7[use].copy()
                letters[:, pos] = x
                base = m[use, k - 1]
                wobble = ((base == G_CODE) & (x == U_CODE)) | ((base == U_CODE) & (x == G_CODE))
                kind = np.where(wobble, SITE_TYPE_RANK["7mer-GU"], SITE_TYPE_RANK["7mer-mismatch"])
                k_use = int(use.sum())
                rows.append((np.flatnonzero(use), letters @ weights, kind, comp[use, 7], np.full(k_use, -1), np.full(k_use, -1)))
    cols = [np.concatenate(c) for c in zip(*rows)]
    order = np.argsort(cols[0], kind="stable")
    mirna, kmer, kind, check, check_offset, start_offset = (c[order].astype(np.int64) for c in cols)
    return _SeedPatterns(mirna, kmer, kind, check, check_offset, start_offset)


@dataclass
class ScanSummary:
    n_mirnas: int = 0
    n_targets: int = 0
    n_nt: int = 0
    n_chunks: int = 0
    by_type: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    advance: Callable[[int], None] = lambda n: None  # progress: told the sites of each block

    @property
    def n_sites(self) -> int:
        return sum(self.by_type.values())

    def add(self, block: SiteBlock) -> None:
        if len(block):
            counts = np.bincount(block.site_type, minlength=len(SITE_TYPES))
            self.by_type.update({name: n for name, n in zip(SITE_TYPES, counts.tolist()) if n})
            self.advance(len(block))


def write_site_table(
    handle: IO[str],
    scanner: SiteScanner,
    chunks: Iterable[TargetChunk],
    tmp_dir: str | Path | None = None,
    advance: Callable[[int], None] = lambda n: None,
) -> ScanSummary:
    """Scan and write the site table sorted by miRNA (input order), target, position.

    With one chunk the rows stream straight to ``handle``. With several, each chunk's
    rows go to a temporary file with the byte range of every miRNA recorded, and the
    ranges are then copied miRNA by miRNA: the output order is the same as with one chunk
    while memory stays bounded by one chunk.
    """
    t0 = time.perf_counter()
    summary = ScanSummary(n_mirnas=len(scanner.mirnas), advance=advance)
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
