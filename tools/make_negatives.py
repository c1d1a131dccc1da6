"""dt-make-negatives: negative training pairs from mock miRNAs (deepTarget, ACM-BCB 2016, 4.1.2)."""

from __future__ import annotations

import logging
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core import duplex, negatives
from deeptarget_core.negatives_command import NegativesCommand, run_make_negatives
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    DEFAULT_SEED,
    OptCtsLength,
    OptDebug,
    OptMirnaFasta,
    OptMirnaIds,
    OptOutput,
    OptQuiet,
    OptSeed,
    OptSpecies,
    OptStrict,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    alias,
    float_option,
    hidden_alias,
    mirna_selection,
    selection_without_fasta,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Make negative miRNA-target pairs the deepTarget way: each real miRNA of the positives is "
    "shuffled into mock miRNAs whose seed (nt 2-8) matches no reference seed, and each mock's "
    "best miRanda-style duplex sites in the positive's own target become negative CTSs (label 0)."
)


class OutFormat(str, Enum):
    pairs = "pairs"
    sites = "sites"


OptPositives = Annotated[
    Optional[List[Path]],
    typer.Option(
        "--positives",
        help="Positive pair table (mirna_id mirna_seq mrna_id mrna_seq [label] ...), site level (a CTS) or gene level (a whole UTR); rows with label 0 are ignored. Repeat for several files.",
        metavar="TSV",
        rich_help_panel="Input",
    ),
]
OptIdPairs = Annotated[
    Optional[Path],
    typer.Option(
        "--id-pairs",
        help="With --mirna/--utr: the positive (miRNA, target) id pairs (default: every miRNA x every target).",
        metavar="TSV",
        rich_help_panel="Input",
    ),
]
OptReference = Annotated[
    Optional[Path],
    typer.Option(
        "--reference-mirnas",
        help="miRNAs whose seeds mocks must avoid (FASTA, plain or gzip, e.g. miRBase mature.fa.gz); the input miRNAs are always avoided too (default: only they).",
        metavar="FASTA",
        rich_help_panel="Input",
    ),
]
OptRatio = Annotated[float, float_option("--ratio", low=0.0, high=1000.0, help="Negatives per positive.")]
OptMocksPerMirna = Annotated[
    Optional[int],
    typer.Option("--mocks-per-mirna", min=1, max=1000, help="Mock miRNAs per real miRNA [default: ceil(ratio), at least 1]."),
]
OptMinScore = Annotated[
    float,
    float_option("--min-score", help="Keep duplex sites scoring at least this (miRanda-style score; 140 = a perfect 7mer seed)."),
]
OptMaxTries = Annotated[
    int, typer.Option("--max-tries", min=1, max=10_000_000, help="Shuffles per mock before giving up on a miRNA.")
]
OptFill = Annotated[
    bool, typer.Option("--fill/--no-fill", help="Make up a shortfall with further sites of other positives' targets.")
]
OptIncludePositives = Annotated[
    bool,
    typer.Option(
        "--include-positives",
        help="Also write the positives (label 1): a ready training set. Targets longer than --cts-length are cut to the window of the annotated site (extra columns site_start/site_end, 1-based, site_end opposite miRNA nt 1) or else of the real miRNA's best duplex sites.",
    ),
]
OptOutFormat = Annotated[
    OutFormat,
    typer.Option("--format", help="pairs: pair table with label; sites: site table (site_type 'duplex') of the negatives."),
]
OptMockFasta = Annotated[
    Optional[Path], typer.Option("--mock-fasta", help="Also write the mock miRNAs that were used as FASTA.", metavar="FASTA")
]


# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset(
    {"pairs", "pairs_old", "reference_mirnas", "species", "mirna_ids", "strict"}
)  # id_pairs, reference; mirna_selection


@app.command()
def command(
    positives: OptPositives = None,
    mirna: OptMirnaFasta = None,
    species: OptSpecies = None,
    mirna_ids: OptMirnaIds = None,
    strict: OptStrict = False,
    utr: OptUtrFasta = None,
    pairs: OptIdPairs = None,
    pairs_old: Annotated[Optional[Path], hidden_alias("--pairs")] = None,
    reference_mirnas: OptReference = None,
    ratio: OptRatio = 1.0,
    mocks_per_mirna: OptMocksPerMirna = None,
    min_score: OptMinScore = duplex.DEFAULT_MIN_SCORE,
    cts_length: OptCtsLength = 40,
    max_tries: OptMaxTries = negatives.DEFAULT_MAX_TRIES,
    fill: OptFill = True,
    include_positives: OptIncludePositives = False,
    out_format: OptOutFormat = OutFormat.pairs,
    mock_fasta: OptMockFasta = None,
    seed: OptSeed = DEFAULT_SEED,
    output: OptOutput = "-",
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Write negatives (label 0) for the positives; a summary goes to stderr."""

    _cli.setup_logging(quiet, verbose)
    pairs = alias(pairs, pairs_old, "--id-pairs", "--pairs")
    more = {"positives": positives or [], "id_pairs": pairs, "reference": reference_mirnas}
    _make(
        _cli.options_of(NegativesCommand, locals(), **more, mirna_selection=mirna_selection(species, mirna_ids, strict)),
        debug=debug,
    )


# The option combinations dt-make-negatives refuses (usage errors, exit 2), in order: (when, message).
_REFUSED = [
    selection_without_fasta(),
    (lambda c: not c.positives and (c.mirna is None or c.utr is None), "give --positives, or --mirna and --utr"),
    (lambda c: (c.mirna is None) != (c.utr is None), "--mirna and --utr go together"),
    (lambda c: c.id_pairs is not None and c.mirna is None, "--id-pairs goes with --mirna/--utr"),
    (lambda c: not math.isfinite(c.ratio), "--ratio must be a finite number"),
    (lambda c: c.include_positives and c.out_format == OutFormat.sites.value, "--include-positives needs --format pairs"),
]
_SHORTFALL_HINT = "lower --min-score, raise --mocks-per-mirna or give longer targets"


@_cli.handle_errors
def _make(cmd, debug=False) -> None:

    _cli.refuse(_REFUSED, cmd)
    inputs = {
        "--positives": cmd.positives,
        "--mirna": cmd.mirna,
        "--mirna-ids": cmd.mirna_selection.ids_file,
        "--utr": cmd.utr,
        "--id-pairs": cmd.id_pairs,
    }
    _cli.check_paths({**inputs, "--reference-mirnas": cmd.reference}, {"-o": cmd.output, "--mock-fasta": cmd.mock_fasta})
    _cli.one_stdout({"--mock-fasta": cmd.mock_fasta, "-o": cmd.output})
    _cli.one_stdin(cmd.positives, cmd.mirna, cmd.utr, cmd.id_pairs, cmd.reference)
    out = run_make_negatives(cmd, _cli.progress)
    log.info(out.report())
    for line in out.warnings(_SHORTFALL_HINT):
        log.warning(line)


def main() -> None:
    _cli.run(app)
