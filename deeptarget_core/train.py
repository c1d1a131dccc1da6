"""Pre-training, fine-tuning and cross-validation of the deepTarget network.

* ``pretrain_autoencoders``: the miRNA and CTS autoencoders learn to reconstruct the
  nucleotide identities (cross-entropy over A/C/G/U at every non-pad position);
  reconstruction accuracy is reported per epoch.
* ``train_classifier``: the full network (pre-trained encoders or fresh ones), Adam, log
  loss, early stopping on the validation ROC-AUC with the best weights kept, a TSV log per
  epoch, and a resume file written after every epoch so a killed run continues.
* ``fit_site_prior`` (``ModelConfig.site_prior``): after training, one log-odds offset per
  seed-match type fitted on the validation pairs with the network frozen; the per-epoch
  validation metrics (early stopping) are the network's alone.
* ``cross_validate``: stratified K folds, grouped by miRNA on request (no miRNA on both
  sides), per-fold and mean/sd metrics.

Determinism: every shuffle comes from ``numpy.random.default_rng(seed + epoch)`` and torch is
seeded; on CPU the same seed gives bit-identical weights.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.special import expit  # scipy comes with scikit-learn
from torch import nn

from .errors import InputError
from .io import Pair
from .metrics import METRIC_NAMES, binary_metrics, within_group_auc
from .model import CheckpointInfo, DeepTarget, ModelConfig, SequenceAutoencoder, read_checkpoint, save_checkpoint
from .seq import batch_slices, encode_batch
from .sites import NO_SITE_INDEX, SITE_TYPE_NAMES, best_site_types
from .training_resume import load_resume, resume_fingerprint, save_resume

log = logging.getLogger("deeptarget")
Progress = Callable[[int], None]


@dataclass
class PairData:
    """Encoded pairs: miRNA codes (n, L) 5'->3', CTS codes (n, L) 5'->3', labels, groups,
    and each pair's best seed-match type (index into sites.SITE_TYPES, NO_SITE_INDEX = none)."""

    mirna: np.ndarray
    cts: np.ndarray
    labels: np.ndarray
    groups: list[str]
    site_type: np.ndarray
    source: str = ""  # the table the pairs came from (for error messages)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, idx: np.ndarray) -> "PairData":
        return PairData(
            self.mirna[idx], self.cts[idx], self.labels[idx], [self.groups[i] for i in idx], self.site_type[idx], self.source
        )


def encode_pairs(pairs: Sequence[Pair], cts_length: int, path: str = "") -> PairData:
    """Pairs with labels -> tensors. CTSs longer than ``cts_length`` keep their 3' end region
    (the seed side: cut from the 5' end), shorter ones are N-padded on the 5' side, so the
    seed stays near the window's 3' end as in dt-scan-cts windows."""
    if not pairs:
        raise InputError("no pairs to train on", path)
    missing = [p for p in pairs if p.label is None]
    if missing:
        raise InputError("a training table needs a label column (0/1)", path, missing[0].line)
    cts = [p.mrna_seq[-cts_length:].rjust(cts_length, "N") for p in pairs]
    mirnas = [p.mirna_seq for p in pairs]
    return PairData(
        mirna=encode_batch(mirnas, cts_length),
        cts=encode_batch(cts, cts_length),
        labels=np.array([p.label for p in pairs], dtype=np.int64),
        groups=mirnas,
        site_type=best_site_types(mirnas, cts, cts_length)[0],
        source=path,
    )


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def _batches(n: int, batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    return [order[b] for b in batch_slices(n, batch_size)]


# --------------------------------------------------------------------------- pre-training


@dataclass
class PretrainResult:
    mirna_ae: SequenceAutoencoder
    cts_ae: SequenceAutoencoder
    history: list[dict[str, float]] = field(default_factory=list)


def _reconstruction_step(ae: SequenceAutoencoder, codes: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    logits = ae(codes)
    target = codes.long() - 1  # A/C/G/U -> 0..3, pad -> -1 (ignored)
    loss = nn.functional.cross_entropy(logits.reshape(-1, 4), target.reshape(-1), ignore_index=-1)
    mask = target >= 0
    correct = int((logits.argmax(-1) == target)[mask].sum())
    return loss, correct, int(mask.sum())


def pretrain_autoencoders(
    mirna_seqs: Sequence[str],
    cts_seqs: Sequence[str],
    config: ModelConfig,
    epochs: int = 5,
    batch_size: int = 50,
    lr: float = 1e-2,
    seed: int = 1,
    device: torch.device | str = "cpu",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> PretrainResult:
    """Train both autoencoders to reconstruct their inputs (unsupervised; labels unused)."""
    _seed_all(seed)
    L = config.cts_length
    data = {
        "mirna": torch.from_numpy(encode_batch(sorted(set(mirna_seqs)), L)),
        "cts": torch.from_numpy(encode_batch([s[-L:].rjust(L, "N") for s in sorted(set(cts_seqs))], L)),
    }
    aes = {"mirna": SequenceAutoencoder(config).to(device), "cts": SequenceAutoencoder(config).to(device)}
    opts = {k: torch.optim.Adam(ae.parameters(), lr=lr) for k, ae in aes.items()}
    history = []
    for epoch in range(1, epochs + 1):
        row: dict[str, float] = {"epoch": epoch}
        for k, ae in aes.items():
            ae.train()
            rng = np.random.default_rng(seed * 1000 + epoch)
            total_loss, correct, count = 0.0, 0, 0
            for idx in _batches(len(data[k]), batch_size, rng):
                codes = data[k][idx].to(device)
                loss, c, n = _reconstruction_step(ae, codes)
                opts[k].zero_grad()
                loss.backward()
                opts[k].step()
                total_loss += loss.item() * len(idx)
                correct += c
                count += n
            row[f"{k}_loss"] = total_loss / max(len(data[k]), 1)
            row[f"{k}_accuracy"] = correct / max(count, 1)
        history.append(row)
        if on_epoch:
            on_epoch(row)
    return PretrainResult(aes["mirna"].cpu().eval(), aes["cts"].cpu().eval(), history)


def save_pretrained(path: str | Path, result: PretrainResult, config: ModelConfig, seed: int, digest: str | None) -> None:
    holder = nn.ModuleDict({"mirna_ae": result.mirna_ae, "cts_ae": result.cts_ae})
    info = CheckpointInfo(
        kind="autoencoders", config=config, seed=seed, training_data_digest=digest, metrics={"history": result.history}
    )
    save_checkpoint(path, holder, info)


def load_pretrained_into(model: DeepTarget, path: str | Path) -> None:
    state, info = read_checkpoint(path, expect_kind="autoencoders")
    if (info.config.embedding_dim, info.config.encoder_hidden, info.config.cell) != (
        model.config.embedding_dim,
        model.config.encoder_hidden,
        model.config.cell,
    ):
        raise InputError(
            f"pre-trained autoencoders are {info.config.cell}/{info.config.encoder_hidden} units; "
            f"the network asks for {model.config.cell}/{model.config.encoder_hidden}",
            str(path),
        )
    try:
        model.mirna_ae.load_state_dict({k[len("mirna_ae.") :]: v for k, v in state.items() if k.startswith("mirna_ae.")})
        model.cts_ae.load_state_dict({k[len("cts_ae.") :]: v for k, v in state.items() if k.startswith("cts_ae.")})
    except RuntimeError as exc:
        raise InputError("pre-trained autoencoder weights do not fit the network", str(path)) from exc


# --------------------------------------------------------------------------- fine-tuning


@torch.no_grad()
def target_logits(model: DeepTarget, data: PairData, batch_size: int = 4096, device: torch.device | str = "cpu") -> np.ndarray:
    """(n,) log-odds of 'target' (with the model's site-type offsets, if it has them)."""
    model.eval()
    out = np.empty(len(data), dtype=np.float64)
    for b in batch_slices(len(data), batch_size):
        m = torch.from_numpy(data.mirna[b]).to(device)
        c = torch.from_numpy(data.cts[b]).to(device)
        t = torch.from_numpy(data.site_type[b]).to(device)
        out[b] = model.target_logit(model(m, c), t).double().cpu().numpy()
    return out


def predict_scores(model: DeepTarget, data: PairData, batch_size: int = 4096, device: torch.device | str = "cpu") -> np.ndarray:
    """(n,) P(target)."""
    return expit(target_logits(model, data, batch_size, device))


def fit_site_offsets(logits: np.ndarray, site_type: np.ndarray, labels: np.ndarray, l2: float = 1e-5) -> np.ndarray:
    """Per-site-type offsets b minimising the log loss of sigmoid(logit + b[type]) with the
    network's logits fixed (a logistic regression with the logit as offset). A weak L2 pull
    towards 0 keeps a rare type's offset finite (one with a single label would run off to
    infinity); a type absent from the data keeps 0. Deterministic (LBFGS)."""
    b = torch.zeros(NO_SITE_INDEX + 1, dtype=torch.float64, requires_grad=True)
    z = torch.as_tensor(logits, dtype=torch.float64)
    t = torch.as_tensor(site_type, dtype=torch.long)
    y = torch.as_tensor(labels, dtype=torch.float64)
    opt = torch.optim.LBFGS([b], max_iter=500, tolerance_grad=1e-10, tolerance_change=1e-12, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(z + b[t], y) + l2 * (b**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return b.detach().numpy().copy()


def site_prior_summary(offsets: np.ndarray) -> dict[str, float]:
    """Offsets by site-type name (checkpoint metrics, logs)."""
    return {name: round(float(v), 6) for name, v in zip(SITE_TYPE_NAMES, offsets)}


def evaluate(model: DeepTarget, data: PairData, device: torch.device | str = "cpu") -> dict[str, float]:
    scores = predict_scores(model, data, device=device)
    metrics = binary_metrics(data.labels, scores)
    metrics["within_mirna_auc"] = within_group_auc(data.labels, scores, data.groups)[0]
    return metrics


@dataclass
class TrainOptions:
    epochs: int = 10
    batch_size: int = 50
    lr: float = 1e-3
    patience: int = 3
    seed: int = 1
    device: str = "cpu"
    balance_by_mirna: bool = False  # see MirnaBalancer
    select_by: str = "roc_auc"  # validation metric for early stopping / the kept epoch

    def __post_init__(self) -> None:
        if self.select_by not in SELECT_METRICS:
            raise ValueError(f"select_by must be one of {SELECT_METRICS}")


SELECT_METRICS = ("roc_auc", "within_mirna_auc")


class MirnaBalancer:
    """Per-epoch training subsets in which every miRNA has as many positives as negatives.

    Public pair pools are far from balanced per miRNA (in the miRAW pool half of the pairs
    belong to miRNAs with under 20% or over 80% positives), so the miRNA's identity alone
    predicts the label and a network learns that shortcut instead of the site. Each epoch
    keeps all pairs of a miRNA's minority label and draws as many of its majority label
    afresh (seeded), so over the epochs every pair is seen while in each one the identity says
    nothing about the label. miRNAs with one label only are left out: they can teach nothing
    but the shortcut. (Loss weights would do the same in expectation, but a miRNA with 1
    positive and 400 negatives gives that positive weight 200, which derails Adam.)"""

    def __init__(self, labels: np.ndarray, groups: Sequence[str], source: str = ""):
        labels = np.asarray(labels)
        order: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            order.setdefault(g, []).append(i)
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []  # (minority, majority) indices
        for members in order.values():
            idx = np.array(members)
            pos, neg = idx[labels[idx] == 1], idx[labels[idx] == 0]
            if len(pos) and len(neg):
                self._pairs.append((pos, neg) if len(pos) <= len(neg) else (neg, pos))
        if not self._pairs:
            raise InputError(
                "balancing by miRNA needs at least one miRNA with both labels in the training table "
                "(mock-miRNA negatives give each mock its own sequence: add real-miRNA negatives)",
                source or None,
            )

    def epoch(self, rng: np.random.Generator) -> np.ndarray:
        """Sorted indices of this epoch's balanced subset."""
        parts = []
        for minority, majority in self._pairs:
            parts.append(minority)
            parts.append(majority if len(majority) == len(minority) else rng.choice(majority, len(minority), replace=False))
        return np.sort(np.concatenate(parts))


def selection_score(row: dict[str, float], select_by: str) -> float:
    """What early stopping maximises for one epoch's log row: the chosen validation metric
    (ROC-AUC when it is undefined, e.g. no validation miRNA with both labels), or minus the
    training loss without a validation table."""
    if "val_roc_auc" not in row:
        return -row["train_loss"]
    score = row.get(f"val_{select_by}", math.nan)
    return row["val_roc_auc"] if math.isnan(score) else score


def best_epoch_row(history: Sequence[dict[str, float]], select_by: str) -> dict[str, float]:
    """The log row of the epoch whose weights train_classifier kept (first of equals)."""
    return max(history, key=lambda r: selection_score(r, select_by))


LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "val_roc_auc", "val_within_mirna_auc", "val_accuracy", "seconds")


def train_classifier(
    train: PairData,
    val: PairData | None,
    config: ModelConfig,
    options: TrainOptions,
    pretrained: str | Path | None = None,
    resume_path: str | Path | None = None,
    on_epoch: Callable[[list[dict[str, float]]], None] | None = None,
    progress: Progress | None = None,
) -> tuple[DeepTarget, list[dict[str, float]]]:
    """Fine-tune end to end; returns the best model (by the validation metric ``options.select_by``),
    with its site-type prior fitted on ``val`` when the config asks for one, and the log.
    ``on_epoch(history)`` after each epoch: the log so far (a resumed run's earlier epochs too).
    With ``resume_path``, the state after each epoch is written there, and read back first when
    the file exists (see :mod:`~deeptarget_core.training_resume` for why that is exact)."""
    if config.site_prior:
        _check_prior_data(val)
    _seed_all(options.seed)
    device = torch.device(options.device)
    model = DeepTarget(config)
    if pretrained is not None:
        load_pretrained_into(model, pretrained)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=options.lr)
    history: list[dict[str, float]] = []
    best_auc, best_state, start_epoch, stale = -math.inf, None, 1, 0
    fingerprint = resume_fingerprint(config, options, train, val, pretrained)
    if resume_path is not None and Path(resume_path).exists():
        history, best_state, best_auc, stale = load_resume(resume_path, fingerprint, model, opt, options.epochs)
        start_epoch = len(history) + 1
    balancer = MirnaBalancer(train.labels, train.groups, train.source) if options.balance_by_mirna else None
    for epoch in range(start_epoch, options.epochs + 1):
        if stale >= options.patience:
            break
        t0 = time.perf_counter()
        rng = np.random.default_rng(options.seed * 1000 + epoch)
        subset = balancer.epoch(rng) if balancer is not None else np.arange(len(train))
        row: dict[str, float] = {"epoch": epoch, "train_loss": _train_epoch(model, opt, train, subset, options, rng, progress)}
        if not math.isfinite(row["train_loss"]):
            raise InputError(
                f"training diverged in epoch {epoch} (training loss {row['train_loss']}): lower the learning rate",
                train.source or None,
            )
        if val is not None:
            row.update(_validation_metrics(model, val, device))
        score = selection_score(row, options.select_by)
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        if score > best_auc:
            best_auc, stale = score, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
        if on_epoch:
            on_epoch(history)
        if resume_path is not None:
            save_resume(resume_path, model, best_state, opt, history, best_auc, stale, config, options, fingerprint)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.cpu().eval()
    if config.site_prior:
        fit_site_prior(model, val)
    return model, history


def _check_prior_data(val: PairData | None) -> None:
    """The site-type prior is fitted on validation pairs of both labels."""
    if val is None:
        raise InputError("the site-type prior is fitted on validation pairs: give a validation table")
    if len(np.unique(val.labels)) < 2:
        raise InputError(
            f"the site-type prior is fitted on the validation pairs, which all have label {int(val.labels[0]) if len(val) else '-'}: "
            "its offsets would only learn that label; give a validation table with both labels",
            val.source or None,
        )


def _train_epoch(model: DeepTarget, opt, train: PairData, subset: np.ndarray, options: TrainOptions, rng, progress) -> float:
    """One pass over ``subset`` of the training pairs in shuffled batches; the mean loss."""
    device = torch.device(options.device)
    model.train()
    total = 0.0
    for batch in _batches(len(subset), options.batch_size, rng):
        idx = subset[batch]
        m = torch.from_numpy(train.mirna[idx]).to(device)
        c = torch.from_numpy(train.cts[idx]).to(device)
        y = torch.from_numpy(train.labels[idx]).to(device)
        loss = nn.functional.cross_entropy(model(m, c), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        if progress:
            progress(len(idx))
    return total / len(subset)


def _validation_metrics(model: DeepTarget, val: PairData, device) -> dict[str, float]:
    """An epoch's validation columns of the training log."""
    scores = predict_scores(model, val, device=device)
    p = np.clip(scores, 1e-7, 1 - 1e-7)
    metrics = binary_metrics(val.labels, scores)
    return {
        "val_loss": float(-np.mean(val.labels * np.log(p) + (1 - val.labels) * np.log(1 - p))),
        "val_roc_auc": metrics["roc_auc"],
        "val_within_mirna_auc": within_group_auc(val.labels, scores, val.groups)[0],
        "val_accuracy": metrics["accuracy"],
    }


def fit_site_prior(model: DeepTarget, val: PairData) -> None:
    """Fit the model's site-type offsets on the validation pairs (network frozen)."""
    model.site_offsets.zero_()
    offsets = fit_site_offsets(target_logits(model, val), val.site_type, val.labels)
    model.site_offsets.copy_(torch.from_numpy(offsets).to(model.site_offsets.dtype))
    log.info("site-type prior: %s", ", ".join(f"{k} {v:+.2f}" for k, v in site_prior_summary(offsets).items()))


# --------------------------------------------------------------------------- cross-validation


def cv_folds(data: PairData, k: int, group_by_mirna: bool, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) index pairs of a stratified K-fold split, grouped on request (no group on
    both sides). The one fold maker of dt-train --cv and of the workflow's cv_folds rule; it reads
    only ``data.labels``, ``data.groups`` and ``len(data)``."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if group_by_mirna:
        if len(set(data.groups)) < k:
            raise InputError(f"{k}-fold cross-validation grouped by miRNA needs at least {k} distinct miRNAs")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(data)), data.labels, groups=data.groups))
    if np.bincount(data.labels, minlength=2).min() < k:
        raise InputError(f"{k}-fold cross-validation needs at least {k} pairs of each label")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(data)), data.labels))


def holdout_split(data: PairData, group_by_mirna: bool, seed: int, fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A seeded ~10% early-stopping split of a fold's training part (grouped on request).

    Works for any number of miRNAs/pairs (small folds included): at least one group or pair
    is held out, never all of them."""
    rng = np.random.default_rng(seed)
    n = len(data)
    if group_by_mirna:
        groups = np.array(sorted(set(data.groups)))
        if len(groups) < 2:
            raise InputError("grouped cross-validation needs at least 2 miRNAs in every fold's training part")
        held = set(rng.permutation(groups)[: max(1, int(round(fraction * len(groups))))].tolist())
        mask = np.array([g in held for g in data.groups])
    else:
        if n < 2:
            raise InputError("cross-validation needs at least 2 pairs in every fold's training part")
        mask = np.zeros(n, dtype=bool)
        mask[rng.permutation(n)[: max(1, int(round(fraction * n)))]] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


CV_COLUMNS = ("fold",) + METRIC_NAMES + ("within_mirna_auc",)


@dataclass
class CVResult:
    """Per-fold metric rows (then 'mean' and 'sd') and the out-of-fold score of every pair."""

    rows: list[dict[str, float | str]]
    scores: np.ndarray  # (n,) P(target) from the fold that held the pair out
    folds: np.ndarray  # (n,) 1-based fold number


def cross_validate(
    data: PairData,
    k: int,
    group_by_mirna: bool,
    config: ModelConfig,
    options: TrainOptions,
    pretrained: str | Path | None = None,
    on_fold: Callable[[dict[str, float]], None] | None = None,
) -> CVResult:
    """K-fold CV: each fold trains on K-1 parts (early stopping on a grouped 10% inner split)
    and is scored on the held-out part."""
    rows: list[dict[str, float | str]] = []
    scores = np.full(len(data), np.nan)
    folds = np.zeros(len(data), dtype=np.int64)
    splits = cv_folds(data, k, group_by_mirna, options.seed)
    one_label = [i for i, (_, te) in enumerate(splits, start=1) if len(np.unique(data.labels[te])) < 2]
    if one_label:  # refused before any training: a "mean" over the other folds would mislead
        raise InputError(
            f"{k}-fold cross-validation{' grouped by miRNA' if group_by_mirna else ''}: {len(one_label)} of {k} held-out folds "
            f"(fold {', '.join(map(str, one_label[:5]))}{' ...' if len(one_label) > 5 else ''}) hold only one label, so their "
            f"ROC-AUC is undefined and a mean would cover {k - len(one_label)} folds; use fewer folds or more miRNAs",
            data.source or None,
        )
    for i, (tr, te) in enumerate(splits, start=1):
        fit_idx, stop_idx = holdout_split(data.subset(tr), group_by_mirna, options.seed + i)
        fit, stop = tr[fit_idx], tr[stop_idx]
        model, _ = train_classifier(data.subset(fit), data.subset(stop), config, options, pretrained)
        held = data.subset(te)
        scores[te] = predict_scores(model, held, device=options.device)
        folds[te] = i
        metrics = binary_metrics(held.labels, scores[te])
        metrics["within_mirna_auc"] = within_group_auc(held.labels, scores[te], held.groups)[0]
        row: dict[str, float | str] = {"fold": str(i), **{m: metrics[m] for m in CV_COLUMNS[1:]}}
        rows.append(row)
        if on_fold:
            on_fold(row)
    for name, fn in (("mean", np.nanmean), ("sd", lambda v: np.nanstd(v, ddof=1) if len(v) > 1 else 0.0)):
        with warnings.catch_warnings():  # a metric undefined in every fold is NaN, not a warning on stderr
            warnings.simplefilter("ignore", RuntimeWarning)
            rows.append({"fold": name, **{m: float(fn(np.array([r[m] for r in rows[:k]], dtype=float))) for m in CV_COLUMNS[1:]}})
    return CVResult(rows, scores, folds)
