# dt-make-negatives (issue 3). Included by the Makefile (-include mk/*.mk).
#   make negatives-demo    rebuild a balanced site-level training set (positives + mock-miRNA
#                          negatives) from the mirMark and miRAW material in $(SHARED)
#   make bench-negatives   bench/negatives.py: 10,000 positives x 2 kb targets
NEG_DIR ?= training-data/negatives
NEG_SEED ?= 1

.PHONY: negatives-demo bench-negatives

# mirMark (Menor et al. 2014, as prepared for DeepMirTar): full 3'UTRs with the annotated site;
# site_start/site_end let --include-positives cut each positive's window at its real site.
$(NEG_DIR)/mirmark_positives.tsv: $(SHARED)/mirMark_DeepMirTar/mirMark_sites_DeepMirTar.tsv
	mkdir -p $(NEG_DIR)
	awk -F'\t' 'BEGIN { OFS = "\t"; print "mirna_id", "mirna_seq", "mrna_id", "mrna_seq", "label", "site_start", "site_end", "source" } \
	    NR > 1 { print $$3, $$5, $$4, $$11, $$2, $$9, $$10, "mirMark" }' $< > $@.tmp && mv $@.tmp $@

# miRAW site-level pairs (miTAR's file, with miRNA and gene ids); the miRNA is stored 3'->5'.
$(NEG_DIR)/miraw_positives.tsv: $(SHARED)/miRAW_sites_miTAR/data_miRaw_IndTest_noRepeats_3folds.txt
	mkdir -p $(NEG_DIR)
	awk -F'\t' 'BEGIN { OFS = "\t"; print "mirna_id", "mirna_seq", "mrna_id", "mrna_seq", "label", "source" } \
	    { m = ""; for (i = length($$2); i > 0; i--) m = m substr($$2, i, 1); print $$1, m, $$3, $$4, $$5, "miRAW" }' $< > $@.tmp && mv $@.tmp $@

negatives-demo: install $(NEG_DIR)/mirmark_positives.tsv $(NEG_DIR)/miraw_positives.tsv
	$(BIN)/dt-make-negatives \
	    --positives $(NEG_DIR)/mirmark_positives.tsv --positives $(NEG_DIR)/miraw_positives.tsv \
	    --reference-mirnas $(SHARED)/miRBase/mature_v22.1.fa.gz \
	    --mocks-per-mirna 20 --min-score 120 --include-positives --seed $(NEG_SEED) \
	    --mock-fasta $(NEG_DIR)/mock_mirnas.fa -o $(NEG_DIR)/balanced_training_set.tsv

bench-negatives: install
	nice $(BIN)/python bench/negatives.py
