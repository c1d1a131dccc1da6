"""dt-extract-utrs' operation as a library call: :class:`ExtractCommand` (typed options) ->
:func:`run_extract` -> :class:`ExtractOutcome`.

Reads the annotation (:func:`deeptarget_core.annotation.read_annotation`), picks one region
per gene or all of them (:func:`~deeptarget_core.annotation.select`), cuts the sequences from
the genome and writes the FASTA, the BED12 and the genes table together (all or none).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from . import annotation as ann
from . import genome_sequences as gs
from . import streams

log = logging.getLogger("deeptarget")


@dataclass
class ExtractCommand:
    """Options of one extraction (values, not flags)."""

    gtf: str
    genome: str
    output: str = "-"
    bed: str | None = None
    genes: str | None = None
    transcripts: str = "canonical"  # canonical | longest | all
    region: str = "3utr"  # 3utr | 5utr | cds
    chrom_alias: str | None = None  # a two-column table, 'auto' or None


@dataclass
class ExtractOutcome:
    cmd: ExtractCommand
    selection: ann.Selection
    n_nt: int
    genome_read: str
    seconds: float

    def report(self) -> str:
        s, c = self.selection, self.cmd
        label = ann.REGION_LABEL[c.region]
        how = f"; canonical: {s.n_tagged:,} tagged, {s.n_fallback:,} the longest (no tag)" if c.transcripts == "canonical" else ""
        return (
            f"dt-extract-utrs: {len(s.regions):,} {label}s written ({self.n_nt / 1e6:.2f} Mnt) from {s.n_transcripts:,} "
            f"transcripts of {s.n_genes:,} genes{how}; skipped {s.genes_without_cds:,} genes without a CDS, "
            f"{s.genes_without_region:,} without a {label}; genome {self.genome_read}; {self.seconds:.1f} s"
        )


def run_extract(cmd: ExtractCommand) -> ExtractOutcome:
    """Extract ``cmd.region`` of the selected transcripts and write the outputs."""
    t0 = time.perf_counter()
    for out in (cmd.output, cmd.bed, cmd.genes):
        if out is not None:
            streams.check_output_path(out)
    names = gs.ChromNames(
        ann.AUTO_ALIAS if cmd.chrom_alias == ann.AUTO_ALIAS else gs.read_chrom_alias(cmd.chrom_alias) if cmd.chrom_alias else None
    )
    annotation = ann.read_annotation(cmd.gtf)
    log.debug("%s: %s, %d transcripts", annotation.path, annotation.convention, len(annotation.transcripts))
    selection = ann.select(annotation, cmd.region, cmd.transcripts)
    if selection.utr_mismatches:
        log.warning(
            "%d transcript(s) whose UTR features differ from their exons outside CDS + stop codon (first: %s); "
            "the regions follow the exons",
            selection.utr_mismatches,
            selection.first_mismatch,
        )
    extracted = gs.extract_sequences(selection.regions, cmd.genome, names, annotation.path)
    with streams.output_group():
        with streams.atomic_output(cmd.output) as fasta:
            bed = streams.atomic_output(cmd.bed) if cmd.bed is not None else None
            genes = streams.atomic_output(cmd.genes) if cmd.genes is not None else None
            with bed or _none() as bed_handle, genes or _none() as genes_handle:
                gs.write_outputs(selection.regions, extracted.sequences, extracted.genome_chrom, fasta, bed_handle, genes_handle)
    n_nt = sum(len(s) for s in extracted.sequences.values())
    how = "read by its faidx index" if extracted.how == "faidx" else "streamed whole"
    return ExtractOutcome(cmd, selection, n_nt, how, time.perf_counter() - t0)


def _none():
    import contextlib

    return contextlib.nullcontext(None)
