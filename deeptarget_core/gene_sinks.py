"""Where a prediction's gene-level rows go: one interface, :class:`GeneSink`, for every
aggregation and input, built by one factory, :func:`make_gene_sink`, from the choice.

The pipelines of :mod:`deeptarget_core.predict` talk to a sink in three ways:

* ``add_sites(...)`` with each run of scored sites of one miRNA, when ``wants_sites`` (max and
  Poisson aggregate them; the gene model on a site table notes which pairs the table holds);
* ``chunk_work(mirnas, chunk, pairs)`` once a chunk of targets is scanned: the gene model's work
  on that chunk as a callable (None: nothing to do), which the scan runs beside its site scoring
  when ``parallel``; then ``next_chunk()``;
* ``finish()`` at the end: the rows still held are written; ``n_written`` counts them.

A gene-level pair table gives one row per input row, written by
:func:`deeptarget_core.predict.predict_pairs_gene` through the sink's ``writer`` (the header,
label and extra columns).

All of them write into the gene table (:class:`deeptarget_core.gene_table.RankedGeneTable`),
which sorts, ranks and names the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import IO, Callable, Mapping, Sequence

from . import sites
from .chance import ChanceModel
from .gene_scoring import GeneRows, GeneScorer, PairCollector, write_collected, write_scan
from .gene_table import MODEL_COLUMNS
from .gene_writer import GeneWriter
from .indexed import read_some_targets
from .streams import display_name

SCAN, SITE_TABLE, PAIR_TABLE = "scan", "site table", "pair table"  # the inputs with gene rows


class GeneSink:
    """The interface (and the sink that keeps nothing)."""

    wants_sites = False  # add_sites is called with every run of scored sites
    parallel = False  # chunk_work may run beside the site scoring

    @property
    def n_written(self) -> int:
        return 0

    def add_sites(self, mirna_id, mirna_seq, mrna_ids, scores, site_types, line=None) -> None:
        """Scored sites of one miRNA (any targets)."""

    def chunk_work(
        self, mirnas: Sequence[sites.Mirna], chunk: sites.TargetChunk, pairs: Mapping[str, set[str]] | None
    ) -> Callable[[], None] | None:
        """What to do with a scanned chunk of targets (None: nothing)."""
        return None

    def next_chunk(self) -> None:
        """A chunk of targets is done."""

    def finish(self) -> None:
        """Write what is held."""


@dataclass
class AggregateSink(GeneSink):
    """Max or Poisson aggregation of the site scores (:class:`GeneWriter`); also the header,
    label and extra columns of a pair table's rows."""

    writer: GeneWriter
    wants_sites = True

    @property
    def n_written(self) -> int:
        return self.writer.n_written

    def add_sites(self, mirna_id, mirna_seq, mrna_ids, scores, site_types, line=None) -> None:
        self.writer.add_grouped(mirna_id, mirna_seq, mrna_ids, scores, site_types, line)

    def next_chunk(self) -> None:
        self.writer.next_chunk()

    def finish(self) -> None:
        self.writer.close()


@dataclass
class ScanModelSink(GeneSink):
    """The gene model on a scan: every (miRNA, target) pair of a chunk with a site, scored from
    the chunk itself (its relaxed scan and site context)."""

    scorer: GeneScorer
    rows: GeneRows

    @property
    def parallel(self) -> bool:  # type: ignore[override]
        # numpy work that does not need the site network runs beside the site scoring (torch)
        return not self.scorer.model.uses_network

    @property
    def n_written(self) -> int:
        return self.rows.n_written

    def chunk_work(self, mirnas, chunk, pairs):
        return partial(write_scan, self.scorer, mirnas, chunk, self.rows, pairs)


@dataclass
class SiteTableModelSink(GeneSink):
    """The gene model on a site table: the table's (miRNA, target) pairs are noted as their
    sites are scored, then scored from the UTRs (only those of the table; by .fai when
    indexed) when the table is done."""

    scorer: GeneScorer
    rows: GeneRows
    utr: str
    threads: int = 1
    source: str | None = None
    wants_sites = True
    _pairs: PairCollector = field(init=False)
    _seqs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pairs = PairCollector(source=self.source)

    @property
    def n_written(self) -> int:
        return self.rows.n_written

    def add_sites(self, mirna_id, mirna_seq, mrna_ids, scores, site_types, line=None) -> None:
        self._seqs.setdefault(mirna_id, mirna_seq)
        self._pairs.add_grouped(mirna_id, mirna_seq, mrna_ids, scores, site_types, line)

    def finish(self) -> None:
        pairs = self._pairs.pairs
        needed = set().union(*pairs.values()) if pairs else set()
        targets = read_some_targets(self.utr, needed)
        write_collected(self.scorer, self._pairs, self._seqs, targets, self.rows, display_name(self.utr), threads=self.threads)


class _Discard:
    """A text sink that keeps nothing (the gene rows of a pair table nobody asked for)."""

    def write(self, text: str) -> int:
        return len(text)


def make_gene_sink(
    handle: IO[str] | None,
    input_kind: str,
    aggregate: str,
    gene_scorer: GeneScorer | None = None,
    chance: ChanceModel | None = None,
    utr_lengths: dict[str, int] | None = None,
    utr: str | None = None,
    threads: int = 1,
    source: str | None = None,
    has_label: bool = False,
    extra_columns: Sequence[str] = (),
) -> GeneSink | None:
    """The sink of ``aggregate`` (model | max | poisson; ``gene_scorer`` for model) for an
    ``input_kind`` (SCAN, SITE_TABLE, PAIR_TABLE) writing to ``handle`` (None: no gene table;
    a pair table still gets a sink, whose rows go nowhere)."""
    if handle is None:
        if input_kind != PAIR_TABLE:
            return None
        return AggregateSink(GeneWriter(_Discard(), "max"))  # type: ignore[arg-type]
    if aggregate == "model" and gene_scorer is not None:
        if input_kind == SCAN:
            return ScanModelSink(gene_scorer, GeneRows(handle))
        if input_kind == SITE_TABLE:
            return SiteTableModelSink(gene_scorer, GeneRows(handle), utr, threads, source)
    writer = GeneWriter(
        handle,
        "max" if aggregate == "model" else aggregate,  # a pair table with the model: max-shaped rows
        chance,
        utr_lengths,
        extra_columns=extra_columns,
        has_label=has_label,
        source=source,
        model_columns=MODEL_COLUMNS if gene_scorer is not None else (),
    )
    return AggregateSink(writer)
