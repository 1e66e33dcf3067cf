"""The recording kernel and the public functions: each checks its arguments and records a primitive.

A primitive (its forward, its VJP, what it saves, its flags) is one object in ``primitives/``;
``apply`` runs its forward on the inputs' arrays and, when an input requires grad, appends one tape
entry. This file also holds the composites, built only from primitives (so their gradients, and the
gradients of their gradients, come from the primitives' VJPs), and the constructors.
"""

from __future__ import annotations

import builtins
import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from . import dtypes, random
from .devices import Device, takes_device
from .primitives import KERNEL, OTHERS, Primitive
from .primitives.arithmetic import (
    ADD,
    ATAN2,
    DIV,
    FLOOR_DIVIDE,
    FMOD,
    HYPOT,
    MAXIMUM,
    MINIMUM,
    MUL,
    NEG,
    POW,
    RECIPROCAL,
    REMAINDER,
    RSQRT,
    SUB,
    TRUNC_DIVIDE,
)
from .primitives.elementwise import (
    ABS,
    ACOS,
    ACOSH,
    ASIN,
    ASINH,
    ASTYPE,
    ATAN,
    ATANH,
    CEIL,
    CLIP,
    COMPARE,
    COS,
    COSH,
    ELU,
    ERF,
    ERFC,
    EXP,
    EXP2,
    EXPM1,
    FLOOR,
    HARDSHRINK,
    HARDTANH,
    LEAKY_RELU,
    LOG,
    LOG1P,
    LOG2,
    LOG10,
    RELU,
    ROUND,
    SIGMOID,
    SIGN,
    SIN,
    SINH,
    SQRT,
    TAN,
    TANH,
    THRESHOLD,
    TRUNC,
    WHERE,
    _compare_fwd,
)
from .primitives.gamma import ERFINV, LGAMMA, POLYGAMMA
from .primitives.index import GETITEM, INDEX_PUT, SCATTER_ADD
from .primitives.linalg import EINSUM, INVERSE, MATMUL, MATMUL_T, einsum_parameters
from .primitives.primitive import Grad
from .primitives.reduce import ARGMAX, ARGMIN, ARGSORT, CUMSUM, CUMULATIVE_ARGMAX, MAX, MIN, SUM, VAR
from .primitives.shape import (
    BROADCAST_TO,
    CAT,
    CONTIGUOUS,
    DIAGONAL,
    DIAGONAL_SCATTER,
    FLIP,
    RESHAPE,
    STACK,
    TRANSPOSE,
    TRANSPOSED_COPY,
    TRIANGLE,
    UNFOLD,
    UNFOLD_SCATTER,
    diagonal_shape,
    windows_overlap,
)
from .tape import Entry, Leaf, Structure, state
from .tensor import Axes, AxesArg, Operand, ShapeArgs, Tensor, View
from .versions import _root, is_stale, latest_recorded, stale_error, stamps

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

# ---- recording -----------------------------------------------------------------------------------


def apply(prim: Primitive, inputs: tuple, p: Any = None) -> Tensor:
    """Run ``prim.fwd(p, *arrays)`` on the inputs' data; if any input requires grad, append a tape entry
    keeping what ``prim`` says its VJP reads, given which inputs need a gradient (see ``primitives/
    primitive.py``). A view primitive's result is marked as a view of its input when it shows its
    memory. This runs once per op: plain loops, no per-op dict work."""
    op = prim.name
    if prim.floating and _kind(inputs[0]) in ("b", "i", "u"):  # as PyTorch: exp of integers is a float
        inputs = (_floating(inputs[0]),)
    st = state.__dict__  # this thread's state, looked up once (see tape.state)
    recording = st["grad_enabled"]
    if recording and latest_recorded[0] >= 0:  # a recorded in-place update happened once
        refresh(op, inputs)
    args = []
    parents: list[Entry | Leaf | None] = []
    any_grad = False
    for x in inputs:
        if isinstance(x, Tensor):
            args.append(x.data)
            e = x._entry
            parents.append(e)
            if e is not None:
                any_grad = True
        else:
            args.append(x)
            parents.append(None)
    fwd = prim.fwd
    out = fwd(p, *args)
    if type(out) is not np.ndarray:
        out = np.asarray(out)
    watchers = st["watchers"]  # empty unless something watches every op
    if not (any_grad and recording) or out.dtype.kind not in "fc":
        for watcher in watchers:
            watcher(None, op, fwd, p, inputs, args, out)
        t = Tensor._from(out)
        return _as_view(t, inputs[0], prim, p) if prim.view else t
    ins: tuple | None
    keep_in = prim.keep_in
    if keep_in is OTHERS:  # a product: each input is kept for the others' gradients (two, usually)
        if len(args) == 2:
            ins = (args[0] if parents[1] is not None else None, args[1] if parents[0] is not None else None)
        else:
            ins = tuple(a if _needed(parents, _others(i, len(args))) else None for i, a in enumerate(args))
    elif keep_in is True or not keep_in:
        ins = tuple(args) if keep_in else None
    else:
        ins = tuple([a if _needed(parents, readers) else None for a, readers in zip(args, keep_in)])
    keep_out = prim.keep_out
    if keep_out is not True and keep_out:
        keep_out = _needed(parents, keep_out)
    entry = Entry(op, tuple(parents), prim.vjp, ins, out if keep_out else None, p, out.shape, out.dtype, fwd)
    for tape in st["tapes"]:
        tape.entries.append(entry)
    for instrument in st["instruments"]:  # empty unless Tape(sources=True) or detect_anomaly is on
        instrument(entry, args, out)
    for watcher in watchers:
        watcher(entry, op, fwd, p, inputs, args, out)
    t = Tensor._from(out, entry)
    return _as_view(t, inputs[0], prim, p) if prim.view else t


# the primitives record through this kernel when a VJP runs on Tensors (create_graph)
KERNEL.record = apply
KERNEL.tensor = Tensor


def refresh(op: str, inputs: tuple) -> None:
    """Bring each input whose memory a recorded in-place update overwrote after it was computed (through
    a view of it, or its base) up to date, as PyTorch rebases a view: its view op is recorded again on
    its base's new value. A stale input that is no view (it shares memory through detach() or .data)
    cannot be, and is refused: its gradient would be wrong."""
    for x in inputs:
        if isinstance(x, Tensor) and is_stale(x):
            _rebase(op, x)


def _rebase(op: str, x: Tensor) -> None:
    view = x._view
    if view is None:
        raise stale_error(op, x)
    if is_stale(view.base):
        _rebase(op, view.base)
    old = x._entry
    fresh = apply(view.primitive, (view.base,), view.p)
    x._entry = fresh._entry
    if fresh.data.shape == x.data.shape and fresh.data.strides == x.data.strides:
        # the same memory seen again, now known as the new entry's result (what a recorder reads)
        x.data = fresh.data
    if old is not None and x._entry is not None:
        x._entry.name = old.name


def _as_view(t: Tensor, x: Any, prim: Primitive, p: Any) -> Tensor:
    """Mark ``t`` as a view of ``x`` when it shows ``x``'s memory (see ``tensor.View``)."""
    out = t.data
    if out.base is not None and isinstance(x, Tensor):
        root = _root(out)
        if root is _root(x.data):
            t._view = View(x, prim, p, stamps.get(id(root), -1))
    return t


def written_through(view: View, value: Tensor) -> Tensor:
    """The new value of ``view.base`` once ``value`` is written into the view (PyTorch's CopySlices)."""
    if view.op == "getitem":
        return index_put(view.base, view.p[0], value)
    if view.op == "transpose":
        return transpose(value, tuple(int(a) for a in np.argsort(view.p)))
    if view.op == "diagonal":
        return apply(DIAGONAL_SCATTER, (view.base, value), view.p)
    if view.op == "unfold":  # (windows that share elements are refused before: see tensor._update)
        assert not windows_overlap(view.base.shape, view.p), "a recorded write into overlapping windows"
        return apply(UNFOLD_SCATTER, (view.base, value), view.p)
    return reshape(value, view.base.shape)  # reshape, or a broadcast_to that only added axes of size 1


def _needed(parents: list, readers: tuple) -> bool:
    """Whether any of the inputs numbered in ``readers`` needs a gradient."""
    for j in readers:
        if parents[j] is not None:
            return True
    return False


def _others(i: int, n: int) -> tuple[int, ...]:
    return tuple(j for j in range(n) if j != i)


def _data(x: Any):
    return x.data if isinstance(x, Tensor) else x


def _values(what: str, x: Any) -> np.ndarray:
    """The values of an index or mask argument, read in Python: a Tensor's through ``_concrete``, so that
    a value computed in a recorded step is refused there (its replay would reuse the first call's
    indices) rather than silently reused."""
    return x._concrete(what) if isinstance(x, Tensor) else np.asarray(x)


def _shape(x: Any) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, Tensor) else np.shape(x)


def _shape_text(x: Any) -> str:
    return str(tuple(_shape(x)))


_INTEGER = "biu"  # bool, signed and unsigned integer dtypes


def _kind(x: Any) -> str:
    """The dtype kind of an operand ('f' for a Python float; '' for a Python int or bool, which adapt)."""
    if isinstance(x, Tensor):
        return x.data.dtype.kind
    if isinstance(x, np.ndarray):
        return x.dtype.kind
    return "f" if isinstance(x, float) else ""


def _to_float(x: Any, dtype: np.dtype) -> Any:
    """An operand as ``dtype``: recorded (``astype``), so a replay of the tape converts it too."""
    return astype(x, dtype) if isinstance(x, Tensor) else np.asarray(x, dtype=dtype)


def _floating(x: Any) -> Any:
    """An integer or boolean operand of a float function (exp, sqrt, ...) in the default float dtype, as
    PyTorch computes ``torch.arange(3).exp()`` in float32 (NumPy would give float64)."""
    return _to_float(x, dtypes.get_default_dtype()) if _kind(x) in ("b", "i", "u") else x


_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}  # bool < integer < float < complex


def _result_dtype(*operands: Any, true_division: bool = False) -> np.dtype | None:
    """PyTorch's result type of a binary op: the dtype of the tensors with dimensions, unless a 0-d
    tensor, then a Python number, is of a higher category (bool < integer < float). So a 0-d float64
    tensor does not widen a float32 one (NumPy would), and a Python float meets integers as the
    default float dtype. None for an operand that is none of these (left to NumPy)."""
    tiers: tuple[list, list, list] = ([], [], [])  # dimensioned, 0-d, Python numbers
    for x in operands:
        if isinstance(x, (Tensor, np.ndarray)):
            tiers[0 if x.ndim else 1].append(x.dtype)
        elif isinstance(x, bool):
            tiers[2].append(np.dtype(bool))
        elif isinstance(x, int):
            tiers[2].append(np.dtype(np.int64))
        elif isinstance(x, float):
            tiers[2].append(dtypes.get_default_dtype())
        else:
            return None
    result: np.dtype | None = None
    for found in tiers:
        if found:
            top = sorted(_CATEGORY.get(d.kind, 3) for d in found)[-1]  # float32 with int64 is float32 (max is ours)
            dtype = np.result_type(*(d for d in found if _CATEGORY.get(d.kind, 3) == top))
            if result is None or _CATEGORY.get(dtype.kind, 3) > _CATEGORY.get(result.kind, 3):
                result = dtype
    if true_division and result is not None and result.kind != "f":
        result = dtypes.get_default_dtype()  # int / int is a float, as in PyTorch
    return result


def _promoted(a: Any, b: Any, true_division: bool = False) -> tuple[Any, Any]:
    """Both operands in PyTorch's result type (``_result_dtype``); a Tensor's conversion is recorded
    (``astype``), so a replay converts it too, and its gradient goes back in its own dtype."""
    if _unchanged(a, b, true_division) or _unchanged(b, a, true_division):
        return a, b  # the common case, decided without the rule: every recorded op pays for this line
    # a NumPy scalar (np.float64(0.5), np.sqrt(2.0)) is a number, as in PyTorch: it does not widen float32
    a = a.item() if isinstance(a, np.generic) else a
    b = b.item() if isinstance(b, np.generic) else b
    dtype = _result_dtype(a, b, true_division=true_division)
    if dtype is None:
        return a, b
    return _as_dtype(a, dtype), _as_dtype(b, dtype)


def _unchanged(x: Any, other: Any, true_division: bool) -> bool:
    """Whether ``x`` (a tensor or array) and ``other`` already meet in ``x``'s dtype: the same dtype, or
    a Python number of a category no higher (a float tensor and a float; any number tensor and an int),
    short of a true division of integers."""
    kind_type = type(x)
    if kind_type is not Tensor and kind_type is not np.ndarray:
        return False
    kind = x.dtype.kind
    if true_division and kind != "f":
        return False
    other_type = type(other)
    if other_type is Tensor or other_type is np.ndarray:
        return other.dtype == x.dtype
    return (other_type is float and kind == "f") or (other_type is int and kind in "fiu")


def _as_dtype(x: Any, dtype: np.dtype) -> Any:
    if not isinstance(x, (Tensor, np.ndarray)) or x.dtype == dtype:
        return x  # a Python number adapts to the array it meets (NumPy's weak scalars)
    return _to_float(x, dtype)


def _binary(prim: Primitive, a: Operand, b: Operand, p: Any = None) -> Tensor:
    """A broadcasting binary op; a shape mismatch names the op and both shapes."""
    op = prim.name
    a, b = _promoted(a, b, true_division=prim is DIV)
    try:
        return apply(prim, (a, b), p)
    except ValueError as e:
        shapes = f"operands with shapes {_shape_text(a)} and {_shape_text(b)}"
        try:
            np.broadcast_shapes(_shape(a), _shape(b))
        except ValueError:
            raise ValueError(f"{op}: {shapes} do not broadcast") from e
        raise ValueError(f"{op}: {e} ({shapes})") from e


def _axis(op: str, axis: int, ndim: int) -> int:
    """``axis`` counted from 0, or NumPy's AxisError naming the op (an axis never wraps around)."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis!r} is out of range for {ndim} dimensions")
    return int(axis) % ndim


def _shapes(a: Any, b: Any) -> tuple:
    return (_shape(a), _shape(b))


# ---- elementwise arithmetic ---------------------------------------------------------------------


def add(a: Operand, b: Operand) -> Tensor:
    return _binary(ADD, a, b, _shapes(a, b))


def sub(a: Operand, b: Operand) -> Tensor:
    return _binary(SUB, a, b, _shapes(a, b))


def mul(a: Operand, b: Operand) -> Tensor:
    return _binary(MUL, a, b)


def div(a: Operand, b: Operand) -> Tensor:
    return _binary(DIV, a, b)


def _integer_divisor(op: str, a: Operand, b: Operand) -> None:
    """PyTorch refuses an integer division by zero (NumPy would give 0 with a warning)."""
    a, b = _promoted(a, b)
    if _kind(a) in ("b", "i", "u", "") and _kind(b) in ("b", "i", "u", "") and np.any(np.asarray(_data(b)) == 0):
        raise ZeroDivisionError(f"{op}: integer division by zero (operands of shapes {_shape_text(a)} and "
                                f"{_shape_text(b)}); divide floats to get inf or nan")  # fmt: skip


def floor_divide(a: Operand, b: Operand) -> Tensor:
    """``a // b``: the quotient rounded down (Python's and PyTorch's rule); integers stay integers. Its
    gradient is 0, as ``torch.div(a, b, rounding_mode="floor")``'s."""
    _integer_divisor("floor_divide", a, b)
    return _binary(FLOOR_DIVIDE, a, b)


def trunc_divide(a: Operand, b: Operand) -> Tensor:
    """The quotient rounded toward zero (``rounding_mode="trunc"``); its gradient is 0."""
    _integer_divisor("div", a, b)
    return _binary(TRUNC_DIVIDE, a, b)


def remainder(a: Operand, b: Operand) -> Tensor:
    """``a % b`` with the sign of ``b`` (Python's and PyTorch's rule): ``a - b * floor(a / b)``."""
    _integer_divisor("remainder", a, b)
    return _binary(REMAINDER, a, b)


def fmod(a: Operand, b: Operand) -> Tensor:
    """C's remainder, with the sign of ``a``: ``a - b * trunc(a / b)``."""
    _integer_divisor("fmod", a, b)
    return _binary(FMOD, a, b)


def divide(a: Operand, b: Operand, rounding_mode: str | None = None) -> Tensor:
    """``torch.div``: true division, or the quotient rounded with ``rounding_mode`` "floor" or "trunc"."""
    if rounding_mode is None:
        return div(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return trunc_divide(a, b)
    raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")


def scaled(op: str, a: Operand, b: Operand, alpha: Any) -> Any:
    """``alpha * b`` for ``add``/``sub``: ``b`` itself when alpha is 1; a float alpha with integer operands
    is refused, as PyTorch refuses it (the result would silently become a float)."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: alpha must be a number, got {type(alpha).__name__}")
    if alpha == 1 and not isinstance(alpha, (float, np.floating)):
        return b
    if isinstance(alpha, (float, np.floating)) and _kind(a) in _INTEGER and _kind(b) in (*_INTEGER, ""):
        raise TypeError(f"{op}: a float alpha ({alpha}) for integer operands of shapes {_shape_text(a)} and "
                        f"{_shape_text(b)}")  # fmt: skip
    return b * alpha


def _rounded(prim: Primitive, x: Operand) -> Tensor:
    # an integer is its own floor, as in PyTorch (NumPy would give floats)
    return astype(x, x.dtype) if _kind(x) in _INTEGER else apply(prim, (x,))


def floor(x: Operand) -> Tensor:
    """The largest whole number <= x; its gradient is 0."""
    return _rounded(FLOOR, x)


def ceil(x: Operand) -> Tensor:
    """The smallest whole number >= x; its gradient is 0."""
    return _rounded(CEIL, x)


def trunc(x: Operand) -> Tensor:
    """x rounded toward zero; its gradient is 0."""
    return _rounded(TRUNC, x)


def reciprocal(x: Operand) -> Tensor:
    """1 / x. A number divided by a tensor is this times the number, as in PyTorch: it keeps its result,
    not x, so changing x in place later does not spoil its gradient."""
    return apply(RECIPROCAL, (x,))


def rsqrt(x: Operand) -> Tensor:
    """1 / sqrt(x); it keeps its result for the gradient, as PyTorch's."""
    return apply(RSQRT, (x,))


def neg(x: Operand) -> Tensor:
    return apply(NEG, (x,))


def pow(a: Operand, b: Operand) -> Tensor:  # noqa: A001 - the operator's name
    return _binary(POW, a, b)


# ---- elementwise functions ------------------------------------------------------------------------


def exp(x: Operand) -> Tensor:
    """Elementwise e**x (``x.exp()``); its gradient is the output itself.

    >>> import tinygrad_lstm as tl
    >>> tl.exp(tl.tensor([0.0, 1.0]))
    Tensor([1.      , 2.718282], dtype=float32)
    """
    return apply(EXP, (x,))


def log(x: Operand) -> Tensor:
    """Elementwise natural logarithm (``x.log()``); gradient 1/x. ``tl.log(tl.tensor([1.0]))`` is 0."""
    return apply(LOG, (x,))


def sqrt(x: Operand) -> Tensor:
    """Elementwise square root (``x.sqrt()``); gradient 1/(2 sqrt(x)). ``tl.sqrt(tl.tensor([4.0]))`` is 2."""
    return apply(SQRT, (x,))


def abs(x: Operand) -> Tensor:  # noqa: A001
    """Elementwise absolute value (``x.abs()``); gradient sign(x), 0 at 0 as in PyTorch."""
    return apply(ABS, (x,))


def tanh(x: Operand) -> Tensor:
    """Elementwise hyperbolic tangent (``x.tanh()``), the RNN's squashing function; gradient 1 - tanh(x)**2.

    >>> import tinygrad_lstm as tl
    >>> x = tl.tensor([0.0, 1.0], requires_grad=True)
    >>> y = tl.tanh(x)
    >>> y.sum().backward()
    >>> y, x.grad
    (Tensor([0.       , 0.7615942], dtype=float32, op=tanh), Tensor([1.        , 0.41997433], dtype=float32))
    """
    return apply(TANH, (x,))


def sigmoid(x: Operand) -> Tensor:
    """Elementwise logistic function 1 / (1 + e**-x) (``x.sigmoid()``), an LSTM's gates; gradient s (1 - s).

    >>> import tinygrad_lstm as tl
    >>> tl.sigmoid(tl.tensor([0.0, 100.0, -100.0]))
    Tensor([0.5, 1. , 0. ], dtype=float32)
    """
    return apply(SIGMOID, (x,))


def log1p(x: Operand) -> Tensor:
    """log(1 + x), exact for tiny x."""
    return apply(LOG1P, (x,))


def expm1(x: Operand) -> Tensor:
    """exp(x) - 1, exact for tiny x."""
    return apply(EXPM1, (x,))


def sin(x: Operand) -> Tensor:
    """Elementwise sine (``x.sin()``); gradient cos(x)."""
    return apply(SIN, (x,))


def cos(x: Operand) -> Tensor:
    """Elementwise cosine (``x.cos()``); gradient -sin(x)."""
    return apply(COS, (x,))


def atan(x: Operand) -> Tensor:
    """Elementwise arctangent (``x.atan()``, ``torch.atan``); gradient 1 / (1 + x**2)."""
    return apply(ATAN, (x,))


def tan(x: Operand) -> Tensor:
    return apply(TAN, (x,))


def sinh(x: Operand) -> Tensor:
    return apply(SINH, (x,))


def cosh(x: Operand) -> Tensor:
    return apply(COSH, (x,))


def asin(x: Operand) -> Tensor:
    return apply(ASIN, (x,))


def acos(x: Operand) -> Tensor:
    return apply(ACOS, (x,))


def asinh(x: Operand) -> Tensor:
    return apply(ASINH, (x,))


def acosh(x: Operand) -> Tensor:
    return apply(ACOSH, (x,))


def atanh(x: Operand) -> Tensor:
    return apply(ATANH, (x,))


def log2(x: Operand) -> Tensor:
    return apply(LOG2, (x,))


def log10(x: Operand) -> Tensor:
    return apply(LOG10, (x,))


def exp2(x: Operand) -> Tensor:
    return apply(EXP2, (x,))


def atan2(a: Operand, b: Operand) -> Tensor:
    """The angle of the point (b, a), in (-pi, pi]; integers give the default float dtype, as in PyTorch."""
    return _binary(ATAN2, *_promoted(a, b, true_division=True))


def hypot(a: Operand, b: Operand) -> Tensor:
    """sqrt(a**2 + b**2), without overflow where a**2 would overflow."""
    return _binary(HYPOT, *_promoted(a, b, true_division=True))


def erfc(x: Operand) -> Tensor:
    """1 - erf(x), exact in the tail."""
    return apply(ERFC, (x,))


def sinc(x: Tensor) -> Tensor:
    """sin(pi x) / (pi x), and at 0 its Taylor polynomial 1 - (pi x)**2 / 6: the value 1, the gradient 0
    (PyTorch's) and the second derivative -pi**2 / 3 (where PyTorch's is NaN)."""
    zero = compare(np.equal, x, 0)
    scaled = where(zero, 1.0, x) * np.pi
    near = 1.0 - (x * np.pi) ** 2 * (1.0 / 6.0)
    return where(zero, near, sin(scaled) / scaled)


def erf(x: Operand) -> Tensor:
    """The error function (for the exact GELU); element by element in Python, fine for small tensors."""
    return apply(ERF, (x,))


def erfinv(x: Operand) -> Tensor:
    """The inverse error function on [-1, 1]: +-inf at +-1, NaN beyond (``torch.erfinv``)."""
    return apply(ERFINV, (x,))


def lgamma(x: Operand) -> Tensor:
    """log |Gamma(x)|: +inf at 0 and the negative integers (``torch.lgamma``); its gradient is digamma."""
    return apply(LGAMMA, (x,))


def digamma(x: Operand) -> Tensor:
    """d/dx lgamma(x): -inf at +0, +inf at -0, NaN at the negative integers (``torch.digamma``)."""
    return apply(POLYGAMMA, (x,), 0)


def polygamma(n: int, x: Operand) -> Tensor:
    """The ``n``-th derivative of digamma (``torch.polygamma(n, x)``; n = 0 is digamma)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"polygamma: n must be an int, got {type(n).__name__} {n!r}")
    if n < 0:
        raise ValueError(f"polygamma: n must be 0 or more (the order of the derivative of digamma), got {n}")
    return apply(POLYGAMMA, (x,), int(n))


def mvlgamma(x: Tensor, p: int) -> Tensor:
    """The log of the multivariate gamma function of dimension ``p`` (``torch.mvlgamma``):
    sum_(i < p) lgamma(x - i / 2) + p (p - 1) / 4 log(pi), composed of lgamma."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"mvlgamma: p must be an int, got {type(p).__name__} {p!r}")
    if p < 1:
        raise ValueError(f"mvlgamma: p must be 1 or more, got {p} (input of shape {x.shape})")
    x = _floating(as_tensor(x))
    offsets = np.arange(-p / 2 + 0.5, 0.5, 0.5).astype(x.dtype)  # -(p - 1)/2, ..., 0, as PyTorch sums them
    terms = lgamma(expand_dims(x, -1) + offsets)
    return sum(terms, -1) + p * (p - 1) / 4 * math.log(math.pi)


def relu(x: Operand) -> Tensor:
    """Elementwise max(x, 0) (``x.relu()``); gradient 1 where x > 0, else 0.

    >>> import tinygrad_lstm as tl
    >>> tl.relu(tl.tensor([-1.0, 2.0]))
    Tensor([0., 2.], dtype=float32)
    """
    return apply(RELU, (x,))


def leaky_relu(x: Operand, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else ``negative_slope * x`` (the slope at 0, as PyTorch's)."""
    return apply(LEAKY_RELU, (x,), float(negative_slope))


def elu(x: Operand, alpha: float = 1.0) -> Tensor:
    """x where x > 0, else ``alpha * (exp(x) - 1)``; at 0 its slope is alpha, as PyTorch's."""
    return apply(ELU, (x,), float(alpha))


def hardtanh(x: Operand, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond the ends
    (as PyTorch's, where ``clip`` passes it at the ends)."""
    return apply(HARDTANH, (x,), (float(min_val), float(max_val)))


def threshold(x: Operand, threshold: float, value: float) -> Tensor:
    """x where x > threshold, else ``value`` (NaN kept); the gradient is 1 where x > threshold or NaN,
    0 at the threshold, as PyTorch's ``threshold`` (of which relu is the case 0, 0)."""
    return apply(THRESHOLD, (x,), (float(threshold), float(value)))


def hardshrink(x: Operand, lambd: float = 0.5) -> Tensor:
    """0 where -lambd <= x <= lambd, else x (NaN kept); the gradient is 1 strictly outside, 0 at the
    ends and at NaN, as PyTorch's."""
    return apply(HARDSHRINK, (x,), float(lambd))


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise maximum; at ties each input gets half the gradient (as PyTorch)."""
    return _binary(MAXIMUM, a, b)


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise minimum; at ties each input gets half the gradient (as PyTorch)."""
    return _binary(MINIMUM, a, b)


def where(cond: Operand, a: Operand, b: Operand) -> Tensor:
    """``a`` where ``cond`` else ``b`` (NumPy's ``where``), in PyTorch's result dtype of ``a`` and ``b``
    (an int32 tensor and a float32 one meet in float32, not NumPy's float64); ``cond`` is not
    differentiated."""
    cond = _data(cond)
    a, b = _promoted(a, b)
    try:
        return apply(WHERE, (a, b), (cond, _shape(a), _shape(b)))
    except ValueError as e:
        raise ValueError(
            f"where: shapes {np.shape(cond)}, {_shape_text(a)} and {_shape_text(b)} do not broadcast"
        ) from e


def clip(x: Operand, lo: Operand = None, hi: Operand = None) -> Tensor:
    """NumPy's ``clip`` (PyTorch's ``clamp``); the gradient passes where ``lo <= x <= hi``. Bounds that
    need a gradient get theirs as in PyTorch (see :func:`_clip_by_bounds`)."""
    if lo is None and hi is None:
        raise ValueError("clip: at least one of min and max must be given")
    if any(isinstance(b, Tensor) and b.requires_grad for b in (lo, hi)):
        return _clip_by_bounds(x, lo, hi)
    if type(x) is Tensor and x.dtype.kind == "f" and all(b is None or type(b) in (float, int) for b in (lo, hi)):
        return apply(CLIP, (x,), (lo, hi))  # the common case: the dtype rule keeps x's (every clip pays for this)
    # PyTorch's result dtype of x and the bounds: a float32 x clamped by int64 bounds stays float32
    lo, hi = (b.item() if isinstance(b, np.generic) else b for b in (lo, hi))  # NumPy scalars are numbers
    dtype = _result_dtype(x, *(b for b in (lo, hi) if b is not None))
    lo, hi = (_data(b) for b in (lo, hi))
    if dtype is not None and isinstance(x, Tensor):
        x = x if x.dtype == dtype else astype(x, dtype)
        lo, hi = (b.astype(dtype) if isinstance(b, np.ndarray) and b.dtype != dtype else b for b in (lo, hi))
    return apply(CLIP, (x,), (lo, hi))


def _clip_by_bounds(x: Operand, lo: Operand, hi: Operand) -> Tensor:
    """clip as nested wheres that share the gradient as PyTorch's clamp does: x's where lo <= x <= hi,
    lo's where x < lo < hi, hi's where x > hi or hi < lo; elsewhere (x < lo == hi, NaN) the value is
    clip's of the values, with no gradient."""
    plain = [b.detach() if isinstance(b, Tensor) else b for b in (x, lo, hi)]
    out = clip(*plain)  # the value where no one gets the gradient
    if lo is not None and hi is not None:
        inside = compare(np.logical_and, compare(np.greater_equal, x, lo), compare(np.less_equal, x, hi))
        below = compare(np.logical_and, compare(np.less, x, lo), compare(np.less, lo, hi))
        above = compare(np.logical_or, compare(np.greater, x, hi), compare(np.less, hi, lo))
        out = where(above, hi, out)
        out = where(below, lo, out)
    elif lo is not None:
        inside = compare(np.greater_equal, x, lo)
        out = where(compare(np.less, x, lo), lo, out)
    else:
        inside = compare(np.less_equal, x, hi)
        out = where(compare(np.greater, x, hi), hi, out)
    return where(inside, x, out)


def contiguous(x: Tensor) -> Tensor:
    """A row-major copy of ``x`` (new memory; the gradient passes through)."""
    return apply(CONTIGUOUS, (x,))


def astype(x: Operand, dtype: npt.DTypeLike | None) -> Tensor:
    return apply(ASTYPE, (x,), (x.data.dtype, np.dtype(dtype)))  # (from, to)


def compare(fn: Callable, a: Operand, b: Operand) -> Tensor:
    """Comparisons give bool tensors and are never differentiated (no entry: ``apply`` records none
    for a bool result, but watchers see it)."""
    prim = COMPARE.get(fn) or Primitive(fn.__name__, _compare_fwd, None, register=False)
    try:
        return apply(prim, (a, b), fn)
    except ValueError as e:
        raise ValueError(
            f"{fn.__name__}: operands with shapes {_shape_text(a)} and {_shape_text(b)} do not broadcast"
        ) from e


def sign(x: Operand) -> Tensor:
    """-1, 0 or 1; its gradient is 0 everywhere (as PyTorch's), not missing."""
    return apply(SIGN, (x,))


def round(x: Operand, decimals: int = 0) -> Tensor:  # noqa: A001 - NumPy's and PyTorch's name
    """Round half to even at ``decimals`` decimals; its gradient is 0 everywhere, as PyTorch's."""
    return apply(ROUND, (x,), decimals)


# ---- reductions ------------------------------------------------------------------------------------


def reduced_axes(op: str, axis: Axes, ndim: int) -> tuple[int, ...]:
    """The axes a reduction over ``axis`` (None, an int or a tuple) removes, each checked by :func:`_axis`."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(_axis(op, a, ndim) for a in (axis if isinstance(axis, tuple) else (axis,)))
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: axis {axis} names an axis twice")
    return axes


def scalar_axis(op: str, axis: Axes, ndim: int) -> Axes:
    """PyTorch lets a 0-d tensor take dim 0 or -1, as if it had one axis of length 1: over a 0-d
    tensor that is no axis at all (None); any other tensor's ``axis`` is returned as it is."""
    if ndim or axis is None:
        return axis
    for a in axis if isinstance(axis, tuple) else (axis,):
        _axis(op, a, 1)
    return None


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def sum(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    d = x.data
    axis = scalar_axis("sum", axis, d.ndim)
    p = (d.shape, _kept_shape(d.shape, reduced_axes("sum", axis, d.ndim)), axis, keepdims)
    return apply(SUM, (x,), p)


def mean(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:
    shape = x.data.shape
    axis = scalar_axis("mean", axis, len(shape))
    n = math.prod(shape[a] for a in reduced_axes("mean", axis, len(shape)))
    return sum(x, axis, keepdims) * (1.0 / n if n else np.nan)


def _extreme(prim: Primitive, x: Operand, axis: Axes, keepdims: bool) -> Tensor:
    op = prim.name
    d = x.data
    axis = scalar_axis(op, axis, d.ndim)
    axes = reduced_axes(op, axis, d.ndim)
    if any(d.shape[a] == 0 for a in axes):
        raise ValueError(f"{op}: an empty axis of shape {d.shape} has no {op}imum (axis={axis})")
    p = (_kept_shape(d.shape, axes), axes, axis, keepdims)
    return apply(prim, (x,), p)


def var(x: Operand, axis: Axes = None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``: the squared distance from the mean, summed, over n - ``correction``
    (PyTorch's max(0, n - correction): inf, or NaN for a constant, when correction >= n). Its VJP is
    PyTorch's, 2 (x - mean) / (n - correction), so its gradient is exact to second order."""
    d = x.data
    axis = scalar_axis("var", axis, d.ndim)
    axes = reduced_axes("var", axis, d.ndim)
    n = math.prod(d.shape[a] for a in axes)
    scale = 1.0 / (n - correction) if n > correction else math.inf
    p = Structure((axes, keepdims, n, scale, _kept_shape(d.shape, axes)))
    return apply(VAR, (x,), p)


def argmax(x: Operand, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the largest value (first at ties; over all elements by default): integers, never
    differentiated, but an op, so a replay of a recorded step computes it again on every call."""
    return apply(ARGMAX, (x,), (axis, keepdims))


def argmin(x: Operand, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Index of the smallest value (first at ties): as :func:`argmax`."""
    return apply(ARGMIN, (x,), (axis, keepdims))


def max(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme(MAX, x, axis, keepdims)


def min(x: Operand, axis: Axes = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _extreme(MIN, x, axis, keepdims)


# ---- linear algebra ----------------------------------------------------------------------------------


def matmul(a: Operand, b: Operand) -> Tensor:
    try:
        return apply(MATMUL, (a, b))
    except ValueError as e:
        inner_a, inner_b = _shape(a)[-1:], _shape(b)[-2:][:1]
        raise ValueError(
            f"matmul: shapes {_shape_text(a)} and {_shape_text(b)} are not aligned"
            f" (inner dimensions {inner_a} and {inner_b})"
        ) from e


def matmul_t(a: Tensor, b: Tensor, b_t: Tensor) -> Tensor:
    """``a @ b`` for a matrix ``b``, with ``b_t`` (b.T's values, in a layout of their own: a parameter
    whose transpose :func:`transposed_copy` made ``b``) for the VJP's ``g @ b.T``, so that neither
    product reads a transposed operand (about twice as slow on OpenBLAS at an RNN's sizes). ``b_t``
    gets no gradient: ``b``'s is the product's, as :func:`matmul`'s."""
    # (every step of a recurrent layer calls this: each operand's array is looked up once)
    ad, bd, td = np.asarray(_data(a)), np.asarray(_data(b)), np.asarray(_data(b_t))
    a_shape, b_shape, t_shape = ad.shape, bd.shape, td.shape
    if len(b_shape) != 2 or t_shape != b_shape[::-1] or not a_shape or a_shape[-1] != b_shape[0]:
        raise ValueError(
            f"matmul_t: a of shape {a_shape}, b of shape {b_shape} and b_t of shape {t_shape}: b must be a "
            "matrix, b_t its transpose, and a's last axis as long as b's first"
        )
    if isinstance(b_t, Tensor) and b_t.requires_grad:
        raise ValueError(
            f"matmul_t: b_t (shape {t_shape}) requires grad; pass b_t.detach(): b's gradient is the product's"
        )
    dtype = bd.dtype
    if dtype.kind != "f" or ad.dtype != dtype or td.dtype != dtype:
        raise TypeError(f"matmul_t: a, b and b_t must share one float dtype, got {ad.dtype}, {dtype} and {td.dtype}")
    return apply(MATMUL_T, (a, b, b_t))


# ---- shape ------------------------------------------------------------------------------------------


def transposed_copy(x: Operand) -> Tensor:
    """``x.T`` of a matrix in memory of its own, laid out row by row (NumPy's ``x.T`` is a view)."""
    if len(_shape(x)) != 2:
        raise ValueError(f"transposed_copy: a matrix is needed, got shape {_shape_text(x)}")
    return apply(TRANSPOSED_COPY, (x,))


def reshape(x: Operand, shape: tuple[int, ...]) -> Tensor:
    try:
        p = (x.data.shape, tuple(shape))
        return apply(RESHAPE, (x,), p)
    except (ValueError, TypeError) as e:
        raise ValueError(f"reshape: cannot reshape shape {x.data.shape} into {tuple(shape)}") from e


def transpose(x: Operand, axes: Sequence[int] | None = None) -> Tensor:
    d = x.data
    axes = tuple(range(d.ndim))[::-1] if axes is None else tuple(_axis("transpose", a, d.ndim) for a in axes)
    if sorted(axes) != list(range(d.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation for shape {d.shape}")
    return apply(TRANSPOSE, (x,), axes)


def swapaxes(x: Operand, axis1: int, axis2: int) -> Tensor:
    if x.ndim == 0:  # PyTorch's transpose(0, 0) of a 0-d tensor: as if it had one axis
        scalar_axis("swapaxes", (axis1, axis2), 0)
        return transpose(x)
    axes = list(range(x.ndim))
    axis1, axis2 = _axis("swapaxes", axis1, x.ndim), _axis("swapaxes", axis2, x.ndim)
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(x, tuple(axes))


def expand_dims(x: Operand, axis: int | tuple[int, ...]) -> Tensor:
    axes = axis if isinstance(axis, tuple) else (axis,)
    ndim = x.ndim + len(axes)
    for a in axes:
        _axis("expand_dims", a, ndim)
    return reshape(x, np.expand_dims(x.data, axis).shape)


def squeeze(x: Operand, axis: Axes = None) -> Tensor:
    try:
        shape = np.squeeze(x.data, axis).shape
    except ValueError as e:
        raise ValueError(f"squeeze: cannot squeeze axis {axis} of shape {x.data.shape}") from e
    return reshape(x, shape)


def broadcast_to(x: Operand, shape: tuple[int, ...]) -> Tensor:
    p = (x.data.shape, tuple(shape))
    try:
        if np.broadcast_shapes(x.data.shape, p[1]) != p[1]:
            raise ValueError("the target shape is smaller")
        t = apply(BROADCAST_TO, (x,), p)
    except ValueError as e:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.data.shape} to {shape}") from e
    return t


# ---- indexing ---------------------------------------------------------------------------------------

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _plain_index(index: Any):
    """Tensors inside an index become arrays; say whether the index is basic (no copies)."""
    if type(index) is int:  # the usual cases first: x[t], and tuples of slices
        return index, True
    if isinstance(index, tuple):
        index = tuple([i.data if isinstance(i, Tensor) else i for i in index])
        basic = True
        for i in index:
            if not isinstance(i, _BASIC) or isinstance(i, bool):
                basic = False
                break
        return index, basic
    index = _data(index)
    return index, isinstance(index, _BASIC) and not isinstance(index, bool)


def getitem(x: Operand, index: Any) -> Tensor:
    index, basic = _plain_index(index)
    try:
        p = (index, x.data.shape, basic)
        # basic indices give a view, whose parameters are only structure (kept by free())
        return apply(GETITEM, (x,), Structure(p) if basic else p)
    except IndexError as e:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {x.data.shape}: {e}") from e


def scatter_add(g: Grad, index: Any, shape: tuple[int, ...], basic: bool) -> Tensor:
    """Zeros of ``shape`` with ``g`` added at ``index``: the adjoint of ``getitem``."""
    return apply(SCATTER_ADD, (g,), (index, shape, basic))


def index_put(x: Operand, index: Any, v: Operand) -> Tensor:
    """``x`` with ``v`` written at ``index`` (a new tensor): what ``x[index] = v`` records on a graph."""
    index, _ = _plain_index(index)
    try:
        return apply(INDEX_PUT, (x, v), (index, _shape(v)))
    except (IndexError, ValueError) as e:
        kind = IndexError if isinstance(e, IndexError) else ValueError
        where = f"at {index!r} of shape {_shape(x)}"
        raise kind(f"setitem: cannot write a value of shape {_shape_text(v)} {where}: {e}") from e


# ---- joining and splitting ---------------------------------------------------------------------------


def axis_or_dim(op: str, axis: AxesArg, dim: AxesArg, default: Any = None) -> Any:
    """NumPy's ``axis=`` or PyTorch's ``dim=`` (one of them; a list of axes becomes a tuple)."""
    if axis is not None and dim is not None:
        raise TypeError(f"{op}: give axis= (NumPy's name) or dim= (PyTorch's), not both")
    chosen = dim if dim is not None else axis
    if chosen is None:
        return default
    return tuple(chosen) if isinstance(chosen, list) else chosen


def cat(tensors: Sequence[Operand], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along an existing axis (NumPy's ``concatenate``; ``dim=`` as in ``torch.cat``)."""
    axis = axis_or_dim("cat", axis, dim, 0)
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("cat: got an empty list of tensors; there is nothing to join")
    shapes = [_shape(t) for t in tensors]
    ndim = len(next((s for s in shapes if s != (0,)), shapes[0]))
    if not ndim:
        raise ValueError("cat: 0-d tensors cannot be joined along an axis (use stack)")
    axis = _axis("cat", axis, ndim)
    if ndim > 1 and (0,) in shapes:
        # PyTorch's legacy rule: a 1-D empty part (torch.tensor([])) joins parts of other shapes as
        # nothing; as an empty slab of their shape, so it still gets its (empty) gradient
        other = next(s for s in shapes if s != (0,))
        slab = other[:axis] + (0,) + other[axis + 1 :]
        tensors = tuple(reshape(as_tensor(t), slab) if s == (0,) else t for t, s in zip(tensors, shapes))
        shapes = [slab if s == (0,) else s for s in shapes]
    try:
        bounds = tuple(itertools.accumulate((s[axis] for s in shapes), initial=0))  # ints: free() keeps them
        return apply(CAT, tensors, (axis, bounds))
    except (ValueError, IndexError) as e:
        joined = ", ".join(str(s) for s in shapes)
        raise ValueError(f"cat: shapes {joined} cannot be joined along axis {axis}") from e


def stack(tensors: Sequence[Operand], axis: int | None = None, *, dim: int | None = None) -> Tensor:
    """Join along a new axis (NumPy's ``stack``; ``dim=`` as in ``torch.stack``)."""
    axis = axis_or_dim("stack", axis, dim, 0)
    tensors = tuple(tensors)
    if not tensors:
        raise ValueError("stack: got an empty list of tensors; there is nothing to join")
    shapes = [_shape(t) for t in tensors]
    if len(set(shapes)) != 1:
        raise ValueError(f"stack: shapes {', '.join(str(s) for s in shapes)} must all be equal")
    return apply(STACK, tensors, _axis("stack", axis, len(shapes[0]) + 1))


def split(
    x: Operand, indices_or_sections: int | Sequence[int], axis: int | None = None, *, dim: int | None = None
) -> list[Tensor]:
    """NumPy's ``split`` with ``axis=``: equal sections, or the indices where each piece starts.
    With ``dim=`` it is ``torch.split``: pieces of ``split_size`` (the last may be shorter), or of
    the listed sizes."""
    if dim is not None:
        if axis is not None:
            raise TypeError("split: give axis= (NumPy's meaning) or dim= (PyTorch's), not both")
        return split_sizes(x, indices_or_sections, dim)
    if axis is None:
        _warn_if_pytorch_would_split_otherwise(x, indices_or_sections)
    axis = _axis("split", 0 if axis is None else axis, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0 or n % k:
            raise ValueError(f"split: axis {axis} of shape {x.shape} does not split into {k} equal sections")
        cuts = [i * (n // k) for i in range(1, k)]
    else:
        cuts = list(indices_or_sections)
    lead = (slice(None),) * axis
    edges = [0, *cuts, n]
    shape = _shape(x)
    # each piece is getitem's record of a basic index, made here without getitem's look at the index
    # (an LSTM step splits its gates this way: four pieces a step)
    return [apply(GETITEM, (x,), Structure((lead + (slice(s, e),), shape, True))) for s, e in zip(edges, edges[1:])]


def _warn_if_pytorch_would_split_otherwise(x: Operand, how: int | Sequence[int]) -> None:
    """``tl.split(x, 2)`` is NumPy's (2 equal sections); ``torch.split(x, 2)`` means pieces of 2. Where
    the two readings give other pieces, a PyTorch user's line would silently cut elsewhere: warn."""
    n = x.shape[0] if x.ndim else 0
    if isinstance(how, (int, np.integer)):
        differs = int(how) > 0 and int(how) * int(how) != n
    else:
        differs = builtins.sum(int(k) for k in how) == n  # PyTorch's sizes must add up to the axis
    if differs:
        warnings.warn(
            f"tl.split(x, {how!r}) is NumPy's split (sections, or where pieces start) along axis 0; "
            f"PyTorch's torch.split(x, {how!r}) (pieces of these sizes) is tl.split(x, {how!r}, dim=0) "
            "or x.split(...). Write axis=0 for NumPy's without this warning",
            UserWarning,
            stacklevel=3,
        )


def cumsum(
    x: Operand, axis: int | None = None, *, dim: int | None = None, dtype: npt.DTypeLike | None = None
) -> Tensor:
    """Running sum along ``axis`` (``dim``; in ``dtype`` when given); its gradient is the running sum of
    ``g`` from the other end."""
    if dtype is not None:
        x = astype(as_tensor(x), dtype)
    axis = axis_or_dim("cumsum", axis, dim)
    if axis is None:
        raise ValueError("cumsum: give axis= (or dim=), the axis to run along")
    if x.ndim == 0:  # PyTorch's dim 0 of a 0-d tensor: the running sum of one value is that value
        scalar_axis("cumsum", axis, 0)
        return astype(x, x.dtype)
    axis = _axis("cumsum", axis, x.ndim)
    return apply(CUMSUM, (x,), axis)


def einsum(subscripts: str, *operands: Operand) -> Tensor:
    """NumPy's (and PyTorch's) ``einsum`` with explicit output (``"bij,bjk->bik"``). The gradient of
    each operand is an einsum of the output's gradient with the others; indices summed within one
    operand alone come back by broadcasting. No ``...``, no index repeated within one operand."""
    p = einsum_parameters(subscripts)
    terms = p[1]
    if "->" not in subscripts.replace(" ", "") or "." in subscripts or len(terms) != len(operands):
        raise ValueError(
            f"einsum: {subscripts!r} must name each of the {len(operands)} operands and the output after '->', "
            "without '...'"
        )
    for term, x in zip(terms, operands):
        if len(set(term)) != len(term) or len(term) != len(_shape(x)):
            raise ValueError(f"einsum: {term!r} must name each axis of an operand of shape {_shape_text(x)} once")
    try:
        return apply(EINSUM, tuple(operands), p)
    except ValueError as e:
        shapes = ", ".join(_shape_text(x) for x in operands)
        raise ValueError(f"einsum: {subscripts!r} does not fit operands of shapes {shapes}: {e}") from e


def split_sizes(x: Operand, split_size: int | Sequence[int], dim: int = 0) -> list[Tensor]:
    """``torch.split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or of each
    size in a list (which must add up to the axis)."""
    dim = _axis("split", dim, x.ndim)
    n = x.shape[dim]
    if isinstance(split_size, (int, np.integer)):
        if split_size <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size}")
        return split(x, list(range(int(split_size), n, int(split_size))), axis=dim)
    sizes = [int(k) for k in split_size]
    cuts = np.cumsum(sizes).tolist()
    if any(k < 0 for k in sizes) or (cuts[-1] if cuts else 0) != n:
        raise ValueError(f"split: sizes {sizes} must be non-negative and add up to {n} (axis {dim} of {x.shape})")
    return split(x, cuts[:-1], axis=dim)


# ---- constructors ------------------------------------------------------------------------------------


def _shape_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


@takes_device
def tensor(
    data: Any, dtype: npt.DTypeLike | None = None, requires_grad: bool = False, *, device: Device = None
) -> Tensor:
    """A new tensor holding a copy of ``data``: Python floats in the default dtype
    (``tl.get_default_dtype()``), a NumPy array in its own.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> tl.tensor([[1.0, 2.0]]).dtype, tl.tensor(np.ones(2)).dtype, tl.tensor([1, 2]).dtype
    (dtype('float32'), dtype('float64'), dtype('int64'))
    """
    data = _data(data)
    array = np.array(data, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(data, array), requires_grad=requires_grad)


@takes_device
def zeros(
    *shape: ShapeArgs, dtype: npt.DTypeLike | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of zeros, in the default dtype unless ``dtype`` is given.

    >>> import tinygrad_lstm as tl
    >>> tl.zeros(2, 3).shape, tl.zeros((2, 3)).dtype
    ((2, 3), dtype('float32'))
    """
    return Tensor(np.zeros(_shape_args(shape), dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


@takes_device
def ones(
    *shape: ShapeArgs, dtype: npt.DTypeLike | None = None, device: Device = None, requires_grad: bool = False
) -> Tensor:
    """A tensor of ones, in the default dtype unless ``dtype`` is given: ``tl.ones(2, 3)`` or ``tl.ones((2, 3))``."""
    return Tensor(np.ones(_shape_args(shape), dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


@takes_device
def full(
    shape: ShapeArgs,
    fill_value: float,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (a Python float gives the default dtype, an int int64).

    >>> import tinygrad_lstm as tl
    >>> tl.full((2,), 0.5)
    Tensor([0.5, 0.5], dtype=float32)
    """
    array = np.full(shape, fill_value, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(fill_value, array), requires_grad=requires_grad)


@takes_device
def zeros_like(
    x: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False, *, device: Device = None
) -> Tensor:
    """Zeros of ``x``'s shape and dtype (or ``dtype``)."""
    return Tensor(np.zeros_like(_data(x), dtype=dtype), requires_grad=requires_grad)


@takes_device
def ones_like(
    x: Operand, dtype: npt.DTypeLike | None = None, requires_grad: bool = False, *, device: Device = None
) -> Tensor:
    """Ones of ``x``'s shape and dtype (or ``dtype``)."""
    return Tensor(np.ones_like(_data(x), dtype=dtype), requires_grad=requires_grad)


@takes_device
def randn(
    *shape: ShapeArgs,
    dtype: npt.DTypeLike | None = None,
    device: Device = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Standard normal samples in the default dtype unless ``dtype`` is given (``rng``: a
    ``np.random.Generator``; default ``tl.manual_seed``'s). The samples are drawn in float64 and then
    rounded, so float32 and float64 draws from one seed hold the same numbers.

    >>> import tinygrad_lstm as tl
    >>> x = tl.randn(3, 4, requires_grad=True)
    >>> x.shape, x.dtype, x.requires_grad
    ((3, 4), dtype('float32'), True)
    """
    data = (rng or random.generator()).standard_normal(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


@takes_device
def rand(
    *shape: ShapeArgs,
    dtype: npt.DTypeLike | None = None,
    device: Device = None,
    requires_grad: bool = False,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Uniform samples on [0, 1), in the default dtype unless ``dtype`` is given (as ``randn``)."""
    data = (rng or random.generator()).random(_shape_args(shape))
    return Tensor(np.asarray(data, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


@takes_device
def arange(
    start: float,
    stop: float | None = None,
    step: float = 1,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """``start, start + step, ...`` below ``stop``: int64 for ints, the default dtype for Python floats.

    >>> import tinygrad_lstm as tl
    >>> tl.arange(3), tl.arange(0, 1, 0.5)
    (Tensor([0, 1, 2], dtype=int64), Tensor([0. , 0.5], dtype=float32))
    """
    array = np.arange(start, stop, step, dtype=dtype)
    return Tensor(
        array if dtype is not None else dtypes.from_python((start, stop, step), array), requires_grad=requires_grad
    )


@takes_device
def eye(
    n: int,
    m: int | None = None,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """The n x m identity matrix (square by default)."""
    return Tensor(np.eye(n, m, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


@takes_device
def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: npt.DTypeLike | None = None,
    requires_grad: bool = False,
    *,
    device: Device = None,
) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end``, both included (``torch.linspace``)."""
    return Tensor(np.linspace(start, end, steps, dtype=dtypes.resolve(dtype)), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory, as ``torch.from_numpy`` (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


@takes_device
def as_tensor(data: Any, dtype: npt.DTypeLike | None = None, device: Device = None) -> Tensor:
    """A tensor from ``data``, sharing memory when ``data`` is already an array of ``dtype``; a
    Tensor of that dtype is returned as it is."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    data = _data(data)
    array = np.asarray(data, dtype=dtype)
    return Tensor(array if dtype is not None else dtypes.from_python(data, array))


# ---- composites: built only from the primitives above, so their gradients (and the gradients of
# their gradients) come from the primitives' VJPs. The softmax family subtracts the (detached)
# maximum before exp: the gradient does not depend on that shift, so treating it as a constant is
# exact, and inputs of +-1e4 stay finite --------------------------------------------------------------


def _stable_shift(x: Tensor, axis: Axes, op: str, infinite: tuple = (-np.inf,)) -> Tensor:
    """The max along ``axis`` (kept dims) as a constant, 0 where it is one of ``infinite``, as PyTorch
    shifts: softmax by the max as it is, so a row holding +inf gives NaN (inf - inf), and a row of -inf
    only by 0 (its exp is 0); logsumexp by 0 wherever the max is infinite (logsumexp([inf, 0]) = inf).
    Computed with ops on the detached value, not on ``x.data``, so that whoever watches ops sees it."""
    axes = reduced_axes(op, axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes):  # nothing to shift: the sum over an empty axis is 0
        return Tensor._from(np.zeros(_kept_shape(x.shape, axes), x.dtype))
    m = max(Tensor._from(x.data), axis=axis, keepdims=True)
    if np.inf in infinite:
        return where(compare(np.less, abs(m), np.inf), m, 0)
    return where(compare(np.equal, m, -np.inf), 0, m)


def logsumexp(x: Tensor, axis: Axes = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x), axis)) without overflow.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> f"{tl.Tensor(np.array([1e4, 1e4])).logsumexp():.6f}"  # 1e4 + log 2
    '10000.693147'
    """
    axis = scalar_axis("logsumexp", axis, x.ndim)
    m = _stable_shift(x, axis, "logsumexp", infinite=(-np.inf, np.inf))
    out = log(sum(exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else squeeze(out, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x), computed as PyTorch does: (x - max) - log(sum(exp(x - max)))."""
    over = scalar_axis("log_softmax", axis, x.ndim)
    shifted = x - _stable_shift(x, over, "log_softmax")
    return shifted - log(sum(exp(shifted), axis=over, keepdims=True))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis`` (the last by default), shifted by the maximum first so that it
    never overflows.

    >>> import tinygrad_lstm as tl
    >>> tl.softmax(tl.tensor([[1.0, 1.0], [0.0, 1000.0]]))
    Tensor([[0.5, 0.5],
            [0. , 1. ]], dtype=float32)
    """
    over = scalar_axis("softmax", axis, x.ndim)
    e = exp(x - _stable_shift(x, over, "softmax"))
    return e / sum(e, axis=over, keepdims=True)


def vector_norm(x: Tensor, p: float | str = 2, axis: Axes = None, keepdims: bool = False) -> Tensor:
    """The ``p``-norm over ``axis`` (all elements by default). At a zero vector the gradient is 0,
    PyTorch's choice of subgradient, not the NaN that sqrt'(0) * 0 would give."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    if p == "fro":  # Frobenius: the 2-norm of the elements
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"norm: p must be a number, inf, -inf or 'fro', got {p!r}")
    if p == np.inf:
        return abs(x).max(axis, keepdims)
    if p == -np.inf:
        return abs(x).min(axis, keepdims)
    if p == 0:  # how many entries are not 0: a count, its gradient 0 (still on the graph, as PyTorch's)
        count = compare(np.not_equal, x, 0).astype(x.dtype).sum(axis, keepdims)
        return (x * 0.0).sum(axis, keepdims) + count
    if p == 1:
        return abs(x).sum(axis, keepdims)
    if p == 2:
        powered = (x * x).sum(axis, keepdims)
    else:  # |x| ** p taken only where x != 0: at 0 its slope (p < 1) or curvature (p < 2) is infinite
        nonzero = compare(np.not_equal, x, 0)
        powered = where(nonzero, where(nonzero, abs(x), 1.0) ** p, 0.0).sum(axis, keepdims)
    return root_or_zero(powered, p)


def root_or_zero(x: Tensor, p: float = 2) -> Tensor:
    """``x ** (1/p)`` of a non-negative ``x``, with gradient 0 where ``x`` is 0 (PyTorch's subgradient
    for norms and std), not the infinite slope of the root there times 0."""
    nonzero = compare(np.not_equal, x, 0)  # NaN included: the std of one value is NaN, as PyTorch's
    safe = where(nonzero, x, 1.0)  # the root is taken only where it has a gradient
    return where(nonzero, safe ** (1.0 / p) if p != 2 else sqrt(safe), 0.0)


def prod(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (all elements by default), as a chain of products: exact gradients
    with zeros in the input, where dividing the product by x would give 0/0."""
    if axis is None or scalar_axis("prod", axis, x.ndim) is None:
        keepdims = keepdims and x.ndim > 0
        x, axis = reshape(x, (-1,)), 0
    axis = _axis("prod", axis, x.ndim)
    lead = (slice(None),) * axis
    if x.shape[axis] == 0:
        out = sum(x, axis, keepdims) * 0.0 + 1.0  # the empty product, still on the graph
        return out
    out = getitem(x, lead + (0,))
    for k in range(1, x.shape[axis]):
        out = out * getitem(x, lead + (k,))
    return expand_dims(out, axis) if keepdims else out


def flip(x: Tensor, dims: int | tuple[int, ...] | list[int]) -> Tensor:
    """Reverse the order along each axis in ``dims`` (new memory, as ``torch.flip``)."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = Structure(sorted({_axis("flip", d, x.ndim) for d in dims}))
    return apply(FLIP, (x,), axes)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero above the ``diagonal``-th diagonal of the last two axes (a causal mask keeps the past)."""
    if x.ndim < 2:
        raise ValueError(f"tril: needs at least 2 axes, got shape {x.shape}")
    return apply(TRIANGLE, (x,), Structure((int(diagonal), False)))


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero below the ``diagonal``-th diagonal of the last two axes."""
    if x.ndim < 2:
        raise ValueError(f"triu: needs at least 2 axes, got shape {x.shape}")
    return apply(TRIANGLE, (x,), Structure((int(diagonal), True)))


def gather(x: Tensor, dim: int, index: Any) -> Tensor:
    """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for dim 0 (and so on), ``index`` of the
    output's shape; NumPy calls it ``take_along_axis``."""
    index = np.asarray(_data(index))
    if x.ndim == 0:  # PyTorch's 0-d input: one value, every index 0
        scalar_axis("gather", dim, 0)
        if index.ndim > 1 or (index.size and (index.dtype.kind not in "iu" or np.any(index != 0))):
            raise IndexError(f"gather: index {index.tolist()} out of range for a 0-d tensor")
        return getitem(reshape(x, (1,)), index.astype(np.int64))
    dim = _axis("gather", dim, x.ndim)
    if index.ndim != x.ndim or index.dtype.kind not in "iu":
        raise ValueError(f"gather: index must be integers with {x.ndim} axes like the input, got {index.dtype} "
                         f"of shape {index.shape}")  # fmt: skip
    if any(index.shape[a] > x.shape[a] for a in range(x.ndim) if a != dim):
        raise ValueError(f"gather: index shape {index.shape} is larger than input shape {x.shape} off axis {dim}")
    if index.size and (index.min() < -x.shape[dim] or index.max() >= x.shape[dim]):
        raise IndexError(f"gather: index values must lie in [0, {x.shape[dim]}) along axis {dim}")
    grid = np.indices(index.shape, sparse=True)
    return getitem(x, tuple(index if a == dim else grid[a] for a in range(x.ndim)))


def square(x: Tensor) -> Tensor:
    return x * x


# ---- more of PyTorch's functions, composed of the primitives above: their gradients of every order come
# from the primitives' VJPs, and where they record only shapes, slices and numbers (diag, trace, tile,
# movedim, repeat_interleave, unfold) a second backward runs again, as PyTorch's does ------------------


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of axes ``dim1``, ``dim2``, as a new last axis (``torch.diagonal``):
    a view of ``x`` whatever its layout, as PyTorch's (``x.diagonal().zero_()`` zeroes x's diagonal)."""
    a1, a2 = _axis("diagonal", dim1, x.ndim), _axis("diagonal", dim2, x.ndim)
    if a1 == a2:
        raise ValueError(f"diagonal: dim1 and dim2 name one axis ({a1}) of shape {x.shape}")
    return apply(DIAGONAL, (x,), (int(offset), a1, a2))


def diagonal_scatter(x: Tensor, src: Operand, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``x`` with its ``offset``-th diagonal of axes ``dim1``, ``dim2`` replaced by ``src`` (new memory;
    ``torch.diagonal_scatter``)."""
    a1, a2 = _axis("diagonal_scatter", dim1, x.ndim), _axis("diagonal_scatter", dim2, x.ndim)
    if a1 == a2:
        raise ValueError(f"diagonal_scatter: dim1 and dim2 name one axis ({a1}) of shape {x.shape}")
    want = diagonal_shape(x.shape, (offset, a1, a2))
    if _shape(src) != want:
        raise ValueError(
            f"diagonal_scatter: src has shape {_shape_text(src)}; the diagonal (offset {offset}, dims {a1}, {a2}) "
            f"of shape {x.shape} has shape {want}"
        )
    return apply(DIAGONAL_SCATTER, (x, src), (int(offset), a1, a2))


def diag(x: Tensor, diagonal_: int = 0) -> Tensor:
    """``torch.diag``: a vector's values on the ``diagonal_``-th diagonal of a square matrix, or a
    matrix's diagonal as a vector."""
    if x.ndim == 2:
        return diagonal(x, diagonal_)
    if x.ndim != 1:
        raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {x.shape}")
    return _on_diagonal(x, diagonal_)


def _on_diagonal(x: Tensor, k: int) -> Tensor:
    """Each vector of the last axis on the ``k``-th diagonal of a square matrix (the last two axes). The
    matrix is the vector with a row of zeros after each value, flattened, shifted and cut: cat, reshape
    and a slice, so that its gradient is the diagonal again and a second backward runs."""
    batch, n = x.shape[:-1], x.shape[-1]
    size = n + builtins.abs(k)
    rows = cat([reshape(x, batch + (n, 1)), np.zeros(batch + (n, size), x.dtype)], axis=-1)  # (..., n, size + 1)
    lead = k if k >= 0 else -k * size  # where the first value goes in the flattened matrix
    parts: list[Any] = [np.zeros(batch + (lead,), x.dtype)] if lead else []
    parts.append(reshape(rows, batch + (n * (size + 1),)))
    short = size * size - lead - n * (size + 1)
    if short > 0:
        parts.append(np.zeros(batch + (short,), x.dtype))
    flat = cat(parts, axis=-1) if len(parts) > 1 else parts[0]
    return reshape(getitem(flat, (Ellipsis, slice(0, size * size))), batch + (size, size))


def diag_embed(x: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Each vector of the last axis on the ``offset``-th diagonal of the matrix in axes ``dim1``, ``dim2``
    of the result (which has one axis more)."""
    if x.ndim == 0:
        raise ValueError("diag_embed: expects a tensor of at least 1 axis, got shape ()")
    a1, a2 = _axis("diag_embed", dim1, x.ndim + 1), _axis("diag_embed", dim2, x.ndim + 1)
    if a1 == a2:
        raise ValueError(f"diag_embed: dim1 and dim2 name one axis ({a1}) of the result")
    out = _on_diagonal(x, offset)
    return out if (a1, a2) == (x.ndim - 1, x.ndim) else movedim(out, (-2, -1), (a1, a2))


def trace(x: Tensor) -> Tensor:
    """The sum of a matrix's diagonal."""
    if x.ndim != 2:
        raise ValueError(f"trace: expects a matrix, got shape {x.shape}")
    return sum(diagonal(x), None)


def movedim(x: Tensor, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
    """Axes ``source`` moved to positions ``destination``, the others kept in their order."""
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: {len(src)} source axes for {len(dst)} destinations (shape {x.shape})")
    src = [_axis("movedim", a, x.ndim) for a in src]
    dst = [_axis("movedim", a, x.ndim) for a in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: an axis is repeated in {source} or {destination} (shape {x.shape})")
    order = [-1] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    others = iter(a for a in range(x.ndim) if a not in src)
    order = [a if a >= 0 else next(others) for a in order]
    return transpose(x, tuple(order))


def repeat_interleave(x: Tensor, repeats: Any, dim: int | None = None) -> Tensor:
    """Each entry repeated ``repeats`` times in place along ``dim`` (of the flattened tensor when
    ``dim`` is None): ``[a, b] -> [a, a, b, b]``. An int repeats by broadcasting (shapes only); a
    tensor of counts, one per entry, by an index."""
    if dim is None:
        x, dim = reshape(x, (-1,)), 0
    if x.ndim == 0:
        x = reshape(x, (1,))
    axis = _axis("repeat_interleave", dim, x.ndim)
    counts = _values("repeat_interleave()", repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
        raise ValueError(f"repeat_interleave: repeats must be non-negative integers, got {counts.dtype} "
                         f"{counts.tolist()}")  # fmt: skip
    n = x.shape[axis]
    if counts.size == 1:
        r = int(counts.reshape(()))
        spread = expand_dims(x, axis + 1)
        tiled = broadcast_to(spread, spread.shape[: axis + 1] + (r,) + spread.shape[axis + 2 :])
        return reshape(tiled, x.shape[:axis] + (n * r,) + x.shape[axis + 1 :])
    if counts.size != n:
        raise ValueError(f"repeat_interleave: {counts.size} repeats for axis {axis} of shape {x.shape}")
    index = np.repeat(np.arange(n), counts)
    return getitem(x, (slice(None),) * axis + (index,))


def unfold(x: Tensor, dim: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: the windows of ``size`` entries, ``step`` apart, along ``dim``, which then counts
    the windows; the entries of each window form a new last axis. A view of ``x``, as PyTorch's: a
    change of x shows in it, a write into it changes x (windows closer than their size share
    elements); its gradient adds the windows' gradients back (unfold_backward)."""
    for name, v in (("size", size), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"unfold: {name} must be an int, got {type(v).__name__} {v!r} (shape {x.shape})")
    if x.ndim == 0:
        scalar_axis("unfold", dim, 0)
        if step <= 0 or not 0 <= size <= 1:
            raise ValueError(f"unfold: size {size} must be 0 or 1 and step {step} positive for a 0-d tensor")
        return reshape(unfold(reshape(x, (1,)), 0, size, step), (size,))
    axis = _axis("unfold", dim, x.ndim)
    n = x.shape[axis]
    if step <= 0 or size < 0 or size > n:
        raise ValueError(f"unfold: size {size} must be 0 to axis {axis}'s length {n} and step {step} positive "
                         f"(shape {x.shape})")  # fmt: skip
    return apply(UNFOLD, (x,), (axis, int(size), int(step)))


def cumprod(x: Tensor, axis: int) -> Tensor:
    """Running product along ``axis``, one product after another as PyTorch computes it: the gradient
    is exact where entries are 0 (dividing the result by x would give 0/0), to every order."""
    if x.ndim == 0:
        scalar_axis("cumprod", axis, 0)
        return astype(x, x.dtype)
    axis = _axis("cumprod", axis, x.ndim)
    if x.shape[axis] == 0:
        return astype(x, x.dtype)
    lead = (slice(None),) * axis
    run = getitem(x, lead + (0,))
    runs = [run]
    for k in range(1, x.shape[axis]):
        run = run * getitem(x, lead + (k,))
        runs.append(run)
    return stack(runs, axis)


def argsort(x: Tensor, dim: int = -1, descending: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (stable: ties keep their order; NaN counts as the
    largest, as in PyTorch); an op, so a replay of a recorded step sorts again."""
    if x.ndim == 0:
        scalar_axis("argsort", dim, 0)
        return Tensor._from(np.zeros((), np.int64))
    return apply(ARGSORT, (x,), (_axis("argsort", dim, x.ndim), bool(descending)))


def cumulative_argmax(x: Tensor, axis: int, largest: bool) -> Tensor:
    """Where the running maximum (``largest``) or minimum along ``axis`` was last reached: an op, so a
    replay of a recorded step finds them again."""
    return apply(CUMULATIVE_ARGMAX, (x,), (axis, largest))


def lerp(start: Operand, end: Operand, weight: Operand) -> Tensor:
    """``start + weight * (end - start)``, computed as PyTorch does: from ``end`` backwards where
    ``|weight| >= 0.5``, so that weight 1 gives ``end`` exactly."""
    diff = end - start if isinstance(end, Tensor) else as_tensor(end) - start
    if not isinstance(weight, Tensor) and np.ndim(weight) == 0:
        return start + diff * weight if builtins.abs(weight) < 0.5 else end - diff * (1 - weight)
    near = compare(np.less, abs(weight.detach() if isinstance(weight, Tensor) else as_tensor(weight)), 0.5)
    return where(near, start + weight * diff, end - diff * (1 - weight))


def outer(a: Tensor, b: Operand) -> Tensor:
    """The outer product of two vectors: ``out[i, j] = a[i] * b[j]``."""
    if a.ndim != 1 or len(_shape(b)) != 1:
        raise ValueError(f"outer: expects two 1-D tensors, got shapes {a.shape} and {_shape_text(b)}")
    return reshape(a, (-1, 1)) * (reshape(b, (1, -1)) if isinstance(b, Tensor) else np.reshape(b, (1, -1)))


def scaled_sum(op: str, x: Operand, product: Tensor, beta: Any, alpha: Any) -> Tensor:
    """``beta * x + alpha * product`` (addmm and its kind): with beta 0, ``x`` is ignored, NaN and all, as
    PyTorch ignores it; ``x`` must broadcast to the product's shape."""
    try:
        if np.broadcast_shapes(_shape(x), product.shape) != product.shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"{op}: input of shape {_shape_text(x)} does not broadcast to the product's "
                         f"shape {product.shape}") from None  # fmt: skip
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled
    return (x if beta == 1 else x * beta) + scaled


def isclose(a: Operand, b: Operand, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol * |b|, elementwise, or equal (infinities of one sign); NaN only with ``equal_nan``."""
    a_, b_ = (t.detach() if isinstance(t, Tensor) else as_tensor(t) for t in (a, b))
    equal = compare(np.equal, a_, b_)
    finite = compare(np.logical_and, a_.isfinite(), b_.isfinite())
    near = compare(np.logical_and, finite, compare(np.less_equal, abs(a_ - b_), atol + rtol * abs(b_)))
    close = compare(np.logical_or, equal, near)
    if equal_nan:
        close = compare(np.logical_or, close, compare(np.logical_and, a_.isnan(), b_.isnan()))
    return close


def fmax(a: Tensor, b: Operand, wins: Callable) -> Tensor:
    """fmax (``wins`` greater_equal) or fmin (less_equal): the winner, NaN only where both are; ``a`` takes
    the whole gradient at ties and where ``b`` is NaN (PyTorch's rule)."""
    a_wins = compare(np.logical_or, compare(wins, a, b), compare(np.not_equal, b, b))
    return where(a_wins, a, b)


def logaddexp(a: Operand, b: Operand) -> Tensor:
    """log(exp(a) + exp(b)): the logsumexp of the pair, so that it never overflows and its gradient is
    right to every order, also where a == b."""
    a_, b_ = as_tensor(a), as_tensor(b)
    shape = np.broadcast_shapes(a_.shape, b_.shape)
    a_ = a_ if a_.shape == shape else broadcast_to(a_, shape)
    b_ = b_ if b_.shape == shape else broadcast_to(b_, shape)
    return logsumexp(stack([a_, b_]), axis=0)


def rot90(x: Tensor, k: int, dims: tuple) -> Tensor:
    """``x`` rotated by 90 degrees ``k`` times, from axis ``dims[0]`` toward ``dims[1]``."""
    if len(dims) != 2 or x.ndim < 2:
        raise ValueError(f"rot90: needs two axes in dims, and a tensor of at least 2 axes; got dims {dims} "
                         f"for shape {x.shape}")  # fmt: skip
    d0, d1 = _axis("rot90", dims[0], x.ndim), _axis("rot90", dims[1], x.ndim)
    if d0 == d1:
        raise ValueError(f"rot90: dims {dims} name one axis of shape {x.shape}")
    k %= 4
    if k == 1:
        return swapaxes(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, (d0, d1))
    if k == 3:
        return swapaxes(flip(x, d0), d0, d1)
    return astype(x, x.dtype)


def diff(x: Tensor, n: int, dim: int, prepend: Operand, append: Operand) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after joining ``prepend`` and ``append``."""
    if x.ndim == 0:
        raise ValueError("diff: expects a tensor of at least 1 axis, got shape ()")
    axis = _axis("diff", dim, x.ndim)
    if n < 0:
        raise ValueError(f"diff: the order n must be non-negative, got {n}")
    if n == 0:  # no difference taken: the input (a copy), without prepend and append, as in PyTorch and NumPy
        return astype(x, x.dtype)
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = cat([p if isinstance(p, Tensor) else as_tensor(p) for p in parts], axis)
    lead = (slice(None),) * axis
    for _ in range(n):
        x = getitem(x, lead + (slice(1, None),)) - getitem(x, lead + (slice(None, -1),))
    return x


def tensor_split(x: Tensor, cuts: int | Sequence[int], dim: int) -> tuple[Tensor, ...]:
    """``sections`` pieces whose lengths differ by at most one (the first ones longer), or the pieces
    between the indices in ``cuts``."""
    axis = _axis("tensor_split", dim, x.ndim)
    n = x.shape[axis]
    if isinstance(cuts, (int, np.integer)):
        k = int(cuts)
        if k <= 0:
            raise ValueError(f"tensor_split: the number of sections must be positive, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        edges = list(itertools.accumulate(sizes, initial=0))
    else:
        edges = [0, *(builtins.min(builtins.max(int(c) + (n if c < 0 else 0), 0), n) for c in cuts), n]
    lead = (slice(None),) * axis
    return tuple(getitem(x, lead + (slice(s, builtins.max(s, e)),)) for s, e in zip(edges[:-1], edges[1:]))


def named_split(op: str, x: Tensor, sections: int | Sequence[int], axis: int, ndim: int) -> tuple[Tensor, ...]:
    """hsplit, vsplit, dsplit: tensor_split along ``axis`` of a tensor of at least ``ndim`` axes, where a
    number of sections must divide the axis."""
    if x.ndim < ndim:
        raise ValueError(f"{op}: needs a tensor of at least {ndim} axes, got shape {x.shape}")
    if isinstance(sections, (int, np.integer)) and (sections <= 0 or x.shape[axis] % sections):
        raise ValueError(f"{op}: {sections} sections do not divide axis {axis} of shape {x.shape}")
    return tensor_split(x, sections, axis)


def kron(a: Tensor, b: Operand) -> Tensor:
    """The Kronecker product: for matrices, block (i, j) is ``a[i, j] * b``."""
    b_ = b if isinstance(b, Tensor) else as_tensor(b)
    n = builtins.max(a.ndim, b_.ndim)
    sa, sb = (1,) * (n - a.ndim) + a.shape, (1,) * (n - b_.ndim) + b_.shape
    spread_a = reshape(a, tuple(v for k in sa for v in (k, 1)))
    spread_b = reshape(b_, tuple(v for k in sb for v in (1, k)))
    return reshape(spread_a * spread_b, tuple(i * j for i, j in zip(sa, sb)))


def inner(a: Tensor, b: Operand) -> Tensor:
    """The sum of products over the last axes: shape ``a.shape[:-1] + b.shape[:-1]``."""
    b_ = b if isinstance(b, Tensor) else as_tensor(b)
    if a.ndim == 0 or b_.ndim == 0:
        return a * b_
    if a.shape[-1] != b_.shape[-1]:
        raise ValueError(f"inner: the last axes of shapes {a.shape} and {b_.shape} differ")
    k = a.shape[-1]
    product = matmul(reshape(a, (-1, k)), transpose(reshape(b_, (-1, k))))
    return reshape(product, a.shape[:-1] + b_.shape[:-1])


def cross(a: Tensor, b: Operand, dim: int | None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the first axis of length 3 when None), broadcasting."""
    b_ = b if isinstance(b, Tensor) else as_tensor(b)
    try:
        shape = np.broadcast_shapes(a.shape, b_.shape)
    except ValueError:
        raise ValueError(f"cross: shapes {a.shape} and {b_.shape} do not broadcast") from None
    if dim is None:  # torch.cross's rule, which PyTorch deprecates (torch.linalg.cross takes the last axis)
        dim = next((i for i, k in enumerate(shape) if k == 3), -1)
        warnings.warn(
            f"tl.cross without dim takes the first axis of length 3 (axis {dim} of shape {shape}), as torch.cross "
            "does and deprecates; pass dim, or use tl.linalg.cross (the last axis)",
            UserWarning,
            stacklevel=4,
        )
    axis = _axis("cross", dim, len(shape))
    if shape[axis] != 3:
        raise ValueError(f"cross: axis {axis} of shape {shape} must have length 3")
    a = a if a.shape == shape else broadcast_to(a, shape)
    b_ = b_ if b_.shape == shape else broadcast_to(b_, shape)
    lead = (slice(None),) * axis
    u = [getitem(a, lead + (i,)) for i in range(3)]
    v = [getitem(b_, lead + (i,)) for i in range(3)]
    return stack([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]], axis)


def matrix_power(x: Tensor, n: int) -> Tensor:
    """x @ x @ ... (``n`` times) by repeated squaring, as PyTorch; 0 gives the identity, a negative ``n``
    the inverse's power."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"matrix_power: expects square matrices, got shape {x.shape}")
    if n == 0:
        eye_ = np.broadcast_to(np.eye(x.shape[-1], dtype=x.dtype), x.shape)
        return x * 0.0 + eye_ if x.dtype.kind == "f" else Tensor._from(eye_.copy())
    if n < 0:
        x, n = inverse(x), -n
    result = None
    power = x
    while n:
        if n & 1:
            result = power if result is None else matmul(result, power)
        n >>= 1
        if n:
            power = matmul(power, power)
    assert result is not None
    return result


def inverse(x: Tensor) -> Tensor:
    """The inverse of each square matrix in the last two axes; a singular one is refused, as PyTorch does."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"inverse: expects square matrices, got shape {x.shape}")
    try:
        return apply(INVERSE, (x,))
    except np.linalg.LinAlgError as e:
        raise ValueError(f"inverse: a matrix of shape {x.shape} is singular: {e}") from e


def integer_index(op: str, index: Operand, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """``index`` as int64 values in [0, n) (negatives counted from the end), or an error naming ``op``."""
    index = _values(f"{op}()", index)
    if index.size and index.dtype.kind not in "iu":
        raise ValueError(f"{op}: index must be integers, got {index.dtype}")
    index = index.astype(np.int64)
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexError(f"{op}: index values must lie in [-{n}, {n}) for shape {shape}")
    return np.where(index < 0, index + n, index)


def take_along_dim(x: Tensor, indices: Operand, dim: int | None) -> Tensor:
    """``gather`` with ``indices`` broadcast against ``x`` off ``dim`` (both flattened when ``dim`` is None)."""
    index = _values("take_along_dim()", indices)
    if dim is None:
        return gather(reshape(x, (-1,)), 0, index.reshape(-1))
    axis = _axis("take_along_dim", dim, x.ndim)
    if index.ndim != x.ndim:
        raise ValueError(f"take_along_dim: indices of shape {index.shape} for a tensor of shape {x.shape}")
    try:
        shape = list(np.broadcast_shapes(tuple(1 if a == axis else k for a, k in enumerate(x.shape)),
                                         tuple(1 if a == axis else k for a, k in enumerate(index.shape))))  # fmt: skip
    except ValueError:
        raise ValueError(f"take_along_dim: indices of shape {index.shape} do not broadcast with {x.shape}") from None
    x_shape = tuple(x.shape[a] if a == axis else k for a, k in enumerate(shape))
    i_shape = tuple(index.shape[a] if a == axis else k for a, k in enumerate(shape))
    x = x if x.shape == x_shape else broadcast_to(x, x_shape)
    return gather(x, axis, np.broadcast_to(index, i_shape))


def scatter(x: Tensor, dim: int, index: Operand, src: Operand, add: bool) -> Tensor:
    """``x`` with ``src[i][j]`` written (or, ``add``, added) at ``[index[i][j]][j]`` for dim 0, and so on
    (``src`` a tensor at least as large as ``index``, or a number)."""
    op = "scatter_add" if add else "scatter"
    if x.ndim == 0:  # PyTorch's 0-d tensor: one axis of length 1
        scalar_axis(op, dim, 0)
        one = np.reshape(np.asarray(_data(index)), (-1,))
        source = _as_one(src) if isinstance(src, Tensor) or np.ndim(src) else src
        return reshape(scatter(reshape(x, (1,)), 0, one, source, add), ())
    index = np.asarray(_data(index))
    axis = _axis(op, dim, builtins.max(x.ndim, 1))
    if index.ndim != x.ndim or (index.size and index.dtype.kind not in "iu"):
        raise ValueError(f"{op}: index must be integers with the {x.ndim} axes of the input, got {index.dtype} "
                         f"of shape {index.shape}")  # fmt: skip
    if any(index.shape[a] > x.shape[a] for a in range(x.ndim) if a != axis):
        raise ValueError(f"{op}: index of shape {index.shape} is larger than the input {x.shape} off axis {axis}")
    if index.size and (index.min() < -x.shape[axis] or index.max() >= x.shape[axis]):
        raise IndexError(f"{op}: index values must lie in [0, {x.shape[axis]}) along axis {axis} of {x.shape}")
    grid = np.indices(index.shape, sparse=True)
    where_ = tuple(index if a == axis else grid[a] for a in range(x.ndim))
    if isinstance(src, Tensor) or np.ndim(src):
        s_shape = _shape(src)
        if len(s_shape) != index.ndim or any(s < i for s, i in zip(s_shape, index.shape)):
            raise ValueError(f"{op}: src of shape {tuple(s_shape)} is smaller than index {index.shape}")
        part = tuple(slice(0, k) for k in index.shape)
        src = getitem(src, part) if isinstance(src, Tensor) else np.asarray(src)[part]
    if add:  # repeated indices add up: getitem's adjoint
        values = src if isinstance(src, Tensor) else np.broadcast_to(np.asarray(src, x.dtype), index.shape)
        return x + scatter_add(values, where_, x.shape, False)
    return index_put(x, where_, src)


def index_along(x: Tensor, op: str, dim: int, index: Operand, source: Operand) -> Tensor:
    """index_add, index_copy, index_fill: ``source`` added or written at the 1-D ``index`` along ``dim``."""
    if x.ndim == 0:  # PyTorch's 0-d tensor: one axis of length 1
        scalar_axis(op, dim, 0)
        one = source if op == "index_fill" or not isinstance(source, Tensor) else reshape(source, (-1,))
        return reshape(index_along(reshape(x, (1,)), op, 0, index, one if op == "index_fill" else _as_one(one)), ())
    axis = _axis(op, dim, builtins.max(x.ndim, 1))
    idx = _values(f"{op}()", index)
    if idx.ndim > 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"{op}: index must be 1-D integers, got {idx.dtype} of shape {idx.shape}")
    idx = integer_index(op, idx.reshape(-1), x.shape[axis] if x.ndim else 1, x.shape)
    at = (slice(None),) * axis + (idx,)
    if op == "index_fill":  # each place once: filling twice is filling once (and the value's gradient counts it once)
        at = (slice(None),) * axis + (np.unique(idx),)
        if isinstance(source, Tensor) and source.ndim:
            raise ValueError(f"index_fill: value must be a number or a 0-d tensor, got shape {source.shape}")
        return index_put(x, at, source if isinstance(source, Tensor) else np.asarray(source, x.dtype))
    wanted = x.shape[:axis] + (idx.size,) + x.shape[axis + 1 :]
    if tuple(_shape(source)) != wanted:
        raise ValueError(f"{op}: source of shape {_shape_text(source)} for index of {idx.size} along axis {axis} "
                         f"of {x.shape} (expected {wanted})")  # fmt: skip
    if op == "index_copy":
        return index_put(x, at, source)
    return x + scatter_add(source if isinstance(source, Tensor) else np.asarray(source, x.dtype), at, x.shape, False)


def median(x: Tensor, dim: int | None, keepdim: bool, ignore_nan: bool) -> tuple[Tensor, Tensor]:
    """PyTorch's median along ``dim``: the lower of the two middle values (``(values, indices)``), NaN where
    a slice holds one (the first NaN's index), or with ``ignore_nan`` the median of the other values.
    The position is found by ops (a stable sort, counts), so a replay finds it again, and the value is
    picked there, so the gradient goes to that element, as in PyTorch."""
    op = "nanmedian" if ignore_nan else "median"
    if dim is None:
        x, axis = reshape(x, (-1,)), 0
    else:
        axis = _axis(op, dim, builtins.max(x.ndim, 1))
        if x.ndim == 0:
            x = reshape(x, (1,))
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"{op}: axis {axis} of shape {x.shape} is empty")
    order = argsort(x, axis)
    nans = compare(np.not_equal, x, x).astype(np.int64).sum(axis, keepdims=True)
    if ignore_nan:
        position = maximum((n - nans - 1) // 2, 0)
    else:
        position = where(compare(np.greater, nans, 0), n - nans, (n - 1) // 2)
    index = gather(order, axis, position.data)
    values = gather(x, axis, index.data)
    if not keepdim or dim is None:
        values, index = squeeze(values, axis), squeeze(index, axis)
    return values, index


def quantile(x: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str, ignore_nan: bool) -> Tensor:
    """PyTorch's quantile: the sorted values at rank ``q * (n - 1)``, interpolated (``"linear"`` by lerp
    between the two neighbours, ``"lower"``, ``"higher"``, ``"nearest"``, ``"midpoint"``); NaN where a
    slice holds one, or with ``ignore_nan`` over the other values. ``q`` a number, or a 1-D list or
    tensor of them (a new first axis)."""
    op = "nanquantile" if ignore_nan else "quantile"
    qs = np.asarray(_data(q), dtype=np.float64)
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)) or np.any(np.isnan(qs)):
        raise ValueError(f"{op}: q must be a number or a 1-D tensor of numbers in [0, 1], got {qs.tolist()}")
    if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise ValueError(
            f"{op}: interpolation must be linear, lower, higher, nearest or midpoint, got {interpolation!r}"
        )
    if dim is None:
        x, axis = reshape(x, (-1,)), 0
    else:
        axis = _axis(op, dim, builtins.max(x.ndim, 1))
        x = reshape(x, (1,)) if x.ndim == 0 else x
    n = x.shape[axis]
    if n == 0:
        raise ValueError(f"{op}: axis {axis} of shape {x.shape} is empty")
    ordered = gather(x, axis, argsort(x, axis).data)
    nans = compare(np.not_equal, x, x).astype(np.float64).sum(axis, keepdims=True)
    count = n - nans if ignore_nan else as_tensor(np.full(nans.shape, float(n)))
    last = as_tensor(np.full(nans.shape, float(n - 1)))
    nan_slice = compare(np.equal, count, 0) if ignore_nan else compare(np.greater, nans, 0)
    # a q that requires grad is differentiated, as PyTorch does: through the linear weight, rank - below
    picks: list[Any] = qs.reshape(-1).tolist()
    if isinstance(q, Tensor) and q.requires_grad:
        picks = [q] if q.ndim == 0 else [getitem(q, k) for k in range(q.shape[0])]
    results = []
    for qk in picks:
        rank = where(nan_slice, last, (count - 1) * qk)  # a slice with NaN: its last value, a NaN
        if interpolation == "nearest":
            rank = round(rank)
        below, above = floor(rank), ceil(rank)
        low = gather(ordered, axis, astype(below, np.int64).data)  # indices made by ops: a replay makes them again
        if interpolation in ("lower", "nearest"):
            value = low
        elif interpolation == "higher":
            value = gather(ordered, axis, astype(above, np.int64).data)
        else:
            high = gather(ordered, axis, astype(above, np.int64).data)
            weight = (rank - below).astype(x.dtype) if interpolation == "linear" else 0.5
            if interpolation == "midpoint":  # (in x's dtype, whatever the default float)
                weight = astype(where(nan_slice, 0.0, 0.5), x.dtype)
            value = lerp(low, high, weight)
        results.append(value if keepdim and dim is not None else squeeze(value, axis))
    return results[0] if qs.ndim == 0 else stack(results, 0)


def logcumsumexp(x: Tensor, axis: int) -> Tensor:
    """log(cumsum(exp(x))) along ``axis``, one stable log-add after another (exact gradients to every
    order, and no overflow, as PyTorch's)."""
    if x.ndim == 0:
        scalar_axis("logcumsumexp", axis, 0)
        return astype(x, x.dtype)
    axis = _axis("logcumsumexp", axis, x.ndim)
    if x.shape[axis] == 0:
        return astype(x, x.dtype)
    lead = (slice(None),) * axis
    run = getitem(x, lead + (0,))
    runs = [run]
    for k in range(1, x.shape[axis]):
        run = logaddexp(run, getitem(x, lead + (k,)))
        runs.append(run)
    return stack(runs, axis)


def cov(x: Tensor, correction: int = 1, fweights: Operand = None, aweights: Operand = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``x`` (observations in its columns), with
    PyTorch's weights: ``fweights`` (integer counts) and ``aweights`` (importance) per observation. One
    variable gives a 0-d result, as in PyTorch."""
    if x.ndim > 2:
        raise ValueError(f"cov: expects a 1-D or 2-D tensor, got shape {x.shape}")
    rows = reshape(x, (1, -1)) if x.ndim < 2 else x
    n = rows.shape[1]
    weights = []
    for w in (fweights, aweights):
        if w is None:
            continue
        values = np.asarray(_data(w))
        if values.shape != (n,) or np.any(values < 0):
            raise ValueError(f"cov: weights must be {n} non-negative numbers, one per observation, "
                             f"got {values.tolist()}")  # fmt: skip
        weights.append(w if isinstance(w, Tensor) else as_tensor(values.astype(x.dtype)))
    if not weights:
        centred = rows - mean(rows, 1, keepdims=True)
        scale = 1.0 / (n - correction) if n > correction else np.inf
        product = matmul(centred, transpose(centred)) * scale
    else:  # PyTorch's weighted formula; an aweights tensor that requires grad gets its gradient
        w = weights[0].astype(x.dtype) if len(weights) == 1 else weights[0].astype(x.dtype) * weights[1]
        total = sum(w, None)
        centred = rows - sum(rows * w, 1, keepdims=True) / total
        if correction == 0:
            norm = total
        elif aweights is None:
            norm = total - correction
        else:
            aw = weights[-1].astype(x.dtype)
            norm = total - sum(w * aw, None) * correction / total
        product = matmul(centred * w, transpose(centred)) / clip(norm, 0.0, None)
    return reshape(product, ()) if rows.shape[0] == 1 else product


def corrcoef(x: Tensor) -> Tensor:
    """Pearson's correlation of the variables in the rows of ``x``, clipped to [-1, 1] as PyTorch's."""
    c = cov(x)
    if c.ndim == 0:  # one variable: 1, or NaN where its variance is 0 or NaN (as PyTorch)
        return c / c
    d = sqrt(diagonal(c))
    return clip(c / reshape(d, (-1, 1)) / reshape(d, (1, -1)), -1.0, 1.0)


def _as_one(v: Any) -> Any:
    """A 0-d tensor or array as one axis of length 1 (what a 0-d input's index ops read)."""
    if isinstance(v, Tensor):
        return reshape(v, (-1,)) if v.ndim == 0 else v
    v = np.asarray(v)
    return v.reshape(-1) if v.ndim == 0 else v
