#!/usr/bin/env python3
"""Benchmark dt-predict on many miRNAs with few sites each: 30,000 miRNAs x one 5-kb UTR.

The case that per-miRNA overhead dominates (issue 19): random 22-nt miRNAs (fixed seed,
ACGU uniform) and one AU-rich 5,000-nt UTR, scanned and scored by the real command line
(`dt-predict --mirna --utr`, site table to -o, gene rows to --gene-output). Wall time, CPU
seconds and peak RSS of the child are reported, for the gene model (the default aggregate)
and for --aggregate max.

    .venv/bin/python bench/many_mirnas.py [--mirnas 30000] [--utr-nt 5000] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "bench"))
from scan import run_child  # noqa: E402


def make_inputs(n_mirnas: int, utr_nt: int, seed: int = 1) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    letters = np.array(list("ACGU"))
    mirna = OUT / f"many_mirnas_{n_mirnas}.fa"
    with open(mirna, "w") as fh:
        for i in range(n_mirnas):
            fh.write(f">mir{i:06d}\n{''.join(rng.choice(letters, 22))}\n")
    utr = OUT / f"one_utr_{utr_nt}.fa"
    seq = "".join(rng.choice(letters, utr_nt, p=[0.3, 0.2, 0.2, 0.3]))
    utr.write_text(f">utr1\n{seq}\n")
    return mirna, utr


def count_rows(path: Path) -> int:
    with open(path) as fh:
        return sum(1 for _ in fh) - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirnas", type=int, default=30_000)
    ap.add_argument("--utr-nt", type=int, default=5_000)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    mirna, utr = make_inputs(args.mirnas, args.utr_nt)
    rows = []
    for aggregate in ("model", "max"):
        sites_out, genes_out = OUT / "many_sites.tsv", OUT / "many_genes.tsv"
        cmd = [str(BIN / "dt-predict"), "--mirna", str(mirna), "--utr", str(utr), "-p", str(args.threads)]
        cmd += ["--aggregate", aggregate, "-o", str(sites_out), "--gene-output", str(genes_out), "-q"]
        wall, rss, _, cpu = run_child(cmd)
        n = count_rows(sites_out)
        rows.append(
            {
                "aggregate": aggregate,
                "mirnas": args.mirnas,
                "cts": n,
                "gene_rows": count_rows(genes_out),
                "wall_s": round(wall, 2),
                "cts_per_s": round(n / wall),
                "cpu_s": round(cpu, 2),
                "peak_rss_mb": round(rss),
                "load": round(os.getloadavg()[0], 2),
            }
        )
    (OUT / "many_mirnas.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(json.dumps(rows, indent=2))
    print("| aggregate | miRNAs | CTS | wall (s) | CTS/s | CPU (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['aggregate']} | {r['mirnas']:,} | {r['cts']:,} | {r['wall_s']} | {r['cts_per_s']:,} | {r['cpu_s']} | {r['peak_rss_mb']} |"
        )


if __name__ == "__main__":
    main()
