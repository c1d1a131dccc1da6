"""Galaxy wrappers (issue 5): version in step with the package, a wrapper for every executable
(dt-train and dt-eval have a second one, for the gene model: each wrapper its own tool id),
parameters quoted in every <command>, test data present; planemo lint when planemo is installed.

Running the wrappers' own <tests> in a real Galaxy server is `make galaxy-test` (minutes).
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import deeptarget_core

from conftest import ROOT

GALAXY = ROOT / "galaxy"
WRAPPERS = sorted(GALAXY.glob("dt_*.xml"))


def console_scripts() -> list[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    entries = cfg["options.entry_points"]["console_scripts"]
    return [line.split("=")[0].strip() for line in entries.strip().splitlines() if line.strip()]


def macros() -> ET.Element:
    return ET.parse(GALAXY / "macros.xml").getroot()


def token(name: str) -> str:
    for el in macros().iter("token"):
        if el.get("name") == name:
            return (el.text or "").strip()
    raise AssertionError(f"macros.xml has no token {name}")


def expand_tokens(text: str) -> str:
    for el in macros().iter("token"):
        text = text.replace(el.get("name"), el.text or "")
    return text


def wrapper_executable(path: Path) -> str:
    """The executable a wrapper runs: the first word of its <command>."""
    command = ET.parse(path).getroot().find("command")
    assert command is not None, f"{path.name} has no <command>"
    return command.text.split()[0]


# Cheetah references: $name, $name.attr, ${name}, ${name.attr}; \$ is a literal shell '$'.
REF = re.compile(r"(?<!\\)\$(\{[^}]*\}|[A-Za-z_][\w.]*)")


def unquoted_references(command: str) -> list[str]:
    """Every Cheetah $reference on a shell line of ``command`` that is not exactly '...'-quoted.

    Lines starting with '#' are Cheetah directives (#if, #for, #set): not shell.
    A reference counts as quoted when the text is '<ref>' (nothing else inside the quotes), so a
    dataset path or a text value holding spaces, quotes or ';' reaches the program as one word.
    """
    bad = []
    for line in command.splitlines():
        if line.strip().startswith("#"):
            continue
        for m in REF.finditer(line):
            before = line[m.start() - 1] if m.start() else ""
            after = line[m.end()] if m.end() < len(line) else ""
            if not (before == "'" and after == "'"):
                bad.append(f"{m.group(0)!r} in: {line.strip()}")
    return bad


def test_macros_version_equals_package_version():
    assert token("@TOOL_VERSION@") == deeptarget_core.__version__, (
        "galaxy/macros.xml @TOOL_VERSION@ differs from deeptarget_core.__version__: bump one of them"
    )
    assert re.fullmatch(r"\d+", token("@VERSION_SUFFIX@"))


def test_every_console_script_has_a_wrapper():
    scripts = console_scripts()
    assert len(scripts) >= 7 and "dt-scan-cts" in scripts
    wrapped = {wrapper_executable(p) for p in WRAPPERS}
    missing = [s for s in scripts if s not in wrapped]
    assert not missing, f"dt-* executables without a Galaxy wrapper in galaxy/: {missing}"
    for script in scripts:
        assert (GALAXY / (script.replace("-", "_") + ".xml")).exists(), f"expected galaxy/{script.replace('-', '_')}.xml"


def test_every_wrapper_runs_a_console_script_under_its_own_tool_id():
    # an executable may have several wrappers (dt-train: the site network and the gene model)
    scripts = set(console_scripts())
    assert {p.name: wrapper_executable(p) for p in WRAPPERS if wrapper_executable(p) not in scripts} == {}
    ids = [ET.parse(p).getroot().get("id") for p in WRAPPERS]
    assert len(set(ids)) == len(ids), sorted(ids)


@pytest.mark.parametrize("path", WRAPPERS, ids=lambda p: p.name)
def test_wrapper_conventions(path: Path):
    root = ET.parse(path).getroot()
    assert root.get("version") == "@TOOL_VERSION@+galaxy@VERSION_SUFFIX@"
    assert root.get("profile") == "@PROFILE@"
    command = root.find("command")
    assert command.get("detect_errors") == "exit_code"
    expands = {e.get("macro") for e in root.iter("expand")}
    assert {"requirements", "version_command", "citations", "edam_topics", "creator"} <= expands
    assert root.find("edam_operations") is not None
    version_cmd = [e for e in root.iter("expand") if e.get("macro") == "version_command"][0]
    assert version_cmd.get("exe") == wrapper_executable(path)
    tests = root.find("tests").findall("test")
    assert any(t.get("expect_failure") == "true" for t in tests), "needs an expected-failure test"
    for test in tests:
        for param in test.iter("param"):
            value = param.get("value")
            for name in (value or "").split(","):
                if re.search(r"\.(tsv|fa|fasta|gz|pt|txt|tabular)$", name):
                    assert (GALAXY / "test-data" / name).exists(), f"{path.name}: missing test-data/{name}"
        for output in test.iter("output"):
            assert output.find("assert_contents") is not None, f"{path.name}: assert on contents"
            if output.get("file"):
                assert (GALAXY / "test-data" / output.get("file")).exists()
        # content assertions, never sizes
        assert not list(test.iter("has_size"))
    help_text = root.find("help").text
    assert "**Output" in help_text or "**Outputs" in help_text


@pytest.mark.parametrize("path", WRAPPERS, ids=lambda p: p.name)
def test_command_parameters_are_single_quoted(path: Path):
    command = expand_tokens(ET.parse(path).getroot().find("command").text)
    assert "$" in command
    assert unquoted_references(command) == []
    if "threads" in command or "GALAXY_SLOTS" in command:
        assert "\\${GALAXY_SLOTS:-1}" in command


def test_quoting_check_catches_unquoted_and_half_quoted_references():
    # the checker itself must fail on the unsafe forms
    assert unquoted_references("dt-scan-cts --mirna $mirna") != []
    assert unquoted_references('dt-scan-cts --mirna "$mirna"') != []
    assert unquoted_references("dt-scan-cts --mirna '$mirna -o out") != []
    assert unquoted_references("dt-scan-cts -o ${output}") != []
    assert unquoted_references("dt-scan-cts --mirna '$mirna' -p \\${GALAXY_SLOTS:-1}\n#if $x:\n#end if") == []


def test_quoted_dataset_name_cannot_inject(tmp_path):
    """What single quoting buys: a hostile name stays one argument (Galaxy also sanitizes ')."""
    hostile = 'my data; touch INJECTED $(touch INJECTED2) "x'
    line = f"printf '%s\\n' '{hostile}'"
    out = subprocess.run(["bash", "-c", line], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout == hostile + "\n"
    assert not (tmp_path / "INJECTED").exists() and not (tmp_path / "INJECTED2").exists()


@pytest.mark.skipif(
    shutil.which("planemo") is None and not (ROOT / ".venv/bin/planemo").exists(),
    reason="planemo not installed (make galaxy-lint installs it)",
)
def test_planemo_lint_every_wrapper():
    planemo = shutil.which("planemo") or str(ROOT / ".venv/bin/planemo")
    result = subprocess.run(
        [planemo, "lint", "--skip", "BioToolsValid", *map(str, WRAPPERS)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.count("Linting tool") == len(WRAPPERS)


def test_shed_remote_url_names_the_wrappers_folder_of_the_repository():
    """planemo's own check compares the URL with the clone's folder name, so make galaxy-lint
    skips it; this one checks what matters: the URL points at galaxy/ in the repository."""
    shed = (GALAXY / ".shed.yml").read_text()
    url = re.search(r"^remote_repository_url:\s*(\S+)", shed, re.M).group(1)
    homepage = re.search(r"^homepage_url:\s*(\S+)", shed, re.M).group(1)
    assert url.startswith(homepage + "/tree/"), url
    assert url.rstrip("/").endswith("/" + GALAXY.relative_to(ROOT).as_posix())
