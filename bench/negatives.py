#!/usr/bin/env python3
"""Benchmark dt-make-negatives: negatives for 10,000 positives with 2 kb targets.

Positives: 10,000 (miRNA, 3'UTR) pairs; the miRNAs are drawn (fixed seed) from the human
mature miRNAs of miRBase 22.1 (../shared/data, random 22-mers when absent), each target is
a synthetic 2,000-nt AU-rich UTR (no public UTR set is available offline). The real command
line runs in a child process, with all of miRBase 22.1 as the seed reference (when present),
ratio 1, default --min-score 140; wall time, peak RSS and the number of negatives made are
reported, with the machine load. The slow pure-Python aligner of the tests is timed on a few
pairs and extrapolated, to show what the C aligner saves.

    .venv/bin/python bench/negatives.py              # 10,000 positives x 2 kb
    .venv/bin/python bench/negatives.py --n 1000     # quick
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out"


def human_mirnas(rng: np.random.Generator) -> list[tuple[str, str]]:
    path = SHARED / "miRBase" / "hsa_mature_v22.1.fa"
    if path.exists():
        lines = path.read_text().splitlines()
        return [(h[1:].split()[0], s) for h, s in zip(lines[::2], lines[1::2])]
    letters = np.array(list("ACGU"))
    return [(f"bench-miR-{i}", "".join(rng.choice(letters, 22))) for i in range(500)]


def make_positives(path: Path, n: int, length: int, seed: int = 1) -> int:
    rng = np.random.default_rng(seed)
    mirnas = human_mirnas(rng)
    letters = np.frombuffer(b"ACGU", dtype=np.uint8)
    picks = rng.integers(0, len(mirnas), size=n)
    with open(path, "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
        for i, k in enumerate(picks.tolist()):
            mid, mseq = mirnas[k]
            utr = letters[rng.choice(4, size=length, p=[0.29, 0.21, 0.21, 0.29])].tobytes().decode()
            f.write(f"{mid}\t{mseq}\tbench_utr{i:06d}\t{utr}\t1\n")
    return len({mirnas[k][0] for k in picks.tolist()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000, help="positives")
    ap.add_argument("--length", type=int, default=2_000, help="target length (nt)")
    ap.add_argument("--min-score", type=float, default=140.0)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    pos = OUT / f"negatives_positives_{args.n}x{args.length}.tsv"
    n_mirnas = make_positives(pos, args.n, args.length)
    load_before = os.getloadavg()[0]
    cmd = [
        str(Path(sys.executable).parent / "dt-make-negatives"),
        "--positives",
        str(pos),
        "--min-score",
        str(args.min_score),
        "--seed",
        "1",
        "-o",
        str(OUT / "negatives_out.tsv"),
    ]
    ref = SHARED / "miRBase" / "mature_v22.1.fa.gz"
    if ref.exists():
        cmd += ["--reference-mirnas", str(ref)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    sys.stderr.write(err)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    made = re.search(r"(\d+) negatives at score", err)
    filled = re.search(r"(\d+) filled", err)

    from deeptarget_core.testing import reference_duplex_score

    rows = pos.read_text().splitlines()[1:4]
    t1 = time.perf_counter()
    for row in rows:
        f = row.split("\t")
        reference_duplex_score(f[1], f[3])
    slow_per_pair = (time.perf_counter() - t1) / len(rows)
    result = {
        "positives": args.n,
        "target_nt": args.length,
        "mirnas": n_mirnas,
        "reference": ref.name if ref.exists() else None,
        "min_score": args.min_score,
        "negatives": int(made.group(1)) if made else None,
        "filled": int(filled.group(1)) if filled else None,
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "pure_python_aligner_s_extrapolated": round(slow_per_pair * args.n),
        "cpus": os.cpu_count(),
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    (OUT / "negatives.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
