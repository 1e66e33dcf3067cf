"""``tl.Tape``: an explicit recording of the entries a block makes, and their listings.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.Tensor(np.ones(3), requires_grad=True)
>>> with tl.Tape(sources=True) as tape:
...     y = (x * 2).tanh().sum()
>>> print(tape.listing().splitlines()[0].split("  ")[0])
%0 = mul($0, const)

``Tape(sources=True)`` also keeps the line of the user's code that made each entry (an instrument:
normal runs pay nothing).
"""

from __future__ import annotations

import html
import linecache
import os
import sys
from collections.abc import Iterable
from types import FrameType

import numpy as np

from ..tape import Recording, _sequence, number, state


class Tape(Recording):
    """An explicit recording: every entry made inside ``with Tape() as tape:``, in execution order.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.ones(3), requires_grad=True)
    >>> with tl.Tape() as tape:
    ...     y = (x * 2).tanh().sum()
    >>> [e.op for e in tape]
    ['mul', 'tanh', 'sum']
    """

    def __init__(self, entries: Iterable = (), sources: bool = False, values: int = 0, inputs: bool = False) -> None:
        super().__init__(entries)
        self.sources = sources
        # inputs=True: each entry's parameters and a copy of its input arrays, so tl.check_vjps can run
        # its forward and VJP again after backward has freed what it saved
        self.inputs: dict | None = {} if inputs else None
        # values=n: each entry's output norm, and a copy of outputs of at most n elements (for the explorer)
        self.values = values
        self.kept: dict = {}  # entry -> (||output||, float64 copy or None)
        # entry -> [(id(array), nbytes)] of what it saved for its VJP, taken when the recording closes
        # (backward frees the arrays; tl.memory_table reads these then)
        self.held: dict = {}
        self._hold()

    def __enter__(self) -> Tape:
        if not state.tapes:  # the outermost tape numbers its entries from 0
            state.origin = next(_sequence) + 1
        super().__enter__()
        if self.sources:
            state.instruments.append(record_source)
        if self.values:
            state.instruments.append(self._keep_value)
        if self.inputs is not None:
            state.instruments.append(self._keep_inputs)
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__()
        self._hold()
        if not state.tapes:
            state.origin = None
        if self.sources:
            state.instruments.remove(record_source)
        if self.values:
            state.instruments.remove(self._keep_value)
        if self.inputs is not None:
            state.instruments.remove(self._keep_inputs)

    def _hold(self) -> None:
        """Note what each entry keeps for backward now, before backward frees it (ids are unique: all
        these arrays are alive together)."""
        for e in self.entries:
            if e not in self.held and not (e.freed and e.recompute is None):
                self.held[e] = [(id(a), a.nbytes) for _, a in e.saved()]

    def _keep_value(self, entry, args, out) -> None:
        """Instrument: the output's norm, and a copy when it is small (an op may later write it in place)."""
        small = out.astype(np.float64) if out.size <= self.values else None  # astype copies
        self.kept[entry] = (float(np.linalg.norm(out.ravel())), small)

    def _keep_inputs(self, entry, args, out) -> None:
        """Instrument: the entry's parameters and copies of its inputs (a later in-place write or optimizer
        step changes neither)."""
        assert self.inputs is not None  # registered only when inputs=True
        self.inputs[entry] = (entry.p, tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args))

    @classmethod
    def of(cls, *tensors) -> Tape:
        """The graph behind ``tensors`` (their entries and every ancestor) in tape order."""
        seen: set[int] = set()
        stack = [t._entry for t in tensors if t._entry is not None]
        found = []
        while stack:
            entry = stack.pop()
            if id(entry) in seen:
                continue
            seen.add(id(entry))
            found.append(entry)
            stack.extend(p for p in entry.parents if p is not None)
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
        tape = Tape(kept)
        tape.held.update((e, self.held[e]) for e in kept if e in self.held)
        return tape

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

    def _repr_html_(self) -> str:
        """A notebook shows the listing (what ``print(tape)`` prints), its first lines when it is long."""
        return preformatted_html(self.listing(), f"<Tape of {len(self.entries)} entries>", "print(tape)")


NOTEBOOK_LINES = 400  # a listing shown in a notebook is cut after this many lines, with a note


def preformatted_html(text: str, title: str, whole: str, limit: int = NOTEBOOK_LINES) -> str:
    """``text`` as a notebook shows it: a title, then the text escaped in ``<pre>``, cut after ``limit``
    lines with a note saying how many were left out and what prints them all (``whole``)."""
    lines = text.splitlines()
    shown = "\n".join(lines[:limit])
    note = ""
    if len(lines) > limit:
        note = f"<p>... {len(lines) - limit:,} more lines: <code>{html.escape(whole)}</code> prints them all</p>"
    return f"<p><code>{html.escape(title)}</code></p><pre>{html.escape(shown)}</pre>{note}"


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


# A file whose lines say how an op is computed, not what the program computes (the engine's, the
# instruments', the functional losses'), declares so with this name: a source line points past its
# frames, to the code that called it (a cell's equation in nn/cells.py, or the user's own line).
_SOURCE_LINES_POINT_PAST = True


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Source(str):
    """``file:line in function: code`` (what listings print), and ``caller``: the line of the user's
    own code that led there when the line itself is inside this package (a cell's equation in
    nn/cells.py is called by ``out = lstm(x)``), else None."""

    caller: str | None = None


def _line(frame) -> str:
    code = frame.f_code
    text = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{os.path.basename(code.co_filename)}:{frame.f_lineno} in {code.co_name}: {text}"


def user_source(skip: int = 2) -> Source | None:
    """``file:line in function: code`` of the first caller outside the files that declare
    ``_SOURCE_LINES_POINT_PAST``, with the first line outside the package as its ``caller``."""
    frame: FrameType | None = sys._getframe(skip)
    while frame is not None and frame.f_globals.get("_SOURCE_LINES_POINT_PAST"):
        frame = frame.f_back
    if frame is None:
        return None
    source = Source(_line(frame))
    outer: FrameType | None = frame
    while outer is not None and os.path.abspath(outer.f_code.co_filename).startswith(_PACKAGE):
        outer = outer.f_back
    if outer is not None and outer is not frame:
        source.caller = _line(outer)
    return source


def record_source(entry, args, out) -> None:
    """Instrument: remember which line of the user's code made ``entry``."""
    if entry.source is None:
        entry.source = user_source()
