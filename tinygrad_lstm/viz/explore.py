"""The backward-pass explorer: one self-contained HTML page that steps through the sweep VJP by VJP.

The page shows the belt picture (the same SVG ``tl.viz.draw`` makes) with every box white until the
sweep reaches it. A slider, the arrow keys and a play button step through the VJPs in the order they
ran; each box fills with its gradient colour when its gradient is complete, the current step's
column lights up, and clicking a step opens its primitives (the op view of that one step) with the
current VJP outlined, what it read in blue and where it sent gradients in orange. Everything the
page needs (SVG, data, script, style) is inside the file: it works opened from disk, with no network.

>>> import tinygrad_lstm as tl
>>> from tinygrad_lstm.examples import unroll
>>> u = unroll("lstm", steps=4, values=64)
>>> page = tl.viz.explore(u.tape, u.backward(arrays=64))
>>> page.steps == len(u.trace)
True
>>> # page.save("bptt.html"); in Jupyter, `page` on its own displays it inline
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import math
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..instruments.recording import Tape, shape_text
from ..instruments.trace import BackwardTrace
from ..tape import Entry, Leaf, number, time_step
from ..tensor import Tensor
from .belt import MAX_COLUMNS, MAX_LINES, build_belt, draw_belts, has_time_steps
from .draw import draw_model
from .graph import build
from .render import pipe
from .scale import DEFAULT_SCALE, HeatScale

HEAT_MAP_LIMIT = 64  # arrays of at most this many elements get a heat map in the page


NOTEBOOK_PLAIN_BYTES = 1 << 20  # a page up to 1 MB goes into a notebook as it is; larger ones gzipped
NOTEBOOK_CAP_BYTES = 4 << 20  # compressed pages larger than this are left out of the notebook, with a note
# the iframe's page when the explorer page is packed: unpack it (gzip, base64) and put it in place
_UNPACK = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body><script>
(async () => {
  const bytes = Uint8Array.from(atob("PACKED"), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const page = await new Response(stream).text();
  document.open();
  document.write(page);
  document.close();
})();
</script></body></html>"""


class Explorer:
    """An explorer page: ``save(path)`` writes it; in Jupyter it displays inline (in an iframe)."""

    def __init__(self, data: dict) -> None:
        self.data = data  # what the page's script reads: panes of SVG, sweep, entries and step templates
        self.steps = max(p["n"] for p in data["panes"])  # VJPs the slider steps through (the longest sweep)
        self.html = _page(data)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page (UTF-8) and return its path."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"explore: save to a .html file, got {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # an iframe keeps the page's script and style apart from the notebook's own. A large page (a long
        # sequence) goes into the notebook gzipped and base64-encoded, unpacked by the iframe (about a
        # tenth of the size); a page still too large even so is left out, with a note saying how to see it
        page = self.html.encode()
        if len(page) <= NOTEBOOK_PLAIN_BYTES:
            content = self.html
        else:
            packed = base64.b64encode(gzip.compress(page, 9, mtime=0)).decode()
            if len(packed) > NOTEBOOK_CAP_BYTES:
                return (
                    f"<p>The explorer page of {self.steps:,} VJPs is {len(page) / 2**20:.1f} MB "
                    f"({len(packed) / 2**20:.1f} MB compressed), more than a notebook should hold "
                    f"({NOTEBOOK_CAP_BYTES / 2**20:.0f} MB): "
                    "<code>page.save('bptt.html')</code> and open that file in a browser, or record fewer steps.</p>"
                )
            content = _UNPACK.replace("PACKED", packed)
        return (
            f'<iframe srcdoc="{html.escape(content, quote=True)}" style="width: 100%; height: 820px; '
            'border: 1px solid #ccc" sandbox="allow-scripts"></iframe>'
        )

    def __repr__(self) -> str:
        return f"<Explorer of {self.steps} VJPs, {len(self.html.encode()) // 1024} KB>"


def explore(
    what,
    trace: BackwardTrace | None = None,
    title: str | None = None,
    scale: tuple[int, int] | str = DEFAULT_SCALE,
) -> Explorer:
    """The explorer page of one recording, or of several side by side stepping together.

    ``what``: a :class:`~tinygrad_lstm.Tape` (or the tensor whose graph to show) with the ``trace`` of
    its backward pass (``with tl.trace_backward() as trace: loss.backward()``); or a list of
    ``(label, tape, trace)`` triples, e.g. a tanh RNN and an LSTM on the same input, drawn on one colour
    scale with one slider. Record with ``tl.Tape(values=64)`` and trace with ``tl.trace_backward(arrays=64)``
    for heat maps of small values and gradients, and ``Tape(sources=True)`` for source lines.
    """
    if isinstance(what, (list, tuple)) and what and all(isinstance(r, tuple) and len(r) == 3 for r in what):
        if trace is not None:
            raise ValueError("explore: give trace= for one recording, or (label, tape, trace) triples, not both")
        recordings = [(label, _as_tape(tape), tr) for label, tape, tr in what]
    else:
        recordings = [("", _as_tape(what), trace)]
    for label, tape, tr in recordings:
        if not isinstance(tr, BackwardTrace):
            name = f" of {label!r}" if label else ""
            raise ValueError(
                f"explore: the recording{name} needs the trace of its backward pass "
                f"(`with tl.trace_backward() as trace: loss.backward()`), got {type(tr).__name__}"
            )
        if not has_time_steps(tape):
            raise ValueError(
                "explore: no time-step scopes in this tape; the explorer steps through a recurrent "
                "layer's belt (record an nn.RNN/LSTM/GRU, or wrap your cell loop in tl.scope(name, t=t))"
            )
    heat = HeatScale(scale, [r.grad_norm for _, _, tr in recordings for r in tr.records])
    # panes side by side share the page's width: each belt gets fewer columns a line (and more lines, which
    # the pane's height has room for), so that it fills its pane's width at a readable size
    per_line = max(4, MAX_COLUMNS // len(recordings))
    shape = (per_line, MAX_COLUMNS * MAX_LINES // per_line)
    panes = [_pane(label, tape, tr, heat, shape) for label, tape, tr in recordings]
    _same_width(panes)
    data = {
        "title": title or "backward-pass explorer",
        "panes": panes,
    }
    return Explorer(data)


def _as_tape(what) -> Tape:
    if isinstance(what, Tape):
        return what
    if isinstance(what, Tensor):
        return Tape.of(what)
    raise TypeError(f"explore: expected a Tape or a Tensor, got {type(what).__name__}")


def _round(x: float | None) -> float | str | None:
    """4 significant digits keep the page small; NaN and Inf become strings JSON can carry."""
    if x is None:
        return None
    if not math.isfinite(x):
        return str(x)
    return float(f"{x:.4g}")


def _heat_map(a: np.ndarray | None) -> list | None:
    """[rows, columns, values] of a small array laid out as a matrix (the last axis across)."""
    if a is None or a.size > HEAT_MAP_LIMIT:
        return None
    rows = int(np.prod(a.shape[:-1])) if a.ndim > 1 else 1
    cols = a.shape[-1] if a.ndim else 1
    return [rows, cols, [_round(float(v)) for v in a.ravel()]]


class _Entries:
    """Every entry the page can describe, numbered in the order first met, with its JSON record."""

    def __init__(self, tape: Tape, trace: BackwardTrace, scale: HeatScale) -> None:
        self.tape, self.scale = tape, scale
        self.refs = tape.refs()
        self.index: dict[int, int] = {}
        self.items: list = []
        self.grad_norms = trace.grad_norms()
        self.run: dict[int, int] = {}  # id(entry) -> sweep order of its VJP (its gradient is then complete)
        self.first: dict[int, int] = {}  # id(entry) -> order of the first VJP that sent it a gradient
        self.grads: dict[int, np.ndarray] = {}
        for r in trace.records:
            self.run[id(r.entry)] = r.order
            if r.grad is not None:
                self.grads[id(r.entry)] = r.grad
            for parent, _ in r.sent:
                self.first.setdefault(id(parent), r.order)
        for e in tape.entries:
            self.of(e)

    def of(self, e) -> int:
        k = self.index.get(id(e))
        if k is None:
            k = self.index[id(e)] = len(self.items)
            self.items.append(e)
        return k

    def record(self, e) -> dict:
        name = self.refs.get(id(e)) or (e.name if e.op == "leaf" and e.name else f"%{number(e)}")
        step = time_step(e.scope)
        norm = self.grad_norms.get(e.index)
        kept = self.tape.kept.get(e)
        if kept is None and e.op == "leaf":  # a parameter: its value is the tensor's, read now
            tensor = e.tensor()
            data = None if tensor is None else np.asarray(tensor.data, dtype=np.float64)
            kept = None if data is None else (float(np.linalg.norm(data.ravel())), data)
        return {
            "ref": name,
            "op": e.op,
            "shape": shape_text(e.shape),
            "dtype": str(e.dtype),
            "scope": e.scope.path if e.scope is not None else "",
            "source": e.source or "",
            "step": [step[0], step[1]] if step is not None else None,
            "vn": _round(kept[0]) if kept else None,
            "v": _heat_map(kept[1]) if kept else None,
            "gn": _round(norm),
            "g": _heat_map(self.grads.get(id(e))),
            "fill": self.scale.colour(norm) if norm is not None else None,
            "ink": self.scale.text_colour(norm) if norm is not None else None,
            "run": self.run.get(id(e), -1),
            "first": self.first.get(id(e), -1),
            "parents": [None if p is None else self.of(p) for p in e.parents],
        }

    def records(self) -> list[dict]:
        out, k = [], 0
        while k < len(self.items):  # record() may add the entries a recorded entry reads
            out.append(self.record(self.items[k]))
            k += 1
        return out


def _pane(label: str, tape: Tape, trace: BackwardTrace, scale: HeatScale, shape: tuple[int, int]) -> dict:
    """Everything one recording's part of the page needs, as JSON-ready data (entries are numbers
    into ``entries`` everywhere):

    - ``svg``: the belt, drawn with its final colours; ``arrive``: SVG id -> the sweep position
      after which that element shows its colour (white before); ``shows``: SVG id -> the entry a
      click on it opens; ``columns``: the time steps of each belt column; ``strip``: the
      ||dL/d state|| rows, each cell sharing its belt box's id;
      (``shape``: the belt's columns a line and lines before it bins steps);
    - ``sweep``: per VJP in the order it ran, [entry, ||g received||, [[input, ||g sent||], ...],
      roles of the arrays it read];
    - ``entries``: what the info panel shows of each entry, with ``run`` (its VJP's position) and
      ``first`` (when a first gradient reached it);
    - ``templates`` and ``steps``: the op view of each time step (see :func:`_step_templates`);
    - ``memory`` (when the trace read it, ``trace_backward(memory=tape)``): see :func:`_memory`.
    """
    entries = _Entries(tape, trace, scale)
    model = build_belt(tape, trace)  # untitled: the pane's heading names it
    belt = draw_belts([model], scale, heat=True, max_columns=shape[0], max_lines=shape[1])
    arrive = {}
    for ident, needs in belt.arrivals.items():
        orders = [entries.run.get(id(e)) for e in needs]
        known = [k for k in orders if k is not None]
        if known and len(known) == len(orders):
            arrive[ident] = max(known)
    shows = {ident: entries.of(needs[0]) for ident, needs in belt.arrivals.items() if needs}
    sweep = []
    for r in trace.records:
        sent = [[entries.of(p), _round(n)] for p, n in r.sent]
        reads = [s.role for s in r.saved]
        sweep.append([entries.of(r.entry), _round(r.grad_norm), sent, reads])
    strip: dict[str, dict[str, Any]] = {}
    for layer, kind, j, ident, norm in belt.cells:
        row = strip.setdefault(f"{layer}|{kind}", {"layer": layer, "kind": kind, "cells": {}})
        row["cells"][j] = [ident, _round(norm), scale.colour(norm), scale.text_colour(norm)]
    templates, steps = _step_templates(tape, entries)
    return {
        "label": label,
        "n": len(trace.records),
        "svg": _inline_svg(pipe(belt.source, "svg").decode()),
        "arrive": arrive,
        "shows": shows,
        "columns": belt.columns,
        "strip": list(strip.values()),
        "sweep": sweep,
        "templates": templates,
        "steps": steps,
        "entries": entries.records(),
        "memory": _memory(trace),
    }


def _memory(trace: BackwardTrace) -> dict | None:
    """The memory strip's data, as the trace read it during the real backward pass (None if it did not):
    ``held[k]``, the bytes of saved arrays the tape held at sweep position k (0: when the sweep began;
    k: while the k-th VJP ran); ``segments``, each run of VJPs inside one ``tl.checkpoint`` segment as
    [first position, last position, its time steps], the first being where the segment ran again."""
    memory = trace.memory
    if memory is None or memory.before is None:
        return None
    segments: list[list] = []
    for k, which in enumerate(memory.segment):
        if which < 0:
            continue
        if segments and segments[-1][3] == which and segments[-1][1] == k:  # the run goes on
            segments[-1][1] = k + 1
            continue
        ts = [s[1] for s in (time_step(e.scope) for e in memory.segments[which]) if s is not None]
        steps = "" if not ts else f"t={min(ts)}" if min(ts) == max(ts) else f"t={min(ts)}..{max(ts)}"
        segments.append([k + 1, k + 1, steps, which])
    return {"held": [memory.before, *memory.held], "segments": [s[:3] for s in segments]}


def _step_templates(tape: Tape, entries: _Entries) -> tuple[list, dict]:
    """The op view of each time step, drawn once per distinct program: steps repeat one program, so
    a 1,000-step layer needs one or two drawings, and each step lists its own entries in their order.

    A template's nodes are ``op<k>`` (the step's k-th entry) and ``in<k>`` (the k-th value it reads
    from outside the step: the previous h, a weight, its slice of the input projection).
    """
    by_step: dict[tuple, list] = {}
    for e in tape.entries:
        s = time_step(e.scope)
        if s is not None:
            by_step.setdefault(s, []).append(e)
    templates: list[dict] = []
    drawn: dict[tuple, int] = {}
    steps = {}
    for (layer, t), ops in by_step.items():
        position = {id(e): k for k, e in enumerate(ops)}
        reads: dict[int, int] = {}  # id(value read from outside the step) -> k, in order of first use
        outside: list[Entry | Leaf] = []
        shape = []  # the step's program: steps with the same one share a drawing
        for e in ops:
            slots = []
            for p in e.parents:
                if p is not None and id(p) not in position and id(p) not in reads:
                    reads[id(p)] = len(outside)
                    outside.append(p)
                where = None if p is None else ("op", position[id(p)]) if id(p) in position else ("in", reads[id(p)])
                slots.append(where)
            shape.append((e.op, e.name, tuple(slots)))
        model = build(Tape(ops), "op")
        for node in model.nodes.values():  # name the nodes by position, the same in every such step
            if node.entry is not None:
                k = position.get(id(node.entry))
                node.ident = f"op{k}" if k is not None else f"in{reads[id(node.entry)]}"
                if k is None:  # read from outside the step: a double outline (dashed says a gradient of 0)
                    node.kind = "context"
        key = tuple(shape)
        if key not in drawn:
            drawn[key] = len(templates)
            picture = draw_model(model, title="")
            texts = {n.ident: n.title for n in model.nodes.values()}
            templates.append({"svg": _inline_svg(pipe(picture.source, "svg").decode()), "texts": texts})
        template = templates[drawn[key]]
        texts = {n.ident: n.title for n in model.nodes.values() if template["texts"].get(n.ident) != n.title}
        if model.clusters:  # the step's title, drawn at the top of its cluster
            texts["cluster_0_title"] = next(iter(model.clusters.values()))
        steps[f"{layer}|{t}"] = {
            "template": drawn[key],
            # a slice folded into the gate that reads it is drawn as that gate
            "inside": {position[piece]: position[id(gate)] for piece, gate in model.folded.items()},
            "ops": [entries.of(e) for e in ops],
            "ins": [entries.of(p) for p in outside],
            "texts": texts,
            "title": ops[0].scope.label if ops[0].scope is not None else f"{layer} t={t}",
        }
    for template in templates:
        del template["texts"]
    return templates, steps


def _same_width(panes: list[dict]) -> None:
    """Pad compared belts to one width: scaled to equal columns, their time axes line up."""
    head = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"\s+viewBox="([-\d. ]+)"')
    found = [head.search(p["svg"]) for p in panes]
    sizes = [m for m in found if m is not None]
    if len(panes) < 2 or len(sizes) < len(panes):
        return
    widest = max(float(m.group(1)) for m in sizes)
    for pane, m in zip(panes, sizes):
        x, y, _, h = m.group(3).split()
        tag = f'<svg width="{widest:.0f}pt" height="{m.group(2)}pt" viewBox="{x} {y} {widest:.2f} {h}"'
        pane["svg"] = pane["svg"].replace(m.group(0), tag, 1)


def _inline_svg(svg: str) -> str:
    """The <svg> element alone (no XML prolog or doctype), for inlining in HTML."""
    return svg[svg.index("<svg") :]


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _page(data: dict) -> str:
    # "</" inside a <script> would end it early: JSON may escape the slash
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(data['title'])}</title>"
        f"<style>{_asset('explorer.css')}</style></head>\n<body>\n"
        f"{_asset('explorer.html')}\n"
        f'<script type="application/json" id="explorer-data">{payload}</script>\n'
        f"<script>{_asset('explorer.js')}</script>\n</body></html>\n"
    )


__all__ = ["Explorer", "explore"]
