#!/usr/bin/env python3
"""Ablations of issue 9 with dt-train --cv K --group-by mirna on a seeded subsample of the
default training table (training-data/train.tsv from `make training-data`).

    .venv/bin/python bench/train.py [--n 6000] [--epochs 3] [--configs default,lstm,...]

Writes training-data/ablation/<config>.cv.tsv and prints one summary line per configuration
(mean +- sd of ROC-AUC and within-miRNA AUC over the folds) plus wall time.
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CONFIGS = {
    "default": ["--bidirectional"],
    "unidirectional": [],
    "lstm": ["--bidirectional", "--cell", "lstm"],
    "layers1": ["--bidirectional", "--layers", "1"],
    "layers3": ["--bidirectional", "--layers", "3"],
    "dropout0.0": ["--bidirectional", "--dropout", "0.0"],
    "dropout0.4": ["--bidirectional", "--dropout", "0.4"],
    "no-pretrain": ["--bidirectional", "--no-pretrain"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", type=Path, default=ROOT / "training-data" / "train.tsv")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--cv", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    out = ROOT / "training-data" / "ablation"
    out.mkdir(parents=True, exist_ok=True)
    lines = args.table.read_text().splitlines()
    rows = lines[1:]
    random.Random(1).shuffle(rows)
    sub = out / f"sub{args.n}.tsv"
    sub.write_text("\n".join([lines[0]] + rows[: args.n]) + "\n")
    for name in args.configs.split(","):
        extra = CONFIGS[name]
        cell = extra[extra.index("--cell") + 1] if "--cell" in extra else "gru"
        cmd = [
            str(BIN / "dt-train"),
            "--train",
            str(sub),
            "--cv",
            str(args.cv),
            "--group-by",
            "mirna",
            "--epochs",
            str(args.epochs),
            "--batch-size",
            "100",
            "--lr",
            "0.002",
            "--seed",
            "1",
            "-p",
            str(args.threads),
            "--device",
            "cpu",
            "-q",
            "-o",
            str(out / f"{name}.cv.tsv"),
            *extra,
        ]
        if "--no-pretrain" not in extra:
            ae = out / f"ae_{cell}.pt"
            if not ae.exists():
                subprocess.run(
                    [
                        str(BIN / "dt-pretrain"),
                        "--pairs",
                        str(sub),
                        "--cell",
                        cell,
                        "--epochs",
                        "2",
                        "--seed",
                        "1",
                        "-p",
                        str(args.threads),
                        "--device",
                        "cpu",
                        "-q",
                        "-o",
                        str(ae),
                    ],
                    check=True,
                )
            cmd += ["--pretrained", str(ae)]
        t0 = time.time()
        subprocess.run(cmd, check=True)
        with open(out / f"{name}.cv.tsv") as f:
            res = {r["fold"]: r for r in csv.DictReader(f, delimiter="\t")}
        m, s = res["mean"], res["sd"]
        print(
            f"{name}\tROC-AUC {float(m['roc_auc']):.3f}+-{float(s['roc_auc']):.3f}\twithin-miRNA "
            f"{float(m['within_mirna_auc']):.3f}+-{float(s['within_mirna_auc']):.3f}\tF {float(m['f_measure']):.3f}\t"
            f"{time.time() - t0:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
