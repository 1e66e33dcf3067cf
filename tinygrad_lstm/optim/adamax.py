"""Adamax (Kingma & Ba 2015, section 7), PyTorch's form: Adam with the infinity norm."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer


class Adamax(Optimizer):
    """Adam whose second moment is a decaying maximum of ``|g|`` (``exp_inf``) instead of an average
    of ``g**2``; only the first moment is bias-corrected."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _state_layout(self, group):
        return Layout(("exp_avg", "exp_inf"), counted=True)

    def _update(self, p, g, state, group):
        beta1, beta2 = group["betas"]
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - beta1) * (g - m)
        u *= beta2
        np.maximum(u, np.abs(g) + group["eps"], out=u)  # eps inside: u > 0 even where g has been 0
        p -= group["lr"] / (1 - beta1 ** state["step"]) * (m / u)
