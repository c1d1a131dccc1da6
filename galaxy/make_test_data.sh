#!/usr/bin/env bash
# Regenerate galaxy/test-data with the suite's own tools (deterministic: same bytes every run).
#   bash galaxy/make_test_data.sh [BIN]      BIN defaults to .venv/bin
# Inputs are cut from the bundled example (examples/), expected outputs are written by dt-*.
# Wrappers whose tool is not implemented yet get no expected output (their section is skipped).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/.venv/bin}
# absolute: the script runs inside test-data, and `make galaxy-test-data` passes a relative BIN
bin=$(cd "$root" && cd "$bin" && pwd)
td=$here/test-data
mkdir -p "$td"
cd "$td"

# inputs: 2 miRNAs x 4 synthetic UTRs with planted sites: UTR001 (let-7a target), UTR002
# (let-7a non-target: 6mer/offset-6mer only), UTR003 (miR-21 target), UTR004 (miR-21 non-target)
head -n 4 "$root/examples/mirnas.fa" > mirnas.fa
zcat "$root/examples/utrs.fa.gz" | awk '/^>/{n++} n<=4' > utrs.fa
gzip -n -c utrs.fa > utrs.fa.gz
# two pairs: a non-target with a planted 6mer, a target with a planted 8mer
printf 'mirna_id\tmrna_id\nhsa-let-7a-5p\tUTR002_let-7a-5p_6mer+offset-6mer\nhsa-miR-21-5p\tUTR003_miR-21-5p_8mer+7mer-A1\n' > pairs_ids.tsv
# bad input: a miRNA with letters that are not nucleotides
printf '>bad-miR\nUGAGGUAGXXGGUUGUAUAGUU\n' > bad_mirnas.fa
# miRBase's layout: two species and a record longer than a miRNA can be (skipped with a warning)
printf '>hsa-let-7a-5p MIMAT0000062 Homo sapiens let-7a-5p\nUGAGGUAGUAGGUUGUAUAGUU\n>mmu-let-7a-5p MIMAT0000521 Mus musculus let-7a-5p\nUGAGGUAGUAGGUUGUAUAGUU\n>cqu-miR-2951-3p MIMAT0014381 Culex quinquefasciatus miR-2951-3p\nUCAGUAGGCUCGACGCGUUGCAUGCUCAGUACG\n' > mature_mirbase.fa
# bad input: a site table whose header is wrong
printf 'not\ta\tsite\ttable\nx\ty\tz\tw\n' > bad_sites.tsv
# a synthetic UTR annotation (BED12: 1-3 exons, both strands) for the genome-coordinate tests
"$bin/python" "$root/examples/make_utr_bed.py" utrs.fa > utrs.bed12

# dt-scan-cts
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa -o sites.tsv
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa --utr-bed utrs.bed12 --format bed -o sites.bed
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa.gz --site-types relaxed --cts-length 30 -o sites_relaxed_30.tsv
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa --id-pairs pairs_ids.tsv -o sites_pairs.tsv

# positives: 4 labelled gene-level pairs (whole UTRs) of the example; miR-21 is left out so that
# the dt-pretrain test's extra miRNA FASTA (mirnas.fa: let-7a, miR-21) adds a miRNA
awk -F'\t' 'NR==1 || ($5==1 && $1!="hsa-miR-21-5p" && n++<4)' "$root/examples/pairs.tsv" > positives.tsv
printf 'mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\nmiR-x\tUGAGGUAGUAGG\n' > bad_pairs.tsv

implemented() { local h; h=$("$bin/$1" --help 2>&1 || true); [[ ${h,,} != *"not implemented"* ]]; }

if implemented dt-make-negatives; then
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 1 -o negatives.tsv --mock-fasta mocks.fa
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 1 --ratio 2 --include-positives -o training_pairs.tsv
    "$bin/dt-make-negatives" -q --mirna mirnas.fa --utr utrs.fa --id-pairs pairs_ids.tsv --seed 3 --format sites -o negative_sites.tsv
fi
if implemented dt-predict; then
    "$bin/dt-predict" -q sites.tsv --mirna mirnas.fa --model seed-match --aggregate max -o sites_scored_seedmatch.tsv --gene-output genes_seedmatch.tsv
    "$bin/dt-predict" -q sites.tsv --mirna mirnas.fa --utr utrs.fa.gz -o /dev/null --gene-output genes_model.tsv
    "$bin/dt-predict" -q --mirna mirnas.fa --utr utrs.fa.gz --model seed-match --aggregate poisson -o utr_sites_scored_poisson.tsv --gene-output genes_poisson.tsv
    "$bin/dt-predict" -q --mirna mirnas.fa --utr utrs.fa --utr-bed utrs.bed12 --format bed12 --model seed-match -o sites_scored.bed
    "$bin/dt-predict" -q --pair-table positives.tsv --model seed-match --aggregate max -o pairs_sites_scored.tsv --gene-output pairs_genes.tsv
fi
if implemented dt-pretrain && implemented dt-train; then
    # a validation set from other mock miRNAs, autoencoders and a 2-epoch model (CPU, 1 thread).
    # These two checkpoints are the only files here that depend on the model code (model.py,
    # train.py); no file depends on the packaged default model. The dt-explain test explains
    # seed-match-ranked sites with model.pt, so its expected site ids do not depend on the model.
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 2 --include-positives -o val_pairs.tsv
    "$bin/dt-pretrain" -q --pair-table training_pairs.tsv --epochs 1 --seed 1 --device cpu -p 1 -o autoencoders.pt
    "$bin/dt-train" -q --train training_pairs.tsv --val val_pairs.tsv --pretrained autoencoders.pt --epochs 2 \
        --seed 1 --device cpu -p 1 -o model.pt --log /dev/null
fi
if implemented dt-predict && implemented dt-eval; then
    # labelled gene-level predictions: the 40 labelled pairs of the example, seed-match scores
    "$bin/dt-predict" -q --pair-table "$root/examples/pairs.tsv" --model seed-match --aggregate max -o /dev/null --gene-output labelled_genes.tsv
    # labels of the 2 x 4 pairs of mirnas.fa x utrs.fa: the example's label where it has the pair, else 0
    awk -F'\t' 'FILENAME==ARGV[1] {if (FNR>1) lab[$1 "\t" $3]=$5; next}
        FILENAME==ARGV[2] {if (/^>/) m[++nm]=substr($1,2); next}
        /^>/ {u[++nu]=substr($1,2)}
        END {print "mirna_id\tmrna_id\tlabel"; for (i=1;i<=nm;i++) for (j=1;j<=nu;j++) {k=m[i] "\t" u[j]; print k "\t" ((k in lab) ? lab[k] : 0)}}' \
        "$root/examples/pairs.tsv" mirnas.fa utrs.fa > labels.tsv
    "$bin/dt-eval" -q labelled_genes.tsv --name seed-match -o metrics.tsv
    "$bin/dt-eval" -q genes_seedmatch.tsv --labels labels.tsv --name seed-match --threshold 0.6 -o metrics_labels.tsv
fi
# the gene model: a small synthetic functional table (fold changes of 70 genes after let-7a
# over-expression and a miR-21 knockout, a planted 3'-pairing rule), its UTRs and a labelled
# gene-level pair table, from a seeded script; then a gene model, the gene scores of the
# functional genes (gene model; max for comparison) and their functional evaluation
"$bin/python" "$root/examples/make_functional.py" .
if implemented dt-train && implemented dt-predict && implemented dt-eval; then
    "$bin/dt-train" -q --level gene --functional functional.tsv --utr functional_utrs.fa --pair-table functional_pairs.tsv \
        --seed 1 -p 1 -o gene_model.pt
    "$bin/dt-predict" -q --mirna mirnas.fa --utr functional_utrs.fa --model seed-match --gene-model gene_model.pt \
        -o /dev/null --gene-output functional_genes.tsv
    "$bin/dt-predict" -q --mirna mirnas.fa --utr functional_utrs.fa --model seed-match --aggregate max \
        -o /dev/null --gene-output functional_genes_max.tsv
    # named as Galaxy names them (the dataset names)
    "$bin/dt-eval" -q functional_genes.tsv functional_genes_max.tsv --name functional_genes.tsv --name functional_genes_max.tsv \
        --functional functional.tsv --utr functional_utrs.fa -o functional_eval.tsv
fi
echo "test-data written to $td" >&2
