"""Many miRNAs with a few sites each (issue 19): the group scan, the encoded-miRNA cache,
duplicate windows and the group-level gene model give the same results as one miRNA at a time."""

from __future__ import annotations

import numpy as np
import pytest

from deeptarget_core import gene_features, gene_model, gene_scoring, scorers, sites

from conftest import make_toy

LETTERS = np.array(list("ACGU"))


def random_seqs(rng, n, length):
    return ["".join(rng.choice(LETTERS, size=length)) for _ in range(n)]


def naive_canonical_sites(mirna: str, utr: str) -> list[tuple[int, int, str]]:
    """(site_start, site_end, type) of the canonical sites, by string matching (1-based)."""
    comp = {"A": "U", "C": "G", "G": "C", "U": "A"}
    site_2_7 = "".join(comp[c] for c in reversed(mirna[1:7]))
    found = []
    for p in range(len(utr) - 5):
        if utr[p : p + 6] != site_2_7:
            continue
        m8 = p > 0 and utr[p - 1] == comp[mirna[7]]
        a1 = p + 6 < len(utr) and utr[p + 6] == "A"
        kind = ("8mer" if a1 else "7mer-m8") if m8 else ("7mer-A1" if a1 else "6mer")
        found.append(((p if m8 else p + 1), (p + 7 if a1 else p + 6), kind))
    return found


@pytest.fixture(scope="module")
def many():
    rng = np.random.default_rng(7)
    mirnas = [sites.Mirna(f"m{i}", s) for i, s in enumerate(random_seqs(rng, 3000, 22))]
    utrs = [(f"t{i}", s) for i, s in enumerate(random_seqs(rng, 4, 400))]
    return mirnas, utrs


def blocks_of(scanner, chunk):
    return [
        (b.mirna_id, [getattr(b, f).tolist() for f in ("target_index", "site_type", "site_start", "site_end", "cts")])
        for b in scanner.scan_chunk(chunk)
    ]


def test_group_scan_finds_every_canonical_site_of_every_mirna(many):
    mirnas, utrs = many
    chunk = sites.pack_targets(utrs, 40)
    scanner = sites.SiteScanner(mirnas)
    got = {}
    for block in scanner.scan_chunk(chunk):
        for t, a, b, k in zip(
            block.target_index.tolist(), block.site_start.tolist(), block.site_end.tolist(), block.site_type.tolist()
        ):
            got.setdefault(block.mirna_id, []).append((utrs[t][0], a, b, sites.SITE_TYPES[k]))
    want = {}
    for m in mirnas:
        for tid, seq in utrs:
            for a, b, k in naive_canonical_sites(m.seq, seq):
                want.setdefault(m.id, []).append((tid, a, b, k))
    assert sum(len(v) for v in want.values()) > 500  # the check is not vacuous
    assert got == want


@pytest.mark.parametrize("relaxed", [False, True])
def test_group_size_does_not_change_the_scan(many, relaxed):
    mirnas, utrs = many
    chunk = sites.pack_targets(utrs, 40)
    pairs = {m.id: {f"t{(i * 7) % 4}", f"t{(i * 3) % 4}"} for i, m in enumerate(mirnas[::3])}
    for restrict in (None, pairs):
        chosen = mirnas if restrict is None else [m for m in mirnas if m.id in restrict]
        one_group = sites.SiteScanner(chosen, relaxed=relaxed, pairs=restrict)
        small = sites.SiteScanner(chosen, relaxed=relaxed, pairs=restrict)
        small.GROUP_SITES = 1  # one miRNA a group: the reference
        groups = list(one_group.scan_groups(chunk))
        assert len(groups) == 1 and len(list(small.scan_groups(chunk))) > len(chosen) // 10  # miRNAs without hits share
        assert blocks_of(one_group, chunk) == blocks_of(small, chunk)
        if restrict is not None:
            for b in one_group.scan_chunk(chunk):
                assert {chunk.ids[t] for t in b.target_index.tolist()} <= restrict[b.mirna_id]


def test_distinct_windows_maps_every_row_back():
    rng = np.random.default_rng(2)
    codes = rng.integers(1, 5, size=(50, 40)).astype(np.uint8)
    index = rng.integers(0, 3, size=50)
    dup_codes = np.concatenate([codes, codes[[4, 9, 4]]])
    dup_index = np.concatenate([index, index[[4, 9, 4]]])
    dup_index[-1] = (dup_index[-1] + 1) % 3  # same window, another miRNA: distinct
    rows, inverse = scorers.distinct_windows(dup_index, dup_codes)
    assert len(rows) == 51 and rows.tolist() == sorted(rows.tolist())  # first occurrences, in input order
    assert np.array_equal(dup_codes[rows][inverse], dup_codes)
    assert np.array_equal(dup_index[rows][inverse], dup_index)


def test_duplicate_windows_are_scored_once_with_the_same_score(monkeypatch):
    net = make_toy(seed=5, bidirectional=True, layers=1, pairing_offsets=(3, 4, 5))
    rng = np.random.default_rng(3)
    mirnas = random_seqs(rng, 3, 22)
    codes = rng.integers(1, 5, size=(40, 40)).astype(np.uint8)
    index = rng.integers(0, 3, size=40)
    scorer = scorers.NeuralScorer(net, batch_size=16)
    plain = scorer.score(mirnas, index, codes)
    seen = []
    batch = scorer._batch_log_odds
    monkeypatch.setattr(scorer, "_batch_log_odds", lambda *a: seen.append(len(a[2])) or batch(*a))
    twice = scorer.score(mirnas, np.concatenate([index, index]), np.concatenate([codes, codes]))
    assert sum(seen) == 40  # the network saw each window once
    assert np.array_equal(twice, np.concatenate([plain, plain]))


def test_mirna_cache_bound_keeps_scores(monkeypatch):
    net = make_toy(seed=6)
    rng = np.random.default_rng(4)
    mirnas = random_seqs(rng, 30, 22)
    codes = rng.integers(1, 5, size=(60, 40)).astype(np.uint8)
    index = np.repeat(np.arange(30), 2)
    ref = scorers.NeuralScorer(net, batch_size=8).score(mirnas, index, codes)
    monkeypatch.setattr(scorers, "MIRNA_CACHE", 10)
    scorer = scorers.NeuralScorer(net, batch_size=8, threads=2)
    for part in (slice(0, 7), slice(7, 30), slice(0, 30)):  # grows, overflows, is rebuilt
        rows = np.flatnonzero((index >= part.start) & (index < part.stop))
        got = scorer.score(mirnas[part], index[rows] - part.start, codes[rows])
        assert np.max(np.abs(got - ref[rows])) < 1e-6
        assert len(scorer._rows) <= max(10, part.stop - part.start)


def test_gene_rows_of_a_group_equal_one_mirna_at_a_time(many, monkeypatch):
    mirnas, utrs = many
    model = gene_model.load(None)
    chunk = sites.pack_targets(utrs, 40)
    gene = gene_scoring.GeneScorer(model)
    together = list(gene.chunk_scores(mirnas, chunk))
    monkeypatch.setattr(gene_features, "GROUP_PAIRS", 1)  # one miRNA a group
    alone = list(gene.chunk_scores(mirnas, chunk))
    assert len(together) == 1 and len(alone) == len(mirnas)
    stacked = {k: np.concatenate([getattr(g, k) for g in alone]) for k in ("scores", "n_sites", "best_type")}
    assert (together[0].n_sites > 0).sum() > 500
    for k, v in stacked.items():
        assert np.array_equal(getattr(together[0], k), v)
    assert together[0].mirna_ids == [m.id for m in mirnas]


@pytest.mark.parametrize("cfg", [{}, {"bidirectional": True, "layers": 1, "pairing_offsets": (3, 4, 5)}])
def test_fused_mirna_encoder_equals_the_network(cfg, device):
    import torch

    from deeptarget_core import fused_gru
    from deeptarget_core.seq import encode_batch

    net = make_toy(seed=8, **cfg).to(device).eval()
    codes = torch.from_numpy(encode_batch(random_seqs(np.random.default_rng(9), 50, 22), 40).astype(np.int64)).to(device)
    with torch.inference_mode():
        ref = net.encode_mirna(codes)
        got = fused_gru.FusedGRU(net).encode_mirna(codes).transpose(0, 1)
    assert ref.shape == got.shape and float(ref.abs().mean()) > 0.01
    assert float((ref - got).abs().max()) < 1e-5


def _fused_batch(cfg: dict, seed: int, n_mirnas: int):
    """A toy network's fused loop and one batch: (fused, miRNA codes, idx, CTS codes), 64 CTSs."""
    import torch

    from deeptarget_core import fused_gru
    from deeptarget_core.seq import encode_batch

    fused = fused_gru.FusedGRU(make_toy(seed=seed, **cfg).eval())
    rng = np.random.default_rng(seed + 1)
    mirna_codes = torch.from_numpy(encode_batch(random_seqs(rng, n_mirnas, 22), 40).astype(np.int64))
    idx = torch.from_numpy(rng.integers(0, n_mirnas, size=64))
    return fused, mirna_codes, idx, torch.from_numpy(rng.integers(0, 5, size=(64, 40)))


@pytest.mark.parametrize("cfg", [{"layers": 2}, {"bidirectional": True, "layers": 1, "pairing_offsets": (3, 4, 5)}])
def test_per_cts_projection_equals_the_projection_table(cfg):
    """Batches of many distinct miRNAs project per CTS (MirnaStates): same log-odds as the table."""
    import torch

    from deeptarget_core import fused_gru

    fused, mirna_codes, idx, codes = _fused_batch(cfg, seed=10, n_mirnas=40)
    with torch.inference_mode():
        states = fused.encode_mirna(mirna_codes)
        table = fused.log_odds(fused.mirna_projection(states), mirna_codes, idx, codes)
        per_cts = fused.log_odds(fused_gru.MirnaStates(states), mirna_codes, idx, codes)
    assert float(table.std()) > 0.01
    assert float((table - per_cts).abs().max()) < 1e-5


@pytest.mark.parametrize("cfg", [{"layers": 2}, {"bidirectional": True, "layers": 2, "pairing_offsets": (3, 4, 5)}])
def test_compiled_loops_equal_the_python_loops(cfg, monkeypatch):
    """The loops run compiled by TorchScript (no GIL held), with the same log-odds as the same
    functions run as Python (the fallback for a torch without TorchScript)."""
    import torch

    from deeptarget_core import fused_gru

    names = fused_gru._LOOP_NAMES
    assert all(isinstance(fused_gru._loop(n), torch.jit.ScriptFunction) for n in names)
    fused, mirna_codes, idx, codes = _fused_batch(cfg, seed=12, n_mirnas=6)

    def log_odds() -> torch.Tensor:
        with torch.inference_mode():
            states = fused.encode_mirna(mirna_codes)
            return torch.cat(
                [
                    fused.log_odds(fused.mirna_projection(states), mirna_codes, idx, codes),
                    fused.log_odds(fused_gru.MirnaStates(states), mirna_codes, idx, codes),
                    fused.log_odds(fused.mirna_projection(states), mirna_codes, idx[:1].expand(64), codes),
                ]
            )

    compiled = log_odds()
    monkeypatch.setattr(fused_gru, "_LOOPS", {n: getattr(fused_gru, n) for n in names})
    python = log_odds()
    assert float(compiled.std()) > 0.01
    assert float((compiled - python).abs().max()) < 1e-6
