"""Rectifiers with learned or random negative slopes, PyTorch's: ``F.prelu`` with ``PReLU`` (He et
al. 2015) and ``F.rrelu`` with ``RReLU`` (Xu et al. 2015)."""

from __future__ import annotations

import numbers

import numpy as np

from .. import dtypes, ops, random
from ..checks import check_int
from ..devices import takes_device
from ..tape import guard
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter, check_input_dtype

__all__ = ["prelu", "rrelu"]


def prelu(input: Tensor, weight: Tensor) -> Tensor:  # noqa: A002 - PyTorch's name
    """``torch.nn.functional.prelu``: x where x > 0, else ``weight * x``; ``weight`` holds one slope, or
    one per channel (axis 1). The gradient at 0 is the slope, and the weight's is x there, as PyTorch's."""
    if not isinstance(weight, Tensor) or weight.ndim > 1:
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"prelu: weight must be a 0-d or 1-D Tensor (one slope, or one per channel), got {got}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    if weight.size != 1 and weight.size != channels:
        raise ValueError(
            f"prelu: weight of shape {weight.shape} holds {weight.size} slopes, but input of shape {input.shape} "
            f"has {channels} channels (axis 1)"
        )
    slope = ops.reshape(weight, () if weight.size == 1 else (channels,) + (1,) * (input.ndim - 2))
    return ops.where(input > 0, input, input * slope)


def rrelu(
    input: Tensor,  # noqa: A002
    lower: float = 1.0 / 8.0,
    upper: float = 1.0 / 3.0,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """``torch.nn.functional.rrelu``: x where x > 0, else ``a * x``. Training: each element's slope a
    drawn from U(lower, upper) (``tl.manual_seed``'s generator), and its gradient is that slope;
    otherwise a = (lower + upper) / 2, as ``leaky_relu``."""
    if not (isinstance(lower, numbers.Real) and isinstance(upper, numbers.Real)) or not lower <= upper:
        raise ValueError(f"rrelu: lower must be a number <= upper, got lower={lower!r}, upper={upper!r}")
    if not training:
        return F.leaky_relu(input, (lower + upper) / 2.0, inplace)
    guard("draw", "rrelu in training mode draws a new slope for every element on every step")
    slopes = random.generator().uniform(lower, upper, input.shape).astype(input.dtype)

    def randomised(x: Tensor) -> Tensor:
        return ops.where(x <= 0, x * slopes, x)  # PyTorch draws at 0 too: its gradient there is the slope

    return F._in_place(input, randomised, inplace)


class PReLU(Module):
    """``torch.nn.PReLU(num_parameters=1, init=0.25)``: ``F.prelu`` with a learned ``weight`` of
    ``num_parameters`` slopes, each ``init``."""

    @takes_device
    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None, dtype=None) -> None:
        super().__init__()
        self.num_parameters = check_int("PReLU", "num_parameters", num_parameters, least=1)
        self.init = init
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=dtypes.resolve(dtype)))

    def reset_parameters(self) -> None:
        self.weight.data[...] = self.init

    def forward(self, input: Tensor) -> Tensor:
        check_input_dtype("PReLU", input, self.weight.dtype)
        return prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class RReLU(Module):
    """``torch.nn.RReLU(lower=1/8, upper=1/3, inplace=False)``: ``F.rrelu``, random slopes in training
    mode, their mean in eval mode."""

    def __init__(self, lower: float = 1.0 / 8.0, upper: float = 1.0 / 3.0, inplace: bool = False) -> None:
        super().__init__()
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input: Tensor) -> Tensor:
        return rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")
