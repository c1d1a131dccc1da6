"""The gene table as users read it: grouped by miRNA, best genes first, ranked and named.

Every aggregation (the gene model, max, Poisson; FASTA, site-table or pair-table input) writes
its gene rows as TSV text. :class:`RankedGeneTable` stands between them and the output file: it
holds the rows and, when closed, writes them

* grouped by miRNA (in the miRNA FASTA's order when it is known, else in the order the miRNAs
  first appear) and sorted by score within a miRNA, best first (ties keep the input order, which
  is the UTR FASTA's order for a scan);
* with ``rank`` (1 = the miRNA's best gene) and ``gene_name`` inserted after
  ``best_site_type`` (``gene_name`` from the UTR FASTA's headers or a ``--genes`` table; empty
  where unknown);
* with ``--families``: ``mirna_family`` after ``gene_name``, one row per (family, target) (the
  best member's row), grouped and ranked by family;
* with ``--gene``: only the rows of that gene (transcript id, gene id or gene name, with or
  without the version suffix, any case), sorted by score across miRNAs: "which miRNAs target my
  gene?". ``rank`` stays the gene's rank among the miRNA's genes in the whole run.

The rows are held in memory to be sorted (about 100 bytes per gene row; a million rows take
about 0.1 GB). A score is sorted by its printed value, so that ranks agree with what is shown.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import IO, Iterable, Iterator, Mapping, Sequence

import numpy as np

from .io import FastaRecord, iter_tsv
from .streams import display_name, open_input

# The columns every aggregation writes (the one definition), then what a model may add before
# rank and gene_name go in (a label and a pair table's extra columns come after them).
GENE_COLUMNS = ("mirna_id", "mrna_id", "score", "n_sites", "best_site_type")
MODEL_COLUMNS = ("predicted_log2fc",)
RANK_COLUMNS = ("rank", "gene_name")
FAMILY_COLUMN = "mirna_family"
_SCORE = GENE_COLUMNS.index("score")


def _insert_at(header: list[str]) -> int:
    """Where rank and gene_name go: after the aggregation's and the model's columns."""
    core = [i for i, c in enumerate(header) if c in GENE_COLUMNS or c in MODEL_COLUMNS]
    return max(core) + 1


# gene_name=PTEN (dt-extract-utrs, GENCODE-style tools) or gene_symbol:PTEN (Ensembl cDNA FASTA)
log = logging.getLogger("deeptarget")

_HEADER_FIELD = re.compile(r"(?:^|\s)(gene_id|gene|gene_name|gene_symbol)[=:](\S+)")


@dataclass(frozen=True)
class GeneInfo:
    gene_id: str = ""
    gene_name: str = ""


def info_of_header(header: str) -> GeneInfo:
    """Gene id and name of a FASTA header (``>ENST... gene_id=ENSG... gene_name=PTEN``)."""
    found = {k: v for k, v in _HEADER_FIELD.findall(header)}
    return GeneInfo(found.get("gene_id") or found.get("gene", ""), found.get("gene_name") or found.get("gene_symbol", ""))


def names_of_fasta(path: str | os.PathLike) -> dict[str, GeneInfo]:
    """Target id -> gene of every header of a FASTA that names one (only '>' lines are parsed)."""
    out: dict[str, GeneInfo] = {}
    with open_input(path) as handle:
        for line in handle:
            if line.startswith(">"):
                header = line[1:].strip()
                info = info_of_header(header)
                if info.gene_name or info.gene_id:
                    out[header.split()[0]] = info
    return out


def recording_names(records: Iterable[FastaRecord], names: dict[str, GeneInfo]) -> Iterator[FastaRecord]:
    """Stream FASTA records through, noting the gene each header names (a scan reads its UTRs
    once; the gene table needs their names at the end)."""
    for rec in records:
        info = info_of_header(rec.description) if rec.description else None
        if info is not None and (info.gene_name or info.gene_id):
            names[rec.id] = info
        yield rec


def read_genes_table(path: str | os.PathLike) -> dict[str, GeneInfo]:
    """dt-extract-utrs's ``--genes`` table (``transcript_id gene_id gene_name ...``): target id ->
    gene."""
    out: dict[str, GeneInfo] = {}
    for table in iter_tsv(path, ("transcript_id", "gene_name")):
        ti, ni = table.columns.index("transcript_id"), table.columns.index("gene_name")
        gi = table.columns.index("gene_id") if "gene_id" in table.columns else -1
        for row in table.rows:
            out[row[ti]] = GeneInfo(row[gi] if gi >= 0 else "", row[ni])
    return out


def _unversioned(name: str) -> str:
    """ENST00000371953.8 -> enst00000371953 (queries match with or without the version)."""
    base, dot, version = name.rpartition(".")
    return (base if dot and version.isdigit() else name).lower()


@dataclass
class RankedGeneTable:
    """A text sink for gene rows (the header first): ranks, names and sorts them on
    :meth:`close`, then writes them to ``handle``."""

    handle: IO[str]
    names: Mapping[str, GeneInfo] = field(default_factory=dict)
    families: Mapping[str, str] | None = None  # mirna_id -> family: one row per (family, target)
    gene: str | None = None  # only this gene's rows
    mirna_order: Sequence[str] = ()  # the miRNA FASTA's ids: the order of the groups
    n_written: int = 0
    _header: list[str] | None = None
    _rows: dict[str, list[str]] = field(default_factory=dict)  # miRNA (or family) -> lines
    _partial: str = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        if self._header is None and lines:
            self._header = lines.pop(0).split("\t")
        rows = self._rows
        for line in lines:
            key = self._group_of(line.split("\t", 1)[0])
            group = rows.get(key)
            if group is None:
                rows[key] = [line]
            else:
                group.append(line)
        return len(text)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        """Write the held rows, grouped, sorted, ranked and named."""
        if self._header is None:
            return
        header = self._header
        at = _insert_at(header)
        extra = [FAMILY_COLUMN] if self.families is not None else []
        self.handle.write("\t".join([*header[:at], *RANK_COLUMNS, *extra, *header[at:]]) + "\n")
        wanted = self._matcher()
        picked: list[tuple[float, str]] = []
        position = {m: i for i, m in enumerate(dict.fromkeys(self._group_of(m) for m in self.mirna_order))}
        groups = sorted(self._rows.items(), key=lambda kv: position.get(kv[0], len(position)))  # stable: unknown ones in order
        for key, lines in groups:
            fields = [line.split("\t") for line in lines]
            scores = np.array([float(f[_SCORE]) for f in fields])
            order = np.argsort(-scores, kind="stable")
            if self.families is not None:  # the family's best row per target
                seen: set[str] = set()
                order = np.array(
                    [i for i in order.tolist() if not (fields[i][1] in seen or seen.add(fields[i][1]))], dtype=np.int64
                )
            out = []
            for rank, i in enumerate(order.tolist(), start=1):
                f = fields[i]
                info = self.names.get(f[1])
                if wanted is not None and not wanted(f[1], info):
                    continue
                named = [*f[:at], str(rank), info.gene_name if info else "", *([key] if extra else []), *f[at:]]
                out.append("\t".join(named))
                if wanted is not None:
                    picked.append((scores[i], out[-1]))
            if wanted is None:
                self._emit(out)
        if wanted is not None:  # one gene: its miRNAs by score across the table
            order = sorted(range(len(picked)), key=lambda k: -picked[k][0])
            self._emit([picked[k][1] for k in order])
            if not picked:
                log.warning(
                    "gene table: no row for gene '%s' (no target with that transcript id, gene id or gene name "
                    "has a site of these miRNAs); the table holds its header only",
                    self.gene,
                )
        self._rows = {}

    def _group_of(self, mirna_id: str) -> str:
        return self.families.get(mirna_id, mirna_id) if self.families is not None else mirna_id

    def _emit(self, lines: list[str]) -> None:
        if lines:
            self.handle.write("\n".join(lines) + "\n")
            self.n_written += len(lines)

    def _matcher(self):
        if self.gene is None:
            return None
        query = _unversioned(self.gene)

        def wanted(mrna_id: str, info: GeneInfo | None) -> bool:
            keys = [mrna_id] + ([info.gene_id, info.gene_name] if info else [])
            return any(k and _unversioned(k) == query for k in keys)

        return wanted


def gene_names(genes_table: str | None, fasta: str | None) -> dict[str, GeneInfo]:
    """Target id -> gene: from a ``--genes`` table when given, else from the FASTA's headers."""
    if genes_table is not None:
        return read_genes_table(genes_table)
    return names_of_fasta(fasta) if fasta is not None and display_name(fasta) != "<stdin>" else {}
