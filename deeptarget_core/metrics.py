"""Classification metrics: the paper's six, plus ROC-AUC, PR-AUC, MCC and within-miRNA AUC."""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import numpy as np

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


def binary_metrics(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, threshold: float = 0.5) -> dict[str, float]:
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
