#!/usr/bin/env python3
"""Make the bundled demo data (deterministic; re-run to regenerate, output is byte-identical).

* mirnas.fa      six well-known human miRNAs (miRBase 22.1 mature sequences)
* utrs.fa.gz     40 synthetic 3'UTRs (300-3,000 nt, human-like base composition) with planted
                 sites of every canonical and relaxed type; UTR ids say what was planted
* pairs.tsv      gene-level pair table (mirna_id, mirna_seq, mrna_id, mrna_seq, label):
                 label 1 = UTR with planted 8mer/7mer sites for that miRNA, 0 = only 6mer /
                 offset-6mer sites planted. UTRs come in consecutive (positive, negative)
                 couples that share a miRNA, so every miRNA has both labels (3-4 of each) and
                 `dt-eval --group-by mirna` reports a finite within-miRNA AUC

The labels describe what was planted, not biology: they let `make demo` show dt-eval.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

MIRNAS = {
    "hsa-let-7a-5p": "UGAGGUAGUAGGUUGUAUAGUU",
    "hsa-miR-21-5p": "UAGCUUAUCAGACUGAUGUUGA",
    "hsa-miR-155-5p": "UUAAUGCUAAUCGUGAUAGGGGU",
    "hsa-miR-1-3p": "UGGAAUGUAAAGAAGUAUGUAU",
    "hsa-miR-124-3p": "UAAGGCACGCGGUGAAUGCCAA",
    "hsa-miR-16-5p": "UAGCAGCACGUAAAUAUUGGCG",
}
COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}
# Human 3'UTRs are AU-rich: about 29% A, 21% C, 21% G, 29% U.
WEIGHTS = {"A": 0.29, "C": 0.21, "G": 0.21, "U": 0.29}


def rc(s: str) -> str:
    return "".join(COMP[c] for c in reversed(s))


def planted(mirna: str, kind: str) -> str:
    site_2_7 = rc(mirna[1:7])
    nt8 = COMP[mirna[7]]
    other8 = "C" if nt8 != "C" else "G"
    return {
        "8mer": nt8 + site_2_7 + "A",
        "7mer-m8": nt8 + site_2_7 + "C",
        "7mer-A1": other8 + site_2_7 + "A",
        "6mer": other8 + site_2_7 + "C",
        "offset-6mer": rc(mirna[2:8]) + ("C" if COMP[mirna[1]] != "C" else "G"),
    }[kind]


def random_utr(rng: random.Random, length: int) -> str:
    letters, weights = zip(*WEIGHTS.items())
    return "".join(rng.choices(letters, weights, k=length))


def main(outdir: Path) -> None:
    rng = random.Random(2016)
    utrs: list[tuple[str, str]] = []
    pairs: list[tuple[str, str, str, str, int]] = []
    names = list(MIRNAS)
    for i in range(40):
        length = rng.randint(300, 3000)
        seq = list(random_utr(rng, length))
        # UTRs 2k+1 (positive) and 2k+2 (negative) share a miRNA: every miRNA gets both labels
        mirna_id = names[(i // 2) % len(names)]
        label = int(i % 2 == 0)
        kinds = ["8mer", "7mer-m8", "7mer-A1"] if label else ["6mer", "offset-6mer"]
        tags = []
        for kind in rng.sample(kinds, k=min(len(kinds), rng.randint(1, 2))):
            site = planted(MIRNAS[mirna_id], kind)
            pos = rng.randint(0, length - len(site))
            seq[pos : pos + len(site)] = site
            tags.append(kind)
        utr_id = f"UTR{i + 1:03d}_{mirna_id.replace('hsa-', '')}_{'+'.join(tags)}"
        text = "".join(seq)[:length]
        utrs.append((utr_id, text))
        pairs.append((mirna_id, MIRNAS[mirna_id], utr_id, text, label))
    outdir.mkdir(parents=True, exist_ok=True)
    with open(outdir / "mirnas.fa", "w") as f:
        for k, v in MIRNAS.items():
            f.write(f">{k}\n{v}\n")
    with open(outdir / "utrs.fa.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for uid, s in utrs:
            body = "\n".join(s[j : j + 60] for j in range(0, len(s), 60))
            gz.write(f">{uid}\n{body}\n".encode())
    with open(outdir / "pairs.tsv", "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
        for row in pairs:
            f.write("\t".join(map(str, row)) + "\n")


if __name__ == "__main__":
    main(Path(__file__).resolve().parent)
