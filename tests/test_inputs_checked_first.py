"""A missing, unreadable or directory input fails at once, before any network is loaded or
any training starts: dt-predict checks its inputs before the model, dt-pretrain before torch,
dt-train before its training module (torch) is imported, dt-explain before its network,
dt-eval --functional before its libraries. The error names the file."""

from __future__ import annotations

import os
import sys

import pytest

from deeptarget_core import predict_command, runtime, scorers

from conftest import invoke, run_case


def _never(*args, **kwargs):
    raise AssertionError("loaded before the inputs were checked")


def _bad_input(tmp_path, kind: str):
    """A missing file or a folder in an input's place, and the message it gets."""
    bad = tmp_path / "nothing.fa"
    if kind == "directory":
        bad.mkdir()
    return bad, "no such file" if kind == "missing" else "is a directory, expected a file"


@pytest.mark.parametrize(
    "argv, slot",
    [
        (["{fx}/sites.tsv", "--mirna", "{bad}", "-o", "{tmp}/out.tsv"], "--mirna"),
        (["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "--gene-output", "{tmp}/g.tsv"], "--utr"),
        (["{bad}", "--mirna", "{fx}/mirnas.fa", "-o", "{tmp}/out.tsv"], "SITES"),
        (["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "-o", "{tmp}/out.tsv"], "scan --utr"),
        (["--pair-table", "{bad}", "-o", "{tmp}/out.tsv"], "--pair-table"),
        (["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "--mirna-ids", "{bad}", "-o", "{tmp}/o.tsv"], "--mirna-ids"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_dt_predict_checks_its_inputs_before_the_model(fx, tmp_path, monkeypatch, argv, slot, kind):
    monkeypatch.setattr(predict_command, "make_scorer", _never)
    monkeypatch.setattr(scorers, "make_scorer", _never)
    run_case("dt-predict", argv, fx, tmp_path, *_bad_input(tmp_path, kind))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_input_is_refused_before_the_model(fx, tmp_path, monkeypatch):
    monkeypatch.setattr(predict_command, "make_scorer", _never)
    bad = tmp_path / "locked.fa"
    bad.write_text((fx / "utrs.fa").read_text())
    bad.chmod(0)
    run_case("dt-predict", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "-o", "{tmp}/o.tsv"], fx, tmp_path, bad, "cannot open")


def test_dt_pretrain_checks_its_inputs_before_torch(fx, tmp_path, monkeypatch):
    monkeypatch.setattr(runtime, "setup", _never)
    bad = tmp_path / "none.tsv"
    run_case(
        "dt-pretrain",
        ["--pairs", "{fx}/pairs.tsv", "--cts-fasta", "{bad}", "-o", "{tmp}/ae.pt"],
        fx,
        tmp_path,
        bad,
        "no such file",
    )


@pytest.mark.parametrize("slot", ["--train", "--val", "--pretrained"])
def test_dt_train_checks_its_inputs_before_loading_its_training_module(fx, tmp_path, monkeypatch, slot):
    # the training module (and torch with it) is imported only after the check: hide it
    monkeypatch.setitem(sys.modules, "deeptarget_core.train_command", None)
    bad = tmp_path / "none.tsv"
    argv = {"--train": "{fx}/pairs.tsv", "--val": "{fx}/pairs.tsv", "--pretrained": "{fx}/ae.pt"}
    argv[slot] = "{bad}"
    args = [a for flag, value in argv.items() for a in (flag, value)]
    run_case("dt-train", [*args, "-o", "{tmp}/m.pt"], fx, tmp_path, bad, "no such file")
    # with every input present the hidden module is reached (and its absence is the failure)
    res = invoke("dt-train", ["--train", fx / "pairs.tsv", "--no-pretrain", "-o", tmp_path / "m.pt"])
    assert res.code != 0 and "train_command" in res.stderr + repr(res.exception)


def test_dt_train_gene_level_checks_and_uses_its_site_model(fx, tmp_path):
    """--site-model was read only for --features all or --cv, and otherwise dropped without a
    word (a missing file too): now it is refused where no site score is read, and checked first."""
    gene = ["--level", "gene", "--functional", "{fx}/pred.tsv", "--utr", "{fx}/utrs.fa", "-o", "{tmp}/g.pt"]
    bad = tmp_path / "none.pt"
    run_case("dt-train", [*gene, "--site-model", "{bad}"], fx, tmp_path, bad, "is read only", code=2, where="--site-model")
    run_case("dt-train", [*gene, "--features", "all", "--site-model", "{bad}"], fx, tmp_path, bad, "no such file")


@pytest.mark.parametrize(
    "argv",
    [
        ["{bad}", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt"],
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}"],
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--mirna-ids", "{bad}", "--model", "{fx}/toy.pt"],
        ["{fx}/pred.tsv", "--gene-level", "--mirna", "{fx}/mirnas.fa", "--utr", "{bad}"],
    ],
    ids=["TABLE", "--model", "--mirna-ids", "gene-level --utr"],
)
@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_dt_explain_checks_its_inputs_before_the_network(fx, tmp_path, monkeypatch, argv, kind):
    """dt-explain loaded the network (and read the miRNAs) before it found its TABLE missing."""
    from deeptarget_core import model

    monkeypatch.setattr(model, "load_model", _never)
    monkeypatch.setattr(runtime, "setup", _never)
    run_case("dt-explain", [*argv, "-o", "{tmp}/ex"], fx, tmp_path, *_bad_input(tmp_path, kind))


@pytest.mark.parametrize("slot", ["--functional", "--utr", "PRED"])
def test_dt_eval_functional_checks_its_inputs_first(fx, tmp_path, monkeypatch, slot):
    from deeptarget_core import functional

    monkeypatch.setattr(functional, "evaluate_functional", _never)
    given = {"--functional": "{fx}/pred.tsv", "--utr": "{fx}/utrs.fa", "PRED": "{fx}/pred.tsv"}
    given[slot] = "{bad}"
    argv = [given["PRED"], "--functional", given["--functional"], "--utr", given["--utr"], "-o", "{tmp}/f.tsv"]
    run_case("dt-eval", argv, fx, tmp_path, tmp_path / "none.tsv", "no such file")
