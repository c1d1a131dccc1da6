"""Start-up in an odd environment ends with one ``error:`` line and exit 1, never a native abort.

torch's native start-up aborts (an MKL fatal error, exit 2) in a deleted working directory:
the tools check the working directory before any heavy import. A failure while a tool's own
modules are imported (a broken install, a bad setting of a library) is one line too, with
the traceback under ``--debug``. ``--help`` and ``--version`` touch no file and still work.
Real processes: the environment is the point.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import BIN, EXAMPLES

TOOLS = ("dt-scan-cts", "dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict", "dt-eval", "dt-explain", "dt-extract-utrs")
# a run of dt-predict that loads torch (the case that aborted natively)
PREDICT = ["--pair-table", str(EXAMPLES / "pairs.tsv"), "-o", os.devnull]


def _in_deleted_directory(tmp_path, argv: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    gone = tmp_path / "gone"
    gone.mkdir()

    def enter_and_delete() -> None:
        os.chdir(gone)
        os.rmdir(gone)

    return subprocess.run(
        argv, capture_output=True, text=True, preexec_fn=enter_and_delete, env={**os.environ, **(env or {})}, timeout=300
    )


# pip writes a /bin/sh launcher instead of a shebang when the interpreter's path has a space
# (CI's clone): that shell's own complaint about the deleted directory comes before Python starts
SH_LAUNCHER_NOTE = re.compile(r"^sh: \d+: getcwd\(\) failed")


def _one_error(res: subprocess.CompletedProcess, pattern: str) -> str:
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "Traceback" not in res.stderr and "FATAL" not in res.stderr
    lines = [line for line in res.stderr.strip().splitlines() if not SH_LAUNCHER_NOTE.match(line)]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert pattern in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("tool", TOOLS)
def test_a_deleted_working_directory_is_one_error(tmp_path, tool):
    argv = PREDICT if tool == "dt-predict" else ["-o", str(tmp_path / "out")]
    _one_error(_in_deleted_directory(tmp_path, [str(BIN / tool), *argv]), "working directory was deleted")


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_work_in_a_deleted_working_directory(tmp_path, flag):
    res = _in_deleted_directory(tmp_path, [str(BIN / "dt-scan-cts"), flag])
    assert res.returncode == 0 and res.stdout, res.stderr


@pytest.mark.parametrize("tool", ["dt-scan-cts", "dt-predict", "dt-eval"])
def test_an_import_failure_is_one_error(tmp_path, tool):
    """A module that breaks on import (here a stand-in for typer, which every tool imports first)."""
    (tmp_path / "typer.py").write_text("raise RuntimeError('broken installation')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    res = subprocess.run([str(BIN / tool), "--version"], capture_output=True, text=True, env=env, timeout=300)
    _one_error(res, "could not start: RuntimeError: broken installation")
    debug = subprocess.run([str(BIN / tool), "--debug"], capture_output=True, text=True, env=env, timeout=300)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_a_failure_after_start_up_keeps_its_traceback(tmp_path):
    """Only the import is covered: a bug later in the run (here a stand-in for matplotlib that
    breaks when dt-eval draws) still shows where it happened."""
    pred = tmp_path / "pred.tsv"
    pred.write_text("mirna_id\tmrna_id\tscore\tlabel\nm\ta\t0.9\t1\nm\tb\t0.1\t0\n")
    (tmp_path / "lib" / "matplotlib").mkdir(parents=True)
    (tmp_path / "lib" / "matplotlib" / "__init__.py").write_text("raise RuntimeError('a bug')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "lib")}
    argv = [str(BIN / "dt-eval"), pred, "--plots", tmp_path / "p", "-o", os.devnull]
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 1 and "Traceback" in res.stderr and "could not start" not in res.stderr


@pytest.mark.parametrize("backend", ["no-such", "TkAgg", ""])
def test_the_users_matplotlib_backend_does_not_matter(fx, tmp_path, backend):
    """The tools draw files only: MPLBACKEND=no-such was a 60-line traceback from matplotlib's
    import in dt-eval --plots; the pictures are drawn on Agg whatever it says."""
    env = {**os.environ, "MPLBACKEND": backend}
    argv = [str(BIN / "dt-eval"), fx / "pred.tsv", "--plots", tmp_path / "p", "-o", os.devnull, "-q"]
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert (res.returncode, res.stderr) == (0, "")
    assert (tmp_path / "p" / "roc.png").stat().st_size > 0
    argv = [str(BIN / "dt-explain"), fx / "sites.tsv", "--mirna", fx / "mirnas.fa", "--model", fx / "toy.pt"]
    argv += ["--steps", "2", "--top", "1", "--no-svg", "-p", "1", "-o", tmp_path / "ex", "-q"]
    res = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert (res.returncode, res.stderr) == (0, "")


def test_a_library_that_cannot_load_mid_run_is_one_error(tmp_path):
    """torch is loaded only when a model runs; under a tight address-space limit it cannot be."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (300 << 20, 300 << 20))

    res = subprocess.run([str(BIN / "dt-predict"), *PREDICT], capture_output=True, text=True, preexec_fn=limit, timeout=300)
    if res.returncode == 0:
        pytest.skip("300 MB of address space were enough here")
    _one_error(res, "error:")


@pytest.mark.parametrize(
    "env", [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}, {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0"}]
)
@pytest.mark.parametrize("tool", ["dt-scan-cts", "dt-eval"])
def test_stdout_is_utf8_whatever_the_locale_says(fx, tmp_path, env, tool):
    """Non-ASCII ids to stdout under PYTHONIOENCODING=ascii were a UnicodeEncodeError traceback:
    stdout carries the same UTF-8 bytes as an output file."""
    mirnas = tmp_path / "m.fa"
    mirnas.write_text(">l\u00e9t7\u2014a\n" + (fx / "mirnas.fa").read_text().split("\n", 1)[1], encoding="utf-8")
    if tool == "dt-scan-cts":
        argv = [str(BIN / tool), "--mirna", mirnas, "--utr", fx / "utrs.fa", "-q", "-o"]
    else:
        argv = [str(BIN / tool), fx / "pred.tsv", "--name", "pr\u00e9dicteur", "-q", "-o"]
    ok = subprocess.run([*argv, tmp_path / "out.tsv"], capture_output=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    res = subprocess.run([*argv, "-"], capture_output=True, env={**os.environ, **env}, timeout=300)
    assert (res.returncode, res.stderr) == (0, b"")
    assert res.stdout == (tmp_path / "out.tsv").read_bytes() and "\u00e9".encode() in res.stdout


@pytest.mark.parametrize("value", ["0", "abc", "-1", ""])
def test_a_thread_count_setting_that_is_no_count_is_left_out(value):
    """OMP_NUM_THREADS=0 (or garbage) added libgomp's own line ('libgomp: Invalid value for
    environment variable OMP_NUM_THREADS') to stderr; -p sets the threads anyway."""
    env = {**os.environ, "OMP_NUM_THREADS": value, "MKL_NUM_THREADS": value}
    res = subprocess.run([str(BIN / "dt-predict"), *PREDICT, "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert (res.returncode, res.stderr) == (0, "")
