"""Style a graph model into a ``graphviz.Digraph``: clusters per time step, gradient heat, legend, strip."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

from ..instruments.recording import Tape
from ..instruments.trace import BackwardTrace
from ..tape import time_step
from ..tensor import Tensor
from .belt import NO_STEPS_NOTE, build_belt, columns_for, draw_belts, has_time_steps
from .graph import VIEWS, GraphModel, build, safe_id
from .lines import Layout, arrange
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
    # the explorer's opened step: a value the step reads from outside it (the previous h, a weight)
    "context": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "peripheries": "2"},
}


DETAIL_WIDTH = 90  # points: a detail line wider than this puts the shape on a line of its own
LINE_WIDTH = 900  # points: time steps side by side up to this width, then the next line


def _label(
    title: str, detail: str, norm: float | None = None, heat: bool = False, unit: str = "|grad|"
) -> tuple[str, float, float]:
    """An HTML-like label and the (width, height) in points its box needs (DejaVu Sans metrics)."""
    lines = [(title, 12, True)]
    wide = detail and text_width(detail, 10) > DETAIL_WIDTH
    if wide and "([" in detail:  # "sigmoid([:, 3:6]) (1, 3)": "sigmoid" over "[:, 3:6] (1, 3)"
        op, rest = detail.split("(", 1)
        index, shape = rest.rsplit(") ", 1)
        lines += [(op, 10, False), (f"{index} {shape}", 10, False)]
    elif wide and re.fullmatch(r".+ \([\d, ]*\)", detail):  # the shape on a line of its own
        op, shape = detail.rsplit(" (", 1)
        lines += [(op, 10, False), ("(" + shape, 10, False)]
    elif detail:
        lines.append((detail, 10, False))
    if heat and norm is not None:
        lines.append((f"{unit} {norm:.1e}", 10, False))
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
        belt = build_belt(tape, trace if heat else None)
        return draw_belts([belt], HeatScale(scale, belt.norms()), heat, title)
    model = _fit(tape, view, trace if (heat or view == "backward") else None, window, budget)
    return draw_model(model, heat, scale, rankdir, title or f"{view} view", [note] if note else [])


def draw_model(
    model: GraphModel,
    heat: bool = False,
    scale: tuple[int, int] | str | HeatScale = DEFAULT_SCALE,
    rankdir: str | None = None,
    title: str = "",
    notes: Sequence[str] = (),
) -> Picture:
    """Style a graph model (from :func:`~tinygrad_lstm.viz.build`) into a picture: ``draw`` without the
    choice of view, for callers that adjust the model first (the explorer numbers its nodes)."""
    rankdir = rankdir or "TB"  # top to bottom keeps pictures page-shaped (a rolled one too: 800 px wide)
    # a scale of its own (viz/errors.py colours VJP errors) is used as it is
    if isinstance(scale, HeatScale):
        colours = scale
    else:
        colours = HeatScale(scale, [n.heat for n in model.nodes.values()] + [e.heat for e in model.edges.values()])

    lines = _time_lines(model) if rankdir == "TB" and model.view in ("op", "window") else []
    g = Picture("tinygrad_lstm", format="svg")
    g.notes = list(model.notes)  # e.g. that the picture folded itself past the node budget
    g.attr(fontname=FONT)
    if lines:  # positions computed here (lines.py), edges routed around the boxes by the renderer
        g.attr(layout="nop2", splines="true", sep="+1", bgcolor="white", pad="0.1")
    else:
        # remincross=false: a last crossing pass over the whole graph would undo the gate order inside steps
        g.attr(rankdir=rankdir, newrank="true", compound="true", nodesep="0.15", ranksep="0.3", remincross="false")
    g.attr("node", fontname=FONT, fontsize="12", margin="0", fixedsize="true")
    g.attr("edge", fontname=FONT, fontsize="10", arrowsize="0.6", color="#555555")
    heading = title
    for extra in list(notes) + model.notes:
        heading += "\n" + extra

    size = {}
    for n in model.nodes.values():
        _, width, height = _label(n.title, n.detail, n.heat, heat and n.kind != "ellipsis")
        size[n.id] = (width, height)
    title_of = {key: f"cluster_{k}_title" for k, key in enumerate(model.clusters)}
    for key, label in model.clusters.items():
        size[title_of[key]] = (text_width(label, 12) + 7.2, 18.0)
    at = _pin(model, lines, size, title_of, heading) if lines else None

    def place(n_id: str) -> dict:
        if at is None:
            return {}
        x, y = at.pos[n_id]
        return {"pos": f"{x:.1f},{-y:.1f}!"}

    if heading and at is None:
        g.attr(label=heading, labelloc="t", fontsize="14")
    elif heading:
        for k, line in enumerate(heading.split("\n")):
            g.node(f"heading_{k}", f"<{escape(line)}>", shape="plaintext", fontsize="14", id=f"heading_{k}",
                   width=f"{text_width(line, 14) / 72 + 0.1:.3f}", height="0.3", **place(f"heading_{k}"))  # fmt: skip

    def add_node(graph, n) -> None:
        style = dict(KIND_STYLE[n.kind])
        if heat and n.kind != "ellipsis" and n.kind != "input" and (n.heat is not None or n.kind != "param"):
            style["fillcolor"] = colours.colour(n.heat) if n.heat is not None else "#ffffff"
            style["fontcolor"] = colours.text_colour(n.heat) if n.heat is not None else "#000000"
            if n.heat == 0:  # dashed means one thing: a gradient of exactly 0
                style["style"] += ",dashed"
            elif n.heat is None:  # no gradient reached it: grey outline, as the edges that carry none
                style["color"] = NO_GRADIENT
        label, width, height = _label(n.title, n.detail, n.heat, heat and n.kind != "ellipsis", colours.unit)
        ident = {"id": n.ident} if n.ident else {}
        graph.node(n.id, label, width=f"{width / 72:.3f}", height=f"{height / 72:.3f}", **style, **ident,
                   **place(n.id))  # fmt: skip

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
            if at is not None and key in at.boxes:
                x0, y0, x1, y1 = at.boxes[key]
                sub.attr(bb=f"{x0:.1f},{-y1:.1f},{x1:.1f},{-y0:.1f}")
                if title_of[key] not in at.pos:  # a scope outside the steps: its name in its box's top line
                    sub.attr(label=label, fontsize="10", labelloc="t")
            head = title_of[key]
            if at is None or head in at.pos:
                sub.node(head, f"<{escape(label)}>", id=head, shape="plaintext", fontsize="12",
                         width=f"{size[head][0] / 72:.3f}", height="0.25", **place(head))  # fmt: skip
            for n in by_cluster.get(key, []):
                add_node(sub, n)
                if n.id not in fed_inside and at is None:
                    sub.edge(head, n.id, style="invis")
            for first in [n.id for n in by_cluster.get(key, []) if n.id in row_of and at is None]:
                with sub.subgraph() as row:  # the gates side by side, in the same order every step
                    row.attr(rank="same")
                    for left, right in zip(row_of[first], row_of[first][1:]):
                        row.edge(left, right, style="invis")

    for e in model.edges.values():
        attrs = {}
        if heat and e.heat is not None:
            attrs = {"color": colours.edge_colour(e.heat), "penwidth": str(colours.width(e.heat))}
            if e.heat <= 0:  # a gradient of exactly 0 travelled it (f at t=0 reads c_0 = 0): grey, dashed
                attrs["style"] = "dashed"
        elif heat:  # no gradient travels this edge (from a constant): thin, solid, grey
            attrs = {"color": NO_GRADIENT, "penwidth": "0.8"}
        if e.label:
            # a loop's label sits right of the loop, where graphviz-pure draws the arrowhead it would touch:
            # two leading spaces keep the text clear of it
            attrs["label"] = f"  {e.label}" if e.src == e.dst else e.label
        ends = model.nodes[e.src].ident, model.nodes[e.dst].ident
        if all(ends):  # "e3__e5": the explorer lights the edges a VJP sends along
            attrs["id"] = "__".join(ends)
        g.edge(e.src, e.dst, **attrs)

    if heat:
        _legend(g, colours, place("legend"))
        for layer in model.strips:
            _strip(g, model, colours, layer, place(f"strip_{safe_id(layer)}"))
        if at is None and model.nodes:  # under the picture, where they widen nothing
            last = max(model.nodes.values(), key=lambda n: n.order).id
            for table in ["legend"] + [f"strip_{safe_id(layer)}" for layer in model.strips]:
                g.edge(last, table, style="invis")
    return g


def _pin(model: GraphModel, lines, size: dict, title_of: dict, heading: str) -> Layout:
    """Positions for a picture whose steps run in lines: the heading on top, what the steps read,
    the steps, what reads them, then the legend and the strips, each under the one before."""
    units: list[list[tuple[str, list[str], str | None]]] = []
    for line in lines:
        units.append([])
        for unit in line:
            key = unit[-1]
            if key in model.clusters:
                units[-1].append((key, unit[:-1], title_of[key]))
            else:
                units[-1].append((key, [key], None))
    inside = {n for line in units for _, ids, _ in line for n in ids}
    preds: dict[str, list[str]] = {}
    for e in model.edges.values():
        if e.src != e.dst:
            preds.setdefault(e.dst, []).append(e.src)
    order = {n.id: n.order for n in model.nodes.values()}
    stepped = {key for line in units for key, _, _ in line}
    groups = {key: [n.id for n in model.nodes.values() if n.cluster == key]
              for key in model.clusters if key not in stepped}  # fmt: skip
    outside = [n.id for n in model.nodes.values() if n.id not in inside]
    at = arrange(units, outside, preds, size, order, model.rows, groups)
    top = 0.0
    heading_lines = heading.split("\n") if heading else []
    for k, _ in enumerate(heading_lines):
        at.pos[f"heading_{k}"] = (0.0, top + 10.0)
        top += 22.0
    if heading_lines:
        top += 8.0
        at.pos = {n: (x, y + top if not n.startswith("heading_") else y) for n, (x, y) in at.pos.items()}
        at.boxes = {k: (x0, y0 + top, x1, y1 + top) for k, (x0, y0, x1, y1) in at.boxes.items()}
        for k, line in enumerate(heading_lines):  # centred over the picture
            at.pos[f"heading_{k}"] = (max(at.width, text_width(line, 14)) / 2, at.pos[f"heading_{k}"][1])
    y = top + at.height + 24.0
    for name, (w, h) in _tables(model):
        at.pos[name] = (max(at.width, w) / 2, y + h / 2)
        y += h + 12.0
    return at


def _tables(model: GraphModel) -> list[tuple[str, tuple[float, float]]]:
    """The legend and each layer's strip with their sizes in points, as :func:`_legend` and
    :func:`_strip` draw them."""
    found = [("legend", (max(_legend_widths()), 66.0))]
    for layer, rows in model.strips.items():
        first, cell, n = _strip_widths(layer, rows)
        found.append((f"strip_{safe_id(layer)}", (first + n * cell + 4, 18.0 * (1 + len(rows)) + 2)))
    return found


def _time_lines(model: GraphModel) -> list[list[list[str]]]:
    """The op view's time steps as columns, left to right as in the belt, wrapped into lines of at most
    ``LINE_WIDTH`` points: lines -> units (a step's nodes, or a window's "... n steps ..." node) -> node ids."""
    steps: dict[str, list] = {}  # cluster -> its nodes
    for n in model.nodes.values():
        if n.cluster in model.clusters:
            steps.setdefault(n.cluster, []).append(n)
    timed = {}
    for key, nodes in steps.items():
        s = next((time_step(n.entry.scope) for n in nodes if n.entry is not None and n.entry.scope is not None), None)
        if s is not None:
            timed[key] = s
    layers = {layer for layer, _ in timed.values()}
    # a layer whose name extends another's (lstm.l0.x_proj) feeds it from above: not a column of its own
    rows = {layer for layer in layers if not any(layer.startswith(other + ".") for other in layers)}
    units = [(t, layer, key) for key, (layer, t) in timed.items() if layer in rows]
    for n in model.nodes.values():  # a window's elided stretch stands between its first and last steps
        if n.kind == "ellipsis" and n.detail in rows:
            before = [t for t, layer, _ in units if layer == n.detail]
            units.append((sorted(before)[len(before) // 2] - 0.5 if before else 0, n.detail, n.id))
    if len({t for t, _, _ in units}) < 2:
        return []
    units.sort(key=lambda u: (u[0], sorted(rows).index(u[1])))
    widths = []
    for _, _, key in units:
        if key in model.nodes:
            widths.append(_label(model.nodes[key].title, model.nodes[key].detail)[1])
            continue
        ids = {n.id for n in steps[key]}
        side = [sum(_label(model.nodes[i].title, model.nodes[i].detail, model.nodes[i].heat, True)[1] for i in row)
                for row in model.rows if row[0] in ids]  # fmt: skip
        widest = max((_label(n.title, n.detail, n.heat, True)[1] for n in steps[key]), default=0.0)
        widths.append(max(side + [widest]) + 40)
    lines: list[list[list[str]]] = [[]]
    width = 0.0
    for (_, _, key), w in zip(units, widths):
        elided = key in model.nodes  # "... n steps ..." stands on a line of its own, between the lines
        if lines[-1] and (width + w > LINE_WIDTH or elided):
            lines.append([])
            width = 0.0
        lines[-1].append([key] if elided else [n.id for n in steps[key]] + [key])
        width = LINE_WIDTH if elided else width + w
    return lines


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


def _legend_cells(scale: HeatScale | None = None) -> list[tuple[str, float]]:
    return (scale or HeatScale(DEFAULT_SCALE, [])).swatches()


def _legend_widths(scale: HeatScale | None = None) -> tuple[float, float]:
    """The legend's widths in points: its row of swatches and its lines of text."""
    row = sum(round(text_width(text, 11) + 10) for text, _ in _legend_cells(scale))
    return row, round(text_width(LEGEND_TITLE, 11) + 8)


def _legend(g, scale: HeatScale, at: dict | None = None) -> None:
    """Swatches for each decade of the scale, 0 and NaN/Inf, with what the colour means."""
    cells = scale.swatches()
    row = "".join(
        f'<td bgcolor="{scale.colour(norm)}" width="{text_width(text, 11) + 10:.0f}" fixedsize="true" height="20">'
        f'<font point-size="11" color="{scale.text_colour(norm)}">{text}</font></td>'
        for text, norm in cells
    )
    head = getattr(scale, "legend_title", LEGEND_TITLE)
    table = (
        '<<table border="0" cellborder="1" cellspacing="0" cellpadding="2">'
        f'<tr><td colspan="{len(cells)}" align="left" width="{text_width(head, 11) + 8:.0f}" fixedsize="true" '
        f'height="20"><font point-size="11">{escape(head)}</font></td></tr>'
        f"<tr>{row}</tr>"
        f'<tr><td colspan="{len(cells)}" align="left" width="{text_width(head, 11) + 8:.0f}" fixedsize="true" '
        f'height="20"><font point-size="11">{escape(getattr(scale, "styles", STYLES))}</font></td></tr></table>>'
    )
    g.node("legend", table, shape="plaintext", fixedsize="false", **(at or {}))


def _strip_widths(layer: str, rows: dict) -> tuple[float, float, int]:
    """(first column, each step's column, how many) of a layer's strip, in points."""
    columns = columns_for(sorted({t for row in rows.values() for t in row}))
    labels = [f"t={ts[0]}" if len(ts) == 1 else f"{ts[0]}..{ts[-1]}" for ts in columns]
    width = round(max(text_width(x, 10) for x in labels + ["9.9e-9"]) + 6)
    first = round(max(text_width(layer, 10, True), text_width("||dL/dh_t||", 10)) + 8)
    return first, width, len(columns)


def _strip(g, model: GraphModel, scale: HeatScale, layer: str, at: dict | None = None) -> None:
    """A table for ``layer``: ||dL/dh_t|| (and ||dL/dc_t||) per step, on the picture's scale; long
    sequences fold into bins as the belt does (each cell the norm at its bin's last step)."""
    rows = model.strips[layer]
    columns = columns_for(sorted({t for row in rows.values() for t in row}))
    size = 10
    labels = [f"t={ts[0]}" if len(ts) == 1 else f"{ts[0]}..{ts[-1]}" for ts in columns]
    first_width, width, _ = _strip_widths(layer, rows)
    header = "".join(
        f'<td width="{width:.0f}" fixedsize="true" height="16"><font point-size="{size}">{x}</font></td>'
        for x in labels
    )
    body = ""
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
    table = f'<<table border="0" cellborder="1" cellspacing="0" cellpadding="1"><tr>{name}{header}</tr>{body}</table>>'
    g.node(f"strip_{safe_id(layer)}", table, shape="plaintext", fixedsize="false", **(at or {}))
