"""Style a graph model into a ``graphviz.Digraph``: clusters per time step, gradient heat, legend, strip."""

from __future__ import annotations

from html import escape

from ..instruments.recording import Tape
from ..instruments.trace import BackwardTrace
from ..tensor import Tensor
from .belt import NO_STEPS_NOTE, build_belt, columns_for, draw_belts, has_time_steps
from .graph import VIEWS, GraphModel, build, safe_id
from .render import Picture
from .scale import DASHED_MEANS, DEFAULT_SCALE, LEGEND_TITLE, NO_GRADIENT, HeatScale
from .text import FONT, HELVETICA_DRIFT, box_size, label_html, text_width

KIND_STYLE = {
    "op": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff"},
    "param": {"shape": "box", "style": "filled", "fillcolor": "#fff3c4"},
    "input": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f2f2f2", "color": NO_GRADIENT},
    "cell": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#e8f0fe"},
    "ellipsis": {"shape": "plaintext", "style": "", "fillcolor": "#ffffff"},
    "vjp": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fdeee8"},
}


def _label(title: str, detail: str, norm: float | None = None, heat: bool = False) -> tuple[str, float, float]:
    """An HTML-like label and the (width, height) in points its box needs (DejaVu Sans metrics)."""
    lines = [(title, 12, True)]
    if detail:
        lines.append((detail, 10, False))
    if heat and norm is not None:
        lines.append((f"|grad| {norm:.1e}", 10, False))
    width, height = box_size(lines, pad_x=7, pad_y=3, drift=HELVETICA_DRIFT)
    return label_html(lines), width, height


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
    rankdir: str | None = None,
    title: str | None = None,
    scale: tuple[int, int] | str = DEFAULT_SCALE,
) -> Picture:
    """Draw a recorded tape (or the graph behind a tensor) as a ``graphviz.Digraph``.

    ``view``: ``"cell"`` (the belt: one column per time step, rows of h and c, shared weights drawn
    once; the default when the tape has time steps), ``"op"`` (every primitive; the default
    otherwise), ``"rolled"`` (one cell per layer, its loop the recurrence), ``"window"`` (first and last
    ``window`` steps, the middle folded), or ``"backward"`` (the VJP sweep, numbered, with the arrays
    each VJP reads). With ``trace`` (from ``with tl.trace_backward(): loss.backward()``) boxes are
    filled and edges coloured by ||dL/d value|| on one log scale, ``scale`` = (-8, 0) (1e-8..1e0) in
    every picture unless given (``"auto"`` fits this picture alone). Past ``budget`` nodes an op view
    folds itself and says so; the belt bins long sequences instead.

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
        note = None if view == "cell" else NO_STEPS_NOTE
    if view not in VIEWS:
        raise ValueError(f"viz: view must be one of {', '.join(VIEWS)}, got {view!r}")
    heat = trace is not None if heat is None else heat
    if heat and trace is None:
        raise ValueError("viz: heat=True needs trace= (run backward inside `with tl.trace_backward()`)")
    if view == "cell":
        model = build_belt(tape, trace if heat else None)
        return draw_belts([model], HeatScale(scale, model.norms()), heat, title)
    model = _fit(tape, view, trace if (heat or view == "backward") else None, window, budget)
    return draw_model(model, heat, scale, rankdir, title or f"{view} view", [note] if note else [])


def draw_model(
    model: GraphModel,
    heat: bool = False,
    scale: tuple[int, int] | str = DEFAULT_SCALE,
    rankdir: str | None = None,
    title: str = "",
    notes: list[str] = (),
) -> Picture:
    """Style a graph model (from :func:`~tinygrad_lstm.viz.build`) into a picture: ``draw`` without the
    choice of view, for callers that adjust the model first (the explorer numbers its nodes)."""
    rankdir = rankdir or ("LR" if model.view == "rolled" else "TB")  # top to bottom keeps op views page-shaped
    scale = HeatScale(scale, [n.heat for n in model.nodes.values()] + [e.heat for e in model.edges.values()])

    g = Picture("tinygrad_lstm", format="svg")
    g.notes = list(model.notes)  # e.g. that the picture folded itself past the node budget
    # remincross=false: a last crossing pass over the whole graph would undo the gate order inside steps
    g.attr(rankdir=rankdir, fontname=FONT, newrank="true", compound="true", nodesep="0.15", ranksep="0.3")
    g.attr(remincross="false")
    g.attr("node", fontname=FONT, fontsize="12", margin="0", fixedsize="true")
    g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.6", color="#555555")
    heading = title
    for extra in list(notes) + model.notes:
        heading += "\n" + extra
    if heading:
        g.attr(label=heading, labelloc="t", fontsize="14")

    def add_node(graph, n) -> None:
        style = dict(KIND_STYLE[n.kind])
        if heat and n.kind != "ellipsis" and n.kind != "input" and (n.heat is not None or n.kind != "param"):
            style["fillcolor"] = scale.colour(n.heat) if n.heat is not None else "#ffffff"
            style["fontcolor"] = scale.text_colour(n.heat) if n.heat is not None else "#000000"
            if n.heat == 0:  # dashed means one thing: a gradient of exactly 0
                style["style"] += ",dashed"
            elif n.heat is None:  # no gradient reached it: grey outline, as the edges that carry none
                style["color"] = NO_GRADIENT
        label, width, height = _label(n.title, n.detail, n.heat, heat and n.kind != "ellipsis")
        ident = {"id": n.ident} if n.ident else {}
        graph.node(n.id, label, width=f"{width / 72:.3f}", height=f"{height / 72:.3f}", **style, **ident)

    by_cluster: dict[str | None, list] = {}
    for n in sorted(model.nodes.values(), key=lambda n: n.order):
        by_cluster.setdefault(n.cluster if n.cluster in model.clusters else None, []).append(n)
    for n in by_cluster.get(None, []):
        add_node(g, n)
    # A cluster's title is a node at its top, not the cluster label: edges are routed around
    # nodes, while they would cross a label. Invisible edges keep it above the cluster's first ops.
    fed_inside = {e.dst for e in model.edges.values() if model.nodes[e.src].cluster == model.nodes[e.dst].cluster}
    row_of = {row[0]: row for row in model.rows}
    for k, (key, label) in enumerate(model.clusters.items()):
        with g.subgraph(name=f"cluster_{k}") as sub:
            sub.attr(label="", style="rounded,filled", fillcolor="#f7f9fc", color="#9aa7b8")
            head = f"cluster_{k}_title"
            sub.node(
                head,
                f"<{escape(label)}>",
                id=head,
                shape="plaintext",
                fontsize="12",
                width=f"{text_width(label, 12) / 72 + 0.1:.3f}",
                height="0.25",
            )
            for n in by_cluster.get(key, []):
                add_node(sub, n)
                if n.id not in fed_inside:
                    sub.edge(head, n.id, style="invis")
            for first in [n.id for n in by_cluster.get(key, []) if n.id in row_of]:
                with sub.subgraph() as row:  # the gates side by side, in the same order every step
                    row.attr(rank="same")
                    for left, right in zip(row_of[first], row_of[first][1:]):
                        row.edge(left, right, style="invis")

    for e in model.edges.values():
        attrs = {}
        if heat and e.heat is not None:
            attrs = {"color": scale.edge_colour(e.heat), "penwidth": str(scale.width(e.heat))}
            if e.heat <= 0:  # a gradient of exactly 0 travelled it (f at t=0 reads c_0 = 0): grey, dashed
                attrs["style"] = "dashed"
        elif heat:  # no gradient travels this edge (from a constant): thin, solid, grey
            attrs = {"color": NO_GRADIENT, "penwidth": "0.8"}
        if e.label:
            attrs["label"] = e.label
        ends = model.nodes[e.src].ident, model.nodes[e.dst].ident
        if all(ends):  # "e3__e5": the explorer lights the edges a VJP sends along
            attrs["id"] = "__".join(ends)
        g.edge(e.src, e.dst, **attrs)

    if heat:
        _legend(g, scale)
        _strip(g, model, scale)
    return g


def compare(recordings, scale: tuple[int, int] | str = DEFAULT_SCALE, title: str | None = None) -> Picture:
    """Belts of several recordings in one picture, on one colour scale and one time axis.

    ``recordings``: ``(label, tape, trace)`` triples, e.g. a tanh RNN and an LSTM run on the same
    input: the reader sees at once where each gradient dies.

    >>> import tinygrad_lstm as tl
    >>> from tinygrad_lstm.examples import unroll
    >>> runs = [unroll(cell, steps=6) for cell in ("rnn", "lstm")]
    >>> pic = tl.viz.compare([(u.model.mode, u.tape, u.backward()) for u in runs])
    >>> pic.source.count("legend_title")
    1
    """
    models = []
    for label, tape, trace in recordings:
        models.append(build_belt(_entries(tape), trace, title=label))
    return draw_belts(models, HeatScale(scale, [n for m in models for n in m.norms()]), True, title)


STYLES = f"{DASHED_MEANS}; grey: no gradient (constants)"


def _legend(g, scale: HeatScale) -> None:
    """Swatches for each decade of the scale, 0 and NaN/Inf, with what the colour means."""
    cells = scale.swatches()
    row = "".join(
        f'<td bgcolor="{scale.colour(norm)}" width="{text_width(text, 11) + 10:.0f}" fixedsize="true" height="20">'
        f'<font point-size="11" color="{scale.text_colour(norm)}">{text}</font></td>'
        for text, norm in cells
    )
    head = LEGEND_TITLE
    table = (
        '<<table border="0" cellborder="1" cellspacing="0" cellpadding="2">'
        f'<tr><td colspan="{len(cells)}" align="left" width="{text_width(head, 11) + 8:.0f}" fixedsize="true" '
        f'height="20"><font point-size="11">{escape(head)}</font></td></tr>'
        f"<tr>{row}</tr>"
        f'<tr><td colspan="{len(cells)}" align="left" width="{text_width(head, 11) + 8:.0f}" fixedsize="true" '
        f'height="20"><font point-size="11">{escape(STYLES)}</font></td></tr></table>>'
    )
    g.node("legend", table, shape="plaintext", fixedsize="false")


def _strip(g, model: GraphModel, scale: HeatScale) -> None:
    """A table per layer: ||dL/dh_t|| (and ||dL/dc_t||) per step, on the picture's scale; long
    sequences fold into bins as the belt does (each cell the norm at its bin's last step)."""
    for layer, rows in model.strips.items():
        columns = columns_for(sorted({t for row in rows.values() for t in row}))
        size = 10
        labels = [f"t={ts[0]}" if len(ts) == 1 else f"{ts[0]}..{ts[-1]}" for ts in columns]
        width = max(text_width(x, size) for x in labels + ["9.9e-9"]) + 6
        header = "".join(
            f'<td width="{width:.0f}" fixedsize="true" height="16"><font point-size="{size}">{x}</font></td>'
            for x in labels
        )
        body = ""
        first_width = max(text_width(layer, size, True), text_width("||dL/dh_t||", size)) + 8
        first = f'align="left" width="{first_width:.0f}" fixedsize="true" height="16"'
        for name in ("h", "c"):
            if name not in rows:
                continue
            cells = ""
            for ts in columns:
                norm = rows[name].get(ts[-1])
                if norm is None:
                    cells += "<td></td>"
                    continue
                ink = scale.text_colour(norm)
                cells += (
                    f'<td bgcolor="{scale.colour(norm)}" width="{width:.0f}" fixedsize="true" height="16">'
                    f'<font point-size="{size}" color="{ink}">{norm:.0e}</font></td>'
                )
            body += f'<tr><td {first}><font point-size="{size}">||dL/d{name}_t||</font></td>{cells}</tr>'
        name = f'<td {first}><font point-size="{size}"><b>{escape(layer)}</b></font></td>'
        table = (
            f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="1"><tr>{name}{header}</tr>{body}</table>>'
        )
        g.node(f"strip_{safe_id(layer)}", table, shape="plaintext", fixedsize="false")
