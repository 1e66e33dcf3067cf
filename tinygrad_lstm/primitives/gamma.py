"""The gamma family and the inverse error function, computed here (NumPy has none of them and the
engine depends on NumPy alone): ``lgamma`` (``math.lgamma`` element by element, exact to libm),
``digamma`` and ``polygamma(n, x)`` (the recurrence shifts x up, then the asymptotic series; the
reflection formula below 0), ``erfinv`` (a first guess refined by Newton steps on ``math.erf`` and,
in the tails, on log ``math.erfc``, where erf(x) - y would lose the digits). Each VJP is the next
function of the family, so every order of gradient is a primitive again: d lgamma = digamma,
d digamma = polygamma(1), d polygamma(n) = polygamma(n + 1), d erfinv = sqrt(pi) / 2 exp(erfinv^2).

Values at the special points are PyTorch's: lgamma is +inf at 0 and the negative integers, digamma
-inf at +0, +inf at -0 and NaN at the negative integers, polygamma(n >= 1) (-1)^(n+1) inf at the poles
(PyTorch's trigamma gives a large finite number at a negative integer, 6.6e32 at -1: see README),
erfinv +-inf at +-1 and NaN beyond."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tape import Entry
from .elementwise import EXP
from .primitive import Grad, Primitive, is_tensor


def _result(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``values`` (computed in float64) in x's float dtype (float64 for anything else)."""
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return np.asarray(values, dtype=dtype)


def _lgamma1(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # a pole: 0 or a negative integer
        return math.inf
    except OverflowError:  # beyond ~2.5e305
        return math.inf


_LGAMMA = np.frompyfunc(_lgamma1, 1, 1)


def _series(coefs: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sum_k coefs[k - 1] t^k (Horner)."""
    total = np.zeros_like(t)
    for c in coefs[::-1]:
        total = (total + c) * t
    return total


def lgamma(x: np.ndarray) -> np.ndarray:
    """log |Gamma(x)| elementwise. Near its zeros at 1 and 2, where math.lgamma (CPython's own Lanczos sum)
    keeps ~1e-16 absolute but not relative digits, its Taylor series about 1 and 2."""
    x = np.asarray(x)
    v = x.astype(np.float64)
    out = np.asarray(_LGAMMA(v), dtype=np.float64)
    for center, radius, coefs in ((1.0, 0.2, _LGAMMA_AT_1), (2.0, 0.4, _LGAMMA_AT_2)):
        near = np.abs(v - center) < radius
        if near.any():
            out[near] = _series(coefs, v[near] - center) + 0.0  # v - center is exact there; +0.0: 0 at 1, not -0
    return _result(x, out)


# the Bernoulli numbers B_2, B_4, ...: digamma's asymptotic series is log x - 1/(2x) - sum B_2k / (2k x^2k)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798, -174611 / 330)


def _cot_derivative(n: int, c: np.ndarray) -> np.ndarray:
    """d^n/dt^n cot(t) at cot(t) = c: P_0(c) = c, P_(k+1)(c) = -(1 + c^2) P_k'(c). The terms of P_n have
    one sign for c of one sign, so evaluating it loses nothing to cancellation."""
    poly = np.polynomial.Polynomial([0.0, 1.0])
    one_plus = np.polynomial.Polynomial([1.0, 0.0, 1.0])
    for _ in range(n):
        poly = -one_plus * poly.deriv()
    total = np.full_like(c, poly.coef[-1])
    for a in poly.coef[-2::-1]:  # Horner by hand: NumPy's adds c * 0, NaN where c overflowed to inf
        total = total * c + a
    return total


def _cot_pi(x: np.ndarray) -> np.ndarray:
    """cot(pi x) to the last digits: of x's distance r to the nearest integer (exact), and past |r| = 1/4 as
    tan(pi (1/2 - |r|)) (1/2 - |r| exact there), so that it is 0 at a half-integer however large x is."""
    r = x - np.round(x)
    with np.errstate(divide="ignore"):
        near = 1.0 / np.tan(math.pi * r)
    return np.where(np.abs(r) <= 0.25, near, np.copysign(np.tan(math.pi * (0.5 - np.abs(r))), r))


def _shifted(n: int, x: np.ndarray, until: float) -> tuple[np.ndarray, np.ndarray]:
    """(x shifted up by whole steps to at least ``until``, sum of 1 / x^(n+1) over the steps left behind)."""
    x = x.copy()
    total = np.zeros_like(x)
    with np.errstate(divide="ignore", over="ignore"):
        while True:
            low = x < until
            if not low.any():
                return x, total
            total[low] += 1.0 / x[low] ** (n + 1) if n else 1.0 / x[low]
            x[low] += 1.0


def _psi_positive(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x) for x > 0 (float64)."""
    if n == 0:
        z, left = _shifted(0, x, 10.0)
        with np.errstate(over="ignore"):
            inv2 = 1.0 / (z * z)
        series = np.zeros_like(z)
        for k in range(8, 0, -1):  # at z >= 10 the 9th term is below 1e-17 of the value
            series = (series + _BERNOULLI[k - 1] / (2 * k)) * inv2
        with np.errstate(invalid="ignore"):
            tail = np.log(z) - 0.5 / z - series
        return tail - left
    # psi^(n)(x) = (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1); its tail from z on is, asymptotically,
    # (n-1)!/z^n + n!/(2 z^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! z^(2k+n))
    z, left = _shifted(n, x, 20.0 + n)
    inv = 1.0 / z
    inv2 = inv * inv
    series = np.zeros_like(z)
    for k in range(len(_BERNOULLI), 0, -1):
        # B_2k (2k + n - 1)! / ((2k)! (n - 1)!)
        coef = _BERNOULLI[k - 1] * math.exp(math.lgamma(2 * k + n) - math.lgamma(2 * k + 1) - math.lgamma(n))
        series = (series + coef) * inv2
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        tail = inv**n * (1.0 + n * inv / 2.0 + series)  # divided by (n-1)!
        value = (tail * math.factorial(n - 1) + left * math.factorial(n)) if n < 171 else np.full_like(z, np.inf)
    return value if n % 2 else -value


def polygamma(n: int, x: np.ndarray) -> np.ndarray:
    """The n-th derivative of digamma (digamma itself for n = 0), elementwise."""
    x = np.asarray(x)
    v = x.astype(np.float64).reshape(-1)  # (1-D: masks assign into it whatever x's rank, 0 included)
    out = np.empty_like(v)
    pos = v > 0
    out[pos] = _psi_positive(n, v[pos])
    if n == 0 and _DIGAMMA_AT_ROOT is not None:  # near digamma's zero the shifted sum cancels: its Taylor series
        near = np.abs(v - _ROOT[0]) < 0.25
        if near.any():
            d = v[near] - _ROOT[0]  # exact there
            out[near] = _series(_DIGAMMA_AT_ROOT, d) - _DIGAMMA_AT_ROOT[0] * _ROOT[1]
    integer = (v <= 0) & (v == np.floor(v))  # 0, the negative integers and -inf
    neg = (v < 0) & ~integer
    if neg.any():  # reflection: psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) d^n cot(pi x)
        x_neg = v[neg]
        c = _cot_pi(x_neg)
        out[neg] = (-1) ** n * _psi_positive(n, 1.0 - x_neg) - math.pi ** (n + 1) * _cot_derivative(n, c)
    sign = 1.0 if n % 2 else -1.0
    if n == 0:
        out[integer] = np.nan
        zero = v == 0
        out[zero] = np.copysign(np.inf, -v[zero])  # -inf at +0, +inf at -0
    else:
        out[integer] = sign * np.inf
        out[v == -np.inf] = np.nan if n == 1 else sign * np.inf
        if n >= 2:
            out[v == np.inf] = np.nan  # PyTorch's (Hurwitz zeta at infinity)
    out[np.isnan(v)] = np.nan
    return _result(x, out.reshape(x.shape))


def digamma(x: np.ndarray) -> np.ndarray:
    """d/dx lgamma(x) elementwise."""
    return polygamma(0, x)


def _taylor(center: float, first: int, terms: int) -> np.ndarray:
    """psi^(first + k - 1)(center) / k! for k = 1..terms: the Taylor coefficients about ``center`` of
    lgamma (first = 0) or digamma (first = 1), without their constant term."""
    at = np.array([center])
    return np.array([polygamma(first + k - 1, at)[0] / math.factorial(k) for k in range(1, terms + 1)])


# digamma's positive zero as a double and the rest (from a 50-digit root finder; psi(x0) = 0)
_ROOT = (1.4616321449683622, 9.549995429965697e-17)
_DIGAMMA_AT_ROOT: np.ndarray | None = None
_LGAMMA_AT_1, _LGAMMA_AT_2 = _taylor(1.0, 0, 30), _taylor(2.0, 0, 30)
_DIGAMMA_AT_ROOT = _taylor(_ROOT[0], 1, 30)

_ERF = np.frompyfunc(math.erf, 1, 1)
_ERFC = np.frompyfunc(math.erfc, 1, 1)
_SLOPE = 2.0 / math.sqrt(math.pi)  # d erf / dx at 0


def _first_guess(y: np.ndarray) -> np.ndarray:
    """erfinv(y) for 0 <= y < 1 to about 1e-3 relative: the inverse of erf(x) ~ 1 - exp(-x^2 a) ...
    from w = -log(1 - y^2) (Winitzki's approximation, a = 0.147)."""
    a = 0.147
    w = -(np.log1p(-y) + np.log1p(y))  # y * y would round to 1 next to 1
    t = 2.0 / (math.pi * a) - w / 2.0
    return np.sqrt(np.sqrt(t * t + w / a) - t)


def erfinv(y: np.ndarray) -> np.ndarray:
    """The inverse of erf on [-1, 1] elementwise: +-inf at +-1, NaN beyond."""
    y = np.asarray(y)
    v = y.astype(np.float64).reshape(-1)
    a = np.abs(v)
    inside = a < 1.0
    out = np.where(a == 1.0, np.inf, np.nan)
    yi = a[inside]
    x = _first_guess(yi)
    central = yi < 0.5
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(4):
            bump = _SLOPE * np.exp(-x * x)
            # central: Newton on erf(x) - y; tails: Newton on log erfc(x) - log(1 - y), which is near linear
            # in x^2 there, and 1 - y is exact (y >= 0.5) where erf(x) - y would have lost the digits
            step_c = (_ERF(x).astype(np.float64) - yi) / bump
            rest = _ERFC(x).astype(np.float64)
            step_t = -(np.log(rest) - np.log1p(-yi)) * rest / bump
            step = np.where(central, step_c, step_t)
            x = np.where(yi == 0, 0.0, x - step)
    out[inside] = x
    out = np.copysign(out, v)  # erfinv is odd; -0 stays -0
    out[np.isnan(v)] = np.nan
    return _result(y, out.reshape(y.shape))


def _lgamma_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return lgamma(x)


def _lgamma_vjp(g: Grad, entry: Entry) -> tuple:
    x = entry.ins[0]
    return (g * (POLYGAMMA(x, p=0) if is_tensor(x) else digamma(x)),)


LGAMMA = Primitive("lgamma", _lgamma_fwd, _lgamma_vjp, keep_in=True, elementwise=True, floating=True)


def _polygamma_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return polygamma(p, x)


def _polygamma_vjp(g: Grad, entry: Entry) -> tuple:
    x, n = entry.ins[0], entry.p + 1
    return (g * (POLYGAMMA(x, p=n) if is_tensor(x) else polygamma(n, x)),)


# p: n, the order of the derivative of digamma (0: digamma itself)
POLYGAMMA = Primitive("polygamma", _polygamma_fwd, _polygamma_vjp, keep_in=True, elementwise=True, floating=True)


def _erfinv_fwd(p: Any, y: np.ndarray) -> np.ndarray:
    return erfinv(y)


def _erfinv_vjp(g: Grad, entry: Entry) -> tuple:
    y = entry.ins[0]
    x = ERFINV(y) if is_tensor(y) else erfinv(y)
    bump = EXP(x * x) if is_tensor(x) else np.exp(x * x)
    return (g * (math.sqrt(math.pi) / 2.0) * bump,)


# it keeps its input and computes erfinv again in its VJP, as PyTorch's derivative does: a change of the
# result in place after it is then no reason to refuse backward (PyTorch computes it)
ERFINV = Primitive("erfinv", _erfinv_fwd, _erfinv_vjp, keep_in=True, elementwise=True, floating=True)
