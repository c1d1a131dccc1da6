"""MkDocs hook: the option reference of every dt-* tool, made from the typer apps themselves.

A documentation page asks for a tool's reference with a line of its own::

    <!-- cli-reference dt-scan-cts -->

and the hook replaces it with the tool's usage line, its description and one table per help
panel listing every option exactly as ``dt-scan-cts --help`` prints it (click's own help
records: option names, metavar, help text, default, range). The text comes from the installed
commands at build time, so the pages and ``--help`` cannot drift apart. The build fails when a
console script has no page asking for its reference, or a page names an unknown tool.

The same functions serve tests/test_docs.py (every option of every tool is in its reference).
"""

from __future__ import annotations

import configparser
import importlib
import re
from pathlib import Path

try:  # a clean build error instead of a traceback; plain ValueError where mkdocs is absent (tests)
    from mkdocs.exceptions import PluginError as _Error
except ImportError:  # pragma: no cover
    _Error = ValueError

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- cli-reference (dt-[\w-]+) -->[ \t]*$", re.M)


def console_scripts() -> dict[str, str]:
    """dt-* name -> 'module:function', from setup.cfg (the one list of executables)."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    out = {}
    for line in cfg["options.entry_points"]["console_scripts"].strip().splitlines():
        if "=" in line:
            name, target = (s.strip() for s in line.split("=", 1))
            out[name] = target
    return out


def command(tool: str):
    """The click command behind a dt-* console script (typer.main.get_command of its app)."""
    import typer

    module = importlib.import_module(console_scripts()[tool].split(":")[0])
    return typer.main.get_command(module.app), module.app


def _cell(text: str) -> str:
    text = " ".join(str(text).split())
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    # inside a table: pipes of choices (<auto|cpu|cuda>) escaped, no line breaks
    return "<code>" + _cell(text) + "</code>"


def render(tool: str) -> str:
    """Markdown reference of one tool: usage, description, options grouped by help panel."""
    cmd, app = command(tool)
    ctx = cmd.make_context(tool, [], resilient_parsing=True)
    usage = " ".join([tool, *cmd.collect_usage_pieces(ctx)])
    lines = [f"```text\n{usage}\n```", ""]
    # the app's description, then the command's own; a text that the other one contains is
    # left out (typer may repeat the description at the head of the command's help)
    texts = [t.strip() for t in (getattr(app.info, "help", None), cmd.help) if isinstance(t, str) and t.strip()]
    flat = [" ".join(t.split()) for t in texts]
    for i, text in enumerate(texts):
        if not any(j != i and flat[i] in flat[j] and (flat[i] != flat[j] or j < i) for j in range(len(texts))):
            lines += [text, ""]
    panels: dict[str, list[tuple[str, str]]] = {}
    for param in cmd.params:
        record = param.get_help_record(ctx)
        if record is None:  # hidden
            continue
        default_panel = "Arguments" if param.param_type_name == "argument" else "Options"
        panel = getattr(param, "rich_help_panel", None) or default_panel
        panels.setdefault(panel, []).append(record)
    for panel, records in panels.items():
        lines += [f"**{panel}**", "", "| option | description |", "|---|---|"]
        lines += [f"| {_code(opts)} | {_cell(help_text)} |" for opts, help_text in records]
        lines.append("")
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    tools = console_scripts()

    def replace(m: re.Match) -> str:
        name = m.group(1)
        if name not in tools:
            raise _Error(f"{page.file.src_path}: cli-reference names an unknown tool {name!r}")
        return render(name)

    return MARKER.sub(replace, markdown)


def on_files(files, config):
    """Every console script must have a page that includes its reference."""
    wanted = set(console_scripts())
    found = set()
    for f in files:
        if f.src_path.endswith(".md") and f.abs_src_path:
            found |= set(MARKER.findall(Path(f.abs_src_path).read_text(encoding="utf-8")))
    missing = sorted(wanted - found)
    if missing:
        raise _Error(f"no documentation page includes the option reference of {', '.join(missing)}")
    return files
