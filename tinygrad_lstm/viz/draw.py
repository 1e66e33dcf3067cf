"""Style a graph model into a ``graphviz.Digraph``: clusters per time step, gradient heat, legend, strip."""

from __future__ import annotations

import math
from html import escape

from ..tape import Tape
from ..tensor import Tensor
from ..trace import BackwardTrace
from .belt import NO_STEPS, build_belt, draw_belts, has_time_steps
from .graph import VIEWS, GraphModel, build
from .render import Picture
from .scale import DEFAULT_SCALE, ZERO, HeatScale
from .text import FONT

KIND_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#fff3c4"},
    "input": {"shape": "box", "style": "rounded,filled,dashed", "fillcolor": "#f2f2f2"},
    "cell": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#e8f0fe"},
    "ellipsis": {"shape": "plaintext", "style": "", "fillcolor": "#ffffff"},
    "vjp": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdeee8"},
}


def _label(title: str, detail: str, norm: float | None = None, heat: bool = False) -> str:
    lines = f"<b>{escape(title)}</b>"
    if detail:
        lines += f'<br/><font point-size="9">{escape(detail)}</font>'
    if heat and norm is not None:
        lines += f'<br/><font point-size="9">|grad| {norm:.1e}</font>'
    return f"<{lines}>"


def _entries(what) -> Tape:
    if isinstance(what, Tape):
        return what
    if isinstance(what, Tensor):
        return Tape.of(what)
    if isinstance(what, (list, tuple)) and all(isinstance(t, Tensor) for t in what):
        return Tape.of(*what)
    raise TypeError(f"viz: draw a Tape or the Tensor(s) whose graph to show, got {type(what).__name__}")


def _fit(tape: Tape, view: str, trace, window: int, budget: int) -> GraphModel:
    """Build the view; past the node budget, fold further (window, cells, a narrower window, rolled) and say so."""
    model = build(tape, view, trace, window)
    if len(model.nodes) <= budget or view == "backward":
        return model
    folds = [(v, k) for v, k in (("window", window), ("cell", window), ("window", 1)) if v != view or k != window]
    for fold_view, k in folds:
        candidate = build(tape, fold_view, trace, k)
        if len(candidate.nodes) <= budget:
            break
    else:
        candidate = build(tape, "rolled", trace, window)  # one node per layer: always small
    candidate.notes.append(
        f"{len(model.nodes)} nodes in the {view} view exceed the node budget of {budget}: "
        f"folded automatically into the {candidate.view} view"
    )
    return candidate


def draw(
    what,
    view: str | None = None,
    trace: BackwardTrace | None = None,
    heat: bool | None = None,
    window: int = 2,
    budget: int = 500,
    rankdir: str = "LR",
    title: str | None = None,
    scale: tuple[int, int] | str = DEFAULT_SCALE,
) -> Picture:
    """Draw a recorded tape (or the graph behind a tensor) as a ``graphviz.Digraph``.

    ``view``: ``"op"`` (every primitive), ``"cell"`` (one node per time step and layer), ``"rolled"``
    (one cell per layer, recurrent edges labelled "x T"), ``"window"`` (first and last ``window``
    steps, the middle folded), or ``"backward"`` (the VJP sweep, numbered, with the arrays each VJP
    reads). With ``trace`` (from ``with tl.trace_backward(): loss.backward()``) edges and nodes are
    coloured and thickened by log10 of the gradient norm on one scale, with a legend and a strip of
    ||dL/dh_t||, ||dL/dc_t|| per step. Past ``budget`` nodes the picture folds itself and says so.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> rnn = tl.nn.RNN(2, 3)
    >>> with tl.Tape() as tape:
    ...     out, h = rnn(tl.randn(4, 1, 2, dtype=np.float32))
    ...     loss = (h * h).sum()
    >>> with tl.trace_backward() as trace:
    ...     loss.backward()
    >>> dot = tl.viz.draw(tape, view="op", trace=trace)
    >>> dot.source.count("subgraph cluster_")  # one per time step, one for the input projection
    5
    """
    tape = _entries(what)
    note = None
    if view is None:  # recurrent pictures default to the belt; anything else to every primitive
        view = "cell" if has_time_steps(tape) else "op"
        note = None if view == "cell" else NO_STEPS.split(":")[0] + ": drawing every primitive"
    if view not in VIEWS:
        raise ValueError(f"viz: view must be one of {', '.join(VIEWS)}, got {view!r}")
    heat = trace is not None if heat is None else heat
    if heat and trace is None:
        raise ValueError("viz: heat=True needs trace= (run backward inside `with tl.trace_backward()`)")
    if view == "cell":
        model = build_belt(tape, trace if heat else None)
        return draw_belts([model], HeatScale(scale), heat, title)
    model = _fit(tape, view, trace if (heat or view == "backward") else None, window, budget)
    scale = HeatScale(scale, [n.heat for n in model.nodes.values()] + [e.heat for e in model.edges.values()])

    g = Picture("tinygrad_lstm", format="svg")
    g.attr(rankdir=rankdir, fontname=FONT, newrank="true", compound="true", nodesep="0.15", ranksep="0.3")
    g.attr("node", fontname=FONT, fontsize="11", margin="0.08,0.03", height="0.3")
    g.attr("edge", fontname=FONT, fontsize="9", arrowsize="0.6", color="#555555")
    heading = title or f"{view} view"
    if model.notes:
        heading += "\n" + "\n".join(model.notes)
    g.attr(label=heading, labelloc="t", fontsize="13")

    def add_node(graph, n) -> None:
        style = dict(KIND_STYLE[n.kind])
        if heat and n.heat is not None and n.kind != "ellipsis":
            style["color"] = scale.colour(n.heat)
            style["penwidth"] = str(max(1.0, scale.width(n.heat)))
        graph.node(n.id, _label(n.title, n.detail, n.heat, heat and n.kind != "ellipsis"), **style)

    by_cluster: dict[str | None, list] = {}
    for n in sorted(model.nodes.values(), key=lambda n: n.order):
        by_cluster.setdefault(n.cluster if n.cluster in model.clusters else None, []).append(n)
    for n in by_cluster.get(None, []):
        add_node(g, n)
    for k, (key, label) in enumerate(model.clusters.items()):
        with g.subgraph(name=f"cluster_{k}") as sub:
            sub.attr(label=label, style="rounded,filled", fillcolor="#f7f9fc", color="#9aa7b8", fontsize="11")
            for n in by_cluster.get(key, []):
                add_node(sub, n)

    for e in model.edges.values():
        attrs = {}
        if heat and e.heat is not None:
            attrs = {"color": scale.colour(e.heat), "penwidth": str(scale.width(e.heat))}
            if e.heat <= 0:
                attrs["style"] = "dashed"
        elif heat:  # no gradient travelled this edge
            attrs = {"color": "#c8c8c8", "style": "dotted"}
        if e.label:
            attrs["label"] = e.label
        g.edge(e.src, e.dst, **attrs)

    if heat:
        _legend(g, scale)
        _strip(g, model, scale)
    return g


def _legend(g, scale: HeatScale) -> None:
    cells = []
    exponents = range(int(scale.lo), int(scale.hi) + 1)
    for p in exponents:
        colour = scale.colour(10.0**p)
        cells.append(f'<td bgcolor="{colour}" width="28"><font point-size="8">1e{p}</font></td>')
    cells.append(f'<td bgcolor="{ZERO}"><font point-size="8">0</font></td>')
    table = (
        '<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">'
        f'<tr><td colspan="{len(cells)}"><font point-size="9">|dL/dx|, log scale</font></td></tr>'
        f"<tr>{''.join(cells)}</tr></table>>"
    )
    g.node("legend", table, shape="plaintext")


def _strip(g, model: GraphModel, scale: HeatScale) -> None:
    """A table per layer: ||dL/dh_t|| (and ||dL/dc_t||) for every step, coloured on the same scale."""
    for layer, rows in model.strips.items():
        steps = sorted({t for row in rows.values() for t in row})
        header = "".join(f'<td><font point-size="8">t={t}</font></td>' for t in steps)
        body = ""
        for name in ("h", "c"):
            if name not in rows:
                continue
            cells = "".join(
                f'<td bgcolor="{scale.colour(rows[name].get(t))}"><font point-size="8">{rows[name][t]:.0e}</font></td>'
                if t in rows[name]
                else "<td></td>"
                for t in steps
            )
            body += f'<tr><td><font point-size="9">|dL/d{name}_t|</font></td>{cells}</tr>'
        table = (
            '<<table border="0" cellborder="1" cellspacing="0" cellpadding="2">'
            f'<tr><td><font point-size="9"><b>{escape(layer)}</b></font></td>{header}</tr>{body}</table>>'
        )
        g.node(f"strip_{''.join(ch if ch.isalnum() else '_' for ch in layer)}", table, shape="plaintext")
