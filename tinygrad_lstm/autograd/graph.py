"""``tl.autograd.graph``: hooks on the arrays a graph saves for backward (``torch.autograd.graph``).

Inside ``with saved_tensors_hooks(pack, unpack):`` every op recorded hands each array its VJP will
read (an input it keeps, its output) to ``pack`` as a Tensor, and keeps only what ``pack`` returns;
backward calls ``unpack`` on it when the VJP runs and reads the Tensor it returns. PyTorch's tutorial
uses them to save to disk, to count, or to see what a graph keeps. The innermost hooks apply. Not
packed: what a ``tl.Function`` saves on its ``ctx`` (PyTorch packs those too).

>>> import numpy as np, tinygrad_lstm as tl
>>> seen = []
>>> a = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
>>> with tl.autograd.graph.saved_tensors_hooks(lambda t: seen.append(t.shape) or t, lambda t: t):
...     y = (a * a).sum()
>>> y.backward(); seen, a.grad.tolist()
([(2,), (2,)], [2.0, 4.0])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tape import state
from ..tensor import Tensor
from ..versions import _root

__all__ = ["save_on_cpu", "saved_tensors_hooks"]


class _Unpack:
    """An entry's packed arrays, unpacked when the sweep reaches it (the way the engine refills the
    entries of a checkpointed segment: the entry stays freed until then)."""

    def __init__(self, entry, ins: tuple | None, out: Any, unpack: Callable) -> None:
        self.entries = [entry]
        self.arguments: list = []  # (what a checkpointed segment keeps to run again: nothing here)
        self.ins, self.out, self.unpack = ins, out, unpack

    def kept(self, entry) -> list:
        return []

    def _array(self, packed: Any, like: tuple) -> np.ndarray:
        entry = self.entries[0]
        got = self.unpack(packed)
        if not isinstance(got, Tensor) or got.shape != like[0] or got.dtype != like[1]:
            shown = f"a {got.dtype} Tensor of shape {got.shape}" if isinstance(got, Tensor) else type(got).__name__
            raise RuntimeError(
                f"backward: the unpack hook of {entry.op} (entry %{entry.index}) returned {shown} for a saved "
                f"{like[1]} tensor of shape {like[0]}; it must return a Tensor of that shape and dtype"
            )
        return got.data

    def refill(self) -> None:
        entry = self.entries[0]
        if self.ins is not None:
            entry.ins = tuple(self._array(v, like) if like else v for v, like in self.ins)
        if self.out is not None:
            entry.out = self._array(*self.out)
        entry.freed, entry.recompute = False, None  # once: freed after its VJP, as any entry


class saved_tensors_hooks:  # noqa: N801 - PyTorch's name
    """``with saved_tensors_hooks(pack_hook, unpack_hook):`` ``pack_hook(tensor) -> anything`` for each
    array an op recorded here saves, ``unpack_hook(that) -> tensor`` when backward reads it."""

    def __init__(self, pack_hook: Callable[[Tensor], Any], unpack_hook: Callable[[Any], Tensor]) -> None:
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self) -> saved_tensors_hooks:
        state.instruments.append(self._pack)
        return self

    def __exit__(self, *exc: object) -> None:
        state.instruments.remove(self._pack)

    def _innermost(self) -> bool:
        for instrument in reversed(state.instruments):  # (per thread, as the engine's state)
            if isinstance(getattr(instrument, "__self__", None), saved_tensors_hooks):
                return instrument.__self__ is self
        return False

    def _pack(self, entry, args, out) -> None:
        if entry.recompute is not None or entry.freed or not self._innermost():
            return

        # memory an in-place update is about to overwrite (h.clamp_() saves h's values, then writes the
        # result into them): what is packed of it is a copy, as the update copies what entries keep
        targets = [tape.writes_into for tape in state.tapes if getattr(tape, "writes_into", None) is not None]

        def packed(a: Any) -> tuple:
            if not isinstance(a, np.ndarray):
                return a, None
            if any(_root(a) is target for target in targets):
                a = a.copy()
            return self.pack_hook(Tensor._from(a)), (a.shape, a.dtype)

        ins = None if entry.ins is None else tuple(packed(a) for a in entry.ins)
        kept_out = None if entry.out is None else packed(entry.out)
        entry.ins, entry.out, entry.freed = None, None, True
        entry.recompute = _Unpack(entry, ins, kept_out, self.unpack_hook)


class save_on_cpu(saved_tensors_hooks):  # noqa: N801 - PyTorch's name
    """PyTorch's hooks that move saved tensors to the CPU: every array is there already, so each is
    kept as a copy (as PyTorch's copy to host memory)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        super().__init__(lambda t: Tensor(t.data.copy()), lambda t: t)
