"""Out-of-fold calibration of predicted_log2fc (issue 28): the occupancy model fitted on the
grouped 5 x 5 cells of gene_level_dev/functional.tsv.gz, its predicted log2 fold change of the
held-out genes with a canonical site against the observed one (measured from the median of
the experiment's genes without a canonical site).

    .venv/bin/python bench/gene_log2fc_check.py      # about 1-2 min
"""

import sys
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from deeptarget_core import gene_features as gf  # noqa: E402
from deeptarget_core import gene_model as gm  # noqa: E402
from deeptarget_core import gene_training as gt  # noqa: E402

D = str(ROOT.parent / "shared" / "data" / "gene_level_dev") + "/"
fun = gt.functional_table(D + "functional.tsv.gz", D + "utrs.fa.gz")
sites = gt.sites_of(fun, D + "utrs.fa.gz")
fam = gt.fold_of([s[1:8] for s in fun["mirna_seq"]], 5, 1)
gen = gt.fold_of(list(fun["mrna_id"]), 5, 2)
ff = fun["mirna_seq"].str[1:8].map(fam).to_numpy()
gg = fun["mrna_id"].map(gen).to_numpy()
pred = np.zeros(len(fun))
for i in range(5):
    for j in range(5):
        tr = (ff != i) & (gg != j)
        te = (ff == i) & (gg == j)
        m = gm.fit_occupancy(fun[tr], sites)
        t = fun[te]
        pred[te] = m.predicted_log2fc(t[list(gf.FEATURE_NAMES)].to_numpy(), gt.occupancy_of(m, sites, t))
obs = -fun["repression"].to_numpy()
bg = fun.assign(o=obs)[fun["any_canonical"] <= 0].groupby("experiment")["o"].median()
obs = obs - fun["experiment"].map(bg).to_numpy()
c = fun["any_canonical"].to_numpy() > 0
r = [
    pearsonr(pred[c & (fun["experiment"] == e).to_numpy()], obs[c & (fun["experiment"] == e).to_numpy()])[0]
    for e in fun["experiment"].unique()
]
print("mean per-exp r (canonical genes)", np.mean(r), "r2", np.mean(np.square(r)))
b = np.polyfit(pred[c], obs[c], 1)
print("pooled obs ~ pred: slope %.3f intercept %.3f" % tuple(b))
print("mean pred %.3f mean obs %.3f (canonical genes)" % (pred[c].mean(), obs[c].mean()))
for lo, hi in ((-9, -0.4), (-0.4, -0.25), (-0.25, -0.15), (-0.15, 0.01)):
    k = c & (pred > lo) & (pred <= hi)
    print(f"pred in ({lo},{hi}]: n={k.sum()} mean pred {pred[k].mean():.3f} mean obs {obs[k].mean():.3f}")
