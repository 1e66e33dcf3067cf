"""The dropouts beside ``F.dropout``, PyTorch's: whole channels (``dropout1d/2d/3d``), and the
alpha dropout of self-normalizing networks (``alpha_dropout``, ``feature_alpha_dropout``, Klambauer et
al. 2017), with their layers. Masks come from ``tl.manual_seed``'s generator; not training, or p = 0,
is the identity."""

from __future__ import annotations

import warnings

import numpy as np

from .. import random
from ..checks import check_probability
from ..tape import guard
from ..tensor import Tensor
from . import functional as F
from .module import Module

__all__ = ["alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout"]

# -selu's scale * alpha: the value a dropped unit takes before the affine correction
_ALPHA = 1.7580993408473766


def _masked(x: Tensor, p: float, per_channel: bool, alpha: bool, op: str) -> Tensor:
    """Keep each element (or each (sample, channel) of an (N, C, ...) input) with probability 1 - p.
    Plain dropout scales the kept by 1 / (1 - p); alpha dropout sets the dropped to -alpha and maps
    both by the affine a x + b that keeps a zero mean and unit variance."""
    guard("draw", f"{op} draws a new mask every step")
    shape = (x.shape[:2] + (1,) * (x.ndim - 2)) if per_channel else x.shape
    keep = (random.generator().random(shape) >= p).astype(x.dtype)
    if not alpha:
        return x * (keep * (1.0 / (1.0 - p)))
    a = 1.0 / np.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))
    b = (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p
    return x * (keep * a).astype(x.dtype) + b.astype(x.dtype)


def _dropout(x: Tensor, p: float, training: bool, inplace: bool, per_channel: bool, alpha: bool, op: str) -> Tensor:
    p = check_probability(op, "p", p)
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if per_channel and x.ndim < 2:
        raise ValueError(f"{op}: input of shape {x.shape} has no channel axis; expected (N, C, ...)")
    if not training or p == 0.0 or x.size == 0:
        return x
    if p == 1.0:
        return F._in_place(x, lambda y: y * 0.0, inplace)
    return F._in_place(x, lambda y: _masked(y, p, per_channel, alpha, op), inplace)


def _unbatched(x: Tensor, p: float, training: bool, inplace: bool, op: str) -> Tensor:
    """Channel dropout of an input without a batch axis: as a batch of one (PyTorch's unsqueeze)."""
    p = check_probability(op, "p", p)
    if not training or p == 0.0:
        return x
    return F._in_place(x, lambda y: _dropout(y[None], p, True, False, True, False, op)[0], inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:  # noqa: A002
    """``torch.nn.functional.alpha_dropout``: elements dropped with probability ``p`` go to selu's
    negative saturation, then an affine map keeps a standard normal input's mean 0 and variance 1.
    (As PyTorch's, off unless ``training=True``.)"""
    return _dropout(input, p, training, inplace, False, True, "alpha_dropout")


def feature_alpha_dropout(
    input: Tensor,  # noqa: A002
    p: float = 0.5,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """``torch.nn.functional.feature_alpha_dropout``: alpha dropout of whole channels of (N, C, ...)."""
    return _dropout(input, p, training, inplace, True, True, "feature_alpha_dropout")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """``torch.nn.functional.dropout1d``: zero whole channels of (N, C, L) or (C, L) input with
    probability ``p``, scaling the rest by 1 / (1 - p)."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"dropout1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got {got}")
    if input.ndim == 2:
        return _unbatched(input, p, training, inplace, "dropout1d")
    return _dropout(input, p, training, inplace, True, False, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """``torch.nn.functional.dropout2d``: zero whole channels of (N, C, H, W) input with probability
    ``p``. As PyTorch's: a 3-D input is read as (N, C, L), with its warning; other ranks warn too."""
    ndim = input.ndim if isinstance(input, Tensor) else None
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead.",
            UserWarning,
            stacklevel=2,
        )
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout behavior is "
            "desired - input is interpreted as shape (N, C, L), where C is the channel dim. To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            UserWarning,
            stacklevel=2,
        )
    return _dropout(input, p, training, inplace, True, False, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:  # noqa: A002
    """``torch.nn.functional.dropout3d``: zero whole channels of (N, C, D, H, W) or (C, D, H, W) input."""
    ndim = input.ndim if isinstance(input, Tensor) else None
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will result in an error "
            "in a future release. To retain the behavior and silence this warning, please use dropout instead.",
            UserWarning,
            stacklevel=2,
        )
    if ndim == 4:
        return _unbatched(input, p, training, inplace, "dropout3d")
    return _dropout(input, p, training, inplace, True, False, "dropout3d")


class _DropoutLayer(Module):
    _function = staticmethod(dropout1d)

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability(type(self).__name__, "p", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutLayer):
    """``torch.nn.Dropout1d(p=0.5, inplace=False)``: ``F.dropout1d`` in training mode, identity in eval."""

    _function = staticmethod(dropout1d)


class Dropout2d(_DropoutLayer):
    """``torch.nn.Dropout2d(p=0.5, inplace=False)``: ``F.dropout2d`` in training mode, identity in eval."""

    _function = staticmethod(dropout2d)


class Dropout3d(_DropoutLayer):
    """``torch.nn.Dropout3d(p=0.5, inplace=False)``: ``F.dropout3d`` in training mode, identity in eval."""

    _function = staticmethod(dropout3d)


class AlphaDropout(_DropoutLayer):
    """``torch.nn.AlphaDropout(p=0.5, inplace=False)``: ``F.alpha_dropout`` in training mode."""

    _function = staticmethod(alpha_dropout)


class FeatureAlphaDropout(_DropoutLayer):
    """``torch.nn.FeatureAlphaDropout(p=0.5, inplace=False)``: ``F.feature_alpha_dropout`` in training mode."""

    _function = staticmethod(feature_alpha_dropout)
