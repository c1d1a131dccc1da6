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
    OptSiteTypes,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    SiteTypes,
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
        typer.Option("--pairs", help="Restrict to these (miRNA, target) pairs: a table with mirna_id and mrna_id columns, or two id columns.", metavar="TSV"),
    ] = None,
    pairs_with_seq: Annotated[
        Optional[Path],
        typer.Option("--pairs-with-seq", help="Pair table with whole 3'UTRs in mrna_seq (miRAW/TargetNet gene-level format); replaces --mirna/--utr.", metavar="TSV"),
    ] = None,
    site_types: OptSiteTypes = SiteTypes.canonical,
    cts_length: OptCtsLength = sites.DEFAULT_CTS_LENGTH,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", min=1_000_000, help="Target nucleotides indexed at once (peak memory about 40 bytes per nt: 1.4 GB at the default).")
    ] = sites.DEFAULT_CHUNK_NT,
    output: OptOutput = "-",
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Scan miRNAs against targets; rows sorted by miRNA (input order), target, position."""
    _cli.setup_logging(quiet, verbose)
    _scan(mirna, utr, pairs, pairs_with_seq, site_types, cts_length, chunk_size, output, debug=debug)


@_cli.handle_errors
def _scan(mirna, utr, pairs, pairs_with_seq, site_types, cts_length, chunk_size, output, debug=False) -> None:
    _cli.check_paths({"--mirna": mirna, "--utr": utr, "--pairs": pairs, "--pairs-with-seq": pairs_with_seq}, {"-o": output})
    if pairs_with_seq is not None:
        if mirna or utr or pairs:
            raise typer.BadParameter("--pairs-with-seq replaces --mirna, --utr and --pairs")
        inputs = sites.inputs_from_pair_table(pairs_with_seq)
    else:
        if mirna is None or utr is None:
            raise typer.BadParameter("give --mirna and --utr (or --pairs-with-seq)")
        if str(mirna) == "-" and str(utr) == "-":
            raise InputError("only one of --mirna and --utr can be read from stdin")
        restriction = io.read_id_pairs(pairs) if pairs is not None else None
        inputs = sites.inputs_from_fasta(mirna, utr, restriction, pairs)
    scanner = sites.SiteScanner(
        inputs.mirnas, cts_length=cts_length, relaxed=site_types == SiteTypes.relaxed, pairs=inputs.pairs
    )
    chunks = sites.iter_target_chunks(inputs.targets, cts_length=cts_length, chunk_nt=chunk_size)
    with io.atomic_output(output) as handle:
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
