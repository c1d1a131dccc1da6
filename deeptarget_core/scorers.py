"""Site scorers: the network (batched, each miRNA encoded once, identical windows scored once)
and the seed-match baseline.

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

from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from . import sites
from .errors import InputError
from .seq import CTS_CODE, batch_slices, encode_batch

if TYPE_CHECKING:
    import torch

SCORE_DIGITS = 6
MANY_MIRNAS_PER_BATCH = 4  # more than 1 distinct miRNA per 4 CTSs of a batch: project per CTS
# A call's rows go out in an even number of equal batches, whatever the thread count: two
# threads finish together, and scores do not depend on -p (a GEMM's last bits depend on its
# number of rows).
EVEN_BATCHES = 2
MIRNA_CACHE = 8192  # encoded miRNAs kept between scorer calls (NeuralScorer._mirna_states)
NO_SITE = sites.NO_SITE

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
    codes = CTS_CODE[raw].reshape(n, length)
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
        self._table = np.array([SEED_MATCH_SCORES[t] for t in sites.SITE_TYPE_NAMES], dtype=np.float64)

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
        self._rows: dict[str, int] = {}  # miRNA -> its row in self._cache (the encoded-miRNA cache)
        self._cache = None
        self.fused = fused_gru.FusedGRU(self.model) if self.fast else None

    def _mirna_states(self, seqs: Sequence[str], batch: int = 2048) -> torch.Tensor:
        """(L, K, H) encoder states of ``seqs``, step-major as the fused loop reads them. The
        cache is one step-major buffer and a row per miRNA, at most MIRNA_CACHE miRNAs (about
        5 kB each) or the miRNAs of this one call; new miRNAs are encoded straight into it, in
        batches on the thread pool (one call per miRNA dominated runs of many miRNAs with a
        few sites each; growing the cache by concatenation cost a copy per call)."""
        torch = self.torch
        todo = [q for q in dict.fromkeys(seqs) if q not in self._rows]
        n_cached = len(self._rows)
        if self._cache is None or n_cached + len(todo) > self._cache.shape[1]:
            if self._rows:  # full: start again with this call's miRNAs
                self._rows, n_cached = {}, 0
                todo = list(dict.fromkeys(seqs))
            size = (self.cts_length, max(MIRNA_CACHE, len(todo)), self.model.mirna_ae.encoder.hidden_size)
            self._cache = torch.empty(size, device=self.device)  # pages are touched as rows are written
        if todo:

            def encode(b: slice) -> None:
                with torch.inference_mode():
                    # right-padded with 0 to the CTS length, as DeepTarget.encode_mirna pads one miRNA
                    codes = torch.from_numpy(encode_batch(todo[b], self.cts_length).astype(np.int64)).to(self.device)
                    rows = self._cache[:, n_cached + b.start : n_cached + b.stop]
                    if self.fast:
                        self.fused.encode_mirna(codes, out=rows)
                    else:
                        rows.copy_(self.model.encode_mirna(codes).transpose(0, 1))

            self._map(encode, batch_slices(len(todo), batch, EVEN_BATCHES))
            self._rows.update((q, n_cached + i) for i, q in enumerate(todo))
        rows = [self._rows[q] for q in seqs]
        if rows == list(range(len(rows))):  # the cache's first rows, in order: no copy
            return self._cache[:, : len(rows)]
        return self._cache.index_select(1, torch.tensor(rows, dtype=torch.int64, device=self.device))

    def _map(self, fn, items: list) -> list:
        """``fn`` over ``items``, on the thread pool when there is one and more than one item."""
        if self._pool is not None and len(items) > 1:
            return list(self._pool.map(fn, items))
        return [fn(x) for x in items]

    def _batch_log_odds(self, states, mirna_codes, idx: np.ndarray, codes):
        """logit[1] - logit[0] of one batch: CTS ``codes`` against miRNAs ``idx`` (into
        ``states``/``mirna_codes``). Only the batch's own miRNAs are projected (fused path):
        a batch holds one or a few miRNAs in a sorted site table, many when each has a site or two."""
        torch = self.torch
        used, local = np.unique(idx, return_inverse=True)
        used_t = torch.from_numpy(used).to(self.device)
        local_t = torch.from_numpy(local.astype(np.int64)).to(self.device)
        m_states, m_codes = states.index_select(1, used_t), mirna_codes.index_select(0, used_t)  # (L, k, H), (k, L)
        if self.fast:
            from . import fused_gru

            # few miRNAs: project each once; many (a site or two each): project per CTS
            many = len(used) * MANY_MIRNAS_PER_BATCH > len(idx)
            mirna = fused_gru.MirnaStates(m_states) if many else self.fused.mirna_projection(m_states)
            return self.fused.log_odds(mirna, m_codes, local_t, codes)
        m = self.model
        logits = m.classify(
            m_states.index_select(1, local_t).transpose(0, 1),
            m.encode_cts(codes),
            m.pairing(m_codes.index_select(0, local_t), codes),
        )
        return logits[:, 1] - logits[:, 0]

    def score(self, mirna_seqs, mirna_index, cts_codes, site_type=None) -> np.ndarray:
        torch = self.torch
        if self.site_offsets is not None and site_type is None:
            raise ValueError("this model has a site-type prior: the CTSs' site types are needed")
        if not len(cts_codes):
            return np.empty(0, dtype=np.float64)
        mirna_index = np.asarray(mirna_index, dtype=np.int64)
        rows, inverse = distinct_windows(mirna_index, cts_codes)
        index = mirna_index[rows]
        n = len(rows)
        logit = np.empty(n, dtype=np.float64)
        with torch.inference_mode():
            states = self._mirna_states(mirna_seqs)
            mirna_codes = torch.from_numpy(encode_batch(mirna_seqs, self.cts_length).astype(np.int64)).to(self.device)
            distinct = cts_codes if n == len(cts_codes) else cts_codes[rows]
            codes_all = torch.from_numpy(np.ascontiguousarray(distinct)).to(self.device).long()

            def one(b: slice) -> None:
                with torch.inference_mode():
                    logit[b] = self._batch_log_odds(states, mirna_codes, index[b], codes_all[b]).double().cpu().numpy()

            self._map(one, batch_slices(n, self.batch_size, EVEN_BATCHES))
        out = logit[inverse]
        if self.site_offsets is not None:
            out += self.site_offsets[np.asarray(site_type, dtype=np.int64)]
        return sigmoid(out)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) in float64, as scipy.special.expit computes it (without importing
    scipy.special: 0.18 s of every dt-predict start)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def distinct_windows(mirna_index: np.ndarray, cts_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the first occurrence of each distinct (miRNA, CTS) pair, in input order, and for
    every row the position of its pair among them: identical windows (UTR isoforms repeat
    them) are scored once."""
    n, width = cts_codes.shape
    key = np.concatenate([mirna_index.astype(">i4").view(np.uint8).reshape(n, 4), cts_codes.astype(np.uint8)], axis=1)
    _, first, inverse = np.unique(key.view(np.dtype((np.void, width + 4))).ravel(), return_index=True, return_inverse=True)
    if len(first) == n:
        return np.arange(n), np.arange(n)
    order = np.argsort(first)
    rank = np.empty(len(first), dtype=np.int64)
    rank[order] = np.arange(len(first))
    return first[order], rank[inverse.ravel()]


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
        CTS_CODE[letters]
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
