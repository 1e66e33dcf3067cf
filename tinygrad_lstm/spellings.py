"""PyTorch's function spellings of Tensor methods: ``tl.sum(x, dim=0)``, ``tl.matmul(a, b)``,
``tl.max(x, dim=1)``... Each calls the method of the same name, so it means what the method means
(NumPy's ``axis=`` or PyTorch's ``dim=``) and records the same ops.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.tensor(np.arange(6.0).reshape(2, 3))
>>> tl.sum(x, dim=0).tolist(), tl.max(x, dim=1).indices.tolist(), tl.transpose(x, 0, 1).shape
([3.0, 5.0, 7.0], [2, 2], (3, 2))
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from . import ops
from .tensor import MinMax, Operand, ShapeArgs, Tensor


def _tensor(x: Operand) -> Tensor:
    return ops.as_tensor(x)


def matmul(input: Operand, other: Operand) -> Tensor:  # noqa: A002 - PyTorch's argument names
    """input @ other."""
    return ops.matmul(input, other)


def mm(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """The product of two matrices."""
    return _tensor(input).mm(other)


def bmm(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """Batched products of two 3-D tensors."""
    return _tensor(input).bmm(other)


def sum(input: Operand, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A001, A002
    """``input.sum(...)``."""
    return _tensor(input).sum(*args, **kwargs)


def mean(input: Operand, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
    """``input.mean(...)``."""
    return _tensor(input).mean(*args, **kwargs)


def prod(input: Operand, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
    """``input.prod(...)``."""
    return _tensor(input).prod(*args, **kwargs)


def _extreme(op: str, input: Operand, dim: Any, keepdim: bool) -> Tensor | MinMax:  # noqa: A002
    x = _tensor(input)
    if isinstance(dim, Tensor):  # torch.max(a, b) is the elementwise maximum
        return ops.maximum(x, dim) if op == "max" else ops.minimum(x, dim)
    if dim is None:
        return x.max() if op == "max" else x.min()
    return x.max(dim=dim, keepdim=keepdim) if op == "max" else x.min(dim=dim, keepdim=keepdim)


def max(input: Operand, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMax:  # noqa: A001, A002
    """The largest value; with ``dim``, PyTorch's ``(values, indices)``; with a tensor, the elementwise maximum."""
    return _extreme("max", input, dim, keepdim)


def min(input: Operand, dim: int | Tensor | None = None, keepdim: bool = False) -> Tensor | MinMax:  # noqa: A001, A002
    """The smallest value; with ``dim``, PyTorch's ``(values, indices)``; with a tensor, the elementwise minimum."""
    return _extreme("min", input, dim, keepdim)


def clamp(input: Operand, min: Operand = None, max: Operand = None) -> Tensor:  # noqa: A002
    """Values clamped to [min, max]."""
    return _tensor(input).clamp(min, max)


def softmax(input: Operand, axis: int | None = None, *, dim: int | None = None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) over ``axis`` (``dim``; the last by default), shifted by the maximum first
    so that it never overflows.

    >>> import tinygrad_lstm as tl
    >>> tl.softmax(tl.tensor([[1.0, 1.0], [0.0, 1000.0]]), dim=1)
    Tensor([[0.5, 0.5],
            [0. , 1. ]], dtype=float32)
    """
    return _tensor(input).softmax(axis, dim=dim)


def log_softmax(input: Operand, axis: int | None = None, *, dim: int | None = None) -> Tensor:  # noqa: A002
    """log(softmax) over ``axis`` (``dim``; the last by default)."""
    return _tensor(input).log_softmax(axis, dim=dim)


def logsumexp(input: Operand, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
    """``input.logsumexp(...)``: over the last axis by default, or ``axis``/``dim``."""
    return _tensor(input).logsumexp(*args, **kwargs)


def unbind(input: Operand, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """The slices along ``dim``."""
    return _tensor(input).unbind(dim)


def reshape(input: Operand, *shape: ShapeArgs) -> Tensor:  # noqa: A002
    """The same values in a new shape."""
    return _tensor(input).reshape(*shape)


def transpose(input: Operand, *axes: Any) -> Tensor:  # noqa: A002
    """Two axes swapped (``tl.transpose(x, 0, 1)``), or NumPy's permutation of all axes."""
    return _tensor(input).transpose(*axes)


def unsqueeze(input: Operand, dim: int) -> Tensor:  # noqa: A002
    """A new axis of length 1 at ``dim``."""
    return _tensor(input).unsqueeze(dim)


def squeeze(input: Operand, *args: Any, **kwargs: Any) -> Tensor:  # noqa: A002
    """Axes of length 1 dropped (all, or those named)."""
    return _tensor(input).squeeze(*args, **kwargs)


def randn_like(input: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """Standard normal samples of ``input``'s shape and dtype (or ``dtype``)."""
    x = _tensor(input)
    return ops.randn(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


def rand_like(input: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:  # noqa: A002
    """Uniform samples on [0, 1) of ``input``'s shape and dtype (or ``dtype``)."""
    x = _tensor(input)
    return ops.rand(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)
