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


# ---- arithmetic ------------------------------------------------------------------------------------


def add(input: Operand, other: Operand, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """input + alpha * other."""
    return ops.add(input, ops.scaled("add", input, other, alpha))


def sub(input: Operand, other: Operand, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """input - alpha * other."""
    return ops.sub(input, ops.scaled("sub", input, other, alpha))


subtract = sub


def mul(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """input * other."""
    return ops.mul(input, other)


multiply = mul


def div(input: Operand, other: Operand, *, rounding_mode: str | None = None) -> Tensor:  # noqa: A002
    """input / other, or the quotient rounded with ``rounding_mode`` "floor" or "trunc" (gradient 0)."""
    return ops.divide(input, other, rounding_mode)


divide = div


def true_divide(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """input / other."""
    return ops.div(input, other)


def floor_divide(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """input // other: the quotient rounded down."""
    return ops.floor_divide(input, other)


def remainder(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """input % other, with the sign of ``other`` (Python's rule)."""
    return ops.remainder(input, other)


def fmod(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """C's remainder, with the sign of ``input``."""
    return ops.fmod(input, other)


def floor(input: Operand) -> Tensor:  # noqa: A002
    """The largest whole number <= x (gradient 0)."""
    return ops.floor(_tensor(input))


def ceil(input: Operand) -> Tensor:  # noqa: A002
    """The smallest whole number >= x (gradient 0)."""
    return ops.ceil(_tensor(input))


def trunc(input: Operand) -> Tensor:  # noqa: A002
    """x rounded toward zero (gradient 0)."""
    return ops.trunc(_tensor(input))


def lerp(input: Operand, end: Operand, weight: Operand) -> Tensor:  # noqa: A002
    """input + weight * (end - input), as PyTorch computes it."""
    return _tensor(input).lerp(end, weight)


# ---- shape and linear algebra ------------------------------------------------------------------------


def diag(input: Operand, diagonal: int = 0) -> Tensor:  # noqa: A002
    """A vector on a diagonal of a square matrix, or a matrix's diagonal."""
    return _tensor(input).diag(diagonal)


def diagonal(input: Operand, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:  # noqa: A002
    """The ``offset``-th diagonal of axes ``dim1``, ``dim2``, as a new last axis."""
    return _tensor(input).diagonal(offset, dim1, dim2)


def trace(input: Operand) -> Tensor:  # noqa: A002
    """The sum of a matrix's diagonal."""
    return _tensor(input).trace()


def tile(input: Operand, dims: ShapeArgs) -> Tensor:  # noqa: A002
    """``input`` tiled ``dims[k]`` times along each axis."""
    return _tensor(input).tile(dims)


def movedim(input: Operand, source: Any, destination: Any) -> Tensor:  # noqa: A002
    """Axes ``source`` moved to ``destination``."""
    return _tensor(input).movedim(source, destination)


moveaxis = movedim


def repeat_interleave(
    input: Operand, repeats: Operand, dim: int | None = None, *, output_size: int | None = None
) -> Tensor:  # noqa: A002, E501
    """Each entry repeated ``repeats`` times in place along ``dim`` (the flattened tensor by default)."""
    return _tensor(input).repeat_interleave(repeats, dim, output_size=output_size)


def cumprod(input: Operand, dim: int, *, dtype: npt.DTypeLike | None = None) -> Tensor:  # noqa: A002
    """Running product along ``dim``."""
    return _tensor(input).cumprod(dim=dim, dtype=dtype)


def sort(input: Operand, dim: int = -1, descending: bool = False, *, stable: bool = False) -> MinMax:  # noqa: A002
    """PyTorch's ``(values, indices)`` sorted along ``dim``."""
    return _tensor(input).sort(dim, descending, stable=stable)


def argsort(input: Operand, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:  # noqa: A002
    """The indices that sort ``input`` along ``dim``."""
    return _tensor(input).argsort(dim, descending, stable=stable)


def msort(input: Operand) -> Tensor:  # noqa: A002
    """The values sorted along the first axis."""
    return _tensor(input).msort()


def topk(input: Operand, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMax:  # noqa: A002
    """PyTorch's ``(values, indices)`` of the ``k`` largest (or smallest) along ``dim``."""
    return _tensor(input).topk(k, dim, largest, sorted)


def kthvalue(input: Operand, k: int, dim: int = -1, keepdim: bool = False) -> MinMax:  # noqa: A002
    """PyTorch's ``(values, indices)`` of the ``k``-th smallest along ``dim``."""
    return _tensor(input).kthvalue(k, dim, keepdim)


def outer(input: Operand, vec2: Operand) -> Tensor:  # noqa: A002
    """The outer product of two vectors."""
    return _tensor(input).outer(vec2)


ger = outer


def dot(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """The inner product of two vectors."""
    return _tensor(input).dot(other)


def mv(input: Operand, vec: Operand) -> Tensor:  # noqa: A002
    """A matrix times a vector."""
    return _tensor(input).mv(vec)


def addmm(input: Operand, mat1: Operand, mat2: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """beta * input + alpha * (mat1 @ mat2)."""
    return _tensor(input).addmm(mat1, mat2, beta=beta, alpha=alpha)


def addmv(input: Operand, mat: Operand, vec: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """beta * input + alpha * (mat @ vec)."""
    return _tensor(input).addmv(mat, vec, beta=beta, alpha=alpha)


def addbmm(input: Operand, batch1: Operand, batch2: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """beta * input + alpha * (the sum over the batch of batch1[b] @ batch2[b])."""
    return _tensor(input).addbmm(batch1, batch2, beta=beta, alpha=alpha)


def baddbmm(input: Operand, batch1: Operand, batch2: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2), batch by batch."""
    return _tensor(input).baddbmm(batch1, batch2, beta=beta, alpha=alpha)


def addr(input: Operand, vec1: Operand, vec2: Operand, *, beta: Any = 1, alpha: Any = 1) -> Tensor:  # noqa: A002
    """beta * input + alpha * outer(vec1, vec2)."""
    return _tensor(input).addr(vec1, vec2, beta=beta, alpha=alpha)
