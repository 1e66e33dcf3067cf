"""``F.bilinear`` and ``Bilinear``, PyTorch's: y_k = x1 . W_k x2 + b_k."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, ops
from ..checks import check_int
from ..devices import takes_device
from ..tensor import Tensor
from . import init
from .module import Module, Parameter, check_input_dtype

__all__ = ["bilinear"]


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``torch.nn.functional.bilinear``: ``y[..., k] = sum_ij input1[..., i] weight[k, i, j] input2[..., j]
    + bias[k]``, weight (out, in1, in2); the two inputs share their leading (batch) axes exactly.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> w = tl.tensor(np.arange(8.0).reshape(2, 2, 2))
    >>> tl.nn.functional.bilinear(tl.tensor([1.0, 0.0]), tl.tensor([0.0, 1.0]), w).data.tolist()
    [1.0, 5.0]
    """
    for name, t in (("input1", input1), ("input2", input2), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"bilinear: {name} must be a Tensor, got {type(t).__name__}")
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {weight.shape}")
    out, in1, in2 = weight.shape
    if input1.ndim == 0 or input1.shape[-1] != in1 or input2.ndim == 0 or input2.shape[-1] != in2:
        raise ValueError(
            f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do not end in the weight's "
            f"in1_features={in1} and in2_features={in2} (weight of shape {weight.shape})"
        )
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ValueError(f"bilinear: the batch axes of input1 {input1.shape} and input2 {input2.shape} differ")
    if bias is not None and (not isinstance(bias, Tensor) or bias.shape != (out,)):
        got = bias.shape if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(f"bilinear: bias of shape {got}, expected ({out},) for weight of shape {weight.shape}")
    batch = input1.shape[:-1]
    rows = int(np.prod(batch))
    x1 = ops.reshape(input1, (rows, in1))
    x2 = ops.reshape(input2, (rows, 1, in2))
    # one product: x1 @ W arranged (in1, out * in2), then each output's row dotted with x2
    w = ops.reshape(ops.transpose(weight, (1, 0, 2)), (in1, out * in2))
    y = (ops.reshape(x1 @ w, (rows, out, in2)) * x2).sum(axis=2)
    if bias is not None:
        y = y + bias
    return ops.reshape(y, batch + (out,))


class Bilinear(Module):
    """``torch.nn.Bilinear(in1_features, in2_features, out_features, bias=True)``: weight (out, in1, in2)
    and bias (out,), both U(-1/sqrt(in1), 1/sqrt(in1)), as PyTorch initialises them."""

    @takes_device
    def __init__(
        self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__()
        self.in1_features = check_int("Bilinear", "in1_features", in1_features)
        self.in2_features = check_int("Bilinear", "in2_features", in2_features)
        self.out_features = check_int("Bilinear", "out_features", out_features)
        dtype = dtypes.resolve(dtype)
        self.weight = Parameter(np.empty((self.out_features, self.in1_features, self.in2_features), dtype=dtype))
        self.bias = Parameter(np.empty(self.out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        check_input_dtype("Bilinear", input1, self.weight.dtype)
        check_input_dtype("Bilinear", input2, self.weight.dtype)
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )
