"""Functions whose value or gradient at a special point is a rule, not a formula: ``xlogy`` and
``xlog1py`` (0 where x is 0), ``entr`` (-x log x, 0 at 0), ``copysign`` (no gradient to the sign's
source). Each keeps PyTorch's gradient exactly there, which a composition of log and where would not
(0 * log 0 is NaN in a VJP even where a where discards the value)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tape import Entry
from .elementwise import LOG, where_
from .primitive import Grad, Primitive, data, in_shape, is_tensor, unbroadcast, zeros_like_grad


def _x_times(log, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x * log(y), and 0 where x is 0 (unless y is NaN, which stays NaN), as PyTorch's."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(x * log(y))
    return np.where((x == 0) & ~np.isnan(y), 0, out).astype(out.dtype, copy=False)


def _xlogy_fwd(p: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _x_times(np.log, x, y)


def _xlog1py_fwd(p: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return _x_times(np.log1p, x, y)


def _x_times_vjp(prim: Primitive, fwd, shifted: float):
    """PyTorch's gradients: d/dx = xlogy(g, y), set to 0 where x is 0 and y is outside log's domain
    (y <= 0; y <= -1 for log1p); d/dy = g x / (y + shifted)."""

    def vjp(g: Grad, entry: Entry) -> tuple:
        x, y = entry.ins
        ga = gb = None
        if entry.parents[0] is not None:
            outside = (data(x) == 0) & (data(y) <= -shifted)
            slope = prim(g, y) if is_tensor(g) or is_tensor(y) else fwd(None, g, y)
            ga = unbroadcast(where_(outside, 0.0, slope), in_shape(entry, 0))
        if entry.parents[1] is not None:  # x / y: 0 / 0 is NaN where both are 0, as PyTorch's, silently
            with np.errstate(divide="ignore", invalid="ignore"):
                gb = unbroadcast(g * x / (y + shifted if shifted else y), in_shape(entry, 1))
        return ga, gb

    return vjp


XLOGY = Primitive("xlogy", _xlogy_fwd, None, keep_in=True, elementwise=True)
XLOGY.vjp = _x_times_vjp(XLOGY, _xlogy_fwd, 0.0)
XLOG1PY = Primitive("xlog1py", _xlog1py_fwd, None, keep_in=True, elementwise=True)
XLOG1PY.vjp = _x_times_vjp(XLOG1PY, _xlog1py_fwd, 1.0)


def _entr_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(-x * np.log(x))
    out = np.where(x == 0, 0, np.where(x < 0, -np.inf, out))  # NaN stays NaN
    return out.astype(np.result_type(x, np.float16), copy=False)


def _entr_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        log = LOG(x) if is_tensor(x) else np.log(x)
        return (-(g * (log + 1.0)),)  # PyTorch's: +inf at 0, NaN below


ENTR = Primitive("entr", _entr_fwd, _entr_vjp, keep_in=True, elementwise=True, floating=True)


def _copysign_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.copysign(a, b)


def _copysign_vjp(g: Grad, entry: Entry) -> tuple:
    ga = gb = None
    if entry.parents[0] is not None:  # PyTorch's result / a: +-1, NaN at an infinite a; 0 where a is 0
        a = data(entry.ins[0])
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(a == 0, 0, data(entry.out) / a).astype(g.dtype)
        ga = unbroadcast(g * slope, in_shape(entry, 0))
    if entry.parents[1] is not None:  # a sign has no slope: zeros, as PyTorch's
        gb = zeros_like_grad(g, in_shape(entry, 1), g.dtype)
    return ga, gb


# b's gradient reads nothing (zeros), so b is not kept: changing it in place is no reason to refuse
COPYSIGN = Primitive("copysign", _copysign_fwd, _copysign_vjp, keep_in=((0,), ()), keep_out=(0,), elementwise=True)
