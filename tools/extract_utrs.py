"""dt-extract-utrs: 3'UTR (5'UTR, CDS) sequences and their BED12 from a GTF/GFF3 annotation and a genome."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from deeptarget_core.extract_command import ExtractCommand, run_extract
from deeptarget_core.genome_sequences import genome_index_files
from deeptarget_tools import _cli
from deeptarget_tools.options import PANEL_INPUT, PANEL_OUTPUT, OptDebug, OptOutput, OptQuiet, OptVerbose, OptVersion

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Extract 3'UTR (or 5'UTR, CDS) sequences from a GENCODE/Ensembl GTF or GFF3 annotation and a genome FASTA: "
    "the target FASTA (ids = transcript ids, gene_id= and gene_name= in the header) and the BED12 that "
    "places each record on the genome (what --utr-bed reads)."
)


class Transcripts(str, Enum):
    canonical = "canonical"
    longest = "longest"
    all = "all"


class Region(str, Enum):
    utr3 = "3utr"
    utr5 = "5utr"
    cds = "cds"


@app.command()
def command(
    gtf: Annotated[
        Path,
        typer.Option(
            "--gtf",
            help="Annotation: GENCODE or Ensembl GTF, or GFF3 (plain or gzip; '-' = stdin).",
            metavar="GTF",
            rich_help_panel=PANEL_INPUT,
        ),
    ],
    genome: Annotated[
        Path,
        typer.Option(
            "--genome",
            help="Genome FASTA (plain, gzip or bgzip). A .fai (and .gzi) index is built beside it where missing or "
            "stale (in a temporary folder where that folder is read-only); plain gzip or stdin: read whole, one "
            "chromosome at a time.",
            metavar="FASTA",
            rich_help_panel=PANEL_INPUT,
        ),
    ],
    chrom_alias: Annotated[
        Optional[str],
        typer.Option(
            "--chrom-alias",
            help="Chromosome names of the annotation in the genome: a table annotation_name<TAB>genome_name, or "
            "'auto' (chr1 <-> 1, chrM <-> MT). Default: the same names.",
            metavar="FILE|auto",
            rich_help_panel=PANEL_INPUT,
        ),
    ] = None,
    transcripts: Annotated[
        Transcripts,
        typer.Option(
            "--transcripts",
            help="canonical: per gene the transcript tagged Ensembl_canonical (else MANE_Select), else the longest "
            "region; longest: the longest region per gene; all: every transcript with the region.",
            rich_help_panel=PANEL_INPUT,
        ),
    ] = Transcripts.canonical,
    region: Annotated[
        Region,
        typer.Option(
            "--region",
            help="3utr: exonic sequence 3' of the stop codon; 5utr: 5' of the CDS; cds: the CDS with its stop codon.",
            rich_help_panel=PANEL_INPUT,
        ),
    ] = Region.utr3,
    output: OptOutput = "-",
    bed: Annotated[
        Optional[Path],
        typer.Option(
            "--bed",
            help="BED12 of the records (name = FASTA id, blocks = exons; the --utr-bed of dt-scan-cts/dt-predict).",
            metavar="BED12",
            rich_help_panel=PANEL_OUTPUT,
        ),
    ] = None,
    genes: Annotated[
        Optional[Path],
        typer.Option(
            "--genes",
            help="Table of the records: transcript_id gene_id gene_name transcript_type chrom strand length tags.",
            metavar="TSV",
            rich_help_panel=PANEL_OUTPUT,
        ),
    ] = None,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Genes without a CDS are skipped (no UTR), as are coding genes without the region; the
    summary line on stderr counts them. Sequences are written as RNA (T -> U), 60 nt a line."""

    _cli.setup_logging(quiet, verbose)
    _extract(_cli.options_of(ExtractCommand, locals()), debug=debug)


@_cli.handle_errors
def _extract(cmd, debug=False) -> None:

    alias = cmd.chrom_alias if cmd.chrom_alias not in (None, "auto") else None
    _cli.check_paths(
        {"--gtf": cmd.gtf, "--genome": cmd.genome, "--chrom-alias": alias},
        {"-o": cmd.output, "--bed": cmd.bed, "--genes": cmd.genes},
        side=genome_index_files("--genome", cmd.genome),
    )
    _cli.one_stdout({"-o": cmd.output, "--bed": cmd.bed, "--genes": cmd.genes})
    _cli.one_stdin(cmd.gtf, cmd.genome, alias, message="only one of --gtf, --genome and --chrom-alias can be read from stdin")
    log.info(run_extract(cmd).report())


def main() -> None:
    _cli.run(app)
