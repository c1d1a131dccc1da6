"""dt-eval as a user runs it: tables, joins, comparison, CV summary, plots, errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from deeptarget_core import metrics

from conftest import BIN, EXAMPLES


def run(args, stdin=None):
    return subprocess.run([str(BIN / "dt-eval"), *map(str, args)], input=stdin, capture_output=True, text=True)


def table(text: str) -> list[dict[str, str]]:
    lines = text.splitlines()
    head = lines[0].split("\t")
    return [dict(zip(head, l.split("\t"))) for l in lines[1:]]


@pytest.fixture()
def preds(tmp_path):
    rng = np.random.default_rng(4)
    rows_a, rows_b = ["mirna_id\tmrna_id\tscore\tlabel"], ["mirna_id\tmrna_id\tscore\tlabel"]
    for i in range(200):
        m = f"miR-{i % 8}"
        y = int(rng.uniform() < 0.3 + 0.05 * (i % 8))
        rows_a.append(f"{m}\tg{i}\t{np.clip(0.35 * y + rng.uniform(0, 0.65), 0, 1):.6f}\t{y}")
        rows_b.append(f"{m}\tg{i}\t{rng.uniform():.6f}\t{y}")
    a, b = tmp_path / "model.tsv", tmp_path / "random.tsv"
    a.write_text("\n".join(rows_a) + "\n")
    b.write_text("\n".join(rows_b) + "\n")
    return a, b


def test_metrics_table_matches_library(preds, tmp_path):
    a, _ = preds
    res = run([a, "-o", tmp_path / "m.tsv", "--json", tmp_path / "m.json"])
    assert res.returncode == 0, res.stderr
    rows = table((tmp_path / "m.tsv").read_text())
    assert rows[0]["name"] == "model" and rows[0]["stat"] == "value"
    data = [l.split("\t") for l in a.read_text().splitlines()[1:]]
    m = metrics.binary_metrics([int(r[3]) for r in data], [float(r[2]) for r in data], 0.5)
    for k in ("accuracy", "sensitivity", "specificity", "f_measure", "ppv", "npv", "mcc", "roc_auc", "pr_auc"):
        assert float(rows[0][k]) == pytest.approx(m[k], abs=1e-4)
    js = json.loads((tmp_path / "m.json").read_text())
    assert js["predictors"]["model"]["metrics"]["roc_auc"] == pytest.approx(m["roc_auc"])
    assert "dt-eval" in res.stderr  # the rich table goes to stderr


def test_comparison_shortcut_and_group_by(preds, tmp_path):
    a, b = preds
    train = tmp_path / "train.tsv"
    train.write_text(a.read_text())  # identity rates from a "training" table
    res = run([a, b, "--group-by", "mirna", "--shortcut-baseline", train, "--per-mirna", tmp_path / "per.tsv", "-q"])
    assert res.returncode == 0, res.stderr
    rows = {r["name"]: r for r in table(res.stdout)}
    assert list(rows) == ["model", "random", "identity-shortcut"]
    assert float(rows["identity-shortcut"]["within_mirna_auc"]) == 0.5
    assert float(rows["model"]["within_mirna_auc"]) > 0.7 > float(rows["random"]["within_mirna_auc"])
    per = table((tmp_path / "per.tsv").read_text())
    assert {r["name"] for r in per} == {"model", "random", "identity-shortcut"}
    assert all(r["auc"] == "0.5000" for r in per if r["name"] == "identity-shortcut")


def test_separate_label_table_join(preds, tmp_path):
    a, _ = preds
    lines = [l.split("\t") for l in a.read_text().splitlines()]
    nolab = tmp_path / "nolabel.tsv"
    nolab.write_text("".join("\t".join(r[:3]) + "\n" for r in lines))
    labels = tmp_path / "labels.tsv"
    labels.write_text("".join(f"{r[0]}\t{r[1]}\t{r[3]}\n" for r in [lines[0]] + lines[1:150]))
    joined = run([nolab, "--labels", labels, "-q"])
    assert joined.returncode == 0, joined.stderr
    assert table(joined.stdout)[0]["n"] == "149"
    direct = run([nolab, "-q"])
    assert direct.returncode == 1 and "label" in direct.stderr


def test_cross_validation_summary(tmp_path):
    cv = tmp_path / "cv.tsv"
    cv.write_text(
        "fold\taccuracy\troc_auc\tf_measure\n0\t0.80\t0.90\t0.7\n1\t0.70\t0.80\t0.6\n2\t0.75\t0.85\t0.65\n"
        "mean\t0.75\t0.85\t0.65\nsd\t0.05\t0.05\t0.05\n"
    )
    res = run([cv, "-q"])
    assert res.returncode == 0, res.stderr
    rows = {r["stat"]: r for r in table(res.stdout)}
    assert float(rows["mean"]["accuracy"]) == pytest.approx(0.75)
    assert float(rows["sd"]["roc_auc"]) == pytest.approx(0.05)
    assert float(rows["min"]["f_measure"]) == pytest.approx(0.6)


def test_plots_are_real_pngs(preds, tmp_path):
    a, b = preds
    res = run([a, b, "--plots", tmp_path / "plots", "-q"])
    assert res.returncode == 0, res.stderr
    import matplotlib.image as mpimg

    names = {"roc.png", "pr.png", "hist_model.png", "hist_random.png", "confusion_model.png", "confusion_random.png"}
    assert names <= {p.name for p in (tmp_path / "plots").iterdir()}
    for n in names:
        img = mpimg.imread(tmp_path / "plots" / n)
        assert img.shape[0] > 200 and img.shape[1] > 200
        assert img[..., :3].std() > 0.05  # not a blank canvas


def test_stdin_and_errors_name_file_and_line(preds, tmp_path):
    a, _ = preds
    res = run(["-", "-q"], stdin=a.read_text())
    assert res.returncode == 0 and table(res.stdout)[0]["name"] == "stdin"
    bad = tmp_path / "bad.tsv"
    bad.write_text("mirna_id\tmrna_id\tscore\tlabel\nm\tg\t0.5\t1\nm\tg2\tabc\t0\n")
    res = run([bad, "-o", tmp_path / "out.tsv"])
    assert res.returncode == 1 and f"{bad}:3" in res.stderr and "abc" in res.stderr
    assert not (tmp_path / "out.tsv").exists()
    bad.write_text("mirna_id\tmrna_id\tscore\tlabel\nm\tg\t0.5\t2\n")
    res = run([bad])
    assert res.returncode == 1 and f"{bad}:2" in res.stderr


def test_dt_predict_seed_match_through_dt_eval(tmp_path):
    pred = subprocess.run(
        [
            str(BIN / "dt-predict"),
            "--pairs",
            EXAMPLES / "pairs.tsv",
            "--model",
            "seed-match",
            "--gene-output",
            tmp_path / "g.tsv",
            "-o",
            "/dev/null",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert pred.returncode == 0, pred.stderr
    res = run([tmp_path / "g.tsv", "-q", "--group-by", "mirna"])
    assert res.returncode == 0, res.stderr
    row = table(res.stdout)[0]
    assert int(row["n"]) == len((EXAMPLES / "pairs.tsv").read_text().splitlines()) - 1


# --------------------------------------------------------------------------- what cannot be computed is said


def test_rows_repeated_exactly_are_counted_and_said(preds, tmp_path):
    """A table concatenated twice (or a row pasted twice) was scored as if its rows were new."""
    a, _ = preds
    lines = a.read_text().splitlines()
    twice = tmp_path / "twice.tsv"
    twice.write_text("\n".join([lines[0], *lines[1:], *lines[1:4]]) + "\n")
    res = run([twice, "-o", tmp_path / "m.tsv"])
    assert res.returncode == 0, res.stderr
    assert table((tmp_path / "m.tsv").read_text())[0]["n"] == str(len(lines) - 1 + 3)
    said = [l for l in res.stderr.splitlines() if "repeat an earlier row" in l]
    assert said == [f"twice ({twice}): 3 row(s) repeat an earlier row in every column: each is counted as a row of its own"]
    assert "repeat an earlier row" not in run([a, "-o", tmp_path / "m2.tsv"]).stderr


def test_one_label_tables_say_which_metrics_are_undefined_and_why(preds, tmp_path):
    a, _ = preds
    lines = a.read_text().splitlines()
    one = tmp_path / "positives.tsv"
    one.write_text("\n".join([lines[0], *(l for l in lines[1:] if l.endswith("\t1"))]) + "\n")
    n = len(one.read_text().splitlines()) - 1
    res = run([one, "--group-by", "mirna", "-o", tmp_path / "m.tsv"])
    assert res.returncode == 0, res.stderr
    row = table((tmp_path / "m.tsv").read_text())[0]
    assert row["roc_auc"] == row["pr_auc"] == row["specificity"] == row["within_mirna_auc"] == "nan"
    warning = " ".join(l for l in res.stderr.splitlines() if "cannot compute" in l)
    assert f"positives ({one}): cannot compute (written as nan)" in warning
    assert f"roc_auc, pr_auc: all {n} rows have label 1, and ranking needs both labels" in warning
    assert "specificity: no row has label 0" in warning
    assert "within_mirna_auc: no miRNA has rows of both labels" in warning
    # a table where every metric is defined draws no such line
    assert "cannot compute" not in run([a, "-o", tmp_path / "m2.tsv"]).stderr


def test_why_undefined_names_each_cause_once():
    labels = np.array([0, 0, 0])
    m = metrics.binary_metrics(labels, np.array([0.1, 0.2, 0.3]), 0.5)
    assert metrics.why_undefined(m, labels, 0.5) == [
        "roc_auc, pr_auc: all 3 rows have label 0, and ranking needs both labels",
        "sensitivity: no row has label 1",
        "f_measure: no row has label 1 and none is called a target",
        "ppv: no score is at or above the threshold 0.5 (nothing called a target)",
    ]
    both = np.array([0, 1, 0])
    assert metrics.why_undefined(metrics.binary_metrics(both, np.array([0.1, 0.9, 0.6])), both, 0.5) == []


def test_tables_of_different_rows_are_compared_with_a_warning(preds, tmp_path):
    a, b = preds
    lines = b.read_text().splitlines()
    fewer = tmp_path / "fewer.tsv"
    fewer.write_text("\n".join([lines[0], *lines[1:-7], "miR-x\tnew1\t0.5\t1", "miR-x\tnew2\t0.5\t0"]) + "\n")
    res = run([a, fewer, "-o", tmp_path / "m.tsv"])
    assert res.returncode == 0, res.stderr
    assert (
        "model and fewer are not scored on the same rows: 7 of model's 200 rows are not in fewer, "
        "2 of fewer's 195 not in model (matched on mirna_id and mrna_id)"
    ) in " ".join(res.stderr.split())
    assert "not scored on the same rows" not in run([a, b, "-o", tmp_path / "m2.tsv"]).stderr
    # the same pairs with other labels
    flipped = tmp_path / "flipped.tsv"
    flipped.write_text(
        "\n".join([lines[0], *(l[:-1] + str(1 - int(l[-1])) if i < 5 else l for i, l in enumerate(lines[1:]))]) + "\n"
    )
    res = run([b, flipped, "-o", tmp_path / "m3.tsv"])
    assert "random and flipped give 5 of their 200 rows different labels" in " ".join(res.stderr.split())
    # tables without ids: only the counts can differ
    bare = tmp_path / "bare.tsv"
    bare.write_text("\n".join(["score\tlabel", *("\t".join(l.split("\t")[2:]) for l in lines[1:11])]) + "\n")
    res = run([a, bare, "-o", tmp_path / "m4.tsv"])
    assert "model has 200 labelled rows and bare 10 (no mirna_id/mrna_id columns to match them on)" in " ".join(
        res.stderr.split()
    )


def test_mirnas_left_out_of_the_within_mirna_auc_are_named(preds, tmp_path):
    a, _ = preds
    lines = a.read_text().splitlines()
    # miR-0 and miR-1 keep only their positives: one label each
    kept = [l for l in lines[1:] if l.split("\t")[0] not in ("miR-0", "miR-1") or l.endswith("\t1")]
    one = tmp_path / "some.tsv"
    one.write_text("\n".join([lines[0], *kept]) + "\n")
    res = run([one, "--group-by", "mirna", "-o", tmp_path / "m.tsv"])
    assert res.returncode == 0, res.stderr
    assert "some: 2 of 8 miRNAs have rows of one label only (miR-0, miR-1): within_mirna_auc" in " ".join(res.stderr.split())
    assert table((tmp_path / "m.tsv").read_text())[0]["n_mirnas_both"] == "6"
