"""A check of input values that a replay must run again: an op without a gradient and without a
result that refuses values outside [low, high] (NaN passes, as in PyTorch), as binary_cross_entropy
refuses probabilities outside [0, 1] and gaussian_nll_loss a negative variance. A check read from
``.data`` by NumPy is not a step of the recorded program, so a replay could not run it; as a
primitive with ``effect=True`` it is one step of the program like any other, run on every call."""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitive import Primitive


def _check_in_range_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    """``p`` = (low, high, message): raise ValueError(message, formatted with the values' ``min`` and
    ``max``) if a value of ``x`` lies outside [low, high]. Returns an empty result: what matters is
    that it ran."""
    low, high, message = p
    if np.any((x < low) | (x > high)):
        raise ValueError(message.format(min=x.min(), max=x.max()))
    return np.zeros(0, dtype=x.dtype)


CHECK_IN_RANGE = Primitive("check_in_range", _check_in_range_fwd, None, effect=True)
