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
    norm_type = float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return Tensor(np.array(0.0))
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    else:
        norms = [np.linalg.norm(g.reshape(-1), ord=norm_type) for g in grads]
        total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; "
            "set error_if_nonfinite=False to clip anyway"
        )
    scale = min(max_norm / (total + 1e-6), 1.0)
    for g in grads:
        g *= scale
        changed_in_place(g)
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
