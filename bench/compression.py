#!/usr/bin/env python3
"""Benchmark compressed site-table outputs: dt-scan-cts -o plain vs .gz vs .bgz.

All human miRNAs of miRBase 22.1 against the 2,013 human 3'UTRs of ../shared/data/gene_level_dev
(the run of issue 24: ~3.7 M sites, a 357 MB site table); without the shared data, against the
synthetic UTRome of bench/scan.py (--mnt million nt). Each output runs as the real command line
in a child process; wall time, the child's CPU time and peak RSS are reported, best wall time of
--repeats runs. The files are checked: the .gz decompresses to the plain table, the .bgz to
the same rows in tabix order.

    .venv/bin/python bench/compression.py                 # the issue's run
    .venv/bin/python bench/compression.py --old-gzip      # also Python's gzip -9 of the table
    .venv/bin/python bench/compression.py --mnt 3         # synthetic UTRs instead
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "bench" / "out" / "compression"
sys.path.insert(0, str(ROOT / "bench"))

from scan import make_utrome, run_child  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnt", type=float, default=None, help="synthetic UTRome of this many million nt instead")
    ap.add_argument("--repeats", type=int, default=1, help="runs per output (best wall time reported)")
    ap.add_argument("--old-gzip", action="store_true", help="also time Python's gzip -9 of the plain table")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    mirna = SHARED / "miRBase" / "hsa_mature_v22.1.fa"
    utr = SHARED / "gene_level_dev" / "utrs.fa.gz"
    if args.mnt is not None or not utr.exists():
        utr = OUT / f"utrome_{args.mnt or 3:g}M.fa.gz"
        if not utr.exists():
            make_utrome(utr, args.mnt or 3)
    scan = str(Path(sys.executable).parent / "dt-scan-cts")
    rows = []
    for name in ("sites.tsv", "sites.tsv.gz", "sites.tsv.bgz"):
        out = OUT / name
        best = None
        for _ in range(args.repeats):
            wall, rss, _, cpu = run_child([scan, "--mirna", str(mirna), "--utr", str(utr), "-q", "-o", str(out)])
            if best is None or wall < best[0]:
                best = (wall, rss, cpu)
        rows.append((name, *best, out.stat().st_size))
    plain = (OUT / "sites.tsv").read_bytes()
    with gzip.open(OUT / "sites.tsv.gz", "rb") as f:
        assert f.read() == plain, ".gz does not decompress to the plain table"
    with gzip.open(OUT / "sites.tsv.bgz", "rb") as f:
        bgz = f.read()
    assert sorted(bgz.splitlines()[1:]) == sorted(plain.splitlines()[1:]), ".bgz rows differ"
    n_sites = plain.count(b"\n") - 1
    if args.old_gzip:  # what the .gz writer did before (level 9, one thread), on top of the scan
        t0 = time.perf_counter()
        with open(os.devnull, "wb") as sink, gzip.GzipFile(fileobj=sink, mode="wb", mtime=0, compresslevel=9) as gz:
            gz.write(plain)
        rows.append(("(Python gzip -9 of the table)", time.perf_counter() - t0, 0.0, 0.0, 0))
    print(f"{n_sites:,} sites, {len(plain) / 1e6:,.0f} MB table; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print("| output | wall (s) | CPU (s) | peak RSS (MB) | size (MB) | x plain |")
    print("|---|---|---|---|---|---|")
    base = rows[0][1]
    for name, wall, rss, cpu, size in rows:
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | {rss:,.0f} | {size / 1e6:,.0f} | {wall / base:.2f} |")


if __name__ == "__main__":
    main()
