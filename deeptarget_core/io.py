"""Every file format of the suite, in one place.

* ``'-'`` means stdin (for inputs) or stdout (for outputs).
* Inputs may be plain, gzip or bgzip (detected from the magic bytes, also on stdin).
* Outputs are written to a temporary file in the target directory and renamed only when
  complete, so a failed or interrupted run leaves no partial file behind; a tool with several
  outputs opens them in one :func:`output_group`: all of them or none.
* Readers raise :class:`~deeptarget_core.errors.InputError` naming file and line.

Owns FASTA (one parser, :func:`iter_fasta_text`), TSV tables, pair tables and their one
row validation (:func:`pairs_of_table`), id-pair lists, and the prediction / label / CV
tables that dt-eval reads. The stream layer under it (opening, gzip, stdin replay, atomic
outputs) is :mod:`deeptarget_core.streams`: import those names from there.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import IO, Iterator, Sequence

import numpy as np

from .errors import InputError
from .metrics import METRIC_NAMES
from .seq import AMBIGUOUS_LETTERS, MAX_MIRNA_LENGTH, MIN_MIRNA_LENGTH, MIRNA_LETTERS, TARGET_LETTERS, mask_ambiguous, normalise
from .streams import display_name, open_input

log = logging.getLogger("deeptarget")

PathLike = str | os.PathLike

PAIR_COLUMNS = ("mirna_id", "mirna_seq", "mrna_id", "mrna_seq")
SITE_COLUMNS = (
    "mirna_id",
    "mrna_id",
    "site_type",
    "site_start",
    "site_end",
    "cts_start",
    "cts_end",
    "cts_seq",
)

# --------------------------------------------------------------------------- FASTA


class UnusableRecord(InputError):
    """A well-formed FASTA record whose sequence cannot be what the reader asked for (a miRNA
    with other letters or of another length): readers that skip such records catch this."""


@dataclass(frozen=True)
class FastaRecord:
    id: str
    seq: str
    line: int  # line of the header, for error messages
    description: str = ""  # the header after the id (gene_name=..., miRBase's accession and name)
    ambiguous: frozenset[str] = frozenset()  # IUPAC ambiguity letters read as N (targets)
    n_ambiguous: int = 0


def read_fasta(
    path: PathLike,
    kind: str = "target",
    min_length: int = 1,
    strict: bool = False,
) -> Iterator[FastaRecord]:
    """Stream normalised FASTA records.

    ``kind='mirna'`` allows only A/C/G/U(T) and 8-30 nt; ``kind='target'`` also allows N, and
    reads IUPAC ambiguity letters as N (one warning at the end counts them) unless ``strict``.
    Empty records, duplicate ids, a missing '>' and other letters are InputErrors.
    """
    tally = AmbiguityTally()
    try:
        for header, chunks, header_line, name in iter_fasta_text(path):
            record = fasta_record(header, chunks, header_line, name, kind, min_length, strict)
            tally.add(record)
            yield record
    finally:
        tally.report(display_name(path))


class AmbiguityTally:
    """The IUPAC ambiguity letters read as N in one target FASTA, reported in one warning."""

    def __init__(self) -> None:
        self.records, self.count, self.letters = 0, 0, set()

    def add(self, record: FastaRecord) -> None:
        if record.n_ambiguous:
            self.records += 1
            self.count += record.n_ambiguous
            self.letters |= record.ambiguous

    _said: set[tuple[str, int, int]] = set()  # a file read twice in a run (lengths, then sequences) is said once

    def report(self, name: str) -> None:
        if self.count and (name, self.count, self.records) not in self._said:
            self._said.add((name, self.count, self.records))
            log.warning(
                "%s: %d IUPAC ambiguity letter(s) (%s) in %d record(s) read as N: no site is found through them",
                name,
                self.count,
                ", ".join(sorted(self.letters)),
                self.records,
            )


def iter_fasta_text(path: PathLike, unique_ids: bool = True) -> Iterator[tuple[str, list[str], int, str]]:
    """The one FASTA parser: (header, sequence lines, header line number, display name) per
    record, unchecked letters. A header without an id, text before the first '>', no record
    at all and (with ``unique_ids``) a duplicate id are InputErrors. Own parser rather than
    Bio.SeqIO: errors must name the line, and Biopython's parsers do not track it.
    """
    seen: set[str] = set()
    name = display_name(path)
    handle = open_input(path)
    try:
        header: str | None = None
        header_line = 0
        chunks: list[str] = []
        for line in handle:
            line = line.rstrip("\r\n")
            if line.startswith(">"):
                if header is not None:
                    yield header, chunks, header_line, name
                header = line[1:].strip()
                header_line = handle.line
                if not header:
                    raise InputError("FASTA header without an id", name, header_line)
                rid = header.split()[0]
                if unique_ids:
                    if rid in seen:
                        raise InputError(f"duplicate sequence id '{rid}'", name, header_line)
                    seen.add(rid)
                chunks = []
            elif header is None:
                if line.strip():
                    raise InputError("not FASTA: expected a '>' header line", name, handle.line)
            else:
                chunks.append(line)
        if header is None:
            raise InputError("no FASTA records (empty file?)", name)
        yield header, chunks, header_line, name
    finally:
        handle.close()


def fasta_record(
    header: str, chunks: list[str], line: int, name: str, kind: str = "target", min_length: int = 1, strict: bool = False
) -> FastaRecord:
    """One record of :func:`iter_fasta_text`, normalised and checked as ``kind`` (see
    :func:`read_fasta`); a sequence that cannot be a miRNA raises :class:`UnusableRecord`."""
    allowed = MIRNA_LETTERS if kind == "mirna" else TARGET_LETTERS
    unusable = UnusableRecord if kind == "mirna" else InputError  # only miRNA records are skippable
    rid = header.split()[0]
    seq = normalise("".join(chunks).replace(" ", ""))
    if not seq:
        raise InputError(f"record '{rid}' has an empty sequence", name, line)
    bad = set(seq) - allowed
    ambiguous = kind != "mirna" and bool(bad) and bad <= AMBIGUOUS_LETTERS
    masked = 0
    if ambiguous and not strict:  # genome-derived UTRs carry them: read as N, counted
        seq, masked = mask_ambiguous(seq, bad)
    elif bad:
        letters = ", ".join(sorted(repr(c) for c in bad))
        if ambiguous:
            message = f"record '{rid}' contains IUPAC ambiguity letters {letters}; strict reading accepts only A/C/G/U/T/N"
        else:
            message = f"record '{rid}' contains {letters}; only {'A/C/G/U/T' if kind == 'mirna' else 'A/C/G/U/T/N'} are accepted"
        # the line that holds the first bad letter (sequence lines follow the header one by one)
        at = next((i for i, c in enumerate(chunks) if set(normalise(c.replace(" ", ""))) - allowed), -1)
        raise unusable(message, name, line + 1 + at)
    if kind == "mirna" and not MIN_MIRNA_LENGTH <= len(seq) <= MAX_MIRNA_LENGTH:
        raise UnusableRecord(
            f"miRNA '{rid}' is {len(seq)} nt; expected {MIN_MIRNA_LENGTH}-{MAX_MIRNA_LENGTH} nt",
            name,
            line,
        )
    if len(seq) < min_length:
        raise unusable(f"record '{rid}' is {len(seq)} nt, shorter than {min_length}", name, line)
    return FastaRecord(rid, seq, line, header[len(rid) :].strip(), frozenset(bad) if masked else frozenset(), masked)


def write_fasta(handle: IO[str], records: Sequence[tuple[str, str]], width: int = 0) -> None:
    for rid, seq in records:
        handle.write(f">{rid}\n")
        if width:
            for i in range(0, len(seq), width):
                handle.write(seq[i : i + width] + "\n")
        else:
            handle.write(seq + "\n")


# --------------------------------------------------------------------------- TSV tables


@dataclass
class Table:
    """A TSV table read as strings: ``columns`` and row lists, plus the line of each row."""

    path: str
    columns: list[str]
    rows: list[list[str]]
    lines: list[int]

    def column(self, name: str) -> list[str]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


def iter_tsv(
    path: PathLike,
    required: Sequence[str] = (),
    chunk_rows: int = 100_000,
) -> Iterator[Table]:
    """Stream a TSV with a header in chunks of at most ``chunk_rows`` rows.

    Every row must have as many fields as the header; ``required`` columns must be present
    (extra columns are kept). Empty lines are skipped; the first line is the header.
    """
    name = display_name(path)
    handle = open_input(path)
    try:
        header_line = None
        for raw in handle:
            if raw.strip():
                header_line = raw.rstrip("\r\n")
                break
        if header_line is None:
            raise InputError("empty table (no header line)", name, 1)
        # a header written as tabix meta ('#mirna_id ...', our .bgz tables) is the same header
        columns = header_line.removeprefix("#").split("\t")
        missing = [c for c in required if c not in columns]
        if missing:
            raise InputError(
                f"missing column(s) {', '.join(missing)}; header has {', '.join(columns)}",
                name,
                handle.line,
            )
        if len(set(columns)) != len(columns):
            raise InputError("duplicate column names in header", name, handle.line)
        n = len(columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        for raw in handle:
            text = raw.rstrip("\r\n")
            if not text.strip():
                continue
            fields = text.split("\t")
            if len(fields) != n:
                raise InputError(
                    f"expected {n} tab-separated fields as in the header, found {len(fields)}",
                    name,
                    handle.line,
                )
            rows.append(fields)
            lines.append(handle.line)
            if len(rows) >= chunk_rows:
                yield Table(name, columns, rows, lines)
                rows, lines = [], []
        if rows:
            yield Table(name, columns, rows, lines)
        elif not lines and handle.line <= 1:
            # Header only: yield one empty table so callers still see the columns.
            yield Table(name, columns, [], [])
    finally:
        handle.close()


def read_tsv(path: PathLike, required: Sequence[str] = ()) -> Table:
    """Whole TSV in memory (for small tables: pairs, labels, metrics)."""
    tables = list(iter_tsv(path, required, chunk_rows=1 << 62))
    if not tables:
        return Table(display_name(path), list(required), [], [])
    return tables[0]


_DECIMAL = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")


def parse_decimal(text: str) -> float:
    """A number in a table, in the plain decimal grammar (``0.5``, ``-1e-3``, ``nan``, ``inf``;
    surrounding blanks ignored). Python's float() also takes ``1_0``, ``0x``-less hex-like
    forms and non-ASCII digits: those raise ValueError here, as any other text does."""
    t = text.strip()
    if not _DECIMAL.fullmatch(t) or not t.isascii():
        raise ValueError(text)
    return float(t)


def parse_integer(text: str) -> int:
    """A whole number in a table (``12``, ``-3``): no ``1_0``, no ``1.0``; ValueError else."""
    t = text.strip()
    if not _INTEGER.fullmatch(t) or not t.isascii():
        raise ValueError(text)
    return int(t)


def parse_label(value: str, path: str, line: int) -> int:
    if value in ("0", "1"):
        return int(value)
    if value in ("0.0", "1.0"):
        return int(float(value))
    raise InputError(f"label must be 0 or 1, found '{value}'", path, line)


@dataclass(frozen=True)
class Pair:
    """One row of a pair table (normalised sequences)."""

    mirna_id: str
    mirna_seq: str
    mrna_id: str
    mrna_seq: str
    label: int | None
    extra: tuple[str, ...]
    line: int


def check_mirna_seq(seq: str, what: str, path: str | None, line: int | None) -> str:
    """A miRNA sequence from a table or the command line, normalised; the one check (and
    message) of every reader: A/C/G/U(T) only, MIN_MIRNA_LENGTH-MAX_MIRNA_LENGTH nt."""
    s = normalise(seq)
    if not s or set(s) - MIRNA_LETTERS:
        raise InputError(f"{what} '{seq}' is not an A/C/G/U(T) sequence", path, line)
    if not MIN_MIRNA_LENGTH <= len(s) <= MAX_MIRNA_LENGTH:
        raise InputError(f"{what} is {len(s)} nt; expected {MIN_MIRNA_LENGTH}-{MAX_MIRNA_LENGTH} nt", path, line)
    return s


def check_target_seq(seq: str, what: str, path: str | None, line: int | None) -> str:
    """A target (UTR or CTS) sequence from a table or the command line, normalised:
    not empty, A/C/G/U/T/N only."""
    s = normalise(seq)
    if not s or set(s) - TARGET_LETTERS:
        raise InputError(f"{what} is empty or has letters other than A/C/G/U/T/N", path, line)
    return s


def pairs_of_table(table: Table) -> tuple[list[str], list[Pair]]:
    """``(extra_column_names, pairs)`` of one chunk of a pair table, every row validated."""
    cols = table.columns
    idx = [cols.index(c) for c in PAIR_COLUMNS]
    li = cols.index("label") if "label" in cols else -1
    extra_idx = [i for i, c in enumerate(cols) if c not in PAIR_COLUMNS and c != "label"]
    out = []
    for row, line in zip(table.rows, table.lines):
        mid, mseq, tid, tseq = (row[i] for i in idx)
        if not mid or not tid:
            raise InputError("empty mirna_id or mrna_id", table.path, line)
        mseq_n = check_mirna_seq(mseq, "mirna_seq", table.path, line)
        tseq_n = check_target_seq(tseq, "mrna_seq", table.path, line)
        label = parse_label(row[li], table.path, line) if li >= 0 else None
        out.append(Pair(mid, mseq_n, tid, tseq_n, label, tuple(row[i] for i in extra_idx), line))
    return [cols[i] for i in extra_idx], out


def iter_pairs(path: PathLike, chunk_rows: int = 100_000) -> Iterator[tuple[list[str], list[Pair]]]:
    """Stream a pair table: ``(extra_column_names, pairs)`` per chunk, validated."""
    for table in iter_tsv(path, PAIR_COLUMNS, chunk_rows):
        yield pairs_of_table(table)


def read_pairs(path: PathLike) -> tuple[list[str], list[Pair]]:
    extra: list[str] = []
    pairs: list[Pair] = []
    for names, chunk in iter_pairs(path):
        extra = names
        pairs.extend(chunk)
    return extra, pairs


def write_tsv_header(handle: IO[str], columns: Sequence[str]) -> None:
    handle.write("\t".join(columns) + "\n")


def format_float(values: np.ndarray, digits: int = 6) -> list[str]:
    """Fixed-precision text for score columns (byte-identical across runs)."""
    return [f"{v:.{digits}f}" for v in np.asarray(values, dtype=np.float64).tolist()]


def read_id_pairs(path: PathLike) -> dict[str, set[str]]:
    """(miRNA id, target id) pairs to restrict a scan: a table with ``mirna_id`` and
    ``mrna_id`` columns (a pair or site table), or a header-less two-column id list."""
    name = display_name(path)
    pairs: dict[str, set[str]] = {}
    with open_input(path) as handle:
        lines = [(i, raw.rstrip("\r\n")) for i, raw in enumerate(handle, start=1) if raw.strip()]
    if not lines:
        raise InputError("empty pair list", name, 1)
    header = lines[0][1].removeprefix("#").split("\t")
    if "mirna_id" in header and "mrna_id" in header:
        mi, ti = header.index("mirna_id"), header.index("mrna_id")
        body = lines[1:]
        width = len(header)
    elif len(header) == 2:
        mi, ti, body, width = 0, 1, lines, 2
    else:
        raise InputError("expected columns mirna_id and mrna_id, or two tab-separated id columns", name, lines[0][0])
    for line_no, text in body:
        fields = text.split("\t")
        if len(fields) != width:
            raise InputError(f"expected {width} tab-separated fields, found {len(fields)}", name, line_no)
        mid, tid = fields[mi].strip(), fields[ti].strip()
        if not mid or not tid:
            raise InputError("empty miRNA or target id", name, line_no)
        pairs.setdefault(mid, set()).add(tid)
    return pairs


# --------------------------------------------------------------------------- prediction tables (dt-eval)


CV_STAT_ROWS = ("mean", "sd", "std", "min", "max", "median", "all")


@dataclass
class Predictions:
    """Scores with labels (one prediction file, after any label join)."""

    name: str
    path: str
    mirna_ids: list[str]
    labels: np.ndarray
    scores: np.ndarray
    n_unlabelled: int = 0
    mrna_ids: tuple[str, ...] = ()  # empty when the table has no mrna_id column
    n_repeated: int = 0  # rows equal in every column to an earlier row (each is counted)


def read_labels(path) -> dict[tuple[str, str], int]:
    """(mirna_id, mrna_id) -> label from a table with those three columns."""

    out: dict[tuple[str, str], int] = {}
    for table in iter_tsv(path, ("mirna_id", "mrna_id", "label")):
        mi, ti, li = (table.columns.index(c) for c in ("mirna_id", "mrna_id", "label"))
        for row, line in zip(table.rows, table.lines):
            key = (row[mi], row[ti])
            y = parse_label(row[li], table.path, line)
            old = out.setdefault(key, y)
            if old != y:
                raise InputError(f"pair ({key[0]}, {key[1]}) has labels {old} and {y}", table.path, line)
    return out


def table_kind(path) -> str:
    """'cv' for a dt-train cross-validation table (a ``fold`` column, no ``score``), else
    'predictions'."""

    for table in iter_tsv(path, (), chunk_rows=1):
        cols = table.columns
        return "cv" if "fold" in cols and "score" not in cols else "predictions"
    return "predictions"


def read_predictions(path, name: str, labels: dict[tuple[str, str], int] | None = None) -> Predictions:
    """A prediction table with ``score`` and either ``label`` or (mirna_id, mrna_id) found in
    ``labels`` (the separate label table wins when given). Unlabelled rows are dropped."""

    need = ("score",) if labels is None else ("score", "mirna_id", "mrna_id")
    mirnas: list[str] = []
    targets: list[str] = []
    ys: list[int] = []
    ss: list[float] = []
    row_hashes: list[int] = []  # of every kept row: exact repeats are counted, 8 bytes a row
    dropped = 0
    for table in iter_tsv(path, need):
        cols = table.columns
        if labels is None and "label" not in cols:
            raise InputError("no 'label' column: give a label table to join labels on (mirna_id, mrna_id)", table.path, 1)
        si = cols.index("score")
        mi = cols.index("mirna_id") if "mirna_id" in cols else -1
        ti = cols.index("mrna_id") if "mrna_id" in cols else -1
        li = cols.index("label") if "label" in cols else -1
        for row, line in zip(table.rows, table.lines):
            try:
                s = parse_decimal(row[si])
            except ValueError:
                raise InputError(f"score '{row[si]}' is not a number", table.path, line) from None
            if not np.isfinite(s):
                raise InputError(f"score '{row[si]}' is not a finite number", table.path, line)
            if labels is not None:
                y = labels.get((row[mi], row[ti]))
                if y is None:
                    dropped += 1
                    continue
            else:
                y = parse_label(row[li], table.path, line)
            ys.append(y)
            ss.append(s)
            row_hashes.append(hash(tuple(row)))
            mirnas.append(row[mi] if mi >= 0 else "")
            if ti >= 0:
                targets.append(row[ti])
    if not ys:
        raise InputError(
            "no labelled predictions" + (" (no pair matched the label table)" if labels is not None else ""), display_name(path)
        )
    ys_, ss_ = np.array(ys, dtype=np.int64), np.array(ss, dtype=np.float64)
    repeated = len(row_hashes) - len(np.unique(np.array(row_hashes, dtype=np.int64)))
    targets_ = tuple(targets) if len(targets) == len(ys) else ()
    return Predictions(name, display_name(path), mirnas, ys_, ss_, dropped, targets_, repeated)


def read_cv_table(path) -> list[dict[str, float]]:
    """Per-fold rows of a dt-train cross-validation table (rows whose fold is mean/sd/...
    are summaries and are skipped; they are recomputed)."""

    folds: list[dict[str, float]] = []
    for table in iter_tsv(path, ("fold",)):
        fi = table.columns.index("fold")
        metric_cols = [(i, c) for i, c in enumerate(table.columns) if c in METRIC_NAMES or c.endswith("auc")]
        if not metric_cols:
            raise InputError("cross-validation table has no metric columns", table.path, 1)
        for row, line in zip(table.rows, table.lines):
            if row[fi].strip().lower() in CV_STAT_ROWS:
                continue
            rec: dict[str, float] = {}
            for i, c in metric_cols:
                text = row[i].strip()
                try:
                    rec[c] = parse_decimal(text) if text not in ("", "NA", "nan") else float("nan")
                except ValueError:
                    raise InputError(f"column {c}: '{text}' is not a number", table.path, line) from None
            folds.append(rec)
    if not folds:
        raise InputError("cross-validation table has no fold rows", str(path))
    return folds


# --------------------------------------------------------------------------- pre-training sequences (dt-pretrain)


def read_sequences_for_pretraining(
    pair_paths: Sequence[PathLike], fasta_mirnas: Sequence[str], fasta_cts: Sequence[PathLike]
) -> tuple[list[str], list[str]]:
    """miRNA and CTS sequences of the pair tables, plus ``fasta_mirnas`` (sequences, read by
    :func:`deeptarget_core.mirnas.read_mirnas`) and the CTS FASTAs."""
    mirnas: list[str] = []
    cts: list[str] = []
    for p in pair_paths:
        for pair in read_pairs(p)[1]:
            mirnas.append(pair.mirna_seq)
            cts.append(pair.mrna_seq)
    mirnas.extend(fasta_mirnas)
    for p in fasta_cts:
        cts.extend(r.seq for r in read_fasta(p, kind="target"))
    if not mirnas or not cts:
        raise InputError("pre-training needs miRNAs and CTSs (from pair tables, or miRNA and CTS FASTAs)")
    return mirnas, cts


def read_frame(path: PathLike, required: Sequence[str]):
    """A whole TSV as a pandas DataFrame of strings (column ``_line``: each row's line), read
    through :func:`iter_tsv` (same checks and file:line errors); no data rows is an error."""
    import pandas as pd

    frames = []
    for table in iter_tsv(path, tuple(required), 200_000):
        frame = pd.DataFrame(table.rows, columns=table.columns, dtype=object)
        frame["_line"] = table.lines
        frames.append(frame)
    if not sum(len(f) for f in frames):
        raise InputError("the table has no data rows", display_name(path))
    return pd.concat(frames, ignore_index=True)


def finite_column(frame, column: str, path: PathLike) -> np.ndarray:
    """A :func:`read_frame` column as finite floats (plain decimal grammar); a bad value is an
    input error at its line."""
    out = np.empty(len(frame))
    for i, (value, line) in enumerate(zip(frame[column], frame["_line"])):
        try:
            out[i] = parse_decimal(value)
        except ValueError:
            out[i] = np.nan
        if not np.isfinite(out[i]):
            raise InputError(f"{column} '{value}' is not a finite number", display_name(path), int(line))
    return out
