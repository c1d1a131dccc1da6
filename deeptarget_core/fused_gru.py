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
  layer.

GRU networks only (1-3 layers, uni- or bidirectional); :func:`supports` says which.
"""

from __future__ import annotations

import torch


def supports(config) -> bool:
    """Whether the fused loop can run a network of this :class:`~deeptarget_core.model.ModelConfig`."""
    return config.cell == "gru"


def _scaled(w: torch.Tensor, H: int) -> torch.Tensor:
    """GRU weight rows [r, z, n] with the n rows times 2."""
    w = w.detach().clone()
    w[2 * H :] *= 2
    return w


_MINUS_ONE = torch.tensor(-1.0)  # a 0-dim tensor: a scalar on any device


def _gru_step(gi, gh, h, H, out=None):
    """One GRU step; n-gate pre-activations arrive doubled (see _scaled)."""
    rz = torch.add(gh[:, : 2 * H], gi[:, : 2 * H]).sigmoid_()
    r, z = rz[:, :H], rz[:, H:]
    n = torch.addcmul(gi[:, 2 * H :], r, gh[:, 2 * H :]).sigmoid_()
    n = torch.add(_MINUS_ONE, n, alpha=2, out=n)  # tanh(a) = 2 sigmoid(2a) - 1, in one pass
    return torch.lerp(n, h, z) if out is None else torch.lerp(n, h, z, out=out)


class MirnaStates:
    """miRNA encoder states, step-major (L, K, H): the miRNA side of :meth:`FusedGRU.log_odds`
    for batches of many distinct miRNAs (each with a site or two), where projecting every miRNA
    first would cost as much and hold a table (directions, L, K, 3H) six times the size."""

    def __init__(self, states: torch.Tensor):
        self.by_step = states.transpose(0, 1).contiguous()


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
        with torch.inference_mode():
            self._take_encoder(model)
            self._take_interaction(model)
            self.w_cls = model.classifier.weight.contiguous()
            self.b_cls = model.classifier.bias.contiguous()

    def _take_encoder(self, m) -> None:
        self.h_enc = m.cts_ae.encoder.hidden_size
        self.t_enc, self.w_enc_h, self.b_enc_h = _encoder_weights(m.cts_ae)
        self.mirna_encoder = _encoder_weights(m.mirna_ae)

    def encode_mirna(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, L) miRNA codes, already padded to the CTS length -> (L, B, H) encoder states,
        step-major (what :meth:`mirna_projection` reads); equal to DeepTarget.encode_mirna."""
        table, w_h, b_h = self.mirna_encoder
        B, L = codes.shape
        H = w_h.shape[0]
        steps = codes.T.contiguous()  # (L, B): the miRNA is read 5'->3'
        out = torch.empty(L, B, H, device=table.device, dtype=table.dtype)
        h = torch.zeros(B, H, device=table.device, dtype=table.dtype)
        for t in range(L):
            h = _gru_step(table.index_select(0, steps[t]), torch.addmm(b_h, h, w_h), h, H, out[t])
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
                    d["w_ih"] = w_ih[:, h_m : h_m + He].T.contiguous()
                    d["w_pair"] = w_ih[:, h_m + He :].T.contiguous()
                    d["w_ih_pair"] = w_ih[:, h_m:].T.contiguous()  # CTS states then pairing channels
                else:
                    d["w_ih"] = w_ih.T.contiguous()
                dirs.append(d)
            self.layers.append({"H": H, "dirs": dirs})

    def mirna_projection(self, states: torch.Tensor) -> torch.Tensor:
        """(K, L, H) miRNA encoder states -> (directions, L, K, 3H): their part of the first
        interaction layer's input projection (bias included), step-major as the loops read it."""
        by_step = states.transpose(0, 1).contiguous()  # (L, K, H)
        dirs = self.layers[0]["dirs"]
        out = torch.empty(len(dirs), *by_step.shape[:2], dirs[0]["b_ih"].shape[0], dtype=states.dtype, device=states.device)
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

    def _first_input(self, mirna, d: int, t: int, idx, single: bool, x, w):
        """The first layer's input pre-activation at step ``t``, direction ``d``: the miRNA's
        part plus ``x @ w``. ``mirna`` is a projection table (directions, L, K, 3H) or
        :class:`MirnaStates` (the projection then runs per CTS: one more small GEMM per step,
        no table of every miRNA's projection when a batch holds many miRNAs)."""
        if isinstance(mirna, MirnaStates):
            p = self.layers[0]["dirs"][d]
            gi = torch.addmm(p["b_ih"], mirna.by_step[t].index_select(0, idx), p["w_ih_mirna"].T)
            return gi.addmm_(x, w)
        base = mirna[d, t, idx[0]].expand(x.shape[0], -1) if single else mirna[d, t].index_select(0, idx)
        return torch.addmm(base, x, w)

    def log_odds(self, mirna_pre, mirna_codes, idx, codes):
        """logit[1] - logit[0] of CTSs ``codes`` (B, L) against miRNAs ``idx`` (B,), given the
        miRNAs' projections ``mirna_pre`` (directions, L, K, 3H) or their :class:`MirnaStates`,
        and their codes (K, L)."""
        if all(len(layer["dirs"]) == 1 for layer in self.layers):
            pairing = self._pairing_steps(mirna_codes, idx, codes) if self.pairing_offsets else None
            return self._wavefront(mirna_pre, idx, codes, pairing)
        return self._layerwise(mirna_pre, mirna_codes, idx, codes)

    def _wavefront(self, mirna_pre, idx, codes, pairing=None):
        """Unidirectional stack: all layers advance together, one position at a time, so
        every intermediate stays (B, 3H) and in cache."""
        B, L = codes.shape
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        dev, dt = self.t_enc.device, self.t_enc.dtype
        h_e = torch.zeros(B, self.h_enc, device=dev, dtype=dt)
        params = [layer["dirs"][0] for layer in self.layers]
        hs = [torch.zeros(B, layer["H"], device=dev, dtype=dt) for layer in self.layers]
        single = bool((idx == idx[0]).all())
        for t in range(L):
            gi_e = self.t_enc.index_select(0, steps[t])
            h_e = _gru_step(gi_e, torch.addmm(self.b_enc_h, h_e, self.w_enc_h), h_e, self.h_enc)
            x = h_e
            for i, (p, layer) in enumerate(zip(params, self.layers)):
                if i == 0:
                    gi = self._first_input(mirna_pre, 0, t, idx, single, x, p["w_ih"])
                    if pairing is not None:
                        gi = gi.addmm_(pairing[t], p["w_pair"])
                else:
                    gi = torch.addmm(p["b_ih"], x, p["w_ih"])
                hs[i] = _gru_step(gi, torch.addmm(p["b_hh"], hs[i], p["w_hh"]), hs[i], layer["H"])
                x = hs[i]
        logits = x @ self.w_cls.T + self.b_cls
        return logits[:, 1] - logits[:, 0]

    def _encode_cts(self, mirna_codes, idx, codes):
        """(L, B, He + K): CTS encoder states and pairing channels side by side, so that the
        first layer reads both with one GEMM per step (``w_ih_pair`` is stacked the same way)."""
        B, L = codes.shape
        steps = torch.flip(codes, dims=[1]).T.contiguous()  # (L, B): CTS read 3'->5'
        dev, dt = self.t_enc.device, self.t_enc.dtype
        He = self.h_enc
        enc = torch.empty(L, B, He + len(self.pairing_offsets), device=dev, dtype=dt)
        if self.pairing_offsets:
            self._pairing_steps(mirna_codes, idx, codes, out=enc[:, :, He:])
        h = torch.zeros(B, He, device=dev, dtype=dt)
        for t in range(L):
            gh = torch.addmm(self.b_enc_h, h, self.w_enc_h)
            h = _gru_step(self.t_enc.index_select(0, steps[t]), gh, h, He, enc[t, :, :He])
        return enc

    def _layerwise(self, mirna_pre, mirna_codes, idx, codes):
        """Any stack with bidirectional layers: layer by layer, each direction runs its
        recurrence (forward over t, backward from the end) with per-step input GEMMs
        (one large GEMM over all positions was 5x slower here: it leaves the cache)."""
        B, L = codes.shape
        dev, dt = self.t_enc.device, self.t_enc.dtype
        xs = [self._encode_cts(mirna_codes, idx, codes)]  # the previous layer's outputs, (L, B, H) per direction
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
                        gi = self._first_input(mirna_pre, d, t, idx, single, xs[0][t], w_parts[0])
                    else:
                        gi = torch.addmm(p["b_ih"], xs[0][t], w_parts[0])
                    for x_k, w_k in zip(xs[1:], w_parts[1:]):
                        gi = gi.addmm_(x_k[t], w_k)
                    h = _gru_step(gi, torch.addmm(p["b_hh"], h, p["w_hh"]), h, H, None if out is None else out[t])
                outs.append(out)
                finals.append(h)
            xs = outs
        summary = finals[0] if len(finals) == 1 else torch.cat(finals, dim=1)
        logits = summary @ self.w_cls.T + self.b_cls
        return logits[:, 1] - logits[:, 0]
