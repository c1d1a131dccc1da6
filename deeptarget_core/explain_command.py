"""dt-explain's operation as a library call: :class:`ExplainCommand` (typed options) ->
:func:`run_explain` -> :class:`ExplainOutcome`.

Owns the order of a run: the cheap checks first (output directory, sequences) so that a bad
one fails before the model loads; the runtime set-up; the pairs to explain (given sequences,
or a table's rows, its best ``top`` by score); the attributions; and the report into the output
directory (:mod:`deeptarget_core.explain_report`). The command layer (tools/explain.py) checks
the option combinations and paths and logs the outcome.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import explain as ex
from . import explain_report as report
from . import runtime
from .errors import InputError
from .mirnas import EVERY_MIRNA, MirnaSelection, read_mirnas
from .runtime import Progress, no_progress
from .streams import check_output_path

log = logging.getLogger("deeptarget")


@dataclass
class ExplainCommand:
    """Options of one run (values, not flags): a ``table`` (with ``mirna``, a FASTA, when it
    has no mirna_seq column) or ``mirna_seqs`` paired in order with ``cts_seqs``."""

    table: str | None = None
    mirna: str | Path | None = None
    mirna_selection: MirnaSelection = EVERY_MIRNA  # which records of the miRNA FASTA
    mirna_seqs: Sequence[str] = ()
    cts_seqs: Sequence[str] = ()
    sequence_labels: tuple[str, str] = ("miRNA sequence", "CTS sequence")  # for messages
    top: int | None = None  # only the N best-scoring rows
    outdir: str | Path = "dt-explain"
    method: str = "ig"  # ig | gradxinput
    steps: int = 32
    layer: int | None = None  # 1-based; None: the last
    svg: bool = True
    force: bool = False  # replace an earlier dt-explain output directory
    model: str | None = None  # None: the packaged model
    device: str = "auto"
    batch_size: int = 4096
    threads: int = 1  # the model's threads and the drawing processes


@dataclass
class ExplainOutcome:
    n_pairs: int
    outdir: Path
    seconds_compute: float
    seconds_draw: float
    ig_gap: float | None = None  # IG: the largest |attributions - (score - baseline)|


def run_explain(cmd: ExplainCommand, progress: Progress | None = None) -> ExplainOutcome:
    """Explain the pairs ``cmd`` names and write the report into ``cmd.outdir``."""

    report.check_outdir(cmd.outdir, cmd.force)
    check_output_path(cmd.outdir, directory=True)  # the parent must take the new directory
    given = ex.pairs_from_sequences(cmd.mirna_seqs, cmd.cts_seqs, cmd.sequence_labels) if cmd.table is None else None
    mirnas = read_mirnas(cmd.mirna, cmd.mirna_selection) if cmd.mirna is not None else None

    from .model import DEFAULT_MODEL_PATH, load_model

    dev = runtime.setup(cmd.threads, cmd.device)
    net, _ = load_model(cmd.model, dev)
    ex.resolve_layer(net, cmd.layer)
    t0 = time.perf_counter()
    pairs = given if given is not None else _table_pairs(cmd, mirnas, net, dev)
    if not pairs:
        raise InputError("no rows to explain (empty table)", cmd.table)
    how = f"IG with {cmd.steps} steps" if cmd.method == "ig" else cmd.method
    log.info("dt-explain: %d pair(s), %s attributions", len(pairs), how)
    explanations = ex.explain(net, pairs, cmd.method, cmd.steps, cmd.layer, cmd.batch_size, dev)
    info = report.RunInfo(
        method=cmd.method,
        steps=cmd.steps,
        baseline=ex.baseline_score(net, dev),
        site_prior=net.config.site_prior,
        model_name=str(cmd.model) if cmd.model else f"packaged default ({DEFAULT_MODEL_PATH.name})",
        seconds_compute=time.perf_counter() - t0,
        formats=("png", "svg") if cmd.svg else ("png",),
    )
    gap = None
    if cmd.method == "ig":
        gap = max(abs(e.attribution_sum - (e.score - e.baseline)) for e in explanations)
    with (progress or no_progress)("drawing", len(explanations)) as advance:
        report.write_outputs(explanations, cmd.outdir, info, force=cmd.force, advance=advance, workers=cmd.threads)
    return ExplainOutcome(len(explanations), Path(cmd.outdir), info.seconds_compute, info.seconds_draw, gap)


def _table_pairs(cmd: ExplainCommand, mirnas, net, dev) -> list:
    """The table's pairs to explain: all rows, or the ``top`` best by the table's score
    column (else the model's score)."""

    chunks = ex.iter_table_pairs(cmd.table, mirnas, str(cmd.mirna) if cmd.mirna is not None else None)
    if cmd.top is None:
        return [p for chunk in chunks for p in chunk]
    return ex.top_pairs(chunks, cmd.top, lambda ps: ex.model_scores(net, ps, cmd.batch_size, dev))
