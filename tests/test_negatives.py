"""dt-make-negatives: mock miRNAs, miRanda-style duplex scores, negative sets, the CLI."""

from __future__ import annotations

import gzip
import logging
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deeptarget_core import duplex as dx
from deeptarget_core import negatives as neg
from deeptarget_core.errors import InputError
from deeptarget_core.io import Pair
from deeptarget_core.seq import reverse_complement
from deeptarget_core.testing import reference_duplex_score

from conftest import SHARED

TOOL = str(Path(sys.executable).parent / "dt-make-negatives")

mirna_text = st.text("ACGU", min_size=8, max_size=25)


def run(args, stdin=None):
    return subprocess.run([TOOL, *map(str, args)], input=stdin, capture_output=True, text=True)


def random_seq(rng: random.Random, n: int, letters: str = "ACGU") -> str:
    return "".join(rng.choice(letters) for _ in range(n))


# --------------------------------------------------------------------------- mock miRNAs


@settings(max_examples=60, deadline=None)
@given(
    mirnas=st.lists(mirna_text, min_size=1, max_size=6, unique=True),
    reference=st.sets(st.text("ACGU", min_size=7, max_size=7), max_size=3000),
    per_mirna=st.integers(1, 3),
    seed=st.integers(0, 2**32),
)
def test_mock_seeds_never_collide_and_keep_composition(mirnas, reference, per_mirna, seed):
    pairs = [(f"m{i}", s) for i, s in enumerate(mirnas)]
    mocks = neg.make_mock_mirnas(pairs, reference, per_mirna=per_mirna, seed=seed, max_tries=200)
    forbidden = set(reference) | {s[1:8] for s in mirnas}
    seen: dict[str, set[str]] = {}
    for m in mocks:
        assert m.seq[1:8] not in forbidden
        assert sorted(m.seq) == sorted(m.source_seq)
        assert m.id.startswith(m.source_id + "_mock")
        assert m.seq not in seen.setdefault(m.source_id, set())  # the mocks of a miRNA differ
        seen[m.source_id].add(m.seq)
    # at most per_mirna per miRNA, numbered from 1 without gaps
    for mid, seqs in seen.items():
        ids = sorted(m.id for m in mocks if m.source_id == mid)
        assert ids == sorted(f"{mid}_mock{k}" for k in range(1, len(seqs) + 1))
        assert len(seqs) <= per_mirna


def test_mocks_depend_only_on_seed_and_the_mirna():
    a = ("hsa-miR-21-5p", "UAGCUUAUCAGACUGAUGUUGA")
    b = ("hsa-let-7a-5p", "UGAGGUAGUAGGUUGUAUAGUU")
    one = neg.make_mock_mirnas([a, b], per_mirna=3, seed=7)
    two = neg.make_mock_mirnas([b, a], per_mirna=3, seed=7)
    assert sorted(one, key=lambda m: m.id) == sorted(two, key=lambda m: m.id)
    other = neg.make_mock_mirnas([a, b], per_mirna=3, seed=8)
    assert [m.seq for m in one] != [m.seq for m in other]


def test_gives_up_after_max_tries_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="deeptarget"):
        mocks = neg.make_mock_mirnas([("poly-A", "AAAAAAAAAAAA"), ("ok", "UAGCUUAUCAGACUGAUGUUGA")], max_tries=50)
    assert [m.source_id for m in mocks] == ["ok"]
    assert "poly-A" in caplog.text and "50" in caplog.text


def test_reference_seeds_expand_iupac_and_reject_other_letters(tmp_path):
    fa = tmp_path / "ref.fa.gz"
    with gzip.open(fa, "wt") as f:
        f.write(">a\nUGAGGUAGUAGGUU\n>b\nuNAGCUUAUCAG\n>short\nACGU\n")
    ref = neg.read_reference_seeds(fa)
    assert "GAGGUAG" in ref.seeds
    assert {s for s in ref.seeds if s.endswith("AGCUUA")} == {x + "AGCUUA" for x in "ACGU"}
    assert ref.n_ambiguous == 1 and ref.n_short == 1 and ref.n_records == 3
    bad = tmp_path / "bad.fa"
    bad.write_text(">a\nUGAGGUAGUAGG\n>b\nUGAG-UAGUAGG\n")
    with pytest.raises(InputError, match=r"bad.fa:4: .*'-'"):
        neg.read_reference_seeds(bad)


# --------------------------------------------------------------------------- duplex score


@settings(max_examples=150, deadline=None)
@given(mirna=mirna_text, target=st.text("ACGUN", max_size=50))
def test_score_equals_slow_reference_on_random_duplexes(mirna, target):
    assert dx.duplex_score(mirna, target) == reference_duplex_score(mirna, target)


def test_score_equals_slow_reference_on_near_complementary_duplexes():
    """Random duplexes rarely pair well; these carry seed pairs, wobbles, bulges and gaps."""
    rng = random.Random(3)
    for _ in range(150):
        mirna = random_seq(rng, rng.randint(8, 25))
        site = list(reverse_complement(mirna))
        for _ in range(rng.randint(0, 6)):
            i = rng.randrange(len(site) + 1)
            op = rng.random()
            if op < 0.3 and i < len(site):
                site[i] = rng.choice("ACGU")
            elif op < 0.5 and i < len(site):
                site[i] = {"C": "U", "A": "G"}.get(site[i], site[i])  # G:U wobble
            elif op < 0.75:
                site.insert(i, random_seq(rng, rng.randint(1, 4)))
            elif i < len(site):
                del site[i : i + rng.randint(1, 3)]
        target = random_seq(rng, rng.randint(0, 15)) + "".join(site) + random_seq(rng, rng.randint(0, 15))
        assert dx.duplex_score(mirna, target) == reference_duplex_score(mirna, target), (mirna, target)


def test_score_of_perfect_duplex_and_seed_weighting():
    mirna = "UGAGGUAGUAGGUUGUAUAGUU"  # 22 nt: 7 seed nt x 20 + 15 other nt x 5
    assert dx.duplex_score(mirna, reverse_complement(mirna)) == 7 * 20 + 15 * 5
    assert dx.duplex_score(mirna, reverse_complement(mirna[1:8])) == 140  # a perfect 7mer seed

    def mismatch_at(nt: int) -> str:  # target with a C:C / A:A / ... mismatch opposite miRNA nt
        site = list(reverse_complement(mirna))
        site[len(mirna) - nt] = mirna[nt - 1]
        return "".join(site)

    assert dx.duplex_score(mirna, mismatch_at(5)) == 215 - 20 - 12  # seed pair lost, 4x mismatch
    assert dx.duplex_score(mirna, mismatch_at(15)) == 215 - 5 - 3


def test_sites_are_placed_like_the_scanner_and_do_not_overlap():
    mirna = "UGAGGUAGUAGGUUGUAUAGUU"
    rng = random.Random(1)
    eight = reverse_complement(mirna[1:8]) + "A"  # 8mer: A opposite nt 1
    target = random_seq(rng, 300, "C") + eight + random_seq(rng, 300, "C") + reverse_complement(mirna) + "C" * 10
    sites = neg.find_negative_sites(mirna, target, n_sites=5, min_score=100, cts_length=40)
    assert len(sites) == 2
    assert [s.score for s in sites] == sorted((s.score for s in sites), reverse=True)
    full, seed8 = sites
    assert full.site_end == len(target) - 10  # nt 1 pairs at the 3' end of the full match
    assert seed8.site_end == 300 + 8  # the A1
    for s in sites:
        assert len(s.cts_seq) == 40
        assert s.cts_seq[35] == target[s.site_end - 1]  # window position 36
        assert s.cts_end - s.cts_start + 1 == len(s.cts_seq.strip("N"))
    assert full.aln_end < seed8.aln_start or seed8.aln_end < full.aln_start
    assert full.cts_end == full.site_end + 4
    # near the 3' end the window is N-padded on that side
    edge_target = "C" * 50 + eight
    edge = neg.find_negative_sites(mirna, edge_target, min_score=100)[0]
    assert (edge.cts_start, edge.cts_end) == (23, 58) and edge.cts_seq == edge_target[22:] + "NNNN"


def test_window_pads_both_ends():
    target = "ACGU" * 20  # 80 nt
    assert dx.window(target, 3, 40) == (1, 7, "N" * 33 + target[:7])
    start, end, seq = dx.window(target, 79, 40)
    assert (start, end) == (44, 80) and seq == target[43:80] + "NNN" and len(seq) == 40
    assert dx.window("ACGU" * 5, 10, 40) == (1, 20, "ACGU" * 5)  # short targets stay whole


# --------------------------------------------------------------------------- negatives


def _positives(n: int, utr_len: int, seed: int = 0) -> list[Pair]:
    rng = random.Random(seed)
    mirnas = [("hsa-let-7a-5p", "UGAGGUAGUAGGUUGUAUAGUU"), ("hsa-miR-21-5p", "UAGCUUAUCAGACUGAUGUUGA")]
    out = []
    for i in range(n):
        mid, mseq = mirnas[i % 2]
        out.append(Pair(mid, mseq, f"utr{i}", random_seq(rng, utr_len), 1, (f"x{i}",), i + 2))
    return out


def test_make_negatives_reaches_the_ratio_with_valid_rows():
    pos = _positives(12, 1500)
    mocks = neg.make_mock_mirnas(neg.mirnas_of(neg.Positives(pos, ["p"] * 12, ["x"])), per_mirna=2, seed=1)
    rows, summary = neg.make_negatives(pos, mocks, ratio=2, min_score=100)
    assert summary.target == 24 and summary.n_negatives == len(rows) == 24
    mock_seq = {m.id: m.seq for m in mocks}
    for r in rows:
        p = pos[r.positive]
        assert r.label == 0 and r.mrna_id == p.mrna_id and r.source_mirna_id == p.mirna_id
        assert mock_seq[r.mirna_id] == r.mirna_seq and r.extra == p.extra
        assert r.site.score >= 100 and len(r.mrna_seq) == 40
        assert r.mrna_seq.strip("N") == p.mrna_seq[r.site.cts_start - 1 : r.site.cts_end]
        assert dx.duplex_score(r.mirna_seq, p.mrna_seq[r.site.aln_start - 1 : r.site.aln_end]) == r.site.score
    assert len({(r.mirna_id, r.mrna_id, r.site.aln_start) for r in rows}) == len(rows)  # no duplicates


def test_shortfall_is_reported_and_filled_from_other_targets():
    pos = _positives(6, 40)  # site-level CTSs: few mock sites reach the score
    mocks = neg.make_mock_mirnas([(p.mirna_id, p.mirna_seq) for p in pos[:2]], per_mirna=1, seed=0)
    rows, summary = neg.make_negatives(pos, mocks, ratio=1, min_score=1000)
    assert rows == [] and summary.n_negatives == 0 and summary.target == 6
    assert summary.per_positive == {0: 6}
    scores = sorted(dx.duplex_score(mocks[i % 2].seq, p.mrna_seq) for i, p in enumerate(pos))
    cut = scores[3]
    _, no_fill = neg.make_negatives(pos, mocks, ratio=1, min_score=cut, fill=False)
    _, filled = neg.make_negatives(pos, mocks, ratio=1, min_score=cut, fill=True)
    assert no_fill.n_negatives <= filled.n_negatives
    assert filled.n_filled == filled.n_negatives - no_fill.n_negatives


def test_quotas_sum_to_the_ratio():
    for n, r in ((10, 1.0), (7, 0.5), (9, 2.5), (3, 0.0)):
        q = neg.quotas(n, r)
        assert len(q) == n and sum(q) == int(n * r) and max(q) - min(q) <= 1


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def positives_tsv(tmp_path):
    path = tmp_path / "pos.tsv"
    lines = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\tsplit"]
    for p in _positives(10, 800, seed=5):
        lines.append(f"{p.mirna_id}\t{p.mirna_seq}\t{p.mrna_id}\t{p.mrna_seq}\t1\ttrain")
    lines.append("hsa-miR-21-5p\tUAGCUUAUCAGACUGAUGUUGA\tneg1\tACGUACGUACGU\t0\ttrain")  # ignored
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_writes_negatives_mocks_and_a_summary(positives_tsv, tmp_path):
    out, fa = tmp_path / "neg.tsv", tmp_path / "mocks.fa"
    res = run(["--positives", positives_tsv, "--min-score", "100", "--ratio", "2", "--seed", "3", "-o", out, "--mock-fasta", fa])
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    table = [l.split("\t") for l in out.read_text().splitlines()]
    assert table[0] == list(neg.OUTPUT_COLUMNS) + ["split"]
    assert len(table) - 1 == 20 and {r[4] for r in table[1:]} == {"0"} and {r[-1] for r in table[1:]} == {"train"}
    mock_ids = {l[1:] for l in fa.read_text().splitlines() if l.startswith(">")}
    assert {r[0] for r in table[1:]} == mock_ids
    assert "10 positives" in res.stderr and "20 negatives" in res.stderr and "label 0 ignored" in res.stderr


def test_cli_is_byte_identical_for_a_seed(positives_tsv, tmp_path):
    args = ["--positives", positives_tsv, "--min-score", "100", "--include-positives"]
    a = run(args + ["--seed", "11"])
    b = run(args + ["--seed", "11"])
    c = run(args + ["--seed", "12"])
    assert a.returncode == 0, a.stderr
    assert a.stdout == b.stdout and a.stdout != c.stdout
    labels = [l.split("\t")[4] for l in a.stdout.splitlines()[1:]]
    assert labels.count("1") == labels.count("0") == 10


def test_cli_site_table_and_stdin(positives_tsv):
    res = run(["--positives", "-", "--min-score", "100", "--format", "sites"], stdin=positives_tsv.read_text())
    assert res.returncode == 0, res.stderr
    table = [l.split("\t") for l in res.stdout.splitlines()]
    assert table[0][:3] == ["mirna_id", "mrna_id", "site_type"]
    assert len(table) == 11 and {r[2] for r in table[1:]} == {"duplex"}


@pytest.mark.parametrize(
    "content, message",
    [
        ("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\nm1\tUGAGGUAGXAGGUUG\tt1\tACGUACGU\n", r"pos.tsv:2: mirna_seq"),
        ("mirna_id\tmirna_seq\tmrna_id\nm1\tUGAGGUAGUAGGUUG\tt1\n", r"pos.tsv:1: missing column"),
        ("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\nm1\tUGAGGUAGUAGGUUG\tt1\tACGU\t0\n", r"no positive pairs"),
        ("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tsite_end\nm1\tUGAGGUAGUAGGUUG\tt1\tACGU\tx\n", r"pos.tsv:2: site_start"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_no_output(tmp_path, content, message):
    bad = tmp_path / "pos.tsv"
    bad.write_text(content)
    out = tmp_path / "out.tsv"
    res = run(["--positives", bad, "--include-positives", "-o", out])
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "Traceback" not in res.stderr
    assert re.search(message, lines[-1]), lines[-1]
    assert not out.exists()


def test_cli_bad_reference_and_usage_errors(positives_tsv, tmp_path):
    ref = tmp_path / "ref.fa"
    ref.write_text(">a\nUGAGGUAGUAGG\n>b\nUGAG1UAGUAGG\n")
    res = run(["--positives", positives_tsv, "--reference-mirnas", ref])
    assert res.returncode == 1 and "ref.fa:4:" in res.stderr
    assert run(["--min-score", "100"]).returncode == 2  # no input at all


@pytest.mark.skipif(not (SHARED / "mirMark_DeepMirTar").is_dir(), reason="../shared/data not present")
def test_mirmark_positives_get_a_balanced_set(tmp_path):
    src = SHARED / "mirMark_DeepMirTar" / "mirMark_sites_DeepMirTar.tsv"
    lines = src.read_text().splitlines()
    cols = lines[0].split("\t")
    i = {c: cols.index(c) for c in cols}
    pos = tmp_path / "mirmark.tsv"
    body = [l.split("\t") for l in lines[1:]]
    body = [r for r in body if r[i["label"]] == "1"][:40]
    pos.write_text(
        "mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tsite_start\tsite_end\n"
        + "".join(
            f"{r[i['mirna_id']]}\t{r[i['mirna_seq']]}\t{r[i['refseq_id']]}\t{r[i['utr_seq']]}\t{r[i['site_start']]}\t{r[i['site_end']]}\n"
            for r in body
        )
    )
    res = run(["--positives", pos, "--reference-mirnas", SHARED / "miRBase" / "mature_v22.1.fa.gz", "--include-positives"])
    assert res.returncode == 0, res.stderr
    table = [l.split("\t") for l in res.stdout.splitlines()[1:]]
    assert sum(r[4] == "1" for r in table) == sum(r[4] == "0" for r in table) == 40
    for r, src_row in zip([r for r in table if r[4] == "1"], body):
        # positives are cut at the annotated mirMark site (its 3' end at window position 36)
        site_end = int(src_row[i["site_end"]])
        assert r[3][35] == src_row[i["utr_seq"]][site_end - 1]


def test_cli_fasta_inputs_with_a_pair_list(tmp_path):
    rng = random.Random(9)
    (tmp_path / "m.fa").write_text(">hsa-miR-21-5p\nUAGCTTATCAGACTGATGTTGA\n>hsa-let-7a-5p\nugagguaguagguuguauaguu\n")
    (tmp_path / "u.fa").write_text("".join(f">utr{i}\n{random_seq(rng, 1200)}\n" for i in range(3)))
    (tmp_path / "p.tsv").write_text("hsa-miR-21-5p\tutr0\nhsa-let-7a-5p\tutr2\n")
    res = run(
        [
            "--mirna",
            tmp_path / "m.fa",
            "--utr",
            tmp_path / "u.fa",
            "--pairs",
            tmp_path / "p.tsv",
            "--min-score",
            "100",
            "--include-positives",
        ]
    )
    assert res.returncode == 0, res.stderr
    table = [l.split("\t") for l in res.stdout.splitlines()[1:]]
    assert sorted((r[4], r[5], r[2]) for r in table) == [
        ("0", "hsa-let-7a-5p", "utr2"),
        ("0", "hsa-miR-21-5p", "utr0"),
        ("1", "hsa-let-7a-5p", "utr2"),
        ("1", "hsa-miR-21-5p", "utr0"),
    ]
    bad = run(["--mirna", tmp_path / "m.fa", "--utr", tmp_path / "u.fa", "--pairs", tmp_path / "missing.tsv"])
    assert bad.returncode == 1 and bad.stderr.startswith("error: ") and "missing.tsv" in bad.stderr
