"""dt-pretrain: pre-train the miRNA and CTS RNN autoencoders (unsupervised)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, List, Optional

import typer

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
    OptQuiet,
    OptSeed,
    OptThreads,
    OptVerbose,
    OptVersion,
    alias,
    hidden_alias,
    refuse_compressed_checkpoint,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app("Pre-train the two RNN autoencoders (miRNA, CTS) of deepTarget; writes one checkpoint holding both.")


@app.command()
def command(
    pairs: Annotated[
        Optional[List[Path]],
        typer.Option(
            "--pair-table", help="Pair table(s); labels are ignored. Repeatable.", metavar="TSV", rich_help_panel="Input"
        ),
    ] = None,
    mirna_fasta: Annotated[
        Optional[List[Path]],
        typer.Option("--mirna", help="Extra miRNA FASTA (unlabeled). Repeatable.", metavar="FASTA", rich_help_panel="Input"),
    ] = None,
    cts_fasta: Annotated[
        Optional[List[Path]],
        typer.Option(
            "--cts-fasta", help="Extra CTS / UTR-window FASTA (unlabeled). Repeatable.", metavar="FASTA", rich_help_panel="Input"
        ),
    ] = None,
    pairs_old: Annotated[Optional[List[Path]], hidden_alias("--pairs")] = None,
    mirna_fasta_old: Annotated[Optional[List[Path]], hidden_alias("--mirna-fasta")] = None,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            help="Autoencoder checkpoint (uncompressed: a .gz name is refused).",
            metavar="FILE",
            rich_help_panel="Output",
        ),
    ] = "autoencoders.pt",
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
    _run(
        pairs or [],
        mirna_fasta or [],
        cts_fasta or [],
        output,
        cell,
        cts_length,
        epochs,
        batch_size,
        lr,
        seed,
        device,
        threads,
        debug=debug,
    )


@_cli.handle_errors
def _run(
    pairs, mirna_fasta, cts_fasta, output, cell, cts_length, epochs, batch_size, lr, seed, device, threads, debug=False
) -> None:

    from deeptarget_core import io, runtime
    from deeptarget_core import model as M
    from deeptarget_core import train as T

    _cli.check_paths({"--pair-table": pairs, "--mirna": mirna_fasta, "--cts-fasta": cts_fasta}, {"-o": output})
    io.check_output_path(output)
    dev = runtime.setup(threads, device.value)
    mirnas, cts = io.read_sequences_for_pretraining(pairs, mirna_fasta, cts_fasta)
    config = M.ModelConfig(cts_length=cts_length, cell=cell.value)

    def report(row):
        log.info(
            "epoch %d: miRNA reconstruction accuracy %.4f (loss %.4f), CTS %.4f (loss %.4f)",
            row["epoch"],
            row["mirna_accuracy"],
            row["mirna_loss"],
            row["cts_accuracy"],
            row["cts_loss"],
        )

    result = T.pretrain_autoencoders(mirnas, cts, config, epochs, batch_size, lr, seed, dev, on_epoch=report)
    digest = (
        M.file_digest(*[p for p in [*pairs, *mirna_fasta, *cts_fasta] if str(p) != "-"])
        if pairs or mirna_fasta or cts_fasta
        else None
    )
    T.save_pretrained(output, result, config, seed, digest)
    log.info("dt-pretrain: %d miRNAs, %d CTSs -> %s", len(set(mirnas)), len(set(cts)), output)


def main() -> None:
    _cli.run(app)
