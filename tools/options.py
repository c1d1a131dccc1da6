"""Options shared by the executables, declared once as ``Annotated`` types (pyANI-plus style).

Flags are spelled the same in every tool: -o/--output, --model, --seed, --device,
--batch-size, -p/--threads, -q/--quiet, -v/--verbose, --debug, --version.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from deeptarget_core import __version__


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"deeptarget {__version__}")
        raise typer.Exit()


class Device(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Cell(str, Enum):
    gru = "gru"
    lstm = "lstm"


class SiteTypes(str, Enum):
    canonical = "canonical"
    relaxed = "relaxed"


OptVersion = Annotated[
    Optional[bool],
    typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
]
OptQuiet = Annotated[bool, typer.Option("-q", "--quiet", help="Only errors on stderr.")]
OptVerbose = Annotated[bool, typer.Option("-v", "--verbose", help="More detail on stderr.")]
OptDebug = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks on errors.")]
OptOutput = Annotated[
    str, typer.Option("-o", "--output", help="Output file ('-' = stdout; '.gz' = gzip).", metavar="FILE")
]
OptSeed = Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives identical output.")]
OptDevice = Annotated[Device, typer.Option("--device", help="Where to run the model.")]
OptBatchSize = Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per model batch.")]
OptThreads = Annotated[int, typer.Option("-p", "--threads", min=1, help="CPU threads.")]
OptModel = Annotated[
    Optional[str],
    typer.Option("--model", help="Model checkpoint (default: the model shipped in the package).", metavar="FILE"),
]
OptCtsLength = Annotated[
    int, typer.Option("--cts-length", min=20, max=200, help="Length of each candidate target site window.")
]
OptSiteTypes = Annotated[
    SiteTypes,
    typer.Option("--site-types", help="canonical: 8mer/7mer-m8/7mer-A1/6mer; relaxed: also offset-6mer, GU and mismatch seeds."),
]
OptMirnaFasta = Annotated[
    Optional[Path], typer.Option("--mirna", help="miRNA FASTA (plain or gzip; '-' = stdin).", metavar="FASTA")
]
OptUtrFasta = Annotated[
    Optional[Path], typer.Option("--utr", help="3'UTR / mRNA FASTA (plain, gzip or bgzip).", metavar="FASTA")
]
OptCell = Annotated[Cell, typer.Option("--cell", help="Recurrent cell: gru (as in the paper) or lstm; dt-pretrain and dt-train must agree.")]
OptEpochs = Annotated[int, typer.Option("--epochs", min=1, help="Training epochs (the most, with early stopping).")]
OptLearningRate = Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate.")]
