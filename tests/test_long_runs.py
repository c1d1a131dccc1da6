"""Long runs: progress shown, failure early and clear, an interrupted training resumed safely.

A training that diverges stops with an error line, and a checkpoint with non-finite weights is
never written; a grouped cross-validation whose folds hold one label and a site-type prior on
a one-label validation table are refused before training; dt-train killed after an epoch
keeps its resume file, resumes with the same options and data, and refuses to resume with
other options or data, naming the option (the library names the value, the tool its flag);
making mock miRNAs advances the progress bar once per mock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from deeptarget_core import io as dio
from deeptarget_core import model as M
from deeptarget_core import train as T
from deeptarget_core.errors import InputError

from conftest import (
    LET7,
    MIR21,
    invoke,
    refused,
)

# --------------------------------------------------------------------------- divergence


def test_checkpoints_with_non_finite_weights_are_never_written(tmp_path):
    net = M.DeepTarget(M.ModelConfig(layers=1))
    with torch.no_grad():
        net.classifier.bias.fill_(float("inf"))
    with pytest.raises(InputError, match=r"weight 'classifier.bias' is not finite .*lower the learning rate"):
        M.save_checkpoint(tmp_path / "m.pt", net, M.CheckpointInfo(kind="classifier", config=net.config))
    with pytest.raises(InputError, match=r"not gzip-compressed"):
        M.save_checkpoint(
            tmp_path / "m.pt.gz",
            M.DeepTarget(M.ModelConfig(layers=1)),
            M.CheckpointInfo(kind="classifier", config=M.ModelConfig(layers=1)),
        )
    assert list(tmp_path.iterdir()) == []


def test_diverging_training_stops_with_an_error_line(fx):
    data = T.encode_pairs(dio.read_pairs(fx / "pairs.tsv")[1], 40, "pairs.tsv")
    with pytest.raises(InputError, match=r"training diverged in epoch 1 .*lower the learning rate"):
        T.train_classifier(data, None, M.ModelConfig(layers=1), T.TrainOptions(epochs=2, batch_size=8, lr=float("inf")))


# --------------------------------------------------------------------------- resume, and refusals before training


def _killed_run(work: Path, monkeypatch, extra: list[str]) -> None:
    """dt-train killed after its first epoch: the resume file stays."""

    class Killed(KeyboardInterrupt):
        pass

    original = T.train_classifier

    def one_epoch_then_die(data, val, config, options, pretrained=None, resume_path=None, on_epoch=None, progress=None):
        import dataclasses

        original(data, val, config, dataclasses.replace(options, epochs=1), pretrained, resume_path, None, None)
        raise Killed

    monkeypatch.setattr(T, "train_classifier", one_epoch_then_die)
    res = invoke(
        "dt-train",
        [
            "--train",
            work / "pairs.tsv",
            "--val",
            work / "pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "3",
            "-p",
            "1",
            "-o",
            work / "m.pt",
            *extra,
        ],
    )
    assert res.code == 130, res.stderr
    monkeypatch.setattr(T, "train_classifier", original)
    assert (work / "m.pt.resume").is_file()


@pytest.mark.parametrize(
    "change, pattern",
    [
        (["--layers", "2"], r"--layers differs from the interrupted run \(1 then, 2 now\)"),
        (["--layers", "1", "--lr", "0.01"], r"--lr differs from the interrupted run"),
        (["--layers", "1", "--cts-length", "30"], r"--cts-length differs"),
        (["--layers", "1", "TRAIN"], r"--train \(its content\) differs"),
    ],
    ids=["layers", "lr", "cts-length", "train-data"],
)
def test_resume_with_other_options_or_data_is_refused_naming_the_option(work, monkeypatch, change, pattern):
    _killed_run(work, monkeypatch, [])
    train = work / "pairs.tsv"
    if "TRAIN" in change:
        change = [c for c in change if c != "TRAIN"]
        other = work / "other.tsv"
        lines = train.read_text().splitlines()
        other.write_text("\n".join(lines[:-2]) + "\n")
        train = other
    argv = [
        "--train",
        train,
        "--val",
        work / "pairs.tsv",
        "--no-pretrain",
        "--epochs",
        "3",
        "-p",
        "1",
        "-o",
        work / "m.pt",
        "--resume",
        *change,
    ]
    refused("dt-train", argv, work, 1, pattern)


def test_resume_with_the_same_options_continues(work, monkeypatch):
    _killed_run(work, monkeypatch, [])
    res = invoke(
        "dt-train",
        [
            "--train",
            work / "pairs.tsv",
            "--val",
            work / "pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "2",
            "-p",
            "1",
            "-o",
            work / "m.pt",
            "--resume",
        ],
    )
    assert res.code == 0, res.stderr
    assert "resuming after epoch 1" in res.stderr and not (work / "m.pt.resume").exists()


def test_grouped_cv_with_one_label_folds_is_refused_before_training(work):
    rows = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel"]
    rng = __import__("random").Random(4)
    for m in range(12):  # twelve miRNAs, each with one label only
        seq = "".join(rng.choices("ACGU", k=22))
        for t in range(4):
            rows.append(f"m{m}\t{seq}\tt{m}_{t}\t{''.join(rng.choices('ACGU', k=40))}\t{m % 2}")
    (work / "twelve.tsv").write_text("\n".join(rows) + "\n")
    refused(
        "dt-train",
        ["--train", work / "twelve.tsv", "--no-pretrain", "--cv", "10", "--group-by", "mirna", "-o", work / "cv.tsv"],
        work,
        1,
        r"10-fold cross-validation grouped by miRNA: \d+ of 10 held-out folds .* hold only one label",
    )


def test_site_prior_on_a_one_label_validation_table_is_refused(work):
    lines = (work / "pairs.tsv").read_text().splitlines()
    (work / "val1.tsv").write_text("\n".join([lines[0]] + [l for l in lines[1:] if l.split("\t")[4] == "1"]) + "\n")
    refused(
        "dt-train",
        [
            "--train",
            work / "pairs.tsv",
            "--val",
            work / "val1.tsv",
            "--no-pretrain",
            "--site-prior",
            "--layers",
            "1",
            "--epochs",
            "1",
            "-o",
            work / "m.pt",
        ],
        work,
        1,
        r"val1.tsv: the site-type prior .* all have label 1",
    )


# --------------------------------------------------------------------------- progress


def test_mock_making_reports_progress():
    """Long work shows progress: every mock made advances the bar (shown when stderr is a terminal)."""
    from deeptarget_core import negatives

    ticks = []
    mocks = negatives.make_mock_mirnas([("let7", LET7), ("mir21", MIR21)], per_mirna=5, seed=1, advance=ticks.append)
    assert len(mocks) == 10 and sum(ticks) == 10


def test_the_library_names_the_value_and_the_tool_its_flag():
    """Library messages speak of values (the option's value name); the tools put their flag
    there (the CLI form is checked by the test above)."""
    from deeptarget_core.training_resume import check_resume

    with pytest.raises(InputError) as info:
        check_resume({"layers": 1}, {"layers": 2}, "m.pt.resume")
    assert str(info.value) == (
        "m.pt.resume: resuming: 'layers' differs from the interrupted run (1 then, 2 now); "
        "resume with the same options and data, or start again without resuming"
    )
    info.value.option_label = "--layers"
    assert "resuming: --layers differs" in str(info.value)
