"""Gradcheck on a recorded tape: every entry's VJP against central differences of its own forward.

Every tape entry keeps its forward (``fwd(p, *inputs)``; a ``tl.Function`` its ``forward``) beside
its VJP, so each VJP can be checked where it was used, with the shapes and values it saw: run the
forward again on the entry's inputs in float64, draw a random cotangent ``g``, and compare what the
VJP returns for each input with central differences of ``<g, forward(inputs)>``, element by element
(at most ``elements`` of them, chosen at random, per input) and along random directions (which
touch every element). The error of one input is ``||a - n|| / (||a|| + ||n|| + 1e-8)`` (``a`` from the
VJP, ``n`` numerical): about 1e-10 for a right VJP, 1 for a wrong sign, between for a missing term.

The inputs come from ``tl.Tape(inputs=True)``, which copies them as each entry is recorded (so the
check works after ``backward()`` has freed what entries saved, and after an optimizer step); on a
plain ``tl.Tape()`` the forwards are run again from the tape's start before ``backward()`` (or after
one with ``retain_graph=True``), and an entry whose input was not kept is listed as not checked.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.randn(3, 4, requires_grad=True)
>>> with tl.Tape(inputs=True) as tape:
...     loss = (x.tanh() * x).sum()
>>> loss.backward()
>>> check = tl.check_vjps(tape)
>>> check.worst.error < 1e-6
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .instruments.recording import Tape, ref
from .primitives.index import IndexedGrad
from .tape import Entry, no_grad
from .tensor import Tensor

WRONG = 1e-5  # an error above this is a wrong VJP (right ones measure about 1e-10 in float64)
FLOOR = 1e-16  # errors below this (exact agreement included) are reported as this


@dataclass
class InputCheck:
    """One input of one entry: the VJP's gradient against central differences."""

    slot: int
    error: float
    element: tuple | None = None  # the element where they differ most (None: along a direction)
    analytic: float = 0.0
    numerical: float = 0.0


@dataclass
class EntryCheck:
    """One entry: its inputs' checks, the largest error among them, or why it was not checked."""

    entry: Entry
    inputs: list[InputCheck] = field(default_factory=list)
    skipped: str | None = None

    @property
    def error(self) -> float | None:
        return max((c.error for c in self.inputs), default=None) if self.skipped is None else None


class VJPCheck:
    """The result of :func:`check_vjps`: one :class:`EntryCheck` per entry of the tape."""

    def __init__(self, tape: Tape, checks: list[EntryCheck], wrong: float = WRONG) -> None:
        self.tape = tape
        self.checks = checks
        self.wrong = wrong
        self._by_entry = {id(c.entry): c for c in checks}

    @property
    def errors(self) -> dict:
        """entry -> its VJP's error (the largest over its inputs), for the entries checked."""
        return {c.entry: c.error for c in self.checks if c.error is not None}

    def error_of(self, entry) -> float | None:
        c = self._by_entry.get(id(entry))
        return None if c is None else c.error

    def slot_errors(self, entry) -> dict[int, float]:
        """input slot -> error, for one entry."""
        c = self._by_entry.get(id(entry))
        return {} if c is None else {i.slot: i.error for i in c.inputs}

    @property
    def worst(self) -> EntryCheck | None:
        checked = [c for c in self.checks if c.error is not None]
        return max(checked, key=lambda c: c.error or 0.0) if checked else None

    def failures(self, wrong: float | None = None) -> list[EntryCheck]:
        """The entries whose error is above ``wrong`` (default 1e-5), in tape order."""
        wrong = self.wrong if wrong is None else wrong
        return [c for c in self.checks if c.error is not None and (c.error > wrong or not math.isfinite(c.error))]

    @property
    def skipped(self) -> list[EntryCheck]:
        return [c for c in self.checks if c.skipped is not None]

    @property
    def ok(self) -> bool:
        return not self.failures()

    def headline(self) -> str:
        """One line: how many entries were checked, how many are wrong, and the worst, by name."""
        checked = sum(c.error is not None for c in self.checks)
        bad = self.failures()
        worst = self.worst
        text = f"{checked} VJPs checked against central differences (float64)"
        if self.skipped:
            text += f", {len(self.skipped)} not checked"
        if worst is None:
            return text
        where = describe(worst.entry, self.tape)
        if bad:
            ops = sorted({c.entry.op for c in bad})
            return f"{text}: {len(bad)} wrong ({', '.join(ops)}); worst {where}, error {worst.error:.1e}"
        return f"{text}: all agree; largest error {worst.error:.1e} at {where}"

    def listing(self, all_entries: bool = False) -> str:
        """The headline, then one line per wrong entry (``all_entries``: every entry)."""
        names = self.tape.refs()
        lines = [self.headline()]
        shown = self.checks if all_entries else self.failures() + self.skipped
        for c in shown:
            e = c.entry
            where = e.scope.path if e.scope is not None else ""
            if c.skipped is not None:
                lines.append(f"  {names.get(id(e), ref(e))} {e.op} {where}: not checked ({c.skipped})")
                continue
            for i in c.inputs:
                at = f" element {i.element}" if i.element is not None else " along a random direction"
                lines.append(
                    f"  {names.get(id(e), ref(e))} {e.op} {where} input {i.slot}: error {i.error:.1e}"
                    f"{at}: VJP {i.analytic:.6g}, central difference {i.numerical:.6g}"
                )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.listing()

    def __repr__(self) -> str:
        return f"<VJPCheck: {self.headline()}>"

    def _repr_html_(self) -> str:
        from .instruments.recording import preformatted_html

        return preformatted_html(self.listing(), "VJPCheck", "print(check.listing(all_entries=True))")

    def picture(self, view: str = "op", window: int = 2, title: str | None = None):
        """The tape drawn with every box filled by its VJP's error (``tl.viz.draw_errors``)."""
        from .viz.errors import draw_errors

        return draw_errors(self, view=view, window=window, title=title)


def describe(entry, tape: Tape | None = None) -> str:
    """``tanh g(%31) in lstm.l0[t=1]``: an entry as a title names it."""
    name = tape.refs().get(id(entry), ref(entry)) if tape is not None else ref(entry)
    where = f" in {entry.scope.path}" if entry.scope is not None else ""
    return f"{entry.op} {name}{where}"


# ---- running an entry again -------------------------------------------------------------------------


class _Parent:
    """What a VJP reads of a parent entry (its shape, and a float64 dtype to return gradients in)."""

    __slots__ = ("shape", "dtype", "op", "index", "name", "origin")

    def __init__(self, parent, shape) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(np.float64)
        self.op, self.index, self.name, self.origin = parent.op, parent.index, parent.name, parent.origin


class _Rerun:
    """A stand-in for an entry, holding everything its VJP may read for inputs of our choosing."""

    __slots__ = ("op", "parents", "vjp", "ins", "out", "p", "shape", "dtype", "fwd", "name", "scope", "index",
                 "origin", "freed", "recompute", "hooks", "retain", "source", "replay")  # fmt: skip

    def __init__(self, entry, parents, ins, out, p) -> None:
        self.op, self.vjp, self.fwd, self.name, self.scope = entry.op, entry.vjp, entry.fwd, entry.name, entry.scope
        self.index, self.origin = entry.index, entry.origin
        self.parents, self.ins, self.out, self.p = parents, ins, out, p
        self.shape, self.dtype = out.shape, out.dtype
        self.freed, self.recompute, self.hooks, self.retain, self.source, self.replay = (
            False,
            None,
            None,
            None,
            None,
            None,
        )


def _float64(a):
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        return a.astype(np.float64)
    if isinstance(a, (float, np.floating)):
        return float(a)
    return a


def _forward(entry, p):
    """``inputs -> (output, VJP stand-in)`` for ``entry``, or a string saying why it cannot run again."""
    from .function import FunctionContext

    if entry.fwd is not None:
        if entry.op == "astype" and isinstance(p, tuple) and all(np.dtype(d).kind == "f" for d in p):
            p = (np.dtype(np.float64), np.dtype(np.float64))  # checked in float64 like the rest

        def run(inputs):
            return np.asarray(entry.fwd(p, *inputs)), p

        return run
    if isinstance(p, tuple) and p and hasattr(p[0], "function"):  # a tl.Function, or one of its outputs
        ctx = p[0]
        if len(p) == 2 and isinstance(p[1], int) and entry.op.endswith(f"[{p[1]}]"):  # output k of a call
            offset, shape, _ = ctx.layout[p[1]]

            def part(inputs):
                return np.asarray(inputs[0][offset : offset + math.prod(shape)].reshape(shape)), p

            return part

        def call(inputs):
            fresh = FunctionContext(ctx.function, ctx.needs_input_grad)
            args = [Tensor(a) if isinstance(a, np.ndarray) and a.dtype.kind in "fc" else a for a in inputs]
            with no_grad():
                result = ctx.function.forward(fresh, *args)
            if isinstance(result, tuple):
                fresh.layout = ctx.layout
                fresh.received = {k for k, (offset, _, _) in enumerate(ctx.layout) if offset is not None}
                outs = [np.asarray(r.data if isinstance(r, Tensor) else r) for r in result]
                out = np.concatenate([o.reshape(-1) for o, (off, _, _) in zip(outs, ctx.layout) if off is not None])
            else:
                out = np.asarray(result.data if isinstance(result, Tensor) else result)
            saved = tuple(t.data for t in fresh.saved_tensors if t is not None)
            return out, (fresh, *saved)

        return call
    return f"{entry.op} keeps no forward function"


def _dense(g, shape) -> np.ndarray | None:
    if g is None:
        return None
    if type(g) is IndexedGrad:
        return g.dense(np.float64)
    data = g.data if isinstance(g, Tensor) else g
    return np.broadcast_to(np.asarray(data, dtype=np.float64), shape)


def _check_entry(entry, p, inputs, rng, eps: float, elements: int, directions: int) -> EntryCheck:
    run = _forward(entry, p)
    if isinstance(run, str):
        return EntryCheck(entry, skipped=run)
    xs = [_float64(a) for a in inputs]
    out, p_now = run(xs)
    if out.dtype.kind != "f":
        return EntryCheck(entry, skipped=f"its output is {out.dtype}")
    slots = [
        k
        for k, parent in enumerate(entry.parents)
        if parent is not None and isinstance(xs[k], (np.ndarray, float)) and np.asarray(xs[k]).dtype.kind == "f"
    ]
    parents = tuple(
        None if parent is None else _Parent(parent, np.shape(xs[k])) for k, parent in enumerate(entry.parents)
    )
    g = rng.standard_normal(out.shape)
    stand_in = _Rerun(entry, parents, tuple(xs), out, p_now)
    try:
        with no_grad():
            grads = entry.vjp(g, stand_in)
    except Exception as e:  # listed with the reason (backward itself would have raised it too)
        return EntryCheck(entry, skipped=f"its VJP raised {type(e).__name__}: {e}")
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    check = EntryCheck(entry)
    for k in slots:
        x = np.array(xs[k], dtype=np.float64)
        a = _dense(grads[k] if k < len(grads) else None, x.shape)
        a = np.zeros(x.shape) if a is None else a

        def phi(value, k=k):
            trial = list(xs)
            trial[k] = value if isinstance(xs[k], np.ndarray) else float(value)
            y, _ = run(trial)
            return float(np.vdot(g, np.asarray(y, dtype=np.float64)))

        flat = x.reshape(-1)
        chosen = np.arange(flat.size) if flat.size <= elements else rng.choice(flat.size, elements, replace=False)
        numeric = np.empty(chosen.size)
        for j, i in enumerate(chosen):
            bump = np.zeros(flat.size)
            bump[i] = eps
            step = bump.reshape(x.shape)
            numeric[j] = (phi(x + step) - phi(x - step)) / (2 * eps)
        picked = a.reshape(-1)[chosen]
        diff = np.abs(picked - numeric)
        error = _relative(picked, numeric)
        result = InputCheck(k, error)
        if diff.size:
            worst = int(np.argmax(diff))
            element = tuple(int(v) for v in np.unravel_index(int(chosen[worst]), x.shape))
            result = InputCheck(k, error, element, float(picked[worst]), float(numeric[worst]))
        for _ in range(directions):
            v = rng.standard_normal(x.shape)
            along = (phi(x + eps * v) - phi(x - eps * v)) / (2 * eps)
            exact = float(np.vdot(a, v))
            error_along = _relative(np.array([exact]), np.array([along]))
            if not error_along <= result.error:
                result = InputCheck(k, error_along, None, exact, along)
        check.inputs.append(result)
    return check


def _relative(a: np.ndarray, n: np.ndarray) -> float:
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
        return math.inf
    e = float(np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n) + 1e-8))
    return max(e, FLOOR)


def _plain_inputs(tape: Tape):
    """Inputs of each entry of a plain tape, computed again from the tape's start: an entry's kept
    inputs, its parents' outputs (run again here), leaves' current values."""
    values: dict[int, np.ndarray] = {}

    def inputs_of(entry):
        if entry.freed:
            return "backward freed what it saved (record with tl.Tape(inputs=True), or backward(retain_graph=True))"
        found = []
        for k, parent in enumerate(entry.parents):
            kept = entry.ins[k] if entry.ins is not None and k < len(entry.ins) else None
            if kept is not None:
                found.append(kept)
            elif parent is not None and id(parent) in values:
                found.append(values[id(parent)])
            elif parent is not None and parent.op == "leaf" and parent.tensor() is not None:
                found.append(parent.tensor().data)
            elif parent is not None and isinstance(getattr(parent, "out", None), np.ndarray):
                found.append(parent.out)
            else:
                return f"input {k} was not kept (record with tl.Tape(inputs=True))"
        return found

    return values, inputs_of


def check_vjps(
    tape: Tape, eps: float = 1e-6, elements: int = 64, directions: int = 2, seed: int = 0, wrong: float = WRONG
) -> VJPCheck:
    """Check every VJP on ``tape`` against central differences of its entry's forward, in float64, at
    the inputs it was used with. Returns a :class:`VJPCheck` (``.errors`` per entry, ``.failures()``,
    ``.worst``, ``print(check)``, ``check.picture()``)."""
    rng = np.random.default_rng(seed)
    captured = tape.inputs if getattr(tape, "inputs", None) is not None else None
    values, inputs_of = _plain_inputs(tape)
    checks = []
    for entry in tape.entries:
        if entry.op == "leaf" or entry.vjp is None:
            continue
        if captured is not None and entry in captured:
            p, inputs = captured[entry]
        else:
            inputs = inputs_of(entry)
            p = entry.p
            if isinstance(inputs, str):
                checks.append(EntryCheck(entry, skipped=inputs))
                continue
        check = _check_entry(entry, p, inputs, rng, eps, elements, directions)
        checks.append(check)
        if captured is None and check.skipped is None:
            run = _forward(entry, p)
            values[id(entry)] = run([_float64(a) for a in inputs])[0]
    return VJPCheck(tape, checks, wrong)
