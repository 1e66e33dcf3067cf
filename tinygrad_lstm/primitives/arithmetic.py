"""Arithmetic: + - * / ** and their relatives (reciprocal, rsqrt, neg, maximum, minimum), broadcasting
as NumPy does; each VJP sums its gradient back down to its input's shape (``unbroadcast``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tape import Entry
from .elementwise import log_, where_
from .primitive import OTHERS, Grad, Primitive, data, in_shape, unbroadcast


def _add_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.add(a, b)


def _add_vjp(g: Grad, entry: Entry) -> tuple:
    sa, sb = entry.p
    return unbroadcast(g, sa), unbroadcast(g, sb)


ADD = Primitive("add", _add_fwd, _add_vjp, elementwise=True)  # p: the operands' shapes


def _sub_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.subtract(a, b)


def _sub_vjp(g: Grad, entry: Entry) -> tuple:
    sa, sb = entry.p
    return unbroadcast(g, sa), (unbroadcast(-g, sb) if entry.parents[1] is not None else None)


SUB = Primitive("sub", _sub_fwd, _sub_vjp, elementwise=True)


def _mul_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.multiply(a, b)


def _mul_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    if a is b:  # x * x: both gradients are the same product, so make it once (half the memory)
        ga = unbroadcast(g * b, in_shape(entry, 0))
        return ga, ga
    ga = unbroadcast(g * b, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(g * a, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


MUL = Primitive("mul", _mul_fwd, _mul_vjp, keep_in=OTHERS, elementwise=True)


def _div_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.true_divide(a, b)


def _div_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    ga = unbroadcast(g / b, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(-(g * (a / b)) / b, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


# a is read only by b's gradient; b by both (PyTorch saves no result: a / b is computed again)
DIV = Primitive("div", _div_fwd, _div_vjp, keep_in=((1,), (0, 1)), elementwise=True)


def _reciprocal_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.true_divide(1.0, x)


def _reciprocal_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    return (-g * (y * y),)


RECIPROCAL = Primitive("reciprocal", _reciprocal_fwd, _reciprocal_vjp, keep_out=True, elementwise=True, floating=True)


def _rsqrt_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.true_divide(1.0, np.sqrt(x))


def _rsqrt_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.out
    return (-0.5 * g * (y * y * y),)


RSQRT = Primitive("rsqrt", _rsqrt_fwd, _rsqrt_vjp, keep_out=True, elementwise=True, floating=True)


def _neg_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.negative(x)


def _neg_vjp(g: Grad, entry: Entry) -> tuple:
    return (-g,)


NEG = Primitive("neg", _neg_fwd, _neg_vjp, elementwise=True)


def _pow_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if isinstance(b, np.ndarray) and b.dtype.kind in "iu" and np.asarray(a).dtype.kind in "biu" and (b < 0).any():
        # PyTorch's integer tensor to negative integer powers (NumPy refuses): 1/a truncated, so
        # 1 for a base of 1, +-1 for -1 by the exponent's parity, 0 otherwise (0 for a base of 0 too)
        plain = np.power(a, np.maximum(b, 0))
        odd = np.where(b % 2 == 0, 1, -1)
        return np.where(b < 0, np.where(a == 1, 1, np.where(a == -1, odd, 0)), plain).astype(plain.dtype)
    return np.power(a, b)


def _pow_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    ga = gb = None
    if entry.parents[0] is not None:
        # b * a**(b-1), and 0 where b == 0 (PyTorch: even at a == 0 or +-inf, where the formula gives NaN;
        # the exponent there is 1, so that its unused branch raises no warning)
        exponent = where_(data(b) == 0, 1.0, b - 1)
        ga = unbroadcast(where_(data(b) == 0, 0.0, g * (b * a**exponent)), np.shape(a))
    if entry.parents[1] is not None:
        # d(a^b)/db = a^b log a, and 0 where a == 0 and b >= 0, as PyTorch (0 ** -1 gives inf * -inf = -inf)
        flat = (data(a) == 0) & (data(b) >= 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = unbroadcast(where_(flat, 0.0, g * (entry.out * log_(a))), np.shape(b))
    return ga, gb


# the result is read only by the exponent's gradient (a ** 3.0 keeps a, not a ** 3.0)
POW = Primitive("pow", _pow_fwd, _pow_vjp, keep_in=True, keep_out=(1,), elementwise=True)


def _maximum_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum(a, b)


def _minimum_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.minimum(a, b)


def _maximum_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = data(entry.ins[0]), data(entry.ins[1])
    return _to_the_winner(g, entry, a, b, a < b, a > b)


def _minimum_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = data(entry.ins[0]), data(entry.ins[1])
    return _to_the_winner(g, entry, a, b, a > b, a < b)


def _to_the_winner(g: Grad, entry: Entry, a: np.ndarray, b: np.ndarray, a_lost: np.ndarray, b_lost: np.ndarray):
    """maximum's and minimum's VJP, as PyTorch's: the gradient, halved at ties, and taken away from an
    input that lost (so where a NaN makes both comparisons false, both inputs get it). Chosen with
    where, not multiplied by a 0/1 share: inf * 0 would give nan, as PyTorch's does not."""
    shared = where_(a == b, g * 0.5, g)
    ga = unbroadcast(where_(a_lost, 0, shared), np.shape(a)) if entry.parents[0] is not None else None
    gb = unbroadcast(where_(b_lost, 0, shared), np.shape(b)) if entry.parents[1] is not None else None
    return ga, gb


MAXIMUM = Primitive("maximum", _maximum_fwd, _maximum_vjp, keep_in=True, elementwise=True)
MINIMUM = Primitive("minimum", _minimum_fwd, _minimum_vjp, keep_in=True, elementwise=True)
