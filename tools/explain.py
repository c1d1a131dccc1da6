"""dt-explain: show why the model scored miRNA/CTS pairs as it did (the paper's Figure 7)."""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core.explain_command import ExplainCommand, run_explain
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    Device,
    OptBatchSize,
    OptDebug,
    OptDevice,
    OptMirnaFasta,
    OptMirnaIds,
    OptModel,
    OptQuiet,
    OptSpecies,
    OptStrict,
    OptUtrFasta,
    OptVerbose,
    OptVersion,
    mirna_selection,
    selection_without_fasta,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Explain model scores of miRNA/CTS pairs: per pair the duplex (target over miRNA), a heatmap "
    "of the interaction RNN's activations with the unit that follows the binding pattern, "
    "per-nucleotide attributions (PNG and SVG), a TSV of the numbers, and one index.html for the "
    "run. With --gene-level: why a gene scores as it does (each site's contribution)."
)


class Method(str, Enum):
    ig = "ig"
    gradxinput = "gradxinput"


OptTable = Annotated[
    Optional[str],
    typer.Argument(
        help="Site table (dt-scan-cts), prediction table (dt-predict) or site-level pair table ('-' = stdin).",
        metavar="TABLE",
    ),
]
OptMirnaSeq = Annotated[
    Optional[List[str]],
    typer.Option("--mirna-seq", help="A miRNA sequence (5'->3'); repeat, paired in order with --cts-seq.", metavar="SEQ"),
]
OptCtsSeq = Annotated[
    Optional[List[str]], typer.Option("--cts-seq", help="A CTS window (5'->3' as on the target); repeatable.", metavar="SEQ")
]
OptTop = Annotated[
    Optional[int],
    typer.Option(
        "--top",
        min=1,
        help="Explain only the N best-scoring rows (the table's score column, else the model's score); ties: earlier row first.",
    ),
]
OptOutdir = Annotated[
    Path, typer.Option("-o", "--outdir", help="Output directory (must not exist, or be empty; see --force).", metavar="DIR")
]
OptMethod = Annotated[Method, typer.Option("--method", help="Attribution: integrated gradients, or gradient x input.")]
OptSteps = Annotated[int, typer.Option("--steps", min=1, max=256, help="Integrated-gradients steps (Gauss-Legendre nodes).")]
OptLayer = Annotated[
    Optional[int], typer.Option("--layer", min=1, help="Interaction RNN layer to show (1-based; default: the last).")
]
OptNoSvg = Annotated[bool, typer.Option("--no-svg", help="PNG only (SVG roughly doubles the drawing time).")]
OptForce = Annotated[bool, typer.Option("--force", help="Replace an earlier dt-explain output directory.")]
OptGeneLevel = Annotated[
    bool,
    typer.Option(
        "--gene-level",
        help="TABLE names (miRNA, UTR) pairs (a dt-predict gene table or a gene-level pair table): "
        "per pair a gene view (every site's contribution to the gene score, the predicted fold change, "
        "the rank among the miRNA's genes) and the pair views of its canonical sites.",
    ),
]
OptGeneModel = Annotated[
    Optional[str],
    typer.Option(
        "--gene-model",
        help="--gene-level: gene model checkpoint from dt-train --level gene (default: the packaged one).",
        metavar="FILE",
    ),
]
OptDrawThreads = Annotated[
    int, typer.Option("-p", "--threads", min=1, help="CPU threads for the model, and processes drawing the pictures.")
]


# Parameters that reach the command by another name, not by their own (tests/test_cli_vocabulary.py
# checks that every other parameter is a field of the command's options: none is dropped).
FOLDED = frozenset(
    {"mirna_seq", "cts_seq", "no_svg", "species", "mirna_ids", "strict"}
)  # mirna_seqs, cts_seqs, svg; mirna_selection


@app.command()
def command(
    table: OptTable = None,
    mirna: OptMirnaFasta = None,
    species: OptSpecies = None,
    mirna_ids: OptMirnaIds = None,
    strict: OptStrict = False,
    mirna_seq: OptMirnaSeq = None,
    cts_seq: OptCtsSeq = None,
    top: OptTop = None,
    gene_level: OptGeneLevel = False,
    utr: OptUtrFasta = None,
    gene_model: OptGeneModel = None,
    outdir: OptOutdir = Path("dt-explain"),
    method: OptMethod = Method.ig,
    steps: OptSteps = 32,
    layer: OptLayer = None,
    no_svg: OptNoSvg = False,
    force: OptForce = False,
    model: OptModel = None,
    device: OptDevice = Device.auto,
    batch_size: OptBatchSize = 4096,
    threads: OptDrawThreads = 1,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Write per-pair pictures and TSVs, pairs.tsv and index.html into --outdir."""

    _cli.setup_logging(quiet, verbose)
    seqs = {"mirna_seqs": mirna_seq or [], "cts_seqs": cts_seq or [], "sequence_labels": ("--mirna-seq", "--cts-seq")}
    _explain(
        _cli.options_of(
            ExplainCommand, locals(), **seqs, svg=not no_svg, mirna_selection=mirna_selection(species, mirna_ids, strict)
        ),
        debug=debug,
    )


# The option combinations dt-explain refuses (usage errors, exit 2), in order: (when, message).
_REFUSED = [
    selection_without_fasta(),
    (lambda c: c.table is None and not c.mirna_seqs and not c.cts_seqs, "give a TABLE, or --mirna-seq and --cts-seq"),
    (lambda c: c.table is not None and (c.mirna_seqs or c.cts_seqs), "give a TABLE or --mirna-seq/--cts-seq, not both"),
    (lambda c: c.table is None and c.mirna is not None, "--mirna goes with a TABLE (use --mirna-seq on the command line)"),
    (lambda c: c.gene_level and c.table is None, "--gene-level explains the (miRNA, UTR) pairs of a TABLE"),
    (lambda c: not c.gene_level and c.utr is not None, "--utr goes with --gene-level"),
    (lambda c: not c.gene_level and c.gene_model is not None, "--gene-model goes with --gene-level"),
]


@_cli.handle_errors
def _explain(cmd, debug=False) -> None:

    _cli.refuse(_REFUSED, cmd)
    _cli.one_stdin(
        cmd.table, cmd.mirna, cmd.utr, message="only one of TABLE, --mirna and --utr can be read from stdin", usage=True
    )
    _cli.check_paths(
        {
            "TABLE": cmd.table,
            "--mirna": cmd.mirna,
            "--mirna-ids": cmd.mirna_selection.ids_file,
            "--model": cmd.model,
            "--utr": cmd.utr,
            "--gene-model": cmd.gene_model,
        },
        {},
        {"-o": cmd.outdir},
    )
    out = run_explain(cmd, _cli.progress)
    if out.ig_gap is not None and out.ig_gap > 1e-3:
        log.warning("dt-explain: IG attributions miss score - baseline by up to %.2g; use more --steps", out.ig_gap)
    genes = f"{out.n_genes} gene(s), " if cmd.gene_level else ""
    log.info(
        "dt-explain: %s%d pair(s): model %.2f s, pictures %.2f s -> %s/index.html",
        genes,
        out.n_pairs,
        out.seconds_compute,
        out.seconds_draw,
        out.outdir,
    )


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
