# Training data and the packaged default model (deeptarget_core/models/default.pt).
TRAINING_DATA := training-data
MODEL_THREADS ?= 2

.PHONY: training-data model
training-data: install
	$(BIN)/python scripts/make_training_data.py --shared $(SHARED) --outdir $(TRAINING_DATA) --seed 1

# The default recipe: pre-train the autoencoders on the training CTSs/miRNAs, then train the
# whole network with early stopping on the miRNA-held-apart validation table.
model: training-data
	$(BIN)/dt-pretrain --pairs $(TRAINING_DATA)/train.tsv --epochs 2 --seed 1 -p $(MODEL_THREADS) --device cpu -o $(TRAINING_DATA)/autoencoders.pt
	$(BIN)/dt-train --train $(TRAINING_DATA)/train.tsv --val $(TRAINING_DATA)/val.tsv \
		--pretrained $(TRAINING_DATA)/autoencoders.pt --bidirectional --batch-size 100 --lr 0.002 --epochs 16 --patience 3 \
		--seed 1 -p $(MODEL_THREADS) --device cpu -o deeptarget_core/models/default.pt \
		--log $(TRAINING_DATA)/default-model.log.tsv

# Issue-9 ablations (dt-train --cv 5 --group-by mirna on a seeded subsample; docs/results.md).
.PHONY: ablations
ablations: training-data
	nice $(BIN)/python bench/train.py --n 6000 --epochs 3
