"""How much memory backpropagation through time holds: saved arrays per scope and per time step."""

from __future__ import annotations

from dataclasses import dataclass

from ..tape import time_step
from .recording import Tape, preformatted_html


@dataclass(frozen=True)
class StepMemory:
    layer: str  # scope name, e.g. "lstm.l0"
    t: int | None  # time step, None for entries outside any step
    entries: int
    nbytes: int  # bytes of the arrays the step's VJPs read (or read: see freed)
    freed: int = 0  # entries whose arrays backward has freed since the tape saw them (still in nbytes)
    unseen: int = 0  # entries whose arrays were freed before the tape saw them (not in nbytes)


def memory_by_step(tape: Tape) -> list[StepMemory]:
    """Saved bytes per (layer, step), in tape order; entries outside steps are grouped per scope.

    Arrays shared by two entries are counted once (an LSTM's gate output is read by two VJPs). After
    ``backward()`` has freed them, the bytes are those the tape saw when its ``with`` block ended (or
    when it was made, for ``Tape.of``): what the steps held between forward and backward.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> rnn = tl.nn.RNN(2, 4)
    >>> with tl.Tape() as tape:
    ...     out, h = rnn(tl.zeros(3, 1, 2, dtype=np.float32))
    >>> [(m.layer, m.t) for m in memory_by_step(tape)][:3]
    [('(no scope)', None), ('rnn.l0.x_proj', 0), ('rnn.l0', 0)]
    """
    groups: dict[tuple[str, int | None], list] = {}
    for e in tape.entries:
        step = time_step(e.scope)
        if step is not None:
            layer, t = step
        else:
            layer, t = (e.scope.path if e.scope is not None else "(no scope)"), None
        groups.setdefault((layer, t), []).append(e)
    seen: set[int] = set()
    result = []
    held = getattr(tape, "held", {})
    for (layer, t), entries in groups.items():
        nbytes = freed = unseen = 0
        for e in entries:
            gone = e.freed and e.recompute is None
            if e in held:  # as the tape saw it (all these arrays were alive together: ids are unique)
                arrays = held[e]
                freed += gone
            else:
                arrays = [(id(a), a.nbytes) for _, a in e.saved()]
                unseen += gone
            for key, size in arrays:
                if key not in seen:
                    seen.add(key)
                    nbytes += size
        result.append(StepMemory(layer, t, len(entries), nbytes, freed, unseen))
    return result


class MemoryTable(str):
    """The text of :func:`memory_table` (``print`` it), with its rows; a notebook shows it as a table."""

    rows: list[StepMemory]

    def __repr__(self) -> str:  # the table itself, not a quoted string, as a cell's last value
        return str(self)

    def _repr_html_(self) -> str:
        return preformatted_html(str(self), "memory held for backward, by time step", "print(table)")


def memory_table(tape: Tape) -> MemoryTable:
    """:func:`memory_by_step` as a printable table with a running total; a note at the end says when
    backward has freed the arrays since (the bytes are then those held before), or freed them before the
    tape could see them (then they are not counted).
    """
    rows = memory_by_step(tape)
    lines = [f"{'scope':<22} {'step':>5} {'entries':>8} {'saved bytes':>12} {'running total':>14}"]
    total = 0
    for m in rows:
        total += m.nbytes
        step = "" if m.t is None else str(m.t)
        lines.append(f"{m.layer:<22} {step:>5} {m.entries:>8} {m.nbytes:>12,} {total:>14,}")
    freed, unseen = sum(m.freed for m in rows), sum(m.unseen for m in rows)
    if freed:
        lines.append(
            f"(backward() has since freed the arrays of {freed:,} entries: the bytes are what they held between "
            "forward and backward, as the tape saw them when its block ended)"
        )
    if unseen:
        lines.append(
            f"(the arrays of {unseen:,} entries were freed by backward() before the tape saw them, so they count "
            "0 bytes here: end the `with tl.Tape()` block before backward, or call backward(retain_graph=True))"
        )
    table = MemoryTable("\n".join(lines))
    table.rows = rows
    return table


class SweepMemory:
    """The bytes of saved arrays a tape's entries still hold, read at every VJP of a backward pass.

    Made by ``tl.trace_backward(memory=tape)``. ``before`` is what the entries held when the sweep began
    (what :func:`memory_table` totals); ``held[k]`` is what they held while the k-th VJP ran: the
    VJPs before it have freed theirs, and when it sits in a ``tl.checkpoint`` segment the segment has
    been run again and holds its arrays back. Distinct arrays count once, as in :func:`memory_table`;
    only ids and sizes are kept, never the arrays (which would keep them alive).

    The engine changes what an entry holds at two moments only: after its own VJP (``free``) and when a
    checkpointed segment is run again (``refill``). So at each VJP this re-reads the entry before it
    and, on entering a segment, that segment's entries, rather than the whole tape.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.tensor(np.ones(4), requires_grad=True)
    >>> with tl.Tape() as tape:
    ...     loss = (x.tanh() * x).sum()
    >>> with tl.trace_backward(memory=tape) as trace:
    ...     loss.backward()
    >>> trace.memory.before, trace.memory.held   # mul keeps tanh(x) and x, tanh keeps its output
    (64, [64, 64, 32, 0])
    """

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self.before: int | None = None  # bytes held when the sweep began
        self.held: list[int] = []  # bytes held while each VJP ran, in sweep order
        self.segment: list[int] = []  # per VJP: the checkpoint segment it ran in (into segments), or -1
        self.segments: list[list] = []  # per segment met: its tape entries, in tape order
        self.refills: list[int] = []  # the VJPs (sweep order) at which a segment was run again
        self._on_tape = {id(e) for e in tape.entries}
        self._count: dict[int, list[int]] = {}  # id(array) -> [entries holding it, nbytes]
        self._holds: dict[int, list[tuple[int, int]]] = {}  # id(entry) -> [(id(array), nbytes)] it holds
        self._bytes = 0
        self._last = None  # the entry of the VJP before: freed since, unless retain_graph
        self._seen: dict[int, int] = {}  # id(a Recompute) -> its segment number

    def _set(self, entry, arrays: list[tuple[int, int]]) -> None:
        """``entry`` holds ``arrays`` now: count what it dropped and what it gained."""
        for key, size in self._holds.pop(id(entry), []):
            slot = self._count[key]
            slot[0] -= 1
            if not slot[0]:
                del self._count[key]
                self._bytes -= size
        for key, size in arrays:
            slot = self._count.setdefault(key, [0, size])
            if not slot[0]:
                self._bytes += size
            slot[0] += 1
        self._holds[id(entry)] = arrays

    @staticmethod
    def _read(entry, saved: list | None = None) -> list[tuple[int, int]]:
        """(id, nbytes) of each distinct array ``entry`` saves (or of ``saved``)."""
        return list({id(a): (id(a), a.nbytes) for _, a in (entry.saved() if saved is None else saved)}.values())

    def _keep_arguments(self, recompute) -> None:
        """A checkpoint segment keeps the arguments it runs again on for as long as its entries live,
        also while its first entry, run again, reports its own arrays instead (``Entry.saved``)."""
        if recompute is not None and id(recompute) not in self._holds:
            self._set(recompute, self._read(None, recompute.arguments))

    def observe(self, entry, g, grads) -> None:
        """Called by the sweep after each VJP, before it frees that VJP's arrays."""
        recompute = getattr(entry, "recompute", None)  # (a leaf has none)
        if self.before is None:  # the first VJP: the tape as the sweep found it
            # (a segment the loss's own VJP made run again counts as it was: its kept arguments)
            refilled = {} if recompute is None else {id(e): recompute.kept(e) for e in recompute.entries}
            for e in self.tape.entries:
                self._set(e, self._read(e, refilled.get(id(e))))
                self._keep_arguments(getattr(e, "recompute", None))
            self.before = self._bytes
        if self._last is not None and id(self._last) in self._on_tape:
            self._set(self._last, self._read(self._last))
        number = -1
        if recompute is not None:
            number = self._seen.get(id(recompute), -1)
            if number < 0:  # entering a segment: it has just run again and holds its arrays back
                number = self._seen[id(recompute)] = len(self.segments)
                self.segments.append([e for e in recompute.entries if id(e) in self._on_tape])
                self.refills.append(len(self.held))
                for e in self.segments[-1]:
                    self._set(e, self._read(e))
                self._keep_arguments(recompute)  # (a segment nested in it is new: made by this run)
        self._last = entry
        self.held.append(self._bytes)
        self.segment.append(number)
