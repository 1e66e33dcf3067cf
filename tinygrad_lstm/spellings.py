"""PyTorch's function spellings of Tensor methods: ``tl.sum(x, dim=0)``, ``tl.matmul(a, b)``,
``tl.max(x, dim=1)``... Each calls the method of the same name, so it means what the method means
(NumPy's ``axis=`` or PyTorch's ``dim=``) and records the same ops.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.tensor(np.arange(6.0).reshape(2, 3))
>>> tl.sum(x, dim=0).tolist(), tl.max(x, dim=1).indices.tolist(), tl.transpose(x, 0, 1).shape
([3.0, 5.0, 7.0], [2, 2], (3, 2))
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import numpy.typing as npt

from . import dtypes, ops, random
from .devices import Device, takes_device
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


def softmax(input: Operand, axis: int | None = None, *, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002
    """exp(x) / sum(exp(x)) over ``axis`` (``dim``; the last by default), shifted by the maximum first
    so that it never overflows.

    >>> import tinygrad_lstm as tl
    >>> tl.softmax(tl.tensor([[1.0, 1.0], [0.0, 1000.0]]), dim=1)
    Tensor([[0.5, 0.5],
            [0. , 1. ]], dtype=float32)
    """
    return _tensor(input).softmax(axis, dim=dim, dtype=dtype)


def log_softmax(input: Operand, axis: int | None = None, *, dim: int | None = None, dtype: Any = None) -> Tensor:  # noqa: A002, E501
    """log(softmax) over ``axis`` (``dim``; the last by default)."""
    return _tensor(input).log_softmax(axis, dim=dim, dtype=dtype)


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


@takes_device
def randn_like(
    input: Operand,  # noqa: A002
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """Standard normal samples of ``input``'s shape and dtype (or ``dtype``)."""
    x = _tensor(input)
    return ops.randn(x.shape, dtype=x.dtype if dtype is None else dtype, requires_grad=requires_grad)


@takes_device
def rand_like(
    input: Operand,  # noqa: A002
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
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


# ---- PyTorch functions that are the method of their first argument: ``tl.amax(x, 1)`` is ``x.amax(1)`` ----
# (each means exactly what the Tensor method means; see it for the arguments)


# elementwise functions


def tan(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.tan(...)``."""
    return _tensor(input).tan(*args, **kwargs)


def sinh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.sinh(...)``."""
    return _tensor(input).sinh(*args, **kwargs)


def cosh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.cosh(...)``."""
    return _tensor(input).cosh(*args, **kwargs)


def asin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.asin(...)``."""
    return _tensor(input).asin(*args, **kwargs)


def acos(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.acos(...)``."""
    return _tensor(input).acos(*args, **kwargs)


def asinh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.asinh(...)``."""
    return _tensor(input).asinh(*args, **kwargs)


def acosh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.acosh(...)``."""
    return _tensor(input).acosh(*args, **kwargs)


def atanh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.atanh(...)``."""
    return _tensor(input).atanh(*args, **kwargs)


def arcsin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arcsin(...)``."""
    return _tensor(input).arcsin(*args, **kwargs)


def arccos(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arccos(...)``."""
    return _tensor(input).arccos(*args, **kwargs)


def arctan(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arctan(...)``."""
    return _tensor(input).arctan(*args, **kwargs)


def arcsinh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arcsinh(...)``."""
    return _tensor(input).arcsinh(*args, **kwargs)


def arccosh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arccosh(...)``."""
    return _tensor(input).arccosh(*args, **kwargs)


def arctanh(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arctanh(...)``."""
    return _tensor(input).arctanh(*args, **kwargs)


def log2(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.log2(...)``."""
    return _tensor(input).log2(*args, **kwargs)


def log10(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.log10(...)``."""
    return _tensor(input).log10(*args, **kwargs)


def exp2(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.exp2(...)``."""
    return _tensor(input).exp2(*args, **kwargs)


def erf(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.erf(...)``."""
    return _tensor(input).erf(*args, **kwargs)


def erfinv(input: Operand) -> Tensor:  # noqa: A002
    """``input.erfinv()``."""
    return _tensor(input).erfinv()


def lgamma(input: Operand) -> Tensor:  # noqa: A002
    """``input.lgamma()``."""
    return _tensor(input).lgamma()


def digamma(input: Operand) -> Tensor:  # noqa: A002
    """``input.digamma()``."""
    return _tensor(input).digamma()


def polygamma(n: int, input: Operand) -> Tensor:  # noqa: A002
    """``input.polygamma(n)``: the n-th derivative of digamma (PyTorch's order of arguments)."""
    return _tensor(input).polygamma(n)


def mvlgamma(input: Operand, p: int) -> Tensor:  # noqa: A002
    """``input.mvlgamma(p)``."""
    return _tensor(input).mvlgamma(p)


def rsqrt(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.rsqrt(...)``."""
    return _tensor(input).rsqrt(*args, **kwargs)


def sign(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.sign(...)``."""
    return _tensor(input).sign(*args, **kwargs)


def sgn(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.sgn(...)``."""
    return _tensor(input).sgn(*args, **kwargs)


def square(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.square(...)``."""
    return _tensor(input).square(*args, **kwargs)


def neg(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.neg(...)``."""
    return _tensor(input).neg(*args, **kwargs)


def negative(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.negative(...)``."""
    return _tensor(input).negative(*args, **kwargs)


def frac(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.frac(...)``."""
    return _tensor(input).frac(*args, **kwargs)


def positive(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.positive(...)``."""
    return _tensor(input).positive(*args, **kwargs)


def absolute(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.absolute(...)``."""
    return _tensor(input).absolute(*args, **kwargs)


def rad2deg(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.rad2deg(...)``."""
    return _tensor(input).rad2deg(*args, **kwargs)


def deg2rad(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.deg2rad(...)``."""
    return _tensor(input).deg2rad(*args, **kwargs)


def logit(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logit(...)``."""
    return _tensor(input).logit(*args, **kwargs)


def nan_to_num(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nan_to_num(...)``."""
    return _tensor(input).nan_to_num(*args, **kwargs)


def round(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.round(...)``."""
    return _tensor(input).round(*args, **kwargs)


# two operands


def atan2(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.atan2(...)``."""
    return _tensor(input).atan2(*args, **kwargs)


def arctan2(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.arctan2(...)``."""
    return _tensor(input).arctan2(*args, **kwargs)


def hypot(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.hypot(...)``."""
    return _tensor(input).hypot(*args, **kwargs)


def fmax(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.fmax(...)``."""
    return _tensor(input).fmax(*args, **kwargs)


def fmin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.fmin(...)``."""
    return _tensor(input).fmin(*args, **kwargs)


def logaddexp(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logaddexp(...)``."""
    return _tensor(input).logaddexp(*args, **kwargs)


def logaddexp2(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logaddexp2(...)``."""
    return _tensor(input).logaddexp2(*args, **kwargs)


def pow(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.pow(...)``."""
    return _tensor(input).pow(*args, **kwargs)


def addcmul(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.addcmul(...)``."""
    return _tensor(input).addcmul(*args, **kwargs)


def addcdiv(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.addcdiv(...)``."""
    return _tensor(input).addcdiv(*args, **kwargs)


def dist(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.dist(...)``."""
    return _tensor(input).dist(*args, **kwargs)


def eq(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.eq(...)``."""
    return _tensor(input).eq(*args, **kwargs)


def ne(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.ne(...)``."""
    return _tensor(input).ne(*args, **kwargs)


def lt(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.lt(...)``."""
    return _tensor(input).lt(*args, **kwargs)


def le(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.le(...)``."""
    return _tensor(input).le(*args, **kwargs)


def gt(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.gt(...)``."""
    return _tensor(input).gt(*args, **kwargs)


def ge(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.ge(...)``."""
    return _tensor(input).ge(*args, **kwargs)


def greater(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.greater(...)``."""
    return _tensor(input).greater(*args, **kwargs)


def greater_equal(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.greater_equal(...)``."""
    return _tensor(input).greater_equal(*args, **kwargs)


def less(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.less(...)``."""
    return _tensor(input).less(*args, **kwargs)


def less_equal(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.less_equal(...)``."""
    return _tensor(input).less_equal(*args, **kwargs)


def not_equal(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.not_equal(...)``."""
    return _tensor(input).not_equal(*args, **kwargs)


def logical_and(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logical_and(...)``."""
    return _tensor(input).logical_and(*args, **kwargs)


def logical_or(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logical_or(...)``."""
    return _tensor(input).logical_or(*args, **kwargs)


def logical_xor(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logical_xor(...)``."""
    return _tensor(input).logical_xor(*args, **kwargs)


def logical_not(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logical_not(...)``."""
    return _tensor(input).logical_not(*args, **kwargs)


def isclose(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.isclose(...)``."""
    return _tensor(input).isclose(*args, **kwargs)


def allclose(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.allclose(...)``."""
    return _tensor(input).allclose(*args, **kwargs)


def equal(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.equal(...)``."""
    return _tensor(input).equal(*args, **kwargs)


# reductions


def amax(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.amax(...)``."""
    return _tensor(input).amax(*args, **kwargs)


def amin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.amin(...)``."""
    return _tensor(input).amin(*args, **kwargs)


def aminmax(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.aminmax(...)``."""
    return _tensor(input).aminmax(*args, **kwargs)


def argmax(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.argmax(...)``."""
    return _tensor(input).argmax(*args, **kwargs)


def argmin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.argmin(...)``."""
    return _tensor(input).argmin(*args, **kwargs)


def all(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.all(...)``."""
    return _tensor(input).all(*args, **kwargs)


def any(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.any(...)``."""
    return _tensor(input).any(*args, **kwargs)


def count_nonzero(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.count_nonzero(...)``."""
    return _tensor(input).count_nonzero(*args, **kwargs)


def nansum(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nansum(...)``."""
    return _tensor(input).nansum(*args, **kwargs)


def nanmean(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nanmean(...)``."""
    return _tensor(input).nanmean(*args, **kwargs)


def std(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.std(...)``."""
    return _tensor(input).std(*args, **kwargs)


def var(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.var(...)``."""
    return _tensor(input).var(*args, **kwargs)


def cummax(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.cummax(...)``."""
    return _tensor(input).cummax(*args, **kwargs)


def cummin(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.cummin(...)``."""
    return _tensor(input).cummin(*args, **kwargs)


def norm(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.norm(...)``."""
    return _tensor(input).norm(*args, **kwargs)


# shape and indexing


def flatten(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.flatten(...)``."""
    return _tensor(input).flatten(*args, **kwargs)


def permute(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.permute(...)``."""
    return _tensor(input).permute(*args, **kwargs)


def swapaxes(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.swapaxes(...)``."""
    return _tensor(input).swapaxes(*args, **kwargs)


def swapdims(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.swapdims(...)``."""
    return _tensor(input).swapdims(*args, **kwargs)


def t(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.t(...)``."""
    return _tensor(input).t(*args, **kwargs)


def narrow(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.narrow(...)``."""
    return _tensor(input).narrow(*args, **kwargs)


def chunk(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.chunk(...)``."""
    return _tensor(input).chunk(*args, **kwargs)


def roll(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.roll(...)``."""
    return _tensor(input).roll(*args, **kwargs)


def rot90(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.rot90(...)``."""
    return _tensor(input).rot90(*args, **kwargs)


def fliplr(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.fliplr(...)``."""
    return _tensor(input).fliplr(*args, **kwargs)


def flipud(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.flipud(...)``."""
    return _tensor(input).flipud(*args, **kwargs)


def diff(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.diff(...)``."""
    return _tensor(input).diff(*args, **kwargs)


def diag_embed(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.diag_embed(...)``."""
    return _tensor(input).diag_embed(*args, **kwargs)


def tensor_split(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.tensor_split(...)``."""
    return _tensor(input).tensor_split(*args, **kwargs)


def hsplit(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.hsplit(...)``."""
    return _tensor(input).hsplit(*args, **kwargs)


def vsplit(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.vsplit(...)``."""
    return _tensor(input).vsplit(*args, **kwargs)


def dsplit(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.dsplit(...)``."""
    return _tensor(input).dsplit(*args, **kwargs)


def kron(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.kron(...)``."""
    return _tensor(input).kron(*args, **kwargs)


def inner(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.inner(...)``."""
    return _tensor(input).inner(*args, **kwargs)


def vdot(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.vdot(...)``."""
    return _tensor(input).vdot(*args, **kwargs)


def cross(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.cross(...)``."""
    return _tensor(input).cross(*args, **kwargs)


def matrix_power(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.matrix_power(...)``."""
    return _tensor(input).matrix_power(*args, **kwargs)


def inverse(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.inverse(...)``."""
    return _tensor(input).inverse(*args, **kwargs)


def unflatten(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.unflatten(...)``."""
    return _tensor(input).unflatten(*args, **kwargs)


def index_select(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.index_select(...)``."""
    return _tensor(input).index_select(*args, **kwargs)


def masked_select(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.masked_select(...)``."""
    return _tensor(input).masked_select(*args, **kwargs)


def take(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.take(...)``."""
    return _tensor(input).take(*args, **kwargs)


def take_along_dim(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.take_along_dim(...)``."""
    return _tensor(input).take_along_dim(*args, **kwargs)


def scatter(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.scatter(...)``."""
    return _tensor(input).scatter(*args, **kwargs)


def scatter_add(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.scatter_add(...)``."""
    return _tensor(input).scatter_add(*args, **kwargs)


def index_add(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.index_add(...)``."""
    return _tensor(input).index_add(*args, **kwargs)


def index_copy(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.index_copy(...)``."""
    return _tensor(input).index_copy(*args, **kwargs)


def index_fill(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.index_fill(...)``."""
    return _tensor(input).index_fill(*args, **kwargs)


def nonzero(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nonzero(...)``."""
    return _tensor(input).nonzero(*args, **kwargs)


def argwhere(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.argwhere(...)``."""
    return _tensor(input).argwhere(*args, **kwargs)


def unique(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.unique(...)``."""
    return _tensor(input).unique(*args, **kwargs)


def masked_fill(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.masked_fill(...)``."""
    return _tensor(input).masked_fill(*args, **kwargs)


def select(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.select(...)``."""
    return _tensor(input).select(*args, **kwargs)


# ---- joining, grids, statistics and constructors -------------------------------------------------------


def concat(tensors: Any, dim: int = 0) -> Tensor:
    """``tl.cat`` (PyTorch's and NumPy's other names)."""
    return ops.cat(tensors, dim=dim)


concatenate = concat


def _at_least(tensors: Any, ndim: int) -> list[Tensor]:
    """Each tensor with axes of length 1 added, as ``np.atleast_2d`` (a vector is a row) and
    ``np.atleast_3d`` (a vector is (1, n, 1), a matrix (m, n, 1))."""
    out = []
    for t in tensors:
        t = _tensor(t)
        if t.ndim < ndim:
            if ndim == 2:
                t = t.reshape(1, -1)
            else:
                t = t.reshape((1, -1, 1) if t.ndim < 2 else t.shape + (1,))
        out.append(t)
    return out


def hstack(tensors: Any) -> Tensor:
    """Joined along axis 1 (axis 0 when all are vectors)."""
    ts = [_tensor(t).reshape(1) if _tensor(t).ndim == 0 else _tensor(t) for t in tensors]
    return ops.cat(ts, 0 if builtins.all(t.ndim == 1 for t in ts) else 1)


def vstack(tensors: Any) -> Tensor:
    """Joined along axis 0, vectors as rows."""
    return ops.cat(_at_least(tensors, 2), 0)


row_stack = vstack


def dstack(tensors: Any) -> Tensor:
    """Joined along axis 2 (depth), after making each at least 3-D."""
    return ops.cat(_at_least(tensors, 3), 2)


def column_stack(tensors: Any) -> Tensor:
    """Vectors as columns, joined along axis 1."""
    ts = [_tensor(t) for t in tensors]
    return ops.cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in ts], 1)


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple[Tensor, ...]:
    """Coordinate grids of 1-D tensors (``indexing="ij"``, PyTorch's default, or NumPy's ``"xy"``); each a
    broadcast view, so the gradient is summed back to its vector."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    ts = [_tensor(t) for t in tensors]
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if builtins.any(t.ndim > 1 for t in ts):
        raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got shapes {[t.shape for t in ts]}")
    ts = [t.reshape(-1) for t in ts]
    shape = [t.shape[0] for t in ts]
    if indexing == "xy" and len(ts) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    grids = []
    for k, t in enumerate(ts):
        axis = {0: 1, 1: 0}.get(k, k) if indexing == "xy" and len(ts) >= 2 else k
        view = [1] * len(ts)
        view[axis] = t.shape[0]
        grids.append(ops.broadcast_to(t.reshape(tuple(view)), tuple(shape)))
    return tuple(grids)


def std_mean(input: Operand, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``(input.std(...), input.mean(...))`` over the same axes."""
    x = _tensor(input)
    return x.std(*args, **kwargs), x.mean(*_mean_args(args), **_mean_kwargs(kwargs))


def var_mean(input: Operand, *args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:  # noqa: A002
    """``(input.var(...), input.mean(...))`` over the same axes."""
    x = _tensor(input)
    return x.var(*args, **kwargs), x.mean(*_mean_args(args), **_mean_kwargs(kwargs))


def _mean_args(args: tuple) -> tuple:
    """The axes and keepdims of std_mean's arguments (PyTorch's older std_mean(x, unbiased) has none)."""
    return () if args and isinstance(args[0], bool) else args[:2]


def _mean_kwargs(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k in ("dim", "keepdim", "axis", "keepdims")}


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a Tensor."""
    return isinstance(obj, Tensor)


def numel(input: Operand) -> int:  # noqa: A002
    """The number of elements."""
    return _tensor(input).numel()


@takes_device
def full_like(
    input: Operand,  # noqa: A002
    fill_value: Any,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """``fill_value`` in a tensor of ``input``'s shape and dtype (or ``dtype``)."""
    x = _tensor(input)
    return Tensor(np.full(x.shape, fill_value, dtype=x.dtype if dtype is None else dtype), requires_grad)


@takes_device
def empty(
    *size: ShapeArgs, dtype: npt.DTypeLike | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ``size`` (zeros: NumPy's empty would leave garbage to read)."""
    return ops.zeros(*size, dtype=dtype, requires_grad=requires_grad)


@takes_device
def empty_like(
    input: Operand,  # noqa: A002
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """A tensor of ``input``'s shape and dtype (zeros)."""
    return ops.zeros_like(input, dtype=dtype, requires_grad=requires_grad)


@takes_device
def randint(
    *args: Any, size: ShapeArgs | None = None, dtype: npt.DTypeLike = np.int64, device: Device = None
) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    bounds = args if size is not None else args[:-1]
    size = size if size is not None else args[-1]
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    shape = (size,) if isinstance(size, int) else tuple(size)
    return Tensor(random.generator().integers(low, high, shape).astype(dtype))


@takes_device
def randperm(n: int, dtype: npt.DTypeLike = np.int64, *, device: Device = None) -> Tensor:
    """The integers 0..n-1 in random order."""
    return Tensor(random.generator().permutation(n).astype(dtype))


@takes_device
def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: npt.DTypeLike | None = None,
    *,
    device: Device = None,
) -> Tensor:
    """``steps`` values from base**start to base**end, evenly spaced in the exponent."""
    return Tensor(np.logspace(start, end, steps, base=base, dtype=dtypes.resolve(dtype)))


# PyTorch's OpInfo names


def erfc(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.erfc(...)``."""
    return _tensor(input).erfc(*args, **kwargs)


def sinc(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.sinc(...)``."""
    return _tensor(input).sinc(*args, **kwargs)


def logcumsumexp(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.logcumsumexp(...)``."""
    return _tensor(input).logcumsumexp(*args, **kwargs)


def median(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.median(...)``."""
    return _tensor(input).median(*args, **kwargs)


def nanmedian(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nanmedian(...)``."""
    return _tensor(input).nanmedian(*args, **kwargs)


def quantile(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.quantile(...)``."""
    return _tensor(input).quantile(*args, **kwargs)


def nanquantile(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.nanquantile(...)``."""
    return _tensor(input).nanquantile(*args, **kwargs)


def cov(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.cov(...)``."""
    return _tensor(input).cov(*args, **kwargs)


def corrcoef(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.corrcoef(...)``."""
    return _tensor(input).corrcoef(*args, **kwargs)


def diagflat(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.diagflat(...)``."""
    return _tensor(input).diagflat(*args, **kwargs)


def split_with_sizes(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.split_with_sizes(...)``."""
    return _tensor(input).split_with_sizes(*args, **kwargs)


def narrow_copy(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.narrow_copy(...)``."""
    return _tensor(input).narrow_copy(*args, **kwargs)


def index_put(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.index_put(...)``."""
    return _tensor(input).index_put(*args, **kwargs)


def put(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.put(...)``."""
    return _tensor(input).put(*args, **kwargs)


def select_scatter(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.select_scatter(...)``."""
    return _tensor(input).select_scatter(*args, **kwargs)


def diagonal_scatter(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.diagonal_scatter(...)``."""
    return _tensor(input).diagonal_scatter(*args, **kwargs)


def slice_scatter(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.slice_scatter(...)``."""
    return _tensor(input).slice_scatter(*args, **kwargs)


def masked_scatter(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.masked_scatter(...)``."""
    return _tensor(input).masked_scatter(*args, **kwargs)


def bernoulli(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.bernoulli(...)``."""
    return _tensor(input).bernoulli(*args, **kwargs)


def conj(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.conj(...)``."""
    return _tensor(input).conj(*args, **kwargs)


def resolve_conj(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.resolve_conj(...)``."""
    return _tensor(input).resolve_conj(*args, **kwargs)


def resolve_neg(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.resolve_neg(...)``."""
    return _tensor(input).resolve_neg(*args, **kwargs)


def broadcast_to(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.broadcast_to(...)``."""
    return _tensor(input).broadcast_to(*args, **kwargs)


def clamp_max(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.clamp_max(...)``."""
    return _tensor(input).clamp_max(*args, **kwargs)


def clamp_min(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.clamp_min(...)``."""
    return _tensor(input).clamp_min(*args, **kwargs)


def clone(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.clone(...)``."""
    return _tensor(input).clone(*args, **kwargs)


def float_power(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.float_power(...)``."""
    return _tensor(input).float_power(*args, **kwargs)


def ravel(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.ravel(...)``."""
    return _tensor(input).ravel(*args, **kwargs)


def zero_(input: Operand, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
    """``input.zero_(...)``."""
    return _tensor(input).zero_(*args, **kwargs)


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least 1 axis (one tensor, or a tuple of them)."""
    ts = tuple(
        _tensor(t) for t in (tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors)
    )
    out = tuple(t.reshape(1) if t.ndim == 0 else t for t in ts)
    return out[0] if len(out) == 1 else out


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least 2 axes (a vector becomes a row)."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(_at_least(ts, 2))
    return out[0] if len(out) == 1 else out


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least 3 axes."""
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = tuple(_at_least(ts, 3))
    return out[0] if len(out) == 1 else out


def broadcast_tensors(*tensors: Any) -> tuple[Tensor, ...]:
    """The tensors broadcast to one shape (views)."""
    ts = [_tensor(t) for t in tensors]
    try:
        shape = np.broadcast_shapes(*(t.shape for t in ts))
    except ValueError:
        raise ValueError(f"broadcast_tensors: shapes {[t.shape for t in ts]} do not broadcast") from None
    return tuple(t if t.shape == shape else ops.broadcast_to(t, shape) for t in ts)


def block_diag(*tensors: Any) -> Tensor:
    """The matrices (vectors as rows, numbers as 1 x 1) on the diagonal of one matrix, zeros elsewhere."""
    ts = [_tensor(t) for t in tensors]
    if builtins.any(t.ndim > 2 for t in ts):
        raise ValueError(f"block_diag: expects tensors of at most 2 axes, got shapes {[t.shape for t in ts]}")
    blocks = [t.reshape(1, 1) if t.ndim == 0 else t.reshape(1, -1) if t.ndim == 1 else t for t in ts]
    if not blocks:
        return Tensor(np.zeros((1, 0), dtypes.get_default_dtype()))
    width = builtins.sum(b.shape[1] for b in blocks)
    dtype = np.result_type(*(b.dtype for b in blocks))
    rows, left = [], 0
    for b in blocks:
        pieces: list[Any] = [np.zeros((b.shape[0], left), dtype), b if b.dtype == dtype else b.astype(dtype)]
        pieces.append(np.zeros((b.shape[0], width - left - b.shape[1]), dtype))
        rows.append(ops.cat(pieces, 1))
        left += b.shape[1]
    return ops.cat(rows, 0)


def cartesian_prod(*tensors: Any) -> Tensor:
    """Every combination of one value from each vector, one per row (a vector for one input)."""
    if len(tensors) == 1:
        return _tensor(tensors[0])
    grids = meshgrid(*tensors, indexing="ij")
    return ops.stack([g.reshape(-1) for g in grids], 1)


def cdist(x1: Operand, x2: Operand, p: float = 2.0, compute_mode: str | None = None) -> Tensor:
    """The ``p``-norm distance between each row of ``x1`` and each row of ``x2`` (batched over leading axes);
    the gradient at a distance of 0 is 0, as PyTorch's."""
    a, b = _tensor(x1), _tensor(x2)
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-1]:
        raise ValueError(f"cdist: expects (..., P, M) and (..., R, M) tensors, got shapes {a.shape} and {b.shape}")
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).norm(p, -1)


def tensordot(a: Operand, b: Operand, dims: Any = 2) -> Tensor:
    """The sum of products over the last ``dims`` axes of ``a`` and the first of ``b``, or over the axes
    listed in ``dims = (axes of a, axes of b)``."""
    x, y = _tensor(a), _tensor(b)
    if isinstance(dims, int):
        axes_a, axes_b = list(range(x.ndim - dims, x.ndim)), list(range(dims))
    else:
        axes_a, axes_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    axes_a = [ops._axis("tensordot", d, x.ndim) for d in axes_a]
    axes_b = [ops._axis("tensordot", d, y.ndim) for d in axes_b]
    mismatch = f"tensordot: axes {axes_a} of shape {x.shape} do not match axes {axes_b} of shape {y.shape}"
    if len(axes_a) != len(axes_b):
        raise ValueError(mismatch)
    for i, j in zip(axes_a, axes_b):  # a contracted axis of size 1 is broadcast against the other's, as PyTorch's
        if x.shape[i] == y.shape[j]:
            continue
        if x.shape[i] != 1 and y.shape[j] != 1:
            raise ValueError(mismatch)
        if x.shape[i] == 1:
            x = ops.broadcast_to(x, x.shape[:i] + (y.shape[j],) + x.shape[i + 1 :])
        else:
            y = ops.broadcast_to(y, y.shape[:j] + (x.shape[i],) + y.shape[j + 1 :])
    free_a = [d for d in range(x.ndim) if d not in axes_a]
    free_b = [d for d in range(y.ndim) if d not in axes_b]
    k = int(np.prod([x.shape[d] for d in axes_a]))
    left = x.permute(free_a + axes_a).reshape(-1, k)
    right = y.permute(axes_b + free_b).reshape(k, -1)
    return (left @ right).reshape(tuple(x.shape[d] for d in free_a) + tuple(y.shape[d] for d in free_b))


def rsub(input: Operand, other: Operand, *, alpha: Any = 1) -> Tensor:  # noqa: A002
    """other - alpha * input."""
    return ops.sub(other, ops.scaled("rsub", other, input, alpha))


def fill(input: Operand, value: Any) -> Tensor:  # noqa: A002
    """A new tensor of ``input``'s shape and dtype holding ``value``; the gradient is 0 for ``input`` and
    summed back to ``value`` when it is a 0-d tensor."""
    x = _tensor(input)
    if isinstance(value, Tensor) and value.ndim:
        raise ValueError(f"fill: value must be a number or a 0-d tensor, got shape {value.shape}")
    if isinstance(value, Tensor) and value.dtype != x.dtype:
        value = value.astype(x.dtype)
    return ops.where(np.ones(x.shape, bool), value if isinstance(value, Tensor) else np.asarray(value, x.dtype), x)


def trapezoid(y: Operand, x: Operand = None, *, dx: float | None = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: samples ``y`` at points ``x`` (or spaced ``dx``, 1 by default)."""
    values = _tensor(y)
    axis = ops._axis("trapezoid", dim, values.ndim)
    lead = (slice(None),) * axis
    pairs = values[lead + (slice(1, None),)] + values[lead + (slice(None, -1),)]
    if x is None:
        return pairs.sum(axis) * (0.5 * (1.0 if dx is None else dx))
    points = _tensor(x)
    at = (slice(None),) * (axis if points.ndim == values.ndim else 0)
    gaps = points[at + (slice(1, None),)] - points[at + (slice(None, -1),)]
    if points.ndim == 1 and values.ndim > 1:
        gaps = gaps.reshape(gaps.shape + (1,) * (values.ndim - axis - 1))
    return (pairs * gaps).sum(axis) * 0.5


trapz = trapezoid


@takes_device
def normal(mean: Any = 0.0, std: Any = 1.0, size: ShapeArgs | None = None, *, device: Device = None) -> Tensor:
    """Samples of a normal distribution of ``mean`` and ``std`` (numbers or tensors, broadcast), or of ``size``."""
    m, s = np.asarray(ops._data(mean)), np.asarray(ops._data(std))
    shape = np.broadcast_shapes(m.shape, s.shape) if size is None else ops._shape_args((size,))
    draw = random.generator().standard_normal(shape) * s + m
    arrays = [np.asarray(ops._data(a)) for a in (mean, std) if isinstance(a, (Tensor, np.ndarray))]
    floats = [a.dtype for a in arrays if a.dtype.kind == "f"]
    return Tensor(np.asarray(draw, dtype=np.result_type(*floats) if floats else dtypes.get_default_dtype()))
