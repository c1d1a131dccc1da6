"""Metrics against hand-computed confusion matrices; within-miRNA AUC; CV summaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deeptarget_core import metrics
from deeptarget_core.baselines import IdentityBaseline


def test_metrics_match_a_hand_computed_confusion_matrix():
    # threshold 0.5: predicted positive = scores >= 0.5
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 1]
    scores = [0.9, 0.8, 0.5, 0.2, 0.7, 0.1, 0.3, 0.4, 0.6, 0.45]
    # TP: 0.9, 0.8, 0.5 -> 3; FN: 0.2, 0.45 -> 2; FP: 0.7, 0.6 -> 2; TN: 0.1, 0.3, 0.4 -> 3
    assert metrics.confusion(labels, scores) == {"tp": 3, "fp": 2, "tn": 3, "fn": 2}
    m = metrics.binary_metrics(labels, scores, 0.5)
    assert m["accuracy"] == pytest.approx(6 / 10)
    assert m["sensitivity"] == pytest.approx(3 / 5)
    assert m["specificity"] == pytest.approx(3 / 5)
    assert m["ppv"] == pytest.approx(3 / 5)
    assert m["npv"] == pytest.approx(3 / 5)
    assert m["f_measure"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 2))
    assert m["mcc"] == pytest.approx((3 * 3 - 2 * 2) / math.sqrt(5 * 5 * 5 * 5))
    # ROC-AUC by counting pairs: positives 0.9,0.8,0.5,0.2,0.45 vs negatives 0.7,0.1,0.3,0.4,0.6
    wins = sum((p > n) + 0.5 * (p == n) for p in (0.9, 0.8, 0.5, 0.2, 0.45) for n in (0.7, 0.1, 0.3, 0.4, 0.6))
    assert m["roc_auc"] == pytest.approx(wins / 25)


def test_asymmetric_matrix_and_threshold():
    labels = [1, 1, 1, 0, 0, 0, 0]
    scores = [0.95, 0.85, 0.1, 0.9, 0.2, 0.2, 0.3]
    m = metrics.binary_metrics(labels, scores, 0.8)  # TP 2, FN 1, FP 1, TN 3
    assert (m["sensitivity"], m["specificity"], m["ppv"], m["npv"]) == pytest.approx((2 / 3, 3 / 4, 2 / 3, 3 / 4))
    assert m["n"] == 7 and m["n_pos"] == 3


def test_identity_only_predictor_has_within_mirna_auc_exactly_half(tmp_path):
    rng = np.random.default_rng(0)
    mirnas = [f"miR-{i}" for i in rng.integers(0, 20, size=500)]
    rate = {m: rng.uniform(0.05, 0.95) for m in set(mirnas)}
    labels = np.array([int(rng.uniform() < rate[m]) for m in mirnas])
    train = tmp_path / "train.tsv"
    train.write_text("mirna_id\tlabel\n" + "".join(f"{m}\t{y}\n" for m, y in zip(mirnas, labels)))
    base = IdentityBaseline.fit(train)
    scores = base.score(mirnas)
    pooled, per = metrics.within_group_auc(labels, scores, mirnas)
    assert pooled == 0.5 and all(v == 0.5 for v in per.values())
    # ... while its standard ROC-AUC on the same rows is far above 0.5 (the shortcut)
    assert metrics.binary_metrics(labels, scores)["roc_auc"] > 0.7
    assert base.score(["never-seen"])[0] == pytest.approx(labels.mean())


def test_within_mirna_auc_counts_only_same_mirna_pairs():
    labels = [1, 0, 1, 0]
    scores = [0.9, 0.1, 0.2, 0.8]  # A: positive wins; B: negative wins
    pooled, per = metrics.within_group_auc(labels, scores, ["A", "A", "B", "B"])
    assert per == {"A": 1.0, "B": 0.0} and pooled == 0.5


def test_summarise_folds_mean_sd_and_nan():
    rows = [{"accuracy": 0.8, "roc_auc": 0.9}, {"accuracy": 0.6, "roc_auc": float("nan")}, {"accuracy": 0.7, "roc_auc": 0.7}]
    s = metrics.summarise_folds(rows, ["accuracy", "roc_auc"])
    assert s["mean"]["accuracy"] == pytest.approx(0.7)
    assert s["sd"]["accuracy"] == pytest.approx(0.1)
    assert s["mean"]["roc_auc"] == pytest.approx(0.8)  # NaN fold left out
    assert (s["min"]["accuracy"], s["max"]["accuracy"]) == pytest.approx((0.6, 0.8))
