"""A tape drawn by its VJPs' errors: every box filled by how far its VJP is from central differences.

A second colour scale, apart from the gradient norms' one: the relative error of an entry's VJP
(``tl.check_vjps``), 1e-12 (pale green: agrees to round-off) through amber (1e-5, the line between
right and wrong) to dark red (1: a wrong sign, a transpose). Each edge carries the error of the
gradient its VJP sends along it, so a wrong gradient for one input shows on that input's edge. The
worst entry is named in the title.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.randn(2, 3, requires_grad=True)
>>> with tl.Tape(inputs=True) as tape:
...     y = (x.tanh() * x).sum()
>>> picture = tl.viz.draw_errors(tl.check_vjps(tape))
>>> "all agree" in picture.source
True
"""

from __future__ import annotations

import math

from .draw import draw_model
from .graph import build
from .render import Picture
from .scale import HeatScale, _rgb

ERROR_ANCHORS = ("#d5ead3", "#a9d6a5", "#fee08b", "#fc8d59", "#d73027", "#7f0000")  # 1e-12 .. 1e0
ERROR_SCALE = (-12, 0)
ERROR_NONFINITE = "#6a3d9a"  # a VJP that returned NaN or Inf: purple, off the palette


class ErrorScale(HeatScale):
    """log10 of a VJP's relative error -> colour, 1e-12 (pale green) to 1e0 (dark red)."""

    unit = "err"
    legend_title = "fill: the VJP's relative error against central differences (float64), log scale"
    styles = "edges: the error of the gradient sent along them; white boxes: not checked"

    def __init__(self, scale: tuple[int, int] = ERROR_SCALE) -> None:
        super().__init__(scale)

    def colour(self, norm: float | None) -> str:
        if norm is None or not math.isfinite(norm):
            return ERROR_NONFINITE
        x = self.fraction(max(norm, 10.0**self.lo)) * (len(ERROR_ANCHORS) - 1)
        k = min(int(x), len(ERROR_ANCHORS) - 2)
        a, b = _rgb(ERROR_ANCHORS[k]), _rgb(ERROR_ANCHORS[k + 1])
        return "#" + "".join(f"{round(u + (v - u) * (x - k)):02x}" for u, v in zip(a, b))

    def swatches(self) -> list[tuple[str, float]]:
        return [(f"1e{p}", 10.0**p) for p in self.decades() if (p - self.lo) % 2 == 0] + [("NaN/Inf", math.nan)]


def draw_errors(check, view: str = "op", window: int = 2, title: str | None = None) -> Picture:
    """Draw ``check``'s tape (a :class:`~tinygrad_lstm.vjpcheck.VJPCheck`) in the ``op`` view (or
    ``window``), each box filled by its VJP's error and each edge by the error of the gradient sent
    along it; the title says how many VJPs are wrong and names the worst."""
    if view not in ("op", "window"):
        raise ValueError(f"draw_errors: view must be 'op' or 'window' (one box per entry), got {view!r}")
    model = build(check.tape, view, None, window)
    node_of = {id(n.entry): key for key, n in model.nodes.items() if n.entry is not None}
    for slice_id, gate in model.folded.items():  # a slice drawn inside the gate it feeds
        if id(gate) in node_of:
            node_of[slice_id] = node_of[id(gate)]
    for c in check.checks:
        key = node_of.get(id(c.entry))
        if key is None or c.error is None:
            continue
        node = model.nodes[key]
        node.heat = c.error if node.heat is None else max(node.heat, c.error)
        for i in c.inputs:
            parent = c.entry.parents[i.slot]
            source = node_of.get(id(parent))
            edge = model.edges.get((source, key)) if source is not None else None
            if edge is not None:
                edge.heat = i.error if edge.heat is None else max(edge.heat, i.error)
    heading = title if title is not None else "Each VJP on the tape against central differences\n" + check.headline()
    return draw_model(model, heat=True, scale=ErrorScale(), title=heading)
