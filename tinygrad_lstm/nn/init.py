"""In-place initialisers with PyTorch's names; they draw from ``tl.manual_seed``'s generator."""

from __future__ import annotations

import math
from typing import Any, TypeAlias, TypeVar

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


Source: TypeAlias = "random.Generator | np.random.Generator | None"  # generator=: a stream of its own


def uniform_(t: T, a: float = 0.0, b: float = 1.0, generator: Source = None) -> T:
    """Fill ``t`` in place with U(a, b) samples from ``tl.manual_seed``'s generator (or ``generator``);
    returns ``t``.

    >>> import tinygrad_lstm as tl
    >>> w = tl.nn.init.uniform_(tl.zeros(2, 3), -0.1, 0.1)
    >>> bool(abs(w.numpy()).max() <= 0.1), w.dtype
    (True, dtype('float32'))
    """
    return _fill(t, random.numpy_generator("uniform_", generator).uniform(a, b, t.shape))


def normal_(t: T, mean: float = 0.0, std: float = 1.0, generator: Source = None) -> T:
    """Fill ``t`` in place with N(mean, std**2) samples; returns ``t``."""
    return _fill(t, random.numpy_generator("normal_", generator).normal(mean, std, t.shape))


def trunc_normal_(
    t: T, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0, generator: Source = None
) -> T:
    """Fill ``t`` in place with N(mean, std**2) samples truncated to [a, b] (bounds in the values'
    units, as PyTorch's), by redrawing those outside. The interval must hold at least 1e-4 of the
    normal's mass (PyTorch's method loses its accuracy out there too).

    >>> import tinygrad_lstm as tl
    >>> w = tl.nn.init.trunc_normal_(tl.zeros(1000), std=0.02, a=-0.04, b=0.04)
    >>> bool(abs(w.numpy()).max() <= 0.04)
    True
    """
    if not (std > 0 and a < b):
        raise ValueError(f"trunc_normal_: needs std > 0 and a < b, got std={std}, a={a}, b={b}")
    mass = (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2)))) / 2
    if mass < 1e-4:
        raise ValueError(
            f"trunc_normal_: [a, b] = [{a}, {b}] holds {mass:.2g} of N({mean}, {std}**2); "
            "give bounds nearer the mean (at least 1e-4 of the mass)"
        )
    draw = random.numpy_generator("trunc_normal_", generator)
    values = draw.normal(mean, std, t.size)
    outside = (values < a) | (values > b)
    while outside.any():
        values[outside] = draw.normal(mean, std, int(outside.sum()))
        outside = (values < a) | (values > b)
    return _fill(t, values.reshape(t.shape))


def constant_(t: T, value: float) -> T:
    """Fill ``t`` in place with ``value``; returns ``t``."""
    return _fill(t, value)


def zeros_(t: T) -> T:
    """Fill ``t`` in place with zeros; returns ``t``."""
    return _fill(t, 0)


def ones_(t: T) -> T:
    """Fill ``t`` in place with ones; returns ``t``."""
    return _fill(t, 1)


def eye_(t: T) -> T:
    """Fill the 2-D ``t`` in place with the identity matrix (ones on the diagonal); returns ``t``."""
    if t.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {t.shape}")
    return _fill(t, np.eye(t.shape[0], t.shape[1]))


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gain for a nonlinearity: 1 for linear, conv and sigmoid, 5/3 for tanh,
    sqrt(2) for relu, sqrt(2 / (1 + slope**2)) for leaky_relu (``param``: the slope, default 0.01) and
    3/4 for selu.

    >>> import tinygrad_lstm as tl
    >>> tl.nn.init.calculate_gain("tanh"), tl.nn.init.calculate_gain("relu")
    (1.6666666666666667, 1.4142135623730951)
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def xavier_uniform_(t: T, gain: float = 1.0, generator: Source = None) -> T:
    """Glorot & Bengio (2010): U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound, generator)


def xavier_normal_(t: T, gain: float = 1.0, generator: Source = None) -> T:
    """Glorot & Bengio (2010): N(0, gain**2 * 2 / (fan_in + fan_out)), in place."""
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def _kaiming_std(op: str, t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """He et al. (2015): gain / sqrt(fan), the fan of ``mode``, the gain ``calculate_gain(nonlinearity, a)``."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(t)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(
    t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Source = None
) -> T:
    """He et al. (2015): U(-b, b) with b = sqrt(3) * gain / sqrt(fan), in place (``a``: the leaky_relu
    slope; ``mode``: ``"fan_in"`` or ``"fan_out"``). A tensor with no elements is left as it is."""
    if t.size == 0:
        return t
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(
    t: T, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu", generator: Source = None
) -> T:
    """He et al. (2015): N(0, (gain / sqrt(fan))**2), in place (``a``, ``mode`` as ``kaiming_uniform_``).

    >>> import tinygrad_lstm as tl
    >>> w = tl.nn.init.kaiming_normal_(tl.zeros(256, 512), mode="fan_out", nonlinearity="relu")
    >>> round(float(w.numpy().std()) * 256**0.5, 1)  # sqrt(2)
    1.4
    """
    if t.size == 0:
        return t
    return normal_(t, 0.0, _kaiming_std("kaiming_normal_", t, a, mode, nonlinearity), generator)


def orthogonal_(t: T, gain: float = 1.0, generator: Source = None) -> T:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one."""
    rows = t.shape[0]
    cols = t.size // rows
    flat = random.numpy_generator("orthogonal_", generator).standard_normal((rows, cols))
    q, r = np.linalg.qr(flat.T if rows < cols else flat)
    q = q * np.sign(np.diag(r))  # a uniform draw over orthogonal matrices
    q = q.T if rows < cols else q
    return _fill(t, gain * q.reshape(t.shape))
