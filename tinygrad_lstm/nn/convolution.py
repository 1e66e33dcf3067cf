"""Conv1d/2d/3d and ConvTranspose1d/2d/3d: PyTorch's names, arguments, weight layouts and default
initialisation, over the functions of ``conv.py``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import dtypes
from ..checks import check_int
from ..devices import takes_device
from ..tensor import Tensor
from . import conv, init
from . import functional as F
from .module import Module, Parameter, check_input_dtype

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """What the convolutions share: checked arguments, weight (out, in / groups, *kernel) for a
    convolution or (in, out / groups, *kernel) for a transposed one, and PyTorch's initialisation:
    kaiming_uniform_ with a = sqrt(5), which is U(-1/sqrt(fan_in), 1/sqrt(fan_in)), for the weight
    and the same bound for the bias (fan_in = weight.shape[1] * kernel elements)."""

    _d = 0
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
        bias: bool,
        padding_mode: str,
        output_padding: Any,
        dtype,
    ) -> None:
        super().__init__()
        name, d = type(self).__name__, self._d
        dtype = dtypes.resolve(dtype)  # None: tl.get_default_dtype()
        self.in_channels = check_int(name, "in_channels", in_channels)
        self.out_channels = check_int(name, "out_channels", out_channels)
        self.groups = check_int(name, "groups", groups, least=1)
        if self.in_channels % self.groups:
            raise ValueError(f"{name}: in_channels={in_channels} must be divisible by groups={groups}")
        if self.out_channels % self.groups:
            raise ValueError(f"{name}: out_channels={out_channels} must be divisible by groups={groups}")
        self.kernel_size = conv._ints(name, "kernel_size", kernel_size, d, least=1)
        self.stride = conv._ints(name, "stride", stride, d, least=1)
        self.dilation = conv._ints(name, "dilation", dilation, d, least=1)
        self.output_padding = conv._ints(name, "output_padding", output_padding, d)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, got {padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f"{name}: only padding_mode 'zeros' is supported, got {padding_mode!r}")
        self.padding_mode = padding_mode
        if isinstance(padding, str):
            if self._transposed:
                raise ValueError(f"{name}: padding must be an int or {d} ints, got {padding!r}")
            before, after = conv._conv_padding(name, padding, self.kernel_size, self.dilation, self.stride, d)
            self.padding: Any = padding
        else:
            self.padding = conv._ints(name, "padding", padding, d)
            before = after = self.padding
        # F.pad's order: the last axis first, (before, after) each
        self._reversed_padding_repeated_twice = tuple(n for b, a in zip(before[::-1], after[::-1]) for n in (b, a))
        if self._transposed:
            shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        else:
            shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.bias = Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation: weight and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
        if fan_in:
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(fan_in) if fan_in else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self._d:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._d:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._d:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    _function: Any = None

    @takes_device
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode, 0, dtype
        )

    def forward(self, input: Tensor) -> Tensor:
        check_input_dtype(type(self).__name__, input, self.weight.dtype)
        if self.padding_mode == "zeros":
            return type(self)._function(
                input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
            )
        x = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
        return type(self)._function(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class Conv1d(_Conv):
    """PyTorch's ``nn.Conv1d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
    groups=1, bias=True, padding_mode='zeros')``: weight (out, in / groups, k), bias (out,)."""

    _d = 1
    _function = staticmethod(conv.conv1d)


class Conv2d(_Conv):
    """PyTorch's ``nn.Conv2d``: weight (out, in / groups, kh, kw), bias (out,); ``padding`` an int, a
    pair, "valid" or "same"; ``padding_mode`` "zeros", "reflect", "replicate" or "circular".

    >>> import tinygrad_lstm as tl
    >>> tl.nn.Conv2d(3, 16, 3, padding=1)(tl.zeros(8, 3, 32, 32)).shape
    (8, 16, 32, 32)
    """

    _d = 2
    _function = staticmethod(conv.conv2d)


class Conv3d(_Conv):
    """PyTorch's ``nn.Conv3d``: weight (out, in / groups, kd, kh, kw), bias (out,)."""

    _d = 3
    _function = staticmethod(conv.conv3d)


class _ConvTranspose(_ConvNd):
    _transposed = True
    _function: Any = None

    @takes_device
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            output_padding,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        name = type(self).__name__
        check_input_dtype(name, input, self.weight.dtype)
        extra = self.output_padding
        if output_size is not None:  # PyTorch's choice of output_padding that reaches output_size
            sizes = list(output_size)[-self._d :]
            if len(sizes) != self._d:
                raise ValueError(f"{name}: output_size must end in {self._d} spatial sizes, got {output_size!r}")
            least = [
                (s - 1) * st - 2 * p + dl * (k - 1) + 1
                for s, st, p, dl, k in zip(
                    input.shape[-self._d :], self.stride, self.padding, self.dilation, self.kernel_size
                )
            ]
            extra = tuple(int(s) - m for s, m in zip(sizes, least))
            if any(not 0 <= e < st for e, st in zip(extra, self.stride)):
                raise ValueError(
                    f"{name}: output_size {tuple(sizes)} is not reachable: sizes from {tuple(least)} "
                    f"to {tuple(m + st - 1 for m, st in zip(least, self.stride))}"
                )
        return type(self)._function(
            input, self.weight, self.bias, self.stride, self.padding, extra, self.groups, self.dilation
        )


class ConvTranspose1d(_ConvTranspose):
    """PyTorch's ``nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride=1, padding=0,
    output_padding=0, groups=1, bias=True, dilation=1)``: weight (in, out / groups, k)."""

    _d = 1
    _function = staticmethod(conv.conv_transpose1d)


class ConvTranspose2d(_ConvTranspose):
    """PyTorch's ``nn.ConvTranspose2d``: weight (in, out / groups, kh, kw); ``forward(x, output_size=None)``."""

    _d = 2
    _function = staticmethod(conv.conv_transpose2d)


class ConvTranspose3d(_ConvTranspose):
    """PyTorch's ``nn.ConvTranspose3d``: weight (in, out / groups, kd, kh, kw)."""

    _d = 3
    _function = staticmethod(conv.conv_transpose3d)
