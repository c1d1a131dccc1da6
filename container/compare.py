#!/usr/bin/env python3
"""Compare the outputs of container/pipeline.sh run on the host and inside the image.

    compare.py HOST_DIR IMAGE_DIR [--tol 1e-5] [--identical sites.tsv ...]

- both directories hold the same files (names only, recursively);
- the files named by --identical are byte-identical (the site tables);
- every other .tsv has the same header and row count, every non-numeric cell is equal and
  every numeric cell is within --tol (columns named 'seconds' are timings and skipped);
- prints the largest numeric difference per file and overall; exits 1 on any mismatch.
Standard library only, so any python3 can run it.
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

SKIP_COLUMNS = {"seconds"}


def number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def compare_tsv(a: Path, b: Path, tol: float) -> tuple[float, list[str]]:
    with a.open(newline="") as fa, b.open(newline="") as fb:
        ra = list(csv.reader(fa, delimiter="\t"))
        rb = list(csv.reader(fb, delimiter="\t"))
    problems: list[str] = []
    if not ra or not rb or ra[0] != rb[0]:
        return math.inf, [f"header differs: {ra[:1]} vs {rb[:1]}"]
    if len(ra) != len(rb):
        return math.inf, [f"{len(ra) - 1} rows vs {len(rb) - 1}"]
    header = ra[0]
    worst = 0.0
    for line, (row_a, row_b) in enumerate(zip(ra[1:], rb[1:]), start=2):
        if len(row_a) != len(row_b):
            problems.append(f"line {line}: {len(row_a)} vs {len(row_b)} fields")
            continue
        for col, x, y in zip(header, row_a, row_b):
            if col in SKIP_COLUMNS or x == y:
                continue
            fx, fy = number(x), number(y)
            if fx is None or fy is None:
                problems.append(f"line {line}, {col}: {x!r} vs {y!r}")
                continue
            if math.isnan(fx) and math.isnan(fy):
                continue
            diff = abs(fx - fy)
            worst = max(worst, diff)
            if not diff <= tol:
                problems.append(f"line {line}, {col}: {x} vs {y} (diff {diff:.3g})")
    return worst, problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host", type=Path)
    ap.add_argument("image", type=Path)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--identical", action="append", default=[])
    ap.add_argument("--ignore", action="append", default=[], help="file names not compared")
    args = ap.parse_args()

    def names(d: Path) -> set[str]:
        return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()} - set(args.ignore)

    failed = False
    only_host, only_image = names(args.host) - names(args.image), names(args.image) - names(args.host)
    if only_host or only_image:
        print(f"FAIL files only on the host: {sorted(only_host)}; only in the image: {sorted(only_image)}")
        failed = True
    for name in args.identical:
        same = (args.host / name).read_bytes() == (args.image / name).read_bytes()
        print(f"{'ok  ' if same else 'FAIL'} {name}: {'byte-identical' if same else 'differs'}")
        failed |= not same
    overall = 0.0
    for name in sorted(names(args.host) & names(args.image)):
        if not name.endswith(".tsv") or name in args.identical:
            continue
        worst, problems = compare_tsv(args.host / name, args.image / name, args.tol)
        overall = max(overall, worst)
        status = "FAIL" if problems else "ok  "
        print(f"{status} {name}: max |diff| {worst:.3g}")
        for p in problems[:5]:
            print(f"       {p}")
        failed |= bool(problems)
    print(f"largest numeric difference host vs image: {overall:.3g} (tolerance {args.tol:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
