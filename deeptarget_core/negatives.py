"""Negative training data the deepTarget way: mock miRNAs and miRanda-style duplex sites.

Mock miRNAs
    A mock of a real miRNA is a Fisher-Yates shuffle of its sequence (same length and
    composition), redrawn until its seed (nt 2-8) equals no *forbidden* seed: the seeds of
    the reference miRNAs (e.g. all of miRBase) plus the seeds of the input miRNAs. The
    mocks of one miRNA are distinct sequences. Each miRNA has its own random stream,
    ``numpy.random.default_rng(SHA-256("<seed>\\t<id>\\t<sequence>"))`` (PCG64); one shuffle
    is the classic loop ``for i = n-1 .. 1: j = rng.integers(0, i+1); swap(i, j)``. So a
    miRNA's mocks depend only on ``seed``, its id and its sequence, not on the other inputs
    or their order. A miRNA is given up after ``max_tries`` shuffles per mock, with a
    warning naming it. Mock ids are ``<id>_mock1``, ``<id>_mock2``, ...

    Reference records are read leniently, since they only supply seeds: any IUPAC letter is
    accepted; a seed with ambiguity codes forbids every A/C/G/U seed it can stand for (so a
    mock avoids all of them); records shorter than 8 nt have no full seed and are skipped;
    letters that are not IUPAC nucleotide codes are an input error.

Duplex score (miRanda-style)
    The miRNA is read 3'->5' against the target 5'->3' and locally aligned (Smith-Waterman
    with affine gaps, Gotoh). One aligned pair scores +5 for Watson-Crick (A:U, G:C), +2 for
    G:U, -3 otherwise (an N in the target is a mismatch); pairs of miRNA nt 2-8 (the seed)
    are multiplied by 4, miRanda's default ``-scale 4`` for the 5' region. A gap of length
    k costs 9 + 4*(k-1) (miRanda's ``-go -9 -ge -4``), in the seed region too (gaps are not
    scaled). The score is the best local alignment score under these rules, exact: the
    seed weighting is built into the alignment by giving the seed nt of the miRNA their own
    letters with a 4x substitution row, and Biopython's ``PairwiseAligner`` (C) aligns.
    Compared with miRanda 3.3a this is the raw alignment score before miRanda's extra
    filters: no free-energy (Vienna RNAfold) threshold, no ``-strict`` seed rule, no
    removal of the alignment's unpaired ends; a perfect 7mer seed alone scores 7*5*4 = 140,
    miRanda's default score threshold.

Sites and CTS windows
    The sites of a miRNA in a target are found greedily: the best local alignment, then
    recursively the best in the parts of the target left and right of it (non-overlapping
    sites, best first). A site's 3' end is the target nt opposite miRNA nt 1 when nt 1 is
    aligned, otherwise the nt opposite nt 2 (extrapolated without gaps from the first
    aligned miRNA nt), as :mod:`deeptarget_core.sites` defines it for seed matches. The CTS
    window is placed like the scanner places it: it ends ``CTS_DOWNSTREAM`` (4) nt 3' of
    the site's 3' end (window position 36 of 40), clipped to the target and padded with N.
    A target no longer than the window (a site-level CTS) is kept whole and unchanged.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

import numpy as np

from .duplex import (
    DEFAULT_MIN_SCORE,
    DuplexScorer,
    DuplexSite,
    shared_scorer,
    window,
)
from .errors import InputError
from .io import SITE_COLUMNS, Pair, iter_fasta_text, read_fasta, read_id_pairs, read_pairs
from .mirnas import EVERY_MIRNA, MirnaSelection, read_mirnas
from .seq import MIN_MIRNA_LENGTH, normalise
from .sites import DEFAULT_CTS_LENGTH, DUPLEX_SITE
from .streams import display_name

log = logging.getLogger("deeptarget")

DEFAULT_MAX_TRIES = 1000

IUPAC = {
    "A": "A",
    "C": "C",
    "G": "G",
    "U": "U",
    "R": "AG",
    "Y": "CU",
    "S": "CG",
    "W": "AU",
    "K": "GU",
    "M": "AC",
    "B": "CGU",
    "D": "AGU",
    "H": "ACU",
    "V": "ACG",
    "N": "ACGU",
}


# --------------------------------------------------------------------------- reference seeds


@dataclass
class ReferenceSeeds:
    seeds: set[str]
    n_records: int = 0
    n_short: int = 0
    n_ambiguous: int = 0


def expand_seed(seed: str) -> list[str]:
    """All A/C/G/U 7-mers an IUPAC seed can stand for."""
    return ["".join(p) for p in itertools.product(*(IUPAC[c] for c in seed))]


def read_reference_seeds(path: str | Path) -> ReferenceSeeds:
    """Seeds (nt 2-8) of a reference miRNA FASTA (plain or gzip), read leniently (see module)."""
    ref = ReferenceSeeds(set())
    for header, chunks, line, name in iter_fasta_text(path, unique_ids=False):
        rid = header.split()[0]
        seq = normalise("".join(chunks).replace(" ", ""))
        bad = set(seq) - IUPAC.keys()
        if bad:
            letters = ", ".join(sorted(repr(c) for c in bad))
            at = next((i for i, c in enumerate(chunks) if set(normalise(c.replace(" ", ""))) - IUPAC.keys()), -1)
            raise InputError(f"record '{rid}' contains {letters}, not IUPAC nucleotide codes", name, line + 1 + at)
        ref.n_records += 1
        if len(seq) < MIN_MIRNA_LENGTH:
            ref.n_short += 1
            continue
        s = seq[1:8]
        if set(s) <= set("ACGU"):
            ref.seeds.add(s)
        else:
            ref.n_ambiguous += 1
            ref.seeds.update(expand_seed(s))
    return ref


# --------------------------------------------------------------------------- mock miRNAs


@dataclass(frozen=True)
class MockMirna:
    id: str
    seq: str
    source_id: str
    source_seq: str
    tries: int  # shuffles drawn for this mock


def mirna_rng(seed: int, mirna_id: str, mirna_seq: str) -> np.random.Generator:
    """The random stream of one miRNA: independent of the other miRNAs and their order."""
    digest = hashlib.sha256(f"{seed}\t{mirna_id}\t{mirna_seq}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "big"))


def fisher_yates(seq: str, rng: np.random.Generator) -> str:
    """One uniform random permutation of ``seq`` (Fisher-Yates / Knuth shuffle)."""
    letters = list(seq)
    for i in range(len(letters) - 1, 0, -1):
        j = int(rng.integers(0, i + 1))
        letters[i], letters[j] = letters[j], letters[i]
    return "".join(letters)


def make_mock_mirnas(
    mirnas: Iterable[tuple[str, str]],
    reference_seeds: Collection[str] | None = None,
    per_mirna: int = 1,
    seed: int = 0,
    max_tries: int = DEFAULT_MAX_TRIES,
    advance: Callable[[int], None] | None = None,
) -> list[MockMirna]:
    """Mock miRNAs for (id, sequence) pairs, in input order (see the module docstring).
    ``advance(n)`` is called as mocks are made (a progress bar for large --mocks-per-mirna).

    ``reference_seeds``: forbidden seeds besides those of ``mirnas`` themselves (None = none).
    An id seen again with another sequence is a separate miRNA whose mocks are named
    ``<id>_v2_mock1``, ... A miRNA for which a mock cannot be found within ``max_tries`` shuffles gets fewer (or no)
    mocks and a warning naming it.
    """
    if per_mirna < 1:
        raise ValueError("per_mirna must be at least 1")
    mirnas = list(mirnas)
    forbidden = set(reference_seeds or ())
    forbidden.update(normalise(s)[1:8] for _, s in mirnas)
    out: list[MockMirna] = []
    done: set[tuple[str, str]] = set()
    variants: dict[str, int] = {}
    for mid, raw_seq in mirnas:
        seq = normalise(raw_seq)
        if (mid, seq) in done:
            continue
        done.add((mid, seq))
        variants[mid] = variants.get(mid, 0) + 1
        name = mid if variants[mid] == 1 else f"{mid}_v{variants[mid]}"
        rng = mirna_rng(seed, mid, seq)
        used: set[str] = set()
        for k in range(1, per_mirna + 1):
            for tries in range(1, max_tries + 1):
                mock = fisher_yates(seq, rng)
                if mock[1:8] not in forbidden and mock not in used:
                    used.add(mock)
                    out.append(MockMirna(f"{name}_mock{k}", mock, mid, seq, tries))
                    if advance is not None:
                        advance(1)
                    break
            else:
                log.warning(
                    "warning: no mock for miRNA '%s' (%s) after %d shuffles: every shuffle hit a "
                    "forbidden seed; it gets %d of %d mocks",
                    mid,
                    seq,
                    max_tries,
                    k - 1,
                    per_mirna,
                )
                break
    return out


def find_negative_sites(
    mirna_seq: str,
    target_seq: str,
    n_sites: int = 1,
    min_score: float = DEFAULT_MIN_SCORE,
    cts_length: int = DEFAULT_CTS_LENGTH,
) -> list[DuplexSite]:
    """Sites of a (mock) miRNA in one target: up to ``n_sites``, score >= ``min_score``, best first."""
    return shared_scorer().sites(normalise(mirna_seq), normalise(target_seq), n_sites, min_score, cts_length)


# --------------------------------------------------------------------------- negatives


@dataclass(frozen=True)
class OutRow:
    """One output row: a negative (label 0) or, optionally, a positive (label 1)."""

    positive: int  # index of the positive it was made for / is
    rank: int
    label: int
    mirna_id: str
    mirna_seq: str
    mrna_id: str
    source_mirna_id: str
    site: DuplexSite | None  # None for a site-level target kept whole without a site
    mrna_seq: str
    extra: tuple[str, ...]
    filled: bool = False


@dataclass
class NegativeSummary:
    n_positives: int = 0
    n_groups: int = 0
    n_mirnas: int = 0
    n_mocks: int = 0
    target: int = 0
    n_negatives: int = 0
    n_filled: int = 0
    per_positive: dict[int, int] = field(default_factory=dict)  # negatives made -> positives
    mirnas_without_mocks: list[str] = field(default_factory=list)
    seconds: float = 0.0


def quotas(n_positives: int, ratio: float) -> list[int]:
    """Negatives wanted per positive: ``floor((i+1)*ratio) - floor(i*ratio)``, sum = floor(n*ratio)."""
    return [math.floor((i + 1) * ratio + 1e-9) - math.floor(i * ratio + 1e-9) for i in range(n_positives)]


def make_negatives(
    positives: Sequence[Pair],
    mocks: Sequence[MockMirna],
    ratio: float = 1.0,
    min_score: float = DEFAULT_MIN_SCORE,
    cts_length: int = DEFAULT_CTS_LENGTH,
    fill: bool = True,
    include_positives: bool = False,
    advance: Callable[[int], None] | None = None,
    positive_sites: Sequence[tuple[int, int] | None] | None = None,
) -> tuple[list[OutRow], NegativeSummary]:
    """Negatives for positive pairs: mock miRNA x site in the positive's own target.

    Positives sharing miRNA id, target id and target sequence form one group; its quota is the
    sum of its positives' quotas (see :func:`quotas`). For every mock of the group's miRNA the
    best ``quota`` sites (score >= ``min_score``) are candidates; the group takes its best
    ``quota`` candidates (score, then mock order, then position), assigned to its positives in
    turn. With ``fill``, a shortfall is made up from the remaining candidates of all groups in
    rounds: every group's best remaining candidate first (best score first), then every
    group's second, and so on, so that no target supplies many more than the others. Rows come back sorted by positive, then rank.

    ``include_positives`` adds the positives (label 1): a target no longer than ``cts_length``
    is kept whole; a longer one is cut to the window of the annotated site when
    ``positive_sites[i]`` gives its (site_start, site_end) (1-based, site_end = the nt opposite
    miRNA nt 1), else to the windows of the real miRNA's best non-overlapping sites.
    """
    t0 = time.perf_counter()
    scorer = shared_scorer()
    summary = NegativeSummary(n_positives=len(positives), n_mocks=len(mocks))
    by_mirna: dict[tuple[str, str], list[MockMirna]] = {}
    for m in mocks:
        by_mirna.setdefault((m.source_id, m.source_seq), []).append(m)
    want = quotas(len(positives), ratio)
    summary.target = sum(want)
    groups: dict[tuple[str, str, str, str], list[int]] = {}
    for i, p in enumerate(positives):
        groups.setdefault((p.mirna_id, p.mirna_seq, p.mrna_id, p.mrna_seq), []).append(i)
    summary.n_groups = len(groups)
    summary.n_mirnas = len({p.mirna_id for p in positives})
    summary.mirnas_without_mocks = sorted({p.mirna_id for p in positives if (p.mirna_id, p.mirna_seq) not in by_mirna})
    rows: list[OutRow] = []
    made = [0] * len(positives)
    leftovers: list[tuple[int, float, int, int, int, MockMirna, DuplexSite, int]] = []
    for g, ((mid, mseq, tid, tseq), members) in enumerate(groups.items()):
        quota = sum(want[i] for i in members)
        if include_positives:
            known = [positive_sites[i] if positive_sites is not None else None for i in members]
            rows += _positive_rows(scorer, positives, members, known, tseq, cts_length)
        cands = []
        if quota > 0 or fill:
            cands = _candidates(scorer, by_mirna.get((mid, mseq), ()), tseq, quota + 1 if fill else quota, min_score, cts_length)
        turn = [i for i in members for _ in range(want[i])]
        for j, (_, k, pos, mock, s) in enumerate(cands):
            if j < len(turn):
                i = turn[j]
                rows.append(OutRow(i, made[i], 0, mock.id, mock.seq, tid, mid, s, s.cts_seq, positives[i].extra))
                made[i] += 1
            elif fill:
                leftovers.append((j - len(turn), -s.score, g, k, pos, mock, s, members[0]))
        if advance is not None:
            advance(len(members))
    if fill:
        summary.n_filled = _fill_shortfall(rows, leftovers, summary.target - sum(made), positives, made)
    rows.sort(key=lambda r: (r.positive, r.rank))
    summary.n_negatives = sum(made)
    hist: dict[int, int] = {}
    for n in made:
        hist[n] = hist.get(n, 0) + 1
    summary.per_positive = dict(sorted(hist.items()))
    summary.seconds = time.perf_counter() - t0
    return rows, summary


def _positive_rows(
    scorer: DuplexScorer,
    positives: Sequence[Pair],
    members: list[int],
    known: list[tuple[int, int] | None],
    tseq: str,
    cts_length: int,
) -> list[OutRow]:
    """The label-1 rows of one group of positives (same miRNA and target): the whole target
    when it fits in ``cts_length``, else the window of the annotated site (``known``) or of
    the real miRNA's next best site."""
    real = positives[members[0]].mirna_seq
    psites: list[DuplexSite | None] = []
    if len(tseq) > cts_length:
        n_free = sum(1 for x in known if x is None)
        psites = list(scorer.sites(real, tseq, n_free, float("-inf"), cts_length)) if n_free else []
    psites += [None] * (len(members) - len(psites))
    free = iter(psites)
    rows = []
    for k, i in enumerate(members):
        p = positives[i]
        if len(tseq) <= cts_length:
            site = _whole_target_site(scorer, real, tseq)
        elif known[k] is not None:
            site = _annotated_site(scorer, real, tseq, known[k], cts_length)
        else:
            site = next(free)
        cts = site.cts_seq if site is not None else tseq
        rows.append(OutRow(i, -1, 1, p.mirna_id, p.mirna_seq, p.mrna_id, p.mirna_id, site, cts, p.extra))
    return rows


def _candidates(
    scorer: DuplexScorer, mocks: Sequence[MockMirna], tseq: str, n_sites: int, min_score: float, cts_length: int
) -> list[tuple[float, int, int, MockMirna, DuplexSite]]:
    """Each mock's best ``n_sites`` sites in the target as (-score, mock index, position, mock,
    site), best first (score, then mock order, then position)."""
    cands = []
    for k, mock in enumerate(mocks):
        for s in scorer.sites(mock.seq, tseq, n_sites, min_score, cts_length):
            cands.append((-s.score, k, s.aln_start, mock, s))
    cands.sort(key=lambda c: c[:3])
    return cands


def _fill_shortfall(rows: list[OutRow], leftovers: list, deficit: int, positives: Sequence[Pair], made: list[int]) -> int:
    """Make up ``deficit`` negatives from the groups' remaining candidates in rounds (every
    group's best remaining first, best score first); returns how many were added."""
    if deficit <= 0 or not leftovers:
        return 0
    leftovers.sort(key=lambda c: c[:5])
    n = 0
    for _, _, _, _, _, mock, s, i in leftovers[:deficit]:
        p = positives[i]
        rows.append(OutRow(i, made[i], 0, mock.id, mock.seq, p.mrna_id, p.mirna_id, s, s.cts_seq, p.extra, True))
        made[i] += 1
        n += 1
    return n


def _annotated_site(scorer: DuplexScorer, mirna: str, target: str, span: tuple[int, int], cts_length: int) -> DuplexSite:
    start, end = span
    cts_start, cts_end, cts_seq = window(target, end, cts_length)
    score = scorer.score(mirna, cts_seq)
    return DuplexSite(score, start, end, end, 1, len(mirna), cts_start, cts_end, cts_seq)


def _whole_target_site(scorer: DuplexScorer, mirna: str, target: str) -> DuplexSite | None:
    found = scorer.sites(mirna, target, 1, float("-inf"), len(target))
    return found[0] if found else None


OUTPUT_COLUMNS = (
    "mirna_id",
    "mirna_seq",
    "mrna_id",
    "mrna_seq",
    "label",
    "source_mirna_id",
    "score",
    "aln_start",
    "aln_end",
    "cts_start",
    "cts_end",
)


def format_rows(rows: Iterable[OutRow], extra_names: Sequence[str]) -> Iterable[str]:
    """Pair-table lines (with header) for :data:`OUTPUT_COLUMNS` plus the carried extra columns."""
    yield "\t".join(OUTPUT_COLUMNS + tuple(extra_names)) + "\n"
    for r in rows:
        s = r.site
        site_cols = (
            ("NA", "NA", "NA", "1", str(len(r.mrna_seq)))
            if s is None
            else (f"{s.score:g}", str(s.aln_start), str(s.aln_end), str(s.cts_start), str(s.cts_end))
        )
        fields = (r.mirna_id, r.mirna_seq, r.mrna_id, r.mrna_seq, str(r.label), r.source_mirna_id) + site_cols + r.extra
        yield "\t".join(fields) + "\n"


def format_site_rows(rows: Iterable[OutRow]) -> Iterable[str]:
    """Site-table lines (io.SITE_COLUMNS, site_type ``duplex``) for the negatives."""

    yield "\t".join(SITE_COLUMNS) + "\n"
    for r in rows:
        if r.label != 0 or r.site is None:
            continue
        s = r.site
        yield f"{r.mirna_id}\t{r.mrna_id}\t{DUPLEX_SITE}\t{s.aln_start}\t{s.aln_end}\t{s.cts_start}\t{s.cts_end}\t{s.cts_seq}\n"


@dataclass
class Positives:
    """Positive pairs from one or more inputs; ``paths[i]`` names the file of ``pairs[i]``."""

    pairs: list[Pair]
    paths: list[str]
    extra_names: list[str]
    n_ignored: int = 0  # rows with label 0


def read_positives(paths: Sequence[str | Path]) -> Positives:
    """Pair tables (site or gene level): rows with label 1, or every row without a label column.

    Extra columns are carried: their union over the files in first-seen order (empty where a
    file lacks one).
    """

    tables = []
    names: list[str] = []
    for path in paths:
        extra, pairs = read_pairs(path)
        tables.append((display_name(path), extra, pairs))
        names += [x for x in extra if x not in names]
    out = Positives([], [], names)
    for name, extra, pairs in tables:
        index = [extra.index(x) if x in extra else -1 for x in names]
        for p in pairs:
            if p.label == 0:
                out.n_ignored += 1
                continue
            if index != list(range(len(extra))):
                p = Pair(
                    p.mirna_id,
                    p.mirna_seq,
                    p.mrna_id,
                    p.mrna_seq,
                    p.label,
                    tuple(p.extra[j] if j >= 0 else "" for j in index),
                    p.line,
                )
            out.pairs.append(p)
            out.paths.append(name)
    return out


def positives_from_fasta(
    mirna_fasta: str | Path,
    target_fasta: str | Path,
    pairs_path: str | Path | None = None,
    selection: MirnaSelection = EVERY_MIRNA,
) -> Positives:
    """Positives as FASTA: every (miRNA, target) pair listed in ``pairs_path`` (any table with
    mirna_id and mrna_id columns, or two id columns), or every miRNA (that ``selection`` keeps)
    x every target."""

    mirnas = read_mirnas(mirna_fasta, selection)
    targets = {r.id: r.seq for r in read_fasta(target_fasta, kind="target")}
    wanted = read_id_pairs(pairs_path) if pairs_path is not None else None
    if wanted is not None:
        for ids, known, what, source in (
            (set(wanted), mirnas, "miRNA", mirna_fasta),
            ({t for ts in wanted.values() for t in ts}, targets, "target", target_fasta),
        ):
            unknown = sorted(ids - known.keys())
            if unknown:
                raise InputError(
                    f"{len(unknown)} {what} id(s) of the pair list are not in {display_name(source)}, e.g. '{unknown[0]}'",
                    display_name(pairs_path),
                )
    out = Positives([], [], [])
    for mid, mseq in mirnas.items():
        for tid, tseq in targets.items():
            if wanted is None or tid in wanted.get(mid, ()):
                out.pairs.append(Pair(mid, mseq, tid, tseq, None, (), 0))
                out.paths.append(display_name(pairs_path if pairs_path is not None else mirna_fasta))
    return out


def mirnas_of(positives: Positives) -> list[tuple[str, str]]:
    """Distinct (id, sequence) miRNAs in first-appearance order.

    An id with several sequences (miRBase versions differ) is logged; each sequence is its own
    miRNA (see :func:`make_mock_mirnas` for the mock names).
    """
    seen: dict[tuple[str, str], None] = {}
    first: dict[str, tuple[str, str, int]] = {}
    for p, path in zip(positives.pairs, positives.paths):
        if (p.mirna_id, p.mirna_seq) not in seen:
            seen[(p.mirna_id, p.mirna_seq)] = None
            old = first.setdefault(p.mirna_id, (p.mirna_seq, path, p.line))
            if old[0] != p.mirna_seq:
                log.warning(
                    "warning: %s:%d: miRNA id '%s' also appears with another sequence (%s:%d); each sequence gets its own mocks",
                    path,
                    p.line,
                    p.mirna_id,
                    old[1],
                    old[2],
                )
    return list(seen)
