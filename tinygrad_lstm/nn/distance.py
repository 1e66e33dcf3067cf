"""Distances between vectors, PyTorch's: ``F.pairwise_distance`` and its layer ``PairwiseDistance``,
and ``F.pdist`` (every pair of rows of one matrix)."""

from __future__ import annotations

import numbers

import numpy as np

from .. import ops
from ..tensor import Tensor
from .module import Module

__all__ = ["pairwise_distance", "pdist"]


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``torch.nn.functional.pairwise_distance``: the ``p``-norm of ``x1 - x2 + eps`` along the last
    axis (the two broadcast first); ``eps`` keeps the gradient finite where the two are equal.

    >>> import tinygrad_lstm as tl
    >>> round(float(tl.nn.functional.pairwise_distance(tl.tensor([0.0, 0.0]), tl.tensor([3.0, 4.0]), eps=0.0)), 6)
    5.0
    """
    x1, x2 = ops.as_tensor(x1), ops.as_tensor(x2)
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"pairwise_distance: shapes {x1.shape} and {x2.shape} do not broadcast") from None
    if not isinstance(p, numbers.Real):
        raise TypeError(f"pairwise_distance: p must be a number, got {p!r}")
    difference = x1 - x2 + eps
    if not shape:  # two 0-d values: PyTorch's vectors of one element
        return ops.vector_norm(ops.reshape(difference, (1,)), p, 0, keepdim).reshape((1,) if keepdim else ())
    return ops.vector_norm(difference, p, -1, keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.nn.functional.pdist``: the ``p``-norm distance between every pair of rows i < j of an
    (N, M) input, in row-major order of the pairs: N (N - 1) / 2 values.

    >>> import tinygrad_lstm as tl
    >>> tl.nn.functional.pdist(tl.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])).data.tolist()
    [5.0, 1.0, 4.242640495300293]
    """
    if not isinstance(input, Tensor) or input.ndim != 2:
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"pdist: input must be a 2-D (N, M) Tensor, got {got}")
    if not isinstance(p, numbers.Real) or not p >= 0:
        raise ValueError(f"pdist: p must be a number >= 0, got {p!r}")
    rows, cols = np.triu_indices(input.shape[0], 1)
    difference = ops.getitem(input, rows) - ops.getitem(input, cols)
    return ops.vector_norm(difference, p, 1)


class PairwiseDistance(Module):
    """``torch.nn.PairwiseDistance(p=2.0, eps=1e-6, keepdim=False)``: ``F.pairwise_distance`` as a layer."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
