"""``tl.nn.functional``: PyTorch's functional names (``dim=``) over the engine's composites."""

from __future__ import annotations

from .. import functional as _f
from ..functional import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    dropout,
    elu,
    gelu,
    hardtanh,
    leaky_relu,
    mse_loss,
    nll_loss,
    pad,
    silu,
    softplus,
)
from ..tensor import Tensor

__all__ = [
    "binary_cross_entropy_with_logits",
    "elu",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "pad",
    "silu",
    "softplus",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "softmax",
    "sigmoid",
    "tanh",
    "relu",
]


def softmax(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    return _f.softmax(input, dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    return _f.log_softmax(input, dim)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    return input.tanh()


def relu(input: Tensor) -> Tensor:  # noqa: A002
    return input.relu()
