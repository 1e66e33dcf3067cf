"""From tape entries to a graph model: nodes, edges and clusters for each view, no styling.

Every view is the op graph with some entries folded together: ``op`` folds nothing, ``cell`` folds
each scope (one time step of one layer), ``rolled`` folds every step of a layer into one cell, and
``window`` folds the middle steps into one "... n steps ..." node. The ``backward`` view draws the
sweep itself from a :class:`~tinygrad_lstm.instruments.trace.BackwardTrace`. Node ids come from tape positions,
so the same program always gives the same DOT.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..instruments.recording import Tape, shape_text
from ..instruments.trace import BackwardTrace
from ..tape import Entry, Leaf, number, time_step

VIEWS = ("op", "cell", "rolled", "window", "backward")


@dataclass
class VNode:
    id: str
    title: str  # the bold first line (a name, or the op)
    detail: str  # the small second line (op, shape, sizes)
    kind: str  # "op", "param", "input", "cell", "ellipsis", "vjp", "context" (an explorer step reads it)
    cluster: str | None = None  # scope path, or layer name in the cell view
    heat: float | None = None  # a gradient norm
    order: int = 0
    heat_from_h: bool = False  # a folded node shows the largest ||dL/dh|| among its steps
    ident: str = ""  # the SVG id: "e<k>" for the entry %k, so listing, trace and picture agree
    entry: Entry | Leaf | None = None  # the one tape entry (or outside input) this node shows, if it shows one


@dataclass
class VEdge:
    src: str
    dst: str
    heat: float | None = None
    label: str | None = None


@dataclass
class GraphModel:
    view: str
    nodes: dict[str, VNode] = field(default_factory=dict)
    edges: dict[tuple[str, str], VEdge] = field(default_factory=dict)
    clusters: dict[str, str] = field(default_factory=dict)  # key -> label, in time order
    notes: list[str] = field(default_factory=list)
    strips: dict[str, dict[str, dict[int, float]]] = field(default_factory=dict)  # layer -> name -> t -> norm
    rows: list[list[str]] = field(default_factory=list)  # node ids drawn side by side in this order (gates)
    folded: dict = field(default_factory=dict)  # id(slice entry) -> the gate entry it is drawn inside

    def add_edge(self, src: str, dst: str, heat: float | None, label: str | None = None) -> None:
        """Add an edge, or merge into an existing one (norms add in quadrature)."""
        if src == dst and label is None:
            return
        old = self.edges.get((src, dst))
        if old is None:
            self.edges[(src, dst)] = VEdge(src, dst, heat, label)
        elif heat is not None:
            old.heat = heat if old.heat is None else math.hypot(old.heat, heat)


def _step(entry) -> tuple[str, int] | None:
    """(layer name, t) for an entry recorded in a time-step scope."""
    return time_step(entry.scope)


def _op_detail(e) -> str:
    return f"{e.op} {shape_text(e.shape)}"


def build(tape: Tape, view: str = "op", trace: BackwardTrace | None = None, window: int = 2) -> GraphModel:
    """The graph model of ``tape`` in ``view`` (see the module docstring)."""
    if view not in VIEWS:
        raise ValueError(f"viz: view must be one of {', '.join(VIEWS)}, got {view!r}")
    if view == "backward":
        if trace is None:
            raise ValueError("viz: the backward view needs trace= (run backward inside `with tl.trace_backward()`)")
        return _backward_model(tape, trace)
    node_norms = trace.grad_norms() if trace is not None else {}
    edge_norms = trace.edge_norms() if trace is not None else {}
    fold, elided = _folding(tape, view, window)
    model = GraphModel(view)
    refs = tape.refs()
    position = {id(e): k for k, e in enumerate(tape.entries)}
    outside: dict[int, int] = {}  # inputs from outside the tape, numbered by first use (w.T and w_T stay apart)
    for e in tape.entries:
        for p in e.parents:
            if p is not None and id(p) not in position:
                outside.setdefault(id(p), len(outside))

    slices = _slices_into_gates(tape) if view in ("op", "window") else {}
    initial = _initial_states(tape) if view in ("op", "window") else {}

    def vid(entry) -> str:
        """The id of the picture node that shows ``entry``."""
        if id(entry) in slices:
            return vid(slices[id(entry)])
        key = fold(entry) if id(entry) in position else None
        if key is not None:
            return key
        if id(entry) in position:
            return f"n{position[id(entry)]}"
        return f"p{outside[id(entry)]}"

    # nodes: entries, then what they read from outside the tape (parameters, earlier results)
    for k, e in enumerate(tape.entries):
        if id(e) in slices:  # drawn as part of the gate it feeds
            continue
        key = vid(e)
        heat = node_norms.get(e.index)
        if key in model.nodes:
            _absorb(model.nodes[key], e, heat)
            continue
        if key.startswith("n"):
            cluster = e.scope.path if e.scope is not None else None
            title, detail = _op_title(e, [p for p in e.parents if p is not None and id(p) in slices])
            model.nodes[key] = VNode(key, title, detail, "op", cluster, heat, k, ident=f"e{number(e)}", entry=e)
            if cluster is not None:
                model.clusters.setdefault(cluster, e.scope.label)
        else:
            model.nodes[key] = _folded_node(key, e, view, k)
            _absorb(model.nodes[key], e, heat)
    for e in tape.entries:
        for p in e.parents:
            if p is None or id(p) in position:
                continue
            key = vid(p)
            if key not in model.nodes:
                kind = "param" if p.op == "leaf" else "input"
                detail = shape_text(p.shape) if kind == "param" else _op_detail(p)
                # an input from outside the tape goes by its name in listings, so it gets no numbered id
                model.nodes[key] = VNode(key, refs[id(p)], detail, kind, None, node_norms.get(p.index), -1, entry=p)

    # edges, merged where folding put both ends in one node
    steps_per_layer = _steps_per_layer(tape)
    for e in tape.entries:
        dst = vid(e)
        for slot, p in enumerate(e.parents):
            if p is None:
                start = initial.get((id(e), slot))
                if start is not None:  # the constant a layer starts from, drawn so step 0 reads something
                    key, title, shape = start
                    model.nodes.setdefault(key, VNode(key, title, f"initial state {shape_text(shape)}", "input"))
                    model.add_edge(key, dst, None)
                continue
            src = vid(p)
            heat = edge_norms.get((p.index, e.index))
            if src == dst:
                # the rolled cell's loop is the recurrence: only values handed from one step to the
                # next travel it (the gradient along h_t -> h_t+1), never the cell's inner edges
                if view == "rolled" and model.nodes[dst].kind == "cell" and _step(p) != _step(e):
                    layer = model.nodes[dst].cluster
                    assert layer is not None, "a rolled cell's cluster is its layer"
                    model.add_edge(src, dst, heat, f"x {steps_per_layer.get(layer, 1) - 1}")
                continue
            model.add_edge(src, dst, heat)
    if view == "cell":
        model.clusters = {layer: layer for layer in steps_per_layer}
    if view == "window":
        for (layer, _t), n in elided.items():
            model.nodes[f"w_{safe_id(layer)}"].title = f"... {n} steps ..."
    rows: dict[int, list] = {}  # the gates cut from one sum, in the order they were cut
    for piece in tape.entries:
        if id(piece) in slices:
            rows.setdefault(id(piece.parents[0]), []).append(slices[id(piece)])
    # one rank only for gates read straight off the sum (a GRU's n waits for r: it cannot share r's rank)
    model.rows = [[vid(g) for g in row] for row in rows.values() if all(len(g.parents) == 1 for g in row)]
    model.strips = _strips(tape, node_norms) if trace is not None else {}
    model.folded = slices
    return model


def _op_title(e, folded_slices: list) -> tuple[str, str]:
    """The bold title and the detail line of an entry drawn on its own.

    A name wins (``f``, ``h``, ``i*g``); a slice of a named value says which (``x_proj[0]``); a gate
    that absorbed its slice of the pre-activations says which columns it reads (``sigmoid([:, 3:6])``).
    """
    op = e.op
    if len(folded_slices) == 1 and len(e.parents) == 1:
        op = f"{e.op}([{_index_of(folded_slices[0])}])"
    if e.name:
        return e.name, f"{op} {shape_text(e.shape)}"
    parent = e.parents[0] if e.op == "getitem" else None
    if parent is not None and parent.name:
        return f"{parent.name}[{_index_of(e)}]", shape_text(e.shape)
    return op, shape_text(e.shape)


def _index_of(getitem_entry) -> str:
    """The index a getitem entry took; an index array is dropped by backward's free(), so it shows as ``...``."""
    return "..." if getitem_entry.p is None else index_text(getitem_entry.p[0])


def index_text(index) -> str:
    """An index as Python writes it inside ``[]``: ``0``, ``:, 3:6``, ``..., -1``."""
    if isinstance(index, tuple):
        return ", ".join(index_text(i) for i in index)
    if isinstance(index, slice):
        parts = ["" if v is None else str(v) for v in (index.start, index.stop)]
        text = ":".join(parts)
        return text if index.step is None else f"{text}:{index.step}"
    if index is Ellipsis:
        return "..."
    if isinstance(index, (int, type(None))):
        return str(index)
    return f"<{type(index).__name__}>"  # an index array: its values would not fit a label


def _slices_into_gates(tape: Tape) -> dict:
    """id(slice entry) -> the entry it is drawn inside: each piece of a split (a value cut into
    several slices) that one op of the same step reads, so the gates hang straight off the sum
    they are cut from, in the order they were cut."""
    readers: dict[int, list] = {}
    pieces: dict[int, int] = {}
    for e in tape.entries:
        for p in e.parents:
            if p is not None:
                readers.setdefault(id(p), []).append(e)
        if e.op == "getitem" and e.parents[0] is not None:
            pieces[id(e.parents[0])] = pieces.get(id(e.parents[0]), 0) + 1
    folded = {}
    for e in tape.entries:
        if e.op != "getitem" or e.parents[0] is None or pieces[id(e.parents[0])] < 2:
            continue
        reader = readers.get(id(e), [])
        same_step = e.parents[0].scope is e.scope  # x_proj[t] is read across scopes: it stays a node
        if same_step and len(reader) == 1 and reader[0].scope is e.scope and reader[0].op != "getitem":
            folded[id(e)] = reader[0]
    return folded


def _initial_states(tape: Tape) -> dict[tuple[int, int], tuple[str, str, tuple]]:
    """(id(entry), parent slot) -> (node id, title, shape) for the constant states a layer starts
    from. Steps repeat one program, so where the second step reads the first step's ``h`` (or ``c``)
    the first step read a constant at the same place: the initial state ``h_0``, as PyTorch calls it."""
    steps: dict[str, dict[object, list]] = {}  # layer -> t -> entries, in the order the steps ran
    for e in tape.entries:
        s = _step(e)
        if s is not None:
            steps.setdefault(s[0], {}).setdefault(s[1], []).append(e)
    found = {}
    for layer, by_t in steps.items():
        order = list(by_t)
        if len(order) < 2 or len(by_t[order[0]]) != len(by_t[order[1]]):
            continue
        for first, second in zip(by_t[order[0]], by_t[order[1]]):
            if first.op != second.op:
                break
            for slot, (was, now) in enumerate(zip(first.parents, second.parents)):
                if was is None and now is not None and _step(now) == (layer, order[0]):
                    key = f"i_{safe_id(layer)}_{number(now)}"
                    found[(id(first), slot)] = (key, f"{now.name or 'state'}_0", now.shape)
    return found


CELL_VALUES = ("i", "f", "g", "o", "c", "h", "r", "z", "n")


def _absorb(node: VNode, e, heat: float | None) -> None:
    """Fold entry ``e`` into ``node``: list the cell values it names, keep the gradient at h."""
    if node.kind == "ellipsis":
        return
    if node.kind == "cell" and e.name in CELL_VALUES and e.name not in node.detail.split():
        node.detail = f"{node.detail} {e.name}".strip()
    if heat is None:
        return
    if e.name == "h":
        node.heat = heat if not node.heat_from_h or node.heat is None else max(node.heat, heat)
        node.heat_from_h = True
    elif not node.heat_from_h:
        node.heat = heat if node.heat is None else max(node.heat, heat)


def _folded_node(key: str, e, view: str, order: int) -> VNode:
    step = _step(e)
    layer, t = step if step is not None else (e.scope.name, None)
    if key.startswith("w_"):  # an elided stretch of steps; its title is set once all are in
        return VNode(key, "...", layer, "ellipsis", None, None, order)
    title = layer if view == "rolled" or t is None else f"{layer} t={t}"
    return VNode(key, title, "", "cell", layer, None, order)


def _times_per_layer(tape: Tape) -> dict[str, set]:
    """layer -> the time steps the tape records for it."""
    times: dict[str, set] = {}
    for e in tape.entries:
        s = _step(e)
        if s is not None:
            times.setdefault(s[0], set()).add(s[1])
    return times


def _steps_per_layer(tape: Tape) -> dict[str, int]:
    return {layer: len(ts) for layer, ts in _times_per_layer(tape).items()}


Fold = Callable[[Any], str | None]  # entry -> the id of the node it is folded into, or None


def _folding(tape: Tape, view: str, window: int) -> tuple[Fold, dict[tuple[str, Any], int]]:
    """entry -> the id of the node it is folded into, or None to draw it alone; and, in the window
    view, (layer, t) -> how many steps are folded with it, for each step folded away."""
    if view == "op":
        return (lambda e: None), {}
    if view == "cell":
        return (lambda e: f"s_{safe_id(e.scope.path)}" if e.scope is not None else None), {}
    if view == "rolled":

        def rolled(e) -> str | None:
            s = _step(e)
            return f"r_{safe_id(s[0])}" if s is not None else None

        return rolled, {}
    # window: keep the first and last `window` steps of each layer, fold the rest
    times = _times_per_layer(tape)
    elided: dict[tuple[str, Any], int] = {}
    for layer, ts in times.items():
        ordered = sorted(ts)
        hidden = ordered[window:-window] if len(ordered) > 2 * window else []
        elided.update({(layer, t): len(hidden) for t in hidden})
    keys = {layer: f"w_{safe_id(layer)}" for layer in times}

    def fold(e) -> str | None:
        s = _step(e)
        return keys[s[0]] if s is not None and s in elided else None

    return fold, elided


@functools.lru_cache(maxsize=4096)
def safe_id(text: str) -> str:
    """``text`` with every character but letters and digits turned into _: a Graphviz id."""
    return "".join(ch if ch.isalnum() else "_" for ch in text)


def _strips(tape: Tape, node_norms: dict[int, float]) -> dict[str, dict[str, dict[int, float]]]:
    """layer -> {"h": {t: ||dL/dh_t||}, "c": {...}} from the entries named h and c in each step."""
    strips: dict[str, dict[str, dict[int, float]]] = {}
    for e in tape.entries:
        s = _step(e)
        if s is None or e.name not in ("h", "c") or e.index not in node_norms:
            continue
        strips.setdefault(s[0], {}).setdefault(e.name, {})[s[1]] = node_norms[e.index]
    return strips


def _backward_model(tape: Tape, trace: BackwardTrace) -> GraphModel:
    """The sweep as a graph: one node per VJP run, numbered in sweep order, with what it read."""
    model = GraphModel("backward")
    in_tape = {id(e) for e in tape.entries}
    refs = tape.refs()
    runs = {}
    for r in trace.records:
        if id(r.entry) not in in_tape and r.entry.op != "leaf":
            continue
        if r.entry.op == "leaf" and id(r.entry) not in refs:
            continue
        runs[id(r.entry)] = r
    for r in sorted(runs.values(), key=lambda r: r.order):
        e = r.entry
        key = f"b{r.order}"
        reads = ", ".join(f"{s.role} {shape_text(s.shape)}" for s in r.saved)
        nbytes = sum(s.nbytes for s in r.saved)
        if e.op == "leaf":
            title, detail = f"#{r.order} {refs[id(e)]}.grad", "accumulate"
        else:
            title = f"#{r.order} {e.op}.vjp"
            detail = f"{refs[id(e)]}; reads {reads} = {nbytes} B" if reads else f"{refs[id(e)]}; reads nothing"
        cluster: str | None = None
        if e.scope is not None:
            cluster = e.scope.path
            model.clusters.setdefault(cluster, e.scope.label)
        model.nodes[key] = VNode(
            key, title, detail, "param" if e.op == "leaf" else "vjp", cluster, r.grad_norm, r.order
        )
    for r in runs.values():
        for parent, n in r.sent:
            target = runs.get(id(parent))
            if target is not None:
                model.add_edge(f"b{r.order}", f"b{target.order}", n)
    return model
