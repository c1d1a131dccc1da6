"""Why did the model score a miRNA/CTS pair the way it did? (dt-explain; the paper's Figure 7)

For each pair this module computes, in batches:

* the model's score: P(target), as dt-predict gives it (with the model's site-type offset for
  the window's best seed match, when the model has a site prior);
* the hidden-unit activations of one layer of the stacked interaction RNN (default: the last),
  one column per interaction step. Step ``i`` (0-based) reads miRNA nt ``i+1`` (5'->3',
  padding past the miRNA's 3' end) together with CTS window nt ``L-i`` (1-based, so the CTS
  runs 3'->5' along the steps): this is the alignment the network itself uses;
* the miRNA:CTS duplex (miRanda-style seed-weighted local alignment, the definition of
  :mod:`deeptarget_core.duplex`), its Watson-Crick and G:U pairs, laid out as biologists read
  it (:func:`~deeptarget_core.duplex.classic`), and a per-step *binding indicator*: the mean
  over the step's two nucleotides of 1 (WC pair), 0.5 (G:U) or 0;
* the unit that best follows the binding pattern: the largest absolute Pearson correlation
  between a unit's activation and the binding indicator over the steps (ties: lowest unit);
* a per-nucleotide attribution for both sequences, on the score (the probability):
  integrated gradients (IG) over the nucleotide embeddings from an all-padding baseline
  (every embedding zero, i.e. both sequences all N), or gradient x input. The IG path
  integral is taken with Gauss-Legendre quadrature on [0, 1] with ``steps`` nodes (exact for
  polynomials of degree ``2*steps-1``; far fewer steps than a Riemann sum for the same
  accuracy). A model's site-type offset is held fixed along the path, so each pair's
  baseline is the all-padding score with its own offset (``baseline_score`` in pairs.tsv) and
  the attributions explain the network's part. Completeness: the attributions of a pair sum
  to ``score - baseline_score`` up
  to the quadrature error (measured on the 155 example sites with a partly trained model:
  at most 9e-3 at 16 steps, 3e-4 at 32 (the default), 4e-7 at 64; the tests hold a toy to
  2e-3). But the packaged default model (bidirectional GRU, 22:22 build) is rough along the
  path (slopes up to ~2000 at small embedding scales): there the gap is often > 0.1 even at
  512 steps. ``pairs.tsv`` reports the gap per pair. Padding and N positions have zero
  embedding in input and baseline, so their attribution is exactly 0.

A CTS whose length differs from the model's window is aligned at its 3' end as dt-predict
does (the last ``L`` nt kept, N-padded on the 5' side).

Outputs (:func:`write_outputs`) go to a temporary directory renamed into place at the end:
complete or absent.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from .duplex import ClassicDuplex, Duplex, classic, duplex
from .errors import InputError
from .io import check_mirna_seq, check_target_seq, iter_tsv, parse_decimal
from .seq import MIN_CTS_NT, batch_slices, encode_batch
from .sites import best_site_types

log = logging.getLogger("deeptarget")

METHODS = ("ig", "gradxinput")
DEFAULT_STEPS = 32
DEFAULT_BATCH_SIZE = 4096
MAX_CTS_NT = 100  # longer "CTS" are whole UTRs: scan them with dt-scan-cts first
DIGITS = 6
PAIR_WEIGHT = {"WC": 1.0, "GU": 0.5}
SEED_NT = (2, 8)  # miRNA nt 2-8, 1-based inclusive


# --------------------------------------------------------------------------- inputs


@dataclass
class ExplainPair:
    """One miRNA/CTS pair to explain (sequences normalised: upper-case RNA)."""

    mirna_id: str
    mirna_seq: str
    mrna_id: str
    cts_seq: str
    site_type: str = ""
    site_start: str = ""
    site_end: str = ""
    input_score: float | None = None
    source: str = ""
    line: int | None = None


def window_of(cts: str, length: int) -> str:
    """The CTS as the model reads it: 3'-aligned, cut or N-padded on the 5' side."""
    return cts[-length:].rjust(length, "N")


def _check_cts(seq: str, what: str, path: str | None, line: int | None) -> str:
    s = check_target_seq(seq, what, path, line)
    if len(s) < MIN_CTS_NT:
        raise InputError(f"{what} '{seq}' is {len(s)} nt; a CTS needs at least {MIN_CTS_NT} nt (a seed match)", path, line)
    if len(s) > MAX_CTS_NT:
        raise InputError(f"{what} is {len(s)} nt (a whole UTR?); explain takes CTS windows: run dt-scan-cts first", path, line)
    return s


def pairs_from_sequences(
    mirna_seqs: Sequence[str], cts_seqs: Sequence[str], labels: tuple[str, str] = ("miRNA sequence", "CTS sequence")
) -> list[ExplainPair]:
    """Pairs given as sequences (matched in order); a bad one is named by its label and number
    (``labels``: what the caller calls the miRNA and the CTS sequences)."""
    if len(mirna_seqs) != len(cts_seqs):
        raise InputError(
            f"give as many CTS sequences ({len(cts_seqs)}) as miRNA sequences ({len(mirna_seqs)}): they pair in order"
        )
    out = []
    for i, (m, c) in enumerate(zip(mirna_seqs, cts_seqs), start=1):
        out.append(
            ExplainPair(
                mirna_id=f"mirna_{i}",
                mirna_seq=check_mirna_seq(m, f"{labels[0]} #{i}", None, None),
                mrna_id=f"cts_{i}",
                cts_seq=_check_cts(c, f"{labels[1]} #{i}", None, None),
                source="command line",
            )
        )
    return out


def iter_table_pairs(
    path: str | os.PathLike,
    mirnas: dict[str, str] | None = None,
    mirna_fasta_name: str | None = None,
) -> Iterator[list[ExplainPair]]:
    """Stream a site table (dt-scan-cts), prediction table (dt-predict: + ``score``) or
    site-level pair table (``mirna_seq``/``mrna_seq``) as chunks of :class:`ExplainPair`.

    miRNA sequences come from ``mirnas`` (an id -> sequence map read from ``--mirna``) or
    else from a ``mirna_seq`` column; a missing id is an InputError naming table, line and
    FASTA.
    """
    for table in iter_tsv(path, ("mirna_id", "mrna_id")):
        cols = table.columns
        if "cts_seq" in cols:
            ci = cols.index("cts_seq")
        elif "mrna_seq" in cols:
            ci = cols.index("mrna_seq")
        else:
            raise InputError("no cts_seq (site table) or mrna_seq (pair table) column", table.path, 1)
        mi = cols.index("mirna_seq") if "mirna_seq" in cols else -1
        if mirnas is None and mi < 0:
            raise InputError("the table has no mirna_seq column: give the miRNA sequences as a FASTA", table.path, 1)
        idx = {c: cols.index(c) for c in ("mirna_id", "mrna_id", "site_type", "site_start", "site_end", "score") if c in cols}
        chunk = []
        for row, line in zip(table.rows, table.lines):
            mid = row[idx["mirna_id"]].strip()
            tid = row[idx["mrna_id"]].strip()
            if not mid or not tid:
                raise InputError("empty mirna_id or mrna_id", table.path, line)
            mseq = row_mirna(mid, row[mi] if mi >= 0 else None, mirnas, mirna_fasta_name, table.path, line)
            score = row_score(row[idx["score"]], table.path, line) if "score" in idx else None
            chunk.append(
                ExplainPair(
                    mirna_id=mid,
                    mirna_seq=mseq,
                    mrna_id=tid,
                    cts_seq=_check_cts(row[ci], cols[ci], table.path, line),
                    site_type=row[idx["site_type"]] if "site_type" in idx else "",
                    site_start=row[idx["site_start"]] if "site_start" in idx else "",
                    site_end=row[idx["site_end"]] if "site_end" in idx else "",
                    input_score=score,
                    source=table.path,
                    line=line,
                )
            )
        yield chunk


def row_mirna(mirna_id: str, seq: str | None, mirnas: dict[str, str] | None, fasta: str | None, path: str, line: int) -> str:
    """A table row's miRNA sequence: from the FASTA's ``mirnas`` (when given) or the row's
    mirna_seq field; InputError naming the table line when the FASTA lacks the id."""
    if mirnas is not None:
        if mirna_id not in mirnas:
            raise InputError(f"miRNA '{mirna_id}' is not in the miRNA FASTA {fasta or ''}".rstrip(), path, line)
        return mirnas[mirna_id]
    return check_mirna_seq(seq or "", "mirna_seq", path, line)


def row_score(text: str, path: str, line: int) -> float:
    """A table row's score: a finite number, else InputError naming the line."""
    text = text.strip()
    try:
        score = parse_decimal(text)
    except ValueError:
        score = math.nan
    if not math.isfinite(score):
        raise InputError(f"score '{text}' is not a finite number", path, line)
    return score


def top_pairs(
    chunks: Iterable[list[ExplainPair]],
    n: int,
    score_fn: Callable[[list[ExplainPair]], np.ndarray] | None = None,
) -> list[ExplainPair]:
    """The ``n`` best-scoring pairs, best first; ties keep input order (earlier row first).

    Scores are the table's ``score`` column, or ``score_fn(chunk)`` (the model) for a table
    without one. Streams: holds only ``n`` pairs besides the current chunk.
    """
    if n < 1:
        raise ValueError("n must be >= 1")
    heap: list[tuple[float, int, ExplainPair]] = []  # min-heap on (score, -order)
    order = 0
    for chunk in chunks:
        if not chunk:
            continue
        if chunk[0].input_score is None:
            if score_fn is None:
                raise InputError("choosing the best-scoring rows needs a score column (a dt-predict table)", chunk[0].source, 1)
            scores = np.asarray(score_fn(chunk), dtype=np.float64)
        else:
            scores = np.array([p.input_score for p in chunk], dtype=np.float64)
        for pair, s in zip(chunk, scores.tolist()):
            key = (s, -order)
            if len(heap) < n:
                heapq.heappush(heap, (key, order, pair))
            elif key > heap[0][0]:
                heapq.heapreplace(heap, (key, order, pair))
            order += 1
    return [p for _, _, p in sorted(heap, key=lambda t: t[0], reverse=True)]


# --------------------------------------------------------------------------- duplex


def binding_indicator(dup: Duplex, mirna_length: int, length: int) -> np.ndarray:
    """Per interaction step i: mean of the pair weights of miRNA nt i+1 and CTS nt L-i."""
    m = np.zeros(length)
    c = np.zeros(length)
    for mi, ti, kind in dup.pairs:
        w = PAIR_WEIGHT.get(kind, 0.0)
        if mi < length:
            m[mi] = w
        c[length - 1 - ti] = w
    return (m + c) / 2


def best_unit(activations: np.ndarray, indicator: np.ndarray) -> tuple[int | None, float]:
    """(unit, r): the unit (0-based) whose activation over the steps has the largest
    |Pearson r| with the indicator; (None, nan) when the indicator is constant."""
    x = indicator - indicator.mean()
    sx = math.sqrt(float(x @ x))
    if sx == 0:
        return None, math.nan
    a = activations - activations.mean(axis=0, keepdims=True)
    sa = np.sqrt((a * a).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(sa > 0, (x @ a) / (sx * np.where(sa > 0, sa, 1.0)), 0.0)
    unit = int(np.argmax(np.abs(r)))
    return unit, float(r[unit])


# --------------------------------------------------------------------------- model side


@dataclass
class Explanation:
    pair: ExplainPair
    window: str  # the CTS window the model reads (L letters, 5'->3')
    score: float
    layer: int  # 0-based layer of the interaction RNN shown
    activations: np.ndarray  # (L, units): step x unit
    mirna_attr: np.ndarray  # (L,): miRNA nt i+1 (0 past the miRNA)
    cts_attr: np.ndarray  # (L,): CTS window nt i+1 (5'->3')
    duplex: Duplex
    binding: np.ndarray  # (L,) per step
    unit: int | None
    unit_r: float
    baseline: float  # the pair's IG baseline score (all-padding input, the pair's site offset)
    classic: ClassicDuplex | None = None  # the duplex drawn as biologists read it (same alignment)

    @property
    def attribution_sum(self) -> float:
        return float(self.mirna_attr.sum() + self.cts_attr.sum())

    @property
    def duplex_header(self) -> str:
        """Where the duplex sits: the site's position in the UTR when the input gave it,
        else the span of the CTS window the duplex covers."""
        p = self.pair
        kind = f" ({p.site_type})" if p.site_type else ""
        if p.site_start:
            return f"Position {p.site_start}-{p.site_end} of {p.mrna_id}{kind}"
        c = self.classic
        if c is None or c.target_first is None:
            return f"{p.mrna_id}{kind}"
        return f"CTS window nt {c.target_first + 1}-{c.target_last + 1} of {p.mrna_id}{kind}"

    def duplex_text(self) -> str:
        """The classic duplex as pasteable text (header line first)."""
        return self.classic.text(self.duplex_header) if self.classic is not None else ""


def _prob_from_embeddings(model, m_emb, c_emb, pairing=None, site_type=None):
    """Score from nucleotide embeddings (CTS embeddings 5'->3', as on the target) and, for
    models with pairing channels, the (B, L, K) channels (zero at the baseline); ``site_type``:
    (B,) site-type indexes for a model with a site prior (None otherwise)."""
    return _target_prob(model, _logits_from_embeddings(model, m_emb, c_emb, pairing), site_type)


def _logits_from_embeddings(model, m_emb, c_emb, pairing=None):
    """(B, 2) network logits from nucleotide embeddings (see _prob_from_embeddings)."""
    return model.classify_embedded(m_emb, c_emb, pairing)


def _target_prob(model, logits, site_type=None):
    """(B, 2) network logits and (B,) site-type indexes (array, tensor or None) -> P(target),
    with the model's site-type offsets (model.DeepTarget.target_logit)."""
    import torch

    if site_type is not None:
        site_type = torch.as_tensor(site_type, device=logits.device)
    return torch.sigmoid(model.target_logit(logits, site_type))


def _split_pairing_attr(model, attr_pairing: np.ndarray, out_m: np.ndarray, out_c: np.ndarray) -> None:
    """Credit each pairing channel's attribution half to the miRNA nt and half to the CTS nt
    it pairs (step i, offset k: miRNA index i, CTS 5'->3' index L-1-(i+k)); keeps completeness."""
    L = out_m.shape[1]
    for j, k in enumerate(model.config.pairing_offsets):
        half = attr_pairing[:, : L - k, j] / 2
        out_m[:, : L - k] += half
        out_c[:, L - 1 - k :: -1][:, : L - k] += half


def baseline_score(model, device="cpu", site_type: int | None = None) -> float:
    """Score of the all-padding input (both embeddings zero), with the offset of
    ``site_type`` for a model with a site prior (None: without it): the IG baseline."""
    import torch

    L, E = model.config.cts_length, model.config.embedding_dim
    with torch.no_grad():
        z = torch.zeros(1, L, E, device=device)
        logits = _logits_from_embeddings(model, z, z)
        if site_type is None:  # the network alone, also for a model with a prior
            return float(torch.sigmoid(logits[:, 1] - logits[:, 0])[0])
        return float(_target_prob(model, logits, [site_type])[0])


def pair_site_types(model, mirna_seqs: Sequence[str], windows: Sequence[str]) -> np.ndarray | None:
    """(B,) each pair's best seed-match type in its window, for a model with a site prior
    (None for a model without one: the types are not needed)."""
    if not model.config.site_prior:
        return None
    return best_site_types(list(mirna_seqs), list(windows), model.config.cts_length)[0]


def score_codes(
    model,
    mirna_codes: np.ndarray,
    cts_codes: np.ndarray,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device="cpu",
    site_types: np.ndarray | None = None,
) -> np.ndarray:
    """P(target) of encoded pairs; ``site_types``: see :func:`pair_site_types`."""
    import torch

    out = []
    with torch.no_grad():
        for b in batch_slices(len(mirna_codes), batch_size):
            m = torch.as_tensor(mirna_codes[b], device=device)
            c = torch.as_tensor(cts_codes[b], device=device)
            t = None if site_types is None else site_types[b]
            out.append(_target_prob(model, model(m, c), t).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def encode_pairs(pairs: Sequence[ExplainPair], length: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    windows = [window_of(p.cts_seq, length) for p in pairs]
    return windows, encode_batch([p.mirna_seq for p in pairs], length), encode_batch(windows, length)


def model_scores(model, pairs: Sequence[ExplainPair], batch_size: int = DEFAULT_BATCH_SIZE, device="cpu") -> np.ndarray:
    """The model's scores of pairs (for ``--top`` on a table without a score column)."""
    windows, m, c = encode_pairs(pairs, model.config.cts_length)
    return score_codes(model, m, c, batch_size, device, pair_site_types(model, [p.mirna_seq for p in pairs], windows))


def attributions(
    model,
    mirna_codes: np.ndarray,
    cts_codes: np.ndarray,
    method: str = "ig",
    steps: int = DEFAULT_STEPS,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device="cpu",
    site_types: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-nucleotide attributions of the score: ((B, L) miRNA, (B, L) CTS 5'->3').
    ``site_types`` (:func:`pair_site_types`): the pairs' site-type offsets are held fixed
    along the path.

    ``ig``: integrated gradients from the zero-embedding baseline, Gauss-Legendre with
    ``steps`` nodes, ``batch_size // steps`` pairs per backward pass. ``gradxinput``:
    embedding x gradient at the input. Both summed over the embedding dimensions.
    """
    import torch

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if method == "ig":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        alphas = torch.tensor((nodes + 1) / 2, dtype=torch.float32, device=device)
        wts = torch.tensor(weights / 2, dtype=torch.float32, device=device)
    else:
        steps = 1
        alphas = torch.ones(1, device=device)
        wts = torch.ones(1, device=device)
    S = len(alphas)
    chunk = max(1, batch_size // S)
    B, L = mirna_codes.shape
    out_m = np.zeros((B, L), dtype=np.float64)
    out_c = np.zeros((B, L), dtype=np.float64)
    m_embed = model.mirna_ae.embedding
    c_embed = model.cts_ae.embedding
    # cuDNN RNNs refuse backward in eval mode; the plain kernels compute the same function.
    with torch.backends.cudnn.flags(enabled=False):
        for sl in batch_slices(B, chunk):
            s = sl.start
            m_codes = torch.as_tensor(mirna_codes[sl], device=device).long()
            c_codes = torch.as_tensor(cts_codes[sl], device=device).long()
            b = m_codes.shape[0]
            with torch.no_grad():
                xm = m_embed(m_codes)  # (b, L, E); baseline is zero
                xc = c_embed(c_codes)
            a = alphas.view(1, S, 1, 1)
            t = None if site_types is None else torch.as_tensor(site_types[s : s + b], device=device).repeat_interleave(S)
            pm = (a * xm.unsqueeze(1)).reshape(b * S, L, -1).requires_grad_(True)
            pc = (a * xc.unsqueeze(1)).reshape(b * S, L, -1).requires_grad_(True)
            xp = model.pairing(m_codes, c_codes)  # None for the paper's network
            if xp is None:
                prob = _prob_from_embeddings(model, pm, pc, site_type=t)
                gm, gc = torch.autograd.grad(prob.sum(), (pm, pc))
            else:
                pp = (a * xp.unsqueeze(1)).reshape(b * S, L, -1).requires_grad_(True)
                prob = _prob_from_embeddings(model, pm, pc, pp, site_type=t)
                gm, gc, gp = torch.autograd.grad(prob.sum(), (pm, pc, pp))
            w = wts.view(1, S, 1, 1)
            gm = (gm.reshape(b, S, L, -1) * w).sum(dim=1)
            gc = (gc.reshape(b, S, L, -1) * w).sum(dim=1)
            out_m[s : s + b] = (gm * xm).sum(dim=2).double().cpu().numpy()
            out_c[s : s + b] = (gc * xc).sum(dim=2).double().cpu().numpy()
            if xp is not None:
                gp = (gp.reshape(b, S, L, -1) * w).sum(dim=1)
                _split_pairing_attr(model, (gp * xp).double().cpu().numpy(), out_m[s : s + b], out_c[s : s + b])
    return out_m, out_c


def interaction_activations(
    model,
    mirna_codes: np.ndarray,
    cts_codes: np.ndarray,
    layer: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device="cpu",
    site_types: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """((B, L, units) activations of one interaction layer, (B,) scores)."""
    import torch

    acts, scores = [], []
    with torch.no_grad():
        for b in batch_slices(len(mirna_codes), batch_size):
            m = torch.as_tensor(mirna_codes[b], device=device)
            c = torch.as_tensor(cts_codes[b], device=device)
            ms, cs, ps = model.encode_mirna(m), model.encode_cts(c), model.pairing(m, c)
            acts.append(model.interaction_states(ms, cs, ps)[layer].float().cpu().numpy())
            t = None if site_types is None else site_types[b]
            scores.append(_target_prob(model, model.classify(ms, cs, ps), t).float().cpu().numpy())
    if not acts:
        units = model.interaction[layer].hidden_size * (2 if model.config.bidirectional else 1)
        return np.zeros((0, model.config.cts_length, units), np.float32), np.zeros(0, np.float32)
    return np.concatenate(acts), np.concatenate(scores)


def resolve_layer(model, layer: int | None) -> int:
    """1-based ``--layer`` (None = last) -> 0-based index; InputError when out of range."""
    n = len(model.interaction)
    if layer is None:
        return n - 1
    if not 1 <= layer <= n:
        raise InputError(f"{{option}} {layer}: the model's interaction RNN has {n} layer(s)", option="layer")
    return layer - 1


def explain(
    model,
    pairs: Sequence[ExplainPair],
    method: str = "ig",
    steps: int = DEFAULT_STEPS,
    layer: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device="cpu",
) -> list[Explanation]:
    """Activations, attributions, duplex and marked unit of every pair (batched)."""
    L = model.config.cts_length
    li = resolve_layer(model, layer)
    windows, m_codes, c_codes = encode_pairs(pairs, L)
    types = pair_site_types(model, [p.mirna_seq for p in pairs], windows)
    acts, scores = interaction_activations(model, m_codes, c_codes, li, batch_size, device, types)
    attr_m, attr_c = attributions(model, m_codes, c_codes, method, steps, batch_size, device, types)
    # one baseline per site type (the network alone without a prior)
    baselines = {t: baseline_score(model, device, t) for t in ([None] if types is None else set(types.tolist()))}
    out = []
    for k, pair in enumerate(pairs):
        dup = duplex(pair.mirna_seq, windows[k])
        ind = binding_indicator(dup, len(pair.mirna_seq), L)
        unit, r = best_unit(acts[k].astype(np.float64), ind)
        out.append(
            Explanation(
                pair,
                windows[k],
                float(scores[k]),
                li,
                acts[k],
                attr_m[k],
                attr_c[k],
                dup,
                ind,
                unit,
                r,
                baselines[None if types is None else int(types[k])],
                classic(pair.mirna_seq, windows[k], dup),
            )
        )
    return out
