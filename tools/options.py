"""Options shared by the executables, declared once as ``Annotated`` types (pyANI-plus style).

Flags are spelled the same in every tool: -o/--output, --model, --seed, --device,
--batch-size, -p/--threads, -q/--quiet, -v/--verbose, --debug, --version.
"""

from __future__ import annotations

import math
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Callable, List, Optional

import typer

from deeptarget_core import __version__
from deeptarget_core.mirnas import MirnaSelection


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"deeptarget {__version__}")
        raise typer.Exit()


SEED_MAX = 2**32 - 1  # what every random generator the suite uses (numpy, torch) accepts
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def parse_seed(value) -> int:
    """One seed type for every tool: a plain whole number 0..2**32-1, checked at parse time."""
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    else:
        text = str(value).strip()
    if not re.fullmatch(r"\+?[0-9]+", text) or int(text) > SEED_MAX:
        raise typer.BadParameter(f"'{value}' is not a seed: give a whole number from 0 to {SEED_MAX}")
    return int(text)


def finite_float(low: float | None = None, high: float | None = None, low_open: bool = False) -> Callable[[object], float]:
    """Parser for a float option: plain decimal text (no nan, inf or 1_0), within [low, high]
    (``low_open``: above low)."""

    def parse(value) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            x = float(value)
        else:
            text = str(value).strip()
            if not _DECIMAL.fullmatch(text):
                raise typer.BadParameter(f"'{value}' is not a finite decimal number")
            x = float(text)
        if not math.isfinite(x):
            raise typer.BadParameter(f"'{value}' is not a finite number")
        if low is not None and (x <= low if low_open else x < low):
            raise typer.BadParameter(f"{value} is out of range: must be {'above' if low_open else 'at least'} {low:g}")
        if high is not None and x > high:
            raise typer.BadParameter(f"{value} is out of range: must be at most {high:g}")
        return x

    return parse


def float_option(*decls: str, low: float | None = None, high: float | None = None, low_open: bool = False, **kw):
    """typer.Option for a finite float in a range (every float option of the suite)."""
    return typer.Option(*decls, parser=finite_float(low, high, low_open), metavar="FLOAT", **kw)


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
OptOutput = Annotated[str, typer.Option("-o", "--output", help="Output file ('-' = stdout; '.gz' = gzip).", metavar="FILE")]
OptSeed = Annotated[
    int,
    typer.Option(
        "--seed", parser=parse_seed, metavar="INT", help=f"Random seed (0-{SEED_MAX}): the same seed gives identical output."
    ),
]
OptDevice = Annotated[Device, typer.Option("--device", help="Where to run the model.")]
OptBatchSize = Annotated[int, typer.Option("--batch-size", min=1, max=1_000_000, help="Sequences per model batch.")]
OptThreads = Annotated[int, typer.Option("-p", "--threads", min=1, max=256, help="CPU threads.")]
OptModel = Annotated[
    Optional[str],
    typer.Option("--model", help="Model checkpoint (default: the model shipped in the package).", metavar="FILE"),
]
OptCtsLength = Annotated[int, typer.Option("--cts-length", min=20, max=200, help="Length of each candidate target site window.")]
OptSiteTypes = Annotated[
    SiteTypes,
    typer.Option("--site-types", help="canonical: 8mer/7mer-m8/7mer-A1/6mer; relaxed: also offset-6mer, GU and mismatch seeds."),
]
OptMirnaFasta = Annotated[
    Optional[Path], typer.Option("--mirna", help="miRNA FASTA (plain or gzip; '-' = stdin).", metavar="FASTA")
]
OptSpecies = Annotated[
    Optional[List[str]],
    typer.Option(
        "--species",
        help="Keep the miRNAs of these species only: the miRBase id prefix (hsa keeps hsa-miR-21-5p); repeat or comma-separate.",
        metavar="PREFIX",
    ),
]
OptMirnaIds = Annotated[
    Optional[Path], typer.Option("--mirna-ids", help="Keep the miRNAs listed in FILE only (one id per line).", metavar="FILE")
]
OptStrict = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="A miRNA FASTA record that cannot be a miRNA (letters other than ACGU/T, length outside 8-30 nt) is an error; "
        "by default it is skipped, with one warning that counts them. IUPAC ambiguity letters (R, Y, K, M, S, W, B, D, "
        "H, V) in the UTR FASTA are an error too; by default they are read as N (no site through them), counted in a warning.",
    ),
]


def mirna_selection(species: list[str] | None, mirna_ids: Path | None, strict: bool) -> MirnaSelection:
    """The records of a miRNA FASTA that a run keeps, from --species, --mirna-ids and --strict."""
    prefixes = tuple(p.strip() for value in species or () for p in value.split(",") if p.strip())
    return MirnaSelection(species=prefixes, ids_file=None if mirna_ids is None else str(mirna_ids), strict=strict)


def selection_without_fasta():
    """The refusal (a tool's _REFUSED rule) of --species/--mirna-ids/--strict without a --mirna
    FASTA to select from: they would be dropped without a word."""
    return (
        lambda c: c.mirna is None and c.mirna_selection != MirnaSelection(),
        "--species, --mirna-ids and --strict select the records of a --mirna FASTA: give one",
    )


OptUtrFasta = Annotated[Optional[Path], typer.Option("--utr", help="3'UTR / mRNA FASTA (plain, gzip or bgzip).", metavar="FASTA")]
OptCell = Annotated[
    Cell, typer.Option("--cell", help="Recurrent cell: gru (as in the paper) or lstm; dt-pretrain and dt-train must agree.")
]
OptEpochs = Annotated[int, typer.Option("--epochs", min=1, max=100_000, help="Training epochs (the most, with early stopping).")]
OptLearningRate = Annotated[float, float_option("--lr", low=0.0, high=10.0, low_open=True, help="Adam learning rate.")]


# One --seed default for every tool (and Galaxy's seed_param macro): 1, the seed of the
# packaged model's recipe (mk/model.mk passes it explicitly all the same).
DEFAULT_SEED = 1


# ---- genome coordinates (dt-scan-cts, dt-predict) ------------------------------------------


class SiteFormat(str, Enum):
    tsv = "tsv"
    bed = "bed"
    bed12 = "bed12"


OptUtrBed = Annotated[
    Optional[Path],
    typer.Option(
        "--utr-bed",
        help="UTR annotation, BED12 (one line per UTR, name = FASTA id, blocks = exons, either strand): "
        "needed by --format bed; each UTR's exons must add up to its FASTA length.",
        metavar="BED12",
    ),
]
OptSiteFormat = Annotated[
    SiteFormat,
    typer.Option(
        "--format",
        help="Site output: tsv (the site table); bed = genome coordinates from --utr-bed (BED6 when every UTR "
        "is one exon, else BED12 so that a site across an exon junction keeps its blocks); bed12 = always BED12. "
        "An -o name ending in .bgz is written sorted, bgzip-compressed and tabix-indexed (.tbi beside it).",
    ),
]


# ---- one vocabulary: renamed options keep their old spelling as a hidden alias --------------


def alias(value, old_value, flag: str, old_flag: str):
    """The value of ``flag`` or of its deprecated spelling ``old_flag``; both at once is a
    usage error (also for repeatable options). The old spelling is noted only with
    -v: stderr keeps its one-line contract (an error is the only line), and scripts, Galaxy
    and the workflow that still use it run as before."""
    if old_value is None or old_value == []:
        return value
    import logging

    logging.getLogger("deeptarget").debug("%s is the old spelling of %s (deprecated)", old_flag, flag)
    if value is None or value == []:
        return old_value
    raise typer.BadParameter(f"{old_flag} is the old name of {flag}: give one of them")


def refuse_compressed_checkpoint(path, flag: str = "-o") -> None:
    """A checkpoint is a zip archive already: a .gz name would gzip it, and every reader
    would then have to refuse it. Refused at once, before any work."""
    name = str(path)
    if name.endswith((".gz", ".bgz")):
        stem = name[: -len(".gz")] if name.endswith(".gz") else name[: -len(".bgz")]
        raise typer.BadParameter(
            f"{flag} {name}: checkpoints are written uncompressed (torch's zip format is compressed "
            f"already) and the tools read them only so; name it {stem}"
        )


def hidden_alias(old_flag: str, metavar: str | None = None):
    """The typer.Option of a deprecated spelling: works, not shown in --help."""
    return typer.Option(old_flag, hidden=True, metavar=metavar)


# ---- help panels: the shared options grouped in --help (plain and rich help alike) ----------

PANEL_INPUT = "Input"
PANEL_MODEL = "Model"
PANEL_OUTPUT = "Output"
PANEL_RUNTIME = "Runtime"


def in_panel(declaration, panel: str):
    """The same option shown in another --help panel: a copy, so that other tools keep theirs."""
    import copy

    info = copy.copy(declaration.__metadata__[0])
    info.rich_help_panel = panel
    return Annotated[declaration.__origin__, info]


def _panel(panel: str, *declarations) -> None:
    for decl in declarations:
        decl.__metadata__[0].rich_help_panel = panel


_panel(PANEL_INPUT, OptMirnaFasta, OptSpecies, OptMirnaIds, OptStrict, OptUtrFasta, OptUtrBed)
_panel(PANEL_MODEL, OptModel, OptCell, OptEpochs, OptLearningRate)
_panel(PANEL_OUTPUT, OptOutput, OptSiteFormat)
_panel(PANEL_RUNTIME, OptSeed, OptDevice, OptBatchSize, OptThreads, OptQuiet, OptVerbose, OptDebug, OptVersion)
