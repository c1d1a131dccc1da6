"""An output is complete or absent, and nothing the user owns is lost.

* An unwritable output (missing or read-only folder, a directory in the way, a full disk) is
  refused with one error line naming it, and nothing is left behind.
* An output that is an input (by the file itself: symbolic and hard links, ``./x``) or another
  output, for every tool and output option (dt-train's --log and resume file too), is refused
  before any work; two outputs on stdout are refused; devices may take two outputs; an output
  name as long as the file system allows still gets its temporary file.
* dt-explain --force replaces only a folder of its own files, never one that holds an input,
  and ``-o .`` is refused before the work.
* Ctrl-C (exit 130), SIGTERM and SIGHUP (128 + the signal) in every tool, raised while an
  output is half written, remove the partial outputs, print one error line and restore the
  handler the tool replaced; a real SIGTERM to dt-scan-cts and to dt-explain's drawing pool
  exits 143 quietly; a closed stdout pipe ends the run quietly; dt-train writing its
  checkpoint to stdout writes no side files.

Refused runs follow the contract of test_refusals_bad_input.py: the exit code, one ``error:``
line (the last line of stderr), no traceback, and no file of the folder changed or added.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (
    BIN,
    LET7,
    TOOLS,
    app,
    assert_error,
    assert_refused,
    fmt,
    invoke,
    refused,
    runner,
    snapshot,
    tree,
)

# --------------------------------------------------------------------------- unwritable outputs

# (tool, output id, argv with {o} for the output under test; other outputs go to {tmp})
OUTPUTS = [
    ("dt-scan-cts", "o", ["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "-o", "{o}"]),
    (
        "dt-make-negatives",
        "o",
        ["--positives", "{fx}/gene_pairs.tsv", "--min-score", "100", "-o", "{o}", "--mock-fasta", "{tmp}/m.fa"],
    ),
    (
        "dt-make-negatives",
        "mock-fasta",
        ["--positives", "{fx}/gene_pairs.tsv", "--min-score", "100", "-o", "{tmp}/n.tsv", "--mock-fasta", "{o}"],
    ),
    ("dt-pretrain", "o", ["--pairs", "{fx}/pairs.tsv", "--epochs", "1", "-p", "1", "-o", "{o}"]),
    (
        "dt-train",
        "o",
        [
            "--train",
            "{fx}/pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "1",
            "-p",
            "1",
            "-o",
            "{o}",
            "--log",
            "{tmp}/log.tsv",
        ],
    ),
    (
        "dt-train",
        "log",
        [
            "--train",
            "{fx}/pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "1",
            "-p",
            "1",
            "-o",
            "{tmp}/m.pt",
            "--log",
            "{o}",
        ],
    ),
    (
        "dt-train",
        "cv-o",
        [
            "--train",
            "{fx}/pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "1",
            "-p",
            "1",
            "--cv",
            "2",
            "-o",
            "{o}",
            "--cv-predictions",
            "{tmp}/oof.tsv",
        ],
    ),
    (
        "dt-train",
        "cv-predictions",
        [
            "--train",
            "{fx}/pairs.tsv",
            "--no-pretrain",
            "--layers",
            "1",
            "--epochs",
            "1",
            "-p",
            "1",
            "--cv",
            "2",
            "-o",
            "{tmp}/cv.tsv",
            "--cv-predictions",
            "{o}",
        ],
    ),
    (
        "dt-predict",
        "o",
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "-o", "{o}", "--gene-output", "{tmp}/g.tsv"],
    ),
    (
        "dt-predict",
        "gene-output",
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "-o", "{tmp}/s.tsv", "--gene-output", "{o}"],
    ),
    ("dt-eval", "o", ["{fx}/pred.tsv", "-o", "{o}", "--json", "{tmp}/e.json", "--plots", "{tmp}/plots"]),
    (
        "dt-eval",
        "json",
        ["{fx}/pred.tsv", "-o", "{tmp}/e.tsv", "--json", "{o}", "--group-by", "mirna", "--per-mirna", "{tmp}/per.tsv"],
    ),
    (
        "dt-eval",
        "per-mirna",
        ["{fx}/pred.tsv", "-o", "{tmp}/e.tsv", "--json", "{tmp}/e.json", "--group-by", "mirna", "--per-mirna", "{o}"],
    ),
    ("dt-eval", "plots", ["{fx}/pred.tsv", "-o", "{tmp}/e.tsv", "--json", "{tmp}/e.json", "--plots", "{o}"]),
    (
        "dt-explain",
        "outdir",
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "-o", "{o}"],
    ),
]


def _read_only_dir(tmp: Path) -> Path:
    if os.geteuid() != 0:
        ro = tmp / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        return ro
    # root ignores permissions; sysfs refuses new files even to root
    try:
        fd, name = tempfile.mkstemp(dir="/sys")
    except OSError:
        return Path("/sys")
    os.close(fd)
    os.unlink(name)
    pytest.skip("no directory is read-only for this user")


DIR_OUTPUTS = {"plots", "outdir"}


def _output_cases():
    for tool, out, argv in OUTPUTS:
        for where in ("missing-dir", "is-a-directory", "read-only-dir", "disk-full"):
            if out in DIR_OUTPUTS and where == "disk-full":
                continue  # a directory output: /dev/full cannot stand in for one
            yield pytest.param(tool, out, argv, where, id=f"{tool}-{out}-{where}")


@pytest.mark.parametrize("tool, out, argv, where", list(_output_cases()))
def test_unwritable_output(fx, tmp_path, tool, out, argv, where):
    if where == "missing-dir":
        o, msg, name = tmp_path / "no" / "such" / "x.out", r"does not exist", str(tmp_path / "no" / "such")
    elif where == "is-a-directory" and out in DIR_OUTPUTS:  # the output is a directory: a file is in the way
        o, msg = tmp_path / "afile", r"exists and is not a directory"
        o.write_text("precious")
        name = str(o)
    elif where == "is-a-directory":
        o, msg = tmp_path / "adir", r"is a directory"
        o.mkdir()
        (o / "keep").write_text("precious")
        name = str(o)
    elif where == "read-only-dir":
        o, msg = _read_only_dir(tmp_path) / "x.out", r"[Pp]ermission denied|[Rr]ead-only|not permitted"
        name = str(o.parent)
    else:
        o, msg, name = Path("/dev/full"), r"No space left on device", "/dev/full"
    before = tree(tmp_path)
    res = invoke(tool, [a.format(fx=fx, tmp=tmp_path, o=o) for a in argv])
    assert_error(res, name, msg)
    left = tree(tmp_path) - before
    if tool == "dt-train" and where == "disk-full":
        # a checkpoint that fails at the very end keeps the per-epoch training log (complete,
        # written atomically each epoch): the record of the run that was lost
        left -= {"log.tsv"}
    assert not left, f"left behind: {left}"
    if where == "is-a-directory":
        assert (o if o.is_file() else o / "keep").read_text() == "precious"
    if where == "disk-full":
        assert not list(Path("/dev").glob("full?*")), "an output was written beside /dev/full"


# --------------------------------------------------------------------------- Ctrl-C, simulated in every tool

# (tool, argv, the function to interrupt: module, attribute). The interrupted function first
# writes to the open output when it gets a handle, so there is a partial file to remove.
INTERRUPT = {
    "dt-scan-cts": (OUTPUTS[0][2], "deeptarget_core.sites", "write_site_table"),
    "dt-make-negatives": (OUTPUTS[1][2], "deeptarget_core.io", "write_fasta"),
    "dt-pretrain": (OUTPUTS[3][2], "torch", "save"),
    "dt-train": (OUTPUTS[6][2], "deeptarget_core.train_command", "write_cv_predictions"),
    "dt-predict": (OUTPUTS[8][2], "deeptarget_core.predict", "predict_site_table"),
    "dt-eval": (OUTPUTS[10][2], "deeptarget_core.plots", "plot_pr"),
    "dt-explain": (OUTPUTS[-1][2], "deeptarget_core.plots_explain.ExplainDrawer", "save"),
}


@pytest.mark.parametrize("tool", TOOLS)
def test_interrupt_exits_130_and_leaves_nothing(fx, tmp_path, monkeypatch, tool):
    argv, module, attr = INTERRUPT[tool]
    if module.endswith("Drawer"):  # a class: patch its method
        target = getattr(__import__(module.rsplit(".", 1)[0], fromlist=["x"]), module.rsplit(".", 1)[1])
    else:
        target = __import__(module, fromlist=["x"])
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(attr)
        for a in args:  # write something to whatever output we were handed
            if hasattr(a, "write") and not isinstance(a, type):
                try:
                    a.write("partial\n" if not isinstance(a, (bytes, bytearray)) else b"partial")
                except TypeError:
                    a.write(b"partial\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(target, attr, interrupted)
    out = tmp_path / ("outdir" if tool == "dt-explain" else "out.pt" if tool == "dt-pretrain" else "out.tsv")
    before = tree(tmp_path)
    res = invoke(tool, [a.format(fx=fx, tmp=tmp_path, o=out) for a in argv])
    assert calls, "the run never reached the interrupted step"
    assert res.code == 130, (res.code, res.stderr, res.exception)
    assert res.stderr.strip().splitlines()[-1] == "error: interrupted"
    assert tree(tmp_path) == before, f"left behind: {tree(tmp_path) - before}"


# --------------------------------------------------------------------------- an output that is an input or another output

_INPUT_IN_ARGV = re.compile(r"^\{fx\}/(.+)$")


def _clobber_cases():
    for tool, out_id, argv in OUTPUTS:
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
        pattern, code = r"same file", 2  # a picture folder named like an input file or another output
    elif target.startswith("{fx}"):
        pattern, code = r"is the same file as the input .*write the output elsewhere", 2
    else:
        pattern, code = r"name the same file; give two different outputs", 2
    refused(tool, fmt(argv, work, o=o), work, code, pattern)


def _trailing_slash_cases():
    for tool, out_id, argv in OUTPUTS:
        if out_id in DIR_OUTPUTS:
            continue
        first = next(m.group(1) for a in argv if (m := _INPUT_IN_ARGV.match(a)))
        yield pytest.param(tool, argv, first, id=f"{tool}-{out_id}")


@pytest.mark.parametrize("tool, argv, name", list(_trailing_slash_cases()))
@pytest.mark.parametrize("suffix", ["/", "/."])
def test_an_output_file_name_ending_in_a_slash_is_refused(work, tool, argv, name, suffix):
    """``-o in.fa/`` was written to ``in.fa`` (pathlib drops the slash) while the refusal
    compared the name with the slash (no such file): the input was overwritten, exit 0."""
    # options typed as paths reach the tool without the slash: then it is the input's name
    pattern = r"ends with '/': it names a folder, not a file|is the same file as the input"
    refused(tool, fmt(argv, work, o=f"{work}/{name}{suffix}"), work, 2, pattern)


@pytest.mark.parametrize("tool, argv, name", list(_trailing_slash_cases()))
def test_an_output_inside_a_file_names_the_file(work, tool, argv, name):
    """-o in.fa/x.tsv said 'in.fa: output directory does not exist', though in.fa exists."""
    refused(tool, fmt(argv, work, o=f"{work}/{name}/x.tsv"), work, 1, rf"{name}: is not a directory, so no output")


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
    res = invoke(
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
    assert invoke("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "-q"]).code == 0
    assert (out / ".dt-explain-manifest").is_file()
    (out / "notes.txt").write_text("mine")
    refused("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "--force"], work, 1, r"'notes.txt' is not one of its files")
    (out / "notes.txt").unlink()
    res = invoke("dt-explain", fmt(EXPLAIN, work) + ["-o", str(out), "--force", "-q"])
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


# --------------------------------------------------------------------------- SIGTERM and SIGHUP, a closed pipe, stdout


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
    [(t, signal.SIGTERM) for t in TOOLS] + [("dt-scan-cts", signal.SIGHUP), ("dt-predict", signal.SIGHUP)],
    ids=[f"{t}-TERM" for t in TOOLS] + ["dt-scan-cts-HUP", "dt-predict-HUP"],
)
def test_sigterm_and_sighup_clean_up_like_ctrl_c(work, monkeypatch, tool, signum):
    argv, module, attr = INTERRUPT[tool]
    if module.endswith("Drawer"):
        target = getattr(__import__(module.rsplit(".", 1)[0], fromlist=["x"]), module.rsplit(".", 1)[1])
    else:
        target = __import__(module, fromlist=["x"])
    monkeypatch.setattr(target, attr, _terminating(signum))
    out = work / ("outdir" if tool == "dt-explain" else "out.pt" if tool == "dt-pretrain" else "out.tsv")
    previous = signal.getsignal(signum)
    before = snapshot(work)
    res = invoke(tool, [a.format(fx=work, tmp=work, o=out) for a in argv])
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
        f"let7\t{LET7}\tt{i}\t{''.join(rng.choices('ACGU', k=40))}"
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


def test_train_to_stdout_writes_no_side_files(fx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(
        app("dt-train"),
        ["--train", str(fx / "pairs.tsv"), "--no-pretrain", "--layers", "1", "--epochs", "1", "-p", "1", "-o", "-", "-q"],
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes[:2] == b"PK"
    assert list(tmp_path.iterdir()) == []  # no '-.log.tsv', no '-.resume'


# --------------------------------------------------------------------------- two stdout outputs, long names


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


def test_output_names_up_to_the_file_system_limit(work):
    name = "x" * 251 + ".tsv"  # 255 bytes: the temporary name must be shorter than the output's
    res = invoke("dt-scan-cts", ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-o", work / name, "-q"])
    assert res.code == 0, res.stderr
    assert (work / name).stat().st_size > 0 and not [p for p in work.iterdir() if p.name.endswith(".tmp")]


def test_a_bgz_output_name_up_to_the_limit_and_names_beyond_it(work):
    """A .bgz name of 251 bytes failed on its sorting folder's name ('.NAME.XXXXXXXX.sort');
    a name the file system cannot take (or a .bgz whose .tbi it cannot) failed after the work."""
    argv = ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-q", "-o"]
    name = "y" * 247 + ".bgz"  # its index is 255 bytes
    res = invoke("dt-scan-cts", [*argv, work / name])
    assert res.code == 0, res.stderr
    assert (work / f"{name}.tbi").exists() and not [p for p in work.iterdir() if p.name.startswith(".")]
    for long, what in (("z" * 248 + ".bgz", r"the index .*\.bgz\.tbi of -o"), ("z" * 253 + ".tsv", r"-o ")):
        refused(
            "dt-scan-cts", [*argv, work / long], work, 1, what + r".*: the name is 2\d\d bytes, longer than the file system takes"
        )
