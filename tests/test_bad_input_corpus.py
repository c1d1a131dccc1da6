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
import subprocess
import tempfile
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

from conftest import BIN

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
    res = runner.invoke(
        _app("dt-scan-cts"), ["--mirna", str(d / "mirnas.fa"), "--utr", str(d / "utrs.fa"), "-o", str(d / "sites.tsv"), "-q"]
    )
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
    (
        "dt-scan-cts",
        "pairs",
        ["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "--pairs", "{bad}", "-o", "{tmp}/out.tsv"],
        "table",
        "idpairs.tsv",
    ),
    ("dt-scan-cts", "pairs-with-seq", ["--pairs-with-seq", "{bad}", "-o", "{tmp}/out.tsv"], "table", "gene_pairs.tsv"),
    (
        "dt-make-negatives",
        "positives",
        ["--positives", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv", "--mock-fasta", "{tmp}/mocks.fa"],
        "table",
        "gene_pairs.tsv",
    ),
    (
        "dt-make-negatives",
        "mirna",
        ["--mirna", "{bad}", "--utr", "{fx}/utrs.fa", "--min-score", "100", "-o", "{tmp}/out.tsv"],
        "fasta",
        "mirnas.fa",
    ),
    (
        "dt-make-negatives",
        "utr",
        ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"],
        "fasta",
        "utrs.fa",
    ),
    (
        "dt-make-negatives",
        "pairs",
        ["--mirna", "{fx}/mirnas.fa", "--utr", "{fx}/utrs.fa", "--pairs", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"],
        "table",
        "idpairs.tsv",
    ),
    (
        "dt-make-negatives",
        "reference",
        ["--positives", "{fx}/gene_pairs.tsv", "--reference-mirnas", "{bad}", "--min-score", "100", "-o", "{tmp}/out.tsv"],
        "fasta",
        "mirnas.fa",
    ),
    ("dt-pretrain", "pairs", ["--pairs", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"], "table", "pairs.tsv"),
    (
        "dt-pretrain",
        "mirna-fasta",
        ["--mirna-fasta", "{bad}", "--cts-fasta", "{fx}/cts.fa", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"],
        "fasta",
        "mirnas.fa",
    ),
    (
        "dt-pretrain",
        "cts-fasta",
        ["--mirna-fasta", "{fx}/mirnas.fa", "--cts-fasta", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"],
        "fasta",
        "cts.fa",
    ),
    (
        "dt-train",
        "train",
        ["--train", "{bad}", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"],
        "table",
        "pairs.tsv",
    ),
    (
        "dt-train",
        "val",
        ["--train", "{fx}/pairs.tsv", "--val", "{bad}", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"],
        "table",
        "pairs.tsv",
    ),
    (
        "dt-train",
        "pretrained",
        ["--train", "{fx}/pairs.tsv", "--pretrained", "{bad}", "--epochs", "1", "-p", "1", "-o", "{tmp}/out.pt"],
        "checkpoint",
        "ae.pt",
    ),
    (
        "dt-predict",
        "sites",
        [
            "{bad}",
            "--mirna",
            "{fx}/mirnas.fa",
            "--model",
            "{fx}/toy.pt",
            "-o",
            "{tmp}/out.tsv",
            "--gene-output",
            "{tmp}/genes.tsv",
        ],
        "table",
        "sites.tsv",
    ),
    (
        "dt-predict",
        "mirna",
        ["{fx}/sites.tsv", "--mirna", "{bad}", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv"],
        "fasta",
        "mirnas.fa",
    ),
    (
        "dt-predict",
        "utr",
        [
            "--mirna",
            "{fx}/mirnas.fa",
            "--utr",
            "{bad}",
            "--model",
            "{fx}/toy.pt",
            "-o",
            "{tmp}/out.tsv",
            "--gene-output",
            "{tmp}/genes.tsv",
        ],
        "fasta",
        "utrs.fa",
    ),
    (
        "dt-predict",
        "pairs",
        ["--pairs", "{bad}", "--level", "site", "--model", "{fx}/toy.pt", "-o", "{tmp}/out.tsv"],
        "table",
        "pairs.tsv",
    ),
    (
        "dt-predict",
        "model",
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}", "-o", "{tmp}/out.tsv"],
        "checkpoint",
        "toy.pt",
    ),
    ("dt-eval", "predictions", ["{bad}", "-o", "{tmp}/out.tsv", "--json", "{tmp}/out.json"], "table", "pred.tsv"),
    ("dt-eval", "labels", ["{fx}/pred_nolabel.tsv", "--labels", "{bad}", "-o", "{tmp}/out.tsv"], "table", "labels.tsv"),
    ("dt-eval", "shortcut", ["{fx}/pred.tsv", "--shortcut-baseline", "{bad}", "-o", "{tmp}/out.tsv"], "table", "pairs.tsv"),
    (
        "dt-explain",
        "table",
        ["{bad}", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"],
        "table",
        "sites.tsv",
    ),
    (
        "dt-explain",
        "mirna",
        ["{fx}/sites.tsv", "--mirna", "{bad}", "--model", "{fx}/toy.pt", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"],
        "fasta",
        "mirnas.fa",
    ),
    (
        "dt-explain",
        "model",
        ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}", "--steps", "2", "--no-svg", "-o", "{tmp}/outdir"],
        "checkpoint",
        "toy.pt",
    ),
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
    (
        "gzip-bad-crc",
        lambda good: gzip.compress(good, mtime=0)[:-8] + b"\0\0\0\0" + gzip.compress(good, mtime=0)[-4:],
        r"gzip",
        None,
    ),
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
    ("iupac", const(f">a\n{LET7}\n>b\nUAGCUUAUCAGRCUGAUGUUGA\n"), r"contains 'R'; only A/C/G/U/T", 4),
    ("n-in-mirna", const(">a\nUGAGGUAGNAGGUUG\n"), r"contains 'N'; only A/C/G/U/T", 2),
    ("too-short", const(">a\nUGAGGUA\n"), r"7 nt; expected 8-30", 1),
    ("too-long", const(">a\n" + "ACGU" * 8 + "\n"), r"32 nt; expected 8-30", 1),
    ("header-without-id", const(f">\n{LET7}\n"), r"header without an id", 1),
]
TARGET_FASTA_CASES = [
    ("no-header", const("ACGUACGU\n>a\nACGU\n"), r"expected a '>' header", 1),
    ("empty-sequence", const(">a\n\n>b\nACGUACGU\n"), r"'a' has an empty sequence", 1),
    ("duplicate-id", const(">a\nACGUACGU\n>b\nACGU\n>a\nGGGG\n"), r"duplicate sequence id 'a'", 5),
    ("iupac", const(">a\nACGUACGU\n>b\nACGYACGU\n"), r"contains 'Y'; only A/C/G/U/T/N", 4),
    ("digits", const(">a\nACGU ACGU 12\n"), r"contains '1', '2'", 2),
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
    ("no-label", drop_column("label"), r"no 'label' column: give a label table", 1),
    ("label-word", set_field(3, "label", "TRUE"), r"label must be 0 or 1, found 'TRUE'", 3),
    ("extra-field", extra_field(6), r"expected 4 tab-separated fields", 6),
    ("header-only", header_only, r"no labelled predictions", None),
]
LABEL_CASES = [
    ("label-2", set_field(3, "label", "2"), r"label must be 0 or 1, found '2'", 3),
    ("missing-label-column", drop_column("label"), r"missing column\(s\) label", 1),
    (
        "conflicting-labels",
        lambda t: t + t.splitlines()[1].rsplit("\t", 1)[0] + "\t" + str(1 - int(t.splitlines()[1][-1])) + "\n",
        r"has labels [01] and [01]",
        32,
    ),
    (
        "no-match",
        lambda t: t.replace("\tg", "\tzz"),
        r"pred_nolabel\.tsv: no labelled predictions \(no pair matched the label table\)",
        None,
    ),
]

CONTENT = {
    ("dt-scan-cts", "mirna"): [
        c for c in MIRNA_FASTA_CASES if c[0] in ("n-in-mirna", "too-long", "empty-sequence", "header-without-id")
    ],
    ("dt-scan-cts", "utr"): [c for c in TARGET_FASTA_CASES if c[0] != "empty-sequence"],
    ("dt-scan-cts", "pairs"): ID_PAIR_CASES,
    ("dt-scan-cts", "pairs-with-seq"): PAIR_TABLE_CASES
    + [
        (
            "id-with-two-sequences",
            lambda t: t + t.splitlines()[1].replace(LET7, MIR21, 1) + "\n",
            r"miRNA id 'let7' appears with two different sequences",
            8,
        ),
    ],
    ("dt-make-negatives", "positives"): [c for c in PAIR_TABLE_CASES if c[0] != "label-word"],
    ("dt-make-negatives", "mirna"): MIRNA_FASTA_CASES,
    ("dt-make-negatives", "utr"): TARGET_FASTA_CASES,
    ("dt-make-negatives", "pairs"): ID_PAIR_CASES[:3],
    ("dt-make-negatives", "reference"): [
        ("letters", const(f">a\n{LET7}\n>b\nUGAG1UAGUAGG\n"), r"'b' contains '1', not IUPAC", 4),
        ("no-header", const("UGAGGUAG\n"), r"header|FASTA", 1),
    ],
    ("dt-pretrain", "pairs"): PAIR_TABLE_CASES,
    ("dt-pretrain", "mirna-fasta"): MIRNA_FASTA_CASES,
    ("dt-pretrain", "cts-fasta"): TARGET_FASTA_CASES,
    ("dt-train", "train"): PAIR_TABLE_CASES + [("header-only", header_only, r"no pairs to train on", None)],
    ("dt-train", "val"): [c for c in PAIR_TABLE_CASES if c[0] in ("label-2", "missing-column", "extra-field")]
    + [
        ("no-label-column", drop_column("label"), r"needs a label column", 2),
    ],
    ("dt-predict", "sites"): SITE_TABLE_CASES
    + [
        ("site-type-unknown", set_field(2, "site_type", "9mer"), r"9mer", 2),
        (
            "already-scored",
            lambda t: _join([r + ["0.5"] for r in _lines(t)[:1]] + [r + ["0.5"] for r in _lines(t)[1:]]).replace(
                "0.5", "score", 1
            ),
            r"already has a 'score' column",
            1,
        ),
    ],
    ("dt-predict", "mirna"): [c for c in MIRNA_FASTA_CASES if c[0] in ("n-in-mirna", "too-short", "duplicate-id", "no-header")],
    ("dt-predict", "utr"): [c for c in TARGET_FASTA_CASES if c[0] in ("iupac", "duplicate-id", "empty-sequence")],
    ("dt-predict", "pairs"): PAIR_TABLE_CASES,
    ("dt-eval", "predictions"): PREDICTION_CASES,
    ("dt-eval", "labels"): LABEL_CASES,
    ("dt-eval", "shortcut"): [
        ("label-2", set_field(3, "label", "2"), r"label must be 0 or 1", 3),
        ("missing-label-column", drop_column("label"), r"missing column\(s\) label", 1),
    ],
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
    if slot in ("mirna", "mirna-fasta"):  # records that cannot be miRNAs are skipped unless --strict
        argv = [*argv, "--strict"]
    bad = _materialise(tmp_path, make((fx / good).read_text()), "bad" + Path(good).suffix)
    # no pair matched: the error is about the predictions, which the label table does not cover
    where = "" if "no pair matched" in msg else None
    run_case(tool, argv, fx, tmp_path, bad, msg, line, where=where)


# --------------------------------------------------------------------------- checkpoints


class _Evil:
    """Unpickling this runs ``touch MARKER``: weights-only loading must refuse it."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _checkpoint(kind: str, fx: Path, path: Path) -> None:
    good = fx / ("ae.pt" if path.name.startswith("ae-") else "toy.pt")
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:3000])
    elif kind == "other-architecture":
        net = M.DeepTarget(M.ModelConfig(layers=1))
        M.save_checkpoint(path, net, M.CheckpointInfo(kind="classifier", config=M.ModelConfig(layers=3, bidirectional=True)))
    elif kind == "other-version":
        payload = torch.load(good, weights_only=True)
        payload["format_version"], payload["package_version"] = 99, "9.9.9"
        torch.save(payload, path)
    elif kind == "pickle-with-code":
        with open(path, "wb") as f:
            pickle.dump({"format": M.CHECKPOINT_FORMAT, "x": _Evil(path.parent / "PWNED")}, f)
    elif kind == "zip-with-code":
        torch.save({"format": M.CHECKPOINT_FORMAT, "x": _Evil(path.parent / "PWNED")}, path)
    elif kind == "foreign-torch-file":
        torch.save({"weights": torch.zeros(3)}, path)
    elif kind == "zip-not-torch":
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("data.txt", "hello")
    elif kind == "other-cell":  # autoencoders of another cell for a GRU network
        ae = T.pretrain_autoencoders([LET7], ["ACGU" * 10], M.ModelConfig(cell="lstm"), epochs=1)
        T.save_pretrained(path, ae, M.ModelConfig(cell="lstm"), seed=1, digest=None)
    elif kind == "wrong-kind":
        shutil.copy(fx / ("toy.pt" if path.name.startswith("ae-") else "ae.pt"), path)


CHECKPOINT_CASES = [
    ("truncated", r"truncated or corrupt"),
    ("other-architecture", r"do not fit the architecture"),
    (
        "other-version",
        r"format version 99 written by deeptarget 9\.9\.9; this is deeptarget .*retrain or use the matching version",
    ),
    ("pickle-with-code", r"refused: .*loaded weights-only"),
    ("zip-with-code", r"refused: .*loaded weights-only"),
    ("foreign-torch-file", r"not a deepTarget checkpoint"),
    ("zip-not-torch", r"not a readable deepTarget checkpoint|not a deepTarget checkpoint"),
    ("wrong-kind", r"expected a (classifier|autoencoders) checkpoint, found '(autoencoders|classifier)'"),
]


def _checkpoint_cases():
    for tool, slot in (("dt-predict", "model"), ("dt-explain", "model"), ("dt-train", "pretrained")):
        for kind, msg in CHECKPOINT_CASES:
            if (tool, kind) in (("dt-train", "other-architecture"),):
                kind, msg = "other-cell", r"pre-trained autoencoders are lstm/30 units; the network asks for gru/30"
            yield pytest.param(tool, slot, kind, msg, id=f"{tool}-{slot}-{kind}")


@pytest.mark.parametrize("tool, slot, kind, msg", list(_checkpoint_cases()))
def test_bad_checkpoint(fx, tmp_path, tool, slot, kind, msg):
    argv, _, _ = SLOT[(tool, slot)]
    bad = tmp_path / ("ae-bad.pt" if slot == "pretrained" else "bad.pt")
    _checkpoint(kind, fx, bad)
    run_case(tool, argv, fx, tmp_path, bad, msg)
    assert not (tmp_path / "PWNED").exists()


# --------------------------------------------------------------------------- outputs

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
    before = _tree(tmp_path)
    res = invoke(tool, [a.format(fx=fx, tmp=tmp_path, o=o) for a in argv])
    assert_error(res, name, msg)
    left = _tree(tmp_path) - before
    if tool == "dt-train" and where == "disk-full":
        # a checkpoint that fails at the very end keeps the per-epoch training log (complete,
        # written atomically each epoch): the record of the run that was lost
        left -= {"log.tsv"}
    assert not left, f"left behind: {left}"
    if where == "is-a-directory":
        assert (o if o.is_file() else o / "keep").read_text() == "precious"
    if where == "disk-full":
        assert not list(Path("/dev").glob("full?*")), "an output was written beside /dev/full"


# --------------------------------------------------------------------------- --device cuda without a GPU

CUDA_ARGV = {  # dt-predict is covered in test_robustness.py
    "dt-pretrain": ["--pairs", "{fx}/pairs.tsv", "--epochs", "1", "-o", "{tmp}/out.pt", "--device", "cuda"],
    "dt-train": ["--train", "{fx}/pairs.tsv", "--no-pretrain", "--epochs", "1", "-o", "{tmp}/out.pt", "--device", "cuda"],
    "dt-explain": [
        "{fx}/sites.tsv",
        "--mirna",
        "{fx}/mirnas.fa",
        "--model",
        "{fx}/toy.pt",
        "-o",
        "{tmp}/outdir",
        "--device",
        "cuda",
    ],
}


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
@pytest.mark.parametrize("tool", sorted(CUDA_ARGV))
def test_cuda_without_a_gpu(fx, tmp_path, tool):
    run_case(
        tool, CUDA_ARGV[tool], fx, tmp_path, None, r"device .cuda. requested but CUDA is not available; use --device cpu or auto"
    )


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
    before = _tree(tmp_path)
    res = invoke(tool, [a.format(fx=fx, tmp=tmp_path, o=out) for a in argv])
    assert calls, "the run never reached the interrupted step"
    assert res.code == 130, (res.code, res.stderr, res.exception)
    assert res.stderr.strip().splitlines()[-1] == "error: interrupted"
    assert _tree(tmp_path) == before, f"left behind: {_tree(tmp_path) - before}"


# --------------------------------------------------------------------------- accepted variants


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


def _outputs(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and "in." not in p.name}


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
        res = invoke(tool, _argv(argv, fx, d, d / ("in" + Path(good).suffix)) + ["-q"])
        assert res.code == 0, (variant, res.stderr, res.exception)
        results.append(_outputs(d))
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
    site = _site(LET7)
    utr = tmp_path / "u.fa"
    utr.write_text(f">withN\nNNNNACGUACGU{site}NNNNNNNNNN\n>brokenByN\nACGUACGU{site[:4]}N{site[5:]}ACGU\n")
    res = invoke("dt-scan-cts", ["--mirna", fx / "mirnas.fa", "--utr", utr, "-q"])
    assert res.code == 0, res.stderr
    rows = [l.split("\t") for l in res.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [("let7", "withN", "8mer")]


def test_utr_shorter_than_the_cts_is_accepted_by_every_reader(fx, tmp_path):
    """A target shorter than the 40-nt CTS window: scanned, scored, and used for negatives."""
    tiny = tmp_path / "tiny.fa"
    tiny.write_text(f">tiny\n{_site(LET7)}\n>tiny2\nGG{_site(MIR21)}\n")
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


# --------------------------------------------------------------------------- real processes


def tool_process(name: str, args, env_extra: dict | None = None, **kw):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, env=env, **kw)


REAL = [  # one bad input per tool through the installed entry point: the exact stderr
    ("dt-scan-cts", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}"], ">a\nACGY\n", r"{bad}:2: record 'a' contains 'Y'"),
    ("dt-make-negatives", ["--positives", "{bad}"], "mirna_id\tmirna_seq\n", r"{bad}:1: missing column\(s\)"),
    ("dt-pretrain", ["--pairs", "{bad}", "-o", "{tmp}/x.pt"], "", r"{bad}:1: empty table"),
    ("dt-train", ["--train", "{fx}/pairs.tsv", "--pretrained", "{bad}", "-o", "{tmp}/x.pt"], "PICKLE", r"{bad}: refused"),
    ("dt-predict", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{bad}"], "PICKLE", r"{bad}: refused"),
    ("dt-eval", ["{bad}"], "mirna_id\tscore\tlabel\nm\t0.3\t5\n", r"{bad}:2: label must be 0 or 1"),
    (
        "dt-explain",
        ["{fx}/sites.tsv", "--mirna", "{bad}", "-o", "{tmp}/o"],
        ">a\nUGAGGUAGNAGG\n",
        r"{bad}:2: record 'a' contains 'N'",
    ),
]


@pytest.mark.parametrize("tool, argv, content, msg", REAL, ids=[r[0] for r in REAL])
def test_real_process_prints_exactly_one_line(fx, tmp_path, tool, argv, content, msg):
    bad = tmp_path / "bad.in"
    if content == "PICKLE":
        with open(bad, "wb") as f:
            pickle.dump({"x": _Evil(tmp_path / "PWNED")}, f)
    else:
        bad.write_text(content)
    before = _tree(tmp_path)
    res = tool_process(tool, _argv(argv, fx, tmp_path, bad))
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith("error: "), res.stderr
    assert re.search(msg.replace("{bad}", re.escape(str(bad))), res.stderr), res.stderr
    assert len(res.stdout.splitlines()) <= 1  # at most a header streamed before the bad record
    assert _tree(tmp_path) == before and not (tmp_path / "PWNED").exists()
    debug = tool_process(tool, _argv(argv, fx, tmp_path, bad) + ["--debug"])
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "InputError" in debug.stderr or "UnusableRecord" in debug.stderr  # (its subclass for miRNA records)


# --------------------------------------------------------------------------- determinism across processes

# Two processes with different PYTHONHASHSEED (set and dict-of-str order differ between them):
# the same command and --seed must give the same bytes. dt-scan-cts (test_scan_cli.py) and the
# stdout of dt-make-negatives (test_negatives.py) are covered already.
DETERMINISM = {
    "dt-make-negatives": [
        "--positives",
        "{fx}/gene_pairs.tsv",
        "--min-score",
        "100",
        "--ratio",
        "2",
        "--include-positives",
        "--seed",
        "5",
        "-o",
        "{tmp}/neg.tsv.gz",
        "--mock-fasta",
        "{tmp}/mocks.fa",
    ],
    "dt-pretrain": ["--pairs", "{fx}/pairs.tsv", "--epochs", "2", "-p", "1", "--seed", "3", "-o", "{tmp}/ae.pt"],
    "dt-train": [
        "--train",
        "{fx}/pairs.tsv",
        "--val",
        "{fx}/pairs.tsv",
        "--pretrained",
        "{fx}/ae.pt",
        "--layers",
        "1",
        "--epochs",
        "2",
        "-p",
        "1",
        "--seed",
        "3",
        "-o",
        "{tmp}/model.pt",
    ],
    "dt-predict": [
        "{fx}/sites.tsv",
        "--mirna",
        "{fx}/mirnas.fa",
        "--utr",
        "{fx}/utrs.fa",
        "--model",
        "{fx}/toy.pt",
        "--aggregate",
        "poisson",
        "--seed",
        "2",
        "-p",
        "1",
        "-o",
        "{tmp}/s.tsv.gz",
        "--gene-output",
        "{tmp}/g.tsv",
    ],
    "dt-eval": [
        "{fx}/pred.tsv",
        "{fx}/pred.tsv",
        "--name",
        "a",
        "--name",
        "b",
        "--group-by",
        "mirna",
        "--shortcut-baseline",
        "{fx}/pairs.tsv",
        "-o",
        "{tmp}/m.tsv",
        "--json",
        "{tmp}/m.json",
        "--per-mirna",
        "{tmp}/per.tsv",
        "--plots",
        "{tmp}/plots",
    ],
    "dt-explain": [
        "{fx}/sites.tsv",
        "--mirna",
        "{fx}/mirnas.fa",
        "--model",
        "{fx}/toy.pt",
        "--steps",
        "4",
        "--top",
        "3",
        "-o",
        "{tmp}/explain",
    ],
}


@pytest.mark.parametrize("tool", sorted(DETERMINISM))
def test_same_seed_gives_identical_bytes_in_another_process(fx, tmp_path, tool):
    outs = []
    for hash_seed in ("1", "2"):
        d = tmp_path / hash_seed
        d.mkdir()
        res = tool_process(tool, _argv(DETERMINISM[tool], fx, d) + ["-q"], {"PYTHONHASHSEED": hash_seed})
        assert res.returncode == 0, res.stderr
        outs.append({k: v for k, v in _outputs(d).items() if not k.endswith(".log.tsv")})
    assert outs[0] and outs[0].keys() == outs[1].keys()
    for name in outs[0]:
        assert outs[0][name] == outs[1][name], name
