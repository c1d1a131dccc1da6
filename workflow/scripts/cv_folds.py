#!/usr/bin/env python3
"""Split a labelled pair table into K cross-validation folds grouped by miRNA.

All rows of one miRNA (and of the mock miRNAs made from it) land in the same fold (no miRNA is
both trained on and validated on), so the folds measure generalisation to unseen miRNAs. The
folds and each fold's early-stopping split come from the library's fold maker, the one
``dt-train --cv`` uses (deeptarget_core.train.cv_folds: scikit-learn's StratifiedGroupKFold,
seeded; train.holdout_split: about --stop-fraction of the training part's groups). Writes, per
fold k, val_{k}.tsv (the held-out fold, scored once at the end), stop_{k}.tsv (the
early-stopping set, so the held-out fold never chooses the kept epoch) and train_{k}.tsv (the
rest), rows in input order.

    cv_folds.py --pairs PAIRS.tsv --folds K --seed S --outdir DIR
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import numpy as np

from deeptarget_core.errors import InputError
from deeptarget_core.train import cv_folds, holdout_split


@dataclass
class Rows:
    """What the fold maker reads of a pair table: labels and groups, one per row."""

    labels: np.ndarray
    groups: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "Rows":
        return Rows(self.labels[idx], [self.groups[i] for i in idx])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", required=True, nargs="+", help="one or more pair tables with the same header")
    ap.add_argument("--folds", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--group-by", default="source_mirna_id,mirna_id", help="grouping column; a comma list means the first one present"
    )
    ap.add_argument("--outdir", required=True)
    ap.add_argument(
        "--stop-fraction", type=float, default=0.1, help="share of each fold's training groups held apart for early stopping"
    )
    ap.add_argument(
        "--columns",
        default="mirna_id,mirna_seq,mrna_id,mrna_seq,label",
        help="columns to keep, in this order ('' = all): the pair-table core, so that the "
        "folds feed dt-train and dt-predict --pairs (which adds its own score column)",
    )
    args = ap.parse_args(argv)
    header, rows = None, []
    for path in args.pairs:
        with open(path) as fh:
            h = fh.readline()
            if header is None:
                header = h
            elif h != header:
                raise SystemExit(f"error: {path}: header differs from {args.pairs[0]}")
            rows.extend(fh)
    names_in = header.rstrip("\n").split("\t")
    # group by the first of --group-by's columns that the table has (make-negatives output has
    # source_mirna_id: a mock lands in the same fold as the real miRNA it was made from)
    group_cols = [c for c in args.group_by.split(",") if c in names_in]
    if not group_cols:
        raise SystemExit(f"error: none of the columns {args.group_by} in {args.pairs[0]}")
    col = names_in.index(group_cols[0])
    keep = [names_in.index(c) for c in args.columns.split(",")] if args.columns else list(range(len(names_in)))
    header = "\t".join(names_in[i] for i in keep) + "\n"
    label_col = names_in.index("label") if "label" in names_in else None
    if label_col is None:
        raise SystemExit(f"error: {args.pairs[0]}: no label column")
    lines, groups, labels = [], [], []
    for line in rows:
        f = line.rstrip("\n").split("\t")
        lines.append("\t".join(f[i] for i in keep) + "\n")
        groups.append(f[col])
        labels.append(int(f[label_col]))
    data = Rows(np.array(labels, dtype=np.int64), groups)
    try:
        folds = cv_folds(data, args.folds, group_by_mirna=True, seed=args.seed)
        # the same inner split as dt-train --cv: fold i (1-based) holds out with seed + i
        stops = [
            holdout_split(data.subset(tr), True, args.seed + i, fraction=args.stop_fraction)
            for i, (tr, _) in enumerate(folds, start=1)
        ]
    except InputError as exc:
        raise SystemExit(f"error: {args.pairs[0]}: {exc}") from None
    os.makedirs(args.outdir, exist_ok=True)

    def write(name: str, idx: np.ndarray) -> None:
        with open(os.path.join(args.outdir, name), "w") as out:
            out.write(header)
            out.writelines(lines[i] for i in sorted(idx))

    for k, ((tr, te), (fit, stop)) in enumerate(zip(folds, stops)):
        write(f"val_{k}.tsv", te)
        write(f"stop_{k}.tsv", tr[stop])
        write(f"train_{k}.tsv", tr[fit])
        print(
            f"fold {k}: {len(set(groups[i] for i in tr[fit]))} training, {len(set(groups[i] for i in tr[stop]))} "
            f"early-stopping and {len(set(groups[i] for i in te))} held-out groups "
            f"({len(fit)}, {len(stop)}, {len(te)} rows)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
