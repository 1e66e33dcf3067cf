"""The tape: its entries, scopes, ``no_grad``, and the hook points instruments plug into.

Every differentiable operation appends one :class:`Entry` to the tape. An entry knows the op's name,
its parents (the entries that produced its inputs), the arrays its VJP will read, and a sequence
index drawn from one global counter. Because a parent is always recorded before its child, sorting
by that index *is* a topological order: the backward sweep needs no recursion (see ``backward.py``).

Leaves that require grad get a :class:`Leaf` entry, the place where their gradient accumulates.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

_sequence = itertools.count()


class _State(threading.local):
    """What is being recorded, and how: one per thread, as PyTorch's grad mode is (a thread inside
    ``no_grad`` or a ``Tape`` does not change what another thread records). A new thread starts
    with grad enabled, no scope, no tapes and no instruments."""

    def __init__(self) -> None:
        self.grad_enabled = True
        self.grad_stack: list[bool] = []  # the modes that open no_grad/enable_grad blocks replaced
        self.scope: Scope | None = None
        self.tapes: list[Recording] = []  # the recordings open now (tl.Tape's and the engine's own)
        # the hook points instruments plug into (tl.Tape, trace_backward, detect_anomaly, probes, and
        # whatever records steps to replay them)
        self.instruments: list[Callable] = []  # fn(entry, input arrays, out), called for each new entry
        self.observers: list[Callable] = []  # fn(entry, gradient in, gradients out), after each VJP
        self.namers: list[Callable] = []  # fn(tensor, name), called when a tensor is given a name
        # fn(entry or None, op, fwd, p, inputs, input arrays, out), called for every op ``apply`` runs,
        # with or without a tape entry (a detached value, a mask, a result under no_grad)
        self.watchers: list[Callable] = []
        # fn([(array, entry), ...]), called when a recorded in-place update has written each ``entry``'s
        # values into its ``array``'s memory (the written tensor's, and each base's written through)
        self.writes: list[Callable] = []
        # fn(event, what), called where the engine does what a recorded step could not repeat: "value"
        # (a recorded value becomes a Python value, or Python code runs), "write" (an array written in
        # place unrecorded), "backward" (a backward pass starts), "draw" (random numbers are drawn),
        # "hook" (a module's hook would run: Python a replay skips); a guard refuses by raising
        self.guards: list[Callable[[str, str], None]] = []
        self.origin: int | None = None  # the sequence index the outermost open Tape numbers from


state = _State()
# Each attribute read of a threading.local looks the thread up first (about as much work as a small
# function call); code that runs once per recorded op reads ``state.__dict__``, this thread's values,
# once and indexes it.


_PLAIN = (type(None), bool, int, float, str, slice, type(Ellipsis), np.dtype, np.integer, np.floating, np.bool_)
# the exact types of most parameters (shapes, axes, flags): decided without isinstance's walk of _PLAIN
_PLAIN_TYPES = frozenset({type(None), bool, int, float, str, slice, type(Ellipsis)})


def _plain(x: Any) -> bool:
    """Whether ``x`` holds only shapes, axes and flags (no array, no context a VJP would read data from)."""
    if type(x) in _PLAIN_TYPES:
        return True
    if isinstance(x, (tuple, list)):
        for v in x:  # (a loop, not all() over a generator: every entry's free() asks this)
            if type(v) not in _PLAIN_TYPES and not _plain(v):
                return False
        return True
    return isinstance(x, _PLAIN)


class Structure(tuple):
    """Op parameters that are only structure (ints, slices, shapes: no arrays): ``free()`` keeps them,
    so an entry's label (``x_proj[0]``, ``sigmoid([:, 3:6])``) is the same before and after backward."""

    __slots__ = ()


class Entry:
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
        "kept_nothing",
        "source",
        "fwd",
        "replay",
        "origin",
        "recompute",
        "__weakref__",
    )

    index: int
    op: str
    parents: Sequence[Entry | Leaf | None]  # None for an input that needs no gradient
    vjp: Callable | None
    ins: Any  # a tuple of the input arrays the VJP reads (None where not kept); None once freed
    out: Any  # the output array when the VJP reads it; None once freed
    p: Any
    shape: tuple[int, ...]
    dtype: np.dtype
    scope: Scope | None
    name: str | None
    hooks: list[Callable] | None
    retain: weakref.ref | None
    freed: bool
    kept_nothing: bool  # freed, but nothing was saved: a later backward may run the VJP again
    source: str | None
    fwd: Callable | None
    replay: Any
    origin: int | None
    recompute: Any

    def __init__(
        self,
        op: str,
        parents: Sequence[Entry | Leaf | None],
        vjp: Callable | None,
        ins: tuple | None,
        out: Any,
        p: Any,
        shape: tuple[int, ...],
        dtype: np.dtype,
        fwd: Callable | None = None,
    ) -> None:
        here = state.__dict__  # this thread's values: one lookup of the thread, not one per attribute read
        self.index = next(_sequence)
        self.origin = here["origin"]
        self.op = op
        self.parents = parents
        self.vjp = vjp
        self.ins = ins
        self.out = out
        self.p = p
        self.shape = shape
        self.dtype = dtype
        self.scope = here["scope"]
        self.name = None
        self.hooks = None
        self.retain = None
        self.freed = False
        self.kept_nothing = False
        self.recompute = None  # set by tl.checkpoint: how to get the freed arrays back in backward
        self.source = None  # "file:line in function: code", recorded only by Tape(sources=True) or detect_anomaly
        self.fwd = fwd  # fwd(p, *input arrays) -> output: how to recompute this entry (a replay runs it)
        # on one call's result of a replayed step: the program whose entries lie below (check_current(entry, where),
        # unobserved(entry), backward(seed): its own precomputed order); None otherwise
        self.replay = None

    def free(self) -> None:
        """Drop what the VJP would read; the structure stays for listing and rendering. An entry that
        saved nothing (add, sum, reshape: shapes and axes only; a product with a Python number, as in
        mean) keeps those, so that a second backward can run its VJP again, as PyTorch's does without
        retain_graph (a number is a constant of the program, never a tensor's data changed since)."""
        # (the saved inputs first: most entries keep an array, and that settles it before the parameters;
        # a Structure holds only plain values by construction)
        nothing = self.out is None
        if nothing and self.ins is not None:
            for a in self.ins:  # (a loop, not all() over a generator: every entry runs this)
                if a is not None and not isinstance(a, _PLAIN):
                    nothing = False
                    break
        self.kept_nothing = nothing = nothing and (type(self.p) is Structure or _plain(self.p))
        if nothing:
            self.freed = True
            return
        self.ins = None
        self.out = None
        if type(self.p) is not Structure:  # parameters that hold no data stay: pictures print them
            self.p = None
        self.freed = True

    @property
    def next_functions(self) -> tuple[tuple[Entry | Leaf | None, int], ...]:
        """PyTorch's spelling of :attr:`parents`: ``(entry, 0)`` per input (None for one that needs no
        gradient; a leaf's entry stands where PyTorch shows its AccumulateGrad), to walk the graph."""
        return tuple((parent, 0) for parent in self.parents)

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

    def _saved_tensor(self, array: Any, k: int | None = None) -> Any:
        from .tensor import Tensor  # (the tape sits below tensors)

        if not isinstance(array, np.ndarray):
            return None
        leaf = self.parents[k] if k is not None else None
        own = leaf.tensor() if isinstance(leaf, Leaf) else None
        return own if own is not None and own.data is array else Tensor._from(array)  # a leaf: itself, as PyTorch

    def _saved_input(self, k: int) -> Any:
        return self._saved_tensor(self.ins[k] if self.ins is not None and len(self.ins) > k else None, k)

    @property
    def _saved_self(self) -> Any:
        """PyTorch's ``grad_fn._saved_self``: the first input as saved for the VJP (None if it was not)."""
        return self._saved_input(0)

    @property
    def _saved_other(self) -> Any:
        """PyTorch's ``grad_fn._saved_other``: the second input as saved for the VJP (None if it was not)."""
        return self._saved_input(1)

    @property
    def _saved_result(self) -> Any:
        """PyTorch's ``grad_fn._saved_result``: the output as saved for the VJP (None if it was not)."""
        return self._saved_tensor(self.out)

    @property
    def saved_nbytes(self) -> int:
        """Bytes of the arrays this entry keeps for its VJP."""
        return sum(a.nbytes for _, a in self.saved())

    def __repr__(self) -> str:
        return f"<Entry {self.index} {self.op} {self.shape}>"


def wants_grad(entry: Entry | Leaf) -> bool:
    """Whether ``entry`` depends on a leaf that requires grad: False for a value a recorded step computes
    from its inputs alone (recorded, so that a replay recomputes it, but as in eager it needs no gradient)."""
    stack: list = [entry]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        if isinstance(e, Leaf):
            if not e.stands_in:
                return True
        elif id(e) not in seen:
            seen.add(id(e))
            stack.extend(p for p in e.parents if p is not None)
    return False


def guard(event: str, what: str) -> None:
    """Tell the guards (``state.guards``) that ``what`` happens; one may refuse it by raising."""
    for check in state.guards:
        check(event, what)


def where_made(entry) -> str:
    """The lines that made ``entry`` (``made by ...``, ``called from ...``) as the end of an error
    message, when a recording kept them (``tl.detect_anomaly()``, ``tl.Tape(sources=True)``)."""
    source = getattr(entry, "source", None)
    if not source:
        return ""
    caller = getattr(source, "caller", None)
    return f"\n  made by {source}" + (f"\n  called from {caller}" if caller else "")


class Leaf:
    """Tape entry of a leaf tensor that requires grad: where its gradient accumulates."""

    __slots__ = ("index", "origin", "tensor", "shape", "dtype", "name", "hooks", "post_hooks", "scope", "__weakref__")
    # what every leaf shares, as class attributes: an Entry's fields that a leaf has no use for
    op: str = "leaf"
    # a recorded step's input: recorded so that a replay recomputes what reads it, no gradient wanted
    stands_in: bool = False
    vjp: Callable | None = None
    parents: Sequence[Entry | Leaf | None] = ()
    freed: bool = False
    retain: weakref.ref | None = None
    source: str | None = None
    replay: Any = None
    index: int
    origin: int | None
    tensor: Callable[[], Any]  # a weakref.ref to the leaf's Tensor (None once the tensor is gone)
    shape: tuple[int, ...]
    dtype: np.dtype
    name: str | None
    hooks: list[Callable] | None
    post_hooks: list[Callable] | None  # fn(tensor) after a backward added into its .grad
    scope: Scope | None

    next_functions: tuple = ()  # a leaf is where the graph ends (PyTorch's AccumulateGrad has none either)

    def saved(self) -> list:
        return []

    def __init__(self, tensor: Any) -> None:
        self.index = next(_sequence)
        self.origin = state.origin
        self.tensor = weakref.ref(tensor)
        self.shape = tensor.data.shape
        self.dtype = tensor.data.dtype
        self.name = None
        self.hooks = None
        self.post_hooks = None
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

    def __exit__(self, *exc: object) -> None:
        active = state.scope  # blocks nest within a thread: the innermost open scope is the one closing
        assert active is not None, "a scope's block exits inside the block it opened"
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
        """As a decorator: ``fn`` runs in this mode, and so does each stretch of a generator ``fn`` runs
        between its yields (the caller's mode is back while the caller runs), as PyTorch's decorators."""
        enabled = self.enabled
        if inspect.isgeneratorfunction(fn):

            def wrapper(*args, **kwargs):
                gen = fn(*args, **kwargs)
                sent, thrown = None, None
                while True:
                    try:
                        with _GradMode(enabled):
                            request = gen.send(sent) if thrown is None else gen.throw(thrown)
                    except StopIteration as stop:
                        return stop.value
                    thrown = None
                    try:
                        sent = yield request
                    except GeneratorExit:
                        with _GradMode(enabled):
                            gen.close()
                        raise
                    except BaseException as e:  # thrown in by the caller: into fn, in fn's mode
                        thrown = e

        else:

            def wrapper(*args, **kwargs):
                with _GradMode(enabled):
                    return fn(*args, **kwargs)

        return functools.wraps(fn)(wrapper)


def no_grad(fn: Callable | None = None):
    """Context manager (or decorator, with or without parentheses) inside which nothing is recorded
    in this thread."""
    return _GradMode(False) if fn is None else _GradMode(False)(fn)


def enable_grad(fn: Callable | None = None):
    """Context manager (or decorator) that turns recording back on inside ``no_grad``."""
    return _GradMode(True) if fn is None else _GradMode(True)(fn)


def is_grad_enabled() -> bool:
    """Whether operations are recorded now on this thread (False inside ``tl.no_grad()``)."""
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

    def __call__(self, fn: Callable) -> Callable:
        """``@tl.set_grad_enabled(False)`` over a function: the call that made this object switched the
        mode at once; as a decorator it only applies to ``fn``, so the mode before it comes back."""
        state.grad_enabled = self.previous
        return _GradMode(self.enabled)(fn)


def inference_mode(mode: bool | Callable = True):
    """PyTorch's faster ``no_grad``; here the same as :func:`no_grad` (``mode=False`` records)."""
    if callable(mode):
        return no_grad(mode)
    return _GradMode(not mode)


class Recording:
    """The entries made while it is open, in order: the hook point behind ``tl.Tape``, used directly
    where the engine itself must know what a block recorded (an in-place update, a checkpoint).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.ones(3), requires_grad=True)
    >>> with Recording() as recorded:
    ...     y = (x * 2).sum()
    >>> [e.op for e in recorded.entries]
    ['mul', 'sum']
    """

    def __init__(self, entries: Iterable = (), writes_into: Any = None) -> None:
        self.entries: list = list(entries)
        # the memory an in-place update will write the block's result into (its root array), or None:
        # what an entry saves of that memory must be kept as a copy (the update copies entry.ins itself)
        self.writes_into = writes_into

    def __enter__(self) -> Recording:
        state.tapes.append(self)
        return self

    def __exit__(self, *exc) -> None:
        state.tapes.remove(self)
