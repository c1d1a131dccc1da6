"""The network's second forward pass: a fused GRU loop for fast inference.

Owns the layout of a :class:`~deeptarget_core.model.DeepTarget` GRU network's weights as the
fused loop reads them (and is the only module besides model.py that reads them). The loop
computes the same function as the eager network (tests hold it within 1e-5):

* the embedding and the encoder's input projection become one 5-row lookup table (CTS and
  miRNA encoders alike);
* the miRNA's contribution to the first interaction layer's input projection is computed
  once per miRNA of a batch (:meth:`FusedGRU.mirna_projection`) and reused for all its CTSs;
  a batch of many distinct miRNAs computes it per CTS instead (:class:`MirnaStates`);
* the n-gate rows are scaled by 2 so that tanh(a) = 2 * sigmoid(2a) - 1 can use the (much
  faster here) sigmoid;
* a unidirectional stack advances all layers together, one position at a time (every
  intermediate stays (B, 3H) and in cache); a stack with bidirectional layers runs layer by
  layer;
* the loops are compiled by TorchScript (:func:`_compiled`), so a loop of 40 steps runs
  without the GIL: the scoring threads no longer wait for the main thread's Python (reading,
  formatting) between operations (the interpreter hands the GIL over every 5 ms).

GRU networks only (1-3 layers, uni- or bidirectional); :func:`supports` says which.
"""

from __future__ import annotations

import threading
from typing import List, Optional

import torch
from torch import Tensor


def supports(config) -> bool:
    """Whether the fused loop can run a network of this :class:`~deeptarget_core.model.ModelConfig`."""
    return config.cell == "gru"


def _scaled(w: torch.Tensor, H: int) -> torch.Tensor:
    """GRU weight rows [r, z, n] with the n rows times 2."""
    w = w.detach().clone()
    w[2 * H :] *= 2
    return w


# The loops below are TorchScript-compatible Python (typed, no closures): see _compiled.


def _gru_step(gi: Tensor, gh: Tensor, h: Tensor, H: int, minus_one: Tensor, out: Optional[Tensor]) -> Tensor:
    """One GRU step; n-gate pre-activations arrive doubled (see _scaled). ``minus_one`` is a
    0-dim -1 (tanh(a) = 2 sigmoid(2a) - 1 in one pass); the new state goes to ``out`` if given."""
    rz = torch.add(gh[:, : 2 * H], gi[:, : 2 * H]).sigmoid_()
    r, z = rz[:, :H], rz[:, H:]
    n = torch.addcmul(gi[:, 2 * H :], r, gh[:, 2 * H :]).sigmoid_()
    n = torch.add(minus_one, n, alpha=2, out=n)
    if out is None:
        return torch.lerp(n, h, z)
    return torch.lerp(n, h, z, out=out)


def _encoder_loop(steps: Tensor, table: Tensor, w_h: Tensor, b_h: Tensor, out: Tensor, minus_one: Tensor) -> None:
    """An encoder over (L, B) codes ``steps``: the state after step t goes to ``out[t]``."""
    H = w_h.shape[0]
    h = torch.zeros(steps.shape[1], H, device=table.device, dtype=table.dtype)
    for t in range(steps.shape[0]):
        h = _gru_step(table.index_select(0, steps[t]), torch.addmm(b_h, h, w_h), h, H, minus_one, out[t])


def _first_input(
    mirna: Tensor, w_mirna: Optional[Tensor], b_ih: Tensor, t: int, idx: Tensor, single_row: int, x: Tensor, w: Tensor
) -> Tensor:
    """The first interaction layer's input pre-activation at step ``t``: the miRNA's part plus
    ``x @ w``. ``mirna`` is the miRNAs' projection (L, K, 3H), or their encoder states (L, K, H)
    when ``w_mirna`` is given (projected per CTS: one more small GEMM per step, no table of every
    miRNA's projection when a batch holds many miRNAs). ``single_row`` >= 0: all CTSs are
    against that one miRNA."""
    if w_mirna is not None:
        gi = torch.addmm(b_ih, mirna[t].index_select(0, idx), w_mirna)
        return gi.addmm_(x, w)
    if single_row >= 0:
        return torch.addmm(mirna[t, single_row].expand(x.shape[0], -1), x, w)
    return torch.addmm(mirna[t].index_select(0, idx), x, w)


def _wavefront_loop(
    steps: Tensor,
    encoder: List[Tensor],
    layers: List[List[Tensor]],
    mirna: Tensor,
    w_mirna: Optional[Tensor],
    idx: Tensor,
    single_row: int,
    pairing: Optional[Tensor],
    w_pair: Optional[Tensor],
    minus_one: Tensor,
) -> Tensor:
    """A unidirectional stack: all layers advance together, one position at a time, so every
    intermediate stays (B, 3H) and in cache. ``encoder`` = [table, w_h, b_h]; each layer is
    [w_ih, b_ih, w_hh, b_hh]. Returns the last layer's final state."""
    table, w_eh, b_eh = encoder[0], encoder[1], encoder[2]
    B = steps.shape[1]
    He = w_eh.shape[0]
    h_e = torch.zeros(B, He, device=table.device, dtype=table.dtype)
    hs = [torch.zeros(B, p[2].shape[0], device=table.device, dtype=table.dtype) for p in layers]
    x = h_e
    for t in range(steps.shape[0]):
        h_e = _gru_step(table.index_select(0, steps[t]), torch.addmm(b_eh, h_e, w_eh), h_e, He, minus_one, None)
        x = h_e
        for i, p in enumerate(layers):
            if i == 0:
                gi = _first_input(mirna, w_mirna, p[1], t, idx, single_row, x, p[0])
                if pairing is not None and w_pair is not None:
                    gi = gi.addmm_(pairing[t], w_pair)
            else:
                gi = torch.addmm(p[1], x, p[0])
            h = _gru_step(gi, torch.addmm(p[3], hs[i], p[2]), hs[i], p[2].shape[0], minus_one, None)
            hs[i] = h
            x = h
    return x


def _direction_loop(
    xs: List[Tensor],
    ws: List[Tensor],
    recurrent: List[Tensor],
    mirna: Optional[Tensor],
    w_mirna: Optional[Tensor],
    idx: Tensor,
    single_row: int,
    reverse: bool,
    out: Optional[Tensor],
    minus_one: Tensor,
) -> Tensor:
    """One direction of a bidirectional (or any layer-by-layer) GRU layer over the previous
    layer's outputs ``xs`` (L, B, .) with their input weights ``ws``; ``recurrent`` = [b_ih,
    w_hh, b_hh]. The first layer has ``mirna`` (see _first_input). States go to ``out`` (L, B, H)
    when given; returns the final state."""
    b_ih, w_hh, b_hh = recurrent[0], recurrent[1], recurrent[2]
    L = xs[0].shape[0]
    H = w_hh.shape[0]
    h = torch.zeros(xs[0].shape[1], H, device=w_hh.device, dtype=w_hh.dtype)
    for s in range(L):
        t = L - 1 - s if reverse else s
        if mirna is not None:
            gi = _first_input(mirna, w_mirna, b_ih, t, idx, single_row, xs[0][t], ws[0])
        else:
            gi = torch.addmm(b_ih, xs[0][t], ws[0])
        for k in range(1, len(xs)):
            gi = gi.addmm_(xs[k][t], ws[k])
        h = _gru_step(gi, torch.addmm(b_hh, h, w_hh), h, H, minus_one, None if out is None else out[t])
    return h


def _compiled(fn):
    """``fn`` compiled by TorchScript, so that its loop runs without the GIL (0-10% more CTS/s
    end to end with two scoring threads and the main thread parsing; scores identical).
    TorchScript is deprecated in favour of torch.compile, which is 3x slower on these small
    steps (docs/benchmarks.md); where this torch cannot script, the same function runs as Python."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.script(fn)
    except Exception:  # no TorchScript in this torch, or no source to read: run it as Python
        return fn


_LOOP_NAMES = ("_encoder_loop", "_direction_loop", "_wavefront_loop")
_LOOPS: dict[str, object] = {}
_COMPILING = threading.Lock()


def _loop(name: str):
    """The compiled loop ``name``; FusedGRU compiles them all up front (about 0.1 s once per
    process), under a lock: scoring threads must not compile side by side."""
    if name not in _LOOPS:
        with _COMPILING:
            if name not in _LOOPS:
                _LOOPS[name] = _compiled(globals()[name])
    return _LOOPS[name]


class MirnaStates:
    """miRNA encoder states, step-major (L, K, H): the miRNA side of :meth:`FusedGRU.log_odds`
    for batches of many distinct miRNAs (each with a site or two), where projecting every miRNA
    first would cost as much and hold a table (directions, L, K, 3H) six times the size. A
    bidirectional stack gathers each CTS's states next to its CTS states (one GEMM per step);
    a unidirectional one projects them per step."""

    def __init__(self, by_step: torch.Tensor):
        self.by_step = by_step


def _encoder_weights(ae) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An autoencoder's encoder as the loop reads it: the embedding and input projection as one
    lookup table (one row per code), the recurrent weights transposed and the bias (n rows x 2)."""
    enc = ae.encoder
    H = enc.hidden_size
    table = (ae.embedding.weight @ _scaled(enc.weight_ih_l0, H).T + _scaled(enc.bias_ih_l0, H)).contiguous()
    return table, _scaled(enc.weight_hh_l0, H).T.contiguous(), _scaled(enc.bias_hh_l0, H).contiguous()


class FusedGRU:
    """The fused loop's weights, taken from a DeepTarget GRU network (on its device)."""

    def __init__(self, model):
        if not supports(model.config):
            raise ValueError(f"the fused loop runs GRU networks only, not '{model.config.cell}'")
        self.pairing_offsets = model.config.pairing_offsets
        for name in _LOOP_NAMES:  # here, before any scoring thread runs them
            _loop(name)
        with torch.inference_mode():
            self._take_encoder(model)
            self._take_interaction(model)
            self.w_cls = model.classifier.weight.contiguous()
            self.b_cls = model.classifier.bias.contiguous()
            self.minus_one = torch.tensor(-1.0, device=self.b_cls.device, dtype=self.b_cls.dtype)

    def _take_encoder(self, m) -> None:
        self.h_enc = m.cts_ae.encoder.hidden_size
        self.t_enc, self.w_enc_h, self.b_enc_h = _encoder_weights(m.cts_ae)
        self.mirna_encoder = _encoder_weights(m.mirna_ae)

    def encode_mirna(self, codes: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """(B, L) miRNA codes, already padded to the CTS length -> (L, B, H) encoder states,
        step-major (what :meth:`mirna_projection` reads), into ``out`` when given (any (L, B, H)
        view whose rows are contiguous); equal to DeepTarget.encode_mirna."""
        table, w_h, b_h = self.mirna_encoder
        B, L = codes.shape
        steps = codes.T.contiguous()  # (L, B): the miRNA is read 5'->3'
        if out is None:
            out = torch.empty(L, B, w_h.shape[0], device=table.device, dtype=table.dtype)
        _loop("_encoder_loop")(steps, table, w_h, b_h, out, self.minus_one)
        return out

    def _take_interaction(self, m) -> None:
        He = self.h_enc
        h_m = m.mirna_ae.encoder.hidden_size
        self.layers = []
        for i, layer in enumerate(m.interaction):
            H = layer.hidden_size
            dirs = []
            for sfx in ["", "_reverse"] if layer.bidirectional else [""]:
                w_ih = _scaled(getattr(layer, "weight_ih_l0" + sfx), H)
                d = {
                    "w_hh": _scaled(getattr(layer, "weight_hh_l0" + sfx), H).T.contiguous(),
                    "b_hh": _scaled(getattr(layer, "bias_hh_l0" + sfx), H).contiguous(),
                    "b_ih": _scaled(getattr(layer, "bias_ih_l0" + sfx), H).contiguous(),
                }
                if i == 0:  # input = [miRNA states | CTS states | pairing channels]
                    d["w_ih_mirna"] = w_ih[:, :h_m].contiguous()
                    # the input weights transposed once; row ranges of it (contiguous views) for
                    # the parts a loop reads
                    d["w_ih_all"] = w_ih.T.contiguous()
                    d["w_ih_pair"] = d["w_ih_all"][h_m:]  # CTS states then pairing channels
                    d["w_ih"] = d["w_ih_all"][h_m : h_m + He]
                    d["w_pair"] = d["w_ih_all"][h_m + He :]
                else:
                    d["w_ih"] = w_ih.T.contiguous()
                dirs.append(d)
            self.layers.append({"H": H, "dirs": dirs})

    def mirna_projection(self, by_step: torch.Tensor) -> torch.Tensor:
        """(L, K, H) miRNA encoder states (step-major) -> (directions, L, K, 3H): their part of
        the first interaction layer's input projection (bias included), as the loops read it."""
        dirs = self.layers[0]["dirs"]
        out = torch.empty(len(dirs), *by_step.shape[:2], dirs[0]["b_ih"].shape[0], dtype=by_step.dtype, device=by_step.device)
        for k, d in enumerate(dirs):
            torch.matmul(by_step, d["w_ih_mirna"].T, out=out[k]).add_(d["b_ih"])
        return out

    def _pairing_steps(self, mirna_codes, idx, codes, out=None):
        """(L, B, K) pairing channels, step-major like the loops below (into ``out`` when given)."""
        from .model import pairing_features

        B, L = codes.shape
        if out is None:
            out = torch.empty(L, B, len(self.pairing_offsets), dtype=self.t_enc.dtype, device=self.t_enc.device)
        pairing_features(mirna_codes.index_select(0, idx), codes, self.pairing_offsets, out=out.transpose(0, 1))
        return out

    def _mirna_side(self, mirna, d: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """What the loops read of the miRNAs for direction ``d``: the projection table (L, K, 3H),
        or for :class:`MirnaStates` their states and the transposed projection weights."""
        if isinstance(mirna, MirnaStates):
            return mirna.by_step, self.layers[0]["dirs"][d]["w_ih_mirna"].T
        return mirna[d], None

    def log_odds(self, mirna_pre, mirna_codes, idx, codes):
        """logit[1] - logit[0] of CTSs ``codes`` (B, L) against miRNAs ``idx`` (B,), given the
        miRNAs' projections ``mirna_pre`` (directions, L, K, 3H) or their :class:`MirnaStates`,
        and their codes (K, L)."""
        single_row = int(idx[0]) if bool((idx == idx[0]).all()) else -1
        if all(len(layer["dirs"]) == 1 for layer in self.layers):
            summary = self._wavefront(mirna_pre, mirna_codes, idx, codes, single_row)
        else:
            summary = self._layerwise(mirna_pre, mirna_codes, idx, codes, single_row)
        logits = summary @ self.w_cls.T + self.b_cls
        return logits[:, 1] - logits[:, 0]

    def _wavefront(self, mirna_pre, mirna_codes, idx, codes, single_row: int):
        """Unidirectional stack: the last layer's final states (see _wavefront_loop)."""
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        pairing, w_pair = None, None
        if self.pairing_offsets:
            pairing, w_pair = self._pairing_steps(mirna_codes, idx, codes), self.layers[0]["dirs"][0]["w_pair"]
        layers = [[p["w_ih"], p["b_ih"], p["w_hh"], p["b_hh"]] for p in (layer["dirs"][0] for layer in self.layers)]
        mirna, w_mirna = self._mirna_side(mirna_pre, 0)
        encoder = [self.t_enc, self.w_enc_h, self.b_enc_h]
        return _loop("_wavefront_loop")(steps, encoder, layers, mirna, w_mirna, idx, single_row, pairing, w_pair, self.minus_one)

    def _encode_cts(self, mirna_codes, idx, codes, mirna_states: MirnaStates | None = None):
        """(L, B, He + K): CTS encoder states and pairing channels side by side, so that the
        first layer reads both with one GEMM per step (``w_ih_pair`` is stacked the same way).
        With ``mirna_states``, (L, B, Hm + He + K): each CTS's miRNA states lead (``w_ih_all``):
        for a batch of many miRNAs one gather and one GEMM per step replace a gather and two."""
        B, L = codes.shape
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        lead = 0 if mirna_states is None else mirna_states.by_step.shape[2]
        He = lead + self.h_enc
        enc = torch.empty(L, B, He + len(self.pairing_offsets), device=self.t_enc.device, dtype=self.t_enc.dtype)
        if mirna_states is not None:
            torch.index_select(mirna_states.by_step, 1, idx, out=enc[:, :, :lead])
        if self.pairing_offsets:
            self._pairing_steps(mirna_codes, idx, codes, out=enc[:, :, He:])
        _loop("_encoder_loop")(steps, self.t_enc, self.w_enc_h, self.b_enc_h, enc[:, :, lead:He], self.minus_one)
        return enc

    def _layerwise(self, mirna_pre, mirna_codes, idx, codes, single_row: int):
        """Any stack with bidirectional layers: layer by layer, each direction runs its
        recurrence (forward over t, backward from the end) with per-step input GEMMs
        (one large GEMM over all positions was 5x slower here: it leaves the cache).
        Returns the last layer's final states, directions side by side."""
        B, L = codes.shape
        dev, dt = self.t_enc.device, self.t_enc.dtype
        per_cts = isinstance(mirna_pre, MirnaStates)  # the miRNA states are read with the CTS's (_encode_cts)
        xs = [self._encode_cts(mirna_codes, idx, codes, mirna_pre if per_cts else None)]  # (L, B, H) per direction
        finals = []
        for li, layer in enumerate(self.layers):
            last = li == len(self.layers) - 1
            outs, finals = [], []
            for d, p in enumerate(layer["dirs"]):
                w_in = p["w_ih"] if li else p["w_ih_all"] if per_cts else p["w_ih_pair"]
                ws = [w_in] if len(xs) == 1 else list(w_in.split(xs[0].shape[2], dim=0))
                mirna, w_mirna = self._mirna_side(mirna_pre, d) if li == 0 and not per_cts else (None, None)
                out = None if last else torch.empty(L, B, layer["H"], device=dev, dtype=dt)
                recurrent = [p["b_ih"], p["w_hh"], p["b_hh"]]
                finals.append(
                    _loop("_direction_loop")(xs, ws, recurrent, mirna, w_mirna, idx, single_row, d == 1, out, self.minus_one)
                )
                outs.append(out)
            xs = outs
        return finals[0] if len(finals) == 1 else torch.cat(finals, dim=1)
