#!/usr/bin/env python3
"""Merge per-shard TSV tables (one header each) into one table in single-process order.

Rows are ordered as one dt-scan-cts / dt-predict run over the whole input orders them: by the
rank of mirna_id in the miRNA FASTA, then the rank of mrna_id in the target FASTA, then
site_start (when the table has it); the sort is stable, so rows that tie keep shard order.
All headers must be identical. Each shard is already in that order (the tools write it so),
so the merge is a streaming k-way merge holding one row per shard in memory; a shard that is
not sorted (checked in a first streaming pass) makes it fall back to an in-memory sort.

A gene table (it has a ``rank`` column) is ordered as dt-predict orders it: by miRNA, then by
score (best first; ties in target order), and ``rank`` is computed again over every shard's
targets of the miRNA (a shard ranks only its own). It is sorted in memory, as dt-predict does.

    merge_tables.py --mirna M.fa --utr U.fa -o OUT.tsv SHARD.tsv ...
"""

from __future__ import annotations

import argparse
import heapq
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from shard_fasta import open_text, records  # noqa: E402


def fasta_ranks(path: str) -> dict[str, int]:
    with open_text(path) as fh:
        return {h[1:].split()[0]: i for i, (h, _) in enumerate(records(fh))}


def read_header(path: str) -> str:
    with open(path) as fh:
        header = fh.readline()
    if not header:
        raise SystemExit(f"error: {path}: empty table (no header)")
    return header


def rows(path: str):
    with open(path) as fh:
        fh.readline()
        for line in fh:
            if not line.endswith("\n"):
                line += "\n"
            yield line


def is_sorted(path: str, key) -> bool:
    last = None
    for line in rows(path):
        k = key(line)
        if last is not None and k < last:
            return False
        last = k
    return True


def ranked_genes(lines: list[str], cols: list[str], mir_rank: dict, utr_rank: dict) -> list[str]:
    """Gene rows by miRNA, score (best first, as printed) and target order, ranked again."""
    im, it, isc, ir = (cols.index(c) for c in ("mirna_id", "mrna_id", "score", "rank"))
    fields = [line.rstrip("\n").split("\t") for line in lines]
    fields.sort(key=lambda f: (mir_rank[f[im]], -float(f[isc]), utr_rank[f[it]]))
    out, previous, rank = [], None, 0
    for f in fields:
        rank = rank + 1 if f[im] == previous else 1
        previous = f[im]
        f[ir] = str(rank)
        out.append("\t".join(f) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirna", required=True)
    ap.add_argument("--utr", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("tables", nargs="+")
    args = ap.parse_args(argv)
    mir_rank, utr_rank = fasta_ranks(args.mirna), fasta_ranks(args.utr)
    header = read_header(args.tables[0])
    for path in args.tables[1:]:
        if read_header(path) != header:
            raise SystemExit(f"error: {path}: header differs from {args.tables[0]}")
    cols = header.rstrip("\n").split("\t")
    im, it = cols.index("mirna_id"), cols.index("mrna_id")
    ip = cols.index("site_start") if "site_start" in cols else None

    def key(line: str):
        f = line.rstrip("\n").split("\t")
        return (mir_rank[f[im]], utr_rank[f[it]], int(f[ip]) if ip is not None else 0)

    if "rank" in cols:
        merged = ranked_genes([line for p in args.tables for line in rows(p)], cols, mir_rank, utr_rank)
    elif all(is_sorted(p, key) for p in args.tables):
        merged = heapq.merge(*(rows(p) for p in args.tables), key=key)
    else:
        print("merge_tables: a shard is not in input order; sorting in memory", file=sys.stderr)
        merged = sorted((line for p in args.tables for line in rows(p)), key=key)
    tmp = args.output + ".tmp"
    with open(tmp, "w") as out:
        out.write(header)
        out.writelines(merged)
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
