#!/usr/bin/env python3
"""Measure the workflow against one process on the same input (issue 6).

Runs (1) dt-scan-cts [+ dt-predict] as single processes and (2) the Snakemake workflow with
--cores N on the same miRNAs x UTRs, checks that the merged tables equal the single-process
ones, and reports wall time, peak memory and the per-shard time and memory that Snakemake's
benchmark files record (what a user needs to size cluster jobs).

    .venv/bin/python workflow/scripts/benchmark.py --utr bench/out/utrome_3M.fa.gz
    .venv/bin/python workflow/scripts/benchmark.py --predict --mirna-limit 200 ...

Writes OUTDIR/benchmark.json and prints a markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env=None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command, via GNU time."""
    t0 = time.perf_counter()
    res = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{res.stderr[-2000:]}")
    rss_kb = int(res.stderr.strip().splitlines()[-1])
    return wall, rss_kb / 1024


SCORE_TOLERANCE = 1e-5  # dt-predict's fast path: scores vary in the 6th decimal with batch composition


def compare_scored(a: Path, b: Path) -> tuple[bool, float]:
    """Same header, and after sorting the same rows in every column but `score`, whose values
    may differ by at most SCORE_TOLERANCE. Returns (equal, max |score difference|)."""
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    if not la or not lb or la[0] != lb[0] or len(la) != len(lb):
        return False, float("inf")
    i = la[0].split("\t").index("score")

    def split(line: str):
        f = line.split("\t")
        return f[:i] + f[i + 1 :], float(f[i])

    ra, rb = sorted(map(split, la[1:])), sorted(map(split, lb[1:]))
    if [k for k, _ in ra] != [k for k, _ in rb]:
        return False, float("inf")
    diff = max((abs(x - y) for (_, x), (_, y) in zip(ra, rb)), default=0.0)
    return diff <= SCORE_TOLERANCE, diff


def shard_stats(bench_dir: Path, rule: str) -> dict:
    rows = []
    for p in sorted(bench_dir.glob(f"{rule}_*.tsv")):
        with open(p) as fh:
            rows.append(next(csv.DictReader(fh, delimiter="\t")))
    if not rows:
        return {}
    s = [float(r["s"]) for r in rows]
    rss = [float(r["max_rss"]) for r in rows if r["max_rss"] not in ("-", "NA", "")]
    return {
        "shards": len(rows),
        "s_min": round(min(s), 2),
        "s_median": round(statistics.median(s), 2),
        "s_max": round(max(s), 2),
        "rss_mb_median": round(statistics.median(rss)) if rss else None,
        "rss_mb_max": round(max(rss)) if rss else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirna", default=str(ROOT.parent / "shared/data/miRBase/hsa_mature_v22.1.fa"))
    ap.add_argument("--utr", default=str(ROOT / "bench/out/utrome_3M.fa.gz"))
    ap.add_argument("--mirna-limit", type=int, default=0, help="use only the first N miRNAs (0 = all)")
    ap.add_argument("--utr-chunks", type=int, default=4)
    ap.add_argument("--mirna-groups", type=int, default=2)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--predict", action="store_true", help="also score sites (dt-predict)")
    ap.add_argument("--model", default="", help="checkpoint for dt-predict (default: the packaged model)")
    ap.add_argument("--threads", type=int, default=0, help="dt-predict threads: single process (default: --cores)")
    ap.add_argument("--shard-threads", type=int, default=1, help="dt-predict threads per workflow job")
    ap.add_argument("--outdir", default=str(ROOT / "results/workflow-benchmark"))
    ap.add_argument("--keep", action="store_true", help="keep the (large) tables")
    args = ap.parse_args()

    out = Path(args.outdir).resolve()
    shutil.rmtree(out, ignore_errors=True)
    (out / "single").mkdir(parents=True)
    mirna = Path(args.mirna)
    if args.mirna_limit:
        lines = mirna.read_text().splitlines(keepends=True)
        kept, n = [], 0
        for line in lines:
            n += line.startswith(">")
            if n > args.mirna_limit:
                break
            kept.append(line)
        mirna = out / "mirnas.fa"
        mirna.write_text("".join(kept))
    n_mirna = sum(1 for line in mirna.read_text().splitlines() if line.startswith(">"))
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")

    single_sites = out / "single/sites.tsv"
    scan_s, scan_rss = timed(
        [str(BIN / "dt-scan-cts"), "-q", "--mirna", str(mirna), "--utr", args.utr, "-o", str(single_sites)], env
    )
    single = {"scan_s": round(scan_s, 1), "scan_rss_mb": round(scan_rss)}
    if args.predict:
        model = ["--model", str(Path(args.model).resolve())] if args.model else []
        p_s, p_rss = timed(
            [
                str(BIN / "dt-predict"),
                str(single_sites),
                "--mirna",
                str(mirna),
                "--device",
                "cpu",
                *model,
                "--threads",
                str(args.threads or args.cores),
                "--batch-size",
                "2048",
                "-o",
                str(out / "single/sites_scored.tsv"),
                "--gene-output",
                str(out / "single/genes.tsv"),
            ],
            env,
        )
        single.update(predict_s=round(p_s, 1), predict_rss_mb=round(p_rss))
    single["total_s"] = round(scan_s + single.get("predict_s", 0), 1)

    wf = out / "workflow"
    model_cfg = str(Path(args.model).resolve()) if args.model else ""
    predict_cfg = "{enabled: %s, model: '%s', aggregate: max, batch_size: 2048, device: cpu}" % (
        str(args.predict).lower(),
        model_cfg,
    )
    cmd = [
        str(BIN / "snakemake"),
        "-s",
        str(ROOT / "workflow/Snakefile"),
        "--directory",
        str(out),
        "--cores",
        str(args.cores),
        "-q",
        "--config",
        f"mirna={mirna}",
        f"utr={Path(args.utr).resolve()}",
        f"outdir={wf}",
        f"utr_chunks={args.utr_chunks}",
        f"mirna_groups={args.mirna_groups}",
        f"predict={predict_cfg}",
        "--set-threads",
        f"predict={args.shard_threads}",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    wf_s = time.perf_counter() - t0

    identical = (wf / "sites.tsv").read_bytes() == single_sites.read_bytes()
    max_diff = 0.0
    if args.predict:
        for name in ("sites_scored.tsv", "genes.tsv"):
            same, diff = compare_scored(wf / name, out / "single" / name)
            identical &= same
            max_diff = max(max_diff, diff)
    n_sites = sum(1 for _ in open(single_sites)) - 1
    result = {
        "mirnas": n_mirna,
        "utr": args.utr,
        "sites": n_sites,
        "cores": args.cores,
        "utr_chunks": args.utr_chunks,
        "mirna_groups": args.mirna_groups,
        "predict": args.predict,
        "single_process": single,
        "workflow_s": round(wf_s, 1),
        "identical_after_sorting": identical,
        "max_abs_score_diff": max_diff,
        "per_shard": {
            rule: shard_stats(wf / "benchmarks", rule) for rule in ("scan", "predict") if shard_stats(wf / "benchmarks", rule)
        },
        "load_avg": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    (out / "benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    if not args.keep:
        for p in [single_sites, out / "single/sites_scored.tsv", out / "single/genes.tsv"]:
            p.unlink(missing_ok=True)
        shutil.rmtree(wf / "shards", ignore_errors=True)
        for name in ("sites.tsv", "sites_scored.tsv", "genes.tsv"):
            (wf / name).unlink(missing_ok=True)
    print(json.dumps(result, indent=2))
    if not identical:
        raise SystemExit("error: workflow result differs from the single-process run")


if __name__ == "__main__":
    main()
