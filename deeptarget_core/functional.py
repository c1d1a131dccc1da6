"""Functional evaluation of gene scores (dt-eval --functional): how well scores track the
repression measured after transfecting (or knocking out) a miRNA, as the field reports it
(Agarwal 2015, McGeary 2019).

Per experiment: Spearman rho between score and repression over all genes and over the genes
with a canonical site, and the ROC-AUC of the score for the 10% most repressed genes; then
a ``mean`` row per predictor (metrics averaged over experiments, gene counts summed). Repression = -logFC after over-expression (OE), +logFC after a
knockout (KO). A gene of the experiment without a row in a prediction table (dt-predict
writes gene rows only for pairs with a site) gets that table's lowest score minus one: tied
last. The plain site count (8mer 3, 7mer-m8 2, 7mer-A1 1.5, 6mer 0.5, summed over the UTR)
is always reported beside the predictions, from a scan of the UTRs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from . import gene_features as gf
from . import sites
from .errors import InputError
from .gene_training import experiment_fingerprints, feature_frame, read_functional
from .io import finite_column, read_fasta, read_frame
from .plots import pyplot, save_figure

SITE_COUNT = "site count"
COLUMNS = ("predictor", "experiment", "genes", "spearman_all", "genes_canonical", "spearman_canonical", "auc_top10")


def _prediction_frame(path: str, name: str):

    frame = read_frame(path, ("mirna_id", "mrna_id", "score"))
    frame["score"] = finite_column(frame, "score", path)
    dup = frame.duplicated(["mirna_id", "mrna_id"])
    if dup.any():
        row = frame[dup].iloc[0]
        raise InputError(f"pair ({row['mirna_id']}, {row['mrna_id']}) appears twice", path, int(row["_line"]))
    return frame[["mirna_id", "mrna_id", "score"]].rename(columns={"score": name})


def _site_features(functional, utr_path: str):
    """Site count and canonical-site flag of every (miRNA, gene) of the functional table."""

    utrs = {r.id: r.seq for r in read_fasta(utr_path, kind="target")}
    missing = sorted(set(functional["mrna_id"]) - set(utrs))
    if missing:
        raise InputError(
            f"gene '{missing[0]}' of the functional table is not in the UTR FASTA ({len(missing)} missing)", utr_path
        )
    seqs = dict(zip(functional["mirna_id"], functional["mirna_seq"]))
    want: dict[str, set[str]] = {}
    for m, t in zip(functional["mirna_id"], functional["mrna_id"]):
        want.setdefault(m, set()).add(t)
    feats = feature_frame(seqs, {t: utrs[t] for t in functional["mrna_id"].unique()}, want)
    x = feats[list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64)
    feats[SITE_COUNT] = gf.site_count_score(x)
    feats["_canonical"] = gf.site_counts(x, sites.CANONICAL_TYPES)[0] > 0
    return feats[["mirna_id", "mrna_id", SITE_COUNT, "_canonical"]]


def evaluate_functional(functional_path: str, utr_path: str, predictions: Sequence[str], names: Sequence[str]):
    """The per-experiment table (COLUMNS) with one 'mean' row per predictor at the end, and the
    joined frame (for plots)."""
    import pandas as pd
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    fun = read_functional(functional_path)
    frame = fun.merge(_site_features(fun, utr_path), on=["mirna_id", "mrna_id"], how="left")
    for path, name in zip(predictions, names):
        pred = _prediction_frame(path, name)
        frame = frame.merge(pred, on=["mirna_id", "mrna_id"], how="left")
        if frame[name].isna().all():
            raise InputError("no (mirna_id, mrna_id) pair of the functional table is in the predictions", path)
        frame[name] = frame[name].fillna(pred[name].min() - 1.0)
    predictors = list(names) + [SITE_COUNT]
    rows = []
    for experiment, d in frame.groupby("experiment", sort=True):
        rep = d["repression"].to_numpy()
        top = rep >= np.quantile(rep, 0.9)
        canon = d["_canonical"].to_numpy(dtype=bool)
        for p in predictors:
            s = d[p].to_numpy()
            rows.append(
                {
                    "predictor": p,
                    "experiment": experiment,
                    "genes": len(d),
                    "spearman_all": spearmanr(s, rep)[0] if np.ptp(s) > 0 else np.nan,
                    "genes_canonical": int(canon.sum()),
                    "spearman_canonical": spearmanr(s[canon], rep[canon])[0]
                    if canon.sum() > 2 and np.ptp(s[canon]) > 0
                    else np.nan,
                    "auc_top10": roc_auc_score(top, s) if 0 < top.sum() < len(top) else np.nan,
                }
            )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    # mean rows: metrics averaged over experiments, gene counts summed (whole numbers stay whole)
    grouped = table.groupby("predictor", sort=False)
    means = grouped[["spearman_all", "spearman_canonical", "auc_top10"]].mean().join(grouped[["genes", "genes_canonical"]].sum())
    means = means.reset_index().assign(experiment="mean")
    table = pd.concat([table, means[list(COLUMNS)]], ignore_index=True)
    table[["genes", "genes_canonical"]] = table[["genes", "genes_canonical"]].astype("int64")
    return table, frame


def trained_on(frame, fingerprints: dict[str, str]) -> list[str]:
    """The experiments of ``frame`` (a functional table) among a gene model's training
    experiments (``GeneModel.training['trained_on']``): the same id, or the same content
    under another id."""
    known = set(fingerprints.values())
    return [e for e, digest in experiment_fingerprints(frame).items() if e in fingerprints or digest in known]


# why a per-experiment figure can be NaN
_UNDEFINED = {
    "spearman_all": "its scores are all equal there",
    "spearman_canonical": "fewer than 3 genes with a canonical site, or their scores all equal",
    "auc_top10": "the most repressed tenth cannot be told from the rest (ties)",
}


def undefined_figures(table) -> list[str]:
    """One phrase per predictor and figure that is NaN in some experiments: which, how many
    and why (the mean row averages over the others)."""
    per = table[table["experiment"] != "mean"]
    notes = []
    for predictor, d in per.groupby("predictor", sort=False):
        for column, why in _UNDEFINED.items():
            missing = d.loc[d[column].isna(), "experiment"].astype(str).tolist()
            if missing:
                shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
                rest = "; its mean is over the others" if len(missing) < len(d) else ""
                notes.append(
                    f"{predictor}: {column} cannot be computed in {len(missing)} of {len(d)} experiments ({shown}): {why}{rest}"
                )
    return notes


def plot_cdf(frame, name: str, path: Path, bins: int = 3) -> Path:
    """The classic figure: cumulative distributions of the fold change (sign-corrected: -repression,
    so repressed genes lie left) for genes without a canonical site and for tertiles of the score
    among the others, pooled over experiments."""

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    none = frame[~frame["_canonical"].astype(bool)]
    site = frame[frame["_canonical"].astype(bool)]
    groups = [("no canonical site", none)]
    if len(site):
        ranks = site.groupby("experiment")[name].rank(pct=True, method="first")
        for b in range(bins):
            lo, hi = b / bins, (b + 1) / bins
            groups.append((f"site, score tertile {b + 1}", site[(ranks > lo) & (ranks <= hi)]))
    for label, g in groups:
        if len(g):
            x = np.sort(-g["repression"].to_numpy())
            ax.plot(x, np.arange(1, len(x) + 1) / len(x), label=f"{label} (n={len(g)})")
    ax.set_xlim(-1.0, 1.0)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_xlabel("log2 fold change (knockouts sign-flipped)")
    ax.set_ylabel("cumulative fraction")
    ax.set_title(name)
    ax.legend(fontsize=7)
    return save_figure(fig, path)
