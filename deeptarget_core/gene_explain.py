"""Why a (miRNA, 3'UTR) pair gets its gene score (dt-explain ``--gene-level``).

The gene model (:mod:`deeptarget_core.gene_model`) scores a pair with a canonical site from a
*linear predictor* ``raw`` (predicted repression in standard-normal units); the gene score is
``floor + (1 - floor) * sigmoid(calib_slope * raw + calib_intercept)`` and the predicted log2
fold change ``min(0, fc_intercept + fc_slope * raw)``, both monotone in ``raw``. This module
splits ``raw`` exactly into additive rows (they sum to it within rounding; a test holds them
to 1e-9):

* occupancy model (the packaged default; :mod:`deeptarget_core.gene_affinity`):
  ``raw = intercept + sum_j coef_j * z_j + k * log(1 + a0 * S)``, ``S = sum_s exp(la_s)``.
  Each canonical site s gets the share ``exp(la_s) / S`` of the saturating term (so a site's
  row grows with its affinity and the rows add up to the term exactly); the pair terms (log10
  UTR length, cooperative site pairs) and the intercept are rows of their own. A site's log
  affinity ``la_s`` is itself split into its terms: type, the four flanking nucleotides, 3'
  supplementary pairing, local AU, near the stop codon, distance to the nearer UTR end, and
  the centring of the standardised columns. Relaxed sites are listed with contribution 0
  (this model does not use them).
* ridge model (``dt-train --level gene --gene-features ridge|all``):
  ``raw = intercept + sum_f coef_f * (x_f - mean_f) / scale_f``; the per-type features are
  sums over the sites of that type, so each site s of type t gets ``sum_f coef_{f_t} /
  scale_{f_t} * value_f(s)`` (count 1, its 3' pairing, AU, ...; the network's log-odds for
  ``all``), the pair features are rows of their own, and the centring ``intercept - sum_f
  coef_f * mean_f / scale_f`` is the constant row. A site's terms are those products.

A pair without a canonical site scores the model's ``floor`` with log2 fold change 0 and no
linear predictor (every row 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from . import gene_affinity as ga
from . import gene_features as gf
from . import sites
from .duplex import ClassicDuplex, classic
from .gene_model import GeneModel

SITE_TERMS = ga.TERM_GROUPS  # the occupancy model's terms of a site's log affinity
RIDGE_SITE_TERMS = ("count",) + gf.SITE_FEATURES  # a ridge model's terms of a site's contribution
CONTEXT_VALUES = gf.SITE_FEATURES[1:]  # supp3, au, near_stop, min_dist: each site's values
_BASES = "ACGUN"


@dataclass
class SiteExplanation:
    """One site of the pair, with its part of the linear predictor."""

    site_type: str
    site_start: int  # 1-based, on the UTR
    site_end: int
    canonical: bool
    context: dict[str, float]  # CONTEXT_VALUES: the site's 3' pairing, local AU, ...
    flanks: str  # 2 nt 5' and 2 nt 3' of the site's 8-nt frame (N: outside the UTR)
    terms: dict[str, float]  # occupancy: terms of log affinity; ridge: terms of the contribution
    log_affinity: float | None  # occupancy model only
    share: float | None  # occupancy: exp(la) / S
    contribution: float  # to the linear predictor
    cts_start: int
    cts_end: int
    cts_seq: str  # the site's CTS window (as dt-scan-cts cuts it)
    duplex: ClassicDuplex | None = None

    @property
    def header(self) -> str:
        return f"{self.site_type} at {self.site_start}-{self.site_end}"


@dataclass
class GeneExplanation:
    mirna_id: str
    mirna_seq: str
    mrna_id: str
    utr_length: int
    model_kind: str  # occupancy | ridge
    score: float
    predicted_log2fc: float
    linear_predictor: float | None  # None without a canonical site
    sites: list[SiteExplanation]
    terms: list[tuple[str, float, float]]  # non-site rows: (name, value, contribution)
    fc_slope: float  # predicted_log2fc = min(0, fc_intercept + fc_slope * raw)
    fc_intercept: float
    gene_name: str = ""
    input_score: float | None = None
    rank: int | None = None  # among the miRNA's genes of the gene table
    n_ranked: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def contribution_sum(self) -> float:
        return float(sum(s.contribution for s in self.sites) + sum(c for _, _, c in self.terms))

    @property
    def site_total(self) -> float:
        return float(sum(s.contribution for s in self.sites))


def explain_gene(
    model: GeneModel,
    mirna_id: str,
    mirna_seq: str,
    mrna_id: str,
    utr: str,
    cts_length: int = sites.DEFAULT_CTS_LENGTH,
    site_scorer=None,
) -> GeneExplanation:
    """The gene model's score of one pair and its exact additive decomposition (module doc).
    ``site_scorer``: the site network, for a gene model that uses its log-odds."""
    chunk = next(sites.iter_target_chunks([(mrna_id, utr)], cts_length=cts_length))
    scanner = sites.SiteScanner([sites.Mirna(mirna_id, mirna_seq)], cts_length=cts_length, relaxed=True)
    scorer = site_scorer if model.uses_network else None
    group = next(gf.score_groups(scanner, chunk, {mirna_id: mirna_seq}, scorer))
    ctx, block = group.context, group.blocks[0]
    features = group.features[:1]
    canon = ctx.site_type < len(ga.CANONICAL)
    design = ga.site_design(ctx.site_type[canon], ga.flank_codes(chunk.codes, ctx.p2[canon]), ctx.values[canon, 1:])
    occ = None
    if model.occupancy is not None:
        occ = model.occupancy.occupancy(design, np.zeros(len(design), dtype=np.int64), 1)
    score = float(model.score(features, occ)[0])
    log2fc = float(model.predicted_log2fc(features, occ)[0])
    has_canonical = bool(canon.any())
    raw = float(model.raw(features, occ)[0]) if has_canonical else None

    flanks = ga.flank_codes(chunk.codes, ctx.p2)
    windows = block.cts_strings()
    per_site = _site_parts(model, ctx, design, canon, has_canonical)
    out_sites = []
    for i in range(len(ctx.site_type)):
        terms, la, share, contribution = per_site[i]
        out_sites.append(
            SiteExplanation(
                site_type=sites.SITE_TYPES[int(ctx.site_type[i])],
                site_start=int(block.site_start[i]),
                site_end=int(block.site_end[i]),
                canonical=bool(canon[i]),
                context={c: float(ctx.values[i, 1 + j]) for j, c in enumerate(CONTEXT_VALUES)},
                flanks="".join(_BASES[int(c)] for c in flanks[i]),
                terms=terms,
                log_affinity=la,
                share=share,
                contribution=contribution,
                cts_start=int(block.cts_start[i]),
                cts_end=int(block.cts_end[i]),
                cts_seq=windows[i],
                duplex=classic(mirna_seq, windows[i]),
            )
        )
    return GeneExplanation(
        mirna_id=mirna_id,
        mirna_seq=mirna_seq,
        mrna_id=mrna_id,
        utr_length=len(utr),
        model_kind=model.kind,
        score=score,
        predicted_log2fc=log2fc,
        linear_predictor=raw,
        sites=out_sites,
        terms=_pair_terms(model, features[0], has_canonical),
        fc_slope=model.fc_slope,
        fc_intercept=model.fc_intercept,
    )


def _site_parts(model: GeneModel, ctx, design, canon, has_canonical: bool) -> list:
    """Per site: (terms, log affinity, share, contribution to the linear predictor)."""
    n = len(ctx.site_type)
    if model.occupancy is not None:
        occ = model.occupancy
        la = occ.log_affinity(design)
        contrib = occ.site_contributions(design)
        la_terms = occ.log_affinity_terms(design)
        shares = np.exp(la - la.max()) / np.exp(la - la.max()).sum() if len(la) else la
        out = []
        k = 0
        for i in range(n):
            if canon[i]:
                terms = dict(zip(SITE_TERMS, la_terms[k].tolist()))
                out.append((terms, float(la[k]), float(shares[k]), float(contrib[k])))
                k += 1
            else:  # relaxed sites: not in the occupancy model
                out.append(({}, None, None, 0.0))
        return out
    weight = _ridge_weights(model)
    width = 1 + len(gf.SITE_FEATURES)
    out = []
    for i in range(n):
        base = int(ctx.site_type[i]) * width
        values = [1.0] + ctx.values[i].tolist()
        terms = {name: weight[base + j] * v for j, (name, v) in enumerate(zip(RIDGE_SITE_TERMS, values))}
        total = math.fsum(terms.values()) if has_canonical else 0.0
        out.append((terms if has_canonical else {}, None, None, total))
    return out


def _ridge_weights(model: GeneModel) -> np.ndarray:
    """coef / scale of every feature of FEATURE_NAMES (0 for those the model does not use)."""
    w = np.zeros(gf.N_FEATURES)
    for f, c, s in zip(model.features, model.coef.tolist(), model.scale.tolist()):
        w[gf.FEATURE_NAMES.index(f)] = c / s
    return w


def _pair_terms(model: GeneModel, features: np.ndarray, has_canonical: bool) -> list[tuple[str, float, float]]:
    """The non-site rows: (name, feature value, contribution): the constant first."""
    if model.occupancy is not None:
        names = list(model.features)
        constant = float(model.intercept) - float(np.sum(model.coef * model.mean / model.scale))
    else:
        names = [f for f in model.features if f in gf.PAIR_FEATURES]
        constant = float(model.intercept) - float(np.sum(model.coef * model.mean / model.scale))
    rows = [("constant", 1.0, constant if has_canonical else 0.0)]
    for f in names:
        i = model.features.index(f)
        value = float(features[gf.FEATURE_NAMES.index(f)])
        rows.append((f, value, value * float(model.coef[i] / model.scale[i]) if has_canonical else 0.0))
    return rows


def rank_of(rows: Sequence[tuple[str, float, int | None]], mrna_id: str) -> tuple[int | None, int]:
    """(rank, number ranked) of ``mrna_id`` among one miRNA's gene-table rows (mrna_id, score,
    rank column or None): the table's ``rank`` when it has one, else by score, best first,
    ties in table order (as dt-predict ranks)."""
    n = len(rows)
    for t, _, given in rows:
        if t == mrna_id and given is not None:
            return given, max(n, max(g for _, _, g in rows if g is not None))
    order = sorted(range(n), key=lambda k: -rows[k][1])  # stable: ties keep the table's order
    for r, k in enumerate(order, start=1):
        if rows[k][0] == mrna_id:
            return r, n
    return None, n


# --------------------------------------------------------------------------- the pairs to explain


@dataclass
class GeneRequest:
    """One row of the gene table to explain."""

    mirna_id: str
    mrna_id: str
    mirna_seq: str
    utr: str | None  # from an mrna_seq column (else from the UTR FASTA)
    score: float | None
    line: int
    source: str


@dataclass
class GeneRows:
    """A gene table's rows to explain, and every row's (mrna_id, score, rank) per miRNA (for
    the rank among the miRNA's genes; empty without a score column)."""

    requests: list[GeneRequest]
    ranking: dict[str, list[tuple[str, float, int | None]]]


def read_gene_rows(path, mirnas: dict[str, str] | None, mirna_fasta_name: str | None, top: int | None) -> GeneRows:
    """The rows of a gene table (dt-predict's gene output: mirna_id, mrna_id[, score, rank]) or
    a gene-level pair table (mirna_seq, mrna_seq with whole UTRs); with ``top``, the ``top``
    best rows by the score column, ties in table order (without one: every row, ranked later
    by the gene model). miRNA sequences from ``mirnas`` or a mirna_seq column."""
    import heapq

    from .errors import InputError
    from .explain import row_mirna, row_score
    from .io import check_target_seq, iter_tsv, parse_integer

    heap: list = []
    every: list[GeneRequest] = []
    ranking: dict[str, list[tuple[str, float, int | None]]] = {}
    order = 0
    for table in iter_tsv(path, ("mirna_id", "mrna_id")):
        cols = table.columns
        at = {c: cols.index(c) for c in ("mirna_id", "mrna_id", "mirna_seq", "mrna_seq", "score", "rank") if c in cols}
        if mirnas is None and "mirna_seq" not in at:
            raise InputError("the table has no mirna_seq column: give the miRNA sequences as a FASTA", table.path, 1)
        for row, line in zip(table.rows, table.lines):
            mid, tid = row[at["mirna_id"]].strip(), row[at["mrna_id"]].strip()
            if not mid or not tid:
                raise InputError("empty mirna_id or mrna_id", table.path, line)
            mseq = row_mirna(mid, row[at["mirna_seq"]] if "mirna_seq" in at else None, mirnas, mirna_fasta_name, table.path, line)
            utr = check_target_seq(row[at["mrna_seq"]], "mrna_seq", table.path, line) if "mrna_seq" in at else None
            score = rank = None
            if "score" in at:
                score = row_score(row[at["score"]], table.path, line)
                if "rank" in at:
                    text = row[at["rank"]].strip()
                    try:
                        rank = parse_integer(text)
                    except ValueError:
                        raise InputError(f"rank '{text}' is not a whole number", table.path, line) from None
                ranking.setdefault(mid, []).append((tid, score, rank))
            request = GeneRequest(mid, tid, mseq, utr, score, line, table.path)
            if top is None or score is None:
                every.append(request)
            elif len(heap) < top:
                heapq.heappush(heap, ((score, -order), order, request))
            elif (score, -order) > heap[0][0]:
                heapq.heapreplace(heap, ((score, -order), order, request))
            order += 1
    if heap:
        every = [r for _, _, r in sorted(heap, key=lambda t: t[0], reverse=True)]
    return GeneRows(every, ranking)


def read_utrs(path, wanted: set[str]) -> dict[str, tuple[str, str]]:
    """id -> (sequence, gene name) of the ``wanted`` records of a UTR FASTA (others skipped)."""
    from .gene_table import info_of_header
    from .io import read_fasta

    out = {}
    for rec in read_fasta(path, "target"):
        if rec.id in wanted:
            info = info_of_header(f"{rec.id} {rec.description}")
            out[rec.id] = (rec.seq, info.gene_name or "")
    return out
