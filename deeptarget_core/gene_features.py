"""Features of a (miRNA, 3'UTR) pair, computed from every site in the UTR (the gene model's input).

The paper's gene score (max of site scores) ties a plain seed-site count on real repression
data: it ignores how many sites there are, where they sit and what surrounds them. Here each
site found by :class:`~deeptarget_core.sites.SiteScanner` (canonical and relaxed types) gets
the site network's log-odds and the context features the field found to matter (Grimson
2007; Agarwal 2015 TargetScan 7; McGeary 2019):

``logit``     the site network's log-odds (site-type prior included)
``supp3``     3' supplementary pairing: best run of Watson-Crick pairs of miRNA nt 9-20 to the
              target 5' of the seed match, nt 13-16 counting 1 and the others 0.5, minus 0.5
              per nt of loop offset beyond 2 (TargetScan's 3'-pairing score)
``au``        local AU content: AU fraction of the 30 nt on each side of the site, weighted
              1/d by the distance d to the site (N and positions outside the UTR not counted)
``near_stop`` the site starts within 15 nt of the UTR's 5' end (the stop codon): ribosomes
              displace the silencing complex there
``min_dist``  log10 of the distance to the nearer UTR end (sites in the middle of long UTRs
              are weaker)

A site's contribution to repression is modelled as additive in these features, with
weights per site type (as TargetScan's context++ does); the sum over sites of an additive
function is a linear function of per-type sums, so the pair's features are, for each site
type: the count and the sums of the site features above. Pair-level features add what is
not a sum over sites: cooperative spacing (site pairs 8-40 nt apart), UTR length, the
occupancy ``log(1 + sum exp(logit))`` (McGeary 2019's form with the network's log-odds as
relative affinity) and the best canonical log-odds.

Everything is numpy over all sites of one miRNA in one packed chunk of UTRs: no Python work
per site.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from . import seq, sites
from .scorers import score_blocks

SITE_FEATURES = ("logit", "supp3", "au", "near_stop", "min_dist")
PAIR_FEATURES = ("log_utr_length", "coop_pairs", "occupancy", "best_canonical_logit", "any_canonical")
TYPE_GROUPS = sites.SITE_TYPES  # one weight set per site type


def feature_names() -> list[str]:
    names = []
    for t in TYPE_GROUPS:
        names.append(f"n_{t}")
        names.extend(f"{f}_{t}" for f in SITE_FEATURES)
    return names + list(PAIR_FEATURES)


FEATURE_NAMES = tuple(feature_names())
N_FEATURES = len(FEATURE_NAMES)
NO_CANONICAL_LOGIT = -8.0  # best_canonical_logit of a pair without a canonical site
LOGIT_CLIP = 12.0
AU_FLANK = 30
NEAR_STOP_NT = 15
COOP_MIN, COOP_MAX = 8, 40  # spacing of cooperative sites (nt between their seed matches)
_A1_TYPES = np.array([t in ("8mer", "7mer-A1") for t in sites.SITE_TYPES] + [False])
_OFFSET_TYPE = sites.SITE_TYPE_RANK["offset-6mer"]
_N_CANONICAL = len(sites.CANONICAL_TYPES)


def logits_of(probabilities: np.ndarray) -> np.ndarray:
    """Log-odds of site probabilities, clipped to +-LOGIT_CLIP (float64 saturates near 37)."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.clip(np.log(p) - np.log1p(-p), -LOGIT_CLIP, LOGIT_CLIP)


SUPP_NT = np.arange(9, 21)  # miRNA nt (1-based) that may pair 3' of the seed match
_SUPP_WEIGHT = np.where((SUPP_NT >= 13) & (SUPP_NT <= 16), 1.0, 0.5)
_NO_PARTNER = 255  # never equal to a target code (0-4)


def supplementary_partners(mirna_seqs: Sequence[str]) -> np.ndarray:
    """(n, 12) target codes that pair with nt 9-20 of each miRNA (_NO_PARTNER past its end)."""
    width = int(SUPP_NT[-1])
    text = "".join(q[:width].ljust(width, "N") for q in mirna_seqs)
    codes = sites.BASE_CODE[np.frombuffer(text.encode("ascii"), dtype=np.uint8)].reshape(len(mirna_seqs), width)
    return _PARTNER_OF[codes[:, SUPP_NT - 1]]


_PARTNER_OF = np.append(sites.COMPLEMENT_CODE, _NO_PARTNER).astype(np.uint8)  # code -> WC partner; N -> none


def supplementary_pairing(partners: np.ndarray, codes: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """TargetScan-style 3' pairing score of each site (see the module docstring); ``partners``
    is (n_sites, 12): each site's miRNA's supplementary_partners."""
    n = len(p2)
    if not n:
        return np.zeros(0)
    # miRNA nt k faces target position p2 - (k - 2) - offset (antiparallel, loop of offset nt):
    # one gather of the target letters p2 - 5 ... p2 - 23 serves every offset
    reach = np.arange(_SUPP_REACH[0], _SUPP_REACH[1] + 1)
    if p2.min() - reach[-1] >= 0 and p2.max() - reach[0] < len(codes):  # windows without an index matrix
        window = np.lib.stride_tricks.sliding_window_view(codes, len(reach))[p2 - reach[-1]][:, ::-1]
    else:  # near the buffer's ends
        window = codes[np.clip(p2[:, None] - reach[None, :], 0, len(codes) - 1)]
    first = SUPP_NT[0] - 2 - _SUPP_REACH[0]  # window column of nt 9 at offset 0
    match = np.stack([window[:, first + o : first + o + len(SUPP_NT)] for o in _SUPP_OFFSETS], axis=1) == partners[:, None, :]
    # best run of consecutive matches, scored by weight, at each offset at once; in half
    # points (weights 0.5 / 1 and penalties are multiples of 0.5): int8 arrays, exact
    penalty = np.array([max(0, abs(o) - 2) for o in _SUPP_OFFSETS], dtype=np.int8)
    run = np.zeros((n, len(_SUPP_OFFSETS)), dtype=np.int8)
    best = np.zeros((n, len(_SUPP_OFFSETS)), dtype=np.int8)
    for j, w in enumerate((2 * _SUPP_WEIGHT).astype(np.int8).tolist()):
        run = np.where(match[:, :, j], run + np.int8(w), np.int8(0))
        np.maximum(best, run - penalty, out=best)
    return np.maximum(best.max(axis=1), 0) / 2.0


_SUPP_OFFSETS = range(-2, 6)
_SUPP_REACH = (SUPP_NT[0] - 2 + _SUPP_OFFSETS[0], SUPP_NT[-1] - 2 + _SUPP_OFFSETS[-1])  # target nt 5..23 before p2


def local_au(codes: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Distance-weighted AU fraction of the AU_FLANK nt on each side of [start, end] (buffer)."""
    if not len(start):
        return np.zeros(0)
    d = np.arange(1, AU_FLANK + 1)
    w = 1.0 / d
    if start.min() < AU_FLANK or end.max() + AU_FLANK >= len(codes):  # near the buffer's ends
        sides = [codes[np.clip(start[:, None] - d[None, :], 0, len(codes) - 1)]]
        sides.append(codes[np.clip(end[:, None] + d[None, :], 0, len(codes) - 1)])
    else:  # windows gathered without an index matrix; upstream read outwards from the site
        windows = np.lib.stride_tricks.sliding_window_view(codes, AU_FLANK)
        sides = [np.ascontiguousarray(windows[start - AU_FLANK][:, ::-1]), windows[end + 1]]
    num = np.zeros(len(start))
    den = np.zeros(len(start))
    for c in sides:
        known = c != sites.N_CODE
        au = (c == sites.A_CODE) | (c == sites.U_CODE)
        num += (w[None, :] * au).sum(axis=1)
        den += (w[None, :] * known).sum(axis=1)
    return np.divide(num, den, out=np.full(len(start), 0.5), where=den > 0)


@dataclass
class SiteContext:
    """Per-site features of the blocks of one group of miRNAs (columns in SITE_FEATURES order);
    ``pair_index`` = miRNA's position in the group x n_targets + target index."""

    pair_index: np.ndarray
    site_type: np.ndarray
    p2: np.ndarray  # buffer position opposite miRNA nt 2 (for cooperative spacing)
    values: np.ndarray  # (n_sites, len(SITE_FEATURES))


def site_context(
    mirna_seqs: Sequence[str], blocks: Sequence[sites.SiteBlock], chunk: sites.TargetChunk, logits: Sequence[np.ndarray]
) -> SiteContext:
    """The sites of several miRNAs' blocks (one block per miRNA, in ``mirna_seqs`` order)."""
    n_t = len(chunk.ids)
    sizes = [len(b) for b in blocks]
    filled = [b for b, n in zip(blocks, sizes) if n] or blocks[:1]  # most blocks are empty with many miRNAs
    cat = lambda f: np.concatenate([f(b) for b in filled]) if filled else np.zeros(0, dtype=np.int64)  # noqa: E731
    target = cat(lambda b: b.target_index.astype(np.int64))
    m_index = np.repeat(np.arange(len(blocks)), sizes)
    kind = cat(lambda b: b.site_type.astype(np.int64))
    site_start, site_end = cat(lambda b: b.site_start), cat(lambda b: b.site_end)
    offset = chunk.starts[target]
    p2 = site_end - 1 + offset - _A1_TYPES[kind] + (kind == _OFFSET_TYPE)
    if not len(target):
        return SiteContext(target, kind, p2, np.zeros((0, len(SITE_FEATURES))))
    partners = supplementary_partners(mirna_seqs)
    dist5 = site_start - 1
    dist3 = chunk.lengths[target] - site_end
    values = np.empty((len(target), len(SITE_FEATURES)))
    values[:, 0] = np.concatenate([np.asarray(x, dtype=np.float64) for x in logits if len(x)])
    # the flank and 3'-pairing scans hold (sites x 30) arrays: slices keep memory flat
    for part in seq.batch_slices(len(target), SITE_SLICE):
        values[part, 1] = supplementary_pairing(partners[m_index[part]], chunk.codes, p2[part])
        values[part, 2] = local_au(chunk.codes, site_start[part] - 1 + offset[part], site_end[part] - 1 + offset[part])
    values[:, 3] = dist5 < NEAR_STOP_NT
    values[:, 4] = np.log10(1.0 + np.minimum(dist5, dist3).astype(np.float64))
    return SiteContext(m_index * n_t + target, kind, p2, values)


def pair_features(ctx: SiteContext, utr_lengths: np.ndarray) -> np.ndarray:
    """(n_pairs, N_FEATURES) features of every (miRNA, target) pair of a group; ``utr_lengths``
    per pair (the chunk's lengths tiled once per miRNA)."""
    n_targets = len(utr_lengths)
    out = np.zeros((n_targets, N_FEATURES))
    width = 1 + len(SITE_FEATURES)
    tidx, kind, vals = ctx.pair_index, ctx.site_type, ctx.values
    # sites by type (a stable sort: each pair's sites keep their order, so the sums are the
    # same), each type one contiguous run instead of a mask per type and feature
    order = np.argsort(kind, kind="stable")
    bounds = np.searchsorted(kind[order], np.arange(len(TYPE_GROUPS) + 1)).tolist()
    tidx_by_type, vals_by_type = tidx[order], vals[order]
    for g in range(len(TYPE_GROUPS)):
        a, b = bounds[g], bounds[g + 1]
        if a == b:
            continue
        col = g * width
        out[:, col] = np.bincount(tidx_by_type[a:b], minlength=n_targets)
        for j in range(len(SITE_FEATURES)):
            out[:, col + 1 + j] = np.bincount(tidx_by_type[a:b], weights=vals_by_type[a:b, j], minlength=n_targets)
    base = len(TYPE_GROUPS) * width
    out[:, base] = np.log10(np.maximum(np.asarray(utr_lengths, dtype=np.float64), 1.0))
    out[:, base + 1] = _cooperative_pairs(tidx, kind, ctx.p2, n_targets)
    if len(tidx):
        logit = vals[:, 0]
        out[:, base + 2] = np.log1p(np.bincount(tidx, weights=np.exp(logit), minlength=n_targets))
        canon = kind < _N_CANONICAL
        best = np.full(n_targets, NO_CANONICAL_LOGIT)
        np.maximum.at(best, tidx[canon], logit[canon])
        out[:, base + 3] = np.maximum(best, NO_CANONICAL_LOGIT)
        out[:, base + 4] = np.bincount(tidx[canon], minlength=n_targets) > 0
    else:
        out[:, base + 3] = NO_CANONICAL_LOGIT
    return out


def _cooperative_pairs(tidx: np.ndarray, kind: np.ndarray, p2: np.ndarray, n_targets: int) -> np.ndarray:
    """Per target: pairs of consecutive canonical/offset sites whose seed matches lie
    COOP_MIN-COOP_MAX nt apart."""
    keep = kind <= _OFFSET_TYPE
    t, p = tidx[keep], p2[keep]
    if len(t) < 2:
        return np.zeros(n_targets)
    order = np.lexsort((p, t))
    t, p = t[order], p[order]
    gap = np.diff(p)
    ok = (t[1:] == t[:-1]) & (gap >= COOP_MIN) & (gap <= COOP_MAX)
    return np.bincount(t[1:][ok], minlength=n_targets).astype(np.float64)


def site_count_score(features: np.ndarray) -> np.ndarray:
    """The field's plain site-count baseline from a feature table: 8mer 3, 7mer-m8 2,
    7mer-A1 1.5, 6mer 0.5, summed over the sites (what every gene score must beat)."""
    width = 1 + len(SITE_FEATURES)
    weights = {"8mer": 3.0, "7mer-m8": 2.0, "7mer-A1": 1.5, "6mer": 0.5}
    return sum(w * features[:, TYPE_GROUPS.index(t) * width] for t, w in weights.items())


SITE_SLICE = 65_536  # sites whose flank / 3'-pairing features are computed at once (memory)
GROUP_PAIRS = 50_000  # (miRNA, target) rows per feature group: bounds memory, amortises numpy calls


@dataclass
class FeatureGroup:
    """Features of every (miRNA, target) pair of a group of miRNAs in one chunk: row
    ``i * n_targets + t`` of ``features`` is miRNA ``blocks[i].mirna_id`` against target t.
    :meth:`with_sites` gives only the rows of pairs with a site (the others have no site
    features; on a site table they are most rows of a group)."""

    blocks: list[sites.SiteBlock]
    probs: list[np.ndarray | None]  # site probabilities per block (None: network not run)
    context: SiteContext
    utr_lengths: np.ndarray  # per pair: the chunk's lengths tiled once per miRNA

    @property
    def mirna_ids(self) -> list[str]:
        return [b.mirna_id for b in self.blocks]

    @property
    def n_pairs(self) -> int:
        return len(self.utr_lengths)

    @property
    def features(self) -> np.ndarray:
        """(n_pairs, N_FEATURES): every pair of the group."""
        return pair_features(self.context, self.utr_lengths)

    def with_sites(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows, features): the pairs with at least one site, their rows in :attr:`features`
        and the same features (the pairs renumbered; the sums run over the same sites in the
        same order, so the values are identical)."""
        ctx = self.context
        rows, local = np.unique(ctx.pair_index, return_inverse=True)
        compact = SiteContext(local.reshape(-1), ctx.site_type, ctx.p2, ctx.values)
        return rows, pair_features(compact, self.utr_lengths[rows])


def score_groups(
    scanner: sites.SiteScanner, chunk: sites.TargetChunk, mirna_seqs: dict[str, str], scorer=None
) -> Iterator[FeatureGroup]:
    """The miRNAs of ``scanner`` in groups of about GROUP_PAIRS (miRNA, target) pairs, each
    group's features computed at once (vectorised over its sites): many miRNAs with a few
    sites each cost no Python loop per miRNA. With ``scorer`` None the site network is not
    run and the network features (``logit_*``, ``occupancy``, ``best_canonical_logit``) are
    those of log-odds 0: for gene models that do not use them."""

    per_group = max(1, GROUP_PAIRS // max(1, len(chunk.ids)))
    group: list[sites.SiteBlock] = []

    def features_of(group: list[sites.SiteBlock]) -> FeatureGroup:
        scored = [b for b in group if len(b)]
        probs_of = {}
        if scorer is not None and scored:
            for b, p in zip(scored, score_blocks(scorer, scored, [mirna_seqs[b.mirna_id] for b in scored])):
                probs_of[id(b)] = p
        logits = [logits_of(probs_of[id(b)]) if id(b) in probs_of else np.zeros(len(b)) for b in group]
        ctx = site_context([mirna_seqs[b.mirna_id] for b in group], group, chunk, logits)
        return FeatureGroup(list(group), [probs_of.get(id(b)) for b in group], ctx, np.tile(chunk.lengths, len(group)))

    for block in scanner.scan_chunk(chunk):
        group.append(block)
        if len(group) >= per_group:
            yield features_of(group)
            group = []
    if group:
        yield features_of(group)


def score_chunk(scanner: sites.SiteScanner, chunk: sites.TargetChunk, mirna_seqs: dict[str, str], scorer=None):
    """:func:`score_groups` one miRNA at a time: (mirna_id, block, site probabilities or None,
    (n_targets, N_FEATURES) features of every target in ``chunk``)."""
    n_t = len(chunk.ids)
    for group in score_groups(scanner, chunk, mirna_seqs, scorer):
        features = group.features
        for i, (b, p) in enumerate(zip(group.blocks, group.probs)):
            yield b.mirna_id, b, p, features[i * n_t : (i + 1) * n_t]


def site_counts(features: np.ndarray, types: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Number of sites of ``types`` and the index (into SITE_TYPES; NO_SITE_INDEX if none) of
    the best of them, per row of a feature table."""
    width = 1 + len(SITE_FEATURES)
    idx = [TYPE_GROUPS.index(t) for t in types]
    counts = features[:, [i * width for i in idx]]
    n = counts.sum(axis=1).astype(np.int64)
    has = counts > 0
    best = np.where(has.any(axis=1), np.asarray(idx)[np.argmax(has, axis=1)], sites.NO_SITE_INDEX)
    return n, best
