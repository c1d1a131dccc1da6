"""What a scan reads: miRNAs and targets from FASTAs (optionally restricted to listed id pairs,
read through the FASTA's index where it has one) or from a pair table with whole UTRs, as one
:class:`ScanInputs` for :class:`deeptarget_core.sites.SiteScanner`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from .errors import InputError
from .indexed import read_some_targets
from .io import FastaRecord, read_fasta, read_pairs
from .mirnas import EVERY_MIRNA, MirnaSelection, read_mirnas
from .sites import Mirna
from .streams import display_name


@dataclass
class ScanInputs:
    """What a scan needs, whatever files it came from."""

    mirnas: list[Mirna]
    targets: Iterable[FastaRecord | tuple[str, str]]
    pairs: dict[str, set[str]] | None = None


def inputs_from_fasta(
    mirna_fasta: str | Path,
    utr_fasta: str | Path,
    pairs: dict[str, set[str]] | None = None,
    pairs_path: str | Path | None = None,
    selection: MirnaSelection = EVERY_MIRNA,
    strict: bool = False,
) -> ScanInputs:
    """miRNAs are read at once (small; the records ``selection`` keeps); targets stay a lazy
    stream (IUPAC ambiguity letters read as N, or refused when ``strict``)."""
    mirnas = [Mirna(k, v) for k, v in read_mirnas(mirna_fasta, selection).items()]
    if pairs is not None:
        known = {m.id for m in mirnas}
        unknown = sorted(set(pairs) - known)
        if unknown:
            raise InputError(
                f"{len(unknown)} miRNA id(s) of the pair list are not in {mirna_fasta}, e.g. '{unknown[0]}'",
                pairs_path,
            )
        mirnas = [m for m in mirnas if m.id in pairs]
        wanted = set().union(*pairs.values()) if pairs else set()
        return ScanInputs(
            mirnas, _check_targets_seen(read_some_targets(utr_fasta, wanted, strict), pairs, pairs_path, utr_fasta), pairs
        )
    return ScanInputs(mirnas, read_fasta(utr_fasta, kind="target", strict=strict), pairs)


def _check_targets_seen(
    targets: Iterable[FastaRecord], pairs: dict[str, set[str]], pairs_path, utr_fasta
) -> Iterator[FastaRecord]:
    """Stream the targets; at the end, a target id of the pair list that never came is an
    InputError (as for miRNA ids), raised while the output is still a temporary file."""
    wanted = set().union(*pairs.values()) if pairs else set()
    for rec in targets:
        wanted.discard(rec.id)
        yield rec
    if wanted:
        missing = sorted(wanted)
        raise InputError(
            f"{len(missing)} target id(s) of the pair list are not in {display_name(utr_fasta)}, e.g. '{missing[0]}'",
            pairs_path,
        )


def inputs_from_pair_table(path: str | Path) -> ScanInputs:
    """A pair table with whole target sequences in ``mrna_seq`` (miRAW/TargetNet gene level).

    The same id must always carry the same sequence.
    """
    _, rows = read_pairs(path)
    mirnas: dict[str, str] = {}
    targets: dict[str, str] = {}
    pairs: dict[str, set[str]] = {}
    for row in rows:
        for table, key, seq, what in (
            (mirnas, row.mirna_id, row.mirna_seq, "miRNA"),
            (targets, row.mrna_id, row.mrna_seq, "target"),
        ):
            old = table.setdefault(key, seq)
            if old != seq:
                raise InputError(f"{what} id '{key}' appears with two different sequences", path, row.line)
        pairs.setdefault(row.mirna_id, set()).add(row.mrna_id)
    return ScanInputs([Mirna(k, v) for k, v in mirnas.items()], list(targets.items()), pairs)
