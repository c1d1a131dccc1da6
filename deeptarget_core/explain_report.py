"""dt-explain's report: the per-pair TSVs, the summary table, the pictures (a process pool),
the gene views of --gene-level (genes.tsv, one TSV and picture per gene)
and index.html, written into a temporary directory that is renamed into place at the end
(complete or absent; a directory is replaced only when it holds dt-explain's own manifest).
The explanations themselves are computed by :mod:`deeptarget_core.explain`."""

from __future__ import annotations

import html
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import plots, plots_explain
from .errors import InputError
from .explain import DIGITS, SEED_NT, Explanation
from .gene_explain import RIDGE_SITE_TERMS, SITE_TERMS, GeneExplanation

log = logging.getLogger("deeptarget")


PAIR_TSV_COLUMNS = (
    "step",
    "mirna_pos",
    "mirna_nt",
    "cts_pos",
    "cts_nt",
    "seed",
    "mirna_pair",
    "mirna_partner",
    "cts_pair",
    "cts_partner",
    "binding",
    "mirna_attr",
    "cts_attr",
)
SUMMARY_COLUMNS = (
    "pair",
    "mirna_id",
    "mrna_id",
    "site_type",
    "site_start",
    "site_end",
    "input_score",
    "score",
    "baseline_score",
    "attribution_sum",
    "completeness_error",
    "method",
    "layer",
    "best_unit",
    "best_unit_r",
    "duplex_score",
    "n_wc",
    "n_gu",
    "mirna_seq",
    "cts_window",
    "files",
    # the classic duplex (duplex.ClassicDuplex): its rows, one column each, of equal width
    "duplex_target",
    "duplex_match",
    "duplex_mirna",
    "duplex_seed",
)


def _f(x: float | None) -> str:
    """Fixed precision; no '-0.000000' (a tiny negative prints as 0)."""
    if x is None or not math.isfinite(x):
        return "NA"
    text = f"{x:.{DIGITS}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def pair_table_lines(e: Explanation) -> list[str]:
    """The numbers behind one picture: one row per interaction step.

    Columns: step (1-based), the miRNA nt read there (pos 1-based 5'->3', '.' past its 3'
    end), the CTS nt (window pos 1-based 5'->3'), seed (1 for miRNA nt 2-8), each nt's
    duplex pair type (WC/GU/mismatch/.) and partner position, the binding indicator, the two
    attributions (miRNA nt of the step, CTS nt of the step) and unit activations u1..uH.
    """
    L = len(e.window)
    units = e.activations.shape[1]
    m_pair = {mi: (ti, kind) for mi, ti, kind in e.duplex.pairs}
    c_pair = {ti: (mi, kind) for mi, ti, kind in e.duplex.pairs}
    mseq = e.pair.mirna_seq
    lines = ["\t".join(PAIR_TSV_COLUMNS + tuple(f"u{u + 1}" for u in range(units)))]
    acts = e.activations
    for i in range(L):
        ci = L - 1 - i
        in_m = i < len(mseq)
        mp = m_pair.get(i)
        cp = c_pair.get(ci)
        fields = [
            str(i + 1),
            str(i + 1) if in_m else ".",
            mseq[i] if in_m else ".",
            str(ci + 1),
            e.window[ci],
            "1" if in_m and SEED_NT[0] <= i + 1 <= SEED_NT[1] else "0",
            mp[1] if mp else ".",
            str(mp[0] + 1) if mp else ".",
            cp[1] if cp else ".",
            str(cp[0] + 1) if cp else ".",
            _f(float(e.binding[i])),
            _f(float(e.mirna_attr[i])),
            _f(float(e.cts_attr[ci])),
        ]
        fields += [_f(v) for v in acts[i].tolist()]
        lines.append("\t".join(fields))
    return lines


def safe_name(text: str) -> str:
    return plots.safe_name(text, fallback="x", limit=60, strip="_.")


def stem_of(k: int, e: Explanation) -> str:
    p = e.pair
    site = f"_{safe_name(p.site_start)}" if p.site_start else ""
    return f"pair{k + 1:04d}_{safe_name(p.mirna_id)}_{safe_name(p.mrna_id)}{site}"


@dataclass
class RunInfo:
    method: str
    steps: int
    baseline: float  # all-padding score without a site-type offset
    model_name: str
    site_prior: bool = False  # the model adds site-type offsets (per-pair baselines)
    seconds_compute: float = 0.0
    seconds_draw: float = 0.0
    formats: tuple[str, ...] = ("png", "svg")
    extra: dict = field(default_factory=dict)


def summary_line(k: int, e: Explanation, info: RunInfo, files: Sequence[str]) -> str:
    p = e.pair
    n_wc = sum(1 for *_, t in e.duplex.pairs if t == "WC")
    n_gu = sum(1 for *_, t in e.duplex.pairs if t == "GU")
    return "\t".join(
        [
            str(k + 1),
            p.mirna_id,
            p.mrna_id,
            p.site_type or ".",
            p.site_start or ".",
            p.site_end or ".",
            _f(p.input_score) if p.input_score is not None else "NA",
            _f(e.score),
            _f(e.baseline),
            _f(e.attribution_sum),
            _f(e.attribution_sum - (e.score - e.baseline)),
            info.method,
            str(e.layer + 1),
            str(e.unit + 1) if e.unit is not None else "NA",
            _f(e.unit_r),
            _f(e.duplex.score),
            str(n_wc),
            str(n_gu),
            p.mirna_seq,
            e.window,
            ",".join(files),
        ]
        + _classic_fields(e)
    )


def _classic_fields(e: Explanation) -> list[str]:
    c = e.classic
    return [c.target, c.match, c.mirna, c.seed] if c is not None else [".", ".", ".", "."]


# --------------------------------------------------------------------------- gene views

GENE_SUMMARY_COLUMNS = (
    "gene",
    "mirna_id",
    "mrna_id",
    "gene_name",
    "model_kind",
    "input_score",
    "score",
    "predicted_log2fc",
    "linear_predictor",
    "contribution_sum",
    "n_sites",
    "n_canonical",
    "rank",
    "n_ranked",
    "utr_length",
    "files",
)
# the per-gene table: one row per site, then the non-site terms, the fold-change map, the total
GENE_TSV_COLUMNS = (
    "row",
    "kind",
    "term",  # the site type for a site row, else the term's name
    "site_start",
    "site_end",
    "value",
    "contribution",
    "contribution_log2fc",
    "share",
    "log_affinity",
    "supp3",
    "au",
    "near_stop",
    "min_dist",
    "flanks",
)
GENE_DUPLEX_COLUMNS = ("duplex_target", "duplex_match", "duplex_mirna", "duplex_seed", "pair_view")


@dataclass
class GeneView:
    """A gene explanation and, per site index, the pair view (index into the run's
    explanations) of its CTS window."""

    gene: GeneExplanation
    site_pairs: dict[int, int] = field(default_factory=dict)


def gene_stem(j: int, g: GeneExplanation) -> str:
    return f"gene{j + 1:04d}_{safe_name(g.mirna_id)}_{safe_name(g.mrna_id)}"


def _term_columns(g: GeneExplanation) -> tuple[str, ...]:
    """The site-term columns: terms of the log affinity (occupancy) or of the contribution (ridge)."""
    if g.model_kind == "occupancy":
        return tuple(f"la_{t}" for t in SITE_TERMS)
    return tuple(f"c_{t}" for t in RIDGE_SITE_TERMS)


def gene_table_lines(g: GeneExplanation, pair_files: dict[int, str]) -> list[str]:
    """The numbers of one gene view (module gene_explain; docs/tools/dt-explain.md). The
    ``contribution`` column sums to the linear predictor (the ``total`` row) and
    ``contribution_log2fc`` (= fc_slope x contribution, plus the map's intercept row) to the
    predicted log2 fold change before it is capped at 0."""
    term_cols = _term_columns(g)
    lines = ["\t".join(GENE_TSV_COLUMNS + term_cols + GENE_DUPLEX_COLUMNS)]
    names = SITE_TERMS if g.model_kind == "occupancy" else RIDGE_SITE_TERMS
    none = ["."] * len(term_cols)
    row = 0
    for i, site in enumerate(g.sites):
        row += 1
        c = site.duplex
        fields = [
            str(row),
            "site" if site.canonical else "relaxed-site",
            site.site_type,
            str(site.site_start),
            str(site.site_end),
            ".",
            _f(site.contribution),
            _f(g.fc_slope * site.contribution),
            _f(site.share),
            _f(site.log_affinity),
            *(_f(site.context[k]) for k in ("supp3", "au", "near_stop", "min_dist")),
            site.flanks,
            *([_f(site.terms[t]) for t in names] if site.terms else none),
            *([c.target, c.match, c.mirna, c.seed] if c is not None else [".", ".", ".", "."]),
            pair_files.get(i, "."),
        ]
        lines.append("\t".join(fields))
    blank = ["."] * 9 + none + ["."] * len(GENE_DUPLEX_COLUMNS)
    for name, value, contribution in g.terms:
        row += 1
        kind = "constant" if name == "constant" else "pair-term"
        lines.append(
            "\t".join([str(row), kind, name, ".", ".", _f(value), _f(contribution), _f(g.fc_slope * contribution)] + blank[1:])
        )
    raw = g.linear_predictor
    fc0 = g.fc_intercept if raw is not None else 0.0
    lines.append("\t".join([str(row + 1), "fold-change-map", "fc_intercept", ".", ".", ".", "NA", _f(fc0)] + blank[1:]))
    total_fc = fc0 + g.fc_slope * raw if raw is not None else 0.0
    lines.append("\t".join([str(row + 2), "total", "linear_predictor", ".", ".", ".", _f(raw), _f(total_fc)] + blank[1:]))
    return lines


def gene_summary_line(j: int, g: GeneExplanation, files: Sequence[str]) -> str:
    return "\t".join(
        [
            str(j + 1),
            g.mirna_id,
            g.mrna_id,
            g.gene_name or ".",
            g.model_kind,
            _f(g.input_score) if g.input_score is not None else "NA",
            _f(g.score),
            _f(g.predicted_log2fc),
            _f(g.linear_predictor),
            _f(g.contribution_sum) if g.linear_predictor is not None else "NA",
            str(len(g.sites)),
            str(sum(s.canonical for s in g.sites)),
            str(g.rank) if g.rank is not None else "NA",
            str(g.n_ranked) if g.n_ranked is not None else "NA",
            str(g.utr_length),
            ",".join(files),
        ]
    )


def gene_subtitle(g: GeneExplanation, info: RunInfo) -> str:
    rank = ""
    if g.rank is not None:
        rank = f", rank {g.rank} of {g.n_ranked} of {g.mirna_id}'s genes in the gene table"
    return (
        f"gene score {g.score:.4f}{rank}; predicted log2 fold change {g.predicted_log2fc:+.3f}; "
        f"gene model: {info.extra.get('gene_model', '?')} ({g.model_kind})"
    )


def _write_genes(genes: Sequence[GeneView], tmp: Path, info: RunInfo, pair_files: dict[int, list[str]]) -> list[list[str]]:
    """Each gene's TSV and pictures (drawn in this process: a run has few genes)."""
    out = []
    for j, view in enumerate(genes):
        g, stem = view.gene, gene_stem(j, view.gene)
        linked = {i: _picture(pair_files[k]) or pair_files[k][0] for i, k in view.site_pairs.items()}
        (tmp / f"{stem}.tsv").write_text("\n".join(gene_table_lines(g, linked)) + "\n", encoding="utf-8")
        files = [f"{stem}.tsv"]
        for fmt in info.formats:
            plots_explain.draw_gene(g, tmp / f"{stem}.{fmt}", gene_subtitle(g, info))
            files.append(f"{stem}.{fmt}")
        out.append(files)
    return out


def _picture(files: Sequence[str]) -> str | None:
    return next((f for f in files if f.endswith(".png")), None) or next((f for f in files if f.endswith(".svg")), None)


MANIFEST = ".dt-explain-manifest"  # every file dt-explain wrote into its directory, one a line


def _check_replaceable(outdir: Path, force: bool) -> None:
    """An existing non-empty ``outdir`` is replaced only with ``force`` and only when it holds
    nothing but what an earlier dt-explain wrote (its manifest lists every file)."""
    if not force:
        raise InputError("output directory exists and is not empty (use {option} to replace it)", outdir, option="force")
    manifest = outdir / MANIFEST
    if not manifest.is_file():
        raise InputError(
            f"{{option}} replaces only an earlier dt-explain output (one with its {MANIFEST}); this folder has "
            "none: refusing to delete it",
            outdir,
            option="force",
        )
    listed = set(manifest.read_text(encoding="utf-8", errors="replace").splitlines()) | {MANIFEST}
    for entry in sorted(outdir.iterdir()):
        if entry.name not in listed or entry.is_symlink() or not entry.is_file():
            raise InputError(
                f"{{option}} replaces only what dt-explain wrote; '{entry.name}' is not one of its files: "
                "move it away or choose another output directory",
                outdir,
                option="force",
            )


def _install_dir(tmp: Path, outdir: Path, force: bool) -> None:
    """Rename the finished temporary directory to ``outdir``."""
    if outdir.exists():
        if not outdir.is_dir():
            raise InputError("output path exists and is not a directory", outdir)
        if any(outdir.iterdir()):
            _check_replaceable(outdir, force)
            old = Path(tempfile.mkdtemp(prefix=f".{outdir.name[:40]}.old.", dir=outdir.parent))
            os.replace(outdir, old / "x")
            os.replace(tmp, outdir)
            shutil.rmtree(old, ignore_errors=True)
            return
        outdir.rmdir()
    os.replace(tmp, outdir)


def check_outdir(outdir: str | os.PathLike, force: bool) -> Path:
    """Early check, before any work: the parent exists; outdir is absent, empty or --force."""
    out = Path(outdir)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise InputError("parent directory of the output directory does not exist", parent)
    if out.exists():
        if not out.is_dir():
            raise InputError("output path exists and is not a directory", out)
        if any(out.iterdir()):
            _check_replaceable(out, force)
    return out


def _draw_one(drawer, e: Explanation, tmp: Path, stem: str, formats: Sequence[str]) -> list[str]:
    files = [f"{stem}.tsv"]
    (tmp / f"{stem}.tsv").write_text("\n".join(pair_table_lines(e)) + "\n", encoding="utf-8")
    for fmt in formats:
        drawer.save(e, tmp / f"{stem}.{fmt}")
        files.append(f"{stem}.{fmt}")
    return files


_WORKER: dict = {}


def _quiet_worker() -> None:
    """Drawing workers leave Ctrl-C, SIGTERM and SIGHUP to the main process, which stops the
    pool (SIGTERM, default action: the worker ends without a traceback) and removes the
    temporary directory."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _worker_draw(job: tuple[list[tuple[int, Explanation]], str, tuple[str, ...], str]) -> list[tuple[int, list[str]]]:

    items, tmp, formats, method = job
    drawer = _WORKER.get(method)
    if drawer is None:
        drawer = _WORKER[method] = plots_explain.ExplainDrawer(method)
    return [(k, _draw_one(drawer, e, Path(tmp), stem_of(k, e), formats)) for k, e in items]


def write_outputs(
    explanations: Sequence[Explanation],
    outdir: str | os.PathLike,
    info: RunInfo,
    force: bool = False,
    advance: Callable[[int], None] | None = None,
    workers: int = 1,
    genes: Sequence[GeneView] = (),
) -> Path:
    """Pictures, per-pair TSVs, ``pairs.tsv`` and ``index.html`` into ``outdir`` (atomic);
    with ``genes`` (dt-explain --gene-level) also the gene views and ``genes.tsv``.

    ``workers`` > 1 draws in that many forked processes (the same bytes as one process: every
    picture is drawn completely from its own numbers).
    """
    out = check_outdir(outdir, force)
    parent = out.parent if str(out.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name[:40]}.", suffix=".tmp", dir=parent))
    try:
        t0 = time.perf_counter()
        files: dict[int, list[str]] = {}
        items = list(enumerate(explanations))
        if workers > 1 and len(items) > 1:
            import multiprocessing

            size = max(1, min(16, len(items) // (4 * workers)))
            jobs = [(items[i : i + size], str(tmp), tuple(info.formats), info.method) for i in range(0, len(items), size)]
            with multiprocessing.get_context("fork").Pool(workers, initializer=_quiet_worker) as pool:
                for done in pool.imap_unordered(_worker_draw, jobs):
                    for k, f in done:
                        files[k] = f
                    if advance is not None:
                        advance(len(done))
        else:
            drawer = plots_explain.ExplainDrawer(info.method)
            try:
                for k, e in items:
                    files[k] = _draw_one(drawer, e, tmp, stem_of(k, e), info.formats)
                    if advance is not None:
                        advance(1)
            finally:
                drawer.close()
        rows = [(k, e, files[k]) for k, e in items]
        lines = ["\t".join(SUMMARY_COLUMNS)] + [summary_line(k, e, info, f) for k, e, f in rows]
        (tmp / "pairs.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        gene_files = _write_genes(genes, tmp, info, files)
        if genes:
            glines = ["\t".join(GENE_SUMMARY_COLUMNS)] + [
                gene_summary_line(j, v.gene, f) for j, (v, f) in enumerate(zip(genes, gene_files))
            ]
            (tmp / "genes.tsv").write_text("\n".join(glines) + "\n", encoding="utf-8")
        (tmp / "index.html").write_text(index_html(rows, info, list(zip(genes, gene_files))), encoding="utf-8")
        written = sorted(p.name for p in tmp.iterdir())
        (tmp / MANIFEST).write_text("".join(f"{name}\n" for name in written), encoding="utf-8")
        info.seconds_draw = time.perf_counter() - t0
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        _install_dir(tmp, out, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


_CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee}
code{font-size:12px}
.pair{margin:1.5em 0;border-top:2px solid #888;padding-top:.5em}
.pair img{max-width:100%;border:1px solid #ddd}
.num{text-align:right}
pre.duplex{font-size:13px;background:#f7f7f7;padding:.5em;display:inline-block}
"""


def index_html(
    rows: Sequence[tuple[int, Explanation, Sequence[str]]],
    info: RunInfo,
    genes: Sequence[tuple[GeneView, Sequence[str]]] = (),
) -> str:
    """One self-contained page (inline CSS, no scripts, no fonts) linking every picture: the
    gene views first (each site linked to its pair view), then the pair views."""
    esc = html.escape
    method = (
        f"integrated gradients ({info.steps} Gauss-Legendre steps, all-padding baseline)"
        if info.method == "ig"
        else "gradient x input"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>dt-explain</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>dt-explain</h1>",
        f"<p>Model: <code>{esc(info.model_name)}</code>. Attribution: {esc(method)}; "
        f"baseline score {_f(info.baseline)}{' plus the pair site-type offset' if info.site_prior else ''}. "
        f"{len(rows)} pair(s). Numbers: "
        '<a href="pairs.tsv">pairs.tsv</a> and one TSV per pair.</p>',
        *_gene_sections(genes, info),
        "<h2>Pair views</h2>" if genes else "",
        "<table><tr><th>#</th><th>miRNA</th><th>target</th><th>site</th><th>input score</th>"
        "<th>score</th><th>best unit (r)</th><th>files</th></tr>",
    ]
    for k, e, files in rows:
        p = e.pair
        anchor = f"p{k + 1}"
        links = " ".join(f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in files)
        unit = f"u{e.unit + 1} ({e.unit_r:.2f})" if e.unit is not None else "NA"
        site = " ".join(x for x in (p.site_type, f"{p.site_start}-{p.site_end}" if p.site_start else "") if x)
        parts.append(
            f'<tr><td><a href="#{anchor}">{k + 1}</a></td><td>{esc(p.mirna_id)}</td><td>{esc(p.mrna_id)}</td>'
            f"<td>{esc(site)}</td><td class=num>{'' if p.input_score is None else f'{p.input_score:.4f}'}</td>"
            f"<td class=num>{e.score:.4f}</td><td>{unit}</td><td>{links}</td></tr>"
        )
    parts.append("</table>")
    for k, e, files in rows:
        p = e.pair
        png = next((f for f in files if f.endswith(".png")), None)
        svg = next((f for f in files if f.endswith(".svg")), None)
        pic = png or svg
        parts.append(f'<div class="pair" id="p{k + 1}"><h2>{k + 1}. {esc(p.mirna_id)} / {esc(p.mrna_id)}</h2>')
        parts.append(f"<p>miRNA <code>{esc(p.mirna_seq)}</code>, CTS <code>{esc(e.window)}</code>; score {e.score:.4f}.</p>")
        if e.classic is not None:
            parts.append(f'<pre class="duplex">{esc(e.duplex_text())}</pre>')
        if pic:
            parts.append(f'<a href="{esc(pic)}"><img loading="lazy" src="{esc(pic)}" alt="explanation of pair {k + 1}"></a>')
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _gene_sections(genes: Sequence[tuple[GeneView, Sequence[str]]], info: RunInfo) -> list[str]:
    """The gene views of index.html: a summary table, then per gene its picture and site table."""
    if not genes:
        return []
    esc = html.escape
    parts = [
        "<h2>Gene views</h2>",
        '<p>Numbers: <a href="genes.tsv">genes.tsv</a> and one TSV per gene. Contributions are parts of the '
        "gene model's linear predictor (higher = more repression); they add up to it. "
        "<code>log2FC</code>: the same parts on the predicted log2 fold change scale.</p>",
        "<table><tr><th>#</th><th>miRNA</th><th>target</th><th>gene score</th><th>predicted log2FC</th>"
        "<th>rank</th><th>sites</th><th>files</th></tr>",
    ]
    for j, (view, files) in enumerate(genes):
        g = view.gene
        links = " ".join(f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in files)
        rank = f"{g.rank} of {g.n_ranked}" if g.rank is not None else ""
        parts.append(
            f'<tr><td><a href="#g{j + 1}">{j + 1}</a></td><td>{esc(g.mirna_id)}</td><td>{esc(g.mrna_id)}'
            f"{' (' + esc(g.gene_name) + ')' if g.gene_name else ''}</td><td class=num>{g.score:.4f}</td>"
            f"<td class=num>{g.predicted_log2fc:+.3f}</td><td>{rank}</td><td class=num>{len(g.sites)}</td><td>{links}</td></tr>"
        )
    parts.append("</table>")
    for j, (view, files) in enumerate(genes):
        g = view.gene
        pic = _picture(files)
        parts.append(f'<div class="pair" id="g{j + 1}"><h2>gene {j + 1}. {esc(g.mirna_id)} / {esc(g.mrna_id)}</h2>')
        parts.append(f"<p>{esc(gene_subtitle(g, info))}.</p>")
        if pic:
            parts.append(f'<a href="{esc(pic)}"><img loading="lazy" src="{esc(pic)}" alt="gene view {j + 1}"></a>')
        parts.append(
            "<table><tr><th>site</th><th>contribution</th><th>log2FC</th><th>3' pairing</th><th>local AU</th>"
            "<th>near stop</th><th>position</th><th>flanks</th><th>duplex</th><th>pair view</th></tr>"
        )
        for i, s in enumerate(g.sites):
            k = view.site_pairs.get(i)
            link = f'<a href="#p{k + 1}">pair {k + 1}</a>' if k is not None else ""
            duplex = (
                esc(s.duplex.text(f"Position {s.site_start}-{s.site_end} of {g.mrna_id} ({s.site_type})")) if s.duplex else ""
            )
            ctx = s.context
            parts.append(
                f"<tr><td>{esc(s.site_type)} {s.site_start}-{s.site_end}{'' if s.canonical else ' (relaxed)'}</td>"
                f"<td class=num>{s.contribution + 0.0:+.4f}</td><td class=num>{g.fc_slope * s.contribution + 0.0:+.4f}</td>"
                f"<td class=num>{ctx['supp3']:.1f}</td><td class=num>{ctx['au']:.2f}</td>"
                f"<td class=num>{int(ctx['near_stop'])}</td><td class=num>{ctx['min_dist']:.2f}</td>"
                f'<td><code>{esc(s.flanks)}</code></td><td><pre class="duplex">{duplex}</pre></td><td>{link}</td></tr>'
            )
        for name, value, c in g.terms:
            parts.append(
                f"<tr><td>{esc(name)} ({value:.3g})</td><td class=num>{c + 0.0:+.4f}</td><td class=num>{g.fc_slope * c + 0.0:+.4f}</td>"
                "<td colspan=7></td></tr>"
            )
        total = "NA" if g.linear_predictor is None else f"{g.linear_predictor:+.4f}"
        parts.append(f"<tr><th>linear predictor</th><th class=num>{total}</th><td colspan=8></td></tr></table></div>")
    return parts
