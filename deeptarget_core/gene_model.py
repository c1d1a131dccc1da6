"""The gene model: one score per (miRNA, 3'UTR) pair that tracks real repression.

Design (every choice measured by cross-validation grouped by miRNA seed family AND by gene on
../shared/data/gene_level_dev; docs/results.md section 5):

* Two tiers. Pairs without a canonical seed match (6-8mer) all get the same, lowest score
  (``floor``): in the functional data no feature orders them (relaxed sites, UTR length,
  occupancy: mean Spearman |rho| <= 0.02 among them), and ordering them by noise costs
  correlation over all genes.
* Pairs with a canonical site are ranked by a ridge regression of repression on the additive
  site-context features of :mod:`deeptarget_core.gene_features` (per-type site counts and
  sums of 3'-pairing, local AU, position), trained on the functional experiments: target =
  per-experiment normal scores of repression (-logFC after over-expression, +logFC after a
  knockout). Ridge won over gradient boosting, a within-experiment ranking loss and a
  logistic model of the labelled miRAW pairs on the same folds.
* The ridge output is calibrated (1-D logistic fit on the training genes) to p = P(the gene is
  among the 10% most repressed of its experiment | canonical site), and the score is
  ``floor + (1 - floor) * p`` (floor = that rate among genes without a canonical site): the
  tiers stay strictly ordered, which measured better than letting weak canonical pairs tie
  with (or fall below) the pairs without a site.

The model is a handful of numbers: it is saved as a torch checkpoint of plain tensors and
strings and loaded weights-only, like the site network's.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import __version__
from . import gene_affinity as ga
from . import gene_features as gf
from .errors import InputError
from .streams import atomic_output

log = logging.getLogger("deeptarget")

GENE_FORMAT = "deeptarget-gene-model"
# 2 (issue 28): the predicted log2 fold change (scalars fc_intercept, fc_slope); a version-1
# checkpoint has no fold-change map and is refused (retrain: dt-train --level gene).
# The ``training`` dict may hold ``trained_on`` (experiment id -> digest, gene_training.
# experiment_fingerprints): what dt-eval --functional compares; a version-2 file without it
# reads the same.
GENE_FORMAT_VERSION = 2
TOP_FRACTION = 0.10  # calibration target: the most repressed tenth of an experiment's genes
DEFAULT_ALPHA = 100.0
NETWORK_FEATURES = tuple(c for c in gf.FEATURE_NAMES if c.startswith("logit_")) + ("occupancy", "best_canonical_logit")
# The default feature set: the site context without the site network's log-odds, which added
# nothing on grouped CV (docs/results.md section 5) and would cost a network pass per site.
CONTEXT_FEATURES = tuple(c for c in gf.FEATURE_NAMES if c not in NETWORK_FEATURES)
# "context" (the default) fits the occupancy form (gene_affinity) on the site context; "ridge"
# today's ridge on the same context summed per type; "all" the ridge with the network's log-odds
FEATURE_SETS = {"context": CONTEXT_FEATURES, "ridge": CONTEXT_FEATURES, "all": gf.FEATURE_NAMES}


@dataclass
class GeneModel:
    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    calib_slope: float
    calib_intercept: float
    floor: float
    # predicted_log2fc = min(0, fc_intercept + fc_slope * raw) for pairs with a canonical site,
    # 0 for the others: a least-squares map of the ridge output to the observed log2 fold
    # change (relative to the experiment's genes without a canonical site) of the training genes
    fc_intercept: float = 0.0
    fc_slope: float = 0.0
    # the occupancy form (gene_affinity): raw gains k * log(1 + a0 * sum of site affinities);
    # None for the ridge on summed features
    occupancy: ga.Occupancy | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "ridge" if self.occupancy is None else "occupancy"

    @property
    def uses_network(self) -> bool:
        """Whether scoring needs the site network's log-odds for every site."""
        return any(f in NETWORK_FEATURES for f in self.features)

    def _columns(self) -> np.ndarray:
        return np.array([gf.FEATURE_NAMES.index(f) for f in self.features], dtype=np.int64)

    def raw(self, features: np.ndarray, occupancy: np.ndarray | None = None) -> np.ndarray:
        """Predicted repression (standard-normal units) from a full (n, N_FEATURES) table and,
        for an occupancy model, each row's ``k * log(1 + a0 * S)`` (:meth:`Occupancy.occupancy`)."""
        z = ((np.asarray(features, dtype=np.float64)[:, self._columns()] - self.mean) / self.scale).T
        # summed term by term, not by a matrix product or numpy's sum: both round a row
        # differently by the number of rows, and a row's score must not depend on its group
        out = np.full(z.shape[1], float(self.intercept))
        for column, c in zip(z, np.asarray(self.coef, dtype=np.float64).tolist()):
            out += column * c
        if self.occupancy is not None:
            if occupancy is None:
                raise ValueError("an occupancy gene model needs the pairs' site occupancy")
            out += np.asarray(occupancy, dtype=np.float64)
        return out

    def _canonical_raw(self, features, occupancy):
        features = np.asarray(features, dtype=np.float64)
        canonical = features[:, gf.FEATURE_NAMES.index("any_canonical")] > 0
        if not canonical.any():
            return canonical, np.zeros(0)
        occ = None if occupancy is None else np.asarray(occupancy, dtype=np.float64)[canonical]
        return canonical, self.raw(features[canonical], occ)

    def score(self, features: np.ndarray, occupancy: np.ndarray | None = None) -> np.ndarray:
        """Gene scores: ``floor`` for pairs without a canonical site; above it, for the others,
        ``floor + (1 - floor) * p`` with p the calibrated P(among the most repressed tenth)."""
        canonical, raw = self._canonical_raw(features, occupancy)
        out = np.full(len(canonical), self.floor)
        if canonical.any():  # only these rows need the model (most pairs of a group have no site)
            p = 1.0 / (1.0 + np.exp(-(self.calib_slope * raw + self.calib_intercept)))
            out[canonical] = self.floor + (1.0 - self.floor) * p
        return out

    def predicted_log2fc(self, features: np.ndarray, occupancy: np.ndarray | None = None) -> np.ndarray:
        """Expected log2 fold change of the mRNA after the miRNA is introduced, relative to
        mRNAs without a site (TargetScan context++'s scale): 0 for pairs without a canonical
        site, ``min(0, fc_intercept + fc_slope * raw)`` for the others."""
        canonical, raw = self._canonical_raw(features, occupancy)
        out = np.zeros(len(canonical))
        if canonical.any():
            out[canonical] = np.minimum(0.0, self.fc_intercept + self.fc_slope * raw)
        return out + 0.0  # no -0.0


def repression(log_fc: np.ndarray, kind: Sequence[str]) -> np.ndarray:
    """Repression by the miRNA: -logFC after over-expression (OE), +logFC after a knockout (KO)."""
    kind = np.asarray(kind, dtype=object)
    return np.where(kind == "KO", 1.0, -1.0) * np.asarray(log_fc, dtype=np.float64)


def normal_scores(values: np.ndarray) -> np.ndarray:
    from scipy.stats import norm, rankdata

    return norm.ppf((rankdata(values) - 0.5) / len(values))


def fit(table, features: Sequence[str] = CONTEXT_FEATURES, alpha: float = DEFAULT_ALPHA) -> GeneModel:
    """Fit on a functional feature table (pandas: ``experiment``, ``repression`` and the
    FEATURE_NAMES columns, one row per (experiment, gene))."""
    from sklearn.linear_model import Ridge

    features = tuple(features)
    unknown = [f for f in features if f not in gf.FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown gene features: {', '.join(unknown)}")
    table = table.copy()
    table["z"] = table.groupby("experiment")["repression"].transform(lambda s: normal_scores(s.to_numpy()))
    table["top"] = table.groupby("experiment")["repression"].transform(
        lambda s: (s >= s.quantile(1.0 - TOP_FRACTION)).astype(float)
    )
    canonical = table[table["any_canonical"] > 0]
    others = table[table["any_canonical"] <= 0]
    if len(canonical) < 10:
        raise InputError("too few genes with a canonical site to fit a gene model (need at least 10)")
    x = canonical[list(features)].to_numpy(dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    ridge = Ridge(alpha=alpha).fit((x - mean) / scale, canonical["z"].to_numpy())
    raw = ridge.intercept_ + ((x - mean) / scale) @ ridge.coef_
    return _calibrated(
        table,
        canonical,
        others,
        raw,
        features=features,
        mean=mean,
        scale=scale,
        coef=np.asarray(ridge.coef_, dtype=np.float64),
        intercept=float(ridge.intercept_),
        training={
            "alpha": alpha,
            "experiments": int(table["experiment"].nunique()),
            "genes": int(table["mrna_id"].nunique()) if "mrna_id" in table else None,
            "rows": int(len(table)),
            "canonical_rows": int(len(canonical)),
            "objective": "ridge on per-experiment normal scores of repression, canonical-site genes",
        },
    )


def _targets(table):
    """The table with ``top`` (among its experiment's most repressed tenth), split into the
    rows with and without a canonical site."""
    table = table.copy()
    table["top"] = table.groupby("experiment")["repression"].transform(
        lambda s: (s >= s.quantile(1.0 - TOP_FRACTION)).astype(float)
    )
    return table, table[table["any_canonical"] > 0], table[table["any_canonical"] <= 0]


def _calibrated(table, canonical, others, raw, **model) -> GeneModel:
    """The model with its calibration to P(top tenth), floor and fold-change map."""
    from sklearn.linear_model import LogisticRegression

    top = canonical["top"].to_numpy()
    if 0 < top.sum() < len(top):
        calib = LogisticRegression(C=1e6, max_iter=1000).fit(raw[:, None], top)
        slope, icpt = float(calib.coef_[0, 0]), float(calib.intercept_[0])
    else:  # one-class training data: keep the ranking, centre the probabilities
        slope, icpt = 1.0, 0.0
    floor = float(others["top"].mean()) if len(others) else 0.0
    fc_intercept, fc_slope = fold_change_map(table, (table["any_canonical"] > 0).to_numpy(), raw)
    return GeneModel(calib_slope=slope, calib_intercept=icpt, floor=floor, fc_intercept=fc_intercept, fc_slope=fc_slope, **model)


def fit_occupancy(table, sites: ga.SiteTable, lam: float = ga.DEFAULT_LAMBDA) -> GeneModel:
    """Fit the occupancy form (gene_affinity) on a functional feature table (as :func:`fit`)
    and the canonical sites of its pairs (``sites.keys`` = (mirna_id, mrna_id))."""
    table, canonical, others = _targets(table)
    if len(canonical) < 10:
        raise InputError("too few genes with a canonical site to fit a gene model (need at least 10)")
    index = {k: i for i, k in enumerate(sites.keys)}
    row_pair = np.array([index[k] for k in zip(canonical["mirna_id"], canonical["mrna_id"])], dtype=np.int64)
    # the pair terms of every pair of the site table, from the feature rows that carry them
    pair_x = np.zeros((len(sites.keys), len(ga.PAIR_TERMS)))
    pair_x[row_pair] = canonical[list(ga.PAIR_TERMS)].to_numpy(dtype=np.float64)
    keep = np.isin(sites.pair, row_pair)
    # sites of pairs outside the training rows are left out (their pair index is still valid)
    z = canonical.groupby("experiment")["repression"].transform(lambda s: normal_scores(s.to_numpy())).to_numpy()
    occ, coef, intercept, p_mean, p_scale = ga.fit(
        sites.design[keep], sites.pair[keep], pair_x, row_pair, canonical["experiment"].to_numpy(), z, lam=lam
    )
    per_pair = occ.occupancy(sites.design[keep], sites.pair[keep], len(sites.keys))
    x = canonical[list(ga.PAIR_TERMS)].to_numpy(dtype=np.float64)
    raw = intercept + ((x - p_mean) / p_scale) @ coef + per_pair[row_pair]
    return _calibrated(
        table,
        canonical,
        others,
        raw,
        features=ga.PAIR_TERMS,
        mean=p_mean,
        scale=p_scale,
        coef=coef,
        intercept=intercept,
        occupancy=occ,
        training={
            "lambda": lam,
            "experiments": int(table["experiment"].nunique()),
            "genes": int(table["mrna_id"].nunique()) if "mrna_id" in table else None,
            "rows": int(len(table)),
            "canonical_rows": int(len(canonical)),
            "objective": "occupancy: k log(1 + a0 sum exp(la)), la linear in site type, flanks and context; "
            "per-experiment normal scores of repression, canonical-site genes",
        },
    )


def fold_change_map(table, canonical: np.ndarray, raw: np.ndarray) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line from the ridge output ``raw`` of the
    canonical-site rows to their observed log2 fold change after the miRNA is introduced
    (-repression; knockouts sign-flipped), measured from the median of the experiment's genes
    without a canonical site (the background, as TargetScan's context++ scores are)."""
    fc = -table["repression"].to_numpy(dtype=np.float64)
    experiments = table["experiment"].to_numpy()
    background = {}
    for experiment in np.unique(experiments):
        none = (experiments == experiment) & ~canonical
        background[experiment] = float(np.median(fc[none])) if none.any() else 0.0
    y = fc[canonical] - np.array([background[e] for e in experiments[canonical]], dtype=np.float64)
    if len(y) < 2 or np.ptp(raw) == 0:
        return float(min(0.0, y.mean())) if len(y) else 0.0, 0.0
    slope, intercept = np.polyfit(raw, y, 1)
    return float(intercept), float(slope)


# --------------------------------------------------------------------------- checkpoints


def save(path: str | Path, model: GeneModel, digest: str | None = None, seed: int | None = None) -> None:
    """Atomically write the gene model as a weights-only torch checkpoint."""
    import io as _io

    import torch

    from .model import check_checkpoint_name

    check_checkpoint_name(path)
    tensors = {name: torch.from_numpy(np.asarray(getattr(model, name), dtype=np.float64)) for name in ("mean", "scale", "coef")}
    scalars = {
        "intercept": model.intercept,
        "calib_slope": model.calib_slope,
        "calib_intercept": model.calib_intercept,
        "floor": model.floor,
        "fc_intercept": model.fc_intercept,
        "fc_slope": model.fc_slope,
    }
    if not all(bool(torch.isfinite(t).all()) for t in tensors.values()) or not np.isfinite(list(scalars.values())).all():
        raise InputError("refusing to save: the gene model holds nan or inf", str(path))
    if model.occupancy is not None:
        occ = model.occupancy
        for name in ("site_coef", "site_mean", "site_scale"):
            tensors[name] = torch.from_numpy(np.asarray(getattr(occ, name), dtype=np.float64))
        scalars.update({"a0": occ.a0, "k": occ.k})
        if not all(bool(torch.isfinite(t).all()) for t in tensors.values()) or not np.isfinite(list(scalars.values())).all():
            raise InputError("refusing to save: the gene model holds nan or inf", str(path))
    payload = {
        "model_kind": model.kind,
        "site_columns": list(ga.SITE_COLUMNS) if model.occupancy is not None else None,
        "format": GENE_FORMAT,
        "format_version": GENE_FORMAT_VERSION,
        "package_version": __version__,
        "kind": "gene",
        "features": list(model.features),
        "tensors": tensors,
        "scalars": scalars,
        "training_data_digest": digest,
        "seed": seed,
        "training": model.training,
        "metrics": model.metrics,
    }
    buffer = _io.BytesIO()
    torch.save(payload, buffer)
    with atomic_output(path, binary=True) as handle:
        handle.write(buffer.getbuffer())


def default_path() -> Path:
    return Path(__file__).resolve().parent / "models" / "gene.pt"


def load(path: str | Path | None = None) -> GeneModel:
    """Load a gene checkpoint (None = the packaged one) weights-only; refuse anything else
    with a message that names the file and the field."""
    import pickle
    import zipfile

    import torch

    from .model import check_checkpoint_name

    name = str(path if path is not None else default_path())
    check_checkpoint_name(name)
    try:
        payload = torch.load(name, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError("no such gene model file", name) from None
    except (pickle.UnpicklingError, zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        raise InputError(f"not a deepTarget gene model ({str(exc).splitlines()[0][:120]})", name) from None
    if not isinstance(payload, dict) or payload.get("format") != GENE_FORMAT:
        kind = payload.get("kind") if isinstance(payload, dict) else None
        hint = f" (it is a '{kind}' checkpoint: give it as the site model)" if kind else ""
        raise InputError(f"not a deepTarget gene model{hint}", name)
    if payload.get("format_version") != GENE_FORMAT_VERSION:
        raise InputError(
            f"gene model format version {payload.get('format_version')} is not supported (this package reads "
            f"version {GENE_FORMAT_VERSION}; retrain it with dt-train --level gene)",
            name,
        )
    features = payload.get("features")
    if not isinstance(features, list) or not features or any(f not in gf.FEATURE_NAMES for f in features):
        raise InputError("checkpoint field 'features' must list known gene features", name)
    tensors, scalars = payload.get("tensors"), payload.get("scalars")
    if not isinstance(tensors, dict) or not isinstance(scalars, dict):
        raise InputError("checkpoint fields 'tensors' and 'scalars' must be dicts", name)
    arrays = {}
    for key in ("mean", "scale", "coef"):
        t = tensors.get(key)
        if not isinstance(t, torch.Tensor) or t.shape != (len(features),) or not bool(torch.isfinite(t).all()):
            raise InputError(f"checkpoint field 'tensors.{key}' must be {len(features)} finite numbers", name)
        arrays[key] = t.double().numpy()
    values = {}
    for key in ("intercept", "calib_slope", "calib_intercept", "floor", "fc_intercept", "fc_slope"):
        v = scalars.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v):
            raise InputError(f"checkpoint field 'scalars.{key}' must be a finite number", name)
        values[key] = float(v)
    if np.any(arrays["scale"] <= 0):
        raise InputError("checkpoint field 'tensors.scale' must be positive", name)
    occupancy = None
    kind = payload.get("model_kind")
    if kind not in ("ridge", "occupancy"):
        raise InputError("checkpoint field 'model_kind' must be ridge or occupancy", name)
    if kind == "occupancy":
        if payload.get("site_columns") != list(ga.SITE_COLUMNS):
            raise InputError("checkpoint field 'site_columns' does not match this package's site design", name)
        site = {}
        for key in ("site_coef", "site_mean", "site_scale"):
            t = tensors.get(key)
            if not isinstance(t, torch.Tensor) or t.shape != (len(ga.SITE_COLUMNS),) or not bool(torch.isfinite(t).all()):
                raise InputError(f"checkpoint field 'tensors.{key}' must be {len(ga.SITE_COLUMNS)} finite numbers", name)
            site[key] = t.double().numpy()
        for key in ("a0", "k"):
            v = scalars.get(key)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not np.isfinite(v) or v <= 0:
                raise InputError(f"checkpoint field 'scalars.{key}' must be a positive number", name)
            site[key] = float(v)
        if np.any(site["site_scale"] <= 0):
            raise InputError("checkpoint field 'tensors.site_scale' must be positive", name)
        occupancy = ga.Occupancy(**site)
    return GeneModel(
        occupancy=occupancy,
        features=tuple(features),
        **arrays,
        **values,
        metrics=payload.get("metrics") or {},
        training=payload.get("training") or {},
    )
