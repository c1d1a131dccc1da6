"""Batched, streaming inference: site scores and gene-level aggregation.

Inputs (all streamed; never every CTS of a run in memory at once):

* a site table (dt-scan-cts output), read in chunks of rows; miRNA sequences from a FASTA;
* miRNA + UTR FASTA files, scanned here chunk by chunk with :mod:`deeptarget_core.sites`;
* a pair table, at site level (one CTS per row, scored as given) or gene level (a whole
  3'UTR per row, scanned like ``sites.inputs_from_pair_table``).

A CTS whose length differs from the model's ``cts_length`` is aligned at its 3' end: the
last ``cts_length`` nt are kept and a shorter CTS is padded with N on its 5' side. This
keeps the seed match where dt-scan-cts puts it (site end at window position L-4) and
matches what the network reads first (the CTS is read 3'->5').

Speed (see :class:`NeuralScorer`): the miRNA half of the network is computed once per
distinct miRNA and reused for all its CTSs, and a fused GRU loop replaces ``nn.GRU``
(the CTS embedding and first input projection become a 5-row lookup table; the miRNA's
contribution to the first interaction layer's input projection is precomputed). The fused
loop computes the same function: tests hold it to the eager network within 1e-5.
Batches run on a pool of ``threads`` workers with one torch thread each, and one chunk is
scored while the next is parsed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Protocol, Sequence

import numpy as np
from scipy.special import expit  # scipy comes with scikit-learn

from . import sites
from .errors import InputError
from .io import SITE_COLUMNS, FastaRecord, iter_pairs, iter_tsv, read_fasta, read_pairs, write_tsv_header
from .seq import MIN_CTS_NT, encode_batch, normalise

log = logging.getLogger("deeptarget")

SCORE_DIGITS = 6
MIRNA_CACHE = 8192  # encoded miRNAs kept between scorer calls (NeuralScorer._mirna_parts)
SITE_LEVEL_MAX_NT = 100  # --level auto: a pair table whose mrna_seq are all <= this is site level
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

# Letter -> model code (0 = pad/N, 1-4 = A,C,G,U); 255 = not allowed in a CTS.
_CTS_CODE = np.full(256, 255, dtype=np.uint8)
for _letters, _code in (("Nn", 0), ("Aa", 1), ("Cc", 2), ("Gg", 3), ("UuTt", 4)):
    for _ch in _letters:
        _CTS_CODE[ord(_ch)] = _code
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


# --------------------------------------------------------------------------- scorers


class SiteScorer(Protocol):
    """Scores CTSs of (possibly several) miRNAs."""

    name: str
    cts_length: int

    def score(self, mirna_seqs: Sequence[str], mirna_index: np.ndarray, cts_codes: np.ndarray, site_type: np.ndarray) -> np.ndarray:
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

    ``fast=True`` (default) runs the fused GRU loop for GRU models (1-3 layers, uni- or
    bidirectional); LSTM models and ``fast=False`` run the eager network on cached miRNA
    encodings. Both give P(target) = sigmoid(logit[1] - logit[0] + site-type offset), the
    offset being 0 for a model without a site prior.
    """

    def __init__(self, model, device="cpu", batch_size: int = 2048, fast: bool = True, name: str = "deeptarget", threads: int = 1):
        import torch

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
        self.fast = fast and cfg.cell == "gru"
        self.pairing_offsets = cfg.pairing_offsets
        # the site-type prior (model.DeepTarget.target_logit), applied to the network's log-odds
        self.site_offsets = model.site_offsets.double().cpu().numpy() if cfg.site_prior else None
        self._cache: dict[str, object] = {}
        if self.fast:
            self._prepare_fast()

    # -- fused path -------------------------------------------------------------
    def _prepare_fast(self) -> None:
        """Weights of the fused loop. The n-gate rows are scaled by 2 so that
        tanh(a) = 2 * sigmoid(2a) - 1 can use the (much faster here) sigmoid."""
        torch = self.torch
        m = self.model

        def scaled(w, H):  # rows [r, z, n]: n rows times 2
            w = w.detach().clone()
            w[2 * H :] *= 2
            return w

        with torch.inference_mode():
            enc = m.cts_ae.encoder
            He = enc.hidden_size
            self.h_enc = He
            self.t_enc = (m.cts_ae.embedding.weight @ scaled(enc.weight_ih_l0, He).T + scaled(enc.bias_ih_l0, He)).contiguous()
            self.w_enc_h = scaled(enc.weight_hh_l0, He).T.contiguous()
            self.b_enc_h = scaled(enc.bias_hh_l0, He).contiguous()
            h_m = m.mirna_ae.encoder.hidden_size
            self.layers = []
            for i, layer in enumerate(m.interaction):
                H = layer.hidden_size
                dirs = []
                for sfx in ["", "_reverse"] if layer.bidirectional else [""]:
                    w_ih = scaled(getattr(layer, "weight_ih_l0" + sfx), H)
                    d = {
                        "w_hh": scaled(getattr(layer, "weight_hh_l0" + sfx), H).T.contiguous(),
                        "b_hh": scaled(getattr(layer, "bias_hh_l0" + sfx), H).contiguous(),
                        "b_ih": scaled(getattr(layer, "bias_ih_l0" + sfx), H).contiguous(),
                    }
                    if i == 0:  # input = [miRNA states | CTS states | pairing channels]
                        d["w_ih_mirna"] = w_ih[:, :h_m].contiguous()
                        d["w_ih"] = w_ih[:, h_m : h_m + He].T.contiguous()
                        d["w_pair"] = w_ih[:, h_m + He :].T.contiguous()
                        d["w_ih_pair"] = w_ih[:, h_m:].T.contiguous()  # CTS states then pairing channels
                    else:
                        d["w_ih"] = w_ih.T.contiguous()
                    dirs.append(d)
                self.layers.append({"H": H, "dirs": dirs})
            self.w_cls = m.classifier.weight.contiguous()
            self.b_cls = m.classifier.bias.contiguous()

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
        for b0 in range(0, len(todo), batch):
            part = todo[b0 : b0 + batch]
            with torch.inference_mode():
                # right-padded with 0 to the CTS length, as DeepTarget.encode_mirna pads one miRNA
                codes = torch.from_numpy(encode_batch(part, self.cts_length).astype(np.int64)).to(self.device)
                states = self.model.encode_mirna(codes)  # (B, L, H)
                if self.fast:  # (B, directions, L, 3H)
                    values = torch.stack([states @ d["w_ih_mirna"].T + d["b_ih"] for d in self.layers[0]["dirs"]], dim=1)
                else:
                    values = states
            for q, v in zip(part, values):
                self._cache[q] = v
        return [self._cache[q] for q in seqs]

    @staticmethod
    def _gru_step(torch, gi, gh, h, H, out=None):
        """One GRU step; n-gate pre-activations arrive doubled (see _prepare_fast)."""
        rz = torch.add(gh[:, : 2 * H], gi[:, : 2 * H]).sigmoid_()
        r, z = rz[:, :H], rz[:, H:]
        n = torch.addcmul(gi[:, 2 * H :], r, gh[:, 2 * H :]).sigmoid_().mul_(2).sub_(1)
        return torch.lerp(n, h, z) if out is None else torch.lerp(n, h, z, out=out)

    def _pairing_steps(self, mirna_codes, idx, codes, out=None):
        """(L, B, K) pairing channels, step-major like the loops below (into ``out`` when given)."""
        from .model import pairing_features

        B, L = codes.shape
        if out is None:
            out = self.torch.empty(L, B, len(self.pairing_offsets), dtype=self.t_enc.dtype, device=self.t_enc.device)
        pairing_features(mirna_codes.index_select(0, idx), codes, self.pairing_offsets, out=out.transpose(0, 1))
        return out

    def _fast_batch(self, mirna_pre, mirna_codes, idx, codes):
        if all(len(layer["dirs"]) == 1 for layer in self.layers):
            pairing = self._pairing_steps(mirna_codes, idx, codes) if self.pairing_offsets else None
            return self._wavefront_batch(mirna_pre, idx, codes, pairing)
        return self._layerwise_batch(mirna_pre, mirna_codes, idx, codes)

    def _wavefront_batch(self, mirna_pre, idx, codes, pairing=None):
        """Unidirectional stack: all layers advance together, one position at a time, so
        every intermediate stays (B, 3H) and in cache."""
        torch = self.torch
        B, L = codes.shape
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        dev, dt = self.t_enc.device, self.t_enc.dtype
        h_e = torch.zeros(B, self.h_enc, device=dev, dtype=dt)
        params = [layer["dirs"][0] for layer in self.layers]
        hs = [torch.zeros(B, layer["H"], device=dev, dtype=dt) for layer in self.layers]
        single = bool((idx == idx[0]).all())
        step = self._gru_step
        pre = mirna_pre[0]
        for t in range(L):
            gi_e = self.t_enc.index_select(0, steps[t])
            h_e = step(torch, gi_e, torch.addmm(self.b_enc_h, h_e, self.w_enc_h), h_e, self.h_enc)
            x = h_e
            for i, (p, layer) in enumerate(zip(params, self.layers)):
                if i == 0:
                    base = pre[t, idx[0]].expand(B, -1) if single else pre[t].index_select(0, idx)
                    gi = torch.addmm(base, x, p["w_ih"])
                    if pairing is not None:
                        gi = gi.addmm_(pairing[t], p["w_pair"])
                else:
                    gi = torch.addmm(p["b_ih"], x, p["w_ih"])
                hs[i] = step(torch, gi, torch.addmm(p["b_hh"], hs[i], p["w_hh"]), hs[i], layer["H"])
                x = hs[i]
        logits = x @ self.w_cls.T + self.b_cls
        return logits[:, 1] - logits[:, 0]

    def _layerwise_batch(self, mirna_pre, mirna_codes, idx, codes):
        """Any stack with bidirectional layers: layer by layer, each direction runs its
        recurrence (forward over t, backward from the end) with per-step input GEMMs
        (one large GEMM over all positions was 5x slower here: it leaves the cache)."""
        torch = self.torch
        B, L = codes.shape
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        dev, dt = self.t_enc.device, self.t_enc.dtype
        step = self._gru_step
        He = self.h_enc
        K = len(self.pairing_offsets)
        # CTS encoder states and pairing channels side by side: the first layer reads both
        # with one GEMM per step (its weights are stacked the same way in _prepare_fast).
        enc = torch.empty(L, B, He + K, device=dev, dtype=dt)
        if K:
            self._pairing_steps(mirna_codes, idx, codes, out=enc[:, :, He:])
        h = torch.zeros(B, He, device=dev, dtype=dt)
        for t in range(L):
            h = step(torch, self.t_enc.index_select(0, steps[t]), torch.addmm(self.b_enc_h, h, self.w_enc_h), h, He, enc[t, :, :He])
        xs = [enc]  # the previous layer's outputs, one (L, B, H) tensor per direction
        single = bool((idx == idx[0]).all())
        finals = []
        for li, layer in enumerate(self.layers):
            H = layer["H"]
            last = li == len(self.layers) - 1
            outs, finals = [], []
            for d, p in enumerate(layer["dirs"]):
                w_in = p["w_ih_pair"] if li == 0 else p["w_ih"]
                w_parts = [w_in] if len(xs) == 1 else list(w_in.split(xs[0].shape[2], dim=0))
                h = torch.zeros(B, H, device=dev, dtype=dt)
                out = None if last else torch.empty(L, B, H, device=dev, dtype=dt)
                for t in range(L) if d == 0 else range(L - 1, -1, -1):
                    if li == 0:
                        base = mirna_pre[d, t, idx[0]].expand(B, -1) if single else mirna_pre[d, t].index_select(0, idx)
                    else:
                        base = p["b_ih"]
                    gi = torch.addmm(base, xs[0][t], w_parts[0])
                    for x_k, w_k in zip(xs[1:], w_parts[1:]):
                        gi = gi.addmm_(x_k[t], w_k)
                    h = step(torch, gi, torch.addmm(p["b_hh"], h, p["w_hh"]), h, H, None if out is None else out[t])
                outs.append(out)
                finals.append(h)
            xs = outs
        summary = finals[0] if len(finals) == 1 else torch.cat(finals, dim=1)
        logits = summary @ self.w_cls.T + self.b_cls
        return logits[:, 1] - logits[:, 0]

    def _eager_batch(self, mirna_states, mirna_codes, idx, codes):
        m = self.model
        logits = m.classify(mirna_states.index_select(0, idx), m.encode_cts(codes), m.pairing(mirna_codes.index_select(0, idx), codes))
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
                run = self._fast_batch
            else:
                table = torch.stack(parts, dim=0)  # (K, L, H)
                run = self._eager_batch
            mirna_codes = torch.from_numpy(encode_batch(mirna_seqs, self.cts_length).astype(np.int64)).to(self.device)
            idx_all = torch.from_numpy(np.asarray(mirna_index, dtype=np.int64)).to(self.device)
            codes_all = torch.from_numpy(np.ascontiguousarray(cts_codes)).to(self.device).long()
            bounds = [(b0, min(n, b0 + self.batch_size)) for b0 in range(0, n, self.batch_size)]

            def one(b: tuple[int, int]) -> None:
                with torch.inference_mode():
                    logit = run(table, mirna_codes, idx_all[b[0] : b[1]], codes_all[b[0] : b[1]])
                    out[b[0] : b[1]] = logit.double().cpu().numpy()

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
    codes = _CTS_CODE[letters] if letters.shape[1] == scorer.cts_length else encode_cts(
        [x for b in blocks for x in b.cts_strings()], scorer.cts_length
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


# --------------------------------------------------------------------------- gene level


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


class GeneWriter:
    """Aggregates site scores to one row per (mirna_id, mrna_id) and writes them.

    Sites of one miRNA must arrive together (site tables are grouped by miRNA); pairs are
    written when the next miRNA starts, so memory holds one miRNA's targets at a time.
    (Pair-table gene level writes its rows itself, one per input row, see
    :func:`predict_pairs_gene`.)
    """

    def __init__(
        self,
        handle: IO[str],
        aggregate: str = "max",
        chance: ChanceModel | None = None,
        utr_lengths: dict[str, int] | None = None,
        extra_columns: Sequence[str] = (),
        has_label: bool = False,
        source: str | None = None,
    ):
        if aggregate not in ("max", "poisson"):
            raise ValueError("aggregate must be max or poisson")
        if aggregate == "poisson" and (chance is None or utr_lengths is None):
            raise ValueError("poisson aggregation needs a ChanceModel and the UTR lengths")
        self.handle = handle
        self.aggregate = aggregate
        self.chance = chance
        self.utr_lengths = utr_lengths
        self.source = source
        self.has_label = has_label
        self.extra_columns = list(extra_columns)
        cols = ["mirna_id", "mrna_id", "score", "n_sites", "best_site_type"]
        if has_label:
            cols.append("label")
        write_tsv_header(handle, cols + self.extra_columns)
        self.n_written = 0
        self._mirna: str | None = None
        self._mirna_seq: str | None = None
        self._done: set[str] = set()
        self._pairs: dict[str, list] = {}  # mrna_id -> [best, n, best_type, label, extra]

    def add_grouped(self, mirna_id, mirna_seq, mrna_ids: np.ndarray, scores: np.ndarray, site_types: np.ndarray, line=None) -> None:
        """Sites of one miRNA (any targets), vectorised over runs of equal consecutive ids."""
        n = len(mrna_ids)
        if not n:
            return
        mrna_ids = np.asarray(mrna_ids, dtype=object)
        starts = np.flatnonzero(np.r_[True, mrna_ids[1:] != mrna_ids[:-1]])
        best = np.maximum.reduceat(scores, starts)
        count = np.diff(np.r_[starts, n])
        btype = np.minimum.reduceat(np.asarray(site_types, dtype=np.int64), starts)
        self._switch(mirna_id, mirna_seq, line)
        pairs = self._pairs
        for tid, s, c, t in zip(mrna_ids[starts].tolist(), best.tolist(), count.tolist(), btype.tolist()):
            rec = pairs.get(tid)
            if rec is None:
                pairs[tid] = [s, c, t, "", ()]
            else:
                if s > rec[0]:
                    rec[0] = s
                rec[1] += c
                if t < rec[2]:
                    rec[2] = t

    def _switch(self, mirna_id: str, mirna_seq: str, line: int | None) -> None:
        if mirna_id == self._mirna:
            return
        self.flush()
        if mirna_id in self._done:
            raise InputError(
                f"sites of miRNA '{mirna_id}' are not grouped together; gene-level output needs the "
                "table grouped by miRNA (dt-scan-cts writes it so; sort by mirna_id first)",
                self.source,
                line,
            )
        self._mirna = mirna_id
        self._mirna_seq = mirna_seq

    def flush(self) -> None:
        if self._mirna is None:
            return
        mid = self._mirna
        tids = list(self._pairs)
        recs = list(self._pairs.values())
        best = np.array([r[0] for r in recs], dtype=np.float64)
        n_sites = np.array([r[1] for r in recs], dtype=np.int64)
        if self.aggregate == "poisson":
            missing = [t for t in tids if t not in self.utr_lengths]
            if missing:
                raise InputError(f"no UTR length known for target '{missing[0]}' (give the --utr FASTA)", self.source)
            lengths = np.array([self.utr_lengths[t] for t in tids], dtype=np.float64)
            score = self.chance.gene_scores(self._mirna_seq, best, lengths, n_sites)
        else:
            score = best
        text = format_scores(score)
        out = []
        for tid, rec, s in zip(tids, recs, text):
            row = [mid, tid, s, str(rec[1]), _TYPE_NAMES[rec[2]]]
            if self.has_label:
                row.append(rec[3])
            row.extend(rec[4])
            out.append("\t".join(row) + "\n")
        self.handle.write("".join(out))
        self.n_written += len(out)
        self._done.add(mid)
        self._pairs = {}
        self._mirna = None

    def close(self) -> None:
        self.flush()


def format_scores(values: np.ndarray, digits: int = SCORE_DIGITS) -> list[str]:
    """Fixed-point text; -0.000000 never appears (scores are probabilities)."""
    vals = np.round(np.asarray(values, dtype=np.float64), digits) + 0.0
    return [f"{v:.{digits}f}" for v in vals.tolist()]


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
    genes: GeneWriter | None = None,
    chunk_rows: int = 50_000,
    mirna_source: str = "the miRNA FASTA",
    progress: Callable[[int], None] | None = None,
) -> PredictSummary:
    """Score a site table (needs ``mirna_id`` and ``cts_seq``; ``mrna_id`` for gene-level
    output). The ``site_type`` column is used when present (dt-scan-cts tables), else each
    CTS's best seed match is found. Writes input columns + ``score``."""
    from concurrent.futures import ThreadPoolExecutor

    t0 = time.perf_counter()
    summary = PredictSummary(level="site")
    header_done = False
    pending = None  # (future scores, table, runs, types) of the chunk being scored

    def finish(item) -> None:
        future, table, runs, types = item
        scores = future.result()
        rows = table.rows
        if out is not None:
            text = format_scores(scores)
            out.write("".join(["\t".join(r) + "\t" + s + "\n" for r, s in zip(rows, text)]))
        if genes is not None:
            ti = table.columns.index("mrna_id")
            tids = np.asarray([r[ti] for r in rows], dtype=object)
            for a, b, mid in runs:
                genes.add_grouped(mid, mirna_seqs[mid], tids[a:b], scores[a:b], types[a:b], table.lines[a])
        summary.n_cts += len(rows)
        if progress:
            progress(len(rows))

    # One chunk is scored in the background while the next is parsed and the previous
    # written: reading/encoding/formatting overlap the network (torch releases the GIL).
    with ThreadPoolExecutor(1) as background:
        for table in iter_tsv(path, ("mirna_id", "cts_seq"), chunk_rows):
            cols = table.columns
            if not header_done:
                if "score" in cols:
                    raise InputError("the table already has a 'score' column (already predicted?)", table.path, 1)
                if genes is not None and "mrna_id" not in cols:
                    raise InputError("gene-level output needs an mrna_id column", table.path, 1)
                if out is not None:
                    write_tsv_header(out, cols + ["score"])
                header_done = True
            if not table.rows:
                continue
            mi, ci = cols.index("mirna_id"), cols.index("cts_seq")
            rows = table.rows
            mids = [r[mi] for r in rows]
            ctss = [r[ci] for r in rows]
            short = next((i for i, c in enumerate(ctss) if len(c) < MIN_CTS_NT), None)
            if short is not None:  # an empty or 1-nt cts_seq cannot hold a site: not scored
                raise InputError(
                    f"cts_seq '{ctss[short]}' is {len(ctss[short])} nt; a CTS needs at least {MIN_CTS_NT} nt (a seed match)",
                    table.path, table.lines[short],
                )
            codes = encode_cts(ctss, scorer.cts_length, table.path, table.lines)
            runs = _mirna_runs(mids)
            uniq: dict[str, int] = {}
            idx = np.empty(len(rows), dtype=np.int64)
            for a, b, mid in runs:
                if mid not in mirna_seqs:
                    raise InputError(f"miRNA id '{mid}' is not in {mirna_source}", table.path, table.lines[a])
                idx[a:b] = uniq.setdefault(mirna_seqs[mid], len(uniq))
            types = _site_types_of(table)
            found = types == _FIND_SITE_TYPE  # no column, or a dt-make-negatives 'duplex' site
            if found.any():  # the best seed match in the CTS, as for a pair table
                rows_f = np.flatnonzero(found)
                types[rows_f] = sites.best_site_types(
                    [mirna_seqs[mids[i]] for i in rows_f], [normalise(ctss[i]) for i in rows_f], scorer.cts_length
                )[0]
            future = background.submit(scorer.score, list(uniq), idx, codes, types)
            if pending is not None:
                finish(pending)
            pending = (future, table, runs, types)
        if pending is not None:
            finish(pending)
    if genes is not None:
        genes.close()
        summary.n_pairs = genes.n_written
    summary.seconds = time.perf_counter() - t0
    return summary


def _site_types_of(table) -> np.ndarray:
    """Site-type indexes of a site table's rows; _FIND_SITE_TYPE where the table does not say
    (no site_type column, or 'duplex': a dt-make-negatives site found by alignment)."""
    if "site_type" not in table.columns:
        return np.full(len(table.rows), _FIND_SITE_TYPE, dtype=np.int64)
    si = table.columns.index("site_type")
    try:
        return np.fromiter((_TYPE_INDEX[r[si]] for r in table.rows), dtype=np.int64, count=len(table.rows))
    except KeyError:
        for r, line in zip(table.rows, table.lines):
            if r[si] not in _TYPE_INDEX:
                raise InputError(
                    f"unknown site_type '{r[si]}' (expected one of {', '.join(_TYPE_NAMES + [sites.DUPLEX_SITE])})", table.path, line
                ) from None
        raise


def predict_scan(
    mirnas: Sequence[sites.Mirna],
    targets: Iterable[FastaRecord | tuple[str, str]],
    scorer: SiteScorer,
    out: IO[str] | None,
    genes: GeneWriter | None = None,
    relaxed: bool = False,
    pairs: dict[str, set[str]] | None = None,
    chunk_nt: int = 8_000_000,
    utr_lengths: dict[str, int] | None = None,
    progress: Callable[[int], None] | None = None,
    gene_model=None,
) -> PredictSummary:
    """Scan targets chunk by chunk and score the sites as they are found.

    ``gene_model``: a (gene_scoring.GeneScorer, gene_scoring.GeneRows) pair that writes the
    gene rows of each chunk (``--aggregate model``; ``genes`` is then None).

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
    seq_of = {m.id: m.seq for m in mirnas}
    batch_sites = max(4096, getattr(scorer, "batch_size", 0) * getattr(scorer, "threads", 1))

    def flush(chunk, pending: list) -> None:
        """Score the pending blocks in one call, then write them in their order."""
        if not pending:
            return
        for block, scores in zip(pending, score_blocks(scorer, pending, [seq_of[b.mirna_id] for b in pending])):
            if out is not None:
                rows = block.to_tsv(chunk).splitlines()
                text = format_scores(scores)
                out.write("".join([r + "\t" + s + "\n" for r, s in zip(rows, text)]))
            if genes is not None:
                tids = np.asarray(chunk.ids, dtype=object)[block.target_index]
                genes.add_grouped(block.mirna_id, seq_of[block.mirna_id], tids, scores, block.site_type.astype(np.int64))
            summary.n_cts += len(block)
            if progress:
                progress(len(block))
        pending.clear()

    for chunk in chunks:
        pending: list = []
        n_pending = 0
        for block in scanner.scan_chunk(chunk):
            if not len(block):
                continue
            pending.append(block)
            n_pending += len(block)
            if n_pending >= batch_sites:
                flush(chunk, pending)
                n_pending = 0
        flush(chunk, pending)
        if gene_model is not None:
            from .gene_scoring import write_scan

            write_scan(gene_model[0], mirnas, chunk, gene_model[1], pairs)
            summary.n_pairs = gene_model[1].n_written
        if genes is not None:
            # The next chunk restarts the miRNA order: allow a miRNA to come back.
            genes.flush()
            genes._done.clear()
    if genes is not None:
        genes.close()
        summary.n_pairs = genes.n_written
    summary.seconds = time.perf_counter() - t0
    return summary


def _recording(targets, lengths: dict[str, int] | None):
    for rec in targets:
        if lengths is not None:
            rid, seq = (rec.id, rec.seq) if isinstance(rec, FastaRecord) else rec
            lengths[rid] = len(seq)
        yield rec


def read_mirna_seqs(path) -> dict[str, str]:
    return {r.id: r.seq for r in read_fasta(path, kind="mirna")}


def read_utr_lengths(path) -> dict[str, int]:
    """UTR id -> length; from the FASTA's .fai index when it has a current one (no sequence
    read), else from the FASTA."""
    from .indexed import indexed_lengths

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
        pairs = _validate_pair_rows(table)
        mseqs = [p.mirna_seq for p in pairs]
        ctss = [p.mrna_seq for p in pairs]
        types, windows = sites.best_site_types(mseqs, ctss, L)
        codes = encode_cts(ctss, L, table.path, table.lines)
        redo = np.array([len(s) != L for s in ctss]) & (types != _TYPE_INDEX[NO_SITE])
        if redo.any():
            codes[redo] = _CTS_CODE[windows[redo]]
        uniq: dict[str, int] = {}
        idx = np.fromiter((uniq.setdefault(s, len(uniq)) for s in mseqs), dtype=np.int64, count=len(mseqs))
        scores = scorer.score(list(uniq), idx, codes, types)
        text = format_scores(scores)
        tnames = np.asarray(_TYPE_NAMES, dtype=object)[types].tolist()
        out.write("".join(["\t".join(r) + f"\t{t}\t{s}\n" for r, t, s in zip(table.rows, tnames, text)]))
        summary.n_cts += len(pairs)
        if progress:
            progress(len(pairs))
    summary.seconds = time.perf_counter() - t0
    return summary


def _validate_pair_rows(table):
    """Pair objects of one chunk of a pair table, with the checks of ``io.iter_pairs``."""
    from .io import Pair, parse_label
    from .seq import MAX_MIRNA_LENGTH, MIN_MIRNA_LENGTH, MIRNA_LETTERS, TARGET_LETTERS

    cols = table.columns
    idx = [cols.index(c) for c in ("mirna_id", "mirna_seq", "mrna_id", "mrna_seq")]
    li = cols.index("label") if "label" in cols else -1
    out = []
    for row, line in zip(table.rows, table.lines):
        mid, mseq, tid, tseq = (row[i] for i in idx)
        mseq_n, tseq_n = normalise(mseq), normalise(tseq)
        if not mid or not tid:
            raise InputError("empty mirna_id or mrna_id", table.path, line)
        if not mseq_n or set(mseq_n) - MIRNA_LETTERS:
            raise InputError(f"mirna_seq '{mseq}' is not an A/C/G/U sequence", table.path, line)
        if not MIN_MIRNA_LENGTH <= len(mseq_n) <= MAX_MIRNA_LENGTH:
            raise InputError(
                f"mirna_seq is {len(mseq_n)} nt; expected {MIN_MIRNA_LENGTH}-{MAX_MIRNA_LENGTH}", table.path, line
            )
        if not tseq_n or set(tseq_n) - TARGET_LETTERS:
            raise InputError("mrna_seq is empty or has letters other than A/C/G/U/T/N", table.path, line)
        label = parse_label(row[li], table.path, line) if li >= 0 else None
        out.append(Pair(mid, mseq_n, tid, tseq_n, label, (), line))
    return out


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
    inputs = sites.inputs_from_pair_table(path)
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
    btype = [site_scores[(p.mirna_id, p.mrna_id)][2] if (p.mirna_id, p.mrna_id) in site_scores else _TYPE_INDEX[NO_SITE] for p in rows]
    if gene_scorer is not None:
        from .gene_scoring import pair_scores

        found = pair_scores(gene_scorer, inputs.mirnas, list(targets.items()), inputs.pairs)
        hits = [found[(p.mirna_id, p.mrna_id)] for p in rows]
        score = np.array([h[0] for h in hits], dtype=np.float64)
        n_sites = np.array([h[1] for h in hits], dtype=np.int64)
        btype = [h[2] for h in hits]
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
    for p, s, n, t in zip(rows, text, n_sites.tolist(), btype):
        row = [p.mirna_id, p.mrna_id, s, str(n), _TYPE_NAMES[t]]
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


__all__ = [
    "ChanceModel",
    "GeneWriter",
    "NeuralScorer",
    "SeedMatchScorer",
    "SEED_MATCH",
    "SEED_MATCH_SCORES",
    "encode_cts",
    "make_scorer",
    "predict_pairs_gene",
    "predict_pairs_site",
    "predict_scan",
    "predict_site_table",
    "random_utr_check",
    "read_mirna_seqs",
    "read_utr_lengths",
    "pair_table_level",
]

