"""Backward trace: what the sweep did, VJP by VJP, for people studying it (and for the renderer).

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.Tensor(np.ones(3), requires_grad=True)
>>> y = (x.tanh() * 2).sum()
>>> with tl.trace_backward() as trace:
...     y.backward()
>>> [r.op for r in trace]
['sum', 'mul', 'tanh', 'leaf']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tape import Entry, Leaf, state
from .memory import SweepMemory
from .recording import Tape, preformatted_html
from .recording import ref as entry_ref


@dataclass(frozen=True)
class SavedArray:
    role: str  # "in0", "in1", ..., "out", or "param"
    shape: tuple[int, ...]
    dtype: str
    nbytes: int


@dataclass(frozen=True)
class VJPRecord:
    """One step of the sweep: the entry, the gradient it received, what it sent to each input."""

    order: int  # position in the sweep, from 0
    entry: Entry | Leaf  # the tape entry
    grad_norm: float  # ||dL/d(output of this entry)||, after hooks
    sent: tuple[tuple[Entry | Leaf, float], ...]  # (parent entry, norm of the gradient sent to it)
    saved: tuple[SavedArray, ...]  # the arrays this VJP read
    value_mean: float | None = None  # mean of a named entry's output, when its VJP keeps it (gates)
    grad: np.ndarray | None = None  # a float64 copy of the gradient, kept by trace_backward(arrays=n) when small
    held: int | None = None  # bytes of saved arrays the tape held while this VJP ran (trace_backward(memory=tape))

    @property
    def op(self) -> str:
        return self.entry.op

    @property
    def index(self) -> int:
        return self.entry.index


def _dense(g) -> np.ndarray:
    """The gradient as a float64 array (a float32 one's tiny norms would underflow when squared)."""
    if type(g) is not np.ndarray:
        g = getattr(g, "data", g)
        if hasattr(g, "dense"):  # an IndexedGrad: zero outside its index
            g = g.dense(np.float64)
    return np.asarray(g, dtype=np.float64)


def _norm_of(dense: np.ndarray) -> float:
    flat = dense.ravel()
    return math.sqrt(float(np.dot(flat, flat)))  # np.linalg.norm's own formula, without its checks


def _norm(g) -> float:
    return _norm_of(_dense(g))


def saved_arrays(entry) -> tuple[SavedArray, ...]:
    """The arrays an entry keeps for its VJP, with their roles and sizes."""
    return tuple(SavedArray(role, a.shape, a.dtype.name, a.nbytes) for role, a in entry.saved())


class BackwardTrace:
    """Records of every VJP run by the backward passes made inside ``with tl.trace_backward()``."""

    def __init__(self, arrays: int = 0, memory: Tape | None = None) -> None:
        self.records: list[VJPRecord] = []
        self.arrays = arrays  # keep a copy of each gradient of at most this many elements
        # with a tape: the bytes its entries' saved arrays hold at each VJP, as the sweep frees them
        self.memory = SweepMemory(memory) if memory is not None else None

    def record(self, entry, g, grads) -> None:
        """Called by the sweep after each VJP (one of its observers): what it received, sent and read."""
        saved = saved_arrays(entry)
        sent = tuple((p, _norm(gp)) for p, gp in zip(entry.parents, grads or ()) if p is not None and gp is not None)
        out = getattr(entry, "out", None)  # kept by sigmoid/tanh: a forget gate's mean costs nothing more
        mean = float(np.mean(out, dtype=np.float64)) if entry.name and isinstance(out, np.ndarray) else None
        dense = _dense(g)
        kept = np.array(dense) if dense.size <= self.arrays else None  # a copy: the sweep adds into buffers
        norm = _norm_of(dense)
        held = None
        if self.memory is not None:
            self.memory.observe(entry, g, grads)
            held = self.memory.held[-1]
        self.records.append(VJPRecord(len(self.records), entry, norm, sent, saved, mean, kept, held))

    def __enter__(self) -> BackwardTrace:
        state.observers.append(self.record)
        return self

    def __exit__(self, *exc) -> None:
        state.observers.remove(self.record)

    def __iter__(self):
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def grad_norms(self) -> dict[int, float]:
        """Tape index -> ||dL/d(that entry's output)|| (summed over passes if the entry ran twice)."""
        norms: dict[int, float] = {}
        for r in self.records:
            norms[r.index] = float(np.hypot(norms.get(r.index, 0.0), r.grad_norm))
        return norms

    def value_means(self) -> dict[int, float]:
        """Tape index -> mean of the output of a named entry whose VJP kept it (e.g. each gate ``f``)."""
        return {r.index: r.value_mean for r in self.records if r.value_mean is not None}

    def edge_norms(self) -> dict[tuple[int, int], float]:
        """(parent index, child index) -> norm of the gradient the child sent to that parent."""
        norms: dict[tuple[int, int], float] = {}
        for r in self.records:
            for parent, n in r.sent:
                key = (parent.index, r.index)
                norms[key] = float(np.hypot(norms.get(key, 0.0), n))
        return norms

    def listing(self, tape=None) -> str:
        """One line per VJP in sweep order: the entry, ||grad in||, the norms sent, the arrays read.

        Entries are called as every listing calls them (``%k``, see ``tl.tape.number``); with
        ``tape``, inputs recorded outside it are called as its listing calls them (``$0``, names).
        """
        refs = tape.refs() if tape is not None else {}

        def ref(e) -> str:
            return refs.get(id(e)) or (e.name if e.op == "leaf" and e.name else entry_ref(e))

        lines = []
        for r in self.records:
            name = ref(r.entry)
            sent = ", ".join(f"{ref(p)}:{n:.2e}" for p, n in r.sent) or "-> .grad"
            reads = " ".join(f"{s.role}{list(s.shape)}" for s in r.saved)
            scope = getattr(r.entry, "scope", None)
            where = scope.path if scope is not None else ""
            nbytes = sum(s.nbytes for s in r.saved)
            lines.append(
                f"#{r.order:<4} {name:>12} {r.op:<10} |g|={r.grad_norm:.2e}  sent {sent}"
                f"  reads {reads or '-'} ({nbytes} B)  {where}".rstrip()
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.listing()

    def __repr__(self) -> str:
        return f"<BackwardTrace of {len(self.records)} VJPs>"

    def _repr_html_(self) -> str:
        """A notebook shows the listing (what ``print(trace)`` prints), its first lines when it is long."""
        return preformatted_html(self.listing(), repr(self), "print(trace)")


def trace_backward(arrays: int = 0, memory: Tape | None = None) -> BackwardTrace:
    """Context manager: every backward pass inside it records a :class:`BackwardTrace`.

    ``arrays=n`` also keeps a float64 copy of every gradient of at most ``n`` elements (``record.grad``),
    for the explorer's heat maps; by default only norms are kept. ``memory=tape`` also reads, at every
    VJP, the bytes of saved arrays the tape's entries still hold (``trace.memory``, a
    :class:`~tinygrad_lstm.instruments.memory.SweepMemory`; ``record.held``): the explorer's memory strip.
    """
    if memory is not None and not isinstance(memory, Tape):
        raise TypeError(
            f"trace_backward: memory= takes the tl.Tape the forward pass was recorded on, got {type(memory).__name__}"
        )
    return BackwardTrace(arrays, memory)
