"""The prediction pipelines: batched, streaming inference of site scores and gene rows.

Inputs (all streamed; never every CTS of a run in memory at once):

* a site table (dt-scan-cts output), read in chunks of rows; miRNA sequences from a FASTA;
* miRNA + UTR FASTA files, scanned here chunk by chunk with :mod:`deeptarget_core.sites`;
* a pair table, at site level (one CTS per row, scored as given) or gene level (a whole
  3'UTR per row, scanned like ``scan_inputs.inputs_from_pair_table``).

A CTS whose length differs from the model's ``cts_length`` is aligned at its 3' end: the
last ``cts_length`` nt are kept and a shorter CTS is padded with N on its 5' side. This
keeps the seed match where dt-scan-cts puts it (site end at window position L-4) and
matches what the network reads first (the CTS is read 3'->5').

The scorers (network and seed-match baseline) are in :mod:`deeptarget_core.scorers`, the
fused GRU loop in :mod:`deeptarget_core.fused_gru`, the gene table of site / scan input in
:mod:`deeptarget_core.gene_writer` and the Poisson null model in :mod:`deeptarget_core.chance`;
their names are re-exported here. This module keeps the pipelines: one chunk is scored
while the next is parsed.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Callable, Iterable, Sequence

import numpy as np

from . import scan_inputs, sites
from .errors import InputError
from .gene_scoring import pair_scores
from .gene_sinks import GeneSink
from .gene_writer import GeneWriter
from .indexed import indexed_lengths
from .io import SITE_COLUMNS, FastaRecord, iter_pairs, iter_tsv, pairs_of_table, read_fasta, read_pairs, write_tsv_header
from .scorers import (
    NO_SITE,
    SiteScorer,
    encode_cts,
    format_scores,
    score_block,
    score_blocks,
)
from .seq import CTS_CODE, MIN_CTS_NT, normalise
from .sites import FIND_SITE_TYPE, SITE_TYPE_INDEX, SITE_TYPE_NAMES

SITE_LEVEL_MAX_NT = 100  # --level auto: a pair table whose mrna_seq are all <= this is site level

# --------------------------------------------------------------------------- pipelines


@dataclass
class PredictSummary:
    n_cts: int = 0
    n_pairs: int = 0
    seconds: float = 0.0
    level: str = "site"

    @property
    def rate(self) -> float:
        return self.n_cts / self.seconds if self.seconds else float("nan")


def _mirna_runs(ids: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, id) of runs of equal consecutive ids."""
    if not ids:
        return []
    arr = np.asarray(ids, dtype=object)
    starts = np.flatnonzero(np.r_[True, arr[1:] != arr[:-1]]).tolist()
    ends = starts[1:] + [len(ids)]
    return [(a, b, ids[a]) for a, b in zip(starts, ends)]


def predict_site_table(
    path: str,
    mirna_seqs: dict[str, str],
    scorer: SiteScorer,
    out: IO[str] | None,
    genes: GeneSink | None = None,
    chunk_rows: int = 50_000,
    mirna_source: str = "the miRNA FASTA",
    progress: Callable[[int], None] | None = None,
) -> PredictSummary:
    """Score a site table (needs ``mirna_id`` and ``cts_seq``; ``mrna_id`` for gene-level
    output). The ``site_type`` column is used when present (dt-scan-cts tables), else each
    CTS's best seed match is found. Writes input columns + ``score``."""
    t0 = time.perf_counter()
    summary = PredictSummary(level="site")
    pending = None  # (future scores, chunk) of the chunk being scored

    def finish(future, chunk: _SiteChunk) -> None:
        scores = future.result()
        rows = chunk.table.rows
        if out is not None:
            text = format_scores(scores)
            out.write("".join(["\t".join(r) + "\t" + s + "\n" for r, s in zip(rows, text)]))
        if genes is not None and genes.wants_sites:
            ti = chunk.table.columns.index("mrna_id")
            tids = np.asarray([r[ti] for r in rows], dtype=object)
            for a, b, mid in chunk.runs:
                genes.add_sites(mid, mirna_seqs[mid], tids[a:b], scores[a:b], chunk.types[a:b], chunk.table.lines[a])
        summary.n_cts += len(rows)
        if progress:
            progress(len(rows))

    # One chunk is scored in the background while the next is parsed and the previous
    # written: reading/encoding/formatting overlap the network (torch releases the GIL).
    with ThreadPoolExecutor(1) as background:
        for i, table in enumerate(iter_tsv(path, ("mirna_id", "cts_seq"), chunk_rows)):
            if i == 0:
                _site_table_header(table, out, genes is not None)
            if not table.rows:
                continue
            chunk = _SiteChunk.of(table, mirna_seqs, scorer.cts_length, mirna_source)
            future = background.submit(scorer.score, chunk.mirnas, chunk.mirna_index, chunk.codes, chunk.types)
            if pending is not None:
                finish(*pending)
            pending = (future, chunk)
        if pending is not None:
            finish(*pending)
    if genes is not None:
        genes.finish()
        summary.n_pairs = genes.n_written
    summary.seconds = time.perf_counter() - t0
    return summary


def _site_table_header(table, out: IO[str] | None, gene_level: bool) -> None:
    """Check a site table's columns and write the scored table's header."""
    if "score" in table.columns:
        raise InputError("the table already has a 'score' column (already predicted?)", table.path, 1)
    if gene_level and "mrna_id" not in table.columns:
        raise InputError("gene-level output needs an mrna_id column", table.path, 1)
    if out is not None:
        write_tsv_header(out, table.columns + ["score"])


@dataclass
class _SiteChunk:
    """One chunk of site-table rows, checked and encoded for the scorer."""

    table: object
    mirnas: list[str]  # distinct miRNA sequences of the chunk
    mirna_index: np.ndarray  # row -> position in ``mirnas``
    codes: np.ndarray
    types: np.ndarray
    runs: list[tuple[int, int, str]]  # (start, end, mirna_id) of runs of one miRNA

    @classmethod
    def of(cls, table, mirna_seqs: dict[str, str], cts_length: int, mirna_source: str) -> "_SiteChunk":
        cols, rows = table.columns, table.rows
        mi, ci = cols.index("mirna_id"), cols.index("cts_seq")
        mids = [r[mi] for r in rows]
        ctss = [r[ci] for r in rows]
        short = next((i for i, c in enumerate(ctss) if len(c) < MIN_CTS_NT), None)
        if short is not None:  # an empty or 1-nt cts_seq cannot hold a site: not scored
            raise InputError(
                f"cts_seq '{ctss[short]}' is {len(ctss[short])} nt; a CTS needs at least {MIN_CTS_NT} nt (a seed match)",
                table.path,
                table.lines[short],
            )
        codes = encode_cts(ctss, cts_length, table.path, table.lines)
        runs = _mirna_runs(mids)
        uniq: dict[str, int] = {}
        idx = np.empty(len(rows), dtype=np.int64)
        for a, b, mid in runs:
            if mid not in mirna_seqs:
                raise InputError(f"miRNA id '{mid}' is not in {mirna_source}", table.path, table.lines[a])
            idx[a:b] = uniq.setdefault(mirna_seqs[mid], len(uniq))
        types = _site_types_of(table)
        found = types == FIND_SITE_TYPE  # no column, or a dt-make-negatives 'duplex' site
        if found.any():  # the best seed match in the CTS, as for a pair table
            rows_f = np.flatnonzero(found)
            types[rows_f] = sites.best_site_types(
                [mirna_seqs[mids[i]] for i in rows_f], [normalise(ctss[i]) for i in rows_f], cts_length
            )[0]
        return cls(table, list(uniq), idx, codes, types, runs)


def _site_types_of(table) -> np.ndarray:
    """Site-type indexes of a site table's rows; FIND_SITE_TYPE where the table does not say
    (no site_type column, or 'duplex': a dt-make-negatives site found by alignment)."""
    if "site_type" not in table.columns:
        return np.full(len(table.rows), FIND_SITE_TYPE, dtype=np.int64)
    si = table.columns.index("site_type")
    try:
        return np.fromiter((SITE_TYPE_INDEX[r[si]] for r in table.rows), dtype=np.int64, count=len(table.rows))
    except KeyError:
        for r, line in zip(table.rows, table.lines):
            if r[si] not in SITE_TYPE_INDEX:
                raise InputError(
                    f"unknown site_type '{r[si]}' (expected one of {', '.join([*SITE_TYPE_NAMES, sites.DUPLEX_SITE])})",
                    table.path,
                    line,
                ) from None
        raise


def predict_scan(
    mirnas: Sequence[sites.Mirna],
    targets: Iterable[FastaRecord | tuple[str, str]],
    scorer: SiteScorer,
    out: IO[str] | None,
    genes: GeneSink | None = None,
    relaxed: bool = False,
    pairs: dict[str, set[str]] | None = None,
    chunk_nt: int = 8_000_000,
    utr_lengths: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> PredictSummary:
    """Scan targets chunk by chunk and score the sites as they are found; the gene rows go to
    ``genes`` (see :mod:`deeptarget_core.gene_sinks`).

    Rows come in the order chunk, miRNA, target, position (with one chunk: the
    dt-scan-cts order). Gene-level output: when the targets span several chunks, a
    miRNA's pairs are gathered over all chunks before they are written.
    """
    t0 = time.perf_counter()
    summary = PredictSummary(level="site")
    scanner = sites.SiteScanner(mirnas, cts_length=scorer.cts_length, relaxed=relaxed, pairs=pairs)
    if out is not None:
        write_tsv_header(out, list(SITE_COLUMNS) + ["score"])
    chunks = sites.iter_target_chunks(_recording(targets, utr_lengths), cts_length=scorer.cts_length, chunk_nt=chunk_nt)
    sink = _SiteSink(scorer, {m.id: m.seq for m in mirnas}, out, genes, summary, progress)

    # The gene model's rows of a chunk (numpy: relaxed scan, features) are computed beside the
    # site scoring (torch, on the scorer's pool) when they do not need the site network.
    with ThreadPoolExecutor(1) as background:
        for chunk in chunks:
            work = genes.chunk_work(mirnas, chunk, pairs) if genes is not None else None
            beside = background.submit(work) if work is not None and genes.parallel else None
            sink.scan(scanner, chunk)
            if beside is not None:
                beside.result()
            elif work is not None:
                work()
            if genes is not None:
                genes.next_chunk()
    if genes is not None:
        genes.finish()
        summary.n_pairs = genes.n_written
    summary.seconds = time.perf_counter() - t0
    return summary


@dataclass
class _SiteSink:
    """Where predict_scan's sites go: scored in batches of many blocks (of any miRNAs), written
    in their order to -o and the max / Poisson gene writer."""

    scorer: SiteScorer
    seq_of: dict[str, str]
    out: IO[str] | None
    genes: GeneSink | None
    summary: PredictSummary
    progress: Callable[[int], None] | None

    def scan(self, scanner: sites.SiteScanner, chunk: sites.TargetChunk) -> None:
        batch_sites = max(4096, getattr(self.scorer, "batch_size", 0) * getattr(self.scorer, "threads", 1))
        pending: list = []
        n_pending = 0
        for block in scanner.scan_chunk(chunk):
            if not len(block):
                continue
            pending.append(block)
            n_pending += len(block)
            if n_pending >= batch_sites:
                self.flush(chunk, pending)
                n_pending = 0
        self.flush(chunk, pending)

    def flush(self, chunk: sites.TargetChunk, pending: list) -> None:
        """Score the pending blocks in one call, then write them in their order."""
        if not pending:
            return
        scores = score_blocks(self.scorer, pending, [self.seq_of[b.mirna_id] for b in pending])
        if self.out is not None:
            text = format_scores(np.concatenate(scores))
            self.out.write("".join([r + "\t" + s + "\n" for r, s in zip(sites.site_rows(pending, chunk), text)]))
        if self.genes is not None and self.genes.wants_sites:
            for block, block_scores in zip(pending, scores):
                tids = chunk.id_array[block.target_index]
                seq = self.seq_of[block.mirna_id]
                self.genes.add_sites(block.mirna_id, seq, tids, block_scores, block.site_type.astype(np.int64))
        n = sum(len(b) for b in pending)
        self.summary.n_cts += n
        if self.progress:
            self.progress(n)
        pending.clear()


def _recording(targets, lengths: dict[str, int] | None):
    for rec in targets:
        if lengths is not None:
            rid, seq = (rec.id, rec.seq) if isinstance(rec, FastaRecord) else rec
            lengths[rid] = len(seq)
        yield rec


def read_utr_lengths(path) -> dict[str, int]:
    """UTR id -> length; from the FASTA's .fai index when it has a current one (no sequence
    read), else from the FASTA."""

    lengths = indexed_lengths(path)
    if lengths is not None:
        return lengths
    return {r.id: len(r.seq) for r in read_fasta(path, kind="target")}


def pair_table_level(path) -> str:
    """'site' when every mrna_seq of the first 100,000 rows is <= SITE_LEVEL_MAX_NT nt, else
    'gene' (read in small chunks, so a gene-level table stops at its first long row: little
    is read, and kept for the real reading when the table is a pipe)."""
    seen = 0
    for _, chunk in iter_pairs(path, chunk_rows=1000):
        if any(len(p.mrna_seq) > SITE_LEVEL_MAX_NT for p in chunk):
            return "gene"
        seen += len(chunk)
        if seen >= 100_000:
            break
    return "site"


def predict_pairs_site(
    path: str,
    scorer: SiteScorer,
    out: IO[str],
    chunk_rows: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> PredictSummary:
    """Site-level pair table: one CTS per row, scored directly. Output = input columns +
    ``site_type`` (best seed match found in the CTS, ``none`` if none) + ``score``.

    A CTS of exactly ``cts_length`` nt is scored as given; a shorter or longer one is
    re-windowed on its best seed match (site end at window position L-4, N-padded, as
    dt-scan-cts places it) or, without a seed match, 3'-aligned (see :func:`encode_cts`).
    """
    t0 = time.perf_counter()
    summary = PredictSummary(level="site")
    L = scorer.cts_length
    header_done = False
    for table in iter_tsv(path, ("mirna_id", "mirna_seq", "mrna_id", "mrna_seq"), chunk_rows):
        if not header_done:
            for name in ("score", "site_type"):
                if name in table.columns:
                    raise InputError(f"the pair table already has a '{name}' column", table.path, 1)
            write_tsv_header(out, table.columns + ["site_type", "score"])
            header_done = True
        if not table.rows:
            continue
        # Validate through the one pair reader (same messages as everywhere).
        pairs = pairs_of_table(table)[1]
        mseqs = [p.mirna_seq for p in pairs]
        ctss = [p.mrna_seq for p in pairs]
        types, windows = sites.best_site_types(mseqs, ctss, L)
        codes = encode_cts(ctss, L, table.path, table.lines)
        redo = np.array([len(s) != L for s in ctss]) & (types != SITE_TYPE_INDEX[NO_SITE])
        if redo.any():
            codes[redo] = CTS_CODE[windows[redo]]
        uniq: dict[str, int] = {}
        idx = np.fromiter((uniq.setdefault(s, len(uniq)) for s in mseqs), dtype=np.int64, count=len(mseqs))
        scores = scorer.score(list(uniq), idx, codes, types)
        text = format_scores(scores)
        tnames = np.asarray(SITE_TYPE_NAMES, dtype=object)[types].tolist()
        out.write("".join(["\t".join(r) + f"\t{t}\t{s}\n" for r, t, s in zip(table.rows, tnames, text)]))
        summary.n_cts += len(pairs)
        if progress:
            progress(len(pairs))
    summary.seconds = time.perf_counter() - t0
    return summary


def predict_pairs_gene(
    path: str,
    scorer: SiteScorer,
    out: IO[str] | None,
    genes: GeneWriter,
    relaxed: bool = False,
    progress: Callable[[int], None] | None = None,
    gene_scorer=None,
) -> PredictSummary:
    """Gene-level pair table: every row's whole 3'UTR is scanned; one gene row per input row
    (in input order, label and extra columns carried), also for rows without any site.
    With ``gene_scorer`` (``--aggregate model``) the gene model gives score, n_sites and
    best_site_type."""
    t0 = time.perf_counter()
    extra_names, rows = read_pairs(path)
    inputs = scan_inputs.inputs_from_pair_table(path)
    seq_of = {m.id: m.seq for m in inputs.mirnas}
    targets = dict(inputs.targets)
    scanner = sites.SiteScanner(inputs.mirnas, cts_length=scorer.cts_length, relaxed=relaxed, pairs=inputs.pairs)
    chunk = sites.pack_targets(list(targets.items()), scorer.cts_length)
    if out is not None:
        write_tsv_header(out, list(SITE_COLUMNS) + ["score"])
    site_scores: dict[tuple[str, str], tuple[float, int, int]] = {}
    summary = PredictSummary(level="gene")
    for block in scanner.scan_chunk(chunk):
        if not len(block):
            continue
        scores = score_block(scorer, block, seq_of[block.mirna_id])
        if out is not None:
            text = format_scores(scores)
            out.write("".join([r + "\t" + s + "\n" for r, s in zip(block.to_tsv(chunk).splitlines(), text)]))
        tids = np.asarray(chunk.ids, dtype=object)[block.target_index]
        for tid, s, t in zip(tids.tolist(), scores.tolist(), block.site_type.astype(np.int64).tolist()):
            key = (block.mirna_id, tid)
            old = site_scores.get(key)
            site_scores[key] = (s, 1, t) if old is None else (max(old[0], s), old[1] + 1, min(old[2], t))
        summary.n_cts += len(block)
        if progress:
            progress(len(block))
    # One gene row per pair-table row, in input order.
    best = np.array([site_scores.get((p.mirna_id, p.mrna_id), (0.0, 0, 0))[0] for p in rows], dtype=np.float64)
    n_sites = np.array([site_scores.get((p.mirna_id, p.mrna_id), (0.0, 0, 0))[1] for p in rows], dtype=np.int64)
    btype = [
        site_scores[(p.mirna_id, p.mrna_id)][2] if (p.mirna_id, p.mrna_id) in site_scores else SITE_TYPE_INDEX[NO_SITE]
        for p in rows
    ]
    log2fc = None  # the gene model's predicted_log2fc column
    if gene_scorer is not None:
        found = pair_scores(gene_scorer, inputs.mirnas, list(targets.items()), inputs.pairs)
        hits = [found[(p.mirna_id, p.mrna_id)] for p in rows]
        score = np.array([h[0] for h in hits], dtype=np.float64)
        n_sites = np.array([h[1] for h in hits], dtype=np.int64)
        btype = [h[2] for h in hits]
        if genes.model_columns:  # the GeneWriter's header has predicted_log2fc
            log2fc = format_scores(np.array([h[3] for h in hits], dtype=np.float64))
    elif genes.aggregate == "poisson":
        score = np.zeros(len(rows))
        by_mirna: dict[str, list[int]] = {}
        for i, p in enumerate(rows):
            by_mirna.setdefault(p.mirna_id, []).append(i)
        for mid, ix in by_mirna.items():
            ix_a = np.array(ix)
            lengths = np.array([len(targets[rows[i].mrna_id]) for i in ix], dtype=np.float64)
            score[ix_a] = genes.chance.gene_scores(seq_of[mid], best[ix_a], lengths, n_sites[ix_a])
    else:
        score = best
    text = format_scores(score)
    lines = []
    for k, (p, s, n, t) in enumerate(zip(rows, text, n_sites.tolist(), btype)):
        row = [p.mirna_id, p.mrna_id, s, str(n), SITE_TYPE_NAMES[t]]
        if log2fc is not None:
            row.append(log2fc[k])
        if genes.has_label:
            row.append("" if p.label is None else str(p.label))
        row.extend(p.extra)
        lines.append("\t".join(row) + "\n")
    genes.handle.write("".join(lines))
    genes.n_written = len(lines)
    summary.n_pairs = len(lines)
    summary.seconds = time.perf_counter() - t0
    del extra_names
    return summary


__all__ = [
    "predict_pairs_gene",
    "predict_pairs_site",
    "predict_scan",
    "predict_site_table",
    "read_utr_lengths",
    "pair_table_level",
]
