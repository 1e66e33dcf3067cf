"""In-place updates: ``x += y``, ``x[i] = v``, ``add_``, ``zero_``... write into the tensor's own array.

The rules are PyTorch's:

- **plain** under ``no_grad``, or when neither the tensor nor what is written into it requires grad:
  the array is written in place, so views and detached copies of it see the change
  (``with tl.no_grad(): p -= lr * p.grad`` is an SGD step);
- **recorded** when the update is part of a graph (the tensor is a result that requires grad, or the
  value written into it requires grad): the new value is computed as one more tape entry, written
  into the array, and the tensor now stands for that entry;
- **refused** on a leaf that requires grad outside ``no_grad``: its ``.grad`` would no longer be the
  gradient of anything.

Every write stamps the array (``versions.py``), so an entry that saved the old values refuses
backward instead of mixing old and new ones.

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.Tensor(np.ones(3), requires_grad=True)
>>> (w * w).sum().backward()
>>> with tl.no_grad():
...     w -= 0.25 * w.grad
>>> w.data, w.is_leaf
(array([0.5, 0.5, 0.5]), True)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import ops
from .tape import CompileError, Recording, state
from .tensor import Tensor
from .versions import _root, changed_in_place, recorded_write


def _describe(t: Tensor) -> str:
    name = f"{t.name}, " if t.name else ""
    return f"{name}shape {t.shape}, dtype {t.dtype}"


def update(target: Tensor, op: str, others: tuple, compute: Callable[[], Tensor], write: Callable) -> Tensor:
    """Give ``target`` its new value: ``write(array)`` changes the array in place when nothing is
    recorded; ``compute()`` makes the new value as tape entries when the update is part of a graph."""
    if state.grad_enabled and target._node is not None and target.is_leaf:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad ({_describe(target)}) is being used in an in-place "
            "operation. Update parameters inside `with tl.no_grad():` (as optimizers do), or write "
            "`x = x + ...` to make a new tensor"
        )
    data = target.data
    if not data.flags.writeable:
        raise ValueError(f"{op}: the tensor's array ({_describe(target)}) is read-only")
    recording = state.grad_enabled and (
        target._node is not None or any(isinstance(o, Tensor) and o._node is not None for o in others)
    )
    if not recording:
        if state.compiling:
            raise CompileError(f"compile: {op} writes an array in place, and a replay would not repeat it")
        try:
            write(data)
        except (ValueError, TypeError) as e:
            kind = ValueError if isinstance(e, ValueError) else TypeError
            raise kind(f"{op}: cannot update a tensor of {_describe(target)} in place: {e}") from e
        changed_in_place(data)
        return target

    with Recording() as recorded:
        result = compute()
    if result.shape != target.shape:
        raise ValueError(f"{op}: the result has shape {result.shape}; a tensor of shape {target.shape} cannot hold it")
    if not np.can_cast(result.dtype, target.dtype, "same_kind"):
        raise TypeError(f"{op}: a {result.dtype} result cannot be written into a tensor of dtype {target.dtype}")
    if result.dtype != target.dtype:
        result = ops.astype(result, target.dtype)
    # entries that saved the values about to be overwritten keep a copy of what they saved
    root = _root(data)
    for entry in recorded.entries:
        if entry.ins is not None:
            entry.ins = tuple(_copy_if_in(a, root) for a in entry.ins)
    np.copyto(data, result.data)
    recorded_write(data, result._node)  # views of this memory, and its base, are stale from now on
    target._node = result._node
    return target


def _copy_if_in(a, root: np.ndarray):
    """``a``, or a copy of it when it shows the memory of the array ``root``."""
    return a.copy() if isinstance(a, np.ndarray) and _root(a) is root else a


# ---- the updates, as Tensor methods call them -------------------------------------------------------------
def _ufunc(fn, other) -> Callable:
    value = other.data if isinstance(other, Tensor) else other
    return lambda data: fn(data, value, out=data, casting="same_kind")


def add_(x: Tensor, other, alpha=1) -> Tensor:
    other = other if alpha == 1 else other * alpha
    return update(x, "add_", (other,), lambda: ops.add(x, other), _ufunc(np.add, other))


def sub_(x: Tensor, other, alpha=1) -> Tensor:
    other = other if alpha == 1 else other * alpha
    return update(x, "sub_", (other,), lambda: ops.sub(x, other), _ufunc(np.subtract, other))


def mul_(x: Tensor, other) -> Tensor:
    return update(x, "mul_", (other,), lambda: ops.mul(x, other), _ufunc(np.multiply, other))


def div_(x: Tensor, other) -> Tensor:
    return update(x, "div_", (other,), lambda: ops.div(x, other), _ufunc(np.true_divide, other))


def clamp_(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    lo, hi = ops._data(min), ops._data(max)

    def write(data):
        np.clip(data, lo, hi, out=data)

    return update(x, "clamp_", (), lambda: ops.clip(x, lo, hi), write)


def copy_(x: Tensor, src) -> Tensor:
    def write(data):
        np.copyto(data, ops._data(src), casting="same_kind")

    # where(True, src, x): the result is src's values, and x's old value gets a zero gradient
    return update(x, "copy_", (src,), lambda: ops.where(np.ones(x.shape, bool), src, x), write)


def fill_(x: Tensor, value) -> Tensor:
    def write(data):
        data[...] = ops._data(value)

    return update(x, "fill_", (value,), lambda: ops.where(np.ones(x.shape, bool), value, x), write)


def setitem(x: Tensor, index, value) -> None:
    plain_index, _ = ops._plain_index(index)

    def write(data):
        data[plain_index] = ops._data(value)

    update(x, "setitem", (value,), lambda: ops.index_put(x, index, value), write)
