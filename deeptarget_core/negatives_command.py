"""dt-make-negatives' operation as a library call: :class:`NegativesCommand` (typed options) ->
:func:`run_make_negatives` -> :class:`NegativesOutcome`.

Owns the assembly of the positives (pair tables and/or miRNA + UTR FASTAs), the site
annotations they may carry (``site_start`` / ``site_end`` columns), the reference seeds, and the
writing of the negatives table and the mock-miRNA FASTA as one output group; and the run's
summary (:meth:`NegativesOutcome.report`, :meth:`NegativesOutcome.warnings`). The command layer
(tools/make_negatives.py) checks the option combinations and logs the outcome.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Sequence

from . import duplex, io, negatives, streams
from .errors import InputError
from .mirnas import EVERY_MIRNA, MirnaSelection
from .runtime import Progress, no_progress

log = logging.getLogger("deeptarget")


@dataclass
class NegativesCommand:
    """Options of one run (values, not flags)."""

    positives: Sequence[str] = ()
    mirna: str | None = None  # with utr: positives from FASTAs
    utr: str | None = None
    mirna_selection: MirnaSelection = EVERY_MIRNA  # which records of the miRNA FASTA
    id_pairs: str | None = None
    reference: str | None = None
    ratio: float = 1.0
    mocks_per_mirna: int | None = None  # None: ceil(ratio), at least 1
    min_score: float = duplex.DEFAULT_MIN_SCORE
    cts_length: int = 40
    max_tries: int = negatives.DEFAULT_MAX_TRIES
    fill: bool = False
    include_positives: bool = False
    out_format: str = "pairs"  # pairs | sites
    mock_fasta: str | None = None
    seed: int = 1
    output: str = "-"

    @property
    def mocks(self) -> int:
        """Mock miRNAs per real miRNA."""
        return self.mocks_per_mirna if self.mocks_per_mirna is not None else max(1, math.ceil(self.ratio))


@dataclass
class NegativesOutcome:
    summary: negatives.NegativeSummary
    n_mocks_used: int = 0
    dropped_columns: list[str] = field(default_factory=list)
    min_score: float = duplex.DEFAULT_MIN_SCORE
    ratio: float = 1.0

    def report(self) -> str:
        """The run's summary line."""
        s = self.summary
        hist = ", ".join(f"{n} with {made}" for made, n in s.per_positive.items())
        return (
            f"dt-make-negatives: {s.n_positives:d} positives ({s.n_mirnas:d} miRNAs, {s.n_groups:d} distinct miRNA-target "
            f"pairs), {s.n_mocks:d} mock miRNAs ({self.n_mocks_used:d} used): {s.n_negatives:d} negatives at score >= "
            f"{self.min_score:g} (positives: {hist}; {s.n_filled:d} filled from other targets) in {s.seconds:.1f} s"
        )

    def warnings(self, shortfall_hint: str) -> list[str]:
        """Warnings about the result: miRNAs without a mock; a ratio not reached (with the
        caller's ``shortfall_hint``: what to change)."""
        s, out = self.summary, []
        if s.mirnas_without_mocks:
            out.append(f"warning: {len(s.mirnas_without_mocks)} miRNA(s) got no mock, e.g. '{s.mirnas_without_mocks[0]}'")
        if s.n_negatives < s.target:
            share = 100.0 * s.n_negatives / max(s.target, 1)
            out.append(
                f"warning: ratio {self.ratio:g} not reached: {s.n_negatives:d} of {s.target:d} negatives ({share:.1f}%); "
                + shortfall_hint
            )
        return out


def run_make_negatives(cmd: NegativesCommand, progress: Progress | None = None) -> NegativesOutcome:
    """Make the negatives ``cmd`` asks for and write them (and the mocks' FASTA)."""
    progress = progress or no_progress
    pos = _positives(cmd)
    mirnas = negatives.mirnas_of(pos)
    ref_seeds: set[str] = set()
    if cmd.reference is not None:
        ref = negatives.read_reference_seeds(cmd.reference)
        ref_seeds = ref.seeds
        log.info(
            "reference: %d miRNAs, %d distinct seeds (%d with IUPAC codes expanded, %d under 8 nt skipped)",
            ref.n_records,
            len(ref.seeds),
            ref.n_ambiguous,
            ref.n_short,
        )
    k = cmd.mocks
    with progress("mock miRNAs", len(mirnas) * k) as advance:
        mocks = negatives.make_mock_mirnas(
            mirnas, ref_seeds, per_mirna=k, seed=cmd.seed, max_tries=cmd.max_tries, advance=advance
        )
    known = annotated_sites(pos) if cmd.include_positives else None
    with progress("negatives", len(pos.pairs)) as advance:
        rows, summary = negatives.make_negatives(
            pos.pairs,
            mocks,
            ratio=cmd.ratio,
            min_score=cmd.min_score,
            cts_length=cmd.cts_length,
            fill=cmd.fill,
            include_positives=cmd.include_positives,
            advance=advance,
            positive_sites=known,
        )
    own = set(negatives.OUTPUT_COLUMNS) | {"site_start", "site_end"}
    extra_names = [x for x in pos.extra_names if x not in own]
    dropped = [x for x in pos.extra_names if x in own]
    if dropped:
        log.info("input column(s) %s not carried (this tool writes its own)", ", ".join(dropped))
        keep = [i for i, x in enumerate(pos.extra_names) if x not in own]
        rows = [dataclasses.replace(r, extra=tuple(r.extra[i] for i in keep)) for r in rows]
    used = {r.mirna_id for r in rows if r.label == 0}
    lines = negatives.format_rows(rows, extra_names) if cmd.out_format == "pairs" else negatives.format_site_rows(rows)
    if cmd.mock_fasta is not None:
        with streams.output_group(), streams.atomic_output(cmd.mock_fasta) as fa, streams.atomic_output(cmd.output) as handle:
            handle.writelines(lines)
            io.write_fasta(fa, [(m.id, m.seq) for m in mocks if m.id in used])
    else:
        with streams.atomic_output(cmd.output) as handle:
            handle.writelines(lines)
    return NegativesOutcome(summary, len(used), dropped, cmd.min_score, cmd.ratio)


def _positives(cmd: NegativesCommand) -> negatives.Positives:
    """The positive pairs of every input, extra columns padded to one width."""
    pos = negatives.read_positives(cmd.positives) if cmd.positives else negatives.Positives([], [], [])
    if cmd.mirna is not None:
        more = negatives.positives_from_fasta(cmd.mirna, cmd.utr, cmd.id_pairs, cmd.mirna_selection)
        pos.pairs += more.pairs
        pos.paths += more.paths
        width = len(pos.extra_names)
        pos.pairs = [
            p if len(p.extra) == width else dataclasses.replace(p, extra=p.extra + ("",) * (width - len(p.extra)))
            for p in pos.pairs
        ]
    if not pos.pairs:
        where = ", ".join(streams.display_name(p) for p in cmd.positives) or streams.display_name(cmd.mirna)
        raise InputError("no positive pairs (every row has label 0, or the input is empty)", where)
    if pos.n_ignored:
        log.info("%d input row(s) with label 0 ignored", pos.n_ignored)
    return pos


def annotated_sites(pos: negatives.Positives) -> list[tuple[int, int] | None] | None:
    """(site_start, site_end) of each positive from extra columns of those names, if present."""
    if "site_end" not in pos.extra_names:
        return None
    ie = pos.extra_names.index("site_end")
    i_s = pos.extra_names.index("site_start") if "site_start" in pos.extra_names else ie
    out: list[tuple[int, int] | None] = []
    for p, path in zip(pos.pairs, pos.paths):
        a, b = p.extra[i_s].strip(), p.extra[ie].strip()
        if not b or b == "NA":
            if i_s != ie and a and a != "NA":
                raise InputError(f"site_start is {a} but site_end is '{b or ''}': give both or neither", path, p.line)
            out.append(None)
            continue
        try:
            start, end = io.parse_integer(a or b), io.parse_integer(b)
        except ValueError:
            raise InputError(f"site_start/site_end must be whole numbers, found '{a}'/'{b}'", path, p.line) from None
        if start > end:
            raise InputError(f"site_start {start} is after site_end {end}", path, p.line)
        if not 1 <= start <= end <= len(p.mrna_seq):
            raise InputError(f"site {start}-{end} lies outside mrna_seq (1-{len(p.mrna_seq)})", path, p.line)
        out.append((start, end))
    return out
