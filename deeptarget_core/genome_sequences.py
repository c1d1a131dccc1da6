"""The genome side of dt-extract-utrs: chromosome names between an annotation and its genome,
the genome FASTA read through pysam's faidx (or streamed once where it cannot be indexed), the
regions cut from it, and the extracted records written as FASTA, BED12 and a genes table.
The annotation side (GTF/GFF3, regions, transcript choice) is :mod:`deeptarget_core.annotation`.

**Genome.** Read with pysam's faidx where the FASTA has a current index or one can be built
beside it (plain or bgzip FASTA in a writable folder); otherwise (plain gzip, a read-only
folder, a stale index that cannot be rebuilt, stdin) the FASTA is streamed once and each
chromosome is cut while it is in memory (one chromosome at a time).

**Chromosome names.** The annotation's names are looked up in the genome as they are; an alias
table (``annotation_name<TAB>genome_name``) or ``auto`` (``chr1`` <-> ``1``, ``chrM`` <-> ``MT``)
maps them. A name missing from the genome is an InputError naming both spellings.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Mapping

from .annotation import AUTO_ALIAS, Interval, Region, TranscriptRecord
from .errors import InputError
from .genome import BED12, Transcript, bed_line
from .indexed import index_problem, is_bgzip
from .output_plan import Planned, index_files
from .streams import display_name, open_input

log = logging.getLogger("deeptarget")

# --------------------------------------------------------------------------- chromosome names


def read_chrom_alias(path: str | Path) -> dict[str, str]:
    """annotation_name<TAB>genome_name lines (``#`` comments and blank lines skipped)."""

    name = display_name(path)
    alias: dict[str, str] = {}
    lines: dict[str, int] = {}
    handle = open_input(path)
    try:
        for text in handle:
            if not text.strip() or text.startswith("#"):
                continue
            fields = text.rstrip("\r\n").split("\t")
            if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
                raise InputError(
                    f"expected two tab-separated names (annotation_name, genome_name), found {len(fields)} field(s)",
                    name,
                    handle.line,
                )
            a, g = fields[0].strip(), fields[1].strip()
            if a in alias:
                raise InputError(
                    f"'{a}' again (first on line {lines[a]}); one genome name per annotation name", name, handle.line
                )
            alias[a], lines[a] = g, handle.line
    finally:
        handle.close()
    return alias


def auto_candidates(chrom: str) -> list[str]:
    """The genome names ``auto`` tries for an annotation name: itself, then with the ``chr``
    prefix added or removed (``chrM`` <-> ``MT``)."""
    if chrom in ("chrM", "chrMT"):
        return [chrom, "MT", "M", "chrM" if chrom == "chrMT" else "chrMT"]
    if chrom in ("MT", "M"):
        return [chrom, "chrM", "chrMT"]
    if chrom.startswith("chr"):
        return [chrom, chrom[3:]]
    return [chrom, "chr" + chrom]


class ChromNames:
    """Annotation chromosome -> genome chromosome: the alias table, ``auto`` or the name
    itself."""

    def __init__(self, alias: Mapping[str, str] | str | None = None):
        self.auto = alias == AUTO_ALIAS
        self.table: dict[str, str] = {} if alias is None or isinstance(alias, str) else dict(alias)

    def candidates(self, chrom: str) -> list[str]:
        if chrom in self.table:
            return [self.table[chrom]]
        return auto_candidates(chrom) if self.auto else [chrom]

    def resolve(self, chroms: Iterable[str], genome_names: Iterable[str]) -> dict[str, str]:
        names = set(genome_names)
        out: dict[str, str] = {}
        for chrom in chroms:
            hit = next((g for g in self.candidates(chrom) if g in names), None)
            if hit is not None:
                out[chrom] = hit
        return out


def missing_chrom_error(
    chrom: str, tx: TranscriptRecord, ann_path: str, genome_path: str, genome_names: list[str], names: ChromNames
) -> InputError:
    """The error for an annotation chromosome that the genome lacks, naming both spellings."""
    have = set(genome_names)
    other = next((g for g in auto_candidates(chrom)[1:] if g in have), None)
    shown = ", ".join(f"'{g}'" for g in genome_names[:4]) + (", ..." if len(genome_names) > 4 else "")
    if chrom in names.table:
        what = f"chromosome '{chrom}' (transcript '{tx.id}') is '{names.table[chrom]}' by the alias table, which the genome {genome_path} lacks"
    else:
        what = f"chromosome '{chrom}' (transcript '{tx.id}') is not in the genome {genome_path}"
    if other is not None:
        hint = f"; the genome spells it '{other}': give {{option}} auto, or a table with the line {chrom}<TAB>{other}"
    else:
        hint = f" (its names: {shown or 'none'}); map names with {{option}} FILE (annotation_name<TAB>genome_name)"
    return InputError(what + hint, ann_path, tx.pos_line or tx.line, option="chrom_alias")


# --------------------------------------------------------------------------- genome

_COMPLEMENT = str.maketrans("ACGTUNRYKMSWBDHV", "UGCAANYRMKSWVHDB")
_TO_RNA = str.maketrans("T", "U")
_NUCLEOTIDES = set("ACGTUNRYKMSWBDHV")


def cut(chrom_seq: str, exons: tuple[Interval, ...], strand: str) -> str:
    """The region's sequence 5'->3' as RNA (upper case): exons joined in ascending order, the
    reverse complement on the minus strand."""
    dna = "".join(chrom_seq[s:e] for s, e in exons).upper()
    if strand == "-":
        return dna.translate(_COMPLEMENT)[::-1]
    return dna.translate(_TO_RNA)


def _first_line_check(path: str, name: str) -> None:
    """A genome that is not FASTA: the first line that is not blank must start with '>'."""

    handle = open_input(path)
    try:
        for text in handle:
            if not text.strip():
                continue
            if not text.startswith(">"):
                raise InputError(f"not a FASTA file: expected a '>' header line, found '{text.strip()[:40]}'", name, handle.line)
            return
    finally:
        handle.close()
    raise InputError("not a FASTA file: no records (empty?)", name)


_DUPLICATE = re.compile(r'Ignoring duplicate sequence "([^"]*)" at byte offset (\d+)')


def _faidx(path: str, fai: Path, gzi: Path | None) -> str:
    """Build the index of ``path`` at ``fai`` (and ``gzi``); '' or why it failed. A genome that
    names a sequence twice is refused: htslib only warns and keeps the first (its warnings are
    read from a private stderr, so that none of its lines reaches the user's)."""
    import pysam

    args = [path, "--fai-idx", str(fai)] + (["--gzi-idx", str(gzi)] if gzi is not None else [])
    why = ""
    with tempfile.TemporaryFile() as said:
        quiet = pysam.set_verbosity(3)  # warnings, into ``said``
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(said.fileno(), 2)
        try:
            pysam.faidx(*args)
        except Exception as exc:  # pysam.SamtoolsError, OSError: a FASTA faidx cannot index
            why = f"faidx could not index it ({' '.join(str(exc).split())[:200]})"
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            pysam.set_verbosity(quiet)
        said.seek(0)
        twice = _DUPLICATE.search(said.read().decode("utf-8", "replace"))
    if why or twice:
        for made in (fai, gzi):
            if made is not None:
                made.unlink(missing_ok=True)
    if twice:
        raise InputError(f"the genome names sequence '{twice.group(1)}' twice (again at byte {twice.group(2)})", path)
    return why


def genome_index_files(label: str, path: str) -> list[Planned]:
    """The index files :func:`open_indexed` may (re)build beside the genome ``path``, declared
    before any work so that none of them is another input or an output of the run."""
    return [f for f in index_files(label, str(path)) if not f.path.endswith(".tbi")] if str(path) != "-" else []


def open_indexed(path: str, scratch: Path) -> tuple[object | None, str]:
    """pysam's FastaFile over ``path`` with a current index, or (None, why not).

    An index beside the FASTA is used when it matches the FASTA (:func:`indexed.index_problem`;
    a bgzip FASTA also needs its ``.gzi``); a missing, stale or garbage one is built beside it
    where the folder is writable (the tools refuse a run in which that index is another input
    or an output), else in ``scratch`` (for this run only). Plain gzip and stdin cannot be
    indexed."""
    import os

    if path == "-":
        return None, "it is stdin"
    p = Path(path)
    if not p.is_file():
        return None, "it is not a regular file"
    with open(p, "rb") as f:
        head = f.read(18)
    bgzip = is_bgzip(head)
    if head[:2] == b"\x1f\x8b" and not bgzip:
        stem = p.name[: -len(".gz")] if p.name.endswith(".gz") else p.name
        return None, f"it is plain gzip, which cannot be indexed (to index it: zcat {p.name} | bgzip -@2 > {stem}.bgz)"
    fai, gzi = Path(path + ".fai"), Path(path + ".gzi")
    beside = (fai, gzi) if bgzip else (fai,)
    if not os.path.lexists(fai):
        why_not = "is missing"
    elif not fai.is_file():
        why_not = "is not a file"
    else:
        why_not = index_problem(path, fai, gzi if bgzip else None)
    if why_not:
        # an index that does not match is never used: rebuilt in place, or for this run only
        # where it cannot be replaced (a read-only folder, a directory in its place)
        replaceable = all(f.is_file() or f.is_symlink() or not os.path.lexists(f) for f in beside)
        if replaceable and os.access(p.parent if str(p.parent) else Path("."), os.W_OK | os.X_OK):
            for old in beside:
                old.unlink(missing_ok=True)
            why = _faidx(path, fai, gzi if bgzip else None)
            if why:
                return None, why
            if why_not == "is missing":
                log.info("indexed %s (%s)", path, ", ".join(f.name for f in beside))
            else:
                log.warning("note: the index %s of %s did not match it (%s): rebuilt", fai, path, why_not)
        else:
            fai, gzi = scratch / "genome.fai", scratch / "genome.gzi"
            why = _faidx(path, fai, gzi if bgzip else None)
            if why:
                return None, why
            where = "its folder is not writable" if replaceable else "cannot be replaced"
            say = log.info if why_not == "is missing" else log.warning
            say(
                "%sthe index of %s %s and %s: indexed for this run only",
                "" if say is log.info else "note: ",
                path,
                why_not,
                where,
            )
    import pysam

    quiet = pysam.set_verbosity(0)
    try:
        return pysam.FastaFile(path, filepath_index=str(fai), filepath_index_compressed=str(gzi) if bgzip else None), ""
    except Exception as exc:
        return None, f"faidx could not open it ({' '.join(str(exc).split())[:200]})"
    finally:
        pysam.set_verbosity(quiet)


class _FastaStream:
    """A FASTA file streamed record by record: :meth:`records` yields (name, header line) and
    the caller then takes the record's sequence lines from :meth:`lines` (or skips them)."""

    def __init__(self, path: str, name: str):

        self.name = name
        self.handle = open_input(path)
        self.pending: str | None = None

    def lines(self) -> Iterator[str]:
        handle = self.handle
        while True:
            text = handle.readline()
            if not text:
                return
            if text.startswith(">"):
                self.pending = text
                return
            yield text

    def records(self) -> Iterator[tuple[str, int]]:
        handle = self.handle
        seen: dict[str, int] = {}  # name -> line of its header: a genome names each sequence once
        try:
            started = False
            while True:
                text, self.pending = (self.pending, None) if self.pending is not None else (handle.readline(), None)
                if not text:
                    return
                if not text.startswith(">"):
                    if text.strip() and not started:
                        raise InputError(
                            f"not a FASTA file: expected a '>' header line, found '{text.strip()[:40]}'", self.name, handle.line
                        )
                    continue  # lines of a record the caller skipped
                started = True
                rid = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
                if not rid:
                    raise InputError("FASTA header without a name", self.name, handle.line)
                if rid in seen:
                    raise InputError(
                        f"the genome names sequence '{rid}' twice (first at line {seen[rid]})", self.name, handle.line
                    )
                seen[rid] = handle.line
                yield rid, handle.line
        finally:
            handle.close()


def _joined(lines: Iterator[str]) -> str:
    parts: list[str] = []
    block: list[str] = []
    for t in lines:
        block.append(t.strip())
        if len(block) >= 16384:
            parts.append("".join(block))
            block = []
    parts.append("".join(block))
    return "".join(parts)


@dataclass
class Extracted:
    sequences: dict[int, str]  # region index -> sequence
    genome_chrom: dict[str, str]  # annotation chrom -> genome chrom
    how: str  # 'faidx' or 'streamed'


def extract_sequences(regions: list[Region], genome_path: str | Path, names: ChromNames, ann_path: str) -> Extracted:
    """Each region's sequence (RNA, 5'->3') from the genome; a missing chromosome or an exon
    past a chromosome's end is an InputError."""

    path = str(genome_path)
    gname = display_name(path)
    _first_line_check(path, gname)
    by_chrom: dict[str, list[int]] = {}
    for i, r in enumerate(regions):
        by_chrom.setdefault(r.transcript.chrom, []).append(i)
    with tempfile.TemporaryDirectory(prefix="dt-extract-utrs.") as scratch:
        return _extract(regions, path, gname, by_chrom, names, ann_path, Path(scratch))


def _extract(regions, path, gname, by_chrom, names, ann_path, scratch) -> Extracted:
    fasta, why = open_indexed(path, scratch)
    seqs: dict[int, str] = {}
    if fasta is not None:
        with fasta:  # type: ignore[attr-defined]
            genome_names = list(fasta.references)  # type: ignore[attr-defined]
            lengths = dict(zip(genome_names, fasta.lengths))  # type: ignore[attr-defined]
            mapping = names.resolve(by_chrom, genome_names)
            for chrom, idx in by_chrom.items():
                if chrom not in mapping:
                    raise missing_chrom_error(chrom, regions[idx[0]].transcript, ann_path, gname, genome_names, names)
            _note_renamed(mapping)
            for chrom, idx in by_chrom.items():
                g = mapping[chrom]
                for i in idx:
                    r = regions[i]
                    _check_end(r, g, lengths[g], ann_path, gname)
                    lo, hi = r.exons[0][0], r.exons[-1][1]
                    window = fasta.fetch(g, lo, hi)  # type: ignore[attr-defined]
                    seqs[i] = cut(window, tuple((s - lo, e - lo) for s, e in r.exons), r.transcript.strand)
        how = "faidx"
    else:
        log.info("reading the genome %s whole, one chromosome at a time: %s", gname, why)
        wanted: dict[str, list[str]] = {}  # genome name -> annotation chroms it may serve
        for chrom in by_chrom:
            for g in names.candidates(chrom):
                wanted.setdefault(g, []).append(chrom)
        mapping: dict[str, str] = {}
        rank: dict[str, int] = {}
        seen: list[str] = []
        stream = _FastaStream(path, gname)
        for rid, _line in stream.records():
            seen.append(rid)
            serves = [c for c in wanted.get(rid, []) if names.candidates(c).index(rid) < rank.get(c, 1 << 30)]
            if not serves:
                for _ in stream.lines():
                    pass
                continue
            seq = _joined(stream.lines())
            for chrom in serves:
                rank[chrom] = names.candidates(chrom).index(rid)
                mapping[chrom] = rid
                for i in by_chrom[chrom]:
                    r = regions[i]
                    _check_end(r, rid, len(seq), ann_path, gname)
                    seqs[i] = cut(seq, r.exons, r.transcript.strand)
            del seq
        for chrom, idx in by_chrom.items():
            if chrom not in mapping:
                raise missing_chrom_error(chrom, regions[idx[0]].transcript, ann_path, gname, seen, names)
        _note_renamed(mapping)
        how = "streamed"
    for i, s in seqs.items():
        bad = set(s) - _NUCLEOTIDES
        if bad:
            r = regions[i]
            letters = ", ".join(sorted(repr(c) for c in bad))
            raise InputError(f"{r.transcript.chrom} holds {letters} in {r.transcript.id}'s region: not nucleotide letters", gname)
    return Extracted(seqs, mapping, how)


def _note_renamed(mapping: Mapping[str, str]) -> None:
    renamed = [(a, g) for a, g in mapping.items() if a != g]
    if renamed:
        shown = ", ".join(f"{a}->{g}" for a, g in renamed[:4]) + (", ..." if len(renamed) > 4 else "")
        log.info("%d annotation chromosome name(s) mapped to the genome's: %s", len(renamed), shown)


def _check_end(r: Region, gchrom: str, length: int, ann_path: str, gname: str) -> None:
    if r.exons[-1][1] > length:
        tx = r.transcript
        raise InputError(
            f"transcript '{tx.id}' reaches {r.exons[-1][1]} on {tx.chrom}, past the end of {gchrom} "
            f"in {gname} ({length:,} nt): annotation and genome are of different assemblies?",
            ann_path,
            tx.pos_line or tx.line,
        )


# --------------------------------------------------------------------------- outputs

GENES_COLUMNS = ("transcript_id", "gene_id", "gene_name", "transcript_type", "chrom", "strand", "length", "tags")


def _word(text: str) -> str:
    return "_".join(text.split())


def fasta_header(r: Region) -> str:
    tx = r.transcript
    return f"{tx.id} gene_id={_word(tx.gene_id)} gene_name={_word(tx.gene_name)}"


def write_outputs(
    regions: list[Region],
    seqs: Mapping[int, str],
    genome_chrom: Mapping[str, str],
    fasta: IO[str],
    bed: IO[str] | None,
    genes: IO[str] | None,
    width: int = 60,
) -> None:
    """FASTA records (id = transcript id), their BED12 lines (chrom as the genome names it)
    and the genes table, in the order of ``regions``."""

    if genes is not None:
        genes.write("\t".join(GENES_COLUMNS) + "\n")
    for i, r in enumerate(regions):
        tx = r.transcript
        seq = seqs[i]
        body = "\n".join(seq[k : k + width] for k in range(0, len(seq), width))
        fasta.write(f">{fasta_header(r)}\n{body}\n")
        chrom = genome_chrom.get(tx.chrom, tx.chrom)
        if bed is not None:
            t = Transcript(tx.id, chrom, tx.strand, r.exons)
            bed.write(bed_line(t, 1, t.length, tx.id, 0, BED12))
        if genes is not None:
            row = (tx.id, tx.gene_id, tx.gene_name, tx.transcript_type, chrom, tx.strand, str(r.length), ",".join(tx.tags))
            genes.write("\t".join(_word(v) for v in row) + "\n")
