"""miRNA:target duplexes, miRanda-style: the one home of the duplex score and alignment.

Used by dt-make-negatives (negative sites, :mod:`deeptarget_core.negatives`) and dt-explain
(the duplex drawn beside the attributions, :mod:`deeptarget_core.explain`).

The miRNA is read 3'->5' against the target 5'->3' and locally aligned (Smith-Waterman with
affine gaps, Gotoh). One aligned pair scores +5 for Watson-Crick (A:U, G:C), +2 for G:U, -3
otherwise (an N in the target is a mismatch); pairs of miRNA nt 2-8 (the seed) are
multiplied by 4, miRanda's default ``-scale 4`` for the 5' region. A gap of length k costs
9 + 4*(k-1) (miRanda's ``-go -9 -ge -4``), in the seed region too (gaps are not scaled). The
seed weighting is built into the alignment by giving the seed nt of the miRNA their own
letters with a 4x substitution row, and Biopython's ``PairwiseAligner`` (C) aligns. More in
the docstring of :mod:`deeptarget_core.negatives`. One :class:`DuplexScorer` per process is
shared (:func:`shared_scorer`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from .seq import normalise
from .sites import CTS_DOWNSTREAM, DEFAULT_CTS_LENGTH

WC_SCORE = 5
GU_SCORE = 2
MISMATCH_SCORE = -3
GAP_OPEN = -9
GAP_EXTEND = -4
SEED_SCALE = 4
SEED_FIRST, SEED_LAST = 2, 8  # miRNA nt (1-based) whose pairs are scaled
DEFAULT_MIN_SCORE = 140.0

_PAIR = {
    ("A", "U"): WC_SCORE,
    ("U", "A"): WC_SCORE,
    ("G", "C"): WC_SCORE,
    ("C", "G"): WC_SCORE,
    ("G", "U"): GU_SCORE,
    ("U", "G"): GU_SCORE,
}


def pair_score(mirna_nt: str, target_nt: str) -> int:
    """Unscaled score of one aligned miRNA:target pair."""
    return _PAIR.get((mirna_nt, target_nt), MISMATCH_SCORE)


_TARGET_LETTERS = "ACGUN"
_MIRNA_PLAIN = "ACGU"
_MIRNA_SEED = "acgu"  # seed nt 2-8 of the miRNA get their own, 4x scored letters


@dataclass(frozen=True)
class DuplexSite:
    """One miRNA:target duplex. Coordinates are 1-based inclusive on the target."""

    score: float
    aln_start: int  # first target nt of the local alignment
    aln_end: int  # last target nt of the local alignment
    site_end: int  # target nt opposite miRNA nt 1 (if aligned) else nt 2 (may lie past the end)
    mirna_first: int  # lowest miRNA nt (1-based, 5'->3') in the alignment
    mirna_last: int
    cts_start: int  # window clipped to the target
    cts_end: int
    cts_seq: str  # cts_length letters, N-padded (or the whole target when it is short)


def seed_weighted_query(mirna: str) -> str:
    """The miRNA 3'->5' with its nt 2-8 written in lower case (the 4x-scored letters)."""
    marked = "".join(c.lower() if SEED_FIRST <= i <= SEED_LAST else c for i, c in enumerate(mirna, start=1))
    return marked[::-1]


class DuplexScorer:
    """miRanda-style duplex scores and sites with Biopython's C aligner (see the module)."""

    def __init__(self) -> None:
        from Bio.Align import PairwiseAligner, substitution_matrices

        alphabet = _TARGET_LETTERS + _MIRNA_SEED
        matrix = substitution_matrices.Array(alphabet=alphabet, dims=2)
        for t in _TARGET_LETTERS:
            for m in _MIRNA_PLAIN:
                s = pair_score(m, t)
                matrix[t, m] = s
                matrix[t, m.lower()] = s * SEED_SCALE
        self.aligner = PairwiseAligner(
            mode="local",
            substitution_matrix=matrix,
            open_gap_score=GAP_OPEN,
            extend_gap_score=GAP_EXTEND,
        )

    def score(self, mirna: str, target: str) -> float:
        """Best local duplex score of a normalised miRNA (5'->3') in a target (5'->3')."""
        if not target:
            return 0.0
        return float(self.aligner.score(target, seed_weighted_query(mirna)))

    def _best(self, query: str, target: str, lo: int, hi: int, min_score: float) -> tuple[float, int, int, int, int] | None:
        """Best alignment in target[lo:hi] if it scores >= min_score (and > 0):
        (score, t_start, t_end, q_start, q_end), 0-based. Aligns (traceback) only then."""
        if hi - lo < 1:
            return None
        segment = target[lo:hi]
        score = float(self.aligner.score(segment, query))
        if score <= 0 or score < min_score:
            return None
        aln = self.aligner.align(segment, query)[0]
        coords = aln.coordinates
        return score, lo + int(coords[0, 0]), lo + int(coords[0, -1]), int(coords[1, 0]), int(coords[1, -1])

    def sites(
        self,
        mirna: str,
        target: str,
        n_sites: int = 1,
        min_score: float = DEFAULT_MIN_SCORE,
        cts_length: int = DEFAULT_CTS_LENGTH,
    ) -> list[DuplexSite]:
        """Up to ``n_sites`` non-overlapping sites scoring >= ``min_score``, best first."""
        query = seed_weighted_query(mirna)
        L = len(mirna)
        found: list[DuplexSite] = []
        heap: list[tuple[float, int, tuple]] = []

        def push(lo: int, hi: int) -> None:
            best = self._best(query, target, lo, hi, min_score)
            if best is not None:
                # Best score first; ties by position on the target (deterministic).
                heapq.heappush(heap, (-best[0], best[1], (lo, hi) + best))

        push(0, len(target))
        while heap and len(found) < n_sites:
            _, _, (lo, hi, score, ts, te, qs, qe) = heapq.heappop(heap)
            found.append(self._site(score, ts, te, qs, qe, L, target, cts_length))
            if len(found) < n_sites:
                push(lo, ts)
                push(te, hi)
        return found

    @staticmethod
    def _site(score: float, ts: int, te: int, qs: int, qe: int, L: int, target: str, cts_length: int) -> DuplexSite:
        # query index i (0-based, 3'->5') is miRNA nt L - i; the last aligned column pairs
        # target te-1 (0-based) with query qe-1, i.e. miRNA nt L - qe + 1.
        first = L - qe + 1
        last = L - qs
        site_end = te if first == 1 else te + (first - 2)  # 1-based
        cts_start, cts_end, cts_seq = window(target, site_end, cts_length)
        return DuplexSite(score, ts + 1, te, site_end, first, last, cts_start, cts_end, cts_seq)


def window(target: str, site_end: int, cts_length: int = DEFAULT_CTS_LENGTH) -> tuple[int, int, str]:
    """CTS window placed like :mod:`sites` places it: (cts_start, cts_end, N-padded seq).

    A target no longer than ``cts_length`` is returned whole.
    """
    n = len(target)
    if n <= cts_length:
        return 1, n, target
    end = site_end + CTS_DOWNSTREAM  # 1-based, may lie outside the target
    start = end - cts_length + 1
    lo, hi = max(start, 1), min(end, n)
    seq = "N" * (lo - start) + target[lo - 1 : hi] + "N" * (end - hi)
    return lo, hi, seq


_DEFAULT_SCORER: DuplexScorer | None = None


def shared_scorer() -> DuplexScorer:
    global _DEFAULT_SCORER
    if _DEFAULT_SCORER is None:
        _DEFAULT_SCORER = DuplexScorer()
    return _DEFAULT_SCORER


def duplex_score(mirna_seq: str, target_seq: str) -> float:
    """Best miRanda-style duplex score (see the module docstring)."""
    return shared_scorer().score(normalise(mirna_seq), normalise(target_seq))


@dataclass
class Duplex:
    """Duplex pairs: (miRNA index, CTS window index, 'WC'|'GU'|'mismatch'), 0-based, 5'->3'."""

    pairs: list[tuple[int, int, str]]
    score: float


def pair_type(m: str, t: str) -> str:
    if {m, t} in ({"A", "U"}, {"G", "C"}):
        return "WC"
    if {m, t} == {"G", "U"}:
        return "GU"
    return "mismatch"


def duplex(mirna: str, window: str) -> Duplex:
    """Best seed-weighted local duplex of the miRNA in the CTS window, with its pairs."""
    aligner = shared_scorer().aligner
    query = seed_weighted_query(mirna)
    score = float(aligner.score(window, query))
    if score <= 0:
        return Duplex([], score)
    aln = aligner.align(window, query)[0]
    n = len(mirna)
    pairs = []
    for (t0, t1), (q0, q1) in zip(aln.aligned[0], aln.aligned[1]):
        for t, q in zip(range(int(t0), int(t1)), range(int(q0), int(q1))):
            mi = n - 1 - q
            pairs.append((mi, t, pair_type(mirna[mi], window[t])))
    pairs.sort()
    return Duplex(pairs, score)


# --------------------------------------------------------------------------- the classic drawing

MATCH_MARK = {"WC": "|", "GU": ":"}
SEED_MARK = "^"


@dataclass(frozen=True)
class ClassicDuplex:
    """A duplex laid out as biologists read it (miRanda / TargetScan / RNAhybrid): the target
    5'->3' on top, the miRNA 3'->5' below, one column per aligned pair, ``|`` Watson-Crick,
    ``:`` G:U, a space for a mismatch; a bulge (a nucleotide with no partner) has a space in
    the other row. Columns run left to right along the target. The miRNA nt outside the local
    alignment continue it without gaps (no mark: they are not part of the duplex found); a
    target position beyond the given sequence is a space. ``seed`` has ``^`` under miRNA nt 2-8.

    ``target_first`` / ``target_last``: 0-based indexes into the target of the first and last
    target letter shown (None when none is)."""

    target: str
    match: str
    mirna: str
    seed: str
    target_first: int | None
    target_last: int | None

    def lines(self, header: str | None = None, target_label: str = "target", mirna_label: str = "miRNA") -> list[str]:
        """The pasteable text: an optional header (e.g. the site's position in the UTR), the
        target row, the match row, the miRNA row and the seed row (trailing spaces removed)."""
        width = max(len(target_label), len(mirna_label), len("seed"))
        pad = " " * (width + 4)
        rows = [
            f"{target_label:<{width}} 5' {self.target} 3'",
            pad + self.match,
            f"{mirna_label:<{width}} 3' {self.mirna} 5'",
            f"{'seed':<{width}}    {self.seed}",
        ]
        return ([header] if header else []) + [r.rstrip() for r in rows]

    def text(self, header: str | None = None, **labels: str) -> str:
        return "\n".join(self.lines(header, **labels)) + "\n"


def classic(mirna: str, target: str, dup: Duplex | None = None) -> ClassicDuplex:
    """The classic layout of ``dup`` (default: :func:`duplex` of the miRNA in ``target``); both
    sequences normalised, 5'->3'. With no aligned pair the miRNA is laid ungapped with nt 1
    opposite the target's last nucleotide."""
    if dup is None:
        dup = duplex(mirna, target)
    L = len(mirna)
    # (miRNA index or None, target index or None, mark), left to right along the target
    cols: list[tuple[int | None, int | None, str]] = []
    aligned = sorted(dup.pairs, key=lambda p: p[1])
    if not aligned:
        aligned = [(0, len(target) - 1, "mismatch")]
        marks = False
    else:
        marks = True
    first_m, first_t = aligned[0][0], aligned[0][1]
    # the miRNA's 3' end beyond the alignment, ungapped before it
    for k in range(L - 1 - first_m, 0, -1):
        cols.append((first_m + k, first_t - k, " "))
    for j, (mi, ti, kind) in enumerate(aligned):
        if j:
            pm, pt, _ = aligned[j - 1]
            bulge_t = list(range(pt + 1, ti))  # target nt with no miRNA partner
            bulge_m = list(range(pm - 1, mi, -1))  # miRNA nt with no target partner
            both = min(len(bulge_t), len(bulge_m))  # an internal loop: face to face, unpaired
            cols += [(m, t, " ") for m, t in zip(bulge_m[:both], bulge_t[:both])]
            cols += [(None, t, " ") for t in bulge_t[both:]]
            cols += [(m, None, " ") for m in bulge_m[both:]]
        cols.append((mi, ti, MATCH_MARK.get(kind, " ") if marks else " "))
    last_m, last_t = aligned[-1][0], aligned[-1][1]
    for k in range(1, last_m + 1):  # the miRNA's 5' end beyond the alignment
        cols.append((last_m - k, last_t + k, " "))
    shown = [t for _, t, _ in cols if t is not None and 0 <= t < len(target)]
    return ClassicDuplex(
        target="".join(target[t] if t is not None and 0 <= t < len(target) else " " for _, t, _ in cols),
        match="".join(mark for _, _, mark in cols),
        mirna="".join(mirna[m] if m is not None else " " for m, _, _ in cols),
        seed="".join(SEED_MARK if m is not None and SEED_FIRST <= m + 1 <= SEED_LAST else " " for m, _, _ in cols),
        target_first=min(shown) if shown else None,
        target_last=max(shown) if shown else None,
    )
