"""Closed standard descriptors (cron, daemons and schedulers start jobs so).

With stdin or stdout closed, ``-`` as an input or ``-o -`` ends with one ``error:`` line and
exit 1 (no traceback, nothing written); stdin on /dev/null is an empty input, refused as such.
A closed descriptor is taken over by /dev/null at start-up, so that no file the run opens gets
its number: a run that needs no standard stream works as usual, and with stderr closed a run
still ends with the right exit code. Real processes: the descriptors are closed before exec.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import BIN, TOOL_MODULES, snapshot

# one command of each tool reading '-' ({d}: a copy of the toy inputs)
READS_STDIN = {
    "dt-scan-cts": ["--mirna", "-", "--utr", "{d}/utrs.fa", "-o", "{d}/out.tsv"],
    "dt-make-negatives": ["--mirna", "-", "--utr", "{d}/utrs.fa", "--min-score", "100", "-o", "{d}/out.tsv"],
    "dt-pretrain": ["--pairs", "-", "--epochs", "1", "-p", "1", "-o", "{d}/out.pt"],
    "dt-train": ["--train", "-", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{d}/out.pt"],
    "dt-predict": ["-", "--mirna", "{d}/mirnas.fa", "--model", "{d}/toy.pt", "-o", "{d}/out.tsv"],
    "dt-eval": ["-", "-o", "{d}/out.tsv"],
    "dt-explain": ["-", "--mirna", "{d}/mirnas.fa", "--model", "{d}/toy.pt", "--steps", "2", "--no-svg", "-o", "{d}/ex"],
    "dt-extract-utrs": ["--gtf", "-", "--genome", "{d}/utrs.fa", "-o", "{d}/out.fa"],  # refused before any reading
}
# one command of each tool writing to stdout
WRITES_STDOUT = {
    "dt-scan-cts": ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "-o", "-"],
    "dt-make-negatives": ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "--min-score", "100", "-o", "-"],
    "dt-pretrain": ["--pairs", "{d}/pairs.tsv", "--epochs", "1", "-p", "1", "-o", "-"],
    "dt-train": ["--train", "{d}/pairs.tsv", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "-"],
    "dt-predict": ["{d}/sites.tsv", "--mirna", "{d}/mirnas.fa", "--model", "{d}/toy.pt", "-o", "-"],
    "dt-eval": ["{d}/pred.tsv"],  # -o defaults to stdout
    "dt-extract-utrs": ["--gtf", "{d}/pairs.tsv", "--genome", "{d}/utrs.fa", "-o", "-"],  # refused before any reading
}


def _run(tool: str, argv: list[str], d, close: tuple[int, ...] = (), stdin=None) -> subprocess.CompletedProcess:
    def closing() -> None:
        for fd in close:
            os.close(fd)

    args = [str(BIN / tool), *(a.format(d=d) for a in argv)]
    return subprocess.run(args, stdin=stdin, capture_output=True, text=True, preexec_fn=closing, timeout=300)


def _one_error(res: subprocess.CompletedProcess, pattern: str) -> None:
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error:") and sum(x.startswith("error:") for x in lines) == 1, res.stderr
    assert pattern in lines[-1], lines[-1]


@pytest.mark.parametrize("tool", list(READS_STDIN))
def test_dash_input_with_stdin_closed_is_one_error(work, tool):
    before = snapshot(work)
    res = _run(tool, READS_STDIN[tool], work, close=(0,))
    _one_error(res, "stdin is closed")
    assert snapshot(work) == before


@pytest.mark.parametrize("tool", [t for t in READS_STDIN if t != "dt-extract-utrs"])  # its genome is no FASTA here
def test_dash_input_with_stdin_on_dev_null_is_an_empty_input(work, tool):
    before = snapshot(work)
    res = _run(tool, READS_STDIN[tool], work, stdin=subprocess.DEVNULL)
    _one_error(res, "<stdin>")
    assert snapshot(work) == before


@pytest.mark.parametrize("tool", list(WRITES_STDOUT))
def test_dash_output_with_stdout_closed_is_one_error(work, tool):
    before = snapshot(work)
    res = _run(tool, WRITES_STDOUT[tool], work, close=(1,))
    _one_error(res, "stdout is closed")
    assert snapshot(work) == before


@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/fd/1"])
def test_stdout_by_its_file_name_with_stdout_closed_is_one_error(work, name):
    res = _run("dt-scan-cts", [*WRITES_STDOUT["dt-scan-cts"][:-1], name], work, close=(1,))
    _one_error(res, "stdout is closed")


def test_a_run_to_a_file_works_with_every_standard_descriptor_closed(work):
    """The output file must not take a free descriptor 0-2 (a stray write would land in it)."""
    argv = ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "-o", "{d}/{name}"]
    assert _run("dt-scan-cts", [a.replace("{name}", "open.tsv") for a in argv], work).returncode == 0
    res = _run("dt-scan-cts", [a.replace("{name}", "closed.tsv") for a in argv], work, close=(0, 1, 2))
    assert res.returncode == 0
    assert (work / "closed.tsv").read_bytes() == (work / "open.tsv").read_bytes()


@pytest.mark.parametrize("tool", ["dt-scan-cts", "dt-eval"])
def test_with_stderr_closed_bad_input_still_exits_1(work, tool):
    argv = [a.replace("{d}/utrs.fa", "{d}/missing.fa").replace("{d}/pred.tsv", "{d}/missing.tsv") for a in WRITES_STDOUT[tool]]
    res = _run(tool, [*argv[:-1], "{d}/out.tsv"] if argv[-1] == "-" else [*argv, "-o", "{d}/out.tsv"], work, close=(2,))
    assert res.returncode == 1
    assert not (work / "out.tsv").exists()


# --------------------------------------------------------------------------- stdout that cannot take the data


def _with_stdout(tool: str, argv: list[str], d, stdout) -> subprocess.CompletedProcess:
    args = [str(BIN / tool), *(a.format(d=d) for a in argv)]
    return subprocess.run(args, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300)


@pytest.mark.parametrize("tool", [t for t in WRITES_STDOUT if t != "dt-extract-utrs"])
def test_stdout_on_a_full_device_is_one_error_that_names_stdout(work, tool):
    """`> file` on a full disk: the error said 'No space left on device' without saying where."""
    before = snapshot(work)
    with open("/dev/full", "w") as full:
        res = _with_stdout(tool, WRITES_STDOUT[tool], work, full)
    _one_error(res, "error: stdout: No space left on device")
    assert snapshot(work) == before


@pytest.mark.parametrize("tool", list(TOOL_MODULES))
@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_to_a_full_device_or_a_closed_pipe(tool, flag):
    """--help/--version on a full disk was a 40-line traceback; to a reader that went away
    (`| head -0`) click's exit 1: now one error line, and a quiet exit 0."""
    with open("/dev/full", "w") as full:
        res = _with_stdout(tool, [flag], ".", full)
    _one_error(res, "error: stdout: No space left on device")
    read, write = os.pipe()
    os.close(read)
    try:
        res = _with_stdout(tool, [flag], ".", write)
    finally:
        os.close(write)
    assert (res.returncode, res.stderr) == (0, "")


@pytest.mark.parametrize("tool", ["dt-pretrain", "dt-train"])
def test_a_checkpoint_to_a_terminal_is_refused_before_any_work(work, tool):
    """`dt-train ... -o -` on a terminal wrote the zip archive's bytes to it after the training."""
    import pty
    import threading

    leader, follower = pty.openpty()

    def drain() -> None:  # a terminal that nobody reads would block a writer
        try:
            while os.read(leader, 1 << 16):
                pass
        except OSError:  # EIO once the follower is closed
            pass
        os.close(leader)

    threading.Thread(target=drain, daemon=True).start()
    try:
        before = snapshot(work)
        res = _with_stdout(tool, WRITES_STDOUT[tool], work, follower)
    finally:
        os.close(follower)
    _one_error(res, "-o is - (stdout), which is a terminal: a checkpoint is binary")
    assert "epoch" not in res.stderr and snapshot(work) == before
