"""docs/tutorial.md runs as written: every ```bash block above "On real data", in order, in a
fresh folder, then its stated results are checked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "tutorial.md"


def tutorial_commands() -> list[str]:
    text = PAGE.read_text().split("## On real data")[0]
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_the_reference_excerpt_is_what_its_script_makes(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_reference_excerpt.py"), str(tmp_path)], check=True)
    for name in ("annotation.gtf.gz", "genome.fa.gz", "mature.fa.gz"):
        assert (tmp_path / name).read_bytes() == (ROOT / "examples" / "reference" / name).read_bytes(), name


def test_tutorial_runs_as_written(tmp_path):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    blocks = tutorial_commands()
    assert len(blocks) >= 5
    for block in blocks:
        res = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert res.returncode == 0, (block, res.stderr)
    genes = (tmp_path / "genes.tsv").read_text().splitlines()
    assert len(genes) == 7 and "DEMO-AS1" not in "".join(genes)  # six coding genes; the lncRNA skipped
    targets = [r.split("\t") for r in (tmp_path / "targets.tsv").read_text().splitlines()]
    header = targets[0]
    assert header[:5] == ["mirna_id", "mrna_id", "score", "n_sites", "best_site_type"] and header[-2:] == ["rank", "gene_name"]
    rank, name = header.index("rank"), header.index("gene_name")
    assert {r[0] for r in targets[1:]} <= {"hsa-let-7a-5p", "hsa-miR-21-5p", "hsa-miR-155-5p"}  # --species hsa
    let7 = [r for r in targets[1:] if r[0] == "hsa-let-7a-5p"]
    # the planted let-7 8mers: DEMO1 (two), DEMO2 (across an intron, minus strand), DEMO4
    assert [r[name] for r in let7] == ["DEMO1", "DEMO2", "DEMO4"] and [r[rank] for r in let7] == ["1", "2", "3"]
    assert (tmp_path / "let7_top10.tsv").read_text().splitlines()[1:] == ["\t".join(r) for r in let7]
    demo2 = [r.split("\t") for r in (tmp_path / "demo2.tsv").read_text().splitlines()[1:]]
    assert [(r[0], r[rank], r[name]) for r in demo2] == [("hsa-let-7a-5p", "2", "DEMO2"), ("hsa-miR-21-5p", "4", "DEMO2")]
    # the junction-spanning 8mer on the minus strand: one BED12 line, two blocks of 4 nt
    bed = [r.split("\t") for r in (tmp_path / "chr1_sites.bed").read_text().splitlines()]
    junction = [r for r in bed if r[3] == "hsa-let-7a-5p|ENSTDEMO0000002.1|8mer"]
    assert len(junction) == 1 and junction[0][5] == "-" and junction[0][9:11] == ["2", "4,4"]
