"""Every file a tool writes goes through the refusal of its main outputs.

A tool writes more than its ``-o``: a ``.bgz`` output brings its tabix index ``NAME.bgz.tbi``,
dt-extract-utrs may (re)build the genome's ``.fai``/``.gzi`` beside it, dt-eval fills ``--plots``
with pictures, and an input's index lies beside it. None of these may be an input or another
output: such a run is refused before any work (exit 2, one ``error:`` line, no file of the
folder changed), as a main output naming an input is (test_outputs_complete_or_absent.py).
"""

from __future__ import annotations

import shutil

import pytest

from conftest import invoke, refused, unpack_reference

SAME_INPUT = r"is the same file as .*input .*: it would be overwritten"
SAME_OUTPUT = r"name the same file; give two different outputs"

# one command of each tool with its output at {o}
COMMANDS = {
    "dt-scan-cts": ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "-o", "{o}"],
    "dt-make-negatives": ["--mirna", "{d}/mirnas.fa", "--utr", "{d}/utrs.fa", "--min-score", "100", "-o", "{o}"],
    "dt-pretrain": ["--pairs", "{d}/pairs.tsv", "--epochs", "1", "-p", "1", "-o", "{o}"],
    "dt-train": ["--train", "{d}/pairs.tsv", "--no-pretrain", "--epochs", "1", "-p", "1", "-o", "{o}"],
    "dt-predict": ["{d}/sites.tsv", "--mirna", "{d}/mirnas.fa", "--model", "{d}/toy.pt", "-o", "{o}"],
    "dt-eval": ["{d}/pred.tsv", "-o", "{o}"],
    "dt-extract-utrs": ["--gtf", "{d}/ann.gtf", "--genome", "{d}/genome.fa", "-o", "{o}"],
}


@pytest.fixture
def side(work):
    """The toy inputs plus a small genome and its annotation (for dt-extract-utrs)."""
    return unpack_reference(work)


def _argv(tool: str, d, o) -> list[str]:
    return [a.format(d=d, o=o) for a in COMMANDS[tool]]


def _first_input(argv: list[str]) -> str:
    return next(a for a in argv if a.startswith("/") and "{o}" not in a)


@pytest.mark.parametrize("tool", list(COMMANDS))
def test_an_output_named_like_an_inputs_index_is_refused(side, tool):
    argv = _argv(tool, side, "{o}")
    target = _first_input(argv) + ".fai"
    refused(tool, [a.replace("{o}", target) for a in argv], side, 2, r"same file as the index .*\.fai of the input")


@pytest.mark.parametrize("tool", ["dt-scan-cts", "dt-predict"])
def test_a_bgz_outputs_index_may_not_be_an_input(side, tool):
    shutil.copy(side / "mirnas.fa", side / "s.bgz.tbi")
    argv = _argv(tool, side, side / "s.bgz")
    argv[argv.index(f"{side}/mirnas.fa")] = str(side / "s.bgz.tbi")
    refused(tool, argv, side, 2, r"the index .*s\.bgz\.tbi of -o .*s\.bgz " + SAME_INPUT)


def test_a_second_output_on_a_bgz_outputs_index_is_refused(side):
    argv = _argv("dt-predict", side, side / "s.bgz") + ["--gene-output", str(side / "s.bgz.tbi")]
    refused("dt-predict", argv, side, 2, SAME_OUTPUT)


def test_a_symbolic_link_on_the_index_is_the_same_file(side):
    (side / "s.bgz.tbi").symlink_to(side / "utrs.fa")
    argv = _argv("dt-scan-cts", side, side / "s.bgz")
    refused("dt-scan-cts", argv, side, 2, r"the index .*s\.bgz\.tbi of -o .* same file as the input --utr")


def test_a_bgz_output_writes_its_index_when_nothing_clashes(side):
    res = invoke("dt-scan-cts", _argv("dt-scan-cts", side, side / "s.bgz") + ["-q"])
    assert res.code == 0, res.stderr
    assert (side / "s.bgz").stat().st_size > 0 and (side / "s.bgz.tbi").stat().st_size > 0


@pytest.mark.parametrize("option", ["--chrom-alias", "--gtf"])
def test_an_input_where_the_genome_index_is_built_is_refused(side, option):
    """dt-extract-utrs rebuilds a genome index that does not match: an input there would be lost."""
    alias = side / "genome.fa.fai"
    if option == "--gtf":
        shutil.copy(side / "ann.gtf", alias)
        argv = ["--gtf", alias, "--genome", side / "genome.fa", "-o", side / "out.fa"]
    else:
        alias.write_text("1\tchr1\n")
        argv = ["--gtf", side / "ann.gtf", "--genome", side / "genome.fa", "--chrom-alias", alias, "-o", side / "out.fa"]
    refused("dt-extract-utrs", argv, side, 2, r"the index .*genome\.fa\.fai of the input --genome .* same file as the input")


@pytest.mark.parametrize("picture", ["roc.png", "hist_pred.png", "confusion_pred.png"])
def test_a_picture_of_eval_plots_may_not_be_an_input(side, picture):
    plots = side / "plots"
    plots.mkdir()
    shutil.copy(side / "labels.tsv", plots / picture)
    # hist_ and confusion_ pictures are named after the table (pred.tsv: 'pred')
    argv = [side / "pred.tsv", "--plots", plots, "--labels", plots / picture, "-o", side / "out.tsv"]
    refused("dt-eval", argv, side, 2, rf"--plots .*{picture} " + SAME_INPUT)


@pytest.mark.parametrize("output", ["plots/pr.png", "plots"])
def test_eval_plots_and_its_pictures_may_not_be_another_output(side, output):
    argv = [side / "pred.tsv", "--plots", side / "plots", "-o", side / output]
    refused("dt-eval", argv, side, 2, SAME_OUTPUT)


def test_a_folder_where_a_bgz_outputs_index_goes_is_refused_before_any_work(side):
    (side / "s.bgz.tbi").mkdir()
    refused("dt-scan-cts", _argv("dt-scan-cts", side, side / "s.bgz"), side, 1, r"s\.bgz\.tbi of -o .* is a directory")


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_a_folder_where_dt_trains_resume_file_goes_is_refused_before_any_work(side, resume):
    """Without --resume the run said it removed the interrupted run's file, then failed on the
    folder ('Is a directory'); now it is refused with the other outputs, before training."""
    (side / "m.pt.resume").mkdir()
    argv = _argv("dt-train", side, side / "m.pt") + resume
    refused("dt-train", argv, side, 1, r"m\.pt\.resume: output path is a directory")


def test_a_functional_picture_may_not_be_an_input(side):
    plots = side / "plots"
    plots.mkdir()
    shutil.copy(side / "utrs.fa", plots / "functional_cdf_pred.png")
    argv = [side / "pred.tsv", "--functional", side / "pred.tsv", "--utr", plots / "functional_cdf_pred.png"]
    refused("dt-eval", argv + ["--plots", plots, "-o", side / "f.tsv"], side, 2, r"functional_cdf_pred\.png " + SAME_INPUT)


@pytest.mark.parametrize(
    "names, functional",
    [(["a/b", "a_b"], False), (["a b", "a_b"], True), (["site_count"], True)],
    ids=["hist", "functional-cdf", "the-site-count-baseline"],
)
def test_two_predictors_drawn_on_one_picture_are_refused(side, names, functional):
    """--name a/b --name a_b drew both histograms to hist_a_b.png: the second replaced the first."""
    preds = [side / "pred.tsv"] * len(names)
    argv = [*preds, *(a for n in names for a in ("--name", n)), "--plots", side / "plots", "-o", side / "m.tsv"]
    if functional:
        argv += ["--functional", side / "pred.tsv", "--utr", side / "utrs.fa"]
    refused("dt-eval", argv, side, 2, r"the names '.*' and '.*' give the same picture .*: give names that differ")


@pytest.mark.parametrize("functional", [False, True])
def test_a_name_given_twice_is_refused(side, functional):
    """Two rows called x, and one JSON entry for both (the second replaced the first)."""
    argv = [side / "pred.tsv", side / "pred.tsv", "--name", "x", "--name", "x", "--json", side / "m.json", "-o", side / "m.tsv"]
    if functional:
        argv = [*argv[:6], "--functional", side / "pred.tsv", "--utr", side / "utrs.fa", "-o", side / "m.tsv"]
    refused("dt-eval", argv, side, 2, r"--name 'x' is given twice")


@pytest.mark.parametrize("functional", [False, True])
def test_a_name_of_a_row_dt_eval_adds_is_refused(side, functional):
    """--name identity-shortcut beside --shortcut-baseline gave two rows of that name and one
    JSON entry (the predictions' figures lost)."""
    if functional:
        extra, name = ["--functional", side / "pred.tsv", "--utr", side / "utrs.fa"], "site count"
    else:
        extra, name = ["--shortcut-baseline", side / "pairs.tsv", "--json", side / "m.json"], "identity-shortcut"
    argv = [side / "pred.tsv", "--name", name, *extra, "-o", side / "m.tsv"]
    refused("dt-eval", argv, side, 2, f"--name '{name}' is the name of the row dt-eval adds itself")
