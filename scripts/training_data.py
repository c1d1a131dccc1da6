"""The default training data, built from the public material in ../shared/data: the build
recipe of ``make training-data`` (scripts/make_training_data.py), not part of the installed
package (it reads the repository's neighbour ../shared/data).

Recipe (deterministic for a given seed; ``make training-data``):

1. miRAW site-level pairs, TEC-miTarget split (``train_seed_1234`` for training,
   ``valid_seed_1234`` for validation): the miRNA is stored 3'->5' with a leading '>' and is
   reversed; sites use T and are normalised to RNA; duplicate (miRNA, site) pairs dropped;
   pairs that also occur in the training split are removed from the validation side.
2. Seed-matched decoys (``source = decoy``): the pool teaches "has a seed match" (77% of
   positives carry a canonical seed, 2% of negatives), which is useless at prediction time
   where every candidate from dt-scan-cts has one. So every real 40-nt window of the split
   (positive or negative site, real 3'UTR sequence) is scanned with every other miRNA of the
   split exactly as dt-scan-cts scans; a canonical site whose 3' end lies at window position
   35-37 (where positives' seeds lie) makes a (miRNA, window) negative, unless the window is
   a known positive site of a miRNA with the same seed (nt 2-7): seed families share targets. They keep the real miRNA and look like what dt-predict will score.
3. Per-miRNA balance: decoys are sampled per miRNA so that each miRNA has about as many
   negatives as positives (``decoy_ratio``); the miRNA identity alone then carries little
   signal (the shortcut that the gene-level benchmarks reward).

Mock-miRNA negatives (the paper's recipe, dt-make-negatives) are not in the default set:
they teach "real vs shuffled miRNA", another shortcut.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from deeptarget_core.errors import InputError
from deeptarget_core.io import read_fasta
from deeptarget_core.seq import normalise
from deeptarget_core.sites import Mirna, SiteScanner, pack_targets

DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CTS_LENGTH = 40


@dataclass(frozen=True)
class Row:
    mirna_id: str
    mirna_seq: str
    mrna_id: str
    mrna_seq: str
    label: int
    source: str


def mirbase_ids(shared: Path) -> dict[str, str]:
    """Mature sequence -> miRBase 22.1 human id (first id when several share a sequence)."""
    path = shared / "miRBase" / "hsa_mature_v22.1.fa"
    ids: dict[str, str] = {}
    for rec in read_fasta(path, kind="target"):
        ids.setdefault(rec.seq, rec.id)
    return ids


def read_tec_sites(path: Path, names: dict[str, str], prefix: str) -> list[Row]:
    """TEC-miTarget miRAW files: '>miRNA 3'->5'' TAB '>site' TAB label, no header."""
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    with open(path) as handle:
        for line_no, line in enumerate(handle, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                raise InputError(f"expected 3 fields, found {len(fields)}", path, line_no)
            mirna = normalise(fields[0].lstrip(">"))[::-1]
            site = normalise(fields[1].lstrip(">"))
            label = int(fields[2])
            key = (mirna, site)
            if key in seen:
                continue
            seen.add(key)
            if len(site) != CTS_LENGTH:
                continue  # 0.2% are 39 nt: their seed position is unknown
            mid = names.get(mirna, f"mirna_{mirna}")
            rows.append(Row(mid, mirna, f"{prefix}{line_no}", site, label, "miraw"))
    return rows


def seed_decoys(rows: list[Row], seed: int, decoy_ratio: float = 1.0, end_positions: Iterable[int] = (35, 36, 37)) -> list[Row]:
    """Canonical seed matches of other miRNAs in the split's real windows (see module doc)."""
    ends = set(end_positions)
    mirnas = sorted({(r.mirna_id, r.mirna_seq) for r in rows})
    # A window that is a positive site of one miRNA is no decoy for a miRNA with the same seed
    # (nt 2-7): seed-family members share their targets.
    positives = {(r.mirna_seq[1:7], r.mrna_seq) for r in rows if r.label == 1}
    windows = sorted({r.mrna_seq for r in rows})
    window_id = {}
    for r in rows:
        window_id.setdefault(r.mrna_seq, r.mrna_id)
    scanner = SiteScanner([Mirna(f"{i}", s) for i, (_, s) in enumerate(mirnas)], cts_length=CTS_LENGTH)
    chunk = pack_targets([(str(i), w) for i, w in enumerate(windows)], CTS_LENGTH)
    candidates: dict[int, list[int]] = defaultdict(list)
    for mi, block in enumerate(scanner.scan_chunk(chunk)):
        for t, end in zip(block.target_index.tolist(), block.site_end.tolist()):
            if end in ends:
                candidates[mi].append(t)
    n_pos = defaultdict(int)
    n_neg = defaultdict(int)
    for r in rows:
        (n_pos if r.label == 1 else n_neg)[r.mirna_seq] += 1
    rng = random.Random(seed)
    out: list[Row] = []
    for mi, (mid, mseq) in enumerate(mirnas):
        pool = sorted(set(t for t in candidates.get(mi, []) if (mseq[1:7], windows[t]) not in positives))
        want = int(round(decoy_ratio * n_pos[mseq]))
        if not pool or want <= 0:
            continue
        rng.shuffle(pool)
        for t in pool[:want]:
            out.append(Row(mid, mseq, window_id[windows[t]] + "_decoy", windows[t], 0, "decoy"))
    return out


def build(shared: Path = DEFAULT_SHARED, seed: int = 1, decoy_ratio: float = 1.0) -> dict[str, list[Row]]:
    """Train and validation tables of the default recipe."""
    base = shared / "miRAW_sites_TEC-miTarget"
    if not base.is_dir():
        raise InputError("shared data folder not found (expected miRAW_sites_TEC-miTarget inside)", shared)
    names = mirbase_ids(shared)
    train = read_tec_sites(base / "train_seed_1234.txt", names, "miraw_train_")
    val = read_tec_sites(base / "valid_seed_1234.txt", names, "miraw_valid_")
    train_pairs = {(r.mirna_seq, r.mrna_seq) for r in train}
    val = [r for r in val if (r.mirna_seq, r.mrna_seq) not in train_pairs]
    train += seed_decoys(train, seed, decoy_ratio)
    val_decoys = [r for r in seed_decoys(val, seed + 1, decoy_ratio) if (r.mirna_seq, r.mrna_seq) not in train_pairs]
    val += val_decoys
    return {"train": train, "val": val}


def write_rows(path: Path, rows: list[Row]) -> None:
    from deeptarget_core.streams import atomic_output

    with atomic_output(path) as f:
        f.write("mirna_id\tmirna_seq\tmrna_id\tmrna_seq\tlabel\tsource\n")
        for r in rows:
            f.write(f"{r.mirna_id}\t{r.mirna_seq}\t{r.mrna_id}\t{r.mrna_seq}\t{r.label}\t{r.source}\n")
