# deepTarget suite. Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install the suite, run it on the bundled example
#   make test   install the test extras and run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared/data
# torch is pinned to the CPU build that lies on local disk; a range admitting newer
# releases would pull a multi-GB CUDA build.
TORCH_PIN ?= torch==2.13.0

.PHONY: install test test-slow lint demo bench clean help
help:
	@echo "make demo | make test | make test-slow | make bench | make training-data | make model | make dist | make release-check"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q "$(TORCH_PIN)"
	$(BIN)/pip install -q -e '.[test,ci,docs]'
	touch $@

install: $(VENV)/.installed

# The whole suite: pytest (the Snakemake workflow runs for real inside it; every Galaxy wrapper
# test's command runs against the tools; the wheel is built and installed into a fresh venv),
# then the offline Galaxy wrapper lint, the Dockerfile lint, snakemake --lint, the strict docs
# build and the release archives (make dist). `make galaxy-test` (a real Galaxy server, ~15 min)
# and `make release-check` are separate jobs: run them before a release (docs/development.md).
test: install
	$(BIN)/python -m pytest -q -n 2 tests
	$(MAKE) lint galaxy-lint docker-lint workflow-lint docs dist

# ruff lint (rules in pyproject.toml); bench/ is the benchmarks' own room and container/ the
# container's, both left out
LINT_PATHS := deeptarget_core tools tests workflow docs examples galaxy scripts
lint: install
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

test-slow: install
	$(BIN)/python -m pytest -q -m slow tests

DEMO := demo-output
demo: install
	@mkdir -p $(DEMO)
	$(BIN)/dt-scan-cts --mirna examples/mirnas.fa --utr examples/utrs.fa.gz -o $(DEMO)/sites.tsv
	$(BIN)/dt-predict $(DEMO)/sites.tsv --mirna examples/mirnas.fa --utr examples/utrs.fa.gz -o $(DEMO)/sites_scored.tsv --gene-output $(DEMO)/genes.tsv
	$(BIN)/dt-predict --pair-table examples/pairs.tsv -o $(DEMO)/pairs_sites_scored.tsv --gene-output $(DEMO)/pairs_genes_deeptarget.tsv
	$(BIN)/dt-predict --pair-table examples/pairs.tsv --model seed-match --aggregate max -o $(DEMO)/pairs_sites_seedmatch.tsv --gene-output $(DEMO)/pairs_genes_seedmatch.tsv
	$(BIN)/dt-eval $(DEMO)/pairs_genes_deeptarget.tsv $(DEMO)/pairs_genes_seedmatch.tsv --name deeptarget --name seed-match \
		--group-by mirna -o $(DEMO)/metrics.tsv --plots $(DEMO)/plots
	$(BIN)/dt-explain $(DEMO)/sites_scored.tsv --mirna examples/mirnas.fa --top 3 --outdir $(DEMO)/explain --force
	@echo
	@echo "demo results in $(DEMO)/:"
	@echo "  sites.tsv            candidate target sites (dt-scan-cts)"
	@echo "  sites_scored.tsv     the same sites with model scores (dt-predict)"
	@echo "  genes.tsv            one score per miRNA-UTR pair (the gene model)"
	@echo "  metrics.tsv, plots/  deepTarget vs the seed-match baseline on the labelled example pairs (dt-eval)"
	@echo "  explain/index.html   why the three best sites were predicted (dt-explain)"

bench: install
	$(BIN)/python bench/scan.py

-include mk/*.mk

clean:
	rm -rf $(VENV) build *.egg-info demo-output .pytest_cache site dist
