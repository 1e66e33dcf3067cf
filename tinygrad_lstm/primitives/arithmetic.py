"""Arithmetic: + - * / ** // % and their relatives (reciprocal, rsqrt, neg, maximum, minimum, trunc_divide,
fmod, atan2, hypot), broadcasting as NumPy does; each VJP sums its gradient back down to its input's
shape (``unbroadcast``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tape import Entry
from .elementwise import log_, where_
from .primitive import OTHERS, Grad, Primitive, data, in_shape, is_tensor, unbroadcast, zeros_like_grad


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


# ---- rounded division and the remainders (``//``, ``%``, ``torch.fmod``) ------------------------------


def _floor_divide_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.floor_divide(a, b)  # Python's floor (NumPy's divmod), as PyTorch's rounding_mode="floor"


def _trunc_divide_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if np.result_type(a, b).kind in "fc":
        return np.trunc(np.true_divide(a, b))  # PyTorch's trunc(a / b)
    # integers: the floor, moved up by one where the quotient is negative and not whole (exact past 2**53)
    q = np.floor_divide(a, b)
    return q + ((np.remainder(a, b) != 0) & ((np.asarray(a) < 0) != (np.asarray(b) < 0)))


def _zero_binary_vjp(g: Grad, entry: Entry) -> tuple:
    # PyTorch's zero gradient of a rounded division, zeros that depend on nothing (not g * 0: inf * 0 is NaN)
    return tuple(zeros_like_grad(g, parent.shape, g.dtype) if parent is not None else None for parent in entry.parents)


FLOOR_DIVIDE = Primitive("floor_divide", _floor_divide_fwd, _zero_binary_vjp, elementwise=True)
TRUNC_DIVIDE = Primitive("trunc_divide", _trunc_divide_fwd, _zero_binary_vjp, elementwise=True)


def _divided(prim: Primitive, fn: Any, a: Any, b: Any) -> Any:
    """``a`` divided by ``b`` and rounded, recorded when either is a Tensor (a VJP under create_graph)."""
    return prim(a, b) if is_tensor(a) or is_tensor(b) else fn(None, a, b)


def _remainder_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.remainder(a, b)  # the sign of b, as Python's % and PyTorch's remainder


def _remainder_vjp(g: Grad, entry: Entry) -> tuple:
    # a - b * floor(a / b): d/da = 1, d/db = -floor(a / b) (PyTorch's formula)
    ga = unbroadcast(g, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = None
    if entry.parents[1] is not None:
        a, b = entry.ins
        gb = unbroadcast(-g * _divided(FLOOR_DIVIDE, _floor_divide_fwd, a, b), entry.parents[1].shape)
    return ga, gb


def _fmod_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.fmod(a, b)  # the sign of a, as C's fmod and PyTorch's


def _fmod_vjp(g: Grad, entry: Entry) -> tuple:
    # a - b * trunc(a / b): d/da = 1, d/db = -trunc(a / b)
    ga = unbroadcast(g, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = None
    if entry.parents[1] is not None:
        a, b = entry.ins
        gb = unbroadcast(-g * _divided(TRUNC_DIVIDE, _trunc_divide_fwd, a, b), entry.parents[1].shape)
    return ga, gb


# both inputs are read by the divisor's gradient alone
REMAINDER = Primitive("remainder", _remainder_fwd, _remainder_vjp, keep_in=((1,), (1,)), elementwise=True)
FMOD = Primitive("fmod", _fmod_fwd, _fmod_vjp, keep_in=((1,), (1,)), elementwise=True)


def _atan2_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.arctan2(a, b)


def _atan2_vjp(g: Grad, entry: Entry) -> tuple:
    # the angle of (b, a): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2), as PyTorch's
    a, b = entry.ins
    share = g / (a * a + b * b)
    ga = unbroadcast(share * b, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(-share * a, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


ATAN2 = Primitive("atan2", _atan2_fwd, _atan2_vjp, keep_in=True, elementwise=True)


def _hypot_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.hypot(a, b)  # without overflow where a * a would


def _hypot_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins
    share = g / entry.out
    ga = unbroadcast(share * a, entry.parents[0].shape) if entry.parents[0] is not None else None
    gb = unbroadcast(share * b, entry.parents[1].shape) if entry.parents[1] is not None else None
    return ga, gb


HYPOT = Primitive("hypot", _hypot_fwd, _hypot_vjp, keep_in=((0,), (1,)), keep_out=True, elementwise=True)
