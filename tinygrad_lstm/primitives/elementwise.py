"""Elementwise functions (exp, log, tanh, sigmoid, the piecewise-linear activations, where, clip...):
each output element from the input elements at its position alone. Each primitive is its forward,
its VJP and one :class:`~.primitive.Primitive` (see ``primitive.py`` for what they take)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..tape import Entry
from .primitive import Grad, Primitive, data, in_shape, is_tensor, shape_of, unbroadcast, zeros_like_grad


def where_(cond: Any, a: Any, b: Any) -> Any:
    """NumPy's ``where`` on arrays; recorded when ``a`` or ``b`` is a Tensor (``cond`` is a constant)."""
    if is_tensor(a) or is_tensor(b):
        return WHERE(a, b, p=(cond, shape_of(a), shape_of(b)))
    return np.where(cond, a, b)


def log_(x: Any) -> Any:
    return LOG(x) if is_tensor(x) else np.log(x)


def _exp_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.exp(x)


def _exp_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * entry.out,)


EXP = Primitive("exp", _exp_fwd, _exp_vjp, keep_out=True, elementwise=True, floating=True)


def _log_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log(x)


def _log_vjp(g: Grad, entry: Entry) -> tuple:
    return (g / entry.ins[0],)


LOG = Primitive("log", _log_fwd, _log_vjp, keep_in=True, elementwise=True, floating=True)


def _sqrt_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sqrt(x)


def _sqrt_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * 0.5 / entry.out,)


SQRT = Primitive("sqrt", _sqrt_fwd, _sqrt_vjp, keep_out=True, elementwise=True, floating=True)


def _abs_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.abs(x)


def _abs_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    sign = np.sign(data(x))
    sign = np.where(sign != sign, 0, sign)  # PyTorch's sgn: 0 at NaN, so a NaN input gets no gradient
    if is_tensor(g):  # create_graph: the gradient depends on x, as PyTorch's (x.sgn() is on its graph)
        return (slope_backward("abs", g, sign, x),)
    return (g * sign,)


ABS = Primitive("abs", _abs_fwd, _abs_vjp, keep_in=True, elementwise=True)


def _tanh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def _tanh_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    if is_tensor(g):
        return (g * (1 - y * y),)
    d = np.multiply(y, y, out=np.empty_like(y))  # the same arithmetic in place: one new array
    np.subtract(1, d, out=d)
    d *= g
    return (d,)


TANH = Primitive("tanh", _tanh_fwd, _tanh_vjp, keep_out=True, elementwise=True, floating=True)


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


def _sigmoid_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    if is_tensor(g):
        return (g * y * (1 - y),)
    d = np.subtract(1, y, out=np.empty_like(y))  # in place, as in tanh's VJP
    d *= y
    d *= g
    return (d,)


SIGMOID = Primitive("sigmoid", _sigmoid_fwd, _sigmoid_vjp, keep_out=True, elementwise=True, floating=True)


def _log1p_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log1p(x)


def _log1p_vjp(g: Grad, entry: Entry) -> tuple:
    return (g / (entry.ins[0] + 1.0),)


LOG1P = Primitive("log1p", _log1p_fwd, _log1p_vjp, keep_in=True, elementwise=True, floating=True)


def _expm1_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.expm1(x)


def _expm1_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * (entry.out + 1.0),)


EXPM1 = Primitive("expm1", _expm1_fwd, _expm1_vjp, keep_out=True, elementwise=True, floating=True)


def _sin_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sin(x)


def _sin_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g * (COS(x) if is_tensor(x) else np.cos(x)),)


SIN = Primitive("sin", _sin_fwd, _sin_vjp, keep_in=True, elementwise=True, floating=True)


def _cos_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.cos(x)


def _cos_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (-g * (SIN(x) if is_tensor(x) else np.sin(x)),)


COS = Primitive("cos", _cos_fwd, _cos_vjp, keep_in=True, elementwise=True, floating=True)


def _atan_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arctan(x)


def _atan_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (x * x + 1.0),)


ATAN = Primitive("atan", _atan_fwd, _atan_vjp, keep_in=True, elementwise=True, floating=True)


# ---- the rest of the trigonometric and hyperbolic family, and logarithms in other bases: each VJP is
# PyTorch's formula, written with operators, so that it is differentiated again -------------------------


def _tan_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.tan(x)


def _tan_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    return (g * (y * y + 1.0),)


TAN = Primitive("tan", _tan_fwd, _tan_vjp, keep_out=True, elementwise=True, floating=True)


def _sinh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sinh(x)


def _sinh_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g * (COSH(x) if is_tensor(x) else np.cosh(x)),)


SINH = Primitive("sinh", _sinh_fwd, _sinh_vjp, keep_in=True, elementwise=True, floating=True)


def _cosh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.cosh(x)


def _cosh_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g * (SINH(x) if is_tensor(x) else np.sinh(x)),)


COSH = Primitive("cosh", _cosh_fwd, _cosh_vjp, keep_in=True, elementwise=True, floating=True)


def _asin_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arcsin(x)


def _asin_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (1.0 - x * x) ** 0.5,)


ASIN = Primitive("asin", _asin_fwd, _asin_vjp, keep_in=True, elementwise=True, floating=True)


def _acos_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arccos(x)


def _acos_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (-g / (1.0 - x * x) ** 0.5,)


ACOS = Primitive("acos", _acos_fwd, _acos_vjp, keep_in=True, elementwise=True, floating=True)


def _asinh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arcsinh(x)


def _asinh_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (x * x + 1.0) ** 0.5,)


ASINH = Primitive("asinh", _asinh_fwd, _asinh_vjp, keep_in=True, elementwise=True, floating=True)


def _acosh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arccosh(x)


def _acosh_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (x * x - 1.0) ** 0.5,)


ACOSH = Primitive("acosh", _acosh_fwd, _acosh_vjp, keep_in=True, elementwise=True, floating=True)


def _atanh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.arctanh(x)


def _atanh_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (1.0 - x * x),)


ATANH = Primitive("atanh", _atanh_fwd, _atanh_vjp, keep_in=True, elementwise=True, floating=True)


def _log2_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log2(x)


def _log2_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (x * math.log(2.0)),)


LOG2 = Primitive("log2", _log2_fwd, _log2_vjp, keep_in=True, elementwise=True, floating=True)


def _log10_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.log10(x)


def _log10_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g / (x * math.log(10.0)),)


LOG10 = Primitive("log10", _log10_fwd, _log10_vjp, keep_in=True, elementwise=True, floating=True)


def _exp2_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.exp2(x)


def _exp2_vjp(g: Grad, entry: Entry) -> tuple:
    return (g * (entry.out * math.log(2.0)),)


EXP2 = Primitive("exp2", _exp2_fwd, _exp2_vjp, keep_out=True, elementwise=True, floating=True)


_ERF = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf; math.erf is exact to the last bit or so


def _erf_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(_ERF(x), dtype=np.result_type(x, np.float16))  # a 0-d input gives a Python float


def _erf_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    bump = EXP(-x * x) if is_tensor(x) else np.exp(-x * x)
    return (g * (2.0 / math.sqrt(math.pi)) * bump,)


ERF = Primitive("erf", _erf_fwd, _erf_vjp, keep_in=True, elementwise=True, floating=True)

_ERFC = np.frompyfunc(math.erfc, 1, 1)  # 1 - erf(x), exact where erf(x) is near 1 (1 - erf would lose it all)


def _erfc_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.asarray(_ERFC(x), dtype=np.result_type(x, np.float16))


def _erfc_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    bump = EXP(-x * x) if is_tensor(x) else np.exp(-x * x)
    return (g * (-2.0 / math.sqrt(math.pi)) * bump,)


ERFC = Primitive("erfc", _erfc_fwd, _erfc_vjp, keep_in=True, elementwise=True, floating=True)


def _relu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _relu_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    # PyTorch's threshold_backward: zero where y <= 0, so a NaN passes its gradient on
    if is_tensor(g):  # create_graph: PyTorch's threshold_backward(g, y) depends on y
        return (slope_backward("relu", g, ~(data(y) <= 0), y),)
    return (np.where(y <= 0, 0, g),)  # where, not a product: inf * 0 would give nan


RELU = Primitive("relu", _relu_fwd, _relu_vjp, keep_out=True, elementwise=True)


def _leaky_relu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, x * p)


def _leaky_relu_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    slope = np.where(data(x) > 0, 1.0, entry.p).astype(g.dtype, copy=False)
    return (slope_backward("leaky_relu", g, slope, x) if is_tensor(g) else g * slope,)


LEAKY_RELU = Primitive("leaky_relu", _leaky_relu_fwd, _leaky_relu_vjp, keep_in=True, elementwise=True)


def _elu_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(x > 0, x, p * np.expm1(np.minimum(x, 0)))  # min: exp stays finite off its branch


def _elu_vjp(g: Grad, entry: Entry) -> tuple:
    x, alpha = entry.ins[0], entry.p
    negative = data(x) <= 0  # PyTorch's elu_backward: alpha * exp(x) where x <= 0, else 1
    if is_tensor(g):  # recorded: the slope alpha * exp(x) depends on x where x < 0 (PyTorch's)
        return (where_(negative, g * (EXP(where_(data(x) < 0, x, 0.0)) * alpha), g),)
    slope = np.exp(np.minimum(x, 0)) * alpha
    return (np.where(negative, g * slope, g),)


ELU = Primitive("elu", _elu_fwd, _elu_vjp, keep_in=True, elementwise=True)


def _hardtanh_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.clip(x, *p)


def _hardtanh_vjp(g: Grad, entry: Entry) -> tuple:
    x, (lo, hi) = entry.ins[0], entry.p
    inside = ~((data(x) <= lo) | (data(x) >= hi))  # PyTorch's hardtanh_backward: NaN passes its gradient
    return (slope_backward("hardtanh", g, inside, x) if is_tensor(g) else np.where(inside, g, 0),)


HARDTANH = Primitive("hardtanh", _hardtanh_fwd, _hardtanh_vjp, keep_in=True, elementwise=True)


def _threshold_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    threshold, value = p
    return np.where(x <= threshold, np.asarray(value, x.dtype), x)  # NaN is kept, as PyTorch's


def _threshold_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    keep = ~(data(x) <= entry.p[0])  # PyTorch's threshold_backward: the gradient passes at NaN too
    return (slope_backward("threshold", g, keep, x) if is_tensor(g) else np.where(keep, g, 0),)


THRESHOLD = Primitive("threshold", _threshold_fwd, _threshold_vjp, keep_in=True, elementwise=True)


def _hardshrink_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.where((x >= -p) & (x <= p), np.zeros((), x.dtype), x)  # NaN is kept, as PyTorch's


def _hardshrink_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    outside = (data(x) < -entry.p) | (data(x) > entry.p)  # PyTorch's: no gradient at NaN
    return (slope_backward("hardshrink", g, outside, x) if is_tensor(g) else np.where(outside, g, 0),)


HARDSHRINK = Primitive("hardshrink", _hardshrink_fwd, _hardshrink_vjp, keep_in=True, elementwise=True)


def _slope_backward_fwd(p: Any, g: np.ndarray, source: np.ndarray | None) -> np.ndarray:
    _, slope = p
    out = np.zeros(np.broadcast_shapes(g.shape, slope.shape), dtype=g.dtype)
    return np.multiply(g, slope, out=out, where=slope != 0)  # skipping the zeros: inf * 0 would give nan


def _slope_backward_vjp(g: Grad, entry: Entry) -> tuple:
    # linear in g, with the same slope; its derivative in the source is zero (PyTorch's zeros_like)
    op, slope = entry.p
    gg = slope_backward(op, g, slope, entry.ins[1]) if is_tensor(g) else _slope_backward_fwd(entry.p, g, None)
    source = entry.parents[1]
    return gg, (zeros_like_grad(g, source.shape, source.dtype) if source is not None else None)


#: the first gradients of the piecewise-linear ops under create_graph, one primitive each (its name is
#: the entry's op: relu_backward, ...)
SLOPE_BACKWARD = {
    op: Primitive(f"{op}_backward", _slope_backward_fwd, _slope_backward_vjp, keep_in=True, elementwise=True)
    for op in ("abs", "relu", "leaky_relu", "hardtanh", "threshold", "hardshrink")
}


def slope_backward(op: str, g: Grad, slope: np.ndarray, source: Any) -> Any:
    """``g * slope`` for a piecewise-linear ``op`` (relu, abs, leaky_relu, hardtanh, threshold,
    hardshrink) under create_graph, recorded as depending on ``source`` (its input or output) with
    a zero derivative.

    PyTorch's backward of these ops (threshold_backward, leaky_relu_backward, ...) reads the input,
    so the first gradient requires grad and differentiating it again gives zeros, as a gradient
    penalty expects, where a product by a constant mask would be cut from the graph and raise."""
    return SLOPE_BACKWARD[op](g, source, p=(op, slope))


def _where_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cond, _, _ = p
    return np.where(cond, a, b)


def _where_vjp(g: Grad, entry: Entry) -> tuple:
    cond, sa, sb = entry.p
    ga = unbroadcast(where_(cond, g, 0), sa) if entry.parents[0] is not None else None
    gb = unbroadcast(where_(cond, 0, g), sb) if entry.parents[1] is not None else None
    return ga, gb


WHERE = Primitive("where", _where_fwd, _where_vjp, elementwise=True)


def _clip_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    lo, hi = p
    return np.clip(x, lo, hi)


def _clip_vjp(g: Grad, entry: Entry) -> tuple:
    x = data(entry.ins[0])
    lo, hi = entry.p
    inside = np.ones(g.shape, dtype=bool)  # the result's shape: array bounds may broadcast x
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return (unbroadcast(where_(inside, g, 0), x.shape),)


CLIP = Primitive("clip", _clip_fwd, _clip_vjp, keep_in=True, elementwise=True)


def _astype_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, dtype = p
    return x.astype(dtype)


def _astype_vjp(g: Grad, entry: Entry) -> tuple:
    from_dtype, _ = entry.p
    return (g.astype(from_dtype),)


ASTYPE = Primitive("astype", _astype_fwd, _astype_vjp, elementwise=True)


def _compare_fwd(fn: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return fn(a, b)


#: comparisons give bool results, never differentiated (``p`` is the NumPy function)
COMPARE: dict[Callable, Primitive] = {
    fn: Primitive(fn.__name__, _compare_fwd, None)
    for fn in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal)
}


def _zero_vjp(g: Grad, entry: Entry) -> tuple:
    # zeros that depend on nothing, as PyTorch's zeros_like(grad) (not g * 0: an infinite g gives NaN)
    return (zeros_like_grad(g, in_shape(entry, 0), g.dtype),)


def _sign_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.sign(x)


SIGN = Primitive("sign", _sign_fwd, _zero_vjp, elementwise=True)


def _round_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.round(x, p)


ROUND = Primitive("round", _round_fwd, _zero_vjp, elementwise=True)


def _floor_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.floor(x)


def _ceil_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.ceil(x)


def _trunc_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.trunc(x)


# steps: their gradient is 0 everywhere, as PyTorch's
FLOOR = Primitive("floor", _floor_fwd, _zero_vjp, elementwise=True)
CEIL = Primitive("ceil", _ceil_fwd, _zero_vjp, elementwise=True)
TRUNC = Primitive("trunc", _trunc_fwd, _zero_vjp, elementwise=True)
