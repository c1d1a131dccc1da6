"""An interrupted dt-train, resumed, ends with the bytes of an uninterrupted run, wherever the
interruption lands; ``--resume`` with nothing to resume says so, and never replaces a model.

The sweep interrupts one library run at many points spread over every line the suite's own
code executes (a trace function raises KeyboardInterrupt there, as a signal handler does
between two bytecodes): mid-batch, between batches, during validation, while the log, the
resume file or the model is written, after the model and before the resume file is removed.
Each run is then resumed, and the model file must equal the uninterrupted run's byte for byte,
the training log too (its seconds aside), with no resume or temporary file left. Real signals
(SIGHUP, SIGTERM, SIGINT) to the installed tool are checked the same way at a few moments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from deeptarget_core import model as M
from deeptarget_core import train_command as TC
from deeptarget_core.errors import InputError

from conftest import BIN, invoke, refused

CORE = str(Path(TC.__file__).parent)


def _command(work: Path, **changes) -> TC.TrainCommand:
    options = dict(
        train=[work / "pairs.tsv"],
        val=work / "pairs.tsv",
        output=str(work / "m.pt"),
        layers=1,
        epochs=3,
        patience=9,
        batch_size=5,
        threads=1,
        device="cpu",
        seed=4,
    )
    return TC.TrainCommand(**{**options, **changes})


class _InterruptAt:
    """A trace function that counts the lines the suite's code executes and raises
    KeyboardInterrupt at line ``at`` (None: only counts); ``where``: the functions under way there."""

    def __init__(self, at: int | None = None):
        self.at, self.count, self.where = at, 0, None
        self.functions: list[str] = []

    def __call__(self, frame, event, arg):
        if not frame.f_code.co_filename.startswith(CORE):
            return None
        return self._line

    def _line(self, frame, event, arg):
        if event == "line":
            self.count += 1
            if self.at is None:
                self.functions.append(frame.f_code.co_name)
            elif self.count == self.at:
                self.where, caller = [], frame
                while caller is not None:  # the functions of the suite under way there
                    if caller.f_code.co_filename.startswith(CORE):
                        self.where.append(caller.f_code.co_name)
                    caller = caller.f_back
                raise KeyboardInterrupt(f"interrupted in {frame.f_code.co_name}")
        return self._line

    def run(self, cmd: TC.TrainCommand) -> bool:
        """True when the run was interrupted."""
        sys.settrace(self)
        try:
            TC.run_train(cmd)
        except KeyboardInterrupt:
            return True
        finally:
            sys.settrace(None)
        return False


def _log_without_seconds(path: Path) -> list[list[str]]:
    return [row.split("\t")[:-1] for row in path.read_text().splitlines()]


SWEEPS = {
    # the plain recipe, every epoch a new best
    "plain": ({}, 60, ("_train_epoch", "_validation_metrics", "on_epoch", "save_resume", "save_checkpoint", "read_pairs")),
    # early stopping (patience 1: stops after epoch 5 of 8 and keeps epoch 4's weights),
    # per-epoch balanced subsets drawn from the epoch's generator, the site prior fitted last
    "early-stop, balanced, site prior": (
        {"patience": 1, "epochs": 8, "balance_by_mirna": True, "site_prior": True, "lr": 0.05, "select_by": "within_mirna_auc"},
        40,
        ("_train_epoch", "fit_site_prior", "save_resume", "save_checkpoint"),
    ),
}


@pytest.mark.parametrize("sweep", SWEEPS)
def test_resumed_runs_end_with_the_uninterrupted_bytes_wherever_interrupted(fx, tmp_path, monkeypatch, sweep):
    changes, n_points, stages = SWEEPS[sweep]
    monkeypatch.chdir(tmp_path)  # one place for every run: the checkpoint records its inputs' names
    here = Path(".")
    (here / "pairs.tsv").write_bytes((fx / "pairs.tsv").read_bytes())
    counter = _InterruptAt()
    assert not counter.run(_command(here, **changes))
    model_bytes, log_rows = Path("m.pt").read_bytes(), _log_without_seconds(Path("m.pt.log.tsv"))
    if "patience" in changes:  # the run stopped early, keeping an earlier epoch
        assert len(log_rows) - 1 < changes["epochs"] and M.read_checkpoint("m.pt")[1].metrics["best_epoch"] < len(log_rows) - 1
    lines = len(counter.functions)
    # evenly spread, plus the first and last line of each stage named below
    ends = {i + 1 for stage in stages for i in (counter.functions.index(stage), lines - 1 - counter.functions[::-1].index(stage))}
    points = sorted({*range(1, lines, max(1, lines // n_points)), lines - 1, *ends})
    hit = set()
    for at in points:
        for p in ("m.pt", "m.pt.log.tsv"):
            Path(p).unlink()
        interrupter = _InterruptAt(at)
        # An interruption raised inside a finaliser (a generator closed when its last reference
        # goes) is dropped by Python: that run ends, and its --resume keeps the finished model.
        # (A real signal there is delivered again by the tools: the finaliser test below.)
        if interrupter.run(_command(here, **changes)):
            hit.update(interrupter.where)
        TC.run_train(_command(here, resume=True, **changes))
        assert Path("m.pt").read_bytes() == model_bytes, f"interrupted at line {at} of {lines}, in {interrupter.where[:3]}"
        assert _log_without_seconds(Path("m.pt.log.tsv")) == log_rows, at
        assert sorted(p.name for p in here.iterdir()) == ["m.pt", "m.pt.log.tsv", "pairs.tsv"], at
    # the sweep reached every stage: training steps, validation, the log, the resume file, the model
    for stage in stages:
        assert stage in hit, (stage, sorted(hit))
    assert len(hit) > 30


def test_resuming_may_add_epochs_but_not_take_them_away(work, monkeypatch):
    def interrupted(*args, **kwargs):  # the run is stopped as its model is written
        raise KeyboardInterrupt

    monkeypatch.setattr(TC.M, "save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        TC.run_train(_command(work, epochs=2))
    monkeypatch.undo()
    with pytest.raises(InputError, match=r"trained 2 epochs already, more than 'epochs' 1"):
        TC.run_train(_command(work, epochs=1, resume=True))
    TC.run_train(_command(work, epochs=3, resume=True))
    assert not (work / "m.pt.resume").exists()
    assert [r.split("\t")[0] for r in (work / "m.pt.log.tsv").read_text().splitlines()] == ["epoch", "1", "2", "3"]


def test_resuming_with_other_arithmetic_says_the_bits_may_differ(work, monkeypatch, caplog):
    """Another thread count (or device) changes the arithmetic's rounding: said when resuming."""
    import torch

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TC.M, "save_checkpoint", interrupted)
    with pytest.raises(KeyboardInterrupt):
        TC.run_train(_command(work, epochs=1))
    monkeypatch.undo()
    try:
        with caplog.at_level("WARNING", logger="deeptarget"):
            TC.run_train(_command(work, epochs=2, resume=True, threads=2))
    finally:
        torch.set_num_threads(1)
    assert "resuming on cpu with 2 thread(s) a run interrupted on cpu with 1" in caplog.text
    assert "need not be bit-identical" in caplog.text


# --------------------------------------------------------------------------- --resume with nothing to resume


def _argv(work: Path, *extra) -> list:
    return [
        "--train",
        work / "pairs.tsv",
        "--no-pretrain",
        "--layers",
        "1",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "-p",
        "1",
        "-o",
        work / "m.pt",
        *extra,
    ]


def test_resume_with_nothing_to_resume_says_so_and_trains_from_the_start(work):
    res = invoke("dt-train", _argv(work, "--resume"))
    assert res.code == 0, res.stderr
    assert "nothing to resume (no " in res.stderr and "training from the first epoch" in res.stderr
    assert (work / "m.pt").is_file()


def test_resume_of_a_finished_run_keeps_its_model(work):
    assert invoke("dt-train", _argv(work)).code == 0
    before = (work / "m.pt").stat().st_mtime_ns, (work / "m.pt").read_bytes()
    res = invoke("dt-train", _argv(work, "--resume"))
    assert res.code == 0, res.stderr
    assert "is this run's finished model (kept as it is)" in res.stderr
    assert ((work / "m.pt").stat().st_mtime_ns, (work / "m.pt").read_bytes()) == before


@pytest.mark.parametrize(
    "other",
    ["another run's model", "not a model"],
)
def test_resume_never_replaces_a_model_it_cannot_continue(work, other):
    """A mistyped -o with --resume: the file there is not this run's, and there is nothing to
    continue: refused, the file untouched."""
    if other == "not a model":
        (work / "m.pt").write_text("my notes\n")
    else:
        assert invoke("dt-train", _argv(work, "--seed", "9")).code == 0
    refused(
        "dt-train",
        _argv(work, "--resume"),
        work,
        1,
        r"m.pt: --resume: there is no m.pt.resume to continue from, and m.pt is "
        + ("a model of another run" if other != "not a model" else "not a model of this run"),
    )


def test_resume_with_cross_validation_is_a_usage_error(work):
    refused("dt-train", _argv(work, "--cv", "2", "--resume"), work, 2, r"--resume continues one training; a --cv run")


def test_starting_again_without_resume_says_the_old_state_goes(work):
    (work / "m.pt.resume").write_bytes(b"an interrupted run's state")
    res = invoke("dt-train", _argv(work))
    assert res.code == 0, res.stderr
    assert "m.pt.resume (an interrupted run's state) removed" in res.stderr
    assert not (work / "m.pt.resume").exists()


# --------------------------------------------------------------------------- real signals


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=["HUP", "TERM", "INT"])
def test_a_signalled_run_resumes_to_the_uninterrupted_bytes(fx, tmp_path, sig):
    """The installed tool, signalled after its first epoch is logged (training or writing
    its state), then resumed: the same model bytes as a run left alone."""
    (tmp_path / "pairs.tsv").write_bytes((fx / "pairs.tsv").read_bytes())

    def argv(name: str) -> list[str]:
        more = ["--epochs", "4", "--val", tmp_path / "pairs.tsv", "-o", tmp_path / name]
        return [str(BIN / "dt-train"), *map(str, _argv(tmp_path)[:-2]), *map(str, more)]

    assert subprocess.run(argv("whole.pt"), capture_output=True).returncode == 0
    proc = subprocess.Popen(argv("m.pt"), stderr=subprocess.PIPE, text=True, env={**os.environ, "TERM": "dumb"})
    for line in proc.stderr:
        if line.startswith("epoch 1:"):
            time.sleep(0.05)
            proc.send_signal(sig)
            break
    proc.communicate(timeout=120)
    assert proc.returncode in (0, 128 + sig, 130), proc.returncode
    res = subprocess.run([*argv("m.pt"), "--resume"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "m.pt").read_bytes() == (tmp_path / "whole.pt").read_bytes()


@pytest.mark.parametrize(
    "sig, code, line", [(signal.SIGHUP, 129, "error: hangup (SIGHUP)"), (signal.SIGINT, 130, "error: interrupted")]
)
def test_a_signal_landing_in_a_finaliser_still_stops_the_run(tmp_path, sig, code, line):
    """Python drops an exception raised while a finaliser runs (here: a generator closed as its
    last reference goes) after printing it: the signal is delivered again, so the run stops as
    it should, with one error line and no 'Exception ignored' traceback."""
    script = tmp_path / "tool.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, time
            from deeptarget_tools import _cli

            app = _cli.make_app("a tool whose generator is closed by the collector")

            @app.command()
            @_cli.handle_errors
            def command() -> None:
                def gen():
                    try:
                        yield 1
                    finally:
                        os.kill(os.getpid(), {int(sig)})  # the signal lands in the finaliser
                        sum(range(1000))
                g = gen()
                next(g)
                del g
                time.sleep(5)
                print("not stopped")

            _cli.run(app)
            """
        )
    )
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert res.returncode == code, res.stderr
    assert "not stopped" not in res.stdout and "Exception ignored" not in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith(line), res.stderr
