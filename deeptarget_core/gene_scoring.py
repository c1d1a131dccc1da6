"""Gene output with the gene model (dt-predict ``--aggregate model``).

The gene model's features come from every site of the pair (canonical and relaxed, found
by one relaxed scan), whatever ``--site-types`` the site output uses; ``n_sites`` and
``best_site_type`` of a gene row count the sites of the requested types, as with the other
aggregations. Targets are processed chunk by chunk (a target never spans two chunks), so
memory holds one chunk of UTRs and its features, whatever the input size.

Row order: with --mirna/--utr, chunk by chunk, then miRNA (input order), then target
(input order); rows only for pairs with at least one site of the requested types. With a
gene-level pair table: one row per input row, in input order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import IO, Iterable, Iterator, Mapping, Sequence

import numpy as np

from . import gene_affinity as ga
from . import gene_features as gf
from . import sites
from .errors import InputError
from .gene_model import GeneModel
from .gene_table import GENE_COLUMNS, MODEL_COLUMNS
from .io import FastaRecord, write_tsv_header
from .scorers import format_scores


@dataclass
class GeneScorer:
    """The gene model plus what it needs to score pairs: a relaxed scanner's window length and,
    for models that use the site network's log-odds, the site scorer."""

    model: GeneModel
    cts_length: int = sites.DEFAULT_CTS_LENGTH
    site_scorer: object | None = None
    relaxed_counts: bool = False  # n_sites / best_site_type over relaxed types too

    def __post_init__(self) -> None:
        if self.model.uses_network and self.site_scorer is None:
            raise ValueError("this gene model uses the site network's log-odds: a site scorer is needed")
        self.count_types = sites.SITE_TYPES if self.relaxed_counts else sites.CANONICAL_TYPES

    def chunk_scores(
        self, mirnas: Sequence[sites.Mirna], chunk: sites.TargetChunk, pairs: Mapping[str, set[str]] | None = None
    ) -> Iterator[GroupScores]:
        """Per group of miRNAs: the scores, n_sites and best type of every (miRNA, target) pair."""
        scanner = sites.SiteScanner(mirnas, cts_length=self.cts_length, relaxed=True, pairs=pairs)
        seqs = {m.id: m.seq for m in mirnas}
        scorer = self.site_scorer if self.model.uses_network else None
        for group in gf.score_groups(scanner, chunk, seqs, scorer):
            # pairs without a site score the floor, with no sites and no best type
            rows, features = group.with_sites()
            scores = np.full(group.n_pairs, self.model.floor)
            log2fc = np.zeros(group.n_pairs)
            n_sites = np.zeros(group.n_pairs, dtype=np.int64)
            best = np.full(group.n_pairs, sites.NO_SITE_INDEX, dtype=np.int64)
            occ = self._occupancy(group, chunk, len(rows)) if self.model.occupancy is not None else None
            scores[rows] = self.model.score(features, occ)
            log2fc[rows] = self.model.predicted_log2fc(features, occ)
            n_sites[rows], best[rows] = gf.site_counts(features, self.count_types)
            yield GroupScores(group.mirna_ids, len(chunk.ids), scores, n_sites, best, log2fc)

    def _occupancy(self, group: gf.FeatureGroup, chunk: sites.TargetChunk, n_rows: int) -> np.ndarray:
        """k * log(1 + a0 * S) of the group's pairs with a site (in :meth:`FeatureGroup.with_sites`
        order), S summed over their canonical sites (gene_affinity)."""

        ctx = group.context
        _rows, local = np.unique(ctx.pair_index, return_inverse=True)
        canon = ctx.site_type < len(ga.CANONICAL)
        design = ga.site_design(ctx.site_type[canon], ga.flank_codes(chunk.codes, ctx.p2[canon]), ctx.values[canon, 1:])
        return self.model.occupancy.occupancy(design, local.reshape(-1)[canon], n_rows)


@dataclass
class GroupScores:
    """Gene scores of a group of miRNAs against every target of a chunk; pair
    ``i * n_targets + t`` is miRNA ``mirna_ids[i]`` against target t."""

    mirna_ids: list[str]
    n_targets: int
    scores: np.ndarray
    n_sites: np.ndarray
    best_type: np.ndarray
    log2fc: np.ndarray  # the gene model's predicted log2 fold change

    def of(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(scores, n_sites, best type, predicted log2fc) of the group's ``i``-th miRNA, per target."""
        part = slice(i * self.n_targets, (i + 1) * self.n_targets)
        return self.scores[part], self.n_sites[part], self.best_type[part], self.log2fc[part]


@dataclass
class GeneRows:
    """Writes gene rows (GENE_COLUMNS + MODEL_COLUMNS [+ label] [+ extra columns])."""

    handle: IO[str]
    has_label: bool = False
    extra_columns: Sequence[str] = ()
    n_written: int = 0

    def __post_init__(self) -> None:
        cols = list(GENE_COLUMNS) + list(MODEL_COLUMNS) + (["label"] if self.has_label else []) + list(self.extra_columns)
        write_tsv_header(self.handle, cols)

    def write(self, rows: Iterable[Sequence[str]]) -> None:
        text = "".join("\t".join(r) + "\n" for r in rows)
        self.handle.write(text)
        self.n_written += text.count("\n")


def _fmt(values: np.ndarray) -> list[str]:

    return format_scores(values)


def write_scan(
    gene: GeneScorer,
    mirnas: Sequence[sites.Mirna],
    chunk: sites.TargetChunk,
    out: GeneRows,
    pairs: Mapping[str, set[str]] | None = None,
) -> None:
    """Gene rows of one chunk: every (miRNA, target) pair with a site of the counted types."""
    ids = np.asarray(chunk.ids, dtype=object)
    # the scanner already leaves out targets outside ``pairs``: they have no sites (n == 0)
    for group in gene.chunk_scores(mirnas, chunk, pairs):
        ix = np.flatnonzero(group.n_sites > 0)  # miRNA-major: the rows come in miRNA, target order
        mids = np.asarray(group.mirna_ids, dtype=object)[ix // group.n_targets].tolist()
        tids = ids[ix % group.n_targets].tolist()
        text = _fmt(group.scores[ix])
        types = np.asarray(sites.SITE_TYPE_NAMES, dtype=object)[group.best_type[ix]].tolist()
        out.write(zip(mids, tids, text, map(str, group.n_sites[ix].tolist()), types, _fmt(group.log2fc[ix])))


def pair_scores(
    gene: GeneScorer,
    mirnas: Sequence[sites.Mirna],
    targets: Iterable[FastaRecord | tuple[str, str]],
    pairs: Mapping[str, set[str]],
) -> dict[tuple[str, str], tuple[float, int, int, float]]:
    """(score, n_sites, best type index, predicted log2fc) of the given pairs, targets streamed in chunks."""
    wanted = {m.id for m in mirnas if pairs.get(m.id)}
    mirnas = [m for m in mirnas if m.id in wanted]
    out: dict[tuple[str, str], tuple[float, int, int, float]] = {}
    for chunk in sites.iter_target_chunks(targets, cts_length=gene.cts_length):
        index = {t: i for i, t in enumerate(chunk.ids)}
        for group in gene.chunk_scores(mirnas, chunk, pairs):
            for k, mid in enumerate(group.mirna_ids):
                scores, n, best, fc = group.of(k)
                for t in pairs.get(mid, ()):
                    i = index.get(t)
                    if i is not None:
                        out[(mid, t)] = (float(scores[i]), int(n[i]), int(best[i]), float(fc[i]))
    return out


@dataclass
class PairCollector:
    """The (miRNA, target) pairs a site table holds, in order (gene_sinks.SiteTableModelSink
    notes them as their sites are scored), so that the gene model scores exactly those pairs."""

    source: str | None = None
    pairs: dict[str, dict[str, None]] = field(default_factory=dict)

    def add_grouped(self, mirna_id, mirna_seq, mrna_ids, scores, site_types, line=None) -> None:
        targets = self.pairs.setdefault(mirna_id, {})
        for t in np.asarray(mrna_ids, dtype=object).tolist():
            targets.setdefault(t, None)


def write_collected(
    gene: GeneScorer,
    collected: PairCollector,
    mirna_seqs: Mapping[str, str],
    targets: Iterable[FastaRecord | tuple[str, str]],
    out: GeneRows,
    utr_source: str,
    threads: int = 1,
) -> None:
    """Gene rows of a site table's pairs (in the table's order), the UTRs read from ``targets``.

    Results go to numpy columns indexed by the pairs' order (not a dict of tuples): a site table
    of 1.5 M CTSs holds about a million pairs. The miRNAs are split over ``threads`` threads
    (the site scoring is over by then; its numpy work releases the GIL: 1.35x on 2 cores)."""
    from concurrent.futures import ThreadPoolExecutor

    order = {m: list(ts) for m, ts in collected.pairs.items()}
    first = dict(zip(order, np.cumsum([0] + [len(ts) for ts in order.values()]).tolist()))
    n_pairs = sum(len(ts) for ts in order.values())
    score, n_sites, log2fc = np.zeros(n_pairs), np.zeros(n_pairs, dtype=np.int64), np.zeros(n_pairs)
    best, seen = np.zeros(n_pairs, dtype=np.int64), np.zeros(n_pairs, dtype=bool)
    pairs = {m: set(ts) for m, ts in order.items()}
    mirnas = [sites.Mirna(m, mirna_seqs[m]) for m in order]
    # consecutive miRNAs with about as many pairs in each part (a miRNA's work grows with them)
    cumulative = np.cumsum([len(ts) for ts in order.values()])
    cuts = np.searchsorted(cumulative, [cumulative[-1] * k / threads for k in range(1, threads)]).tolist() if mirnas else []
    bounds = [0, *cuts, len(mirnas)]
    parts = [mirnas[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]

    def fill(chunk: sites.TargetChunk, index: dict[str, int], part: list[sites.Mirna]) -> None:
        """Results of ``part``'s miRNAs, to their own rows of the columns."""
        for group in gene.chunk_scores(part, chunk, pairs):
            for k, mid in enumerate(group.mirna_ids):
                at = np.fromiter((index.get(t, -1) for t in order[mid]), dtype=np.int64, count=len(order[mid]))
                here = np.flatnonzero(at >= 0)
                rows = first[mid] + here
                scores_k, n_k, best_k, fc_k = group.of(k)
                score[rows], n_sites[rows], best[rows] = scores_k[at[here]], n_k[at[here]], best_k[at[here]]
                log2fc[rows] = fc_k[at[here]]
                seen[rows] = True

    with ThreadPoolExecutor(max(1, len(parts))) as pool:
        for chunk in sites.iter_target_chunks(targets, cts_length=gene.cts_length):
            index = {t: i for i, t in enumerate(chunk.ids)}
            list(pool.map(fill, [chunk] * len(parts), [index] * len(parts), parts))
    if not seen.all():
        missing = int(np.argmin(seen))
        mid = next(m for m in reversed(order) if first[m] <= missing)
        raise InputError(f"target '{order[mid][missing - first[mid]]}' of the site table is not in the UTR FASTA", utr_source)
    names = np.asarray(sites.SITE_TYPE_NAMES, dtype=object)
    rows: list = []
    for mid, ts in order.items():
        part = slice(first[mid], first[mid] + len(ts))
        rows.extend(
            zip(
                repeat(mid),
                ts,
                _fmt(score[part]),
                map(str, n_sites[part].tolist()),
                names[best[part]].tolist(),
                _fmt(log2fc[part]),
            )
        )
        if len(rows) >= 100_000:
            out.write(rows)
            rows = []
    out.write(rows)
