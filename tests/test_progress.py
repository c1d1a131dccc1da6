"""Progress where stderr is not a terminal: one line about every DT_PROGRESS_INTERVAL seconds
(30 by default) on stderr, nothing on stdout, nothing with -q."""

from __future__ import annotations

import os
import re
import subprocess

from deeptarget_tools import _cli

from conftest import BIN, EXAMPLES

LINE = re.compile(r"^dt-predict: scoring CTS: [\d,]+ done, [\d,]+/s, [\d,]+ s elapsed$", re.M)


def predict(tmp_path, *extra: str, interval: str | None) -> tuple[bytes, str]:
    """dt-predict on the examples with stderr redirected to a file (not a terminal)."""
    env = {k: v for k, v in os.environ.items() if k != _cli.PROGRESS_INTERVAL_ENV}
    if interval is not None:
        env[_cli.PROGRESS_INTERVAL_ENV] = interval
    err = tmp_path / "stderr.txt"
    with open(err, "wb") as handle:
        out = subprocess.run(
            [str(BIN / "dt-predict"), "--mirna", str(EXAMPLES / "mirnas.fa"), "--utr", str(EXAMPLES / "utrs.fa.gz"), *extra],
            stdout=subprocess.PIPE,
            stderr=handle,
            env=env,
            check=True,
        ).stdout
    return out, err.read_text()


def test_progress_lines_on_a_stderr_that_is_not_a_terminal(tmp_path):
    out, err = predict(tmp_path, interval="0.001")
    assert LINE.search(err), err
    plain_out, plain_err = predict(tmp_path, interval=None)  # 30 s: a short run shows none
    assert not LINE.search(plain_err) and "CTS scored" in plain_err
    assert out == plain_out and out.startswith(b"mirna_id\t")  # stdout carries the data only
    assert b"done," not in out


def test_quiet_silences_progress(tmp_path):
    out, err = predict(tmp_path, "-q", interval="0.001")
    assert err == "" and out.count(b"\n") > 100


def test_progress_lines_come_at_the_interval(monkeypatch, capsys):
    now = [100.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])
    lines = _cli._ProgressLines("scoring CTS", 10_000, 30.0)
    for _ in range(9):
        now[0] += 10.0  # 10 s between calls: a line at 30, 60 and 90 s
        lines.advance(1_000)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3
    assert err[0].endswith("scoring CTS: 3,000 of 10,000 (30%) done, 100/s, 30 s elapsed")
    assert err[2].endswith("9,000 of 10,000 (90%) done, 100/s, 90 s elapsed")


def test_progress_interval_setting(monkeypatch):
    monkeypatch.setenv(_cli.PROGRESS_INTERVAL_ENV, "2.5")
    assert _cli.progress_interval() == 2.5
    for bad in ("", "soon", "0", "-1"):
        monkeypatch.setenv(_cli.PROGRESS_INTERVAL_ENV, bad)
        assert _cli.progress_interval() == _cli.PROGRESS_INTERVAL == 30.0
