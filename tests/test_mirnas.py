"""miRBase as downloaded: --species, --mirna-ids, records that cannot be miRNAs skipped with one
warning (or refused with --strict), and seed families."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from deeptarget_core import mirnas as mi
from deeptarget_core.errors import InputError

BIN = Path(sys.executable).parent
LET7 = "UGAGGUAGUAGGUUGUAUAGUU"
MIR21 = "UAGCUUAUCAGACUGAUGUUGA"
# miRBase's layout: "id accession species name"; another species, one record too long for a
# miRNA (33 nt, as cqu-miR-2951-3p in miRBase 22.1) and one with an N
MATURE = (
    f">hsa-let-7a-5p MIMAT0000062 Homo sapiens let-7a-5p\n{LET7}\n"
    f">mmu-let-7a-5p MIMAT0000521 Mus musculus let-7a-5p\n{LET7}\n"
    f">cqu-miR-2951-3p MIMAT0014409 Culex quinquefasciatus miR-2951-3p\n{'ACGUACGUAC' * 3}ACG\n"
    f">hsa-miR-21-5p MIMAT0000076 Homo sapiens miR-21-5p\n{MIR21}\n"
    f">xyz-miR-1 MIMAT9 Some species miR-1\nUGGAAUGUAAAGAANUAUGUAU\n"
)
UTR = ">u1\n" + "A" * 30 + "CUACCUCA" + "A" * 30 + "AUAAGCUA" + "A" * 30 + "\n"


@pytest.fixture()
def mature(tmp_path: Path) -> Path:
    path = tmp_path / "mature.fa"
    path.write_text(MATURE)
    return path


def test_unusable_records_are_skipped_with_one_warning(mature, caplog):
    with caplog.at_level("WARNING", logger="deeptarget"):
        kept = mi.read_mirnas(mature)
    assert list(kept) == ["hsa-let-7a-5p", "mmu-let-7a-5p", "hsa-miR-21-5p"]
    assert kept["hsa-miR-21-5p"] == MIR21
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "skipped 2 record(s)" in warnings[0] and "line 5" in warnings[0] and "cqu-miR-2951-3p' is 33 nt" in warnings[0]


def test_strict_refuses_the_first_unusable_record(mature):
    with pytest.raises(InputError) as err:
        mi.read_mirnas(mature, mi.MirnaSelection(strict=True))
    assert err.value.line == 5 and "33 nt; expected 8-30" in err.value.message


def test_species_and_id_list_select_records(mature, tmp_path):
    assert list(mi.read_mirnas(mature, mi.MirnaSelection(species=("hsa",)))) == ["hsa-let-7a-5p", "hsa-miR-21-5p"]
    assert list(mi.read_mirnas(mature, mi.MirnaSelection(species=("mmu", "hsa")))) == [
        "hsa-let-7a-5p",
        "mmu-let-7a-5p",
        "hsa-miR-21-5p",
    ]
    ids = tmp_path / "ids.txt"
    ids.write_text("# wanted\nhsa-miR-21-5p\n\nmmu-let-7a-5p\textra column\n")
    assert list(mi.read_mirnas(mature, mi.MirnaSelection(ids_file=str(ids)))) == ["mmu-let-7a-5p", "hsa-miR-21-5p"]
    # both: the intersection
    both = mi.MirnaSelection(species=("hsa",), ids_file=str(ids))
    assert list(mi.read_mirnas(mature, both)) == ["hsa-miR-21-5p"]


def test_a_species_without_records_is_an_error(mature):
    with pytest.raises(InputError, match=r"no usable miRNA of species dme among its 5 record"):
        mi.read_mirnas(mature, mi.MirnaSelection(species=("dme",)))


def test_a_file_of_nothing_but_unusable_records_names_the_first(tmp_path):
    path = tmp_path / "bad.fa"
    path.write_text(">a\nUGAGGUA\n>b\nACGN\n")
    with pytest.raises(InputError) as err:
        mi.read_mirnas(path)
    assert err.value.line == 1 and "7 nt; expected 8-30" in err.value.message


def test_families_by_targetscan_name_then_seed(tmp_path):
    info = tmp_path / "miR_Family_Info.txt"
    info.write_text(
        "miR_family\tSeed+m8\tSpecies_ID\tMiRBase_ID\tMature_sequence\tFamily_Conservation?\tMiRBase_Accession\n"
        f"let-7/98\tGAGGUAG\t9606\thsa-let-7a-5p\t{LET7}\t2\tMIMAT0000062\n"
    )
    seqs = {"hsa-let-7a-5p": LET7, "hsa-let-7b-5p": "UGAGGUAGUAGGUUGUGUGGUU", "hsa-miR-21-5p": MIR21}
    names = mi.family_names(seqs, mi.read_family_info(info))
    # let-7b is not listed by id, but its seed is let-7/98's; miR-21 is named by its seed
    assert names == {"hsa-let-7a-5p": "let-7/98", "hsa-let-7b-5p": "let-7/98", "hsa-miR-21-5p": "seed:AGCUUAU"}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], cwd=cwd, capture_output=True, text=True)


def test_scan_takes_mirbase_as_downloaded(mature, tmp_path):
    (tmp_path / "utr.fa").write_text(UTR)
    res = _run("dt-scan-cts", "--mirna", str(mature), "--utr", "utr.fa", "--species", "hsa", "-o", "sites.tsv", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    rows = [r.split("\t") for r in (tmp_path / "sites.tsv").read_text().splitlines()[1:]]
    assert sorted({r[0] for r in rows}) == ["hsa-let-7a-5p", "hsa-miR-21-5p"]
    # with --strict the same file stops at the 33-nt record, naming file and line; no output
    res = _run("dt-scan-cts", "--mirna", str(mature), "--utr", "utr.fa", "--strict", "-o", "strict.tsv", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [f"error: {mature}:5: miRNA 'cqu-miR-2951-3p' is 33 nt; expected 8-30 nt"]
    assert not (tmp_path / "strict.tsv").exists()


def test_predict_takes_species_and_id_list(mature, tmp_path):
    (tmp_path / "utr.fa").write_text(UTR)
    (tmp_path / "ids.txt").write_text("hsa-miR-21-5p\n")
    args = ["--mirna", str(mature), "--utr", "utr.fa", "--model", "seed-match", "-o", "s.tsv", "-q"]
    res = _run("dt-predict", *args, "--species", "hsa,mmu", "--mirna-ids", "ids.txt", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # -q: not even the skip warning
    rows = [r.split("\t") for r in (tmp_path / "s.tsv").read_text().splitlines()[1:]]
    assert rows and {r[0] for r in rows} == {"hsa-miR-21-5p"}


def test_predict_reads_the_mirna_fasta_once_and_warns_once(mature, tmp_path):
    (tmp_path / "utr.fa").write_text(UTR)
    args = ["--mirna", str(mature), "--utr", "utr.fa", "--model", "seed-match", "-o", "s.tsv", "--gene-output", "g.tsv"]
    res = _run("dt-predict", *args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stderr.count("cannot be miRNAs") == 1
