# Galaxy wrappers (issue 5). Included by the Makefile (-include mk/*.mk).
#   make galaxy-lint        planemo lint + shed_lint of galaxy/ (offline, ~1 min)
#   make galaxy-test-data   regenerate galaxy/test-data with the suite's own tools
#   make galaxy-test        run every wrapper's <tests> in a real Galaxy (pip package) on 127.0.0.1,
#                           against the package installed from its wheel (make wheel-venv), not
#                           the working tree: what the Tool Shed's users get (run before a release)
# Without a Galaxy server, make test runs every wrapper test's command line against the current
# tools (tests/test_galaxy_wrapper_commands.py, about a minute).
GALAXY_VENV ?= .venv-galaxy
GALAXY_PIN ?= galaxy
GALAXY_WRAPPERS = $(sort $(wildcard galaxy/dt_*.xml))

.PHONY: galaxy-lint galaxy-test galaxy-test-data galaxy-venv

$(BIN)/planemo: | install
	$(BIN)/pip install -q planemo

# shed_remote_repository_url compares the URL's tail with the clone's folder name (it passed
# only in a clone called `main`); tests/test_galaxy.py checks the URL against the repository
# path instead.
galaxy-lint: $(BIN)/planemo
	$(BIN)/planemo lint --skip BioToolsValid $(GALAXY_WRAPPERS)
	@# (planemo also hands the skip list to each tool's lint, which names it 'unknown': filtered)
	set -o pipefail; $(BIN)/planemo shed_lint --tools --skip BioToolsValid,version_bumped,shed_remote_repository_url galaxy/ 2>&1 \
		| grep -v '^Unknown linter type'

galaxy-test-data: install
	bash galaxy/make_test_data.sh $(BIN)

# Galaxy lives in its own venv: its pinned dependencies must not touch the suite's.
$(GALAXY_VENV)/bin/galaxy-web:
	$(PYTHON) -m venv $(GALAXY_VENV)
	$(GALAXY_VENV)/bin/pip install -q --upgrade pip
	nice $(GALAXY_VENV)/bin/pip install -q "$(GALAXY_PIN)"

galaxy-venv: $(GALAXY_VENV)/bin/galaxy-web

# paths quoted: a clone's folder name may hold a space
galaxy-test: install galaxy-venv wheel-venv
	GALAXY_VENV="$(abspath $(GALAXY_VENV))" DT_BIN="$(abspath $(WHEEL_VENV))/bin" bash galaxy/run_galaxy_tests.sh
