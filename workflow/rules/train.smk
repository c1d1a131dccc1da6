# ---- training branch: negatives -> pretrain -> K folds in parallel -> eval ------------------
rule negatives:
    # mock-miRNA negatives plus the positives cut to CTS windows: a ready training set
    input:
        config["train"]["positives"] or [],
    output:
        f"{TOUT}/training_pairs.tsv",
    log:
        f"{TOUT}/logs/negatives.log",
    params:
        seed=config["train"]["seed"],
        ratio=config["train"].get("ratio", 1.0),
    threads: res("negatives", "threads", 1)
    resources:
        mem_mb=res("negatives", "mem_mb", 4000),
        runtime=res("negatives", "runtime", 120),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-make-negatives --positives {input:q} --include-positives --ratio {params.ratio}"
        " --seed {params.seed} -o {output:q} 2> {log:q}"


rule cv_folds:
    input:
        f"{TOUT}/training_pairs.tsv",
    output:
        train=expand(f"{TOUT}/folds/train_{{k}}.tsv", k=FOLDS),
        stop=expand(f"{TOUT}/folds/stop_{{k}}.tsv", k=FOLDS),
        val=expand(f"{TOUT}/folds/val_{{k}}.tsv", k=FOLDS),
    log:
        f"{TOUT}/logs/cv_folds.log",
    params:
        script=script("cv_folds.py"),
        folds=len(FOLDS),
        seed=config["train"]["seed"],
        outdir=lambda w, output: os.path.dirname(output.train[0]),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../envs/deeptarget.yaml"
    shell:
        # the fold maker of dt-train --cv (deeptarget_core.train.cv_folds), grouped by miRNA
        "python {params.script:q} --pairs {input:q} --folds {params.folds}"
        " --seed {params.seed} --group-by source_mirna_id,mirna_id --outdir {params.outdir:q} 2> {log:q}"


rule pretrain:
    # unsupervised: every miRNA and CTS of the training set (labels ignored)
    input:
        f"{TOUT}/training_pairs.tsv",
    output:
        f"{TOUT}/autoencoders.pt",
    log:
        f"{TOUT}/logs/pretrain.log",
    benchmark:
        f"{TOUT}/benchmarks/pretrain.tsv"
    params:
        seed=config["train"]["seed"],
        device=config["train"]["device"],
        epochs=config["train"].get("pretrain_epochs", 3),
    threads: res("pretrain", "threads", 4)
    resources:
        mem_mb=res("pretrain", "mem_mb", 8000),
        runtime=res("pretrain", "runtime", 240),
        gpu=res("pretrain", "gpu", 1),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-pretrain --pair-table {input:q} --epochs {params.epochs} --seed {params.seed} --device {params.device}"
        " --threads {threads} -o {output:q} 2> {log:q}"


rule train_fold:
    # early stopping on stop_k (groups held apart from the training part), never on the
    # held-out fold val_k that predict_fold scores
    input:
        train=f"{TOUT}/folds/train_{{k}}.tsv",
        val=f"{TOUT}/folds/stop_{{k}}.tsv",
        pretrained=f"{TOUT}/autoencoders.pt",
    output:
        model=f"{TOUT}/fold_{{k}}/model.pt",
        log_tsv=f"{TOUT}/fold_{{k}}/train_log.tsv",
    log:
        f"{TOUT}/logs/train_fold_{{k}}.log",
    benchmark:
        f"{TOUT}/benchmarks/train_fold_{{k}}.tsv"
    params:
        seed=config["train"]["seed"],
        device=config["train"]["device"],
        epochs=config["train"].get("epochs", 30),
        extra=config["train"].get("extra_args", ""),
    threads: res("train", "threads", 4)
    resources:
        mem_mb=res("train", "mem_mb", 8000),
        runtime=res("train", "runtime", 480),
        gpu=res("train", "gpu", 1),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-train --train {input.train:q} --val {input.val:q} --pretrained {input.pretrained:q} {params.extra}"
        " --epochs {params.epochs} --seed {params.seed} --device {params.device} --threads {threads}"
        " --log {output.log_tsv:q} -o {output.model:q} 2> {log:q}"


rule predict_fold:
    input:
        val=f"{TOUT}/folds/val_{{k}}.tsv",
        model=f"{TOUT}/fold_{{k}}/model.pt",
    output:
        f"{TOUT}/fold_{{k}}/val_scored.tsv",
    log:
        f"{TOUT}/logs/predict_fold_{{k}}.log",
    threads: res("predict", "threads", 4)
    resources:
        mem_mb=res("predict", "mem_mb", 4000),
        runtime=res("predict", "runtime", 120),
        gpu=res("predict", "gpu", 0),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-predict --pair-table {input.val:q} --level site --model {input.model:q} --device cpu --threads {threads}"
        " -o {output:q} 2> {log:q}"


rule cv_eval:
    input:
        expand(f"{TOUT}/fold_{{k}}/val_scored.tsv", k=FOLDS),
    output:
        metrics=f"{TOUT}/cv_metrics.tsv",
        plots=directory(f"{TOUT}/cv_plots"),
    log:
        f"{TOUT}/logs/cv_eval.log",
    params:
        names=" ".join(f"--name fold_{k}" for k in FOLDS),
    threads: 1
    resources:
        mem_mb=res("eval", "mem_mb", 2000),
        runtime=res("eval", "runtime", 30),
    conda:
        "../envs/deeptarget.yaml"
    shell:
        "dt-eval {input:q} {params.names} -o {output.metrics:q} --plots {output.plots:q} 2> {log:q}"
