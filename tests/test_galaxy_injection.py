"""Galaxy wrappers (issue 7): hostile dataset names and paths cannot break or inject into the
command line.

Each wrapper's <command> (macros expanded by galaxy-tool-util, as Galaxy does) is rendered
with Cheetah, as Galaxy renders it, from a parameter namespace built from the wrapper's own
<inputs>/<outputs>: every dataset path, dataset name and collection element identifier holds
spaces, double quotes, ``;``, ``$(...)`` and backticks. The rendered command is then split
the way bash would split it (shlex, POSIX) and run by bash with ``printf`` standing in for the
executables: each hostile string must arrive as (part of) one argument, and nothing may run.

What Galaxy itself guarantees is modelled, not more: dataset *paths* are made by Galaxy and
never hold a single quote; *text* parameters pass Galaxy's default sanitizer, which turns
``'`` into ``__sq__``. Collection element identifiers (``$x.element_identifier``) are not
sanitized by Galaxy, so those are tested with a raw single quote as well.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

Cheetah = pytest.importorskip("Cheetah.Template")
parser = pytest.importorskip("galaxy.tool_util.parser")

WRAPPERS = sorted((ROOT / "galaxy").glob("dt_*.xml"))
# relative names: an injected touch would create them in the test's own directory
HOSTILE = 'my data "x" ; touch PWNED $(touch PWNED2) `touch PWNED3`'
HOSTILE_SQ = HOSTILE + " it's"  # for element identifiers, which Galaxy does not sanitize


def galaxy_sanitize(text: str) -> str:
    """Galaxy's default text-parameter sanitizer (galaxy.util.sanitize_param): quotes and a few
    other characters become __sq__, __dq__, ... ; letters, digits, spaces and ._-/:,=+ stay."""
    mapped = {
        "'": "__sq__",
        '"': "__dq__",
        "<": "__lt__",
        ">": "__gt__",
        "[": "__ob__",
        "]": "__cb__",
        "{": "__oc__",
        "}": "__cc__",
        "@": "__at__",
        "\n": "__cn__",
        "\r": "__cr__",
        "\t": "__tc__",
        "#": "__pd__",
    }
    ok = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-+=_/:,")
    return "".join(c if c in ok else mapped.get(c, "X") for c in text)


class Dataset:
    """What a data parameter looks like in Cheetah: str() is the path; name, ext, ..."""

    def __init__(self, tag: str, identifier: str = HOSTILE):
        self.path = f"/galaxy/files/{tag} {HOSTILE}.dat"
        self.name = self.element_identifier = identifier
        self.ext = "tabular"
        self.extra_files_path = self.files_path = f"/galaxy/files/{tag} {HOSTILE}_files"
        self.is_collection = False

    def __str__(self) -> str:
        return self.path

    def __bool__(self) -> bool:
        return True


class Value:
    """A scalar parameter: str() as Galaxy renders it, truthiness as Galaxy's wrappers."""

    def __init__(self, text: str, truth: bool | None = None):
        self.text = text
        self.truth = bool(text) if truth is None else truth

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return self.truth

    def __eq__(self, other) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.text)


def _inputs(elem, choose: dict[str, int]) -> dict:
    """Namespace for the params under ``elem``; ``choose`` picks conditional cases by name."""
    ns: dict = {}
    for child in elem:
        tag = child.tag
        name = child.get("name") or (child.get("argument") or "").lstrip("-").replace("-", "_")
        if tag == "param":
            ns[name] = _param(child, name)
        elif tag == "conditional":
            test = child.find("param")
            tname = test.get("name") or (test.get("argument") or "").lstrip("-").replace("-", "_")
            whens = child.findall("when")
            when = whens[choose.get(name, 0) % len(whens)]
            sub = _inputs(when, choose)
            sub[tname] = Value(when.get("value"))
            ns[name] = sub
        elif tag == "section":
            ns[name] = _inputs(child, choose)
        elif tag == "repeat":
            ns[name] = [_inputs(child, choose), _inputs(child, choose)]
    return ns


def _param(p, name: str):
    kind = p.get("type")
    if kind == "data":
        if p.get("multiple") == "true":
            return [Dataset(f"{name}1", HOSTILE_SQ), Dataset(f"{name}2", HOSTILE_SQ + "2")]
        return Dataset(name)
    if kind == "data_collection":
        return [Dataset(f"{name}1", HOSTILE_SQ), Dataset(f"{name}2", HOSTILE_SQ + "2")]
    if kind == "boolean":
        return Value(p.get("truevalue", "true"), True)
    if kind == "select":
        options = p.findall("option")
        chosen = next((o for o in options if o.get("selected") == "true"), options[0] if options else None)
        return Value(chosen.get("value") if chosen is not None else "")
    if kind in ("integer", "float"):
        return Value(p.get("value") or "1")
    return Value(galaxy_sanitize(HOSTILE))  # text


def _namespace(root, choose: dict[str, int]) -> dict:
    ns = _inputs(root.find("inputs"), choose)
    outputs = root.find("outputs")
    for out in outputs if outputs is not None else []:
        if out.tag in ("data", "collection"):
            ns[out.get("name")] = Dataset(out.get("name"))
    ns["__tool_directory__"] = "/galaxy/tools/deeptarget"
    ns["on_string"] = "data 1"
    return ns


def _conditionals(root) -> list[str]:
    return [c.get("name") for c in root.iter("conditional")]


def _renderings(path: Path):
    """The command rendered once per case of every conditional (case i of each at once)."""
    source = parser.get_tool_source(str(path))
    command = source.parse_command()
    root = source.root
    widest = max([len(c.findall("when")) for c in root.iter("conditional")] or [1])
    for i in range(widest):
        ns = _namespace(root, {name: i for name in _conditionals(root)})
        yield i, str(Cheetah.Template(command, searchList=[ns]))


# dt_eval.xml passes each collection element identifier as --name '$p.element_identifier':
# an identifier with a single quote ends the quoting and the rest runs as shell code. Galaxy
# does not sanitize element identifiers; the wrapper must (e.g. re.sub(r"[^\w\-\s.]", "_", ...)).
KNOWN_UNSAFE: dict[str, str] = {}  # wrapper file name -> reason (strict xfail); none left


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(w, marks=pytest.mark.xfail(strict=True, reason=KNOWN_UNSAFE[w.name])) if w.name in KNOWN_UNSAFE else w
        for w in WRAPPERS
    ],
    ids=lambda p: p.name,
)
def test_hostile_names_stay_inside_one_argument(path: Path, tmp_path: Path):
    rendered_any = False
    for case, text in _renderings(path):
        rendered_any = True
        shell = " ".join(line for line in text.splitlines() if line.strip())
        words = shlex.split(shell, posix=True)
        # bash first: Galaxy runs the command as one line (newlines become spaces); every
        # program is replaced by a function printing its arguments, except touch, which an
        # injection would really run (in this sandbox directory)
        script = tmp_path / f"cmd{case}.sh"
        stubs = (
            "dt-scan-cts",
            "dt-make-negatives",
            "dt-pretrain",
            "dt-train",
            "dt-predict",
            "dt-eval",
            "dt-explain",
            "dt-extract-utrs",
            "cp",
            "mkdir",
            "mv",
            "ln",
            "cat",
            "gzip",
            "zip",
            "tar",
            "rm",
            "python",
            "python3",
            "find",
            "ls",
        )
        script.write_text(
            'show() { for a in "$@"; do printf \'[%s]\\n\' "$a"; done; }\n'
            + "".join(f'{exe}() {{ show "$@"; }}\n' for exe in stubs)
            + shell
            + "\n"
        )
        env = {"PATH": "/usr/bin:/bin", "GALAXY_SLOTS": "2", "HOME": str(tmp_path)}
        res = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=30)
        assert not list(tmp_path.glob("PWNED*")), (case, "injected command ran", shell)
        assert res.returncode == 0, (case, res.stderr, shell)
        args = res.stdout.splitlines()
        assert args[0].startswith("[") and any(HOSTILE in a for a in args), (case, res.stdout)
        assert not [p for p in tmp_path.iterdir() if not p.name.startswith("cmd")], (case, list(tmp_path.iterdir()))
        # and shlex agrees: every hostile string is inside one word: it never spills over a word boundary
        for w in words:
            if any(piece in w for piece in ("touch", "PWNED", "$(", "`")):
                # kept whole (quoted), Galaxy-sanitised, or reduced to word characters by the wrapper
                assert HOSTILE in w or galaxy_sanitize(HOSTILE) in w or re.fullmatch(r"[\w\-.]+", w), (case, w, shell)
        assert any(HOSTILE in w for w in words), f"{path.name}: no dataset reached the command"
    assert rendered_any
