"""The site-type prior: offsets fitted on validation pairs, applied the same way by dt-train,
dt-predict (fused and eager) and dt-explain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.special import expit

from deeptarget_core import explain as ex
from deeptarget_core import model as M
from deeptarget_core import scorers, sites
from deeptarget_core import train as T
from deeptarget_core.io import Pair
from deeptarget_core.seq import reverse_complement

from conftest import BIN

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
OFFSETS = np.array([2.0, 1.5, 1.0, 0.5, -0.25, -0.5, -0.75, -3.0])  # 8mer ... 7mer-mismatch, none


def prior_model(path: Path | None = None, seed: int = 2, **cfg) -> M.DeepTarget:
    """A toy network with a site prior (weights spread so that scores are not flat)."""
    torch.manual_seed(seed)
    net = M.DeepTarget(M.ModelConfig(site_prior=True, **cfg)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
        net.site_offsets.copy_(torch.from_numpy(OFFSETS))
    if path is not None:
        M.save_checkpoint(path, net, M.CheckpointInfo(kind="classifier", config=net.config, seed=seed))
    return net


def mixed_pairs(n: int, seed: int) -> list[Pair]:
    """let-7 / miR-21 windows: a third with an 8mer, a third with a 6mer, a third random."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        mirna = (LET7, MIR21)[i % 2]
        cts = "".join(rng.choice(list("ACGU"), 40))
        if i % 3 == 0:
            cts = cts[:28] + reverse_complement(mirna[1:8]) + "A" + cts[36:]
        elif i % 3 == 1:
            cts = cts[:29] + reverse_complement(mirna[1:7]) + cts[35:]
        out.append(Pair(f"m{i % 2}", mirna, f"t{i}", cts, int(rng.random() < 0.5), (), i + 2))
    return out


def test_fit_site_offsets_recovers_planted_offsets():
    rng = np.random.default_rng(0)
    n = 40_000
    logits = rng.normal(0, 1.5, n)
    types = rng.integers(0, sites.NO_SITE_INDEX, n)  # type 7 (7mer-mismatch) ... never 'none'
    types[types == 6] = sites.NO_SITE_INDEX  # so 7mer-mismatch is absent and 'none' present
    labels = (rng.random(n) < expit(logits + OFFSETS[types])).astype(np.int64)
    fitted = T.fit_site_offsets(logits, types, labels)
    present = np.unique(types)
    np.testing.assert_allclose(fitted[present], OFFSETS[present], atol=0.12)
    assert abs(fitted[6]) < 1e-6  # a type missing from the data keeps offset 0


def test_training_fits_the_prior_on_validation_and_it_lowers_the_validation_loss():
    torch.set_num_threads(1)
    train = T.encode_pairs(mixed_pairs(300, 1), 40)
    val = T.encode_pairs(mixed_pairs(300, 2), 40)
    assert set(np.unique(val.site_type).tolist()) >= {0, 3, sites.NO_SITE_INDEX}
    config = M.ModelConfig(layers=1, bidirectional=True, site_prior=True)
    model, _ = T.train_classifier(train, val, config, T.TrainOptions(epochs=1, batch_size=50, seed=1))
    offsets = model.site_offsets.numpy().copy()
    assert np.abs(offsets).max() > 0
    p_with = T.predict_scores(model, val)
    model.site_offsets.zero_()
    p_without = T.predict_scores(model, val)

    def log_loss(p):
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return -np.mean(val.labels * np.log(p) + (1 - val.labels) * np.log(1 - p))

    assert log_loss(p_with) < log_loss(p_without)
    logit = np.log(p_without / (1 - p_without))
    # the network's logit is float32 arithmetic recovered from a probability: 1e-9 was below
    # its rounding (2e-9 seen); an offset applied wrongly moves p by far more than 1e-6
    np.testing.assert_allclose(p_with, expit(logit + offsets[val.site_type]), atol=1e-6)
    with pytest.raises(Exception, match="validation"):
        T.train_classifier(train, None, config, T.TrainOptions(epochs=1))


@pytest.mark.parametrize("cfg", [{"layers": 1, "bidirectional": True, "pairing_offsets": (3, 4, 5)}, {"layers": 2}])
def test_predict_scorers_apply_the_prior_like_training(cfg):
    net = prior_model(**cfg)
    pairs = mixed_pairs(90, 3)
    data = T.encode_pairs(pairs, 40)
    want = T.predict_scores(net, data)
    mirnas = [LET7, MIR21]
    idx = np.array([i % 2 for i in range(len(pairs))])
    codes = scorers.encode_cts([p.mrna_seq for p in pairs], 40)
    for fast in (True, False):
        got = scorers.NeuralScorer(net, batch_size=32, fast=fast).score(mirnas, idx, codes, data.site_type)
        np.testing.assert_allclose(got, want, atol=1e-5)
    # the offsets matter: the same network without them scores differently
    with torch.no_grad():
        plain = net.predict_proba(
            torch.from_numpy(data.mirna), torch.from_numpy(data.cts), torch.full((len(pairs),), sites.NO_SITE_INDEX)
        )
    assert np.abs(plain.numpy() - want).max() > 0.05
    with pytest.raises(ValueError, match="site types"):
        scorers.NeuralScorer(net).score(mirnas, idx, codes)


def test_dt_predict_and_dt_explain_give_the_training_scores(tmp_path):
    path = tmp_path / "prior.pt"
    net = prior_model(path, layers=1, bidirectional=True, pairing_offsets=(3, 4, 5))
    pairs = mixed_pairs(30, 4)
    table = tmp_path / "pairs.tsv"
    with open(table, "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\n")
        f.writelines(f"{p.mirna_id}\t{p.mirna_seq}\t{p.mrna_id}\t{p.mrna_seq}\n" for p in pairs)
    res = subprocess.run(
        [str(BIN / "dt-predict"), "--pairs", str(table), "--model", str(path), "-p", "1"], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    got = np.array([float(line.split("\t")[-1]) for line in res.stdout.splitlines()[1:]])
    want = T.predict_scores(net, T.encode_pairs(pairs, 40))
    np.testing.assert_allclose(got, want, atol=2e-6)
    # dt-explain shows the same score; IG explains the network part: each pair's baseline
    # carries its own offset, so completeness still holds
    explained = ex.explain(net, ex.pairs_from_sequences([p.mirna_seq for p in pairs], [p.mrna_seq for p in pairs]), steps=32)
    np.testing.assert_allclose([e.score for e in explained], want, atol=1e-5)
    baselines = {round(e.baseline, 9) for e in explained}
    assert len(baselines) >= 3  # 8mer, 6mer and no-site pairs have different baselines
    np.testing.assert_allclose([e.attribution_sum for e in explained], [e.score - e.baseline for e in explained], atol=2e-3)


def test_cli_site_prior_needs_validation_and_is_stored(tmp_path):
    def write(path, pairs):
        with open(path, "w") as f:
            f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
            f.writelines(f"{p.mirna_id}\t{p.mirna_seq}\t{p.mrna_id}\t{p.mrna_seq}\t{p.label}\n" for p in pairs)
        return path

    train = write(tmp_path / "train.tsv", mixed_pairs(120, 5))
    val = write(tmp_path / "val.tsv", mixed_pairs(90, 6))
    base = [
        str(BIN / "dt-train"),
        "--train",
        str(train),
        "--no-pretrain",
        "--layers",
        "1",
        "--epochs",
        "1",
        "-p",
        "1",
        "--site-prior",
    ]
    res = subprocess.run(base + ["-o", str(tmp_path / "x.pt")], capture_output=True, text=True)
    assert res.returncode == 2 and "--val" in res.stderr and not (tmp_path / "x.pt").exists()
    res = subprocess.run(base + ["--val", str(val), "-o", str(tmp_path / "m.pt")], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    net, info = M.load_model(tmp_path / "m.pt")
    assert net.config.site_prior and list(info.metrics["site_prior"]) == [*sites.SITE_TYPES, "none"]
    np.testing.assert_allclose(list(info.metrics["site_prior"].values()), net.site_offsets.numpy(), atol=1e-6)
    assert "val_prior_roc_auc" in info.metrics
