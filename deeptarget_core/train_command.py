"""dt-train's operation as a library call: :class:`TrainCommand` (typed options) ->
:func:`run_train` -> :class:`TrainOutcome`.

Owns the files dt-train writes besides the checkpoint's own format (model.py): the
cross-validation table, the out-of-fold predictions, the per-epoch training log and the
resume file's place; and the checkpoint's provenance (data digest, history, inputs). The gene
model's training (:func:`run_gene_train`) is :mod:`deeptarget_core.gene_training`'s, with its
progress. The command layer (tools/train.py) checks the option combinations and paths, calls
:func:`run_train` (or :func:`run_gene_train`) and logs the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import gene_training as G
from . import io, runtime, streams
from . import model as M
from . import train as T
from .errors import InputError
from .runtime import Progress, no_progress
from .training_resume import resume_fingerprint

log = logging.getLogger("deeptarget")


@dataclass
class TrainCommand:
    """Options of one site-level training or cross-validation run (values, not flags)."""

    train: Sequence[str | Path]
    output: str = "model.pt"
    val: str | Path | None = None
    pretrained: str | Path | None = None  # None: fresh encoders
    cts_length: int = 40
    cell: str = "gru"
    layers: int = 2
    bidirectional: bool = False
    dropout: float = 0.1
    pairing: bool = False
    site_prior: bool = False
    batch_size: int = 50
    epochs: int = 10
    lr: float = 1e-3
    patience: int = 3
    balance_by_mirna: bool = False
    select_by: str = "roc_auc"
    cv: int | None = None  # K-fold cross-validation: output is the metrics table
    cv_predictions: str | None = None
    group_by_mirna: bool = False
    log_file: str | Path | None = None  # None: OUTPUT.log.tsv beside a file output
    resume: bool = False
    seed: int = 1
    device: str = "auto"
    threads: int = 2

    @property
    def to_device(self) -> bool:
        """-o is stdout or a device (/dev/null): nothing lies beside it (no log, no resume)."""
        out = self.output
        return out == "-" or (Path(out).exists() and not Path(out).is_file())

    @property
    def log_path(self) -> Path | None:
        if self.cv is not None:
            return None
        return Path(self.log_file) if self.log_file else None if self.to_device else Path(f"{self.output}.log.tsv")

    @property
    def resume_path(self) -> Path | None:
        return None if self.to_device or self.cv is not None else Path(f"{self.output}.resume")

    def outputs(self) -> list[str | Path]:
        """Every file the run writes (checked before any training)."""
        extra = [self.cv_predictions] if self.cv is not None and self.cv_predictions else []
        resume = [self.resume_path] if self.resume_path is not None else []
        return [self.output, *extra, *([self.log_path] if self.log_path else []), *resume]


@dataclass
class TrainOutcome:
    output: str
    cv: int | None = None
    cv_mean: dict[str, float] = field(default_factory=dict)  # the CV's mean row
    best_epoch: int | None = None
    metrics: dict = field(default_factory=dict)


def run_train(cmd: TrainCommand, progress: Progress | None = None) -> TrainOutcome:
    """Train (or cross-validate) as ``cmd`` says and write every output; bad input raises
    :class:`~deeptarget_core.errors.InputError`. ``progress(description, total)``: a context
    manager giving an ``advance(n)`` callable (the tools' progress bar)."""

    dev = runtime.setup(cmd.threads, cmd.device)
    config = M.ModelConfig(
        cts_length=cmd.cts_length,
        cell=cmd.cell,
        layers=cmd.layers,
        bidirectional=cmd.bidirectional,
        dropout=cmd.dropout,
        pairing_offsets=M.DEFAULT_PAIRING_OFFSETS if cmd.pairing else (),
        site_prior=cmd.site_prior,
    )
    options = T.TrainOptions(
        epochs=cmd.epochs,
        batch_size=cmd.batch_size,
        lr=cmd.lr,
        patience=cmd.patience,
        seed=cmd.seed,
        device=str(dev),
        balance_by_mirna=cmd.balance_by_mirna,
        select_by=cmd.select_by,
    )
    # Every output is checked before training: a bad path must not cost a training run.
    for path in cmd.outputs():
        streams.check_output_path(path, binary=path == cmd.output and cmd.cv is None)  # a checkpoint
    tables = [io.read_pairs(t) for t in cmd.train]  # (extra column names, pairs) per table
    pairs = [p for _, table_pairs in tables for p in table_pairs]
    data = T.encode_pairs(pairs, cmd.cts_length, str(cmd.train[0]))
    if cmd.pretrained is not None:
        M.read_checkpoint(cmd.pretrained, expect_kind="autoencoders")  # fail early on a bad file
    if cmd.cv is not None:
        shared = {tuple(names) for names, _ in tables}
        extra = list(shared.pop()) if len(shared) == 1 else []
        return _cross_validate(cmd, data, pairs, extra, config, options)
    return _fit(cmd, data, config, options, progress)


def run_gene_train(opts, progress: Progress | None = None) -> dict[str, float]:
    """Train (or cross-validate) the gene model as ``opts``
    (:class:`~deeptarget_core.gene_training.GeneTrainOptions`) says; the figures to report."""

    streams.check_output_path(opts.output, binary=opts.cv is None)  # a checkpoint, or the CV table
    with (progress or no_progress)("gene model CV cells", opts.cv * opts.cv if opts.cv else None) as advance:
        return G.train_gene_model(opts, advance)


def _cross_validate(cmd: TrainCommand, data, pairs, extra: list[str], config, options) -> TrainOutcome:

    def report(row):
        log.info(
            "fold %s: ROC-AUC %.4f, within-miRNA AUC %.4f, F %.4f",
            row["fold"],
            row["roc_auc"],
            row["within_mirna_auc"],
            row["f_measure"],
        )

    result = T.cross_validate(data, cmd.cv, cmd.group_by_mirna, config, options, cmd.pretrained, on_fold=report)
    with streams.output_group(), streams.atomic_output(cmd.output) as f:  # both tables or neither
        f.write("\t".join(T.CV_COLUMNS) + "\n")
        for r in result.rows:
            f.write("\t".join(str(r["fold"]) if c == "fold" else f"{float(r[c]):.6f}" for c in T.CV_COLUMNS) + "\n")
        if cmd.cv_predictions is not None:
            write_cv_predictions(cmd.cv_predictions, extra, pairs, result)
    return TrainOutcome(cmd.output, cv=cmd.cv, cv_mean=result.rows[-2])


def write_cv_predictions(path, extra: list[str], pairs, result) -> None:
    """Out-of-fold scores with ids, label and the extra columns all training tables share
    (an input column named 'fold' or 'score', e.g. dt-make-negatives' duplex score, is left
    out: the output's own columns have those names)."""

    keep = [i for i, name in enumerate(extra) if name not in ("fold", "score")]
    scores = io.format_float(result.scores)
    with streams.atomic_output(path) as f:
        f.write("\t".join(["mirna_id", "mrna_id", *(extra[i] for i in keep), "label", "fold", "score"]) + "\n")
        for p, fold, score in zip(pairs, result.folds, scores):
            kept = [p.extra[i] for i in keep]
            f.write("\t".join([p.mirna_id, p.mrna_id, *kept, str(p.label), str(fold), score]) + "\n")


def _epoch_logger(log_path: Path | None) -> Callable[[list[dict]], None]:
    """Logs each epoch and rewrites the TSV training log (when there is one) from the whole
    history, so a resumed run's log holds the interrupted run's epochs too."""

    def on_epoch(history):
        row = history[-1]
        log.info(
            "epoch %d: train loss %.4f, val ROC-AUC %s, within-miRNA AUC %s (%.0f s)",
            row["epoch"],
            row["train_loss"],
            f"{row.get('val_roc_auc', float('nan')):.4f}",
            f"{row.get('val_within_mirna_auc', float('nan')):.4f}",
            row["seconds"],
        )
        if log_path is None:
            return
        with streams.atomic_output(log_path) as f:
            f.write("\t".join(T.LOG_COLUMNS) + "\n")
            for r in history:
                f.write("\t".join(f"{r.get(c, float('nan')):.6g}" for c in T.LOG_COLUMNS) + "\n")

    return on_epoch


def _run_state(cmd: TrainCommand, fingerprint: dict, epochs: int) -> M.CheckpointInfo | None:
    """Where the resume file stands before training. Without --resume an interrupted run's
    file is dropped (the run starts again). With it and no file: the finished model of this
    very run (same options, data and epochs) is returned, to be kept; any other file at -o is
    refused, so that a mistyped -o cannot replace a finished model; with no file there either
    the run starts from the beginning, saying so."""
    resume_path = cmd.resume_path
    if resume_path is None or (cmd.resume and resume_path.exists()):
        return None
    if not cmd.resume:
        if resume_path.exists():
            log.info("starting again: %s (an interrupted run's state) removed; --resume would continue it", resume_path)
            resume_path.unlink()
        return None
    output = Path(cmd.output)
    if not output.exists():
        log.warning("nothing to resume (no %s): training from the first epoch", resume_path)
        return None
    try:
        _, info = M.read_checkpoint(output, expect_kind="classifier")
    except InputError:
        info = None
    if info is not None and info.extra.get("resume_fingerprint") == {**fingerprint, "epochs": epochs}:
        log.warning("nothing to resume: %s is this run's finished model (kept as it is)", output)
        return info
    raise InputError(
        f"{{option}}: there is no {resume_path.name} to continue from, and {output.name} is "
        f"{'a model of another run' if info is not None else 'not a model of this run'}; "
        "training from scratch would replace it: give another output name, or leave out {option} to replace it",
        str(output),
        option="resume",
    )


def _fit(cmd: TrainCommand, data, config, options, progress: Progress | None) -> TrainOutcome:

    val_data = T.encode_pairs(io.read_pairs(cmd.val)[1], cmd.cts_length, str(cmd.val)) if cmd.val is not None else None
    resume_path = cmd.resume_path
    fingerprint = resume_fingerprint(config, options, data, val_data, cmd.pretrained)
    finished = _run_state(cmd, fingerprint, options.epochs)
    if finished is not None:
        return TrainOutcome(cmd.output, best_epoch=finished.metrics["best_epoch"], metrics=finished.metrics)
    with (progress or no_progress)("training", len(data) * cmd.epochs) as advance:
        model, history = T.train_classifier(
            data, val_data, config, options, cmd.pretrained, resume_path, _epoch_logger(cmd.log_path), advance
        )
    best = T.best_epoch_row(history, options.select_by)
    metrics = {"best_epoch": best["epoch"], **{k: v for k, v in best.items() if k.startswith("val_")}}
    if cmd.site_prior:
        with_prior = T.evaluate(model, val_data)
        metrics["site_prior"] = T.site_prior_summary(model.site_offsets.numpy())
        metrics.update({f"val_prior_{k}": with_prior[k] for k in ("roc_auc", "within_mirna_auc")})
        log.info(
            "validation with the site prior: ROC-AUC %.4f, within-miRNA AUC %.4f",
            with_prior["roc_auc"],
            with_prior["within_mirna_auc"],
        )
    digest = M.file_digest(*[p for p in cmd.train if str(p) != "-"])
    info = M.CheckpointInfo(
        kind="classifier",
        config=config,
        seed=cmd.seed,
        training_data_digest=digest,
        metrics=metrics,
        # no wall-clock seconds in the checkpoint: the same command and seed give the same bytes
        extra={
            "history": [{k: v for k, v in r.items() if k != "seconds"} for r in history],
            "train": [str(p) for p in cmd.train],
            "val": str(cmd.val) if cmd.val else None,
            "pretrained": bool(cmd.pretrained),
            # what a later --resume without a resume file compares: is this its finished run?
            "resume_fingerprint": {**fingerprint, "epochs": options.epochs},
        },
    )
    M.save_checkpoint(cmd.output, model, info)
    if resume_path is not None:
        resume_path.unlink(missing_ok=True)
    return TrainOutcome(cmd.output, best_epoch=best["epoch"], metrics=metrics)
