"""``tl.checkpoint``: trade compute for memory, as ``torch.utils.checkpoint.checkpoint``.

``checkpoint(fn, *args)`` runs ``fn`` as usual, so its entries stay on the tape (listings and
pictures show them), and then frees the arrays they saved for their VJPs. When the backward sweep
reaches one of them, it runs ``fn`` again on the same arguments, with the same random draws, and
hands each entry its arrays back. The sweep then goes on as if nothing had been freed: same entries,
same order, same sums, so the gradients are the same bit for bit (PyTorch's non-reentrant
checkpoint works this way). Checkpointing an LSTM every k steps keeps T/k states plus one segment's
arrays instead of T steps' arrays: with k = sqrt(T), memory grows like sqrt(T) (Chen et al. 2016;
Gruslys et al. 2016), for about one extra forward pass.

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.tensor(np.array([0.5, -0.3]), requires_grad=True).named("w")
>>> x = tl.tensor(np.array([1.0, 2.0]))
>>> with tl.Tape() as tape:
...     loss = tl.checkpoint(lambda x: (x * w).tanh() * w, x).sum()
>>> [e.saved_nbytes for e in tape.entries]  # mul, tanh, mul keep only the argument x; sum keeps nothing
[16, 0, 0, 0]
>>> loss.backward()
>>> w.grad.shape
(2,)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import random
from .tape import Recording, guard, number, state
from .tape import enable_grad as _enable_grad
from .tensor import Tensor
from .versions import changed_after


class Recompute:
    """How a checkpointed segment gets its freed arrays back: run the function again on the same
    arguments and random state, and move each new entry's saved arrays into the old entry."""

    def __init__(
        self, fn: Callable, args: tuple, entries: list, rng_state: Mapping[str, Any], watched: list, kept: list
    ) -> None:
        self.fn, self.args, self.entries, self.rng_state = fn, args, entries, rng_state
        self.watched = watched  # (what, array): everything read from outside, which must not change before backward
        self.arguments = kept  # (role, array): the arguments that own their memory (a slice of the input does not)
        self.index = entries[-1].index  # the tape clock when the segment ran

    def kept(self, entry) -> list[tuple[str, object]]:
        """What the segment keeps until backward, counted once, at its first entry."""
        return self.arguments if entry is self.entries[0] else []

    def refill(self) -> None:
        for what, array in self.watched:
            if changed_after(array, self.index):
                raise RuntimeError(
                    f"backward: checkpoint (%{number(self.entries[0])}...%{number(self.entries[-1])}) would run its "
                    f"function again, but {what} was changed in place since it ran (an optimizer step, an in-place "
                    "op...), so the recomputed arrays would differ. Compute the loss again after the change"
                )
        segment, outer = Recording(), state.tapes  # a private recording, not entered: it numbers nothing
        generator = random.generator()
        now = generator.bit_generator.state
        generator.bit_generator.state = self.rng_state  # the same dropout masks as the first run
        state.tapes = [segment]
        try:
            with _enable_grad():
                self.fn(*self.args)
        finally:
            state.tapes = outer
            generator.bit_generator.state = now
        fresh = segment.entries
        if len(fresh) != len(self.entries) or any(
            a.op != b.op or a.shape != b.shape for a, b in zip(fresh, self.entries)
        ):
            raise RuntimeError(
                "backward: a checkpointed function did something different when run again (a branch on values, "
                "or a random draw not from tl's generator): checkpoint needs the same ops every run"
            )
        old_of = {id(new): old for old, new in zip(self.entries, fresh)}
        nested: dict[int, Recompute] = {}
        for old, new in zip(self.entries, fresh):
            if old.freed:  # (an entry whose VJP already ran keeps nothing)
                old.ins, old.out, old.p, old.freed = new.ins, new.out, new.p, new.freed
                if new.freed:  # a checkpoint inside this one freed it again: it is recomputed when reached
                    old.recompute = nested.setdefault(id(new.recompute), new.recompute)
        for inner in nested.values():  # which refills the entries the sweep holds, not this run's copies
            inner.entries = [old_of[id(e)] for e in inner.entries]


def checkpoint(fn: Callable, *args: Any, use_reentrant: bool | None = None) -> Any:
    """``fn(*args)``, its saved arrays freed now and recomputed when backward needs them.
    ``use_reentrant`` is taken, as PyTorch code passes it, and changes nothing: either way this is
    PyTorch's non-reentrant checkpoint (``tl.grad`` and a second order work through it).

    Backward refuses to recompute (naming the value) if anything the segment read from outside, its
    arguments, the parameters or values it captured, was changed in place in between.
    """
    guard("value", "tl.checkpoint runs its function again in backward, which a replay cannot")
    if not state.grad_enabled:
        return fn(*args)
    rng_state = random.generator().bit_generator.state
    segment, reads = Recording(), []  # what the segment records, and what each of its entries read

    def watch(entry, arrays, out) -> None:
        reads.append((entry, arrays))

    state.tapes.append(segment)
    state.instruments.append(watch)
    try:
        result = fn(*args)
    finally:
        state.tapes.remove(segment)
        state.instruments.remove(watch)
    entries = segment.entries
    if not entries:
        return result
    inside = {id(e) for e in entries}
    arguments = [(f"argument {k}", a.data) for k, a in enumerate(args) if isinstance(a, Tensor)]
    watched = list(arguments)
    seen = {id(a) for _, a in watched}
    for entry, arrays in reads:  # every array the segment read from outside must be the same in backward
        for parent, array in zip(entry.parents, arrays):
            if (parent is None or id(parent) not in inside) and isinstance(array, np.ndarray) and id(array) not in seen:
                seen.add(id(array))
                if parent is None:
                    what = "a constant"
                elif parent.op == "leaf" and parent.name:
                    what = parent.name
                else:
                    what = f"%{number(parent)} ({parent.name or parent.op})"
                watched.append((what, array))
    own = [(what, a) for what, a in arguments if a.base is None]
    recompute = Recompute(fn, args, entries, rng_state, watched, own)
    for e in entries:
        e.free()
        e.recompute = recompute
    return result
