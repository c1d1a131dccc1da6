"""Site-level tables for the affinity / occupancy experiments (issue 28), cached under bench/out/.

For every (miRNA, gene) pair of gene_level_dev's functional tables (functional.tsv.gz and
functional_classic.tsv.gz): every site of the relaxed scan with its type, the four flanking
nucleotides (two 5' of the 8-nt site frame, two 3' of it), the context features of
gene_features (supp3, au, near_stop, min_dist), the packaged site network's log-odds and its
60-dim summary state (the input of the network's classifier).

    .venv/bin/python bench/gene_affinity_data.py     # about 1-2 min on 2 cores
"""

from __future__ import annotations

import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deeptarget_core import gene_features as gf  # noqa: E402
from deeptarget_core import gene_training as gt  # noqa: E402
from deeptarget_core import sites  # noqa: E402
from deeptarget_core.io import read_fasta  # noqa: E402

DEV = ROOT.parent / "shared" / "data" / "gene_level_dev"
OUT = ROOT / "bench" / "out" / "gene_affinity_sites.pkl"


def summaries(model, mirna_seq: str, cts_letters: np.ndarray) -> np.ndarray:
    """(n, 60) classifier inputs of the network for one miRNA's CTS windows (eager path)."""
    import torch

    from deeptarget_core.seq import CTS_CODE, encode_batch

    out = []
    with torch.inference_mode():
        m_codes = torch.from_numpy(encode_batch([mirna_seq], model.config.cts_length).astype(np.int64))
        m_states = model.encode_mirna(m_codes)
        for a in range(0, len(cts_letters), 4096):
            codes = torch.from_numpy(CTS_CODE[cts_letters[a : a + 4096]].astype(np.int64))
            n = len(codes)
            mc = m_codes.expand(n, -1)
            last = model.interaction_states(m_states.expand(n, -1, -1), model.encode_cts(codes), model.pairing(mc, codes))[-1]
            half = last.shape[2] // 2
            out.append(torch.cat([last[:, -1, :half], last[:, 0, half:]], dim=1).double().numpy())
    return np.concatenate(out) if out else np.zeros((0, 60))


def build() -> dict:
    import torch

    from deeptarget_core.model import load_model
    from deeptarget_core.scorers import make_scorer

    torch.set_num_threads(2)
    t0 = time.time()
    fun = gt.read_functional(DEV / "functional.tsv.gz").assign(source="dev")
    cla = gt.read_functional(DEV / "functional_classic.tsv.gz").assign(source="classic")
    import pandas as pd

    rows = pd.concat([fun, cla], ignore_index=True)
    utrs = {r.id: r.seq for r in read_fasta(DEV / "utrs.fa.gz", kind="target")}
    rows = rows[rows["mrna_id"].isin(utrs)].reset_index(drop=True)
    # pairs keyed by the miRNA's sequence (one id has two lengths across the sources)
    seqs = {q: q for q in rows["mirna_seq"]}
    want: dict[str, set[str]] = {}
    for m, t in zip(rows["mirna_seq"], rows["mrna_id"]):
        want.setdefault(m, set()).add(t)
    scorer = make_scorer(None, threads=2)
    net, _ = load_model(None)
    net.eval()
    pair_keys: list[tuple[str, str]] = []
    pair_of: dict[tuple[str, str], int] = {}
    cols: dict[str, list] = {k: [] for k in ("pair", "type", "flank", "ctx", "logit", "enc", "p2")}
    pair_feats = []
    mirnas = [sites.Mirna(m, s) for m, s in seqs.items()]
    for chunk in sites.iter_target_chunks(list({t: utrs[t] for t in rows["mrna_id"].unique()}.items())):
        scanner = sites.SiteScanner(mirnas, relaxed=True, pairs=want)
        n_t = len(chunk.ids)
        tindex = {t: i for i, t in enumerate(chunk.ids)}
        for group in gf.score_groups(scanner, chunk, seqs, scorer):
            ctx = group.context
            feats = group.features
            m_of_site = ctx.pair_index // n_t
            t_of_site = ctx.pair_index % n_t
            # the pairs of the functional table in this group
            for i, mid in enumerate(group.mirna_ids):
                for t in want[mid]:
                    ti = tindex.get(t, -1)
                    if ti >= 0 and (mid, t) not in pair_of:
                        pair_of[(mid, t)] = len(pair_keys)
                        pair_keys.append((mid, t))
                        pair_feats.append(feats[i * n_t + ti])
            if not len(ctx.pair_index):
                continue
            idx = np.array([pair_of[(group.mirna_ids[m], chunk.ids[t])] for m, t in zip(m_of_site, t_of_site)])
            p2 = ctx.p2
            pos = np.stack([p2 - 8, p2 - 7, p2 + 2, p2 + 3], axis=1)
            flank = chunk.codes[np.clip(pos, 0, len(chunk.codes) - 1)]
            cols["pair"].append(idx)
            cols["type"].append(ctx.site_type)
            cols["flank"].append(flank)
            cols["ctx"].append(ctx.values[:, 1:])
            cols["logit"].append(ctx.values[:, 0])
            cols["p2"].append(p2)
            encs = []
            for b in group.blocks:
                if len(b):
                    encs.append(summaries(net, seqs[b.mirna_id], b.cts))
            cols["enc"].append(np.concatenate(encs))
        print(f"{time.time() - t0:.0f} s chunk done", file=sys.stderr, flush=True)
    data = {k: np.concatenate(v) for k, v in cols.items()}
    data["pair_keys"] = pair_keys
    data["pair_features"] = np.array(pair_feats)
    data["rows"] = rows
    print(f"{time.time() - t0:.0f} s: {len(pair_keys)} pairs, {len(data['pair'])} sites", file=sys.stderr)
    return data


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    d = build()
    with open(OUT, "wb") as fh:
        pickle.dump(d, fh, protocol=4)
