"""dt-pretrain's operation as a library call: :class:`PretrainCommand` (typed options) ->
:func:`run_pretrain` -> :class:`PretrainOutcome`.

Owns the run: the output check, the runtime set-up, reading the sequences (pair tables and
FASTAs), the per-epoch report, and the checkpoint with its provenance (the inputs' digest).
The command layer (tools/pretrain.py) checks the paths and logs the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import io, runtime, streams
from .mirnas import EVERY_MIRNA, MirnaSelection, read_mirnas

log = logging.getLogger("deeptarget")


@dataclass
class PretrainCommand:
    """Options of one pre-training run (values, not flags)."""

    pairs: Sequence[str | Path] = ()  # pair tables (labels ignored)
    mirna_fasta: Sequence[str | Path] = ()
    cts_fasta: Sequence[str | Path] = ()
    output: str = "autoencoders.pt"
    cell: str = "gru"
    cts_length: int = 40
    epochs: int = 3
    batch_size: int = 50
    lr: float = 1e-2
    seed: int = 1
    device: str = "auto"
    threads: int = 2
    mirna_selection: MirnaSelection = EVERY_MIRNA  # of the miRNA FASTAs


@dataclass
class PretrainOutcome:
    output: str
    n_mirnas: int  # distinct sequences
    n_cts: int


def run_pretrain(cmd: PretrainCommand) -> PretrainOutcome:
    """Pre-train the two autoencoders on ``cmd``'s sequences and write the checkpoint."""

    streams.check_output_path(cmd.output, binary=True)
    streams.check_input_paths(cmd.pairs, cmd.mirna_fasta, cmd.mirna_selection.ids_file, cmd.cts_fasta)  # before torch
    from . import model as M
    from . import train as T

    dev = runtime.setup(cmd.threads, cmd.device)
    fasta_mirnas = [s for p in cmd.mirna_fasta for s in read_mirnas(p, cmd.mirna_selection).values()]
    mirnas, cts = io.read_sequences_for_pretraining(cmd.pairs, fasta_mirnas, cmd.cts_fasta)
    config = M.ModelConfig(cts_length=cmd.cts_length, cell=cmd.cell)
    result = T.pretrain_autoencoders(mirnas, cts, config, cmd.epochs, cmd.batch_size, cmd.lr, cmd.seed, dev, on_epoch=_report)
    inputs = [*cmd.pairs, *cmd.mirna_fasta, *cmd.cts_fasta]
    digest = M.file_digest(*[p for p in inputs if str(p) != "-"]) if inputs else None
    T.save_pretrained(cmd.output, result, config, cmd.seed, digest)
    return PretrainOutcome(cmd.output, len(set(mirnas)), len(set(cts)))


def _report(row: dict) -> None:
    log.info(
        "epoch %d: miRNA reconstruction accuracy %.4f (loss %.4f), CTS %.4f (loss %.4f)",
        row["epoch"],
        row["mirna_accuracy"],
        row["mirna_loss"],
        row["cts_accuracy"],
        row["cts_loss"],
    )
