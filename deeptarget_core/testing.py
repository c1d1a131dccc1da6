"""Checks that serve tests and benchmarks, not the tools (nothing in the dt-* commands uses them).

* :func:`random_utr_check`: the fraction of random UTRs called a target per aggregation.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from . import sites
from .chance import ChanceModel
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
