"""Linear, Embedding, Dropout: PyTorch's names, layouts and default initialisation."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes, ops
from ..checks import check_int, check_probability, plain_array
from ..devices import takes_device
from ..tensor import Tensor
from ..versions import changed_in_place
from . import functional as F
from . import init
from .module import Module, Parameter, check_input_dtype


class Linear(Module):
    """``y = x @ weight.T + bias``; weight (out_features, in_features), both U(-1/sqrt(in), 1/sqrt(in))."""

    @takes_device
    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        dtype = dtypes.resolve(dtype)  # None: tl.get_default_dtype()
        in_features = check_int("Linear", "in_features", in_features)
        out_features = check_int("Linear", "out_features", out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw the weight, then the bias, from U(-1/sqrt(in_features), 1/sqrt(in_features)), in place."""
        bound = 1 / math.sqrt(self.in_features) if self.in_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if input.shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear: input of shape {input.shape} does not end in in_features={self.in_features}")
        check_input_dtype("Linear", input, self.weight.dtype)
        y = input @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Embedding(Module):
    """Rows of ``weight`` (num_embeddings, embedding_dim), N(0, 1), picked by integer indices.

    ``scale_grad_by_freq=True``: each row's gradient is divided by how often its index occurs in the
    batch, as PyTorch's. ``sparse=True`` is refused (gradients are dense here). ``_weight``: the initial
    weight (copied; the padding row is then not zeroed), ``_freeze``: it does not require grad.
    """

    @takes_device
    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight=None,
        _freeze: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        F.refuse_sparse("Embedding", sparse)
        super().__init__()
        num_embeddings = check_int("Embedding", "num_embeddings", num_embeddings)
        embedding_dim = check_int("Embedding", "embedding_dim", embedding_dim)
        if _weight is not None:
            given = plain_array(_weight.data if isinstance(_weight, Tensor) else _weight, "Embedding: _weight")
            if given.shape != (num_embeddings, embedding_dim) or given.dtype.kind != "f":
                raise ValueError(
                    f"Embedding: _weight must be a float array of shape ({num_embeddings}, {embedding_dim}), "
                    f"got {given.dtype} of shape {given.shape}"
                )
            dtype = given.dtype if dtype is None else dtype
        dtype = dtypes.resolve(dtype)
        if padding_idx is not None:
            padding_idx = check_int("Embedding", "padding_idx", padding_idx, least=None)
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"Embedding: padding_idx={padding_idx} is out of range for num_embeddings={num_embeddings}"
                )
            padding_idx %= num_embeddings  # as PyTorch: -1 names the last row, and indices compare to that
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        if max_norm is not None and not max_norm >= 0:
            raise ValueError(f"Embedding: max_norm must be a number >= 0 or None, got {max_norm}")
        self.weight = Parameter(np.empty((num_embeddings, embedding_dim), dtype=dtype))
        self.padding_idx = padding_idx
        if _weight is None:
            self.reset_parameters()
        else:
            self.weight.data[...] = given
            self.weight.requires_grad_(not _freeze)
        self.max_norm, self.norm_type = max_norm, float(norm_type)
        self.scale_grad_by_freq, self.sparse = bool(scale_grad_by_freq), False

    def reset_parameters(self) -> None:
        """Draw the weight from N(0, 1) again, in place, its padding row zeros (PyTorch's method)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0
            changed_in_place(self.weight.data)

    @classmethod
    def from_pretrained(
        cls,
        embeddings,
        freeze: bool = True,
        padding_idx: int | None = None,
        max_norm: float | None = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
    ) -> Embedding:
        """An Embedding whose weight is a copy of the 2-D ``embeddings`` (its dtype kept); ``freeze``:
        the weight does not require grad. The padding row keeps its values, as in PyTorch.

        >>> import tinygrad_lstm as tl
        >>> emb = tl.nn.Embedding.from_pretrained(tl.tensor([[1.0, 2.0], [3.0, 4.0]]))
        >>> emb(tl.tensor([1])).tolist(), emb.weight.requires_grad
        ([[3.0, 4.0]], False)
        """
        data = plain_array(embeddings.data if isinstance(embeddings, Tensor) else embeddings, "Embedding: embeddings")
        if data.ndim != 2 or data.dtype.kind != "f":
            raise ValueError(
                "Embedding.from_pretrained: embeddings must be a 2-D float array, got "
                f"{data.dtype} of shape {data.shape}"
            )
        return cls(
            data.shape[0],
            data.shape[1],
            padding_idx,
            max_norm,
            norm_type,
            scale_grad_by_freq,
            sparse,
            _weight=data,
            _freeze=freeze,
        )

    def forward(self, input) -> Tensor:
        idx = plain_array(input.data if isinstance(input, Tensor) else input, "Embedding: indices")
        if idx.dtype.kind not in "iu":
            raise TypeError(f"Embedding: indices must be integers, got dtype {idx.dtype}")
        # PyTorch refuses negative indices too (NumPy would quietly count them from the end)
        bad = (idx < 0) | (idx >= self.num_embeddings)
        if bad.any():
            raise IndexError(
                f"Embedding: index out of range for num_embeddings={self.num_embeddings}: got {idx[bad].flat[0]} "
                f"(indices must lie in [0, {self.num_embeddings}); {int(bad.sum())} of {idx.size} do not)"
            )
        if self.max_norm is not None:  # rows looked up are scaled down first, in place (PyTorch's rule)
            F._renorm_rows(self.weight, idx, self.max_norm, self.norm_type)
        out = ops.getitem(self.weight, idx)
        if self.padding_idx is not None and out.requires_grad:
            # the padding row gets no gradient, as in PyTorch
            keep = (Tensor._from(idx) != self.padding_idx)[..., None]  # ops, so that tl.compile sees them
            out = ops.where(keep, out, ops.getitem(self.weight, idx).detach())
        return F.by_frequency(out, idx) if self.scale_grad_by_freq else out

    def extra_repr(self) -> str:
        extra = ", scale_grad_by_freq=True" if self.scale_grad_by_freq else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{extra}"


class Dropout(Module):
    """Zero each element with probability p in training mode, scaling the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        self.p = check_probability("Dropout", "p", p)
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}"
