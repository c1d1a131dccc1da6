#!/usr/bin/env python3
"""Label-free check: how often random 3'UTRs are called targets (gene score >= 0.5).

Random UTRs (uniform A/C/G/U) hold no real sites, so a good gene score calls about the same
small fraction at every length. 10 well-studied human miRNAs from miRBase 22.1
(../shared/data), 200 random UTRs per length; `--aggregate max` and `poisson` side by side
(deeptarget_core.testing.random_utr_check).

    .venv/bin/python bench/random_utrs.py [--model FILE] [--site-types canonical|relaxed]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from deeptarget_core import scorers, testing  # noqa: E402
from deeptarget_core.io import read_fasta  # noqa: E402

MIRNAS = (
    "let-7a-5p",
    "miR-1-3p",
    "miR-16-5p",
    "miR-17-5p",
    "miR-21-5p",
    "miR-92a-3p",
    "miR-122-5p",
    "miR-124-3p",
    "miR-155-5p",
    "miR-200c-3p",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint (default: the packaged model)")
    ap.add_argument("--site-types", choices=("canonical", "relaxed"), default="canonical")
    ap.add_argument("--utrs", type=int, default=200, help="random UTRs per length")
    args = ap.parse_args()
    seqs = {r.id: r.seq for r in read_fasta(SHARED / "miRBase" / "hsa_mature_v22.1.fa", kind="mirna")}
    mirnas = [seqs[f"hsa-{name}"] for name in MIRNAS]
    scorer = scorers.make_scorer(args.model, threads=1)
    rows = testing.random_utr_check(scorer, mirnas, n_utrs=args.utrs, relaxed=args.site_types == "relaxed")
    print(f"model={args.model or 'packaged default'} site-types={args.site_types}: fraction of random UTRs called (score >= 0.5)")
    print("length\tmax\tpoisson")
    for r in rows:
        print(f"{r['utr_length']}\t{r['called_max']:.3f}\t{r['called_poisson']:.3f}")


if __name__ == "__main__":
    main()
