# Training data and the packaged default model (deeptarget_core/models/default.pt).
TRAINING_DATA := training-data
# Thread counts of the packaged model's run: float reductions (hence weights) differ with the
# thread count, so these reproduce it bit for bit (autoencoders with 2, the network with 1).
PRETRAIN_THREADS ?= 2
MODEL_THREADS ?= 1

.PHONY: training-data model
training-data: install
	$(BIN)/python scripts/make_training_data.py --shared $(SHARED) --outdir $(TRAINING_DATA) --seed 1

# The default recipe: pre-train the autoencoders on the training CTSs/miRNAs, then train the
# whole network (one bidirectional GRU layer of 30 units per direction over the aligned pair
# plus the base-pairing channels) on per-epoch miRNA-balanced subsets, keeping the epoch with
# the best within-miRNA AUC on the validation table.
MODEL_RECIPE := --bidirectional --layers 1 --pairing --balance-by-mirna --select-by within_mirna_auc --site-prior \
	--batch-size 100 --lr 0.002 --epochs 30 --patience 4
model: training-data
	$(BIN)/dt-pretrain --pair-table $(TRAINING_DATA)/train.tsv --epochs 2 --seed 1 -p $(PRETRAIN_THREADS) --device cpu -o $(TRAINING_DATA)/autoencoders.pt
	$(BIN)/dt-train --train $(TRAINING_DATA)/train.tsv --val $(TRAINING_DATA)/val.tsv \
		--pretrained $(TRAINING_DATA)/autoencoders.pt $(MODEL_RECIPE) \
		--seed 1 -p $(MODEL_THREADS) --device cpu -o deeptarget_core/models/default.pt \
		--log $(TRAINING_DATA)/default-model.log.tsv
	$(MAKE) gene-model

# The packaged gene model (issues 14, 28): trained on all of gene_level_dev's functional
# experiments (docs/gene-model.md): site affinities through the occupancy form
# (deeptarget_core/gene_affinity.py; L-BFGS in float64 on one thread: the same bytes on every
# run), about 10 s.
GENE_DEV := $(SHARED)/gene_level_dev
# Both functional tables of gene_level_dev (the 19 FuNmiRBench experiments and the 17 classic
# HeLa / HCT116 transfections, issue 28) as one table: the same columns, the second header cut.
GENE_FUNCTIONAL := $(TRAINING_DATA)/gene_functional.tsv
.PHONY: gene-model gene-cv
$(GENE_FUNCTIONAL): $(GENE_DEV)/functional.tsv.gz $(GENE_DEV)/functional_classic.tsv.gz
	mkdir -p $(TRAINING_DATA)
	(gzip -dc $(GENE_DEV)/functional.tsv.gz; gzip -dc $(GENE_DEV)/functional_classic.tsv.gz | tail -n +2) > $@.tmp && mv $@.tmp $@
gene-model: install $(GENE_FUNCTIONAL)
	$(BIN)/dt-train --level gene --functional $(GENE_FUNCTIONAL) --utr $(GENE_DEV)/utrs.fa.gz \
		--pair-table $(GENE_DEV)/miraw_pairs.tsv.gz --seed 1 -o deeptarget_core/models/gene.pt

# Its cross-validation grouped by seed family and gene, with the baselines (docs/results.md
# sections 5 and 6; bench/gene_affinity_cv.py gives the per-source figures).
gene-cv: install $(GENE_FUNCTIONAL)
	$(BIN)/dt-train --level gene --functional $(GENE_FUNCTIONAL) --utr $(GENE_DEV)/utrs.fa.gz \
		--pair-table $(GENE_DEV)/miraw_pairs.tsv.gz --cv 5 --seed 1 -p 2 -o $(TRAINING_DATA)/gene-cv.tsv

# Issue-9 ablations (dt-train --cv 5 --group-by mirna on a seeded subsample; docs/results.md).
.PHONY: ablations
ablations: training-data
	nice $(BIN)/python bench/train.py --n 6000 --epochs 3

# Issue-9 bar: miRNA-grouped 5-fold CV of the default recipe on the training table, with the
# out-of-fold scores; dt-eval then scores all pairs and the miRAW material alone (no decoys).
CV_DIR := $(TRAINING_DATA)/cv
.PHONY: cv
cv: training-data
	mkdir -p $(CV_DIR)
	$(BIN)/dt-train --train $(TRAINING_DATA)/train.tsv --cv 5 --group-by mirna \
		--pretrained $(TRAINING_DATA)/autoencoders.pt $(MODEL_RECIPE) \
		--seed 1 -p $(MODEL_THREADS) --device cpu -o $(CV_DIR)/folds.tsv --cv-predictions $(CV_DIR)/oof.tsv
	awk -F'\t' 'NR == 1 || $$3 != "decoy"' $(CV_DIR)/oof.tsv > $(CV_DIR)/oof.miraw.tsv
	$(BIN)/dt-eval $(CV_DIR)/oof.tsv $(CV_DIR)/oof.miraw.tsv --name "all pairs" --name "miRAW material (no decoys)" --group-by mirna -o $(CV_DIR)/metrics.tsv
