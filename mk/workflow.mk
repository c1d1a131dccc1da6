# Snakemake workflow (issue 6). Included by the Makefile (-include mk/*.mk).
#   make workflow-test    the workflow for real (--cores 2) + SLURM-profile dry run (pytest)
#   make workflow-lint    snakemake --lint (any finding fails; part of make test)
#   make workflow-bench   one process vs the workflow on 2 cores (heavy: several minutes)
.PHONY: workflow-deps workflow-test workflow-bench workflow-lint

$(BIN)/snakemake: | install
	$(BIN)/pip install -q snakemake snakemake-executor-plugin-slurm

workflow-deps: $(BIN)/snakemake

workflow-lint: $(BIN)/snakemake
	$(BIN)/snakemake -s workflow/Snakefile --lint

workflow-test: $(BIN)/snakemake
	$(BIN)/python -m pytest -q tests/test_workflow.py

WF_BENCH_UTR ?= bench/out/utrome_3M.fa.gz
workflow-bench: $(BIN)/snakemake
	test -f $(WF_BENCH_UTR) || $(BIN)/python bench/scan.py --mnt 3
	nice $(BIN)/python workflow/scripts/benchmark.py --utr $(WF_BENCH_UTR) --predict \
		$(if $(wildcard deeptarget_core/models/default.pt),,--model bench/out/random_model.pt) \
		--utr-chunks 4 --mirna-groups 2 --outdir results/workflow-benchmark
