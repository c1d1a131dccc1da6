#!/usr/bin/env python3
"""The GPU check of issue 19, as one prepared script: dt-predict and dt-train on --device cuda
beside --device cpu, with the CUDA-marked tests.

Needs no shared data (it runs on a lent GPU machine that has only the working tree): the
miRNAs are random 22-mers and the 3'UTRome is bench/scan.py's synthetic one, scanned by
dt-scan-cts and cut to --cts rows; the training table is synthetic too (positives carry an
8mer site where dt-scan-cts puts it, negatives are random windows).

    .venv/bin/python bench/gpu.py                       # 1.5 M CTS, 2,000 miRNAs, 2 CPU threads
    .venv/bin/python bench/gpu.py --cts 200000 --quick  # a short check

Reports CTS/s on each device, the largest score difference between them (the GPU computes the
eager network's float32 arithmetic in another order: a few 1e-6 are expected), the training
time of a few epochs on each device, and the pytest summary of `-m cuda`. Writes
bench/out/gpu.json. Without CUDA it says so and still runs the CPU half (to test the script).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from scan import make_utrome, run_child, scan_rows  # noqa: E402

COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}


def random_mirnas(path: Path, n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list("ACGU"), 22)) for _ in range(n)]
    path.write_text("".join(f">gpu_mir{i:05d}\n{s}\n" for i, s in enumerate(seqs)))
    return seqs


def training_table(path: Path, seqs: list[str], n: int, seed: int) -> None:
    """Site-level pairs: half with an 8mer (site end at window position 36), half random."""
    rng = np.random.default_rng(seed)
    rows = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel"]
    for i in range(n):
        m = seqs[i % len(seqs)]
        cts = list(rng.choice(list("ACGU"), 40))
        label = i % 2
        if label:
            site = "".join(COMP[c] for c in reversed(m[1:8])) + "A"  # nt 8..2 paired, A opposite nt 1
            cts[28:36] = site
        rows.append(f"gpu_mir{i % len(seqs):05d}\t{m}\tcts{i}\t{''.join(cts)}\t{label}")
    path.write_text("\n".join(rows) + "\n")


def predict(sites: Path, mirna: Path, device: str, threads: int, out: Path) -> tuple[float, float]:
    cmd = [str(BIN / "dt-predict"), str(sites), "--mirna", str(mirna), "--device", device, "-p", str(threads)]
    wall, rss, _, _ = run_child([*cmd, "--aggregate", "max", "--gene-output", str(out.with_suffix(".genes.tsv")), "-o", str(out)])
    return wall, rss


def train(train_tsv: Path, val_tsv: Path, device: str, epochs: int) -> float:
    t0 = time.perf_counter()
    cmd = [str(BIN / "dt-train"), "--train", str(train_tsv), "--val", str(val_tsv), "--no-pretrain", "--epochs", str(epochs)]
    subprocess.run([*cmd, "--device", device, "-o", str(OUT / f"gpu_train_{device}.pt"), "-q"], check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cts", type=int, default=1_500_000)
    ap.add_argument("--mirnas", type=int, default=2_000)
    ap.add_argument("--threads", type=int, default=2, help="CPU run's -p")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the pytest -m cuda run")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import torch

    cuda = torch.cuda.is_available()
    result: dict = {"cuda": cuda, "device_name": torch.cuda.get_device_name(0) if cuda else None}
    mirna = OUT / f"gpu_mirnas_{args.mirnas}.fa"
    seqs = random_mirnas(mirna, args.mirnas)
    utr = OUT / "utrome_3M.fa.gz"
    if not utr.exists():
        make_utrome(utr, 3.0)
    sites = OUT / f"gpu_sites_{args.cts}.tsv"
    n = scan_rows(sites, mirna, utr, args.cts)
    result["cts"] = n
    devices = ["cpu", "cuda"] if cuda else ["cpu"]
    scores = {}
    for device in devices:
        out = OUT / f"gpu_scores_{device}.tsv"
        wall, rss = predict(sites, mirna, device, args.threads, out)
        result[f"predict_{device}"] = {"wall_s": round(wall, 1), "cts_per_s": round(n / wall), "peak_rss_mb": round(rss)}
        scores[device] = np.loadtxt(out, skiprows=1, usecols=8, delimiter="\t")
    if cuda:
        result["max_abs_diff_cpu_vs_cuda"] = float(np.max(np.abs(scores["cpu"] - scores["cuda"])))
    train_tsv, val_tsv = OUT / "gpu_train.tsv", OUT / "gpu_val.tsv"
    training_table(train_tsv, seqs, 4000, seed=2)
    training_table(val_tsv, seqs, 1000, seed=3)
    for device in devices:
        result[f"train_{device}_s"] = round(train(train_tsv, val_tsv, device, args.epochs), 1)
    if not args.quick:
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-m", "cuda", str(ROOT / "tests")], capture_output=True, text=True, cwd=ROOT
        )
        result["pytest_cuda"] = (tests.stdout.strip().splitlines() or [""])[-1]
    (OUT / "gpu.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    if not cuda:
        print("no CUDA device here: only the CPU half ran")


if __name__ == "__main__":
    main()
