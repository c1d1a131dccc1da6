"""dt-eval: metrics, comparison tables and plots for predictions with labels."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, List, Optional

import typer

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
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Writes the metrics table to -o (default stdout) and a readable table to stderr."""
    _cli.setup_logging(quiet, verbose)
    if functional is not None:
        _eval_functional(predictions, functional, utr, output, names, plots, quiet, debug=debug)
        return
    if utr is not None:
        raise typer.BadParameter("--utr belongs to --functional")
    _eval(
        predictions, output, json_out, labels, threshold, names, group_by, per_mirna, shortcut_baseline, plots, quiet, debug=debug
    )


@_cli.handle_errors
def _eval_functional(predictions, functional, utr, output, names, plots, quiet, debug=False) -> None:
    from deeptarget_core.eval_command import run_functional

    if utr is None:
        raise typer.BadParameter("--functional needs --utr FASTA (the site-count baseline scans the UTRs)")
    if names and len(names) != len(predictions):
        raise typer.BadParameter(f"{len(names)} --name for {len(predictions)} files")
    _cli.check_paths({"PRED": predictions, "--functional": functional, "--utr": utr}, {"-o": output})
    result = run_functional(predictions, functional, utr, output, names or (), plots)
    if not quiet:
        _show(result.columns, result.rows)


@_cli.handle_errors
def _eval(
    predictions, output, json_out, labels, threshold, names, group_by, per_mirna, shortcut_baseline, plots, quiet, debug=False
) -> None:
    from deeptarget_core.eval_command import EvalCommand, run_eval

    if group_by not in (None, "mirna"):
        raise typer.BadParameter("--group-by takes 'mirna'")
    if per_mirna and group_by != "mirna":
        raise typer.BadParameter("--per-mirna needs --group-by mirna")
    if names and len(names) != len(predictions):
        raise typer.BadParameter(f"{len(names)} --name for {len(predictions)} files")
    if sum(1 for p in predictions if p == "-") > 1:
        raise typer.BadParameter("only one input can be read from stdin")
    stdout_outputs = [name for name, path in (("-o", output), ("--json", json_out), ("--per-mirna", per_mirna)) if path == "-"]
    if len(stdout_outputs) > 1:
        raise typer.BadParameter(f"{' and '.join(stdout_outputs)} cannot both be stdout")
    _cli.check_paths(
        {"PRED": predictions, "--labels": labels, "--shortcut-baseline": shortcut_baseline},
        {"-o": output, "--json": json_out, "--per-mirna": per_mirna},
    )
    cmd = EvalCommand(
        predictions=predictions,
        names=names or (),
        output=output,
        json_out=json_out,
        labels=labels,
        threshold=threshold,
        group_by_mirna=group_by == "mirna",
        per_mirna=per_mirna,
        shortcut_baseline=shortcut_baseline,
        plots=plots,
    )
    result = run_eval(cmd)
    if not quiet:
        _show(result.columns, result.rows)


def _show(columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    short = {
        "accuracy": "acc",
        "sensitivity": "sens",
        "specificity": "spec",
        "f_measure": "F",
        "within_mirna_auc": "wAUC",
        "n_mirnas_both": "miRNAs",
    }
    table = Table(title="dt-eval", title_justify="left")
    for c in columns:
        table.add_column(short.get(c, c), justify="left" if c in ("name", "stat") else "right")
    for r in rows:
        table.add_row(*r)
    Console(stderr=True, width=200).print(table)


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
