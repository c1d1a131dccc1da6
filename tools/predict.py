"""dt-predict: score candidate target sites with a deepTarget model, and aggregate per gene."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated, Optional

import typer

from deeptarget_core.errors import InputError
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    DEFAULT_SEED,
    Device,
    OptBatchSize,
    OptDebug,
    OptDevice,
    OptMirnaFasta,
    OptModel,
    OptOutput,
    OptQuiet,
    OptSeed,
    OptSiteFormat,
    OptSiteTypes,
    OptThreads,
    OptUtrBed,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    SiteFormat,
    SiteTypes,
    alias,
    float_option,
    hidden_alias,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Score candidate target sites (CTS) with a deepTarget model (or the seed-match baseline) "
    "and aggregate them per (miRNA, target) pair. Input: a site table from dt-scan-cts "
    "('-' = stdin), or --mirna/--utr FASTA (scanned here), or --pair-table TABLE."
)


class Level(str, Enum):
    auto = "auto"
    site = "site"
    gene = "gene"


class Aggregate(str, Enum):
    model = "model"
    max = "max"
    poisson = "poisson"


OptSitesTable = Annotated[
    Optional[str],
    typer.Argument(help="Site table from dt-scan-cts ('-' = stdin); needs --mirna for the miRNA sequences.", metavar="[SITES]"),
]
OptPairs = Annotated[
    Optional[str],
    typer.Option(
        "--pair-table",
        help="Pair table (mirna_id mirna_seq mrna_id mrna_seq [label] ...): one CTS per row (site level) or a whole 3'UTR per row (gene level).",
        metavar="TSV",
        rich_help_panel="Input",
    ),
]
OptLevel = Annotated[
    Level,
    typer.Option(
        "--level",
        help="For --pair-table: site or gene level; auto = site when every mrna_seq of the first 100,000 rows is <= 100 nt.",
    ),
]
OptGeneOutput = Annotated[
    Optional[str],
    typer.Option(
        "--gene-output",
        help="Also write one row per (miRNA, target) pair: score, n_sites, best_site_type [, label].",
        metavar="FILE",
    ),
]
OptAggregate = Annotated[
    Aggregate,
    typer.Option(
        "--aggregate",
        help="Gene score: model = the gene model (every site and its context; needs the UTRs: --utr with a site table), max = best site score, poisson = max discounted by the chance of such a site in a UTR of that length.",
    ),
]
OptGeneModel = Annotated[
    Optional[str],
    typer.Option(
        "--gene-model",
        help="--aggregate model: gene model checkpoint from dt-train --level gene (default: the packaged one).",
        metavar="FILE",
    ),
]
OptAlpha = Annotated[
    float,
    float_option("--alpha", low=1e-6, high=0.5, help="--aggregate poisson: chance probability at which the gene score is 0.5."),
]
OptScanCtsLength = Annotated[
    Optional[int],
    typer.Option(
        "--cts-length", min=20, max=200, help="CTS window for scanning (default: the model's CTS length; 40 for seed-match)."
    ),
]
OptExact = Annotated[
    bool,
    typer.Option("--exact", help="Run the eager network instead of the fused fast path (same scores within 1e-5, slower)."),
]


@app.command()
def command(
    sites_table: OptSitesTable = None,
    mirna: OptMirnaFasta = None,
    utr: OptUtrFasta = None,
    pairs: OptPairs = None,
    utr_bed: OptUtrBed = None,
    pairs_old: Annotated[Optional[str], hidden_alias("--pairs")] = None,
    level: OptLevel = Level.auto,
    model: OptModel = None,
    gene_output: OptGeneOutput = None,
    aggregate: OptAggregate = Aggregate.model,
    gene_model: OptGeneModel = None,
    alpha: OptAlpha = 0.05,
    site_types: OptSiteTypes = SiteTypes.canonical,
    cts_length: OptScanCtsLength = None,
    output: OptOutput = "-",
    out_format: OptSiteFormat = SiteFormat.tsv,
    batch_size: OptBatchSize = 2048,
    threads: OptThreads = 2,
    device: OptDevice = Device.auto,
    exact: OptExact = False,
    seed: OptSeed = DEFAULT_SEED,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Site scores go to -o (default stdout; --format bed: genome coordinates from --utr-bed,
    score = 1000 x P(target)), gene scores to --gene-output."""
    _cli.setup_logging(quiet, verbose)
    pairs = alias(pairs, pairs_old, "--pair-table", "--pairs")
    if out_format != SiteFormat.tsv and utr_bed is None:
        raise typer.BadParameter(f"--format {out_format.value} needs --utr-bed (the UTRs' exons in the genome)")
    options = {k: v for k, v in locals().items() if k not in ("pairs_old", "quiet", "verbose", "version", "out_format")}
    _predict(**options, out_format=out_format.value)


@_cli.handle_errors
def _predict(
    *,
    sites_table,
    mirna,
    utr,
    pairs,
    level,
    model,
    gene_output,
    aggregate,
    gene_model,
    alpha,
    site_types,
    cts_length,
    output,
    out_format,
    utr_bed,
    batch_size,
    threads,
    device,
    exact,
    seed,
    debug=False,
) -> None:
    from deeptarget_core import predict, runtime
    from deeptarget_core.predict_command import PredictCommand, run_predict

    _check(sites_table, mirna, utr, pairs, model, gene_output, output, utr_bed, gene_model)
    dev = "cpu" if model == predict.SEED_MATCH else str(runtime.setup(threads, device.value))
    scorer = predict.make_scorer(model, device=dev, batch_size=batch_size, fast=not exact, cts_length=cts_length, threads=threads)
    if cts_length is not None and cts_length != scorer.cts_length:
        raise typer.BadParameter(f"--cts-length {cts_length}: this model reads {scorer.cts_length}-nt CTSs")
    shown = "seed-match" if model == predict.SEED_MATCH else (model or "packaged default")
    log.info("dt-predict: model %s (CTS length %d)", shown, scorer.cts_length)
    pair_level = None
    if pairs is not None:
        pair_level = level.value if level != Level.auto else predict.pair_table_level(pairs)
        log.info("dt-predict: pair table read at %s level", pair_level)
    if pair_level == "site" and gene_output is not None:
        raise typer.BadParameter("--gene-output needs gene-level input (a site table, --mirna/--utr or a gene-level pair table)")
    if aggregate == Aggregate.model and gene_output is not None and sites_table is not None and utr is None:
        log.warning("dt-predict: gene scores by --aggregate max: the gene model needs the UTRs (give --utr)")
        aggregate = Aggregate.max
    if aggregate == Aggregate.poisson and gene_output is not None and sites_table is not None and utr is None:
        raise typer.BadParameter("--aggregate poisson on a site table needs --utr FASTA (for the UTR lengths)")
    cmd = PredictCommand(
        output=output,
        sites_table=sites_table,
        mirna=mirna,
        utr=utr,
        pairs=pairs,
        pair_level=pair_level,
        gene_output=gene_output,
        aggregate=aggregate.value,
        gene_model=gene_model,
        alpha=alpha,
        relaxed=site_types == SiteTypes.relaxed,
        out_format=out_format,
        utr_bed=utr_bed,
        seed=seed,
    )
    summary = run_predict(cmd, scorer, _cli.progress)
    rows = f"; {summary.n_pairs} gene rows" if gene_output is not None else ""
    log.info("dt-predict: %d CTS scored in %.1f s (%.0f CTS/s)%s", summary.n_cts, summary.seconds, summary.rate, rows)


def _check(sites_table, mirna, utr, pairs, model, gene_output, output, utr_bed, gene_model) -> None:
    """The option combinations dt-predict accepts (usage errors, exit 2)."""
    inputs = {
        "SITES": sites_table,
        "--mirna": mirna,
        "--utr": utr,
        "--pair-table": pairs,
        "--model": model,
        "--utr-bed": utr_bed,
        "--gene-model": gene_model,
    }
    _cli.check_paths(inputs, {"-o": output, "--gene-output": gene_output})
    if sites_table is not None and pairs is not None:
        raise typer.BadParameter("give a site table or --pair-table, not both")
    if sites_table is None and pairs is None and (mirna is None or utr is None):
        raise typer.BadParameter("give a site table (with --mirna), --mirna and --utr, or --pair-table")
    if pairs is not None and (mirna is not None or utr is not None):
        raise typer.BadParameter("--pair-table carries its own sequences; drop --mirna/--utr")
    if sites_table is not None and mirna is None:
        raise typer.BadParameter("a site table needs --mirna FASTA for the miRNA sequences")
    if len([x for x in (sites_table, pairs, mirna, utr) if x is not None and str(x) == "-"]) > 1:
        raise InputError("only one input can be read from stdin")
    if gene_output is not None and gene_output == output == "-":
        raise typer.BadParameter("-o and --gene-output cannot both be stdout")


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
