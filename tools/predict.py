"""dt-predict: score candidate target sites with a deepTarget model, and aggregate per gene."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Annotated, Optional

import typer

from deeptarget_core.predict_command import PredictCommand, run_predict
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    DEFAULT_SEED,
    Device,
    OptBatchSize,
    OptDebug,
    OptDevice,
    OptMirnaFasta,
    OptMirnaIds,
    OptModel,
    OptOutput,
    OptQuiet,
    OptSeed,
    OptSiteFormat,
    OptSiteTypes,
    OptSpecies,
    OptStrict,
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
    mirna_selection,
    selection_without_fasta,
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
OptGenes = Annotated[
    Optional[str],
    typer.Option(
        "--genes",
        help="Gene names for the gene table: dt-extract-utrs --genes output (transcript_id, gene_id, gene_name, ...). "
        "Default: gene_name= / gene_id= in the UTR FASTA's headers.",
        metavar="TSV",
    ),
]
OptGene = Annotated[
    Optional[str],
    typer.Option(
        "--gene",
        help="Gene table: only this gene's rows (transcript id, gene id or gene name, version optional), its miRNAs "
        "sorted by score: which miRNAs target my gene? rank stays the gene's rank among each miRNA's genes.",
        metavar="NAME|ID",
    ),
]
OptFamilies = Annotated[
    bool,
    typer.Option(
        "--families",
        help="Gene table: one row per (miRNA seed family, target), the best member's, with a mirna_family column; "
        "families are named by --family-info, else by their seed (nt 2-8).",
    ),
]
OptFamilyInfo = Annotated[
    Optional[str],
    typer.Option("--family-info", help="TargetScan's miR_Family_Info.txt: family names for --families.", metavar="TSV"),
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


# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset({"pairs_old", "species", "mirna_ids", "strict"})  # an alias; mirna_selection (strict: also strict_targets)


@app.command()
def command(
    sites_table: OptSitesTable = None,
    mirna: OptMirnaFasta = None,
    species: OptSpecies = None,
    mirna_ids: OptMirnaIds = None,
    strict: OptStrict = False,
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
    genes: OptGenes = None,
    gene: OptGene = None,
    families: OptFamilies = False,
    family_info: OptFamilyInfo = None,
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
    _predict(
        _cli.options_of(
            PredictCommand, locals(), mirna_selection=mirna_selection(species, mirna_ids, strict), strict_targets=strict
        ),
        debug=debug,
    )


# The option combinations dt-predict refuses (usage errors, exit 2), in order: (when, message).
_REFUSED = [
    selection_without_fasta(),
    (lambda c: c.sites_table is not None and c.pairs is not None, "give a site table or --pair-table, not both"),
    (
        lambda c: c.sites_table is None and c.pairs is None and (c.mirna is None or c.utr is None),
        "give a site table (with --mirna), --mirna and --utr, or --pair-table",
    ),
    (
        lambda c: c.pairs is not None and (c.mirna is not None or c.utr is not None),
        "--pair-table carries its own sequences; drop --mirna/--utr",
    ),
    (lambda c: c.sites_table is not None and c.mirna is None, "a site table needs --mirna FASTA for the miRNA sequences"),
    (
        lambda c: c.gene_output is None and (c.gene is not None or c.families or c.genes is not None),
        "--gene, --genes and --families shape the gene table: give --gene-output",
    ),
    (lambda c: c.families and c.pairs is not None, "--families needs --mirna (a pair table's miRNAs are taken as they are)"),
    (lambda c: c.family_info is not None and not c.families, "--family-info names the families of --families: add it"),
]
# The library's usage errors in dt-predict's words, by the option they are about.
_SAY = {
    "gene_output": "--gene-output needs gene-level input (a site table, --mirna/--utr or a gene-level pair table)",
    "utr": "--aggregate poisson on a site table needs --utr FASTA (for the UTR lengths)",
}


@_cli.handle_errors(say=_SAY)
def _predict(cmd, debug=False) -> None:

    inputs = {
        "SITES": cmd.sites_table,
        "--mirna": cmd.mirna,
        "--mirna-ids": cmd.mirna_selection.ids_file,
        "--utr": cmd.utr,
        "--pair-table": cmd.pairs,
        "--model": cmd.model,
    }
    _cli.check_paths(
        {
            **inputs,
            "--utr-bed": cmd.utr_bed,
            "--gene-model": cmd.gene_model,
            "--genes": cmd.genes,
            "--family-info": cmd.family_info,
        },
        {"-o": cmd.output, "--gene-output": cmd.gene_output},
    )
    _cli.refuse(_REFUSED, cmd)
    _cli.one_stdin(cmd.sites_table, cmd.pairs, cmd.mirna, cmd.utr)
    _cli.one_stdout({"-o": cmd.output, "--gene-output": cmd.gene_output})
    log.info(run_predict(cmd, _cli.progress).report())


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
