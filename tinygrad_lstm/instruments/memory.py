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
