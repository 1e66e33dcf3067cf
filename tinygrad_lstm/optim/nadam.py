"""NAdam (Dozat 2016), PyTorch's form: Adam with Nesterov momentum and a momentum schedule."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer


class NAdam(Optimizer):
    """Adam with Nesterov momentum: the momentum coefficient at step t is
    ``beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))``, and the step looks one momentum ahead.
    ``decoupled_weight_decay=True`` decays as AdamW does (NAdamW)."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
            ),
        )

    def _state_layout(self, group):
        return Layout(("exp_avg", "exp_avg_sq"), counted=True, numbers=("mu_product",))

    def _fresh_state(self, p, group):
        state = super()._fresh_state(p, group)
        state["mu_product"] = 1.0  # the product of every step's momentum coefficient so far
        return state

    def _update(self, p, g, state, group):
        lr, (beta1, beta2), decay = group["lr"], group["betas"], group["momentum_decay"]
        state["step"] += 1
        t = state["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * decay))
        state["mu_product"] *= mu
        product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        denom = np.sqrt(v / (1 - beta2**t)) + group["eps"]
        p -= lr * (1 - mu) / (1 - product) * (g / denom)
        p -= lr * mu_next / (1 - product * mu_next) * (m / denom)
