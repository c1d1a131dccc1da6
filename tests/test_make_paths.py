"""Every documented make target's command lines hold up in a clone whose path has a space (issue 29).

CI runs ``make test`` (with ``make docs`` and ``make dist``) in such a clone for real. The other
targets need a Galaxy server, podman, a GPU or many minutes: here their command lines are
printed by ``make -n`` in a copy of the Makefile and mk/ under a folder with a space in its name,
and every occurrence of that folder's path must sit inside shell quotes (an unquoted one was
``GALAXY_VENV=$(abspath ...)``: ``/bin/bash: line 1: user/deep: No such file or directory``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from conftest import ROOT

# the targets the Makefile's and mk/*.mk's headers document, beside make test itself
TARGETS = [
    "install",
    "demo",
    "lint",
    "test-slow",
    "bench",
    "dist",
    "recipe-sha",
    "release-check",
    "wheel-venv",
    "docs",
    "docs-serve",
    "galaxy-lint",
    "galaxy-test-data",
    "galaxy-test",
    "docker-lint",
    "docker-build",
    "container",
    "container-test",
    "container-save",
    "container-sif",
    "apptainer-build",
    "workflow-lint",
    "workflow-test",
    "workflow-bench",
    "bench-predict",
    "bench-negatives",
]


def unquoted(text: str, needle: str) -> list[str]:
    """The lines of shell ``text`` where ``needle`` occurs outside '...' and "..." quotes."""
    bad, quote, escaped, line_start = [], None, False, 0
    i = 0
    while i < len(text):
        if quote is None and text.startswith(needle, i):
            end = text.find("\n", i)
            bad.append(text[line_start : end if end >= 0 else len(text)].strip())
            i += len(needle)
            continue
        c = text[i]
        if escaped:
            escaped = False
        elif c == "\\" and quote != "'":
            escaped = True
        elif quote is None and c in "'\"":
            quote = c
        elif c == quote:
            quote = None
        elif c == "\n" and quote is None:
            line_start = i + 1
        i += 1
    return bad


def test_the_quoting_check_sees_an_unquoted_path():
    path = "/tmp/a b/.venv/bin"
    assert unquoted(f"X={path} cmd\n", path) == [f"X={path} cmd"]
    assert unquoted(f'X="{path}" cmd\nY=\'{path}/x\' cmd "it\'s"\n', path) == []
    assert unquoted(f'echo "a" {path}\n', path) == [f'echo "a" {path}']


@pytest.fixture(scope="module")
def spaced_copy(tmp_path_factory):
    """The Makefile, mk/ and what their prerequisites and $(shell ...) read, in 'deep target suite'."""
    copy = tmp_path_factory.mktemp("make") / "deep target suite"
    copy.mkdir()
    for name in ("Makefile", "setup.cfg", "pyproject.toml"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "mk", copy / "mk")
    (copy / "deeptarget_core").mkdir()
    shutil.copy(ROOT / "deeptarget_core/__init__.py", copy / "deeptarget_core/__init__.py")
    return copy


def documented_targets() -> set[str]:
    """Targets named as `make NAME` in the Makefile's and mk/*.mk's comments."""
    text = "\n".join(p.read_text() for p in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))])
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    return set(re.findall(r"\bmake ([a-z][a-z-]+)", comments))


def test_every_target_with_paths_is_checked():
    """A target the comments document is in TARGETS (or is one without path-dependent commands)."""
    plain = {"test", "model", "training-data", "gene-model", "gene-cv", "ablations", "cv", "negatives-demo", "help"}
    missing = documented_targets() - set(TARGETS) - plain
    assert not missing, f"documented make targets not checked here: {sorted(missing)}"


@pytest.mark.parametrize("target", TARGETS)
def test_make_target_quotes_the_clone_path(spaced_copy, target):
    # run as from a shell: under `make test` the inherited MAKELEVEL/MAKEFLAGS make a sub-make
    # print "make[1]: Leaving directory '<path>'", which is make's chatter, not a command line
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    proc = subprocess.run(
        ["make", "--no-print-directory", "-n", target], cwd=spaced_copy, capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = proc.stdout
    assert printed.strip(), f"make -n {target} printed nothing"
    bad = unquoted(printed, str(spaced_copy))
    assert not bad, f"make {target}: the clone's path unquoted in:\n" + "\n".join(bad)
