# Release archives and the recipe (issue 29). Included by the Makefile (-include mk/*.mk).
#   make dist            the sdist and the wheel of HEAD into dist/ (models and model card in
#                        both; twine check --strict; the same bytes from every clean clone of a
#                        commit: scripts/dist.py says how), then their sha256
#   make recipe-sha      make dist, then write the sdist's sha256 and the version into
#                        recipe/meta.yaml (run it as the last step before a release commit)
#   make release-check   what a release needs, from a fresh clone of HEAD in a folder whose name
#                        has a space: make dist there, the recipe's sha256 equal to its sdist's,
#                        the wheel installed into a fresh virtual environment away from the
#                        source tree and predicting there (tests/test_release.py); ~1 min
#   make wheel-venv      the working tree's wheel installed into a fresh $(WHEEL_VENV) (what
#                        make galaxy-test runs the wrappers against); ~20 s
# The archives are built without build isolation, by this environment's setuptools (pinned in
# setup.cfg's ci extras): another setuptools release may write other bytes.
DIST_DIR ?= dist
WHEEL_VENV ?= .venv-wheel

.PHONY: dist recipe-sha release-check wheel-venv

dist: install
	$(BIN)/python scripts/dist.py build --outdir "$(DIST_DIR)"

recipe-sha: install
	$(BIN)/python scripts/dist.py recipe-sha --outdir "$(DIST_DIR)"

release-check: install
	DT_RELEASE_CHECK=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_release.py

wheel-venv: install
	$(BIN)/python scripts/dist.py venv "$(WHEEL_VENV)" --worktree --outdir "$(WHEEL_VENV)-dist" --torch "$(TORCH_PIN)"
