"""Reductions: sum, max, min, var over axes (argmax, argmin, argsort and where a running maximum was
reached: integers, never differentiated), and the running sum cumsum."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tape import Entry, Structure
from .index import GETITEM
from .primitive import Grad, Primitive, data, is_tensor
from .shape import broadcast_to_


def _sum_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.sum(axis=axis, keepdims=keepdims)


def _sum_vjp(g: Grad, entry: Entry) -> tuple:
    shape, kept, _, _ = entry.p
    return (broadcast_to_(g.reshape(kept), shape),)


SUM = Primitive("sum", _sum_fwd, _sum_vjp)  # p: (shape, kept shape, axis, keepdims)


def _max_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.max(axis=axis, keepdims=keepdims)


def _min_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, _, axis, keepdims = p
    return x.min(axis=axis, keepdims=keepdims)


def _extreme_vjp(g: Grad, entry: Entry) -> tuple:
    # the gradient is shared evenly among tied extreme elements (as PyTorch's amax/amin); a NaN
    # maximum of the whole tensor (axis None, PyTorch's x.max()) goes to the NaNs, over an axis to none
    kept, axes, axis, _ = entry.p
    x, extreme = data(entry.ins[0]), data(entry.out).reshape(kept)
    hit = (x == extreme) | (np.isnan(x) & np.isnan(extreme)) if axis is None else x == extreme
    share = hit / hit.sum(axis=axes, keepdims=True)
    return (g.reshape(kept) * share.astype(g.dtype),)


MAX = Primitive("max", _max_fwd, _extreme_vjp, keep_in=True, keep_out=True)
MIN = Primitive("min", _min_fwd, _extreme_vjp, keep_in=True, keep_out=True)


def _centred(x: Grad, axes: tuple, n: int):
    """x minus its mean over ``axes`` (NaN for an empty axis, without NumPy's warning)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return x - x.sum(axis=axes, keepdims=True) * (1.0 / n if n else np.nan)


def _var_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axes, keepdims, n, scale, _ = p
    centred = _centred(x, axes, n)
    with np.errstate(invalid="ignore"):
        return (centred * centred).sum(axis=axes, keepdims=keepdims) * scale


def _var_vjp(g: Grad, entry: Entry) -> tuple:
    axes, _, n, scale, kept = entry.p
    x = entry.ins[0]
    with np.errstate(invalid="ignore"):
        return ((g.reshape(kept) * (2.0 * scale)) * _centred(x, axes, n),)


VAR = Primitive("var", _var_fwd, _var_vjp, keep_in=True)


def _argmax_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axis, keepdims = p
    return np.argmax(x, axis=axis, keepdims=keepdims)


def _argmin_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axis, keepdims = p
    return np.argmin(x, axis=axis, keepdims=keepdims)


# integers, never differentiated
ARGMAX = Primitive("argmax", _argmax_fwd, None)
ARGMIN = Primitive("argmin", _argmin_fwd, None)


def _argsort_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    axis, descending = p
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")  # NaN last, as PyTorch's
    # largest first, ties in their order (stable) and NaN first: the ascending order of the reversed
    # axis, read backwards
    n = x.shape[axis]
    return np.flip(n - 1 - np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis).copy()


ARGSORT = Primitive("argsort", _argsort_fwd, None)  # p: (axis, descending); integers, never differentiated


def _cumulative_argmax_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    """Where the running maximum (``p``: (axis, True)) or minimum (False) along ``axis`` was last reached
    (the latest of ties, and a NaN once one is met, as PyTorch's cummax/cummin)."""
    axis, largest = p
    running = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
    reached = (x == running) | (np.isnan(x) & np.isnan(running))
    steps = np.arange(x.shape[axis]).reshape((-1,) + (1,) * (x.ndim - axis - 1))
    return np.maximum.accumulate(np.where(reached, steps, 0), axis=axis).astype(np.int64)


CUMULATIVE_ARGMAX = Primitive("cumulative_argmax", _cumulative_argmax_fwd, None)  # integers, not differentiated


def _cumsum_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.cumsum(x, axis=p)


def _cumsum_vjp(g: Grad, entry: Entry) -> tuple:
    reverse = (slice(None),) * entry.p + (slice(None, None, -1),)
    if is_tensor(g):
        step = Structure((reverse, g.shape, True))  # a basic index: what getitem records
        return (GETITEM(CUMSUM(GETITEM(g, p=step), p=entry.p), p=step),)
    return (np.cumsum(g[reverse], axis=entry.p)[reverse],)


CUMSUM = Primitive("cumsum", _cumsum_fwd, _cumsum_vjp)  # p: the axis
