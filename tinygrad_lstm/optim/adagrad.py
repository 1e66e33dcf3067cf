"""Adagrad (Duchi et al. 2011), PyTorch's form: a running sum of squared gradients, lr decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer


class Adagrad(Optimizer):
    """Each coordinate's step is ``lr / (1 + (t - 1) * lr_decay)`` over the root of its summed squared
    gradients (plus ``eps``); the sum starts at ``initial_accumulator_value``."""

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                eps=eps,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                fused=fused,
            ),
        )
        for group in self.param_groups:  # PyTorch makes the state at once: state_dict() has it before a step
            for p in group["params"]:
                self.state[p] = self._fresh_state(p.data, group)

    def _fresh_state(self, p, group):
        # the optimizer's initial_accumulator_value, not the group's: PyTorch's reads its defaults here
        return {"step": 0, "sum": np.full_like(p, self.defaults["initial_accumulator_value"])}

    def _state_layout(self, group):
        return Layout(("sum",), counted=True)

    def _update(self, p, g, state, group):
        state["step"] += 1
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += g * g
        p -= clr * (g / (np.sqrt(total) + group["eps"]))
