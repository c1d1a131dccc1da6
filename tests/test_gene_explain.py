"""dt-explain --gene-level: each site's contribution adds up to the gene model's linear
predictor, the score and fold change are dt-predict's, for the packaged (occupancy) model and
ridge checkpoints (with and without the site network's log-odds); the gene view's files."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from deeptarget_core import gene_explain as ge
from deeptarget_core import gene_features as gf
from deeptarget_core import gene_model as gm
from deeptarget_core import sites
from deeptarget_core.gene_scoring import GeneScorer, pair_scores
from deeptarget_core.io import read_fasta
from deeptarget_core.mirnas import read_mirnas
from deeptarget_core.model import CheckpointInfo, DeepTarget, ModelConfig, save_checkpoint
from deeptarget_core.scorers import NeuralScorer
from deeptarget_tools.explain import app

from conftest import EXAMPLES

runner = CliRunner()


@pytest.fixture(scope="module")
def examples():
    mirnas = read_mirnas(EXAMPLES / "mirnas.fa")
    utrs = {r.id: r.seq for r in read_fasta(EXAMPLES / "utrs.fa.gz")}
    return mirnas, utrs


def _ridge(features, seed: int) -> gm.GeneModel:
    """A ridge gene model with arbitrary (fixed-seed) weights: the decomposition must hold for any."""
    rng = np.random.default_rng(seed)
    n = len(features)
    return gm.GeneModel(
        features=tuple(features),
        mean=rng.normal(size=n),
        scale=rng.uniform(0.5, 2.0, size=n),
        coef=rng.normal(size=n),
        intercept=0.3,
        calib_slope=1.7,
        calib_intercept=-0.4,
        floor=0.05,
        fc_intercept=-0.1,
        fc_slope=-0.3,
    )


@pytest.fixture(scope="module")
def toy_net(tmp_path_factory):
    torch.manual_seed(5)
    net = DeepTarget(ModelConfig())
    path = tmp_path_factory.mktemp("net") / "toy.pt"
    save_checkpoint(path, net, CheckpointInfo(kind="classifier", config=net.config, seed=5))
    return path, net.eval()


def _check_against_dt_predict(model, examples, site_scorer=None, tol=1e-12):
    """Every example pair: the decomposition adds up, and score / log2fc are dt-predict's
    (``tol``: the site network's float32 log-odds differ by batch in the last bits)."""
    mirnas, utrs = examples
    pairs = {m: set(utrs) for m in mirnas}
    scorer = GeneScorer(model, site_scorer=site_scorer)
    expected = pair_scores(scorer, [sites.Mirna(m, s) for m, s in mirnas.items()], list(utrs.items()), pairs)
    n_canonical = 0
    for (mid, tid), (score, _n, _best, log2fc) in expected.items():
        g = ge.explain_gene(model, mid, mirnas[mid], tid, utrs[tid], site_scorer=site_scorer)
        assert g.score == pytest.approx(score, abs=tol)
        assert g.predicted_log2fc == pytest.approx(log2fc, abs=tol)
        if g.linear_predictor is None:  # no canonical site: the floor, nothing to split
            assert g.score == model.floor and g.predicted_log2fc == 0.0 and g.contribution_sum == 0.0
            continue
        n_canonical += 1
        assert g.contribution_sum == pytest.approx(g.linear_predictor, abs=1e-9)
        assert math.isclose(min(0.0, g.fc_intercept + g.fc_slope * g.linear_predictor), g.predicted_log2fc, abs_tol=1e-12)
    assert n_canonical >= 30  # the examples plant canonical sites in most UTRs
    return n_canonical


def test_packaged_occupancy_model_decomposes_exactly(examples):
    model = gm.load()
    assert model.kind == "occupancy"
    _check_against_dt_predict(model, examples)
    mirnas, utrs = examples
    t = "UTR001_let-7a-5p_7mer-A1+7mer-m8"
    g = ge.explain_gene(model, "hsa-let-7a-5p", mirnas["hsa-let-7a-5p"], t, utrs[t])
    canon = [s for s in g.sites if s.canonical]
    # each site's share follows its affinity and the shares split the saturating term
    assert sum(s.share for s in canon) == pytest.approx(1.0, abs=1e-12)
    la = np.array([s.log_affinity for s in canon])
    assert np.allclose([s.share for s in canon], np.exp(la) / np.exp(la).sum())
    for s in canon:  # a site's log affinity is the sum of its terms
        assert sum(s.terms.values()) == pytest.approx(s.log_affinity, abs=1e-9)
        assert set(s.terms) == set(ge.SITE_TERMS)
    assert all(s.contribution == 0.0 and not s.terms for s in g.sites if not s.canonical)
    # the site positions and duplexes are the scan's
    assert [(s.site_type, s.site_start) for s in canon] == [("7mer-m8", 1147), ("7mer-m8", 1274), ("7mer-A1", 1430)]
    assert all("|" in s.duplex.match for s in canon)


def test_ridge_checkpoint_decomposes_exactly(examples, tmp_path):
    path = tmp_path / "ridge.pt"
    gm.save(path, _ridge(gm.CONTEXT_FEATURES, 11))
    model = gm.load(path)
    assert model.kind == "ridge"
    _check_against_dt_predict(model, examples)


def test_ridge_with_network_features_decomposes_exactly(examples, toy_net):
    _, net = toy_net
    model = _ridge(gf.FEATURE_NAMES, 12)
    assert model.uses_network
    _check_against_dt_predict(model, examples, NeuralScorer(net), tol=1e-7)


def test_rank_of_uses_the_rank_column_else_the_scores():
    rows = [("a", 0.5, None), ("b", 0.9, None), ("c", 0.5, None)]
    assert ge.rank_of(rows, "b") == (1, 3)
    assert ge.rank_of(rows, "c") == (3, 3)  # ties keep the table's order
    assert ge.rank_of([("x", 0.1, 7), ("y", 0.2, 9)], "x") == (7, 9)  # a filtered table keeps its ranks


def _gene_table(tmp_path):
    """dt-predict's gene table with the packaged gene model (and its default site network:
    with another --model dt-predict falls back to --aggregate max)."""
    from deeptarget_tools.predict import app as predict_app

    out = tmp_path / "genes.tsv"
    res = runner.invoke(
        predict_app,
        [
            "--mirna",
            str(EXAMPLES / "mirnas.fa"),
            "--utr",
            str(EXAMPLES / "utrs.fa.gz"),
            "--aggregate",
            "model",
            "--gene-output",
            str(out),
            "-o",
            str(tmp_path / "sites.tsv"),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    return out


def _read(path):
    lines = path.read_text().splitlines()
    cols = lines[0].split("\t")
    return [dict(zip(cols, line.split("\t"))) for line in lines[1:]]


def test_cli_gene_views_link_the_pair_views(tmp_path, toy_net):
    genes = _gene_table(tmp_path)
    out = tmp_path / "explain"
    args = [str(genes), "--gene-level", "--mirna", str(EXAMPLES / "mirnas.fa"), "--utr", str(EXAMPLES / "utrs.fa.gz")]
    res = runner.invoke(app, [*args, "--top", "2", "--model", str(toy_net[0]), "--steps", "4", "--no-svg", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    best = sorted(_read(genes), key=lambda r: -float(r["score"]))[:2]  # --top 2: ties in table order
    summary = _read(out / "genes.tsv")
    assert [(r["mirna_id"], r["mrna_id"]) for r in summary] == [(r["mirna_id"], r["mrna_id"]) for r in best]
    index = (out / "index.html").read_text()
    pairs = _read(out / "pairs.tsv")
    for row, given in zip(summary, best):
        assert row["rank"] == given["rank"] and float(row["score"]) == pytest.approx(float(given["score"]), abs=1e-6)
        assert row["predicted_log2fc"] == given["predicted_log2fc"]
        tsv, png = row["files"].split(",")
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        rows = _read(out / tsv)
        parts = [float(r["contribution"]) for r in rows if r["kind"] in ("site", "relaxed-site", "constant", "pair-term")]
        total = next(r for r in rows if r["kind"] == "total")
        assert sum(parts) == pytest.approx(float(total["contribution"]), abs=1e-5)  # 6 printed digits per row
        fc = [float(r["contribution_log2fc"]) for r in rows if r["kind"] != "total"]
        assert sum(fc) == pytest.approx(float(total["contribution_log2fc"]), abs=1e-5)
        # every canonical site links its pair view, which explains that site's window
        for r in rows:
            if r["kind"] == "site":
                view = r["pair_view"]
                assert (out / view).is_file() and f'src="{view}"' in index
                k = int(re.match(r"pair(\d+)_", view).group(1))
                assert f'href="#p{k}"' in index
                assert (pairs[k - 1]["mrna_id"], pairs[k - 1]["site_start"]) == (row["mrna_id"], r["site_start"])
    assert 'href="#g1"' in index and 'href="genes.tsv"' in index


def test_cli_gene_level_errors(tmp_path, toy_net):
    genes = _gene_table(tmp_path)
    lines = genes.read_text().splitlines()
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join([lines[0], lines[1].replace("UTR", "NOPE", 1)]) + "\n")
    out = tmp_path / "x"
    base = ["--gene-level", "--mirna", str(EXAMPLES / "mirnas.fa"), "--utr", str(EXAMPLES / "utrs.fa.gz")]
    res = runner.invoke(app, [str(bad), *base, "--model", str(toy_net[0]), "-o", str(out)])
    assert res.exit_code == 1 and "bad.tsv:2:" in res.output and "not in the UTR FASTA" in res.output
    assert not out.exists()
    res = runner.invoke(app, [str(genes), "--utr", str(EXAMPLES / "utrs.fa.gz"), "-o", str(out)])
    assert res.exit_code == 2 and "--utr goes with --gene-level" in res.output
