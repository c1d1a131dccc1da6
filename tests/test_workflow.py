"""Snakemake workflow (issue 6): the sharded run gives the single-process result, for real.

Runs workflow/Snakefile with --cores 2 on the bundled example (6 miRNAs x 40 UTRs) split into
more miRNA groups than there are miRNAs (so empty shards are exercised), and dry-runs the SLURM
profile. Skips cleanly when snakemake is not installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BIN, ROOT

WORKFLOW = ROOT / "workflow"
sys.path.insert(0, str(WORKFLOW / "scripts"))


def snakemake_exe() -> str:
    pytest.importorskip("snakemake")
    exe = shutil.which("snakemake") or str(BIN / "snakemake")
    if not Path(exe).exists():
        pytest.skip("snakemake executable not found")
    return exe


def env_with_tools(extra: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(([str(extra)] if extra else []) + [str(BIN), env.get("PATH", "")])
    return env


def assert_tools_run(*names: str) -> None:
    """A tool whose --help fails is broken: the test fails, it does not skip."""
    for name in names:
        out = subprocess.run([str(BIN / name), "--help"], capture_output=True, text=True)
        assert out.returncode == 0, f"{name} --help failed:\n{out.stderr[-2000:]}"


def run_snakemake(args: list[str], cwd: Path, env=None) -> subprocess.CompletedProcess:
    cmd = [snakemake_exe(), "-s", str(WORKFLOW / "Snakefile"), "--directory", str(cwd), *args]
    result = subprocess.run(cmd, cwd=cwd, env=env or env_with_tools(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def example_config(tmp_path: Path, **extra: str) -> list[str]:
    cfg = {
        "mirna": str(ROOT / "examples/mirnas.fa"),
        "utr": str(ROOT / "examples/utrs.fa.gz"),
        "outdir": str(tmp_path / "out"),
        "utr_chunks": "3",
        "mirna_groups": "7",  # 6 miRNAs: one group is empty
    }
    cfg.update(extra)
    return ["--config", *[f"{k}={v}" for k, v in cfg.items()]]


def test_sharded_scan_equals_single_process_run(tmp_path):
    run_snakemake(["--cores", "2", "-q", *example_config(tmp_path)], tmp_path)
    out = tmp_path / "out"
    shards = sorted((out / "shards").glob("sites_g*_c*.tsv"))
    assert len(shards) == 21
    single = tmp_path / "single.tsv"
    subprocess.run(
        [
            str(BIN / "dt-scan-cts"),
            "-q",
            "--mirna",
            str(ROOT / "examples/mirnas.fa"),
            "--utr",
            str(ROOT / "examples/utrs.fa.gz"),
            "-o",
            str(single),
        ],
        check=True,
    )
    merged = (out / "sites.tsv").read_text().splitlines()
    expected = single.read_text().splitlines()
    assert len(expected) > 100
    assert sorted(merged) == sorted(expected)  # the requirement
    assert merged == expected  # and merge_tables.py even restores the single-process order
    # every shard carries the header; the rows are split, not duplicated
    assert sum(len(p.read_text().splitlines()) - 1 for p in shards) == len(expected) - 1


def test_sharded_predict_equals_single_process_run(tmp_path):
    snakemake_exe()
    assert_tools_run("dt-predict")
    # a network with random weights (seeded): the scores depend on every CTS and miRNA, so a
    # shard that mixed up rows or batches would show; speed and sharding do not need training
    torch = pytest.importorskip("torch")
    from deeptarget_core.model import CheckpointInfo, DeepTarget, ModelConfig, save_checkpoint

    torch.manual_seed(0)
    net = DeepTarget(ModelConfig()).eval()
    model = tmp_path / "random.pt"
    save_checkpoint(model, net, CheckpointInfo(kind="classifier", config=net.config, seed=0))
    predict = '{"enabled": True, "model": "%s", "aggregate": "model", "batch_size": 64, "device": "cpu"}' % model
    # 2 x 3 shards: every predict job loads torch, so keep the count small
    config = example_config(tmp_path, predict=predict, utr_chunks="2", mirna_groups="3")
    run_snakemake(["--cores", "2", "-q", *config], tmp_path)
    out = tmp_path / "out"
    sites_single, genes_single = tmp_path / "scored.tsv", tmp_path / "genes.tsv"
    subprocess.run(
        [
            str(BIN / "dt-predict"),
            str(out / "sites.tsv"),
            "--mirna",
            str(ROOT / "examples/mirnas.fa"),
            "--utr",
            str(ROOT / "examples/utrs.fa.gz"),
            "--model",
            str(model),
            "--device",
            "cpu",
            "-o",
            str(sites_single),
            "--gene-output",
            str(genes_single),
        ],
        check=True,
        capture_output=True,
    )
    scores = [line.split("\t")[-1] for line in sites_single.read_text().splitlines()[1:]]
    assert len(set(scores)) > 10  # real, varying scores
    from benchmark import compare_scored

    # dt-predict's fast path: a score can move in the 6th decimal with the batch's composition
    for merged, single in ((out / "sites_scored.tsv", sites_single), (out / "genes.tsv", genes_single)):
        same, max_diff = compare_scored(merged, single)
        assert same, f"{merged.name}: rows differ (max score difference {max_diff})"


def test_slurm_profile_dry_run(tmp_path):
    # the profile runs jobs through Apptainer; a dry run only asks `apptainer --version`
    shim = tmp_path / "shim"
    shim.mkdir()
    (shim / "apptainer").write_text('#!/bin/sh\necho "apptainer version 1.3.4"\n')
    (shim / "apptainer").chmod(0o755)
    pytest.importorskip("snakemake_executor_plugin_slurm")
    train = '{"enabled": True, "positives": "%s", "folds": 4, "seed": 1, "device": "auto"}' % (ROOT / "examples/pairs.tsv")
    predict = '{"enabled": True, "model": "", "aggregate": "max", "batch_size": 4096, "device": "auto"}'
    result = run_snakemake(
        ["-n", "--workflow-profile", str(WORKFLOW / "profiles/slurm"), *example_config(tmp_path, train=train, predict=predict)],
        tmp_path,
        env=env_with_tools(shim),
    )
    text = result.stdout + result.stderr
    stats = {}
    for line in text[text.index("Job stats") :].splitlines()[3:]:
        parts = line.split()
        if len(parts) != 2:
            break
        stats[parts[0]] = int(parts[1])
    assert stats["scan"] == 21 and stats["predict"] == 21
    assert stats["train_fold"] == 4 and stats["predict_fold"] == 4 and stats["pretrain"] == 1
    assert "slurm_partition=gpu" in text and "gpu=1" in text
    assert not (tmp_path / "out").exists()  # a dry run writes nothing


def test_shard_fasta_balances_and_keeps_every_record(tmp_path):
    from shard_fasta import main as shard

    src = tmp_path / "in.fa"
    src.write_text("".join(f">r{i}\n{'ACGU' * (i + 1)}\n" for i in range(10)))
    outs = [tmp_path / f"s{i}.fa" for i in range(3)]
    shard([str(src)] + [str(p) for p in outs])
    texts = [p.read_text() for p in outs]
    ids = [line for t in texts for line in t.splitlines() if line.startswith(">")]
    assert sorted(ids) == sorted(f">r{i}" for i in range(10))
    sizes = [sum(len(line) for line in t.splitlines() if not line.startswith(">")) for t in texts]
    assert max(sizes) - min(sizes) <= 40  # greedy by length: within one record of each other


def test_cv_folds_never_split_a_mirna(tmp_path):
    from cv_folds import main as folds

    pairs = tmp_path / "pairs.tsv"
    rows = [f"miR-{i % 7}\tACGU\tg{i}\tAAAA\t{i % 2}\n" for i in range(50)]
    pairs.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n" + "".join(rows))
    folds(["--pairs", str(pairs), "--folds", "3", "--seed", "5", "--outdir", str(tmp_path / "f")])
    seen = []
    for k in range(3):
        val, stop, train = (
            (tmp_path / "f" / f"{part}_{k}.tsv").read_text().splitlines()[1:] for part in ("val", "stop", "train")
        )
        assert len(val) + len(stop) + len(train) == 50 and val and stop and train
        mirnas = [{r.split("\t")[0] for r in part} for part in (val, stop, train)]
        # the held-out fold, the early-stopping set and the training part share no miRNA
        assert mirnas[0].isdisjoint(mirnas[1]) and mirnas[0].isdisjoint(mirnas[2]) and mirnas[1].isdisjoint(mirnas[2])
        seen += val
    assert sorted(seen) == sorted(r.rstrip("\n") for r in rows)


def test_compare_scored_tolerates_only_tiny_score_differences(tmp_path):
    from benchmark import compare_scored

    header = "mirna_id\tmrna_id\tscore\tn_sites\n"
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    a.write_text(header + "m1\tg1\t0.500000\t2\nm2\tg1\t0.100000\t1\n")
    b.write_text(header + "m2\tg1\t0.100001\t1\nm1\tg1\t0.500000\t2\n")
    assert compare_scored(a, b) == (True, pytest.approx(1e-6))
    b.write_text(header + "m2\tg1\t0.100100\t1\nm1\tg1\t0.500000\t2\n")
    assert compare_scored(a, b)[0] is False
    b.write_text(header + "m2\tg1\t0.100000\t3\nm1\tg1\t0.500000\t2\n")
    assert compare_scored(a, b)[0] is False


def test_training_branch_runs_folds_as_jobs(tmp_path):
    snakemake_exe()
    assert_tools_run("dt-make-negatives", "dt-pretrain", "dt-train", "dt-predict", "dt-eval")
    train = (
        '{"enabled": True, "positives": "%s", "folds": 2, "ratio": 1.0, "pretrain_epochs": 1, '
        '"epochs": 1, "seed": 1, "device": "cpu"}' % (ROOT / "examples/pairs.tsv")
    )
    config = example_config(tmp_path, train=train, utr_chunks="1", mirna_groups="1")
    result = run_snakemake(["--cores", "2", *config, "--set-threads", "pretrain=1", "train_fold=1", "predict_fold=1"], tmp_path)
    tout = tmp_path / "out" / "train"
    assert "train_fold" in result.stdout + result.stderr
    for k in range(2):
        assert (tout / f"fold_{k}" / "model.pt").stat().st_size > 0
        log = (tout / f"fold_{k}" / "train_log.tsv").read_text().splitlines()
        assert log[0].startswith("epoch\ttrain_loss") and len(log) == 2
        scored = (tout / f"fold_{k}" / "val_scored.tsv").read_text().splitlines()
        assert scored[0].split("\t")[-1] == "score" and len(scored) > 1
    # train.extra_args (config.yaml default: the packaged recipe without --balance-by-mirna) reached dt-train
    from deeptarget_core.model import read_checkpoint

    info = read_checkpoint(tout / "fold_0" / "model.pt", expect_kind="classifier")[1]
    assert info.config.bidirectional and info.config.layers == 1 and info.config.pairing_offsets and info.config.site_prior
    metrics = (tout / "cv_metrics.tsv").read_text().splitlines()
    assert [m.split("\t")[0] for m in metrics[1:]] == ["fold_0", "fold_1"]
    assert "roc_auc" in metrics[0]

    # no miRNA (with its mocks) on both sides of a fold
    def sources(path):
        return {line.split("\t")[0].split("_mock")[0] for line in path.read_text().splitlines()[1:]}

    for k in range(2):
        assert sources(tout / "folds" / f"train_{k}.tsv").isdisjoint(sources(tout / "folds" / f"val_{k}.tsv"))


def test_cv_folds_are_the_fold_makers_of_dt_train(tmp_path):
    """One fold maker: the workflow's folds are deeptarget_core.train.cv_folds' (dt-train --cv)."""
    import numpy as np
    from cv_folds import Rows
    from cv_folds import main as folds

    from deeptarget_core.train import cv_folds

    pairs = tmp_path / "pairs.tsv"
    rows = [f"miR-{i % 9}\tACGU\tg{i}\tAAAA\t{(i // 9) % 2}\n" for i in range(90)]
    pairs.write_text("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\n" + "".join(rows))
    folds(["--pairs", str(pairs), "--folds", "3", "--seed", "7", "--outdir", str(tmp_path / "f")])
    data = Rows(np.array([(i // 9) % 2 for i in range(90)]), [f"miR-{i % 9}" for i in range(90)])
    for k, (_, held) in enumerate(cv_folds(data, 3, group_by_mirna=True, seed=7)):
        val = (tmp_path / "f" / f"val_{k}.tsv").read_text().splitlines()[1:]
        assert val == [rows[i].rstrip("\n") for i in held]


def test_config_is_validated_against_the_schema(tmp_path):
    exe = snakemake_exe()
    cmd = [exe, "-s", str(WORKFLOW / "Snakefile"), "--directory", str(tmp_path), "-n", *example_config(tmp_path, utr_chunks="0")]
    result = subprocess.run(cmd, cwd=tmp_path, env=env_with_tools(), capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "utr_chunks" in result.stdout + result.stderr


def test_workflow_from_an_annotation_and_mirbase_as_downloaded(tmp_path):
    """annotation.gtf + genome instead of a UTR FASTA, miRBase's layout with --species: the
    merged, re-ranked gene table equals one dt-predict run on the extracted UTRs."""
    ref = ROOT / "examples" / "reference"
    predict = '{"enabled": True, "model": "seed-match", "aggregate": "max", "batch_size": 64, "device": "cpu"}'
    annotation = '{"gtf": "%s", "genome": "%s"}' % (ref / "annotation.gtf.gz", ref / "genome.fa.gz")
    config = example_config(
        tmp_path,
        mirna=str(ref / "mature.fa.gz"),
        species="hsa",
        annotation=annotation,
        predict=predict,
        utr_chunks="3",
        mirna_groups="2",
    )
    run_snakemake(["--cores", "2", "-q", *config], tmp_path)
    out = tmp_path / "out"
    assert (out / "mirnas.fa").read_text().count(">") == 3  # the human records of mature.fa.gz
    single = tmp_path / "genes.tsv"
    subprocess.run(
        [
            str(BIN / "dt-predict"),
            "-q",
            "--mirna",
            str(ref / "mature.fa.gz"),
            "--species",
            "hsa",
            "--utr",
            str(out / "utrs.fa.gz"),
        ]
        + ["--model", "seed-match", "--aggregate", "max", "-o", "/dev/null", "--gene-output", str(single)],
        check=True,
    )
    merged = (out / "genes.tsv").read_text()
    assert merged == single.read_text()
    rows = [r.split("\t") for r in merged.splitlines()[1:]]
    assert {r[6] for r in rows} >= {"DEMO1", "DEMO2", "DEMO4"}  # gene names from the extracted headers
    assert [r[5] for r in rows if r[0] == "hsa-let-7a-5p"] == ["1", "2", "3"]  # ranked over all shards


# --------------------------------------------------------------------------- conda environments (issue 29)


def rule_blocks() -> dict[str, str]:
    """rule name -> its text, from workflow/rules/*.smk."""
    import re

    blocks = {}
    for path in sorted((WORKFLOW / "rules").glob("*.smk")):
        parts = re.split(r"^rule (\w+):\n", path.read_text(), flags=re.M)
        blocks.update(dict(zip(parts[1::2], parts[2::2])))
    return blocks


def test_every_rule_names_a_conda_environment_pinned_to_the_release():
    import re

    import yaml

    import deeptarget_core

    blocks = {name: text for name, text in rule_blocks().items() if re.search(r"^    (shell|script|run):", text, re.M)}
    assert len(blocks) >= 14
    for name, text in blocks.items():
        env = re.search(r'^    conda:\n        "\.\./envs/([\w.-]+\.yaml)"', text, re.M)
        assert env, f"rule {name} has no conda: directive"
        spec = yaml.safe_load((WORKFLOW / "envs" / env.group(1)).read_text())
        deps = " ".join(spec["dependencies"])
        # the rules that run dt-* or import deeptarget_core get the suite at this release
        needs_suite = re.search(r"\bdt-|select_mirnas|cv_folds", text)
        assert bool(needs_suite) == ("deeptarget ==" in deps), f"rule {name}: {env.group(1)}"
    suite = yaml.safe_load((WORKFLOW / "envs/deeptarget.yaml").read_text())
    assert suite["dependencies"] == [f"deeptarget =={deeptarget_core.__version__}"]
    assert suite["channels"] == ["conda-forge", "bioconda"]
    # the container profile's image carries the same release
    config = yaml.safe_load((WORKFLOW / "config.yaml").read_text())
    assert config["container"].endswith(f":{deeptarget_core.__version__}")


def conda_shim(folder: Path) -> Path:
    """A stand-in for conda that answers the questions a dry run asks (no environment is built)."""
    folder.mkdir()
    (folder / "conda").write_text(
        "#!/bin/sh\n"
        'echo "$*" >> "$(dirname "$0")/calls.log"\n'
        'case "$*" in\n'
        f'  "info --json") echo \'{{"conda_prefix": "{folder}/prefix", "platform": "linux-64"}}\' ;;\n'
        '  "config --get channel_priority --json") echo \'{"get": {"channel_priority": "strict"}}\' ;;\n'
        '  *) echo "conda 24.11.0" ;;\n'
        "esac\n"
    )
    (folder / "conda").chmod(0o755)
    return folder


@pytest.mark.parametrize("profile", ["conda", "slurm"])
def test_conda_deployment_dry_run(tmp_path, profile):
    """--sdm conda: the conda profile, and the SLURM profile switched from its container to conda."""
    if profile == "slurm":
        pytest.importorskip("snakemake_executor_plugin_slurm")
    shim = conda_shim(tmp_path / "shim")
    extra = ["--sdm", "conda"] if profile == "slurm" else []
    result = run_snakemake(
        ["-n", "--workflow-profile", str(WORKFLOW / "profiles" / profile), *extra, *example_config(tmp_path)],
        tmp_path,
        env=env_with_tools(shim),
    )
    text = result.stdout + result.stderr
    for env in ("deeptarget.yaml", "python.yaml"):
        assert f"envs/{env} will be created" in text, text[-3000:]
    assert "apptainer" not in text.lower()  # conda instead of the container, not inside it
    assert "info --json" in (shim / "calls.log").read_text()
    assert not (tmp_path / "out").exists()
