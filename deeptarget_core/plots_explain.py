"""Pictures of dt-explain (matplotlib, Agg backend).

One figure per pair, built once per (window length, unit count) and then updated in place
(image data, letters, bars, pair lines). PNGs are blitted: the static parts (axes, labels,
colour bar, legend) are rendered once and each PNG redraws only the changing artists, about
half the CPU of a full draw; SVGs are drawn in full. From top to bottom:

1. the duplex as biologists read it (miRanda / TargetScan / RNAhybrid): the target 5'->3' on
   top, the miRNA 3'->5' below, column by column, ``|`` Watson-Crick, ``:`` G:U, bulges as
   spaces, the seed (nt 2-8) in green and marked ``^``, the site's position above
   (:func:`deeptarget_core.duplex.classic`: the same text as in pairs.tsv and index.html);
2. heatmap of the interaction RNN's activations, unit x step (colour scale fixed to [-1, 1],
   the range of GRU/LSTM outputs); the unit that best follows the binding pattern is outlined
   and labelled at the right end of its row;
3. the network's step-wise alignment (labelled so): miRNA (5'->3') on top and the CTS
   (3'->5') below, each letter in the column of the step that reads it; seed nt 2-8 shaded;
   Watson-Crick pairs as solid lines and G:U pairs as dashed lines between partners (the
   lines slant: partners are read several steps apart);
4. the marked unit's activation and the binding indicator along the steps;
5. per-nucleotide attribution of the miRNA and of the CTS (same columns; red raises the
   score, blue lowers it; one symmetric scale for both tracks, its end labels give the
   largest |attribution| of the pair).

Output is deterministic: fixed SVG hash salt, no dates or software versions in the metadata,
text drawn as paths in SVG (no fonts needed to view it).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .plots import pyplot

_DPI = 100
_CLASSIC_PT = 9  # the duplex text's font size
_CLASSIC_H = 1.05  # inches of the duplex text panel
_COL_M = "#1b7837"
_POS = "#c0392b"
_NEG = "#2e6fba"


class _Figure:
    """The reusable artists of one figure."""

    def __init__(self, length: int, units: int, method: str):
        L = self.length = length
        self.units = units
        gs, width = self._grid(L, units)
        x = np.arange(L)
        # The artists are made in drawing order (duplex text, heatmap, step-wise alignment,
        # trace, attributions): the same order gives the same bytes.
        self._classic(gs, width)
        self._heatmap(gs, L, units)
        self._duplex(gs, x)
        self._trace(gs, x)
        self._attributions(gs, x, L, method)
        for ax in (self.ax_heat, self.ax_dup, self.ax_trace, self.ax_am, self.ax_ac):
            ax.set_xlim(-0.5, L - 0.5)
        for ax in (self.ax_dup, self.ax_trace, self.ax_am):
            ax.set_xticks([])

    def _grid(self, L: int, units: int):
        """The figure (its size from the window length and unit count) and its 5 x 2 grid."""
        plt = pyplot()
        width = max(9.0, 0.24 * L + 2.5)
        heat_h = max(2.2, min(6.0, 0.09 * units + 0.6))
        heights = [_CLASSIC_H, heat_h, 1.25, 1.0, 0.95, 0.95]
        fig = self.fig = plt.figure(figsize=(width, sum(heights) + 1.4), dpi=_DPI)
        self.height = sum(heights) + 1.4
        return fig.add_gridspec(
            6,
            2,
            height_ratios=heights,
            width_ratios=[1, 0.012],
            hspace=0.28,
            wspace=0.02,
            left=0.9 / width,
            right=1 - 0.55 / width,
            top=1 - 0.75 / self.height,
            bottom=0.45 / self.height,
        ), width

    def _heatmap(self, gs, L: int, units: int) -> None:
        """Panel 1: the activations (unit x step), colour bar, marked unit, titles."""
        from matplotlib.patches import Rectangle

        fig = self.fig
        ax_h = self.ax_heat = fig.add_subplot(gs[1, 0])
        self.im = ax_h.imshow(np.zeros((units, L)), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        cax = fig.add_subplot(gs[1, 1])
        fig.colorbar(self.im, cax=cax).ax.tick_params(labelsize=7)
        ax_h.set_ylabel("unit", fontsize=8)
        step = 5 if units > 12 else 1
        ax_h.set_yticks(np.arange(step - 1, units, step))
        ax_h.set_yticklabels([str(u) for u in range(step, units + 1, step)], fontsize=7)
        ax_h.set_xticks([])
        self.mark = Rectangle((-0.5, -0.5), L, 1, fill=False, edgecolor="black", linewidth=1.6)
        ax_h.add_patch(self.mark)
        self.mark_label = ax_h.text(
            L - 0.7,
            0,
            "",
            fontsize=7,
            fontweight="bold",
            ha="right",
            va="center",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
        self.title = fig.suptitle("", fontsize=10, y=1 - 0.08 / self.height)
        self.subtitle = fig.text(0.5, 1 - 0.38 / self.height, "", fontsize=8, ha="center", va="top")

    def _classic(self, gs, width: float) -> None:
        """Panel 1: the classic duplex, one monospace text per row (a monospace font keeps
        the columns); the seed letters are a second, green text over blanks in the miRNA row."""
        ax = self.ax_classic = self.fig.add_subplot(gs[0, :])
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.text(0, 1.0, "duplex (target 5'\u21923' over miRNA 3'\u21925')", fontsize=7.5, fontweight="bold", va="top")
        ax.text(1.0, 1.0, "| Watson-Crick   : G:U   space: mismatch or bulge   ^ seed nt 2-8", fontsize=6.5, ha="right", va="top")
        # one character of the 9 pt monospace font, in axes units (to centre the block)
        self.char_w = 0.6 * _CLASSIC_PT / 72 / (width * (1 - 1.45 / width))
        kw = {"fontsize": _CLASSIC_PT, "family": "monospace", "va": "baseline", "ha": "left"}
        self.classic_head = ax.text(0.5, 0.80, "", fontsize=7.5, ha="center", va="baseline")
        self.classic_rows = [ax.text(0.5, y, "", **kw) for y in (0.60, 0.42, 0.24, 0.06)]
        self.classic_seed = ax.text(0.5, 0.24, "", color=_COL_M, fontweight="bold", **kw)

    def _duplex(self, gs, x) -> None:
        """Panel 3: the network's step-wise alignment: the miRNA and CTS letters, the seed
        box and the pair lines."""
        from matplotlib.collections import LineCollection
        from matplotlib.patches import Rectangle

        ax_d = self.ax_dup = self.fig.add_subplot(gs[2, 0])
        ax_d.set_ylim(-0.6, 1.6)
        ax_d.set_yticks([0, 1])
        ax_d.set_yticklabels(["CTS 3'\u21925'", "miRNA 5'\u21923'"], fontsize=7)
        ax_d.tick_params(axis="both", length=0, labelbottom=False)
        for s in ax_d.spines.values():
            s.set_visible(False)
        self.seed_box = Rectangle((0.5, 0.72), 7, 0.56, facecolor="#ffe08a", edgecolor="#d4a017", linewidth=0.8)
        ax_d.add_patch(self.seed_box)
        ax_d.text(4, 1.42, "seed 2-8", fontsize=6.5, ha="center", va="bottom", color="#8a6d00")
        self.pairs = LineCollection([], linewidths=1.1, colors="#555555")
        ax_d.add_collection(self.pairs)
        self.m_letters = [ax_d.text(i, 1, "", ha="center", va="center", fontsize=7.5, family="monospace") for i in x]
        self.c_letters = [ax_d.text(i, 0, "", ha="center", va="center", fontsize=7.5, family="monospace") for i in x]
        ax_d.text(1.0, -0.05, "solid: Watson-Crick, dashed: G:U", transform=ax_d.transAxes, fontsize=6.5, ha="right", va="top")
        ax_d.text(
            0.0,
            1.02,
            "the network's step-wise alignment (step i reads miRNA nt i and CTS window nt L+1-i)",
            transform=ax_d.transAxes,
            fontsize=7,
            fontstyle="italic",
            va="bottom",
        )

    def _trace(self, gs, x) -> None:
        """Panel 3: the marked unit's activation and the binding indicator along the steps."""
        L = len(x)
        ax_t = self.ax_trace = self.fig.add_subplot(gs[3, 0])
        (self.bind_line,) = ax_t.step(x, np.zeros(L), where="mid", color="#999999", linewidth=1.2, label="binding")
        (self.unit_line,) = ax_t.plot(
            x, np.zeros(L), color="black", linewidth=1.2, marker="o", markersize=2.2, label="marked unit"
        )
        ax_t.axhline(0, color="#cccccc", linewidth=0.6)
        ax_t.set_ylim(-1.05, 1.05)
        ax_t.tick_params(labelsize=7, labelbottom=False)
        self.trace_legend = ax_t.legend(fontsize=6.5, loc="upper right", frameon=False, ncol=2)

    def _attributions(self, gs, x, L: int, method: str) -> None:
        """Panels 4-5: per-nucleotide attribution bars of the miRNA and of the CTS."""
        label = "IG" if method == "ig" else "grad\u00d7input"
        ax_m = self.ax_am = self.fig.add_subplot(gs[4, 0])
        ax_c = self.ax_ac = self.fig.add_subplot(gs[5, 0])
        self.bars_m = ax_m.bar(x, np.zeros(L), width=0.8, color=_POS)
        self.bars_c = ax_c.bar(x, np.zeros(L), width=0.8, color=_POS)
        ax_m.set_ylabel(f"miRNA\n{label}", fontsize=7)
        ax_c.set_ylabel(f"CTS\n{label}", fontsize=7)
        self.scale_labels = []
        for ax in (ax_m, ax_c):
            ax.axhline(0, color="#888888", linewidth=0.6)
            ax.tick_params(labelsize=7)
            # Bars are drawn in units of the pair's largest |attribution| (fixed axes, so the
            # static parts of the figure can be drawn once); the tick labels give the scale.
            ax.set_ylim(-1.1, 1.1)
            ax.set_yticks([-1, 0, 1])
            ax.set_yticklabels(["", "0", ""])
            trans = ax.get_yaxis_transform()
            self.scale_labels += [ax.text(-0.008, y, "", transform=trans, ha="right", va="center", fontsize=7) for y in (1, -1)]
        ax_m.tick_params(labelbottom=False)
        ticks = [0] + list(range(4, L, 5))
        ax_c.set_xticks(ticks)
        ax_c.set_xticklabels([str(i + 1) for i in ticks], fontsize=7)
        ax_c.set_xlabel("interaction step (miRNA nt i, CTS window nt L+1-i)", fontsize=7.5)

    _background = None

    def update(self, e, method: str) -> None:
        L = self.length
        p = e.pair
        mseq = p.mirna_seq
        self.im.set_data(e.activations.T)
        labels = [mseq[i] if i < len(mseq) else "" for i in range(L)]
        if e.unit is not None:
            self.mark.set_visible(True)
            self.mark.set_y(e.unit - 0.5)
            self.mark_label.set_position((L - 0.7, e.unit))
            self.mark_label.set_text(f"u{e.unit + 1}")
            self.mark_label.set_visible(True)
        else:
            self.mark.set_visible(False)
            self.mark_label.set_visible(False)
        site = " ".join(x for x in (p.site_type, f"{p.site_start}-{p.site_end}" if p.site_start else "") if x)
        self.title.set_text(f"{p.mirna_id}  \u00d7  {p.mrna_id}" + (f"   ({site})" if site else ""))
        given = f"input score {p.input_score:.4f}, " if p.input_score is not None else ""
        unit = f"best unit u{e.unit + 1} (r = {e.unit_r:+.2f} with binding)" if e.unit is not None else "no duplex pairs"
        self.subtitle.set_text(
            f"{given}model score {e.score:.4f}; layer {e.layer + 1} activations; {unit}; "
            f"attributions sum {e.attribution_sum:+.4f}"
        )
        self._update_classic(e)
        for i in range(L):
            self.m_letters[i].set_text(labels[i])
            self.m_letters[i].set_color(_COL_M if 1 <= i <= 7 else "black")
            ct = e.window[L - 1 - i]
            self.c_letters[i].set_text(ct)
            self.c_letters[i].set_color("#aaaaaa" if ct == "N" else "black")
        segs, styles = [], []
        for mi, ti, kind in e.duplex.pairs:
            if kind == "mismatch" or mi >= L:
                continue
            segs.append([(mi, 0.78), (L - 1 - ti, 0.22)])
            styles.append("solid" if kind == "WC" else (0, (2.0, 1.5)))
        self.pairs.set_segments(segs)
        self.pairs.set_linestyles(styles or ["solid"])
        self.bind_line.set_ydata(e.binding)
        self.unit_line.set_ydata(e.activations[:, e.unit] if e.unit is not None else np.full(L, np.nan))
        cts_by_step = e.cts_attr[::-1]
        lim = float(max(np.abs(e.mirna_attr).max(), np.abs(cts_by_step).max()))
        scale = 1.0 / lim if lim > 0 else 0.0
        for bars, vals in ((self.bars_m, e.mirna_attr), (self.bars_c, cts_by_step)):
            for rect, v in zip(bars.patches, vals.tolist()):
                rect.set_height(v * scale)
                rect.set_facecolor(_POS if v >= 0 else _NEG)
        for text, sign in zip(self.scale_labels, (1, -1, 1, -1)):
            text.set_text(f"{sign * lim:+.2g}" if lim > 0 else "")

    def _update_classic(self, e) -> None:
        c = e.classic
        if c is None:
            for t in self.classic_rows + [self.classic_seed, self.classic_head]:
                t.set_text("")
            return
        rows = c.lines()
        x0 = max(0.0, 0.5 - self.char_w * max(map(len, rows)) / 2)
        self.classic_head.set_text(e.duplex_header)
        for t, row in zip(self.classic_rows, rows):
            t.set_x(x0)
            t.set_text(row)
        # the seed letters: blank in the black miRNA row, alone in the green one (same columns)
        mirna_row, seed_row = rows[2], rows[3]
        in_seed = [i < len(seed_row) and seed_row[i] == "^" for i in range(len(mirna_row))]
        self.classic_rows[2].set_text("".join(" " if s else ch for ch, s in zip(mirna_row, in_seed)))
        self.classic_seed.set_x(x0)
        self.classic_seed.set_text("".join(ch if s else " " for ch, s in zip(mirna_row, in_seed)))

    def _dynamic(self) -> list:
        return (
            self.classic_rows
            + [self.classic_seed, self.classic_head]
            + [self.im, self.mark, self.mark_label, self.title, self.subtitle, self.pairs]
            + self.m_letters
            + self.c_letters
            + [self.bind_line, self.unit_line]
            + list(self.bars_m.patches)
            + list(self.bars_c.patches)
            + self.scale_labels
        )

    def _save_png(self, path: Path) -> None:
        """PNG by blitting: the static parts are rendered once and kept as a background;
        each picture restores it and draws only the artists that change (several times
        faster than a full draw). Animated artists are still drawn by ``savefig`` (SVG)."""
        from PIL import Image

        canvas = self.fig.canvas
        if self._background is None:
            for a in self._dynamic():
                a.set_animated(True)
            canvas.draw()  # everything static
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for a in self._dynamic():
            if a.get_visible():
                a.draw(renderer)
        w, h = canvas.get_width_height()
        image = Image.frombuffer("RGBA", (w, h), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
        image.save(path, format="png")

    def save(self, path: Path) -> None:
        path = Path(path)
        if path.suffix == ".svg":
            self.fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
        else:
            self._save_png(path)


class ExplainDrawer:
    """Draws :class:`~deeptarget_core.explain.Explanation` s, reusing one figure per shape."""

    def __init__(self, method: str = "ig"):
        self.method = method
        self._figs: dict[tuple[int, int], _Figure] = {}
        self._current: object | None = None

    def _figure(self, e) -> _Figure:
        key = (len(e.window), e.activations.shape[1])
        fig = self._figs.get(key)
        if fig is None:
            fig = self._figs[key] = _Figure(key[0], key[1], self.method)
        return fig

    def save(self, e, path: str | Path) -> None:
        fig = self._figure(e)
        if self._current is not e:
            fig.update(e, self.method)
            self._current = e
        fig.save(Path(path))

    def close(self) -> None:
        plt = pyplot()
        for f in self._figs.values():
            plt.close(f.fig)
        self._figs.clear()


# --------------------------------------------------------------------------- the gene view

_TYPE_COLOUR = {
    "8mer": "#7b1fa2",
    "7mer-m8": "#c2185b",
    "7mer-A1": "#ef6c00",
    "6mer": "#f9a825",
}
_RELAXED = "#9e9e9e"
_TERM_LABEL = {
    "type": "site type",
    "flanks": "flanks",
    "supp3": "3' pairing",
    "au": "local AU",
    "near_stop": "near stop",
    "min_dist": "position",
    "centring": "centring",
    "count": "site",
    "logit": "network",
    "constant": "constant",
    "log_utr_length": "UTR length",
    "coop_pairs": "cooperative pairs",
    "occupancy": "occupancy",
    "best_canonical_logit": "best site logit",
    "any_canonical": "canonical site",
}


def draw_gene(g, path: str | Path, subtitle: str = "") -> None:
    """The gene view of a :class:`~deeptarget_core.gene_explain.GeneExplanation`, top to
    bottom: the site map along the UTR (each site a stem as high as its contribution to the
    linear predictor, coloured by type; relaxed sites grey ticks; the 15 nt after the stop
    codon shaded), the contributions that add up to the linear predictor (a waterfall: sites,
    then the non-site terms, then the total), and each canonical site's terms (a table of
    coloured cells). One figure per gene, drawn in full (PNG or SVG by the suffix)."""
    from matplotlib.patches import Rectangle

    plt = pyplot()
    path = Path(path)
    canon = [s for s in g.sites if s.canonical]
    bars = [(f"{s.site_type} {s.site_start}", s.contribution, _TYPE_COLOUR.get(s.site_type, _RELAXED)) for s in canon]
    bars += [(_TERM_LABEL.get(name, name), c, "#607d8b") for name, _, c in g.terms]
    term_names = list(canon[0].terms) if canon else []
    heights = [1.7, 0.32 * (len(bars) + 1) + 0.6, (0.3 * len(canon) + 0.7) if canon else 0.4]
    fig = plt.figure(figsize=(10.0, sum(heights) + 1.1), dpi=_DPI)
    total_h = sum(heights) + 1.1
    gs = fig.add_gridspec(
        3, 1, height_ratios=heights, hspace=0.55, left=0.17, right=0.97, top=1 - 0.8 / total_h, bottom=0.35 / total_h
    )
    name = f" ({g.gene_name})" if g.gene_name else ""
    fig.suptitle(f"{g.mirna_id}  \u00d7  {g.mrna_id}{name}", fontsize=11, y=1 - 0.1 / total_h)
    fig.text(0.5, 1 - 0.42 / total_h, subtitle, fontsize=8, ha="center", va="top")

    # 1. site map
    ax = fig.add_subplot(gs[0])
    L = g.utr_length
    ax.add_patch(Rectangle((0, -0.02), L, 0.04, color="#cfd8dc", zorder=0, transform=ax.get_xaxis_transform()))
    ax.axvspan(0, min(15, L), color="#eceff1", zorder=0)
    ax.axhline(0, color="#888888", linewidth=0.6)
    finite = [s.contribution for s in g.sites if math.isfinite(s.contribution)]  # a degenerate model may give inf
    top = max([abs(c) for c in finite] + [1e-9])
    for s in g.sites:
        mid = (s.site_start + s.site_end) / 2
        if s.canonical:
            colour = _TYPE_COLOUR.get(s.site_type, _RELAXED)
            ax.vlines(mid, 0, s.contribution, color=colour, linewidth=2)
            ax.plot([mid], [s.contribution], "o", color=colour, markersize=5)
            ax.text(
                mid,
                s.contribution + 0.06 * top * (1 if s.contribution >= 0 else -1),
                s.site_type,
                fontsize=6.5,
                ha="center",
                va="bottom" if s.contribution >= 0 else "top",
                color=colour,
            )
        else:
            ax.vlines(mid, -0.12 * top, 0.12 * top, color=_RELAXED, linewidth=1)
    ax.set_xlim(0, max(L, 1))
    ax.set_ylim(min([-0.3 * top] + [1.35 * c for c in finite]), 1.45 * top)
    ax.set_xlabel(f"position in the 3'UTR (nt; {L} nt, 5' end = stop codon; shaded: first 15 nt)", fontsize=7.5)
    ax.set_ylabel("contribution", fontsize=7.5)
    ax.tick_params(labelsize=7)
    ax.set_title(
        "site map (grey ticks: relaxed sites, not in the model)" if g.model_kind == "occupancy" else "site map",
        fontsize=8,
        loc="left",
    )

    # 2. waterfall of the contributions
    ax = fig.add_subplot(gs[1])
    running = 0.0
    labels = []
    ends = [0.0]
    for k, (label, c, colour) in enumerate(bars):
        ax.barh(k, c, left=running, color=colour, height=0.6)
        ax.text(max(running, running + c), k, f" {c:+.3f}", fontsize=6.5, va="center")
        running += c
        ends.append(running)
        labels.append(label)
    raw = g.linear_predictor
    k = len(bars)
    if raw is not None:
        ax.barh(k, raw, color="#263238", height=0.6)
        ax.text(max(0.0, raw), k, f" {raw:+.3f}", fontsize=6.5, va="center", fontweight="bold")
    labels.append("linear predictor" if raw is not None else "no canonical site")
    ends = [e for e in ends + ([raw] if raw is not None else []) if math.isfinite(e)]
    span = (max(ends) - min(ends)) or 1.0
    ax.set_xlim(min(ends) - 0.05 * span, max(ends) + 0.16 * span)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="#888888", linewidth=0.6)
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title("contributions to the linear predictor (they add up to it; higher = more repression)", fontsize=8, loc="left")

    # 3. each canonical site's terms
    ax = fig.add_subplot(gs[2])
    ax.set_axis_off()
    if canon:
        values = np.array([[s.terms[t] for t in term_names] for s in canon])
        lim = float(np.abs(values[np.isfinite(values)]).max(initial=0.0)) or 1.0
        ax.imshow(values, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_axis_on()
        ax.set_xticks(range(len(term_names)))
        ax.set_xticklabels([_TERM_LABEL.get(t, t) for t in term_names], fontsize=7)
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(canon)))
        ax.set_yticklabels([f"{s.site_type} {s.site_start}" for s in canon], fontsize=7)
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:+.2f}", ha="center", va="center", fontsize=6.5, color="white" if abs(v) > 0.6 * lim else "black")
        what = "log affinity" if g.model_kind == "occupancy" else "contribution"
        ax.set_title(f"each site's terms of its {what}", fontsize=8, loc="left", pad=16)
    else:
        ax.text(0.5, 0.5, "no canonical site: the gene scores the model's floor", ha="center", va="center", fontsize=8)
    if path.suffix == ".svg":
        fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    else:
        fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
