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


def kaiming_uniform_(t: T, a: float = 0.0, nonlinearity: str = "leaky_relu") -> T:
    """He et al. (2015): U(-b, b) with b = gain * sqrt(3 / fan_in), gain from ``nonlinearity``, in place."""
    fan_in, _ = _fans(t)
    gain = math.sqrt(2.0 / (1 + a * a)) if nonlinearity in ("leaky_relu", "relu") else 1.0
    bound = gain * math.sqrt(3.0 / fan_in)
    return uniform_(t, -bound, bound)


def orthogonal_(t: T, gain: float = 1.0) -> T:
    """A (semi-)orthogonal matrix from the QR decomposition of a Gaussian one."""
    rows = t.shape[0]
    cols = t.size // rows
    flat = random.generator().standard_normal((rows, cols))
    q, r = np.linalg.qr(flat.T if rows < cols else flat)
    q = q * np.sign(np.diag(r))  # a uniform draw over orthogonal matrices
    q = q.T if rows < cols else q
    return _fill(t, gain * q.reshape(t.shape))
