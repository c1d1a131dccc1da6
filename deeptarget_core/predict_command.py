"""dt-predict's operation as a library call: :class:`PredictCommand` (typed options) ->
:func:`run_predict` -> :class:`PredictOutcome` (the summary and its report line).

Owns the site scorer's construction (runtime set-up, the model, its CTS length), the pair
table's level, the choice of pipeline (site table, scan of miRNA x UTR FASTAs, site- or
gene-level pair table), the choice of aggregation (the gene model falls back to max on a site
table without UTRs, and with a site model it does not read), the gene sink that goes with both
(:func:`deeptarget_core.gene_sinks.make_gene_sink`), the gene table it writes into (ranked and
named, :mod:`deeptarget_core.gene_table`) and the opening of the outputs as one group (all
written or none). The command
layer (tools/predict.py) checks the option combinations and logs.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass

from . import gene_model as gm
from . import genome, io, mirnas, predict, runtime, scorers, streams
from .chance import ChanceModel
from .errors import UsageError
from .gene_scoring import GeneScorer
from .gene_sinks import PAIR_TABLE, SCAN, SITE_TABLE, GeneSink, make_gene_sink
from .gene_table import RankedGeneTable, gene_names, recording_names
from .mirnas import EVERY_MIRNA, MirnaSelection
from .runtime import Progress, no_progress
from .sites import Mirna

log = logging.getLogger("deeptarget")


@dataclass
class PredictCommand:
    """Inputs, outputs and model of one prediction run (values, not flags). Exactly one input
    kind: ``sites_table`` (+ ``mirna``), ``mirna`` + ``utr`` (a scan), or ``pairs`` (read at
    ``level``)."""

    output: str = "-"
    sites_table: str | None = None
    mirna: str | None = None
    mirna_selection: MirnaSelection = EVERY_MIRNA  # which records of the miRNA FASTA
    strict_targets: bool = False  # IUPAC ambiguity letters in the UTR FASTA refused, not read as N
    utr: str | None = None
    pairs: str | None = None
    level: str = "auto"  # for a pair table: auto | site | gene
    gene_output: str | None = None
    aggregate: str = "model"  # model | max | poisson
    gene_model: str | None = None  # None: the packaged gene model
    alpha: float = 0.05
    site_types: str = "canonical"  # canonical | relaxed
    out_format: str = "tsv"
    utr_bed: str | None = None
    seed: int = 1
    model: str | None = None  # a checkpoint, None for the packaged one, or 'seed-match'
    cts_length: int | None = None  # None: the model's
    batch_size: int = 2048
    threads: int = 2
    device: str = "auto"
    exact: bool = False  # the eager network instead of the fused fast path
    genes: str | None = None  # dt-extract-utrs's --genes table: target id -> gene name
    gene: str | None = None  # only this gene's rows in the gene table
    families: bool = False  # one gene row per (seed family, target)
    family_info: str | None = None  # TargetScan's miR_Family_Info.txt (family names)
    pair_level: str | None = None  # the pair table's level, resolved by run_predict

    @property
    def relaxed(self) -> bool:
        return self.site_types == "relaxed"


@dataclass
class PredictOutcome:
    summary: predict.PredictSummary
    gene_output: str | None = None

    def report(self) -> str:
        """The run's closing log line."""
        s = self.summary
        rows = f"; {s.n_pairs} gene rows" if self.gene_output is not None else ""
        return f"dt-predict: {int(s.n_cts)} CTS scored in {s.seconds:.1f} s ({s.rate:.0f} CTS/s){rows}"


def make_scorer(cmd: PredictCommand) -> scorers.SiteScorer:
    """The site scorer of ``cmd.model`` (runtime set-up first; the seed-match baseline runs on
    the CPU), its CTS length checked against ``cmd.cts_length``."""

    seed_match = cmd.model == scorers.SEED_MATCH
    dev = "cpu" if seed_match else str(runtime.setup(cmd.threads, cmd.device))
    scorer = scorers.make_scorer(
        cmd.model, device=dev, batch_size=cmd.batch_size, fast=not cmd.exact, cts_length=cmd.cts_length, threads=cmd.threads
    )
    if cmd.cts_length is not None and cmd.cts_length != scorer.cts_length:
        raise UsageError(f"{{option}} {cmd.cts_length}: this model reads {scorer.cts_length}-nt CTSs", option="cts_length")
    shown = "seed-match" if seed_match else (cmd.model or "packaged default")
    log.info("dt-predict: model %s (CTS length %d)", shown, scorer.cts_length)
    return scorer


def _resolve(cmd: PredictCommand) -> None:
    """The pair table's level; the aggregation a site table without UTRs allows."""
    if cmd.pairs is not None:
        cmd.pair_level = cmd.level if cmd.level != "auto" else predict.pair_table_level(cmd.pairs)
        log.info("dt-predict: pair table read at %s level", cmd.pair_level)
    if cmd.pair_level == "site" and cmd.gene_output is not None:
        raise UsageError(
            "gene rows need gene-level input (a site table, miRNA and UTR FASTAs or a gene-level pair table)",
            option="gene_output",
        )
    no_utrs = cmd.gene_output is not None and cmd.sites_table is not None and cmd.utr is None
    if cmd.aggregate == "model" and no_utrs:
        log.warning("dt-predict: gene scores by --aggregate max: the gene model needs the UTRs (give --utr)")
        cmd.aggregate = "max"
    if cmd.aggregate == "poisson" and no_utrs:
        raise UsageError("Poisson aggregation of a site table needs the UTR FASTA (for the UTR lengths)", option="utr")


def run_predict(cmd: PredictCommand, progress: Progress | None = None) -> PredictOutcome:
    """Make the scorer, score the sites of ``cmd``'s input and write -o (and the gene table)."""
    # a missing input fails in a moment, not after the network is loaded
    streams.check_input_paths(
        cmd.sites_table, cmd.mirna, cmd.mirna_selection.ids_file, cmd.utr, cmd.pairs, cmd.utr_bed, cmd.genes, cmd.family_info
    )
    scorer = make_scorer(cmd)
    _resolve(cmd)
    return PredictOutcome(_run(cmd, scorer, progress), cmd.gene_output)


def _run(cmd: PredictCommand, scorer: scorers.SiteScorer, progress: Progress | None) -> predict.PredictSummary:
    gene_scorer = None
    if cmd.aggregate == "model" and cmd.gene_output is not None:
        model = gm.load(cmd.gene_model)
        if cmd.model is not None and not model.uses_network:
            _site_model_without_effect(cmd)
        if cmd.aggregate == "model":
            gene_scorer = GeneScorer(model, cts_length=scorer.cts_length, site_scorer=scorer, relaxed_counts=cmd.relaxed)
    background = None  # the Poisson aggregation's chance model
    if cmd.aggregate == "poisson":
        background = ChanceModel(scorer, relaxed=cmd.relaxed, alpha=cmd.alpha, seed=cmd.seed)
    utr_lengths: dict[str, int] | None = None
    if cmd.aggregate == "poisson" and cmd.gene_output is not None:
        utr_lengths = predict.read_utr_lengths(cmd.utr) if cmd.sites_table is not None else {}
    annotation = genome.read_utr_bed(cmd.utr_bed) if cmd.utr_bed is not None else None
    if annotation is not None and utr_lengths:
        annotation.check_length_map(utr_lengths, streams.display_name(cmd.utr))
    # the miRNA FASTA is read once (its skip warning said once), before any output is opened
    seqs = mirnas.read_mirnas(cmd.mirna, cmd.mirna_selection) if cmd.mirna is not None else {}
    names, families = _gene_names_and_families(cmd, seqs) if cmd.gene_output is not None else ({}, None)
    with streams.output_group(), ExitStack() as stack:
        out = stack.enter_context(genome.site_output(cmd.output, cmd.out_format, annotation, source="scored site table"))
        gh = None
        if cmd.gene_output is not None:
            gh = RankedGeneTable(
                stack.enter_context(streams.atomic_output(cmd.gene_output)), names, families, cmd.gene, list(seqs)
            )
        genes = _gene_sink(cmd, gh, gene_scorer, background, utr_lengths)
        with (progress or no_progress)("scoring CTS", None) as advance:
            summary = _pipeline(cmd, scorer, out, genes, gene_scorer, seqs, utr_lengths, annotation, names, advance)
        if gh is not None:
            gh.close()
            summary.n_pairs = gh.n_written
        return summary


def _pipeline(cmd, scorer, out, genes: GeneSink | None, gene_scorer, seqs, utr_lengths, annotation, names, advance):
    """Score the sites of ``cmd``'s input kind, feeding the gene sink."""
    if cmd.sites_table is not None:
        return predict.predict_site_table(
            cmd.sites_table, seqs, scorer, out, genes, mirna_source=str(cmd.mirna), progress=advance
        )
    if cmd.pairs is not None and cmd.pair_level == "site":
        return predict.predict_pairs_site(cmd.pairs, scorer, out, progress=advance)
    if cmd.pairs is not None:
        return predict.predict_pairs_gene(
            cmd.pairs, scorer, out, genes.writer, relaxed=cmd.relaxed, progress=advance, gene_scorer=gene_scorer
        )
    return _scan(cmd, scorer, out, genes, seqs, utr_lengths, annotation, names, advance)


def _site_model_without_effect(cmd: PredictCommand) -> None:
    """A gene model that does not read site scores would give the same gene table whatever
    --model says: the packaged one gives way to the best site's score (max), with a warning;
    an explicit --gene-model is kept, with a note."""
    shown = "seed-match" if cmd.model == scorers.SEED_MATCH else cmd.model
    if cmd.gene_model is None:
        log.warning(
            "dt-predict: gene scores by --aggregate max (the best site's score of --model %s): the packaged gene "
            "model does not read site scores, so its gene table would not depend on --model",
            shown,
        )
        cmd.aggregate = "max"
    else:
        log.warning("dt-predict: this gene model does not read site scores: the gene table does not depend on --model %s", shown)


def _gene_names_and_families(cmd: PredictCommand, seqs: dict[str, str]):
    """(target id -> gene, miRNA id -> family or None) for the gene table."""

    # a scan reads its UTR FASTA's headers as it goes (recording_names in _scan); other inputs
    # read them here, or the --genes table
    scan = cmd.sites_table is None and cmd.pairs is None
    names = gene_names(cmd.genes, None if scan else cmd.utr)
    families = None
    if cmd.families:
        info = mirnas.read_family_info(cmd.family_info) if cmd.family_info is not None else None
        families = mirnas.family_names(seqs, info)
    return names, families


def _gene_sink(cmd: PredictCommand, gh, gene_scorer, chance, utr_lengths) -> GeneSink | None:
    """The gene sink of ``cmd``'s input kind and aggregation (gene_sinks.make_gene_sink)."""
    has_label, extra = False, []
    if cmd.pair_level == "gene":
        cols = _pair_columns(cmd.pairs)
        has_label = "label" in cols
        extra = [c for c in cols if c not in io.PAIR_COLUMNS and c != "label"]
    if cmd.sites_table is not None:
        kind = SITE_TABLE
    elif cmd.pairs is not None:
        kind = PAIR_TABLE if cmd.pair_level == "gene" else None
    else:
        kind = SCAN
    if kind is None:  # a site-level pair table has no gene rows
        return None
    return make_gene_sink(
        gh,
        kind,
        cmd.aggregate,
        gene_scorer,
        chance,
        utr_lengths,
        utr=cmd.utr,
        threads=cmd.threads,
        source=cmd.sites_table,
        has_label=has_label,
        extra_columns=extra,
    )


def _scan(cmd: PredictCommand, scorer, out, genes, seqs, utr_lengths, annotation, names, advance) -> predict.PredictSummary:

    mirnas = [Mirna(k, v) for k, v in seqs.items()]
    targets = io.read_fasta(cmd.utr, kind="target", strict=cmd.strict_targets)
    if cmd.genes is None and cmd.gene_output is not None:
        targets = recording_names(targets, names)
    if annotation is not None:
        targets = annotation.check_lengths(targets, streams.display_name(cmd.utr))
    return predict.predict_scan(
        mirnas, targets, scorer, out, genes, relaxed=cmd.relaxed, utr_lengths=utr_lengths, progress=advance
    )


def _pair_columns(path: str) -> list[str]:
    for table in io.iter_tsv(path, io.PAIR_COLUMNS, chunk_rows=1):
        return table.columns
    return list(io.PAIR_COLUMNS)
