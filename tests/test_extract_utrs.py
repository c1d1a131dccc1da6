"""dt-extract-utrs (issue 24 §1): UTR / CDS sequences and their BED12 from GENCODE GTF, Ensembl
GTF and GFF3 excerpts written here from the formats' specifications, over a synthetic genome of
two chromosomes. Expected sequences are worked out by hand from the genome below (1-based
positions in the comments); the minus-strand record is the reverse complement, read 5'->3'.

Genome (1-based positions, 10 per block):

    chr1  ACGTACGTAA CCCCCGGGGG ATGAAACCCT TTAGGGTTTT GATTACAGAT TACATTTGAC CCGGAATTCC TTTTTTTTTT
    chr2  GGATCCAAGT CTTGACGGCA TATCGAGCTA CTAGTTGACC AGGCTTAACG TCAGGATCCT ATGCGTACGA CGATCGATCG

Genes:
  G1 (chr1 +): T1 exons 5-24, 31-50, 56-70; CDS 21-24, 31-35; stop 36-38 (tagged canonical)
               T2 exons 5-24, 31-80; same CDS and stop (a longer 3'UTR, untagged)
  G2 (chr2 -): T3 exons 3-15, 21-40, 51-70; CDS 51-66, 36-40; stop 33-35 (no tag)
  G3 (chr1 -): T4 exon 72-80, no CDS (a lncRNA: skipped)
  G4 (chr2 +): T5 exon 72-80; CDS 72-77; stop 78-80 (coding, no 3'UTR: skipped)
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deeptarget_core import genome as G
from deeptarget_core.annotation import parse_gtf_attributes

from conftest import BIN

CHR1 = "ACGTACGTAACCCCCGGGGGATGAAACCCTTTAGGGTTTTGATTACAGATTACATTTGACCCGGAATTCCTTTTTTTTTT"
CHR2 = "GGATCCAAGTCTTGACGGCATATCGAGCTACTAGTTGACCAGGCTTAACGTCAGGATCCTATGCGTACGACGATCGATCG"

# Hand-computed: T1 3'UTR = chr1 39-50 (TTGATTACAGAT) + 56-70 (TTGACCCGGAATTCC), across the intron 51-55
T1_3UTR = "UUGAUUACAGAU" + "UUGACCCGGAAUUCC"
T1_5UTR = "ACGUAACCCCCGGGGG"  # chr1 5-20
T1_CDS = "AUGA" + "UUAGGGUU"  # chr1 21-24 + 31-38 (CDS 31-35 and the stop codon 36-38)
T2_3UTR = "UUGAUUACAGAU" + "UACAUUUGACCCGGAAUUCCUUUUUUUUUU"  # chr1 39-80, one exon
# T3 (minus strand): 3'UTR = reverse complement of chr2 3-15 (ATCCAAGTCTTGA) + 21-32 (TATCGAGCTACT):
# ATCCAAGTCTTGATATCGAGCTACT reversed TCATCGAGCTATAGTTCTGAACCTA, complemented:
T3_3UTR = "AGUAGCUCGAUAUCAAGACUUGGAU"
T3_5UTR = "UCGU"  # chr2 67-70 = ACGA, reverse complement UCGU
# T3 CDS: chr2 33-40 (AGTTGACC) + 51-66 (AGGCTTAACGTCAGGA... no: 51-60 TCAGGATCCT, 61-66 ATGCGT), reverse complement
T3_CDS = "ACGCAUAGGAUCCUGAGGUCAACU"

T1_BED = "chr1\t38\t70\tT1.1\t0\t+\t38\t70\t0\t2\t12,15\t0,17"
T3_BED = "chr2\t2\t32\tT3.1\t0\t-\t2\t32\t0\t2\t13,12\t0,18"


def gtf_line(chrom, source, kind, start, end, strand, attrs, frame="."):
    return f"{chrom}\t{source}\t{kind}\t{start}\t{end}\t.\t{strand}\t{frame}\t{attrs}\n"


def gencode_gtf(chr1="chr1", chr2="chr2") -> str:
    """GENCODE style (v22+): 'UTR' for both ends (the 3' ones cover the stop codon, as GENCODE's
    do), stop_codon outside the CDS, tag repeated, transcript_type."""
    g1 = 'gene_id "G1.1"; gene_type "protein_coding"; gene_name "GENEA";'
    t1 = g1 + ' transcript_id "T1.1"; transcript_type "protein_coding"; level 2; tag "basic"; tag "Ensembl_canonical";'
    t2 = g1 + ' transcript_id "T2.1"; transcript_type "protein_coding"; level 2; tag "basic";'
    g2 = 'gene_id "G2.1"; gene_type "protein_coding"; gene_name "GENEB";'
    t3 = g2 + ' transcript_id "T3.1"; transcript_type "protein_coding"; level 2;'
    t4 = 'gene_id "G3.1"; gene_type "lncRNA"; gene_name "LNC1"; transcript_id "T4.1"; transcript_type "lncRNA";'
    t5 = 'gene_id "G4.1"; gene_type "protein_coding"; gene_name "NOUTR"; transcript_id "T5.1"; transcript_type "protein_coding";'
    rows = [
        "##description: synthetic excerpt in GENCODE's layout\n",
        "##format: gtf\n",
        gtf_line(chr1, "HAVANA", "gene", 5, 80, "+", g1 + " level 2;"),
        gtf_line(chr1, "HAVANA", "transcript", 5, 70, "+", t1),
        gtf_line(chr1, "HAVANA", "exon", 5, 24, "+", t1 + " exon_number 1;"),
        gtf_line(chr1, "HAVANA", "CDS", 21, 24, "+", t1, "0"),
        gtf_line(chr1, "HAVANA", "start_codon", 21, 23, "+", t1, "0"),
        gtf_line(chr1, "HAVANA", "exon", 31, 50, "+", t1 + " exon_number 2;"),
        gtf_line(chr1, "HAVANA", "CDS", 31, 35, "+", t1, "2"),
        gtf_line(chr1, "HAVANA", "stop_codon", 36, 38, "+", t1, "0"),
        gtf_line(chr1, "HAVANA", "exon", 56, 70, "+", t1 + " exon_number 3;"),
        gtf_line(chr1, "HAVANA", "UTR", 5, 20, "+", t1),
        gtf_line(chr1, "HAVANA", "UTR", 36, 50, "+", t1),
        gtf_line(chr1, "HAVANA", "UTR", 56, 70, "+", t1),
        gtf_line(chr1, "HAVANA", "transcript", 5, 80, "+", t2),
        gtf_line(chr1, "HAVANA", "exon", 5, 24, "+", t2),
        gtf_line(chr1, "HAVANA", "CDS", 21, 24, "+", t2, "0"),
        gtf_line(chr1, "HAVANA", "exon", 31, 80, "+", t2),
        gtf_line(chr1, "HAVANA", "CDS", 31, 35, "+", t2, "2"),
        gtf_line(chr1, "HAVANA", "stop_codon", 36, 38, "+", t2, "0"),
        gtf_line(chr1, "HAVANA", "UTR", 5, 20, "+", t2),
        gtf_line(chr1, "HAVANA", "UTR", 36, 80, "+", t2),
        gtf_line(chr2, "ENSEMBL", "gene", 3, 70, "-", g2 + " level 3;"),
        gtf_line(chr2, "ENSEMBL", "transcript", 3, 70, "-", t3),
        gtf_line(chr2, "ENSEMBL", "exon", 51, 70, "-", t3),
        gtf_line(chr2, "ENSEMBL", "CDS", 51, 66, "-", t3, "0"),
        gtf_line(chr2, "ENSEMBL", "exon", 21, 40, "-", t3),
        gtf_line(chr2, "ENSEMBL", "CDS", 36, 40, "-", t3, "2"),
        gtf_line(chr2, "ENSEMBL", "stop_codon", 33, 35, "-", t3, "0"),
        gtf_line(chr2, "ENSEMBL", "exon", 3, 15, "-", t3),
        gtf_line(chr2, "ENSEMBL", "UTR", 67, 70, "-", t3),
        gtf_line(chr2, "ENSEMBL", "UTR", 21, 35, "-", t3),
        gtf_line(chr2, "ENSEMBL", "UTR", 3, 15, "-", t3),
        gtf_line(chr1, "HAVANA", "transcript", 72, 80, "-", t4),
        gtf_line(chr1, "HAVANA", "exon", 72, 80, "-", t4),
        gtf_line(chr2, "HAVANA", "transcript", 72, 80, "+", t5),
        gtf_line(chr2, "HAVANA", "exon", 72, 80, "+", t5),
        gtf_line(chr2, "HAVANA", "CDS", 72, 77, "+", t5, "0"),
        gtf_line(chr2, "HAVANA", "stop_codon", 78, 80, "+", t5, "0"),
    ]
    return "".join(rows)


def ensembl_gtf() -> str:
    """Ensembl style (75+): chromosomes '1'/'2', five_prime_utr/three_prime_utr (the 3' ones
    after the stop codon), transcript_biotype, versions in their own attributes."""
    g1 = 'gene_id "G1"; gene_version "1"; gene_name "GENEA"; gene_source "ensembl_havana"; gene_biotype "protein_coding";'
    t1 = (
        g1
        + ' transcript_id "T1"; transcript_version "1"; transcript_biotype "protein_coding"; tag "basic"; tag "Ensembl_canonical";'
    )
    t2 = g1 + ' transcript_id "T2"; transcript_version "1"; transcript_biotype "protein_coding"; tag "basic";'
    g2 = 'gene_id "G2"; gene_version "1"; gene_name "GENEB"; gene_biotype "protein_coding";'
    t3 = (
        g2
        + ' transcript_id "T3"; transcript_version "1"; transcript_biotype "protein_coding"; transcript_support_level "1 (assigned to previous version 2)";'
    )
    rows = [
        "#!genome-build GRCh38.p14\n",
        gtf_line("1", "ensembl_havana", "gene", 5, 80, "+", g1),
        gtf_line("1", "ensembl_havana", "transcript", 5, 70, "+", t1),
        gtf_line("1", "ensembl_havana", "exon", 5, 24, "+", t1),
        gtf_line("1", "ensembl_havana", "CDS", 21, 24, "+", t1, "0"),
        gtf_line("1", "ensembl_havana", "exon", 31, 50, "+", t1),
        gtf_line("1", "ensembl_havana", "CDS", 31, 35, "+", t1, "2"),
        gtf_line("1", "ensembl_havana", "stop_codon", 36, 38, "+", t1, "0"),
        gtf_line("1", "ensembl_havana", "exon", 56, 70, "+", t1),
        gtf_line("1", "ensembl_havana", "five_prime_utr", 5, 20, "+", t1),
        gtf_line("1", "ensembl_havana", "three_prime_utr", 39, 50, "+", t1),
        gtf_line("1", "ensembl_havana", "three_prime_utr", 56, 70, "+", t1),
        gtf_line("1", "ensembl_havana", "transcript", 5, 80, "+", t2),
        gtf_line("1", "ensembl_havana", "exon", 5, 24, "+", t2),
        gtf_line("1", "ensembl_havana", "CDS", 21, 24, "+", t2, "0"),
        gtf_line("1", "ensembl_havana", "exon", 31, 80, "+", t2),
        gtf_line("1", "ensembl_havana", "CDS", 31, 35, "+", t2, "2"),
        gtf_line("1", "ensembl_havana", "stop_codon", 36, 38, "+", t2, "0"),
        gtf_line("1", "ensembl_havana", "five_prime_utr", 5, 20, "+", t2),
        gtf_line("1", "ensembl_havana", "three_prime_utr", 39, 80, "+", t2),
        gtf_line("2", "ensembl", "gene", 3, 70, "-", g2),
        gtf_line("2", "ensembl", "transcript", 3, 70, "-", t3),
        gtf_line("2", "ensembl", "exon", 51, 70, "-", t3),
        gtf_line("2", "ensembl", "CDS", 51, 66, "-", t3, "0"),
        gtf_line("2", "ensembl", "exon", 21, 40, "-", t3),
        gtf_line("2", "ensembl", "CDS", 36, 40, "-", t3, "2"),
        gtf_line("2", "ensembl", "stop_codon", 33, 35, "-", t3, "0"),
        gtf_line("2", "ensembl", "exon", 3, 15, "-", t3),
        gtf_line("2", "ensembl", "five_prime_utr", 67, 70, "-", t3),
        gtf_line("2", "ensembl", "three_prime_utr", 21, 32, "-", t3),
        gtf_line("2", "ensembl", "three_prime_utr", 3, 15, "-", t3),
    ]
    return "".join(rows)


def gff3(with_utrs: bool = True) -> str:
    """GFF3 as Ensembl writes it: gene -> mRNA -> exon/CDS/UTR by ID=/Parent=, the CDS including
    the stop codon, tags as tag=a,b. T1 is tagged MANE_Select only here. Without UTR lines the
    regions come from exons and CDS alone."""
    rows = [
        "##gff-version 3\n",
        "##sequence-region   chr1 1 80\n",
        gtf_line("chr1", "ensembl", "gene", 5, 80, "+", "ID=gene:G1;Name=GENEA;biotype=protein_coding;gene_id=G1"),
        gtf_line(
            "chr1",
            "ensembl",
            "mRNA",
            5,
            70,
            "+",
            "ID=transcript:T1;Parent=gene:G1;biotype=protein_coding;tag=basic,MANE_Select;transcript_id=T1",
        ),
        gtf_line("chr1", "ensembl", "exon", 5, 24, "+", "Parent=transcript:T1;Name=E1"),
        gtf_line("chr1", "ensembl", "exon", 31, 50, "+", "Parent=transcript:T1;Name=E2"),
        gtf_line("chr1", "ensembl", "exon", 56, 70, "+", "Parent=transcript:T1;Name=E3"),
        gtf_line("chr1", "ensembl", "CDS", 21, 24, "+", "ID=CDS:P1;Parent=transcript:T1", "0"),
        gtf_line("chr1", "ensembl", "CDS", 31, 38, "+", "ID=CDS:P1;Parent=transcript:T1", "2"),
        gtf_line(
            "chr1",
            "ensembl",
            "mRNA",
            5,
            80,
            "+",
            "ID=transcript:T2;Parent=gene:G1;biotype=protein_coding;tag=basic;transcript_id=T2",
        ),
        gtf_line("chr1", "ensembl", "exon", 5, 24, "+", "Parent=transcript:T2"),
        gtf_line("chr1", "ensembl", "exon", 31, 80, "+", "Parent=transcript:T2"),
        gtf_line("chr1", "ensembl", "CDS", 21, 24, "+", "ID=CDS:P2;Parent=transcript:T2", "0"),
        gtf_line("chr1", "ensembl", "CDS", 31, 38, "+", "ID=CDS:P2;Parent=transcript:T2", "2"),
        gtf_line("chr1", "ensembl", "ncRNA_gene", 72, 80, "-", "ID=gene:G3;Name=LNC1;biotype=lncRNA;gene_id=G3"),
        gtf_line("chr1", "ensembl", "lnc_RNA", 72, 80, "-", "ID=transcript:T4;Parent=gene:G3;biotype=lncRNA;transcript_id=T4"),
        gtf_line("chr1", "ensembl", "exon", 72, 80, "-", "Parent=transcript:T4"),
        "###\n",
        gtf_line("chr2", "ensembl", "gene", 3, 70, "-", "ID=gene:G2;Name=GENE%3BB;biotype=protein_coding;gene_id=G2"),
        gtf_line(
            "chr2", "ensembl", "mRNA", 3, 70, "-", "ID=transcript:T3;Parent=gene:G2;biotype=protein_coding;transcript_id=T3"
        ),
        gtf_line("chr2", "ensembl", "exon", 51, 70, "-", "Parent=transcript:T3"),
        gtf_line("chr2", "ensembl", "exon", 21, 40, "-", "Parent=transcript:T3"),
        gtf_line("chr2", "ensembl", "exon", 3, 15, "-", "Parent=transcript:T3"),
        gtf_line("chr2", "ensembl", "CDS", 51, 66, "-", "ID=CDS:P3;Parent=transcript:T3", "0"),
        gtf_line("chr2", "ensembl", "CDS", 33, 40, "-", "ID=CDS:P3;Parent=transcript:T3", "2"),
    ]
    if with_utrs:
        rows += [
            gtf_line("chr1", "ensembl", "five_prime_UTR", 5, 20, "+", "Parent=transcript:T1"),
            gtf_line("chr1", "ensembl", "three_prime_UTR", 39, 50, "+", "Parent=transcript:T1"),
            gtf_line("chr1", "ensembl", "three_prime_UTR", 56, 70, "+", "Parent=transcript:T1"),
            gtf_line("chr1", "ensembl", "three_prime_UTR", 39, 80, "+", "Parent=transcript:T2"),
            gtf_line("chr2", "ensembl", "three_prime_UTR", 21, 32, "-", "Parent=transcript:T3"),
            gtf_line("chr2", "ensembl", "three_prime_UTR", 3, 15, "-", "Parent=transcript:T3"),
            gtf_line("chr2", "ensembl", "five_prime_UTR", 67, 70, "-", "Parent=transcript:T3"),
        ]
    return "".join(rows)


def write_genome(path: Path, names=("chr1", "chr2"), width: int = 60) -> Path:
    text = ""
    for name, seq in zip(names, (CHR1, CHR2)):
        text += f">{name} synthetic\n" + "".join(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    path.write_text(text)
    return path


runner = CliRunner()


def run(*args):
    from deeptarget_tools.extract_utrs import app

    return runner.invoke(app, [str(a) for a in args])


def records(path: Path) -> dict[str, tuple[str, str]]:
    """id -> (rest of the header, sequence)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out: dict[str, tuple[str, str]] = {}
    with opener(path, "rt") as f:
        rid = None
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(">"):
                rid, _, rest = line[1:].partition(" ")
                out[rid] = (rest, "")
            else:
                out[rid] = (out[rid][0], out[rid][1] + line)
    return out


@pytest.fixture
def work(tmp_path) -> Path:
    write_genome(tmp_path / "genome.fa")
    (tmp_path / "gencode.gtf").write_text(gencode_gtf())
    return tmp_path


# --------------------------------------------------------------------------- each convention


def test_gencode_gtf_canonical_3utr_both_strands_across_introns(work):
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "u.fa.gz", "--bed", work / "u.bed12",
              "--genes", work / "genes.tsv")  # fmt: skip
    assert res.exit_code == 0, res.output
    recs = records(work / "u.fa.gz")
    assert list(recs) == ["T1.1", "T3.1"]  # genes in file order; T1.1 is the tagged one
    assert recs["T1.1"] == ("gene_id=G1.1 gene_name=GENEA", T1_3UTR)
    assert recs["T3.1"] == ("gene_id=G2.1 gene_name=GENEB", T3_3UTR)
    assert (work / "u.bed12").read_text().splitlines() == [T1_BED, T3_BED]
    genes = (work / "genes.tsv").read_text().splitlines()
    assert genes == [
        "transcript_id\tgene_id\tgene_name\ttranscript_type\tchrom\tstrand\tlength\ttags",
        "T1.1\tG1.1\tGENEA\tprotein_coding\tchr1\t+\t27\tbasic,Ensembl_canonical",
        "T3.1\tG2.1\tGENEB\tprotein_coding\tchr2\t-\t25\t",
    ]
    # the summary line counts what was read and skipped (G3 has no CDS, G4 no 3'UTR)
    summary = res.output.strip().splitlines()[-1]
    assert re.search(
        r"2 3'UTRs written .* from 5 transcripts of 4 genes; .*skipped 1 genes without a CDS, 1 without a 3'UTR", summary
    )
    assert "canonical: 1 tagged, 1 the longest (no tag)" in summary


def test_records_are_rna_60_per_line(work):
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "u.fa", "--transcripts", "longest")
    assert res.exit_code == 0, res.output
    lines = (work / "u.fa").read_text().splitlines()
    assert lines[0] == ">T2.1 gene_id=G1.1 gene_name=GENEA"
    assert lines[1] == T2_3UTR and "T" not in lines[1]


def test_ensembl_gtf_with_chrom_alias_auto_and_table(work):
    (work / "ens.gtf").write_text(ensembl_gtf())
    res = run(
        "--gtf",
        work / "ens.gtf",
        "--genome",
        work / "genome.fa",
        "-o",
        work / "a.fa",
        "--bed",
        work / "a.bed",
        "--chrom-alias",
        "auto",
    )
    assert res.exit_code == 0, res.output
    assert records(work / "a.fa") == {
        "T1": ("gene_id=G1 gene_name=GENEA", T1_3UTR),
        "T3": ("gene_id=G2 gene_name=GENEB", T3_3UTR),
    }
    # the BED names the genome's chromosomes (where the coordinates hold)
    assert (work / "a.bed").read_text().splitlines() == [T1_BED.replace("T1.1", "T1"), T3_BED.replace("T3.1", "T3")]
    assert "mapped to the genome's: 1->chr1, 2->chr2" in res.output
    (work / "alias.tsv").write_text("# annotation\tgenome\n1\tchr1\n2\tchr2\n")
    res = run("--gtf", work / "ens.gtf", "--genome", work / "genome.fa", "-o", work / "b.fa", "--chrom-alias", work / "alias.tsv")
    assert res.exit_code == 0, res.output
    assert (work / "b.fa").read_text() == (work / "a.fa").read_text()


def test_gff3_with_and_without_utr_features(work):
    for name, text in (("with.gff3", gff3(True)), ("without.gff3.gz", None)):
        path = work / name
        if text is None:
            with gzip.open(path, "wt") as f:
                f.write(gff3(False))
        else:
            path.write_text(text)
        out = work / (name + ".fa")
        res = run("--gtf", path, "--genome", work / "genome.fa", "-o", out, "--genes", work / (name + ".tsv"))
        assert res.exit_code == 0, res.output
        assert "differ" not in res.output
        # T1 is tagged MANE_Select (no Ensembl_canonical): still the canonical one; GENE%3BB is 'GENE;B'
        assert records(out) == {"T1": ("gene_id=G1 gene_name=GENEA", T1_3UTR), "T3": ("gene_id=G2 gene_name=GENE;B", T3_3UTR)}
        rows = (work / (name + ".tsv")).read_text().splitlines()
        assert rows[1] == "T1\tG1\tGENEA\tprotein_coding\tchr1\t+\t27\tbasic,MANE_Select"


@pytest.mark.parametrize(
    "region, t1, t3",
    [("5utr", T1_5UTR, T3_5UTR), ("cds", T1_CDS, T3_CDS), ("3utr", T1_3UTR, T3_3UTR)],
)
def test_regions_agree_across_conventions(work, region, t1, t3):
    (work / "ens.gtf").write_text(ensembl_gtf())
    (work / "e.gff3").write_text(gff3(False))
    for name, alias in (("gencode.gtf", []), ("ens.gtf", ["--chrom-alias", "auto"]), ("e.gff3", [])):
        out = work / f"{name}.{region}.fa"
        res = run("--gtf", work / name, "--genome", work / "genome.fa", "-o", out, "--region", region, *alias)
        assert res.exit_code == 0, (name, res.output)
        seqs = {k.split(".")[0]: v[1] for k, v in records(out).items()}
        # T5 (GENCODE excerpt only) is all CDS: chr2 72-77 + its stop codon 78-80
        expected = {"T1": t1, "T3": t3} | ({"T5": "GAUCGAUCG"} if region == "cds" and name == "gencode.gtf" else {})
        assert seqs == expected, name


def test_longest_and_all(work):
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "l.fa", "--transcripts", "longest")
    assert res.exit_code == 0
    assert {k: v[1] for k, v in records(work / "l.fa").items()} == {"T2.1": T2_3UTR, "T3.1": T3_3UTR}
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "a.fa", "--transcripts", "all",
              "--bed", work / "a.bed")  # fmt: skip
    assert res.exit_code == 0
    assert {k: v[1] for k, v in records(work / "a.fa").items()} == {"T1.1": T1_3UTR, "T2.1": T2_3UTR, "T3.1": T3_3UTR}
    assert (work / "a.bed").read_text().splitlines()[1] == "chr1\t38\t80\tT2.1\t0\t+\t38\t80\t0\t1\t42\t0"


def test_canonical_falls_back_to_the_longest_without_a_tag(work):
    text = gencode_gtf().replace(' tag "Ensembl_canonical";', "")
    (work / "notag.gtf").write_text(text)
    res = run("--gtf", work / "notag.gtf", "--genome", work / "genome.fa", "-o", work / "n.fa")
    assert res.exit_code == 0
    assert list(records(work / "n.fa")) == ["T2.1", "T3.1"]
    assert "canonical: 0 tagged, 2 the longest" in res.output


def test_bed_round_trip_through_read_utr_bed(work):
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "u.fa", "--bed", work / "u.bed12",
              "--transcripts", "all")  # fmt: skip
    assert res.exit_code == 0
    annotation = G.read_utr_bed(work / "u.bed12")
    recs = records(work / "u.fa")
    assert sorted(annotation) == sorted(recs)
    for rid, (_, seq) in recs.items():
        assert annotation[rid].length == len(seq)
    # a site across T3's splice junction maps back to two genome blocks: transcript 11-14 is
    # the last 2 nt of its 5' exon 21-32 (genome 22, 21) and the first 2 of exon 3-15 (15, 14)
    assert annotation["T3.1"].to_genome(11, 14) == [(13, 15), (20, 22)]


# --------------------------------------------------------------------------- genome inputs


def test_bgzip_genome_is_indexed_and_plain_gzip_is_streamed(work):
    import pysam

    pysam.tabix_compress(str(work / "genome.fa"), str(work / "g.fa.bgz"))
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "g.fa.bgz", "-o", work / "b.fa")
    assert res.exit_code == 0, res.output
    assert (work / "g.fa.bgz.fai").is_file() and (work / "g.fa.bgz.gzi").is_file()
    assert "by its faidx index" in res.output
    with gzip.open(work / "g.fa.gz", "wt") as f:
        f.write((work / "genome.fa").read_text())
    res2 = run("--gtf", work / "gencode.gtf", "--genome", work / "g.fa.gz", "-o", work / "z.fa")
    assert res2.exit_code == 0, res2.output
    assert "plain gzip" in res2.output and "bgzip" in res2.output and "streamed whole" in res2.output
    assert not (work / "g.fa.gz.fai").exists()
    expected = {"T1.1": T1_3UTR, "T3.1": T3_3UTR}
    assert {k: v[1] for k, v in records(work / "b.fa").items()} == expected
    assert {k: v[1] for k, v in records(work / "z.fa").items()} == expected


def test_stale_index_is_rebuilt(work):
    genome = work / "genome.fa"
    fai = work / "genome.fa.fai"
    fai.write_text("chr1\t80\t999\t60\t61\n")  # wrong offsets: would give the wrong sequence
    os.utime(fai, (1_000_000, 1_000_000))  # older than the FASTA
    res = run("--gtf", work / "gencode.gtf", "--genome", genome, "-o", work / "s.fa")
    assert res.exit_code == 0, res.output
    assert {k: v[1] for k, v in records(work / "s.fa").items()} == {"T1.1": T1_3UTR, "T3.1": T3_3UTR}
    assert "chr2" in fai.read_text()


def irregular_genome(path: Path) -> None:
    """Lines of different lengths (faidx cannot index them), lower case (soft-masked), chr2 first."""
    path.write_text(">chr2\n" + CHR2[:7].lower() + "\n" + CHR2[7:] + "\n>chr1\n" + CHR1[:50] + "\n" + CHR1[50:] + "\n")


def test_irregular_lines_are_streamed(work):
    irregular_genome(work / "irr.fa")
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "irr.fa", "-o", work / "o.fa")
    assert res.exit_code == 0, res.output
    assert "faidx could not index it" in res.output and "streamed whole" in res.output
    assert "[E::" not in res.output  # htslib's own lines are kept off stderr
    assert not (work / "irr.fa.fai").exists()
    assert {k: v[1] for k, v in records(work / "o.fa").items()} == {"T1.1": T1_3UTR, "T3.1": T3_3UTR}


def test_read_only_folder_is_indexed_for_the_run(work, monkeypatch):
    """A genome in a folder that cannot be written (simulated: root can write anywhere): the
    index is built in a temporary folder for this run; nothing is written beside the genome."""
    ro = work / "ro"
    ro.mkdir()
    write_genome(ro / "genome.fa")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == ro else real_access(p, mode))
    res = run("--gtf", work / "gencode.gtf", "--genome", ro / "genome.fa", "-o", work / "o.fa")
    assert res.exit_code == 0, res.output
    assert "folder is not writable: indexed for this run only" in res.output and "read by its faidx index" in res.output
    assert [p.name for p in ro.iterdir()] == ["genome.fa"]
    assert {k: v[1] for k, v in records(work / "o.fa").items()} == {"T1.1": T1_3UTR, "T3.1": T3_3UTR}


def test_command_line_entry_point(work):
    import subprocess

    res = subprocess.run(
        [str(BIN / "dt-extract-utrs"), "--gtf", str(work / "gencode.gtf"), "--genome", str(work / "genome.fa"), "-q"],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    assert res.stdout == f">T1.1 gene_id=G1.1 gene_name=GENEA\n{T1_3UTR}\n>T3.1 gene_id=G2.1 gene_name=GENEB\n{T3_3UTR}\n"


# --------------------------------------------------------------------------- bad input


def listing(work: Path) -> set[str]:
    """The folder's files but the genome's index (built on the way, not an output)."""
    return {p.name for p in work.iterdir() if not p.name.endswith((".fai", ".gzi"))}


def assert_one_error(res, where: str, pattern: str, work: Path, before: set[str]) -> None:
    assert res.exit_code == 1, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.output
    assert "Traceback" not in res.output
    assert where in errors[0], (where, errors[0])
    assert re.search(pattern, errors[0]), (pattern, errors[0])
    assert listing(work) == before, "no output (nor temporary file) left"


def _bad(work: Path, text: str, name: str = "bad.gtf"):
    (work / name).write_text(text)
    before = listing(work)
    res = run("--gtf", work / name, "--genome", work / "genome.fa", "-o", work / "o.fa.gz", "--bed", work / "o.bed",
              "--genes", work / "o.tsv")  # fmt: skip
    return res, before


def _replace_line(text: str, n: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[n - 1] = new
    return "".join(lines)


def test_bad_field_count(work):
    text = gencode_gtf()
    line5 = text.splitlines()[4]
    res, before = _bad(work, _replace_line(text, 5, line5.replace("\t", " ", 1) + "\n"))
    assert_one_error(res, "bad.gtf:5:", r"expected 9 tab-separated fields .* found 8", work, before)


def test_unknown_attribute_syntax(work):
    text = gencode_gtf()
    line = text.splitlines()[7]  # an exon line, attributes in some other syntax
    bad = "\t".join(line.split("\t")[:8] + ['gene_id: "G1.1", transcript_id: "T1.1"']) + "\n"
    res, before = _bad(work, _replace_line(text, 8, bad))
    assert_one_error(res, "bad.gtf:8:", r"unknown attribute syntax", work, before)
    with pytest.raises(Exception, match="unknown attribute syntax"):
        parse_gtf_attributes('gene_id "a"; broken"', "x", 1)


def test_overlapping_exons(work):
    text = gencode_gtf().replace("\texon\t31\t50\t.\t+\t", "\texon\t20\t50\t.\t+\t", 1)  # T1 exon 2 overlaps exon 1 (5-24)
    res, before = _bad(work, text)
    assert_one_error(res, "bad.gtf:8:", r"exon 20-50 of transcript 'T1.1' overlaps its exon 5-24 \(line 5\)", work, before)


def test_cds_outside_exons(work):
    text = gencode_gtf().replace("\tCDS\t36\t40\t.\t-\t", "\tCDS\t41\t48\t.\t-\t", 1)  # T3: 41-48 is intron
    res, before = _bad(work, text)
    assert_one_error(res, "bad.gtf:28:", r"CDS 41-48 of transcript 'T3.1' lies outside its exons", work, before)


def test_chromosome_missing_names_both_spellings(work):
    (work / "ens.gtf").write_text(ensembl_gtf())
    before = listing(work)
    res = run("--gtf", work / "ens.gtf", "--genome", work / "genome.fa", "-o", work / "o.fa", "--bed", work / "o.bed")
    assert_one_error(
        res,
        "ens.gtf:3:",
        r"chromosome '1' .* not in the genome .*genome\.fa; the genome spells it 'chr1'.*--chrom-alias",
        work,
        before,
    )
    # a chromosome no spelling finds
    (work / "alias.tsv").write_text("1\tchr1\n2\tchrZ\n")
    res = run("--gtf", work / "ens.gtf", "--genome", work / "genome.fa", "-o", work / "o.fa", "--chrom-alias", work / "alias.tsv")
    before = listing(work)
    assert_one_error(res, "ens.gtf:", r"'2' .* is 'chrZ' by the alias table, which the genome .* lacks", work, before)


def test_genome_that_is_not_fasta(work):
    (work / "notfasta.fa").write_text("chr1\t80\nchr2\t80\n")
    before = listing(work)
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "notfasta.fa", "-o", work / "o.fa", "--bed", work / "o.bed")
    assert_one_error(res, "notfasta.fa:1:", r"not a FASTA file", work, before)


def test_exon_past_the_chromosome_end(work):
    text = gencode_gtf().replace("\texon\t31\t80\t.\t+\t", "\texon\t31\t95\t.\t+\t", 1)  # T2 runs past chr1's 80 nt
    (work / "long.gtf").write_text(text)
    before = listing(work)
    res = run("--gtf", work / "long.gtf", "--genome", work / "genome.fa", "-o", work / "o.fa", "--transcripts", "all")
    assert_one_error(res, "long.gtf:", r"T2.1.* past the end of chr1 .*80 nt", work, before)


def test_bad_alias_table(work):
    (work / "alias.tsv").write_text("chr1 chr1\n")
    before = listing(work)
    res = run(
        "--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "o.fa", "--chrom-alias", work / "alias.tsv"
    )
    assert_one_error(res, "alias.tsv:1:", r"two tab-separated names", work, before)


def test_interrupt_leaves_no_output(work, monkeypatch):
    from deeptarget_core import genome_sequences

    def interrupted(regions, seqs, chroms, fasta, bed, genes, width=60):
        fasta.write(">partial\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(genome_sequences, "write_outputs", interrupted)
    before = listing(work)
    res = run("--gtf", work / "gencode.gtf", "--genome", work / "genome.fa", "-o", work / "o.fa", "--bed", work / "o.bed")
    assert res.exit_code == 130
    assert res.output.strip().splitlines()[-1] == "error: interrupted"
    assert listing(work) == before
