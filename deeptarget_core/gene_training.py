"""Training tables and grouped cross-validation of the gene model (dt-train --level gene).

Tables are pandas DataFrames, one row per (miRNA, gene) or (experiment, gene), with the
FEATURE_NAMES columns of :mod:`deeptarget_core.gene_features`:

* functional: ``experiment type mirna_id mirna_seq mrna_id logFC`` rows joined with the
  features of (miRNA, UTR) and ``repression`` (-logFC after over-expression, +logFC after a
  knockout);
* labelled pairs: ``mirna_id mirna_seq mrna_id mrna_seq label`` gene-level pair tables (the
  UTR is in the row), used to report the within-miRNA AUC beside the functional figures.

Cross-validation is grouped by miRNA seed family (nt 2-8) AND by gene: families and genes are
dealt into K folds each, and each of the K x K cells (family fold i, gene fold j) is predicted
by a model trained on the pairs of neither family fold i nor gene fold j, so no seed family
and no UTR is on both sides (issue 14: single grouping flattered the site-level proxies).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import gene_features as gf
from . import gene_model as gm
from . import sites
from .errors import InputError
from .gene_affinity import site_table
from .io import finite_column, read_fasta, read_frame, read_pairs
from .metrics import within_group_auc
from .scorers import SEED_MATCH_SCORES, make_scorer
from .seq import SEED, normalise
from .streams import atomic_output

log = logging.getLogger("deeptarget")

FUNCTIONAL_COLUMNS = ("experiment", "mirna_id", "mirna_seq", "mrna_id", "logFC")


def read_functional(path: str | Path):
    """A functional table (experiment, [type,] mirna_id, mirna_seq, mrna_id, logFC): logFC
    must be a finite decimal number; ``type`` OE (default) or KO."""

    frame = read_frame(path, FUNCTIONAL_COLUMNS)
    frame["logFC"] = finite_column(frame, "logFC", path)
    if "type" not in frame:
        frame["type"] = "OE"
    bad = ~frame["type"].isin(["OE", "KO"])
    if bad.any():
        row = frame[bad].iloc[0]
        raise InputError(f"type '{row['type']}' must be OE (over-expression) or KO (knockout)", str(path), int(row["_line"]))
    frame["mirna_seq"] = [normalise(s) for s in frame["mirna_seq"]]
    frame["repression"] = gm.repression(frame["logFC"].to_numpy(), frame["type"].to_numpy())
    return frame


def experiment_fingerprints(frame) -> dict[str, str]:
    """Each experiment of a functional table by its id: a digest of its miRNA sequences and
    (gene, logFC) rows, so that a copy of an experiment under another id is known too. A gene
    model records those it was trained on; dt-eval --functional compares."""
    out = {}
    for experiment, d in frame.groupby("experiment", sort=True):
        h = hashlib.sha256("\t".join(sorted(set(d["mirna_seq"]))).encode())
        for gene, fc in sorted(zip(d["mrna_id"], d["logFC"])):
            h.update(f"\n{gene}\t{float(fc)!r}".encode())
        out[str(experiment)] = h.hexdigest()[:16]
    return out


def feature_frame(
    mirna_seqs: dict[str, str],
    utrs: dict[str, str],
    pairs: dict[str, set[str]] | None = None,
    site_scorer=None,
    cts_length: int = sites.DEFAULT_CTS_LENGTH,
):
    """Features of (miRNA, UTR) pairs: all UTRs for each miRNA, or only ``pairs``."""
    import pandas as pd

    frames = []
    mirnas = [sites.Mirna(m, s) for m, s in mirna_seqs.items()]
    for chunk in sites.iter_target_chunks(list(utrs.items()), cts_length=cts_length):
        index = {t: i for i, t in enumerate(chunk.ids)}
        scanner = sites.SiteScanner(mirnas, cts_length=cts_length, relaxed=True, pairs=pairs)
        for mid, _block, _p, feats in gf.score_chunk(scanner, chunk, mirna_seqs, site_scorer):
            ids = chunk.ids if pairs is None else [t for t in chunk.ids if t in pairs.get(mid, ())]
            ix = [index[t] for t in ids]
            frame = pd.DataFrame(feats[ix], columns=gf.FEATURE_NAMES)
            frame.insert(0, "mrna_id", ids)
            frame.insert(0, "mirna_id", mid)
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["mirna_id", "mrna_id", *gf.FEATURE_NAMES])


def functional_table(functional_path: str | Path, utr_path: str | Path, site_scorer=None):
    """The functional rows joined with their pair features; genes without a UTR in the FASTA
    are dropped (and counted in the log)."""
    fun = read_functional(functional_path)
    utrs = {r.id: r.seq for r in read_fasta(utr_path, kind="target")}
    known = fun["mrna_id"].isin(utrs)
    if not known.any():
        raise InputError(f"no gene of the functional table has a UTR in {utr_path}", str(functional_path))
    if (~known).any():
        log.info("gene model: %d functional rows without a UTR in %s are left out", int((~known).sum()), utr_path)
    fun = fun[known]
    seqs = dict(zip(fun["mirna_id"], fun["mirna_seq"]))
    feats = feature_frame(seqs, {t: utrs[t] for t in fun["mrna_id"].unique()}, None, site_scorer)
    return fun.merge(feats, on=["mirna_id", "mrna_id"], how="inner")


def sites_of(frame, utr_path: str | Path | None = None, utrs: dict[str, str] | None = None):
    """The canonical sites (gene_affinity.SiteTable) of a feature table's (mirna_id, mrna_id)
    pairs, for the occupancy model; the UTRs from ``utrs`` or the FASTA ``utr_path``."""

    if utrs is None:
        utrs = {r.id: r.seq for r in read_fasta(utr_path, kind="target")}
    seqs = dict(zip(frame["mirna_id"], frame["mirna_seq"]))
    want: dict[str, set[str]] = {}
    for m, t in zip(frame["mirna_id"], frame["mrna_id"]):
        want.setdefault(m, set()).add(t)
    return site_table(seqs, {t: utrs[t] for t in frame["mrna_id"].unique() if t in utrs}, want)


def occupancy_of(model: gm.GeneModel, sites, frame) -> np.ndarray | None:
    """Each row's ``k log(1 + a0 S)`` under an occupancy model (None for a ridge model)."""
    if model.occupancy is None:
        return None
    per_pair = model.occupancy.occupancy(sites.design, sites.pair, len(sites.keys))
    index = {k: i for i, k in enumerate(sites.keys)}
    at = np.array([index.get(k, -1) for k in zip(frame["mirna_id"], frame["mrna_id"])], dtype=np.int64)
    return np.where(at >= 0, per_pair[np.maximum(at, 0)], 0.0)


def fit_model(train, features, alpha: float, sites=None) -> gm.GeneModel:
    """``features`` "occupancy" (with ``sites``): gene_model.fit_occupancy; else the ridge."""
    if isinstance(features, str) and features == "occupancy":
        return gm.fit_occupancy(train, sites)
    return gm.fit(train, features, alpha)


def pair_table(pairs_path: str | Path, site_scorer=None):
    """A labelled gene-level pair table with the features of each row's (miRNA, UTR)."""

    _extra, rows = read_pairs(pairs_path)
    import pandas as pd

    frame = pd.DataFrame(
        [(p.mirna_id, p.mirna_seq, p.mrna_id, p.label) for p in rows], columns=["mirna_id", "mirna_seq", "mrna_id", "label"]
    )
    if frame["label"].isna().any():
        raise InputError("a labelled pair table is needed (label column 0/1)", str(pairs_path))
    seqs = dict(zip(frame["mirna_id"], frame["mirna_seq"]))
    utrs = {p.mrna_id: p.mrna_seq for p in rows}
    want: dict[str, set[str]] = {}
    for m, t in zip(frame["mirna_id"], frame["mrna_id"]):
        want.setdefault(m, set()).add(t)
    feats = feature_frame(seqs, utrs, want, site_scorer)
    out = frame.merge(feats, on=["mirna_id", "mrna_id"], how="left")
    out.attrs["utrs"] = utrs  # for sites_of (the pair table carries its UTRs)
    return out


# --------------------------------------------------------------------------- evaluation


def site_count(frame) -> np.ndarray:
    return gf.site_count_score(frame[list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64))


def seed_match(frame) -> np.ndarray:
    """dt-predict --model seed-match's gene score: the best canonical site type's score."""

    _n, best = gf.site_counts(frame[list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64), sites.CANONICAL_TYPES)
    table = np.array([SEED_MATCH_SCORES[t] for t in sites.SITE_TYPE_NAMES])
    return table[best]


def functional_metrics(frame, scores: np.ndarray) -> dict[str, float]:
    """Mean over experiments of Spearman(score, repression): all genes and genes with a canonical site."""
    from scipy.stats import spearmanr

    f = frame.assign(_s=scores)

    def mean_rho(d) -> float:
        rhos = [spearmanr(g["_s"], g["repression"])[0] for _, g in d.groupby("experiment") if g["_s"].nunique() > 1]
        return float(np.mean(rhos)) if rhos else float("nan")

    return {"functional_all": mean_rho(f), "functional_canonical": mean_rho(f[f["any_canonical"] > 0])}


def pair_metrics(frame, scores: np.ndarray) -> dict[str, float]:

    return {"pairs_within_mirna_auc": within_group_auc(frame["label"].astype(int), scores, frame["mirna_id"].tolist())[0]}


def fold_of(keys: Sequence[str], k: int, seed: int) -> dict[str, int]:
    """Deal the distinct keys into k folds at random (seeded), sizes differing by at most one."""
    uniq = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(uniq))
    return {uniq[i]: int(r % k) for r, i in enumerate(order)}


def grouped_cv(
    functional,
    pairs=None,
    k: int = 5,
    seed: int = 1,
    feature_sets: dict[str, Sequence[str]] | None = None,
    alpha: float = gm.DEFAULT_ALPHA,
    progress: Callable[[int], None] | None = None,
    with_network: bool = False,
    sites: Sequence | None = None,
):
    """K x K cross-validation grouped by seed family and gene. Returns a DataFrame, one row per
    predictor (the gene model per feature set, the site count, seed-match and the network's
    best site when ``with_network``: the tables were built with a site scorer), with the
    functional and (when ``pairs`` is given) labelled-pair metrics."""
    import pandas as pd

    if k < 2:
        raise InputError("cross-validation needs at least 2 folds")
    feature_sets = feature_sets or {"gene model": gm.CONTEXT_FEATURES}
    tables = [functional] + ([pairs] if pairs is not None else [])
    families = fold_of([s[SEED] for t in tables for s in t["mirna_seq"]], k, seed)
    genes = fold_of([g for t in tables for g in t["mrna_id"]], k, seed + 1)
    n_fam = len(set(families))
    if n_fam < k:
        raise InputError(
            f"{k}-fold cross-validation: the functional and pair tables hold only {n_fam} seed families; use fewer folds"
        )
    ff = [t["mirna_seq"].str[SEED].map(families).to_numpy() for t in tables]
    gg = [t["mrna_id"].map(genes).to_numpy() for t in tables]
    preds = {name: [np.zeros(len(t)) for t in tables] for name in feature_sets}
    for i in range(k):
        for j in range(k):
            train = functional[(ff[0] != i) & (gg[0] != j)]
            if train["any_canonical"].sum() < 10:
                continue
            for name, feats in feature_sets.items():
                model = fit_model(train, feats, alpha, sites[0] if sites else None)
                for t, table in enumerate(tables):
                    cell = (ff[t] == i) & (gg[t] == j)
                    if cell.any():
                        # minus the floor: pairs without a canonical site score 0 whichever
                        # cell's model scored them (each model's floor is its own training rate)
                        x = table.loc[cell, list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64)
                        occ = occupancy_of(model, sites[t], table[cell]) if model.occupancy is not None else None
                        preds[name][t][cell] = model.score(x, occ) - model.floor
            if progress:
                progress(1)
    rows = []
    predictors = {name: p for name, p in preds.items()}
    predictors["site count (8mer 3, 7mer-m8 2, 7mer-A1 1.5, 6mer 0.5)"] = [site_count(t) for t in tables]
    predictors["seed-match (best canonical site type)"] = [seed_match(t) for t in tables]
    if with_network:  # the tables hold the site network's log-odds
        predictors["site network, best canonical site"] = [t["best_canonical_logit"].to_numpy() for t in tables]
    for name, p in predictors.items():
        row = {"predictor": name, **functional_metrics(functional, p[0])}
        if pairs is not None:
            row.update(pair_metrics(pairs, p[1]))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the command


@dataclass
class GeneTrainOptions:
    """dt-train --level gene, as typed values."""

    functional: str
    utr: str
    output: str
    pair_table: str | None = None
    site_model: str | None = None  # checkpoint for the network features (None = packaged)
    features: str = "context"  # a key of gene_model.FEATURE_SETS (context: the occupancy form)
    alpha: float = gm.DEFAULT_ALPHA
    cv: int | None = None
    seed: int = 1
    threads: int = 1


CV_TABLE_COLUMNS = ("predictor", "functional_all", "functional_canonical", "pairs_within_mirna_auc")


def train_gene_model(opts: GeneTrainOptions, progress: Callable[[int], None] | None = None) -> dict[str, float]:
    """Build the tables, then either cross-validate (the CV table goes to ``opts.output``) or
    fit on everything and save the checkpoint. Returns the figures to log. The site network is
    loaded for ``--features all`` and for the CV (its best canonical site is a baseline row)."""

    if opts.features not in gm.FEATURE_SETS:
        raise InputError(f"unknown feature set '{opts.features}' (expected one of {', '.join(gm.FEATURE_SETS)})")
    scorer = None
    if opts.features == "all" or opts.cv is not None:
        scorer = make_scorer(opts.site_model, threads=opts.threads)
    functional = functional_table(opts.functional, opts.utr, scorer)
    pairs = pair_table(opts.pair_table, scorer) if opts.pair_table else None
    occupancy = opts.features == "context" or opts.cv is not None
    sites = None
    if occupancy:
        sites = [sites_of(functional, opts.utr)] + ([sites_of(pairs, utrs=pairs.attrs["utrs"])] if pairs is not None else [])
    if opts.cv is not None:
        sets = {
            "gene model, occupancy form (default)": "occupancy",
            "gene model, ridge on summed context features": gm.CONTEXT_FEATURES,
        }
        if scorer is not None:
            sets["gene model, ridge, context + site network log-odds"] = gm.FEATURE_SETS["all"]
        table = grouped_cv(
            functional, pairs, opts.cv, opts.seed, sets, opts.alpha, progress, with_network=scorer is not None, sites=sites
        )
        with atomic_output(opts.output) as handle:
            cols = [c for c in CV_TABLE_COLUMNS if c in table.columns]
            table.to_csv(handle, sep="\t", columns=cols, index=False, float_format="%.4f", lineterminator="\n")
        return {f"{r['predictor']}: {c}": r[c] for r in table.to_dict("records") for c in table.columns if c != "predictor"}
    model = fit_model(
        functional, "occupancy" if occupancy else gm.FEATURE_SETS[opts.features], opts.alpha, sites[0] if sites else None
    )
    x = functional[list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64)
    scores = model.score(x, occupancy_of(model, sites[0], functional) if sites else None)
    figures = {f"training {k}": v for k, v in functional_metrics(functional, scores).items()}
    if pairs is not None:
        xp = pairs[list(gf.FEATURE_NAMES)].to_numpy(dtype=np.float64)
        ps = model.score(xp, occupancy_of(model, sites[1], pairs) if sites else None)
        figures.update({f"training {k}": v for k, v in pair_metrics(pairs, ps).items()})
    model.metrics = {k.removeprefix("training "): float(v) for k, v in figures.items()}
    model.training.update(
        {
            "functional": Path(opts.functional).name,
            "utr": Path(opts.utr).name,
            "features": opts.features,
            "trained_on": experiment_fingerprints(functional),  # experiment id -> digest
        }
    )
    sources = [p for p in (opts.functional, opts.utr) if p != "-"]
    from .model import file_digest

    gm.save(opts.output, model, digest=file_digest(*sources) if sources else None, seed=opts.seed)
    return figures
