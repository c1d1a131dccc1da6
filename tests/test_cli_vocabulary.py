"""One CLI vocabulary (issue 16 §5): one meaning per option, old spellings as hidden aliases,
one --seed default (CLI and Galaxy), --help that starts with what the tool does and groups
its options, checkpoints never gzipped."""

from __future__ import annotations

import importlib
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest
import typer

from deeptarget_tools.options import DEFAULT_SEED

from conftest import BIN, EXAMPLES, ROOT, TOOL_MODULES

TOOLS = TOOL_MODULES


def run(tool: str, *args, cwd=None):
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, cwd=cwd)


def command_of(module: str):
    app = importlib.import_module(f"deeptarget_tools.{module}").app
    return app, typer.main.get_command(app)


@pytest.mark.parametrize("tool, module", TOOLS.items())
def test_help_starts_with_what_the_tool_does(tool, module):
    app, _ = command_of(module)
    res = run(tool, "--help")
    assert res.returncode == 0, res.stderr
    body = [line.strip() for line in res.stdout.splitlines()[1:] if line.strip()]
    first_words = " ".join(app.info.help.split()[:6])
    assert " ".join(" ".join(body).split()[:6]) == first_words, res.stdout[:400]
    # -q/-v/--debug/--version/--help grouped in the last panel
    panels = re.findall(r"^(\S.*):$", res.stdout, flags=re.M)
    assert panels[-1] == "Runtime" and panels.count("Runtime") == 1, panels


# the tools with a random step (mock miRNAs, weight initialisation and batches, the Poisson
# background); the others must not grow a --seed that means nothing
SEEDED = {"dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict"}


@pytest.mark.parametrize("tool, module", TOOLS.items())
def test_every_seed_defaults_to_the_one_default(tool, module):
    _, cmd = command_of(module)
    seeds = [p for p in cmd.params if "--seed" in getattr(p, "opts", [])]
    assert len(seeds) == (1 if tool in SEEDED else 0), tool
    assert all(p.default == DEFAULT_SEED for p in seeds), tool


def test_galaxy_seed_default_is_the_cli_default():
    macros = ET.parse(ROOT / "galaxy" / "macros.xml").getroot()
    param = macros.find(".//xml[@name='seed_param']/param")
    assert param is not None and int(param.get("value")) == DEFAULT_SEED


@pytest.mark.parametrize(
    "tool, old, new",
    [
        ("dt-scan-cts", "--pairs", "--id-pairs"),
        ("dt-scan-cts", "--pairs-with-seq", "--pair-table"),
        ("dt-make-negatives", "--pairs", "--id-pairs"),
        ("dt-pretrain", "--pairs", "--pair-table"),
        ("dt-pretrain", "--mirna-fasta", "--mirna"),
        ("dt-predict", "--pairs", "--pair-table"),
    ],
)
def test_old_spellings_are_hidden_but_refuse_to_be_mixed(tool, old, new, tmp_path):
    help_text = run(tool, "--help").stdout
    assert re.search(rf"(^|\s){re.escape(new)}\s", help_text), help_text
    assert not re.search(rf"(^|\s){re.escape(old)}(\s|,)", help_text)
    t = tmp_path / "t.tsv"
    t.write_text("mirna_id\tmrna_id\n")
    res = run(tool, old, t, new, t, "-o", tmp_path / "out")
    assert res.returncode == 2
    assert f"{old} is the old name of {new}" in res.stderr


def test_old_spellings_still_work(tmp_path):
    ids = tmp_path / "ids.tsv"
    ids.write_text("mirna_id\tmrna_id\nhsa-let-7a-5p\tUTR001_let-7a-5p_7mer-A1+7mer-m8\n")
    common = ["--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz"]
    new = run("dt-scan-cts", *common, "--id-pairs", ids)
    old = run("dt-scan-cts", *common, "--pairs", ids)
    assert new.returncode == old.returncode == 0, old.stderr
    assert new.stdout == old.stdout and len(new.stdout.splitlines()) > 1
    assert old.stderr.count("\n") == new.stderr.count("\n")  # no extra stderr line (see -v)
    verbose = run("dt-scan-cts", *common, "--pairs", ids, "-v")
    assert "--pairs is the old spelling of --id-pairs" in verbose.stderr


@pytest.mark.parametrize(
    "tool, args",
    [
        ("dt-pretrain", ["--pair-table", "x.tsv"]),
        ("dt-train", ["--train", "x.tsv", "--no-pretrain"]),
    ],
)
@pytest.mark.parametrize("name", ["ae.pt.gz", "model.bgz"])
def test_gzipped_checkpoint_outputs_are_refused_before_any_work(tool, args, name, tmp_path):
    (tmp_path / "x.tsv").write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
    res = run(tool, *args, "-o", name, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and len(res.stderr.strip().splitlines()) == 1
    assert "checkpoints are written uncompressed" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tsv"]


def test_cv_metrics_may_still_be_gzipped(tmp_path):
    """-o of dt-train --cv is a metrics table, not a checkpoint: a .gz name is written gzipped."""
    import gzip

    train = ROOT / "galaxy" / "test-data" / "training_pairs.tsv"
    args = ["--train", train, "--no-pretrain", "--cv", "2", "--epochs", "1", "-p", "1", "-o", "cv.tsv.gz", "-q"]
    res = run("dt-train", *args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    with gzip.open(tmp_path / "cv.tsv.gz", "rt") as f:
        rows = [r.split("\t") for r in f.read().splitlines()]
    assert rows[0][0] == "fold" and "roc_auc" in rows[0]
    assert [r[0] for r in rows[1:]][:2] == ["1", "2"] and "mean" in [r[0] for r in rows]


# The options dataclass each tool builds (dt-train builds one of two, by --level).
COMMANDS = {
    "scan_cts": ("deeptarget_core.scan_command", ("ScanCommand",)),
    "predict": ("deeptarget_core.predict_command", ("PredictCommand",)),
    "make_negatives": ("deeptarget_core.negatives_command", ("NegativesCommand",)),
    "pretrain": ("deeptarget_core.pretrain_command", ("PretrainCommand",)),
    "explain": ("deeptarget_core.explain_command", ("ExplainCommand",)),
    "eval": ("deeptarget_core.eval_command", ("EvalCommand",)),
    "extract_utrs": ("deeptarget_core.extract_command", ("ExtractCommand",)),
    "train": ("deeptarget_core.train_command", ("TrainCommand",)),
}
LOGGING = {"quiet", "verbose", "debug", "version"}


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_every_tool_parameter_lands_in_its_command(module):
    """options_of joins parameters to fields by name: a parameter without a field of its name
    must be one the tool folds into another (its FOLDED set), or it would be dropped unseen."""
    import dataclasses
    import inspect

    tool = importlib.import_module(f"deeptarget_tools.{module}")
    lib, names = COMMANDS[module]
    classes = [getattr(importlib.import_module(lib), n) for n in names]
    if module == "train":
        from deeptarget_core.gene_training import GeneTrainOptions

        classes.append(GeneTrainOptions)
    fields = set().union(*({f.name for f in dataclasses.fields(c)} for c in classes))
    params = set(inspect.signature(tool.command).parameters)
    folded = getattr(tool, "FOLDED", frozenset())
    assert params - fields - LOGGING - folded == set()
    assert folded <= params  # no stale entry
    assert not folded & fields - {"no_pretrain"}  # folded means: not passed on by its own name


def test_dt_train_shows_and_takes_each_trainings_options_apart():
    import dataclasses
    import inspect

    from deeptarget_core.gene_training import GeneTrainOptions
    from deeptarget_core.train_command import TrainCommand
    from deeptarget_tools import train

    params = set(inspect.signature(train.command).parameters)
    site, gene = set(train.SITE_OPTIONS), set(train.GENE_OPTIONS)
    both = {"output", "seed", "cv", "threads", "level"} | LOGGING
    assert site | gene | both == params and not site & gene
    # a site option is one the gene training has no field for, and the other way round
    assert not site & {f.name for f in dataclasses.fields(GeneTrainOptions)}
    assert not gene & {f.name for f in dataclasses.fields(TrainCommand)}


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--level", "gene", "--functional", "f.tsv", "--utr", "u.fa", "--epochs", "3"],
            "--epochs is an option of the site network",
        ),
        (
            ["--level", "gene", "--functional", "f.tsv", "--utr", "u.fa", "--no-pretrain"],
            "--no-pretrain is an option of the site network",
        ),
        (["--train", "t.tsv", "--no-pretrain", "--site-model", "m.pt"], "--site-model is an option of --level gene"),
        (["--train", "t.tsv", "--no-pretrain", "--functional", "f.tsv"], "--functional is an option of --level gene"),
        # the message named --log as '--log-file' (the parameter's name), a flag that does not exist
        (
            ["--level", "gene", "--functional", "f.tsv", "--utr", "u.fa", "--log", "l.tsv"],
            "--log is an option of the site network",
        ),
    ],
)
def test_dt_train_refuses_an_option_of_the_other_training(tmp_path, args, message):
    res = run("dt-train", *args, cwd=tmp_path)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith(f"error: {message}")
    assert not list(tmp_path.iterdir())  # refused before any work


@pytest.mark.parametrize("tool", list(TOOL_MODULES))
def test_messages_name_flags_the_tool_has(tool):
    """_cli.flag_of (the flag a refusal names) gives, for every parameter, a flag of the command."""
    import inspect

    import typer.main

    from deeptarget_tools import _cli

    module = __import__(f"deeptarget_tools.{TOOL_MODULES[tool]}", fromlist=["command"])
    flags = {o for p in typer.main.get_command(module.app).params for o in (*p.opts, *p.secondary_opts)}
    for name, param in inspect.signature(module.command).parameters.items():
        if getattr(param.annotation, "__metadata__", None) and type(param.annotation.__metadata__[0]).__name__ == "OptionInfo":
            assert _cli.flag_of(module.command, name) in flags, name
