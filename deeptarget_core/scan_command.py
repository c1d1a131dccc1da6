"""dt-scan-cts' operation as a library call: :class:`ScanCommand` (typed options) ->
:func:`run_scan` -> :class:`ScanOutcome`.

Owns the choice of inputs (miRNA + UTR FASTAs, optionally restricted to id pairs, or a
gene-level pair table), the genome annotation for BED output, and the writing of the site
table through :func:`deeptarget_core.sites.write_site_table`; and the run's summary line
(:meth:`ScanOutcome.report`). The command layer (tools/scan_cts.py) checks the option
combinations and logs the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import genome, io, scan_inputs, sites, streams
from .mirnas import EVERY_MIRNA, MirnaSelection
from .runtime import Progress, no_progress
from .scorers import SEED_MATCH_SCORES


@dataclass
class ScanCommand:
    """Options of one scan (values, not flags): ``mirna`` + ``utr`` (``id_pairs`` restricts
    them), or ``pair_table`` with whole 3'UTRs."""

    output: str = "-"
    mirna: str | None = None
    utr: str | None = None
    id_pairs: str | None = None
    pair_table: str | None = None
    site_types: str = "canonical"  # canonical | relaxed
    cts_length: int = sites.DEFAULT_CTS_LENGTH
    chunk_size: int = sites.DEFAULT_CHUNK_NT  # target nucleotides indexed at once
    utr_bed: str | None = None
    out_format: str = "tsv"  # tsv | bed | bed12 (the last two need utr_bed)
    mirna_selection: MirnaSelection = EVERY_MIRNA  # which records of the miRNA FASTA
    strict_targets: bool = False  # IUPAC ambiguity letters in the UTR FASTA refused, not read as N


@dataclass
class ScanOutcome:
    summary: sites.ScanSummary

    def report(self) -> str:
        s = self.summary
        types = ", ".join(f"{t} {s.by_type[t]}" for t in sites.SITE_TYPES if s.by_type[t])
        return (
            f"dt-scan-cts: {s.n_mirnas} miRNAs x {s.n_targets} targets ({s.n_nt / 1e6:.1f} Mnt): "
            f"{s.n_sites} sites ({types or 'none'}) in {s.seconds:.1f} s"
        )


def run_scan(cmd: ScanCommand, progress: Progress | None = None) -> ScanOutcome:
    """Scan ``cmd``'s miRNAs against its targets and write the site table (all or nothing);
    ``progress`` is told the sites found."""
    if cmd.pair_table is not None:
        inputs = scan_inputs.inputs_from_pair_table(cmd.pair_table)
    else:
        restriction = io.read_id_pairs(cmd.id_pairs) if cmd.id_pairs is not None else None
        inputs = scan_inputs.inputs_from_fasta(
            cmd.mirna, cmd.utr, restriction, cmd.id_pairs, cmd.mirna_selection, cmd.strict_targets
        )
    relaxed = cmd.site_types == "relaxed"
    scanner = sites.SiteScanner(inputs.mirnas, cts_length=cmd.cts_length, relaxed=relaxed, pairs=inputs.pairs)
    annotation, type_scores = None, None
    targets = inputs.targets
    if cmd.utr_bed is not None:
        annotation, type_scores = genome.read_utr_bed(cmd.utr_bed), SEED_MATCH_SCORES
        targets = annotation.check_lengths(targets, streams.display_name(cmd.pair_table or cmd.utr))
    chunks = sites.iter_target_chunks(targets, cts_length=cmd.cts_length, chunk_nt=cmd.chunk_size)
    with genome.site_output(cmd.output, cmd.out_format, annotation, type_scores) as handle:
        with (progress or no_progress)("sites found", None) as advance:
            return ScanOutcome(sites.write_site_table(handle, scanner, chunks, advance=advance))
