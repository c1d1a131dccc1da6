"""dt-make-negatives: negative training pairs from mock miRNAs (deepTarget, ACM-BCB 2016, 4.1.2)."""

from __future__ import annotations

import dataclasses
import logging
import math
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core import io, negatives
from deeptarget_core.errors import InputError
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    DEFAULT_SEED,
    OptCtsLength,
    OptDebug,
    OptMirnaFasta,
    OptOutput,
    OptQuiet,
    OptSeed,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    alias,
    float_option,
    hidden_alias,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Make negative miRNA-target pairs the deepTarget way: each real miRNA of the positives is "
    "shuffled into mock miRNAs whose seed (nt 2-8) matches no reference seed, and each mock's "
    "best miRanda-style duplex sites in the positive's own target become negative CTSs (label 0)."
)


class OutFormat(str, Enum):
    pairs = "pairs"
    sites = "sites"


@app.command()
def command(
    positives: Annotated[
        Optional[List[Path]],
        typer.Option(
            "--positives",
            help="Positive pair table (mirna_id mirna_seq mrna_id mrna_seq [label] ...), site level (a CTS) or gene level (a whole UTR); rows with label 0 are ignored. Repeat for several files.",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    mirna: OptMirnaFasta = None,
    utr: OptUtrFasta = None,
    pairs: Annotated[
        Optional[Path],
        typer.Option(
            "--id-pairs",
            help="With --mirna/--utr: the positive (miRNA, target) id pairs (default: every miRNA x every target).",
            metavar="TSV",
            rich_help_panel="Input",
        ),
    ] = None,
    pairs_old: Annotated[Optional[Path], hidden_alias("--pairs")] = None,
    reference_mirnas: Annotated[
        Optional[Path],
        typer.Option(
            "--reference-mirnas",
            help="miRNAs whose seeds mocks must avoid (FASTA, plain or gzip, e.g. miRBase mature.fa.gz); the input miRNAs are always avoided too (default: only they).",
            metavar="FASTA",
            rich_help_panel="Input",
        ),
    ] = None,
    ratio: Annotated[float, float_option("--ratio", low=0.0, high=1000.0, help="Negatives per positive.")] = 1.0,
    mocks_per_mirna: Annotated[
        Optional[int],
        typer.Option("--mocks-per-mirna", min=1, max=1000, help="Mock miRNAs per real miRNA [default: ceil(ratio), at least 1]."),
    ] = None,
    min_score: Annotated[
        float,
        float_option(
            "--min-score", help="Keep duplex sites scoring at least this (miRanda-style score; 140 = a perfect 7mer seed)."
        ),
    ] = negatives.DEFAULT_MIN_SCORE,
    cts_length: OptCtsLength = 40,
    max_tries: Annotated[
        int, typer.Option("--max-tries", min=1, max=10_000_000, help="Shuffles per mock before giving up on a miRNA.")
    ] = negatives.DEFAULT_MAX_TRIES,
    fill: Annotated[
        bool, typer.Option("--fill/--no-fill", help="Make up a shortfall with further sites of other positives' targets.")
    ] = True,
    include_positives: Annotated[
        bool,
        typer.Option(
            "--include-positives",
            help="Also write the positives (label 1): a ready training set. Targets longer than --cts-length are cut to the window of the annotated site (extra columns site_start/site_end, 1-based, site_end opposite miRNA nt 1) or else of the real miRNA's best duplex sites.",
        ),
    ] = False,
    out_format: Annotated[
        OutFormat,
        typer.Option("--format", help="pairs: pair table with label; sites: site table (site_type 'duplex') of the negatives."),
    ] = OutFormat.pairs,
    mock_fasta: Annotated[
        Optional[Path], typer.Option("--mock-fasta", help="Also write the mock miRNAs that were used as FASTA.", metavar="FASTA")
    ] = None,
    seed: OptSeed = DEFAULT_SEED,
    output: OptOutput = "-",
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Write negatives (label 0) for the positives; a summary goes to stderr."""
    _cli.setup_logging(quiet, verbose)
    pairs = alias(pairs, pairs_old, "--id-pairs", "--pairs")
    if not positives and (mirna is None or utr is None):
        raise typer.BadParameter("give --positives, or --mirna and --utr")
    if (mirna is None) != (utr is None):
        raise typer.BadParameter("--mirna and --utr go together")
    if pairs is not None and mirna is None:
        raise typer.BadParameter("--id-pairs goes with --mirna/--utr")
    if not math.isfinite(ratio):
        raise typer.BadParameter("--ratio must be a finite number")
    if include_positives and out_format == OutFormat.sites:
        raise typer.BadParameter("--include-positives needs --format pairs")
    k = mocks_per_mirna if mocks_per_mirna is not None else max(1, math.ceil(ratio))
    _make(
        positives or [],
        mirna,
        utr,
        pairs,
        reference_mirnas,
        ratio,
        k,
        min_score,
        cts_length,
        max_tries,
        fill,
        include_positives,
        out_format,
        mock_fasta,
        seed,
        output,
        debug=debug,
    )


@_cli.handle_errors
def _make(
    positive_paths,
    mirna,
    utr,
    pairs,
    reference,
    ratio,
    k,
    min_score,
    cts_length,
    max_tries,
    fill,
    include_positives,
    out_format,
    mock_fasta,
    seed,
    output,
    debug=False,
) -> None:
    _cli.check_paths(
        {"--positives": positive_paths, "--mirna": mirna, "--utr": utr, "--id-pairs": pairs, "--reference-mirnas": reference},
        {"-o": output, "--mock-fasta": mock_fasta},
    )
    if mock_fasta is not None and str(mock_fasta) == str(output) == "-":
        raise typer.BadParameter("--mock-fasta and -o cannot both be stdout")
    stdin_inputs = [p for p in [*positive_paths, mirna, utr, pairs, reference] if p is not None and str(p) == "-"]
    if len(stdin_inputs) > 1:
        raise InputError("only one input can be read from stdin")
    pos = negatives.read_positives(positive_paths) if positive_paths else negatives.Positives([], [], [])
    if mirna is not None:
        more = negatives.positives_from_fasta(mirna, utr, pairs)
        pos.pairs += more.pairs
        pos.paths += more.paths
        pos.pairs = [
            p
            if len(p.extra) == len(pos.extra_names)
            else io.Pair(
                p.mirna_id,
                p.mirna_seq,
                p.mrna_id,
                p.mrna_seq,
                p.label,
                p.extra + ("",) * (len(pos.extra_names) - len(p.extra)),
                p.line,
            )
            for p in pos.pairs
        ]
    if not pos.pairs:
        where = ", ".join(io.display_name(p) for p in positive_paths) or io.display_name(mirna)
        raise InputError("no positive pairs (every row has label 0, or the input is empty)", where)
    if pos.n_ignored:
        log.info("%d input row(s) with label 0 ignored", pos.n_ignored)
    mirnas = negatives.mirnas_of(pos)
    ref_seeds: set[str] = set()
    if reference is not None:
        ref = negatives.read_reference_seeds(reference)
        ref_seeds = ref.seeds
        log.info(
            "reference: %d miRNAs, %d distinct seeds (%d with IUPAC codes expanded, %d under 8 nt skipped)",
            ref.n_records,
            len(ref.seeds),
            ref.n_ambiguous,
            ref.n_short,
        )
    with _cli.progress("mock miRNAs", total=len(mirnas) * k) as advance:
        mocks = negatives.make_mock_mirnas(mirnas, ref_seeds, per_mirna=k, seed=seed, max_tries=max_tries, advance=advance)
    known = _annotated_sites(pos) if include_positives else None
    with _cli.progress("negatives", total=len(pos.pairs)) as advance:
        rows, summary = negatives.make_negatives(
            pos.pairs,
            mocks,
            ratio=ratio,
            min_score=min_score,
            cts_length=cts_length,
            fill=fill,
            include_positives=include_positives,
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
    if mock_fasta is not None and str(mock_fasta) == str(output) and str(output) == "-":
        raise InputError("--mock-fasta and -o cannot both be stdout")
    lines = negatives.format_rows(rows, extra_names) if out_format == OutFormat.pairs else negatives.format_site_rows(rows)
    if mock_fasta is not None:
        with io.output_group(), io.atomic_output(mock_fasta) as fa, io.atomic_output(output) as handle:
            handle.writelines(lines)
            io.write_fasta(fa, [(m.id, m.seq) for m in mocks if m.id in used])
    else:
        with io.atomic_output(output) as handle:
            handle.writelines(lines)
    hist = ", ".join(f"{n} with {made}" for made, n in summary.per_positive.items())
    log.info(
        "dt-make-negatives: %d positives (%d miRNAs, %d distinct miRNA-target pairs), %d mock miRNAs "
        "(%d used): %d negatives at score >= %g (positives: %s; %d filled from other targets) in %.1f s",
        summary.n_positives,
        summary.n_mirnas,
        summary.n_groups,
        summary.n_mocks,
        len(used),
        summary.n_negatives,
        min_score,
        hist,
        summary.n_filled,
        summary.seconds,
    )
    if summary.mirnas_without_mocks:
        log.warning(
            "warning: %d miRNA(s) got no mock, e.g. '%s'", len(summary.mirnas_without_mocks), summary.mirnas_without_mocks[0]
        )
    if summary.n_negatives < summary.target:
        log.warning(
            "warning: ratio %g not reached: %d of %d negatives (%.1f%%); lower --min-score, raise "
            "--mocks-per-mirna or give longer targets",
            ratio,
            summary.n_negatives,
            summary.target,
            100.0 * summary.n_negatives / max(summary.target, 1),
        )


def _annotated_sites(pos: negatives.Positives) -> list[tuple[int, int] | None] | None:
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


def main() -> None:
    _cli.run(app)
