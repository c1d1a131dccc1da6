"""Issue 28: site affinities learned from repression through an occupancy form, grouped CV.

Reads the cache of bench/gene_affinity_data.py. Every variant is scored on the same cells as
bench/gene_model_cv.py (seed families x genes, 5 x 5, seed 1; the miRAW pairs' keys take part
in the dealing so that the folds are the same), and on the classic sets: fit on the HeLa
experiments, report the HCT116 ones and vice versa (family and gene folds still apart), and a
5 x 5 CV within the classic sets.

    .venv/bin/python bench/gene_affinity_cv.py [variant ...] > table.md
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deeptarget_core import gene_features as gf  # noqa: E402
from deeptarget_core import gene_model as gm  # noqa: E402
from deeptarget_core import gene_training as gt  # noqa: E402
from deeptarget_core import sites  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "gene_level_dev"
CACHE = ROOT / "bench" / "out" / "gene_affinity_sites.pkl"
N_TYPES = len(sites.SITE_TYPES)
N_CANON = len(sites.CANONICAL_TYPES)


def load():
    import pandas as pd

    with open(CACHE, "rb") as fh:
        d = pickle.load(fh)
    rows = d["rows"]
    index = {k: i for i, k in enumerate(d["pair_keys"])}
    rows["pair"] = [index[(m, t)] for m, t in zip(rows["mirna_seq"], rows["mrna_id"])]
    feats = pd.DataFrame(d["pair_features"][rows["pair"].to_numpy()], columns=gf.FEATURE_NAMES)
    rows = pd.concat([rows.reset_index(drop=True), feats], axis=1)
    return d, rows


def folds(rows, k=5, seed=1):
    """The dealing of gene_training.grouped_cv / bench/gene_model_cv.py (the functional table
    and the miRAW pairs' keys), extended to the classic sets' families and genes."""
    import pandas as pd

    pairs = pd.read_csv(DEV / "miraw_pairs.tsv.gz", sep="\t", usecols=["mirna_seq", "mrna_id"])
    dev = rows[rows["source"] == "dev"]
    fam_keys = [s[gt.SEED] for s in dev["mirna_seq"]] + [s[gt.SEED] for s in pairs["mirna_seq"].str.upper().str.replace("T", "U")]
    gene_keys = list(dev["mrna_id"]) + list(pairs["mrna_id"])
    fam = gt.fold_of(fam_keys, k, seed)
    gen = gt.fold_of(gene_keys, k, seed + 1)
    extra = sorted({s[gt.SEED] for s in rows["mirna_seq"]} - set(fam))
    fam.update({f: int(np.random.default_rng(seed + 7).integers(k)) for f in extra})
    extra_g = sorted(set(rows["mrna_id"]) - set(gen))
    gen.update({g: int(np.random.default_rng(seed + 8).integers(k)) for g in extra_g})
    return rows["mirna_seq"].str[gt.SEED].map(fam).to_numpy(), rows["mrna_id"].map(gen).to_numpy()


# ----------------------------------------------------------------------------- site designs


def site_design(d, which: str) -> np.ndarray:
    """Per-site columns: type one-hot (the type biases), then what ``which`` adds:
    'flank' one-hot flanking nucleotides, 'ctx' the context features (canonical and relaxed
    apart), 'logit' the network's log-odds, 'enc' its 60-dim summary state."""
    n = len(d["type"])
    cols = [np.eye(N_TYPES)[d["type"]]]
    canon = (d["type"] < N_CANON)[:, None]
    for part in which.split("+"):
        if part == "flank":
            oh = np.zeros((n, 16))
            for j in range(4):
                c = d["flank"][:, j]
                ok = c < 4
                oh[np.flatnonzero(ok), 4 * j + c[ok]] = 1.0
            cols.append(oh)
        elif part == "flankau":  # AU count of the two flanking dinucleotides
            c = d["flank"]
            cols.append((((c == 0) | (c == 3)).reshape(n, 2, 2).sum(axis=2)).astype(float))
        elif part == "ctx" or part.startswith("ctx-"):  # ctx-au: without local AU, etc.
            names = ["supp3", "au", "near_stop", "min_dist"]
            keep = [i for i, c in enumerate(names) if c not in part.split("-")[1:]]
            cols.append(d["ctx"][:, keep] * canon)
            cols.append(d["ctx"][:, keep] * ~canon)
        elif part == "logit":
            cols.append(d["logit"][:, None] * canon)
            cols.append(d["logit"][:, None] * ~canon)
        elif part == "enc":
            cols.append(d["enc"])
        elif part == "type":
            pass
        else:
            raise ValueError(part)
    return np.concatenate(cols, axis=1)


def fit_occupancy(
    x_site,
    site_pair,
    site_keep,
    rows_pair,
    rows_exp,
    y,
    lam=1e-2,
    iters=100,
    per_exp_slope=False,
    saturate=True,
    hidden=0,
    seed=0,
    pair_x=None,
):
    """Multiple-instance regression: la_s = f(x_s); S_p = sum_s exp(la_s);
    y_r = c_e + k * log(1 + a0_e S_p) (saturate) or c_e + k * S_p. Returns predict(x, pair, keep, n_pairs)."""
    import torch

    torch.manual_seed(seed)
    dt = torch.float64
    n_exp = int(rows_exp.max()) + 1
    # standardise the non-binary columns
    x = np.asarray(x_site, dtype=np.float64)
    binary = np.all((x == 0) | (x == 1), axis=0)
    mean = np.where(binary, 0.0, x[site_keep].mean(axis=0))
    sd = np.where(binary, 1.0, x[site_keep].std(axis=0))
    sd[sd == 0] = 1.0
    X = torch.tensor((x[site_keep] - mean) / sd, dtype=dt)
    sp = torch.tensor(site_pair[site_keep], dtype=torch.int64)
    n_pairs = int(max(site_pair.max(), rows_pair.max())) + 1
    rp = torch.tensor(rows_pair, dtype=torch.int64)
    re_ = torch.tensor(rows_exp, dtype=torch.int64)
    Y = torch.tensor(y, dtype=dt)
    w = torch.zeros(X.shape[1], dtype=dt)
    w.data[:N_TYPES] = torch.tensor([0.0, -0.5, -1.0, -2.0, -3.0, -3.0, -3.0], dtype=dt)
    w.requires_grad_(True)
    params = [w]
    if hidden:
        W1 = (0.1 * torch.randn(X.shape[1] - N_TYPES, hidden, dtype=dt)).requires_grad_(True)
        w2 = torch.zeros(hidden, dtype=dt, requires_grad=True)
        params += [W1, w2]
    if pair_x is not None:
        pm, ps = pair_x[rows_pair].mean(axis=0), pair_x[rows_pair].std(axis=0) + 1e-12
        PX = torch.tensor((pair_x - pm) / ps, dtype=dt)
        b = torch.zeros(pair_x.shape[1], dtype=dt, requires_grad=True)
        params.append(b)
    theta = torch.zeros(n_exp, dtype=dt, requires_grad=True)
    c = torch.zeros(n_exp, dtype=dt, requires_grad=True)
    logk = torch.zeros(n_exp if per_exp_slope else 1, dtype=dt, requires_grad=True)
    params += [theta, c, logk]
    penal = torch.ones(X.shape[1], dtype=dt)
    penal[:N_TYPES] = 0.0

    def la_of(Xb):
        out = Xb @ w
        if hidden:
            out = out + torch.tanh(Xb[:, N_TYPES:] @ W1) @ w2
        return out

    def forward():
        la = la_of(X)
        S = torch.zeros(n_pairs, dtype=dt).index_add(0, sp, torch.exp(la))
        Sr = S[rp]
        k = torch.exp(logk[re_] if per_exp_slope else logk[0])
        occ = torch.log1p(torch.exp(theta[re_]) * Sr) if saturate else torch.exp(theta[re_]) * Sr
        out = c[re_] + k * occ
        if pair_x is not None:
            out = out + (PX @ b)[rp]
        return out

    opt = torch.optim.LBFGS(params, lr=1, max_iter=iters, line_search_fn="strong_wolfe", tolerance_grad=1e-9)

    def closure():
        opt.zero_grad()
        loss = torch.mean((Y - forward()) ** 2) + lam * torch.sum(penal * w**2)
        if pair_x is not None:
            loss = loss + lam * (b**2).sum()
        if hidden:
            loss = loss + lam * (W1**2).sum() + lam * (w2**2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    a0 = float(np.exp(np.median(theta.detach().numpy())))
    k_fixed = float(np.exp(np.median(logk.detach().numpy())))

    def predict(x_new, pair_new, keep_new, n_pairs_new):
        with torch.no_grad():
            Xn = torch.tensor((np.asarray(x_new)[keep_new] - mean) / sd, dtype=dt)
            la = la_of(Xn)
            S = torch.zeros(n_pairs_new, dtype=dt).index_add(0, torch.tensor(pair_new[keep_new]), torch.exp(la))
            occ = torch.log1p(a0 * S) if saturate else a0 * S
            out = k_fixed * occ
            if pair_x is not None:
                out = out + PX @ b
            return out.numpy()

    info = {"a0": a0, "k": k_fixed, "w": w.detach().numpy().copy(), "theta": theta.detach().numpy().copy()}
    return predict, info


TARGET = "log"  # or "z": per-experiment normal scores


def winsorised_repression(rows):
    if TARGET == "z":
        return rows.groupby("experiment")["repression"].transform(lambda s: gm.normal_scores(s.to_numpy())).to_numpy()
    y = rows["repression"].to_numpy().copy()
    for _, ix in rows.groupby("experiment").indices.items():
        lo, hi = np.quantile(y[ix], [0.01, 0.99])
        y[ix] = np.clip(y[ix], lo, hi)
    return y * np.log(2.0)  # natural-log units, as log(1 + a0 S)


# ----------------------------------------------------------------------------- predictors


def occupancy_predictor(d, which, sites_in="all", train_genes="all", pair_terms=False, **kw):
    x = site_design(d, which)
    if pair_terms:
        pf = d["pair_features"]
        kw["pair_x"] = pf[:, [gf.FEATURE_NAMES.index("log_utr_length"), gf.FEATURE_NAMES.index("coop_pairs")]]
    canon_pair = np.zeros(len(d["pair_keys"]), dtype=bool)
    canon_pair[d["pair"][d["type"] < N_CANON]] = True
    if sites_in == "canonical":
        keep = d["type"] < N_CANON
    elif sites_in == "all":
        keep = np.ones(len(d["type"]), dtype=bool)
    else:  # canonical + offset-6mer
        keep = d["type"] <= sites.SITE_TYPE_RANK["offset-6mer"]

    def fp(train):
        tr = train if train_genes == "all" else train[train["any_canonical"] > 0]
        exps = {e: i for i, e in enumerate(sorted(tr["experiment"].unique()))}
        rows_pair = tr["pair"].to_numpy()
        used = np.zeros(len(d["pair_keys"]), dtype=bool)
        used[rows_pair] = True
        k_site = keep & used[d["pair"]]
        predict, info = fit_occupancy(
            x, d["pair"], k_site, rows_pair, tr["experiment"].map(exps).to_numpy(), winsorised_repression(tr), **kw
        )

        def score(test):
            occ = predict(x, d["pair"], keep, len(d["pair_keys"]))[test["pair"].to_numpy()]
            return np.where(test["any_canonical"].to_numpy() > 0, 1.0 + occ, 0.0)

        score.info = info
        return score

    return fp


def ridge_predictor(features=gm.CONTEXT_FEATURES, alpha=gm.DEFAULT_ALPHA):
    def fp(train):
        model = gm.fit(train, features, alpha)

        def score(test):
            return model.score(test[list(gf.FEATURE_NAMES)].to_numpy()) - model.floor

        return score

    return fp


# ----------------------------------------------------------------------------- protocols


def cv(rows, fam, gen, train_sel, test_sel, fp, k=5):
    """Out-of-cell scores of the ``test_sel`` rows, each cell's model fitted on the
    ``train_sel`` rows of neither its family fold nor its gene fold."""
    out = np.full(len(rows), np.nan)
    for i in range(k):
        for j in range(k):
            cell = test_sel & (fam == i) & (gen == j)
            if not cell.any():
                continue
            tr = train_sel & (fam != i) & (gen != j)
            score = fp(rows[tr])
            out[cell] = score(rows[cell])
    return out


def metrics(rows, sel, scores):
    m = gt.functional_metrics(rows[sel].reset_index(drop=True), scores[sel])
    return m["functional_all"], m["functional_canonical"]


def evaluate(rows, fam, gen, fp, protocols):
    res = {}
    src = rows["source"].to_numpy()
    cell = rows["cell_line"].to_numpy()
    dev, cla = src == "dev", src == "classic"
    hela, hct = cla & (cell == "HeLa"), cla & (cell == "HCT116")
    if "dev" in protocols:
        s = cv(rows, fam, gen, dev, dev, fp)
        res["dev"] = metrics(rows, dev, s)
    if "cross" in protocols:
        s = cv(rows, fam, gen, hela, hct, fp)
        s2 = cv(rows, fam, gen, hct, hela, fp)
        res["HeLa->HCT116"] = metrics(rows, hct, s)
        res["HCT116->HeLa"] = metrics(rows, hela, s2)
    if "classic" in protocols:
        s = cv(rows, fam, gen, cla, cla, fp)
        res["classic"] = metrics(rows, cla, s)
    if "both" in protocols:  # trained on dev + classic, reported on each
        allr = dev | cla
        s = cv(rows, fam, gen, allr, allr, fp)
        res["both:dev"] = metrics(rows, dev, s)
        res["both:classic"] = metrics(rows, cla, s)
    return res


def baseline(rows, name):
    x = rows[list(gf.FEATURE_NAMES)]
    if name == "site count":
        s = gt.site_count(x)
    else:
        s = gt.seed_match(x)

    def fp(_train):
        return lambda test: s[test.index.to_numpy()]

    return fp


VARIANTS = {
    "site count": lambda d, rows: baseline(rows, "site count"),
    "seed-match": lambda d, rows: baseline(rows, "seed-match"),
    "ridge (today's default)": lambda d, rows: ridge_predictor(),
    "occ: type only": lambda d, rows: occupancy_predictor(d, "type"),
    "occ: type+ctx": lambda d, rows: occupancy_predictor(d, "ctx"),
    "occ: type+ctx+flank": lambda d, rows: occupancy_predictor(d, "ctx+flank"),
    "occ: type+ctx+flankau": lambda d, rows: occupancy_predictor(d, "ctx+flankau"),
    "occ: type+ctx+flank, canonical sites only": lambda d, rows: occupancy_predictor(d, "ctx+flank", sites_in="canonical"),
    "occ: type+ctx+flank, canonical+offset": lambda d, rows: occupancy_predictor(d, "ctx+flank", sites_in="offset"),
    "occ: type+ctx+flank, train on canonical genes": lambda d, rows: occupancy_predictor(d, "ctx+flank", train_genes="canonical"),
    "additive (no saturation): type+ctx+flank": lambda d, rows: occupancy_predictor(d, "ctx+flank", saturate=False),
    "occ: + network log-odds": lambda d, rows: occupancy_predictor(d, "ctx+flank+logit"),
    "occ: + linear head on network states": lambda d, rows: occupancy_predictor(d, "ctx+flank+enc", lam=3e-2),
    "occ: + 8-unit head on network states": lambda d, rows: occupancy_predictor(d, "ctx+flank+enc", lam=3e-2, hidden=8),
    "occ z-slope: type+ctx": lambda d, rows: occupancy_predictor(d, "ctx", per_exp_slope=True),
    "zc: type+ctx": lambda d, rows: occupancy_predictor(d, "ctx", train_genes="canonical"),
    "zc: type+ctx+flank": lambda d, rows: occupancy_predictor(d, "ctx+flank", train_genes="canonical"),
    "zc: type+ctx+flank+pair": lambda d, rows: occupancy_predictor(d, "ctx+flank", train_genes="canonical", pair_terms=True),
    "zc: type+ctx+pair": lambda d, rows: occupancy_predictor(d, "ctx", train_genes="canonical", pair_terms=True),
    "zc: type+ctx+flank+pair+logit": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+logit", train_genes="canonical", pair_terms=True
    ),
    "zc: type+ctx+flank+pair+enc": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+enc", train_genes="canonical", pair_terms=True, lam=3e-2
    ),
    "zc: type+ctx+flank+pair, canonical sites only": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "C: type+ctx+pair": lambda d, rows: occupancy_predictor(
        d, "ctx", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "C: type+ctx+flank+pair": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "C: type+ctx+flankau+pair": lambda d, rows: occupancy_predictor(
        d, "ctx+flankau", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "C additive (no saturation): type+ctx+flank+pair": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="canonical", pair_terms=True, sites_in="canonical", saturate=False
    ),
    "C+offset: type+ctx+flank+pair": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="canonical", pair_terms=True, sites_in="offset"
    ),
    "C: type+ctx+flank+pair+network log-odds": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+logit", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "C: type+ctx+flank+pair+linear head on network states": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+enc", train_genes="canonical", pair_terms=True, sites_in="canonical", lam=3e-2
    ),
    "C: type+network log-odds+pair": lambda d, rows: occupancy_predictor(
        d, "logit", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "W - pair terms": lambda d, rows: occupancy_predictor(d, "ctx+flank", train_genes="canonical", sites_in="canonical"),
    "W - 3' pairing": lambda d, rows: occupancy_predictor(
        d, "ctx-supp3+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "W - local AU": lambda d, rows: occupancy_predictor(
        d, "ctx-au+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "W - near stop": lambda d, rows: occupancy_predictor(
        d, "ctx-near_stop+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "W - distance to UTR end": lambda d, rows: occupancy_predictor(
        d, "ctx-min_dist+flank", train_genes="canonical", pair_terms=True, sites_in="canonical"
    ),
    "W + all relaxed sites": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="canonical", pair_terms=True, sites_in="all"
    ),
    "W, trained on all genes": lambda d, rows: occupancy_predictor(
        d, "ctx+flank", train_genes="all", pair_terms=True, sites_in="canonical"
    ),
    "W + 8-unit head on network states": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+enc", train_genes="canonical", pair_terms=True, sites_in="canonical", lam=3e-2, hidden=8
    ),
    "W + all relaxed sites, their affinity from the network's log-odds": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+logit", train_genes="canonical", pair_terms=True, sites_in="all"
    ),
    "W + linear head on network states, strong penalty": lambda d, rows: occupancy_predictor(
        d, "ctx+flank+enc", train_genes="canonical", pair_terms=True, sites_in="canonical", lam=0.3
    ),
    "occ: network log-odds + type only": lambda d, rows: occupancy_predictor(d, "logit"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("variants", nargs="*")
    ap.add_argument("--protocols", default="dev,cross,classic")
    ap.add_argument("--target", default="log")
    args = ap.parse_args()
    global TARGET
    TARGET = args.target
    t0 = time.time()
    d, rows = load()
    fam, gen = folds(rows)
    names = args.variants or list(VARIANTS)
    protocols = args.protocols.split(",")
    for name in names:
        t1 = time.time()
        res = evaluate(rows, fam, gen, VARIANTS[name](d, rows), protocols)
        cells = " | ".join(f"{k} {a:.3f}/{c:.3f}" for k, (a, c) in res.items())
        print(f"| {name} | {cells} | {time.time() - t1:.0f} s", flush=True)
    print(f"{time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
