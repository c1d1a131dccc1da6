"""The tools' shared checks (tools/_cli.py: refuse, one_stdin, one_stdout, options_of, the tool's
wording of library usage errors) and the outcome lines the command layer gives the tools to log."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest
import typer

from deeptarget_core.errors import InputError, UsageError
from deeptarget_tools import _cli


def test_refuse_checks_rules_in_order_and_formats_callable_messages():
    rules = [
        (lambda o: o.a and o.b, "give a or b, not both"),
        (lambda o: o.n != 2, lambda o: f"{o.n} --name for 2 files"),
    ]
    _cli.refuse(rules, SimpleNamespace(a=True, b=False, n=2))
    with pytest.raises(typer.BadParameter, match="give a or b, not both"):
        _cli.refuse(rules, SimpleNamespace(a=True, b=True, n=3))
    with pytest.raises(typer.BadParameter, match="^3 --name for 2 files$"):
        _cli.refuse(rules, SimpleNamespace(a=False, b=True, n=3))


def test_one_stdin_and_one_stdout():
    _cli.one_stdin("-", None, ["a.tsv"])
    with pytest.raises(InputError, match="only one input"):
        _cli.one_stdin(["-", "b"], "-")
    with pytest.raises(typer.BadParameter, match="only one input"):
        _cli.one_stdin("-", "-", usage=True)
    _cli.one_stdout({"-o": "-", "--json": None, "--per-mirna": "x.tsv"})
    with pytest.raises(typer.BadParameter, match="^-o and --json and --per-mirna cannot both be stdout$"):
        _cli.one_stdout({"-o": "-", "--json": "-", "--per-mirna": "-"})


def test_options_of_takes_the_fields_by_name_and_enum_values():
    from deeptarget_tools.options import Device

    @dataclass
    class Options:
        output: str = "-"
        device: str = "auto"
        relaxed: bool = False

    opts = _cli.options_of(Options, {"output": "o.tsv", "device": Device.cpu, "quiet": True}, relaxed=True)
    assert opts == Options("o.tsv", "cpu", True)


def test_a_tool_words_the_library_usage_error_in_its_flags():
    def failing(option):
        raise UsageError("gene rows need gene-level input", option=option)

    worded = _cli.handle_errors(say={"gene_output": "--gene-output needs gene-level input"})(failing)
    with pytest.raises(typer.BadParameter, match="^--gene-output needs gene-level input$"):
        worded("gene_output")
    with pytest.raises(typer.BadParameter, match="^gene rows need gene-level input$"):
        worded("other")  # no wording for it: the library's message


def test_negatives_outcome_lines():
    from deeptarget_core.negatives import NegativeSummary
    from deeptarget_core.negatives_command import NegativesOutcome

    s = NegativeSummary(5, 4, 3, 6, 10, 7, 1, {1: 3, 2: 2}, ["m1", "m2"], 1.234)
    out = NegativesOutcome(s, 4, [], 140.5, 2.5)
    assert out.report() == (
        "dt-make-negatives: 5 positives (3 miRNAs, 4 distinct miRNA-target pairs), 6 mock miRNAs (4 used): "
        "7 negatives at score >= 140.5 (positives: 3 with 1, 2 with 2; 1 filled from other targets) in 1.2 s"
    )
    assert out.warnings("HINT") == [
        "warning: 2 miRNA(s) got no mock, e.g. 'm1'",
        "warning: ratio 2.5 not reached: 7 of 10 negatives (70.0%); HINT",
    ]


def test_predict_outcome_report_and_eval_display():
    from deeptarget_core.eval_command import EvalOutcome
    from deeptarget_core.predict import PredictSummary
    from deeptarget_core.predict_command import PredictOutcome

    summary = PredictSummary(n_cts=155, n_pairs=104, seconds=2.0)
    assert PredictOutcome(summary).report() == "dt-predict: 155 CTS scored in 2.0 s (78 CTS/s)"
    assert PredictOutcome(summary, "g.tsv").report().endswith("(78 CTS/s); 104 gene rows")
    columns, rows = EvalOutcome(["name", "stat", "f_measure", "roc_auc"], [["a", "value", "1", "2"]]).display()
    assert columns == [("name", "left"), ("stat", "left"), ("F", "right"), ("roc_auc", "right")]
    assert rows == [["a", "value", "1", "2"]]


_QUICK_EXIT_TOOL = """
import atexit, sys
import torch  # a tool that imported torch ends by _cli._quick_exit
import typer
from deeptarget_tools import _cli

MARKER = sys.argv.pop()  # the test's file for the atexit handler
app = _cli.make_app("test tool")

@app.command()
def command(code: int = 0, message: str = "") -> None:
    atexit.register(lambda: open(MARKER, "w").write("atexit ran"))
    sys.stdout.write("x" * 100_000)  # buffered: must reach the pipe before the process ends
    if message:
        raise SystemExit(message)
    raise typer.Exit(code)

_cli.run(app)
"""


@pytest.mark.parametrize(
    ("args", "status", "stderr"), [([], 0, ""), (["--code", "3"], 3, ""), (["--message", "boom"], 1, "boom\n")]
)
def test_quick_exit_keeps_the_status_atexit_handlers_and_buffered_output(tmp_path, args, status, stderr):
    import subprocess
    import sys

    marker = tmp_path / "marker"
    script = tmp_path / "tool.py"
    script.write_text(_QUICK_EXIT_TOOL)
    res = subprocess.run([sys.executable, str(script), *args, str(marker)], capture_output=True, text=True)
    assert (res.returncode, res.stdout, res.stderr) == (status, "x" * 100_000, stderr)
    assert marker.read_text() == "atexit ran"
