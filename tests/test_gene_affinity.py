"""Issue 28: site affinities learned through the occupancy form (gene_affinity): a planted
flanking-nucleotide rule learned from gene-level fold changes only, saturation, determinism,
checkpoint round trip and refusals, and dt-predict's gene rows under the occupancy model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from test_gene_model import LET7, MIR21, random_utr, write_functional

from deeptarget_core import gene_affinity as ga
from deeptarget_core import gene_features as gf
from deeptarget_core import gene_model as gm
from deeptarget_core import gene_training as gt
from deeptarget_core.errors import InputError
from deeptarget_core.seq import reverse_complement


def planted_flanks(n_genes: int = 200, seed: int = 4):
    """Two OE experiments; every gene has one 7mer-m8 site (a C after it: no 8mer); half
    have UU 3' of the site frame, half CC. Repression = 1 for the UU sites, 0 else, plus
    noise. The local AU around the sites is otherwise the same by construction."""
    rng = np.random.default_rng(seed)
    utrs, rows = {}, []
    for mirna, exp in ((LET7, "e1"), (MIR21, "e2")):
        site = reverse_complement(mirna[1:8])
        for i in range(n_genes):
            body = random_utr(rng, 200)
            good = i % 2 == 0
            # 5'... site(7) + C (opposite nt 1) + flank(2) ...3'
            seq = body[:100] + site + "C" + ("UU" if good else "CC") + body[110:]
            gene = f"{exp}_g{i}"
            utrs[gene] = seq
            rows.append((exp, "OE", f"mir-{exp}", mirna, gene, -(1.0 * good + rng.normal(0, 0.5))))
    return pd.DataFrame(rows, columns=["experiment", "type", "mirna_id", "mirna_seq", "mrna_id", "logFC"]), utrs


def fitted(tmp_path, frame, utrs):
    fpath, upath = write_functional(tmp_path, frame, utrs)
    table = gt.functional_table(fpath, upath)
    sites = gt.sites_of(table, upath)
    return table, sites


def test_a_planted_flank_rule_is_learned_from_gene_fold_changes_only(tmp_path):
    frame, utrs = planted_flanks()
    table, sites = fitted(tmp_path, frame, utrs)
    genes = table["mrna_id"].str.extract(r"_g(\d+)$")[0].astype(int)
    train, test = table[genes < 140], table[genes >= 140]
    model = gm.fit_occupancy(train, sites)
    w = dict(zip(ga.SITE_COLUMNS, model.occupancy.site_coef))
    # the affinity of a site rises with U 3' of its frame, falls with C there
    assert w["f3_1_U"] > w["f3_1_C"] and w["f3_2_U"] > w["f3_2_C"]
    assert w["f3_1_U"] + w["f3_2_U"] - w["f3_1_C"] - w["f3_2_C"] > 0.25
    # flanks the rule does not touch stay near 0
    assert max(abs(w[f"f5_{i}_{b}"]) for i in (1, 2) for b in "ACGU") < 0.1
    x = test[list(gf.FEATURE_NAMES)].to_numpy()
    scores = model.score(x, gt.occupancy_of(model, sites, test))
    for _, d in test.assign(s=scores).groupby("experiment"):
        assert spearmanr(d["s"], d["repression"])[0] > 0.5  # noise sd 0.5 on a 0/1 effect
    assert np.ptp(gt.site_count(test)) == 0  # one 7mer-m8 in every gene: a count sees nothing
    # the fold change it predicts: more repression for the UU genes, 0 or below
    fc = model.predicted_log2fc(x, gt.occupancy_of(model, sites, test))
    good = test["mrna_id"].str.extract(r"_g(\d+)$")[0].astype(int).to_numpy() % 2 == 0
    assert (fc <= 0).all() and fc[good].mean() < fc[~good].mean() - 0.3


def test_the_occupancy_form_saturates():
    occ = ga.Occupancy(
        site_coef=np.zeros(len(ga.SITE_COLUMNS)),
        site_mean=np.zeros(len(ga.SITE_COLUMNS)),
        site_scale=np.ones(len(ga.SITE_COLUMNS)),
        a0=1.0,
        k=1.0,
    )
    design = np.zeros((100, len(ga.SITE_COLUMNS)))
    counts = [1, 2, 5, 10, 100]
    values = [occ.occupancy(design[:n], np.zeros(n, dtype=np.int64), 1)[0] for n in counts]
    assert values == pytest.approx([np.log1p(n) for n in counts])
    # each extra site adds less: the tenth adds far less than the second
    tenth = values[3] - occ.occupancy(design[:9], np.zeros(9, dtype=np.int64), 1)[0]
    assert values[1] - values[0] > 4 * tenth > 0
    assert all(b > a for a, b in zip(values, values[1:])) and values[-1] < 100 * (values[1] - values[0])
    # a site's affinity multiplies its weight inside the log: e^2 sites count like 7.4 plain ones
    w = np.zeros(len(ga.SITE_COLUMNS))
    w[0] = 2.0
    strong = ga.Occupancy(w, occ.site_mean, occ.site_scale, 1.0, 1.0)
    one_8mer = np.zeros((1, len(ga.SITE_COLUMNS)))
    one_8mer[0, 0] = 1.0
    assert strong.occupancy(one_8mer, np.zeros(1, dtype=np.int64), 1)[0] == pytest.approx(np.log1p(np.exp(2.0)))


def test_occupancy_fit_is_deterministic_and_round_trips(tmp_path):
    frame, utrs = planted_flanks(60)
    table, sites = fitted(tmp_path, frame, utrs)
    gm.save(tmp_path / "a.pt", gm.fit_occupancy(table, sites), seed=1)
    table2, sites2 = fitted(tmp_path, frame, utrs)
    gm.save(tmp_path / "b.pt", gm.fit_occupancy(table2, sites2), seed=1)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    loaded = gm.load(tmp_path / "a.pt")
    assert loaded.kind == "occupancy"
    fresh = gm.fit_occupancy(table, sites)
    x = table[list(gf.FEATURE_NAMES)].to_numpy()
    occ = gt.occupancy_of(fresh, sites, table)
    np.testing.assert_allclose(loaded.score(x, gt.occupancy_of(loaded, sites, table)), fresh.score(x, occ), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="occupancy"):
        loaded.score(x)  # an occupancy model without its sites' occupancy


def test_gene_checkpoints_of_another_version_or_site_design_are_refused(tmp_path):
    import torch

    payload = torch.load(gm.default_path(), weights_only=True)
    payload["format_version"] = 1
    torch.save(payload, tmp_path / "v1.pt")
    with pytest.raises(InputError, match="format version 1 is not supported") as err:
        gm.load(tmp_path / "v1.pt")
    assert "\n" not in str(err.value)
    payload = torch.load(gm.default_path(), weights_only=True)
    payload["site_columns"] = payload["site_columns"][:-1]
    torch.save(payload, tmp_path / "cols.pt")
    with pytest.raises(InputError, match="site_columns"):
        gm.load(tmp_path / "cols.pt")
    payload = torch.load(gm.default_path(), weights_only=True)
    payload["scalars"]["a0"] = -1.0
    torch.save(payload, tmp_path / "a0.pt")
    with pytest.raises(InputError, match="scalars.a0"):
        gm.load(tmp_path / "a0.pt")


def test_scan_gene_rows_match_the_library_under_the_occupancy_model(tmp_path):
    """dt-predict's chunked scoring path (gene_scoring) gives the scores of the training-table
    path (gene_training.sites_of), so the flank frame is the same in both."""
    from deeptarget_core import sites as st
    from deeptarget_core.gene_scoring import GeneScorer

    frame, utrs = planted_flanks(40)
    table, sites = fitted(tmp_path, frame, utrs)
    model = gm.fit_occupancy(table, sites)
    want = model.score(table[list(gf.FEATURE_NAMES)].to_numpy(), gt.occupancy_of(model, sites, table))
    scorer = GeneScorer(model)
    mirnas = [st.Mirna("mir-e1", LET7), st.Mirna("mir-e2", MIR21)]
    got = {}
    for chunk in st.iter_target_chunks(list(utrs.items())):
        for group in scorer.chunk_scores(mirnas, chunk):
            for k, mid in enumerate(group.mirna_ids):
                scores = group.of(k)[0]
                got.update({(mid, t): scores[i] for i, t in enumerate(chunk.ids)})
    have = np.array([got[k] for k in zip(table["mirna_id"], table["mrna_id"])])
    np.testing.assert_allclose(have, want, rtol=0, atol=1e-12)


def test_a_constant_context_column_is_not_divided_by_its_rounding_noise():
    """A context term the same at every training site (all sites at one distance from the UTR
    end, as in a small synthetic set) has a float std of ~1e-16, not 0: standardising by it
    sent log affinities to ~1e12 and every gene score to 1."""
    rng = np.random.default_rng(0)
    n = 61
    design = np.zeros((n, len(ga.SITE_COLUMNS)))
    design[:, 0] = 1.0  # every site the first canonical type
    supp3, au, min_dist = (ga.SITE_COLUMNS.index(f"ctx_{c}") for c in ("supp3", "au", "min_dist"))
    design[:, supp3] = rng.normal(size=n)
    design[:, au] = rng.uniform(size=n)
    design[:, min_dist] = 0.7  # np.full(61, 0.7).std() is 3.3e-16
    assert design[:, min_dist].std() > 0
    pair = np.arange(n)
    occ, *_ = ga.fit(
        design, pair, rng.normal(size=(n, len(ga.PAIR_TERMS))), pair, np.zeros(n, dtype=np.int64), rng.normal(size=n)
    )
    assert occ.site_scale[min_dist] == 1.0
    shifted = design.copy()
    shifted[0, min_dist] = 0.2  # a site elsewhere at prediction: a finite, modest affinity
    assert np.all(np.abs(occ.log_affinity(shifted)) < 50)
