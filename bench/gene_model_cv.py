"""Gene model (issue 14 ridge): grouped cross-validation of feature groups and objectives (docs/results.md §5;
the occupancy form of issue 28 and its variants: bench/gene_affinity_cv.py, §6).

Everything on ../shared/data/gene_level_dev (the development half; no test data), K x K
cells grouped by miRNA seed family AND gene (deeptarget_core.gene_training.grouped_cv's
scheme), the site count and seed-match baselines on the same folds.

    .venv/bin/python bench/gene_model_cv.py [--k 5] [--seed 1] > table.md

Takes about 3 minutes on 2 cores (the site network scores every site once, for the
feature sets that use its log-odds).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deeptarget_core import gene_features as gf  # noqa: E402
from deeptarget_core import gene_model as gm  # noqa: E402
from deeptarget_core import gene_training as gt  # noqa: E402
from deeptarget_core.scorers import make_scorer  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "gene_level_dev"
RELAXED = ("offset-6mer", "7mer-GU", "7mer-mismatch")


def without(features, *prefixes):
    return tuple(f for f in features if not any(f.startswith(p + "_") or f == p or f.endswith("_" + p) for p in prefixes))


def cells(functional, pairs, k, seed):
    tables = [functional, pairs]
    fam = gt.fold_of([s[gt.SEED] for t in tables for s in t["mirna_seq"]], k, seed)
    gen = gt.fold_of([g for t in tables for g in t["mrna_id"]], k, seed + 1)
    ff = [t["mirna_seq"].str[gt.SEED].map(fam).to_numpy() for t in tables]
    gg = [t["mrna_id"].map(gen).to_numpy() for t in tables]
    for i in range(k):
        for j in range(k):
            yield (
                (ff[0] != i) & (gg[0] != j),
                (ff[1] != i) & (gg[1] != j),
                (ff[0] == i) & (gg[0] == j),
                (ff[1] == i) & (gg[1] == j),
            )


def cross_validate(functional, pairs, k, seed, fit_predict):
    """fit_predict(train_functional, train_pairs) -> callable(frame) -> scores."""
    out = [np.zeros(len(functional)), np.zeros(len(pairs))]
    for trf, trp, tef, tep in cells(functional, pairs, k, seed):
        predict = fit_predict(functional[trf], pairs[trp])
        out[0][tef] = predict(functional[tef])
        out[1][tep] = predict(pairs[tep])
    return out


def tiered_ridge(features):
    def fp(train_f, _train_p):
        model = gm.fit(train_f, features)
        return lambda d: model.score(d[list(gf.FEATURE_NAMES)].to_numpy()) - model.floor

    return fp


def untiered_ridge(features):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fp(train_f, _train_p):
        z = train_f.groupby("experiment")["repression"].transform(lambda s: gm.normal_scores(s.to_numpy()))
        m = make_pipeline(StandardScaler(), Ridge(alpha=gm.DEFAULT_ALPHA)).fit(train_f[list(features)].to_numpy(), z.to_numpy())
        return lambda d: m.predict(d[list(features)].to_numpy())

    return fp


def logistic_pairs(features, tiered: bool):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fp(_train_f, train_p):
        m = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000))
        m.fit(train_p[list(features)].to_numpy(), train_p["label"].astype(int).to_numpy())

        def predict(d):
            s = m.decision_function(d[list(features)].to_numpy())
            return np.where(d["any_canonical"] > 0, 100 + s, 0.0) if tiered else s

        return predict

    return fp


def tiered_boosting(features):
    from sklearn.ensemble import HistGradientBoostingRegressor

    def fp(train_f, _train_p):
        t = train_f[train_f["any_canonical"] > 0]
        z = t.groupby("experiment")["repression"].transform(lambda s: gm.normal_scores(s.to_numpy()))
        m = HistGradientBoostingRegressor(
            max_iter=150, learning_rate=0.05, max_leaf_nodes=8, min_samples_leaf=100, random_state=0
        )
        m.fit(t[list(features)].to_numpy(), z.to_numpy())
        return lambda d: np.where(d["any_canonical"] > 0, 100 + m.predict(d[list(features)].to_numpy()), 0.0)

    return fp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t0 = time.time()
    scorer = make_scorer(None, threads=2)
    functional = gt.functional_table(DEV / "functional.tsv.gz", DEV / "utrs.fa.gz", scorer)
    pairs = gt.pair_table(DEV / "miraw_pairs.tsv.gz", scorer)
    ctx = gm.CONTEXT_FEATURES
    rows = []

    def add(group, name, scores):
        m = {**gt.functional_metrics(functional, scores[0]), **gt.pair_metrics(pairs, scores[1])}
        rows.append((group, name, m))
        print(f"{time.time() - t0:6.0f} s  {name}: {m}", file=sys.stderr, flush=True)

    add("baseline", "site count (8mer 3, 7mer-m8 2, 7mer-A1 1.5, 6mer 0.5)", [gt.site_count(functional), gt.site_count(pairs)])
    add("baseline", "seed-match (best canonical type)", [gt.seed_match(functional), gt.seed_match(pairs)])
    add(
        "baseline",
        "site network, best canonical site (dt-predict --aggregate max)",
        [functional["best_canonical_logit"].to_numpy(), pairs["best_canonical_logit"].to_numpy()],
    )
    add(
        "features",
        "ridge: context features, two tiers (the issue-14 default; --features ridge)",
        cross_validate(functional, pairs, args.k, args.seed, tiered_ridge(ctx)),
    )
    add(
        "features",
        "+ site network log-odds (--features all)",
        cross_validate(functional, pairs, args.k, args.seed, tiered_ridge(gf.FEATURE_NAMES)),
    )
    for label, prefixes in (
        ("- 3' supplementary pairing", ("supp3",)),
        ("- local AU", ("au",)),
        ("- near stop codon", ("near_stop",)),
        ("- distance to UTR end", ("min_dist",)),
        ("- cooperative spacing", ("coop_pairs",)),
        ("- UTR length", ("log_utr_length",)),
        ("- relaxed site types", RELAXED),
    ):
        add("features", label, cross_validate(functional, pairs, args.k, args.seed, tiered_ridge(without(ctx, *prefixes))))
    counts = tuple(f for f in ctx if f.startswith("n_")) + ("any_canonical",)
    add(
        "features",
        "site counts per type only (learned weights)",
        cross_validate(functional, pairs, args.k, args.seed, tiered_ridge(counts)),
    )
    add("objective", "one tier: ridge on all genes", cross_validate(functional, pairs, args.k, args.seed, untiered_ridge(ctx)))
    add(
        "objective",
        "two tiers: gradient boosting on functional",
        cross_validate(functional, pairs, args.k, args.seed, tiered_boosting(ctx)),
    )
    add(
        "objective",
        "logistic on the labelled miRAW pairs",
        cross_validate(functional, pairs, args.k, args.seed, logistic_pairs(ctx, False)),
    )
    add(
        "objective",
        "two tiers: logistic on the labelled miRAW pairs",
        cross_validate(functional, pairs, args.k, args.seed, logistic_pairs(ctx, True)),
    )
    print("| | predictor | functional, all genes | functional, genes with a canonical site | miRAW pairs, within-miRNA AUC |")
    print("|---|---|---|---|---|")
    for group, name, m in rows:
        print(
            f"| {group} | {name} | {m['functional_all']:.3f} | {m['functional_canonical']:.3f} | {m['pairs_within_mirna_auc']:.3f} |"
        )
    print(
        f"\n{args.k}x{args.k} cells grouped by seed family and gene, seed {args.seed}; {time.time() - t0:.0f} s", file=sys.stderr
    )


if __name__ == "__main__":
    main()
