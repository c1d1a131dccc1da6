"""Bad input is refused: one error line naming the file and the line, exit 1, no output.

Every input slot of every tool (not only the first one) is fed missing, directory, binary,
empty, truncated or corrupt gzip and non-UTF-8 files, then bad content of its kind (FASTA
records, pair, site, id-pair, prediction and label tables), bad checkpoints (truncated,
foreign, another architecture or version, pickled code, the wrong kind), checkpoints edited
field by field, checkpoint names that are not checkpoint files, numbers outside the plain
decimal grammar, a CTS too short to score, annotated site columns that contradict each other,
and files without line breaks. Each case asserts the contract of README "Conventions shared
by every tool": exit code 1 (2 for usage), exactly one ``error:`` line on stderr (the last
line) naming the file and, where there is one, the line; no Python exception escaping the
error handler (a traceback on the command line); no output or temporary file left behind
(``run_case``: the test's folder holds the same files after the run as before it;
``refused``: no file of the working copy changed, every file hashed before and after); and
no code from a pickled checkpoint ever runs. One bad input per tool also goes through the
installed executable: stderr is exactly one line, and ``--debug`` shows the traceback.

The cases extend tests/test_scan_cli.py, test_predict.py, test_train.py, test_eval.py,
test_explain.py, test_negatives.py and test_robustness.py.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import pickle
import re
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from deeptarget_core import model as M
from deeptarget_core import streams
from deeptarget_core import train as T

from conftest import (
    LET7,
    MIR21,
    ROOT,
    SLOT,
    SLOTS,
    fmt,
    format_argv,
    materialise,
    refused,
    run_case,
    tool_process,
    tree,
    write,
)

# --------------------------------------------------------------------------- unreadable files in every input slot

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
    # the slot's own good file in a compression that is not read: named (was 'binary content')
    ("bzip2", lambda good: bz2.compress(good), r"bzip2-compressed: only gzip and bgzip are read", 1),
    ("xz", lambda good: lzma.compress(good), r"xz-compressed: only gzip and bgzip are read", 1),
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


@pytest.mark.parametrize("tool, slot, content, msg, line", list(_generic_cases()))
def test_unreadable_input_in_every_slot(fx, tmp_path, tool, slot, content, msg, line):
    argv, _, good = SLOT[(tool, slot)]
    if callable(content):
        content = content((fx / good).read_bytes())
    bad = materialise(tmp_path, content)
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
    ("not-iupac", const(">a\nACGUACGU\n>b\nACGEACGU\n"), r"contains 'E'; only A/C/G/U/T/N", 4),
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
    bad = materialise(tmp_path, make((fx / good).read_text()), "bad" + Path(good).suffix)
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
    elif kind == "gene-model":  # a gene model (dt-train --level gene) where a network goes
        shutil.copy(ROOT / "galaxy" / "test-data" / "gene_model.pt", path)
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
    ("gene-model", r"this is a gene model \(dt-train --level gene\), not a site network"),  # was: no 'format' marker
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


# --------------------------------------------------------------------------- the real executables

REAL = [  # one bad input per tool through the installed entry point: the exact stderr
    ("dt-scan-cts", ["--mirna", "{fx}/mirnas.fa", "--utr", "{bad}"], ">a\nACGE\n", r"{bad}:2: record 'a' contains 'E'"),
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
    before = tree(tmp_path)
    res = tool_process(tool, format_argv(argv, fx, tmp_path, bad))
    assert res.returncode == 1, res.stderr
    assert len(res.stderr.splitlines()) == 1 and res.stderr.startswith("error: "), res.stderr
    assert re.search(msg.replace("{bad}", re.escape(str(bad))), res.stderr), res.stderr
    assert len(res.stdout.splitlines()) <= 1  # at most a header streamed before the bad record
    assert tree(tmp_path) == before and not (tmp_path / "PWNED").exists()
    debug = tool_process(tool, format_argv(argv, fx, tmp_path, bad) + ["--debug"])
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "InputError" in debug.stderr or "UnusableRecord" in debug.stderr  # (its subclass for miRNA records)


# --------------------------------------------------------------------------- edited checkpoints, non-checkpoint files


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


# --------------------------------------------------------------------------- numbers and sequences in tables


@pytest.mark.parametrize("value", ["1_0", "0x1p-2", "\u0661"])  # underscore, hex float, an Arabic-Indic digit
def test_numbers_in_tables_follow_the_plain_decimal_grammar(work, value):
    bad = write(work / "p.tsv", set_field(3, "score", value)((work / "pred.tsv").read_text()))
    refused("dt-eval", [bad, "-o", work / "o.tsv"], work, 1, rf"p.tsv:3: score '{re.escape(value)}' is not a number")


@pytest.mark.parametrize("tool, value", [("dt-predict", ""), ("dt-predict", "A"), ("dt-explain", ""), ("dt-explain", "ACG")])
def test_empty_or_tiny_cts_in_a_site_table_is_refused(work, tool, value):
    bad = write(work / "s.tsv", set_field(3, "cts_seq", value)((work / "sites.tsv").read_text()))
    out = ["-o", work / "o.tsv"] if tool == "dt-predict" else ["-o", work / "ex"]
    refused(
        tool,
        [bad, "--mirna", work / "mirnas.fa", "--model", work / "toy.pt", *out],
        work,
        1,
        r"s.tsv:3: cts_seq ('\w*' is \d nt; a CTS needs at least 6 nt|is empty)",
    )


# --------------------------------------------------------------------------- files without line breaks


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
    write(work / "long.fa", ">u\n" + "ACGU" * 3000)  # 12,000 letters, no newline
    refused(
        "dt-scan-cts",
        ["--mirna", work / "mirnas.fa", "--utr", work / "long.fa", "-o", work / "o.tsv"],
        work,
        1,
        r"long.fa:2: line longer than 5,000 characters",
    )


# --------------------------------------------------------------------------- annotated site columns


def _with_sites(work: Path, start: str, end: str) -> Path:
    rows = [l.split("\t") for l in (work / "gene_pairs.tsv").read_text().splitlines()]
    rows[0] += ["site_start", "site_end"]
    for r in rows[1:]:
        r += ["NA", "NA"]
    rows[2][-2:] = [start, end]
    return write(work / "annotated.tsv", "\n".join("\t".join(r) for r in rows) + "\n")


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


# --------------------------------------------------------------------------- stdin is read once

TWO_ON_STDIN = [  # inputs each tool's own list of stdin inputs left out
    (
        "dt-scan-cts",
        ["--mirna", "-", "--mirna-ids", "-", "--utr", "{fx}/utrs.fa", "-o", "{tmp}/o.tsv"],
        "--mirna and --mirna-ids",
    ),
    (
        "dt-scan-cts",
        ["--mirna", "{fx}/mirnas.fa", "--utr", "-", "--id-pairs", "/dev/stdin", "-o", "{tmp}/o.tsv"],
        "--utr and --id-pairs",
    ),
    ("dt-eval", ["-", "--labels", "-", "-o", "{tmp}/o.tsv"], "PRED and --labels"),
    ("dt-train", ["--train", "-", "--val", "-", "--no-pretrain", "-o", "{tmp}/m.pt"], "--train and --val"),
    ("dt-pretrain", ["--pairs", "-", "--cts-fasta", "-", "-o", "{tmp}/m.pt"], "--pair-table and --cts-fasta"),
    (
        "dt-predict",
        ["--mirna", "{fx}/mirnas.fa", "--utr", "-", "--genes", "-", "--gene-output", "{tmp}/g.tsv", "-o", "{tmp}/o.tsv"],
        "--utr and --genes",
    ),
]


@pytest.mark.parametrize("tool, argv, names", TWO_ON_STDIN, ids=[f"{t}-{n}" for t, _, n in TWO_ON_STDIN])
def test_two_inputs_on_stdin_are_refused(work, tool, argv, names):
    """`--mirna - --mirna-ids -` read the FASTA as the id list too ('no usable miRNA of 4 listed
    ids'): every input of a run is counted, not each tool's own list."""
    stdin = (work / "utrs.fa").read_text()
    refused(tool, fmt(argv, work), work, 2, re.escape(names) + r" read stdin \('-'\): only one input", stdin=stdin)


# --------------------------------------------------------------------------- a genome that names a sequence twice


@pytest.mark.parametrize("form", ["plain", "gzip", "bgzip", "stdin"])
def test_a_genome_that_names_a_sequence_twice_is_refused(work, form):
    """htslib's faidx only warns about a second 'chr1' and keeps the first; the streamed reader
    took whichever came: dt-extract-utrs wrote UTRs from an ambiguous genome with exit 0."""
    import pysam

    genome = (ROOT / "galaxy" / "test-data" / "extract_genome.fa").read_text()
    shutil.copy(ROOT / "galaxy" / "test-data" / "extract_annotation.gtf", work / "a.gtf")
    path = work / "g.fa"
    path.write_text(genome + genome)
    if form == "gzip":
        path = work / "g.fa.gz"
        path.write_bytes(gzip.compress((genome + genome).encode(), mtime=0))
    elif form == "bgzip":
        pysam.tabix_compress(str(work / "g.fa"), str(work / "g.fa.bgz"))
        path = work / "g.fa.bgz"
    argv = ["--gtf", work / "a.gtf", "--genome", "-" if form == "stdin" else path, "-o", work / "u.fa"]
    line = refused("dt-extract-utrs", argv, work, 1, r"the genome names sequence 'chr1' twice", stdin=genome + genome)
    assert (" (again at byte " in line) if form in ("plain", "bgzip") else (":7: " in line and "(first at line 1)" in line)
