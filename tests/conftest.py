"""Shared test constants, fixtures and helpers.

Constants (import them with ``from conftest import ROOT, BIN, ...``): the repository root,
the folder of the installed dt-* commands, the bundled examples and the public data folder.
Fixtures: ``device`` runs a model test on the CPU and, where a CUDA device is present, again
on it (the ``cuda`` parameter carries the ``cuda`` marker: ``pytest -m cuda`` runs only those).
``make_toy`` builds a small seeded network whose scores spread away from 0.5.

The behaviour tests of every tool (test_refusals_bad_input.py, test_outputs_complete_or_absent.py,
test_accepted_inputs.py, test_option_values.py, test_long_runs.py, test_determinism.py) share:

* ``fx``: a folder of small toy inputs made once per session (``write_fixtures``: two miRNAs,
  three UTRs, id pairs, labelled gene and site pairs, a CTS FASTA, a site table as dt-scan-cts
  writes it, predictions and labels, a toy classifier ``toy.pt`` and autoencoders ``ae.pt``);
  never write into it: ``work`` is a private copy of it for a test that may change its inputs;
* ``SLOTS``/``SLOT``: every input slot of every tool, as an argv with ``{bad}`` in the slot,
  ``{fx}`` for the fixtures and ``{tmp}`` for the test's own folder (``format_argv`` fills them);
* ``invoke`` runs a tool in-process (typer's CliRunner) and returns a ``Run``;
  ``tool_process`` runs the installed executable;
* the refusal contract (exit code, exactly one ``error:`` line, the last line of stderr, no
  traceback, nothing left behind): ``assert_error``/``run_case`` compare the test folder's file
  names before and after (``tree``), ``assert_refused``/``refused`` hash every file of the
  folder before and after (``snapshot``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from deeptarget_core.seq import reverse_complement

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared" / "data"
TOOLS = ("dt-scan-cts", "dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict", "dt-eval", "dt-explain")


def make_toy(path: Path | None = None, seed: int = 0, scale: float = 3.0, **cfg):
    """A seeded DeepTarget network (eval mode) with its weights scaled by ``scale`` so that
    scores are not all ~0.5; saved as a classifier checkpoint when ``path`` is given."""
    import torch

    from deeptarget_core.model import CheckpointInfo, DeepTarget, ModelConfig, save_checkpoint

    torch.manual_seed(seed)
    net = DeepTarget(ModelConfig(**cfg)).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(scale)
    if path is not None:
        save_checkpoint(path, net, CheckpointInfo(kind="classifier", config=net.config, seed=seed))
    return net


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def device(request) -> str:
    """'cpu', then 'cuda' where a CUDA device is present (skipped elsewhere)."""
    if request.param == "cuda":
        import torch

        if not torch.cuda.is_available():
            pytest.skip("no CUDA device")
    return request.param


# --------------------------------------------------------------------------- toy inputs and tool runs

LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"


runner = CliRunner()


# every dt-* tool and its module in deeptarget_tools
TOOL_MODULES = {
    "dt-scan-cts": "scan_cts",
    "dt-make-negatives": "make_negatives",
    "dt-pretrain": "pretrain",
    "dt-train": "train",
    "dt-predict": "predict",
    "dt-eval": "eval",
    "dt-explain": "explain",
    "dt-extract-utrs": "extract_utrs",
}


def app(tool: str):
    """The typer app of a dt-* tool."""
    module = TOOL_MODULES[tool]
    return __import__(f"deeptarget_tools.{module}", fromlist=["app"]).app


def rand(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list("ACGU"), n))


def site_of(mirna: str) -> str:
    """An 8mer site of ``mirna`` (5'->3' on the target)."""
    return reverse_complement(mirna[1:8]) + "A"


def write_fixtures(d: Path) -> None:
    """Write the toy inputs of ``fx`` into ``d``."""
    import torch

    from deeptarget_core import model as M
    from deeptarget_core import train as T

    rng = np.random.default_rng(11)
    (d / "mirnas.fa").write_text(f">let7\n{LET7}\n>mir21\n{MIR21}\n")
    utrs = {
        "u1": rand(rng, 40) + site_of(LET7) + rand(rng, 50) + site_of(MIR21) + rand(rng, 40),
        "u2": rand(rng, 70) + site_of(LET7) + rand(rng, 30),
        "u3": rand(rng, 60) + site_of(MIR21) + rand(rng, 60),
    }
    (d / "utrs.fa").write_text("".join(f">{k}\n{v[:60]}\n{v[60:]}\n" for k, v in utrs.items()))
    (d / "idpairs.tsv").write_text("mirna_id\tmrna_id\nlet7\tu1\nlet7\tu2\nmir21\tu1\nmir21\tu3\n")
    # gene-level positives (whole UTRs)
    gene = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel"]
    for m, seq in (("let7", LET7), ("mir21", MIR21)):
        for u, useq in utrs.items():
            gene.append(f"{m}\t{seq}\t{u}\t{useq}\t{int(site_of(seq) in useq)}")
    (d / "gene_pairs.tsv").write_text("\n".join(gene) + "\n")
    # site-level labelled pairs (40-nt CTS; positives carry an 8mer at 29-36)
    rows = ["mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\tnote"]
    for i in range(16):
        m, seq = (("let7", LET7), ("mir21", MIR21))[i % 2]
        cts = rand(rng, 40)
        if (i // 2) % 2:
            cts = cts[:28] + site_of(seq) + cts[36:]
        rows.append(f"{m}\t{seq}\tt{i}\t{cts}\t{(i // 2) % 2}\tn{i}")
    (d / "pairs.tsv").write_text("\n".join(rows) + "\n")
    (d / "cts.fa").write_text("".join(f">c{i}\n{r.split(chr(9))[3]}\n" for i, r in enumerate(rows[1:])))
    # a site table as dt-scan-cts writes it
    res = runner.invoke(
        app("dt-scan-cts"), ["--mirna", str(d / "mirnas.fa"), "--utr", str(d / "utrs.fa"), "-o", str(d / "sites.tsv"), "-q"]
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
    ae = T.pretrain_autoencoders([LET7, MIR21], [rand(rng, 40) for _ in range(4)], M.ModelConfig(), epochs=1)
    T.save_pretrained(d / "ae.pt", ae, M.ModelConfig(), seed=1, digest=None)


@pytest.fixture(scope="session")
def fx(tmp_path_factory) -> Path:
    """The toy inputs (see ``write_fixtures``), made once per session (per xdist worker)."""
    import torch

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("fixtures")
    write_fixtures(d)
    return d


def tree(d: Path) -> set[str]:
    """The names of everything under ``d``."""
    return {str(p.relative_to(d)) for p in d.rglob("*")}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke(tool: str, args: list[str], stdin: str | None = None) -> Run:
    """Run a tool in-process (torch is imported once)."""
    res = runner.invoke(app(tool), [str(a) for a in args], input=stdin)
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


def materialise(tmp: Path, content, name: str = "bad.txt") -> Path:
    """``content`` as a file in ``tmp``: bytes or text, "DIR" a directory, "MISSING" no file."""
    bad = tmp / name
    if content == "DIR":
        bad.mkdir()
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    elif content != "MISSING":
        bad.write_text(content)
    return bad


def format_argv(argv, fx: Path, tmp: Path, bad: Path | None = None) -> list[str]:
    """Fill an argv template: ``{fx}`` the fixtures, ``{tmp}`` the test's folder, ``{bad}`` the input under test."""
    return [a.format(fx=fx, tmp=tmp, bad=bad) for a in argv]


def run_case(tool, argv, fx, tmp, bad, msg, line=None, code=1, where=None, stdin=None):
    """Run a failing command: exit code, one error line naming ``bad`` (and ``line``), no output."""
    before = tree(tmp)
    res = invoke(tool, format_argv(argv, fx, tmp, bad), stdin=stdin)
    if where is None and bad is not None:
        where = f"{bad}:{line}:" if line is not None else str(bad)
    text = assert_error(res, where, msg, code)
    assert tree(tmp) == before, f"left behind: {tree(tmp) - before}"
    assert res.stdout == "" or code == 2, res.stdout
    return text


@pytest.fixture
def work(fx, tmp_path) -> Path:
    """A private copy of the fixtures: a case that destroyed an input must not harm others."""
    d = tmp_path / "w"
    shutil.copytree(fx, d)
    return d


def unpack_reference(d: Path) -> Path:
    """examples/reference's genome and annotation, uncompressed into ``d`` as genome.fa and ann.gtf."""
    for name, out in (("genome.fa.gz", "genome.fa"), ("annotation.gtf.gz", "ann.gtf")):
        with gzip.open(EXAMPLES / "reference" / name, "rb") as src:
            (d / out).write_bytes(src.read())
    return d


def snapshot(d: Path) -> dict[str, str]:
    """Every file under ``d`` (hidden ones too) and the hash of its bytes."""
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def assert_refused(res, code: int, pattern: str = "") -> str:
    """Exit code ``code`` and one ``error:`` line (the last line of stderr) matching ``pattern``."""
    return assert_error(res, None, pattern, code)


def refused(tool: str, argv, d: Path, code: int, pattern: str = "", stdin: str | None = None) -> str:
    """Run a command that must be refused: nothing in ``d`` may change or appear."""
    before = snapshot(d)
    res = invoke(tool, [str(a) for a in argv], stdin=stdin)
    line = assert_refused(res, code, pattern)
    assert snapshot(d) == before, "files changed or left behind"
    return line


def fmt(argv, d: Path, **extra) -> list[str]:
    """Fill an argv template with ``d`` (a ``work`` copy) for both ``{fx}`` and ``{tmp}``."""
    return [a.format(fx=d, tmp=d, **extra) for a in argv]


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def outputs(d: Path) -> dict[str, bytes]:
    """The bytes of every file under ``d`` but the inputs a test put there (named ``in.*``)."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file() and "in." not in p.name}


def tool_process(name: str, args, env_extra: dict | None = None, **kw):
    """Run the installed executable ``name`` (a real process), with ``env_extra`` added to the environment."""
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True, env=env, **kw)
