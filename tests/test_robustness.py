"""Issue 7: bad input, interrupted runs and full disks never leave partial outputs."""

from __future__ import annotations

import os
import random
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, EXAMPLES


def tool(name: str, *args, **kw):
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, **kw)


def assert_clean_error(res, *fragments, code=1):
    assert res.returncode == code, (res.returncode, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.stderr
    for f in fragments:
        assert f in res.stderr, res.stderr


def random_fasta(path: Path, n: int, length: int, seed: int, prefix: str = "u") -> None:
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            f.write(f">{prefix}{i}\n{''.join(rng.choices('ACGU', k=length))}\n")


def test_output_into_missing_directory(tmp_path):
    res = tool(
        "dt-scan-cts", "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", tmp_path / "no" / "x.tsv"
    )
    assert_clean_error(res, "output directory does not exist")


def test_output_to_a_full_disk():
    res = tool("dt-scan-cts", "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", "/dev/full")
    assert_clean_error(res, "No space left on device")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_output_directory(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    res = tool("dt-scan-cts", "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", ro / "x.tsv")
    assert_clean_error(res, "ermission")


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "m.fa"
    bad.write_text("not fasta\n")
    res = tool("dt-scan-cts", "--mirna", bad, "--utr", EXAMPLES / "utrs.fa.gz", "--debug")
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_ctrl_c_exits_130_and_removes_partial_output(tmp_path):
    mirnas, utrs, out = tmp_path / "m.fa", tmp_path / "u.fa", tmp_path / "sites.tsv"
    # big enough (about a minute of scanning) that the interrupt always lands mid-run
    random_fasta(mirnas, 3000, 22, seed=1, prefix="mir")
    random_fasta(utrs, 5000, 2000, seed=2)
    proc = subprocess.Popen(
        [str(BIN / "dt-scan-cts"), "--mirna", str(mirnas), "--utr", str(utrs), "--site-types", "relaxed", "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        # CI may start us in the background with SIGINT ignored; a user's Ctrl-C is not ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # wait until the temporary output exists, then interrupt
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".sites.tsv.*")):
        time.sleep(0.05)
    time.sleep(0.5)
    assert proc.poll() is None, "the scan finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fa", "u.fa"]


def test_utr_shorter_than_the_cts_still_yields_padded_windows(tmp_path):
    m, u = tmp_path / "m.fa", tmp_path / "u.fa"
    m.write_text(">let7\nUGAGGUAGUAGGUUGUAUAGUU\n")
    u.write_text(">tiny\nCUACCUCA\n")
    res = tool("dt-scan-cts", "--mirna", m, "--utr", u)
    assert res.returncode == 0
    row = res.stdout.splitlines()[1].split("\t")
    assert row[2:7] == ["8mer", "1", "8", "1", "8"]
    assert row[7] == "N" * 28 + "CUACCUCA" + "NNNN"


@pytest.mark.slow
def test_one_gigabyte_utr_fasta_streams_with_bounded_memory(tmp_path):
    """A 1 GB UTR FASTA goes through dt-scan-cts, and dt-predict (which scans it internally and
    scores every site), in chunks; peak RSS stays far below its size."""
    utrs = tmp_path / "big.fa"
    rng = random.Random(5)
    block = "".join(rng.choice("ACGU") for _ in range(1_000_000))
    lines = "\n".join(block[i : i + 100] for i in range(0, len(block), 100)) + "\n"
    with open(utrs, "w") as f:
        for i in range(1000):
            f.write(f">utr{i}\n{lines}")
    assert utrs.stat().st_size > 1_000_000_000
    m = tmp_path / "m.fa"
    m.write_text(">let7\nUGAGGUAGUAGGUUGUAUAGUU\n>mir21\nUAGCUUAUCAGACUGAUGUUGA\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = tool("dt-scan-cts", "--mirna", m, "--utr", utrs, "--chunk-size", "32000000", "-o", os.devnull)
    assert res.returncode == 0, res.stderr
    peak_mb = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    assert peak_mb < 1500, peak_mb
    genes = tmp_path / "genes.tsv"
    res = tool("dt-predict", "--mirna", m, "--utr", utrs, "-o", os.devnull, "--gene-output", genes)
    assert res.returncode == 0, res.stderr
    assert len(genes.read_text().splitlines()) == 1 + 2 * 1000  # every (miRNA, UTR) pair: each UTR has sites
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 1500, peak_mb


def test_cuda_without_a_gpu_is_a_clear_error(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    sites = tmp_path / "sites.tsv"
    assert tool("dt-scan-cts", "--mirna", EXAMPLES / "mirnas.fa", "--utr", EXAMPLES / "utrs.fa.gz", "-o", sites).returncode == 0
    out = tmp_path / "scored.tsv"
    res = tool("dt-predict", sites, "--mirna", EXAMPLES / "mirnas.fa", "--device", "cuda", "-o", out)
    assert_clean_error(res, "CUDA is not available; use --device cpu or auto")
    assert not out.exists()
