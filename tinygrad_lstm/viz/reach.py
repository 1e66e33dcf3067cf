"""The gradient's reach over training as a heat map: training steps down, steps back in time across.

Each cell is ||dL/dh_{T-k}|| / ||dL/dh_T|| (from ``tl.record_reach``) on the pictures' one colour
scale (``scale.py``: 1e-8 light green to 1e0 near black), so a row that stays dark to its right end is
a gradient that reaches the start of the sequence. Several recordings (a tanh RNN and an LSTM trained
on the same task and seeds) sit side by side on one scale and one step axis.

The map is SVG written here (a browser or a notebook shows it; hover a cell for its numbers), an HTML
page, or a PNG through matplotlib; in a notebook ``show()`` displays it and redraws it in place each
time a recorded training step's backward completes.

>>> import tinygrad_lstm as tl
>>> rnn = tl.nn.RNN(2, 3)
>>> with tl.record_reach(rnn) as reach:
...     out, _ = rnn(tl.randn(4, 1, 2))
...     (out[-1] ** 2).sum().backward()
>>> picture = tl.viz.reach_map([("tanh RNN", reach)])
>>> picture.svg().count('class="cell"')
4
"""

from __future__ import annotations

import math
import os
from html import escape

import numpy as np

from ..instruments import reach as _recorder
from .scale import DEFAULT_SCALE, ZERO, HeatScale, contrast
from .text import text_width

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
TITLE = "How far back the gradient reaches: ||dL/dh_(T-k)|| / ||dL/dh_T|| at each training step"
LEGEND = "colour: ||dL/dh_(T-k)|| / ||dL/dh_T||, log scale (the scale of every picture); white: exactly 0"
PANEL_WIDTH = 470  # pixels of cells per panel, at most
PANEL_HEIGHT = 420


class ReachMap:
    """One or more reach recordings drawn side by side on one colour scale and one step axis."""

    def __init__(self, recordings, scale: tuple[int, int] | str = DEFAULT_SCALE, title: str | None = None) -> None:
        self.recordings = list(recordings)
        self.scale = HeatScale(scale, [v for _, r in self.recordings for v in r.ratios().ravel() if v == v])
        self.title = TITLE if title is None else title
        self.handle = None  # IPython's display handle, once show() has run

    # ---- data ------------------------------------------------------------------------------------
    def steps(self) -> list[int]:
        """Every training step any recording has, in order: the rows."""
        return sorted({s for _, r in self.recordings for s in r.steps})

    def length(self) -> int:
        return max((r.length for _, r in self.recordings), default=0)

    # ---- SVG -------------------------------------------------------------------------------------
    def svg(self) -> str:
        steps, T = self.steps(), max(self.length(), 1)
        rows = max(len(steps), 1)
        cw = max(4.0, min(16.0, PANEL_WIDTH / T))
        ch = max(4.0, min(16.0, PANEL_HEIGHT / rows))
        left, top, gap = 62, 68, 36
        pw, ph = cw * T, ch * rows
        width = max(
            left + len(self.recordings) * (pw + gap) + 10,
            text_width(self.title, 14, True) + 24,
            text_width(LEGEND, 11) + 24,
            sum(9 + 6.5 * len(text) for text, _ in self.scale.swatches()) + 24,
        )
        legend_y = top + ph + 52
        height = legend_y + 62
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="reach-map" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" shape-rendering="crispEdges">',
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            f'<text x="8" y="20" font-size="14" font-weight="bold">{escape(self.title)}</text>',
        ]
        label_every = max(1, math.ceil(13 / ch))
        for j, (label, rec) in enumerate(self.recordings):
            x0 = left + j * (pw + gap)
            parts.append(f'<g class="panel" data-label="{escape(label)}">')
            parts.append(f'<text x="{x0}" y="{top - 22}" font-size="13" font-weight="bold">{escape(label)}</text>')
            last = rec.steps[-1] if rec.steps else None
            if last is not None and last < steps[-1]:
                parts.append(
                    f'<text x="{x0 + pw}" y="{top - 22}" font-size="11" text-anchor="end">'
                    f"recorded up to step {last}</text>"
                )
            parts.append(
                f'<rect x="{x0 - 0.5}" y="{top - 0.5}" width="{pw + 1}" height="{ph + 1}" fill="none" '
                'stroke="#9a9a9a"/>'
            )
            for i, s in enumerate(steps):
                if s not in rec.norms or not rec.norms[s]:
                    continue
                r = rec.row(s)
                for k, v in enumerate(r):
                    if v != v:  # NaN: no gradient arrived there
                        continue
                    fill = self.scale.colour(v) if v != 0 else ZERO
                    parts.append(
                        f'<rect class="cell" x="{x0 + k * cw:.1f}" y="{top + i * ch:.1f}" width="{cw:.1f}" '
                        f'height="{ch:.1f}" fill="{fill}"><title>{escape(label)}, training step {s}, k={k} '
                        f"(t={len(r) - 1 - k}): {v:.2e}</title></rect>"
                    )
            for k in _ticks(T):
                x = x0 + (k + 0.5) * cw
                parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + ph}" y2="{top + ph + 4}" stroke="#555"/>')
                parts.append(f'<text x="{x:.1f}" y="{top + ph + 16}" font-size="11" text-anchor="middle">{k}</text>')
            parts.append(
                f'<text x="{x0 + pw / 2:.1f}" y="{top + ph + 32}" font-size="11" text-anchor="middle">'
                f"k, steps back from the last (T={T})</text>"
            )
            parts.append("</g>")
        for i, s in enumerate(steps):
            if i % label_every == 0:
                y = top + (i + 0.5) * ch + 4
                parts.append(f'<text x="{left - 6}" y="{y:.1f}" font-size="11" text-anchor="end">{s}</text>')
        parts.append(
            f'<text x="14" y="{top + ph / 2:.1f}" font-size="11" text-anchor="middle" '
            f'transform="rotate(-90 14 {top + ph / 2:.1f})">training step</text>'
        )
        parts.append(self._legend_svg(8, legend_y))
        parts.append("</svg>")
        return "\n".join(parts)

    def _legend_svg(self, x: float, y: float) -> str:
        out = [f'<text x="{x}" y="{y}" font-size="11">{escape(LEGEND)}</text>']
        cx = x
        for text, value in self.scale.swatches():
            w = 9 + 6.5 * len(text)
            fill = self.scale.colour(value)
            ink = "#000000" if contrast(fill, "#000000") >= contrast(fill, "#ffffff") else "#ffffff"
            out.append(
                f'<rect x="{cx:.1f}" y="{y + 8}" width="{w:.1f}" height="20" fill="{fill}" stroke="#9a9a9a"/>'
                f'<text x="{cx + w / 2:.1f}" y="{y + 22}" font-size="11" text-anchor="middle" fill="{ink}">'
                f"{escape(text)}</text>"
            )
            cx += w
        return "\n".join(out)

    def _repr_svg_(self) -> str:
        return self.svg()

    def _repr_html_(self) -> str:
        return f'<div class="tinygrad-lstm-reach">{self.svg()}</div>'

    def html(self) -> str:
        """A self-contained page (no script, no network)."""
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>gradient reach</title></head>\n'
            f"<body>{self.svg()}</body></html>\n"
        )

    # ---- PNG -------------------------------------------------------------------------------------
    def figure(self):
        """The map as a ``matplotlib.figure.Figure`` (pyplot and its backend are left alone)."""
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import ListedColormap, LogNorm
        from matplotlib.figure import Figure

        steps, T = self.steps(), max(self.length(), 1)
        n = len(self.recordings)
        fig = Figure(figsize=(1.6 + 5.2 * n, 5.6))
        *axes, cax = fig.subplots(1, n + 1, squeeze=False, width_ratios=[1] * n + [0.06])[0]
        for ax, (label, rec) in zip(axes, self.recordings):
            image = np.ones((max(len(steps), 1), T, 3))
            for i, s in enumerate(steps):
                if s not in rec.norms or not rec.norms[s]:
                    continue
                for k, v in enumerate(rec.row(s)):
                    if v == v:
                        colour = self.scale.colour(v) if v != 0 else ZERO
                        image[i, k] = [int(colour[c : c + 2], 16) / 255 for c in (1, 3, 5)]
            ax.imshow(image, aspect="auto", interpolation="nearest", extent=(-0.5, T - 0.5, len(steps) - 0.5, -0.5))
            ticks = list(range(0, len(steps), max(1, math.ceil(len(steps) / 12))))
            ax.set_yticks(ticks, [str(steps[i]) for i in ticks])
            ax.set_xticks(_ticks(T))
            ax.set_xlabel(f"k, steps back from the last (T={T})")
            ax.set_title(label)
            last = rec.steps[-1] if rec.steps else None
            if last is not None and steps and last < steps[-1]:
                ax.text(T - 1, len(steps) - 1, f"recorded up to step {last}", ha="right", va="bottom", fontsize=9)
        axes[0].set_ylabel("training step")
        lo, hi = self.scale.lo, self.scale.hi
        cmap = ListedColormap([self.scale.colour(10 ** (lo + (hi - lo) * u)) for u in np.linspace(0, 1, 256)])
        bar = fig.colorbar(ScalarMappable(LogNorm(10.0**lo, 10.0**hi), cmap), cax=cax)
        bar.set_label("||dL/dh_(T-k)|| / ||dL/dh_T|| (the pictures' one scale)")
        fig.suptitle(self.title, fontsize=11)
        return fig

    def save(self, path: str | os.PathLike) -> str:
        """Write ``.svg``, ``.html`` or ``.png``; returns the path."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".png":
            self.figure().savefig(path, dpi=110)
        elif ext in (".svg", ".html", ".htm"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.svg() if ext == ".svg" else self.html())
        else:
            raise ValueError(f"reach_map: save to .svg, .html or .png, got {path!r}")
        return path

    # ---- a notebook ------------------------------------------------------------------------------
    def show(self) -> ReachMap:
        """Display the map (in a notebook) and redraw it in place whenever a recording completes a row."""
        from IPython.display import display

        self.handle = display(self, display_id=True)
        for _, rec in self.recordings:
            rec.listeners.append(self._update)
        return self

    def _update(self, recorder) -> None:
        if self.handle is not None:
            self.handle.update(self)

    def __repr__(self) -> str:
        labels = ", ".join(label for label, _ in self.recordings)
        return f"<ReachMap of {labels}: {len(self.steps())} training steps, T={self.length()}>"


def _ticks(T: int) -> list[int]:
    step = next(s for s in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000) if T / s <= 10) if T > 1 else 1
    ticks = list(range(0, T, step))
    if T - 1 - ticks[-1] > step / 2:
        ticks.append(T - 1)
    return ticks


def reach_map(recordings, scale: tuple[int, int] | str = DEFAULT_SCALE, title: str | None = None) -> ReachMap:
    """Draw reach recordings (``tl.record_reach``) side by side: ``[(label, recorder), ...]`` or one
    recorder. ``scale`` is the pictures' (1e-8..1e0 unless given; ``"auto"`` fits these numbers)."""
    if hasattr(recordings, "norms"):
        recordings = [(recordings.scope or "layer", recordings)]
    return ReachMap(recordings, scale, title)


_recorder.drawers["reach_map"] = reach_map  # reach.picture() draws with it
