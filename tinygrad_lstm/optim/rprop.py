"""Rprop (Riedmiller & Braun 1993), PyTorch's form: a step size per coordinate, grown while the
gradient keeps its sign and shrunk when it flips; only the gradient's sign moves the parameter."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer, _is_number


def _pair(v):
    return isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_number(x) for x in v)


class Rprop(Optimizer):
    """Resilient backpropagation. With ``s = sign(g_t * g_{t-1})`` per coordinate::

        step_size *= etaplus (s > 0), etaminus (s < 0) or 1 (s = 0), clamped to step_sizes
        g_t = 0 where s < 0          (the flipped gradient is forgotten: the next s is 0)
        p -= sign(g_t) * step_size;  prev = g_t

    The step sizes start at ``lr``; ``0 < etaminus < 1 < etaplus``, as PyTorch requires."""

    _rules = {
        "etas": (
            "a pair (etaminus, etaplus) with 0 < etaminus < 1 < etaplus",
            lambda v: _pair(v) and 0 < v[0] < 1 < v[1],
        ),
        "step_sizes": ("a pair of numbers (min, max)", _pair),
    }

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                etas=etas,
                step_sizes=step_sizes,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _state_layout(self, group):
        return Layout(("prev", "step_size"), counted=True)

    def _fresh_state(self, p, group):
        return {"step": 0, "prev": np.zeros_like(p), "step_size": np.full_like(p, group["lr"])}

    def _update(self, p, g, state, group):
        etaminus, etaplus = group["etas"]
        low, high = group["step_sizes"]
        state["step"] += 1
        prev, step_size = state["prev"], state["step_size"]
        sign = np.sign(g * prev)
        flipped = sign < 0
        factor = sign.copy()  # a NaN product stays NaN, as PyTorch's
        factor[sign > 0] = etaplus
        factor[flipped] = etaminus
        factor[sign == 0] = 1
        step_size *= factor
        np.minimum(np.maximum(step_size, low), high, out=step_size)  # torch.clamp: high wins if low > high
        g = np.where(flipped, 0, g)
        p -= np.sign(g) * step_size
        prev[...] = g
