#!/usr/bin/env python3
"""Build the default training tables from ../shared/data (the recipe: scripts/training_data.py)."""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from pathlib import Path

import training_data  # scripts/training_data.py, beside this script


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--shared", type=Path, default=training_data.DEFAULT_SHARED)
    ap.add_argument("--outdir", type=Path, default=Path("training-data"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--decoy-ratio", type=float, default=1.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.outdir.mkdir(parents=True, exist_ok=True)
    tables = training_data.build(args.shared, args.seed, args.decoy_ratio)
    for name, rows in tables.items():
        path = args.outdir / f"{name}.tsv"
        training_data.write_rows(path, rows)
        counts = Counter((r.source, r.label) for r in rows)
        logging.info(
            "%s: %d pairs, %d miRNAs, %s", path, len(rows), len({r.mirna_seq for r in rows}), dict(sorted(counts.items()))
        )


if __name__ == "__main__":
    main()
