#!/usr/bin/env python3
"""Benchmark dt-scan-cts: all human miRNAs against a synthetic 3'UTRome.

The UTRome is synthetic (no public human UTR set is available offline): log-normal lengths
(median ~1.1 kb, 50 nt - 25 kb, like human 3'UTRs) and AU-rich composition, generated with a
fixed seed until --mnt million nucleotides. The scan runs as the real command line in a child
process (output streamed to /dev/null); wall time and the child's peak RSS are reported.

A naive scanner (one re.finditer per miRNA seed per UTR, the way research scripts do it) runs
on a subset of miRNAs in the same run; its time is extrapolated linearly to all miRNAs.

    .venv/bin/python bench/scan.py            # full: 2,656 miRNAs x 30 Mnt
    .venv/bin/python bench/scan.py --mnt 3    # quick
"""

from __future__ import annotations

import argparse
import gzip
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
COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}


def make_utrome(path: Path, mnt: float, seed: int = 1) -> tuple[int, int]:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGU", dtype=np.uint8)
    total, n = 0, 0
    target = int(mnt * 1e6)
    with gzip.open(path, "wb", compresslevel=1) as f:
        while total < target:
            length = int(np.clip(rng.lognormal(mean=7.0, sigma=1.0), 50, 25_000))
            length = min(length, target - total) if target - total > 50 else length
            seq = letters[rng.choice(4, size=length, p=[0.29, 0.21, 0.21, 0.29])].tobytes()
            f.write(b">bench_utr%06d\n" % n)
            for i in range(0, length, 80):
                f.write(seq[i : i + 80] + b"\n")
            total += length
            n += 1
    return n, total


def run_child(cmd: list[str]) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MB), stderr and CPU seconds (user + sys) of one child."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024, err, usage.ru_utime + usage.ru_stime


def scan_rows(path: Path, mirna: Path, utr: Path, n_rows: int) -> int:
    """The header and first ``n_rows`` rows of dt-scan-cts' site table to ``path`` (the scan is
    stopped there); returns the number of rows written."""
    bin_dir = Path(sys.executable).parent
    scan = subprocess.Popen(
        [str(bin_dir / "dt-scan-cts"), "--mirna", str(mirna), "--utr", str(utr), "-q"], stdout=subprocess.PIPE
    )
    n = -1
    with open(path, "wb") as out:
        for line in scan.stdout:
            out.write(line)
            n += 1
            if n >= n_rows:
                break
    scan.kill()
    scan.wait()
    return n


def naive_scan(mirnas: list[tuple[str, str]], utrs: list[str]) -> int:
    """One regex per miRNA seed, over every UTR (canonical sites only, best type)."""
    n = 0
    for _, m in mirnas:
        site6 = "".join(COMP[c] for c in reversed(m[1:7]))
        nt8 = COMP[m[7]]
        pattern = re.compile(f"(?=({site6}))")
        for utr in utrs:
            for hit in pattern.finditer(utr):
                p = hit.start()
                m8 = p > 0 and utr[p - 1] == nt8
                a1 = p + 6 < len(utr) and utr[p + 6] == "A"
                _ = ("8mer" if a1 else "7mer-m8") if m8 else ("7mer-A1" if a1 else "6mer")
                n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnt", type=float, default=30.0, help="UTRome size in million nt")
    ap.add_argument("--naive-mirnas", type=int, default=20, help="miRNAs for the naive scanner")
    ap.add_argument("--site-types", default="canonical")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    mirna_fa = SHARED / "miRBase" / "hsa_mature_v22.1.fa"
    utr_fa = OUT / f"utrome_{args.mnt:g}M.fa.gz"
    if not utr_fa.exists():
        n_utr, n_nt = make_utrome(utr_fa, args.mnt)
    sys.path.insert(0, str(ROOT))
    from deeptarget_core.io import read_fasta

    mirnas = [(r.id, r.seq) for r in read_fasta(mirna_fa, kind="mirna")]
    utrs = [r.seq for r in read_fasta(utr_fa)]
    n_utr, n_nt = len(utrs), sum(map(len, utrs))

    scan = str(Path(sys.executable).parent / "dt-scan-cts")
    wall, rss, err, _ = run_child(
        [scan, "--mirna", str(mirna_fa), "--utr", str(utr_fa), "--site-types", args.site_types, "-o", "/dev/null"]
    )
    sys.stderr.write(err)
    # count sites separately (the timed run streams to /dev/null)
    count = subprocess.run(
        f"'{scan}' --mirna '{mirna_fa}' --utr '{utr_fa}' --site-types {args.site_types} -q | wc -l",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    n_sites = int(count.stdout.strip()) - 1

    subset = mirnas[: args.naive_mirnas]
    t0 = time.perf_counter()
    naive_sites = naive_scan(subset, utrs)
    naive_subset = time.perf_counter() - t0
    naive_all = naive_subset * len(mirnas) / len(subset)

    result = {
        "mirnas": len(mirnas),
        "utrs": n_utr,
        "mnt": round(n_nt / 1e6, 2),
        "site_types": args.site_types,
        "sites": n_sites,
        "wall_s": round(wall, 1),
        "sites_per_s": round(n_sites / wall),
        "peak_rss_mb": round(rss),
        "naive_subset_mirnas": len(subset),
        "naive_subset_s": round(naive_subset, 1),
        "naive_subset_sites": naive_sites,
        "naive_all_s_extrapolated": round(naive_all),
        "speedup_vs_naive": round(naive_all / wall, 1),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg()[0],
    }
    (OUT / "scan.json").write_text(json.dumps(result, indent=2) + "\n")
    print(
        "| miRNAs | UTRs | Mnt | site types | sites | wall (s) | sites/s | peak RSS (MB) | naive (s, extrapolated) | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(mirnas):,} | {n_utr:,} | {n_nt / 1e6:.1f} | {args.site_types} | {n_sites:,} | {wall:.1f} | "
        f"{n_sites / wall:,.0f} | {rss:,.0f} | {naive_all:,.0f} | {naive_all / wall:.0f}x |"
    )


if __name__ == "__main__":
    main()
