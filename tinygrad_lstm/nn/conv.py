"""Convolution, pooling and resampling with PyTorch's ``F`` names and semantics (conv1d/2d/3d,
conv_transpose1d/2d/3d, unfold/fold, max/avg/adaptive pools, pixel_shuffle, interpolate), composed
from recorded primitives, so gradients of every order, tape listings, pictures and ``tl.compile``
replays come from the primitives' VJPs:

- the sliding windows of an input are one ``getitem`` of the flattened input with a flat integer
  index (one index, not one per axis: its gradient is NumPy's fast one-index ``add.at``); zero padding
  is one zero appended to the flattened input, which padded positions read;
- a convolution is then one batched ``matmul`` (groups are its batch), a transposed convolution a
  ``matmul`` and the windows' adjoint, ``scatter_add`` (col2im);
- max pooling picks each window's element by index, with integer ops that ``tl.compile`` replays,
  so the whole gradient goes to the first maximum of a window (the last NaN, if any), as in PyTorch."""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops
from ..checks import check_int
from ..tensor import Tensor

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "fold",
    "interpolate",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "upsample",
]

Size = Any  # an int, or a sequence of one int per spatial axis (PyTorch's _size_Nt_t)


# ---- arguments --------------------------------------------------------------------------------------


def _ints(op: str, name: str, value: Size, d: int, least: int = 0) -> tuple[int, ...]:
    """One int per spatial axis from an int or a sequence of ``d`` (or 1) ints, each >= ``least``."""
    items = list(value) if isinstance(value, (tuple, list)) else [value]
    if len(items) == 1:
        items *= d
    if len(items) != d:
        raise ValueError(f"{op}: {name} must be an int or {d} ints, got {value!r}")
    numbers = tuple(check_int(op, name, v, least=None) for v in items)
    if any(v < least for v in numbers):
        what = "positive" if least == 1 else "non-negative"
        raise ValueError(f"{op}: {name} must be {what}, got {value!r}")
    return numbers


def _batched(op: str, x: Any, d: int, what: str = "input") -> tuple[Tensor, bool]:
    """``x`` with a batch axis (PyTorch's unbatched (C, *spatial) gets one), and whether it had none."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(x).__name__}")
    if x.ndim not in (d + 1, d + 2):
        raise ValueError(
            f"{op}: expected a {d + 1}-D (unbatched) or {d + 2}-D (batched) {what}, got shape {tuple(x.shape)}"
        )
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got {x.dtype}")
    unbatched = x.ndim == d + 1
    return (ops.reshape(x, (1, *x.shape)) if unbatched else x), unbatched


def _unbatch(y: Tensor, unbatched: bool, name: str | None = None) -> Tensor:
    """``y`` without the batch axis :func:`_batched` added; ``name`` labels it in listings and pictures."""
    y = ops.reshape(y, y.shape[1:]) if unbatched else y
    return y.named(name) if name else y


def _same_dtype(op: str, x: Tensor, **others: Any) -> None:
    for name, t in others.items():
        if t is not None and (not isinstance(t, Tensor) or t.dtype != x.dtype):
            got = t.dtype if isinstance(t, Tensor) else type(t).__name__
            raise TypeError(f"{op}: {name} ({got}) must be a Tensor of the input's dtype ({x.dtype})")


# ---- windows: where each output position reads ----------------------------------------------------------
# An axis's windows are given by a spec: ("slide", kernel, stride, pad_before, dilation, count) or
# ("adaptive", count). Positions outside [0, size) are padding.


def _axis_positions(spec: tuple, size: int) -> np.ndarray:
    """(count, kernel) input positions of one axis's windows."""
    if spec[0] == "adaptive":  # PyTorch's start floor(i size / n), end ceil((i + 1) size / n)
        n = spec[1]
        start = np.arange(n) * size // n
        end = -(-(np.arange(n) + 1) * size // n)
        width = int((end - start).max()) if n else 1
        # a short window repeats its last element: never a new first maximum, nor a later NaN
        return np.minimum(start[:, None] + np.arange(width), end[:, None] - 1)
    _, kernel, stride, before, dilation, count = spec
    return np.arange(count)[:, None] * stride - before + np.arange(kernel) * dilation


def _clip_to_window(pos: np.ndarray, size: int) -> np.ndarray:
    """Padding positions read the window's first real element (left) or its last (right), so that a
    window's first maximum and last NaN are where PyTorch's max pooling finds them."""
    inside = (pos >= 0) & (pos < size)
    rows = np.arange(len(pos))
    first = pos[rows, inside.argmax(1)][:, None]
    last = pos[rows, pos.shape[1] - 1 - inside[:, ::-1].argmax(1)][:, None]
    return np.where(pos < 0, first, np.where(pos >= size, last, pos))


# index arrays by their arguments, the most recently used kept up to a total size: a training loop
# calls each layer with the same shapes, but an index holds one int per element of the windows
_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_CACHE_BYTES = 64 << 20
_CACHE_LOCK = threading.Lock()  # layers may run in several threads


def _cached(build: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    @functools.wraps(build)
    def cached(*args: Any) -> np.ndarray:
        key = (build.__name__, *args)
        with _CACHE_LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]
        index = build(*args)
        index.flags.writeable = False
        with _CACHE_LOCK:
            if index.nbytes <= _CACHE_BYTES:
                _CACHE[key] = index
                while sum(a.nbytes for a in _CACHE.values()) > _CACHE_BYTES:
                    _CACHE.popitem(last=False)
        return index

    return cached


@_cached
def _window_index(planes: int, spatial: tuple[int, ...], specs: tuple, fill: str) -> np.ndarray:
    """Flat indices (planes, K, L) into an input of ``planes`` x ``spatial`` flattened: for each plane,
    window element k and window l. ``fill`` "zero": padding reads index planes * prod(spatial) (a zero
    appended to the input); "clip": see :func:`_clip_to_window`. Read-only."""
    d = len(spatial)
    flat: Any = 0
    valid: Any = True
    stride = 1
    for a in reversed(range(d)):
        pos = _axis_positions(specs[a], spatial[a])
        if fill == "clip":
            pos = _clip_to_window(pos, spatial[a])
        shape = [1] * (2 * d)
        shape[a], shape[d + a] = pos.shape[1], pos.shape[0]
        pos = pos.T.reshape(shape)
        flat = flat + pos * stride
        valid = valid & (pos >= 0) & (pos < spatial[a])
        stride *= spatial[a]
    kl = np.broadcast_shapes(np.shape(flat), np.shape(valid))
    k = math.prod(kl[:d])
    flat = np.broadcast_to(flat, kl).reshape(k, -1)
    index = np.arange(planes).reshape(-1, 1, 1) * stride + flat
    if fill == "zero":
        index = np.where(np.broadcast_to(valid, kl).reshape(k, -1), index, planes * stride)
    return index.astype(np.intp)


@_cached
def _grouped_index(n: int, groups: int, spatial: tuple[int, ...], channels: int, specs: tuple) -> np.ndarray:
    """:func:`_window_index` (zero fill) of n x channels planes, flat in the order (group, channel of
    the group, window element, sample, window): a convolution's columns, (G, Cg*K, N*L) by reshape."""
    index = _window_index(n * channels, spatial, specs, "zero")
    k, windows = index.shape[1:]
    return index.reshape(n, groups, channels // groups, k, windows).transpose(1, 2, 3, 0, 4).ravel()


@_cached
def _pool_index(planes: int, spatial: tuple[int, ...], specs: tuple) -> np.ndarray:
    """:func:`_window_index` (clip fill) as (K, planes * L): the k-th element of every window in one
    row, so that choosing among a window's elements reduces over the first axis."""
    index = _window_index(planes, spatial, specs, "clip")
    return np.ascontiguousarray(index.transpose(1, 0, 2)).reshape(index.shape[1], -1)


def _flat_input(x: Tensor, padded: bool) -> Tensor:
    """``x`` flattened, with one zero appended for padding to read when ``padded``."""
    flat = ops.reshape(x, (-1,))
    return ops.cat([flat, Tensor(np.zeros(1, dtype=x.dtype))]) if padded else flat


def _gather(flat: Tensor, index: np.ndarray, shape: tuple[int, ...]) -> Tensor:
    return ops.reshape(ops.getitem(flat, index.reshape(-1)), shape)


# ---- convolution -----------------------------------------------------------------------------------------


def _conv_padding(op: str, padding: Any, kernel, dilation, stride, d: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(before, after) per axis; "same" puts the odd one of an even kernel's padding after, as PyTorch."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * d, (0,) * d
        if padding != "same":
            raise ValueError(f"{op}: padding must be 'valid', 'same', an int or {d} ints, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride={stride})")
        total = [dl * (k - 1) for k, dl in zip(kernel, dilation)]
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    pad = _ints(op, "padding", padding, d)
    return pad, pad


def _conv(op: str, d: int, input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups) -> Tensor:
    x, unbatched = _batched(op, input, d)
    if not isinstance(weight, Tensor) or weight.ndim != d + 2:
        raise ValueError(
            f"{op}: weight must be a {d + 2}-D Tensor (out, in / groups, *kernel), got "
            f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}"
        )
    _same_dtype(op, x, weight=weight, bias=bias)
    groups = check_int(op, "groups", groups, least=1)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    out_c, group_c, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if out_c % groups:
        raise ValueError(
            f"{op}: weight of shape {tuple(weight.shape)} has {out_c} output channels, not divisible by groups={groups}"
        )
    if c != group_c * groups:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} has {c} channels, but weight of shape "
            f"{tuple(weight.shape)} with groups={groups} expects {group_c * groups}"
        )
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} must be ({out_c},), one per output channel")
    stride = _ints(op, "stride", stride, d, least=1)
    dilation = _ints(op, "dilation", dilation, d, least=1)
    before, after = _conv_padding(op, padding, kernel, dilation, stride, d)
    padded = tuple(s + b + a for s, b, a in zip(spatial, before, after))
    span = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    if any(p < k for p, k in zip(padded, span)):
        raise ValueError(
            f"{op}: padded input of size {padded} is smaller than the kernel {span} (dilated) "
            f"(input {tuple(input.shape)}, weight {tuple(weight.shape)})"
        )
    out = tuple((p - k) // s + 1 for p, k, s in zip(padded, span, stride))
    specs = tuple(("slide", k, s, b, dl, o) for k, s, b, dl, o in zip(kernel, stride, before, dilation, out))
    index = _grouped_index(n, groups, spatial, c, specs)
    k_size, windows = math.prod(kernel), math.prod(out)
    cols = _gather(_flat_input(x, any(before) or any(after)), index, (groups, group_c * k_size, n * windows))
    cols = cols.named("windows")
    w = ops.reshape(weight, (groups, out_c // groups, group_c * k_size))
    y = ops.reshape(ops.matmul(w, cols), (out_c, n, *out))  # (G, O/G, N*L): one product per group
    y = ops.swapaxes(y, 0, 1)
    if bias is not None:
        y = y + ops.reshape(bias, (out_c,) + (1,) * d)
    return _unbatch(y, unbatched, op)


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Tensor:
    """PyTorch's ``F.conv1d``: input (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, k),
    bias (C_out,); ``padding`` an int, a tuple, "valid" or "same" (stride 1 only)."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Tensor:
    """PyTorch's ``F.conv2d``: input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in / groups,
    kh, kw), bias (C_out,): the windows gathered once (im2col), then one matmul per group.

    >>> import tinygrad_lstm as tl
    >>> x, w = tl.ones(1, 1, 3, 3), tl.ones(2, 1, 2, 2)
    >>> tl.nn.functional.conv2d(x, w, padding=1)[0, 0].numpy()
    array([[1., 2., 2., 1.],
           [2., 4., 4., 2.],
           [2., 4., 4., 2.],
           [1., 2., 2., 1.]], dtype=float32)
    """
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size | str = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Tensor:
    """PyTorch's ``F.conv3d``: input (N, C_in, D, H, W) or unbatched, weight (C_out, C_in / groups, kd, kh, kw)."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def _conv_transpose(
    op: str,
    d: int,
    input: Tensor,
    weight: Tensor,
    bias,
    stride,
    padding,
    output_padding,
    groups,
    dilation,
) -> Tensor:
    """The adjoint of a convolution's input: each input element spreads kernel-weighted copies into
    the output (a matmul), summed where windows overlap (``scatter_add``, col2im), padding cropped."""
    x, unbatched = _batched(op, input, d)
    if not isinstance(weight, Tensor) or weight.ndim != d + 2:
        raise ValueError(
            f"{op}: weight must be a {d + 2}-D Tensor (in, out / groups, *kernel), got "
            f"{tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__}"
        )
    _same_dtype(op, x, weight=weight, bias=bias)
    groups = check_int(op, "groups", groups, least=1)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    in_c, group_out, kernel = weight.shape[0], weight.shape[1], tuple(weight.shape[2:])
    if in_c % groups or c != in_c:
        raise ValueError(
            f"{op}: input of shape {tuple(input.shape)} has {c} channels; weight of shape "
            f"{tuple(weight.shape)} expects {in_c}, divisible by groups={groups}"
        )
    out_c = group_out * groups
    if bias is not None and tuple(bias.shape) != (out_c,):
        raise ValueError(f"{op}: bias of shape {tuple(bias.shape)} must be ({out_c},), one per output channel")
    stride = _ints(op, "stride", stride, d, least=1)
    dilation = _ints(op, "dilation", dilation, d, least=1)
    pad = _ints(op, "padding", padding, d)
    extra = _ints(op, "output_padding", output_padding, d)
    if any(e >= s and e >= dl for e, s, dl in zip(extra, stride, dilation)):
        raise ValueError(
            f"{op}: output_padding {extra} must be smaller than either stride {stride} or dilation {dilation}"
        )
    out = tuple(
        (s - 1) * st - 2 * p + dl * (k - 1) + e + 1
        for s, st, p, dl, k, e in zip(spatial, stride, pad, dilation, kernel, extra)
    )
    if any(o <= 0 for o in out):
        raise ValueError(
            f"{op}: the output size {out} is not positive (input {tuple(input.shape)}, weight "
            f"{tuple(weight.shape)}, stride {stride}, padding {pad})"
        )
    # the output, padded, is what a convolution with these windows would read: one window per input position
    specs = tuple(("slide", k, st, p, dl, s) for k, st, p, dl, s in zip(kernel, stride, pad, dilation, spatial))
    index = _grouped_index(n, groups, out, out_c, specs)
    k_size, windows, group_c = math.prod(kernel), math.prod(spatial), c // groups
    xs = ops.reshape(x, (n, groups, group_c, windows))
    xs = ops.reshape(ops.transpose(xs, (1, 2, 0, 3)), (groups, group_c, n * windows))
    w = ops.swapaxes(ops.reshape(weight, (groups, group_c, group_out * k_size)), 1, 2)
    cols = ops.reshape(ops.matmul(w, xs), (-1,))  # (G, O/G * K, N * L)
    planes = n * out_c * math.prod(out)
    y = ops.scatter_add(cols, index, (planes + 1,), False)  # the last element gathers what is cropped
    y = ops.reshape(ops.getitem(y, slice(0, planes)), (n, out_c, *out))
    if bias is not None:
        y = y + ops.reshape(bias, (out_c,) + (1,) * d)
    return _unbatch(y, unbatched, op)


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
) -> Tensor:
    """PyTorch's ``F.conv_transpose1d``: input (N, C_in, L), weight (C_in, C_out / groups, k); the
    gradient of ``conv1d`` with respect to its input, as a layer."""
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
) -> Tensor:
    """PyTorch's ``F.conv_transpose2d``: input (N, C_in, H, W), weight (C_in, C_out / groups, kh, kw);
    output size (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1."""
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose3d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
) -> Tensor:
    """PyTorch's ``F.conv_transpose3d``: input (N, C_in, D, H, W), weight (C_in, C_out / groups, kd, kh, kw)."""
    return _conv_transpose(
        "conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


# ---- im2col and col2im ----------------------------------------------------------------------------------


def _fold_specs(op: str, spatial, kernel_size, dilation, padding, stride):
    kernel = _ints(op, "kernel_size", kernel_size, 2, least=1)
    dilation = _ints(op, "dilation", dilation, 2, least=1)
    pad = _ints(op, "padding", padding, 2)
    stride = _ints(op, "stride", stride, 2, least=1)
    out = tuple(
        (s + 2 * p - dl * (k - 1) - 1) // st + 1 for s, p, dl, k, st in zip(spatial, pad, dilation, kernel, stride)
    )
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: kernel_size {kernel} (dilation {dilation}) does not fit the spatial size "
            f"{tuple(spatial)} padded by {pad}: no sliding block"
        )
    specs = tuple(("slide", k, st, p, dl, o) for k, st, p, dl, o in zip(kernel, stride, pad, dilation, out))
    return specs, math.prod(kernel), math.prod(out), any(pad)


def unfold(input: Tensor, kernel_size: Size, dilation: Size = 1, padding: Size = 0, stride: Size = 1) -> Tensor:
    """PyTorch's ``F.unfold`` (im2col): (N, C, H, W) -> (N, C * kh * kw, L), one column per sliding
    block (an unbatched (C, H, W) gives (C * kh * kw, L))."""
    x, unbatched = _batched("unfold", input, 2)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    specs, k, windows, padded = _fold_specs("unfold", spatial, kernel_size, dilation, padding, stride)
    index = _window_index(n * c, spatial, specs, "zero")
    return _unbatch(_gather(_flat_input(x, padded), index, (n, c * k, windows)), unbatched, "unfold")


def fold(
    input: Tensor,
    output_size: Size,
    kernel_size: Size,
    dilation: Size = 1,
    padding: Size = 0,
    stride: Size = 1,
) -> Tensor:
    """PyTorch's ``F.fold`` (col2im), the adjoint of :func:`unfold`: (N, C * kh * kw, L) -> (N, C, *output_size),
    overlapping blocks summed."""
    if not isinstance(input, Tensor) or input.ndim not in (2, 3):
        raise ValueError(
            f"fold: expected a 2-D (unbatched) or 3-D (batched) input, got "
            f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}"
        )
    unbatched = input.ndim == 2
    x = ops.reshape(input, (1, *input.shape)) if unbatched else input
    size = _ints("fold", "output_size", output_size, 2, least=1)
    specs, k, windows, _ = _fold_specs("fold", size, kernel_size, dilation, padding, stride)
    n, ck, blocks = x.shape
    if ck % k or blocks != windows:
        raise ValueError(
            f"fold: input of shape {tuple(input.shape)} must be (N, C * {k}, {windows}) for "
            f"output_size {size} and these kernel_size, dilation, padding and stride"
        )
    c = ck // k
    planes = n * c * math.prod(size)
    index = _window_index(n * c, size, specs, "zero")
    y = ops.scatter_add(ops.reshape(x, (-1,)), index.reshape(-1), (planes + 1,), False)
    return _unbatch(ops.reshape(ops.getitem(y, slice(0, planes)), (n, c, *size)), unbatched, "fold")


# ---- pooling --------------------------------------------------------------------------------------------


def _pool_specs(op: str, d: int, spatial, kernel_size, stride, padding, dilation, ceil_mode) -> tuple:
    """Each axis's ("slide", ...) spec with PyTorch's output size: floor (or ceil) of the windows that
    fit the padded input; with ``ceil_mode`` the last window must start inside the input or the left padding."""
    kernel = _ints(op, "kernel_size", kernel_size, d, least=1)
    no_stride = stride is None or (isinstance(stride, (tuple, list)) and not stride)
    stride = kernel if no_stride else _ints(op, "stride", stride, d, least=1)
    pad = _ints(op, "padding", padding, d)
    dilation = _ints(op, "dilation", dilation, d, least=1)
    if any(2 * p > k for p, k in zip(pad, kernel)):
        raise ValueError(f"{op}: padding {pad} must be at most half of kernel_size {kernel}")
    out = []
    for s, k, st, p, dl in zip(spatial, kernel, stride, pad, dilation):
        o = (s + 2 * p - dl * (k - 1) - 1 + (st - 1 if ceil_mode else 0)) // st + 1
        if ceil_mode and (o - 1) * st >= s + p:
            o -= 1
        out.append(o)
    if any(o < 1 for o in out):
        raise ValueError(
            f"{op}: input of spatial size {tuple(spatial)} is too small for kernel_size {kernel} "
            f"(dilation {dilation}, padding {pad}): output size {tuple(out)}"
        )
    return tuple(("slide", k, st, p, dl, o) for k, st, p, dl, o in zip(kernel, stride, pad, dilation, out))


def _max_over_windows(op: str, d: int, input: Tensor, specs_of, return_indices: bool):
    """The largest element of each window, picked by index: the first maximum, or the last NaN
    (PyTorch's ``val > max || isnan(val)``), so the whole gradient goes where PyTorch sends it."""
    x, unbatched = _batched(op, input, d)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    if 0 in spatial:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has an empty spatial axis")
    specs = specs_of(spatial)
    for axis, (spec, size) in enumerate(zip(specs, spatial)):
        pos = _axis_positions(spec, size)
        empty = ~((pos >= 0) & (pos < size)).any(1)
        if empty.any():  # PyTorch gives -inf there, and an index outside the input
            raise ValueError(
                f"{op}: window {int(empty.argmax())} of spatial axis {axis} (size {size}) holds only padding, "
                f"no element of the input of shape {tuple(input.shape)}: {spec[1:-1]} are (kernel_size, stride, "
                "padding, dilation)"
            )
    index = _pool_index(n * c, spatial, specs)  # (K, N*C*L) flat positions: no padding ever wins
    k, rows = index.shape
    out = tuple(s[-1] for s in specs)
    flat = ops.reshape(x, (-1,))
    values = ops.reshape(ops.getitem(flat.detach(), index.reshape(-1)), (k, rows))  # for choosing only
    # each window's choice, with integer ops that tl.compile replays (products and reductions over the
    # first axis: contiguous, fast): a score per element, largest at the window's last NaN if it holds
    # one, else at its first maximum; a maximum at slot j scores k - j (1..k), a NaN k + 1 + j (k+1..2k)
    slot = np.arange(k, dtype=np.int16 if k < 2**14 else np.intp).reshape(k, 1)  # small ints: less to move
    top = ops.max(values, 0)  # NaN where the window holds one: then no element equals it
    best = ops.max((values == top) * (k - slot) + values.isnan() * (k + 1 + slot), 0)
    choice = ops.astype(ops.where(best > k, best - (k + 1), k - best), np.intp)
    pick = ops.getitem(Tensor(index.reshape(-1)), choice * rows + np.arange(rows))  # flat input positions
    y = ops.reshape(ops.getitem(flat, pick), (n, c, *out))
    y = _unbatch(y, unbatched, op)
    if not return_indices:
        return y
    plane = math.prod(spatial)
    indices = _unbatch(ops.reshape(pick % plane, (n, c, *out)), unbatched)  # within each (H, W) plane, as PyTorch
    return y, indices


def _max_pool(op: str, d: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    def specs_of(spatial):
        return _pool_specs(op, d, spatial, kernel_size, stride, padding, dilation, ceil_mode)

    return _max_over_windows(op, d, input, specs_of, return_indices)


def max_pool1d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool1d``: the maximum of each window of (N, C, L) or (C, L); ``stride``
    defaults to ``kernel_size``; ``return_indices`` also gives each maximum's position in L."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool2d`` over (N, C, H, W) or (C, H, W): padding is never the maximum, a tie's
    gradient goes to its first element (row by row); indices are positions h * W + w."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    dilation: Size = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """PyTorch's ``F.max_pool3d`` over (N, C, D, H, W) or (C, D, H, W)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def _avg_pool(
    op: str,
    d: int,
    input: Tensor,
    kernel_size,
    stride,
    padding,
    ceil_mode,
    count_include_pad,
    divisor_override,
) -> Tensor:
    x, unbatched = _batched(op, input, d)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    specs = _pool_specs(op, d, spatial, kernel_size, stride, padding, 1, ceil_mode)
    kernel = tuple(spec[1] for spec in specs)
    if d == 3 and any(size < k for size, k in zip(spatial, kernel)):  # PyTorch's 3-D check ignores the padding
        raise ValueError(f"{op}: input of spatial size {spatial} is smaller than kernel_size {kernel}")
    if divisor_override is not None:
        divisor_override = check_int(op, "divisor_override", divisor_override, least=None)
        if divisor_override == 0:
            raise ValueError(f"{op}: divisor_override must not be zero")
    index = _window_index(n * c, spatial, specs, "zero")
    windows = _gather(_flat_input(x, True), index, index.shape)
    # PyTorch's divisor: the window clipped to the padded input (with the padding) or to the input (without)
    per_axis = []
    for (_, k, st, p, _, o), s in zip(specs, spatial):
        start = np.arange(o) * st - p
        end = np.minimum(start + k, s + p)
        per_axis.append(end - start if count_include_pad else np.minimum(end, s) - np.maximum(start, 0))
    divisor = functools.reduce(np.multiply.outer, per_axis).reshape(-1)
    if divisor_override is not None:
        divisor = np.full_like(divisor, divisor_override)
    y = ops.sum(windows, 1) / divisor.astype(x.dtype)
    return _unbatch(ops.reshape(y, (n, c, *(s[-1] for s in specs))), unbatched, op)


def avg_pool1d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """PyTorch's ``F.avg_pool1d``: the mean of each window of (N, C, L) or (C, L), the zero padding
    counted unless ``count_include_pad=False``."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """PyTorch's ``F.avg_pool2d``: each window's sum over its size (clipped to the padded input in
    ceil mode), over the input's elements alone without ``count_include_pad``, or ``divisor_override``."""
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input: Tensor,
    kernel_size: Size,
    stride: Size | None = None,
    padding: Size = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """PyTorch's ``F.avg_pool3d`` over (N, C, D, H, W) or (C, D, H, W)."""
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def _output_size(op: str, output_size: Any, spatial: tuple[int, ...]) -> tuple[int, ...]:
    """An adaptive pool's output size; None keeps that axis's input size, as PyTorch."""
    d = len(spatial)
    items = list(output_size) if isinstance(output_size, (tuple, list)) else [output_size] * d
    if len(items) != d:
        raise ValueError(f"{op}: output_size must be an int or {d} ints (None keeps an axis), got {output_size!r}")
    return tuple(s if v is None else check_int(op, "output_size", v) for v, s in zip(items, spatial))


def _adaptive_avg_pool(op: str, d: int, input: Tensor, output_size) -> Tensor:
    """Each axis averaged by a matrix of 1 / window size over PyTorch's windows (start floor(i L / n),
    end ceil((i + 1) L / n)): one matmul per axis."""
    x, unbatched = _batched(op, input, d)
    spatial = tuple(x.shape[2:])
    out = _output_size(op, output_size, spatial)
    if 0 in spatial:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has an empty spatial axis")
    y = x
    for a, (s, o) in enumerate(zip(spatial, out)):
        pos = _axis_positions(("adaptive", o), s)  # (o, width), short windows repeat their last element
        start, end = pos[:, 0], pos[:, -1] + 1
        mean = np.zeros((o, s), dtype=x.dtype)
        for i in range(o):
            mean[i, start[i] : end[i]] = 1.0 / (end[i] - start[i])
        if a == d - 1:  # the last axis: y @ mean.T; the one before: mean @ y; others moved there and back
            y = ops.matmul(y, mean.T)
        elif a == d - 2:
            y = ops.matmul(mean, y)
        else:
            y = ops.swapaxes(ops.matmul(mean, ops.swapaxes(y, 2 + a, -2)), 2 + a, -2)
    return _unbatch(y, unbatched, op)


def adaptive_avg_pool1d(input: Tensor, output_size: Size) -> Tensor:
    """PyTorch's ``F.adaptive_avg_pool1d``: ``output_size`` means of (N, C, L), over windows that cover L."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Size) -> Tensor:
    """PyTorch's ``F.adaptive_avg_pool2d``: (N, C, H, W) -> (N, C, *output_size); None keeps an axis."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Size) -> Tensor:
    """PyTorch's ``F.adaptive_avg_pool3d``: (N, C, D, H, W) -> (N, C, *output_size)."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def _adaptive_max_pool(op: str, d: int, input: Tensor, output_size, return_indices: bool):
    def specs_of(spatial):
        return tuple(("adaptive", o) for o in _output_size(op, output_size, spatial))

    return _max_over_windows(op, d, input, specs_of, return_indices)


def adaptive_max_pool1d(input: Tensor, output_size: Size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool1d``: the maximum over each of ``output_size`` windows covering L."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool2d``: (N, C, H, W) -> (N, C, *output_size), the first maximum's gradient."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: Size, return_indices: bool = False):
    """PyTorch's ``F.adaptive_max_pool3d``: (N, C, D, H, W) -> (N, C, *output_size)."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


# ---- resampling -----------------------------------------------------------------------------------------


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """PyTorch's ``F.pixel_shuffle``: (*, C * r * r, H, W) -> (*, C, H * r, W * r), a reshape and a transpose."""
    r = check_int("pixel_shuffle", "upscale_factor", upscale_factor, least=1)
    if input.ndim < 3 or input.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: input of shape {tuple(input.shape)} needs at least 3 axes and "
            f"channels divisible by upscale_factor**2 = {r * r}"
        )
    *lead, c, h, w = input.shape
    y = ops.reshape(input, (*lead, c // (r * r), r, r, h, w))
    b = len(lead)
    y = ops.transpose(y, (*range(b), b, b + 3, b + 1, b + 4, b + 2))
    return ops.reshape(y, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """PyTorch's ``F.pixel_unshuffle``, the inverse of :func:`pixel_shuffle`: (*, C, H * r, W * r) ->
    (*, C * r * r, H, W)."""
    r = check_int("pixel_unshuffle", "downscale_factor", downscale_factor, least=1)
    if input.ndim < 3 or input.shape[-2] % r or input.shape[-1] % r:
        raise ValueError(
            f"pixel_unshuffle: input of shape {tuple(input.shape)} needs at least 3 axes and "
            f"height and width divisible by downscale_factor={r}"
        )
    *lead, c, h, w = input.shape
    y = ops.reshape(input, (*lead, c, h // r, r, w // r, r))
    b = len(lead)
    y = ops.transpose(y, (*range(b), b, b + 2, b + 4, b + 1, b + 3))
    return ops.reshape(y, (*lead, c * r * r, h // r, w // r))


_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3}
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "trilinear", "area")


def _source_index(mode: str, size: int, out: int, scale: float | None, align_corners: bool, dtype: np.dtype):
    """PyTorch's source position of each output position along one axis (UpSample.h and its CPU
    kernels): "nearest" computes in float32, "nearest-exact" in the input's dtype, as PyTorch's kernels
    do; the linear modes return (i0, i1, weight of i1)."""
    dst = np.arange(out)
    if mode in ("nearest", "nearest-exact"):
        kind = np.dtype(np.float32) if mode == "nearest" else np.dtype(dtype)
        ratio = kind.type(1.0 / scale) if scale else kind.type(size) / kind.type(out)
        shift = kind.type(0.5 if mode == "nearest-exact" else 0.0)
        return np.minimum(np.floor((dst.astype(kind) + shift) * ratio).astype(np.intp), size - 1)
    if align_corners:
        ratio = (size - 1) / (out - 1) if out > 1 else 0.0
        src = ratio * dst
    else:
        ratio = 1.0 / scale if scale else size / out
        src = np.maximum(ratio * (dst + 0.5) - 0.5, 0.0)
    i0 = src.astype(np.intp)
    i1 = i0 + (i0 < size - 1)
    return i0, i1, src - i0


def interpolate(
    input: Tensor,
    size: Size | None = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """PyTorch's ``F.interpolate`` for modes "nearest", "nearest-exact", "linear" (3-D input), "bilinear"
    (4-D), "trilinear" (5-D) and "area" (adaptive average pooling): ``size`` or ``scale_factor``, and
    ``align_corners`` for the linear modes. Each axis is a gather (nearest) or two gathers weighted and
    summed (linear), so gradients of every order follow."""
    op = "interpolate"
    if not isinstance(input, Tensor) or input.ndim not in (3, 4, 5):
        raise ValueError(
            f"{op}: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got "
            f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}"
        )
    if mode not in _MODES:
        raise ValueError(f"{op}: mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    if antialias:
        raise ValueError(f"{op}: antialias=True is not supported")
    d = input.ndim - 2
    if mode in _LINEAR and _LINEAR[mode] != d:
        raise ValueError(f"{op}: mode {mode!r} needs a {_LINEAR[mode] + 2}-D input, got shape {tuple(input.shape)}")
    if align_corners is not None and mode not in _LINEAR:
        raise ValueError(f"{op}: align_corners can only be set with the linear modes, not {mode!r}")
    spatial = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor")
    scales: tuple[float | None, ...] = (None,) * d
    if size is not None:
        out = _ints(op, "size", size, d, least=1)
    else:
        factors = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * d
        if len(factors) != d or any(not f > 0 for f in factors):
            raise ValueError(f"{op}: scale_factor must be a positive number or {d} of them, got {scale_factor!r}")
        out = tuple(math.floor(s * float(f)) for s, f in zip(spatial, factors))
        if any(o < 1 for o in out) and mode != "area":  # (area is adaptive pooling, which may give nothing)
            raise ValueError(f"{op}: scale_factor {scale_factor!r} gives an empty output {out} for {spatial}")
        scales = (None,) * d if recompute_scale_factor else tuple(float(f) for f in factors)
    if mode == "area":
        return _adaptive_avg_pool(op, d, input, out)
    y = input
    for a, (s, o, scale) in enumerate(zip(spatial, out, scales)):
        lead = (slice(None),) * (2 + a)
        if mode in _LINEAR:
            if o == s:  # PyTorch copies an axis whose size does not change, whatever the scale
                continue
            i0, i1, right = _source_index(mode, s, o, scale, bool(align_corners), input.dtype)
            right = right.reshape((o,) + (1,) * (d - 1 - a)).astype(input.dtype)
            y = ops.getitem(y, lead + (i0,)) * (1.0 - right) + ops.getitem(y, lead + (i1,)) * right
        else:
            y = ops.getitem(y, lead + (_source_index(mode, s, o, scale, False, input.dtype),))
    return (input.clone() if y is input else y).named(op)  # a new tensor, as PyTorch's, even when nothing moved


def upsample(
    input: Tensor,
    size: Size | None = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """PyTorch's deprecated ``F.upsample``: :func:`interpolate`."""
    return interpolate(input, size, scale_factor, mode, align_corners)
