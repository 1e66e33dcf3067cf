"""LayerNorm: PyTorch's layer, parameters ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape``."""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter, check_input_dtype


class LayerNorm(Module):
    """Normalise over the last axes, then scale and shift, as ``torch.nn.LayerNorm``.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> norm = tl.nn.LayerNorm(4, dtype=np.float64)
    >>> y = norm(tl.tensor(np.arange(8.0).reshape(2, 4)))
    >>> np.round(y.data[0], 4).tolist()
    [-1.3416, -0.4472, 0.4472, 1.3416]
    """

    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = F.normalized_size(normalized_shape, "LayerNorm")
        if not eps >= 0:
            raise ValueError(f"LayerNorm: eps must be a number >= 0, got {eps!r}")
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.dtype = np.dtype(dtypes.resolve(dtype))
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=self.dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype=self.dtype))

    def forward(self, x: Tensor) -> Tensor:
        check_input_dtype("LayerNorm", x, self.dtype)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
