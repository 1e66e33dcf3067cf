"""Finite-difference check of the engine's gradients, in float64."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from . import ops
from .backward import grad as _grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree; the message names the input and element."""


def _numerical_jacobian(fn, inputs: list[Tensor], i: int, eps: float, n_out: int) -> np.ndarray:
    x = inputs[i].data
    jac = np.zeros((x.size, n_out))
    flat = x.reshape(-1)  # a view (the copies are C-contiguous): perturbing it perturbs the input in place
    # recording stays on: fn may itself call tl.grad (checking a gradient of a gradient)
    for k in range(x.size):
        orig = flat[k]
        flat[k] = orig + eps
        plus = np.array(_output(fn(*inputs)).data, dtype=np.float64).reshape(-1)
        flat[k] = orig - eps
        minus = np.array(_output(fn(*inputs)).data, dtype=np.float64).reshape(-1)
        flat[k] = orig
        jac[k] = (plus - minus) / (2 * eps)
    return jac


def _float64_copies(inputs, op: str) -> tuple[list, list[int]]:
    """The inputs with each float tensor copied to float64 in C order (``_numerical_jacobian`` perturbs
    it through a flat view), and the positions of those that require grad."""
    given = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    copies = [
        Tensor(np.array(t.data, dtype=np.float64, order="C"), requires_grad=t.requires_grad)
        if isinstance(t, Tensor) and t.dtype.kind == "f"
        else t
        for t in given
    ]
    checked = [i for i, t in enumerate(copies) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError(f"{op}: no input requires grad")
    return copies, checked


def _output(y) -> Tensor:
    """fn's result as one Tensor: several outputs (a tuple) are checked as their float elements in a row."""
    if isinstance(y, (tuple, list)) and y and all(isinstance(t, Tensor) for t in y):
        floats = [ops.reshape(t, (-1,)) for t in y if t.dtype.kind == "f"]
        if floats:
            return ops.cat(floats) if len(floats) > 1 else floats[0]
    if not isinstance(y, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor (or a tuple of them), got {type(y).__name__}")
    return y


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    fast_mode: bool = False,
) -> bool:
    """Compare the full Jacobian from backward with central differences, in float64.

    Every input is copied to float64 (those that required grad are checked). Returns True, or raises
    :class:`GradcheckError` naming the input, the worst element, and both values (returns False
    instead with ``raise_exception=False``, as PyTorch's). ``nondet_tol`` and ``fast_mode`` are
    accepted for PyTorch's callers: the engine is deterministic, and the full Jacobian is always
    compared (PyTorch's fast mode compares one random projection of it).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.random.randn(3, 4), requires_grad=True)
    >>> tl.gradcheck(lambda x: (x.tanh() * x).sum(axis=1), x)
    True
    """
    try:
        return _gradcheck(fn, inputs, eps, atol, rtol)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck(fn, inputs, eps: float, atol: float, rtol: float) -> bool:
    copies, checked = _float64_copies(inputs, "gradcheck")

    y = _output(fn(*copies))
    n_out = y.data.size
    analytic = {i: np.zeros((copies[i].data.size, n_out)) for i in checked}
    if y.requires_grad:
        for j in range(n_out):
            seed = np.zeros(y.shape)
            seed.reshape(-1)[j] = 1.0
            grads = _grad(y, [copies[i] for i in checked], seed, retain_graph=True, allow_unused=True)
            for i, g in zip(checked, grads):
                if g is not None:
                    analytic[i][:, j] = g.data.reshape(-1)

    for i in checked:
        numeric = _numerical_jacobian(fn, copies, i, eps, n_out)
        err = np.abs(analytic[i] - numeric) - (atol + rtol * np.abs(numeric))
        if np.any(err > 0) or not np.all(np.isfinite(analytic[i])):
            k, col = np.unravel_index(np.nanargmax(np.where(np.isfinite(err), err, np.inf)), err.shape)
            elem = np.unravel_index(k, copies[i].shape)
            out_elem = np.unravel_index(col, y.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {copies[i].shape}) element {tuple(map(int, elem))}, "
                f"output element {tuple(map(int, out_elem))}: analytic {analytic[i][k, col]:.10g}, "
                f"numerical {numeric[k, col]:.10g} (atol={atol}, rtol={rtol})"
            )
    return True


def _float_outputs(result) -> list[Tensor]:
    if isinstance(result, Tensor):
        return [result]
    return [y for y in result if y.dtype.kind == "f"]


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    *,
    raise_exception: bool = True,
    nondet_tol: float = 0.0,
    fast_mode: bool = False,
) -> bool:
    """Check second derivatives: ``gradcheck`` of the function that maps the inputs (and the
    output gradients, ``grad_outputs``: random when not given, as PyTorch's) to the gradients of
    ``fn``'s outputs, recorded with ``create_graph=True``. In float64, like ``gradcheck``.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> tl.gradgradcheck(lambda x: (x ** 3).tanh(), x)
    True
    """
    xs, wanted = _float64_copies(inputs, "gradgradcheck")
    outputs = _float_outputs(fn(*xs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        gos = [Tensor(rng.standard_normal(y.shape), requires_grad=True) for y in outputs]
    else:
        given_gos = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
        if len(given_gos) != len(outputs):
            raise ValueError(
                f"gradgradcheck: {len(given_gos)} grad_outputs given for {len(outputs)} floating outputs of fn"
            )
        gos = [Tensor(np.array(g.data, dtype=np.float64), requires_grad=g.requires_grad) for g in given_gos]
    n = len(xs)

    def first_derivative(*args):
        ys, gs, wrt = _float_outputs(fn(*args[:n])), list(args[n:]), [args[i] for i in wanted]
        grads = _grad(ys, wrt, gs, create_graph=True, allow_unused=True)
        found = tuple(g for g in grads if g is not None)
        if not found:  # nothing depends on the inputs: a zero to compare, not an empty tuple
            return ops.zeros((1,), dtype=np.float64)
        return found

    return gradcheck(
        first_derivative, xs + gos, eps, atol, rtol, raise_exception=raise_exception, nondet_tol=nondet_tol
    )
