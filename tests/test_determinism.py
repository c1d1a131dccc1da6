"""The same command with the same --seed gives the same bytes in another process.

Two real processes with different PYTHONHASHSEED (set and dict-of-str order differ between
them) run every tool with a random step or a non-trivial output (dt-make-negatives,
dt-pretrain, dt-train, dt-predict, dt-eval, dt-explain) and must write identical files (the
training log, which holds the seconds of each epoch, aside). dt-scan-cts (test_scan_cli.py)
and the stdout of dt-make-negatives (test_negatives.py) are covered there.
"""

from __future__ import annotations

import pytest

from conftest import (
    format_argv,
    outputs,
    tool_process,
)

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
        res = tool_process(tool, format_argv(DETERMINISM[tool], fx, d) + ["-q"], {"PYTHONHASHSEED": hash_seed})
        assert res.returncode == 0, res.stderr
        outs.append({k: v for k, v in outputs(d).items() if not k.endswith(".log.tsv")})
    assert outs[0] and outs[0].keys() == outs[1].keys()
    for name in outs[0]:
        assert outs[0][name] == outs[1][name], name
