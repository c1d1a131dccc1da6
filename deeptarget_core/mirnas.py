"""miRNA sets as users download them: miRBase's ``mature.fa`` (every species, records that
cannot be miRNAs), a species or an id list to keep, and seed families.

* :class:`MirnaSelection` says which records to keep (``--species hsa``, ``--mirna-ids FILE``)
  and what to do with a record that cannot be a miRNA (skipped with one warning line that
  counts them and names the first, or with ``--strict`` the input error it always was).
* :func:`read_mirnas` is the one reader of a miRNA FASTA for every tool.
* :func:`family_names` names miRNAs by seed family: TargetScan's ``miR_Family_Info.txt`` where
  given, the seed (nt 2-8) otherwise.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace

from .errors import InputError
from .io import UnusableRecord, fasta_record, iter_fasta_text, iter_tsv
from .seq import SEED, normalise
from .streams import display_name, open_input

log = logging.getLogger("deeptarget")


@dataclass(frozen=True)
class MirnaSelection:
    """Which records of a miRNA FASTA a run keeps. ``species``: miRBase id prefixes (``hsa`` keeps
    ``hsa-miR-21-5p``); ``ids``: an explicit id set (read by :func:`read_id_list`); ``strict``:
    a record that cannot be a miRNA is an input error instead of a skip. ``ids_file``: a file of
    ids, read (into ``ids``) when the FASTA is."""

    species: tuple[str, ...] = ()
    ids: frozenset[str] | None = None
    strict: bool = False
    ids_file: str | None = None

    def wants(self, mirna_id: str) -> bool:
        if self.species and mirna_id.split("-", 1)[0] not in self.species:
            return False
        return self.ids is None or mirna_id in self.ids

    def describe(self) -> str:
        parts = []
        if self.species:
            parts.append("species " + ", ".join(self.species))
        if self.ids is not None:
            parts.append(f"{len(self.ids):,} listed ids")
        return " and ".join(parts)


EVERY_MIRNA = MirnaSelection()


def read_id_list(path: str | os.PathLike) -> frozenset[str]:
    """Ids, one per line (the first tab-separated field; blank lines and ``#`` comments
    skipped). An empty list is an input error."""
    ids: set[str] = set()
    with open_input(path) as handle:
        for raw in handle:
            text = raw.split("\t", 1)[0].strip()
            if text and not text.startswith("#"):
                ids.add(text)
    if not ids:
        raise InputError("the id list is empty", display_name(path))
    return frozenset(ids)


def read_mirnas(path: str | os.PathLike, selection: MirnaSelection = EVERY_MIRNA) -> dict[str, str]:
    """id -> normalised sequence of the records of ``path`` that ``selection`` keeps, in file
    order. Records that cannot be miRNAs (letters other than A/C/G/U/T, a length outside the
    model's range) are skipped with one warning, or raise with ``selection.strict``. Malformed
    FASTA (no header, empty record, duplicate id) is always an input error."""
    if selection.ids_file is not None:
        selection = replace(selection, ids=read_id_list(selection.ids_file), ids_file=None)
    kept: dict[str, str] = {}
    skipped: list[UnusableRecord] = []
    n_records = 0
    name = display_name(path)
    for header, chunks, line, _ in iter_fasta_text(path):
        n_records += 1
        rid = header.split()[0]
        if not selection.wants(rid):
            continue
        try:
            kept[rid] = fasta_record(header, chunks, line, name, "mirna").seq
        except UnusableRecord as exc:
            if selection.strict:
                raise
            skipped.append(exc)
    if not kept:
        if skipped and not selection.species and selection.ids is None:
            raise skipped[0]  # nothing usable: the first reason is the error
        wanted = f" of {selection.describe()}" if selection.describe() else ""
        raise InputError(f"no usable miRNA{wanted} among its {n_records:,} record(s)", name)
    if skipped:
        first = skipped[0]
        log.warning(
            "%s: skipped %s record(s) that cannot be miRNAs, the first at line %s: %s (--strict refuses them)",
            name,
            f"{len(skipped):,}",
            f"{first.line:,}" if first.line else "?",
            first.message,
        )
    if selection.ids is not None:
        missing = sorted(selection.ids - kept.keys())
        if missing:
            log.warning("%s: %d listed miRNA id(s) not found (or skipped), e.g. '%s'", name, len(missing), missing[0])
    return kept


# --------------------------------------------------------------------------- seed families


def seed_of(sequence: str) -> str:
    return normalise(sequence)[SEED]


def read_family_info(path: str | os.PathLike) -> dict[str, str]:
    """TargetScan's ``miR_Family_Info.txt``: miRBase id -> family name (``miR_family``), and
    seed (``Seed+m8``, nt 2-8) -> family name for miRNAs it does not list by id."""
    names: dict[str, str] = {}
    for table in iter_tsv(path, ("miR_family", "Seed+m8", "MiRBase_ID")):
        fi, si, mi = (table.columns.index(c) for c in ("miR_family", "Seed+m8", "MiRBase_ID"))
        for row in table.rows:
            family = row[fi].strip()
            if family:
                names.setdefault(row[mi].strip(), family)
                names.setdefault("seed:" + normalise(row[si].strip()), family)
    return names


def family_names(mirnas: dict[str, str], family_info: dict[str, str] | None = None) -> dict[str, str]:
    """miRNA id -> family name: by id in ``family_info``, else by its seed there, else the seed
    itself (``seed:GAGGUAG``), so that miRNAs sharing nt 2-8 always share a family."""
    info = family_info or {}
    out = {}
    for mid, seq in mirnas.items():
        seed = "seed:" + seed_of(seq)
        out[mid] = info.get(mid) or info.get(seed) or seed
    return out
