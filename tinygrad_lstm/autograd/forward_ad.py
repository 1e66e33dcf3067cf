"""``tl.autograd.forward_ad``: PyTorch's dual tensors (``torch.autograd.forward_ad``), on the tape.

Inside ``with dual_level():``, ``make_dual(x, v)`` gives a tensor that carries the tangent ``v``;
whatever is computed from it carries ``J v``, which ``unpack_dual(y).tangent`` reads. PyTorch carries
the tangent forward op by op; here ``make_dual`` only marks the tensor, the ops record on the tape as
always, and ``unpack_dual`` computes ``J v`` from the tape by the double-VJP trick (README, Function
transforms): the VJP ``u -> u^T J`` is linear in a dummy ``u``, so its own VJP along ``v`` is ``J v``.
Every op with a second derivative has forward mode this way, a ``tl.Function`` too (PyTorch needs its
``jvp``). One difference shows: a dual tensor requires grad here (it is recorded), where PyTorch's
does not.

>>> import numpy as np, tinygrad_lstm as tl
>>> import tinygrad_lstm.autograd.forward_ad as fwAD
>>> x, v = tl.tensor(np.array([1.0, 2.0])), tl.tensor(np.array([1.0, 0.5]))
>>> with fwAD.dual_level():
...     y = fwAD.make_dual(x, v) ** 3
...     fwAD.unpack_dual(y).tangent.tolist()
[3.0, 6.0]
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..backward import grad
from ..tape import Leaf, enable_grad
from ..tensor import Tensor

__all__ = ["UnpackedDualTensor", "dual_level", "enter_dual_level", "exit_dual_level", "make_dual", "unpack_dual"]

_levels: list[dict] = []  # the level entered (at most one, as PyTorch's): dual's entry -> (dual, tangent)


class UnpackedDualTensor(NamedTuple):
    primal: Any
    tangent: Tensor | None


def enter_dual_level() -> int:
    """Start a level in which dual tensors can be made; returns its number (0)."""
    if _levels:
        raise RuntimeError("forward_ad: nested forward mode AD is not supported (as in PyTorch): exit the level first")
    _levels.append({})
    return 0


def exit_dual_level(*, level: int | None = None) -> None:
    """End the level: its dual tensors keep their values and lose their tangents."""
    if not _levels:
        raise RuntimeError("forward_ad: exit_dual_level() without a level entered")
    _levels.pop()


class dual_level:
    """``with dual_level():`` the scope in which ``make_dual`` and ``unpack_dual`` work."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, *exc: object) -> None:
        exit_dual_level()


def make_dual(tensor: Tensor, tangent: Tensor, *, level: int | None = None) -> Tensor:
    """A tensor with ``tensor``'s values that carries ``tangent`` forward (its memory is ``tensor``'s)."""
    if not _levels:
        raise RuntimeError(
            "make_dual: no dual level: make dual tensors inside `with tl.autograd.forward_ad.dual_level():`"
        )
    if not isinstance(tensor, Tensor) or not isinstance(tangent, Tensor):
        raise TypeError(f"make_dual: takes Tensors, got {type(tensor).__name__} and {type(tangent).__name__}")
    if tangent.shape != tensor.shape:
        raise ValueError(f"make_dual: the tangent's shape {tangent.shape} differs from the tensor's {tensor.shape}")
    if tensor.dtype.kind != "f" or tangent.dtype.kind != "f":
        raise TypeError(f"make_dual: needs floating tensors, got {tensor.dtype} and a {tangent.dtype} tangent")
    if tensor.requires_grad:  # reverse mode goes on through the dual to the tensor
        with enable_grad():
            dual = tensor * 1
    else:
        dual = Tensor(tensor.data, requires_grad=True)
    _levels[-1][dual._entry] = (dual, Tensor(tangent.data.astype(tensor.dtype, copy=False)))
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: ``tensor``'s values, and ``J v`` along the tangents of the dual tensors it
    was computed from (None when it was computed from none, or outside a level)."""
    if not _levels or not isinstance(tensor, Tensor) or tensor._entry is None:
        return UnpackedDualTensor(tensor, None)
    duals = _levels[-1]
    found, reverse = [], False  # the duals it depends on; whether a leaf that is no dual requires grad
    seen: set[int] = set()
    stack: list = [tensor._entry]
    while stack:
        entry = stack.pop()
        if entry is None or id(entry) in seen:
            continue
        seen.add(id(entry))
        if entry in duals:
            found.append(duals[entry])
            if isinstance(entry, Leaf):
                continue
        elif isinstance(entry, Leaf) and not entry.stands_in:
            reverse = True
        stack.extend(entry.parents)
    primal = tensor if reverse else tensor.detach()
    if not found:
        return UnpackedDualTensor(primal, None)
    u = Tensor(np.zeros(tensor.shape, tensor.dtype), requires_grad=True)  # any value: the VJP is linear in u
    with enable_grad():
        pulled = grad(tensor, [d for d, _ in found], u, retain_graph=True, create_graph=True, allow_unused=True)
    kept = [(g, v) for g, (_, v) in zip(pulled, found) if g is not None and g.requires_grad]
    tangent = None
    if kept:
        (tangent,) = grad([g for g, _ in kept], [u], [v for _, v in kept], retain_graph=True, allow_unused=True)
    if tangent is None:  # computed from duals through ops of derivative zero: PyTorch's zeros
        tangent = Tensor(np.zeros(tensor.shape, tensor.dtype))
    return UnpackedDualTensor(primal, Tensor(tangent.data))
