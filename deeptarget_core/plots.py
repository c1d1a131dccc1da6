"""Evaluation plots (PNG, matplotlib Agg backend): ROC and PR curves, score histograms by
label, confusion matrices. Several predictors share one ROC and one PR figure."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import InputError
from .metrics import confusion
from .streams import atomic_output


def pyplot():
    """matplotlib.pyplot on the Agg backend, set up for reproducible files (the one plot
    set-up of the suite: evaluation plots, functional plots and dt-explain's pictures).
    The suite draws files only: the user's ``MPLBACKEND`` (which matplotlib reads, and may
    refuse, on import) is set to Agg first, for the drawing processes too."""
    os.environ["MPLBACKEND"] = "Agg"
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "deeptarget-explain"
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["path.simplify"] = True
    return plt


def safe_name(name: str, fallback: str = "predictor", limit: int | None = None, strip: str = "_") -> str:
    """``name`` as a file-name part: runs of other characters than A-Z a-z 0-9 _ . - become
    one '_', ``strip`` characters go from both ends, at most ``limit`` characters; an empty
    result is ``fallback``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip(strip)
    return (safe if limit is None else safe[:limit]) or fallback


def save_figure(fig, path: Path) -> Path:

    # No timestamps in the metadata: the same data give the same bytes. Written atomically:
    # an interrupted run leaves no half-drawn PNG.
    try:
        with atomic_output(path, binary=True) as handle:
            fig.savefig(handle, format="png", dpi=100, metadata={"Software": None})
    finally:
        pyplot().close(fig)
    return path


def plot_roc(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], path: Path) -> Path:
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, y, s in curves:
        if len(np.unique(y)) < 2:
            continue
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(y, s):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(
        xlabel="false positive rate (1 - specificity)",
        ylabel="true positive rate (sensitivity)",
        title="ROC",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pr(curves: Sequence[tuple[str, np.ndarray, np.ndarray]], path: Path) -> Path:
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    base = None
    for name, y, s in curves:
        if len(np.unique(y)) < 2:
            continue
        prec, rec, _ = precision_recall_curve(y, s)
        ax.plot(rec, prec, label=f"{name} (AP {average_precision_score(y, s):.3f})")
        base = float(np.mean(y))
    if base is not None:
        ax.axhline(base, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.01))
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_histogram(name: str, y: np.ndarray, s: np.ndarray, path: Path, threshold: float = 0.5) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    lo, hi = float(np.min(s)), float(np.max(s))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 41)
    for label, colour in ((0, "tab:blue"), (1, "tab:red")):
        ax.hist(s[y == label], bins=bins, alpha=0.55, color=colour, label=f"label {label} (n={int(np.sum(y == label))})")
    ax.axvline(threshold, color="black", linestyle="--", linewidth=1)
    ax.set(xlabel="score", ylabel="count", title=f"{name}: scores by label")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_confusion(name: str, cm: dict[str, int], path: Path, threshold: float = 0.5) -> Path:
    plt = pyplot()
    mat = np.array([[cm["tn"], cm["fp"]], [cm["fn"], cm["tp"]]])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(mat, cmap="Blues")
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{mat[i, j]:,}", ha="center", va="center", color="black" if mat[i, j] < mat.max() / 2 else "white")
    ax.set_xticks([0, 1], ["predicted 0", "predicted 1"])
    ax.set_yticks([0, 1], ["label 0", "label 1"])
    ax.set_title(f"{name} (threshold {threshold:g})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_files(directory: str | Path, names: Sequence[str]) -> list[Path]:
    """What :func:`write_plots` draws for predictors ``names``: roc.png, pr.png (all predictors
    overlaid), then hist_<name>.png and confusion_<name>.png of each (in that order)."""
    d = Path(directory)
    each = [d / f"{kind}_{safe_name(n)}.png" for n in names for kind in ("hist", "confusion")]
    return [d / "roc.png", d / "pr.png", *each]


def write_plots(
    results: Sequence[tuple[str, np.ndarray, np.ndarray]], directory: str | Path, threshold: float = 0.5
) -> list[Path]:
    """The pictures of :func:`plot_files` in ``directory``."""

    d = Path(directory)
    if not d.parent.is_dir():
        raise InputError("parent directory of the plot directory does not exist", d.parent)
    if d.exists() and not d.is_dir():
        raise InputError("plot path exists and is not a directory", d)
    created = not d.exists()
    d.mkdir(exist_ok=True)
    files: list[Path] = []
    roc, pr, *each = plot_files(d, [name for name, _, _ in results])
    try:
        files += [plot_roc(results, roc), plot_pr(results, pr)]
        for (name, y, s), hist, conf in zip(results, each[::2], each[1::2]):
            files.append(plot_histogram(name, y, s, hist, threshold))
            files.append(plot_confusion(name, confusion(y, s, threshold), conf, threshold))
    except BaseException:
        for f in files:  # a failed run leaves no plots (and no directory it made)
            f.unlink(missing_ok=True)
        if created:
            shutil.rmtree(d, ignore_errors=True)
        raise
    return files
