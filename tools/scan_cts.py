"""dt-scan-cts: find candidate target sites (seed matches) of miRNAs in 3'UTRs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from deeptarget_core import sites
from deeptarget_core.scan_command import ScanCommand, run_scan
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    OptCtsLength,
    OptDebug,
    OptMirnaFasta,
    OptMirnaIds,
    OptOutput,
    OptQuiet,
    OptSiteFormat,
    OptSiteTypes,
    OptSpecies,
    OptStrict,
    OptUtrBed,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    SiteFormat,
    SiteTypes,
    alias,
    hidden_alias,
    mirna_selection,
    selection_without_fasta,
)

log = logging.getLogger("deeptarget")
# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset(
    {"pairs_old", "pairs_with_seq_old", "species", "mirna_ids", "strict"}
)  # aliases; mirna_selection (strict: also strict_targets)

app = _cli.make_app(
    "Find candidate target sites (CTS) of miRNAs in 3'UTRs and write the site table "
    "(mirna_id, mrna_id, site_type, site_start, site_end, cts_start, cts_end, cts_seq)."
)


@app.command()
def command(
    mirna: OptMirnaFasta = None,
    species: OptSpecies = None,
    mirna_ids: OptMirnaIds = None,
    strict: OptStrict = False,
    utr: OptUtrFasta = None,
    id_pairs: Annotated[
        Optional[Path],
        typer.Option(
            "--id-pairs",
            help="Restrict to these (miRNA, target) id pairs: a table with mirna_id and mrna_id columns, or two id columns. With a .fai beside --utr only those targets are read.",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    pair_table: Annotated[
        Optional[Path],
        typer.Option(
            "--pair-table",
            help="Pair table with whole 3'UTRs in mrna_seq (miRAW/TargetNet gene-level format); replaces --mirna/--utr.",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    utr_bed: OptUtrBed = None,
    pairs_old: Annotated[Optional[Path], hidden_alias("--pairs")] = None,
    pairs_with_seq_old: Annotated[Optional[Path], hidden_alias("--pairs-with-seq")] = None,
    site_types: OptSiteTypes = SiteTypes.canonical,
    cts_length: OptCtsLength = sites.DEFAULT_CTS_LENGTH,
    chunk_size: Annotated[
        int,
        typer.Option(
            "--chunk-size",
            min=1_000_000,
            help="Target nucleotides indexed at once (peak memory about 40 bytes per nt: 1.4 GB at the default).",
        ),
    ] = sites.DEFAULT_CHUNK_NT,
    output: OptOutput = "-",
    out_format: OptSiteFormat = SiteFormat.tsv,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Scan miRNAs against targets; rows sorted by miRNA (input order), target, position.
    With --format bed and --utr-bed the sites are written in genome coordinates (score =
    1000 x the seed-match baseline's score of the site type: 8mer 950, 7mer-m8 850, ...)."""

    _cli.setup_logging(quiet, verbose)
    id_pairs = alias(id_pairs, pairs_old, "--id-pairs", "--pairs")
    pair_table = alias(pair_table, pairs_with_seq_old, "--pair-table", "--pairs-with-seq")
    if out_format != SiteFormat.tsv and utr_bed is None:
        raise typer.BadParameter(f"--format {out_format.value} needs --utr-bed (the UTRs' exons in the genome)")
    _scan(
        _cli.options_of(
            ScanCommand, locals(), mirna_selection=mirna_selection(species, mirna_ids, strict), strict_targets=strict
        ),
        debug=debug,
    )


# The option combinations dt-scan-cts refuses (usage errors, exit 2), in order: (when, message).
_REFUSED = [
    selection_without_fasta(),
    (
        lambda c: c.pair_table is not None and bool(c.mirna or c.utr or c.id_pairs),
        "--pair-table replaces --mirna, --utr and --id-pairs",
    ),
    (lambda c: c.pair_table is None and (c.mirna is None or c.utr is None), "give --mirna and --utr (or --pair-table)"),
]


@_cli.handle_errors
def _scan(cmd, debug=False) -> None:

    inputs = {
        "--mirna": cmd.mirna,
        "--mirna-ids": cmd.mirna_selection.ids_file,
        "--utr": cmd.utr,
        "--id-pairs": cmd.id_pairs,
        "--pair-table": cmd.pair_table,
    }
    _cli.check_paths({**inputs, "--utr-bed": cmd.utr_bed}, {"-o": cmd.output})
    _cli.refuse(_REFUSED, cmd)
    _cli.one_stdin(cmd.mirna, cmd.utr, message="only one of --mirna and --utr can be read from stdin")
    log.info(run_scan(cmd, _cli.progress).report())


def main() -> None:
    _cli.run(app)
