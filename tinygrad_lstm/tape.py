"""The recording: tape entries, scopes, ``no_grad`` and explicit tapes.

Every differentiable operation appends one :class:`Node` (a tape entry). A node knows the op's name,
its parents (the entries that produced its inputs), the arrays its VJP will read, and a sequence
index drawn from one global counter. Because a parent is always recorded before its child, sorting
by that index *is* a topological order: the backward sweep needs no recursion (see ``backward.py``).

Leaves that require grad get a :class:`Leaf` entry, the place where their gradient accumulates.
"""

from __future__ import annotations

import itertools
import linecache
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

_sequence = itertools.count()


class CompileError(RuntimeError):
    """``tl.compile`` cannot replay the step faithfully; the message says why."""


def refuse_while_compiling(what: str) -> None:
    """Called where a step would turn a recorded value into something a replay cannot follow."""
    if state.compiling:
        raise CompileError(
            f"compile: {what} while tl.compile records a step; a replay would reuse the first call's "
            "value (as JAX's tracer refuses a Python branch on a traced value). Compute it outside the "
            "step, use tl.where for a data-dependent choice, or run the step without tl.compile"
        )


class _State(threading.local):
    """What is being recorded, and how: one per thread, as PyTorch's grad mode is (a thread inside
    ``no_grad`` or a ``Tape`` does not change what another thread records). A new thread starts
    with grad enabled, no scope, no tapes and no instruments."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.grad_stack: list[bool] = []  # the modes that open no_grad/enable_grad blocks replaced
        self.scope: Scope | None = None
        self.tapes: list[Tape] = []
        # the hook points instruments plug into (tl.Tape, trace_backward, detect_anomaly, probes, compile)
        self.instruments: list[Callable] = []  # fn(entry, input arrays, out), called for each new entry
        self.observers: list[Callable] = []  # fn(entry, gradient in, gradients out), after each VJP
        self.namers: list[Callable] = []  # fn(tensor, name), called when a tensor is given a name
        self.compiling = 0  # > 0 while tl.compile records a step
        self.origin: int | None = None  # the sequence index the outermost open Tape numbers from


state = _State()


class Structure(tuple):
    """Op parameters that are only structure (ints, slices, shapes: no arrays): ``free()`` keeps them,
    so an entry's label (``x_proj[0]``, ``sigmoid([:, 3:6])``) is the same before and after backward."""

    __slots__ = ()


class Node:
    """One tape entry: the op that made a tensor, and what its VJP needs.

    ``ins``/``out`` hold the input and output arrays the VJP reads (None when it needs none);
    ``p`` holds the op's non-tensor parameters (axes, shapes, indices).
    """

    __slots__ = (
        "index",
        "op",
        "parents",
        "vjp",
        "ins",
        "out",
        "p",
        "shape",
        "dtype",
        "scope",
        "name",
        "hooks",
        "retain",
        "freed",
        "source",
        "fwd",
        "program",
        "origin",
        "recompute",
        "__weakref__",
    )

    def __init__(self, op, parents, vjp, ins, out, p, shape, dtype, fwd=None) -> None:
        self.index = next(_sequence)
        self.origin = state.origin
        self.op = op
        self.parents = parents
        self.vjp = vjp
        self.ins = ins
        self.out = out
        self.p = p
        self.shape = shape
        self.dtype = dtype
        self.scope = state.scope
        self.name = None
        self.hooks = None
        self.retain = None
        self.freed = False
        self.recompute = None  # set by tl.checkpoint: how to get the freed arrays back in backward
        self.source = None  # "file:line in function: code", recorded only by Tape(sources=True) or detect_anomaly
        self.fwd = fwd  # fwd(p, *input arrays) -> output: how to recompute this entry (tl.compile replays it)
        self.program = None  # the tl.compile Program whose result this entry is, if any

    def free(self) -> None:
        """Drop what the VJP would read; the structure stays for listing and rendering."""
        self.ins = None
        self.out = None
        if type(self.p) is not Structure:  # parameters that hold no data stay: pictures print them
            self.p = None
        self.freed = True

    def saved(self) -> list[tuple[str, np.ndarray]]:
        """The arrays this entry keeps for its VJP, with their roles: in0, in1, ..., out, param (and, for
        the first entry of a checkpointed segment waiting to be recomputed, the arguments it keeps)."""
        if self.freed and self.recompute is not None:
            return self.recompute.kept(self)
        found = [(f"in{k}", a) for k, a in enumerate(self.ins or ()) if isinstance(a, np.ndarray)]
        if isinstance(self.out, np.ndarray):
            found.append(("out", self.out))
        params = self.p if isinstance(self.p, tuple) else (self.p,)
        found.extend(("param", a) for a in params if isinstance(a, np.ndarray))
        return found

    @property
    def saved_nbytes(self) -> int:
        """Bytes of the arrays this entry keeps for its VJP."""
        return sum(a.nbytes for _, a in self.saved())

    def __repr__(self) -> str:
        return f"<Node {self.index} {self.op} {self.shape}>"


class Leaf:
    """Tape entry of a leaf tensor that requires grad: where its gradient accumulates."""

    __slots__ = ("index", "origin", "tensor", "shape", "dtype", "name", "hooks", "scope", "__weakref__")
    op = "leaf"
    vjp = None
    parents = ()
    freed = False
    retain = None
    source = None
    program = None

    def saved(self) -> list:
        return []

    def __init__(self, tensor) -> None:
        self.index = next(_sequence)
        self.origin = state.origin
        self.tensor = weakref.ref(tensor)
        self.shape = tensor.data.shape
        self.dtype = tensor.data.dtype
        self.name = None
        self.hooks = None
        self.scope = state.scope

    def __repr__(self) -> str:
        return f"<Leaf {self.index} {self.name or ''} {self.shape}>"


class Scope:
    """A labelled region of the tape, e.g. one time step of one layer.

    >>> import tinygrad_lstm as tl
    >>> with tl.scope("lstm.l0", t=3):
    ...     pass
    """

    __slots__ = ("name", "attrs", "parent", "_open")

    def __init__(self, name: str, **attrs: Any) -> None:
        self.name = name
        self.attrs = attrs
        self.parent: Scope | None = None
        self._open = False

    def __enter__(self) -> Scope:
        # a scope object entered again while open (nested, or from another thread) enters a copy:
        # it cannot be its own parent
        active = Scope(self.name, **self.attrs) if self._open else self
        active._open = True
        active.parent = state.scope
        state.scope = active
        return active

    def __exit__(self, *exc) -> None:
        active = state.scope  # blocks nest within a thread: the innermost open scope is the one closing
        active._open = False
        state.scope = active.parent

    @property
    def label(self) -> str:
        """This scope alone, e.g. ``lstm.l0[t=3]``."""
        if not self.attrs:
            return self.name
        inner = ",".join(f"{k}={v}" for k, v in self.attrs.items())
        return f"{self.name}[{inner}]"

    @property
    def path(self) -> str:
        """This scope and its enclosing ones, outermost first, joined by '/'."""
        parts = []
        s: Scope | None = self
        while s is not None:
            parts.append(s.label)
            s = s.parent
        return "/".join(reversed(parts))

    def __repr__(self) -> str:
        return f"<Scope {self.path}>"


def number(entry) -> int:
    """The one number an entry goes by in every listing, trace and picture: its position from the
    start of the outermost ``Tape`` open when it was recorded (so the same program lists the same
    way every run), or its global sequence index when no tape was open."""
    return entry.index - entry.origin if entry.origin is not None else entry.index


def time_step(s: Scope | None) -> tuple[str, Any] | None:
    """(layer name, t) of the innermost scope around ``s`` that marks a time step, or None."""
    while s is not None:
        if "t" in s.attrs:
            return s.name, s.attrs["t"]
        s = s.parent
    return None


def scope(name: str, **attrs: Any) -> Scope:
    """Label every entry recorded inside the ``with`` block (layers mark time steps this way)."""
    return Scope(name, **attrs)


class _GradMode:
    __slots__ = ("enabled",)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __enter__(self) -> None:
        state.grad_stack.append(state.grad_enabled)  # per thread, so a reused object restores correctly
        state.grad_enabled = self.enabled

    def __exit__(self, *exc) -> None:
        state.grad_enabled = state.grad_stack.pop()

    def __call__(self, fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = getattr(fn, "__doc__", None)
        return wrapper


def no_grad(fn: Callable | None = None):
    """Context manager (or decorator, with or without parentheses) inside which nothing is recorded
    in this thread."""
    return _GradMode(False) if fn is None else _GradMode(False)(fn)


def enable_grad(fn: Callable | None = None):
    """Context manager (or decorator) that turns recording back on inside ``no_grad``."""
    return _GradMode(True) if fn is None else _GradMode(True)(fn)


def is_grad_enabled() -> bool:
    return state.grad_enabled


class set_grad_enabled(_GradMode):  # noqa: N801 - PyTorch's name
    """Turn recording on or off: as a call (``tl.set_grad_enabled(False)``, until turned back on in
    this thread) or as a context manager (restored on exit)."""

    __slots__ = ("previous",)

    def __init__(self, mode: bool) -> None:
        super().__init__(bool(mode))
        self.previous = state.grad_enabled
        state.grad_enabled = self.enabled

    def __enter__(self) -> None:
        state.grad_stack.append(self.previous)  # exiting restores what was on before the call

    def __exit__(self, *exc) -> None:
        state.grad_enabled = state.grad_stack.pop()


def inference_mode(mode: bool | Callable = True):
    """PyTorch's faster ``no_grad``; here the same as :func:`no_grad` (``mode=False`` records)."""
    if callable(mode):
        return no_grad(mode)
    return _GradMode(not mode)


class Tape:
    """An explicit recording: every entry made inside ``with Tape() as tape:``, in execution order.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.ones(3), requires_grad=True)
    >>> with tl.Tape() as tape:
    ...     y = (x * 2).tanh().sum()
    >>> [e.op for e in tape]
    ['mul', 'tanh', 'sum']
    """

    def __init__(self, entries: Iterable = (), sources: bool = False, values: int = 0) -> None:
        self.entries: list = list(entries)
        self.sources = sources
        # values=n: each entry's output norm, and a copy of outputs of at most n elements (for the explorer)
        self.values = values
        self.kept: dict = {}  # entry -> (||output||, float64 copy or None)

    def __enter__(self) -> Tape:
        if not state.tapes:  # the outermost tape numbers its entries from 0
            state.origin = next(_sequence) + 1
        state.tapes.append(self)
        if self.sources:
            state.instruments.append(record_source)
        if self.values:
            state.instruments.append(self._keep_value)
        return self

    def __exit__(self, *exc) -> None:
        state.tapes.remove(self)
        if not state.tapes:
            state.origin = None
        if self.sources:
            state.instruments.remove(record_source)
        if self.values:
            state.instruments.remove(self._keep_value)

    def _keep_value(self, node, args, out) -> None:
        """Instrument: the output's norm, and a copy when it is small (an op may later write it in place)."""
        small = out.astype(np.float64) if out.size <= self.values else None  # astype copies
        self.kept[node] = (float(np.linalg.norm(out.ravel())), small)

    @classmethod
    def of(cls, *tensors) -> Tape:
        """The graph behind ``tensors`` (their entries and every ancestor) in tape order."""
        seen: set[int] = set()
        stack = [t._node for t in tensors if t._node is not None]
        found = []
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            found.append(node)
            stack.extend(p for p in node.parents if p is not None)
        found.sort(key=lambda n: n.index)
        return cls(found)

    def __iter__(self):
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i):
        return self.entries[i]

    def filter(self, scope: str | None = None, op: str | None = None) -> Tape:
        """Entries whose scope path contains ``scope`` and whose op is ``op``."""
        kept = [
            e
            for e in self.entries
            if (op is None or e.op == op) and (scope is None or (e.scope is not None and scope in e.scope.path))
        ]
        return Tape(kept)

    def refs(self) -> dict[int, str]:
        """How this tape names each entry and each outside input, keyed by ``id(entry)``.

        Entries are ``%k`` with k from :func:`number` (counted from the recording tape's start, so
        listings of the same program are identical from run to run, and a filtered tape, a trace and
        a picture call each entry by the same number); named entries read ``name(%k)``; leaves
        (inputs that require grad) are called by their names (``weight_hh_l0``) or ``$0, $1, ...``.
        """
        names: dict[int, str] = {}
        for e in self.entries:
            names[id(e)] = ref(e)
        outside = 0
        for e in self.entries:
            for p in e.parents:
                if p is None or id(p) in names:
                    continue
                if p.op != "leaf":  # a result recorded before this (filtered) tape keeps its number
                    names[id(p)] = ref(p)
                else:
                    names[id(p)] = p.name if p.name is not None else f"${outside}"
                    outside += p.name is None
        return names

    def listing(self) -> str:
        """The Wengert list: one line per entry, ``%k = op(inputs)  shape  dtype  scope  [source]``."""
        if not self.entries:
            return "(empty tape)"
        names = self.refs()
        rows = [entry_columns(e, names) for e in self.entries]
        w = [max(len(r[k]) for r in rows) for k in range(5)]
        lines = (
            f"{a:>{w[0]}} = {b:<{w[1]}}  {c:<{w[2]}}  {d:<{w[3]}}  {e:<{w[4]}}  {e2.source or ''}"
            for (a, b, c, d, e), e2 in zip(rows, self.entries)
        )
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.listing()

    def __repr__(self) -> str:
        return f"<Tape of {len(self.entries)} entries>"


def ref(entry) -> str:
    """``%k``, or ``name(%k)`` for a named entry, with k from :func:`number`."""
    return f"%{number(entry)}" if entry.name is None else f"{entry.name}(%{number(entry)})"


def shape_text(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def entry_columns(e, names: dict[int, str]) -> tuple[str, str, str, str, str]:
    """An entry as listing columns: name, op(inputs), shape, dtype, scope path."""
    args = ", ".join("const" if p is None else names[id(p)] for p in e.parents)
    rhs = "leaf" if e.op == "leaf" else f"{e.op}({args})"
    where = e.scope.path if e.scope is not None else ""
    return names[id(e)], rhs, shape_text(e.shape), str(e.dtype), where


_HERE = os.path.dirname(os.path.abspath(__file__))
# the engine's own files: a source line points past them, to the code that called an op (a cell's
# equation in nn/cells.py, or the user's own line)
_ENGINE_FILES = {os.path.join(_HERE, f) for f in ("tape.py", "tensor.py", "ops.py", "functional.py", "anomaly.py")}


def user_source(skip: int = 2) -> str | None:
    """``file:line in function: code`` of the first caller outside the engine's files."""
    frame = sys._getframe(skip)
    while frame is not None and os.path.abspath(frame.f_code.co_filename) in _ENGINE_FILES:
        frame = frame.f_back
    if frame is None:
        return None
    code = frame.f_code
    text = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}: {text}"


def record_source(node, args, out) -> None:
    """Instrument: remember which line of the user's code made ``node``."""
    if node.source is None:
        node.source = user_source()
