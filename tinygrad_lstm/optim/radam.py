"""RAdam (Liu et al. 2020), PyTorch's form: Adam whose adaptive step is rectified early on."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer


class RAdam(Optimizer):
    """Adam with a rectified adaptive learning rate: while the variance of the second moment is not
    yet tractable (``rho_t <= 5``) the step is plain momentum SGD on the bias-corrected first moment.
    ``decoupled_weight_decay=True`` decays as AdamW does."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
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
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                decoupled_weight_decay=decoupled_weight_decay,
                differentiable=differentiable,
            ),
        )

    def _state_layout(self, group):
        return Layout(("exp_avg", "exp_avg_sq"), counted=True)

    def _update(self, p, g, state, group):
        lr, (beta1, beta2) = group["lr"], group["betas"]
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (g - m)
        v *= beta2
        v += (1 - beta2) * g * g
        bias2 = 1 - beta2**t
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1  # the longest the second moment's average can be
        rho_t = rho_inf - 2 * t * beta2**t / bias2
        if rho_t > 5:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p -= lr * rect * m_hat * (math.sqrt(bias2) / (np.sqrt(v) + group["eps"]))
        else:
            p -= lr * m_hat
