"""Inputs that are unusual but valid are accepted and give the output of the plain input.

Windows line endings, lower case and T for U in every sequence slot give the same computed
values; N in targets is accepted and never pairs; UTRs shorter than the CTS window are scanned,
scored and used for negatives; a FIFO in every input slot is read once and gives the file's
result (a second open would hang: the test's pipe is served once, as a shell's process
substitution is); stdin and /dev/stdin are read once; a byte-order mark is ignored.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest
import torch

from conftest import (
    BIN,
    LET7,
    MIR21,
    SLOT,
    SLOTS,
    format_argv,
    invoke,
    outputs,
    site_of,
)

# --------------------------------------------------------------------------- line endings, case, T for U, N, short targets


def _messy(text: str, kind: str) -> bytes:
    """Windows line endings, lower case and T for U in sequences (ids and headers untouched)."""
    out = []
    for i, line in enumerate(text.splitlines()):
        if kind == "fasta" and not line.startswith(">"):
            line = line.lower().replace("u", "t")
        elif kind == "table" and i > 0:
            line = "\t".join(
                f.lower().replace("u", "t") if f and set(f) <= set("ACGUN") and len(f) >= 8 else f for f in line.split("\t")
            )
        out.append(line)
    return ("\r\n".join(out) + "\r\n").encode()


ACCEPTED_SLOTS = [
    ("dt-scan-cts", "utr"),
    ("dt-scan-cts", "pairs-with-seq"),
    ("dt-make-negatives", "positives"),
    ("dt-make-negatives", "mirna"),
    ("dt-pretrain", "pairs"),
    ("dt-pretrain", "cts-fasta"),
    ("dt-train", "train"),
    ("dt-predict", "sites"),
    ("dt-predict", "mirna"),
    ("dt-predict", "utr"),
    ("dt-predict", "pairs"),
    ("dt-eval", "predictions"),
    ("dt-eval", "labels"),
    ("dt-explain", "table"),
    ("dt-explain", "mirna"),
]


def _weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


@pytest.mark.parametrize("tool, slot", ACCEPTED_SLOTS, ids=[f"{t}-{s}" for t, s in ACCEPTED_SLOTS])
def test_crlf_lower_case_and_t_give_the_same_output(fx, tmp_path, tool, slot):
    argv, kind, good = SLOT[(tool, slot)]
    results = []
    for variant in ("clean", "messy"):
        d = tmp_path / variant
        d.mkdir()
        text = (fx / good).read_text()
        (d / ("in" + Path(good).suffix)).write_bytes(text.encode() if variant == "clean" else _messy(text, kind))
        res = invoke(tool, format_argv(argv, fx, d, d / ("in" + Path(good).suffix)) + ["-q"])
        assert res.code == 0, (variant, res.stderr, res.exception)
        results.append(outputs(d))
    clean, messy = results
    assert clean.keys() == messy.keys() and clean
    for name in clean:
        if name.endswith(".pt"):  # the checkpoint records the input's digest: compare the weights
            a, b = _weights(tmp_path / "clean" / name), _weights(tmp_path / "messy" / name)
            assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
        elif name.endswith((".tsv", ".json", ".fa", ".html")) and not name.endswith(".log.tsv"):
            # input columns are carried through as they were written (lower case, T), and
            # file names differ; every computed value must be the same
            a, b = (x[name].decode().replace(str(tmp_path / v), "DIR") for x, v in ((clean, "clean"), (messy, "messy")))
            assert a.upper().replace("T", "U") == b.upper().replace("T", "U"), name
        elif not name.endswith(".log.tsv"):  # the training log has the epoch's seconds
            assert clean[name] == messy[name], name


def test_n_in_targets_is_accepted_and_never_pairs(fx, tmp_path):
    """README's policy: targets may hold N (it never pairs); miRNAs may not (see the corpus)."""
    site = site_of(LET7)
    utr = tmp_path / "u.fa"
    utr.write_text(f">withN\nNNNNACGUACGU{site}NNNNNNNNNN\n>brokenByN\nACGUACGU{site[:4]}N{site[5:]}ACGU\n")
    res = invoke("dt-scan-cts", ["--mirna", fx / "mirnas.fa", "--utr", utr, "-q"])
    assert res.code == 0, res.stderr
    rows = [l.split("\t") for l in res.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("let7", "withN", "8mer")]


def test_utr_shorter_than_the_cts_is_accepted_by_every_reader(fx, tmp_path):
    """A target shorter than the 40-nt CTS window: scanned, scored, and used for negatives."""
    tiny = tmp_path / "tiny.fa"
    tiny.write_text(f">tiny\n{site_of(LET7)}\n>tiny2\nGG{site_of(MIR21)}\n")
    res = invoke(
        "dt-predict",
        ["--mirna", fx / "mirnas.fa", "--utr", tiny, "--model", fx / "toy.pt", "-q", "--gene-output", tmp_path / "g.tsv"],
    )
    assert res.code == 0, res.stderr
    rows = [l.split("\t") for l in res.stdout.splitlines()[1:]]
    assert sorted((r[0], r[1]) for r in rows) == [("let7", "tiny"), ("mir21", "tiny2")]
    assert all(len(r[7]) == 40 and 0 <= float(r[8]) <= 1 for r in rows)
    res = invoke(
        "dt-make-negatives",
        ["--mirna", fx / "mirnas.fa", "--utr", tiny, "--min-score", "60", "--include-positives", "-o", tmp_path / "n.tsv", "-q"],
    )
    assert res.code == 0, res.stderr
    assert all(len(l.split("\t")[3]) <= 40 for l in (tmp_path / "n.tsv").read_text().splitlines()[1:])


# --------------------------------------------------------------------------- FIFOs, stdin, byte-order marks


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


def _files(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("tool, slot", [(t, s) for t, s, *_ in SLOTS], ids=[f"{t}-{s}" for t, s, *_ in SLOTS])
def test_fifo_in_every_input_slot_is_read_once_and_gives_the_file_result(fx, tmp_path, tool, slot):
    argv, kind, good = SLOT[(tool, slot)]
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
            res = invoke(tool, format_argv(argv, fx, d, src) + ["-q"])
        finally:
            if fifo is not None:
                fifo.close()
        assert fifo is None or not fifo.reopened, "the pipe was opened a second time"
        assert res.code == 0, (variant, res.stderr, res.exception)
        runs[variant] = {
            k: v.replace(str(d).encode(), b"D")
            for k, v in _files(d).items()
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
    res = invoke("dt-eval", ["-", "-q"], stdin=cv)  # a CV table on stdin is recognised as one
    assert res.code == 0, res.stderr
    assert [l.split("\t")[1] for l in res.stdout.splitlines()[1:]] == ["mean", "sd", "min", "max"]
    res = invoke("dt-predict", ["--pairs", "-", "--model", fx / "toy.pt", "-q"], stdin=(fx / "pairs.tsv").read_text())
    assert res.code == 0 and len(res.stdout.splitlines()) == 17, res.stderr  # --level auto on stdin
    proc = subprocess.run(f"'{BIN / 'dt-eval'}' /dev/stdin -q < '{fx / 'pred.tsv'}'", shell=True, capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.count("\n") == 2, proc.stderr


def test_byte_order_mark_is_accepted(work):
    (work / "bom.fa").write_bytes(b"\xef\xbb\xbf" + (work / "mirnas.fa").read_bytes())
    (work / "bom.tsv").write_bytes(b"\xef\xbb\xbf" + (work / "pred.tsv").read_bytes())
    a = invoke("dt-scan-cts", ["--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa", "-q"])
    b = invoke("dt-scan-cts", ["--mirna", work / "bom.fa", "--utr", work / "utrs.fa", "-q"])
    assert a.code == b.code == 0 and a.stdout == b.stdout, b.stderr
    a = invoke("dt-eval", [work / "pred.tsv", "-q", "--name", "x"])
    b = invoke("dt-eval", [work / "bom.tsv", "-q", "--name", "x"])
    assert a.code == b.code == 0 and a.stdout == b.stdout, b.stderr
