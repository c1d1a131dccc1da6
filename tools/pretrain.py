"""dt-pretrain: pre-train the miRNA and CTS RNN autoencoders (unsupervised)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core.pretrain_command import PretrainCommand, run_pretrain
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    DEFAULT_SEED,
    Cell,
    Device,
    OptBatchSize,
    OptCell,
    OptCtsLength,
    OptDebug,
    OptDevice,
    OptEpochs,
    OptLearningRate,
    OptMirnaIds,
    OptQuiet,
    OptSeed,
    OptSpecies,
    OptStrict,
    OptThreads,
    OptVerbose,
    OptVersion,
    alias,
    hidden_alias,
    mirna_selection,
    refuse_compressed_checkpoint,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app("Pre-train the two RNN autoencoders (miRNA, CTS) of deepTarget; writes one checkpoint holding both.")


OptPairTables = Annotated[
    Optional[List[Path]],
    typer.Option("--pair-table", help="Pair table(s); labels are ignored. Repeatable.", metavar="TSV", rich_help_panel="Input"),
]
OptMirnaFastas = Annotated[
    Optional[List[Path]],
    typer.Option("--mirna", help="Extra miRNA FASTA (unlabeled). Repeatable.", metavar="FASTA", rich_help_panel="Input"),
]
OptCtsFastas = Annotated[
    Optional[List[Path]],
    typer.Option(
        "--cts-fasta", help="Extra CTS / UTR-window FASTA (unlabeled). Repeatable.", metavar="FASTA", rich_help_panel="Input"
    ),
]
OptCheckpoint = Annotated[
    str,
    typer.Option(
        "-o",
        "--output",
        help="Autoencoder checkpoint (uncompressed: a .gz name is refused).",
        metavar="FILE",
        rich_help_panel="Output",
    ),
]


# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset({"pairs_old", "mirna_fasta_old", "species", "mirna_ids", "strict"})  # aliases; mirna_selection


@app.command()
def command(
    pairs: OptPairTables = None,
    mirna_fasta: OptMirnaFastas = None,
    species: OptSpecies = None,
    mirna_ids: OptMirnaIds = None,
    strict: OptStrict = False,
    cts_fasta: OptCtsFastas = None,
    pairs_old: Annotated[Optional[List[Path]], hidden_alias("--pairs")] = None,
    mirna_fasta_old: Annotated[Optional[List[Path]], hidden_alias("--mirna-fasta")] = None,
    output: OptCheckpoint = "autoencoders.pt",
    cell: OptCell = Cell.gru,
    cts_length: OptCtsLength = 40,
    epochs: OptEpochs = 3,
    batch_size: OptBatchSize = 50,
    lr: OptLearningRate = 1e-2,
    seed: OptSeed = DEFAULT_SEED,
    device: OptDevice = Device.auto,
    threads: OptThreads = 2,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Reconstruction of nucleotide identities (cross-entropy); accuracy per epoch on stderr."""

    _cli.setup_logging(quiet, verbose)
    pairs = alias(pairs, pairs_old, "--pair-table", "--pairs")
    mirna_fasta = alias(mirna_fasta, mirna_fasta_old, "--mirna", "--mirna-fasta")
    refuse_compressed_checkpoint(output)
    lists = {"pairs": pairs or [], "mirna_fasta": mirna_fasta or [], "cts_fasta": cts_fasta or []}
    cmd = _cli.options_of(PretrainCommand, locals(), **lists, mirna_selection=mirna_selection(species, mirna_ids, strict))
    _run(cmd, debug=debug)


@_cli.handle_errors
def _run(cmd, debug=False) -> None:

    _cli.check_paths(
        {
            "--pair-table": cmd.pairs,
            "--mirna": cmd.mirna_fasta,
            "--mirna-ids": cmd.mirna_selection.ids_file,
            "--cts-fasta": cmd.cts_fasta,
        },
        {"-o": cmd.output},
    )
    out = run_pretrain(cmd)
    log.info("dt-pretrain: %d miRNAs, %d CTSs -> %s", out.n_mirnas, out.n_cts, out.output)


def main() -> None:
    _cli.run(app)
