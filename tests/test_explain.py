"""dt-explain: activations, attributions (IG completeness), duplex, outputs, errors."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from deeptarget_core import duplex as dx
from deeptarget_core import explain as ex
from deeptarget_core import explain_report as report
from deeptarget_core.model import CheckpointInfo, DeepTarget, ModelConfig, load_model, save_checkpoint
from deeptarget_core.seq import encode_batch, reverse_complement
from deeptarget_tools.explain import app

from conftest import EXAMPLES

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
runner = CliRunner()


def random_seq(rng, n, letters="ACGU"):
    return "".join(rng.choice(list(letters), n))


def site_window(rng, mirna, length=40):
    """A window with an 8mer site for ``mirna`` ending at window position 36 (dt-scan-cts)."""
    return random_seq(rng, length - 12) + reverse_complement(mirna[1:8]) + "A" + random_seq(rng, 4)


@pytest.fixture(scope="module")
def toy_path(tmp_path_factory) -> Path:
    """A toy classifier (fixed seed) whose weights are scaled up so that scores spread out
    far from the baseline (an untrained net scores everything ~0.45: no test of completeness)."""
    torch.manual_seed(7)
    net = DeepTarget(ModelConfig())
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    path = tmp_path_factory.mktemp("model") / "toy.pt"
    save_checkpoint(path, net, CheckpointInfo(kind="classifier", config=net.config, seed=7))
    return path


@pytest.fixture(scope="module")
def toy(toy_path):
    torch.set_num_threads(1)
    return load_model(toy_path)[0]


@pytest.fixture(scope="module")
def pairs():
    rng = np.random.default_rng(3)
    mirs = [LET7, MIR21] * 4
    ctss = [site_window(rng, m) if i % 2 == 0 else random_seq(rng, 40) for i, m in enumerate(mirs)]
    ctss[3] = ctss[3][:30]  # shorter CTS: N-padded on the 5' side
    ctss[5] = ctss[5][:12] + "NNN" + ctss[5][15:]
    return ex.pairs_from_sequences(mirs, ctss)


# --------------------------------------------------------------------------- numbers


def test_embedding_path_equals_the_model(toy, pairs):
    """IG differentiates a re-wiring of the network through its embeddings: same function."""
    _, m, c = ex.encode_pairs(pairs, 40)
    mt, ct = torch.as_tensor(m), torch.as_tensor(c)
    with torch.no_grad():
        direct = toy.predict_proba(mt, ct)
        via = ex._prob_from_embeddings(toy, toy.mirna_ae.embedding(mt.long()), toy.cts_ae.embedding(ct.long()))
    assert torch.allclose(direct, via, atol=1e-6)


def test_integrated_gradients_completeness(toy, pairs):
    """Attributions sum to score - baseline score. Tolerance 2e-3 at 32 Gauss-Legendre steps
    (measured: < 1e-5 on this toy); the spread of the scores makes the check meaningful."""
    res = ex.explain(toy, pairs, method="ig", steps=32)
    base = ex.baseline_score(toy)
    diffs = np.array([e.score - base for e in res])
    sums = np.array([e.attribution_sum for e in res])
    assert np.abs(diffs).max() > 0.1  # the test could fail: the differences are not all ~0
    np.testing.assert_allclose(sums, diffs, atol=2e-3)
    # A crude 1-step rule is not complete on this model: the quadrature matters.
    crude = np.array([e.attribution_sum for e in ex.explain(toy, pairs, method="ig", steps=1)])
    assert np.abs(crude - diffs).max() > 2e-3


def test_completeness_holds_with_pairing_channels(pairs):
    """Pairing channels are inputs too: their attribution is split between the two paired
    nucleotides, so the per-nucleotide attributions still sum to score - baseline."""
    torch.manual_seed(5)
    net = DeepTarget(ModelConfig(layers=1, bidirectional=True, pairing_offsets=(3, 4, 5))).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)
    res = ex.explain(net, pairs, method="ig", steps=32)
    diffs = np.array([e.score - ex.baseline_score(net) for e in res])
    assert np.abs(diffs).max() > 0.05
    np.testing.assert_allclose([e.attribution_sum for e in res], diffs, atol=2e-3)


def test_padding_and_n_get_zero_attribution(toy, pairs):
    res = ex.explain(toy, pairs, method="ig", steps=8)
    for e in res:
        assert np.all(e.mirna_attr[len(e.pair.mirna_seq) :] == 0)
        n_pos = [i for i, c in enumerate(e.window) if c == "N"]
        assert np.all(e.cts_attr[n_pos] == 0)
        assert np.abs(e.cts_attr).sum() > 0
    assert res[3].window.startswith("N" * 10)  # 30 nt -> 3'-aligned, padded on the 5' side


def test_gradient_x_input_is_embedding_times_gradient(toy, pairs):
    _, m, c = ex.encode_pairs(pairs[:2], 40)
    am, ac = ex.attributions(toy, m, c, method="gradxinput")
    em = toy.mirna_ae.embedding(torch.as_tensor(m).long()).detach().requires_grad_(True)
    ec = toy.cts_ae.embedding(torch.as_tensor(c).long()).detach().requires_grad_(True)
    ex._prob_from_embeddings(toy, em, ec).sum().backward()
    np.testing.assert_allclose(am, (em.grad * em).sum(2).detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(ac, (ec.grad * ec).sum(2).detach().numpy(), atol=1e-6)


def test_batching_does_not_change_results(toy, pairs):
    a = ex.explain(toy, pairs, steps=8, batch_size=8)  # one pair per IG pass
    b = ex.explain(toy, pairs, steps=8, batch_size=4096)
    assert len(a) == len(b) == len(pairs) > 0
    for x, y in zip(a, b):
        np.testing.assert_allclose(x.cts_attr, y.cts_attr, atol=1e-6)
        np.testing.assert_allclose(x.activations, y.activations, atol=1e-6)


def test_duplex_pairs_and_binding_indicator():
    window = "A" * 27 + reverse_complement(LET7[1:8]) + "A" + "CCCC"  # 8mer: A1 at position 36
    d = dx.duplex(LET7, window)
    pairs = {mi: (ti, kind) for mi, ti, kind in d.pairs}
    for nt in range(2, 9):  # seed nt 2-8 pair WC with window positions 36-nt (1-based)
        assert pairs[nt - 1] == (35 - nt, "WC")
    assert pairs[0] == (34, "WC")  # nt 1 (U) faces the A1 at position 36
    ind = ex.binding_indicator(d, len(LET7), 40)
    # step 2 reads miRNA nt 2 (paired) and window nt 39 (C, unpaired)
    assert ind[1] == pytest.approx(0.5)
    # step 6 reads nt 6 (paired) and window nt 35 (paired to nt 1): 1
    assert ind[5] == pytest.approx(1.0)
    # G:U wobble: miRNA nt 6 (U) facing a G at window position 30
    assert LET7[5] == "U" and window[29] == "A"
    d2 = dx.duplex(LET7, window[:29] + "G" + window[30:])
    assert {mi: (ti, k) for mi, ti, k in d2.pairs}[5] == (29, "GU")
    assert ex.binding_indicator(d2, len(LET7), 40)[5] == pytest.approx(0.75)
    assert dx.pair_type("G", "U") == "GU" and dx.pair_type("U", "G") == "GU"
    assert dx.pair_type("A", "U") == "WC" and dx.pair_type("A", "G") == "mismatch"


def test_best_unit_follows_the_indicator():
    rng = np.random.default_rng(0)
    ind = (rng.random(40) > 0.5).astype(float)
    acts = rng.normal(size=(40, 6))
    acts[:, 4] = -2 * ind + 0.01 * rng.normal(size=40)
    unit, r = ex.best_unit(acts, ind)
    assert unit == 4 and r < -0.99
    assert ex.best_unit(acts, np.zeros(40))[0] is None


def test_top_pairs_by_score_ties_in_input_order():
    def p(i, s):
        return ex.ExplainPair(f"m{i}", LET7, f"t{i}", "ACGU" * 10, input_score=s, line=i)

    chunks = [[p(0, 0.5), p(1, 0.9), p(2, 0.7)], [p(3, 0.9), p(4, 0.1), p(5, 0.7)]]
    top = ex.top_pairs(iter(chunks), 4)
    assert [x.mirna_id for x in top] == ["m1", "m3", "m2", "m5"]
    model_scored = ex.top_pairs(
        iter([[ex.ExplainPair(f"m{i}", LET7, "t", "A" * 40) for i in range(5)]]),
        2,
        lambda ps: np.array([0.1, 0.3, 0.3, 0.2, 0.0]),
    )
    assert [x.mirna_id for x in model_scored] == ["m1", "m2"]


# --------------------------------------------------------------------------- the tool


def _sites(tmp_path) -> Path:
    from deeptarget_tools.scan_cts import app as scan_app

    out = tmp_path / "sites.tsv"
    res = runner.invoke(
        scan_app, ["--mirna", str(EXAMPLES / "mirnas.fa"), "--utr", str(EXAMPLES / "utrs.fa.gz"), "-o", str(out), "-q"]
    )
    assert res.exit_code == 0, res.output
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:7]) + "\n")  # header + 6 sites keep the test fast
    return out


def _read_tsv(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    return lines[0].split("\t"), [l.split("\t") for l in lines[1:]]


def test_cli_makes_every_file_and_the_tsv_matches_the_model(tmp_path, toy_path, toy):
    sites = _sites(tmp_path)
    out = tmp_path / "explain"
    res = runner.invoke(
        app, [str(sites), "--mirna", str(EXAMPLES / "mirnas.fa"), "--model", str(toy_path), "-o", str(out), "-q", "--steps", "8"]
    )
    assert res.exit_code == 0, res.output
    assert res.stdout == ""  # data go to files; stdout stays clean
    cols, summary = _read_tsv(out / "pairs.tsv")
    assert len(summary) == 6
    _, site_rows = _read_tsv(sites)
    mirnas = {r.id: r.seq for r in __import__("deeptarget_core.io", fromlist=["x"]).read_fasta(EXAMPLES / "mirnas.fa", "mirna")}
    index = (out / "index.html").read_text()
    assert not re.search(r"https?://|<script|@import|<link", index)
    for row, site in zip(summary, site_rows):
        rec = dict(zip(cols, row))
        assert (rec["mirna_id"], rec["mrna_id"], rec["site_start"]) == (site[0], site[1], site[3])
        files = rec["files"].split(",")
        assert [f.rsplit(".", 1)[1] for f in files] == ["tsv", "png", "svg"]
        for f in files:
            assert (out / f).stat().st_size > 0
            assert f'href="{f}"' in index
        assert (out / files[1]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / files[2]).read_bytes()[:2000]
        # Recompute with the model's own API: activations of the last layer, and the score.
        mseq, cts = mirnas[site[0]], site[7]
        m = torch.as_tensor(encode_batch([mseq], 40))
        c = torch.as_tensor(encode_batch([cts], 40))
        with torch.no_grad():
            states = toy.interaction_states(toy.encode_mirna(m), toy.encode_cts(c))[-1][0].numpy()
            score = float(toy.predict_proba(m, c)[0])
        assert float(rec["score"]) == pytest.approx(score, abs=2e-6)
        # the classic duplex, as text in pairs.tsv (its rows) and in the page (pasteable, with
        # the site's position in the UTR), from the one duplex module
        classic = dx.classic(mseq, cts)
        rows = [rec[f"duplex_{k}"] for k in ("target", "match", "mirna", "seed")]
        assert rows == [classic.target, classic.match, classic.mirna, classic.seed]
        assert len({len(r) for r in rows}) == 1 and "|" in rec["duplex_match"]
        header = f"Position {site[3]}-{site[4]} of {site[1]} ({site[2]})"
        assert html.escape(classic.text(header)) in index
        pcols, prows = _read_tsv(out / files[0])
        units = [i for i, name in enumerate(pcols) if re.fullmatch(r"u\d+", name)]
        assert len(units) == states.shape[1] == 30 and len(prows) == 40
        table = np.array([[float(r[i]) for i in units] for r in prows])
        np.testing.assert_allclose(table, states, atol=2e-6)  # 6 printed digits + float32 batch effects
        # Step i reads miRNA nt i and CTS window nt 41-i.
        assert "".join(r[pcols.index("mirna_nt")] for r in prows).rstrip(".") == mseq
        assert "".join(r[pcols.index("cts_nt")] for r in prows) == cts[::-1]
        attr = sum(float(r[pcols.index("mirna_attr")]) + float(r[pcols.index("cts_attr")]) for r in prows)
        assert attr == pytest.approx(float(rec["attribution_sum"]), abs=1e-4)


def test_cli_top_n_of_a_prediction_table_and_determinism(tmp_path, toy_path):
    sites = _sites(tmp_path)
    header, *rows = sites.read_text().splitlines()
    scores = ["0.2", "0.9", "0.5", "0.9", "0.1", "0.5"]
    pred = tmp_path / "pred.tsv"
    pred.write_text("\n".join([header + "\tscore"] + [r + "\t" + s for r, s in zip(rows, scores)]) + "\n")
    outs = []
    for name in ("a", "b"):
        res = runner.invoke(
            app,
            [
                str(pred),
                "--mirna",
                str(EXAMPLES / "mirnas.fa"),
                "--model",
                str(toy_path),
                "--top",
                "3",
                "-o",
                str(tmp_path / name),
                "-q",
                "--steps",
                "4",
            ],
        )
        assert res.exit_code == 0, res.output
        outs.append(tmp_path / name)
    cols, summary = _read_tsv(outs[0] / "pairs.tsv")
    got = [(r[cols.index("input_score")], r[cols.index("mrna_id")], r[cols.index("site_start")]) for r in summary]
    # 0.9 (row 2), 0.9 (row 4: the tie keeps input order), 0.5 (row 3, earlier than row 6)
    want = [("0.900000", rows[1]), ("0.900000", rows[3]), ("0.500000", rows[2])]
    assert got == [(s, r.split("\t")[1], r.split("\t")[3]) for s, r in want]
    assert len({(g[1], g[2]) for g in got}) == 3
    files_a = sorted(p.name for p in outs[0].iterdir())
    assert files_a == sorted(p.name for p in outs[1].iterdir())
    for name in files_a:  # same input, same bytes (PNG, SVG, TSV, HTML)
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name


def test_reused_figure_draws_the_same_bytes_as_a_fresh_one(tmp_path, toy, pairs):
    from deeptarget_core.plots_explain import ExplainDrawer

    res = ex.explain(toy, pairs[:2], steps=4)
    reused = ExplainDrawer()
    reused.save(res[0], tmp_path / "first.png")
    reused.save(res[1], tmp_path / "reused.png")
    reused.save(res[1], tmp_path / "reused.svg")
    fresh = ExplainDrawer()
    fresh.save(res[1], tmp_path / "fresh.png")
    fresh.save(res[1], tmp_path / "fresh.svg")
    assert (tmp_path / "reused.png").read_bytes() == (tmp_path / "fresh.png").read_bytes()
    assert (tmp_path / "reused.svg").read_bytes() == (tmp_path / "fresh.svg").read_bytes()
    assert (tmp_path / "first.png").read_bytes() != (tmp_path / "fresh.png").read_bytes()
    reused.close()
    fresh.close()


def test_picture_draws_the_classic_duplex_above_the_network_alignment(tmp_path, toy, pairs):
    from deeptarget_core.plots_explain import ExplainDrawer

    e = ex.explain(toy, pairs[:1], steps=4)[0]
    drawer = ExplainDrawer()
    drawer.save(e, tmp_path / "p.png")
    fig = drawer._figure(e)
    rows = [t.get_text() for t in fig.classic_rows]
    lines = e.classic.lines()
    assert lines[0].startswith("target 5' ") and lines[2].startswith("miRNA  3' ")
    assert rows[0] == lines[0] and rows[1] == lines[1] and rows[3] == lines[3]
    # the miRNA row: seed letters in the green overlay, the others in black, same columns
    seed_cols = {i for i, c in enumerate(lines[3]) if c == "^"}
    assert len(seed_cols) == 7
    overlay = fig.classic_seed.get_text()
    assert "".join(overlay[i] for i in sorted(seed_cols)) == e.pair.mirna_seq[1:8][::-1]
    assert all(rows[2][i] == " " for i in seed_cols) and all(overlay[i] == " " for i in range(len(overlay)) if i not in seed_cols)
    assert fig.classic_head.get_text() == e.duplex_header
    # the panel sits above the heatmap, the step-wise alignment below it
    assert fig.ax_classic.get_position().y0 > fig.ax_heat.get_position().y1 > fig.ax_dup.get_position().y1
    drawer.close()


def test_drawing_in_worker_processes_gives_the_same_files(tmp_path, toy, pairs):
    res = ex.explain(toy, pairs[:3], steps=4)
    info = report.RunInfo("ig", 4, ex.baseline_score(toy), "toy", formats=("png",))
    report.write_outputs(res, tmp_path / "one", info, workers=1)
    report.write_outputs(res, tmp_path / "two", info, workers=2)
    names = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert len(names) == 3 * 2 + 3 and names == sorted(p.name for p in (tmp_path / "two").iterdir())  # + manifest
    for name in names:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_cli_sequences_on_the_command_line_and_force(tmp_path, toy_path):
    rng = np.random.default_rng(5)
    out = tmp_path / "o"
    args = [
        "--mirna-seq",
        LET7,
        "--cts-seq",
        site_window(rng, LET7).replace("U", "T").lower(),
        "--model",
        str(toy_path),
        "-o",
        str(out),
        "-q",
        "--no-svg",
        "--steps",
        "4",
        "--layer",
        "1",
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert sorted(p.suffix for p in out.iterdir() if not p.name.startswith(".")) == [".html", ".png", ".tsv", ".tsv"]
    pcols, _ = _read_tsv(next(out.glob("pair0001*.tsv")))
    assert sum(1 for c in pcols if re.fullmatch(r"u\d+", c)) == 60  # layer 1 has 60 units
    res = runner.invoke(app, args)  # exists, not empty -> refused, left as it was
    assert res.exit_code == 1 and "--force" in res.stderr
    (out / "keep").write_text("x")  # a file of the user's: --force must not delete it (issue 18)
    res = runner.invoke(app, args + ["--force"])
    assert res.exit_code == 1 and "'keep' is not one of its files" in res.stderr
    assert (out / "keep").read_text() == "x" and (out / "index.html").exists()
    (out / "keep").unlink()
    next(out.glob("pair0001*.png")).write_bytes(b"edited")  # one of dt-explain's own files: replaced
    res = runner.invoke(app, args + ["--force"])
    assert res.exit_code == 0, res.output
    assert (out / "index.html").exists() and not any(p.read_bytes() == b"edited" for p in out.iterdir())
    other = tmp_path / "notours"
    other.mkdir()
    (other / "data.txt").write_text("precious")
    res = runner.invoke(app, [*args[:-8], "--model", str(toy_path), "-o", str(other), "--force", "-q"])
    assert res.exit_code == 1 and (other / "data.txt").read_text() == "precious"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: ["SITES", "--mirna", "ONE_MIRNA"], r"sites\.tsv:2: miRNA 'hsa-let-7a-5p' is not in the miRNA FASTA"),
        (lambda d: ["BADCTS", "--mirna", str(EXAMPLES / "mirnas.fa")], r"bad\.tsv:3: cts_seq .* letters other than"),
        (lambda d: ["SITES"], r"no mirna_seq column: give the miRNA sequences as a FASTA"),
        (lambda d: ["BADSCORE", "--mirna", str(EXAMPLES / "mirnas.fa"), "--top", "2"], r"pred\.tsv:2: score 'high'"),
        (
            lambda d: ["--mirna-seq", LET7, "--mirna-seq", MIR21, "--cts-seq", "A" * 40],
            r"as many CTS sequences \(1\) as miRNA sequences \(2\)",
        ),
        (lambda d: ["--mirna-seq", "UGAGXUAG", "--cts-seq", "A" * 40], r"--mirna-seq #1 'UGAGXUAG'"),
        (lambda d: ["--mirna-seq", LET7, "--cts-seq", "A" * 40, "--layer", "3"], r"--layer 3: .* 2 layer"),
        (lambda d: ["SITES", "--mirna", str(EXAMPLES / "mirnas.fa"), "--model", str(d / "sites.tsv")], r"checkpoint"),
    ],
)
def test_cli_bad_input_is_one_error_line_and_no_output(tmp_path, toy_path, make, message):
    sites = _sites_small(tmp_path)
    header, *rows = sites.read_text().splitlines()
    (tmp_path / "bad.tsv").write_text("\n".join([header, rows[0], rows[1].replace("\tA", "\tX", 1)[:-5] + "XXJXX"]) + "\n")
    (tmp_path / "pred.tsv").write_text("\n".join([header + "\tscore", rows[0] + "\thigh"]) + "\n")
    (tmp_path / "one.fa").write_text(">other\n" + MIR21 + "\n")
    repl = {
        "SITES": str(sites),
        "BADCTS": str(tmp_path / "bad.tsv"),
        "BADSCORE": str(tmp_path / "pred.tsv"),
        "ONE_MIRNA": str(tmp_path / "one.fa"),
    }
    args = [repl.get(a, a) for a in make(tmp_path)]
    if "--model" not in args:
        args += ["--model", str(toy_path)]
    out = tmp_path / "out"
    res = runner.invoke(app, args + ["-o", str(out)])
    assert res.exit_code == 1, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert re.search(message, lines[0]), lines[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temporary left


def _sites_small(tmp_path) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "sites.tsv"
    rows = ["\t".join(["mirna_id", "mrna_id", "site_type", "site_start", "site_end", "cts_start", "cts_end", "cts_seq"])]
    for i in range(2):
        rows.append("\t".join(["hsa-let-7a-5p", f"t{i}", "8mer", "29", "36", "1", "40", site_window(rng, LET7)]))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_usage_errors_exit_2(toy_path, tmp_path):
    res = runner.invoke(app, ["--model", str(toy_path), "-o", str(tmp_path / "x")])
    assert res.exit_code == 2 and "give a TABLE, or --mirna-seq and --cts-seq" in res.output
    res = runner.invoke(app, [str(tmp_path / "t.tsv"), "--mirna-seq", LET7, "--cts-seq", "A" * 40])
    assert res.exit_code == 2 and "give a TABLE or --mirna-seq/--cts-seq, not both" in res.output


def test_entry_point_reads_stdin(tmp_path, toy_path):
    sites = _sites_small(tmp_path)
    res = subprocess.run(
        [
            str(Path(sys.executable).parent / "dt-explain"),
            "-",
            "--mirna",
            str(EXAMPLES / "mirnas.fa"),
            "--model",
            str(toy_path),
            "-o",
            str(tmp_path / "o"),
            "--steps",
            "4",
            "--no-svg",
        ],
        input=sites.read_text(),
        capture_output=True,
        text=True,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert "2 pair(s)" in res.stderr
    assert len(list((tmp_path / "o").glob("*.png"))) == 2
