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
    "Train deepTarget (pre-trained encoders + stacked RNN) on labelled pair tables, or run K-fold "
    "cross-validation with --cv."
)


@app.command()
def command(
    train: Annotated[Optional[List[Path]], typer.Option("--train", help="Labelled pair table(s) to train on (site level).", metavar="TSV", rich_help_panel="Input")] = None,
    level: Annotated[Level, typer.Option("--level", help="site: the site network (--train); gene: the gene model (--functional, --utr), see docs/gene-model.md.")] = Level.site,
    functional: Annotated[Optional[str], typer.Option("--functional", help="--level gene: fold changes after miRNA over-expression/knockout (experiment [type] mirna_id mirna_seq mrna_id logFC).", metavar="TSV", rich_help_panel="Input")] = None,
    utr: Annotated[Optional[str], typer.Option("--utr", help="--level gene: 3'UTR FASTA of the functional table's genes.", metavar="FASTA", rich_help_panel="Input")] = None,
    pair_table: Annotated[Optional[str], typer.Option("--pair-table", help="--level gene: labelled gene-level pair table (whole UTRs), reported beside the functional figures.", metavar="TSV", rich_help_panel="Input")] = None,
    site_model: Annotated[Optional[str], typer.Option("--site-model", help="--level gene: site network for --features all and the CV's network baseline (default: the packaged one).", metavar="FILE", rich_help_panel="Input")] = None,
    features: Annotated[GeneFeatures, typer.Option("--features", help="--level gene: context (site context, no network pass; the default model) or all (adds the site network's log-odds).")] = GeneFeatures.context,
    alpha: Annotated[float, float_option("--alpha", low=0.0, low_open=True, help="--level gene: ridge penalty.")] = 100.0,
    val: Annotated[Optional[Path], typer.Option("--val", help="Labelled validation pair table (early stopping).", metavar="TSV", rich_help_panel="Input")] = None,
    pretrained: Annotated[Optional[Path], typer.Option("--pretrained", help="Autoencoder checkpoint from dt-pretrain.", metavar="AE.pt", rich_help_panel="Input")] = None,
    no_pretrain: Annotated[bool, typer.Option("--no-pretrain", help="Fresh encoders (the ablation).")] = False,
    output: Annotated[str, typer.Option("-o", "--output", help="Model checkpoint, uncompressed: a .gz name is refused (or the CV metrics TSV with --cv).", metavar="FILE", rich_help_panel="Output")] = "model.pt",
    cell: OptCell = Cell.gru,
    layers: Annotated[int, typer.Option("--layers", min=1, max=3, help="Stacked RNN layers: 1 (30), 2 (60-30), 3 (60-60-30).")] = 2,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Bidirectional stacked RNN.")] = False,
    dropout: Annotated[float, float_option("--dropout", low=0.0, high=0.9)] = 0.1,
    pairing: Annotated[bool, typer.Option("--pairing/--no-pairing", help="Add explicit base-pairing channels (miRNA nt vs CTS nt 3, 4, 5 steps on) to the stacked RNN's input; --no-pairing is the paper's network.")] = False,
    site_prior: Annotated[bool, typer.Option("--site-prior/--no-site-prior", help="After training, fit one log-odds offset per seed-match type (8mer ... none) on the validation table with the network frozen (the inner split with --cv); dt-predict adds it to the network's score.")] = False,
    cts_length: OptCtsLength = 40,
    batch_size: OptBatchSize = 50,
    epochs: OptEpochs = 10,
    lr: OptLearningRate = 1e-3,
    patience: Annotated[int, typer.Option("--patience", min=1, help="Epochs without validation gain before stopping.")] = 3,
    balance_by_mirna: Annotated[bool, typer.Option("--balance-by-mirna", help="Each epoch, give every miRNA as many positives as negatives (all of its minority label, a fresh draw of its majority label; single-label miRNAs left out): the miRNA's identity then says nothing about the label.")] = False,
    select_by: Annotated[SelectBy, typer.Option("--select-by", help="Validation metric for early stopping and the kept epoch.")] = SelectBy.roc_auc,
    cv: Annotated[Optional[int], typer.Option("--cv", min=2, max=100, help="K-fold cross-validation; writes metrics TSV to -o.")] = None,
    cv_predictions: Annotated[Optional[str], typer.Option("--cv-predictions", help="With --cv: the out-of-fold score of every pair (its table's columns minus sequences, plus fold and score) for dt-eval.", metavar="TSV")] = None,
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
    _run(**{k: v for k, v in locals().items() if k not in ("quiet", "verbose", "version", "level", "functional", "utr", "pair_table", "site_model", "features", "alpha")})


@_cli.handle_errors
def _run_gene(functional, utr, pair_table, site_model, features, alpha, cv, output, seed, threads, train, debug=False) -> None:
    from deeptarget_core import gene_training as G

    if train:
        raise typer.BadParameter("--level gene trains on --functional and --utr, not --train")
    if functional is None or utr is None:
        raise typer.BadParameter("--level gene needs --functional TSV and --utr FASTA")
    _cli.check_paths({"--functional": functional, "--utr": utr, "--pair-table": pair_table, "--site-model": site_model}, {"-o": output})
    opts = G.GeneTrainOptions(functional=functional, utr=utr, output=output, pair_table=pair_table, site_model=site_model,
                              features=features.value, alpha=alpha, cv=cv, seed=seed, threads=threads)
    with _cli.progress("gene model CV cells", total=cv * cv if cv else None) as advance:
        figures = G.train_gene_model(opts, advance)
    for name, value in figures.items():
        log.info("dt-train --level gene: %s %.4f", name, value)
    log.info("dt-train --level gene -> %s", output)


def _write_cv_predictions(path, extra: list[str], pairs, result) -> None:
    """Out-of-fold scores with ids, label and the extra columns all training tables share
    (an input column named 'fold' or 'score', e.g. dt-make-negatives' duplex score, is left
    out: the output's own columns have those names)."""
    from deeptarget_core import io

    keep = [i for i, name in enumerate(extra) if name not in ("fold", "score")]
    scores = io.format_float(result.scores)
    with io.atomic_output(path) as f:
        f.write("\t".join(["mirna_id", "mrna_id", *(extra[i] for i in keep), "label", "fold", "score"]) + "\n")
        for p, fold, score in zip(pairs, result.folds, scores):
            kept = [p.extra[i] for i in keep]
            f.write("\t".join([p.mirna_id, p.mrna_id, *kept, str(p.label), str(fold), score]) + "\n")


@_cli.handle_errors
def _run(train, val, pretrained, no_pretrain, output, cell, layers, bidirectional, dropout, pairing, site_prior, cts_length, batch_size,
         epochs, lr, patience, balance_by_mirna, select_by, cv, cv_predictions, group_by, log_file, resume, seed, device, threads, debug=False) -> None:
    import torch

    from deeptarget_core import io
    from deeptarget_core import model as M
    from deeptarget_core import train as T

    if group_by not in (None, "mirna"):
        raise typer.BadParameter("--group-by takes 'mirna'")
    if pretrained is None and not no_pretrain:
        raise typer.BadParameter("give --pretrained AE.pt (from dt-pretrain) or --no-pretrain")
    if pretrained is not None and no_pretrain:
        raise typer.BadParameter("--pretrained and --no-pretrain exclude each other")
    torch.set_num_threads(threads)
    dev = M.resolve_device(device.value)
    config = M.ModelConfig(cts_length=cts_length, cell=cell.value, layers=layers, bidirectional=bidirectional, dropout=dropout,
                           pairing_offsets=M.DEFAULT_PAIRING_OFFSETS if pairing else (), site_prior=site_prior)
    options = T.TrainOptions(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed, device=str(dev),
                             balance_by_mirna=balance_by_mirna, select_by=select_by.value)
    if cv_predictions is not None and cv is None:
        raise typer.BadParameter("--cv-predictions needs --cv")
    if site_prior and cv is None and val is None:
        raise typer.BadParameter("--site-prior is fitted on the validation table: give --val")
    # stdout or a device (/dev/null): nothing lies beside it, so no default log or resume file
    device_output = output == "-" or (Path(output).exists() and not Path(output).is_file())
    log_path = Path(log_file) if log_file else None if device_output else Path(f"{output}.log.tsv")
    _cli.check_paths(
        {"--train": train, "--val": val, "--pretrained": pretrained},
        {"-o": output, "--cv-predictions": cv_predictions if cv is not None else None,
         "--log": log_path if cv is None else None, "the resume file": None if device_output or cv is not None else f"{output}.resume"},
    )
    # Every output is checked before training: a bad path must not cost a training run.
    for path in [output, *([cv_predictions] if cv is not None and cv_predictions else []), *([log_path] if cv is None and log_path else [])]:
        io.check_output_path(path)
    tables = [io.read_pairs(t) for t in train]  # (extra column names, pairs) per table
    pairs = [p for _, table_pairs in tables for p in table_pairs]
    data = T.encode_pairs(pairs, cts_length, str(train[0]))
    if pretrained is not None:
        M.read_checkpoint(pretrained, expect_kind="autoencoders")  # fail early on a bad file

    if cv is not None:
        def report(row):
            log.info("fold %s: ROC-AUC %.4f, within-miRNA AUC %.4f, F %.4f", row["fold"], row["roc_auc"], row["within_mirna_auc"], row["f_measure"])

        result = T.cross_validate(data, cv, group_by == "mirna", config, options, pretrained, on_fold=report)
        # both tables or neither
        with io.output_group(), io.atomic_output(output) as f:
            f.write("\t".join(T.CV_COLUMNS) + "\n")
            for r in result.rows:
                f.write("\t".join(str(r["fold"]) if c == "fold" else f"{float(r[c]):.6f}" for c in T.CV_COLUMNS) + "\n")
            if cv_predictions is not None:
                shared = {tuple(names) for names, _ in tables}
                _write_cv_predictions(cv_predictions, list(shared.pop()) if len(shared) == 1 else [], pairs, result)
        mean = result.rows[-2]
        log.info("dt-train --cv %d: mean ROC-AUC %.4f, within-miRNA AUC %.4f -> %s", cv, mean["roc_auc"], mean["within_mirna_auc"], output)
        return

    val_data = T.encode_pairs(io.read_pairs(val)[1], cts_length, str(val)) if val is not None else None
    resume_path = None if device_output else Path(f"{output}.resume")
    if resume_path is None and resume:
        raise typer.BadParameter(f"--resume needs a checkpoint file as -o, not {output}")
    if resume_path is not None and not resume and resume_path.exists():
        resume_path.unlink()
    rows = []

    def on_epoch(row):
        rows.append(row)
        log.info(
            "epoch %d: train loss %.4f, val ROC-AUC %s, within-miRNA AUC %s (%.0f s)",
            row["epoch"], row["train_loss"], f"{row.get('val_roc_auc', float('nan')):.4f}",
            f"{row.get('val_within_mirna_auc', float('nan')):.4f}", row["seconds"],
        )
        if log_path is None:
            return
        with io.atomic_output(log_path) as f:
            f.write("\t".join(T.LOG_COLUMNS) + "\n")
            for r in rows:
                f.write("\t".join(f"{r.get(c, float('nan')):.6g}" for c in T.LOG_COLUMNS) + "\n")

    with _cli.progress("training", total=len(data) * epochs) as advance:
        model, history = T.train_classifier(data, val_data, config, options, pretrained, resume_path, on_epoch, advance)
    best = T.best_epoch_row(history, options.select_by)
    metrics = {"best_epoch": best["epoch"], **{k: v for k, v in best.items() if k.startswith("val_")}}
    if site_prior:
        with_prior = T.evaluate(model, val_data)
        metrics["site_prior"] = T.site_prior_summary(model.site_offsets.numpy())
        metrics.update({f"val_prior_{k}": with_prior[k] for k in ("roc_auc", "within_mirna_auc")})
        log.info("validation with the site prior: ROC-AUC %.4f, within-miRNA AUC %.4f", with_prior["roc_auc"], with_prior["within_mirna_auc"])
    digest = M.file_digest(*[p for p in train if str(p) != "-"])
    info = M.CheckpointInfo(
        kind="classifier", config=config, seed=seed, training_data_digest=digest,
        metrics=metrics,
        # no wall-clock seconds in the checkpoint: the same command and seed give the same bytes
        extra={"history": [{k: v for k, v in r.items() if k != "seconds"} for r in history], "train": [str(p) for p in train], "val": str(val) if val else None, "pretrained": bool(pretrained)},
    )
    M.save_checkpoint(output, model, info)
    if resume_path is not None:
        resume_path.unlink(missing_ok=True)
    log.info("dt-train: best epoch %d -> %s", best["epoch"], output)


def main() -> None:
    _cli.run(app)
