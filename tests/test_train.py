"""dt-pretrain / dt-train: the network learns, is deterministic, and its checkpoints are safe."""

from __future__ import annotations

import pickle
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from deeptarget_core import model as M
from deeptarget_core import train as T
from deeptarget_core.errors import InputError
from deeptarget_core.io import Pair

from conftest import BIN

MIRNA = "UGAGGUAGUAGGUUGUAUAGUU"
SITE_8MER = "CUACCUCA"  # pairs let-7 nt 2-8 plus A1


def planted_pairs(n: int, seed: int) -> list[Pair]:
    """Half the CTSs carry a let-7 8mer at window positions 29-36, half are random without one."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        while True:
            cts = "".join(rng.choice("ACGU") for _ in range(40))
            if "UACCUC" not in cts:
                break
        label = i % 2
        if label:
            cts = cts[:28] + SITE_8MER + cts[36:]
        out.append(Pair("let7", MIRNA, f"t{i}", cts, label, (), i + 2))
    return out


def write_pairs(path: Path, pairs: list[Pair]) -> Path:
    with open(path, "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n")
        for p in pairs:
            f.write(f"{p.mirna_id}\t{p.mirna_seq}\t{p.mrna_id}\t{p.mrna_seq}\t{p.label}\n")
    return path


def test_shapes_and_padding():
    net = M.DeepTarget(M.ModelConfig(layers=3, bidirectional=True)).eval()
    mirna = torch.from_numpy(T.encode_batch([MIRNA, MIRNA[:10]], 40))
    cts = torch.randint(1, 5, (2, 40))
    assert net.encode_mirna(mirna).shape == (2, 40, 30)
    assert [s.shape[-1] for s in net.interaction_states(net.encode_mirna(mirna), net.encode_cts(cts))] == [120, 120, 60]
    assert net(mirna, cts).shape == (2, 2)
    # padding code 0 embeds to the zero vector
    assert torch.all(net.mirna_ae.embedding.weight[0] == 0)


def _window_with_site(mirna: str, n_paired: int, with_a1: bool) -> str:
    """A 40-nt CTS (5'->3') whose site ends at position 36, as dt-scan-cts cuts it."""
    comp = {"A": "U", "U": "A", "G": "C", "C": "G"}
    site = "".join(comp[c] for c in mirna[1 : 1 + n_paired])[::-1] + ("A" if with_a1 else "")
    return "C" * (36 - len(site)) + site + "CCCC"


def test_pairing_channels_describe_the_seed_duplex():
    from deeptarget_core.seq import encode

    m = torch.from_numpy(np.pad(encode(MIRNA), (0, 18)).astype(np.int64))[None]

    def channels(window):
        return M.pairing_features(m, torch.from_numpy(encode(window).astype(np.int64))[None], (3, 4, 5))[0]

    eight = channels(_window_with_site(MIRNA, 7, True))  # 8mer: nt 1 faces the A1, step 4
    assert eight[:8, 1].tolist() == [1.0] * 8  # nt 1-8 against steps 4-11 (nt 1: U:A)
    seven = channels(_window_with_site(MIRNA, 7, False))  # 7mer-m8: site end is nt 2, step 4
    assert seven[1:8, 0].tolist() == [1.0] * 7  # nt 2-8 against steps 4-10 at offset 3
    wobble = _window_with_site(MIRNA, 7, True)
    assert MIRNA[5] == "U" and wobble[30] == "A"  # nt 6 faces window position 31 (step 9)
    wobble = wobble[:30] + "G" + wobble[31:]  # now U:G, a wobble
    assert channels(wobble)[5, 1].item() == 0.5
    blanked = "N" * 40
    assert channels(blanked).abs().sum().item() == 0.0  # N and padding never pair
    # Offsets of the CTS geometry: a site end at cts_length - CTS_DOWNSTREAM.
    from deeptarget_core.sites import CTS_DOWNSTREAM

    assert M.DEFAULT_PAIRING_OFFSETS == (CTS_DOWNSTREAM - 1, CTS_DOWNSTREAM, CTS_DOWNSTREAM + 1)


def test_pairing_config_round_trips_and_old_checkpoints_load_without_it(tmp_path):
    cfg = M.ModelConfig(layers=1, bidirectional=True, pairing_offsets=(3, 4, 5))
    net = M.DeepTarget(cfg).eval()
    assert net.interaction[0].input_size == 2 * cfg.encoder_hidden + 3
    M.save_checkpoint(tmp_path / "p.pt", net, M.CheckpointInfo(kind="classifier", config=cfg))
    loaded, info = M.load_model(tmp_path / "p.pt")
    assert info.config.pairing_offsets == (3, 4, 5)
    codes = torch.randint(1, 5, (4, 40))
    assert torch.equal(loaded.predict_proba(codes[:, :22], codes), net.predict_proba(codes[:, :22], codes))
    old = M.asdict(M.ModelConfig())
    old.pop("pairing_offsets")  # checkpoints written before the option existed
    assert M.ModelConfig.from_dict(old).pairing_offsets == ()
    with pytest.raises(ValueError):
        M.ModelConfig(pairing_offsets=(40,))


def test_long_and_short_cts_keep_the_seed_end():
    pairs = [Pair("m", MIRNA, "a", "A" * 10 + "C" * 40, 1, (), 2), Pair("m", MIRNA, "b", "G" * 30, 0, (), 3)]
    data = T.encode_pairs(pairs, 40)
    assert data.cts[0].tolist() == [2] * 40  # the 3' 40 nt kept
    assert data.cts[1].tolist() == [0] * 10 + [3] * 30  # padded on the 5' side


def test_tiny_model_learns_a_planted_8mer_rule():
    torch.set_num_threads(1)
    train = T.encode_pairs(planted_pairs(400, 1), 40)
    val = T.encode_pairs(planted_pairs(200, 2), 40)
    # bidirectional: the backward pass ends on the seed region, so the rule is learnt in seconds
    config = M.ModelConfig(layers=1, dropout=0.0, bidirectional=True)
    model, history = T.train_classifier(train, val, config, T.TrainOptions(epochs=6, batch_size=20, lr=0.01, seed=3, patience=9))
    metrics = T.evaluate(model, val)
    assert metrics["accuracy"] > 0.95, history
    assert len(history) >= 1 and "val_roc_auc" in history[0]


def test_same_seed_same_weights_different_seed_different():
    torch.set_num_threads(1)
    data = T.encode_pairs(planted_pairs(100, 1), 40)
    opts = T.TrainOptions(epochs=1, batch_size=20, seed=5)
    a, _ = T.train_classifier(data, None, M.ModelConfig(layers=1), opts)
    b, _ = T.train_classifier(data, None, M.ModelConfig(layers=1), opts)
    c, _ = T.train_classifier(data, None, M.ModelConfig(layers=1), T.TrainOptions(epochs=1, batch_size=20, seed=6))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
    assert any(not torch.equal(va, vc) for va, vc in zip(a.state_dict().values(), c.state_dict().values()))


def test_checkpoint_round_trip(tmp_path):
    net = M.DeepTarget(M.ModelConfig(cell="lstm", layers=1)).eval()
    info = M.CheckpointInfo(kind="classifier", config=net.config, seed=4, metrics={"roc_auc": 0.9})
    M.save_checkpoint(tmp_path / "m.pt", net, info)
    loaded, got = M.load_model(tmp_path / "m.pt")
    assert got.config == net.config and got.metrics["roc_auc"] == 0.9 and got.seed == 4
    x, y = torch.randint(0, 5, (3, 22)), torch.randint(0, 5, (3, 40))
    assert torch.equal(net(x, y), loaded(x, y))


def test_foreign_truncated_and_malicious_checkpoints_are_refused(tmp_path):
    net = M.DeepTarget(M.ModelConfig())
    good = tmp_path / "good.pt"
    M.save_checkpoint(good, net, M.CheckpointInfo(kind="classifier", config=net.config))
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)

    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    evil = tmp_path / "evil.pt"
    with open(evil, "wb") as f:
        pickle.dump({"format": "deeptarget-checkpoint", "x": Evil()}, f)
    other_arch = tmp_path / "arch.pt"
    M.save_checkpoint(
        other_arch, M.DeepTarget(M.ModelConfig(layers=1)), M.CheckpointInfo(kind="classifier", config=M.ModelConfig(layers=3))
    )
    future = tmp_path / "future.pt"
    payload = torch.load(good, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, future)
    for path, message in [
        (truncated, "truncated or corrupt"),
        (foreign, "not a deepTarget checkpoint"),
        (evil, "refused"),
        (other_arch, "do not fit"),
        (future, "format version 99"),
        (tmp_path / "missing.pt", "no such checkpoint"),
    ]:
        with pytest.raises(InputError, match=message):
            M.load_model(path)


def test_pretrain_reconstructs_and_loads_into_the_network(tmp_path):
    torch.set_num_threads(1)
    pairs = planted_pairs(200, 3)
    result = T.pretrain_autoencoders(
        [p.mirna_seq for p in pairs], [p.mrna_seq for p in pairs], M.ModelConfig(), epochs=3, lr=0.02
    )
    assert result.history[-1]["cts_accuracy"] > 0.9
    T.save_pretrained(tmp_path / "ae.pt", result, M.ModelConfig(), seed=1, digest=None)
    net = M.DeepTarget(M.ModelConfig())
    T.load_pretrained_into(net, tmp_path / "ae.pt")
    assert torch.equal(net.cts_ae.encoder.weight_ih_l0, result.cts_ae.encoder.weight_ih_l0)
    with pytest.raises(InputError, match="gru/30"):
        T.load_pretrained_into(M.DeepTarget(M.ModelConfig(cell="lstm")), tmp_path / "ae.pt")


def test_resume_continues_to_the_same_weights(tmp_path):
    torch.set_num_threads(1)
    data = T.encode_pairs(planted_pairs(120, 1), 40)
    val = T.encode_pairs(planted_pairs(40, 2), 40)
    cfg = M.ModelConfig(layers=1)
    full, hist_full = T.train_classifier(data, val, cfg, T.TrainOptions(epochs=3, batch_size=20, seed=2, patience=9))
    resume = tmp_path / "run.resume"
    T.train_classifier(data, val, cfg, T.TrainOptions(epochs=2, batch_size=20, seed=2, patience=9), resume_path=resume)
    resumed, hist = T.train_classifier(
        data, val, cfg, T.TrainOptions(epochs=3, batch_size=20, seed=2, patience=9), resume_path=resume
    )
    assert [r["epoch"] for r in hist] == [1, 2, 3]
    for va, vb in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.allclose(va, vb, atol=1e-6)


def test_cross_validation_grouped_by_mirna_keeps_mirnas_apart():
    rng = random.Random(0)
    pairs = []
    for m in range(6):
        mirna = "".join(rng.choice("ACGU") for _ in range(22))
        pairs += [Pair(f"m{m}", mirna, f"t{i}", "".join(rng.choice("ACGU") for _ in range(40)), i % 2, (), 2) for i in range(10)]
    data = T.encode_pairs(pairs, 40)
    folds = list(T.cv_folds(data, 3, True, seed=1))
    assert len(folds) == 3
    for train_idx, test_idx in folds:
        assert len(test_idx) and not {data.groups[i] for i in train_idx} & {data.groups[i] for i in test_idx}


def test_cli_pretrain_train_and_cv(tmp_path):
    train = write_pairs(tmp_path / "train.tsv", planted_pairs(200, 1))
    val = write_pairs(tmp_path / "val.tsv", planted_pairs(60, 2))
    ae = tmp_path / "ae.pt"
    res = subprocess.run(
        [str(BIN / "dt-pretrain"), "--pairs", str(train), "--epochs", "1", "-p", "1", "-o", str(ae)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert "reconstruction accuracy" in res.stderr
    model = tmp_path / "model.pt"
    res = subprocess.run(
        [
            str(BIN / "dt-train"),
            "--train",
            str(train),
            "--val",
            str(val),
            "--pretrained",
            str(ae),
            "--epochs",
            "2",
            "-p",
            "1",
            "-o",
            str(model),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    net, info = M.load_model(model)
    assert info.kind == "classifier" and info.metrics["best_epoch"] in (1, 2)
    log_rows = (tmp_path / "model.pt.log.tsv").read_text().splitlines()
    assert log_rows[0].split("\t")[:3] == ["epoch", "train_loss", "val_loss"] and len(log_rows) == 3
    assert not (tmp_path / "model.pt.resume").exists()
    # unlabeled training table and missing pretraining are clear errors
    nolabel = tmp_path / "nolabel.tsv"
    nolabel.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm\tUGAGGUAGUAGG\tt\tACGUACGU\n")
    res = subprocess.run(
        [str(BIN / "dt-train"), "--train", str(nolabel), "--no-pretrain", "-o", str(tmp_path / "x.pt")],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1 and "label column" in res.stderr and not (tmp_path / "x.pt").exists()
    res = subprocess.run(
        [str(BIN / "dt-train"), "--train", str(train), "-o", str(tmp_path / "x.pt")], capture_output=True, text=True
    )
    assert res.returncode == 2


@pytest.mark.parametrize("group", [True, False])
def test_cross_validate_small_k_runs_and_summarises(group):
    torch.set_num_threads(1)
    rng = random.Random(1)
    pairs = []
    for m in range(4):
        mirna = "".join(rng.choice("ACGU") for _ in range(22))
        pairs += [Pair(f"m{m}", mirna, f"t{i}", "".join(rng.choice("ACGU") for _ in range(40)), i % 2, (), 2) for i in range(12)]
    data = T.encode_pairs(pairs, 40)
    result = T.cross_validate(data, 2, group, M.ModelConfig(layers=1), T.TrainOptions(epochs=1, batch_size=16))
    rows = result.rows
    assert [r["fold"] for r in rows] == ["1", "2", "mean", "sd"]
    assert 0.0 <= rows[2]["roc_auc"] <= 1.0
    # every pair is scored once, by the fold that held it out, and the fold rows are its metrics
    assert sorted(set(result.folds.tolist())) == [1, 2] and np.isfinite(result.scores).all()
    for fold in (1, 2):
        held = result.folds == fold
        again = T.binary_metrics(data.labels[held], result.scores[held])
        assert again["roc_auc"] == pytest.approx(rows[fold - 1]["roc_auc"])


def test_cli_cv_writes_fold_metrics_and_out_of_fold_predictions(tmp_path):
    rng = random.Random(2)
    pairs = []
    for m in range(4):
        mirna = "".join(rng.choice("ACGU") for _ in range(22))
        pairs += [
            Pair(f"m{m}", mirna, f"t{m}_{i}", "".join(rng.choice("ACGU") for _ in range(40)), i % 2, (), 2) for i in range(10)
        ]
    table = tmp_path / "pairs.tsv"
    with open(table, "w") as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\tsource\tscore\n")  # score: e.g. a duplex score
        for i, p in enumerate(pairs):
            f.write(f"{p.mirna_id}\t{p.mirna_seq}\t{p.mrna_id}\t{p.mrna_seq}\t{p.label}\t{'decoy' if i % 3 else 'miraw'}\t{i}\n")
    out, oof = tmp_path / "cv.tsv", tmp_path / "oof.tsv"
    cmd = [
        str(BIN / "dt-train"),
        "--train",
        str(table),
        "--no-pretrain",
        "--cv",
        "2",
        "--group-by",
        "mirna",
        "--layers",
        "1",
        "--pairing",
        "--epochs",
        "1",
        "-p",
        "1",
        "-q",
        "-o",
        str(out),
        "--cv-predictions",
        str(oof),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert [r.split("\t")[0] for r in out.read_text().splitlines()] == ["fold", "1", "2", "mean", "sd"]
    rows = [r.split("\t") for r in oof.read_text().splitlines()]
    assert rows[0] == ["mirna_id", "mrna_id", "source", "label", "fold", "score"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [(p.mirna_id, p.mrna_id, str(p.label)) for p in pairs]
    folds = {}
    for r in rows[1:]:
        folds.setdefault(r[0], set()).add(r[4])
        assert 0.0 <= float(r[5]) <= 1.0
    assert all(len(f) == 1 for f in folds.values())  # grouped: one fold per miRNA
    res = subprocess.run(cmd[:-1] + [str(tmp_path / "y.tsv")], capture_output=True, text=True)
    assert res.returncode == 0
    assert (tmp_path / "y.tsv").read_bytes() == oof.read_bytes()  # same seed, same bytes


def test_mirna_balancer_gives_each_mirna_equal_labels_and_sees_every_pair():
    labels = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0])
    groups = ["a", "a", "a", "a", "b", "b", "b", "c", "c", "c", "d", "d"]  # a: 1 of 4, b: all, c: none
    balancer = T.MirnaBalancer(labels, groups)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(20):
        idx = balancer.epoch(rng)
        assert not set(idx.tolist()) & {4, 5, 6, 7, 8, 9}  # single-label miRNAs teach only the shortcut
        for g in ("a", "d"):
            mine = [i for i in idx if groups[i] == g]
            assert sum(labels[mine]) * 2 == len(mine)  # as many positives as negatives
        seen |= set(idx.tolist())
    assert seen == {0, 1, 2, 3, 10, 11}  # the majority label is redrawn: all of it gets seen
    with pytest.raises(InputError):
        T.MirnaBalancer(np.array([1, 1, 0]), ["x", "x", "y"])


def test_balanced_training_ignores_a_label_skewed_mirna_identity():
    """A miRNA whose pairs are 90% positive in training: unweighted, the network learns its
    identity (its random windows score high); balanced, it scores them like another miRNA's."""
    torch.set_num_threads(1)
    rng = random.Random(4)
    skewed, plain = MIRNA, "UAGCUUAUCAGACUGAUGUUGA"

    def rand(n):
        return "".join(rng.choice("ACGU") for _ in range(n))

    pairs = []
    for i in range(300):
        mirna = skewed if i % 2 else plain
        label = (rng.random() < 0.9) if mirna == skewed else (rng.random() < 0.5)
        pairs.append(Pair("s" if mirna == skewed else "p", mirna, f"t{i}", rand(40), int(label), (), i + 2))
    data = T.encode_pairs(pairs, 40)
    probe = T.encode_pairs(
        [Pair(x, m, f"q{j}", rand(40), 0, (), 2) for j in range(100) for x, m in (("s", skewed), ("p", plain))], 40
    )
    gaps = {}
    for balance in (False, True):
        opts = T.TrainOptions(epochs=4, batch_size=20, lr=0.01, seed=1, balance_by_mirna=balance)
        model, _ = T.train_classifier(data, None, M.ModelConfig(layers=1, dropout=0.0), opts)
        p = T.predict_scores(model, probe)
        gaps[balance] = p[0::2].mean() - p[1::2].mean()  # skewed miRNA minus plain, same kind of windows
    assert gaps[False] > 0.12, gaps  # measured 0.18 (the full skew is 0.4)
    assert abs(gaps[True]) < 0.05, gaps  # measured -0.004


@pytest.mark.parametrize("select_by", ["roc_auc", "within_mirna_auc"])
def test_kept_weights_and_reported_best_epoch_follow_select_by(select_by):
    torch.set_num_threads(1)
    rng = random.Random(5)
    mirnas = ["".join(rng.choice("ACGU") for _ in range(22)) for _ in range(4)]
    pairs = planted_pairs(240, 1)
    pairs = [
        Pair(f"m{i % 4}", mirnas[i % 4] if i % 3 else p.mirna_seq, p.mrna_id, p.mrna_seq, p.label, (), p.line)
        for i, p in enumerate(pairs)
    ]
    train, val = T.encode_pairs(pairs[:160], 40), T.encode_pairs(pairs[160:], 40)
    opts = T.TrainOptions(epochs=5, batch_size=20, lr=0.01, seed=2, patience=9, select_by=select_by)
    model, history = T.train_classifier(train, val, M.ModelConfig(layers=1, dropout=0.0), opts)
    best = T.best_epoch_row(history, select_by)
    assert best[f"val_{select_by}"] == max(r[f"val_{select_by}"] for r in history)
    kept = T.evaluate(model, val)  # the returned weights are that epoch's
    assert kept[select_by] == pytest.approx(best[f"val_{select_by}"], abs=1e-9)


def test_balance_by_mirna_on_single_label_mirnas_names_the_table(tmp_path):
    """A table whose miRNAs each carry one label (mock-miRNA negatives) cannot be balanced:
    one line naming the table, exit 1, no checkpoint."""
    pairs = planted_pairs(40, 1)
    mock = "UGGAGUGUGACAAUGGUGUUUG"
    table = write_pairs(
        tmp_path / "mock_only.tsv", [p if p.label else Pair("mock", mock, p.mrna_id, p.mrna_seq, 0, (), p.line) for p in pairs]
    )
    out = tmp_path / "m.pt"
    res = subprocess.run(
        [
            str(BIN / "dt-train"),
            "--train",
            str(table),
            "--no-pretrain",
            "--balance-by-mirna",
            "--epochs",
            "1",
            "-p",
            "1",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1 and "mock_only.tsv" in res.stderr and "both labels" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not out.exists()
