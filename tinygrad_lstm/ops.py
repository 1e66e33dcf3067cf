"""Primitives: each forward computation sits beside its vector-Jacobian product (VJP).

A VJP has the signature ``vjp(g, c) -> tuple`` (one gradient per input, None where not needed).
``c`` is the tape entry: ``c.ins`` the saved inputs, ``c.out`` the saved output, ``c.p`` the op's
parameters, ``c.parents[i]`` None when input ``i`` needs no gradient. On the usual path ``g`` and the
saved values are NumPy arrays. Under ``create_graph=True`` they are Tensors wired into the graph, so
the same VJP code is recorded and can be differentiated again: VJPs therefore use only operators,
methods shared by ``ndarray`` and ``Tensor``, and the ``_where``/``_broadcast_to``/``_log`` helpers
below.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import random
from .tape import Node, state
from .tensor import Tensor

# ---- recording -----------------------------------------------------------------------------------


def record(op: str, out, inputs: tuple, vjp, keep_in: bool = False, keep_out: bool = False, p=None) -> Tensor:
    """Wrap ``out`` in a Tensor and, if any input requires grad, append a tape entry for it."""
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not state.grad_enabled or out.dtype.kind not in "fc":
        return Tensor._from(out)
    # this runs once per op: plain loops, no generator, no per-op dict work
    parents = []
    any_grad = False
    for x in inputs:
        node = x._node if isinstance(x, Tensor) else None
        parents.append(node)
        any_grad = any_grad or node is not None
    if not any_grad:
        return Tensor._from(out)
    ins = None
    if keep_in:
        ins = tuple([x.data if isinstance(x, Tensor) else x for x in inputs])
    parents = tuple(parents)
    node = Node(op, parents, vjp, ins, out if keep_out else None, p, out.shape, out.dtype)
    for tape in state.tapes:
        tape.entries.append(node)
    for instrument in state.instruments:  # empty unless a Tape(sources=True) or detect_anomaly is open
        instrument(node, inputs, out)
    return Tensor._from(out, node)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _shape(x) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


def _shape_text(x) -> str:
    return str(tuple(_shape(x)))


def unbroadcast(g, shape: tuple[int, ...]):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting (used by every broadcasting op)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes)
    return g.reshape(shape)


# Helpers that let one VJP serve both the array path and the recorded (create_graph) path.
def _where(cond, a, b):
    return where(cond, a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else np.where(cond, a, b)


def _broadcast_to(g, shape):
    return broadcast_to(g, shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def _log(x):
    return log(x) if isinstance(x, Tensor) else np.log(x)


def _binary(op: str, fn, a, b):
    try:
        return fn(_data(a), _data(b))
    except ValueError as e:
        raise ValueError(f"{op}: operands with shapes {_shape_text(a)} and {_shape_text(b)} do not broadcast") from e


# ---- elementwise arithmetic ---------------------------------------------------------------------


def add(a, b) -> Tensor:
    out = _binary("add", np.add, a, b)
    return record("add", out, (a, b), _add_vjp, p=(_shape(a), _shape(b)))


def _add_vjp(g, c):
    sa, sb = c.p
    return unbroadcast(g, sa), unbroadcast(g, sb)


def sub(a, b) -> Tensor:
    out = _binary("sub", np.subtract, a, b)
    return record("sub", out, (a, b), _sub_vjp, p=(_shape(a), _shape(b)))


def _sub_vjp(g, c):
    sa, sb = c.p
    return unbroadcast(g, sa), (unbroadcast(-g, sb) if c.parents[1] is not None else None)


def mul(a, b) -> Tensor:
    out = _binary("mul", np.multiply, a, b)
    return record("mul", out, (a, b), _mul_vjp, keep_in=True)


def _mul_vjp(g, c):
    a, b = c.ins
    ga = unbroadcast(g * b, np.shape(a)) if c.parents[0] is not None else None
    gb = unbroadcast(g * a, np.shape(b)) if c.parents[1] is not None else None
    return ga, gb


def div(a, b) -> Tensor:
    out = _binary("div", np.true_divide, a, b)
    return record("div", out, (a, b), _div_vjp, keep_in=True, keep_out=True)


def _div_vjp(g, c):
    a, b = c.ins
    ga = unbroadcast(g / b, np.shape(a)) if c.parents[0] is not None else None
    gb = unbroadcast(-(g * c.out) / b, np.shape(b)) if c.parents[1] is not None else None
    return ga, gb


def neg(x) -> Tensor:
    return record("neg", np.negative(x.data), (x,), _neg_vjp)


def _neg_vjp(g, c):
    return (-g,)


def pow(a, b) -> Tensor:  # noqa: A001 - the operator's name
    out = _binary("pow", np.power, a, b)
    return record("pow", out, (a, b), _pow_vjp, keep_in=True, keep_out=True)


def _pow_vjp(g, c):
    a, b = c.ins
    ga = gb = None
    if c.parents[0] is not None:
        ga = unbroadcast(g * b * a ** (b - 1), np.shape(a))
    if c.parents[1] is not None:
        # d(a^b)/db = a^b log a; taken as 0 where a == 0, as PyTorch does
        zero = _data(a) == 0
        gb = unbroadcast(g * c.out * _log(_where(zero, 1.0, a)), np.shape(b))
    return ga, gb


# ---- elementwise functions ------------------------------------------------------------------------


def exp(x) -> Tensor:
    return record("exp", np.exp(x.data), (x,), _exp_vjp, keep_out=True)


def _exp_vjp(g, c):
    return (g * c.out,)


def log(x) -> Tensor:
    return record("log", np.log(x.data), (x,), _log_vjp, keep_in=True)


def _log_vjp(g, c):
    return (g / c.ins[0],)


def sqrt(x) -> Tensor:
    return record("sqrt", np.sqrt(x.data), (x,), _sqrt_vjp, keep_out=True)


def _sqrt_vjp(g, c):
    return (g * 0.5 / c.out,)


def abs(x) -> Tensor:  # noqa: A001
    return record("abs", np.abs(x.data), (x,), _abs_vjp, keep_in=True)


def _abs_vjp(g, c):
    return (g * np.sign(_data(c.ins[0])),)


def tanh(x) -> Tensor:
    return record("tanh", np.tanh(x.data), (x,), _tanh_vjp, keep_out=True)


def _tanh_vjp(g, c):
    y = c.out
    return (g * (1 - y * y),)


def sigmoid(x) -> Tensor:
    # sigmoid(x) = (1 + tanh(x/2)) / 2: tanh never overflows, so +-1e4 give exactly 1 and 0 without
    # warnings, and it is one transcendental pass instead of exp, abs and a select
    out = np.tanh(x.data * 0.5)
    out *= 0.5
    out += 0.5
    return record("sigmoid", out, (x,), _sigmoid_vjp, keep_out=True)


def _sigmoid_vjp(g, c):
    y = c.out
    return (g * y * (1 - y),)


def relu(x) -> Tensor:
    return record("relu", np.maximum(x.data, 0), (x,), _relu_vjp, keep_out=True)


def _relu_vjp(g, c):
    return (_where(_data(c.out) > 0, g, 0),)  # where, not a product: inf * 0 would give nan


def maximum(a, b) -> Tensor:
    """Elementwise maximum; at ties each input gets half the gradient (as PyTorch)."""
    out = _binary("maximum", np.maximum, a, b)
    return record("maximum", out, (a, b), _extremum_vjp, keep_in=True, p=np.greater)


def minimum(a, b) -> Tensor:
    """Elementwise minimum; at ties each input gets half the gradient (as PyTorch)."""
    out = _binary("minimum", np.minimum, a, b)
    return record("minimum", out, (a, b), _extremum_vjp, keep_in=True, p=np.less)


def _extremum_vjp(g, c):
    a, b = _data(c.ins[0]), _data(c.ins[1])
    wins = c.p(a, b)
    dtype = g.dtype
    share_a = wins.astype(dtype) + 0.5 * (a == b).astype(dtype)
    ga = unbroadcast(g * share_a, np.shape(a)) if c.parents[0] is not None else None
    gb = unbroadcast(g * (1 - share_a), np.shape(b)) if c.parents[1] is not None else None
    return ga, gb


def where(cond, a, b) -> Tensor:
    """``a`` where ``cond`` else ``b`` (NumPy's ``where``); ``cond`` is not differentiated."""
    cond = _data(cond)
    try:
        out = np.where(cond, _data(a), _data(b))
    except ValueError as e:
        raise ValueError(
            f"where: shapes {np.shape(cond)}, {_shape_text(a)} and {_shape_text(b)} do not broadcast"
        ) from e
    return record("where", out, (a, b), _where_vjp, p=(cond, _shape(a), _shape(b)))


def _where_vjp(g, c):
    cond, sa, sb = c.p
    ga = unbroadcast(_where(cond, g, 0), sa) if c.parents[0] is not None else None
    gb = unbroadcast(_where(cond, 0, g), sb) if c.parents[1] is not None else None
    return ga, gb


def clip(x, lo=None, hi=None) -> Tensor:
    """NumPy's ``clip``; the gradient passes where ``lo <= x <= hi`` (bounds are constants)."""
    d = x.data
    lo, hi = _data(lo), _data(hi)
    if lo is None and hi is None:
        raise ValueError("clip: at least one of min and max must be given")
    out = np.clip(d, lo, hi)
    inside = np.ones(d.shape, dtype=bool)
    if lo is not None:
        inside &= d >= lo
    if hi is not None:
        inside &= d <= hi
    return record("clip", out, (x,), _clip_vjp, p=inside)


def _clip_vjp(g, c):
    return (_where(c.p, g, 0),)


def astype(x, dtype) -> Tensor:
    return record("astype", x.data.astype(dtype), (x,), _astype_vjp, p=x.data.dtype)


def _astype_vjp(g, c):
    return (g.astype(c.p),)


def compare(fn, a, b) -> Tensor:
    """Comparisons give bool tensors and are never differentiated."""
    return Tensor._from(np.asarray(_binary(fn.__name__, fn, a, b)))


# ---- reductions ------------------------------------------------------------------------------------


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim if ndim else a for a in axes)


def _kept_shape(shape: tuple[int, ...], axis) -> tuple[int, ...]:
    axes = _axes(axis, len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    d = x.data
    try:
        out = d.sum(axis=axis, keepdims=keepdims)
    except (ValueError, np.exceptions.AxisError) as e:
        raise ValueError(f"sum: axis {axis} is out of range for shape {d.shape}") from e
    return record("sum", out, (x,), _sum_vjp, p=(d.shape, _kept_shape(d.shape, axis)))


def _sum_vjp(g, c):
    shape, kept = c.p
    return (_broadcast_to(g.reshape(kept), shape),)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    shape = x.data.shape
    n = int(np.prod([shape[a] for a in _axes(axis, len(shape))]))
    return sum(x, axis, keepdims) * (1.0 / n if n else np.nan)


def _extreme(op: str, x, axis, keepdims) -> Tensor:
    d = x.data
    if d.size == 0:
        raise ValueError(f"{op}: zero-size tensor of shape {d.shape} has no {op}imum")
    try:
        out = getattr(d, op)(axis=axis, keepdims=keepdims)
    except (ValueError, np.exceptions.AxisError) as e:
        raise ValueError(f"{op}: axis {axis} is out of range for shape {d.shape}") from e
    axes = _axes(axis, d.ndim)
    return record(op, out, (x,), _extreme_vjp, keep_in=True, keep_out=True, p=(_kept_shape(d.shape, axis), axes))


def _extreme_vjp(g, c):
    # the gradient is shared evenly among tied extreme elements (as PyTorch's amax/amin)
    kept, axes = c.p
    hit = _data(c.ins[0]) == _data(c.out).reshape(kept)
    share = hit / hit.sum(axis=axes, keepdims=True)
    return (g.reshape(kept) * share.astype(g.dtype),)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme("max", x, axis, keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme("min", x, axis, keepdims)


# ---- linear algebra ----------------------------------------------------------------------------------


def matmul(a, b) -> Tensor:
    A, B = _data(a), _data(b)
    try:
        out = np.matmul(A, B)
    except ValueError as e:
        raise ValueError(
            f"matmul: shapes {_shape_text(a)} and {_shape_text(b)} are not aligned"
            f" (inner dimensions {np.shape(A)[-1:]} and {np.shape(B)[-2:][:1]})"
        ) from e
    return record("matmul", out, (a, b), _matmul_vjp, keep_in=True)


def _matmul_vjp(g, c):
    a, b = c.ins
    need_a, need_b = c.parents[0] is not None, c.parents[1] is not None
    if b.ndim == 2 and a.ndim >= 2:  # the common case: fold a's batch dims into one matrix product
        ga = g @ b.T if need_a else None
        gb = a.reshape((-1, a.shape[-1])).T @ g.reshape((-1, g.shape[-1])) if need_b else None
        return ga, gb
    # promote 1-D operands as matmul does, then undo it on the way back
    a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
    b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
    g2 = g
    if a.ndim == 1:
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if b.ndim > 1 else g2.reshape((1,))
    if b.ndim == 1:
        g2 = g2.reshape(g2.shape + (1,))
    ga = unbroadcast(g2 @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape) if need_a else None
    gb = unbroadcast(a2.swapaxes(-1, -2) @ g2, b2.shape).reshape(b.shape) if need_b else None
    return ga, gb


# ---- shape ------------------------------------------------------------------------------------------


def reshape(x, shape: tuple[int, ...]) -> Tensor:
    try:
        out = x.data.reshape(shape)
    except (ValueError, TypeError) as e:
        raise ValueError(f"reshape: cannot reshape shape {x.data.shape} into {tuple(shape)}") from e
    return record("reshape", out, (x,), _reshape_vjp, p=x.data.shape)


def _reshape_vjp(g, c):
    return (g.reshape(c.p),)


def transpose(x, axes=None) -> Tensor:
    d = x.data
    axes = tuple(range(d.ndim))[::-1] if axes is None else tuple(a % d.ndim for a in axes)
    if sorted(axes) != list(range(d.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation for shape {d.shape}")
    return record("transpose", d.transpose(axes), (x,), _transpose_vjp, p=axes)


def _transpose_vjp(g, c):
    return (g.transpose(tuple(np.argsort(c.p))),)


def swapaxes(x, axis1: int, axis2: int) -> Tensor:
    axes = list(range(x.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


def expand_dims(x, axis) -> Tensor:
    return reshape(x, np.expand_dims(x.data, axis).shape)


def squeeze(x, axis=None) -> Tensor:
    try:
        shape = np.squeeze(x.data, axis).shape
    except ValueError as e:
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of shape {x.data.shape}") from e
    return reshape(x, shape)


def broadcast_to(x, shape: tuple[int, ...]) -> Tensor:
    try:
        out = np.broadcast_to(x.data, shape)
    except ValueError as e:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.data.shape} to {shape}") from e
    return record("broadcast_to", out, (x,), _broadcast_to_vjp, p=x.data.shape)


def _broadcast_to_vjp(g, c):
    return (unbroadcast(g, c.p),)


# ---- indexing ---------------------------------------------------------------------------------------

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _plain_index(index):
    """Tensors inside an index become arrays; say whether the index is basic (no copies)."""
    if type(index) is int:  # the usual cases first: x[t], and tuples of slices
        return index, True
    if isinstance(index, tuple):
        index = tuple([i.data if isinstance(i, Tensor) else i for i in index])
        basic = True
        for i in index:
            if not isinstance(i, _BASIC) or isinstance(i, bool):
                basic = False
                break
        return index, basic
    index = _data(index)
    return index, isinstance(index, _BASIC) and not isinstance(index, bool)


def getitem(x, index) -> Tensor:
    index, basic = _plain_index(index)
    try:
        out = x.data[index]
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.data.shape}: {e}") from e
    return record("getitem", out, (x,), _getitem_vjp, p=(index, x.data.shape, basic))


def _getitem_vjp(g, c):
    index, shape, basic = c.p
    if isinstance(g, Tensor):
        return (scatter_add(g, index, shape, basic),)
    return (IndexedGrad(g, index, shape, basic),)


class IndexedGrad:
    """A gradient that is zero except at ``index``: the sweep adds it into the parent's buffer in
    place, so T slices of one array cost T slice-sized adds, not T full-size arrays."""

    __slots__ = ("values", "index", "shape", "basic")

    def __init__(self, values, index, shape, basic: bool) -> None:
        self.values, self.index, self.shape, self.basic = values, index, shape, basic

    def add_into(self, buffer: np.ndarray) -> None:
        if self.basic:
            buffer[self.index] += self.values
        else:
            np.add.at(buffer, self.index, self.values)  # repeated indices add up

    def dense(self, dtype) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=dtype)
        self.add_into(buffer)
        return buffer


def _scatter_array(g, index, shape, basic):
    return IndexedGrad(g, index, shape, basic).dense(g.dtype)


def scatter_add(g, index, shape, basic: bool) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``index``: the adjoint of ``getitem``."""
    return record("scatter_add", _scatter_array(g.data, index, shape, basic), (g,), _scatter_add_vjp, p=index)


def _scatter_add_vjp(g, c):
    return (g[c.p],)


# ---- joining and splitting ---------------------------------------------------------------------------


def cat(tensors, axis: int = 0) -> Tensor:
    """Join along an existing axis (NumPy's ``concatenate``)."""
    tensors = tuple(tensors)
    arrays = [_data(t) for t in tensors]
    try:
        out = np.concatenate(arrays, axis=axis)
    except ValueError as e:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ValueError(f"cat: shapes {shapes} cannot be joined along axis {axis}") from e
    axis = axis % out.ndim
    bounds = np.cumsum([0] + [np.shape(a)[axis] for a in arrays])
    return record("cat", out, tensors, _cat_vjp, p=(axis, bounds))


def _cat_vjp(g, c):
    axis, bounds = c.p
    lead = (slice(None),) * axis
    return tuple(
        g[lead + (slice(int(s), int(e)),)] if parent is not None else None
        for parent, s, e in zip(c.parents, bounds[:-1], bounds[1:])
    )


def stack(tensors, axis: int = 0) -> Tensor:
    """Join along a new axis (NumPy's ``stack``)."""
    tensors = tuple(tensors)
    arrays = [_data(t) for t in tensors]
    try:
        out = np.stack(arrays, axis=axis)
    except ValueError as e:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ValueError(f"stack: shapes {shapes} must all be equal") from e
    return record("stack", out, tensors, _stack_vjp, p=axis % out.ndim)


def _stack_vjp(g, c):
    lead = (slice(None),) * c.p
    return tuple(g[lead + (i,)] if parent is not None else None for i, parent in enumerate(c.parents))


def split(x, indices_or_sections, axis: int = 0) -> list[Tensor]:
    """NumPy's ``split``: equal sections, or the indices where each piece starts."""
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of shape {x.shape} does not split into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(indices_or_sections)
    lead = (slice(None),) * (axis % x.ndim)
    edges = [0, *cuts, n]
    return [getitem(x, lead + (slice(s, e),)) for s, e in zip(edges[:-1], edges[1:])]


# ---- constructors ------------------------------------------------------------------------------------


def _shape_args(shape) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def tensor(data: Any, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``."""
    return Tensor(np.array(_data(data), dtype=dtype), requires_grad=requires_grad)


def zeros(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def ones(*shape, dtype=np.float64, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def full(shape, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.full(shape, fill_value, dtype=dtype), requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros_like(_data(x), dtype=dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones_like(_data(x), dtype=dtype), requires_grad=requires_grad)


def randn(*shape, dtype=np.float64, requires_grad: bool = False, rng=None) -> Tensor:
    """Standard normal samples (``rng``: a ``np.random.Generator``; default ``tl.manual_seed``'s)."""
    data = (rng or random.generator()).standard_normal(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=requires_grad)


def rand(*shape, dtype=np.float64, requires_grad: bool = False, rng=None) -> Tensor:
    """Uniform samples on [0, 1)."""
    data = (rng or random.generator()).random(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.arange(start, stop, step, dtype=dtype), requires_grad=requires_grad)
