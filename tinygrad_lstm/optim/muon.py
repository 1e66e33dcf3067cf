"""Muon (Jordan et al. 2024), PyTorch's form: momentum whose update for a 2-D parameter is replaced by
an approximately orthogonal matrix (a Newton-Schulz iteration), with a shape-dependent learning rate."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ..tensor import Tensor
from .optimizer import Layout, Optimizer, _is_flag, _is_number, _lerp


def _bfloat16(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to bfloat16 (kept in float32), as PyTorch's ``.bfloat16()`` rounds: to float32
    first, then to the nearest 8-bit significand, ties to even."""
    bits = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    odd = (bits >> np.uint64(16)) & np.uint64(1)
    rounded = (bits + np.uint64(0x7FFF) + odd) >> np.uint64(16) << np.uint64(16)
    return rounded.astype(np.uint32).view(np.float32)


def newton_schulz(g: np.ndarray, coefficients: tuple[float, float, float], steps: int, eps: float) -> np.ndarray:
    """The orthogonalisation of a matrix ``g`` by ``steps`` quintic Newton-Schulz iterations: with X
    ``g`` over its Frobenius norm (at least ``eps``), laid out wide (transposed if it has more rows
    than columns)::

        A = X X^T;  X = a X + (b A + c A A) X

    which drives every singular value of X towards 1 (to roughly [0.7, 1.2] with the default
    coefficients). In bfloat16, as PyTorch computes it: each product summed in float32 and rounded
    once; bit for bit PyTorch's on the small matrices tested (on large ones PyTorch's blocked sums
    may round an entry the other way)."""
    a, b, c = (np.float32(v) for v in coefficients)
    x = _bfloat16(g)
    wide = g.shape[0] <= g.shape[1]
    x = x if wide else x.T
    norm = _bfloat16(np.sqrt(np.sum(x * x, dtype=np.float32)))
    x = _bfloat16(x / np.maximum(norm, _bfloat16(np.float32(eps))))
    for _ in range(steps):
        gram = _bfloat16(x @ x.T)
        update = _bfloat16(_fused(b, gram, c * (gram @ gram)))
        x = _bfloat16(_fused(a, x, update @ x))
    return (x if wide else x.T).astype(g.dtype)


def _fused(beta: np.float32, c: np.ndarray, product: np.ndarray) -> np.ndarray:
    """``beta * c + product`` in float32 rounded once, as PyTorch's addmm(c, ..., beta=beta) adds its
    product (a fused multiply-add: the float64 product of two float32 numbers is exact)."""
    return (np.float64(beta) * c.astype(np.float64) + product.astype(np.float64)).astype(np.float32)


def _adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, ...]) -> float:
    """The learning rate for a parameter of ``shape`` (A, B): times sqrt(max(1, A / B)) ("original",
    the default: Keller Jordan's) or 0.2 sqrt(max(A, B)) ("match_rms_adamw": Moonshot's, the update's
    RMS that of AdamW's)."""
    rows, cols = shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, rows / cols))
    return lr * 0.2 * math.sqrt(max(rows, cols))


class Muon(Optimizer):
    """For 2-D parameters only (PyTorch's too: optimise biases and embeddings with another optimizer)::

        B = lerp(B, g, 1 - momentum)                    (B = momentum B + (1 - momentum) g)
        U = lerp(g, B, momentum) if nesterov else B
        O = newton_schulz(U, ns_coefficients, ns_steps, eps)
        p *= 1 - lr * weight_decay                       (decoupled)
        p -= adjusted_lr(lr, adjust_lr_fn, p.shape) * O

    The Newton-Schulz iteration runs in bfloat16, as PyTorch's does, whatever the parameter's dtype."""

    _rules = {
        "eps": ("a number", _is_number),  # PyTorch's Muon checks no eps
        "ns_coefficients": (
            "three numbers (a, b, c)",
            lambda v: isinstance(v, (tuple, list)) and len(v) == 3 and all(_is_number(x) for x in v),
        ),
        "ns_steps": ("a whole number below 100", lambda v: isinstance(v, int) and not _is_flag(v) and v < 100),
        "adjust_lr_fn": (
            "None, 'original' or 'match_rms_adamw'",
            lambda v: v is None or v in ("original", "match_rms_adamw"),
        ),
    }
    _decay_in_step = False  # decoupled, and after the update is computed

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (3.4445, -4.775, 2.0315),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        super().__init__(
            params,
            dict(
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                nesterov=nesterov,
                ns_coefficients=ns_coefficients,
                eps=eps,
                ns_steps=ns_steps,
                adjust_lr_fn=adjust_lr_fn,
            ),
        )

    def _add_group(self, param_group: Any, op: str, where: str) -> None:
        if isinstance(param_group, Mapping) and "params" in param_group:
            params = param_group["params"]
            params = [params] if isinstance(params, Tensor) else list(params)  # a generator is read once
            param_group = {**param_group, "params": params}
            for p in params:
                p = p[1] if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) else p
                if isinstance(p, Tensor) and p.ndim != 2:  # PyTorch refuses these when made; in step() if added
                    raise ValueError(
                        f"{op}: Muon only supports 2D parameters, got one of shape {p.shape}; optimise biases "
                        f"and embeddings with another optimizer (AdamW); nothing was added"
                    )
        super()._add_group(param_group, op, where)

    def _state_layout(self, group):
        return Layout(("momentum_buffer",))

    def _update(self, p, g, state, group):
        lr, momentum = group["lr"], group["momentum"]
        buf = state["momentum_buffer"]
        buf[...] = _lerp(buf, g, 1 - momentum)
        update = _lerp(g, buf, momentum) if group["nesterov"] else buf
        update = newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"])
        p *= 1 - lr * group["weight_decay"]
        p -= _adjusted_lr(lr, group["adjust_lr_fn"], p.shape) * update
