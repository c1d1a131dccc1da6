#!/usr/bin/env python3
"""Benchmark dt-predict end to end on a site table of about 1.5 million CTS.

The site table is dt-scan-cts output for all human miRNAs (miRBase 22.1) against the
synthetic 3'UTRome of bench/scan.py (AU-rich, log-normal lengths, fixed seed), cut to
--cts rows. dt-predict then runs as the real command line in a child process (site table
-> scores + gene-level output, both to files), and wall time and peak RSS are reported: once
with the gene rows by --aggregate max, once by the default gene model (which reads the UTRs).

The model: the packaged default when present, else a random-weight network of the default
architecture (same cost: speed does not depend on the weights), made with a fixed seed.
CPU seconds (user + sys) of the child are reported too: on a shared machine wall time
depends on the other load, CTS per CPU-second much less.
The eager path (--exact) is timed on a 50,000-row slice for comparison, and the scores of
the fast path are checked against it (max |difference| reported; tolerance 1e-5).

    .venv/bin/python bench/predict.py              # 1.5 M CTS, 2 threads
    .venv/bin/python bench/predict.py --cts 200000 # quick
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from scan import make_utrome, run_child, scan_rows  # noqa: E402  (one child-process timer for all benches)


def make_sites(path: Path, n_rows: int, mnt: float) -> int:
    utr = OUT / f"utrome_{mnt:g}M.fa.gz"
    if not utr.exists():
        make_utrome(utr, mnt)
    return scan_rows(path, SHARED / "miRBase" / "hsa_mature_v22.1.fa", utr, n_rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cts", type=int, default=1_500_000)
    ap.add_argument("--mnt", type=float, default=3.0, help="UTRome size for the scan (million nt)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=2048)
    ap.add_argument("--model", default=None, help="checkpoint (default: packaged, else a random one)")
    ap.add_argument(
        "--aggregate",
        default="both",
        choices=["both", "max", "model"],
        help="gene output: max (the best site; the figure issue 19's bar is set on), model (the "
        "default gene model, which reads the UTRs with --utr), or both runs (default)",
    )
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    from deeptarget_core.model import DEFAULT_MODEL_PATH, CheckpointInfo, DeepTarget, ModelConfig, save_checkpoint

    model = args.model
    if model is None:
        if DEFAULT_MODEL_PATH.exists():
            model = str(DEFAULT_MODEL_PATH)
        else:
            import torch

            torch.manual_seed(0)
            net = DeepTarget(ModelConfig()).eval()
            model = str(OUT / "random_model.pt")
            save_checkpoint(model, net, CheckpointInfo(kind="classifier", config=net.config, seed=0))
    sites_path = OUT / f"predict_sites_{args.cts}.tsv"
    if not sites_path.exists():
        n = make_sites(sites_path, args.cts, args.mnt)
    else:
        n = sum(1 for _ in open(sites_path)) - 1
    mirna = SHARED / "miRBase" / "hsa_mature_v22.1.fa"
    common = ["--mirna", str(mirna), "--model", model, "-p", str(args.threads), "--batch-size", str(args.batch_size)]
    runs = []
    for aggregate in ["max", "model"] if args.aggregate == "both" else [args.aggregate]:
        load_before = os.getloadavg()[0]
        wall, rss, _, cpu = run_child(
            [
                str(BIN / "dt-predict"),
                str(sites_path),
                *common,
                "-o",
                str(OUT / "predict_scores.tsv"),
                "--gene-output",
                str(OUT / "predict_genes.tsv"),
                "--aggregate",
                aggregate,
                *(["--utr", str(OUT / f"utrome_{args.mnt:g}M.fa.gz")] if aggregate == "model" else []),
            ]
        )
        runs.append((aggregate, wall, rss, cpu, load_before, os.getloadavg()[0]))

    # Eager path on a slice, and the fast path's agreement with it.
    slice_path = OUT / "predict_slice.tsv"
    with open(sites_path) as src, open(slice_path, "w") as dst:
        for i, line in enumerate(src):
            if i > 50_000:
                break
            dst.write(line)
    t_fast, _, _, _ = run_child([str(BIN / "dt-predict"), str(slice_path), *common, "-o", str(OUT / "slice_fast.tsv")])
    t_exact, _, _, _ = run_child(
        [str(BIN / "dt-predict"), str(slice_path), *common, "--exact", "-o", str(OUT / "slice_exact.tsv")]
    )
    import numpy as np

    fast = np.loadtxt(OUT / "slice_fast.tsv", skiprows=1, usecols=8, delimiter="\t")
    exact = np.loadtxt(OUT / "slice_exact.tsv", skiprows=1, usecols=8, delimiter="\t")
    diff = float(np.max(np.abs(fast - exact)))
    results = [
        {
            "cts": n,
            "model": Path(model).name,
            "threads": args.threads,
            "aggregate": aggregate,
            "batch_size": args.batch_size,
            "wall_s": round(wall, 1),
            "cts_per_s": round(n / wall),
            "peak_rss_mb": round(rss),
            "cpu_s": round(cpu, 1),
            "cts_per_cpu_s": round(n / cpu),
            "slice_cts": len(fast),
            "slice_fast_s": round(t_fast, 2),
            "slice_exact_s": round(t_exact, 2),
            "max_abs_diff_fast_vs_exact": diff,
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_after,
        }
        for aggregate, wall, rss, cpu, load_before, load_after in runs
    ]
    (OUT / "predict.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(
        "| gene output | CTS | threads | wall (s) | CTS/s | CTS per CPU-s | peak RSS (MB) | eager slice CTS/s | fast slice CTS/s | max diff | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['aggregate']} | {n:,} | {args.threads} | {r['wall_s']} | {r['cts_per_s']:,} | {r['cts_per_cpu_s']:,} | "
            f"{r['peak_rss_mb']:,} | {len(exact) / t_exact:,.0f} | {len(fast) / t_fast:,.0f} | {diff:.1e} | "
            f"{r['load_before']:.1f}/{r['load_after']:.1f} |"
        )


if __name__ == "__main__":
    main()
