#!/usr/bin/env python3
"""Split a labelled pair table into K cross-validation folds grouped by miRNA.

All rows of one miRNA (and of the mock miRNAs made from it) land in the same fold (no miRNA is both trained on and validated on),
so the folds measure generalisation to unseen miRNAs. Groups are dealt to folds by a seeded
shuffle, then greedily to the fold with the fewest rows. Writes, per fold k, val_{k}.tsv (the
held-out fold, scored once at the end), stop_{k}.tsv (about --stop-fraction of the other folds'
groups: the early-stopping set, so the held-out fold never chooses the kept epoch) and
train_{k}.tsv (the rest).

    cv_folds.py --pairs PAIRS.tsv --folds K --seed S --outdir DIR
"""

from __future__ import annotations

import argparse
import os
import random


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", required=True, nargs="+", help="one or more pair tables with the same header")
    ap.add_argument("--folds", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--group-by", default="source_mirna_id,mirna_id",
                    help="grouping column; a comma list means the first one present")
    ap.add_argument("--outdir", required=True)
    ap.add_argument("--stop-fraction", type=float, default=0.1,
                    help="share of each fold's training groups held apart for early stopping")
    ap.add_argument("--columns", default="mirna_id,mirna_seq,mrna_id,mrna_seq,label",
                    help="columns to keep, in this order ('' = all): the pair-table core, so that the "
                         "folds feed dt-train and dt-predict --pairs (which adds its own score column)")
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
    groups: dict[str, list[str]] = {}
    for line in rows:
        f = line.rstrip("\n").split("\t")
        groups.setdefault(f[col], []).append("\t".join(f[i] for i in keep) + "\n")
    if len(groups) < args.folds:
        raise SystemExit(f"error: {len(groups)} groups of {args.group_by} < {args.folds} folds")
    names = sorted(groups)
    random.Random(args.seed).shuffle(names)
    names.sort(key=lambda n: -len(groups[n]))  # stable: seeded order among equal sizes
    folds: list[list[str]] = [[] for _ in range(args.folds)]  # group names per fold
    sizes = [0] * args.folds
    for name in names:
        k = min(range(args.folds), key=lambda j: sizes[j])
        folds[k].append(name)
        sizes[k] += len(groups[name])
    os.makedirs(args.outdir, exist_ok=True)

    def write(name: str, members: list[str]) -> None:
        with open(os.path.join(args.outdir, name), "w") as out:
            out.write(header)
            for g in members:
                out.writelines(groups[g])

    for k in range(args.folds):
        rest = [g for j in range(args.folds) if j != k for g in folds[j]]
        shuffled = sorted(rest)
        random.Random(args.seed + 1000 + k).shuffle(shuffled)
        n_stop = min(len(rest) - 1, max(1, round(args.stop_fraction * len(rest))))
        stop = set(shuffled[:n_stop])
        write(f"val_{k}.tsv", folds[k])
        write(f"stop_{k}.tsv", [g for g in rest if g in stop])
        write(f"train_{k}.tsv", [g for g in rest if g not in stop])


if __name__ == "__main__":
    main()
