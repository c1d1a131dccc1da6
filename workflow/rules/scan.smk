# ---- scan: one job per (miRNA group, UTR chunk) ---------------------------------------------
rule scan:
    input:
        mirna=f"{OUT}/shards/mirna_{{g}}.fa",
        utr=f"{OUT}/shards/utr_{{c}}.fa",
    output:
        f"{OUT}/shards/sites_g{{g}}_c{{c}}.tsv",
    log:
        f"{OUT}/logs/scan_g{{g}}_c{{c}}.log",
    benchmark:
        f"{OUT}/benchmarks/scan_g{{g}}_c{{c}}.tsv"
    params:
        site_types=config["scan"]["site_types"],
        cts_length=config["scan"]["cts_length"],
    threads: res("scan", "threads", 1)
    resources:
        mem_mb=res("scan", "mem_mb", 2000),
        runtime=res("scan", "runtime", 60),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        # a shard can be empty when there are fewer records than shards: header-only output
        """
        if [ -s {input.mirna:q} ] && [ -s {input.utr:q} ]; then
            dt-scan-cts --mirna {input.mirna:q} --utr {input.utr:q} --site-types {params.site_types} \
                --cts-length {params.cts_length} -o {output:q} 2> {log:q}
        else
            printf 'mirna_id\\tmrna_id\\tsite_type\\tsite_start\\tsite_end\\tcts_start\\tcts_end\\tcts_seq\\n' > {output:q}
        fi
        """


# ---- predict: site scores and gene-level scores per shard -----------------------------------
rule predict:
    input:
        sites=f"{OUT}/shards/sites_g{{g}}_c{{c}}.tsv",
        # the whole miRNA FASTA (small): an empty shard still gets header-only outputs
        mirna=MIRNA,
        # the shard's UTRs: the gene model (and poisson) need them
        utr=f"{OUT}/shards/utr_{{c}}.fa",
    output:
        sites=f"{OUT}/shards/scored_g{{g}}_c{{c}}.tsv",
        genes=f"{OUT}/shards/genes_g{{g}}_c{{c}}.tsv",
    log:
        f"{OUT}/logs/predict_g{{g}}_c{{c}}.log",
    benchmark:
        f"{OUT}/benchmarks/predict_g{{g}}_c{{c}}.tsv"
    params:
        model=f"--model {shlex.quote(config['predict']['model'])}" if config["predict"]["model"] else "",
        aggregate=config["predict"]["aggregate"],
        batch_size=config["predict"]["batch_size"],
        device=config["predict"]["device"],
    threads: res("predict", "threads", 4)
    resources:
        mem_mb=res("predict", "mem_mb", 4000),
        runtime=res("predict", "runtime", 120),
        gpu=res("predict", "gpu", 0),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        # an empty UTR shard (more chunks than UTRs) has no UTRs to give: no --utr then
        """
        utr=()
        if [ -s {input.utr:q} ]; then utr=(--utr {input.utr:q}); fi
        dt-predict {input.sites:q} --mirna {input.mirna:q} "${{utr[@]}}" {params.model} --aggregate {params.aggregate} \
            --batch-size {params.batch_size} --device {params.device} --threads {threads} \
            -o {output.sites:q} --gene-output {output.genes:q} 2> {log:q}
        """


# ---- merge: one table each, in single-process order -----------------------------------------
rule merge:
    input:
        tables=lambda w: shard_tables({"sites": "sites", "sites_scored": "scored", "genes": "genes"}[w.table]),
        mirna=MIRNA,
        utr=UTR,
    output:
        f"{OUT}/{{table}}.tsv",
    wildcard_constraints:
        table="sites|sites_scored|genes",
    log:
        f"{OUT}/logs/merge_{{table}}.log",
    params:
        script=script("merge_tables.py"),
    threads: 1
    resources:
        mem_mb=res("merge", "mem_mb", 1000),
        runtime=res("merge", "runtime", 30),
    conda:
        "../envs/python.yaml"
    shell:
        "python {params.script:q} --mirna {input.mirna:q} --utr {input.utr:q} -o {output:q} {input.tables:q} 2> {log:q}"
