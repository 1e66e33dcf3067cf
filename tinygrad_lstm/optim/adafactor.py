"""Adafactor (Shazeer & Stern 2018), PyTorch's form: a second moment kept as row and column means
for parameters of two or more dimensions, a relative step size, and an update clipped by its RMS."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from .optimizer import Layout, Optimizer, _is_number, _lerp


class Adafactor(Optimizer):
    """At step t, with G the gradient (negated for ``maximize``)::

        beta = t ** beta2_decay;  rho = min(lr, 1 / sqrt(t))
        alpha = max(eps2, RMS(p)) * rho             (p before the decay)
        p *= 1 - lr * weight_decay                  (decoupled)
        >= 2-D: row_var <- lerp(row_var, mean(G^2 over the last dim), beta)
                col_var <- lerp(col_var, mean(G^2 over the next-to-last dim), beta)
                V = row_var @ col_var / max(mean of row_var over the rows, eps1)
        else:   V = variance <- lerp(variance, G^2, beta)
        U = G / sqrt(max(V, eps1^2));  p -= alpha / max(1, RMS(U) / d) * U

    ``eps = (eps1, eps2)``; eps1 None is the machine epsilon of the parameter's dtype."""

    _rules = {
        "eps": (
            "a pair (eps1, eps2) of numbers >= 0, eps1 may be None",
            lambda v: (
                isinstance(v, (tuple, list))
                and len(v) == 2
                and (v[0] is None or _is_number(v[0]) and v[0] >= 0)
                and _is_number(v[1])
                and v[1] >= 0
            ),
        ),
        "beta2_decay": ("a number <= 0", lambda v: _is_number(v) and v <= 0),
        "d": ("a number >= 1", lambda v: _is_number(v) and v >= 1),
    }
    _decay_in_step = False  # the decay comes after alpha has read the parameter's norm

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                beta2_decay=beta2_decay,
                eps=eps,
                d=d,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
            ),
        )

    def _state_layout(self, group):
        return Layout(optional=("row_var", "col_var", "variance"), counted=True)

    def _state_shape(self, key, shape):
        if key == "row_var":
            return shape[:-1] + (1,)
        if key == "col_var":
            return shape[:-2] + (1,) + shape[-1:]
        return shape

    def _fresh_state(self, p, group):
        keys = ("row_var", "col_var") if p.ndim > 1 else ("variance",)
        return {"step": 0, **{key: np.zeros(self._state_shape(key, p.shape), p.dtype) for key in keys}}

    def _check_state(self, entry, p, group, where):
        if entry:  # the factored pair for a matrix, the full variance otherwise (not both, not neither)
            keys = {"row_var", "col_var"} if p.ndim > 1 else {"variance"}
            have = set(entry) - {"step"}
            if have != keys and have <= {"row_var", "col_var", "variance"}:
                raise ValueError(
                    f"{where} must hold {sorted(keys)} for a parameter of shape {p.shape}, got {sorted(have)}; "
                    f"nothing was changed"
                )
        super()._check_state(entry, p, group, where)

    def _update(self, p, g, state, group):
        lr, (eps1, eps2) = group["lr"], group["eps"]
        if eps1 is None:
            eps1 = float(np.finfo(p.dtype).eps)
        state["step"] += 1
        t = float(state["step"])
        beta = t ** group["beta2_decay"]
        rho = min(lr, 1 / (t**0.5))
        alpha = max(eps2, float(np.linalg.norm(p)) / (p.size**0.5)) * rho
        if group["weight_decay"] != 0:
            p *= 1 - lr * group["weight_decay"]
        if g.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            row_var[...] = _lerp(row_var, np.sum(g * g, axis=-1, keepdims=True) / g.shape[-1], beta)
            col_var[...] = _lerp(col_var, np.sum(g * g, axis=-2, keepdims=True) / g.shape[-2], beta)
            var = row_var @ col_var
            var /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            state["variance"][...] = _lerp(state["variance"], g * g, beta)
            var = state["variance"].copy()
        update = g / np.sqrt(np.maximum(var, eps1 * eps1))
        denom = max(1.0, float(np.linalg.norm(update)) / (math.sqrt(update.size) * group["d"]))
        p -= (alpha / denom) * update
