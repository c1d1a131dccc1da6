"""Site scorers: the network (batched, miRNA encoded once) and the seed-match baseline.

Owns the CTS encoding for scoring (3'-aligned model codes, :func:`encode_cts`), the site-type
index tables shared by the pipelines, the :class:`SiteScorer` interface and its two
implementations, :func:`make_scorer` (checkpoint path / default / ``seed-match``) and the text
form of scores (:func:`format_scores`). The fused GRU loop itself lives in
:mod:`deeptarget_core.fused_gru`.

A CTS whose length differs from the model's ``cts_length`` is aligned at its 3' end: the
last ``cts_length`` nt are kept and a shorter CTS is padded with N on its 5' side. This
keeps the seed match where dt-scan-cts puts it (site end at window position L-4) and
matches what the network reads first (the CTS is read 3'->5').
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
from scipy.special import expit  # scipy comes with scikit-learn

from . import sites
from .errors import InputError
from .seq import CTS_CODE as _CTS_CODE
from .seq import batch_slices, encode_batch

SCORE_DIGITS = 6
MIRNA_CACHE = 8192  # encoded miRNAs kept between scorer calls (NeuralScorer._mirna_parts)
NO_SITE = "none"

# TargetScan-like rule for the built-in ``seed-match`` baseline (best site type -> score):
# canonical sites in order of their typical efficacy (8mer > 7mer-m8 > 7mer-A1 > 6mer);
# all canonical types clear the 0.5 threshold, relaxed types and no seed match do not.
SEED_MATCH_SCORES = {
    "8mer": 0.95,
    "7mer-m8": 0.85,
    "7mer-A1": 0.75,
    "6mer": 0.55,
    "offset-6mer": 0.35,
    "7mer-GU": 0.30,
    "7mer-mismatch": 0.25,
    NO_SITE: 0.05,
}
SEED_MATCH = "seed-match"

_TYPE_INDEX = {name: i for i, name in enumerate(sites.SITE_TYPES)}
_TYPE_INDEX[NO_SITE] = sites.NO_SITE_INDEX
_TYPE_NAMES = list(sites.SITE_TYPES) + [NO_SITE]
_FIND_SITE_TYPE = -1  # a site-table row whose type is found from its sequence
_TYPE_INDEX[sites.DUPLEX_SITE] = _FIND_SITE_TYPE


def encode_cts(seqs: Sequence[str], length: int, path: str | None = None, lines: Sequence[int] | None = None) -> np.ndarray:
    """(n, length) uint8 model codes, 3'-aligned (cut on the 5' side / N-padded on the 5' side).

    Vectorised when every CTS already has ``length`` letters (the dt-scan-cts case).
    Letters other than A/C/G/U/T/N (any case) are an InputError naming the row's line.
    """
    n = len(seqs)
    if not n:
        return np.zeros((0, length), dtype=np.uint8)
    if not all(len(s) == length for s in seqs):
        seqs = [s[-length:].rjust(length, "N") for s in seqs]
    raw = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
    codes = _CTS_CODE[raw].reshape(n, length)
    bad = codes == 255
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        raise InputError(
            f"CTS '{seqs[row]}' has letters other than A/C/G/U/T/N",
            path,
            None if lines is None else lines[row],
        )
    return codes


class SiteScorer(Protocol):
    """Scores CTSs of (possibly several) miRNAs."""

    name: str
    cts_length: int

    def score(
        self, mirna_seqs: Sequence[str], mirna_index: np.ndarray, cts_codes: np.ndarray, site_type: np.ndarray
    ) -> np.ndarray:
        """``mirna_index[i]`` points into ``mirna_seqs`` for CTS ``i``; ``site_type`` holds
        indexes into ``SITE_TYPES`` (``len(SITE_TYPES)`` = no seed match). Returns float64."""
        ...


class SeedMatchScorer:
    """The TargetScan-like baseline: a fixed score per best site type."""

    name = SEED_MATCH

    def __init__(self, cts_length: int = sites.DEFAULT_CTS_LENGTH):
        self.cts_length = cts_length
        self._table = np.array([SEED_MATCH_SCORES[t] for t in _TYPE_NAMES], dtype=np.float64)

    def score(self, mirna_seqs, mirna_index, cts_codes, site_type) -> np.ndarray:
        return self._table[np.asarray(site_type, dtype=np.int64)]


class NeuralScorer:
    """A :class:`~deeptarget_core.model.DeepTarget` network, batched, miRNA encoded once.

    ``fast=True`` (default) runs the fused GRU loop (:mod:`deeptarget_core.fused_gru`) for GRU
    models; LSTM models and ``fast=False`` run the eager network on cached miRNA encodings.
    Both give P(target) = sigmoid(logit[1] - logit[0] + site-type offset), the offset being 0
    for a model without a site prior.
    """

    def __init__(
        self, model, device="cpu", batch_size: int = 2048, fast: bool = True, name: str = "deeptarget", threads: int = 1
    ):
        import torch

        from . import fused_gru

        self.torch = torch
        # Parallel batches on a thread pool, one intra-op thread each: torch's own
        # intra-op threads collapse (10x slower) when other processes share the cores.
        self.threads = max(1, threads)
        self._pool = None
        if str(device) == "cpu":
            torch.set_num_threads(1)
            if self.threads > 1:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.threads)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.cts_length = model.config.cts_length
        self.name = name
        cfg = model.config
        self.fast = fast and fused_gru.supports(cfg)
        # the site-type prior (model.DeepTarget.target_logit), applied to the network's log-odds
        self.site_offsets = model.site_offsets.double().cpu().numpy() if cfg.site_prior else None
        self._cache: dict[str, object] = {}
        self.fused = fused_gru.FusedGRU(self.model) if self.fast else None

    def _mirna_parts(self, seqs: Sequence[str], batch: int = 4096) -> list:
        """Per distinct miRNA: its encoder states (eager path) or its precomputed first-layer
        input projection (directions, L, 3H) (fused path). Uncached miRNAs are encoded in
        batches: one call per miRNA dominated runs of many miRNAs with a few sites each."""
        torch = self.torch
        todo = [q for q in dict.fromkeys(seqs) if q not in self._cache]
        # ~29 kB per miRNA (fused path): the cache is bounded by MIRNA_CACHE entries, or by the
        # miRNAs of this one call when they are more
        if self._cache and len(self._cache) + len(todo) > max(MIRNA_CACHE, len(todo)):
            self._cache.clear()
            todo = list(dict.fromkeys(seqs))
        for b in batch_slices(len(todo), batch):
            part = todo[b]
            with torch.inference_mode():
                # right-padded with 0 to the CTS length, as DeepTarget.encode_mirna pads one miRNA
                codes = torch.from_numpy(encode_batch(part, self.cts_length).astype(np.int64)).to(self.device)
                states = self.model.encode_mirna(codes)  # (B, L, H)
                values = self.fused.mirna_projection(states) if self.fast else states
            for q, v in zip(part, values):
                self._cache[q] = v
        return [self._cache[q] for q in seqs]

    def _eager_batch(self, mirna_states, mirna_codes, idx, codes):
        m = self.model
        logits = m.classify(
            mirna_states.index_select(0, idx), m.encode_cts(codes), m.pairing(mirna_codes.index_select(0, idx), codes)
        )
        return logits[:, 1] - logits[:, 0]

    def score(self, mirna_seqs, mirna_index, cts_codes, site_type=None) -> np.ndarray:
        torch = self.torch
        n = len(cts_codes)
        out = np.empty(n, dtype=np.float64)
        if not n:
            return out
        if self.site_offsets is not None and site_type is None:
            raise ValueError("this model has a site-type prior: the CTSs' site types are needed")
        parts = self._mirna_parts(mirna_seqs)
        with torch.inference_mode():
            if self.fast:
                table = torch.stack(parts, dim=2)  # (directions, L, K, 3H)
                run = self.fused.log_odds
            else:
                table = torch.stack(parts, dim=0)  # (K, L, H)
                run = self._eager_batch
            mirna_codes = torch.from_numpy(encode_batch(mirna_seqs, self.cts_length).astype(np.int64)).to(self.device)
            idx_all = torch.from_numpy(np.asarray(mirna_index, dtype=np.int64)).to(self.device)
            codes_all = torch.from_numpy(np.ascontiguousarray(cts_codes)).to(self.device).long()
            bounds = batch_slices(n, self.batch_size)

            def one(b: slice) -> None:
                with torch.inference_mode():
                    logit = run(table, mirna_codes, idx_all[b], codes_all[b])
                    out[b] = logit.double().cpu().numpy()

            if self._pool is not None and len(bounds) > 1:
                list(self._pool.map(one, bounds))
            else:
                for b in bounds:
                    one(b)
        if self.site_offsets is not None:
            out += self.site_offsets[np.asarray(site_type, dtype=np.int64)]
        return expit(out)


def score_block(scorer: SiteScorer, block, mirna_seq: str) -> np.ndarray:
    """Scores of one scanner block (the sites of one miRNA in one chunk of targets)."""
    return score_blocks(scorer, [block], [mirna_seq])[0]


def score_blocks(scorer: SiteScorer, blocks: Sequence, mirna_seqs: Sequence[str]) -> list[np.ndarray]:
    """Scores of several scanner blocks (of any miRNAs) in one scorer call: many miRNAs with a
    few sites each then cost one batch, not one call per miRNA (30,000 miRNAs x one UTR)."""
    uniq: dict[str, int] = {}
    index = np.concatenate([np.full(len(b), uniq.setdefault(m, len(uniq)), dtype=np.int64) for b, m in zip(blocks, mirna_seqs)])
    letters = np.concatenate([b.cts for b in blocks])  # (n, L) A/C/G/U/N letters from the scanner
    codes = (
        _CTS_CODE[letters]
        if letters.shape[1] == scorer.cts_length
        else encode_cts([x for b in blocks for x in b.cts_strings()], scorer.cts_length)
    )
    types = np.concatenate([b.site_type.astype(np.int64) for b in blocks])
    scores = scorer.score(list(uniq), index, codes, types)
    return np.split(scores, np.cumsum([len(b) for b in blocks])[:-1])


def make_scorer(
    model: str | None,
    device: str = "cpu",
    batch_size: int = 2048,
    fast: bool = True,
    cts_length: int | None = None,
    threads: int = 1,
) -> SiteScorer:
    """``model``: a checkpoint path, None for the packaged default, or ``'seed-match'``."""
    if model == SEED_MATCH:
        return SeedMatchScorer(cts_length or sites.DEFAULT_CTS_LENGTH)
    from .model import load_model

    net, info = load_model(model, device=device)
    name = "deeptarget" if model is None else str(model).rsplit("/", 1)[-1].removesuffix(".pt")
    return NeuralScorer(net, device=device, batch_size=batch_size, fast=fast, name=name, threads=threads)


def format_scores(values: np.ndarray, digits: int = SCORE_DIGITS) -> list[str]:
    """Fixed-point text; -0.000000 never appears (scores are probabilities)."""
    vals = np.round(np.asarray(values, dtype=np.float64), digits) + 0.0
    return [f"{v:.{digits}f}" for v in vals.tolist()]
