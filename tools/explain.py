"""dt-explain: show why the model scored miRNA/CTS pairs as it did (the paper's Figure 7)."""

from __future__ import annotations

import logging
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from deeptarget_core.errors import InputError
from deeptarget_tools import _cli
from deeptarget_tools.options import (
    Device,
    OptBatchSize,
    OptDebug,
    OptDevice,
    OptMirnaFasta,
    OptModel,
    OptQuiet,
    OptVerbose,
    OptVersion,
)

log = logging.getLogger("deeptarget")
app = _cli.make_app(
    "Explain model scores of miRNA/CTS pairs: per pair a heatmap of the interaction RNN's "
    "activations with the duplex and the unit that follows the binding pattern, per-nucleotide "
    "attributions (PNG and SVG), a TSV of the numbers, and one index.html for the run."
)


class Method(str, Enum):
    ig = "ig"
    gradxinput = "gradxinput"


@app.command()
def command(
    table: Annotated[
        Optional[str],
        typer.Argument(
            help="Site table (dt-scan-cts), prediction table (dt-predict) or site-level pair table ('-' = stdin).",
            metavar="TABLE",
        ),
    ] = None,
    mirna: OptMirnaFasta = None,
    mirna_seq: Annotated[
        Optional[List[str]],
        typer.Option("--mirna-seq", help="A miRNA sequence (5'->3'); repeat, paired in order with --cts-seq.", metavar="SEQ"),
    ] = None,
    cts_seq: Annotated[
        Optional[List[str]],
        typer.Option("--cts-seq", help="A CTS window (5'->3' as on the target); repeatable.", metavar="SEQ"),
    ] = None,
    top: Annotated[
        Optional[int],
        typer.Option(
            "--top",
            min=1,
            help="Explain only the N best-scoring rows (the table's score column, else the model's score); ties: earlier row first.",
        ),
    ] = None,
    outdir: Annotated[
        Path, typer.Option("-o", "--outdir", help="Output directory (must not exist, or be empty; see --force).", metavar="DIR")
    ] = Path("dt-explain"),
    method: Annotated[
        Method, typer.Option("--method", help="Attribution: integrated gradients, or gradient x input.")
    ] = Method.ig,
    steps: Annotated[
        int, typer.Option("--steps", min=1, max=256, help="Integrated-gradients steps (Gauss-Legendre nodes).")
    ] = 32,
    layer: Annotated[
        Optional[int], typer.Option("--layer", min=1, help="Interaction RNN layer to show (1-based; default: the last).")
    ] = None,
    no_svg: Annotated[bool, typer.Option("--no-svg", help="PNG only (SVG roughly doubles the drawing time).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an earlier dt-explain output directory.")] = False,
    model: OptModel = None,
    device: OptDevice = Device.auto,
    batch_size: OptBatchSize = 4096,
    threads: Annotated[
        int, typer.Option("-p", "--threads", min=1, help="CPU threads for the model, and processes drawing the pictures.")
    ] = 1,
    quiet: OptQuiet = False,
    verbose: OptVerbose = False,
    debug: OptDebug = False,
    version: OptVersion = None,
) -> None:
    """Write per-pair pictures and TSVs, pairs.tsv and index.html into --outdir."""
    _cli.setup_logging(quiet, verbose)
    _explain(
        table,
        mirna,
        mirna_seq or [],
        cts_seq or [],
        top,
        outdir,
        method.value,
        steps,
        layer,
        no_svg,
        force,
        model,
        device.value,
        batch_size,
        threads,
        debug=debug,
    )


@_cli.handle_errors
def _explain(
    table,
    mirna,
    mirna_seqs,
    cts_seqs,
    top,
    outdir,
    method,
    steps,
    layer,
    no_svg,
    force,
    model_path,
    device,
    batch_size,
    threads,
    debug=False,
) -> None:
    from deeptarget_core import explain as ex
    from deeptarget_core import explain_report as report

    if table is None and not mirna_seqs and not cts_seqs:
        raise typer.BadParameter("give a TABLE, or --mirna-seq and --cts-seq")
    if table is not None and (mirna_seqs or cts_seqs):
        raise typer.BadParameter("give a TABLE or --mirna-seq/--cts-seq, not both")
    if table is None and mirna is not None:
        raise typer.BadParameter("--mirna goes with a TABLE (use --mirna-seq on the command line)")
    if table == "-" and mirna is not None and str(mirna) == "-":
        raise InputError("only one of TABLE and --mirna can be read from stdin")
    # Cheap checks first: a bad output directory or sequence fails before the model loads.
    _cli.check_paths({"TABLE": table, "--mirna": mirna, "--model": model_path}, {}, {"-o": outdir})
    report.check_outdir(outdir, force)
    from deeptarget_core.io import check_output_path

    check_output_path(outdir, directory=True)  # the parent must take the new directory
    cli_pairs = ex.pairs_from_sequences(mirna_seqs, cts_seqs, ("--mirna-seq", "--cts-seq")) if table is None else None
    mirnas = ex.read_mirna_fasta(mirna) if mirna is not None else None

    from deeptarget_core import runtime
    from deeptarget_core.model import DEFAULT_MODEL_PATH, load_model

    dev = runtime.setup(threads, device)
    net, _ = load_model(model_path, dev)
    ex.resolve_layer(net, layer)
    t0 = time.perf_counter()
    if cli_pairs is not None:
        pairs = cli_pairs
    else:
        chunks = ex.iter_table_pairs(table, mirnas, str(mirna) if mirna is not None else None)
        if top is not None:
            pairs = ex.top_pairs(chunks, top, lambda ps: ex.model_scores(net, ps, batch_size, dev))
        else:
            pairs = [p for chunk in chunks for p in chunk]
    if not pairs:
        raise InputError("no rows to explain (empty table)", table)
    log.info("dt-explain: %d pair(s), %s attributions", len(pairs), f"IG with {steps} steps" if method == "ig" else method)
    explanations = ex.explain(net, pairs, method, steps, layer, batch_size, dev)
    t1 = time.perf_counter()
    info = report.RunInfo(
        method=method,
        steps=steps,
        baseline=ex.baseline_score(net, dev),
        site_prior=net.config.site_prior,
        model_name=str(model_path) if model_path else f"packaged default ({DEFAULT_MODEL_PATH.name})",
        seconds_compute=t1 - t0,
        formats=("png",) if no_svg else ("png", "svg"),
    )
    if method == "ig":
        gap = max(abs(e.attribution_sum - (e.score - e.baseline)) for e in explanations)
        if gap > 1e-3:
            log.warning("dt-explain: IG attributions miss score - baseline by up to %.2g; use more --steps", gap)
    with _cli.progress("drawing", total=len(explanations)) as advance:
        report.write_outputs(explanations, outdir, info, force=force, advance=advance, workers=threads)
    log.info(
        "dt-explain: %d pair(s): model %.2f s, pictures %.2f s -> %s/index.html",
        len(explanations),
        info.seconds_compute,
        info.seconds_draw,
        outdir,
    )


def main() -> None:
    _cli.run(app)


if __name__ == "__main__":
    main()
