"""Checks that serve tests and benchmarks, not the tools (nothing in the dt-* commands uses them).

* :func:`random_utr_check`: the fraction of random UTRs called a target per aggregation;
* :func:`scan_pair`: all sites of one miRNA in one target (small inputs in tests);
* :func:`reference_duplex_score`: a slow pure-Python Gotoh alignment, the check of
  :func:`deeptarget_core.duplex.duplex_score`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import sites
from .chance import ChanceModel
from .duplex import GAP_EXTEND, GAP_OPEN, SEED_FIRST, SEED_LAST, SEED_SCALE, pair_score
from .scorers import SiteScorer, score_block


def random_utr_check(
    scorer: SiteScorer,
    mirna_seqs: Sequence[str],
    lengths: Sequence[int] = (500, 1000, 2000, 5000, 10000),
    n_utrs: int = 200,
    threshold: float = 0.5,
    relaxed: bool = False,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[dict]:
    """Label-free check: fraction of random UTRs called a target (gene score >= threshold)
    by each aggregation, per UTR length. Random UTRs hold no real sites, so a good
    aggregation keeps this fraction low and flat as the length grows."""
    rng = np.random.default_rng(seed + 1)
    letters = np.frombuffer(b"ACGU", dtype=np.uint8)
    chance = ChanceModel(scorer, relaxed=relaxed, alpha=alpha, seed=seed)
    mirnas = [sites.Mirna(f"m{i}", s) for i, s in enumerate(mirna_seqs)]
    results = []
    for length in lengths:
        utrs = [(f"u{j}", letters[rng.integers(0, 4, size=length)].tobytes().decode()) for j in range(n_utrs)]
        chunk = sites.pack_targets(utrs, scorer.cts_length)
        scanner = sites.SiteScanner(mirnas, cts_length=scorer.cts_length, relaxed=relaxed)
        called = {"max": 0, "poisson": 0}
        total = 0
        for m, block in zip(mirnas, scanner.scan_chunk(chunk)):
            best = np.zeros(n_utrs)
            count = np.zeros(n_utrs, dtype=np.int64)
            if len(block):
                s = score_block(scorer, block, m.seq)
                np.maximum.at(best, block.target_index, s)
                np.add.at(count, block.target_index, 1)
            called["max"] += int(np.sum((count > 0) & (best >= threshold)))
            pscore = chance.gene_scores(m.seq, best, np.full(n_utrs, length), count)
            called["poisson"] += int(np.sum(pscore >= threshold))
            total += n_utrs
        results.append({"utr_length": length, "n": total, **{f"called_{k}": v / total for k, v in called.items()}})
    return results


def reference_duplex_score(mirna: str, target: str) -> float:
    """Slow pure-Python Gotoh local alignment with the same rules (for tests)."""
    q = mirna[::-1]
    L = len(mirna)
    weights = [SEED_SCALE if SEED_FIRST <= L - i <= SEED_LAST else 1 for i in range(L)]
    neg = float("-inf")
    n = len(target)
    # H: best ending in an aligned pair (or empty, local); E: ending with a gap in the
    # miRNA (target nt unpaired); F: ending with a gap in the target (miRNA nt unpaired).
    H_prev = [0.0] * (n + 1)
    E_prev = [neg] * (n + 1)
    F_prev = [neg] * (n + 1)
    best = 0.0
    for i in range(1, L + 1):
        H = [0.0] * (n + 1)
        E = [neg] * (n + 1)
        F = [neg] * (n + 1)
        w = weights[i - 1]
        qi = q[i - 1]
        for j in range(1, n + 1):
            E[j] = max(H[j - 1] + GAP_OPEN, E[j - 1] + GAP_EXTEND, F[j - 1] + GAP_OPEN)
            F[j] = max(H_prev[j] + GAP_OPEN, F_prev[j] + GAP_EXTEND, E_prev[j] + GAP_OPEN)
            diag = max(H_prev[j - 1], E_prev[j - 1], F_prev[j - 1], 0.0)
            H[j] = diag + w * pair_score(qi, target[j - 1])
            best = max(best, H[j])
        H_prev, E_prev, F_prev = H, E, F
    return best


def scan_pair(
    mirna_seq: str, target_seq: str, cts_length: int = sites.DEFAULT_CTS_LENGTH, relaxed: bool = False
) -> sites.SiteBlock:
    """All sites of one miRNA in one target (convenience for small inputs and tests)."""
    scanner = sites.SiteScanner([sites.Mirna("mirna", mirna_seq)], cts_length=cts_length, relaxed=relaxed)
    chunk = sites.pack_targets([("target", target_seq)], cts_length)
    return next(scanner.scan_chunk(chunk))
