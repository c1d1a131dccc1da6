"""Write examples/reference/: a small, synthetic genome with a GENCODE-style annotation and a
miRBase-style mature.fa, the inputs of the tutorial (docs/tutorial.md).

Everything is made here from fixed seeds (same bytes every run): two chromosomes of random
sequence carrying six protein-coding genes on both strands, some with 3'UTRs that span an intron,
one non-coding gene (no CDS: no UTR), planted let-7 and miR-21 sites (one across a UTR exon
junction on each strand). Gene names are made up (no real gene's sequence is here). The miRNA
file has miRBase's layout and a few real mature sequences of several species, plus one record
longer than a miRNA can be (as miRBase 22.1's cqu-miR-2951-3p).

    python examples/make_reference_excerpt.py [OUTDIR]    (default: examples/reference)
"""

from __future__ import annotations

import gzip
import random
import sys
from pathlib import Path

LET7_8MER = "CTACCTCA"  # pairs with let-7a nt 2-8, A opposite nt 1
MIR21_8MER = "ATAAGCTA"
MIR21_7MER_M8 = "ATAAGCTG"
COMPLEMENT = str.maketrans("ACGT", "TGCA")

# name, chrom, strand, gene start (1-based), 5'UTR, CDS, 3'UTR exon lengths (transcript order),
# intron length, sites planted in the 3'UTR: (offset in the 3'UTR, site)
GENES = [
    ("DEMO1", "chr1", "+", 1001, 40, 300, [400], 0, [(60, LET7_8MER), (250, LET7_8MER)]),
    ("DEMO2", "chr1", "-", 3001, 50, 240, [120, 300], 500, [(116, LET7_8MER), (200, MIR21_7MER_M8)]),  # site across the junction
    ("DEMO3", "chr1", "+", 6001, 30, 180, [90, 260], 400, [(86, MIR21_8MER)]),  # across the junction, + strand
    ("DEMO4", "chr2", "-", 1001, 60, 360, [500], 0, [(420, MIR21_8MER), (100, LET7_8MER)]),
    ("DEMO5", "chr2", "+", 3001, 45, 210, [350], 0, []),  # no site
    ("DEMO6", "chr2", "+", 5001, 35, 150, [220], 0, [(30, MIR21_7MER_M8)]),
]
CHROM_LENGTH = 9000

MATURE = [
    ("hsa-let-7a-5p", "MIMAT0000062", "Homo sapiens let-7a-5p", "UGAGGUAGUAGGUUGUAUAGUU"),
    ("hsa-miR-21-5p", "MIMAT0000076", "Homo sapiens miR-21-5p", "UAGCUUAUCAGACUGAUGUUGA"),
    ("hsa-miR-155-5p", "MIMAT0000646", "Homo sapiens miR-155-5p", "UUAAUGCUAAUCGUGAUAGGGGU"),
    ("mmu-let-7a-5p", "MIMAT0000521", "Mus musculus let-7a-5p", "UGAGGUAGUAGGUUGUAUAGUU"),
    ("mmu-miR-21a-5p", "MIMAT0000530", "Mus musculus miR-21a-5p", "UAGCUUAUCAGACUGAUGUUGA"),
    ("cqu-miR-2951-3p", "MIMAT0014381", "Culex quinquefasciatus miR-2951-3p", "UCAGUAGGCUCGACGCGUUGCAUGCUCAGUACG"),
    ("dme-miR-1-3p", "MIMAT0000416", "Drosophila melanogaster miR-1-3p", "UGGAAUGUAAAGAAGUAUGGAG"),
]


def _random(rng: random.Random, n: int) -> str:
    # no stop-codon-free constraint needed: the annotation, not the sequence, says what is CDS
    return "".join(rng.choice("ACGT") for _ in range(n))


def _on_genome(exon: tuple[int, int], strand: str, a: int, b: int) -> tuple[int, int]:
    """Genome interval of transcript positions a..b (1-based) that lie in ``exon``, the first."""
    s1, e1 = exon
    return (s1 + a - 1, s1 + b - 1) if strand == "+" else (e1 - b + 1, e1 - a + 1)


def _attrs(gene_id: str, name: str, tx: str | None = None, kind: str = "protein_coding", canonical: bool = True) -> str:
    a = f'gene_id "{gene_id}"; gene_type "{kind}"; gene_name "{name}";'
    if tx is not None:
        a += f' transcript_id "{tx}"; transcript_type "{kind}"; transcript_name "{name}-201";'
        a += ' tag "basic";' + (' tag "Ensembl_canonical";' if canonical else "")
    return a + " level 2;"


def build(outdir: Path) -> None:
    rng = random.Random(7)
    chroms = {c: list(_random(rng, CHROM_LENGTH)) for c in ("chr1", "chr2")}
    gtf = ["##description: synthetic excerpt in GENCODE's layout (examples/make_reference_excerpt.py)", "##format: gtf"]
    for k, (name, chrom, strand, start, utr5, cds, utr3_exons, intron, sites) in enumerate(GENES, start=1):
        gene_id, tx = f"ENSGDEMO{k:07d}.1", f"ENSTDEMO{k:07d}.1"
        utr3 = list(_random(rng, sum(utr3_exons)))
        for offset, site in sites:
            utr3[offset : offset + len(site)] = site
        # transcript 5'->3': 5'UTR + CDS (stop codon last) in exon 1 with the first 3'UTR exon
        first = _random(rng, utr5) + "ATG" + _random(rng, cds - 6) + "TAA"
        pieces = [first + "".join(utr3[: utr3_exons[0]])]
        at = utr3_exons[0]
        for size in utr3_exons[1:]:
            pieces.append("".join(utr3[at : at + size]))
            at += size
        # genome intervals of the exons, transcript order, then written on the strand
        exons, pos = [], start
        for p in pieces:
            exons.append((pos, pos + len(p) - 1))
            pos += len(p) + intron
        seq = chroms[chrom]
        if strand == "+":
            for (s, e), p in zip(exons, pieces):
                seq[s - 1 : e] = p
        else:  # mirror: the transcript's 5' end at the highest coordinate
            end = exons[-1][1]
            mirrored = [(start + end - e, start + end - s) for s, e in exons]
            for (s, e), p in zip(mirrored, pieces):
                seq[s - 1 : e] = p.translate(COMPLEMENT)[::-1]
            exons = mirrored
        lo, hi = min(s for s, _ in exons), max(e for _, e in exons)
        gtf.append(f"{chrom}\tHAVANA\tgene\t{lo}\t{hi}\t.\t{strand}\t.\t{_attrs(gene_id, name)}")
        gtf.append(f"{chrom}\tHAVANA\ttranscript\t{lo}\t{hi}\t.\t{strand}\t.\t{_attrs(gene_id, name, tx)}")
        # CDS / stop codon / UTR features in genome coordinates of the first exon
        t_cds = (utr5 + 1, utr5 + cds - 3)  # transcript coordinates, stop codon excluded
        t_stop = (utr5 + cds - 2, utr5 + cds)

        for n, (s, e) in enumerate(exons, start=1):
            gtf.append(f"{chrom}\tHAVANA\texon\t{s}\t{e}\t.\t{strand}\t.\t{_attrs(gene_id, name, tx)} exon_number {n};")
            if n == 1:
                for feature, (a, b) in (("CDS", t_cds), ("stop_codon", t_stop)):
                    gs, ge = _on_genome(exons[0], strand, a, b)
                    gtf.append(f"{chrom}\tHAVANA\t{feature}\t{gs}\t{ge}\t.\t{strand}\t0\t{_attrs(gene_id, name, tx)}")
                for a, b in ((1, utr5), (utr5 + cds + 1, len(pieces[0]))):
                    gs, ge = _on_genome(exons[0], strand, a, b)
                    gtf.append(f"{chrom}\tHAVANA\tUTR\t{gs}\t{ge}\t.\t{strand}\t.\t{_attrs(gene_id, name, tx)}")
            else:
                gtf.append(f"{chrom}\tHAVANA\tUTR\t{s}\t{e}\t.\t{strand}\t.\t{_attrs(gene_id, name, tx)}")
    # a non-coding gene: exons but no CDS, so no UTR (dt-extract-utrs counts it as skipped)
    nc = f"ENSGDEMO{len(GENES) + 1:07d}.1"
    gtf.append(f"chr2\tHAVANA\tgene\t7001\t7400\t.\t+\t.\t{_attrs(nc, 'DEMO-AS1', kind='lncRNA')}")
    gtf.append(f"chr2\tHAVANA\ttranscript\t7001\t7400\t.\t+\t.\t{_attrs(nc, 'DEMO-AS1', 'ENSTDEMO9999999.1', 'lncRNA')}")
    gtf.append(f"chr2\tHAVANA\texon\t7001\t7400\t.\t+\t.\t{_attrs(nc, 'DEMO-AS1', 'ENSTDEMO9999999.1', 'lncRNA')} exon_number 1;")
    outdir.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(outdir / "annotation.gtf.gz", "wb", mtime=0) as f:
        f.write(("\n".join(gtf) + "\n").encode())
    genome = "".join(
        f">{c} synthetic\n" + "\n".join("".join(s[i : i + 60]) for i in range(0, len(s), 60)) + "\n" for c, s in chroms.items()
    )
    with gzip.GzipFile(outdir / "genome.fa.gz", "wb", mtime=0) as f:
        f.write(genome.encode())
    mature = "".join(f">{i} {acc} {desc}\n{seq}\n" for i, acc, desc, seq in MATURE)
    with gzip.GzipFile(outdir / "mature.fa.gz", "wb", mtime=0) as f:
        f.write(mature.encode())


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "reference")
