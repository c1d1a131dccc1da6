"""Classification metrics: the paper's six, plus ROC-AUC, PR-AUC, MCC and within-miRNA AUC."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # the prediction tables are read by io
    from .io import Predictions

METRIC_NAMES = (
    "n",
    "n_pos",
    "accuracy",
    "sensitivity",
    "specificity",
    "f_measure",
    "ppv",
    "npv",
    "mcc",
    "roc_auc",
    "pr_auc",
)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b else float("nan")


def binary_metrics(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """Metrics of scores against 0/1 labels; a score >= threshold is called positive.

    PPV = TP/(TP+FP), NPV = TN/(TN+FN). AUCs are NaN when only one class is present.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    sens = _ratio(tp, tp + fn)
    ppv = _ratio(tp, tp + fp)
    denom = np.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    both = len(np.unique(y)) == 2
    return {
        "n": int(len(y)),
        "n_pos": int(np.sum(y == 1)),
        "accuracy": _ratio(tp + tn, len(y)),
        "sensitivity": sens,
        "specificity": _ratio(tn, tn + fp),
        "f_measure": _ratio(2 * tp, 2 * tp + fp + fn),
        "ppv": ppv,
        "npv": _ratio(tn, tn + fn),
        "mcc": float((tp * tn - fp * fn) / denom) if denom else 0.0,
        "roc_auc": float(roc_auc_score(y, s)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, s)) if both else float("nan"),
    }


def within_group_auc(
    labels: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    groups: Sequence[str],
) -> tuple[float, dict[str, float]]:
    """Probability that a positive outscores a negative of the same group (ties count 1/2).

    Returns the pooled value over all within-group (positive, negative) pairs and the AUC
    of every group that has both labels. A predictor that only looks at the group (the
    miRNA) scores exactly 0.5.
    """
    from scipy.stats import rankdata

    y = np.asarray(labels, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    wins = 0.0
    pairs = 0
    per_group: dict[str, float] = {}
    for g, idx in by_group.items():
        yi, si = y[idx], s[idx]
        n_pos = int(yi.sum())
        n_neg = len(yi) - n_pos
        if not n_pos or not n_neg:
            continue
        ranks = rankdata(si)  # average ranks handle ties as 1/2
        u = float(ranks[yi == 1].sum() - n_pos * (n_pos + 1) / 2)
        per_group[g] = u / (n_pos * n_neg)
        wins += u
        pairs += n_pos * n_neg
    return (wins / pairs if pairs else float("nan")), per_group


def confusion(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5) -> dict[str, int]:
    """TP, FP, TN, FN with ``score >= threshold`` called positive (as in binary_metrics)."""
    y = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(scores, dtype=np.float64) >= threshold
    return {
        "tp": int(np.sum(pred & (y == 1))),
        "fp": int(np.sum(pred & (y == 0))),
        "tn": int(np.sum(~pred & (y == 0))),
        "fn": int(np.sum(~pred & (y == 1))),
    }


def summarise_folds(rows: Sequence[dict[str, float]], names: Sequence[str] = METRIC_NAMES) -> dict[str, dict[str, float]]:
    """Mean, sample SD (ddof=1), min and max of each metric over cross-validation folds.

    NaN folds (e.g. an AUC of a fold with one class) are left out of that metric.
    """
    out: dict[str, dict[str, float]] = {}
    for stat in ("mean", "sd", "min", "max"):
        out[stat] = {}
    for name in names:
        vals = np.array([r[name] for r in rows if name in r], dtype=np.float64)
        vals = vals[~np.isnan(vals)]
        out["mean"][name] = float(vals.mean()) if len(vals) else float("nan")
        out["sd"][name] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
        out["min"][name] = float(vals.min()) if len(vals) else float("nan")
        out["max"][name] = float(vals.max()) if len(vals) else float("nan")
    return out


def evaluate(pred: Predictions, threshold: float = 0.5, group_by_mirna: bool = False) -> tuple[dict[str, float], dict[str, dict]]:
    """Metrics of one prediction set; with ``group_by_mirna`` also the pooled within-miRNA
    AUC and per-miRNA AUCs (miRNAs with both labels)."""
    m = binary_metrics(pred.labels, pred.scores, threshold)
    per: dict[str, dict] = {}
    if group_by_mirna:
        pooled, aucs = within_group_auc(pred.labels, pred.scores, pred.mirna_ids)
        m["within_mirna_auc"] = pooled
        m["n_mirnas_both"] = len(aucs)
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for g, y in zip(pred.mirna_ids, pred.labels.tolist()):
            counts[g][0] += 1
            counts[g][1] += y
        per = {g: {"n": counts[g][0], "n_pos": counts[g][1], "auc": a} for g, a in sorted(aucs.items())}
    return m, per


def why_undefined(m: dict[str, float], labels: np.ndarray, threshold: float) -> list[str]:
    """Why the metrics of ``m`` that are NaN could not be computed: one phrase per cause,
    naming the metrics it leaves undefined (e.g. ``roc_auc, pr_auc: all 30 rows have label 1,
    and ranking needs both labels``). Empty when every metric is defined."""
    y = np.asarray(labels)
    n, n_pos = len(y), int(np.sum(y == 1))
    one_label = f"all {n} rows have label {1 if n_pos else 0}, and ranking needs both labels"
    causes = {  # metric -> why it is undefined, when it is NaN
        "roc_auc": one_label,
        "pr_auc": one_label,
        "sensitivity": "no row has label 1",
        "specificity": "no row has label 0",
        "f_measure": "no row has label 1 and none is called a target",
        "ppv": f"no score is at or above the threshold {threshold:g} (nothing called a target)",
        "npv": f"every score is at or above the threshold {threshold:g} (nothing called a non-target)",
        "within_mirna_auc": "no miRNA has rows of both labels",
    }
    grouped: dict[str, list[str]] = {}
    for name, why in causes.items():
        value = m.get(name)
        if isinstance(value, float) and value != value:
            grouped.setdefault(why, []).append(name)
    return [f"{', '.join(names)}: {why}" for why, names in grouped.items()]


def format_metric(value: float | int) -> str:
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if value != value:  # NaN
        return "nan"
    return f"{value:.4f}"
