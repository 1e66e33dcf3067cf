"""How much memory backpropagation through time holds: saved arrays per scope and per time step."""

from __future__ import annotations

from dataclasses import dataclass

from ..tape import time_step
from .recording import Tape


@dataclass(frozen=True)
class StepMemory:
    layer: str  # scope name, e.g. "lstm.l0"
    t: int | None  # time step, None for entries outside any step
    entries: int
    nbytes: int  # bytes of the arrays the step's VJPs will read


def memory_by_step(tape: Tape) -> list[StepMemory]:
    """Saved bytes per (layer, step), in tape order; entries outside steps are grouped per scope.

    Arrays shared by two entries are counted once (an LSTM's gate output is read by two VJPs).

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
    for (layer, t), entries in groups.items():
        nbytes = 0
        for e in entries:
            for _, a in e.saved():
                if id(a) not in seen:
                    seen.add(id(a))
                    nbytes += a.nbytes
        result.append(StepMemory(layer, t, len(entries), nbytes))
    return result


def memory_table(tape: Tape) -> str:
    """:func:`memory_by_step` as a printable table with a running total."""
    rows = memory_by_step(tape)
    lines = [f"{'scope':<22} {'step':>5} {'entries':>8} {'saved bytes':>12} {'running total':>14}"]
    total = 0
    for m in rows:
        total += m.nbytes
        step = "" if m.t is None else str(m.t)
        lines.append(f"{m.layer:<22} {step:>5} {m.entries:>8} {m.nbytes:>12,} {total:>14,}")
    return "\n".join(lines)
