"""Inference engines for the site network, measured against the suite's fused GRU loop
(issue 19; compiled by TorchScript, and run as Python): ONNX Runtime, torch.compile, int8
dynamic quantization and plain eager PyTorch,
on the same network (the packaged default), the same CTSs and the same batch size.

Every engine computes the network's log-odds for (miRNA, CTS) pairs from the miRNA's cached
encoder states (as dt-predict does: each miRNA is encoded once), so the comparison is the
CTS side plus the interaction RNN and the classifier: what dominates dt-predict's time.
Scores are compared as probabilities (sigmoid of the log-odds; the site prior adds the same
offset to all engines and is left out) with the eager network as the reference.

    .venv/bin/python bench/inference_engines.py [--n 50000] [--threads 2] [--rounds 3]

Needs onnxruntime and onnx (pip install onnxruntime onnx; not dependencies of the suite).
Time is the best of --rounds passes (the host is shared); CTS/s = n / time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deeptarget_core.model import load_model  # noqa: E402
from deeptarget_core.scorers import NeuralScorer  # noqa: E402
from deeptarget_core.seq import encode_batch  # noqa: E402


class Head(nn.Module):
    """The network after the miRNA encoder: (miRNA states, miRNA codes, CTS codes) -> log-odds."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, mirna_states, mirna_codes, cts_codes):
        n = self.net
        logits = n.classify(mirna_states, n.encode_cts(cts_codes), n.pairing(mirna_codes, cts_codes))
        return logits[:, 1] - logits[:, 0]


def data(n: int, L: int, n_mirnas: int = 200, seed: int = 1):
    rng = np.random.default_rng(seed)
    mirnas = ["".join(rng.choice(list("ACGU"), 22)) for _ in range(n_mirnas)]
    idx = rng.integers(0, n_mirnas, n)
    cts = rng.integers(1, 5, size=(n, L)).astype(np.uint8)
    return mirnas, idx, cts


def timed(fn, rounds: int) -> tuple[float, np.ndarray]:
    best, out = float("inf"), None
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=2048)
    args = ap.parse_args()
    torch.manual_seed(0)
    net, _ = load_model(None)
    net.eval()
    L = net.config.cts_length
    mirnas, idx, cts = data(args.n, L)
    mcodes_all = torch.from_numpy(encode_batch(mirnas, L).astype(np.int64))
    with torch.inference_mode():
        mstates_all = net.encode_mirna(mcodes_all)  # (K, L, H)
    cts_t = torch.from_numpy(cts.astype(np.int64))
    idx_t = torch.from_numpy(idx)
    bs = args.batch_size
    bounds = [(a, min(args.n, a + bs)) for a in range(0, args.n, bs)]
    rows = []

    def run_torch(module, threads):
        torch.set_num_threads(threads)

        def go():
            out = np.empty(args.n)
            with torch.inference_mode():
                for a, b in bounds:
                    i = idx_t[a:b]
                    out[a:b] = module(mstates_all[i], mcodes_all[i], cts_t[a:b]).double().numpy()
            return out

        return go

    head = Head(net).eval()
    t_eager, ref = timed(run_torch(head, args.threads), args.rounds)
    p_ref = 1 / (1 + np.exp(-ref))
    rows.append(("eager PyTorch (torch threads)", t_eager, 0.0))

    # the suite's fused path: NeuralScorer(fast=True), `threads` workers of one torch thread
    scorer = NeuralScorer(net, batch_size=bs, fast=True, threads=args.threads)
    scorer.site_offsets = None  # compare the network alone
    t_fused, p_fused = timed(lambda: scorer.score(mirnas, idx, cts, None), args.rounds)
    rows.append(("fused GRU loop compiled by TorchScript (dt-predict today)", t_fused, float(np.abs(p_fused - p_ref).max())))

    # the same loop run as Python: the fallback where TorchScript is missing, and how it ran before
    from deeptarget_core import fused_gru

    compiled = dict(fused_gru._LOOPS)
    fused_gru._LOOPS.update({n: getattr(fused_gru, n) for n in fused_gru._LOOP_NAMES})
    t_python, p_python = timed(lambda: scorer.score(mirnas, idx, cts, None), args.rounds)
    fused_gru._LOOPS.clear()
    fused_gru._LOOPS.update(compiled)
    rows.append(("the same fused loop run as Python", t_python, float(np.abs(p_python - p_ref).max())))

    try:
        import onnxruntime as ort

        path = ROOT / "bench" / "out" / "head.onnx"
        path.parent.mkdir(parents=True, exist_ok=True)
        i = idx_t[:bs]
        torch.onnx.export(
            head,
            (mstates_all[i], mcodes_all[i], cts_t[:bs]),
            str(path),
            dynamo=False,
            input_names=["mirna_states", "mirna_codes", "cts_codes"],
            output_names=["logit"],
            dynamic_axes={"mirna_states": {0: "b"}, "mirna_codes": {0: "b"}, "cts_codes": {0: "b"}, "logit": {0: "b"}},
            opset_version=17,
        )
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        ms, mc, ct = mstates_all.numpy(), mcodes_all.numpy(), cts.astype(np.int64)

        def go_ort():
            out = np.empty(args.n)
            for a, b in bounds:
                ii = idx[a:b]
                out[a:b] = sess.run(None, {"mirna_states": ms[ii], "mirna_codes": mc[ii], "cts_codes": ct[a:b]})[0]
            return out

        t_ort, z = timed(go_ort, args.rounds)
        rows.append(
            (f"ONNX Runtime {ort.__version__} (intra-op threads)", t_ort, float(np.abs(1 / (1 + np.exp(-z)) - p_ref).max()))
        )
    except Exception as exc:  # noqa: BLE001  (a bench reports what failed)
        rows.append((f"ONNX Runtime: failed ({type(exc).__name__}: {str(exc)[:80]})", float("nan"), float("nan")))

    try:
        quant = torch.ao.quantization.quantize_dynamic(Head(net).eval(), {nn.GRU, nn.Linear}, dtype=torch.qint8)
        t_q, z = timed(run_torch(quant, args.threads), args.rounds)
        rows.append(("int8 dynamic quantization (GRU + Linear)", t_q, float(np.abs(1 / (1 + np.exp(-z)) - p_ref).max())))
    except Exception as exc:  # noqa: BLE001
        rows.append((f"int8 dynamic quantization: failed ({type(exc).__name__}: {str(exc)[:80]})", float("nan"), float("nan")))

    try:
        compiled = torch.compile(Head(net).eval(), dynamic=True)
        t0 = time.perf_counter()
        run_torch(compiled, args.threads)()  # compile (not timed below)
        t_compile = time.perf_counter() - t0
        t_c, z = timed(run_torch(compiled, args.threads), args.rounds)
        rows.append(
            (f"torch.compile (inductor; first call {t_compile:.0f} s)", t_c, float(np.abs(1 / (1 + np.exp(-z)) - p_ref).max()))
        )
    except Exception as exc:  # noqa: BLE001
        rows.append((f"torch.compile: failed ({type(exc).__name__}: {str(exc)[:80]})", float("nan"), float("nan")))

    print(
        f"| engine ({args.n:,} CTS, batch {bs}, {args.threads} threads, best of {args.rounds}) | CTS/s | max abs. score difference to eager |"
    )
    print("|---|---|---|")
    for name, t, d in rows:
        print(f"| {name} | {args.n / t:,.0f} | {d:.1e} |" if t == t else f"| {name} | - | - |")


if __name__ == "__main__":
    main()
