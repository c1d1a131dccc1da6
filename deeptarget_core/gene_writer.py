"""The gene-level table of site-table / scan input: one row per (mirna_id, mrna_id)
(:class:`GeneWriter`: max or Poisson aggregation of the sites of each pair)."""

from __future__ import annotations

from typing import IO, Sequence

import numpy as np

from .chance import ChanceModel
from .errors import InputError
from .gene_table import GENE_COLUMNS
from .io import write_tsv_header
from .scorers import format_scores
from .sites import SITE_TYPE_NAMES


class GeneWriter:
    """Aggregates site scores to one row per (mirna_id, mrna_id) and writes them.

    Sites of one miRNA must arrive together (site tables are grouped by miRNA); pairs are
    written when the next miRNA starts, so memory holds one miRNA's targets at a time.
    (Pair-table gene level writes its rows itself, one per input row, see
    :func:`predict_pairs_gene`.)
    """

    def __init__(
        self,
        handle: IO[str],
        aggregate: str = "max",
        chance: ChanceModel | None = None,
        utr_lengths: dict[str, int] | None = None,
        extra_columns: Sequence[str] = (),
        has_label: bool = False,
        source: str | None = None,
        model_columns: Sequence[str] = (),
    ):
        if aggregate not in ("max", "poisson"):
            raise ValueError("aggregate must be max or poisson")
        if aggregate == "poisson" and (chance is None or utr_lengths is None):
            raise ValueError("poisson aggregation needs a ChanceModel and the UTR lengths")
        self.handle = handle
        self.aggregate = aggregate
        self.chance = chance
        self.utr_lengths = utr_lengths
        self.source = source
        self.has_label = has_label
        self.extra_columns = list(extra_columns)
        # a gene model's own columns (predicted_log2fc), written by predict_pairs_gene's rows
        self.model_columns = list(model_columns)
        cols = list(GENE_COLUMNS) + self.model_columns
        if has_label:
            cols.append("label")
        write_tsv_header(handle, cols + self.extra_columns)
        self.n_written = 0
        self._mirna: str | None = None
        self._mirna_seq: str | None = None
        self._done: set[str] = set()
        self._pairs: dict[str, list] = {}  # mrna_id -> [best, n, best_type, label, extra]

    def add_grouped(
        self, mirna_id, mirna_seq, mrna_ids: np.ndarray, scores: np.ndarray, site_types: np.ndarray, line=None
    ) -> None:
        """Sites of one miRNA (any targets), vectorised over runs of equal consecutive ids."""
        n = len(mrna_ids)
        if not n:
            return
        mrna_ids = np.asarray(mrna_ids, dtype=object)
        starts = np.flatnonzero(np.r_[True, mrna_ids[1:] != mrna_ids[:-1]])
        best = np.maximum.reduceat(scores, starts)
        count = np.diff(np.r_[starts, n])
        btype = np.minimum.reduceat(np.asarray(site_types, dtype=np.int64), starts)
        self._switch(mirna_id, mirna_seq, line)
        pairs = self._pairs
        for tid, s, c, t in zip(mrna_ids[starts].tolist(), best.tolist(), count.tolist(), btype.tolist()):
            rec = pairs.get(tid)
            if rec is None:
                pairs[tid] = [s, c, t, "", ()]
            else:
                if s > rec[0]:
                    rec[0] = s
                rec[1] += c
                if t < rec[2]:
                    rec[2] = t

    def _switch(self, mirna_id: str, mirna_seq: str, line: int | None) -> None:
        if mirna_id == self._mirna:
            return
        self.flush()
        if mirna_id in self._done:
            raise InputError(
                f"sites of miRNA '{mirna_id}' are not grouped together; gene-level output needs the "
                "table grouped by miRNA (dt-scan-cts writes it so; sort by mirna_id first)",
                self.source,
                line,
            )
        self._mirna = mirna_id
        self._mirna_seq = mirna_seq

    def flush(self) -> None:
        if self._mirna is None:
            return
        mid = self._mirna
        tids = list(self._pairs)
        recs = list(self._pairs.values())
        best = np.array([r[0] for r in recs], dtype=np.float64)
        n_sites = np.array([r[1] for r in recs], dtype=np.int64)
        if self.aggregate == "poisson":
            missing = [t for t in tids if t not in self.utr_lengths]
            if missing:
                raise InputError(f"no UTR length known for target '{missing[0]}' (give the UTR FASTA)", self.source)
            lengths = np.array([self.utr_lengths[t] for t in tids], dtype=np.float64)
            score = self.chance.gene_scores(self._mirna_seq, best, lengths, n_sites)
        else:
            score = best
        text = format_scores(score)
        out = []
        for tid, rec, s in zip(tids, recs, text):
            row = [mid, tid, s, str(rec[1]), SITE_TYPE_NAMES[rec[2]]]
            if self.has_label:
                row.append(rec[3])
            row.extend(rec[4])
            out.append("\t".join(row) + "\n")
        self.handle.write("".join(out))
        self.n_written += len(out)
        self._done.add(mid)
        self._pairs = {}
        self._mirna = None

    def next_chunk(self) -> None:
        """Write what is held: the next chunk of targets restarts the miRNA order, so a miRNA
        may come back (a site table, one chunk, may not)."""
        self.flush()
        self._done.clear()

    def close(self) -> None:
        self.flush()
