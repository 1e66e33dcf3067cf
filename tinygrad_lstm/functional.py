"""Composites built only from primitives: numerically stable softmax family.

Each subtracts the (detached) maximum before ``exp``; the gradient does not depend on that shift,
so treating it as a constant is exact, and inputs of +-1e4 stay finite.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor


def _stable_shift(x: Tensor, axis) -> np.ndarray:
    """The max along ``axis`` (kept dims) as a constant; 0 where a row has no finite max."""
    m = x.data.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def logsumexp(x: Tensor, axis=-1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x), axis)) without overflow.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> float(tl.Tensor(np.array([1e4, 1e4])).logsumexp())  # 1e4 + log 2
    10000.693147180559
    """
    m = _stable_shift(x, axis)
    out = ops.log(ops.sum(ops.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else ops.squeeze(out, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    e = ops.exp(x - _stable_shift(x, axis))
    return e / ops.sum(e, axis=axis, keepdims=True)
