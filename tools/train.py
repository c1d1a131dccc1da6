"""dt-train: train the full deepTarget network, or cross-validate it."""

from __future__ import annotations

import logging
import typing
from enum import Enum
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, List, Optional

import typer

from deeptarget_core.gene_training import GeneTrainOptions
from deeptarget_core.streams import check_input_paths
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
    float_option,
    in_panel,
    refuse_compressed_checkpoint,
)

log = logging.getLogger("deeptarget")


class Level(str, Enum):
    site = "site"
    gene = "gene"


class GeneFeatures(str, Enum):  # mirrors deeptarget_core.gene_model.FEATURE_SETS
    context = "context"
    ridge = "ridge"
    all = "all"


class SelectBy(str, Enum):  # mirrors deeptarget_core.train.SELECT_METRICS
    roc_auc = "roc_auc"
    within_mirna_auc = "within_mirna_auc"


app = _cli.make_app(
    "Train deepTarget (pre-trained encoders + stacked RNN) on labelled pair tables, or run K-fold cross-validation with --cv."
)


OptTrain = Annotated[
    Optional[List[Path]],
    typer.Option("--train", help="Labelled pair table(s) to train on (site level).", metavar="TSV", rich_help_panel="Input"),
]
OptLevel = Annotated[
    Level,
    typer.Option(
        "--level",
        help="site: the site network (--train); gene: the gene model (--functional, --utr), see docs/gene-model.md.",
    ),
]
OptFunctional = Annotated[
    Optional[str],
    typer.Option(
        "--functional",
        help="--level gene: fold changes after miRNA over-expression/knockout (experiment [type] mirna_id mirna_seq mrna_id logFC).",
        metavar="TSV",
        rich_help_panel="Input",
    ),
]
OptUtr = Annotated[
    Optional[str],
    typer.Option(
        "--utr", help="--level gene: 3'UTR FASTA of the functional table's genes.", metavar="FASTA", rich_help_panel="Input"
    ),
]
OptPairTable = Annotated[
    Optional[str],
    typer.Option(
        "--pair-table",
        help="--level gene: labelled gene-level pair table (whole UTRs), reported beside the functional figures.",
        metavar="TSV",
        rich_help_panel="Input",
    ),
]
OptSiteModel = Annotated[
    Optional[str],
    typer.Option(
        "--site-model",
        help="--level gene: site network for --features all and the CV's network baseline (default: the packaged one).",
        metavar="FILE",
        rich_help_panel="Input",
    ),
]
OptFeatures = Annotated[
    GeneFeatures,
    typer.Option(
        "--features",
        help="--level gene: context (the default model: site affinities from type, flanking nucleotides and context "
        "through an occupancy form; no network pass), ridge (a ridge on the context summed per site type) or all "
        "(the ridge plus the site network's log-odds).",
    ),
]
OptAlpha = Annotated[float, float_option("--alpha", low=0.0, low_open=True, help="--level gene: ridge penalty.")]
OptVal = Annotated[
    Optional[Path],
    typer.Option("--val", help="Labelled validation pair table (early stopping).", metavar="TSV", rich_help_panel="Input"),
]
OptPretrained = Annotated[
    Optional[Path],
    typer.Option("--pretrained", help="Autoencoder checkpoint from dt-pretrain.", metavar="AE.pt", rich_help_panel="Input"),
]
OptNoPretrain = Annotated[bool, typer.Option("--no-pretrain", help="Fresh encoders (the ablation).")]
OptModelOutput = Annotated[
    str,
    typer.Option(
        "-o",
        "--output",
        help="Model checkpoint, uncompressed: a .gz name is refused (or the CV metrics TSV with --cv).",
        metavar="FILE",
        rich_help_panel="Output",
    ),
]
OptLayers = Annotated[int, typer.Option("--layers", min=1, max=3, help="Stacked RNN layers: 1 (30), 2 (60-30), 3 (60-60-30).")]
OptBidirectional = Annotated[bool, typer.Option("--bidirectional", help="Bidirectional stacked RNN.")]
OptDropout = Annotated[float, float_option("--dropout", low=0.0, high=0.9)]
OptPairing = Annotated[
    bool,
    typer.Option(
        "--pairing/--no-pairing",
        help="Add explicit base-pairing channels (miRNA nt vs CTS nt 3, 4, 5 steps on) to the stacked RNN's input; --no-pairing is the paper's network.",
    ),
]
OptSitePrior = Annotated[
    bool,
    typer.Option(
        "--site-prior/--no-site-prior",
        help="After training, fit one log-odds offset per seed-match type (8mer ... none) on the validation table with the network frozen (the inner split with --cv); dt-predict adds it to the network's score.",
    ),
]
OptPatience = Annotated[int, typer.Option("--patience", min=1, help="Epochs without validation gain before stopping.")]
OptBalanceByMirna = Annotated[
    bool,
    typer.Option(
        "--balance-by-mirna",
        help="Each epoch, give every miRNA as many positives as negatives (all of its minority label, a fresh draw of its majority label; single-label miRNAs left out): the miRNA's identity then says nothing about the label.",
    ),
]
OptSelectBy = Annotated[SelectBy, typer.Option("--select-by", help="Validation metric for early stopping and the kept epoch.")]
OptCv = Annotated[Optional[int], typer.Option("--cv", min=2, max=100, help="K-fold cross-validation; writes metrics TSV to -o.")]
OptCvPredictions = Annotated[
    Optional[str],
    typer.Option(
        "--cv-predictions",
        help="With --cv: the out-of-fold score of every pair (its table's columns minus sequences, plus fold and score) for dt-eval.",
        metavar="TSV",
    ),
]
OptGroupBy = Annotated[Optional[str], typer.Option("--group-by", help="'mirna': no miRNA on both sides of a fold.")]
OptLogFile = Annotated[Optional[Path], typer.Option("--log", help="TSV training log (default: OUTPUT.log.tsv).")]
OptResume = Annotated[bool, typer.Option("--resume", help="Continue a killed run from OUTPUT.resume.")]


@app.command()
def command(
    train: OptTrain = None,
    level: OptLevel = Level.site,
    functional: OptFunctional = None,
    utr: OptUtr = None,
    pair_table: OptPairTable = None,
    site_model: OptSiteModel = None,
    features: OptFeatures = GeneFeatures.context,
    alpha: OptAlpha = 100.0,
    val: OptVal = None,
    pretrained: OptPretrained = None,
    no_pretrain: OptNoPretrain = False,
    output: OptModelOutput = "model.pt",
    cell: OptCell = Cell.gru,
    layers: OptLayers = 2,
    bidirectional: OptBidirectional = False,
    dropout: OptDropout = 0.1,
    pairing: OptPairing = False,
    site_prior: OptSitePrior = False,
    cts_length: OptCtsLength = 40,
    batch_size: OptBatchSize = 50,
    epochs: OptEpochs = 10,
    lr: OptLearningRate = 1e-3,
    patience: OptPatience = 3,
    balance_by_mirna: OptBalanceByMirna = False,
    select_by: OptSelectBy = SelectBy.roc_auc,
    cv: OptCv = None,
    cv_predictions: OptCvPredictions = None,
    group_by: OptGroupBy = None,
    log_file: OptLogFile = None,
    resume: OptResume = False,
    seed: OptSeed = DEFAULT_SEED,
    device: OptDevice = Device.auto,
    threads: OptThreads = 2,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Adam, log loss, early stopping on validation ROC-AUC (best weights kept)."""
    _cli.setup_logging(quiet, verbose)
    if cv is None:
        refuse_compressed_checkpoint(output)
    options = SimpleNamespace(**locals())
    _cli.refuse(_given_to_the_other_level(level), options)
    if level == Level.gene:
        return _run_gene(options, debug=debug)
    _cli.refuse(_SITE_REFUSED, options)
    _run(options, debug=debug)


# dt-train runs two trainings. They stay one command (scripts, Galaxy and the workflow call
# `dt-train --train ...` and `dt-train --level gene ...`; subcommands would break every one of
# them) whose --help shows each training's options in its own panel, and an option of one
# training given to the other is refused (exit 2), never dropped. Options of both: -o, --seed,
# --cv, -p and the logging flags.
SITE_OPTIONS = (
    "train", "val", "pretrained", "no_pretrain", "cell", "layers", "bidirectional", "dropout", "pairing",
    "site_prior", "cts_length", "batch_size", "epochs", "lr", "patience", "balance_by_mirna", "select_by",
    "cv_predictions", "group_by", "log_file", "resume", "device",
)  # fmt: skip
GENE_OPTIONS = ("functional", "utr", "pair_table", "site_model", "features", "alpha")
FOLDED = frozenset({"level", "no_pretrain", "group_by"})  # the training chosen; pretrained; group_by_mirna


def _given_to_the_other_level(level: Level):
    """Refusal rules: an option of the other training given (not at its default) with ``level``."""
    import inspect

    params = inspect.signature(command).parameters
    foreign = GENE_OPTIONS if level == Level.site else SITE_OPTIONS
    which = "--level gene (the gene model)" if level == Level.site else "the site network (--level site)"
    return [
        (lambda o, n=name: getattr(o, n) != params[n].default, f"{_cli.flag_of(command, name)} is an option of {which}")
        for name in foreign
    ]


PANEL_SITE, PANEL_GENE = "Site network (--level site)", "Gene model (--level gene)"
# --help shows each training's options in its panel (the annotations are read when the app runs)
_hints = typing.get_type_hints(command, include_extras=True)
command.__annotations__.update({n: in_panel(_hints[n], PANEL_SITE) for n in SITE_OPTIONS})
command.__annotations__.update({n: in_panel(_hints[n], PANEL_GENE) for n in GENE_OPTIONS})


# The option combinations dt-train refuses (usage errors, exit 2), in order: (when, message).
_SITE_REFUSED = [
    (lambda o: not o.train, "--train is required (site level; --level gene trains the gene model)"),
    (lambda o: o.group_by not in (None, "mirna"), "--group-by takes 'mirna'"),
    (lambda o: o.pretrained is None and not o.no_pretrain, "give --pretrained AE.pt (from dt-pretrain) or --no-pretrain"),
    (lambda o: o.pretrained is not None and o.no_pretrain, "--pretrained and --no-pretrain exclude each other"),
    (lambda o: o.cv_predictions is not None and o.cv is None, "--cv-predictions needs --cv"),
    (lambda o: o.resume and o.cv is not None, "--resume continues one training; a --cv run is not resumable"),
    (lambda o: o.site_prior and o.cv is None and o.val is None, "--site-prior is fitted on the validation table: give --val"),
]
_GENE_REFUSED = [
    (lambda o: o.train, "--level gene trains on --functional and --utr, not --train"),
    (lambda o: o.functional is None or o.utr is None, "--level gene needs --functional TSV and --utr FASTA"),
    (
        lambda o: o.site_model is not None and o.features != "all" and o.cv is None,
        "--site-model is read only with --features all or --cv (the other gene models read no site scores)",
    ),
]


@_cli.handle_errors
def _run_gene(o, debug=False) -> None:

    _cli.refuse(_GENE_REFUSED, o)
    check_input_paths(o.functional, o.utr, o.pair_table, o.site_model)  # before the tables are built
    _cli.check_paths(
        {"--functional": o.functional, "--utr": o.utr, "--pair-table": o.pair_table, "--site-model": o.site_model},
        {"-o": o.output},
    )
    from deeptarget_core.train_command import run_gene_train  # torch: imported to run, not for --help

    for name, value in run_gene_train(_cli.options_of(GeneTrainOptions, vars(o)), _cli.progress).items():
        log.info("dt-train --level gene: %s %.4f", name, value)
    log.info("dt-train --level gene -> %s", o.output)


@_cli.handle_errors
def _run(o, debug=False) -> None:

    check_input_paths(o.train, o.val, o.pretrained)  # a missing input fails before torch is loaded
    from deeptarget_core.train_command import TrainCommand, run_train  # torch: imported to run, not for --help

    cmd = _cli.options_of(TrainCommand, vars(o), group_by_mirna=o.group_by == "mirna")
    outputs = {"-o": cmd.output, "--cv-predictions": cmd.cv_predictions if cmd.cv is not None else None, "--log": cmd.log_path}
    inputs = {"--train": cmd.train, "--val": cmd.val, "--pretrained": cmd.pretrained}
    _cli.check_paths(inputs, {**outputs, "the resume file": cmd.resume_path})
    if cmd.resume and cmd.resume_path is None and cmd.cv is None:
        raise typer.BadParameter(f"--resume needs a checkpoint file as -o, not {cmd.output}")
    out = run_train(cmd, _cli.progress)
    if cmd.cv is None:
        log.info("dt-train: best epoch %d -> %s", out.best_epoch, cmd.output)
    else:
        mean = out.cv_mean
        log.info(
            "dt-train --cv %d: mean ROC-AUC %.4f, within-miRNA AUC %.4f -> %s",
            cmd.cv,
            mean["roc_auc"],
            mean["within_mirna_auc"],
            cmd.output,
        )


def main() -> None:
    _cli.run(app)
