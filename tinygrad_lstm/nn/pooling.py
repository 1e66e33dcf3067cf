"""Pooling layers with PyTorch's names and arguments (no parameters), over the functions of ``conv.py``."""

from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from . import conv
from .module import Module


def _single(value: Any) -> tuple:
    """PyTorch's AvgPool1d keeps its sizes as 1-tuples (its repr shows them so)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


class _MaxPoolNd(Module):
    _function: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Any:
        return type(self)._function(
            input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode, self.return_indices
        )

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """PyTorch's ``nn.MaxPool1d(kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
    ceil_mode=False)``: a tie's gradient goes to its first maximum, as PyTorch's."""

    _function = staticmethod(conv.max_pool1d)


class MaxPool2d(_MaxPoolNd):
    """PyTorch's ``nn.MaxPool2d``: the maximum of each window of (N, C, H, W) or (C, H, W).

    >>> import tinygrad_lstm as tl
    >>> tl.nn.MaxPool2d(2)(tl.arange(16.0).reshape(1, 4, 4)).numpy()
    array([[[ 5.,  7.],
            [13., 15.]]], dtype=float32)
    """

    _function = staticmethod(conv.max_pool2d)


class MaxPool3d(_MaxPoolNd):
    """PyTorch's ``nn.MaxPool3d`` over (N, C, D, H, W) or (C, D, H, W)."""

    _function = staticmethod(conv.max_pool3d)


class _AvgPoolNd(Module):
    _function: Any = None

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return conv._avg_pool(
            type(self)._function.__name__,
            self._d,
            input,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """PyTorch's ``nn.AvgPool1d(kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True)``."""

    _d = 1
    _function = staticmethod(conv.avg_pool1d)

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        stride = kernel_size if stride is None else stride
        super().__init__(_single(kernel_size), _single(stride), _single(padding), ceil_mode, count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """PyTorch's ``nn.AvgPool2d(kernel_size, stride=None, padding=0, ceil_mode=False,
    count_include_pad=True, divisor_override=None)``."""

    _d = 2
    _function = staticmethod(conv.avg_pool2d)


class AvgPool3d(_AvgPoolNd):
    """PyTorch's ``nn.AvgPool3d``, as AvgPool2d over (N, C, D, H, W)."""

    _d = 3
    _function = staticmethod(conv.avg_pool3d)


class _AdaptivePool(Module):
    _function: Any = None

    def __init__(self, output_size: Any) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return type(self)._function(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePool):
    """PyTorch's ``nn.AdaptiveAvgPool1d(output_size)``: means over windows that cover the input."""

    _function = staticmethod(conv.adaptive_avg_pool1d)


class AdaptiveAvgPool2d(_AdaptivePool):
    """PyTorch's ``nn.AdaptiveAvgPool2d(output_size)``: (N, C, H, W) -> (N, C, *output_size); None keeps an axis."""

    _function = staticmethod(conv.adaptive_avg_pool2d)


class AdaptiveAvgPool3d(_AdaptivePool):
    """PyTorch's ``nn.AdaptiveAvgPool3d(output_size)``."""

    _function = staticmethod(conv.adaptive_avg_pool3d)


class _AdaptiveMaxPool(_AdaptivePool):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Any:
        return type(self)._function(input, self.output_size, self.return_indices)


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """PyTorch's ``nn.AdaptiveMaxPool1d(output_size, return_indices=False)``."""

    _function = staticmethod(conv.adaptive_max_pool1d)


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """PyTorch's ``nn.AdaptiveMaxPool2d(output_size, return_indices=False)``."""

    _function = staticmethod(conv.adaptive_max_pool2d)


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """PyTorch's ``nn.AdaptiveMaxPool3d(output_size, return_indices=False)``."""

    _function = staticmethod(conv.adaptive_max_pool3d)
