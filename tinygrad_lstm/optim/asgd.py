"""ASGD (Polyak & Juditsky 1992), PyTorch's form: SGD with a decaying step and a running average
of the parameters (``ax``) from step ``t0`` on."""

from __future__ import annotations

from collections.abc import Iterable

from .optimizer import Layout, Optimizer, _is_number


class ASGD(Optimizer):
    """Averaged SGD. At step t (weight decay joined to the gradient first, L2)::

        p *= 1 - lambd * eta;  p -= eta * g
        ax += (p - ax) * mu           (ax = p while mu is 1)
        eta = lr / (1 + lambd * lr * t) ** alpha;  mu = 1 / max(1, t - t0)

    ``eta`` starts at ``lr`` and ``mu`` at 1; read the averaged parameters from ``state[p]["ax"]``."""

    _rules = {"alpha": ("a number", _is_number)}  # PyTorch's ASGD takes any alpha (RMSprop's must be >= 0)

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                lambd=lambd,
                alpha=alpha,
                t0=t0,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _state_layout(self, group):
        return Layout(("ax",), counted=True, numbers=("eta", "mu"))

    def _fresh_state(self, p, group):
        state = super()._fresh_state(p, group)
        state.update(eta=float(group["lr"]), mu=1.0)
        return state

    def _update(self, p, g, state, group):
        lr, lambd = group["lr"], group["lambd"]
        state["step"] += 1
        t, eta, mu = state["step"], state["eta"], state["mu"]
        p *= 1 - lambd * eta
        p -= eta * g
        ax = state["ax"]
        if mu != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        state["eta"] = lr / ((1 + lambd * lr * t) ** group["alpha"])
        state["mu"] = 1 / max(1, t - group["t0"])
