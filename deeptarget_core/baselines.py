"""Reference predictors that every evaluation can show next to the model.

* the seed-match rule (TargetScan-like, best site type -> score) is a site scorer,
  :class:`deeptarget_core.scorers.SeedMatchScorer` (``dt-predict --model seed-match``), so it
  runs through the same scanning and aggregation pipeline as the network; its gene table is
  the best site's score (the packaged gene model does not read site scores);
* :class:`IdentityBaseline`, the shortcut predictor: it never looks at the target, only at
  the miRNA's positive rate in a training pair table (a global prior for unseen miRNAs).
  Its within-miRNA AUC is exactly 0.5 by construction, so it shows how much of a standard
  score (ROC-AUC, F-measure) a benchmark hands out for miRNA identity alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .errors import InputError
from .io import PathLike, iter_tsv, parse_label


@dataclass
class IdentityBaseline:
    """score(miRNA, target) = positive rate of the miRNA in the training table."""

    rates: dict[str, float] = field(default_factory=dict)
    prior: float = 0.5
    n_train: int = 0

    @classmethod
    def fit(cls, path: PathLike) -> "IdentityBaseline":
        """From a table with ``mirna_id`` and ``label`` columns (a pair table)."""
        pos: dict[str, int] = {}
        tot: dict[str, int] = {}
        n = n_pos = 0
        for table in iter_tsv(path, ("mirna_id", "label")):
            mi, li = table.columns.index("mirna_id"), table.columns.index("label")
            for row, line in zip(table.rows, table.lines):
                y = parse_label(row[li], table.path, line)
                m = row[mi]
                tot[m] = tot.get(m, 0) + 1
                pos[m] = pos.get(m, 0) + y
                n += 1
                n_pos += y
        if not n:
            raise InputError("training table has no rows", str(path))
        return cls({m: pos[m] / tot[m] for m in tot}, n_pos / n, n)

    def score(self, mirna_ids: Sequence[str]) -> np.ndarray:
        return np.array([self.rates.get(m, self.prior) for m in mirna_ids], dtype=np.float64)

    def coverage(self, mirna_ids: Sequence[str]) -> float:
        """Fraction of rows whose miRNA was seen in training."""
        if not len(mirna_ids):
            return float("nan")
        return float(np.mean([m in self.rates for m in mirna_ids]))
