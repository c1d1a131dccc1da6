"""dt-train: train the full deepTarget network, or cross-validate it."""

from __future__ import annotations

import logging
from enum import Enum
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
    float_option,
    refuse_compressed_checkpoint,
)

log = logging.getLogger("deeptarget")


class Level(str, Enum):
    site = "site"
    gene = "gene"


class GeneFeatures(str, Enum):  # mirrors deeptarget_core.gene_model.FEATURE_SETS
    context = "context"
    all = "all"


class SelectBy(str, Enum):  # mirrors deeptarget_core.train.SELECT_METRICS
    roc_auc = "roc_auc"
    within_mirna_auc = "within_mirna_auc"


app = _cli.make_app(
    "Train deepTarget (pre-trained encoders + stacked RNN) on labelled pair tables, or run K-fold cross-validation with --cv."
)


@app.command()
def command(
    train: Annotated[
        Optional[List[Path]],
        typer.Option("--train", help="Labelled pair table(s) to train on (site level).", metavar="TSV", rich_help_panel="Input"),
    ] = None,
    level: Annotated[
        Level,
        typer.Option(
            "--level",
            help="site: the site network (--train); gene: the gene model (--functional, --utr), see docs/gene-model.md.",
        ),
    ] = Level.site,
    functional: Annotated[
        Optional[str],
        typer.Option(
            "--functional",
            help="--level gene: fold changes after miRNA over-expression/knockout (experiment [type] mirna_id mirna_seq mrna_id logFC).",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    utr: Annotated[
        Optional[str],
        typer.Option(
            "--utr", help="--level gene: 3'UTR FASTA of the functional table's genes.", metavar="FASTA", rich_help_panel="Input"
        ),
    ] = None,
    pair_table: Annotated[
        Optional[str],
        typer.Option(
            "--pair-table",
            help="--level gene: labelled gene-level pair table (whole UTRs), reported beside the functional figures.",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    site_model: Annotated[
        Optional[str],
        typer.Option(
            "--site-model",
            help="--level gene: site network for --features all and the CV's network baseline (default: the packaged one).",
            metavar="FILE",
            rich_help_panel="Input",
        ),
    ] = None,
    features: Annotated[
        GeneFeatures,
        typer.Option(
            "--features",
            help="--level gene: context (site context, no network pass; the default model) or all (adds the site network's log-odds).",
        ),
    ] = GeneFeatures.context,
    alpha: Annotated[float, float_option("--alpha", low=0.0, low_open=True, help="--level gene: ridge penalty.")] = 100.0,
    val: Annotated[
        Optional[Path],
        typer.Option("--val", help="Labelled validation pair table (early stopping).", metavar="TSV", rich_help_panel="Input"),
    ] = None,
    pretrained: Annotated[
        Optional[Path],
        typer.Option("--pretrained", help="Autoencoder checkpoint from dt-pretrain.", metavar="AE.pt", rich_help_panel="Input"),
    ] = None,
    no_pretrain: Annotated[bool, typer.Option("--no-pretrain", help="Fresh encoders (the ablation).")] = False,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            help="Model checkpoint, uncompressed: a .gz name is refused (or the CV metrics TSV with --cv).",
            metavar="FILE",
            rich_help_panel="Output",
        ),
    ] = "model.pt",
    cell: OptCell = Cell.gru,
    layers: Annotated[
        int, typer.Option("--layers", min=1, max=3, help="Stacked RNN layers: 1 (30), 2 (60-30), 3 (60-60-30).")
    ] = 2,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Bidirectional stacked RNN.")] = False,
    dropout: Annotated[float, float_option("--dropout", low=0.0, high=0.9)] = 0.1,
    pairing: Annotated[
        bool,
        typer.Option(
            "--pairing/--no-pairing",
            help="Add explicit base-pairing channels (miRNA nt vs CTS nt 3, 4, 5 steps on) to the stacked RNN's input; --no-pairing is the paper's network.",
        ),
    ] = False,
    site_prior: Annotated[
        bool,
        typer.Option(
            "--site-prior/--no-site-prior",
            help="After training, fit one log-odds offset per seed-match type (8mer ... none) on the validation table with the network frozen (the inner split with --cv); dt-predict adds it to the network's score.",
        ),
    ] = False,
    cts_length: OptCtsLength = 40,
    batch_size: OptBatchSize = 50,
    epochs: OptEpochs = 10,
    lr: OptLearningRate = 1e-3,
    patience: Annotated[int, typer.Option("--patience", min=1, help="Epochs without validation gain before stopping.")] = 3,
    balance_by_mirna: Annotated[
        bool,
        typer.Option(
            "--balance-by-mirna",
            help="Each epoch, give every miRNA as many positives as negatives (all of its minority label, a fresh draw of its majority label; single-label miRNAs left out): the miRNA's identity then says nothing about the label.",
        ),
    ] = False,
    select_by: Annotated[
        SelectBy, typer.Option("--select-by", help="Validation metric for early stopping and the kept epoch.")
    ] = SelectBy.roc_auc,
    cv: Annotated[
        Optional[int], typer.Option("--cv", min=2, max=100, help="K-fold cross-validation; writes metrics TSV to -o.")
    ] = None,
    cv_predictions: Annotated[
        Optional[str],
        typer.Option(
            "--cv-predictions",
            help="With --cv: the out-of-fold score of every pair (its table's columns minus sequences, plus fold and score) for dt-eval.",
            metavar="TSV",
        ),
    ] = None,
    group_by: Annotated[Optional[str], typer.Option("--group-by", help="'mirna': no miRNA on both sides of a fold.")] = None,
    log_file: Annotated[Optional[Path], typer.Option("--log", help="TSV training log (default: OUTPUT.log.tsv).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue a killed run from OUTPUT.resume.")] = False,
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
    if level == Level.gene:
        _run_gene(functional, utr, pair_table, site_model, features, alpha, cv, output, seed, threads, train, debug=debug)
        return
    if not train:
        raise typer.BadParameter("--train is required (site level; --level gene trains the gene model)")
    _run(
        **{
            k: v
            for k, v in locals().items()
            if k
            not in ("quiet", "verbose", "version", "level", "functional", "utr", "pair_table", "site_model", "features", "alpha")
        }
    )


@_cli.handle_errors
def _run_gene(functional, utr, pair_table, site_model, features, alpha, cv, output, seed, threads, train, debug=False) -> None:
    from deeptarget_core import gene_training as G

    if train:
        raise typer.BadParameter("--level gene trains on --functional and --utr, not --train")
    if functional is None or utr is None:
        raise typer.BadParameter("--level gene needs --functional TSV and --utr FASTA")
    _cli.check_paths(
        {"--functional": functional, "--utr": utr, "--pair-table": pair_table, "--site-model": site_model}, {"-o": output}
    )
    opts = G.GeneTrainOptions(
        functional=functional,
        utr=utr,
        output=output,
        pair_table=pair_table,
        site_model=site_model,
        features=features.value,
        alpha=alpha,
        cv=cv,
        seed=seed,
        threads=threads,
    )
    with _cli.progress("gene model CV cells", total=cv * cv if cv else None) as advance:
        figures = G.train_gene_model(opts, advance)
    for name, value in figures.items():
        log.info("dt-train --level gene: %s %.4f", name, value)
    log.info("dt-train --level gene -> %s", output)


@_cli.handle_errors
def _run(debug: bool = False, **kw) -> None:
    """``kw``: dt-train's site-level options by name (enum choices by value)."""
    from deeptarget_core.train_command import TrainCommand, run_train

    _check(kw["group_by"], kw["pretrained"], kw.pop("no_pretrain"), kw["cv"], kw["cv_predictions"], kw["site_prior"], kw["val"])
    kw["group_by_mirna"] = kw.pop("group_by") == "mirna"
    cmd = TrainCommand(**{k: getattr(v, "value", v) for k, v in kw.items()})
    train, val, pretrained, output, cv, cv_predictions = (
        cmd.train,
        cmd.val,
        cmd.pretrained,
        cmd.output,
        cmd.cv,
        cmd.cv_predictions,
    )
    _cli.check_paths(
        {"--train": train, "--val": val, "--pretrained": pretrained},
        {
            "-o": output,
            "--cv-predictions": cv_predictions if cv is not None else None,
            "--log": cmd.log_path,
            "the resume file": cmd.resume_path,
        },
    )
    if cmd.resume and cmd.resume_path is None and cv is None:
        raise typer.BadParameter(f"--resume needs a checkpoint file as -o, not {output}")
    out = run_train(cmd, _cli.progress)
    if cv is not None:
        mean = out.cv_mean
        log.info(
            "dt-train --cv %d: mean ROC-AUC %.4f, within-miRNA AUC %.4f -> %s",
            cv,
            mean["roc_auc"],
            mean["within_mirna_auc"],
            output,
        )
    else:
        log.info("dt-train: best epoch %d -> %s", out.best_epoch, output)


def _check(group_by, pretrained, no_pretrain, cv, cv_predictions, site_prior, val) -> None:
    """The option combinations dt-train accepts (usage errors, exit 2)."""
    if group_by not in (None, "mirna"):
        raise typer.BadParameter("--group-by takes 'mirna'")
    if pretrained is None and not no_pretrain:
        raise typer.BadParameter("give --pretrained AE.pt (from dt-pretrain) or --no-pretrain")
    if pretrained is not None and no_pretrain:
        raise typer.BadParameter("--pretrained and --no-pretrain exclude each other")
    if cv_predictions is not None and cv is None:
        raise typer.BadParameter("--cv-predictions needs --cv")
    if site_prior and cv is None and val is None:
        raise typer.BadParameter("--site-prior is fitted on the validation table: give --val")


def main() -> None:
    _cli.run(app)
