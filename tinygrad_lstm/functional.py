"""Composites built only from primitives: the numerically stable softmax family, losses, and the
ops students reach for (prod, flip, pad, gather, activations).

Each subtracts the (detached) maximum before ``exp``; the gradient does not depend on that shift,
so treating it as a constant is exact, and inputs of +-1e4 stay finite.
"""

from __future__ import annotations

import math

import numpy as np

from . import ops, random
from .ops import _data
from .tape import CompileError, state
from .tensor import Tensor


def _stable_shift(x: Tensor, axis, op: str) -> np.ndarray:
    """The max along ``axis`` (kept dims) as a constant; 0 where a row has no finite max."""
    ops.reduced_axes(op, axis, x.ndim)
    m = x.data.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)


def logsumexp(x: Tensor, axis=-1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x), axis)) without overflow.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> round(float(tl.Tensor(np.array([1e4, 1e4])).logsumexp()), 6)  # 1e4 + log 2
    10000.693147
    """
    m = _stable_shift(x, axis, "logsumexp")
    out = ops.log(ops.sum(ops.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else ops.squeeze(out, axis)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    ops.reduced_axes("log_softmax", axis, x.ndim)
    return x - logsumexp(x, axis=axis, keepdims=True)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    e = ops.exp(x - _stable_shift(x, axis, "softmax"))
    return e / ops.sum(e, axis=axis, keepdims=True)


# ---- dropout and losses (PyTorch's semantics; ``tl.nn.functional`` exports them) ---------------------


def var(x: Tensor, axis=None, keepdims: bool = False, correction: int = 1) -> Tensor:
    """Variance over ``axis``: the squared distance from the mean, summed, over n - ``correction``."""
    axes = ops.reduced_axes("var", axis, x.ndim)
    n = int(np.prod([x.shape[a] for a in axes]))
    centred = x - x.mean(axis, keepdims=True)
    total = (centred * centred).sum(axis, keepdims=keepdims)
    return total * (1.0 / (n - correction)) if n > correction else total * np.nan


def vector_norm(x: Tensor, p: float = 2, axis=None, keepdims: bool = False) -> Tensor:
    """The ``p``-norm over ``axis`` (all elements by default). At a zero vector the gradient is 0,
    PyTorch's choice of subgradient, not the NaN that sqrt'(0) * 0 would give."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    if p == np.inf:
        return ops.abs(x).max(axis, keepdims)
    if p == 1:
        return ops.abs(x).sum(axis, keepdims)
    powered = (x * x).sum(axis, keepdims) if p == 2 else (ops.abs(x) ** p).sum(axis, keepdims)
    positive = powered.data > 0
    safe = ops.where(positive, powered, 1.0)  # the root is taken only where it has a gradient
    return ops.where(positive, safe ** (1.0 / p) if p != 2 else ops.sqrt(safe), 0.0)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero elements with probability ``p`` and scale the rest by 1/(1-p); identity when not training."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if state.compiling:
        raise CompileError("compile: dropout draws a new mask every step; a replay would repeat the first one")
    if p == 1.0:
        return x * 0.0
    keep = (rng or random.generator()).random(x.shape) >= p
    return x * (keep.astype(x.dtype) * (1.0 / (1.0 - p)))


def _reduce(losses: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _weighted_mean(total: Tensor, weight_sum) -> Tensor:
    """``total / weight_sum``; when every target is ignored (weight_sum is 0) the loss is NaN, as in
    PyTorch, but its gradient is zero: a batch of padding cannot poison the parameters."""
    if weight_sum == 0:
        return total * 0.0 + np.nan
    return total / weight_sum


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N*d1*..., C); (C,) -> (1, C); (N, C) unchanged."""
    if x.ndim == 1:
        return ops.reshape(x, (1, x.shape[0]))
    if x.ndim == 2:
        return x
    axes = (0, *range(2, x.ndim), 1)
    moved = ops.transpose(x, axes)
    return ops.reshape(moved, (-1, x.shape[1]))


def nll_loss(log_probs: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer ``target`` classes; ``log_probs`` has classes on axis 1."""
    t = np.asarray(_data(target))
    if t.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {t.dtype}")
    expected = log_probs.shape[:1] + log_probs.shape[2:] if log_probs.ndim >= 2 else ()
    if t.shape != expected:
        raise ValueError(f"nll_loss: target shape {t.shape} does not match input shape {log_probs.shape}")
    flat = _classes_last(log_probs)
    n_classes = flat.shape[1]
    t = t.reshape(-1)
    valid = t != ignore_index
    if np.any((t[valid] < 0) | (t[valid] >= n_classes)):
        raise IndexError(f"nll_loss: target values must lie in [0, {n_classes}) or equal ignore_index")
    safe = np.where(valid, t, 0)
    w = valid.astype(log_probs.dtype)
    if weight is not None:
        w = w * np.asarray(_data(weight), dtype=log_probs.dtype)[safe]
    losses = -ops.getitem(flat, (np.arange(len(t)), safe)) * w
    if reduction == "mean":
        return _weighted_mean(losses.sum(), w.sum())
    if reduction == "none":
        return ops.reshape(losses, expected)
    return _reduce(losses, reduction, "nll_loss")


def cross_entropy(
    logits: Tensor,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy over classes on axis 1 (axis 0 for a single sample). ``target`` holds
    integer classes, or class probabilities of the logits' shape (floats; a Tensor gets a gradient).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> logits = tl.Tensor(np.zeros((2, 4)), requires_grad=True)
    >>> round(float(tl.nn.functional.cross_entropy(logits, np.array([1, 3]))), 6)  # log 4
    1.386294
    >>> round(float(tl.nn.functional.cross_entropy(logits, np.full((2, 4), 0.25))), 6)
    1.386294
    """
    class_axis = 0 if logits.ndim == 1 else 1
    log_probs = log_softmax(logits, axis=class_axis)
    if np.asarray(_data(target)).dtype.kind == "f":
        return _cross_entropy_with_probabilities(log_probs, target, weight, reduction, label_smoothing, class_axis)
    loss = nll_loss(log_probs, target, weight, ignore_index, reduction)
    if not label_smoothing:
        return loss
    # PyTorch's smoothing: mix in the mean over classes of -log p (weighted by class weight)
    flat = _classes_last(log_probs)
    t = np.asarray(_data(target)).reshape(-1)
    valid = (t != ignore_index).astype(logits.dtype)
    w = np.ones(flat.shape[1], logits.dtype) if weight is None else np.asarray(_data(weight), logits.dtype)
    smooth = -(flat * w).sum(axis=1) * valid * (1.0 / flat.shape[1])
    if reduction == "mean":
        denom = (valid * w[np.where(valid > 0, t, 0)]).sum()
        smooth = _weighted_mean(smooth.sum(), denom)
    elif reduction == "none":
        smooth = ops.reshape(smooth, loss.shape)
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return loss * (1.0 - label_smoothing) + smooth * label_smoothing


def _cross_entropy_with_probabilities(log_probs, target, weight, reduction, label_smoothing, class_axis) -> Tensor:
    """PyTorch's soft-label form: -sum over classes of weight_c * target_c * log p_c for each sample;
    smoothing mixes the target with the uniform distribution; the mean is over samples."""
    if np.shape(_data(target)) != log_probs.shape:
        raise ValueError(
            f"cross_entropy: probability target shape {np.shape(_data(target))} differs from input shape "
            f"{log_probs.shape}"
        )
    n_classes = log_probs.shape[class_axis]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = log_probs * target
    if weight is not None:
        w = np.asarray(_data(weight), dtype=log_probs.dtype)
        terms = terms * w.reshape((n_classes,) + (1,) * (log_probs.ndim - class_axis - 1))
    return _reduce(-terms.sum(axis=class_axis), reduction, "cross_entropy")


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002 - PyTorch's name
    """Mean squared error; ``input`` and ``target`` must have the same shape."""
    if np.shape(_data(target)) != input.shape:
        raise ValueError(f"mse_loss: input shape {input.shape} and target shape {np.shape(_data(target))} differ")
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def binary_cross_entropy_with_logits(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    reduction: str = "mean",
    pos_weight=None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression (no log of 0, no overflow)."""
    if np.shape(_data(target)) != input.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: input shape {input.shape} and target shape "
            f"{np.shape(_data(target))} differ"
        )
    # softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log(1 + exp(-|x|)); maximum shares ties, so
    # the gradient at x = 0 is the exact -1/2
    softplus_neg = ops.maximum(-input, 0.0) + ops.log(ops.exp(-ops.abs(input)) + 1.0)
    if pos_weight is None:
        losses = (1.0 - target) * input + softplus_neg
    else:
        losses = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction, "binary_cross_entropy_with_logits")


# ---- composites students reach for: each built from primitives, so its gradient (and the gradient
# of its gradient) comes from theirs -----------------------------------------------------------------


def prod(x: Tensor, axis: int | None = None, keepdims: bool = False) -> Tensor:
    """Product over ``axis`` (all elements by default), as a chain of products: exact gradients
    with zeros in the input, where dividing the product by x would give 0/0."""
    if axis is None:
        x, axis = ops.reshape(x, (-1,)), 0
    axis = ops._axis("prod", axis, x.ndim)
    lead = (slice(None),) * axis
    if x.shape[axis] == 0:
        out = ops.sum(x, axis, keepdims) * 0.0 + 1.0  # the empty product, still on the graph
        return out
    out = ops.getitem(x, lead + (0,))
    for k in range(1, x.shape[axis]):
        out = out * ops.getitem(x, lead + (k,))
    return ops.expand_dims(out, axis) if keepdims else out


def flip(x: Tensor, dims) -> Tensor:
    """Reverse the order along each axis in ``dims``."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = {ops._axis("flip", d, x.ndim) for d in dims}
    return ops.getitem(x, tuple(slice(None, None, -1) if a in axes else slice(None) for a in range(x.ndim)))


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero above the ``diagonal``-th diagonal of the last two axes (a causal mask keeps the past)."""
    if x.ndim < 2:
        raise ValueError(f"tril: needs at least 2 axes, got shape {x.shape}")
    return ops.where(np.tri(*x.shape[-2:], k=diagonal, dtype=bool), x, 0.0)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """Zero below the ``diagonal``-th diagonal of the last two axes."""
    if x.ndim < 2:
        raise ValueError(f"triu: needs at least 2 axes, got shape {x.shape}")
    return ops.where(~np.tri(*x.shape[-2:], k=diagonal - 1, dtype=bool), x, 0.0)


def gather(x: Tensor, dim: int, index) -> Tensor:
    """PyTorch's ``gather``: ``out[i][j] = x[index[i][j]][j]`` for dim 0 (and so on), ``index`` of the
    output's shape; NumPy calls it ``take_along_axis``."""
    index = np.asarray(ops._data(index))
    dim = ops._axis("gather", dim, x.ndim)
    if index.ndim != x.ndim or index.dtype.kind not in "iu":
        raise ValueError(f"gather: index must be integers with {x.ndim} axes like the input, got {index.dtype} "
                         f"of shape {index.shape}")  # fmt: skip
    if any(index.shape[a] > x.shape[a] for a in range(x.ndim) if a != dim):
        raise ValueError(f"gather: index shape {index.shape} is larger than input shape {x.shape} off axis {dim}")
    if index.size and (index.min() < -x.shape[dim] or index.max() >= x.shape[dim]):
        raise IndexError(f"gather: index values must lie in [0, {x.shape[dim]}) along axis {dim}")
    grid = np.indices(index.shape, sparse=True)
    return ops.getitem(x, tuple(index if a == dim else grid[a] for a in range(x.ndim)))


def pad(x: Tensor, pad: tuple[int, ...], value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad`` (constant mode): ``pad`` = (left, right) for the last axis, then (left,
    right) for the one before, ...; the gradient is the middle slice of the padded gradient."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim or any(int(n) != n or n < 0 for n in pad):
        raise ValueError(f"pad: {pad} must be non-negative (left, right) pairs for at most {x.ndim} axes")
    for k in range(len(pad) // 2):
        axis, before, after = x.ndim - 1 - k, int(pad[2 * k]), int(pad[2 * k + 1])
        pieces = []
        for n in (before, after):
            shape = x.shape[:axis] + (n,) + x.shape[axis + 1 :]
            pieces.append(Tensor(np.full(shape, value, dtype=x.dtype)) if n else None)
        x = ops.cat([p for p in (pieces[0], x, pieces[1]) if p is not None], axis=axis)
    return x


def square(x: Tensor) -> Tensor:
    return x * x


def rsqrt(x: Tensor) -> Tensor:
    """1 / sqrt(x)."""
    return x**-0.5


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1; its gradient is 0 everywhere (as PyTorch's), not missing."""
    return ops.where(np.zeros(x.shape, bool), x, np.sign(x.data))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    scaled = x * beta
    linear = scaled.data > threshold
    smooth = ops.log1p(ops.exp(ops.where(linear, 0.0, scaled))) * (1.0 / beta)  # no overflow where unused
    return ops.where(linear, x, smooth)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise."""
    negative = ops.expm1(ops.minimum(x, 0.0)) * alpha  # min keeps exp finite where this branch is unused
    return ops.where(x.data > 0, x, negative)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return ops.where(x.data > 0, x, x * negative_slope)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond the ends."""
    inside = (x.data > min_val) & (x.data < max_val)
    return ops.where(inside, x, np.clip(x.data, min_val, max_val))


def silu(x: Tensor) -> Tensor:
    """x sigmoid(x) (also called swish)."""
    return x * ops.sigmoid(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) with Phi the normal CDF (``approximate="tanh"``: the tanh formula), as PyTorch's."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * 0.5 * (ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0)
