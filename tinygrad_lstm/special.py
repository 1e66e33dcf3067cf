"""``tl.special``: PyTorch's ``torch.special`` names (``xlogy``, ``entr``, ``ndtr``, ``log_ndtr``, ``logit``,
``gammaln``, ``digamma``/``psi``, ``polygamma``, ``multigammaln``, ``erfinv``...), and the two of them that
PyTorch also keeps at the top (``tl.xlogy``, ``tl.copysign``).
The rules at special points (0 log 0 = 0) are primitives (``primitives/special.py``); the rest is
composed of the engine's ops, so every gradient can be differentiated again.

>>> import tinygrad_lstm as tl
>>> tl.special.xlogy(tl.tensor([0.0, 2.0]), tl.tensor([0.0, 1.0])).data.tolist()
[0.0, 0.0]
>>> f"{float(tl.special.ndtr(tl.tensor(0.0))):.6f} {float(tl.special.log_ndtr(tl.tensor(-40.0))):.3f}"
'0.500000 -804.608'
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import ops
from .ops import Operand
from .primitives.special import COPYSIGN, ENTR, XLOG1PY, XLOGY
from .tensor import Tensor

__all__ = [
    "digamma",
    "entr",
    "erf",
    "erfc",
    "erfinv",
    "exp2",
    "expit",
    "expm1",
    "gammaln",
    "log1p",
    "log_ndtr",
    "log_softmax",
    "logsumexp",
    "logit",
    "multigammaln",
    "ndtr",
    "polygamma",
    "psi",
    "round",
    "sinc",
    "softmax",
    "xlog1py",
    "xlogy",
]

_SQRT1_2 = math.sqrt(0.5)


def _tensor(x: Any, op: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._from(x)
    raise TypeError(f"{op}: input must be a Tensor or an ndarray, got {type(x).__name__}")


def _pair(prim, op: str, x: Operand, y: Operand) -> Tensor:
    """A broadcasting pair in PyTorch's float result type (integers give the default float dtype);
    at least one of them a Tensor, as PyTorch requires."""
    if not isinstance(x, (Tensor, np.ndarray)) and not isinstance(y, (Tensor, np.ndarray)):
        raise TypeError(
            f"{op}: at least one of input and other must be a Tensor, got {type(x).__name__} and {type(y).__name__}"
        )
    return ops._binary(prim, *ops._promoted(x, y, true_division=True))


def xlogy(input: Operand, other: Operand) -> Tensor:  # noqa: A002 - PyTorch's name
    """x * log(y), and 0 where x is 0 (unless y is NaN), as ``torch.xlogy``; the gradient in x is log y
    where x is not 0, else 0, and in y x / y."""
    return _pair(XLOGY, "xlogy", input, other)


def xlog1py(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """x * log1p(y), and 0 where x is 0 (unless y is NaN), as ``torch.special.xlog1py``."""
    return _pair(XLOG1PY, "xlog1py", input, other)


def copysign(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """|input| with the sign (bit) of ``other``, as ``torch.copysign``; the gradient in ``other`` is 0."""
    return _pair(COPYSIGN, "copysign", input, other)  # Tensor.copysign is the same primitive


def entr(input: Operand) -> Tensor:  # noqa: A002
    """-x log x elementwise: 0 at 0, -inf below 0, as ``torch.special.entr``."""
    return ops.apply(ENTR, (_tensor(input, "entr"),))


def expit(input: Operand) -> Tensor:  # noqa: A002
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    return ops.sigmoid(_tensor(input, "expit"))


def logit(input: Operand, eps: float | None = None) -> Tensor:  # noqa: A002
    """log(x / (1 - x)), x first clamped to [eps, 1 - eps] when ``eps`` is given."""
    return _tensor(input, "logit").logit(eps)


def erf(input: Operand) -> Tensor:  # noqa: A002
    """The error function."""
    return ops.erf(_tensor(input, "erf"))


def erfc(input: Operand) -> Tensor:  # noqa: A002
    """1 - erf(x), exact in the tail."""
    return ops.erfc(_tensor(input, "erfc"))


def erfinv(input: Operand) -> Tensor:  # noqa: A002
    """The inverse error function: +-inf at +-1, NaN beyond."""
    return ops.erfinv(_tensor(input, "erfinv"))


def gammaln(input: Operand) -> Tensor:  # noqa: A002
    """log |Gamma(x)| (``torch.lgamma``)."""
    return ops.lgamma(_tensor(input, "gammaln"))


def digamma(input: Operand) -> Tensor:  # noqa: A002
    """d/dx lgamma(x)."""
    return ops.digamma(_tensor(input, "digamma"))


psi = digamma  # PyTorch's second name for it


def polygamma(n: int, input: Operand) -> Tensor:  # noqa: A002
    """The ``n``-th derivative of digamma."""
    return ops.polygamma(n, _tensor(input, "polygamma"))


def multigammaln(input: Operand, p: int) -> Tensor:  # noqa: A002
    """The log of the multivariate gamma function of dimension ``p`` (``torch.mvlgamma``)."""
    return ops.mvlgamma(_tensor(input, "multigammaln"), p)


def expm1(input: Operand) -> Tensor:  # noqa: A002
    """exp(x) - 1, exact near 0."""
    return ops.expm1(_tensor(input, "expm1"))


def exp2(input: Operand) -> Tensor:  # noqa: A002
    """2 ** x."""
    return ops.exp2(_tensor(input, "exp2"))


def log1p(input: Operand) -> Tensor:  # noqa: A002
    """log(1 + x), exact near 0."""
    return ops.log1p(_tensor(input, "log1p"))


def sinc(input: Operand) -> Tensor:  # noqa: A002
    """sin(pi x) / (pi x), 1 at 0."""
    return ops.sinc(_tensor(input, "sinc"))


def ndtr(input: Operand) -> Tensor:  # noqa: A002
    """The standard normal CDF, erfc(-x / sqrt 2) / 2 (exact in the lower tail)."""
    return ops.erfc(_tensor(input, "ndtr") * -_SQRT1_2) * 0.5


# where log ndtr turns to its asymptotic series, by dtype: erfc underflows near -38 in float64 and -13 in
# float32; the series' first left-out term is 2e-12 of the value at -20, 1e-8 at -10
_FAR = {8: -20.0, 4: -10.0, 2: -5.0}


def log_ndtr(input: Operand) -> Tensor:  # noqa: A002
    """log of the standard normal CDF without underflow: log(erfc(-x / sqrt 2) / 2) below -1,
    log1p(-erfc(x / sqrt 2) / 2) above (exact as the CDF nears 1), and the asymptotic (Mills ratio)
    series further out (below -20 in float64). Each branch sees only inputs in its range, so no NaN
    leaks into a gradient."""
    x = _tensor(input, "log_ndtr")
    if x.dtype.kind != "f":
        x = x.astype(np.float64 if x.dtype.itemsize > 4 else np.float32)
    edge = _FAR[x.dtype.itemsize]
    low, far = x < -1.0, x < edge
    lower = ops.log(ops.erfc(ops.where(far, edge, ops.where(low, x, -1.0)) * -_SQRT1_2) * 0.5)
    upper = ops.log1p(ops.erfc(ops.where(low, 0.0, x) * _SQRT1_2) * -0.5)
    z = ops.where(far, x, edge)
    t = 1.0 / (z * z)
    series = 1.0 - t * (1.0 - t * (3.0 - t * (15.0 - t * (105.0 - t * 945.0))))
    tail = z * z * -0.5 - ops.log(-z) - 0.5 * math.log(2.0 * math.pi) + ops.log(series)
    return ops.where(far, tail, ops.where(low, lower, upper))


def _cast(input: Operand, dtype: Any, op: str) -> Tensor:
    x = _tensor(input, op)
    return x if dtype is None else ops.astype(x, np.dtype(dtype))


def softmax(input: Operand, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """``torch.special.softmax``: the softmax along ``dim`` (of the input cast to ``dtype`` first)."""
    return ops.softmax(_cast(input, dtype, "softmax"), dim)


def log_softmax(input: Operand, dim: int, *, dtype: Any = None) -> Tensor:  # noqa: A002
    """``torch.special.log_softmax``: the log of the softmax along ``dim``, computed stably."""
    return ops.log_softmax(_cast(input, dtype, "log_softmax"), dim)


def logsumexp(input: Operand, dim: Any, keepdim: bool = False) -> Tensor:  # noqa: A002
    """``torch.special.logsumexp``: log(sum(exp(x))) over ``dim``, computed stably."""
    return ops.logsumexp(_tensor(input, "logsumexp"), dim, keepdim)


def round(input: Operand, *, decimals: int = 0) -> Tensor:  # noqa: A001, A002 - PyTorch's names
    """``torch.special.round``: to ``decimals`` places, halves to even (gradient zero)."""
    return ops.round(_tensor(input, "round"), decimals)
