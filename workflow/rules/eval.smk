# ---- evaluation of gene-level scores against known labels -----------------------------------
rule eval_genes:
    input:
        genes=f"{OUT}/genes.tsv",
        labels=LABELS or [],
    output:
        metrics=f"{OUT}/metrics.tsv",
        plots=directory(f"{OUT}/plots"),
    log:
        f"{OUT}/logs/eval.log",
    threads: 1
    resources:
        mem_mb=res("eval", "mem_mb", 2000),
        runtime=res("eval", "runtime", 30),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-eval {input.genes:q} --labels {input.labels:q} -o {output.metrics:q} --plots {output.plots:q} 2> {log:q}"
