"""dt-scan-cts: find candidate target sites (seed matches) of miRNAs in 3'UTRs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Optional

import typer

from deeptarget_core import io, sites
from deeptarget_core.errors import InputError
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    OptCtsLength,
    OptDebug,
    OptMirnaFasta,
    OptOutput,
    OptQuiet,
    OptSiteFormat,
    OptSiteTypes,
    OptUtrBed,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    SiteFormat,
    SiteTypes,
    alias,
    hidden_alias,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Find candidate target sites (CTS) of miRNAs in 3'UTRs and write the site table "
    "(mirna_id, mrna_id, site_type, site_start, site_end, cts_start, cts_end, cts_seq)."
)


@app.command()
def command(
    mirna: OptMirnaFasta = None,
    utr: OptUtrFasta = None,
    pairs: Annotated[
        Optional[Path],
        typer.Option(
            "--id-pairs",
            help="Restrict to these (miRNA, target) id pairs: a table with mirna_id and mrna_id columns, or two id columns. With a .fai beside --utr only those targets are read.",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    pairs_with_seq: Annotated[
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
    pairs = alias(pairs, pairs_old, "--id-pairs", "--pairs")
    pairs_with_seq = alias(pairs_with_seq, pairs_with_seq_old, "--pair-table", "--pairs-with-seq")
    if out_format != SiteFormat.tsv and utr_bed is None:
        raise typer.BadParameter(f"--format {out_format.value} needs --utr-bed (the UTRs' exons in the genome)")
    _scan(mirna, utr, pairs, pairs_with_seq, site_types, cts_length, chunk_size, output, utr_bed, out_format.value, debug=debug)


@_cli.handle_errors
def _scan(
    mirna, utr, pairs, pairs_with_seq, site_types, cts_length, chunk_size, output, utr_bed=None, out_format="tsv", debug=False
) -> None:
    from deeptarget_core import genome

    _cli.check_paths(
        {"--mirna": mirna, "--utr": utr, "--id-pairs": pairs, "--pair-table": pairs_with_seq, "--utr-bed": utr_bed},
        {"-o": output},
    )
    if pairs_with_seq is not None:
        if mirna or utr or pairs:
            raise typer.BadParameter("--pair-table replaces --mirna, --utr and --id-pairs")
        inputs = sites.inputs_from_pair_table(pairs_with_seq)
    else:
        if mirna is None or utr is None:
            raise typer.BadParameter("give --mirna and --utr (or --pair-table)")
        if str(mirna) == "-" and str(utr) == "-":
            raise InputError("only one of --mirna and --utr can be read from stdin")
        restriction = io.read_id_pairs(pairs) if pairs is not None else None
        inputs = sites.inputs_from_fasta(mirna, utr, restriction, pairs)
    scanner = sites.SiteScanner(inputs.mirnas, cts_length=cts_length, relaxed=site_types == SiteTypes.relaxed, pairs=inputs.pairs)
    annotation, type_scores = None, None
    targets = inputs.targets
    if utr_bed is not None:
        from deeptarget_core.scorers import SEED_MATCH_SCORES

        annotation, type_scores = genome.read_utr_bed(utr_bed), SEED_MATCH_SCORES
        targets = annotation.check_lengths(targets, io.display_name(pairs_with_seq or utr))
    chunks = sites.iter_target_chunks(targets, cts_length=cts_length, chunk_nt=chunk_size)
    with genome.site_output(output, out_format, annotation, type_scores) as handle:
        summary = sites.write_site_table(handle, scanner, chunks)
    types = ", ".join(f"{t} {summary.by_type[t]}" for t in sites.SITE_TYPES if summary.by_type[t])
    log.info(
        "dt-scan-cts: %d miRNAs x %d targets (%.1f Mnt): %d sites (%s) in %.1f s",
        summary.n_mirnas,
        summary.n_targets,
        summary.n_nt / 1e6,
        summary.n_sites,
        types or "none",
        summary.seconds,
    )


def main() -> None:
    _cli.run(app)
