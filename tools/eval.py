"""dt-eval: metrics, comparison tables and plots for predictions with labels."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, List, Optional

import typer

from deeptarget_core.eval_command import EvalCommand, check_names, plot_files, run_eval, run_functional
from deeptarget_tools import _cli
from deeptarget_tools.options import OptDebug, OptOutput, OptQuiet, OptVerbose, OptVersion, float_option

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Evaluate predictions against labels: accuracy, sensitivity, specificity, F-measure, PPV, NPV, "
    "MCC, ROC-AUC, PR-AUC (and within-miRNA AUC with --group-by mirna). Several files give one "
    "comparison table; dt-train cross-validation tables are summarised (mean, sd, min, max)."
)


OptPredictions = Annotated[
    List[str],
    typer.Argument(
        help="Prediction tables with a score column (dt-predict site or gene output), or dt-train CV tables.",
        metavar="PRED...",
    ),
]
OptJsonOut = Annotated[Optional[str], typer.Option("--json", help="Also write all results as JSON.", metavar="FILE")]
OptLabels = Annotated[
    Optional[str],
    typer.Option(
        "--labels",
        help="Label table (mirna_id, mrna_id, label) joined to the predictions on (mirna_id, mrna_id).",
        metavar="TSV",
    ),
]
OptThreshold = Annotated[float, float_option("--threshold", help="Score at or above which a pair is called a target.")]
OptNames = Annotated[
    Optional[List[str]], typer.Option("--name", help="Display name of each prediction file, in order (default: file name).")
]
OptGroupBy = Annotated[
    Optional[str],
    typer.Option(
        "--group-by",
        help="'mirna': also the within-miRNA AUC (P(target outscores non-target of the same miRNA)).",
        metavar="mirna",
    ),
]
OptPerMirna = Annotated[
    Optional[str],
    typer.Option("--per-mirna", help="With --group-by mirna: per-miRNA AUC table (miRNAs with both labels).", metavar="FILE"),
]
OptShortcutBaseline = Annotated[
    Optional[str],
    typer.Option(
        "--shortcut-baseline",
        help="Training pair table: add the identity-only predictor (score = the miRNA's positive rate there) on the first file's rows.",
        metavar="TRAIN.tsv",
    ),
]
OptPlots = Annotated[
    Optional[Path],
    typer.Option(
        "--plots",
        help="Write ROC, PR, histogram and confusion-matrix PNGs here (with --functional: the fold-change CDF by score bin).",
        metavar="DIR",
    ),
]
OptFunctional = Annotated[
    Optional[str],
    typer.Option(
        "--functional",
        help="Fold-change table (experiment [type] mirna_id mirna_seq mrna_id logFC): per-experiment Spearman (all genes, genes with a canonical site) and AUC for the 10% most repressed genes of gene-level predictions, the site count beside them. Needs --utr.",
        metavar="TSV",
    ),
]
OptUtr = Annotated[
    Optional[str],
    typer.Option(
        "--utr",
        help="--functional: 3'UTR FASTA of its genes (for the site count and the canonical-site subset).",
        metavar="FASTA",
    ),
]

OptGeneModel = Annotated[
    Optional[str],
    typer.Option(
        "--gene-model",
        help="--functional: the gene model whose training experiments to compare with (a warning says how many of "
        "the evaluated experiments it was trained on; default: the packaged one).",
        metavar="FILE",
    ),
]


# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset({"group_by"})  # group_by_mirna


@app.command()
def command(
    predictions: OptPredictions,
    output: OptOutput = "-",
    json_out: OptJsonOut = None,
    labels: OptLabels = None,
    threshold: OptThreshold = 0.5,
    names: OptNames = None,
    group_by: OptGroupBy = None,
    per_mirna: OptPerMirna = None,
    shortcut_baseline: OptShortcutBaseline = None,
    plots: OptPlots = None,
    functional: OptFunctional = None,
    utr: OptUtr = None,
    gene_model: OptGeneModel = None,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Writes the metrics table to -o (default stdout) and a readable table to stderr."""
    _cli.setup_logging(quiet, verbose)
    options = SimpleNamespace(**locals())
    if functional is not None:
        _eval_functional(options, debug=debug)
    else:
        _eval(options, debug=debug)


def _names_count(o) -> str:
    return f"{len(o.names)} --name for {len(o.predictions)} files"


def _names_repeated(o) -> str:
    twice = next(n for n in o.names if o.names.count(n) > 1)
    return f"--name '{twice}' is given twice: each prediction file needs a name of its own (rows, JSON keys, pictures)"


# The option combinations dt-eval refuses (usage errors, exit 2), in order: (when, message).
_REFUSED = [
    (lambda o: o.utr is not None, "--utr belongs to --functional"),
    (lambda o: o.gene_model is not None, "--gene-model belongs to --functional"),
    (lambda o: o.group_by not in (None, "mirna"), "--group-by takes 'mirna'"),
    (lambda o: o.per_mirna and o.group_by != "mirna", "--per-mirna needs --group-by mirna"),
    (lambda o: o.names and len(o.names) != len(o.predictions), _names_count),
    (lambda o: o.names and len(set(o.names)) != len(o.names), _names_repeated),
]
_REFUSED_FUNCTIONAL = [
    (lambda o: o.utr is None, "--functional needs --utr FASTA (the site-count baseline scans the UTRs)"),
    (lambda o: o.names and len(o.names) != len(o.predictions), _names_count),
    (lambda o: o.names and len(set(o.names)) != len(o.names), _names_repeated),
]


@_cli.handle_errors
def _eval_functional(o, debug=False) -> None:

    _cli.refuse(_REFUSED_FUNCTIONAL, o)
    cmd = _cli.options_of(EvalCommand, vars(o), names=o.names or ())
    check_names(cmd)
    _cli.check_paths(
        {"PRED": o.predictions, "--functional": o.functional, "--utr": o.utr, "--gene-model": o.gene_model},
        {"-o": o.output, "--plots": plot_files(cmd)},
    )
    outcome = run_functional(cmd)
    _cli.show_table("dt-eval", *outcome.display())


@_cli.handle_errors
def _eval(o, debug=False) -> None:

    _cli.refuse(_REFUSED, o)
    _cli.one_stdin(o.predictions, usage=True)
    outputs = {"-o": o.output, "--json": o.json_out, "--per-mirna": o.per_mirna}
    _cli.one_stdout(outputs)
    cmd = _cli.options_of(EvalCommand, vars(o), names=o.names or (), group_by_mirna=o.group_by == "mirna")
    check_names(cmd)
    inputs = {"PRED": o.predictions, "--labels": o.labels, "--shortcut-baseline": o.shortcut_baseline}
    _cli.check_paths(inputs, {**outputs, "--plots": plot_files(cmd)})
    _cli.show_table("dt-eval", *run_eval(cmd).display())


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
