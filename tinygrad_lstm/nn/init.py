"""In-place initialisers with PyTorch's names; they draw from ``tl.manual_seed``'s generator."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np

from .. import random
from ..tensor import Tensor
from ..versions import changed_in_place

T = TypeVar("T", bound=Tensor)  # each initialiser returns the tensor it filled (a Parameter stays one)


def _fans(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of 2 or more dims, got shape {t.shape}")
    receptive = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def _fill(t: T, values: Any) -> T:
    t.data[...] = values
    changed_in_place(t.data)  # entries that saved the old values refuse backward
    return t


def uniform_(t: T, a: float = 0.0, b: float = 1.0) -> T:
    """Fill ``t`` in place with U(a, b) samples from ``tl.manual_seed``'s generator; returns ``t``.

    >>> import tinygrad_lstm as tl
    >>> w = tl.nn.init.uniform_(tl.zeros(2, 3), -0.1, 0.1)
    >>> bool(abs(w.numpy()).max() <= 0.1), w.dtype
    (True, dtype('float32'))
    """
    return _fill(t, random.generator().uniform(a, b, t.shape))


def normal_(t: T, mean: float = 0.0, std: float = 1.0) -> T:
    """Fill ``t`` in place with N(mean, std**2) samples; returns ``t``."""
    return _fill(t, random.generator().normal(mean, std, t.shape))


def constant_(t: T, value: float) -> T:
    """Fill ``t`` in place with ``value``; returns ``t``."""
    return _fill(t, value)


def zeros_(t: T) -> T:
    """Fill ``t`` in place with zeros; returns ``t``."""
    return _fill(t, 0)


def ones_(t: T) -> T:
    """Fill ``t`` in place with ones; returns ``t``."""
    return _fill(t, 1)


def xavier_uniform_(t: T, gain: float = 1.0) -> T:
    """Glorot & Bengio (2010): U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t: T, gain: float = 1.0) -> T:
    """Glorot & Bengio (2010): N(0, gain**2 * 2 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


_LINEAR_GAINS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for ``nonlinearity``: 1 for linear layers and sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope**2)) for leaky_relu (slope ``param``, 0.01 by default), 3/4 for selu."""
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _kaiming_std(op: str, t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:  # PyTorch warns and leaves the tensor as it is
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> T:
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan), fan the ``mode``'s, gain
    :func:`calculate_gain` of ``nonlinearity`` (leaky_relu's slope ``a``), in place."""
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound) if bound else t


def kaiming_normal_(t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> T:
    """He et al. (2015): N(0, std**2) with std = gain / sqrt(fan), as :func:`kaiming_uniform_`, in place.

    >>> import tinygrad_lstm as tl
    >>> w = tl.nn.init.kaiming_normal_(tl.zeros(64, 32, 3, 3), mode="fan_out", nonlinearity="relu")
    >>> round(float(w.numpy().std()) * (64 * 9) ** 0.5 / 2**0.5, 1)
    1.0
    """
    std = _kaiming_std("kaiming_normal_", t, a, mode, nonlinearity)
    return normal_(t, 0.0, std) if std else t


def orthogonal_(t: T, gain: float = 1.0) -> T:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one."""
    rows = t.shape[0]
    cols = t.size // rows
    flat = random.generator().standard_normal((rows, cols))
    q, r = np.linalg.qr(flat.T if rows < cols else flat)
    q = q * np.sign(np.diag(r))  # a uniform draw over orthogonal matrices
    q = q.T if rows < cols else q
    return _fill(t, gain * q.reshape(t.shape))
