"""Gradient clipping with PyTorch's names and semantics (in place on ``.grad``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ...tape import guard
from ...tensor import Tensor
from ...versions import changed_in_place


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The arrays of the gradients the parameters have (those without one are skipped)."""
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [g.data for g in (p.grad for p in params) if g is not None]


def _total_norm(arrays: list[np.ndarray], norm_type: float, error_if_nonfinite: bool, op: str) -> float:
    """The norm of the arrays' norms, as a Python float (the sum of squares of large gradients can
    pass float32's range: their scale is still a finite number)."""
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
    else:
        norms = [np.linalg.norm(a.reshape(-1), ord=norm_type) for a in arrays]
        total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"{op}: the total norm of order {norm_type} of the {'gradients' if op.startswith('clip') else 'tensors'} "
            f"is {total}; set error_if_nonfinite=False to go on anyway"
        )
    return total


def get_total_norm(
    tensors: Tensor | Iterable[Tensor],
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """The norm of the tensors' norms (of order ``norm_type``, ``"inf"`` too): their joint norm, as if
    concatenated into one vector (PyTorch's; ``clip_grad_norm_`` is this of the gradients, then
    :func:`clip_grads_with_norm_`)."""
    arrays = [
        t.data if isinstance(t, Tensor) else np.asarray(t)
        for t in ([tensors] if isinstance(tensors, Tensor) else tensors)
    ]
    if not arrays:
        return Tensor(np.array(0.0))
    total = _total_norm(arrays, float(norm_type), error_if_nonfinite, "get_total_norm")
    return Tensor(np.array(total, dtype=arrays[0].dtype))


def clip_grads_with_norm_(
    parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor | float, foreach: bool | None = None
) -> None:
    """Scale the gradients by ``max_norm / (total_norm + 1e-6)`` where that is below 1, in place:
    ``clip_grad_norm_`` with the total norm given (from :func:`get_total_norm`)."""
    guard("side effect", "clip_grads_with_norm_()")
    _scale(_grads(parameters), max_norm, float(total_norm.data if isinstance(total_norm, Tensor) else total_norm))


def _scale(grads: list[np.ndarray], max_norm: float, total: float) -> None:
    scale = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= scale
        changed_in_place(g)


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float | str = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scale all gradients together so their joint norm is at most ``max_norm`` (Pascanu et al. 2013).

    Returns the total norm before clipping, as PyTorch does. ``norm_type`` may be ``"inf"``, as in
    PyTorch; ``foreach`` (PyTorch's choice of kernel) changes nothing here.
    """
    guard("side effect", "clip_grad_norm_()")
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.array(0.0))
    total = _total_norm(grads, float(norm_type), error_if_nonfinite, "clip_grad_norm_")
    _scale(grads, max_norm, total)
    return Tensor(np.array(total, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value]."""
    guard("side effect", "clip_grad_value_()")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
        changed_in_place(g)


def detach_state(state):
    """Cut a recurrent state (a Tensor or a tuple of them) from the tape: truncated BPTT.

    Carry ``(h, c)`` from one chunk of a long sequence to the next with its values, but let the next
    ``backward()`` stop at the chunk boundary::

        state = None
        for chunk in chunks:
            out, state = lstm(chunk, state)
            loss_fn(out).backward()
            optimizer.step()
            state = tl.nn.utils.detach_state(state)
    """
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if state is None:
        return None
    raise TypeError(f"detach_state: expected a Tensor or a tuple of Tensors, got {type(state).__name__}")


from . import rnn as rnn  # noqa: E402  (torch.nn.utils.rnn's place)
from .convert_parameters import parameters_to_vector as parameters_to_vector  # noqa: E402
from .convert_parameters import vector_to_parameters as vector_to_parameters  # noqa: E402
