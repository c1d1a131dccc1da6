"""The release archives (make dist, scripts/dist.py) and the bioconda recipe (issue 29).

* The sdist and the wheel carry the packaged models and the model card, pass twine check, and
  come out byte-identical when built twice.
* The wheel installs into a fresh virtual environment outside the source tree and answers a
  real question there: the example miRNAs' targets, the same gene table as the working tree's
  tools give; its version is what ``dt-predict --version`` says; ``pip check`` is clean; the
  recipe's test commands pass there, on its source files taken from the sdist.
* recipe/meta.yaml declares what setup.cfg declares (entry points, requirements, version) and
  follows the conda-forge conventions; its sha256 is that of the sdist.

In ``make test`` the archives are built from the working tree's files. ``make release-check``
(DT_RELEASE_CHECK=1) builds them from a fresh clone of HEAD in a folder whose name has a space,
as planning's check does, and then insists that the committed recipe's sha256 is the sdist's.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import BIN, EXAMPLES, ROOT

pytest.importorskip("build", reason="make dist needs build and twine (the ci extras)")
pytest.importorskip("twine")

RELEASE_CHECK = os.environ.get("DT_RELEASE_CHECK") == "1"
# the torch the fresh environment gets: the CPU build on local disk (see the Makefile's TORCH_PIN)
TORCH_PIN = re.search(r"^TORCH_PIN \?= (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "deeptarget_core/__init__.py").read_text(), re.M).group(1)
PACKAGED = ("deeptarget_core/models/default.pt", "deeptarget_core/models/gene.pt", "deeptarget_core/models/MODEL_CARD.md")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd[:3]} exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def build(outdir: Path, source: Path = ROOT, worktree: bool = True) -> tuple[Path, Path]:
    """scripts/dist.py build as make dist runs it; returns (sdist, wheel)."""
    run(
        [sys.executable, source / "scripts/dist.py", "build", "--outdir", outdir, *(["--worktree"] if worktree else [])],
        cwd=source,
    )
    return outdir / f"deeptarget-{VERSION}.tar.gz", outdir / f"deeptarget-{VERSION}-py3-none-any.whl"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The tree the archives are built from: this one, or a fresh clone of HEAD (release check)."""
    if not RELEASE_CHECK:
        return ROOT
    clone = tmp_path_factory.mktemp("release") / "clean clone"
    run(["git", "clone", "--quiet", ROOT, clone])
    return clone


@pytest.fixture(scope="module")
def archives(source, tmp_path_factory) -> tuple[Path, Path]:
    return build(tmp_path_factory.mktemp("dist"), source=source, worktree=not RELEASE_CHECK)


def test_archives_carry_the_models_and_are_reproducible(archives, source, tmp_path):
    sdist, wheel = archives
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        assert all(m.mtime == tar.getmembers()[0].mtime and m.uname == "root" for m in tar.getmembers())
    top = f"deeptarget-{VERSION}/"
    assert {top + p for p in PACKAGED} <= set(names)
    assert names == sorted(names) and not any(n.startswith(top + "recipe/") for n in names)
    with zipfile.ZipFile(wheel) as whl:
        assert set(PACKAGED) <= set(whl.namelist())
        card = whl.read("deeptarget_core/models/MODEL_CARD.md").decode()
        assert whl.testzip() is None
    assert card == (source / "deeptarget_core/models/MODEL_CARD.md").read_text()
    # a second build (another folder, another time) gives the same bytes
    again = build(tmp_path / "again", source=source, worktree=not RELEASE_CHECK)
    assert [sha256(p) for p in again] == [sha256(p) for p in archives]


@pytest.fixture
def venv(tmp_path):
    """A folder for the fresh environment, removed afterwards (torch makes it about 1.2 GB)."""
    path = tmp_path / "fresh env"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_wheel_installs_and_predicts_in_a_fresh_environment(archives, venv, tmp_path):
    """Away from the source tree: its own interpreter, no PYTHONPATH, working folder elsewhere."""
    _, wheel = archives
    # dependencies from the package index as for any user (pip check included); scripts/dist.py's
    # install_wheel, as make wheel-venv (galaxy-test) runs it
    run([sys.executable, ROOT / "scripts/dist.py", "venv", venv, "--wheel", wheel, "--torch", TORCH_PIN])
    py = venv / "bin" / "python"
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = run([py, "-c", "import deeptarget_core, deeptarget_tools; print(deeptarget_core.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    version = run([venv / "bin/dt-predict", "--version"], cwd=work, env=env).stdout.split()
    assert version[-1] == VERSION and wheel.name.split("-")[1] == VERSION

    def answer(bindir: Path, out: Path) -> str:
        out.mkdir()
        run(
            [
                bindir / "dt-scan-cts",
                "--mirna",
                EXAMPLES / "mirnas.fa",
                "--utr",
                EXAMPLES / "utrs.fa.gz",
                "-o",
                out / "sites.tsv",
            ],
            cwd=work,
            env=env,
        )
        run(
            [bindir / "dt-predict", out / "sites.tsv", "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz"]
            + ["--device", "cpu", "-p", "1", "-o", out / "scored.tsv", "--gene-output", out / "genes.tsv"],
            cwd=work,
            env=env,
        )
        return (out / "genes.tsv").read_text()

    genes = answer(venv / "bin", work / "wheel")
    lines = genes.splitlines()
    assert lines[0].split("\t")[:3] == ["mirna_id", "mrna_id", "score"] and len(lines) > 5
    assert {line.split("\t")[0] for line in lines[1:]} == {
        line[1:].split()[0] for line in (EXAMPLES / "mirnas.fa").read_text().splitlines() if line.startswith(">")
    }
    if not RELEASE_CHECK:  # the packaged models answer as the working tree's do
        assert genes == answer(BIN, work / "source")

    # the recipe's own tests, as conda-build would run them on the installed package: its
    # imports, then its commands (bash) in a folder holding its source_files taken from the sdist
    sdist = archives[0]
    recipe = render_recipe((ROOT / "recipe/meta.yaml").read_text())["test"]
    recipe_dir = tmp_path / "recipe test"
    with tarfile.open(sdist) as tar:
        top = f"deeptarget-{VERSION}/"
        for name in recipe["source_files"]:
            member = tar.getmember(top + name)  # KeyError: a source file the sdist lacks
            (recipe_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (recipe_dir / name).write_bytes(tar.extractfile(member).read())
    run([py, "-c", "; ".join(f"import {m}" for m in recipe["imports"])], cwd=recipe_dir, env=env)
    for command in recipe["commands"]:
        if command == "pip check":  # the fresh environment has no pip of its own: scripts/dist.py ran it
            continue
        run(["bash", "-euo", "pipefail", "-c", command], cwd=recipe_dir, env=env)
    assert (recipe_dir / "genes.tsv").stat().st_size > 0


# --------------------------------------------------------------------------- the recipe


def render_recipe(text: str) -> dict:
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    rendered = env.from_string(text).render(PYTHON="python", pin_subpackage=lambda name, max_pin: f"{name} {max_pin}")
    return yaml.safe_load(rendered)


def recipe_sha256(text: str) -> str:
    """The sha256 as written (YAML would read an all-digit one as a number)."""
    return re.search(r"^  sha256: (\S+)$", text, re.M).group(1)


def setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return cfg


# PyPI name -> conda name where they differ
CONDA_NAMES = {"torch": "pytorch", "matplotlib": "matplotlib-base", "isal": "python-isal"}


def test_recipe_declares_what_the_package_declares():
    text = (ROOT / "recipe/meta.yaml").read_text()
    recipe = render_recipe(text)
    cfg = setup_cfg()
    assert recipe["package"]["version"] == VERSION
    scripts = [" ".join(line.split()) for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines()]
    assert [" ".join(e.split()) for e in recipe["build"]["entry_points"]] == scripts
    pypi = [re.match(r"([A-Za-z0-9_.-]+)\s*(.*)", r).groups() for r in cfg["options"]["install_requires"].strip().splitlines()]
    run_reqs = recipe["requirements"]["run"]
    assert run_reqs[0] == "python >=3.10" and cfg["options"]["python_requires"] == ">=3.10"
    assert run_reqs[1:] == [f"{CONDA_NAMES.get(name, name)} {spec}" for name, spec in pypi]
    # conda-forge's noarch python convention: host and test on python_min, run on >= it
    assert '{% set python_min = "3.10" %}' in text
    assert "- python {{ python_min }}" in text.split("run:")[0] and "- python >={{ python_min }}" in text
    assert "python 3.10" in recipe["test"]["requires"] and "pip check" in recipe["test"]["commands"]
    assert {f"{s.split()[0]} --version" for s in scripts} <= set(recipe["test"]["commands"])
    # every file the tests use is in the sdist (MANIFEST.in)
    manifest = (ROOT / "MANIFEST.in").read_text()
    assert all(f in manifest for f in recipe["test"]["source_files"])
    site_url = yaml.safe_load((ROOT / "mkdocs.yml").read_text().split("\ntheme:")[0])["site_url"]
    assert recipe["about"]["doc_url"] == site_url
    assert recipe["source"]["url"].endswith(f"/deeptarget-{VERSION}.tar.gz")
    assert re.fullmatch(r"[0-9a-f]{64}", recipe_sha256(text)) and recipe_sha256(text) != "0" * 64


def sdist_changed_since_recipe(sdist: Path) -> list[str]:
    """The sdist's files changed (committed or not) since recipe/meta.yaml's last commit."""
    git = ["git", "-C", str(ROOT)]
    last = run([*git, "log", "-1", "--format=%H", "--", "recipe/meta.yaml"]).stdout.strip()
    changed = set(run([*git, "diff", "--name-only", last]).stdout.split())
    changed |= set(run([*git, "ls-files", "--others", "--exclude-standard"]).stdout.split())
    with tarfile.open(sdist) as tar:
        held = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    return sorted(changed & held)


def test_recipe_sha256_is_the_sdists(archives):
    """Strict in make release-check; in make test only where nothing of the sdist changed since
    the recipe was written (otherwise the sha is stale by design until make recipe-sha)."""
    have = recipe_sha256((ROOT / "recipe/meta.yaml").read_text())
    want = sha256(archives[0])
    if not RELEASE_CHECK and (changed := sdist_changed_since_recipe(archives[0])):
        pytest.skip(
            f"{len(changed)} file(s) of the sdist changed since recipe/meta.yaml was written ({changed[0]}, ...): make recipe-sha before a release"
        )
    assert have == want, "recipe/meta.yaml's sha256 is not the sdist's: run make recipe-sha"
