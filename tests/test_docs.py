"""Documentation site (issue 16): every option of every dt-* tool is in its generated reference,
and every tool has a page that includes it. `make docs` builds the whole site strictly."""

from __future__ import annotations

import importlib.util
import re

import pytest
import typer

from conftest import ROOT

spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "docs/hooks/cli_reference.py")
cli_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli_reference)
TOOLS = sorted(cli_reference.console_scripts())


def test_the_tools_are_the_console_scripts():
    """The reference's list (setup.cfg's console scripts) is every tool module in tools/ (a module
    with a typer app), each under its dt- name: a tool left out of setup.cfg, or an entry point
    whose module is gone, shows here."""
    modules = {
        "dt-" + p.stem.replace("_", "-"): f"deeptarget_tools.{p.stem}:main"
        for p in (ROOT / "tools").glob("*.py")
        if not p.stem.startswith("_") and "app = _cli.make_app(" in p.read_text()
    }
    assert cli_reference.console_scripts() == modules
    assert len(modules) >= 8 and "dt-extract-utrs" in modules


@pytest.mark.parametrize("tool", TOOLS)
def test_every_option_is_in_the_generated_reference(tool):
    text = cli_reference.render(tool)
    cmd = typer.main.get_command(importlib.import_module(cli_reference.console_scripts()[tool].split(":")[0]).app)
    assert text.startswith(f"```text\n{tool} ")
    for param in cmd.params:
        if getattr(param, "hidden", False):
            continue
        names = list(param.opts) + list(param.secondary_opts)
        if param.param_type_name == "argument":
            names = [(param.metavar or param.name).upper()]
        for name in names:
            assert re.search(rf"<code>[^<]*{re.escape(name)}(?![\w-])", text), f"{tool}: {name} missing from the reference"
        if param.help:
            first = " ".join(param.help.split())[:40]
            assert first.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") in text, f"{tool}: help of {names[0]}"


def test_every_tool_has_a_page_with_its_reference():
    pages = {p: p.read_text() for p in (ROOT / "docs").rglob("*.md")}
    for tool in TOOLS:
        hosts = [p for p, text in pages.items() if f"<!-- cli-reference {tool} -->" in text]
        assert hosts, f"no page in docs/ includes the reference of {tool}"


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        rel = page.relative_to(ROOT / "docs").as_posix()
        assert f": {rel}" in nav, f"docs/{rel} is not in mkdocs.yml's nav"


def test_tool_pages_name_only_current_options():
    """Prose and examples on the tool pages use today's option names: a renamed or removed
    option (a hidden alias, or no option at all) is a stale page."""
    shown, hidden = set(), set()
    for tool in TOOLS:
        cmd = typer.main.get_command(importlib.import_module(cli_reference.console_scripts()[tool].split(":")[0]).app)
        for param in cmd.params:
            for name in list(param.opts) + list(param.secondary_opts):
                (hidden if getattr(param, "hidden", False) else shown).add(name)
    others = {"--help", "--cts"}  # click's own; bench/predict.py's
    for page in sorted((ROOT / "docs/tools").glob("*.md")):
        flags = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", page.read_text()))
        stale = sorted(flags - shown - others)
        assert not stale, f"docs/tools/{page.name} names {stale}: " + (
            "deprecated spellings" if set(stale) <= hidden else "not an option of any dt-* tool"
        )
