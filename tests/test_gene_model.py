"""The gene model (issue 14): site-context features, a planted context rule learned from
synthetic functional data, determinism, checkpoints, dt-predict --aggregate model, dt-train
--level gene and dt-eval --functional against a hand-computed Spearman."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from deeptarget_core import gene_features as gf
from deeptarget_core import gene_model as gm
from deeptarget_core import gene_training as gt
from deeptarget_core.errors import InputError
from deeptarget_core.seq import reverse_complement

from conftest import BIN, ROOT

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"


def run(tool: str, *args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / tool), *map(str, args)], capture_output=True, text=True, **kw)


def random_utr(rng: np.random.Generator, n: int, mirnas=(LET7, MIR21)) -> str:
    """A random UTR without any canonical site of the given miRNAs (re-drawn where one appears)."""
    while True:
        seq = "".join(rng.choice(list("ACGU"), n, p=[0.3, 0.2, 0.2, 0.3]))
        if not any(reverse_complement(m[1:7]) in seq for m in mirnas):
            return seq


def features_of(mirna: str, utrs: dict[str, str]) -> pd.DataFrame:
    return gt.feature_frame({"m": mirna}, utrs)


# --------------------------------------------------------------------------- features


def test_site_context_features_by_hand():
    rng = np.random.default_rng(0)
    site = reverse_complement(LET7[1:8]) + "A"  # 8mer: pairs nt 2-8, A opposite nt 1
    # 3' supplementary pairing: the complement of nt 13-16 placed where it faces them
    supp = reverse_complement(LET7[12:16])
    body = random_utr(rng, 300)
    # site with its nt-8 pair at position 100 (0-based); nt 13-16 face positions 95-92
    with_supp = body[:92] + supp + body[96:100] + site + body[108:]
    plain = body[:100] + site + body[108:]
    near_stop = "AAAAA" + site + body[13:]
    f = features_of(LET7, {"supp": with_supp, "plain": plain, "stop": near_stop}).set_index("mrna_id")
    assert (f["n_8mer"] == 1).all() and (f["n_6mer"] == 0).all()
    assert f.loc["supp", "supp3_8mer"] >= 4.0  # nt 13-16 pair: 1 each
    assert f.loc["plain", "supp3_8mer"] < f.loc["supp", "supp3_8mer"]
    assert f.loc["stop", "near_stop_8mer"] == 1 and f.loc["plain", "near_stop_8mer"] == 0
    # distance to the nearer end: the 8mer starts at 101 (1-based) in a 300-nt UTR
    assert f.loc["plain", "min_dist_8mer"] == pytest.approx(np.log10(1 + 100))
    assert 0 < f.loc["plain", "au_8mer"] < 1
    assert f.loc["plain", "any_canonical"] == 1
    assert f.loc["plain", "log_utr_length"] == pytest.approx(np.log10(300))


def test_local_au_counts_only_known_flanks():
    codes = np.array([4] * 40 + [0] * 30 + [1] * 8 + [3] * 30 + [4] * 40, dtype=np.uint8)  # N.. A*30 site U*30 N..
    au = gf.local_au(codes, np.array([70]), np.array([77]))
    assert au[0] == pytest.approx(1.0)
    codes[40:70] = 2  # G upstream: half the weight is AU
    assert gf.local_au(codes, np.array([70]), np.array([77]))[0] == pytest.approx(0.5)


def test_cooperative_pairs_counted_between_8_and_40_nt():
    rng = np.random.default_rng(1)
    site = reverse_complement(LET7[1:8])
    body = random_utr(rng, 400)
    close = body[:100] + site + body[107:120] + site + body[127:]  # seed matches 20 nt apart
    far = body[:100] + site + body[107:250] + site + body[257:]
    f = features_of(LET7, {"close": close, "far": far}).set_index("mrna_id")
    assert f.loc["close", "coop_pairs"] == 1 and f.loc["far", "coop_pairs"] == 0
    assert f.loc["close", "n_8mer"] + f.loc["close", "n_7mer-m8"] == 2  # 8mer where an A follows


# --------------------------------------------------------------------------- the model


def planted_functional(n_genes: int = 240, seed: int = 3) -> tuple[pd.DataFrame, dict[str, str]]:
    """Two OE experiments; every gene has one 7mer-m8 site, half with 3' supplementary pairing;
    repression = 1 for those, 0 else, plus noise: the rule to learn."""
    rng = np.random.default_rng(seed)
    utrs, rows = {}, []
    for mirna, exp in ((LET7, "e1"), (MIR21, "e2")):
        site = reverse_complement(mirna[1:8])
        supp = reverse_complement(mirna[12:16])
        for i in range(n_genes):
            body = random_utr(rng, 200)
            has = i % 2 == 0
            seq = body[:92] + (supp if has else body[92:96]) + body[96:100] + site + "C" + body[108:]
            gene = f"{exp}_g{i}"
            utrs[gene] = seq
            rows.append((exp, "OE", f"mir-{exp}", mirna, gene, -(1.0 * has + rng.normal(0, 0.5))))
    return pd.DataFrame(rows, columns=["experiment", "type", "mirna_id", "mirna_seq", "mrna_id", "logFC"]), utrs


def write_functional(tmp: Path, frame: pd.DataFrame, utrs: dict[str, str]) -> tuple[Path, Path]:
    fpath, upath = tmp / "functional.tsv", tmp / "utrs.fa"
    frame.to_csv(fpath, sep="\t", index=False)
    upath.write_text("".join(f">{k}\n{v}\n" for k, v in utrs.items()))
    return fpath, upath


def test_gene_model_learns_a_planted_supplementary_pairing_rule(tmp_path):
    frame, utrs = planted_functional()
    fpath, upath = write_functional(tmp_path, frame, utrs)
    table = gt.functional_table(fpath, upath)
    train = table[table["mrna_id"].str.extract(r"_g(\d+)$")[0].astype(int) < 160]
    test = table.drop(train.index)
    model = gm.fit(train)
    coef = dict(zip(model.features, model.coef))
    assert coef["supp3_7mer-m8"] == max(coef.values())  # the planted rule carries the most weight
    s = model.score(test[list(gf.FEATURE_NAMES)].to_numpy())
    rho = gt.functional_metrics(test, s)["functional_all"]
    assert rho > 0.5  # noise sd 0.5 on a 0/1 effect
    # a site count cannot see the rule: every gene has one 7mer-m8
    assert np.ptp(gt.site_count(test)) == 0


def test_pairs_without_canonical_site_share_the_floor_below_all_others(tmp_path):
    frame, utrs = planted_functional(60)
    fpath, upath = write_functional(tmp_path, frame, utrs)
    model = gm.fit(gt.functional_table(fpath, upath))
    rng = np.random.default_rng(9)
    f = features_of(
        LET7, {"a": random_utr(rng, 500), "b": random_utr(rng, 2000), "c": "GG" + reverse_complement(LET7[1:7]) + "GGG"}
    )
    s = dict(zip(f["mrna_id"], model.score(f[list(gf.FEATURE_NAMES)].to_numpy())))
    assert s["a"] == s["b"] == model.floor
    assert s["c"] > model.floor


def test_fit_and_checkpoint_are_deterministic_and_round_trip(tmp_path):
    frame, utrs = planted_functional(60)
    fpath, upath = write_functional(tmp_path, frame, utrs)
    table = gt.functional_table(fpath, upath)
    gm.save(tmp_path / "a.pt", gm.fit(table), seed=1)
    gm.save(tmp_path / "b.pt", gm.fit(gt.functional_table(fpath, upath)), seed=1)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    loaded = gm.load(tmp_path / "a.pt")
    x = table[list(gf.FEATURE_NAMES)].to_numpy()
    np.testing.assert_allclose(loaded.score(x), gm.fit(table).score(x), rtol=0, atol=1e-12)


def test_load_refuses_foreign_and_edited_files(tmp_path):
    import torch

    with pytest.raises(InputError, match="classifier"):
        gm.load(ROOT / "deeptarget_core" / "models" / "default.pt")  # the site network
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="not a deepTarget gene model"):
        gm.load(tmp_path / "junk.pt")
    payload = torch.load(gm.default_path(), weights_only=True)
    payload["tensors"]["coef"] = payload["tensors"]["coef"] * float("nan")
    torch.save(payload, tmp_path / "nan.pt")
    with pytest.raises(InputError, match="tensors.coef"):
        gm.load(tmp_path / "nan.pt")
    payload = torch.load(gm.default_path(), weights_only=True)
    payload["features"] = ["no_such_feature"]
    torch.save(payload, tmp_path / "feat.pt")
    with pytest.raises(InputError, match="features"):
        gm.load(tmp_path / "feat.pt")
    with pytest.raises(InputError, match="gzip"):
        gm.load(tmp_path / "x.pt.gz")


def test_packaged_gene_model_loads_and_uses_no_network():
    model = gm.load()
    assert model.kind == "occupancy" and not model.uses_network
    assert 0 < model.floor < 0.5 and model.metrics["functional_canonical"] > model.metrics["functional_all"] > 0


def test_grouped_cv_keeps_families_and_genes_apart(tmp_path, monkeypatch):
    frame, utrs = planted_functional(60)
    fpath, upath = write_functional(tmp_path, frame, utrs)
    table = gt.functional_table(fpath, upath)
    seen = []
    real_fit = gm.fit

    def spy(train, *a, **k):
        seen.append((set(train["mirna_seq"].str[1:8]), set(train["mrna_id"])))
        return real_fit(train, *a, **k)

    monkeypatch.setattr(gm, "fit", spy)
    families = gt.fold_of(table["mirna_seq"].str[1:8], 2, 1)
    genes = gt.fold_of(table["mrna_id"], 2, 2)
    out = gt.grouped_cv(table, None, k=2, seed=1)
    assert len(seen) == 4
    for (fams, gs), (i, j) in zip(seen, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        assert not any(families[f] == i for f in fams)
        assert not any(genes[g] == j for g in gs)
    assert set(out["predictor"]) >= {"gene model", "site count (8mer 3, 7mer-m8 2, 7mer-A1 1.5, 6mer 0.5)"}


# --------------------------------------------------------------------------- tools


def test_dt_train_gene_then_dt_predict_and_dt_eval_functional(tmp_path):
    frame, utrs = planted_functional(80)
    fpath, upath = write_functional(tmp_path, frame, utrs)
    res = run("dt-train", "--level", "gene", "--functional", fpath, "--utr", upath, "-o", tmp_path / "gene.pt")
    assert res.returncode == 0, res.stderr
    mirnas = tmp_path / "m.fa"
    mirnas.write_text(f">mir-e1\n{LET7}\n>mir-e2\n{MIR21}\n")
    res = run(
        "dt-predict",
        "--mirna",
        mirnas,
        "--utr",
        upath,
        "--model",
        "seed-match",
        "--gene-model",
        tmp_path / "gene.pt",
        "-o",
        tmp_path / "s.tsv",
        "--gene-output",
        tmp_path / "g.tsv",
    )
    assert res.returncode == 0, res.stderr
    genes = pd.read_csv(tmp_path / "g.tsv", sep="\t")
    assert list(genes.columns) == [
        "mirna_id",
        "mrna_id",
        "score",
        "n_sites",
        "best_site_type",
        "predicted_log2fc",
        "rank",
        "gene_name",
    ]
    # the same scores and fold changes from the library on the training table
    table = gt.functional_table(fpath, upath)
    model = gm.load(tmp_path / "gene.pt")
    x = table[list(gf.FEATURE_NAMES)].to_numpy()
    occ = gt.occupancy_of(model, gt.sites_of(table, upath), table)  # the default: the occupancy form
    got = (
        table[["mirna_id", "mrna_id"]]
        .assign(want=model.score(x, occ), want_fc=model.predicted_log2fc(x, occ))
        .merge(genes, on=["mirna_id", "mrna_id"])
    )
    assert len(got) > 0 and np.allclose(got["want"], got["score"], atol=1e-6)
    assert np.allclose(got["want_fc"], got["predicted_log2fc"], atol=1e-6)
    # repression is 1 log2 unit for the genes with 3' pairing, 0 for the others: the higher
    # score comes with the more negative fold change, within a miRNA
    for _, g in genes.groupby("mirna_id"):
        assert (g["predicted_log2fc"] <= 0).all() and g["predicted_log2fc"].corr(g["score"], method="spearman") < -0.99
    res = run(
        "dt-eval", tmp_path / "g.tsv", "--name", "model", "--functional", fpath, "--utr", upath, "-o", tmp_path / "e.tsv", "-q"
    )
    assert res.returncode == 0, res.stderr
    ev = pd.read_csv(tmp_path / "e.tsv", sep="\t")
    mean = ev[ev["experiment"] == "mean"].set_index("predictor")
    assert mean.loc["model", "spearman_all"] > 0.4
    assert np.isnan(mean.loc["site count", "spearman_all"])  # one 7mer-m8 everywhere: no ranking at all
    # ... which is said, and so is that the gene model was trained on these very experiments
    # (the checkpoint records them, also under another id); counts are shown as whole numbers
    n_exp = frame["experiment"].nunique()
    renamed = tmp_path / "renamed.tsv"
    renamed.write_text(fpath.read_text().replace("\te1\t", "\tcopy\t").replace("\ne1\t", "\ncopy\t"))
    res = run("dt-eval", tmp_path / "g.tsv", "--name", "model", "--functional", renamed, "--utr", upath, "--gene-model",
              tmp_path / "gene.pt", "-o", tmp_path / "e2.tsv")  # fmt: skip
    assert res.returncode == 0, res.stderr
    said = " ".join(res.stderr.split())
    assert f"site count: spearman_all cannot be computed in {n_exp} of {n_exp} experiments" in said
    assert "its scores are all equal there" in said
    assert f"{n_exp} of the {n_exp} evaluated experiments (" in said
    assert f"are among the {n_exp} the gene model {tmp_path / 'gene.pt'} was trained on" in said
    for line in (tmp_path / "e2.tsv").read_text().splitlines()[1:]:  # genes, genes_canonical: whole numbers
        assert line.split("\t")[2].isdigit() and line.split("\t")[4].isdigit(), line
    genes_total = str(int(mean.loc["model", "genes"]))
    assert genes_total in res.stderr and f"{genes_total}.0000" not in res.stderr
    assert gm.load(tmp_path / "gene.pt").training["trained_on"] == gt.experiment_fingerprints(gt.read_functional(fpath))
    # another table's experiments: no such warning
    other = frame.assign(experiment=frame["experiment"] + "_b", logFC=frame["logFC"] + 0.01)
    (tmp_path / "other").mkdir()
    opath, _ = write_functional(tmp_path / "other", other, utrs)
    res = run("dt-eval", tmp_path / "g.tsv", "--functional", opath, "--utr", upath, "--gene-model", tmp_path / "gene.pt",
              "-o", tmp_path / "e3.tsv")  # fmt: skip
    assert res.returncode == 0 and "trained on" not in res.stderr, res.stderr
    res = run("dt-train", "--level", "gene", "--functional", fpath, "--utr", upath, "--cv", "2", "-o", tmp_path / "cv.tsv")
    assert res.returncode == 0, res.stderr
    cv = pd.read_csv(tmp_path / "cv.tsv", sep="\t").set_index("predictor")
    assert cv.loc["gene model, occupancy form (default)", "functional_all"] > 0.3


def test_dt_eval_functional_against_a_hand_computed_spearman(tmp_path):
    rng = np.random.default_rng(5)
    site = reverse_complement(LET7[1:8])
    utrs = {f"g{i}": random_utr(rng, 100) for i in range(6)}
    for i in (0, 1, 2):  # three genes with one 7mer-m8, three without a site
        utrs[f"g{i}"] = utrs[f"g{i}"][:40] + site + utrs[f"g{i}"][47:]
    logfc = [-0.9, -0.5, -0.1, 0.2, 0.0, 0.4]  # OE: repression = -logFC
    frame = pd.DataFrame(
        {
            "experiment": "e",
            "type": "OE",
            "mirna_id": "let-7",
            "mirna_seq": LET7,
            "mrna_id": [f"g{i}" for i in range(6)],
            "logFC": logfc,
        }
    )
    fpath, upath = write_functional(tmp_path, frame, utrs)
    scores = [0.9, 0.7, 0.8, 0.1, 0.3, 0.2]
    (tmp_path / "p.tsv").write_text("mirna_id\tmrna_id\tscore\n" + "".join(f"let-7\tg{i}\t{s}\n" for i, s in enumerate(scores)))
    res = run("dt-eval", tmp_path / "p.tsv", "--name", "p", "--functional", fpath, "--utr", upath, "-o", tmp_path / "e.tsv", "-q")
    assert res.returncode == 0, res.stderr
    ev = pd.read_csv(tmp_path / "e.tsv", sep="\t").set_index(["predictor", "experiment"])
    # ranks of score: 6 4 5 1 3 2; ranks of repression (0.9 .5 .1 -.2 0 -.4): 6 5 4 2 3 1
    d2 = 0**2 + 1**2 + 1**2 + 1**2 + 0**2 + 1**2
    assert ev.loc[("p", "e"), "spearman_all"] == pytest.approx(1 - 6 * d2 / (6 * 35), abs=1e-4)
    # genes with a canonical site: g0-g2, score ranks 3 1 2, repression ranks 3 2 1 -> rho 0.5
    assert ev.loc[("p", "e"), "spearman_canonical"] == pytest.approx(0.5, abs=1e-4)
    assert ev.loc[("p", "e"), "genes_canonical"] == 3
    # the 10% most repressed of 6 genes: g0 alone, scored highest -> AUC 1
    assert ev.loc[("p", "e"), "auc_top10"] == pytest.approx(1.0)
    res = run("dt-eval", tmp_path / "p.tsv", "--functional", fpath, "-o", tmp_path / "x.tsv")
    assert res.returncode == 2 and "--utr" in res.stderr and not (tmp_path / "x.tsv").exists()


def test_functional_table_errors_name_file_and_line(tmp_path):
    frame, utrs = planted_functional(4)
    frame["logFC"] = frame["logFC"].astype(object)
    frame.loc[3, "logFC"] = "1_0"
    fpath, upath = write_functional(tmp_path, frame, utrs)
    with pytest.raises(InputError) as err:
        gt.functional_table(fpath, upath)
    assert f"{fpath}:5" in str(err.value) and "logFC" in str(err.value)


def test_supplementary_pairing_equals_a_per_site_reference():
    """The vectorised 3' pairing score (int8 half points, windows without an index matrix away
    from the buffer's ends) against the rule written out site by site."""
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 5, size=400).astype(np.uint8)
    partners = gf._PARTNER_OF[rng.integers(0, 5, size=(300, len(gf.SUPP_NT)))]
    p2 = np.concatenate([rng.integers(0, 400, size=290), [0, 3, 10, 22, 399, 398, 390, 380, 200, 201]])
    planted = np.array([1.0 if 13 <= k <= 16 else 0.5 for k in gf.SUPP_NT])

    def reference(partner, p):
        best = 0.0
        for o in gf._SUPP_OFFSETS:
            run = top = 0.0
            for j, k in enumerate(gf.SUPP_NT):
                at = min(max(p - (k - 2) - o, 0), len(codes) - 1)
                run = run + planted[j] if codes[at] == partner[j] else 0.0
                top = max(top, run)
            best = max(best, top - 0.5 * max(0, abs(o) - 2))
        return best

    want = [reference(partners[i], int(p2[i])) for i in range(len(p2))]
    got = gf.supplementary_pairing(partners, codes, p2)
    assert max(want) >= 2.0 and got.tolist() == want
    inner = (p2 > 30) & (p2 < 370)  # all windows inside the buffer: the index-free path
    assert gf.supplementary_pairing(partners[inner], codes, p2[inner]).tolist() == [w for w, i in zip(want, inner) if i]
