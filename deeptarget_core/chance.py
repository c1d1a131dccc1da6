"""The null model of chance sites behind ``--aggregate poisson`` (:class:`ChanceModel`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import sites
from .scorers import SiteScorer, score_block


@dataclass
class ChanceModel:
    """Per-miRNA null model of chance sites, for ``--aggregate poisson``.

    A fixed random background (``background_nt`` nt, 3'UTR-like composition, seeded) is
    scanned with each miRNA and its chance sites scored by the same scorer. From it:
    ``rate`` = chance sites per nt, and ``S(m)`` = fraction of chance sites scoring >= m
    (add-one smoothed). For a UTR of ``n`` nt the chance sites are Poisson with mean
    ``rate * n``, so the probability that chance alone yields a site scoring >= m is
    ``q = 1 - exp(-rate * n * S(m))``. The gene score is ``min(m, alpha / (alpha + q))``:
    the best site must be good (m) and not explained by chance (q <= alpha gives >= 0.5).
    For random UTRs P(score >= 0.5) <= P(q <= alpha) ~ alpha, whatever their length.
    """

    scorer: SiteScorer
    relaxed: bool = False
    alpha: float = 0.05
    seed: int = 0
    background_nt: int = 200_000
    composition: tuple[float, float, float, float] = (0.29, 0.21, 0.21, 0.29)
    _chunk: object = None
    _null: dict = field(default_factory=dict)

    def _background(self):
        if self._chunk is None:
            rng = np.random.default_rng(self.seed)
            letters = np.frombuffer(b"ACGU", dtype=np.uint8)
            seq = letters[rng.choice(4, size=self.background_nt, p=list(self.composition))].tobytes().decode()
            self._chunk = sites.pack_targets([("background", seq)], self.scorer.cts_length)
        return self._chunk

    def null_of(self, mirna_seq: str) -> tuple[float, np.ndarray]:
        hit = self._null.get(mirna_seq)
        if hit is None:
            scanner = sites.SiteScanner([sites.Mirna("m", mirna_seq)], cts_length=self.scorer.cts_length, relaxed=self.relaxed)
            block = next(scanner.scan_chunk(self._background()))
            scores = score_block(self.scorer, block, mirna_seq)
            hit = (len(block) / self.background_nt, np.sort(scores))
            self._null[mirna_seq] = hit
        return hit

    def gene_scores(self, mirna_seq: str, best: np.ndarray, utr_length: np.ndarray, n_sites: np.ndarray) -> np.ndarray:
        rate, null = self.null_of(mirna_seq)
        ge = len(null) - np.searchsorted(null, best, side="left")
        surv = (ge + 1.0) / (len(null) + 1.0)
        q = 1.0 - np.exp(-rate * np.asarray(utr_length, dtype=np.float64) * surv)
        score = np.minimum(best, self.alpha / (self.alpha + q))
        return np.where(np.asarray(n_sites) > 0, score, 0.0)
