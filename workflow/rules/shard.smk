# ---- sharding: UTRs into N chunks balanced by length, miRNAs into M groups -------------------


rule shard_utr:
    input:
        UTR,
    output:
        expand(f"{OUT}/shards/utr_{{c}}.fa", c=CHUNKS),
    log:
        f"{OUT}/logs/shard_utr.log",
    params:
        script=script("shard_fasta.py"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=30,
    conda:
        "../envs/python.yaml"
    shell:
        "python {params.script:q} {input:q} {output:q} 2> {log:q}"


rule shard_mirna:
    input:
        MIRNA,
    output:
        expand(f"{OUT}/shards/mirna_{{g}}.fa", g=GROUPS),
    log:
        f"{OUT}/logs/shard_mirna.log",
    params:
        script=script("shard_fasta.py"),
    threads: 1
    resources:
        mem_mb=500,
        runtime=10,
    conda:
        "../envs/python.yaml"
    shell:
        "python {params.script:q} {input:q} {output:q} 2> {log:q}"
