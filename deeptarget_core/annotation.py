"""Gene annotations (GTF, GFF3) in, the regions (3'UTR, 5'UTR, CDS) of the chosen transcripts
out: the annotation side of dt-extract-utrs.

**Annotation.** One reader for the three conventions, told apart by the attribute syntax (GTF
``key "value";``, GFF3 ``key=value;``) and by the ``##gff-version 3`` line:

* GENCODE GTF (v22 and later): ``transcript``, ``exon``, ``CDS``, ``stop_codon`` and one ``UTR``
  type for both ends; the CDS excludes the stop codon.
* Ensembl GTF (release 75 and later): as GENCODE, with ``five_prime_utr`` / ``three_prime_utr``
  and ``transcript_biotype``.
* GFF3 as Ensembl and GENCODE write it: ``gene`` -> ``mRNA``/``transcript``/... -> ``exon``,
  ``CDS``, ``five_prime_UTR``, ``three_prime_UTR`` linked by ``ID=``/``Parent=`` (Ensembl's
  CDS includes the stop codon; GENCODE's has ``stop_codon`` features).

Regions come from each transcript's exons, CDS and stop codon, the one rule that holds in every
convention: the coding part is the CDS together with the stop codon, the 5'UTR is the exonic
sequence 5' of it, the 3'UTR the exonic sequence 3' of it (so the stop codon is never UTR, also
where a GENCODE ``UTR`` feature overlaps it). The explicit UTR features serve as a cross-check
(:attr:`TranscriptSet.utr_mismatches`) and, where a transcript has no exon lines, the exons are
the union of its CDS, stop codon and UTR features. ``cds`` is the CDS including the stop codon.

The genome side (chromosome names, faidx or streaming, cutting and writing the records) is
:mod:`deeptarget_core.genome_sequences`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .streams import display_name, open_input

log = logging.getLogger("deeptarget")

REGIONS = ("3utr", "5utr", "cds")
REGION_LABEL = {"3utr": "3'UTR", "5utr": "5'UTR", "cds": "CDS"}
SELECTIONS = ("canonical", "longest", "all")
CANONICAL_TAGS = ("Ensembl_canonical", "MANE_Select")  # in this order of preference
AUTO_ALIAS = "auto"

Interval = tuple[int, int]  # 0-based half-open genome interval

# feature types that matter (GTF and GFF3 spellings); every other type is skipped
_EXON = "exon"
_CDS = "CDS"
_STOP = "stop_codon"
_UTR5 = {"five_prime_utr", "five_prime_UTR", "5UTR", "5'UTR"}
_UTR3 = {"three_prime_utr", "three_prime_UTR", "3UTR", "3'UTR"}
_UTR = "UTR"  # GENCODE GTF: both ends
_CHILD_TYPES = {_EXON, _CDS, _STOP, _UTR} | _UTR5 | _UTR3
_TRANSCRIPT_TYPES = {"transcript", "mRNA"}  # GTF; GFF3 transcripts are found by their children
_GENE_TYPES = {"gene", "ncRNA_gene", "pseudogene"}

GTF, GFF3 = "GTF", "GFF3"


# --------------------------------------------------------------------------- transcript model


@dataclass
class TranscriptRecord:
    """One transcript as the annotation gives it (0-based half-open intervals, with the line
    each came from)."""

    id: str
    line: int
    chrom: str = ""
    strand: str = ""
    gene_id: str = ""
    gene_name: str = ""
    transcript_type: str = ""
    tags: tuple[str, ...] = ()
    exons: list[tuple[int, int, int]] = field(default_factory=list)
    cds: list[tuple[int, int, int]] = field(default_factory=list)
    stop: list[tuple[int, int, int]] = field(default_factory=list)
    utr: list[tuple[int, int, int]] = field(default_factory=list)  # GENCODE's UTR: either end
    utr5: list[tuple[int, int, int]] = field(default_factory=list)
    utr3: list[tuple[int, int, int]] = field(default_factory=list)
    pos_line: int = 0  # the line that set chrom/strand

    @property
    def coding(self) -> bool:
        return bool(self.cds)


@dataclass(frozen=True)
class Region:
    """A transcript's region: its exons in ascending genome order (on the annotation's
    chromosome name)."""

    transcript: TranscriptRecord
    exons: tuple[Interval, ...]

    @property
    def length(self) -> int:
        return sum(e - s for s, e in self.exons)


@dataclass
class TranscriptSet:
    """The annotation: transcripts in file order, and the genes' order of first appearance."""

    path: str
    convention: str
    transcripts: dict[str, TranscriptRecord]
    genes: dict[str, list[str]]  # gene_id -> transcript ids, in file order
    utr_mismatches: int = 0
    first_mismatch: str = ""


# --------------------------------------------------------------------------- attributes

_GTF_PAIR = re.compile(r'\s*([A-Za-z_][\w.\-]*)\s+(?:"([^"]*)"|([^\s";]+))\s*(?:;|$)')
_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
# the whole column in GTF syntax (one C-level match per line), and its transcript_id
_GTF_VALID = re.compile(
    r'(?:\s*[A-Za-z_][\w.\-]*\s+(?:"[^"]*"|[^\s";]+)\s*;)*(?:\s*[A-Za-z_][\w.\-]*\s+(?:"[^"]*"|[^\s";]+))?\s*'
)
_GTF_TID = re.compile(r'(?:^|;)\s*transcript_id\s+(?:"([^"]*)"|([^\s";]+))')


def parse_gtf_attributes(text: str, path: str, line: int) -> dict[str, list[str]]:
    """``key "value"; key value; ...`` (GTF 2.2) as key -> values (a key may repeat, as
    ``tag`` does). Anything else is an InputError naming the line."""
    out: dict[str, list[str]] = {}
    text = text.strip()
    if text in ("", "."):
        return out
    pos, n = 0, len(text)
    while pos < n:
        m = _GTF_PAIR.match(text, pos)
        if m is None or m.end() == pos:
            raise InputError(
                f"unknown attribute syntax at '{text[pos : pos + 40]}': GTF attributes are key \"value\"; pairs",
                path,
                line,
            )
        value = m.group(2) if m.group(2) is not None else m.group(3)
        out.setdefault(m.group(1), []).append(value)
        pos = m.end()
    return out


def parse_gff3_attributes(text: str, path: str, line: int) -> dict[str, list[str]]:
    """``key=value1,value2;key=value`` (GFF3, percent-encoded) as key -> values."""
    out: dict[str, list[str]] = {}
    text = text.strip()
    if text in ("", "."):
        return out
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        key, eq, value = part.partition("=")
        if not eq or not key or '"' in key or " " in key:
            raise InputError(
                f"unknown attribute syntax at '{part[:40]}': GFF3 attributes are key=value pairs separated by ';'",
                path,
                line,
            )
        values = value.split(",")
        if "%" in value:
            values = [_PERCENT.sub(lambda m: chr(int(m.group(0)[1:], 16)), v) for v in values]
        out[key] = values
    return out


def _looks_gff3(attributes: str) -> bool:
    first = attributes.strip().split(";", 1)[0]
    return "=" in first and '"' not in first.split("=", 1)[0] and " " not in first.split("=", 1)[0].strip()


# --------------------------------------------------------------------------- reading


def _strip_prefix(value: str, prefix: str) -> str:
    return value[len(prefix) :] if value.startswith(prefix) else value


class _Reader:
    """One pass over a GTF/GFF3 file, filling transcript records."""

    def __init__(self, path: str):
        self.path = path
        self.convention = ""
        self.tx: dict[str, TranscriptRecord] = {}
        # GFF3: features by ID (type, attributes, line), and children waiting for parents
        self.features: dict[str, tuple[str, dict[str, list[str]], int]] = {}
        self.gff_children: list[tuple[str, str, int, int, str, str, int]] = []

    def record(self, tid: str, line: int) -> TranscriptRecord:
        tx = self.tx.get(tid)
        if tx is None:
            tx = self.tx[tid] = TranscriptRecord(tid, line)
        return tx

    def place(self, tx: TranscriptRecord, chrom: str, strand: str, line: int) -> None:
        if not tx.chrom:
            tx.chrom, tx.strand, tx.pos_line = chrom, strand, line
        elif tx.chrom != chrom or tx.strand != strand:
            raise InputError(
                f"transcript '{tx.id}' is on {chrom} {strand} here but on {tx.chrom} {tx.strand} at line {tx.pos_line}",
                self.path,
                line,
            )

    def add_child(self, tx: TranscriptRecord, kind: str, start: int, end: int, line: int) -> None:
        item = (start, end, line)
        if kind == _EXON:
            tx.exons.append(item)
        elif kind == _CDS:
            tx.cds.append(item)
        elif kind == _STOP:
            tx.stop.append(item)
        elif kind == _UTR:
            tx.utr.append(item)
        elif kind in _UTR5:
            tx.utr5.append(item)
        else:
            tx.utr3.append(item)

    def read(self, handle: Iterable[str], line_of) -> None:
        path = self.path
        for text in handle:
            if not text or text[0] == "#" or not text.strip():
                if text.startswith("##gff-version") and not self.convention:
                    self.convention = GFF3 if text.split()[1:2] and text.split()[1].startswith("3") else GTF
                elif text.startswith("##FASTA"):
                    break
                continue
            line = line_of()
            fields = text.rstrip("\r\n").split("\t")
            if len(fields) != 9:
                raise InputError(
                    f"expected 9 tab-separated fields (seqname source feature start end score strand frame attributes), "
                    f"found {len(fields)}",
                    path,
                    line,
                )
            kind = fields[2]
            if not self.convention:
                self.convention = GFF3 if _looks_gff3(fields[8]) else GTF
            is_child = kind in _CHILD_TYPES
            if not (is_child or kind in _TRANSCRIPT_TYPES or self.convention == GFF3):
                continue
            chrom, start_text, end_text, strand = fields[0], fields[3], fields[4], fields[6]
            try:
                start, end = int(start_text) - 1, int(end_text)
            except ValueError:
                raise InputError(f"start/end '{start_text}'/'{end_text}' are not whole numbers", path, line) from None
            if start < 0 or start >= end:
                raise InputError(f"start {start_text} and end {end_text}: need 1 <= start <= end", path, line)
            if strand not in ("+", "-", "."):
                raise InputError(f"strand '{strand}' must be '+', '-' or '.'", path, line)
            if self.convention == GFF3:
                self.gff3_line(fields, kind, chrom, start, end, strand, line)
            else:
                self.gtf_line(fields, kind, chrom, start, end, strand, line)

    def gtf_line(self, fields, kind, chrom, start, end, strand, line) -> None:
        text = fields[8]
        if _GTF_VALID.fullmatch(text) is None:
            parse_gtf_attributes(text, self.path, line)  # names where the syntax breaks
        m = _GTF_TID.search(text)
        tid = (m.group(1) if m.group(1) is not None else m.group(2)) if m else ""
        if not tid:
            raise InputError(f"{kind} line without a transcript_id attribute", self.path, line)
        tx = self.tx.get(tid)
        if tx is None:
            tx = self.tx[tid] = TranscriptRecord(tid, line)
        if tx.chrom != chrom or tx.strand != strand:
            self.place(tx, chrom, strand, line)
        if not tx.gene_id or kind in _TRANSCRIPT_TYPES:
            attrs = parse_gtf_attributes(text, self.path, line)
            tx.gene_id = attrs.get("gene_id", [tx.gene_id])[0]
            tx.gene_name = attrs.get("gene_name", [tx.gene_name])[0]
            tx.transcript_type = attrs.get("transcript_type", attrs.get("transcript_biotype", [tx.transcript_type]))[0]
            if "tag" in attrs:
                tx.tags = tuple(attrs["tag"])
        if kind in _CHILD_TYPES:
            self.add_child(tx, kind, start, end, line)

    def gff3_line(self, fields, kind, chrom, start, end, strand, line) -> None:
        attrs = parse_gff3_attributes(fields[8], self.path, line)
        if kind in _CHILD_TYPES:
            parents = attrs.get("Parent", [])
            if not parents or not all(parents):
                raise InputError(f"{kind} line without a Parent= attribute (the transcript it belongs to)", self.path, line)
            for parent in parents:
                self.gff_children.append((parent, kind, start, end, chrom, strand, line))
            return
        fid = attrs.get("ID", [""])[0]
        if fid and fid not in self.features:  # a feature of several lines shares its ID: the first
            self.features[fid] = (kind, attrs, line)

    def finish_gff3(self) -> None:
        """Children to transcripts: a child's Parent is its transcript; the transcript's Parent
        its gene."""
        features = self.features
        for parent, kind, start, end, chrom, strand, line in self.gff_children:
            tx = self.tx.get(parent)
            if tx is None:
                feature = features.get(parent)
                tx = self.tx[parent] = TranscriptRecord(parent, feature[2] if feature else line)
                self._describe(tx, parent, feature)
            self.place(tx, chrom, strand, line)
            self.add_child(tx, kind, start, end, line)
        # the transcripts' file order: by their own line
        self.tx = dict(sorted(self.tx.items(), key=lambda kv: kv[1].line))
        # ids: transcript_id where given (GENCODE, Ensembl), else ID without 'transcript:'
        renamed: dict[str, TranscriptRecord] = {}
        for fid, tx in self.tx.items():
            feature = features.get(fid)
            tid = (feature[1].get("transcript_id", [""])[0] if feature else "") or _strip_prefix(fid, "transcript:")
            if tid in renamed:
                raise InputError(f"transcript id '{tid}' again (first on line {renamed[tid].line})", self.path, tx.line)
            tx.id = tid
            renamed[tid] = tx
        self.tx = renamed

    def _describe(self, tx: TranscriptRecord, fid: str, feature) -> None:
        if feature is None:  # children of an undeclared parent: it is its own gene
            tx.gene_id = _strip_prefix(fid, "transcript:")
            return
        _, attrs, _ = feature
        gene_ref = attrs.get("Parent", [""])[0]
        gene = self.features.get(gene_ref) if gene_ref else None
        gattrs = gene[1] if gene else {}
        tx.gene_id = attrs.get("gene_id", [""])[0] or gattrs.get("gene_id", [""])[0] or _strip_prefix(gene_ref, "gene:") or tx.id
        tx.gene_name = attrs.get("gene_name", [""])[0] or gattrs.get("gene_name", [""])[0] or gattrs.get("Name", [""])[0]
        tx.transcript_type = attrs.get("transcript_type", [""])[0] or attrs.get("biotype", [""])[0]
        tags = [t for t in attrs.get("tag", []) if t]
        if attrs.get("Ensembl_canonical") or attrs.get("is_canonical", [""])[0] in ("1", "true"):
            tags.append("Ensembl_canonical")
        tx.tags = tuple(dict.fromkeys(tags))


def read_annotation(path: str | Path) -> TranscriptSet:
    """Read a GTF or GFF3 file (plain or gzip; '-' = stdin) into transcript records; gene
    names, types and tags from the transcript (or gene) lines. Bad lines are InputErrors
    naming ``path:line``; the transcripts' exons are checked by :func:`region_of`."""

    name = display_name(path)
    reader = _Reader(name)
    handle = open_input(path)
    try:
        reader.read(handle, lambda: handle.line)
    finally:
        handle.close()
    if reader.convention == GFF3:
        reader.finish_gff3()
    if not reader.tx:
        raise InputError("no transcripts (no exon, CDS or transcript lines): is this a GTF/GFF3 file?", name)
    genes: dict[str, list[str]] = {}
    for tid, tx in reader.tx.items():
        if not tx.gene_id:
            tx.gene_id = tid
        genes.setdefault(tx.gene_id, []).append(tid)
        if tx.strand not in ("+", "-") and (tx.cds or tx.exons):
            raise InputError(f"transcript '{tid}' has no strand ('{tx.strand}'): need '+' or '-'", name, tx.pos_line)
    return TranscriptSet(name, reader.convention or GTF, reader.tx, genes)


# --------------------------------------------------------------------------- regions


def _merge(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[list[int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _clip(exons: Iterable[Interval], lo: int, hi: int) -> tuple[Interval, ...]:
    return tuple((max(s, lo), min(e, hi)) for s, e in exons if min(e, hi) > max(s, lo))


def _span(text: Interval) -> str:
    return f"{text[0] + 1}-{text[1]}"


def transcript_exons(tx: TranscriptRecord, path: str) -> tuple[Interval, ...]:
    """The transcript's exons, ascending; overlapping exons are an InputError at the line of
    the later one. Without exon lines: the union of its CDS, stop codon and UTR features."""
    if not tx.exons:
        return tuple(_merge((s, e) for s, e, _ in tx.cds + tx.stop + tx.utr + tx.utr5 + tx.utr3))
    exons = sorted(tx.exons)
    for (s0, e0, l0), (s1, e1, l1) in zip(exons, exons[1:]):
        if s1 < e0:
            first, second = sorted([(l0, (s0, e0)), (l1, (s1, e1))])
            raise InputError(
                f"exon {_span(second[1])} of transcript '{tx.id}' overlaps its exon {_span(first[1])} (line {first[0]})",
                path,
                second[0],
            )
    return tuple((s, e) for s, e, _ in exons)


def _check_inside(tx: TranscriptRecord, parts, exons: tuple[Interval, ...], what: str, path: str) -> None:
    for s, e, line in parts:
        if not any(es <= s and e <= ee for es, ee in exons):
            shown = ", ".join(_span(x) for x in exons[:6]) + (", ..." if len(exons) > 6 else "")
            raise InputError(f"{what} {_span((s, e))} of transcript '{tx.id}' lies outside its exons ({shown})", path, line)


def region_of(tx: TranscriptRecord, region: str, path: str) -> tuple[Interval, ...]:
    """The exons of ``region`` (3utr, 5utr, cds) of a coding transcript, ascending; empty
    when the transcript has none (or no CDS). The coding part is CDS + stop codon."""
    if not tx.cds:
        return ()
    exons = transcript_exons(tx, path)
    _check_inside(tx, tx.cds, exons, "CDS", path)
    _check_inside(tx, tx.stop, exons, "stop codon", path)
    coding = [(s, e) for s, e, _ in tx.cds + tx.stop]
    lo, hi = min(s for s, _ in coding), max(e for _, e in coding)
    if region == "cds":
        return _clip(exons, lo, hi)
    upstream = (region == "5utr") == (tx.strand == "+")  # the region lies left of the CDS
    return _clip(exons, exons[0][0], lo) if upstream else _clip(exons, hi, exons[-1][1])


def explicit_region(tx: TranscriptRecord, region: str) -> tuple[Interval, ...] | None:
    """The region as the annotation's UTR features give it (minus the coding part), or None
    where it has no UTR features for that end. GENCODE's ``UTR`` features are told apart by
    their side of the CDS."""
    if region == "cds" or not tx.cds:
        return None
    coding = [(s, e) for s, e, _ in tx.cds + tx.stop]
    lo, hi = min(s for s, _, _ in tx.cds), max(e for _, e, _ in tx.cds)
    typed = tx.utr5 if region == "5utr" else tx.utr3
    parts = [(s, e) for s, e, _ in typed]
    upstream = (region == "5utr") == (tx.strand == "+")
    for s, e, _ in tx.utr:
        left = e <= lo
        right = s >= hi
        if (upstream and left) or (not upstream and right):
            parts.append((s, e))
    if not parts and not typed and not tx.utr:
        return None
    out: list[Interval] = []
    for s, e in _merge(parts):
        pieces = [(s, e)]
        for cs, ce in coding:  # the stop codon (or CDS) is never UTR
            pieces = [p for a, b in pieces for p in ((a, min(b, cs)), (max(a, ce), b)) if p[1] > p[0]]
        out.extend(pieces)
    return tuple(_merge(out))


@dataclass
class Selection:
    """The regions to write and the counts of the summary line."""

    regions: list[Region]
    n_transcripts: int = 0
    n_genes: int = 0
    genes_without_cds: int = 0
    genes_without_region: int = 0
    n_tagged: int = 0  # canonical: chosen by tag
    n_fallback: int = 0  # canonical: the longest, for want of a tagged transcript with the region
    utr_mismatches: int = 0
    first_mismatch: str = ""


def select(annotation: TranscriptSet, region: str = "3utr", mode: str = "canonical") -> Selection:
    """The regions of ``mode`` (canonical, longest, all), genes in file order.

    ``canonical``: the gene's transcript tagged Ensembl_canonical (else MANE_Select) when it
    has the region, else the gene's longest region; ``longest``: the longest region (ties: the
    first in the file); ``all``: every transcript with the region."""
    if region not in REGIONS:
        raise ValueError(region)
    if mode not in SELECTIONS:
        raise ValueError(mode)
    sel = Selection([], n_transcripts=len(annotation.transcripts), n_genes=len(annotation.genes))
    path = annotation.path
    for tids in annotation.genes.values():
        txs = [annotation.transcripts[t] for t in tids]
        if not any(tx.coding for tx in txs):
            sel.genes_without_cds += 1
            continue
        found: list[Region] = []
        for tx in txs:
            if not tx.coding:
                transcript_exons(tx, path)  # overlapping exons are an error in any transcript
                continue
            exons = region_of(tx, region, path)
            if exons:
                found.append(Region(tx, exons))
                explicit = explicit_region(tx, region)
                if explicit is not None and explicit != exons:
                    sel.utr_mismatches += 1
                    sel.first_mismatch = sel.first_mismatch or f"{tx.id} (line {tx.line})"
        if not found:
            sel.genes_without_region += 1
            continue
        if mode == "all":
            sel.regions.extend(found)
            continue
        if mode == "canonical":
            tagged = None
            for tag in CANONICAL_TAGS:
                tagged = next((r for r in found if tag in r.transcript.tags), None)
                if tagged is not None:
                    break
            if tagged is not None:
                sel.regions.append(tagged)
                sel.n_tagged += 1
                continue
            sel.n_fallback += 1
        best = max(found, key=lambda r: r.length)  # max keeps the first of equals
        sel.regions.append(best)
    return sel
