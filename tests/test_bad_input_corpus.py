"""Issue 7: one table-driven corpus of bad inputs for every executable.

Every case runs a tool in-process (typer's CliRunner: torch is imported once) and asserts
the contract of README "Conventions shared by every tool": exit code 1 (2 for usage),
exactly one ``error:`` line on stderr (the last line) naming the file and, where there is
one, the line; no Python exception escaping the error handler (that would be a traceback
on the command line); and no output or temporary file left behind (the test's directory
holds the same files after the run as before it).

The cases extend tests/test_scan_cli.py, test_predict.py, test_train.py, test_eval.py,
test_explain.py, test_negatives.py and test_robustness.py: they cover every input slot of
every tool, not only the first one. A few tests run the real executables (tracebacks,
Ctrl-C, determinism across processes with different hash seeds).
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from deeptarget_core import model as M
from deeptarget_core import train as T
from deeptarget_core.seq import reverse_complement

BIN = Path(sys.executable).parent
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
TOOLS = ("dt-scan-cts", "dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict", "dt-eval", "dt-explain")
runner = CliRunner()


def _app(tool: str):
    module = {
        "dt-scan-cts": "scan_cts",
        "dt-make-negatives": "make_negatives",
        "dt-pretrain": "pretrain",
        "dt-train": "train",
        "dt-predict": "predict",
        "dt-eval": "eval",
        "dt-explain": "explain",
    }[tool]
    return __import__(f"deeptarget_tools.{module}", fromlist=["app"]).app


# --------------------------------------------------------------------------- fixtures


def _rand(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGU"), n))


def _site(mirna: str) -> str:
    """An 8mer site of ``mirna`` (5'->3' on the target)."""
    return reverse_complement(mirna[1:8]) + "A"


def _write_fixtures(d: Path) -> None:
    rng = np.random.default_rng(11)
    (d / "mirnas.fa").write_text(f">let7\n{LET7}\n>mir21\n{MIR21}\n")
    utrs = {
        "u1": _rand(rng, 40) + _site(LET7) + _rand(rng, 50) + _site(MIR21) + _rand(rng, 40),
        "u2": _rand(rng, 70) + _site(LET7) + _rand(rng, 30),
        "u3": _rand(rng, 60) + _site(MIR21) + _rand(rng, 60),
    }
    (d / "utrs.fa").write_text("".join(f">{k}\n{v[:60]}\n{v[60:]}\n" for k, v in utrs.items()))
    (d / "idpairs.tsv").write_text("mirna_id\tmrna_id\nlet7\tu1\nlet7\tu2\nmir21\tu1\nmir21\tu3\n")
    # gene-level positives (whole UTRs)
    gene = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel"]
    for m, seq in (("let7", LET7), ("mir21", MIR21)):
        for u, useq in utrs.items():
            gene.append(f"{m}\t{seq}\t{u}\t{useq}\t{int(_site(seq) in useq)}")
    (d / "gene_pairs.tsv").write_text("\n".join(gene) + "\n")
    # site-level labelled pairs (40-nt CTS; positives carry an 8mer at 29-36)
    rows = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\tnote"]
    for i in range(16):
        m, seq = (("let7", LET7), ("mir21", MIR21))[i % 2]
        cts = _rand(rng, 40)
        if (i // 2) % 2:
            cts = cts[:28] + _site(seq) + cts[36:]
        rows.append(f"{m}\t{seq}\tt{i}\t{cts}\t{(i // 2) % 2}\tn{i}")
    (d / "pairs.tsv").write_text("\n".join(rows) + "\n")
    (d / "cts.fa").write_text("".join(f">c{i}\n{r.split(chr(9))[3]}\n" for i, r in enumerate(rows[1:])))
    # a site table as dt-scan-cts writes it
    res = runner.invoke(_app("dt-scan-cts"), ["--mirna", str(d / "mirnas.fa"), "--utr", str(d / "utrs.fa"),
                                              "-o", str(d / "sites.tsv"), "-q"])
    assert res.exit_code == 0, res.output
    assert len((d / "sites.tsv").read_text().splitlines()) >= 5
    # predictions with labels, and a label table for the join
    pred = ["mirna_id\tmrna_id\tscore\tlabel"]
    for i in range(30):
        y = int(i % 3 == 0)
        pred.append(f"m{i % 4}\tg{i}\t{0.4 * y + rng.uniform(0, 0.6):.6f}\t{y}")
    (d / "pred.tsv").write_text("\n".join(pred) + "\n")
    (d / "labels.tsv").write_text("\n".join("\t".join(r.split("\t")[:2] + r.split("\t")[3:]) for r in pred) + "\n")
    (d / "pred_nolabel.tsv").write_text("\n".join("\t".join(r.split("\t")[:3]) for r in pred) + "\n")
    # checkpoints: a toy classifier and pre-trained autoencoders
    torch.manual_seed(0)
    net = M.DeepTarget(M.ModelConfig(layers=1)).eval()
    M.save_checkpoint(d / "toy.pt", net, M.CheckpointInfo(kind="classifier", config=net.config, seed=0))
    ae = T.pretrain_autoencoders([LET7, MIR21], [_rand(rng, 40) for _ in range(4)], M.ModelConfig(), epochs=1)
    T.save_pretrained(d / "ae.pt", ae, M.ModelConfig(), seed=1, digest=None)


@pytest.fixture(scope="module")
def fx(tmp_path_factory) -> Path:
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("fixtures")
    _write_fixtures(d)
    return d


def _tree(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*")}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke(tool: str, args: list[str], stdin: str | None = None) -> Run:
    res = runner.invoke(_app(tool), [str(a) for a in args], input=stdin)
    return Run(res.exit_code, res.stdout, res.stderr, res.exception)


def assert_error(res: Run, where: str | None, pattern: str = "", code: int = 1) -> str:
    """Exit code, one ``error:`` line (the last line of stderr), naming ``where``."""
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        f"uncaught {type(res.exception).__name__}: {res.exception}\n{res.stderr}"
    )
    assert res.code == code, (res.code, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    errors = [l for l in lines if l.startswith("error:")]
    if code == 2:  # click's usage errors: a usage block and one "Error:" line
        assert "Error" in res.stderr, res.stderr
        return res.stderr
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    line = errors[0]
    if where is not None:
        assert where in line, (where, line)
    if pattern:
        assert re.search(pattern, line), (pattern, line)
    return line


# --------------------------------------------------------------------------- generic file cases per input slot

# (tool, slot id, argv with {bad}, kind of file the slot reads, the fixture that fits the slot)
# {fx} = fixture directory, {tmp} = the test's own directory (outputs go there).
SLOTS = [
    ("dt-scan-cts", "utr", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "-o", "{tmp}/out.tsv"], "fasta", "utrs.fa"),
    ("dt-scan-cts", "mirna", ["--mirna", "{bad}", "--utr", "{fx}/utrs.fa", "-o", "{tmp}/out.tsv"], "fasta", "mirnas.fa"),
    ("dt-scan-cts", "pairs", ["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "--pairs", "{bad}", "-o", "{tmp}/out.tsv"], "table", "idpairs.tsv"),
    ("dt-scan-cts", "pairs-with-seq", ["--pairs-with-seq", "{bad}", "-o", "{tmp}/out.tsv"], "table", "gene_pairs.tsv"),
    ("dt-make-negatives", "positives", ["--positives", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv", "--mock-fasta", "{tmp}/mocks.fa"], "table", "gene_pairs.tsv"),
    ("dt-make-negatives", "mirna", ["--mirna", "{bad}", "--utr", "{fx}/utrs.fa", "--min-score", "100", "-o", "{tmp}/out.tsv"], "fasta", "mirnas.fa"),
    ("dt-make-negatives", "utr", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"], "fasta", "utrs.fa"),
    ("dt-make-negatives", "pairs", ["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "--pairs", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"], "table", "idpairs.tsv"),
    ("dt-make-negatives", "reference", ["--positives", "{fx}/gene_pairs.tsv", "--reference-mirnas", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"], "fasta", "mirnas.fa"),
    ("dt-pretrain", "pairs", ["--pairs", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "table", "pairs.tsv"),
    ("dt-pretrain", "mirna-fasta", ["--mirna-fasta", "{bad}", "--cts-fasta", "{fx}/cts.fa", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "fasta", "mirnas.fa"),
    ("dt-pretrain", "cts-fasta", ["--mirna-fasta", "{fx}/mirnas.fa", "--cts-fasta", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "fasta", "cts.fa"),
    ("dt-train", "train", ["--train", "{bad}", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "table", "pairs.tsv"),
    ("dt-train", "val", ["--train", "{fx}/pairs.tsv", "--val", "{bad}", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "table", "pairs.tsv"),
    ("dt-train", "pretrained", ["--train", "{fx}/pairs.tsv", "--pretrained", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "checkpoint", "ae.pt"),
    ("dt-predict", "sites", ["{bad}", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv", "--gene-output", "{tmp}/genes.tsv"], "table", "sites.tsv"),
    ("dt-predict", "mirna", ["{fx}/sites.tsv", "--mirna", "{bad}", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv"], "fasta", "mirnas.fa"),
    ("dt-predict", "utr", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv", "--gene-output", "{tmp}/genes.tsv"], "fasta", "utrs.fa"),
    ("dt-predict", "pairs", ["--pairs", "{bad}", "--level", "site", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv"], "table", "pairs.tsv"),
    ("dt-predict", "model", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}", "-o", "{tmp}/out.tsv"], "checkpoint", "toy.pt"),
    ("dt-eval", "predictions", ["{bad}", "-o", "{tmp}/out.tsv", "--json", "{tmp}/out.json"], "table", "pred.tsv"),
    ("dt-eval", "labels", ["{fx}/pred_nolabel.tsv", "--labels", "{bad}", "-o", "{tmp}/out.tsv"], "table", "labels.tsv"),
    ("dt-eval", "shortcut", ["{fx}/pred.tsv", "--shortcut-baseline", "{bad}", "-o", "{tmp}/out.tsv"], "table", "pairs.tsv"),
    ("dt-explain", "table", ["{bad}", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"], "table", "sites.tsv"),
    ("dt-explain", "mirna", ["{fx}/sites.tsv", "--mirna", "{bad}", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"], "fasta", "mirnas.fa"),
    ("dt-explain", "model", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"], "checkpoint", "toy.pt"),
]
SLOT = {(t, s): (argv, kind, good) for t, s, argv, kind, good in SLOTS}


# what every slot must refuse, whatever it reads: (id, content, regex of the message, line)
GENERIC = [
    ("missing", "MISSING", r"no such (checkpoint )?file", None),
    ("directory", "DIR", r"is a directory", None),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\xff\xfe", r"binary|not a readable|truncated|checkpoint", None),
]
GENERIC_TEXT = [  # for FASTA and table slots
    ("empty", b"", r"no FASTA records|empty", None),
    # the slot's own good file, gzipped, then damaged
    ("gzip-truncated", lambda good: gzip.compress(good, mtime=0)[:-12], r"gzip", None),
    ("gzip-bad-crc", lambda good: gzip.compress(good, mtime=0)[:-8] + b"\0\0\0\0" + gzip.compress(good, mtime=0)[-4:], r"gzip", None),
    ("latin1", b">a\xe9\nACGU\n", r"binary|not a text", 1),
]
# already covered for dt-scan-cts --mirna in test_scan_cli.py
_COVERED = {("dt-scan-cts", "mirna", "missing"), ("dt-scan-cts", "mirna", "empty")}


def _generic_cases():
    for tool, slot, _, kind, _ in SLOTS:
        extra = GENERIC_TEXT if kind != "checkpoint" else [("empty", b"", r"truncated|corrupt|not a readable", None)]
        for cid, content, msg, line in GENERIC + extra:
            if (tool, slot, cid) in _COVERED:
                continue
            yield pytest.param(tool, slot, content, msg, line, id=f"{tool}-{slot}-{cid}")


def _materialise(tmp: Path, content, name: str = "bad.txt") -> Path:
    bad = tmp / name
    if content == "DIR":
        bad.mkdir()
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content != "MISSING":
        bad.write_text(content)
    return bad


def _argv(argv, fx: Path, tmp: Path, bad: Path | None = None) -> list[str]:
    return [a.format(fx=fx, tmp=tmp, bad=bad) for a in argv]


def run_case(tool, argv, fx, tmp, bad, msg, line=None, code=1, where=None, stdin=None):
    """Run a failing command: exit code, one error line naming ``bad`` (and ``line``), no output."""
    before = _tree(tmp)
    res = invoke(tool, _argv(argv, fx, tmp, bad), stdin=stdin)
    if where is None and bad is not None:
        where = f"{bad}:{line}:" if line is not None else str(bad)
    text = assert_error(res, where, msg, code)
    assert _tree(tmp) == before, f"left behind: {_tree(tmp) - before}"
    assert res.stdout == "" or code == 2, res.stdout
    return text


@pytest.mark.parametrize("tool, slot, content, msg, line", list(_generic_cases()))
def test_unreadable_input_in_every_slot(fx, tmp_path, tool, slot, content, msg, line):
    argv, _, good = SLOT[(tool, slot)]
    if callable(content):
        content = content((fx / good).read_bytes())
    bad = _materialise(tmp_path, content)
    run_case(tool, argv, fx, tmp_path, bad, msg, line)


# --------------------------------------------------------------------------- content errors per slot


def _lines(text: str) -> list[list[str]]:
    return [l.split("\t") for l in text.splitlines()]


def _join(rows: list[list[str]]) -> str:
    return "\n".join("\t".join(r) for r in rows) + "\n"


def set_field(line: int, column: str, value: str):
    def edit(text: str) -> str:
        rows = _lines(text)
        rows[line - 1][rows[0].index(column)] = value
        return _join(rows)

    return edit


def rename_column(old: str, new: str):
    return lambda text: text.replace(old, new, 1)


def drop_column(name: str):
    def edit(text: str) -> str:
        rows = _lines(text)
        i = rows[0].index(name)
        return _join([r[:i] + r[i + 1 :] for r in rows])

    return edit


def extra_field(line: int):
    def edit(text: str) -> str:
        rows = _lines(text)
        rows[line - 1].append("surplus")
        return _join(rows)

    return edit


def missing_field(line: int):
    def edit(text: str) -> str:
        rows = _lines(text)
        rows[line - 1] = rows[line - 1][:-1]
        return _join(rows)

    return edit


def header_only(text: str) -> str:
    return text.splitlines()[0] + "\n"


def const(value: str):
    return lambda text: value


MIRNA_FASTA_CASES = [
    ("no-header", const("UGAGGUAGUAGGUUGUAUAGUU\n"), r"expected a '>' header", 1),
    ("empty-sequence", const(f">a\n>b\n{LET7}\n"), r"'a' has an empty sequence", 1),
    ("duplicate-id", const(f">a\n{LET7}\n>a desc\n{MIR21}\n"), r"duplicate sequence id 'a'", 3),
    ("iupac", const(f">a\n{LET7}\n>b\nUAGCUUAUCAGRCUGAUGUUGA\n"), r"contains 'R'; only A/C/G/U/T", 3),
    ("n-in-mirna", const(f">a\nUGAGGUAGNAGGUUG\n"), r"contains 'N'; only A/C/G/U/T", 1),
    ("too-short", const(">a\nUGAGGUA\n"), r"7 nt; expected 8-30", 1),
    ("too-long", const(">a\n" + "ACGU" * 8 + "\n"), r"32 nt; expected 8-30", 1),
    ("header-without-id", const(f">\n{LET7}\n"), r"header without an id", 1),
]
TARGET_FASTA_CASES = [
    ("no-header", const("ACGUACGU\n>a\nACGU\n"), r"expected a '>' header", 1),
    ("empty-sequence", const(">a\n\n>b\nACGUACGU\n"), r"'a' has an empty sequence", 1),
    ("duplicate-id", const(">a\nACGUACGU\n>b\nACGU\n>a\nGGGG\n"), r"duplicate sequence id 'a'", 5),
    ("iupac", const(">a\nACGUACGU\n>b\nACGYACGU\n"), r"contains 'Y'; only A/C/G/U/T/N", 3),
    ("digits", const(">a\nACGU ACGU 12\n"), r"contains '1', '2'", 1),
]
PAIR_TABLE_CASES = [
    ("missing-column", drop_column("mrna_seq"), r"missing column\(s\) mrna_seq", 1),
    ("misnamed-column", rename_column("mirna_id", "miRNA_ID"), r"missing column\(s\) mirna_id", 1),
    ("duplicate-column", rename_column("mrna_id", "mirna_id"), r"missing column|duplicate column", 1),
    ("extra-field", extra_field(3), r"expected \d+ tab-separated fields as in the header, found", 3),
    ("missing-field", missing_field(4), r"expected \d+ tab-separated fields as in the header, found", 4),
    ("label-2", set_field(3, "label", "2"), r"label must be 0 or 1, found '2'", 3),
    ("label-word", set_field(2, "label", "yes"), r"label must be 0 or 1, found 'yes'", 2),
    ("mirna-too-short", set_field(3, "mirna_seq", "UGAGGUA"), r"mirna_seq is 7 nt; expected 8-30", 3),
    ("mirna-too-long", set_field(3, "mirna_seq", "ACGU" * 8), r"mirna_seq is 32 nt; expected 8-30", 3),
    ("mirna-with-n", set_field(2, "mirna_seq", "UGAGGUAGNAGGUUG"), r"mirna_seq 'UGAGGUAGNAGGUUG' is not an A/C/G/U", 2),
    ("mrna-iupac", set_field(3, "mrna_seq", "ACGUWACGUACGUACGUACGU"), r"mrna_seq is empty or has letters other than", 3),
    ("mrna-empty", set_field(2, "mrna_seq", ""), r"mrna_seq is empty", 2),
    ("empty-id", set_field(2, "mirna_id", ""), r"empty mirna_id", 2),
]
SITE_TABLE_CASES = [
    ("missing-cts-column", drop_column("cts_seq"), r"cts_seq", 1),
    ("extra-field", extra_field(3), r"expected 8 tab-separated fields as in the header, found 9", 3),
    ("cts-iupac", set_field(3, "cts_seq", "ACGUK" * 8), r"(cts_seq|CTS) .*letters other than", 3),
    ("mirna-id-not-in-fasta", set_field(2, "mirna_id", "mir-unknown"), r"'mir-unknown' is not in", 2),
]
ID_PAIR_CASES = [
    ("mirna-not-in-fasta", set_field(3, "mirna_id", "mir-unknown"), r"not in .*mirnas\.fa.*'mir-unknown'|'mir-unknown'", None),
    ("target-not-in-fasta", set_field(3, "mrna_id", "utr-unknown"), r"'utr-unknown'", None),
    ("extra-field", extra_field(3), r"expected 2 tab-separated fields", 3),
    ("three-bare-columns", const("a\tb\tc\n"), r"expected columns mirna_id and mrna_id", 1),
    ("empty-id", set_field(2, "mrna_id", " "), r"empty miRNA or target id", 2),
]
PREDICTION_CASES = [
    ("missing-score", drop_column("score"), r"missing column\(s\) score", 1),
    ("score-nan", set_field(4, "score", "nan"), r"score 'nan' is not a finite number", 4),
    ("score-inf", set_field(5, "score", "inf"), r"score 'inf' is not a finite number", 5),
    ("no-label", drop_column("label"), r"no 'label' column: give --labels", 1),
    ("label-word", set_field(3, "label", "TRUE"), r"label must be 0 or 1, found 'TRUE'", 3),
    ("extra-field", extra_field(6), r"expected 4 tab-separated fields", 6),
    ("header-only", header_only, r"no labelled predictions", None),
]
LABEL_CASES = [
    ("label-2", set_field(3, "label", "2"), r"label must be 0 or 1, found '2'", 3),
    ("missing-label-column", drop_column("label"), r"missing column\(s\) label", 1),
    ("conflicting-labels", lambda t: t + t.splitlines()[1].rsplit("\t", 1)[0] + "\t" + str(1 - int(t.splitlines()[1][-1])) + "\n",
     r"has labels [01] and [01]", 32),
    ("no-match", lambda t: t.replace("\tg", "\tzz"), r"pred_nolabel\.tsv: no labelled predictions \(no pair matched the label table\)", None),
]

CONTENT = {
    ("dt-scan-cts", "mirna"): [c for c in MIRNA_FASTA_CASES if c[0] in ("n-in-mirna", "too-long", "empty-sequence", "header-without-id")],
    ("dt-scan-cts", "utr"): [c for c in TARGET_FASTA_CASES if c[0] != "empty-sequence"],
    ("dt-scan-cts", "pairs"): ID_PAIR_CASES,
    ("dt-scan-cts", "pairs-with-seq"): PAIR_TABLE_CASES + [
        ("id-with-two-sequences", lambda t: t + t.splitlines()[1].replace(LET7, MIR21, 1) + "\n", r"miRNA id 'let7' appears with two different sequences", 8),
    ],
    ("dt-make-negatives", "positives"): [c for c in PAIR_TABLE_CASES if c[0] != "label-word"],
    ("dt-make-negatives", "mirna"): MIRNA_FASTA_CASES,
    ("dt-make-negatives", "utr"): TARGET_FASTA_CASES,
    ("dt-make-negatives", "pairs"): ID_PAIR_CASES[:3],
    ("dt-make-negatives", "reference"): [
        ("letters", const(f">a\n{LET7}\n>b\nUGAG1UAGUAGG\n"), r"'b' contains '1', not IUPAC", 3),
        ("no-header", const("UGAGGUAG\n"), r"header|FASTA", 1),
    ],
    ("dt-pretrain", "pairs"): PAIR_TABLE_CASES,
    ("dt-pretrain", "mirna-fasta"): MIRNA_FASTA_CASES,
    ("dt-pretrain", "cts-fasta"): TARGET_FASTA_CASES,
    ("dt-train", "train"): PAIR_TABLE_CASES + [("header-only", header_only, r"no pairs to train on", None)],
    ("dt-train", "val"): [c for c in PAIR_TABLE_CASES if c[0] in ("label-2", "missing-column", "extra-field")] + [
        ("no-label-column", drop_column("label"), r"needs a label column", 2),
    ],
    ("dt-predict", "sites"): SITE_TABLE_CASES + [
        ("site-type-unknown", set_field(2, "site_type", "9mer"), r"9mer", 2),
        ("already-scored", lambda t: _join([r + ["0.5"] for r in _lines(t)[:1]] + [r + ["0.5"] for r in _lines(t)[1:]]).replace("0.5", "score", 1),
         r"already has a 'score' column", 1),
    ],
    ("dt-predict", "mirna"): [c for c in MIRNA_FASTA_CASES if c[0] in ("n-in-mirna", "too-short", "duplicate-id", "no-header")],
    ("dt-predict", "utr"): [c for c in TARGET_FASTA_CASES if c[0] in ("iupac", "duplicate-id", "empty-sequence")],
    ("dt-predict", "pairs"): PAIR_TABLE_CASES,
    ("dt-eval", "predictions"): PREDICTION_CASES,
    ("dt-eval", "labels"): LABEL_CASES,
    ("dt-eval", "shortcut"): [("label-2", set_field(3, "label", "2"), r"label must be 0 or 1", 3),
                              ("missing-label-column", drop_column("label"), r"missing column\(s\) label", 1)],
    ("dt-explain", "table"): [c for c in SITE_TABLE_CASES if c[0] in ("missing-cts-column", "extra-field")],
    ("dt-explain", "mirna"): [c for c in MIRNA_FASTA_CASES if c[0] in ("n-in-mirna", "too-long", "duplicate-id")],
}


def _content_cases():
    for (tool, slot), cases in CONTENT.items():
        for cid, make, msg, line in cases:
            yield pytest.param(tool, slot, make, msg, line, id=f"{tool}-{slot}-{cid}")


@pytest.mark.parametrize("tool, slot, make, msg, line", list(_content_cases()))
def test_bad_content_in_every_slot(fx, tmp_path, tool, slot, make, msg, line):
    argv, kind, good = SLOT[(tool, slot)]
    bad = _materialise(tmp_path, make((fx / good).read_text()), "bad" + Path(good).suffix)
    # no pair matched: the error is about the predictions, which the label table does not cover
    where = "" if "no pair matched" in msg else None
    run_case(tool, argv, fx, tmp_path, bad, msg, line, where=where)
