"""Site affinities learned from repression, through an occupancy form (issue 28; McGeary 2019).

Each canonical site s of a (miRNA, UTR) pair gets a log affinity, linear in its type, the
four nucleotides flanking its 8-nt frame (two 5', two 3') and its context features
(gene_features: supp3, au, near_stop, min_dist)::

    la_s = w . x_s                    S = sum_s exp(la_s)
    raw  = intercept + k * log(1 + a0 * S) + coef . z(pair features)

``a0`` (the free-miRNA level) is fitted per experiment in training and fixed at its median
for prediction; ``k`` scales the occupancy to the training target (per-experiment normal
scores of repression of the genes with a canonical site); the pair features are log10 UTR
length and cooperative site pairs. Only gene-level fold changes are observed: the weights
are fitted through the sum (multiple-instance regression), by L-BFGS in float64 on one
thread (the same data give the same bytes).

Measured on grouped CV (docs/results.md section 5): the occupancy form beats the ridge on
summed features among genes with a canonical site (dev 0.278 vs 0.270; fit on HeLa, HCT116
reported 0.291 vs 0.279; the reverse 0.339 vs 0.302); relaxed sites as extra terms, the site
network's log-odds and a head on its states added nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import gene_features as gf
from . import sites

CANONICAL = sites.CANONICAL_TYPES
FLANK_OFFSETS = (-8, -7, 2, 3)  # from the position opposite miRNA nt 2 (the 8mer spans -6..+1)
FLANK_NAMES = ("f5_2", "f5_1", "f3_1", "f3_2")
CONTEXT = ("supp3", "au", "near_stop", "min_dist")  # gene_features.SITE_FEATURES[1:]
SITE_COLUMNS = (
    tuple(f"type_{t}" for t in CANONICAL)
    + tuple(f"{p}_{b}" for p in FLANK_NAMES for b in "ACGU")
    + tuple(f"ctx_{c}" for c in CONTEXT)
)
PAIR_TERMS = ("log_utr_length", "coop_pairs")
STANDARDISED = tuple(i for i, c in enumerate(SITE_COLUMNS) if c in ("ctx_supp3", "ctx_au", "ctx_min_dist"))
# the terms of a site's log affinity an explanation shows (Occupancy.log_affinity_terms)
TERM_GROUPS = ("type", "flanks", "supp3", "au", "near_stop", "min_dist", "centring")
_TERM_COLUMNS = {
    "type": [i for i, c in enumerate(SITE_COLUMNS) if c.startswith("type_")],
    "flanks": [i for i, c in enumerate(SITE_COLUMNS) if c.startswith("f")],
    **{c: [SITE_COLUMNS.index(f"ctx_{c}")] for c in CONTEXT},
}
DEFAULT_LAMBDA = 1e-2
# below this a standardised column counts as constant (its std is float rounding noise)
_CONSTANT_SD = 1e-9
MAX_ITER = 100
_INIT_TYPE = (0.0, -0.5, -1.0, -2.0)  # starting log affinities: 8mer > 7mer-m8 > 7mer-A1 > 6mer


def flank_codes(codes: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """(n, 4) nucleotide codes (0-3 ACGU, 4 = N / outside the UTR) flanking each site's frame."""
    pos = np.asarray(p2, dtype=np.int64)[:, None] + np.asarray(FLANK_OFFSETS)[None, :]
    return codes[np.clip(pos, 0, len(codes) - 1)]


def site_design(site_type: np.ndarray, flank: np.ndarray, context: np.ndarray) -> np.ndarray:
    """(n, len(SITE_COLUMNS)) design of canonical sites: type one-hot, flank one-hot (N: all
    zero), context features (``context``: (n, 4) columns CONTEXT)."""
    n = len(site_type)
    out = np.zeros((n, len(SITE_COLUMNS)))
    out[np.arange(n), np.asarray(site_type, dtype=np.int64)] = 1.0
    base = len(CANONICAL)
    for j in range(4):
        c = np.asarray(flank[:, j], dtype=np.int64)
        ok = np.flatnonzero(c < 4)
        out[ok, base + 4 * j + c[ok]] = 1.0
    out[:, base + 16 :] = context
    return out


@dataclass
class Occupancy:
    """The site part of an occupancy gene model."""

    site_coef: np.ndarray  # (len(SITE_COLUMNS),) on standardised columns
    site_mean: np.ndarray
    site_scale: np.ndarray
    a0: float
    k: float

    def log_affinity(self, design: np.ndarray) -> np.ndarray:
        z = ((np.asarray(design, dtype=np.float64) - self.site_mean) / self.site_scale).T
        # term by term (as GeneModel.raw): a site's value must not depend on its neighbours
        out = np.zeros(z.shape[1])
        for column, c in zip(z, np.asarray(self.site_coef, dtype=np.float64).tolist()):
            out += column * c
        return out

    def log_affinity_terms(self, design: np.ndarray) -> np.ndarray:
        """(n, len(TERM_GROUPS)) each site's log affinity split into the terms of TERM_GROUPS
        (type, flanks, 3' pairing, local AU, near the stop codon, distance to the UTR ends, and
        the centring of the standardised columns): read-only, for explanations. Each row
        sums to :meth:`log_affinity` within rounding."""
        x = np.asarray(design, dtype=np.float64)
        coef = np.asarray(self.site_coef, dtype=np.float64)
        out = np.zeros((len(x), len(TERM_GROUPS)))
        for j, name in enumerate(TERM_GROUPS[:-1]):
            cols = _TERM_COLUMNS[name]
            out[:, j] = (x[:, cols] / self.site_scale[cols]) @ coef[cols]
        out[:, -1] = -float(np.sum(coef * self.site_mean / self.site_scale))
        return out

    def site_contributions(self, design: np.ndarray) -> np.ndarray:
        """Each site's share of one pair's occupancy term ``k * log(1 + a0 * S)``: the term
        split in proportion to the sites' exp(log affinity), so that the shares sum to it
        exactly (within rounding) and a site's share grows with its affinity. Read-only."""
        la = self.log_affinity(design)
        if not len(la):
            return np.zeros(0)
        share = np.exp(la - la.max())  # the shares stay finite where exp(la) would overflow
        share /= share.sum()
        with np.errstate(over="ignore"):
            return self.k * np.log1p(self.a0 * np.exp(la).sum()) * share

    def occupancy(self, design: np.ndarray, pair: np.ndarray, n_pairs: int) -> np.ndarray:
        """k * log(1 + a0 * S) per pair (``pair``: each site's pair index)."""
        s = np.bincount(np.asarray(pair, dtype=np.int64), weights=np.exp(self.log_affinity(design)), minlength=n_pairs)
        return self.k * np.log1p(self.a0 * s)


def fit(
    design: np.ndarray,
    site_pair: np.ndarray,
    pair_x: np.ndarray,
    row_pair: np.ndarray,
    row_experiment: np.ndarray,
    y: np.ndarray,
    lam: float = DEFAULT_LAMBDA,
    max_iter: int = MAX_ITER,
) -> tuple[Occupancy, np.ndarray, float, np.ndarray, np.ndarray]:
    """Fit on rows (one per (experiment, gene) with a canonical site; ``row_pair`` indexes
    ``pair_x`` (n_pairs, len(PAIR_TERMS)); sites carry their pair index). Returns the
    occupancy part, the pair-term coefficients (on standardised pair terms), the intercept
    (the mean of the per-experiment offsets), and the pair terms' mean and scale."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # float reductions: the same bytes whatever the host
    try:
        dt = torch.float64
        design = np.asarray(design, dtype=np.float64)
        mean = np.zeros(design.shape[1])
        scale = np.ones(design.shape[1])
        if len(design):
            for i in STANDARDISED:
                mean[i] = design[:, i].mean()
                sd = design[:, i].std()
                # a constant column's std is rounding noise (~1e-16), not 0: dividing by it
                # sends affinities to ~1e12 and every score to 1
                scale[i] = sd if sd > _CONSTANT_SD else 1.0
        pair_x = np.asarray(pair_x, dtype=np.float64)
        used = pair_x[row_pair]
        p_mean = used.mean(axis=0)
        p_scale = used.std(axis=0)
        p_scale[p_scale <= _CONSTANT_SD] = 1.0
        X = torch.tensor((design - mean) / scale, dtype=dt)
        sp = torch.tensor(np.asarray(site_pair, dtype=np.int64))
        PX = torch.tensor((pair_x - p_mean) / p_scale, dtype=dt)
        rp = torch.tensor(np.asarray(row_pair, dtype=np.int64))
        experiments, re_np = np.unique(np.asarray(row_experiment), return_inverse=True)
        re_ = torch.tensor(re_np.astype(np.int64))
        Y = torch.tensor(np.asarray(y, dtype=np.float64), dtype=dt)
        n_pairs = len(pair_x)
        w = torch.zeros(X.shape[1], dtype=dt)
        w[: len(CANONICAL)] = torch.tensor(_INIT_TYPE, dtype=dt)
        w.requires_grad_(True)
        b = torch.zeros(PX.shape[1], dtype=dt, requires_grad=True)
        theta = torch.zeros(len(experiments), dtype=dt, requires_grad=True)
        c = torch.zeros(len(experiments), dtype=dt, requires_grad=True)
        logk = torch.zeros(1, dtype=dt, requires_grad=True)
        penalty = torch.ones(X.shape[1], dtype=dt)
        penalty[: len(CANONICAL)] = 0.0  # the type terms are the affinities' baseline
        params = [w, b, theta, c, logk]

        def forward():
            s = torch.zeros(n_pairs, dtype=dt).index_add(0, sp, torch.exp(X @ w))
            return c[re_] + torch.exp(logk[0]) * torch.log1p(torch.exp(theta[re_]) * s[rp]) + (PX @ b)[rp]

        opt = torch.optim.LBFGS(params, lr=1, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

        def closure():
            opt.zero_grad()
            loss = torch.mean((Y - forward()) ** 2) + lam * (torch.sum(penalty * w**2) + torch.sum(b**2))
            loss.backward()
            return loss

        opt.step(closure)
        occupancy = Occupancy(
            site_coef=w.detach().numpy().copy(),
            site_mean=mean,
            site_scale=scale,
            a0=float(np.exp(np.median(theta.detach().numpy()))),
            k=float(np.exp(logk.detach().numpy()[0])),
        )
        return occupancy, b.detach().numpy().copy(), float(c.detach().numpy().mean()), p_mean, p_scale
    finally:
        torch.set_num_threads(threads)


# --------------------------------------------------------------------------- site tables


@dataclass
class SiteTable:
    """The canonical sites of a set of (miRNA, target) pairs: ``pair`` indexes ``keys``."""

    keys: list[tuple[str, str]]  # (mirna_id, mrna_id)
    pair: np.ndarray
    design: np.ndarray


def site_table(
    mirna_seqs: dict[str, str], utrs: dict[str, str], pairs: dict[str, set[str]], cts_length: int = sites.DEFAULT_CTS_LENGTH
):
    """Canonical sites of the given pairs (every pair gets a key, with or without a site)."""

    keys: list[tuple[str, str]] = []
    index: dict[tuple[str, str], int] = {}
    for m in mirna_seqs:
        for t in sorted(pairs.get(m, ())):
            if t in utrs:
                index[(m, t)] = len(keys)
                keys.append((m, t))
    parts_pair, parts_design = [], []
    mirnas = [sites.Mirna(m, s) for m, s in mirna_seqs.items()]
    for chunk in sites.iter_target_chunks([(t, utrs[t]) for t in sorted({t for _m, t in keys})], cts_length=cts_length):
        scanner = sites.SiteScanner(mirnas, cts_length=cts_length, relaxed=True, pairs=pairs)
        n_t = len(chunk.ids)
        for group in gf.score_groups(scanner, chunk, mirna_seqs, None):
            ctx = group.context
            canon = ctx.site_type < len(CANONICAL)
            if not canon.any():
                continue
            m_of, t_of = ctx.pair_index[canon] // n_t, ctx.pair_index[canon] % n_t
            ids = group.mirna_ids
            parts_pair.append(
                np.array([index[(ids[a], chunk.ids[b])] for a, b in zip(m_of.tolist(), t_of.tolist())], dtype=np.int64)
            )
            parts_design.append(site_design(ctx.site_type[canon], flank_codes(chunk.codes, ctx.p2[canon]), ctx.values[canon, 1:]))
    pair = np.concatenate(parts_pair) if parts_pair else np.zeros(0, dtype=np.int64)
    design = np.concatenate(parts_design) if parts_design else np.zeros((0, len(SITE_COLUMNS)))
    return SiteTable(keys, pair, design)
