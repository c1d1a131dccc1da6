"""The training-data recipe (scripts/training_data.py, the build recipe of make training-data) on
small slices."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from deeptarget_core.errors import InputError
from deeptarget_core.seq import reverse_complement
from deeptarget_core.sites import Mirna, SiteScanner, pack_targets

from conftest import ROOT, SHARED

# The recipe is a script of the repository, not a module of the installed package.
_spec = importlib.util.spec_from_file_location("training_data", ROOT / "scripts" / "training_data.py")
TD = sys.modules["training_data"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(TD)

MIR_A = "UAGCUUAUCAGACUGAUGUUGA"  # miR-21-like
MIR_B = "UGAGGUAGUAGGUUGUAUAGUU"  # let-7-like
MIR_A2 = "UAGCUUAUCGGACUGAUGUUGC"  # same seed (nt 2-7) as MIR_A


def window_with_site(mirna: str, rng: random.Random) -> str:
    """40-nt window whose 8mer site for `mirna` ends (A1) at position 36."""
    site = reverse_complement(mirna[1:8]) + "A"  # 8 nt, A1 last
    left = "".join(rng.choice("AC") for _ in range(28))
    right = "".join(rng.choice("AC") for _ in range(4))
    return left + site + right


def tec_line(mirna: str, site: str, label: int) -> str:
    return f">{mirna[::-1]}\t>{site.replace('U', 'T')}\t{label}\n"


def make_shared(tmp_path: Path) -> Path:
    rng = random.Random(3)
    shared = tmp_path / "shared"
    (shared / "miRAW_sites_TEC-miTarget").mkdir(parents=True)
    (shared / "miRBase").mkdir()
    (shared / "miRBase" / "hsa_mature_v22.1.fa").write_text(f">hsa-miR-A\n{MIR_A}\n>hsa-let-B\n{MIR_B}\n")
    train, val = [], []
    for _ in range(6):
        train.append(tec_line(MIR_A, window_with_site(MIR_A, rng), 1))
        train.append(tec_line(MIR_B, window_with_site(MIR_B, rng), 1))
    for _ in range(4):  # real negative windows that carry the other miRNA's seed match
        train.append(tec_line(MIR_A, window_with_site(MIR_B, rng), 0))
        train.append(tec_line(MIR_B, window_with_site(MIR_A, rng), 0))
    train.append(train[0])  # duplicate
    train.append(tec_line(MIR_A, window_with_site(MIR_A, rng)[:39], 1))  # 39 nt: dropped
    val.append(train[0])  # also in train: removed from validation
    for _ in range(3):
        val.append(tec_line(MIR_A, window_with_site(MIR_A, rng), 1))
        val.append(tec_line(MIR_B, window_with_site(MIR_B, rng), 1))
    (shared / "miRAW_sites_TEC-miTarget" / "train_seed_1234.txt").write_text("".join(train))
    (shared / "miRAW_sites_TEC-miTarget" / "valid_seed_1234.txt").write_text("".join(val))
    return shared


def test_tec_reader_fixes_orientation_alphabet_duplicates(tmp_path):
    shared = make_shared(tmp_path)
    rows = TD.read_tec_sites(shared / "miRAW_sites_TEC-miTarget" / "train_seed_1234.txt", TD.mirbase_ids(shared), "t_")
    assert len(rows) == 20  # 22 lines - 1 duplicate - 1 of 39 nt
    assert {r.mirna_seq for r in rows} == {MIR_A, MIR_B}
    assert {r.mirna_id for r in rows} == {"hsa-miR-A", "hsa-let-B"}
    assert all(set(r.mrna_seq) <= set("ACGU") and len(r.mrna_seq) == 40 for r in rows)
    assert len({(r.mirna_seq, r.mrna_seq) for r in rows}) == len(rows)


def test_tec_reader_rejects_bad_lines_with_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(tec_line(MIR_A, "A" * 40, 1) + "only\ttwo\n")
    with pytest.raises(InputError) as err:
        TD.read_tec_sites(path, {}, "x_")
    assert err.value.line == 2 and "bad.txt" in str(err.value)


def test_decoys_are_seed_matched_like_the_scanner_and_balanced(tmp_path):
    shared = make_shared(tmp_path)
    tables = TD.build(shared, seed=1)
    train = tables["train"]
    decoys = [r for r in train if r.source == "decoy"]
    assert decoys and all(r.label == 0 for r in decoys)
    # each decoy: the decoy's miRNA has a canonical site ending at window position 35-37,
    # found by the same scanner dt-scan-cts uses
    scanner = SiteScanner([Mirna("m", MIR_A), Mirna("n", MIR_B)], cts_length=40)
    for r in decoys:
        mi = 0 if r.mirna_seq == MIR_A else 1
        chunk = pack_targets([("w", r.mrna_seq)], 40)
        ends = set(list(scanner.scan_chunk(chunk))[mi].site_end.tolist())
        assert ends & {35, 36, 37}
    # per-miRNA balance: no more decoys than positives of that miRNA
    for m in (MIR_A, MIR_B):
        n_pos = sum(1 for r in train if r.mirna_seq == m and r.label == 1)
        n_dec = sum(1 for r in decoys if r.mirna_seq == m)
        assert 0 < n_dec <= n_pos
    # validation never repeats a training pair
    train_pairs = {(r.mirna_seq, r.mrna_seq) for r in train}
    assert not any((r.mirna_seq, r.mrna_seq) in train_pairs for r in tables["val"])
    assert sum(1 for r in tables["val"] if r.label == 1) == 6


def test_same_seed_family_positives_are_not_decoys():
    rng = random.Random(5)
    rows = [TD.Row("a", MIR_A, f"w{i}", window_with_site(MIR_A, rng), 1, "miraw") for i in range(4)]
    rows += [TD.Row("a2", MIR_A2, "x", "C" * 40, 1, "miraw")]
    decoys = TD.seed_decoys(rows, seed=1)
    assert not [r for r in decoys if r.mirna_seq == MIR_A2]  # A's sites are A2's family targets


def test_recipe_is_deterministic(tmp_path):
    shared = make_shared(tmp_path)
    a, b = TD.build(shared, seed=7), TD.build(shared, seed=7)
    assert a == b
    TD.write_rows(tmp_path / "a.tsv", a["train"])
    TD.write_rows(tmp_path / "b.tsv", b["train"])
    assert (tmp_path / "a.tsv").read_bytes() == (tmp_path / "b.tsv").read_bytes()


@pytest.mark.skipif(not (SHARED / "miRAW_sites_TEC-miTarget").is_dir(), reason="../shared/data absent")
def test_real_slice_orientation_matches_mirbase():
    path = SHARED / "miRAW_sites_TEC-miTarget" / "valid_seed_1234.txt"
    names = TD.mirbase_ids(SHARED)
    rows = TD.read_tec_sites(path, names, "v_")[:2000]
    known = sum(1 for r in rows if not r.mirna_id.startswith("mirna_"))
    assert known / len(rows) > 0.9  # reversed strings are real 5'->3' miRBase sequences
    pos = [r for r in rows if r.label == 1]
    decoys = TD.seed_decoys(rows, seed=1)
    assert len(decoys) > 0.3 * len(pos)
