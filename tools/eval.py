"""dt-eval: metrics, comparison tables and plots for predictions with labels."""

from __future__ import annotations

import json
import logging
import math
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core import io
from deeptarget_tools import _cli
from deeptarget_tools.options import OptDebug, OptOutput, OptQuiet, OptVerbose, OptVersion, float_option

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Evaluate predictions against labels: accuracy, sensitivity, specificity, F-measure, PPV, NPV, "
    "MCC, ROC-AUC, PR-AUC (and within-miRNA AUC with --group-by mirna). Several files give one "
    "comparison table; dt-train cross-validation tables are summarised (mean, sd, min, max)."
)

SHORTCUT_NAME = "identity-shortcut"


@app.command()
def command(
    predictions: Annotated[
        List[str],
        typer.Argument(
            help="Prediction tables with a score column (dt-predict site or gene output), or dt-train CV tables.",
            metavar="PRED...",
        ),
    ],
    output: OptOutput = "-",
    json_out: Annotated[Optional[str], typer.Option("--json", help="Also write all results as JSON.", metavar="FILE")] = None,
    labels: Annotated[
        Optional[str],
        typer.Option(
            "--labels",
            help="Label table (mirna_id, mrna_id, label) joined to the predictions on (mirna_id, mrna_id).",
            metavar="TSV",
        ),
    ] = None,
    threshold: Annotated[float, float_option("--threshold", help="Score at or above which a pair is called a target.")] = 0.5,
    names: Annotated[
        Optional[List[str]], typer.Option("--name", help="Display name of each prediction file, in order (default: file name).")
    ] = None,
    group_by: Annotated[
        Optional[str],
        typer.Option(
            "--group-by",
            help="'mirna': also the within-miRNA AUC (P(target outscores non-target of the same miRNA)).",
            metavar="mirna",
        ),
    ] = None,
    per_mirna: Annotated[
        Optional[str],
        typer.Option("--per-mirna", help="With --group-by mirna: per-miRNA AUC table (miRNAs with both labels).", metavar="FILE"),
    ] = None,
    shortcut_baseline: Annotated[
        Optional[str],
        typer.Option(
            "--shortcut-baseline",
            help="Training pair table: add the identity-only predictor (score = the miRNA's positive rate there) on the first file's rows.",
            metavar="TRAIN.tsv",
        ),
    ] = None,
    plots: Annotated[
        Optional[Path],
        typer.Option(
            "--plots",
            help="Write ROC, PR, histogram and confusion-matrix PNGs here (with --functional: the fold-change CDF by score bin).",
            metavar="DIR",
        ),
    ] = None,
    functional: Annotated[
        Optional[str],
        typer.Option(
            "--functional",
            help="Fold-change table (experiment [type] mirna_id mirna_seq mrna_id logFC): per-experiment Spearman (all genes, genes with a canonical site) and AUC for the 10% most repressed genes of gene-level predictions, the site count beside them. Needs --utr.",
            metavar="TSV",
        ),
    ] = None,
    utr: Annotated[
        Optional[str],
        typer.Option(
            "--utr",
            help="--functional: 3'UTR FASTA of its genes (for the site count and the canonical-site subset).",
            metavar="FASTA",
        ),
    ] = None,
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
    from deeptarget_core import functional as F
    from deeptarget_core.plots import safe_name

    if utr is None:
        raise typer.BadParameter("--functional needs --utr FASTA (the site-count baseline scans the UTRs)")
    if names and len(names) != len(predictions):
        raise typer.BadParameter(f"{len(names)} --name for {len(predictions)} files")
    _cli.check_paths({"PRED": predictions, "--functional": functional, "--utr": utr}, {"-o": output})
    io.check_output_path(output)
    if plots is not None:
        io.check_output_path(plots, directory=True)
    display = list(names) if names else _default_names(predictions)
    table, frame = F.evaluate_functional(functional, utr, predictions, display)
    with io.output_group(), io.atomic_output(output) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.4f", lineterminator="\n")
        if plots is not None:
            plots.mkdir(parents=True, exist_ok=True)
            for name in [*display, F.SITE_COUNT]:
                F.plot_cdf(frame, name, plots / f"functional_cdf_{safe_name(name)}.png")
    if not quiet:
        means = table[table["experiment"] == "mean"]
        _show(
            list(means.columns),
            [[str(v) if isinstance(v, str) else f"{v:.4f}" for v in r] for r in means.itertuples(index=False)],
        )


@_cli.handle_errors
def _eval(
    predictions, output, json_out, labels, threshold, names, group_by, per_mirna, shortcut_baseline, plots, quiet, debug=False
) -> None:
    from deeptarget_core import metrics
    from deeptarget_core.baselines import IdentityBaseline

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
    # Every output is checked before any work; then all are written or none is.
    for path in (output, json_out, per_mirna):
        if path is not None:
            io.check_output_path(path)
    if plots is not None:
        io.check_output_path(plots, directory=True)
    label_map = io.read_labels(labels) if labels else None
    display = list(names) if names else _default_names(predictions)
    group = group_by == "mirna"

    evaluated: list[tuple[str, dict, dict, io.Predictions]] = []
    cv: list[tuple[str, dict, int]] = []
    for path, name in zip(predictions, display):
        kind = io.table_kind(path)  # stdin and pipes too: io replays the header it reads
        if kind == "cv":
            folds = io.read_cv_table(path)
            cv.append((name, metrics.summarise_folds(folds, _cv_names(folds)), len(folds)))
            continue
        pred = io.read_predictions(path, name, label_map)
        if pred.n_unlabelled:
            log.warning("%s: %d rows without a label in %s were left out", name, pred.n_unlabelled, labels)
        if group and not any(pred.mirna_ids):
            raise typer.BadParameter(f"--group-by mirna needs a mirna_id column in {path}")
        m, per = metrics.evaluate(pred, threshold, group)
        evaluated.append((name, m, per, pred))
    if shortcut_baseline:
        if not evaluated:
            raise typer.BadParameter("--shortcut-baseline needs a prediction file")
        base = IdentityBaseline.fit(shortcut_baseline)
        first = evaluated[0][3]
        if not any(first.mirna_ids):
            raise typer.BadParameter(f"--shortcut-baseline needs a mirna_id column in {first.path}")
        pred = io.Predictions(SHORTCUT_NAME, first.path, first.mirna_ids, first.labels, base.score(first.mirna_ids))
        m, per = metrics.evaluate(pred, threshold, group)
        m["train_coverage"] = base.coverage(first.mirna_ids)
        evaluated.append((SHORTCUT_NAME, m, per, pred))
        log.info(
            "identity shortcut: %d training rows, %.0f%% of evaluated rows have a seen miRNA",
            base.n_train,
            100 * m["train_coverage"],
        )

    columns = ["name", "stat", *metrics.METRIC_NAMES]
    if group:
        columns += ["within_mirna_auc", "n_mirnas_both"]
    rows: list[list[str]] = []
    for name, m, _, _ in evaluated:
        rows.append([name, "value", *(metrics.format_metric(m.get(c, float("nan"))) for c in columns[2:])])
    for name, summary, _ in cv:
        for stat in ("mean", "sd", "min", "max"):
            rows.append([name, stat, *(metrics.format_metric(summary[stat].get(c, float("nan"))) for c in columns[2:])])
    plots_made = plots is not None and not plots.exists()
    try:
        _write_outputs(output, per_mirna, json_out, plots, columns, rows, evaluated, cv, threshold, group)
    except BaseException:
        if plots_made and plots.is_dir() and not any(plots.iterdir()):
            plots.rmdir()  # the pictures went with the tables (one output group)
        raise
    if not quiet:
        _show(columns, rows)


def _write_outputs(output, per_mirna, json_out, plots, columns, rows, evaluated, cv, threshold, group) -> None:
    from deeptarget_core import metrics

    with io.output_group(), ExitStack() as stack:
        # Renamed into place together, after the plots: a failure anywhere leaves none of the
        # tables (and write_plots removes its pictures).
        handle = stack.enter_context(io.atomic_output(output))
        io.write_tsv_header(handle, columns)
        handle.write("".join("\t".join(r) + "\n" for r in rows))
        if per_mirna:
            handle = stack.enter_context(io.atomic_output(per_mirna))
            io.write_tsv_header(handle, ["name", "mirna_id", "n", "n_pos", "auc"])
            for name, _, per, _ in evaluated:
                for g, rec in per.items():
                    handle.write(f"{name}\t{g}\t{rec['n']}\t{rec['n_pos']}\t{metrics.format_metric(rec['auc'])}\n")
        if json_out:
            payload = {
                "threshold": threshold,
                "predictors": {
                    name: {"file": pred.path, "metrics": _clean(m), **({"per_mirna_auc": _clean(per)} if group else {})}
                    for name, m, per, pred in evaluated
                },
                "cross_validation": {name: {"folds": n, **_clean(s)} for name, s, n in cv},
            }
            handle = stack.enter_context(io.atomic_output(json_out))
            handle.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        if plots is not None and evaluated:
            from deeptarget_core.plots import write_plots

            files = write_plots([(n, p.labels, p.scores) for n, _, _, p in evaluated], plots, threshold)
            log.info("dt-eval: %d plots in %s", len(files), plots)


def _default_names(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        base = "stdin" if p == "-" else Path(p).name
        for suffix in (".gz", ".tsv", ".txt"):
            base = base.removesuffix(suffix)
        name, k = base, 2
        while name in out:
            name, k = f"{base}_{k}", k + 1
        out.append(name)
    return out


def _cv_names(folds: list[dict]) -> list[str]:
    seen: list[str] = []
    for f in folds:
        for k in f:
            if k not in seen:
                seen.append(k)
    return seen


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


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
