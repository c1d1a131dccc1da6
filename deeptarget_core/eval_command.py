"""dt-eval's operation as a library call: :class:`EvalCommand` (typed options) ->
:func:`run_eval` -> :class:`EvalOutcome` (the metrics table, also for the tool's display).

Owns what dt-eval writes: the metrics table, the per-miRNA AUC table, the JSON summary and the
plots, as one output group; the identity-shortcut baseline's row; the functional evaluation's
table and pictures (:func:`run_functional`); and the short column names of the tool's display
(:meth:`EvalOutcome.display`). Prediction, label and
CV tables are read by :mod:`deeptarget_core.io`; the arithmetic is :mod:`deeptarget_core.metrics`.
"""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import functional as F
from . import io, metrics, streams
from .baselines import IdentityBaseline
from .errors import UsageError
from .plots import plot_files as write_plots_files
from .plots import safe_name, write_plots

log = logging.getLogger("deeptarget")
SHORTCUT_NAME = "identity-shortcut"
# column headers of the display (the table's own names elsewhere)
SHORT_NAMES = {
    "accuracy": "acc",
    "sensitivity": "sens",
    "specificity": "spec",
    "f_measure": "F",
    "within_mirna_auc": "wAUC",
    "n_mirnas_both": "miRNAs",
}


@dataclass
class EvalCommand:
    """Options of one evaluation (values, not flags)."""

    predictions: Sequence[str]
    names: Sequence[str] = ()  # empty: from the file names
    output: str = "-"
    json_out: str | None = None
    labels: str | None = None
    threshold: float = 0.5
    group_by_mirna: bool = False
    per_mirna: str | None = None
    shortcut_baseline: str | None = None
    plots: Path | None = None
    functional: str | None = None  # a fold-change table: the functional evaluation instead
    utr: str | None = None  # the functional table's UTRs
    gene_model: str | None = None  # whose training experiments to compare with (None: the packaged one)


@dataclass
class EvalOutcome:
    columns: list[str]
    rows: list[list[str]]

    def display(self) -> tuple[list[tuple[str, str]], list[list[str]]]:
        """(header, justify) of each column (short names, text on the left) and the rows."""
        return [(SHORT_NAMES.get(c, c), "left" if c in ("name", "stat") else "right") for c in self.columns], self.rows


def run_eval(cmd: EvalCommand) -> EvalOutcome:
    """Evaluate every prediction (or CV) table and write the outputs."""
    for path in (cmd.output, cmd.json_out, cmd.per_mirna):  # every output checked before any work
        if path is not None:
            streams.check_output_path(path)
    if cmd.plots is not None:
        streams.check_output_path(cmd.plots, directory=True)
    evaluated, cv = _evaluate_all(cmd)
    group = cmd.group_by_mirna
    columns = ["name", "stat", *metrics.METRIC_NAMES]
    if group:
        columns += ["within_mirna_auc", "n_mirnas_both"]
    rows: list[list[str]] = []
    for name, m, _, _ in evaluated:
        rows.append([name, "value", *(metrics.format_metric(m.get(c, float("nan"))) for c in columns[2:])])
    for name, summary, _ in cv:
        for stat in ("mean", "sd", "min", "max"):
            rows.append([name, stat, *(metrics.format_metric(summary[stat].get(c, float("nan"))) for c in columns[2:])])
    plots = cmd.plots
    plots_made = plots is not None and not plots.exists()
    try:
        _write_outputs(cmd.output, cmd.per_mirna, cmd.json_out, plots, columns, rows, evaluated, cv, cmd.threshold, group)
    except BaseException:
        if plots_made and plots.is_dir() and not any(plots.iterdir()):
            plots.rmdir()  # the pictures went with the tables (one output group)
        raise
    return EvalOutcome(columns, rows)


def run_functional(cmd: EvalCommand) -> EvalOutcome:
    """Functional evaluation of ``cmd.functional`` with ``cmd.utr`` (per-experiment figures of
    each prediction table and of the site count) into ``cmd.output``, with the fold-change CDF
    pictures in ``cmd.plots``; the outcome holds the mean rows (for the tool's display)."""

    output, plots, names, predictions = cmd.output, cmd.plots, cmd.names, cmd.predictions

    streams.check_output_path(output)
    if plots is not None:
        streams.check_output_path(plots, directory=True)
    streams.check_input_paths(cmd.functional, cmd.utr, list(predictions), cmd.gene_model)  # before the libraries load
    display = list(names) if names else default_names(list(predictions))
    table, frame = F.evaluate_functional(cmd.functional, cmd.utr, predictions, display)
    for note in F.undefined_figures(table):
        log.warning("%s", note)
    _say_trained_on(frame, cmd.gene_model)
    with streams.output_group(), streams.atomic_output(output) as handle:
        table.to_csv(handle, sep="\t", index=False, float_format="%.4f", lineterminator="\n")
        if plots is not None:
            plots.mkdir(parents=True, exist_ok=True)
            for name, path in zip([*display, F.SITE_COUNT], _functional_plots(plots, display)):
                F.plot_cdf(frame, name, path)
    means = table[table["experiment"] == "mean"]
    rows = [[v if isinstance(v, str) else metrics.format_metric(v) for v in r] for r in means.itertuples(index=False)]
    return EvalOutcome(list(means.columns), rows)


def _say_trained_on(frame, gene_model: str | None) -> None:
    """A gene model's figures on its own training experiments are not an independent test:
    say how many of the evaluated experiments it was trained on."""
    from . import gene_model as gm

    model = gm.load(gene_model)
    name = gene_model if gene_model is not None else f"{gm.default_path().name} (packaged)"
    fingerprints = model.training.get("trained_on")
    if not isinstance(fingerprints, dict):
        log.info("the gene model %s does not record its training experiments (written by an older version)", name)
        return
    seen = F.trained_on(frame, fingerprints)
    if seen:
        shown = ", ".join(seen[:3]) + (" ..." if len(seen) > 3 else "")
        log.warning(
            "%d of the %d evaluated experiments (%s) are among the %d the gene model %s was trained on: its scores "
            "there (dt-predict --aggregate model) are not an independent test",
            len(seen),
            frame["experiment"].nunique(),
            shown,
            len(fingerprints),
            name,
        )


def check_names(cmd: EvalCommand) -> None:
    """A --name may not be the name of a row the run adds itself (the identity shortcut, the
    site count): the two would share a row name, a JSON entry and a picture."""
    added = [F.SITE_COUNT] if cmd.functional is not None else [SHORTCUT_NAME] if cmd.shortcut_baseline else []
    for name in cmd.names or ():
        if name in added:
            raise UsageError(f"--name '{name}' is the name of the row dt-eval adds itself: choose another")


def plot_files(cmd: EvalCommand) -> list[Path]:
    """The ``cmd.plots`` folder and every picture the run may draw in it: declared before any
    work, so that none of them is an input or another output."""
    if cmd.plots is None:
        return []
    names = list(cmd.names) if cmd.names else default_names(list(cmd.predictions))
    if cmd.functional is not None:
        pictures = _functional_plots(cmd.plots, names)
        named = [*names, F.SITE_COUNT]
    else:
        named = names + ([SHORTCUT_NAME] if cmd.shortcut_baseline else [])
        pictures = write_plots_files(cmd.plots, named)
        named = ["", "", *(n for n in named for _ in range(2))]  # roc.png, pr.png, then two each
    drawn: dict[Path, str] = {}
    for name, picture in zip(named, pictures):
        if picture in drawn and name:
            raise UsageError(
                f"the names '{drawn[picture]}' and '{name}' give the same picture {picture}: "
                "give names that differ in letters or digits"
            )
        drawn[picture] = name
    return [cmd.plots, *pictures]


def _functional_plots(plots: Path, names: list[str]) -> list[Path]:
    return [plots / f"functional_cdf_{safe_name(name)}.png" for name in [*names, F.SITE_COUNT]]


def _evaluate_all(cmd: EvalCommand):
    """(evaluated prediction tables, summarised CV tables)."""

    label_map = io.read_labels(cmd.labels) if cmd.labels else None
    display = list(cmd.names) if cmd.names else default_names(cmd.predictions)
    group = cmd.group_by_mirna
    evaluated: list[tuple[str, dict, dict, io.Predictions]] = []
    cv: list[tuple[str, dict, int]] = []
    for path, name in zip(cmd.predictions, display):
        kind = io.table_kind(path)  # stdin and pipes too: io replays the header it reads
        if kind == "cv":
            folds = io.read_cv_table(path)
            cv.append((name, metrics.summarise_folds(folds, _cv_names(folds)), len(folds)))
            continue
        pred = io.read_predictions(path, name, label_map)
        if pred.n_unlabelled:
            log.warning("%s: %d rows without a label in %s were left out", name, pred.n_unlabelled, cmd.labels)
        if pred.n_repeated:
            log.warning(
                "%s (%s): %d row(s) repeat an earlier row in every column: each is counted as a row of its own",
                name,
                pred.path,
                pred.n_repeated,
            )
        if group and not any(pred.mirna_ids):
            raise UsageError(f"grouping by miRNA needs a mirna_id column in {path}")
        m, per = metrics.evaluate(pred, cmd.threshold, group)
        _say_undefined(name, pred, m, cmd.threshold)
        if group:
            _say_one_label_mirnas(name, pred, per)
        if evaluated:
            _compare_rows(evaluated[0][3], pred)
        evaluated.append((name, m, per, pred))
    if cmd.shortcut_baseline:
        if not evaluated:
            raise UsageError("the identity-shortcut baseline needs a prediction file")
        base = IdentityBaseline.fit(cmd.shortcut_baseline)
        first = evaluated[0][3]
        if not any(first.mirna_ids):
            raise UsageError(f"the identity-shortcut baseline needs a mirna_id column in {first.path}")
        pred = io.Predictions(SHORTCUT_NAME, first.path, first.mirna_ids, first.labels, base.score(first.mirna_ids))
        m, per = metrics.evaluate(pred, cmd.threshold, group)
        m["train_coverage"] = base.coverage(first.mirna_ids)
        evaluated.append((SHORTCUT_NAME, m, per, pred))
        log.info(
            "identity shortcut: %d training rows, %.0f%% of evaluated rows have a seen miRNA",
            base.n_train,
            100 * m["train_coverage"],
        )
    return evaluated, cv


def _say_undefined(name: str, pred: io.Predictions, m: dict, threshold: float) -> None:
    """A metric written as nan is never silent: the warning names the table and why."""
    causes = metrics.why_undefined(m, pred.labels, threshold)
    if causes:
        log.warning("%s (%s): cannot compute (written as nan) %s", name, pred.path, "; ".join(causes))


def _say_one_label_mirnas(name: str, pred: io.Predictions, per: dict) -> None:
    """The miRNAs the within-miRNA AUC leaves out (rows of one label only), named."""
    left_out = sorted(set(pred.mirna_ids) - set(per))
    if left_out and per:
        shown = ", ".join(left_out[:3]) + (" ..." if len(left_out) > 3 else "")
        log.info(
            "%s: %d of %d miRNAs have rows of one label only (%s): within_mirna_auc and the per-miRNA table leave them out",
            name,
            len(left_out),
            len(left_out) + len(per),
            shown,
        )


def _compare_rows(first: io.Predictions, other: io.Predictions) -> None:
    """Tables compared side by side should score the same rows: say how far they differ
    (rows matched on mirna_id and mrna_id, each copy of a pair counted)."""
    if not first.mrna_ids or not other.mrna_ids:
        if len(first.labels) != len(other.labels):
            log.warning(
                "%s has %d labelled rows and %s %d (no mirna_id/mrna_id columns to match them on): "
                "their metrics are not over the same rows",
                first.name,
                len(first.labels),
                other.name,
                len(other.labels),
            )
        return
    a = Counter(zip(first.mirna_ids, first.mrna_ids))
    b = Counter(zip(other.mirna_ids, other.mrna_ids))
    only_a, only_b = sum((a - b).values()), sum((b - a).values())
    if only_a or only_b:
        log.warning(
            "%s and %s are not scored on the same rows: %d of %s's %d rows are not in %s, %d of %s's %d not in %s "
            "(matched on mirna_id and mrna_id): their metrics are not comparable row for row",
            first.name,
            other.name,
            only_a,
            first.name,
            len(first.labels),
            other.name,
            only_b,
            other.name,
            len(other.labels),
            first.name,
        )
        return
    labels_a = dict(zip(zip(first.mirna_ids, first.mrna_ids), first.labels.tolist()))
    differ = sum(labels_a.get(k) != y for k, y in zip(zip(other.mirna_ids, other.mrna_ids), other.labels.tolist()))
    if differ and len(a) == len(first.labels):  # a pair's label is defined only where pairs are unique
        log.warning("%s and %s give %d of their %d rows different labels", first.name, other.name, differ, len(a))


def _write_outputs(output, per_mirna, json_out, plots, columns, rows, evaluated, cv, threshold, group) -> None:
    with streams.output_group(), ExitStack() as stack:
        # Renamed into place together, after the plots: a failure anywhere leaves none of the
        # tables (and write_plots removes its pictures).
        handle = stack.enter_context(streams.atomic_output(output))
        io.write_tsv_header(handle, columns)
        handle.write("".join("\t".join(r) + "\n" for r in rows))
        if per_mirna:
            handle = stack.enter_context(streams.atomic_output(per_mirna))
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
            handle = stack.enter_context(streams.atomic_output(json_out))
            handle.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")
        if plots is not None and evaluated:
            files = write_plots([(n, p.labels, p.scores) for n, _, _, p in evaluated], plots, threshold)
            log.info("dt-eval: %d plots in %s", len(files), plots)


def default_names(paths: list[str]) -> list[str]:
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
