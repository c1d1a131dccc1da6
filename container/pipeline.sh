#!/usr/bin/env bash
# The commands `make container-test` runs twice, on the host installation and inside the image,
# in a work directory holding mirnas.fa, utrs.fa.gz and pairs.tsv (copied from examples/).
# container/compare.py then checks that both runs wrote the same tables.
set -euo pipefail
# every tool, as a user would call it; the scan piped into the prediction
dt-scan-cts --mirna mirnas.fa --utr utrs.fa.gz -o sites.tsv
dt-scan-cts --mirna mirnas.fa --utr utrs.fa.gz \
    | dt-predict - --mirna mirnas.fa -o sites_scored.tsv --gene-output genes.tsv
dt-predict --pairs pairs.tsv -o pairs_sites.tsv --gene-output pairs_genes.tsv
# the baseline's gene scores are its best site's score (max): the packaged gene model does
# not read site scores, so it would give the same table as the line above
dt-predict --pairs pairs.tsv --model seed-match --aggregate max -o pairs_sites_seedmatch.tsv \
    --gene-output pairs_genes_seedmatch.tsv
dt-eval pairs_genes.tsv pairs_genes_seedmatch.tsv --name deeptarget --name seed-match \
    --group-by mirna -o metrics.tsv --plots plots
dt-explain sites_scored.tsv --mirna mirnas.fa --top 3 --outdir explain --no-svg
# a short training run: negatives, autoencoder pre-training, two epochs of fine-tuning,
# then the new model scores the sites
dt-make-negatives --positives pairs.tsv --include-positives --seed 5 -o train.tsv \
    --mock-fasta mocks.fa 2>negatives.log
dt-pretrain --pairs train.tsv --epochs 1 -p 1 --seed 3 -o ae.pt 2>pretrain.log
dt-train --train train.tsv --val train.tsv --pretrained ae.pt --epochs 2 -p 1 --seed 3 \
    -o model.pt 2>train.log
dt-predict sites.tsv --mirna mirnas.fa --model model.pt -o sites_trained.tsv
