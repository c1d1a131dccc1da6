# ---- reference inputs: the miRNAs the run uses, and 3'UTRs from an annotation ---------------
rule select_mirnas:
    input:
        config["mirna"],
    output:
        f"{OUT}/mirnas.fa",
    log:
        f"{OUT}/logs/select_mirnas.log",
    params:
        script=script("select_mirnas.py"),
        species=f"--species {shlex.quote(SPECIES)}" if SPECIES else "",
        strict="--strict" if STRICT else "",
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "python {params.script:q} {input:q} {output:q} {params.species} {params.strict} 2> {log:q}"


# With annotation.gtf set, the UTRs come from it and annotation.genome (dt-extract-utrs): the
# FASTA (gene names in the headers, which the gene table reads), the BED12 and the genes table.
rule extract_utrs:
    input:
        gtf=ANNOTATION.get("gtf") or "no-annotation",
        genome=ANNOTATION.get("genome") or "no-genome",
    output:
        utrs=f"{OUT}/utrs.fa.gz",
        bed=f"{OUT}/utrs.bed12",
        genes=f"{OUT}/genes_of_utrs.tsv",
    log:
        f"{OUT}/logs/extract_utrs.log",
    params:
        transcripts=ANNOTATION.get("transcripts", "canonical"),
        alias=f"--chrom-alias {shlex.quote(ANNOTATION['chrom_alias'])}" if ANNOTATION.get("chrom_alias") else "",
    threads: 1
    resources:
        mem_mb=res("extract_utrs", "mem_mb", 2000),
        runtime=res("extract_utrs", "runtime", 60),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-extract-utrs --gtf {input.gtf:q} --genome {input.genome:q} --transcripts {params.transcripts} {params.alias} "
        "-o {output.utrs:q} --bed {output.bed:q} --genes {output.genes:q} 2> {log:q}"
