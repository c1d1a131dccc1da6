"""Option values outside what a tool can use are refused as usage errors, in one line.

Non-finite and non-decimal values of every float option of every tool (found by inspecting
the commands, so that a new float option cannot forget it), one seed type with its range for
every tool with a random step, bounded ranges (threads, mocks, folds, batch size),
--device cuda without a GPU, a newline in a path (the error stays on one line), and usage
errors without typer's box or usage text. Each refusal: the exit code (2 for usage, 1 where
the value is refused after parsing), exactly one ``error:`` line, no file changed.
"""

from __future__ import annotations

import re

import pytest
import torch

from conftest import (
    TOOLS,
    app,
    assert_refused,
    fmt,
    invoke,
    refused,
    run_case,
)

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


# --------------------------------------------------------------------------- float values, seeds, ranges, paths, usage errors

BAD_FLOATS = [
    ("nan", r"not a finite"),
    ("inf", r"not a finite"),
    ("-inf", r"not a finite"),
    ("1e999", r"not a finite number"),
    ("1_0", r"not a finite decimal number"),
    ("0x10", r"not a finite decimal number"),
]
FLOAT_OPTIONS = [  # (tool, option, argv around it)
    ("dt-pretrain", "--lr", ["--pairs", "{fx}/pairs.tsv", "-o", "{tmp}/ae.pt"]),
    ("dt-train", "--lr", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"]),
    ("dt-train", "--dropout", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"]),
    ("dt-predict", "--alpha", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt"]),
    ("dt-make-negatives", "--ratio", ["--positives", "{fx}/gene_pairs.tsv"]),
    ("dt-make-negatives", "--min-score", ["--positives", "{fx}/gene_pairs.tsv"]),
    ("dt-eval", "--threshold", ["{fx}/pred.tsv"]),
]


@pytest.mark.parametrize("tool, option, argv", FLOAT_OPTIONS, ids=[f"{t}{o}" for t, o, _ in FLOAT_OPTIONS])
@pytest.mark.parametrize("value, pattern", BAD_FLOATS, ids=[v for v, _ in BAD_FLOATS])
def test_non_finite_and_non_decimal_float_options_are_usage_errors(work, tool, option, argv, value, pattern):
    refused(tool, fmt(argv, work) + [option, value], work, 2, rf"'{option}': .*{pattern}")


def test_every_float_option_of_every_tool_refuses_nan():
    """Found by inspection of the commands, so that a new float option cannot forget it."""
    from typer.main import get_command

    found = []
    for tool in TOOLS:
        for param in get_command(app(tool)).params:
            if isinstance(param.default, float) and not isinstance(param.default, bool):
                found.append((tool, param.opts[0]))
                res = invoke(
                    tool, {"dt-train": ["--train", "x.tsv"], "dt-eval": ["x.tsv"]}.get(tool, []) + [param.opts[0], "nan"]
                )
                assert_refused(res, 2, re.escape(param.opts[0]))
    assert {(t, o) for t, o, _ in FLOAT_OPTIONS} <= set(found)


SEED_TOOLS = ["dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict"]


@pytest.mark.parametrize("tool", SEED_TOOLS)
@pytest.mark.parametrize("value", ["-1", str(2**64), str(2**32), "1_0", "1.5", "seven"])
def test_one_seed_type_with_a_range_for_every_tool(work, tool, value):
    base = {
        "dt-make-negatives": ["--positives", "{fx}/gene_pairs.tsv"],
        "dt-pretrain": ["--pairs", "{fx}/pairs.tsv", "-o", "{tmp}/a.pt"],
        "dt-train": ["--train", "{fx}/pairs.tsv", "--no-pretrain", "-o", "{tmp}/m.pt"],
        "dt-predict": ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--model", "{fx}/toy.pt"],
    }[tool]
    refused(
        tool,
        fmt(base, work) + ["--seed", value],
        work,
        2,
        r"'--seed': .* is not a seed: give a whole number from 0 to 4294967295",
    )


@pytest.mark.parametrize(
    "tool, argv",
    [
        ("dt-predict", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "-p", "1000"]),
        ("dt-make-negatives", ["--positives", "{fx}/gene_pairs.tsv", "--mocks-per-mirna", "100000"]),
        ("dt-train", ["--train", "{fx}/pairs.tsv", "--no-pretrain", "--cv", "1000"]),
        ("dt-predict", ["{fx}/sites.tsv", "--mirna", "{fx}/mirnas.fa", "--batch-size", "0"]),
    ],
    ids=["threads", "mocks", "cv", "batch"],
)
def test_options_are_bounded_to_sensible_ranges(work, tool, argv):
    refused(tool, fmt(argv, work), work, 2, r"range|between|less than|greater than|at most|at least")


def test_newline_in_a_path_keeps_the_error_on_one_line(work):
    line = refused("dt-scan-cts", ["--mirna", str(work / "a\nb.fa"), "--utr", work / "utrs.fa"], work, 1)
    assert "a\\nb.fa: no such file" in line


def test_usage_errors_are_one_line_without_a_box(work):
    for argv in (["--bogus"], ["--mirna"], ["--site-types", "weird", "--mirna", work / "mirnas.fa", "--utr", work / "utrs.fa"]):
        res = invoke("dt-scan-cts", argv)
        assert_refused(res, 2)
        assert "╭" not in res.stderr and "Usage:" not in res.stderr
