"""The belt: the textbook diagram of an unrolled recurrent network, with measured numbers on it.

One column per time step; each layer's cell state c (LSTM) and hidden state h run as straight rows
left to right, the input below, the loss at the end; layers stack, columns aligned. Each step's c
and h are filled with their own gradient norm on the shared colour scale, and each edge between
steps carries the step-back factor ||dL/dh_{t-1}|| / ||dL/dh_t|| (on the c row also the mean
forget gate). A shared weight is drawn once, as a strip of each step's share of its gradient
(dL/dW is the sum over t), never as an edge to every step.

Long sequences wrap onto a second line, and past that fold into bins of steps ("t=8..15"), so the
picture stays about page-wide and costs the same to lay out at 10,000 steps as at 40. Positions are
computed here and pinned (Graphviz's ``nop2`` layout), so every renderer draws the same picture.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from html import escape

from ..instruments.recording import Tape, shape_text
from ..instruments.trace import BackwardTrace
from ..tape import Entry, Leaf, number, time_step
from .graph import safe_id
from .render import Picture
from .scale import DASHED_MEANS, LEGEND_TITLE, NO_GRADIENT, HeatScale
from .text import FONT, box_size, label_html, text_width

STATE_NAMES = ("h_proj", "h")  # what a step hands to the next, by preference
TITLE, TEXT = 14, 12  # font sizes (points): every label is at least TEXT


@dataclass
class StepValues:
    """The named values of one time step of one layer, with what the trace measured."""

    h: Entry | Leaf | None = None  # tape entries
    c: Entry | Leaf | None = None
    f: Entry | Leaf | None = None
    h_norm: float | None = None
    c_norm: float | None = None
    f_mean: float | None = None


@dataclass
class Row:
    layer: str
    steps: dict[int, StepValues] = field(default_factory=dict)
    reverse: bool = False  # a backward direction: its recurrence runs right to left

    @property
    def key(self) -> str:
        """The layer's name as it appears in node ids."""
        return safe_id(self.layer)

    @property
    def has_c(self) -> bool:
        return any(s.c is not None for s in self.steps.values())


@dataclass
class InputChunk:
    """Entries of one step-scoped helper (e.g. ``lstm.l0.x_proj[t=8]``): a row's input for steps t0..t1."""

    t0: int
    t1: int
    title: str
    norm: float | None
    entry: Entry | Leaf | None = None  # the chunk's last entry: its gradient is the chunk's


@dataclass
class SharedWeight:
    """A parameter (or a view of parameters) read inside many steps, and each use's share of dL/dW."""

    title: str
    shape: tuple
    total: float | None
    shares: dict[int, float] = field(default_factory=dict)  # t of the step or chunk -> ||its share||
    uses: str = "steps"  # what reads it: the rows' "steps", or their input "chunks"
    readers: dict[int, list] = field(default_factory=dict)  # t -> the entries of that step that read it


@dataclass
class BeltModel:
    title: str
    rows: list[Row]  # bottom (layer 0) to top
    inputs: dict[str, list[InputChunk]]  # row layer -> its input chunks
    weights: list[SharedWeight]
    loss_title: str = "loss"
    loss_norm: float | None = None
    loss: Entry | Leaf | None = None  # the last entry

    def norms(self) -> list[float | None]:
        """Every gradient norm the belt shows (for a scale fitted to this picture alone)."""
        found = [self.loss_norm]
        for r in self.rows:
            found += [n for v in r.steps.values() for n in (v.h_norm, v.c_norm)]
        found += [ch.norm for chunks in self.inputs.values() for ch in chunks]
        found += [n for w in self.weights for n in (w.total, *w.shares.values())]
        return found

    @property
    def times(self) -> list[int]:
        return sorted({t for r in self.rows for t in r.steps})


def has_time_steps(tape: Tape) -> bool:
    return any(time_step(e.scope) is not None for e in tape.entries)


NO_STEPS_NOTE = "no time-step scopes in this tape: drawing every primitive"
NO_STEPS = (
    "no time-step scopes in this tape: recurrent layers mark each step with tl.scope(name, t=t); "
    "wrap your own cell loop the same way (`with tl.scope('rnn', t=t): h = cell(x[t], h)`) and name "
    "the state `h` (`.named('h')`) to draw it as a belt"
)


def build_belt(tape: Tape, trace: BackwardTrace | None = None, title: str = "") -> BeltModel:
    """The belt model of ``tape``: rows of per-step states, input chunks, shared weights, the loss."""
    if not has_time_steps(tape):
        raise ValueError(f"viz: {NO_STEPS}")
    norms = trace.grad_norms() if trace is not None else {}
    means = trace.value_means() if trace is not None else {}
    edges = trace.edge_norms() if trace is not None else {}

    by_layer: dict[str, dict[int, list]] = {}
    scoped = set()
    for e in tape.entries:
        s = time_step(e.scope)
        if s is not None:
            by_layer.setdefault(s[0], {}).setdefault(s[1], []).append(e)
            scoped.add(id(e))
    # a layer whose steps name a state is a row; other step-scoped names are its inputs (x_proj chunks)
    row_layers = [name for name, steps in by_layer.items() if _names_state(steps)]
    if not row_layers:  # nothing named h: each step's last entry stands for its state
        row_layers = list(by_layer)
    rows = []
    for name in row_layers:
        row = Row(name)
        order = list(by_layer[name])
        row.reverse = len(order) > 1 and order[0] > order[-1]
        for t, entries in by_layer[name].items():
            named = {e.name: e for e in entries if e.name is not None}  # the last of each name wins
            h = next((named[n] for n in STATE_NAMES if n in named), entries[-1])
            c, f = named.get("c"), named.get("f")
            row.steps[t] = StepValues(
                h, c, f, norms.get(h.index), norms.get(c.index) if c else None, means.get(f.index) if f else None
            )
        rows.append(row)
    inputs: dict[str, list[InputChunk]] = {}
    for name, steps in by_layer.items():
        owner = next((r for r in sorted(row_layers, key=len, reverse=True) if name.startswith(r + ".")), None)
        if name in row_layers or owner is None:
            continue
        times = sorted(rows[row_layers.index(owner)].steps)
        starts = sorted(steps)
        for k, t0 in enumerate(starts):  # a chunk feeds its row's steps up to the next chunk's start
            stop = starts[k + 1] if k + 1 < len(starts) else math.inf
            inside = times[bisect.bisect_left(times, t0) : bisect.bisect_left(times, stop)]
            t1 = inside[-1] if inside else t0
            last = steps[t0][-1]
            chunk = InputChunk(t0, t1, name[len(owner) + 1 :], norms.get(last.index), last)
            inputs.setdefault(owner, []).append(chunk)
    model = BeltModel(title, rows, inputs, _shared_weights(tape, scoped, set(row_layers), norms, edges))
    last = tape.entries[-1]
    model.loss_title, model.loss_norm, model.loss = (last.name or last.op), norms.get(last.index), last
    return model


def _names_state(steps: dict[int, list]) -> bool:
    return any(e.name in STATE_NAMES for entries in steps.values() for e in entries)


def _shared_weights(tape: Tape, scoped: set, row_layers: set, norms: dict, edges: dict) -> list[SharedWeight]:
    """Parameters read inside steps, directly or through an op outside every step (``W.T``, ``b1 + b2``)."""
    refs = tape.refs()
    found: dict[int, SharedWeight] = {}
    roots: dict[int, Entry | Leaf | None] = {}

    def root_of(p: Entry | Leaf) -> Entry | Leaf | None:
        """The leaf, or the unscoped op on leaves only, that a step reads."""
        if p.op == "leaf":
            return p
        if id(p) in scoped or not p.parents or any(q is None or q.op != "leaf" for q in p.parents):
            return None
        return p

    for e in tape.entries:
        s = time_step(e.scope)
        if s is None:
            continue
        for p in e.parents:
            if p is None:
                continue
            r = roots.setdefault(id(p), root_of(p))
            if r is None:
                continue
            w = found.get(id(r))
            if w is None:
                leaves = [r] if r.op == "leaf" else [q for q in r.parents if q is not None]  # all leaves (root_of)
                names = " + ".join(refs.get(id(q)) or q.name or "?" for q in leaves)
                # the parameter's own shape (weight_hh_l0 is (4H, H)), not that of the transpose a step reads
                shapes = {tuple(q.shape) for q in leaves}
                shape = shapes.pop() if len(shapes) == 1 else r.shape
                w = found[id(r)] = SharedWeight(names, shape, norms.get(r.index))
            w.readers.setdefault(s[1], []).append(e)
            share = edges.get((p.index, e.index))
            if share is not None:
                w.shares[s[1]] = math.hypot(w.shares.get(s[1], 0.0), share)
            w.uses = "steps" if s[0] in row_layers else "chunks"
    return sorted(found.values(), key=lambda w: (w.uses != "steps", -len(w.shares)))


# ---------------------------------------------------------------------------------------------
# layout: every position computed here, in points, y growing upwards (Graphviz's convention)

PITCH = 60.0  # column spacing
ROW_GAP = 92.0  # between the c and h rows (room for the factor and forget-gate labels)
LEFT = 90.0  # the row names and initial states
MAX_COLUMNS = 12  # per line: 12 columns of 60 pt keep 12 pt text legible on an 800 px page
MAX_LINES = 2
WEIGHTS_WIDTH = 880.0  # the shared weights' strips wrap to a new line past this x
GAP = {("in", "h"): 64.0, ("h", "c"): ROW_GAP, ("c", "in"): 72.0, ("h", "in"): 72.0}


def columns_for(times: list[int], max_columns: int = MAX_COLUMNS, max_lines: int = MAX_LINES) -> list[list[int]]:
    """Group steps into columns: one step each while they fit on ``max_lines`` lines, else bins.

    >>> columns_for(list(range(5)))
    [[0], [1], [2], [3], [4]]
    >>> [len(c) for c in columns_for(list(range(100)))]
    [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5]
    """
    k = max(1, math.ceil(len(times) / (max_columns * max_lines)))
    return [times[i : i + k] for i in range(0, len(times), k)]


def _col_label(ts: list[int]) -> str:
    return f"t={ts[0]}" if len(ts) == 1 else f"t={ts[0]}..{ts[-1]}"


def _short(x: float | None) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")


def _factor(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.2f}" if 0.01 <= x < 100 else _short(x)


class _Canvas:
    """Pinned nodes and edges, written into a Picture; every id is stable for tests and the explorer.

    ``picture.arrivals`` maps the SVG id of each element coloured by a gradient to the tape entries
    whose VJPs must all have run before that gradient is known: the explorer fills it then.
    """

    def __init__(self, picture: Picture, scale: HeatScale) -> None:
        self.g = picture
        self.g.arrivals = {}
        self.g.cells = []  # (layer, "h" or "c", column, SVG id, norm) of each state box
        self.scale = scale

    def box(self, name, x, y, lines, norm=None, heat=False, kind="value", tooltip="", min_width=0.0, arrives=(),
            **extra):  # fmt: skip
        """A box at (x, y) sized for ``lines`` in DejaVu Sans; filled by ``norm`` when ``heat``."""
        extra.setdefault("id", name)
        if heat and arrives:
            self.g.arrivals[extra["id"]] = tuple(arrives)
        w, h = box_size(lines, pad_x=6, pad_y=3)
        w = max(w, min_width)
        fill, fontcolor, style, outline = "#ffffff", "#000000", "filled", "#333333"
        if heat:
            fill, fontcolor = self.scale.colour(norm), self.scale.text_colour(norm)
            if norm is not None and norm == 0:
                style = "filled,dashed"  # dashed means one thing: a gradient of exactly 0
        elif kind == "const":  # no gradient is drawn for it: grey, solid
            fill, outline = "#f2f2f2", NO_GRADIENT
        self.g.node(
            name,
            label_html(lines),
            pos=f"{x:.1f},{y:.1f}!",
            width=f"{w / 72:.3f}",
            height=f"{h / 72:.3f}",
            fixedsize="true",
            shape="box",
            style=style,
            fillcolor=fill,
            fontcolor=fontcolor,
            color=outline,
            tooltip=tooltip or " ".join(t for t, _, _ in lines),
            **extra,
        )
        return w, h

    def text(self, name, x, y, text, size=TEXT, bold=False, anchor="c"):
        w = text_width(text, size, bold) + 4
        h = 1.3 * size
        cx = x + w / 2 if anchor == "w" else x - w / 2 if anchor == "e" else x
        # left/right anchored text is justified in its box: a narrower font than DejaVu stays put
        end = {"w": "\\l", "e": "\\r"}.get(anchor, "")
        label = text.replace("\\", "\\\\") + end if not bold else f"<<b>{escape(text)}</b>>"
        if bold and anchor != "c":
            side = "left" if anchor == "w" else "right"
            cell = f'<td width="{w - 4:.0f}" align="{side}"><b>{escape(text)}</b></td>'
            label = f'<<table border="0" cellpadding="0" cellspacing="0"><tr>{cell}</tr></table>>'
        self.g.node(
            name, label, pos=f"{cx:.1f},{y:.1f}!", width=f"{w / 72:.3f}", height=f"{h / 72:.3f}",
            fixedsize="true", shape="plaintext", fontsize=str(size), margin="0",
        )  # fmt: skip

    def line(self, a, b, points, norm=None, heat=False, name=None, arrow=True, arrives=()):
        """An edge from node ``a`` to ``b`` along straight segments through ``points`` (pinned)."""
        if heat and arrives and name:
            self.g.arrivals[name] = tuple(arrives)
        attrs = {"color": "#555555", "penwidth": "1.2"}
        if heat:
            attrs = {"color": self.scale.edge_colour(norm), "penwidth": str(self.scale.width(norm))}
            if norm is None:
                attrs["color"] = NO_GRADIENT
            elif norm == 0:
                attrs["style"] = "dashed"
        tip = points[-1]
        if arrow:  # the spline ends where the arrowhead starts
            (x0, y0), (x1, y1) = points[-2], points[-1]
            d = math.hypot(x1 - x0, y1 - y0) or 1.0
            back = 7.0
            points = points[:-1] + [(x1 - (x1 - x0) * back / d, y1 - (y1 - y0) * back / d)]
        spline = [points[0]]  # each straight segment p -> q as a cubic with control points p and q
        for p, q in zip(points, points[1:]):
            spline += [p, q, q]
        pos = " ".join(f"{x:.1f},{y:.1f}" for x, y in spline)
        if arrow:
            pos = f"e,{tip[0]:.1f},{tip[1]:.1f} " + pos
        self.g.edge(a, b, pos=pos, arrowsize="0.7", dir="forward" if arrow else "none", id=name or "", **attrs)


def draw_belts(
    models: list[BeltModel],
    scale: HeatScale,
    heat: bool = True,
    title: str | None = None,
    max_columns: int = MAX_COLUMNS,
    max_lines: int = MAX_LINES,
) -> Picture:
    """One picture of one or more belts (a comparison stacks them), on one scale and one time axis."""
    g = Picture("tinygrad_lstm", format="svg")
    g.attr(layout="nop2", fontname=FONT, bgcolor="white", outputorder="edgesfirst", pad="0.2")
    g.attr("node", fontname=FONT, fontsize=str(TEXT), penwidth="1")
    g.attr("edge", fontname=FONT, fontsize=str(TEXT))
    c = _Canvas(g, scale)
    y = 0.0  # the top of the next panel; panels go downwards
    if title:
        c.text("title", LEFT, y, title, size=TITLE, bold=True, anchor="w")
        y -= 2.0 * TITLE
    times = sorted({t for m in models for t in m.times})
    columns = columns_for(times, max_columns, max_lines)
    g.columns = columns
    for k, model in enumerate(models):
        y = _panel(c, model, columns, f"p{k}_", y, heat, max_columns) - 24
    if heat:
        _legend(c, y - 10, binned=any(len(col) > 1 for col in columns))
    return g


def _panel(c: _Canvas, m: BeltModel, columns, pre: str, top: float, heat: bool, max_columns: int) -> float:
    """Draw one model's belt with its top edge at ``top``; returns the y of its bottom edge."""
    n_lines = math.ceil(len(columns) / max_columns)
    per_line = math.ceil(len(columns) / n_lines)
    col_of = {t: j for j, ts in enumerate(columns) for t in ts}
    y = top
    if m.title:
        c.text(pre + "title", 8, y, m.title, size=TITLE, bold=True, anchor="w")
        y -= 1.8 * TITLE
    # each line holds, for every row bottom to top: its input, h, c; offsets from the lowest band
    offsets, pos, prev = {}, 0.0, None
    for row in m.rows:
        for kind in ("in", "h", "c") if row.has_c else ("in", "h"):
            pos += GAP[(prev, kind)] if prev is not None else 0.0
            offsets[(row.layer, kind)] = pos
            prev = kind
    line_height = pos + 80  # the column labels above, half a node below
    for line in range(n_lines):
        line_top = y - line * (line_height + 16)
        cols = range(line * per_line, min(len(columns), (line + 1) * per_line))
        lowest = line_top - line_height + 24
        ys = {key: lowest + off for key, off in offsets.items()}
        for j in cols:  # a bin's label takes two lines: "t=417" over "..833"
            ts = columns[j]
            c.text(f"{pre}col{j}", _x(j, per_line), line_top - (4 if len(ts) > 1 else 10), f"t={ts[0]}")
            if len(ts) > 1:
                c.text(f"{pre}col{j}_end", _x(j, per_line), line_top - 4 - 1.3 * TEXT, f"..{ts[-1]}")
        for r, row in enumerate(m.rows):
            _draw_row(c, m, row, r, columns, cols, per_line, ys, col_of, pre, heat, line == 0)
        if line == n_lines - 1:
            top_row = m.rows[-1]
            last = _x(cols[-1], per_line)
            lx, ly = last + PITCH + 10, ys[(top_row.layer, "h")]
            c.box(pre + "loss", lx, ly, [(m.loss_title, TITLE, True), (_short(m.loss_norm), TEXT, False)],
                  m.loss_norm, heat, tooltip=f"{m.loss_title}: ||dL/dL|| = {_short(m.loss_norm)}",
                  arrives=[m.loss])  # fmt: skip
            c.line(f"{pre}{top_row.key}_h{cols[-1]}", pre + "loss", [(last + 23, ly), (lx - 24, ly)],
                   m.loss_norm, heat, name=f"{pre}to_loss", arrives=[m.loss])  # fmt: skip
    bottom = y - n_lines * (line_height + 16)
    # the weights wrap within the belt's width: a narrow belt (few columns a line) stays narrow
    return _weights(c, m, pre, bottom, heat, min(WEIGHTS_WIDTH, LEFT + 80 + per_line * PITCH))


def _x(j: int, per_line: int) -> float:
    return LEFT + 40 + (j % per_line) * PITCH


def _shown(row: Row, ts: list[int]) -> StepValues | None:
    """The step a column shows for ``row``: of its steps, the one nearest the loss (the last one run)."""
    run = [t for t in ts if t in row.steps]
    return row.steps[run[0] if row.reverse else run[-1]] if run else None


def _draw_row(c, m, row, r, columns, cols, per_line, ys, col_of, pre, heat, first_line) -> None:
    """The h (and c) nodes of one layer on one line, the edges between steps, and the row's input."""
    layer, key = row.layer, row.key
    kinds = ("h", "c") if row.has_c else ("h",)
    for kind in kinds:
        y = ys[(layer, kind)]
        c.text(f"{pre}{key}_{kind}_name{cols[0]}", LEFT - 68, y, f"{layer} {kind}", anchor="e")
        prev = None
        for j in cols:
            ts = columns[j]
            v = _shown(row, ts)
            if v is None:
                continue
            entry = v.h if kind == "h" else v.c
            norm = v.h_norm if kind == "h" else v.c_norm
            final = j == (0 if row.reverse else len(columns) - 1)
            name = f"{kind}_n" if final else kind
            x = _x(j, per_line)
            lines = [(name, TITLE, True), (_short(norm), TEXT, False)]
            ident = f"e{number(entry)}" if entry is not None and len(ts) == 1 else f"{pre}{key}_{kind}{j}_bin"
            tip = f"{layer} {_col_label(ts)}: ||dL/d{kind}|| = {_short(norm)}"
            if entry is not None:
                tip += f"  ({entry.name}(%{number(entry)}), {shape_text(entry.shape)})"
            c.box(f"{pre}{key}_{kind}{j}", x, y, lines, norm, heat, tooltip=tip, min_width=46, id=ident,
                  arrives=[entry] if entry is not None else ())  # fmt: skip
            c.g.cells.append((layer, kind, j, ident, norm))
            if prev is not None:
                _step_edge(c, pre, row, kind, columns, prev, j, x, y, heat)
            prev = j
        if cols and not row.reverse:  # where the row comes from: the initial state, or the line above
            x0 = _x(cols[0], per_line) - PITCH + 2
            if first_line:
                text, tip = f"{kind} init", f"the initial {kind} (hx): no gradient drawn"
            else:
                text, tip = f"t={columns[cols[0] - 1][-1]}", f"{kind} continues from the line above"
            c.box(f"{pre}{key}_{kind}_from{cols[0]}", x0, y, [(text, TEXT, False)], kind="const", tooltip=tip)
            c.line(f"{pre}{key}_{kind}_from{cols[0]}", f"{pre}{key}_{kind}{cols[0]}",
                   [(x0 + 26, y), (_x(cols[0], per_line) - 24, y)])  # fmt: skip
    if row.has_c:  # h_t = o * tanh(c_t): the c node of each column feeds the h node below it
        for j in cols:
            if any(t in row.steps for t in columns[j]):
                x = _x(j, per_line)
                points = [(x, ys[(layer, "c")] - 17), (x, ys[(layer, "h")] + 17)]
                c.line(f"{pre}{key}_c{j}", f"{pre}{key}_h{j}", points)
    _inputs(c, m, row, r, columns, cols, per_line, ys, col_of, pre, heat)


def _step_edge(c, pre, row, kind, columns, a, b, x, y, heat) -> None:
    """The edge between columns a and b (b = a + 1) of a row, labelled with the measured step-back factor."""
    v_a, v_b = _shown(row, columns[a]), _shown(row, columns[b])
    assert v_a is not None and v_b is not None, "an edge joins two columns that show a step"
    na, nb = (v_a.h_norm, v_b.h_norm) if kind == "h" else (v_a.c_norm, v_b.c_norm)
    src, dst, sx, dx = (a, b, x - PITCH, x) if not row.reverse else (b, a, x, x - PITCH)
    label = None
    if na is not None and nb is not None and nb > 0:
        k = len(columns[b])
        factor = (na / nb) ** (1 / k) if na > 0 else 0.0
        label = _factor(factor) + ("/step" if k > 1 else "")
    # the gradient that travelled this edge backwards is the earlier column's norm
    edge_norm, earlier = (na, v_a) if not row.reverse else (nb, v_b)
    entry = earlier.h if kind == "h" else earlier.c
    c.line(f"{pre}{row.key}_{kind}{src}", f"{pre}{row.key}_{kind}{dst}",
           [(sx + (23 if dx > sx else -23), y), (dx - (23 if dx > sx else -23), y)], edge_norm, heat,
           name=f"{pre}{row.key}_{kind}{src}_{dst}", arrives=[entry] if entry is not None else ())  # fmt: skip
    mid = (sx + dx) / 2
    if label is not None:
        c.text(f"{pre}{row.key}_{kind}{a}_{b}_factor", mid, y + 27, label)
    if kind == "c":
        fs = [row.steps[t].f_mean for t in columns[b] if t in row.steps and row.steps[t].f_mean is not None]
        if fs:
            c.text(f"{pre}{row.key}_f{b}", mid, y - 27, f"f={sum(fs) / len(fs):.2f}")


def _inputs(c, m, row, r, columns, cols, per_line, ys, col_of, pre, heat) -> None:
    """The row's input chunks: one box per chunk, or per run of chunks that share a column (binned)."""
    y = ys[(row.layer, "in")]
    chunks = m.inputs.get(row.layer, [])
    boxes: list[list] = []  # [first column, last column, chunks]: chunks whose columns overlap share a box
    for ch in sorted(chunks, key=lambda ch: ch.t0):  # a chunk that wraps is drawn on both lines
        j0, j1 = col_of.get(ch.t0), col_of.get(ch.t1)
        if j0 is None or j1 is None or j1 < cols[0] or j0 > cols[-1]:
            continue
        j0, j1 = max(j0, cols[0]), min(j1, cols[-1])
        if boxes and j0 <= boxes[-1][1]:
            boxes[-1][1] = max(boxes[-1][1], j1)
            boxes[-1][2].append(ch)
        else:
            boxes.append([j0, j1, [ch]])
    box_of = {}
    for j0, j1, chs in boxes:
        x0, x1 = _x(j0, per_line), _x(j1, per_line)
        known = [ch.norm for ch in chs if ch.norm is not None]
        norm = math.sqrt(sum(n * n for n in known)) if known else None
        t0, t1 = min(ch.t0 for ch in chs), max(ch.t1 for ch in chs)
        width = x1 - x0 + PITCH - 8
        title = f"{chs[0].title} t={t0}..{t1}" if len(chs) == 1 else f"{chs[0].title} x{len(chs)}"
        if text_width(title, TEXT, True) > width - 12:
            title = chs[0].title
        lines = [(title, TEXT, True), (_short(norm), TEXT, False)]
        c.box(f"{pre}{row.key}_in{j0}", (x0 + x1) / 2, y, lines, norm, heat, min_width=width,
              tooltip=f"{row.layer}.{chs[0].title} t={t0}..{t1}: ||dL/d value|| = {_short(norm)}",
              arrives=[ch.entry for ch in chs if ch.entry is not None])  # fmt: skip
        for j in range(j0, j1 + 1):
            box_of[j] = f"{pre}{row.key}_in{j0}"
            x = _x(j, per_line)
            c.line(f"{pre}{row.key}_in{j0}", f"{pre}{row.key}_h{j}", [(x, y + 17), (x, ys[(row.layer, "h")] - 17)])
    if r > 0:  # the layer below feeds this one: its h, beside its c, up into this row's input
        below = m.rows[r - 1]
        for j in cols:
            if any(t in below.steps for t in columns[j]) and j in box_of:
                x = _x(j, per_line) + 26
                top = ys[(below.layer, "c")] if below.has_c else ys[(below.layer, "h")]
                c.line(f"{pre}{below.key}_h{j}", box_of[j],
                       [(x - 3, ys[(below.layer, 'h')] + 8), (x, top), (x, y - 17)])  # fmt: skip


def _weights(c: _Canvas, m: BeltModel, pre: str, top: float, heat: bool, wrap: float = WEIGHTS_WIDTH) -> float:
    """Each shared weight once: its name and shape, a strip of each use's share, the total."""
    x = 8.0
    y = top - 14
    cell = 12.0
    for k, w in enumerate(m.weights):
        uses = sorted(w.shares)
        per = max(1, math.ceil(len(uses) / 48))  # past 48 uses, bin the strip as the belt bins its columns
        bins = {uses[i]: uses[i : i + per] for i in range(0, len(uses), per)}
        binned = {t: max(w.shares[u] for u in ts) for t, ts in bins.items()}  # the largest share per bin
        what = w.uses if len(uses) != 1 else w.uses[:-1]  # "1 chunk", "2 chunks"
        head = f"{w.title} {shape_text(w.shape)}: one array, used by {len(uses)} {what}"
        total = f"sum over t: ||dL/dW|| = {_short(w.total)}"
        width = max(text_width(head, TEXT, True), text_width(total, TEXT), len(binned) * cell) + 12
        if x + width > wrap and x > 8:
            x, y = 8.0, y - 78
        c.text(f"{pre}w{k}_title", x, y, head, bold=True, anchor="w")
        for n, (t, share) in enumerate(binned.items()):
            cx = x + 2 + cell * (n + 0.5)
            c.g.node(
                f"{pre}w{k}_s{n}", "", pos=f"{cx:.1f},{y - 20:.1f}!", width=f"{cell / 72:.3f}",
                height=f"{cell / 72:.3f}", fixedsize="true", shape="box",
                fillcolor=c.scale.colour(share) if heat else "#dddddd", color="#333333", penwidth="0.5",
                style="filled,dashed" if heat and share == 0 else "filled",
                tooltip=f"{w.title}: share of t={t}: {_short(share)}", id=f"{pre}w{k}_share{t}",
            )  # fmt: skip
            if heat:
                c.g.arrivals[f"{pre}w{k}_share{t}"] = tuple(e for u in bins[t] for e in w.readers.get(u, ()))
        if binned:
            first, last = list(binned)[0], list(binned)[-1]
            c.text(f"{pre}w{k}_t0", x, y - 38, f"t={first}", anchor="w")
            span = x + 2 + cell * len(binned)
            if last != first:  # one use: its label is already there
                c.text(f"{pre}w{k}_t1", span, y - 38, f"t={last}", anchor="e" if len(binned) > 4 else "w")
        c.text(f"{pre}w{k}_total", x, y - 56, total, anchor="w")
        x += width + 24
    return y - 66 if m.weights else top


def _legend(c: _Canvas, y: float, binned: bool) -> None:
    """Swatches for every decade of the scale, 0 and NaN/Inf; what is coloured; what the labels mean."""
    c.text("legend_title", 8, y, LEGEND_TITLE, bold=True, anchor="w")
    x = 8.0
    for k, (label, norm) in enumerate(c.scale.swatches()):
        w, _ = box_size([(label, TEXT, False)], pad_x=6, pad_y=3)
        c.box(f"swatch_{k}", x + max(w, 44) / 2, y - 24, [(label, TEXT, False)], norm, True, min_width=44)
        x += max(w, 44)
    factor = "edge labels: step-back factor ||dL/d h_t-1|| / ||dL/d h_t||"
    if binned:
        factor += " (per step, inside a bin)"
    c.text("legend_factor", 8, y - 50, factor + "; f = mean forget gate", anchor="w")
    c.text("legend_styles", 8, y - 68, f"{DASHED_MEANS}; grey, solid: no gradient drawn (init)", anchor="w")


__all__ = ["BeltModel", "build_belt", "columns_for", "draw_belts", "has_time_steps"]
