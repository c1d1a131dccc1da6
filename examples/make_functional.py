#!/usr/bin/env python3
"""Write a small synthetic functional data set for the gene model (dt-train --level gene,
dt-eval --functional) with a planted rule, as tests/test_gene_model.py's planted_functional
does, but small enough for the Galaxy tests:

* functional.tsv: fold changes (logFC) of 70 made-up genes in two experiments: let-7a
  over-expression (OE: repression = -logFC) and a miR-21 knockout (KO: repression = +logFC).
  30 genes per miRNA carry one 7mer-m8 site of it (site at UTR nt 101-107, a C after it, so
  never an 8mer); half of them also pair with miRNA nt 13-16 (3' supplementary pairing, UTR
  nt 93-96). 10 genes carry no site of either miRNA. Every experiment measures all 70 genes.
  Planted effect: 1.0 (site + 3' pairing), 0.3 (site alone), 0 (no site of that miRNA), plus
  Gaussian noise (sd 0.2). A site count cannot see the 3' pairing: a gene model can.
* functional_utrs.fa: the 70 UTRs (150 nt, random elsewhere: no other 6mer site of either miRNA).
* functional_pairs.tsv: a labelled gene-level pair table (whole UTRs) of 16 other genes: per
  miRNA 4 with site + 3' pairing (label 1) and 4 with the site alone (label 0).

Deterministic (Python's random with a fixed seed): the same files every run.

    python examples/make_functional.py OUTDIR
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

MIRNAS = {  # id -> (sequence, short name, experiment, type); as in examples/mirnas.fa
    "hsa-let-7a-5p": ("UGAGGUAGUAGGUUGUAUAGUU", "let7", "let-7a_OE", "OE"),
    "hsa-miR-21-5p": ("UAGCUUAUCAGACUGAUGUUGA", "mir21", "miR-21_KO", "KO"),
}
UTR_LENGTH = 150
SITE_GENES = 30  # per miRNA; even: half with 3' pairing
NO_SITE_GENES = 10
PAIR_GENES = 4  # per miRNA and label
SEED = 14


def revcomp(seq: str) -> str:
    return seq[::-1].translate(str.maketrans("ACGU", "UGCA"))


def six_mers(mirna: str) -> str:
    return revcomp(mirna[1:7])  # pairs with nt 2-7: every canonical site contains it


def n_sites(seq: str, mirna: str) -> int:
    site = six_mers(mirna)
    return sum(seq.startswith(site, i) for i in range(len(seq)))


def utr(rng: random.Random, mirna: str | None, supp: bool) -> str:
    """A random UTR (AU-rich, as UTRs are) with one 7mer-m8 site of ``mirna`` (and its 3'
    pairing when ``supp``), or with no site of any of MIRNAS; redrawn until that holds."""
    while True:
        body = "".join(rng.choices("ACGU", weights=(3, 2, 2, 3), k=UTR_LENGTH))
        if mirna is not None:
            site = revcomp(mirna[1:8])
            pairing = revcomp(mirna[12:16]) if supp else body[92:96]
            body = body[:92] + pairing + body[96:100] + site + "C" + body[108:]
        want = {m: int(m == mirna) for m in (s for s, *_ in MIRNAS.values())}
        if all(n_sites(body, m) == n for m, n in want.items()):
            return body


def main(outdir: str) -> None:
    out = Path(outdir)
    rng = random.Random(SEED)
    utrs: dict[str, str] = {}
    effect: dict[tuple[str, str], float] = {}
    for mid, (seq, short, _exp, _kind) in MIRNAS.items():
        for i in range(SITE_GENES):
            supp = i % 2 == 0
            gene = f"{short}_site{'+3p' if supp else ''}_g{i:02d}"
            utrs[gene] = utr(rng, seq, supp)
            effect[mid, gene] = 1.0 if supp else 0.3
    for i in range(NO_SITE_GENES):
        utrs[f"nosite_g{i:02d}"] = utr(rng, None, False)
    rows = ["experiment\ttype\tmirna_id\tmirna_seq\tmrna_id\tlogFC"]
    for mid, (seq, _short, exp, kind) in MIRNAS.items():
        sign = -1.0 if kind == "OE" else 1.0  # OE represses (logFC < 0); a KO de-represses
        for gene in utrs:
            fc = sign * (effect.get((mid, gene), 0.0) + rng.gauss(0.0, 0.2))
            rows.append(f"{exp}\t{kind}\t{mid}\t{seq}\t{gene}\t{fc:.3f}")
    (out / "functional.tsv").write_text("\n".join(rows) + "\n")
    (out / "functional_utrs.fa").write_text("".join(f">{g}\n{s}\n" for g, s in utrs.items()))
    pairs = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel"]
    for mid, (seq, short, _exp, _kind) in MIRNAS.items():
        for i in range(2 * PAIR_GENES):
            supp = i % 2 == 0
            pairs.append(f"{mid}\t{seq}\tpair_{short}_g{i:02d}\t{utr(rng, seq, supp)}\t{int(supp)}")
    (out / "functional_pairs.tsv").write_text("\n".join(pairs) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_functional.py OUTDIR")
    main(sys.argv[1])
