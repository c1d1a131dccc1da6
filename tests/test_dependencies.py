"""Dependencies that earn their place (issue 16 §3): every third-party package the library and
the tools import is declared in setup.cfg (and the bioconda recipe), and every declared run
dependency is imported somewhere."""

from __future__ import annotations

import ast
import configparser
import re
import sys

from conftest import ROOT

IMPORT_TO_DIST = {"Bio": "biopython", "sklearn": "scikit-learn", "PIL": "pillow"}
RECIPE_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base", "isal": "python-isal"}
LOCAL = {"deeptarget_core", "deeptarget_tools"}


def imported_packages() -> set[str]:
    found: set[str] = set()
    for folder in ("deeptarget_core", "tools"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in LOCAL and top != "__future__":
                        found.add(IMPORT_TO_DIST.get(top, top))
    return found


def declared() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [x.strip() for x in cfg["options"]["install_requires"].splitlines() if x.strip()]
    return {re.split(r"[<>=!~ ;\[]", x)[0].lower() for x in lines}


def test_every_import_is_declared_and_every_declaration_imported():
    used, listed = imported_packages(), declared()
    assert used - listed == set(), f"imported but not in setup.cfg install_requires: {sorted(used - listed)}"
    assert listed - used == set(), f"in install_requires but never imported: {sorted(listed - used)}"


def test_the_bioconda_recipe_lists_the_same_run_requirements():
    text = (ROOT / "recipe" / "meta.yaml").read_text()
    run = text.split("run:", 1)[1].split("\n\n", 1)[0]
    names = {m.group(1).lower() for m in re.finditer(r"^\s*-\s*([A-Za-z0-9_.-]+)", run, re.M)} - {"python"}
    assert names == {RECIPE_NAMES.get(d, d) for d in declared()}
