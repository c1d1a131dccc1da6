#!/usr/bin/env python3
"""Write the miRNAs a workflow run uses: the records of a miRNA FASTA (miRBase's mature.fa as
downloaded) that the suite's own reader keeps, as a plain FASTA the shards are cut from.

Read by deeptarget_core.mirnas.read_mirnas, the reader of every dt-* tool: --species keeps
miRBase id prefixes (comma-separated), records that cannot be miRNAs are skipped with one warning
(--strict: an error). Doing it once, before sharding, keeps a shard that holds only other
species' records (or only unusable ones) from failing its job.

    select_mirnas.py IN.fa OUT.fa [--species hsa,mmu] [--strict]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from deeptarget_core.errors import InputError
from deeptarget_core.mirnas import MirnaSelection, read_mirnas


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mirna")
    ap.add_argument("output")
    ap.add_argument("--species", default="")
    ap.add_argument("--strict", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(format="%(message)s", level=logging.INFO, stream=sys.stderr)
    species = tuple(s.strip() for s in args.species.split(",") if s.strip())
    try:
        kept = read_mirnas(args.mirna, MirnaSelection(species=species, strict=args.strict))
    except InputError as exc:
        raise SystemExit(f"error: {exc}") from None
    tmp = args.output + ".tmp"
    with open(tmp, "w") as out:
        out.writelines(f">{mid}\n{seq}\n" for mid, seq in kept.items())
    os.replace(tmp, args.output)
    print(f"select_mirnas: {len(kept)} miRNAs -> {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
