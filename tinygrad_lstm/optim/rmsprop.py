"""RMSprop, PyTorch's form: optional centring and momentum."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer


class RMSprop(Optimizer):
    """RMSprop (Hinton), PyTorch's form: optional centring and momentum."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                capturable=capturable,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
            ),
        )

    def _state_layout(self, group):
        arrays = ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ())
        return Layout(arrays + (("grad_avg",) if group["centered"] else ()), counted=True)

    def _update(self, p, g, state, group):
        alpha, eps, lr = group["alpha"], group["eps"], group["lr"]
        state["step"] += 1
        sq = state["square_avg"]
        sq *= alpha
        sq += (1 - alpha) * g * g
        if group["centered"]:
            ga = state["grad_avg"]
            ga *= alpha
            ga += (1 - alpha) * g
            avg = np.sqrt(sq - ga * ga) + eps
        else:
            avg = np.sqrt(sq) + eps
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += g / avg
            p -= lr * buf
        else:
            p -= lr * (g / avg)
