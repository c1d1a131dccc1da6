"""The seed scanner against an independent, obviously-correct slow implementation."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deeptarget_core import sites
from deeptarget_core.seq import normalise
from deeptarget_core.testing import scan_pair

COMP = {"A": "U", "C": "G", "G": "C", "U": "A"}
RANK = {name: i for i, name in enumerate(sites.SITE_TYPES)}


def reference_sites(mirna: str, utr: str, relaxed: bool = False, cts_length: int = 40):
    """Every anchor position (the target nt facing miRNA nt 1) classified by the definitions.

    Returns (type, site_start, site_end, cts_start, cts_end, cts_seq) with 1-based coords.
    """
    n = len(utr)

    def base(pos):
        return utr[pos] if 0 <= pos < n else None

    def wc(k, anchor):  # miRNA nt k pairs Watson-Crick with the target nt facing it
        return base(anchor - (k - 1)) == COMP[mirna[k - 1]]

    def gu(k, anchor):
        return (mirna[k - 1], base(anchor - (k - 1))) in {("G", "U"), ("U", "G")}

    out = []
    for a in range(-2, n + 2):
        pos = lambda k: a - (k - 1)  # noqa: E731, B023
        a1 = base(a) == "A"
        found = None
        if all(wc(k, a) for k in range(2, 8)):
            if wc(8, a):
                found = ("8mer", pos(8), a) if a1 else ("7mer-m8", pos(8), pos(2))
            else:
                found = ("7mer-A1", pos(7), a) if a1 else ("6mer", pos(7), pos(2))
        elif relaxed:
            if all(wc(k, a) for k in range(3, 9)):  # nt 2 not WC here
                found = ("offset-6mer", pos(8), pos(3))
            elif wc(2, a) and wc(8, a):
                bad = [k for k in range(3, 8) if not wc(k, a)]
                if len(bad) == 1 and base(pos(bad[0])) in COMP:
                    kind = "7mer-GU" if gu(bad[0], a) else "7mer-mismatch"
                    found = (kind, pos(8), pos(2))
        if found:
            kind, s, e = found
            cts_end = e + sites.CTS_DOWNSTREAM
            cts_start = cts_end - cts_length + 1
            window = "".join(base(i) or "N" for i in range(cts_start, cts_end + 1))
            out.append((kind, s + 1, e + 1, max(cts_start, 0) + 1, min(cts_end, n - 1) + 1, window))
    out.sort(key=lambda r: (r[1], r[2], RANK[r[0]]))
    return out


def fast_sites(mirna: str, utr: str, relaxed: bool = False, cts_length: int = 40):
    block = scan_pair(normalise(mirna), normalise(utr), cts_length=cts_length, relaxed=relaxed)
    return [
        (sites.SITE_TYPES[t], s, e, cs, ce, w)
        for t, s, e, cs, ce, w in zip(
            block.site_type.tolist(),
            block.site_start.tolist(),
            block.site_end.tolist(),
            block.cts_start.tolist(),
            block.cts_end.tolist(),
            block.cts_strings(),
        )
    ]


def site_for(mirna: str, kind: str) -> str:
    """A target segment (5'->3') that forms a site of ``kind`` with ``mirna``."""
    rc = lambda s: "".join(COMP[c] for c in reversed(s))  # noqa: E731
    nt2_7 = rc(mirna[1:7])
    not_pair = lambda c: next(b for b in "ACGU" if b != COMP[c] and b != "A")  # noqa: E731
    nt8 = COMP[mirna[7]]
    if kind == "8mer":
        return nt8 + nt2_7 + "A"
    if kind == "7mer-m8":
        return nt8 + nt2_7 + ("C" if mirna[0] != "G" else "G")
    if kind == "7mer-A1":
        return not_pair(mirna[7]) + nt2_7 + "A"
    if kind == "6mer":
        return not_pair(mirna[7]) + nt2_7 + "C"
    raise ValueError(kind)


MIRNAS = {
    "hsa-let-7a-5p": "UGAGGUAGUAGGUUGUAUAGUU",
    "hsa-miR-21-5p": "UAGCUUAUCAGACUGAUGUUGA",
    "hsa-miR-155-5p": "UUAAUGCUAAUCGUGAUAGGGGU",
}


@pytest.mark.parametrize("kind", sites.CANONICAL_TYPES)
@pytest.mark.parametrize("mirna", sorted(MIRNAS.values()))
def test_planted_canonical_site_is_found_with_type_and_coordinates(mirna, kind):
    segment = site_for(mirna, kind)
    rng = random.Random(7)
    left = "".join(rng.choice("CG") for _ in range(50))  # C/G only: no chance seed for these miRNAs
    utr = left + segment + "GGCCGGCC" + "C" * 40
    found = [r for r in fast_sites(mirna, utr) if r[1] >= 45 and r[2] <= 62]
    assert [r[0] for r in found] == [kind]
    kind_found, start, end, cts_start, cts_end, window = found[0]
    seg_start = len(left) + 1
    expected_start = seg_start if kind in ("8mer", "7mer-m8") else seg_start + 1
    expected_end = seg_start + 7 if kind in ("8mer", "7mer-A1") else seg_start + 6
    assert (start, end) == (expected_start, expected_end)
    # The site's 3' end sits at window position 36 of 40.
    assert window[35] == utr[end - 1]
    assert len(window) == 40 and cts_end - cts_start + 1 == 40
    assert window == utr[cts_start - 1 : cts_end]


def test_8mer_reported_once_not_also_as_its_7mers_and_6mer():
    mirna = MIRNAS["hsa-miR-21-5p"]
    utr = "C" * 40 + site_for(mirna, "8mer") + "C" * 40
    assert [r[0] for r in fast_sites(mirna, utr)] == ["8mer"]
    assert [r[0] for r in fast_sites(mirna, utr, relaxed=True)] == ["8mer"]


def test_site_at_both_utr_ends_is_clipped_and_padded():
    mirna = MIRNAS["hsa-let-7a-5p"]
    utr = site_for(mirna, "8mer") + "CCCCCCCCCCCC" + site_for(mirna, "7mer-m8")
    rows = fast_sites(mirna, utr)
    assert [r[0] for r in rows] == ["8mer", "7mer-m8"]
    first, last = rows
    assert first[1:3] == (1, 8) and first[3] == 1 and first[4] == 12
    assert first[5] == "N" * 28 + utr[:12]
    assert last[2] == len(utr) - 1
    assert last[4] == len(utr)  # clipped at the 3' end
    assert last[5].endswith(utr[-1] + "NNN")


def test_lower_case_and_dna_alphabet_give_the_same_sites():
    mirna = MIRNAS["hsa-miR-155-5p"]
    utr = "CCAG" * 10 + site_for(mirna, "7mer-A1") + "GGCA" * 10
    dna = utr.replace("U", "T").lower()
    assert fast_sites(mirna.replace("U", "T").lower(), dna) == fast_sites(mirna, utr)


def test_n_never_pairs():
    mirna = MIRNAS["hsa-let-7a-5p"]
    seg = site_for(mirna, "8mer")
    utr = "C" * 30 + seg[:4] + "N" + seg[5:] + "C" * 30
    assert fast_sites(mirna, utr) == reference_sites(mirna, utr) == []


def test_relaxed_types_against_planted_examples():
    mirna = MIRNAS["hsa-miR-21-5p"]  # nt 1-8 U A G C U U A U
    rc = lambda s: "".join(COMP[c] for c in reversed(s))  # noqa: E731
    offset = rc(mirna[2:8]) + "C"  # nt 3-8 WC, nt 2 (A) faced by C: not WC
    seven = list(rc(mirna[1:8]))
    gu = seven.copy()
    gu[7 - 5] = "G"  # nt 5 is U: target G makes a G:U wobble
    mm = seven.copy()
    mm[7 - 5] = "C"  # U:C mismatch
    for segment, kind in ((offset, "offset-6mer"), ("".join(gu), "7mer-GU"), ("".join(mm), "7mer-mismatch")):
        utr = "C" * 40 + segment + "C" * 40
        assert [r[0] for r in fast_sites(mirna, utr, relaxed=True)] == [kind]
        assert fast_sites(mirna, utr, relaxed=False) == []


def test_overlapping_sites_of_a_repetitive_seed():
    mirna = "AAAAAAAAAAAAAAAAAAAAAA"
    utr = "C" * 20 + "U" * 12 + "C" * 20
    assert fast_sites(mirna, utr) == reference_sites(mirna, utr)
    assert fast_sites(mirna, utr, relaxed=True) == reference_sites(mirna, utr, relaxed=True)
    assert len(fast_sites(mirna, utr)) > 3


# ----------------------------------------------------------------- property tests

_nt = st.sampled_from("ACGU")


@st.composite
def mirna_and_utr(draw):
    mirna = "".join(draw(st.lists(_nt, min_size=8, max_size=24)))
    pieces = []
    for _ in range(draw(st.integers(0, 6))):
        pieces.append("".join(draw(st.lists(st.sampled_from("ACGUN"), min_size=0, max_size=30))))
        kind = draw(st.sampled_from(sites.CANONICAL_TYPES))
        try:
            pieces.append(site_for(mirna, kind))
        except StopIteration:
            pass
    pieces.append("".join(draw(st.lists(_nt, min_size=0, max_size=30))))
    utr = "".join(pieces) or "A"
    return mirna, utr


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mirna_and_utr(), st.booleans(), st.sampled_from([20, 33, 40, 50]))
def test_scanner_equals_reference(case, relaxed, cts_length):
    mirna, utr = case
    assert fast_sites(mirna, utr, relaxed, cts_length) == reference_sites(mirna, utr, relaxed, cts_length)


@settings(max_examples=50, deadline=None)
@given(st.lists(mirna_and_utr(), min_size=1, max_size=4), st.booleans())
def test_many_targets_in_one_chunk_equal_one_by_one(cases, relaxed):
    mirna = cases[0][0]
    targets = [(f"t{i}", utr) for i, (_, utr) in enumerate(cases)]
    scanner = sites.SiteScanner([sites.Mirna("m", mirna)], relaxed=relaxed)
    block = next(scanner.scan_chunk(sites.pack_targets(targets, 40)))
    got = list(zip(block.target_index.tolist(), block.site_start.tolist(), sites_types(block)))
    want = [(i, r[1], r[0]) for i, (_, utr) in enumerate(targets) for r in reference_sites(mirna, utr, relaxed)]
    assert got == want


def sites_types(block):
    return [sites.SITE_TYPES[t] for t in block.site_type.tolist()]


def test_multi_chunk_output_equals_single_chunk(tmp_path):
    import io as _io

    rng = random.Random(3)
    mirnas = [sites.Mirna(k, v) for k, v in MIRNAS.items()]
    targets = [(f"utr{i}", "".join(rng.choice("ACGU") for _ in range(rng.randint(50, 3000)))) for i in range(60)]
    scanner = sites.SiteScanner(mirnas, relaxed=True)
    one, many = _io.StringIO(), _io.StringIO()
    s1 = sites.write_site_table(one, scanner, sites.iter_target_chunks(targets, chunk_nt=10**9))
    s2 = sites.write_site_table(many, scanner, sites.iter_target_chunks(targets, chunk_nt=5000), tmp_dir=tmp_path)
    assert s1.n_chunks == 1 and s2.n_chunks > 5
    assert one.getvalue() == many.getvalue()
    assert s1.by_type == s2.by_type and s1.n_sites > 100
    assert list(tmp_path.iterdir()) == []  # temporary chunk files removed


def test_pairs_restrict_targets():
    mirna = MIRNAS["hsa-let-7a-5p"]
    seg = site_for(mirna, "8mer")
    targets = [("a", "C" * 30 + seg + "C" * 30), ("b", "C" * 10 + seg + "C" * 10)]
    scanner = sites.SiteScanner([sites.Mirna("let7", mirna)], pairs={"let7": {"b"}})
    block = next(scanner.scan_chunk(sites.pack_targets(targets, 40)))
    assert block.target_index.tolist() == [1]


def test_kmer_codes_mark_n():
    codes = sites.BASE_CODE[np.frombuffer(b"ACGUNACGUUA", dtype=np.uint8)]
    k = sites._kmer_codes(codes)
    assert k[0] == sites._NO_KMER  # ACGUNA contains N
    assert k[5] == 0b00_01_10_11_11_00  # ACGUUA, 2 bits a letter, first letter highest
