#!/usr/bin/env bash
# Regenerate galaxy/test-data with the suite's own tools (deterministic: same bytes every run).
#   bash galaxy/make_test_data.sh [BIN]      BIN defaults to .venv/bin
# Inputs are cut from the bundled example (examples/), expected outputs are written by dt-*.
# Wrappers whose tool is not implemented yet get no expected output (their section is skipped).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${1:-$root/.venv/bin}
td=$here/test-data
mkdir -p "$td"
cd "$td"

# inputs: 2 miRNAs x 4 synthetic UTRs with planted sites
head -n 4 "$root/examples/mirnas.fa" > mirnas.fa
zcat "$root/examples/utrs.fa.gz" | awk '/^>/{n++} n<=4' > utrs.fa
gzip -n -c utrs.fa > utrs.fa.gz
printf 'mirna_id\tmrna_id\nhsa-let-7a-5p\tUTR001_let-7a-5p_7mer-A1+7mer-m8\nhsa-miR-21-5p\tUTR002_miR-21-5p_6mer+offset-6mer\n' > pairs_ids.tsv
# bad input: a miRNA with letters that are not nucleotides
printf '>bad-miR\nUGAGGUAGXXGGUUGUAUAGUU\n' > bad_mirnas.fa
# bad input: a site table whose header is wrong
printf 'not\ta\tsite\ttable\nx\ty\tz\tw\n' > bad_sites.tsv

# dt-scan-cts
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa -o sites.tsv
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa.gz --site-types relaxed --cts-length 30 -o sites_relaxed_30.tsv
"$bin/dt-scan-cts" -q --mirna mirnas.fa --utr utrs.fa --pairs pairs_ids.tsv -o sites_pairs.tsv

# positives: 4 labelled gene-level pairs (whole UTRs) of the example
awk -F'\t' 'NR==1 || ($5==1 && n++<4)' "$root/examples/pairs.tsv" > positives.tsv
printf 'mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\nmiR-x\tUGAGGUAGUAGG\n' > bad_pairs.tsv

implemented() { local h; h=$("$bin/$1" --help 2>&1 || true); [[ ${h,,} != *"not implemented"* ]]; }

if implemented dt-make-negatives; then
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 1 -o negatives.tsv --mock-fasta mocks.fa
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 1 --ratio 2 --include-positives -o training_pairs.tsv
    "$bin/dt-make-negatives" -q --mirna mirnas.fa --utr utrs.fa --pairs pairs_ids.tsv --seed 3 --format sites -o negative_sites.tsv
fi
if implemented dt-predict; then
    "$bin/dt-predict" -q sites.tsv --mirna mirnas.fa --model seed-match -o sites_scored_seedmatch.tsv --gene-output genes_seedmatch.tsv
    "$bin/dt-predict" -q --mirna mirnas.fa --utr utrs.fa.gz --model seed-match --aggregate poisson -o utr_sites_scored_poisson.tsv --gene-output genes_poisson.tsv
    "$bin/dt-predict" -q --pairs positives.tsv --model seed-match -o pairs_sites_scored.tsv --gene-output pairs_genes.tsv
fi
if implemented dt-pretrain && implemented dt-train; then
    # a validation set from other mock miRNAs, autoencoders and a 2-epoch model (CPU, 1 thread)
    "$bin/dt-make-negatives" -q --positives positives.tsv --seed 2 --include-positives -o val_pairs.tsv
    "$bin/dt-pretrain" -q --pairs training_pairs.tsv --epochs 1 --seed 1 --device cpu -p 1 -o autoencoders.pt
    "$bin/dt-train" -q --train training_pairs.tsv --val val_pairs.tsv --pretrained autoencoders.pt --epochs 2 \
        --seed 1 --device cpu -p 1 -o model.pt --log /dev/null
    if implemented dt-predict; then
        "$bin/dt-predict" -q sites.tsv --mirna mirnas.fa --model model.pt --device cpu -p 1 -o sites_scored_model.tsv
    fi
fi
if implemented dt-predict && implemented dt-eval; then
    # labelled gene-level predictions: the 40 labelled pairs of the example, seed-match scores
    "$bin/dt-predict" -q --pairs "$root/examples/pairs.tsv" --model seed-match -o /dev/null --gene-output labelled_genes.tsv
    printf 'mirna_id\tmrna_id\tlabel\nhsa-let-7a-5p\tUTR001_let-7a-5p_7mer-A1+7mer-m8\t1\nhsa-let-7a-5p\tUTR002_miR-21-5p_6mer+offset-6mer\t0\nhsa-miR-21-5p\tUTR002_miR-21-5p_6mer+offset-6mer\t1\nhsa-miR-21-5p\tUTR003_miR-155-5p_8mer+7mer-A1\t0\nhsa-miR-21-5p\tUTR004_miR-1-3p_offset-6mer\t0\n' > labels.tsv
    "$bin/dt-eval" -q labelled_genes.tsv --name seed-match -o metrics.tsv
    "$bin/dt-eval" -q genes_seedmatch.tsv --labels labels.tsv --name seed-match --threshold 0.6 -o metrics_labels.tsv
fi
echo "test-data written to $td" >&2
