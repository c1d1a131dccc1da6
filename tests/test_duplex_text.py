"""The classic duplex text (target 5'->3' over miRNA 3'->5'), checked character by character
against hand-written drawings of designed sites of hsa-miR-21-5p."""

from __future__ import annotations

import pytest

from deeptarget_core import duplex as dx
from deeptarget_core.sites import SITE_TYPES, best_site_types

MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
# target 5'->3': 2 nt flank, 6 nt facing miRNA nt 22-17, 3' supplementary pairing to nt 16-13,
# 4 nt facing nt 12-9, the 8mer (pairs to nt 8-2, A opposite nt 1), 2 nt flank. The unpaired
# stretches repeat the miRNA's own letters (a letter facing itself never pairs).
FLANK, FACE_3END, SUPP, LOOP, SEED, A1 = "CC", "AGUUGU", "UCAG", "AGAC", "AUAAGCU", "A"


def site(seed=SEED):
    return FLANK + FACE_3END + SUPP + LOOP + seed + A1 + FLANK


def test_canonical_8mer_with_3prime_supplementary_pairing():
    target = site()
    kinds, _ = best_site_types([MIR21], [target], len(target))
    assert SITE_TYPES[int(kinds[0])] == "8mer"
    expected = (
        "Position 3-24 of UTR1 (8mer)\n"
        "target 5' AGUUGUUCAGAGACAUAAGCUA 3'\n"
        "                ||||    ||||||||\n"
        "miRNA  3' AGUUGUAGUCAGACUAUUCGAU 5'\n"
        "seed                    ^^^^^^^\n"
    )
    cd = dx.classic(MIR21, target)
    assert cd.text("Position 3-24 of UTR1 (8mer)") == expected
    assert (cd.target_first, cd.target_last) == (2, 23)


@pytest.mark.parametrize(
    "seed, expected",
    [
        # target G opposite miRNA nt 6 (U): a G:U pair, drawn ':'
        (
            "AUGAGCU",
            "target 5' AGUUGUUCAGAGACAUGAGCUA 3'\n"
            "                ||||    ||:|||||\n"
            "miRNA  3' AGUUGUAGUCAGACUAUUCGAU 5'\n"
            "seed                    ^^^^^^^\n",
        ),
        # an extra C in the target between the partners of miRNA nt 5 and nt 4: a space below it
        (
            "AUAACGCU",
            "target 5' AGUUGUUCAGAGACAUAACGCUA 3'\n"
            "                ||||    |||| ||||\n"
            "miRNA  3' AGUUGUAGUCAGACUAUU CGAU 5'\n"
            "seed                    ^^^^ ^^^\n",
        ),
        # the target lacks the partner of miRNA nt 4 (C): nt 4 bulges, a space above it
        (
            "AUAACU",
            "target 5' AGUUGUUCAGAGACAUAA CUA 3'\n"
            "                ||||    |||| |||\n"
            "miRNA  3' AGUUGUAGUCAGACUAUUCGAU 5'\n"
            "seed                    ^^^^^^^\n",
        ),
    ],
    ids=["gu-wobble-in-seed", "target-bulge", "mirna-bulge"],
)
def test_wobble_and_bulges(seed, expected):
    assert dx.classic(MIR21, site(seed=seed)).text() == expected


def test_no_pair_lays_the_mirna_against_the_end():
    cd = dx.classic("AAAAAAAAAAAAAAAAAAAAAA", "CCCCCCCCCCCC")
    assert cd.match.strip() == ""
    assert cd.mirna == "A" * 22
    assert cd.target.strip() == "C" * 12 and cd.target.endswith("C")
