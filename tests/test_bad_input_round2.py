"""Issue 18, "Nothing lost, round two": the classes of the second adversarial round.

Every refusal here asserts the contract of tests/test_bad_input_corpus.py and more: the exit
code, exactly one ``error:`` line (the last line of stderr), no traceback, no temporary file
left, and no input or other file of the working folder changed (every file is hashed before
and after). The classes (the issue's Bar):

* an output that is an input, or another output, for every tool and output option;
* SIGTERM (and SIGHUP) in every tool, raised while an output is half written;
* non-finite and non-decimal values for every float option, and the seed of every tool;
* a FIFO in every input slot: read once, and the run gives the same output as with the file;
* the single examples of the issue (edited checkpoints, --resume with other options,
  dt-explain --force, -o ., two stdout outputs, byte-order marks, ...).

Tools run in-process (typer's CliRunner) with the toy fixtures of the first corpus; a few
cases run the real executables (signals, closed pipes).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import pytest
import test_bad_input_corpus as C
import torch

from deeptarget_core import io as dio
from deeptarget_core import model as M
from deeptarget_core import streams
from deeptarget_core import train as T
from deeptarget_core.errors import InputError

from conftest import BIN


@pytest.fixture(scope="module")
def fx(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("fixtures2")
    C._write_fixtures(d)
    return d


@pytest.fixture
def work(fx, tmp_path) -> Path:
    """A private copy of the fixtures: a case that destroyed an input must not harm others."""
    d = tmp_path / "w"
    shutil.copytree(fx, d)
    return d


def snapshot(d: Path) -> dict[str, str]:
    """Every file under ``d`` (hidden ones too) and the hash of its bytes."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def assert_refused(res, code: int, pattern: str = "") -> str:
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        f"uncaught {type(res.exception).__name__}: {res.exception}\n{res.stderr}"
    )
    assert res.code == code, (res.code, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    if pattern:
        assert re.search(pattern, errors[0]), (pattern, errors[0])
    return errors[0]


def refused(tool: str, argv, d: Path, code: int, pattern: str = "", stdin: str | None = None) -> str:
    """Run a command that must be refused: nothing in ``d`` may change or appear."""
    before = snapshot(d)
    res = C.invoke(tool, [str(a) for a in argv], stdin=stdin)
    line = assert_refused(res, code, pattern)
    assert snapshot(d) == before, "files changed or left behind"
    return line


def fmt(argv, d: Path, **extra) -> list[str]:
    return [a.format(fx=d, tmp=d, **extra) for a in argv]


# --------------------------------------------------------------------------- 1. output = input

_INPUT_IN_ARGV = re.compile(r"^\{fx\}/(.+)$")


def _clobber_cases():
    for tool, out_id, argv in C.OUTPUTS:
        inputs = [m.group(1) for a in argv if (m := _INPUT_IN_ARGV.match(a))]
        for name in dict.fromkeys(inputs):  # every input of the command
            yield pytest.param(tool, argv, f"{{fx}}/{name}", id=f"{tool}-{out_id}=input-{name}")
        others = [a for a in argv if a.startswith("{tmp}/") and a != "{tmp}/plots"]
        if others and out_id != "plots":
            yield pytest.param(tool, argv, others[0], id=f"{tool}-{out_id}=other-output")


@pytest.mark.parametrize("tool, argv, target", list(_clobber_cases()))
def test_output_that_names_an_input_or_another_output_is_refused_before_any_work(work, tool, argv, target):
    o = target.format(fx=work, tmp=work)
    if tool == "dt-eval" and "--plots" in argv and argv[argv.index("--plots") + 1] == "{o}":
        pattern = r"not a directory|same file"  # a picture folder named like an input file
        code = 1 if target.startswith("{fx}") else 2
    elif target.startswith("{fx}"):
        pattern, code = r"is the same file as the input .*write the output elsewhere", 2
    else:
        pattern, code = r"name the same file; give two different outputs", 2
    refused(tool, fmt(argv, work, o=o), work, code, pattern)


def test_links_to_an_input_are_the_same_file(work):
    (work / "link.fa").symlink_to(work / "utrs.fa")
    os.link(work / "utrs.fa", work / "hard.fa")
    for name in ("link.fa", "hard.fa", "./utrs.fa"):
        refused(
            "dt-scan-cts",
            ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-o", work / name],
            work,
            2,
            r"same file as the input --utr",
        )


def test_train_log_and_resume_file_are_checked_too(work):
    refused(
        "dt-train",
        ["--train", work / "pairs.tsv", "--no-pretrain", "-o", work / "m.pt", "--log", work / "pairs.tsv"],
        work,
        2,
        r"--log .* same file as the input --train",
    )
    shutil.copy(work / "pairs.tsv", work / "m.pt.resume")
    refused(
        "dt-train",
        ["--train", work / "m.pt.resume", "--no-pretrain", "-o", work / "m.pt"],
        work,
        2,
        r"resume file .* same file as the input --train",
    )


def test_devices_may_take_two_outputs(work):
    res = C.invoke(
        "dt-predict",
        [
            work / "sites.tsv",
            "--mirna",
            work / "mirnas.fa",
            "--model",
            work / "toy.pt",
            "-o",
            os.devnull,
            "--gene-output",
            os.devnull,
            "-q",
        ],
    )
    assert res.code == 0, res.stderr


# --------------------------------------------------------------------------- dt-explain --force and -o .

EXPLAIN = ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "--top", "2"]


def test_explain_force_replaces_only_its_own_files(work):
    out = work / "ex"
    assert C.invoke("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "-q"]).code == 0
    assert (out / ".dt-explain-manifest").is_file()
    (out / "notes.txt").write_text("mine")
    refused("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "--force"], work, 1, r"'notes.txt' is not one of its files")
    (out / "notes.txt").unlink()
    res = C.invoke("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "--force", "-q"])
    assert res.code == 0, res.stderr
    # a folder that holds an index.html but was not written by dt-explain is not deleted
    other = work / "site"
    other.mkdir()
    (other / "index.html").write_text("<p>my web site</p>")
    refused("dt-explain", fmt(EXPLAIN, work) + ["-o", str(other), "--force"], work, 1, r"has none: refusing to delete it")


def test_explain_never_replaces_a_folder_that_holds_an_input(work):
    inside = work / "data"
    inside.mkdir()
    shutil.copy(work / "sites.tsv", inside / "sites.tsv")
    argv = [inside / "sites.tsv", "--mirna", work / "mirnas.fa", "--model", work / "toy.pt", "-o", inside, "--force"]
    refused("dt-explain", argv, work, 2, r"holds the input TABLE")


def test_explain_output_dot_is_refused_before_the_work(work, monkeypatch):
    empty = work / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    refused("dt-explain", fmt(EXPLAIN, work) + ["-o", "."], work, 2, r"-o \. is the current directory")


# --------------------------------------------------------------------------- 2. signals


def _terminating(signum: int):
    def stop(*args, **kwargs):
        for a in args:  # half-write whatever output the function was handed
            if hasattr(a, "write") and not isinstance(a, type):
                try:
                    a.write("partial\n")
                except TypeError:
                    a.write(b"partial\n")
        signal.raise_signal(signum)  # the tool's handler raises on the next instruction
        time.sleep(1)  # never reached with a handler installed
        raise AssertionError("no handler for the signal")

    return stop


@pytest.mark.parametrize(
    "tool, signum",
    [(t, signal.SIGTERM) for t in C.TOOLS] + [("dt-scan-cts", signal.SIGHUP), ("dt-predict", signal.SIGHUP)],
    ids=[f"{t}-TERM" for t in C.TOOLS] + ["dt-scan-cts-HUP", "dt-predict-HUP"],
)
def test_sigterm_and_sighup_clean_up_like_ctrl_c(work, monkeypatch, tool, signum):
    argv, module, attr = C.INTERRUPT[tool]
    if module.endswith("Drawer"):
        target = getattr(__import__(module.rsplit(".", 1)[0], fromlist=["x"]), module.rsplit(".", 1)[1])
    else:
        target = __import__(module, fromlist=["x"])
    monkeypatch.setattr(target, attr, _terminating(signum))
    out = work / ("outdir" if tool == "dt-explain" else "out.pt" if tool == "dt-pretrain" else "out.tsv")
    previous = signal.getsignal(signum)
    before = snapshot(work)
    res = C.invoke(tool, [a.format(fx=work, tmp=work, o=out) for a in argv])
    name = "terminated (SIGTERM)" if signum == signal.SIGTERM else "hangup (SIGHUP)"
    line = assert_refused(res, 128 + signum, re.escape(name))
    assert "partial outputs removed" in line
    assert snapshot(work) == before, "files changed or left behind"
    assert signal.getsignal(signum) == previous  # the tool restores the handler it replaced


def _wait_for(pattern: str, d: Path, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and not list(d.glob(pattern)):
        time.sleep(0.05)


def test_real_sigterm_mid_scan_removes_the_partial_output(tmp_path):
    m, u, out = tmp_path / "m.fa", tmp_path / "u.fa", tmp_path / "sites.tsv"
    C_random = __import__("random").Random(1)
    m.write_text("".join(f">m{i}\n{''.join(C_random.choices('ACGU', k=22))}\n" for i in range(300)))
    u.write_text("".join(f">u{i}\n{''.join(C_random.choices('ACGU', k=2000))}\n" for i in range(1500)))
    before = snapshot(tmp_path)
    proc = subprocess.Popen(
        [str(BIN / "dt-scan-cts"), "--mirna", str(m), "--utr", str(u), "--site-types", "relaxed", "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(".sites.tsv.*", tmp_path)
    time.sleep(0.3)
    assert proc.poll() is None, "the scan ended before the signal"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1].startswith("error: terminated (SIGTERM)") and "Traceback" not in err
    assert snapshot(tmp_path) == before


def test_real_sigterm_to_the_explain_drawing_pool_is_quiet(fx, tmp_path):
    rng = __import__("random").Random(3)
    rows = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq"] + [
        # enough pictures that the run is still drawing when the first one appears, even on a
        # loaded host (with 80 it sometimes ended before the test saw its first picture)
        f"let7\t{C.LET7}\tt{i}\t{''.join(rng.choices('ACGU', k=40))}"
        for i in range(400)
    ]
    (tmp_path / "p.tsv").write_text("\n".join(rows) + "\n")
    before = snapshot(tmp_path)
    # its own process group: the signal goes to the pool's workers too, as a scheduler sends it
    proc = subprocess.Popen(
        [
            str(BIN / "dt-explain"),
            str(tmp_path / "p.tsv"),
            "--model",
            str(fx / "toy.pt"),
            "-p",
            "2",
            "--steps",
            "2",
            "-o",
            str(tmp_path / "out"),
        ],
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _wait_for(".out.*.tmp/*.png", tmp_path)
    assert proc.poll() is None, "dt-explain ended before the signal"
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: terminated"), err
    assert snapshot(tmp_path) == before


def test_closed_stdout_pipe_ends_quietly(fx, tmp_path):
    """``dt-pretrain -o - | head -c 10``: the reader goes away; no traceback."""
    proc = subprocess.Popen(
        [str(BIN / "dt-pretrain"), "--pairs", str(fx / "pairs.tsv"), "--epochs", "1", "-p", "1", "-o", "-", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    head = proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert head[:2] == b"PK" and proc.returncode == 0, err
    assert err == "", err


# --------------------------------------------------------------------------- 3. values

BAD_FLOATS = [
    ("nan", r"not a finite"),
    ("inf", r"not a finite"),
    ("-inf", r"not a finite"),
    ("1e999", r"not a finite number"),
    ("1_0", r"not a finite decimal number"),
    ("0x10", r"not a finite decimal number"),
]
FLOAT_OPTIONS = [  # (tool, option, argv around it)
    ("dt-pretrain", "--lr", ["--pairs", "{fx}/pairs.tsv", "-o", "{tmp}/ae.pt"]),
    ("dt-train", "--lr", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"]),
    ("dt-train", "--dropout", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"]),
    ("dt-predict", "--alpha", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt"]),
    ("dt-make-negatives", "--ratio", ["--positives", "{fx}/gene_pairs.tsv"]),
    ("dt-make-negatives", "--min-score", ["--positives", "{fx}/gene_pairs.tsv"]),
    ("dt-eval", "--threshold", ["{fx}/pred.tsv"]),
]


@pytest.mark.parametrize("tool, option, argv", FLOAT_OPTIONS, ids=[f"{t}{o}" for t, o, _ in FLOAT_OPTIONS])
@pytest.mark.parametrize("value, pattern", BAD_FLOATS, ids=[v for v, _ in BAD_FLOATS])
def test_non_finite_and_non_decimal_float_options_are_usage_errors(work, tool, option, argv, value, pattern):
    refused(tool, fmt(argv, work) + [option, value], work, 2, rf"'{option}': .*{pattern}")


def test_every_float_option_of_every_tool_refuses_nan():
    """Found by inspection of the commands, so that a new float option cannot forget it."""
    from typer.main import get_command

    found = []
    for tool in C.TOOLS:
        for param in get_command(C._app(tool)).params:
            if isinstance(param.default, float) and not isinstance(param.default, bool):
                found.append((tool, param.opts[0]))
                res = C.invoke(
                    tool, {"dt-train": ["--train", "x.tsv"], "dt-eval": ["x.tsv"]}.get(tool, []) + [param.opts[0], "nan"]
                )
                assert_refused(res, 2, re.escape(param.opts[0]))
    assert {(t, o) for t, o, _ in FLOAT_OPTIONS} <= set(found)


SEED_TOOLS = ["dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict"]


@pytest.mark.parametrize("tool", SEED_TOOLS)
@pytest.mark.parametrize("value", ["-1", str(2**64), str(2**32), "1_0", "1.5", "seven"])
def test_one_seed_type_with_a_range_for_every_tool(work, tool, value):
    base = {
        "dt-make-negatives": ["--positives", "{fx}/gene_pairs.tsv"],
        "dt-pretrain": ["--pairs", "{fx}/pairs.tsv", "-o", "{tmp}/a.pt"],
        "dt-train": ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"],
        "dt-predict": ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt"],
    }[tool]
    refused(
        tool,
        fmt(base, work) + ["--seed", value],
        work,
        2,
        r"'--seed': .* is not a seed: give a whole number from 0 to 4294967295",
    )


@pytest.mark.parametrize(
    "tool, argv",
    [
        ("dt-predict", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "-p", "1000"]),
        ("dt-make-negatives", ["--positives", "{fx}/gene_pairs.tsv", "--mocks-per-mirna", "100000"]),
        ("dt-train", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "--cv", "1000"]),
        ("dt-predict", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--batch-size", "0"]),
    ],
    ids=["threads", "mocks", "cv", "batch"],
)
def test_options_are_bounded_to_sensible_ranges(work, tool, argv):
    refused(tool, fmt(argv, work), work, 2, r"range|between|less than|greater than|at most|at least")


def _edited(good: Path, path: Path, edit) -> Path:
    payload = torch.load(good, weights_only=True)
    payload["config"] = dict(payload["config"])
    payload["state_dict"] = dict(payload["state_dict"])
    edit(payload)
    torch.save(payload, path)
    return path


def _nan_weight(p):
    k = next(iter(p["state_dict"]))
    p["state_dict"][k] = p["state_dict"][k].clone().fill_(float("nan"))


def _short_weight(p):
    k = "classifier.weight"
    p["state_dict"][k] = p["state_dict"][k][:1]


CHECKPOINT_EDITS = [
    ("config-not-a-dict", lambda p: p.__setitem__("config", "gru"), r"field 'config' must be a dict"),
    ("config-layers-text", lambda p: p["config"].__setitem__("layers", "two"), r"field 'config.layers' has type str"),
    ("config-dropout-2", lambda p: p["config"].__setitem__("dropout", 2.0), r"field 'config.dropout' is 2.0"),
    ("config-cell-unknown", lambda p: p["config"].__setitem__("cell", "rnn"), r"field 'config'.*cell must be one of"),
    ("no-state-dict", lambda p: p.pop("state_dict"), r"field 'state_dict' is missing"),
    ("state-dict-a-list", lambda p: p.__setitem__("state_dict", [1, 2]), r"field 'state_dict' must be a dict"),
    ("state-dict-not-tensors", lambda p: p["state_dict"].__setitem__("x", 3), r"field 'state_dict.x' is not a named tensor"),
    ("nan-weights", _nan_weight, r"holds nan or inf"),
    ("wrong-shape", _short_weight, r"'state_dict.classifier.weight' has shape \(1, 30\), its config needs \(2, 30\)"),
    ("extra-tensor", lambda p: p["state_dict"].__setitem__("extra.w", torch.zeros(2)), r"'state_dict.extra.w' is not part of it"),
    ("kind-unknown", lambda p: p.__setitem__("kind", 7), r"expected a classifier checkpoint, found '7'"),
]


@pytest.mark.parametrize("tool", ["dt-predict", "dt-explain"])
@pytest.mark.parametrize("case, edit, pattern", CHECKPOINT_EDITS, ids=[c[0] for c in CHECKPOINT_EDITS])
def test_edited_checkpoint_is_refused_naming_the_field(work, tool, case, edit, pattern):
    bad = _edited(work / "toy.pt", work / "edited.pt", edit)
    argv = {
        "dt-predict": ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "-o", "{tmp}/o.tsv"],
        "dt-explain": ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "-o", "{tmp}/ex"],
    }[tool]
    line = refused(tool, fmt(argv, work) + ["--model", str(bad)], work, 1, pattern)
    assert str(bad) in line


def test_edited_autoencoders_are_refused_naming_the_field(work):
    bad = _edited(work / "ae.pt", work / "ae-edited.pt", lambda p: p["config"].__setitem__("encoder_hidden", -3))
    refused(
        "dt-train",
        ["--train", work / "pairs.tsv", "--pretrained", bad, "-o", work / "m.pt"],
        work,
        1,
        r"field 'config.encoder_hidden' is -3",
    )


@pytest.mark.parametrize(
    "case, pattern",
    [
        ("gzip", r"gzip-compressed: .*gunzip it first"),
        ("empty-zip", r"not a deepTarget checkpoint \(neither a torch zip archive nor a pickle\)"),
        ("empty", r"the file is empty"),
        ("stdin", r"checkpoints are not read from stdin"),
        ("dev-zero", r"more than 256 MB from a pipe or device"),
    ],
)
def test_checkpoint_names_that_are_not_checkpoint_files(work, case, pattern):
    path = {
        "gzip": work / "toy.pt.gz",
        "empty-zip": work / "e.zip",
        "empty": work / "e.pt",
        "stdin": "-",
        "dev-zero": "/dev/zero",
    }[case]
    if case == "gzip":
        path.write_bytes(gzip.compress((work / "toy.pt").read_bytes()))
    elif case == "empty-zip":
        zipfile.ZipFile(path, "w").close()
    elif case == "empty":
        path.write_bytes(b"")
    refused(
        "dt-predict", [work / "sites.tsv", "--mirna", work / "mirnas.fa", "--model", path, "-o", work / "o.tsv"], work, 1, pattern
    )


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
    res = C.invoke(
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
    res = C.invoke(
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


@pytest.mark.parametrize("value", ["1_0", "0x1p-2", "\u0661"])  # underscore, hex float, an Arabic-Indic digit
def test_numbers_in_tables_follow_the_plain_decimal_grammar(work, value):
    bad = _write(work / "p.tsv", C.set_field(3, "score", value)((work / "pred.tsv").read_text()))
    refused("dt-eval", [bad, "-o", work / "o.tsv"], work, 1, rf"p.tsv:3: score '{re.escape(value)}' is not a number")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize("tool, value", [("dt-predict", ""), ("dt-predict", "A"), ("dt-explain", ""), ("dt-explain", "ACG")])
def test_empty_or_tiny_cts_in_a_site_table_is_refused(work, tool, value):
    bad = _write(work / "s.tsv", C.set_field(3, "cts_seq", value)((work / "sites.tsv").read_text()))
    out = ["-o", work / "o.tsv"] if tool == "dt-predict" else ["-o", work / "ex"]
    refused(
        tool,
        [bad, "--mirna", work / "mirnas.fa", "--model", work / "toy.pt", *out],
        work,
        1,
        r"s.tsv:3: cts_seq ('\w*' is \d nt; a CTS needs at least 6 nt|is empty)",
    )


# --------------------------------------------------------------------------- 4. FIFOs and other non-files


class Fifo:
    """A named pipe served once, as a shell's process substitution is. A tool that opened it a
    second time would wait for a writer for ever: after ``patience`` seconds the second open
    is released with an empty stream and ``reopened`` is set."""

    def __init__(self, path: Path, data: bytes, patience: float = 15.0):
        self.path, self.data, self.patience = path, data, patience
        self.reopened = False
        self.served = threading.Event()
        self.done = threading.Event()
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            with open(self.path, "wb") as f:  # waits for the reader
                f.write(self.data)
        except BrokenPipeError:
            pass
        self.served.set()
        if self.done.wait(self.patience):
            return
        while not self.done.is_set():  # still running: a second open is waiting for a writer?
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_NONBLOCK))
                self.reopened = True
            except OSError:
                pass
            time.sleep(0.1)

    def close(self) -> None:
        self.done.set()
        if not self.served.is_set():  # never opened: release the writer
            try:
                fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                self._thread.join(timeout=0.5)
                os.close(fd)
            except OSError:
                pass
        self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)


def _outputs(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("tool, slot", [(t, s) for t, s, *_ in C.SLOTS], ids=[f"{t}-{s}" for t, s, *_ in C.SLOTS])
def test_fifo_in_every_input_slot_is_read_once_and_gives_the_file_result(fx, tmp_path, tool, slot):
    argv, kind, good = C.SLOT[(tool, slot)]
    runs = {}
    for variant in ("file", "fifo"):
        d = tmp_path / variant
        d.mkdir()
        src = d / ("in" + Path(good).suffix)
        fifo = None
        if variant == "file":
            shutil.copy(fx / good, src)
        else:
            fifo = Fifo(src, (fx / good).read_bytes())
        try:
            res = C.invoke(tool, C._argv(argv, fx, d, src) + ["-q"])
        finally:
            if fifo is not None:
                fifo.close()
        assert fifo is None or not fifo.reopened, "the pipe was opened a second time"
        assert res.code == 0, (variant, res.stderr, res.exception)
        runs[variant] = {
            k: v.replace(str(d).encode(), b"D")
            for k, v in _outputs(d).items()
            if not k.startswith("in.") and not k.endswith(".log.tsv")
        }
    assert runs["file"] and runs["file"].keys() == runs["fifo"].keys()
    for name in runs["file"]:
        if name.endswith(".pt"):  # the checkpoint records the input's digest (a pipe's is not read twice)
            a, b = (
                torch.load(tmp_path / "file" / name, weights_only=True),
                torch.load(tmp_path / "fifo" / name, weights_only=True),
            )
            assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"]), name
        elif name.endswith(".html") or name.endswith(".tsv") and tool == "dt-explain":
            continue  # they name the input file
        else:
            assert runs["file"][name] == runs["fifo"][name], name


def test_stdin_and_dev_stdin_are_read_once(fx, tmp_path):
    cv = "fold\troc_auc\n1\t0.7\n2\t0.8\nmean\t0.75\n"
    res = C.invoke("dt-eval", ["-", "-q"], stdin=cv)  # a CV table on stdin is recognised as one
    assert res.code == 0, res.stderr
    assert [l.split("\t")[1] for l in res.stdout.splitlines()[1:]] == ["mean", "sd", "min", "max"]
    res = C.invoke("dt-predict", ["--pairs", "-", "--model", fx / "toy.pt", "-q"], stdin=(fx / "pairs.tsv").read_text())
    assert res.code == 0 and len(res.stdout.splitlines()) == 17, res.stderr  # --level auto on stdin
    proc = subprocess.run(f"'{BIN / 'dt-eval'}' /dev/stdin -q < '{fx / 'pred.tsv'}'", shell=True, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count("\n") == 2, proc.stderr


def test_train_to_stdout_writes_no_side_files(fx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = C.runner.invoke(
        C._app("dt-train"),
        ["--train", str(fx / "pairs.tsv"), "--no-pretrain", "--layers", "1", "--epochs", "1", "-p", "1", "-o", "-", "-q"],
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes[:2] == b"PK"
    assert list(tmp_path.iterdir()) == []  # no '-.log.tsv', no '-.resume'


def test_byte_order_mark_is_accepted(work):
    (work / "bom.fa").write_bytes(b"\xef\xbb\xbf" + (work / "mirnas.fa").read_bytes())
    (work / "bom.tsv").write_bytes(b"\xef\xbb\xbf" + (work / "pred.tsv").read_bytes())
    a = C.invoke("dt-scan-cts", ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-q"])
    b = C.invoke("dt-scan-cts", ["--mirna", work / "bom.fa", "--utr", work / "utrs.fa", "-q"])
    assert a.code == b.code == 0 and a.stdout == b.stdout, b.stderr
    a = C.invoke("dt-eval", [work / "pred.tsv", "-q", "--name", "x"])
    b = C.invoke("dt-eval", [work / "bom.tsv", "-q", "--name", "x"])
    assert a.code == b.code == 0 and a.stdout == b.stdout, b.stderr


def test_a_file_without_line_breaks_fails_early(work, monkeypatch):
    refused(
        "dt-scan-cts",
        ["--mirna", work / "mirnas.fa", "--utr", "/dev/zero", "-o", work / "o.tsv"],
        work,
        1,
        r"/dev/zero:1: not a text file",
    )
    monkeypatch.setattr(streams, "MAX_LINE_CHARS", 5000)
    monkeypatch.setattr(streams, "_PIECE", 1000)
    _write(work / "long.fa", ">u\n" + "ACGU" * 3000)  # 12,000 letters, no newline
    refused(
        "dt-scan-cts",
        ["--mirna", work / "mirnas.fa", "--utr", work / "long.fa", "-o", work / "o.tsv"],
        work,
        1,
        r"long.fa:2: line longer than 5,000 characters",
    )


# --------------------------------------------------------------------------- 6. messages that point at the right thing


def _with_sites(work: Path, start: str, end: str) -> Path:
    rows = [l.split("\t") for l in (work / "gene_pairs.tsv").read_text().splitlines()]
    rows[0] += ["site_start", "site_end"]
    for r in rows[1:]:
        r += ["NA", "NA"]
    rows[2][-2:] = [start, end]
    return _write(work / "annotated.tsv", "\n".join("\t".join(r) for r in rows) + "\n")


@pytest.mark.parametrize(
    "start, end, pattern",
    [
        ("30", "20", r"annotated.tsv:3: site_start 30 is after site_end 20"),
        ("12", "NA", r"annotated.tsv:3: site_start is 12 but site_end is 'NA'"),
        ("1_0", "20", r"annotated.tsv:3: site_start/site_end must be whole numbers"),
    ],
    ids=["start-after-end", "end-missing", "underscore"],
)
def test_annotated_site_columns(work, start, end, pattern):
    refused(
        "dt-make-negatives",
        ["--positives", _with_sites(work, start, end), "--include-positives", "--min-score", "100", "-o", work / "o.tsv"],
        work,
        1,
        pattern,
    )


def test_two_stdout_outputs_are_refused(work):
    refused("dt-eval", [work / "pred.tsv", "-o", "-", "--json", "-"], work, 2, r"-o and --json cannot both be stdout")
    refused(
        "dt-predict",
        [work / "sites.tsv", "--mirna", work / "mirnas.fa", "--model", work / "toy.pt", "-o", "-", "--gene-output", "-"],
        work,
        2,
        r"cannot both be stdout",
    )
    refused(
        "dt-make-negatives",
        ["--positives", work / "gene_pairs.tsv", "-o", "-", "--mock-fasta", "-"],
        work,
        2,
        r"--mock-fasta and -o cannot both be stdout",
    )


def test_newline_in_a_path_keeps_the_error_on_one_line(work):
    line = refused("dt-scan-cts", ["--mirna", str(work / "a\nb.fa"), "--utr", work / "utrs.fa"], work, 1)
    assert "a\\nb.fa: no such file" in line


def test_output_names_up_to_the_file_system_limit(work):
    name = "x" * 251 + ".tsv"  # 255 bytes: the temporary name must be shorter than the output's
    res = C.invoke("dt-scan-cts", ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-o", work / name, "-q"])
    assert res.code == 0, res.stderr
    assert (work / name).stat().st_size > 0 and not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def test_usage_errors_are_one_line_without_a_box(work):
    for argv in (["--bogus"], ["--mirna"], ["--site-types", "weird", "--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa"]):
        res = C.invoke("dt-scan-cts", argv)
        assert_refused(res, 2)
        assert "╭" not in res.stderr and "Usage:" not in res.stderr


def test_mock_making_reports_progress():
    """Long work shows progress: every mock made advances the bar (shown when stderr is a terminal)."""
    from deeptarget_core import negatives

    ticks = []
    mocks = negatives.make_mock_mirnas([("let7", C.LET7), ("mir21", C.MIR21)], per_mirna=5, seed=1, advance=ticks.append)
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
