# The documentation site (issue 16). Included by the Makefile (-include mk/*.mk).
#   make docs         build it strictly into site/ (git-ignored): a broken link, a missing page
#                     or a tool without its generated option reference fails the build
#   make docs-serve   serve it on 127.0.0.1:8000, rebuilt on every edit
.PHONY: docs docs-serve

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean --site-dir site

docs-serve: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000
