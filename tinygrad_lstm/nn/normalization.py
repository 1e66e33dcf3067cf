"""The normalisation layers, PyTorch's: LayerNorm, BatchNorm1d/2d/3d, InstanceNorm1d/2d, GroupNorm,
RMSNorm and LocalResponseNorm, with their ``F`` functions (re-exported by ``nn.functional``). Each is
composed of recorded ops, so gradients of every order work; running statistics are buffers that a
training step updates in place (an op without a gradient, which a compiled step replays), as PyTorch's."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import dtypes, ops
from ..checks import check_int
from ..devices import takes_device
from ..primitives.running import RUNNING_UPDATE
from ..tape import no_grad
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter, check_input_dtype

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "rms_norm",
]


# ---- the functions ----------------------------------------------------------------------------------


def _channel_vectors(op: str, x: Tensor, **vectors) -> int:
    """The number of channels of ``x`` (axis 1); each of ``vectors`` must be None or hold one value per
    channel. Checked before anything is computed or changed."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise ValueError(f"{op}: input of shape {x.shape} has no channel axis; expected (N, C, ...)")
    channels = x.shape[1]
    for name, v in vectors.items():
        if v is None:
            continue
        if not isinstance(v, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(v).__name__}")
        if v.shape != (channels,):
            raise ValueError(
                f"{op}: {name} of shape {v.shape} does not hold one value for each of the {channels} channels "
                f"of input of shape {x.shape}"
            )
    return channels


def _per_channel(v: Tensor, ndim: int) -> Tensor:
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an (N, C, ...) input."""
    return ops.reshape(v, (1, v.shape[0]) + (1,) * (ndim - 2))


def _affine(y: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    if weight is not None:
        y = y * _per_channel(weight, y.ndim)
    return y + _per_channel(bias, y.ndim) if bias is not None else y


def _normalise(x: Tensor, axes: tuple[int, ...], eps: float) -> tuple[Tensor, Tensor, Tensor]:
    """(x - mean) / sqrt(var + eps) over ``axes``, the biased variance: every norm's core. Also the
    mean and the variance (keepdims), which the running statistics read."""
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=axes, keepdims=True)
    return centred * (var + eps).rsqrt(), mean, var


def _update_running(
    mean: Tensor,
    var: Tensor,
    count: int,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    counter: Tensor | None,
    momentum: float | None,
    per_sample: bool = False,
) -> None:
    """Move the running statistics towards the batch's: ``mean`` and the unbiased variance (from the
    biased ``var`` of ``count`` values), per channel, or for instance norm (``per_sample``) per sample
    and channel, then averaged over the samples. One recorded op without a gradient writes the buffers
    in place (``primitives/running.py``), so that a ``tl.compile`` replay updates them on every call, as
    eager execution does."""
    if running_mean is None and running_var is None:
        return
    with no_grad():
        shape = mean.shape[:2] if per_sample else (mean.shape[1],)
        batch_mean = mean.detach().reshape(shape)
        unbiased = var.detach().reshape(shape) * (count / (count - 1))
        if per_sample:
            batch_mean, unbiased = batch_mean.mean(axis=0), unbiased.mean(axis=0)
        buffers = tuple(None if t is None else t.data for t in (running_mean, running_var, counter))
        ops.apply(RUNNING_UPDATE, (batch_mean, unbiased), (*buffers, momentum))


def batch_norm(
    input: Tensor,  # noqa: A002 - PyTorch's name
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """``torch.nn.functional.batch_norm``: normalise each channel (axis 1) over the batch and every
    other axis, then scale by ``weight`` and shift by ``bias``. Training: the batch's statistics (the
    biased variance), and the running ones, when given, move towards them by ``momentum`` (the
    unbiased variance), in place. Otherwise: ``running_mean`` and ``running_var``.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> rm, rv = tl.zeros(2, dtype=np.float64), tl.ones(2, dtype=np.float64)
    >>> x = tl.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=np.float64)
    >>> y = tl.nn.functional.batch_norm(x, rm, rv, training=True)
    >>> np.round(y.data, 3).tolist(), rm.data.tolist(), np.round(rv.data, 9).tolist()
    ([[-1.0, -1.0], [1.0, 1.0]], [0.2, 0.4], [1.1, 1.7])
    """
    if not isinstance(momentum, numbers.Real):
        raise TypeError(f"batch_norm: momentum must be a number, got {momentum!r}")
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps, None)


def _batch_norm(
    x: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float | None,
    eps: float,
    counter: Tensor | None,
) -> Tensor:
    """``batch_norm``, and a layer's ``num_batches_tracked`` (``counter``) counted with the update;
    ``momentum=None`` (a layer's cumulative average) reads that count."""
    _channel_vectors("batch_norm", x, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias)
    if not isinstance(eps, numbers.Real) or not (float(eps) > 0 if training else float(eps) >= 0):
        raise ValueError(f"batch_norm: eps must be {'> 0 when training' if training else '>= 0'}, got {eps!r}")
    eps = float(eps)
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are required when training=False")
        shift = x - _per_channel(running_mean, x.ndim)
        return _affine(shift * (_per_channel(running_var, x.ndim) + eps).rsqrt(), weight, bias)
    count = x.size // x.shape[1] if x.shape[1] else 0
    if count == 1:
        raise ValueError(
            f"batch_norm: expected more than 1 value per channel when training, got input of shape {x.shape}"
        )
    if count == 0:  # an empty batch, as PyTorch: counted, the running statistics left alone
        if counter is not None:
            with no_grad():
                nothing = Tensor(np.zeros(x.shape[1], dtype=x.dtype))
                ops.apply(RUNNING_UPDATE, (nothing, nothing), (None, None, counter.data, momentum))
        return _affine(x, weight, bias)
    y, mean, var = _normalise(x, (0, *range(2, x.ndim)), eps)
    _update_running(mean, var, count, running_mean, running_var, counter, momentum)
    return _affine(y, weight, bias)


def instance_norm(
    input: Tensor,  # noqa: A002
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """``torch.nn.functional.instance_norm``: normalise each channel of each sample (N, C, ...) over its
    other axes; with ``use_input_stats=False``, by ``running_mean``/``running_var`` instead. When the
    input's statistics are used and running ones given, those move towards the batch's mean of each
    sample's mean and unbiased variance."""
    _channel_vectors(
        "instance_norm", input, running_mean=running_mean, running_var=running_var, weight=weight, bias=bias
    )
    if not use_input_stats:
        if running_mean is None or running_var is None:
            raise ValueError("instance_norm: running_mean and running_var are required when use_input_stats=False")
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    count = int(np.prod(input.shape[2:]))
    if count == 1:
        raise ValueError(
            f"instance_norm: expected more than 1 spatial element when training, got input of shape {input.shape}"
        )
    if count == 0:  # nothing to normalise, as PyTorch: the running statistics left alone
        return _affine(input, weight, bias)
    y, mean, var = _normalise(input, tuple(range(2, input.ndim)), eps)
    _update_running(mean, var, count, running_mean, running_var, None, momentum, per_sample=True)
    return _affine(y, weight, bias)


def group_norm(
    input: Tensor,  # noqa: A002
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """``torch.nn.functional.group_norm``: the C channels of each sample split into ``num_groups``
    groups of consecutive channels, each normalised over its channels and other axes; then ``weight`` and
    ``bias`` per channel."""
    channels = _channel_vectors("group_norm", input, weight=weight, bias=bias)
    groups = check_int("group_norm", "num_groups", num_groups, least=1)
    if channels % groups:
        raise ValueError(
            f"group_norm: the {channels} channels of input of shape {input.shape} do not divide into "
            f"num_groups={groups} groups"
        )
    n = input.shape[0]
    if n * (channels // groups) * int(np.prod(input.shape[2:])) == 1:
        raise ValueError(f"group_norm: expected more than 1 value per group, got input of shape {input.shape}")
    grouped = ops.reshape(input, (n, groups, -1)) if input.size else ops.reshape(input, (n, groups, 0))
    y = ops.reshape(_normalise(grouped, (2,), eps)[0], input.shape)
    return _affine(y, weight, bias)


def rms_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """``torch.nn.functional.rms_norm``: x / sqrt(mean(x**2) + eps) over the last axes
    (``normalized_shape``), times ``weight``; ``eps=None`` is the machine epsilon of the input's dtype."""
    shape = F.normalized_size(normalized_shape, "rms_norm")
    if not isinstance(input, Tensor) or input.ndim < len(shape) or input.shape[input.ndim - len(shape) :] != shape:
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"rms_norm: input of shape {got} does not end in normalized_shape {shape}")
    if weight is not None and (not isinstance(weight, Tensor) or weight.shape != shape):
        got = weight.shape if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"rms_norm: weight of shape {got}, expected normalized_shape {shape}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps) if input.dtype.kind == "f" else float(np.finfo(np.float32).eps)
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(axis=axes, keepdims=True) + eps).rsqrt()
    return y * weight if weight is not None else y


def local_response_norm(
    input: Tensor,  # noqa: A002
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
) -> Tensor:
    """``torch.nn.functional.local_response_norm``: each value divided by (k + alpha * the mean of the
    squares of ``size`` neighbouring channels, zeros beyond the ends) ** beta (Krizhevsky et al. 2012)."""
    if not isinstance(input, Tensor) or input.ndim < 3:
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"local_response_norm: expected an input of 3 or more dimensions (N, C, ...), got {got}")
    size = check_int("local_response_norm", "size", size, least=1)
    if input.size == 0:
        return input
    channels = input.shape[1]
    square = input * input
    before, after = size // 2, (size - 1) // 2
    pad = [(0, 0)] * input.ndim
    pad[1] = (before, after)
    padded = F.pad(square, tuple(amount for pair in reversed(pad[1:]) for amount in pair))
    window = padded[:, 0:channels]
    for j in range(1, size):
        window = window + padded[:, j : j + channels]
    div = (window * (alpha / size) + k) ** beta
    return input / div


# ---- the layers ---------------------------------------------------------------------------------------


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share, as PyTorch's ``_NormBase``: ``weight`` (ones) and
    ``bias`` (zeros) when ``affine``; buffers ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` (int64 0) when ``track_running_stats``."""

    _dims: tuple[int, ...] = ()  # the input ranks the layer takes
    num_features: int
    eps: float
    momentum: float | None
    affine: bool
    track_running_stats: bool
    dtype: np.dtype
    weight: Parameter | None
    bias: Parameter | None

    @takes_device
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = check_int(name, "num_features", num_features)
        if not (isinstance(eps, numbers.Real) and eps >= 0):
            raise ValueError(f"{name}: eps must be a number >= 0, got {eps!r}")
        if momentum is not None and not isinstance(momentum, numbers.Real):
            raise TypeError(f"{name}: momentum must be a number or None, got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        self.dtype = np.dtype(dtypes.resolve(dtype))
        self.weight = self.bias = None
        if self.affine:
            self.weight = Parameter(np.ones(self.num_features, dtype=self.dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, dtype=self.dtype))
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype=self.dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype=self.dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)

    def reset_running_stats(self) -> None:
        """running_mean to zeros, running_var to ones, num_batches_tracked to 0 (in place)."""
        if self.track_running_stats:
            for buffer, value in (("running_mean", 0), ("running_var", 1), ("num_batches_tracked", 0)):
                init.constant_(getattr(self, buffer), value)

    def reset_parameters(self) -> None:
        """The running statistics reset, weight to ones and bias to zeros."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
        if x.ndim not in self._dims:
            ranks = " or ".join(f"{d}D" for d in self._dims)
            raise ValueError(f"{name}: expected {ranks} input, got {x.ndim}D input of shape {x.shape}")
        if self.weight is not None or self.track_running_stats:
            check_input_dtype(name, x, self.dtype)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        name = type(self).__name__
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input of shape {input.shape} has {input.shape[1]} channels, expected {self.num_features}"
            )
        if self.training and input.shape[1] and input.size // input.shape[1] == 1:
            raise ValueError(
                f"{name}: expected more than 1 value per channel when training, got input of shape {input.shape}"
            )
        tracking = self.training and self.track_running_stats
        # eval() without running statistics normalises by the batch's, as PyTorch does
        use_batch = self.training or self.running_mean is None
        tracked = not self.training or self.track_running_stats
        return _batch_norm(
            input,
            self.running_mean if tracked else None,
            self.running_var if tracked else None,
            self.weight,
            self.bias,
            use_batch,
            self.momentum,  # None: the cumulative average, 1 / num_batches_tracked
            self.eps,
            self.num_batches_tracked if tracking else None,
        )


class BatchNorm1d(_BatchNorm):
    """``torch.nn.BatchNorm1d``: batch normalisation (Ioffe & Szegedy 2015) of (N, C) or (N, C, L) input.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> bn = tl.nn.BatchNorm1d(2, dtype=np.float64)
    >>> _ = bn(tl.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=np.float64))
    >>> bn.running_mean.data.tolist(), int(bn.num_batches_tracked.item())
    ([0.2, 0.4], 1)
    >>> list(bn.state_dict())
    ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
    """

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """``torch.nn.BatchNorm2d``: batch normalisation of (N, C, H, W) input, per channel."""

    _dims = (4,)


class BatchNorm3d(_BatchNorm):
    """``torch.nn.BatchNorm3d``: batch normalisation of (N, C, D, H, W) input, per channel."""

    _dims = (5,)


class _InstanceNorm(_NormBase):
    @takes_device
    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        name = type(self).__name__
        unbatched = input.ndim == self._dims[0]
        axis = 0 if unbatched else 1
        if input.shape[axis] != self.num_features:
            if self.affine or self.track_running_stats:
                raise ValueError(
                    f"{name}: input of shape {input.shape} has {input.shape[axis]} channels (axis {axis}), "
                    f"expected num_features={self.num_features}"
                )
            warnings.warn(
                f"{name}: input's size at dim={axis} does not match num_features. You can silence this warning by "
                "not passing in num_features, which is not used because affine=False",
                UserWarning,
                stacklevel=3,
            )
        batched = ops.reshape(input, (1, *input.shape)) if unbatched else input
        momentum = self.momentum if self.momentum is not None else 0.0
        y = instance_norm(
            batched,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            momentum,
            self.eps,
        )
        return ops.reshape(y, input.shape) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """``torch.nn.InstanceNorm1d``: each channel of each sample of (N, C, L) or (C, L) input normalised
    over L (Ulyanov et al. 2016); no affine parameters and no running statistics by default."""

    _dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """``torch.nn.InstanceNorm2d``: as InstanceNorm1d, for (N, C, H, W) or (C, H, W) input."""

    _dims = (3, 4)


class GroupNorm(Module):
    """``torch.nn.GroupNorm``: group normalisation (Wu & He 2018); ``weight`` ones and ``bias`` zeros of
    ``num_channels`` when ``affine``."""

    eps: float
    affine: bool
    dtype: np.dtype
    weight: Parameter | None
    bias: Parameter | None

    @takes_device
    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.num_groups = check_int("GroupNorm", "num_groups", num_groups, least=1)
        self.num_channels = check_int("GroupNorm", "num_channels", num_channels)
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"GroupNorm: num_channels ({self.num_channels}) must be divisible by num_groups ({self.num_groups})"
            )
        if not (isinstance(eps, numbers.Real) and eps >= 0):
            raise ValueError(f"GroupNorm: eps must be a number >= 0, got {eps!r}")
        self.eps, self.affine = eps, bool(affine)
        self.dtype = np.dtype(dtypes.resolve(dtype))
        self.weight = self.bias = None
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype=self.dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_channels, dtype=self.dtype))

    def reset_parameters(self) -> None:
        """weight ones, bias zeros again, in place (PyTorch's method)."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        if self.weight is not None:
            check_input_dtype("GroupNorm", input, self.dtype)
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        bias = self.bias is not None
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, bias={bias}"


class LayerNorm(Module):
    """Normalise over the last axes, then scale and shift, as ``torch.nn.LayerNorm``; parameters
    ``weight`` (ones) and ``bias`` (zeros) of ``normalized_shape``.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> norm = tl.nn.LayerNorm(4, dtype=np.float64)
    >>> y = norm(tl.tensor(np.arange(8.0).reshape(2, 4)))
    >>> np.round(y.data[0], 4).tolist()
    [-1.3416, -0.4472, 0.4472, 1.3416]
    """

    eps: float
    dtype: np.dtype
    weight: Parameter | None
    bias: Parameter | None

    @takes_device
    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
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

    def reset_parameters(self) -> None:
        """weight ones, bias zeros again, in place (PyTorch's method)."""
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        check_input_dtype("LayerNorm", input, self.dtype)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class RMSNorm(Module):
    """``torch.nn.RMSNorm``: x / sqrt(mean(x**2) + eps) over the last axes, times ``weight`` (ones);
    ``eps=None``: the machine epsilon of the input's dtype (Zhang & Sennrich 2019)."""

    eps: float | None
    dtype: np.dtype
    weight: Parameter | None

    @takes_device
    def __init__(
        self,
        normalized_shape: int | tuple[int, ...] | list[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.normalized_shape = F.normalized_size(normalized_shape, "RMSNorm")
        if eps is not None and not (isinstance(eps, numbers.Real) and eps >= 0):
            raise ValueError(f"RMSNorm: eps must be a number >= 0 or None, got {eps!r}")
        self.eps, self.elementwise_affine = eps, bool(elementwise_affine)
        self.dtype = np.dtype(dtypes.resolve(dtype))
        self.weight = None
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=self.dtype))

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, x: Tensor) -> Tensor:
        if self.weight is not None:
            check_input_dtype("RMSNorm", x, self.dtype)
        return rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LocalResponseNorm(Module):
    """``torch.nn.LocalResponseNorm``: ``F.local_response_norm`` as a layer (no parameters)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = check_int("LocalResponseNorm", "size", size, least=1)
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
