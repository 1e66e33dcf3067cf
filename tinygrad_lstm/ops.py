"""Primitives: each forward computation sits beside its vector-Jacobian product (VJP).

A primitive is three functions side by side: ``_name_fwd(p, *arrays) -> array`` computes the
result from input arrays and the op's parameters ``p`` (kept on the tape entry, so a recorded tape
can be replayed, see ``compiler/``); the public ``name(...)`` checks its arguments and calls
``apply``, which runs the forward and records the entry; and
``_name_vjp(g, entry) -> tuple`` gives one gradient per input (None where not needed), from the
tape entry: ``entry.ins`` the saved inputs, ``entry.out`` the saved output, ``entry.p`` the op's
parameters, ``entry.parents[i]`` None when input ``i`` needs no gradient. On the usual path ``g`` and the
saved values are NumPy arrays. Under ``create_graph=True`` they are Tensors wired into the graph, so
the same VJP code is recorded and can be differentiated again: VJPs therefore use only operators,
methods shared by ``ndarray`` and ``Tensor``, and the ``_where``/``_broadcast_to``/``_log`` helpers
below.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from . import blas, dtypes, random
from .tape import Entry, Leaf, Structure, state
from .tensor import Axes, AxesArg, Operand, ShapeArgs, Tensor, View
from .versions import _root, is_stale, latest_recorded, stale_error, stamps

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

# ---- recording -----------------------------------------------------------------------------------

Keep = bool | tuple  # what an entry keeps: see ``apply``
# what a VJP gets and returns: arrays, or Tensors under create_graph=True (the same operators serve both)
Grad: TypeAlias = Any
OTHER = ((1,), (0,))  # a product's rule: input 0 is read by input 1's gradient, and input 1 by input 0's


def apply(
    op: str,
    fwd: Callable,
    inputs: tuple,
    vjp: Callable | None,
    p: Any = None,
    keep_in: Keep = False,
    keep_out: Keep = False,
) -> Tensor:
    """Run ``fwd(p, *arrays)`` on the inputs' data; if any input requires grad, append a tape entry.

    What the entry keeps for its VJP depends on which inputs need a gradient, as PyTorch's derivative
    formulas save per input: ``keep_in`` gives, for each input, the inputs whose gradient reads it
    (``OTHER`` for a product, True for every input whenever the entry exists), and ``keep_out`` the
    inputs whose gradient reads the result. An array nobody will read is not kept, so changing it in
    place later is no reason to refuse backward. This runs once per op: plain loops, no per-op dict work.
    """
    if latest_recorded[0] >= 0 and state.grad_enabled:  # a recorded in-place update happened once
        refresh(op, inputs)
    args = []
    parents: list[Entry | Leaf | None] = []
    any_grad = False
    for x in inputs:
        if isinstance(x, Tensor):
            args.append(x.data)
            parents.append(x._entry)
            any_grad = any_grad or x._entry is not None
        else:
            args.append(x)
            parents.append(None)
    out = fwd(p, *args)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    if not (any_grad and state.grad_enabled) or out.dtype.kind not in "fc":
        for watcher in state.watchers:  # empty unless something watches every op
            watcher(None, op, fwd, p, inputs, args, out)
        return Tensor._from(out)
    ins: tuple | None
    if keep_in is OTHER:  # a product: each input is kept for the other's gradient (the usual case first)
        ins = (args[0] if parents[1] is not None else None, args[1] if parents[0] is not None else None)
    elif keep_in is True or not keep_in:
        ins = tuple(args) if keep_in else None
    else:
        ins = tuple(a if _needed(parents, readers) else None for a, readers in zip(args, keep_in))
    if keep_out is not True and keep_out:
        keep_out = _needed(parents, keep_out)
    entry = Entry(op, tuple(parents), vjp, ins, out if keep_out else None, p, out.shape, out.dtype, fwd)
    for tape in state.tapes:
        tape.entries.append(entry)
    for instrument in state.instruments:  # empty unless Tape(sources=True) or detect_anomaly is on
        instrument(entry, args, out)
    for watcher in state.watchers:
        watcher(entry, op, fwd, p, inputs, args, out)
    return Tensor._from(out, entry)


def refresh(op: str, inputs: tuple) -> None:
    """Bring each input whose memory a recorded in-place update overwrote after it was computed (through
    a view of it, or its base) up to date, as PyTorch rebases a view: its view op is recorded again on
    its base's new value. A stale input that is no view (it shares memory through detach() or .data)
    cannot be, and is refused: its gradient would be wrong."""
    for x in inputs:
        if isinstance(x, Tensor) and is_stale(x):
            _rebase(op, x)


def _rebase(op: str, x: Tensor) -> None:
    view = x._view
    if view is None:
        raise stale_error(op, x)
    if is_stale(view.base):
        _rebase(op, view.base)
    old = x._entry
    x._entry = apply(view.op, view.fwd, (view.base,), view.vjp, view.p)._entry
    if old is not None and x._entry is not None:
        x._entry.name = old.name


def _as_view(t: Tensor, x: Tensor, op: str, fwd: Callable, vjp: Callable, p: Any) -> Tensor:
    """Mark ``t`` as a view of ``x`` when it shows ``x``'s memory (see ``tensor.View``)."""
    out = t.data
    if out.base is not None and isinstance(x, Tensor):
        root = _root(out)
        if root is _root(x.data):
            t._view = View(x, op, fwd, vjp, p, stamps.get(id(root), -1))
    return t


def written_through(view: View, value: Tensor) -> Tensor:
    """The new value of ``view.base`` once ``value`` is written into the view (PyTorch's CopySlices)."""
    if view.op == "getitem":
        return index_put(view.base, view.p[0], value)
    if view.op == "transpose":
        return transpose(value, tuple(int(a) for a in np.argsort(view.p)))
    return reshape(value, view.base.shape)  # reshape, or a broadcast_to that only added axes of size 1


def _needed(parents: list, readers: tuple) -> bool:
    """Whether any of the inputs numbered in ``readers`` needs a gradient."""
    for j in readers:
        if parents[j] is not None:
            return True
    return False


def _in_shape(entry: Entry, k: int) -> tuple[int, ...]:
    """The shape of input ``k``, which may not be kept: known from its entry when it needs a gradient."""
    parent = entry.parents[k]
    return parent.shape if parent is not None else np.shape(entry.ins[k])


def is_primitive(entry: Entry, op: str) -> bool:
    """Whether ``entry`` was recorded by this module's primitive ``op``, not by a ``tl.Function`` that
    shares its name: what ``tl.compile`` asks before it rewrites an entry."""
    return entry.op == op and getattr(entry.vjp, "__module__", None) == __name__


def _data(x: Any):
    return x.data if isinstance(x, Tensor) else x


def _shape(x: Any) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


def _shape_text(x: Any) -> str:
    return str(tuple(_shape(x)))


def unbroadcast(g: Grad, shape: tuple[int, ...]):
    """Sum ``g`` down to ``shape``, undoing NumPy broadcasting (used by every broadcasting op)."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes)
    return g.reshape(shape)


# Helpers that let one VJP serve both the array path and the recorded (create_graph) path.
def _where(cond: Any, a: Any, b: Any):
    return where(cond, a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else np.where(cond, a, b)


def _broadcast_to(g: Grad, shape: tuple[int, ...]):
    return broadcast_to(g, shape) if isinstance(g, Tensor) else np.broadcast_to(g, shape)


def _log(x: Any):
    return log(x) if isinstance(x, Tensor) else np.log(x)


def _binary(
    op: str,
    fwd: Callable,
    a: Operand,
    b: Operand,
    vjp: Callable,
    p: Any = None,
    keep_in: Keep = False,
    keep_out: Keep = False,
) -> Tensor:
    """A broadcasting binary op; a shape mismatch names the op and both shapes."""
    try:
        return apply(op, fwd, (a, b), vjp, p, keep_in, keep_out)
    except ValueError as e:
        shapes = f"operands with shapes {_shape_text(a)} and {_shape_text(b)}"
        try:
            np.broadcast_shapes(_shape(a), _shape(b))
        except ValueError:
            raise ValueError(f"{op}: {shapes} do not broadcast") from e
        raise ValueError(f"{op}: {e} ({shapes})") from e


def _axis(op: str, axis: int, ndim: int) -> int:
    """``axis`` counted from 0, or NumPy's AxisError naming the op (an axis never wraps around)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis!r} is out of range for {ndim} dimensions")
    return int(axis) % ndim


def _shapes(a: Any, b: Any) -> tuple:
    return (_shape(a), _shape(b))


# ---- elementwise arithmetic ---------------------------------------------------------------------


def _add_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.add(a, b)


def add(a: Operand, b: Operand) -> Tensor:
    return _binary("add", _add_fwd, a, b, _add_vjp, p=_shapes(a, b))


def _add_vjp(g: Grad, entry: Entry) -> tuple:
    sa, sb = entry.p
    return unbroadcast(g, sa), unbroadcast(g, sb)


def _sub_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.subtract(a, b)


def sub(a: Operand, b: Operand) -> Tensor:
    return _binary("sub", _sub_fwd, a, b, _sub_vjp, p=_shapes(a, b))


def _sub_vjp(g: Grad, entry: Entry) -> tuple:
    sa, sb = entry.p
    return unbroadcast(g, sa), (unbroadcast(-g, sb) if entry.parents[1] is not None else None)


def _mul_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.multiply(a, b)


def mul(a: Operand, b: Operand) -> Tensor:
    return _binary("mul", _mul_fwd, a, b, _mul_vjp, keep_in=OTHER)


def _mul_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    if a is b:  # x * x: both gradients are the same product, so make it once (half the memory)
        ga = unbroadcast(g * b, _in_shape(entry, 0))
        return ga, ga
    ga = unbroadcast(g * b, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(g * a, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


def _div_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.true_divide(a, b)


def div(a: Operand, b: Operand) -> Tensor:
    # a is read only by b's gradient; b by both (PyTorch saves no result: a / b is computed again)
    return _binary("div", _div_fwd, a, b, _div_vjp, keep_in=((1,), (0, 1)))


def _div_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    ga = unbroadcast(g / b, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(-(g * (a / b)) / b, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


def _reciprocal_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.true_divide(1.0, x)


def reciprocal(x: Operand) -> Tensor:
    """1 / x. A number divided by a tensor is this times the number, as in PyTorch: it keeps its result,
    not x, so changing x in place later does not spoil its gradient."""
    return apply("reciprocal", _reciprocal_fwd, (x,), _reciprocal_vjp, keep_out=True)


def _reciprocal_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    return (-g * (y * y),)


def _rsqrt_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.true_divide(1.0, np.sqrt(x))


def rsqrt(x: Operand) -> Tensor:
    """1 / sqrt(x); it keeps its result for the gradient, as PyTorch's."""
    return apply("rsqrt", _rsqrt_fwd, (x,), _rsqrt_vjp, keep_out=True)


def _rsqrt_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    return (-0.5 * g * (y * y * y),)


def _neg_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.negative(x)


def neg(x: Operand) -> Tensor:
    return apply("neg", _neg_fwd, (x,), _neg_vjp)


def _neg_vjp(g: Grad, entry: Entry) -> tuple:
    return (-g,)


def _pow_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.power(a, b)


def pow(a: Operand, b: Operand) -> Tensor:  # noqa: A001 - the operator's name
    # the result is read only by the exponent's gradient (a ** 3.0 keeps a, not a ** 3.0)
    return _binary("pow", _pow_fwd, a, b, _pow_vjp, keep_in=True, keep_out=(1,))


def _pow_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    ga = gb = None
    if entry.parents[0] is not None:
        # b * a**(b-1), and 0 where b == 0 (PyTorch: even at a == 0 or +-inf, where the formula gives NaN;
        # the exponent there is 1, so that its unused branch raises no warning)
        exponent = _where(_data(b) == 0, 1.0, b - 1)
        ga = unbroadcast(_where(_data(b) == 0, 0.0, g * (b * a**exponent)), np.shape(a))
    if entry.parents[1] is not None:
        # d(a^b)/db = a^b log a, and 0 where a == 0 and b >= 0, as PyTorch (0 ** -1 gives inf * -inf = -inf)
        flat = (_data(a) == 0) & (_data(b) >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = unbroadcast(_where(flat, 0.0, g * (entry.out * _log(a))), np.shape(b))
    return ga, gb


# ---- elementwise functions ------------------------------------------------------------------------


def _exp_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def exp(x: Operand) -> Tensor:
    """Elementwise e**x (``x.exp()``); its gradient is the output itself.

    >>> import tinygrad_lstm as tl
    >>> tl.exp(tl.tensor([0.0, 1.0]))
    Tensor([1.      , 2.718282], dtype=float32)
    """
    return apply("exp", _exp_fwd, (x,), _exp_vjp, keep_out=True)


def _exp_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * entry.out,)


def _log_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log(x)


def log(x: Operand) -> Tensor:
    """Elementwise natural logarithm (``x.log()``); gradient 1/x. ``tl.log(tl.tensor([1.0]))`` is 0."""
    return apply("log", _log_fwd, (x,), _log_vjp, keep_in=True)


def _log_vjp(g: Grad, entry: Entry) -> tuple:
    return (g / entry.ins[0],)


def _sqrt_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sqrt(x)


def sqrt(x: Operand) -> Tensor:
    """Elementwise square root (``x.sqrt()``); gradient 1/(2 sqrt(x)). ``tl.sqrt(tl.tensor([4.0]))`` is 2."""
    return apply("sqrt", _sqrt_fwd, (x,), _sqrt_vjp, keep_out=True)


def _sqrt_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * 0.5 / entry.out,)


def _abs_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.abs(x)


def abs(x: Operand) -> Tensor:  # noqa: A001
    """Elementwise absolute value (``x.abs()``); gradient sign(x), 0 at 0 as in PyTorch."""
    return apply("abs", _abs_fwd, (x,), _abs_vjp, keep_in=True)


def _abs_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    sign = np.sign(_data(x))
    sign = np.where(sign != sign, 0, sign)  # PyTorch's sgn: 0 at NaN, so a NaN input gets no gradient
    if isinstance(g, Tensor):  # create_graph: the gradient depends on x, as PyTorch's (x.sgn() is on its graph)
        return (slope_backward("abs", g, sign, x),)
    return (g * sign,)


def _tanh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def tanh(x: Operand) -> Tensor:
    """Elementwise hyperbolic tangent (``x.tanh()``), the RNN's squashing function; gradient 1 - tanh(x)**2.

    >>> import tinygrad_lstm as tl
    >>> x = tl.tensor([0.0, 1.0], requires_grad=True)
    >>> y = tl.tanh(x)
    >>> y.sum().backward()
    >>> y, x.grad
    (Tensor([0.       , 0.7615942], dtype=float32, op=tanh), Tensor([1.        , 0.41997433], dtype=float32))
    """
    return apply("tanh", _tanh_fwd, (x,), _tanh_vjp, keep_out=True)


def _tanh_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    if isinstance(g, Tensor):
        return (g * (1 - y * y),)
    d = np.multiply(y, y, out=np.empty_like(y))  # the same arithmetic in place: one new array
    np.subtract(1, d, out=d)
    d *= g
    return (d,)


def _sigmoid_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    # 1 / (1 + exp(-x)), PyTorch's formula: full relative precision in the negative tail, where
    # (1 + tanh(x/2)) / 2 loses it (0 below about -37 in float64 and -17 in float32, so that
    # log(sigmoid(x)) was -inf); exp(-x) overflowing to inf gives exactly 0, as it should
    out = np.negative(x, out=np.empty(np.shape(x), np.result_type(x, np.float16)))
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


def sigmoid(x: Operand) -> Tensor:
    """Elementwise logistic function 1 / (1 + e**-x) (``x.sigmoid()``), an LSTM's gates; gradient s (1 - s).

    >>> import tinygrad_lstm as tl
    >>> tl.sigmoid(tl.tensor([0.0, 100.0, -100.0]))
    Tensor([0.5, 1. , 0. ], dtype=float32)
    """
    return apply("sigmoid", _sigmoid_fwd, (x,), _sigmoid_vjp, keep_out=True)


def _sigmoid_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    if isinstance(g, Tensor):
        return (g * y * (1 - y),)
    d = np.subtract(1, y, out=np.empty_like(y))  # in place, as in tanh's VJP
    d *= y
    d *= g
    return (d,)


def _log1p_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log1p(x)


def log1p(x: Operand) -> Tensor:
    """log(1 + x), exact for tiny x."""
    return apply("log1p", _log1p_fwd, (x,), _log1p_vjp, keep_in=True)


def _log1p_vjp(g: Grad, entry: Entry) -> tuple:
    return (g / (entry.ins[0] + 1.0),)


def _expm1_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.expm1(x)


def expm1(x: Operand) -> Tensor:
    """exp(x) - 1, exact for tiny x."""
    return apply("expm1", _expm1_fwd, (x,), _expm1_vjp, keep_out=True)


def _expm1_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * (entry.out + 1.0),)


def _sin_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sin(x)


def sin(x: Operand) -> Tensor:
    """Elementwise sine (``x.sin()``); gradient cos(x)."""
    return apply("sin", _sin_fwd, (x,), _sin_vjp, keep_in=True)


def _sin_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g * (cos(x) if isinstance(x, Tensor) else np.cos(x)),)


def _cos_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.cos(x)


def cos(x: Operand) -> Tensor:
    """Elementwise cosine (``x.cos()``); gradient -sin(x)."""
    return apply("cos", _cos_fwd, (x,), _cos_vjp, keep_in=True)


def _cos_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (-g * (sin(x) if isinstance(x, Tensor) else np.sin(x)),)


_ERF = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is exact to the last bit or so


def _erf_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(_ERF(x), dtype=np.result_type(x, np.float16))  # a 0-d input gives a Python float


def erf(x: Operand) -> Tensor:
    """The error function (for the exact GELU); element by element in Python, fine for small tensors."""
    return apply("erf", _erf_fwd, (x,), _erf_vjp, keep_in=True)


def _erf_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    bump = exp(-x * x) if isinstance(x, Tensor) else np.exp(-x * x)
    return (g * (2.0 / math.sqrt(math.pi)) * bump,)


def _relu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu(x: Operand) -> Tensor:
    """Elementwise max(x, 0) (``x.relu()``); gradient 1 where x > 0, else 0.

    >>> import tinygrad_lstm as tl
    >>> tl.relu(tl.tensor([-1.0, 2.0]))
    Tensor([0., 2.], dtype=float32)
    """
    return apply("relu", _relu_fwd, (x,), _relu_vjp, keep_out=True)


def _relu_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    # PyTorch's threshold_backward: zero where y <= 0, so a NaN passes its gradient on
    if isinstance(g, Tensor):  # create_graph: PyTorch's threshold_backward(g, y) depends on y
        return (slope_backward("relu", g, ~(_data(y) <= 0), y),)
    return (np.where(y <= 0, 0, g),)  # where, not a product: inf * 0 would give nan


def _leaky_relu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, x * p)


def leaky_relu(x: Operand, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope * x`` (the slope at 0, as PyTorch's)."""
    return apply("leaky_relu", _leaky_relu_fwd, (x,), _leaky_relu_vjp, p=float(negative_slope), keep_in=True)


def _leaky_relu_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    slope = np.where(_data(x) > 0, 1.0, entry.p).astype(g.dtype, copy=False)
    return (slope_backward("leaky_relu", g, slope, x) if isinstance(g, Tensor) else g * slope,)


def _elu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, x, p * np.expm1(np.minimum(x, 0)))  # min: exp stays finite off its branch


def elu(x: Operand, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else ``alpha * (exp(x) - 1)``; at 0 its slope is alpha, as PyTorch's."""
    return apply("elu", _elu_fwd, (x,), _elu_vjp, p=float(alpha), keep_in=True)


def _elu_vjp(g: Grad, entry: Entry) -> tuple:
    x, alpha = entry.ins[0], entry.p
    negative = _data(x) <= 0  # PyTorch's elu_backward: alpha * exp(x) where x <= 0, else 1
    if isinstance(g, Tensor):  # recorded: the slope alpha * exp(x) depends on x where x < 0 (PyTorch's)
        return (where(negative, g * (exp(where(_data(x) < 0, x, 0.0)) * alpha), g),)
    slope = np.exp(np.minimum(x, 0)) * alpha
    return (np.where(negative, g * slope, g),)


def _hardtanh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.clip(x, *p)


def hardtanh(x: Operand, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond the ends
    (as PyTorch's, where ``clip`` passes it at the ends)."""
    return apply("hardtanh", _hardtanh_fwd, (x,), _hardtanh_vjp, p=(float(min_val), float(max_val)), keep_in=True)


def _hardtanh_vjp(g: Grad, entry: Entry) -> tuple:
    x, (lo, hi) = entry.ins[0], entry.p
    inside = (_data(x) > lo) & (_data(x) < hi)
    return (slope_backward("hardtanh", g, inside, x) if isinstance(g, Tensor) else np.where(inside, g, 0),)


def _slope_backward_fwd(p: Any, g: np.ndarray, source: np.ndarray | None) -> np.ndarray:
    _, slope = p
    out = np.zeros(np.broadcast_shapes(g.shape, slope.shape), dtype=g.dtype)
    return np.multiply(g, slope, out=out, where=slope != 0)  # skipping the zeros: inf * 0 would give nan


def slope_backward(op: str, g: Tensor, slope: np.ndarray, source: Any) -> Tensor:
    """``g * slope`` for a piecewise-linear ``op`` (relu, abs, leaky_relu, hardtanh) under
    create_graph, recorded as depending on ``source`` (its input or output) with a zero derivative.

    PyTorch's backward of these ops (threshold_backward, leaky_relu_backward, ...) reads the input,
    so the first gradient requires grad and differentiating it again gives zeros, as a gradient
    penalty expects, where a product by a constant mask would be cut from the graph and raise."""
    return apply(f"{op}_backward", _slope_backward_fwd, (g, source), _slope_backward_vjp, p=(op, slope), keep_in=True)


def _slope_backward_vjp(g: Grad, entry: Entry) -> tuple:
    # linear in g, with the same slope; its derivative in the source is zero (PyTorch's zeros_like)
    op, slope = entry.p
    gg = slope_backward(op, g, slope, entry.ins[1]) if isinstance(g, Tensor) else _slope_backward_fwd(entry.p, g, None)
    source = entry.parents[1]
    return gg, (_zeros_like_grad(g, source.shape, source.dtype) if source is not None else None)


def _zeros_like_grad(g: Grad, shape: tuple[int, ...], dtype: np.dtype):
    """A zero gradient that depends on nothing; a Tensor under create_graph, so that the VJPs it
    reaches record their work (as PyTorch's zeros_like(grad) flows on through its graph)."""
    zeros = np.zeros(shape, dtype)
    return Tensor._from(zeros) if isinstance(g, Tensor) else zeros


def _maximum_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise maximum; at ties each input gets half the gradient (as PyTorch)."""
    return _binary("maximum", _maximum_fwd, a, b, _maximum_vjp, keep_in=True)


def _minimum_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise minimum; at ties each input gets half the gradient (as PyTorch)."""
    return _binary("minimum", _minimum_fwd, a, b, _minimum_vjp, keep_in=True)


def _maximum_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = _data(entry.ins[0]), _data(entry.ins[1])
    return _to_the_winner(g, entry, a, b, a < b, a > b)


def _minimum_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = _data(entry.ins[0]), _data(entry.ins[1])
    return _to_the_winner(g, entry, a, b, a > b, a < b)


def _to_the_winner(g: Grad, entry: Entry, a: np.ndarray, b: np.ndarray, a_lost: np.ndarray, b_lost: np.ndarray):
    """maximum's and minimum's VJP, as PyTorch's: the gradient, halved at ties, and taken away from an
    input that lost (so where a NaN makes both comparisons false, both inputs get it). Chosen with
    where, not multiplied by a 0/1 share: inf * 0 would give nan, as PyTorch's does not."""
    shared = _where(a == b, g * 0.5, g)
    ga = unbroadcast(_where(a_lost, 0, shared), np.shape(a)) if entry.parents[0] is not None else None
    gb = unbroadcast(_where(b_lost, 0, shared), np.shape(b)) if entry.parents[1] is not None else None
    return ga, gb


def _where_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cond, _, _ = p
    return np.where(cond, a, b)


def where(cond: Operand, a: Operand, b: Operand) -> Tensor:
    """``a`` where ``cond`` else ``b`` (NumPy's ``where``); ``cond`` is not differentiated."""
    cond = _data(cond)
    try:
        return apply("where", _where_fwd, (a, b), _where_vjp, p=(cond, _shape(a), _shape(b)))
    except ValueError as e:
        raise ValueError(
            f"where: shapes {np.shape(cond)}, {_shape_text(a)} and {_shape_text(b)} do not broadcast"
        ) from e


def _where_vjp(g: Grad, entry: Entry) -> tuple:
    cond, sa, sb = entry.p
    ga = unbroadcast(_where(cond, g, 0), sa) if entry.parents[0] is not None else None
    gb = unbroadcast(_where(cond, 0, g), sb) if entry.parents[1] is not None else None
    return ga, gb


def _clip_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    lo, hi = p
    return np.clip(x, lo, hi)


def clip(x: Operand, lo: Operand = None, hi: Operand = None) -> Tensor:
    """NumPy's ``clip``; the gradient passes where ``lo <= x <= hi`` (bounds are constants)."""
    lo, hi = _data(lo), _data(hi)
    if lo is None and hi is None:
        raise ValueError("clip: at least one of min and max must be given")
    return apply("clip", _clip_fwd, (x,), _clip_vjp, p=(lo, hi), keep_in=True)


def _clip_vjp(g: Grad, entry: Entry) -> tuple:
    x = _data(entry.ins[0])
    lo, hi = entry.p
    inside = np.ones(g.shape, dtype=bool)  # the result's shape: array bounds may broadcast x
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return (unbroadcast(_where(inside, g, 0), x.shape),)


def _astype_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, dtype = p
    return x.astype(dtype)


def astype(x: Operand, dtype: npt.DTypeLike | None) -> Tensor:
    return apply("astype", _astype_fwd, (x,), _astype_vjp, p=(x.data.dtype, np.dtype(dtype)))  # (from, to)


def _astype_vjp(g: Grad, entry: Entry) -> tuple:
    from_dtype, _ = entry.p
    return (g.astype(from_dtype),)


def _compare_fwd(fn: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return fn(a, b)


def compare(fn: Callable, a: Operand, b: Operand) -> Tensor:
    """Comparisons give bool tensors and are never differentiated (no entry: ``apply`` records none
    for a bool result, but watchers see it)."""
    try:
        return apply(fn.__name__, _compare_fwd, (a, b), None, p=fn)
    except ValueError as e:
        raise ValueError(
            f"{fn.__name__}: operands with shapes {_shape_text(a)} and {_shape_text(b)} do not broadcast"
        ) from e


def _sign_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sign(x)


def sign(x: Operand) -> Tensor:
    """-1, 0 or 1; its gradient is 0 everywhere (as PyTorch's), not missing."""
    return apply("sign", _sign_fwd, (x,), _zero_vjp)


def _round_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.round(x, p)


def round(x: Operand, decimals: int = 0) -> Tensor:  # noqa: A001 - NumPy's and PyTorch's name
    """Round half to even at ``decimals`` decimals; its gradient is 0 everywhere, as PyTorch's."""
    return apply("round", _round_fwd, (x,), _zero_vjp, p=decimals)


def _zero_vjp(g: Grad, entry: Entry) -> tuple:
    # zeros that depend on nothing, as PyTorch's zeros_like(grad) (not g * 0: an infinite g gives NaN)
    return (_zeros_like_grad(g, _in_shape(entry, 0), g.dtype),)


# ---- reductions ------------------------------------------------------------------------------------


def reduced_axes(op: str, axis: Axes, ndim: int) -> tuple[int, ...]:
    """The axes a reduction over ``axis`` (None, an int or a tuple) removes, each checked by :func:`_axis`."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(_axis(op, a, ndim) for a in (axis if isinstance(axis, tuple) else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return axes


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _sum_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.sum(axis=axis, keepdims=keepdims)


def sum(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    d = x.data
    p = (d.shape, _kept_shape(d.shape, reduced_axes("sum", axis, d.ndim)), axis, keepdims)
    return apply("sum", _sum_fwd, (x,), _sum_vjp, p=p)


def _sum_vjp(g: Grad, entry: Entry) -> tuple:
    shape, kept, _, _ = entry.p
    return (_broadcast_to(g.reshape(kept), shape),)


def mean(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:
    shape = x.data.shape
    n = math.prod(shape[a] for a in reduced_axes("mean", axis, len(shape)))
    return sum(x, axis, keepdims) * (1.0 / n if n else np.nan)


def _max_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.max(axis=axis, keepdims=keepdims)


def _min_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.min(axis=axis, keepdims=keepdims)


def _extreme(op: str, fwd: Callable, x: Operand, axis: Axes, keepdims: bool) -> Tensor:
    d = x.data
    axes = reduced_axes(op, axis, d.ndim)
    if any(d.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: an empty axis of shape {d.shape} has no {op}imum (axis={axis})")
    p = (_kept_shape(d.shape, axes), axes, axis, keepdims)
    return apply(op, fwd, (x,), _extreme_vjp, p=p, keep_in=True, keep_out=True)


def _extreme_vjp(g: Grad, entry: Entry) -> tuple:
    # the gradient is shared evenly among tied extreme elements (as PyTorch's amax/amin); a NaN
    # maximum of the whole tensor (axis None, PyTorch's x.max()) goes to the NaNs, over an axis to none
    kept, axes, axis, _ = entry.p
    x, extreme = _data(entry.ins[0]), _data(entry.out).reshape(kept)
    hit = (x == extreme) | (np.isnan(x) & np.isnan(extreme)) if axis is None else x == extreme
    share = hit / hit.sum(axis=axes, keepdims=True)
    return (g.reshape(kept) * share.astype(g.dtype),)


def _centred(x: Operand, axes: tuple, n: int):
    """x minus its mean over ``axes`` (NaN for an empty axis, without NumPy's warning)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return x - x.sum(axis=axes, keepdims=True) * (1.0 / n if n else np.nan)


def _var_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axes, keepdims, n, scale, _ = p
    centred = _centred(x, axes, n)
    with np.errstate(invalid="ignore"):
        return (centred * centred).sum(axis=axes, keepdims=keepdims) * scale


def var(x: Operand, axis: Axes = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``: the squared distance from the mean, summed, over n - ``correction``
    (PyTorch's max(0, n - correction): inf, or NaN for a constant, when correction >= n). Its VJP is
    PyTorch's, 2 (x - mean) / (n - correction), so its gradient is exact to second order."""
    d = x.data
    axes = reduced_axes("var", axis, d.ndim)
    n = math.prod(d.shape[a] for a in axes)
    scale = 1.0 / (n - correction) if n > correction else math.inf
    p = Structure((axes, keepdims, n, scale, _kept_shape(d.shape, axes)))
    return apply("var", _var_fwd, (x,), _var_vjp, p=p, keep_in=True)


def _var_vjp(g: Grad, entry: Entry) -> tuple:
    axes, _, n, scale, kept = entry.p
    x = entry.ins[0]
    with np.errstate(invalid="ignore"):
        return ((g.reshape(kept) * (2.0 * scale)) * _centred(x, axes, n),)


def _argmax_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axis, keepdims = p
    return np.argmax(x, axis=axis, keepdims=keepdims)


def _argmin_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axis, keepdims = p
    return np.argmin(x, axis=axis, keepdims=keepdims)


def argmax(x: Operand, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (first at ties; over all elements by default): integers, never
    differentiated, but an op, so a compiled step computes it again on every call."""
    return apply("argmax", _argmax_fwd, (x,), None, p=(axis, keepdims))


def argmin(x: Operand, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value (first at ties): as :func:`argmax`."""
    return apply("argmin", _argmin_fwd, (x,), None, p=(axis, keepdims))


def max(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme("max", _max_fwd, x, axis, keepdims)


def min(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme("min", _min_fwd, x, axis, keepdims)


# ---- linear algebra ----------------------------------------------------------------------------------


def _matmul_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return blas.matmul(a, b)


def matmul(a: Operand, b: Operand) -> Tensor:
    try:
        return apply("matmul", _matmul_fwd, (a, b), _matmul_vjp, keep_in=OTHER)
    except ValueError as e:
        inner_a, inner_b = _shape(a)[-1:], _shape(b)[-2:][:1]
        raise ValueError(
            f"matmul: shapes {_shape_text(a)} and {_shape_text(b)} are not aligned"
            f" (inner dimensions {inner_a} and {inner_b})"
        ) from e


def _matmul_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins  # a is kept only when b needs a gradient, and b only when a does
    need_a, need_b = entry.parents[0] is not None, entry.parents[1] is not None
    sa, sb = _in_shape(entry, 0), _in_shape(entry, 1)
    if len(sb) == 2 and len(sa) >= 2:  # the common case: fold a's batch dims into one matrix product
        ga = blas.matmul(g, b.T) if need_a else None
        return ga, (weight_grad((a,), (g,)) if need_b else None)
    # promote 1-D operands as matmul does, then undo it on the way back
    sa2 = (1,) + sa if len(sa) == 1 else sa
    sb2 = sb + (1,) if len(sb) == 1 else sb
    g2 = g
    if len(sa) == 1:
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if len(sb) > 1 else g2.reshape((1,))
    if len(sb) == 1:
        g2 = g2.reshape(g2.shape + (1,))
    ga = gb = None
    if need_a:
        ga = unbroadcast(blas.matmul(g2, b.reshape(sb2).swapaxes(-1, -2)), sa2).reshape(sa)
    if need_b:
        gb = unbroadcast(blas.matmul(a.reshape(sa2).swapaxes(-1, -2), g2), sb2).reshape(sb)
    return ga, gb


def _rows(x: Any):
    """``x`` as a matrix of its last axis (``reshape(-1, n)`` cannot say how many rows when n is 0)."""
    return x.reshape((math.prod(x.shape[:-1]), x.shape[-1]))


def weight_grad(inputs: tuple, grads: tuple) -> np.ndarray:
    """The gradient of a 2-D weight ``b`` used by products ``input @ b``: the sum of ``input^T grad``
    over the pairs, as one product of their stacked rows (``tl.compile`` joins a recurrent weight's
    steps this way; one pair is matmul's own VJP)."""
    a = _rows(inputs[0]) if len(inputs) == 1 else np.concatenate([_rows(x) for x in inputs])
    g = _rows(grads[0]) if len(grads) == 1 else np.concatenate([_rows(x) for x in grads])
    # BLAS makes a wide result faster as the transpose of g^T a
    return blas.matmul(g.T, a).T if a.shape[1] < g.shape[1] else blas.matmul(a.T, g)


# ---- shape ------------------------------------------------------------------------------------------


def _reshape_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, shape = p
    return x.reshape(shape)


def reshape(x: Operand, shape: tuple[int, ...]) -> Tensor:
    try:
        p = (x.data.shape, tuple(shape))
        return _as_view(
            apply("reshape", _reshape_fwd, (x,), _reshape_vjp, p), x, "reshape", _reshape_fwd, _reshape_vjp, p
        )
    except (ValueError, TypeError) as e:
        raise ValueError(f"reshape: cannot reshape shape {x.data.shape} into {tuple(shape)}") from e


def _reshape_vjp(g: Grad, entry: Entry) -> tuple:
    shape, _ = entry.p
    return (g.reshape(shape),)


def _transpose_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return x.transpose(p)


def transpose(x: Operand, axes: Sequence[int] | None = None) -> Tensor:
    d = x.data
    axes = tuple(range(d.ndim))[::-1] if axes is None else tuple(_axis("transpose", a, d.ndim) for a in axes)
    if sorted(axes) != list(range(d.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation for shape {d.shape}")
    return _as_view(apply("transpose", _transpose_fwd, (x,), _transpose_vjp, axes), x, "transpose", _transpose_fwd,
                    _transpose_vjp, axes)  # fmt: skip


def _transpose_vjp(g: Grad, entry: Entry) -> tuple:
    return (g.transpose(tuple(np.argsort(entry.p))),)


def swapaxes(x: Operand, axis1: int, axis2: int) -> Tensor:
    axes = list(range(x.ndim))
    axis1, axis2 = _axis("swapaxes", axis1, x.ndim), _axis("swapaxes", axis2, x.ndim)
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


def expand_dims(x: Operand, axis: int | tuple[int, ...]) -> Tensor:
    axes = axis if isinstance(axis, tuple) else (axis,)
    ndim = x.ndim + len(axes)
    for a in axes:
        _axis("expand_dims", a, ndim)
    return reshape(x, np.expand_dims(x.data, axis).shape)


def squeeze(x: Operand, axis: Axes = None) -> Tensor:
    try:
        shape = np.squeeze(x.data, axis).shape
    except ValueError as e:
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of shape {x.data.shape}") from e
    return reshape(x, shape)


def _broadcast_to_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, shape = p
    if math.prod(shape) == x.size:  # only axes of size 1 added: a writable view, as PyTorch's expand
        return x.reshape(shape)
    return np.broadcast_to(x, shape)


def broadcast_to(x: Operand, shape: tuple[int, ...]) -> Tensor:
    p = (x.data.shape, tuple(shape))
    try:
        if np.broadcast_shapes(x.data.shape, p[1]) != p[1]:
            raise ValueError("the target shape is smaller")
        t = apply("broadcast_to", _broadcast_to_fwd, (x,), _broadcast_to_vjp, p=p)
    except ValueError as e:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.data.shape} to {shape}") from e
    return _as_view(t, x, "broadcast_to", _broadcast_to_fwd, _broadcast_to_vjp, p)


def _broadcast_to_vjp(g: Grad, entry: Entry) -> tuple:
    shape, _ = entry.p
    return (unbroadcast(g, shape),)


# ---- indexing ---------------------------------------------------------------------------------------

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _plain_index(index: Any):
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


def _getitem_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    index, _, basic = p
    out = x[index]
    if basic and type(out) is not np.ndarray:  # one element: a 0-d view of it, as PyTorch's (not a copy)
        out = x[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
    return out


def getitem(x: Operand, index: Any) -> Tensor:
    index, basic = _plain_index(index)
    try:
        p = (index, x.data.shape, basic)
        if not basic:  # advanced indexing copies
            return apply("getitem", _getitem_fwd, (x,), _getitem_vjp, p=p)
        p = Structure(p)
        return _as_view(apply("getitem", _getitem_fwd, (x,), _getitem_vjp, p=p), x, "getitem", _getitem_fwd,
                        _getitem_vjp, p)  # fmt: skip
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.data.shape}: {e}") from e


def _getitem_vjp(g: Grad, entry: Entry) -> tuple:
    index, shape, basic = entry.p
    if isinstance(g, Tensor):
        return (scatter_add(g, index, shape, basic),)
    return (IndexedGrad(g, index, shape, basic),)


class IndexedGrad:
    """A gradient that is zero except at ``index``: the sweep adds it into the parent's buffer in
    place, so T slices of one array cost T slice-sized adds, not T full-size arrays."""

    __slots__ = ("values", "index", "shape", "basic")

    def __init__(self, values: Any, index: Any, shape: tuple[int, ...], basic: bool) -> None:
        self.values, self.index, self.shape, self.basic = values, index, shape, basic

    def add_into(self, buffer: np.ndarray) -> None:
        if self.basic:
            region = buffer[self.index]  # a view: one indexing, not the two of `buffer[i] += v`
            if type(region) is np.ndarray:
                np.add(region, self.values, out=region)
            else:  # a single element: indexing gave a scalar copy, not a view
                buffer[self.index] += self.values
        else:
            np.add.at(buffer, self.index, self.values)  # repeated indices add up

    def dense(self, dtype: npt.DTypeLike) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=dtype)
        self.add_into(buffer)
        return buffer


def _scatter_add_fwd(p: Any, g: np.ndarray) -> np.ndarray:
    return IndexedGrad(g, *p).dense(g.dtype)


def scatter_add(g: Grad, index: Any, shape: tuple[int, ...], basic: bool) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``index``: the adjoint of ``getitem``."""
    return apply("scatter_add", _scatter_add_fwd, (g,), _scatter_add_vjp, p=(index, shape, basic))


def _scatter_add_vjp(g: Grad, entry: Entry) -> tuple:
    index, _, _ = entry.p
    return (g[index],)


def _index_put_fwd(p: Any, x: np.ndarray, v: Any) -> np.ndarray:
    index, _ = p
    out = x.copy()
    out[index] = v
    return out


def index_put(x: Operand, index: Any, v: Operand) -> Tensor:
    """``x`` with ``v`` written at ``index`` (a new tensor): what ``x[index] = v`` records on a graph."""
    index, _ = _plain_index(index)
    try:
        return apply("index_put", _index_put_fwd, (x, v), _index_put_vjp, p=(index, _shape(v)))
    except (IndexError, ValueError) as e:
        kind = IndexError if isinstance(e, IndexError) else ValueError
        where = f"at {index!r} of shape {_shape(x)}"
        raise kind(f"setitem: cannot write a value of shape {_shape_text(v)} {where}: {e}") from e


def _index_put_vjp(g: Grad, entry: Entry) -> tuple:
    index, v_shape = entry.p
    gx = gv = None
    if entry.parents[0] is not None:  # the overwritten elements had no effect on the result
        gx = index_put(g, index, 0.0) if isinstance(g, Tensor) else _index_put_fwd(entry.p, g, 0.0)
    if entry.parents[1] is not None:  # every position v was written to, as PyTorch's index_put_
        written = g[index]
        if written.ndim < len(v_shape):  # NumPy lets v carry extra leading 1s
            written = written.reshape((1,) * (len(v_shape) - written.ndim) + written.shape)
        gv = unbroadcast(written, v_shape)
    return gx, gv


# ---- joining and splitting ---------------------------------------------------------------------------


def _cat_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    axis, _ = p
    return np.concatenate(arrays, axis=axis)


def axis_or_dim(op: str, axis: AxesArg, dim: AxesArg, default: Any = None) -> Any:
    """NumPy's ``axis=`` or PyTorch's ``dim=`` (one of them; a list of axes becomes a tuple)."""
    if axis is not None and dim is not None:
        raise TypeError(f"{op}: give axis= (NumPy's name) or dim= (PyTorch's), not both")
    chosen = dim if dim is not None else axis
    if chosen is None:
        return default
    return tuple(chosen) if isinstance(chosen, list) else chosen


def cat(tensors: Sequence[Operand], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along an existing axis (NumPy's ``concatenate``; ``dim=`` as in ``torch.cat``)."""
    axis = axis_or_dim("cat", axis, dim, 0)
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("cat: got an empty list of tensors; there is nothing to join")
    shapes = [_shape(t) for t in tensors]
    if not shapes[0]:
        raise ValueError("cat: 0-d tensors cannot be joined along an axis (use stack)")
    axis = _axis("cat", axis, len(shapes[0]))
    try:
        bounds = np.cumsum([0] + [s[axis] for s in shapes])
        return apply("cat", _cat_fwd, tensors, _cat_vjp, p=(axis, bounds))
    except (ValueError, IndexError) as e:
        joined = ", ".join(str(s) for s in shapes)
        raise ValueError(f"cat: shapes {joined} cannot be joined along axis {axis}") from e


def _cat_vjp(g: Grad, entry: Entry) -> tuple:
    axis, bounds = entry.p
    lead = (slice(None),) * axis
    return tuple(
        g[lead + (slice(int(s), int(e)),)] if parent is not None else None
        for parent, s, e in zip(entry.parents, bounds[:-1], bounds[1:])
    )


def _stack_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    return np.stack(arrays, axis=p)


def stack(tensors: Sequence[Operand], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along a new axis (NumPy's ``stack``; ``dim=`` as in ``torch.stack``)."""
    axis = axis_or_dim("stack", axis, dim, 0)
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("stack: got an empty list of tensors; there is nothing to join")
    shapes = [_shape(t) for t in tensors]
    if len(set(shapes)) != 1:
        raise ValueError(f"stack: shapes {', '.join(str(s) for s in shapes)} must all be equal")
    return apply("stack", _stack_fwd, tensors, _stack_vjp, p=_axis("stack", axis, len(shapes[0]) + 1))


def _stack_vjp(g: Grad, entry: Entry) -> tuple:
    lead = (slice(None),) * entry.p
    return tuple(g[lead + (i,)] if parent is not None else None for i, parent in enumerate(entry.parents))


def split(
    x: Operand, indices_or_sections: int | Sequence[int], axis: int | None = None, *, dim: int | None = None
) -> list[Tensor]:
    """NumPy's ``split`` with ``axis=``: equal sections, or the indices where each piece starts.
    With ``dim=`` it is ``torch.split``: pieces of ``split_size`` (the last may be shorter), or of
    the listed sizes."""
    if dim is not None:
        if axis is not None:
            raise TypeError("split: give axis= (NumPy's meaning) or dim= (PyTorch's), not both")
        return split_sizes(x, indices_or_sections, dim)
    axis = _axis("split", 0 if axis is None else axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of shape {x.shape} does not split into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(indices_or_sections)
    lead = (slice(None),) * axis
    edges = [0, *cuts, n]
    return [getitem(x, lead + (slice(s, e),)) for s, e in zip(edges[:-1], edges[1:])]


def _cumsum_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.cumsum(x, axis=p)


def cumsum(x: Operand, axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Running sum along ``axis`` (``dim``); its gradient is the running sum of ``g`` from the other end."""
    axis = _axis("cumsum", axis_or_dim("cumsum", axis, dim), x.ndim) if x.ndim else None
    if axis is None:
        raise ValueError("cumsum: give axis= (or dim=); a 0-d tensor has no axis to run along")
    return apply("cumsum", _cumsum_fwd, (x,), _cumsum_vjp, p=axis)


def _cumsum_vjp(g: Grad, entry: Entry) -> tuple:
    reverse = (slice(None),) * entry.p + (slice(None, None, -1),)
    if isinstance(g, Tensor):
        return (getitem(cumsum(getitem(g, reverse), entry.p), reverse),)
    return (np.cumsum(g[reverse], axis=entry.p)[reverse],)


def _einsum_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    subscripts, _, _ = p
    return np.einsum(subscripts, *arrays)


def einsum(subscripts: str, *operands: Operand) -> Tensor:
    """NumPy's (and PyTorch's) ``einsum`` with explicit output (``"bij,bjk->bik"``). The gradient of
    each operand is an einsum of the output's gradient with the others; indices summed within one
    operand alone come back by broadcasting. No ``...``, no index repeated within one operand."""
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if not arrow or "." in subscripts or len(terms) != len(operands):
        raise ValueError(
            f"einsum: {subscripts!r} must name each of the {len(operands)} operands and the output after '->', "
            "without '...'"
        )
    for term, x in zip(terms, operands):
        if len(set(term)) != len(term) or len(term) != len(_shape(x)):
            raise ValueError(f"einsum: {term!r} must name each axis of an operand of shape {_shape_text(x)} once")
    try:
        # each operand is read by the other operands' gradients
        readers = tuple(tuple(j for j in range(len(terms)) if j != i) for i in range(len(terms)))
        return apply("einsum", _einsum_fwd, tuple(operands), _einsum_vjp, p=(f"{inputs}->{output}", terms, output),
                     keep_in=readers)  # fmt: skip
    except ValueError as e:
        shapes = ", ".join(_shape_text(x) for x in operands)
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes}: {e}") from e


def _einsum_vjp(g: Grad, entry: Entry) -> tuple:
    _, terms, output = entry.p
    grads: list[Grad] = []
    for i, term in enumerate(terms):
        parent = entry.parents[i]
        if parent is None:
            grads.append(None)
            continue
        others = [x for j, x in enumerate(entry.ins) if j != i]
        seen = set(output).union(*(terms[j] for j in range(len(terms)) if j != i))
        kept = "".join(a for a in term if a in seen)  # the rest were summed in this operand alone
        spec = ",".join([output, *(terms[j] for j in range(len(terms)) if j != i)]) + "->" + kept
        recorded = isinstance(g, Tensor) or any(isinstance(x, Tensor) for x in others)  # create_graph
        grad = einsum(spec, g, *others) if recorded else np.einsum(spec, g, *others)
        if kept != term:  # put back the axes summed in this operand alone, by broadcasting
            shape = parent.shape
            grad = _reshape(grad, tuple(n if a in kept else 1 for n, a in zip(shape, term)))
            grad = _broadcast_to(grad, shape)
        grads.append(grad)
    return tuple(grads)


def _reshape(g: Grad, shape: tuple[int, ...]):
    return reshape(g, shape) if isinstance(g, Tensor) else np.reshape(g, shape)


def split_sizes(x: Operand, split_size: int | Sequence[int], dim: int = 0) -> list[Tensor]:
    """``torch.split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or of each
    size in a list (which must add up to the axis)."""
    dim = _axis("split", dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size, (int, np.integer)):
        if split_size <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size}")
        return split(x, list(range(int(split_size), n, int(split_size))), axis=dim)
    sizes = [int(k) for k in split_size]
    cuts = np.cumsum(sizes).tolist()
    if any(k < 0 for k in sizes) or (cuts[-1] if cuts else 0) != n:
        raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n} (axis {dim} of {x.shape})")
    return split(x, cuts[:-1], axis=dim)


# ---- constructors ------------------------------------------------------------------------------------


def _shape_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def tensor(data: Any, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``: Python floats in the default dtype
    (``tl.get_default_dtype()``), a NumPy array in its own.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> tl.tensor([[1.0, 2.0]]).dtype, tl.tensor(np.ones(2)).dtype, tl.tensor([1, 2]).dtype
    (dtype('float32'), dtype('float64'), dtype('int64'))
    """
    data = _data(data)
    array = np.array(data, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(data, array), requires_grad=requires_grad)


def zeros(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, in the default dtype unless ``dtype`` is given.

    >>> import tinygrad_lstm as tl
    >>> tl.zeros(2, 3).shape, tl.zeros((2, 3)).dtype
    ((2, 3), dtype('float32'))
    """
    return Tensor(np.zeros(_shape_args(shape), dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def ones(*shape: ShapeArgs, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones, in the default dtype unless ``dtype`` is given: ``tl.ones(2, 3)`` or ``tl.ones((2, 3))``."""
    return Tensor(np.ones(_shape_args(shape), dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def full(
    shape: ShapeArgs, fill_value: float, dtype: npt.DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (a Python float gives the default dtype, an int int64).

    >>> import tinygrad_lstm as tl
    >>> tl.full((2,), 0.5)
    Tensor([0.5, 0.5], dtype=float32)
    """
    array = np.full(shape, fill_value, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(fill_value, array), requires_grad=requires_grad)


def zeros_like(x: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Zeros of ``x``'s shape and dtype (or ``dtype``)."""
    return Tensor(np.zeros_like(_data(x), dtype=dtype), requires_grad=requires_grad)


def ones_like(x: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """Ones of ``x``'s shape and dtype (or ``dtype``)."""
    return Tensor(np.ones_like(_data(x), dtype=dtype), requires_grad=requires_grad)


def randn(
    *shape: ShapeArgs,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples in the default dtype unless ``dtype`` is given (``rng``: a
    ``np.random.Generator``; default ``tl.manual_seed``'s). The samples are drawn in float64 and then
    rounded, so float32 and float64 draws from one seed hold the same numbers.

    >>> import tinygrad_lstm as tl
    >>> x = tl.randn(3, 4, requires_grad=True)
    >>> x.shape, x.dtype, x.requires_grad
    ((3, 4), dtype('float32'), True)
    """
    data = (rng or random.generator()).standard_normal(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def rand(
    *shape: ShapeArgs,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples on [0, 1), in the default dtype unless ``dtype`` is given (as ``randn``)."""
    data = (rng or random.generator()).random(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
) -> Tensor:
    """``start, start + step, ...`` below ``stop``: int64 for ints, the default dtype for Python floats.

    >>> import tinygrad_lstm as tl
    >>> tl.arange(3), tl.arange(0, 1, 0.5)
    (Tensor([0, 1, 2], dtype=int64), Tensor([0. , 0.5], dtype=float32))
    """
    array = np.arange(start, stop, step, dtype=dtype)
    return Tensor(
        array if dtype is not None else dtypes.from_python((start, stop, step), array), requires_grad=requires_grad
    )


def eye(n: int, m: int | None = None, dtype: npt.DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (square by default)."""
    return Tensor(np.eye(n, m, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: npt.DTypeLike | None = None, requires_grad: bool = False
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (``torch.linspace``)."""
    return Tensor(np.linspace(start, end, steps, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory, as ``torch.from_numpy`` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def as_tensor(data: Any, dtype: npt.DTypeLike | None = None) -> Tensor:
    """A tensor from ``data``, sharing memory when ``data`` is already an array of ``dtype``; a
    Tensor of that dtype is returned as it is."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    data = _data(data)
    array = np.asarray(data, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(data, array))


# ---- composites: built only from the primitives above, so their gradients (and the gradients of
# their gradients) come from the primitives' VJPs. The softmax family subtracts the (detached)
# maximum before exp: the gradient does not depend on that shift, so treating it as a constant is
# exact, and inputs of +-1e4 stay finite --------------------------------------------------------------


def _stable_shift(x: Tensor, axis: Axes, op: str, infinite: tuple = (-np.inf,)) -> Tensor:
    """The max along ``axis`` (kept dims) as a constant, 0 where it is one of ``infinite``, as PyTorch
    shifts: softmax by the max as it is, so a row holding +inf gives NaN (inf - inf), and a row of -inf
    only by 0 (its exp is 0); logsumexp by 0 wherever the max is infinite (logsumexp([inf, 0]) = inf).
    Computed with ops on the detached value, not on ``x.data``, so that whoever watches ops sees it."""
    reduced_axes(op, axis, x.ndim)
    m = max(Tensor._from(x.data), axis=axis, keepdims=True)
    if np.inf in infinite:
        return where(compare(np.less, abs(m), np.inf), m, 0)
    return where(compare(np.equal, m, -np.inf), 0, m)


def logsumexp(x: Tensor, axis: Axes = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x), axis)) without overflow.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> f"{tl.Tensor(np.array([1e4, 1e4])).logsumexp():.6f}"  # 1e4 + log 2
    '10000.693147'
    """
    m = _stable_shift(x, axis, "logsumexp", infinite=(-np.inf, np.inf))
    out = log(sum(exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x), computed as PyTorch does: (x - max) - log(sum(exp(x - max)))."""
    shifted = x - _stable_shift(x, axis, "log_softmax")
    return shifted - log(sum(exp(shifted), axis=axis, keepdims=True))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (the last by default), shifted by the maximum first so that it
    never overflows.

    >>> import tinygrad_lstm as tl
    >>> tl.softmax(tl.tensor([[1.0, 1.0], [0.0, 1000.0]]))
    Tensor([[0.5, 0.5],
            [0. , 1. ]], dtype=float32)
    """
    e = exp(x - _stable_shift(x, axis, "softmax"))
    return e / sum(e, axis=axis, keepdims=True)


def vector_norm(x: Tensor, p: float = 2, axis: Axes = None, keepdims: bool = False) -> Tensor:
    """The ``p``-norm over ``axis`` (all elements by default). At a zero vector the gradient is 0,
    PyTorch's choice of subgradient, not the NaN that sqrt'(0) * 0 would give."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    if p == np.inf:
        return abs(x).max(axis, keepdims)
    if p == 1:
        return abs(x).sum(axis, keepdims)
    if p == 2:
        powered = (x * x).sum(axis, keepdims)
    else:  # |x| ** p taken only where x != 0: at 0 its slope (p < 1) or curvature (p < 2) is infinite
        nonzero = compare(np.not_equal, x, 0)
        powered = where(nonzero, where(nonzero, abs(x), 1.0) ** p, 0.0).sum(axis, keepdims)
    return root_or_zero(powered, p)


def root_or_zero(x: Tensor, p: float = 2) -> Tensor:
    """``x ** (1/p)`` of a non-negative ``x``, with gradient 0 where ``x`` is 0 (PyTorch's subgradient
    for norms and std), not the infinite slope of the root there times 0."""
    nonzero = compare(np.not_equal, x, 0)  # NaN included: the std of one value is NaN, as PyTorch's
    safe = where(nonzero, x, 1.0)  # the root is taken only where it has a gradient
    return where(nonzero, safe ** (1.0 / p) if p != 2 else sqrt(safe), 0.0)


def prod(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (all elements by default), as a chain of products: exact gradients
    with zeros in the input, where dividing the product by x would give 0/0."""
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis("prod", axis, x.ndim)
    lead = (slice(None),) * axis
    if x.shape[axis] == 0:
        out = sum(x, axis, keepdims) * 0.0 + 1.0  # the empty product, still on the graph
        return out
    out = getitem(x, lead + (0,))
    for k in range(1, x.shape[axis]):
        out = out * getitem(x, lead + (k,))
    return expand_dims(out, axis) if keepdims else out


def _flip_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.flip(x, p).copy()  # a copy, as PyTorch's flip (NumPy's is a view)


def flip(x: Tensor, dims: int | tuple[int, ...] | list[int]) -> Tensor:
    """Reverse the order along each axis in ``dims`` (new memory, as ``torch.flip``)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = Structure(sorted({_axis("flip", d, x.ndim) for d in dims}))
    return apply("flip", _flip_fwd, (x,), _flip_vjp, p=axes)


def _flip_vjp(g: Grad, entry: Entry) -> tuple:
    return (flip(g, entry.p) if isinstance(g, Tensor) else np.flip(g, entry.p),)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero above the ``diagonal``-th diagonal of the last two axes (a causal mask keeps the past)."""
    if x.ndim < 2:
        raise ValueError(f"tril: needs at least 2 axes, got shape {x.shape}")
    n, m = x.shape[-2:]
    return where(np.tri(n, m, k=diagonal, dtype=bool), x, 0.0)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero below the ``diagonal``-th diagonal of the last two axes."""
    if x.ndim < 2:
        raise ValueError(f"triu: needs at least 2 axes, got shape {x.shape}")
    n, m = x.shape[-2:]
    return where(~np.tri(n, m, k=diagonal - 1, dtype=bool), x, 0.0)


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for dim 0 (and so on), ``index`` of the
    output's shape; NumPy calls it ``take_along_axis``."""
    index = np.asarray(_data(index))
    dim = _axis("gather", dim, x.ndim)
    if index.ndim != x.ndim or index.dtype.kind not in "iu":
        raise ValueError(f"gather: index must be integers with {x.ndim} axes like the input, got {index.dtype} "
                         f"of shape {index.shape}")  # fmt: skip
    if any(index.shape[a] > x.shape[a] for a in range(x.ndim) if a != dim):
        raise ValueError(f"gather: index shape {index.shape} is larger than input shape {x.shape} off axis {dim}")
    if index.size and (index.min() < -x.shape[dim] or index.max() >= x.shape[dim]):
        raise IndexError(f"gather: index values must lie in [0, {x.shape[dim]}) along axis {dim}")
    grid = np.indices(index.shape, sparse=True)
    return getitem(x, tuple(index if a == dim else grid[a] for a in range(x.ndim)))


def square(x: Tensor) -> Tensor:
    return x * x
