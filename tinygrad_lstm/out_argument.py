"""PyTorch's ``out=`` argument: ``tl.matmul(a, b, out=c)`` computes the result and writes it into ``c``.

As in PyTorch, a call with ``out=`` is not differentiated: with grad enabled it is refused when an
input (or ``out``) requires grad. The result is cast to ``out``'s dtype where that keeps its kind
(float into float, as ``copy_``), and an ``out`` of another shape is given the result's shape (PyTorch
resizes it, with a warning unless it was empty: ``out=tl.empty(0)`` is the usual idiom).

>>> import numpy as np, tinygrad_lstm as tl
>>> a = tl.ones(2, 3)
>>> c = tl.empty(2, 2)
>>> tl.matmul(a, a.T, out=c) is c, c.tolist()
(True, [[3.0, 3.0], [3.0, 3.0]])
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .tape import is_grad_enabled, no_grad
from .tensor import Tensor, _tensors_in

#: the functions of ``tl`` that take ``out=`` as PyTorch's do (the rest refuse it as an unknown argument)
FUNCTIONS = (
    "abs", "absolute", "acos", "acosh", "add", "addbmm", "addcdiv", "addcmul", "addmm", "addmv", "addr", "amax",
    "amin", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "asin",
    "asinh", "atan", "atan2", "atanh", "baddbmm", "bmm", "cat", "ceil", "clamp", "clamp_max", "clamp_min", "clip",
    "concat", "concatenate", "copysign", "cos", "cosh", "cross", "cumprod", "cumsum", "deg2rad", "diff", "div",
    "digamma", "divide", "dot", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "float_power", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "frac", "hypot", "inner", "kron", "lerp", "lgamma", "log", "log10",
    "log1p", "log2", "logaddexp", "logaddexp2", "logcumsumexp", "logit", "logsumexp", "matmul", "maximum", "mean",
    "minimum", "mm", "mul", "multiply", "mv", "mvlgamma", "nan_to_num", "neg", "negative", "outer", "polygamma",
    "pow", "prod", "rad2deg", "reciprocal", "remainder", "round", "rsqrt", "sgn", "sigmoid", "sign", "sin", "sinc",
    "sinh", "sqrt", "square", "stack", "sub", "subtract", "sum", "tan", "tanh", "true_divide", "trunc", "vdot",
    "where", "xlogy",
)  # fmt: skip


def with_out(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with PyTorch's ``out=`` keyword (see the module's docstring)."""
    name = fn.__name__

    @functools.wraps(fn)
    def call(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
        if out is None:
            return fn(*args, **kwargs)
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}: out= must be a Tensor, got {type(out).__name__}")
        if is_grad_enabled() and any(t.requires_grad for t in _tensors_in((args, kwargs, out))):
            raise RuntimeError(
                f"{name}(): functions with out=... arguments don't support automatic differentiation, but one of "
                "the arguments requires grad (as in PyTorch); leave out= out, or call it inside tl.no_grad()"
            )
        result = fn(*args, **kwargs)
        if not isinstance(result, Tensor):
            raise TypeError(f"{name}: out= takes one tensor; this call returns {type(result).__name__}")
        if not np.can_cast(result.dtype, out.dtype, "same_kind"):
            raise TypeError(f"{name}: the result's dtype {result.dtype} can't be cast to out's dtype {out.dtype}")
        if out.shape != result.shape:
            if out._view is not None:
                raise ValueError(f"{name}: out= is a view of shape {out.shape}; the result has shape {result.shape}")
            if out.data.size:
                warnings.warn(
                    f"{name}: out= of shape {out.shape} was resized to {result.shape}, as PyTorch resizes it "
                    "(a deprecated behaviour there): pass an out of the result's shape, or an empty one",
                    UserWarning,
                    stacklevel=2,
                )
            out.data = np.empty(result.shape, out.dtype)
        with no_grad():
            out.copy_(result)
        return out

    signature = inspect.signature(fn)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    keywords = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
    out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)
    call.__signature__ = signature.replace(parameters=[*params, out_param, *keywords])  # type: ignore[attr-defined]
    return call
