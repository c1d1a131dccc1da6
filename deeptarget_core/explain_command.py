"""dt-explain's operation as a library call: :class:`ExplainCommand` (typed options) ->
:func:`run_explain` -> :class:`ExplainOutcome`.

Owns the order of a run: the cheap checks first (output directory, sequences) so that a bad
one fails before the model loads; the runtime set-up; the pairs to explain (given sequences,
or a table's rows, its best ``top`` by score); the attributions; and the report into the output
directory (:mod:`deeptarget_core.explain_report`). With ``gene_level`` the table's rows are
(miRNA, UTR) pairs: their gene views (:mod:`deeptarget_core.gene_explain`) and the pair views
of their canonical sites. The command layer (tools/explain.py) checks
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
from .streams import check_input_paths, check_output_path

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
    gene_level: bool = False  # the table names (miRNA, UTR) pairs: gene views (gene_explain)
    utr: str | Path | None = None  # the UTR FASTA of a gene-level run
    gene_model: str | None = None  # None: the packaged gene model


@dataclass
class ExplainOutcome:
    n_pairs: int
    outdir: Path
    seconds_compute: float
    seconds_draw: float
    ig_gap: float | None = None  # IG: the largest |attributions - (score - baseline)|
    n_genes: int = 0


def run_explain(cmd: ExplainCommand, progress: Progress | None = None) -> ExplainOutcome:
    """Explain the pairs ``cmd`` names and write the report into ``cmd.outdir``."""

    report.check_outdir(cmd.outdir, cmd.force)
    check_output_path(cmd.outdir, directory=True)  # the parent must take the new directory
    inputs = (cmd.table, cmd.mirna, cmd.mirna_selection.ids_file, cmd.utr, cmd.model, cmd.gene_model)
    check_input_paths(*inputs)  # before the network is loaded
    if cmd.gene_level:
        return _run_genes(cmd, progress)
    given = ex.pairs_from_sequences(cmd.mirna_seqs, cmd.cts_seqs, cmd.sequence_labels) if cmd.table is None else None
    mirnas = read_mirnas(cmd.mirna, cmd.mirna_selection) if cmd.mirna is not None else None

    from .model import load_model

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
    return _report(cmd, net, dev, explanations, t0, progress)


def _report(cmd: ExplainCommand, net, dev, explanations, t0: float, progress, genes=(), gene_model: str = "") -> ExplainOutcome:
    """Write the pair views (and gene views) into the output directory."""
    from .model import DEFAULT_MODEL_PATH

    info = report.RunInfo(
        method=cmd.method,
        steps=cmd.steps,
        baseline=ex.baseline_score(net, dev),
        site_prior=net.config.site_prior,
        model_name=str(cmd.model) if cmd.model else f"packaged default ({DEFAULT_MODEL_PATH.name})",
        seconds_compute=time.perf_counter() - t0,
        formats=("png", "svg") if cmd.svg else ("png",),
        extra={"gene_model": gene_model},
    )
    gap = None
    if cmd.method == "ig" and explanations:
        gap = max(abs(e.attribution_sum - (e.score - e.baseline)) for e in explanations)
    with (progress or no_progress)("drawing", len(explanations)) as advance:
        report.write_outputs(explanations, cmd.outdir, info, force=cmd.force, advance=advance, workers=cmd.threads, genes=genes)
    return ExplainOutcome(len(explanations), Path(cmd.outdir), info.seconds_compute, info.seconds_draw, gap, len(genes))


def _run_genes(cmd: ExplainCommand, progress: Progress | None) -> ExplainOutcome:
    """Gene views of the table's (miRNA, UTR) pairs (gene_explain), with the pair views of
    their canonical sites (the site network on each site's CTS window)."""
    from . import gene_explain as ge
    from . import gene_model as gm
    from .model import load_model

    mirnas = read_mirnas(cmd.mirna, cmd.mirna_selection) if cmd.mirna is not None else None
    fasta = str(cmd.mirna) if cmd.mirna is not None else None
    rows = ge.read_gene_rows(cmd.table, mirnas, fasta, cmd.top)
    if not rows.requests:
        raise InputError("no rows to explain (empty table)", cmd.table)
    need = {r.mrna_id for r in rows.requests if r.utr is None}
    utrs = {}
    if need:
        if cmd.utr is None:
            raise InputError("the table has no mrna_seq column: give the UTRs as a FASTA ({option})", cmd.table, option="utr")
        utrs = ge.read_utrs(cmd.utr, need)
        missing = next((r for r in rows.requests if r.utr is None and r.mrna_id not in utrs), None)
        if missing is not None:
            raise InputError(f"target '{missing.mrna_id}' is not in the UTR FASTA {cmd.utr}", missing.source, missing.line)
    model = gm.load(cmd.gene_model)
    dev = runtime.setup(cmd.threads, cmd.device)
    net, _ = load_model(cmd.model, dev)
    ex.resolve_layer(net, cmd.layer)
    t0 = time.perf_counter()
    scorer = None
    if model.uses_network:
        from .scorers import NeuralScorer

        scorer = NeuralScorer(net, device=dev, batch_size=cmd.batch_size)
    genes = []
    for r in rows.requests:
        utr, name = (r.utr, "") if r.utr is not None else utrs[r.mrna_id]
        g = ge.explain_gene(model, r.mirna_id, r.mirna_seq, r.mrna_id, utr, net.config.cts_length, scorer)
        g.gene_name, g.input_score = name, r.score
        if r.mirna_id in rows.ranking:
            g.rank, g.n_ranked = ge.rank_of(rows.ranking[r.mirna_id], r.mrna_id)
        genes.append(g)
    if cmd.top is not None and any(r.score is None for r in rows.requests):  # no score column: the model's
        genes = sorted(genes, key=lambda g: -g.score)[: cmd.top]
    views, pairs = [], []
    for g in genes:
        view = report.GeneView(g)
        for i, s in enumerate(g.sites):
            if s.canonical:
                view.site_pairs[i] = len(pairs)
                pairs.append(
                    ex.ExplainPair(g.mirna_id, g.mirna_seq, g.mrna_id, s.cts_seq, s.site_type, str(s.site_start), str(s.site_end))
                )
        views.append(view)
    log.info("dt-explain: %d gene(s), %d site(s) with a pair view", len(genes), len(pairs))
    explanations = ex.explain(net, pairs, cmd.method, cmd.steps, cmd.layer, cmd.batch_size, dev) if pairs else []
    name = str(cmd.gene_model) if cmd.gene_model else f"packaged default ({gm.default_path().name})"
    return _report(cmd, net, dev, explanations, t0, progress, views, name)


def _table_pairs(cmd: ExplainCommand, mirnas, net, dev) -> list:
    """The table's pairs to explain: all rows, or the ``top`` best by the table's score
    column (else the model's score)."""

    chunks = ex.iter_table_pairs(cmd.table, mirnas, str(cmd.mirna) if cmd.mirna is not None else None)
    if cmd.top is None:
        return [p for chunk in chunks for p in chunk]
    return ex.top_pairs(chunks, cmd.top, lambda ps: ex.model_scores(net, ps, cmd.batch_size, dev))
