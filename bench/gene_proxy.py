#!/usr/bin/env python3
"""Gene-level proxy check built from ../shared/data (no test data): within-miRNA ranking of UTRs.

mirMark (as prepared for DeepMirTar) gives 310 full human 3'UTRs with experimentally supported
sites of real miRNAs. For every miRNA with a supported site, each of the 310 UTRs becomes a
(miRNA, UTR) pair: label 1 if mirMark lists the pair as a positive, else 0 (an assumed
non-target: the UTR is a supported target of other miRNAs only). Every pair is scored by
dt-predict at gene level, and the within-miRNA AUC asks whether a miRNA's supported target
UTRs outrank the other UTRs for that miRNA.

Caveats: "0" labels are assumed, not measured; mirMark sites may also occur in the miRAW
training pool (the same literature), so this is a development proxy, not a benchmark.

    .venv/bin/python bench/gene_proxy.py [--model FILE] [--aggregate max|poisson]
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from deeptarget_core.io import read_tsv  # noqa: E402
from deeptarget_core.metrics import binary_metrics, within_group_auc  # noqa: E402
from deeptarget_core.seq import normalise  # noqa: E402


def build_pairs(path: Path) -> None:
    csv.field_size_limit(10**8)
    utrs: dict[str, str] = {}
    mirnas: dict[str, str] = {}
    positives: set[tuple[str, str]] = set()
    with open(SHARED / "mirMark_DeepMirTar" / "mirMark_sites_DeepMirTar.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            utrs.setdefault(row["refseq_id"], normalise(row["utr_seq"]))
            if row["label"] == "1":
                mirnas.setdefault(row["mirna_id"], normalise(row["mirna_seq"]))
                positives.add((row["mirna_id"], row["refseq_id"]))
    with open(path, "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
        for mid, mseq in sorted(mirnas.items()):
            for uid, useq in sorted(utrs.items()):
                f.write(f"{mid}\t{mseq}\t{uid}\t{useq}\t{int((mid, uid) in positives)}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="checkpoint or 'seed-match' (default: packaged model)")
    ap.add_argument("--aggregate", default="max")
    ap.add_argument("--site-types", default="canonical")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pairs = Path(tmp) / "pairs.tsv"
        genes = Path(tmp) / "genes.tsv"
        build_pairs(pairs)
        cmd = [
            str(Path(sys.executable).parent / "dt-predict"),
            "--pairs",
            str(pairs),
            "--level",
            "gene",
            "-o",
            "/dev/null",
            "--gene-output",
            str(genes),
            "--aggregate",
            args.aggregate,
            "--site-types",
            args.site_types,
            "-q",
        ]
        if args.model:
            cmd += ["--model", args.model]
        subprocess.run(cmd, check=True)
        table = read_tsv(genes)
    col = {c: i for i, c in enumerate(table.columns)}
    labels = [int(r[col["label"]]) for r in table.rows]
    scores = [float(r[col["score"]]) for r in table.rows]
    groups = [r[col["mirna_id"]] for r in table.rows]
    pooled, per = within_group_auc(labels, scores, groups)
    m = binary_metrics(labels, scores)
    print(f"pairs {len(labels)}, positives {sum(labels)}, miRNAs {len(set(groups))} (with both labels: {len(per)})")
    print(f"model={args.model or 'default'} aggregate={args.aggregate} site-types={args.site_types}")
    print(
        f"within-miRNA AUC {pooled:.4f} (mean of per-miRNA {sum(per.values()) / max(len(per), 1):.4f}); ROC-AUC {m['roc_auc']:.4f}"
    )


if __name__ == "__main__":
    main()
