"""``tl.nn.functional``: PyTorch's functional names: dropout, the losses and the activations, built
from the engine's primitives and composites (``ops.py``), with PyTorch's semantics."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import ops, random
from ..checks import check_probability, plain_array
from ..ops import _data
from ..tape import CompileError, state
from ..tensor import Tensor

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

__all__ = [
    "binary_cross_entropy_with_logits",
    "elu",
    "gelu",
    "hardtanh",
    "leaky_relu",
    "pad",
    "silu",
    "softplus",
    "cross_entropy",
    "dropout",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "softmax",
    "sigmoid",
    "tanh",
    "relu",
]


def softmax(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """``F.softmax``: exp(x) / sum(exp(x)) along ``dim``, without overflow (``tl.softmax``)."""
    return ops.softmax(input, dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """``F.log_softmax``: log(softmax(x)) along ``dim``, as x - logsumexp(x) (``tl.log_softmax``)."""
    return ops.log_softmax(input, dim)


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``F.sigmoid``: 1 / (1 + e**-x), elementwise (``x.sigmoid()``)."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    """``F.tanh``: the hyperbolic tangent, elementwise (``x.tanh()``)."""
    return input.tanh()


def relu(input: Tensor) -> Tensor:  # noqa: A002
    """``F.relu``: max(x, 0), elementwise (``x.relu()``)."""
    return input.relu()


# ---- dropout and the losses ----------------------------------------------------------------------


def dropout(x: Tensor, p: float = 0.5, training: bool = True, rng: np.random.Generator | None = None) -> Tensor:
    """Zero elements with probability ``p`` and scale the rest by 1/(1-p); identity when not training."""
    p = check_probability("dropout", "p", p)
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


def _weighted_mean(losses: Tensor, weight_sum, counted: np.ndarray) -> Tensor:
    """``losses.sum() / weight_sum``. When ``weight_sum`` is 0 the loss is NaN, as in PyTorch, and so
    is the gradient of each target that counts (0 / 0, a class weight of 0), while ignored targets get
    0: a batch of padding alone cannot poison the parameters. PyTorch's numbers, both."""
    if weight_sum == 0:
        return (losses * np.where(counted, np.nan, 0.0).astype(losses.dtype)).sum() + np.nan
    return losses.sum() / weight_sum


def _classes_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N*d1*..., C); (C,) -> (1, C); (N, C) unchanged."""
    if x.ndim == 1:
        return ops.reshape(x, (1, x.shape[0]))
    if x.ndim == 2:
        return x
    axes = (0, *range(2, x.ndim), 1)
    moved = ops.transpose(x, axes)
    return ops.reshape(moved, (-1, x.shape[1]))


def _class_weight(weight, n_classes: int, dtype, op: str) -> np.ndarray | None:
    """``weight`` as a (C,) array, or a ValueError naming its shape (PyTorch refuses any other length)."""
    if weight is None:
        return None
    w = plain_array(_data(weight), f"{op}: weight")
    if w.shape != (n_classes,) or w.dtype.kind not in "biuf":
        raise ValueError(
            f"{op}: weight must hold one number per class, shape ({n_classes},); got {w.dtype} of shape {w.shape}"
        )
    return w.astype(dtype)


def _class_targets(log_probs: Tensor, target, ignore_index: int, op: str) -> np.ndarray:
    """Integer targets, flat, each in [0, C) or equal to ``ignore_index``; errors name the first bad one."""
    t = plain_array(_data(target), f"{op}: target")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    expected = log_probs.shape[:1] + log_probs.shape[2:] if log_probs.ndim >= 2 else ()
    if t.shape != expected:
        raise ValueError(f"{op}: target shape {t.shape} does not match input shape {log_probs.shape}")
    n_classes = log_probs.shape[1 if log_probs.ndim >= 2 else 0]
    t = t.reshape(-1)
    bad = (t != ignore_index) & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(
            f"{op}: target {t[bad][0]} is out of bounds for {n_classes} classes (targets must lie in "
            f"[0, {n_classes}) or equal ignore_index={ignore_index})"
        )
    return t


def _check_label_smoothing(label_smoothing: float, op: str) -> float:
    """PyTorch's rule: above 1 is an error; 0, negative or NaN mean no smoothing (its result, not an error)."""
    if not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"{op}: label_smoothing must be a number in [0, 1], got {label_smoothing!r}")
    if label_smoothing > 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    return float(label_smoothing) if label_smoothing > 0.0 else 0.0


def nll_loss(log_probs: Tensor, target, weight=None, ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of integer ``target`` classes; ``log_probs`` has classes on axis 1."""
    return _nll_loss(log_probs, target, weight, ignore_index, reduction, "nll_loss")


def _nll_loss(log_probs: Tensor, target, weight, ignore_index: int, reduction: str, op: str) -> Tensor:
    t = _class_targets(log_probs, target, ignore_index, op)
    flat = _classes_last(log_probs)
    w_class = _class_weight(weight, flat.shape[1], log_probs.dtype, op)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w = valid.astype(log_probs.dtype)
    if w_class is not None:
        w = w * w_class[safe]
    losses = -ops.getitem(flat, (np.arange(len(t)), safe)) * w
    if reduction == "mean":
        return _weighted_mean(losses, w.sum(), valid)
    if reduction == "none":
        return ops.reshape(losses, log_probs.shape[:1] + log_probs.shape[2:] if log_probs.ndim >= 2 else ())
    return _reduce(losses, reduction, op)


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
    # every argument is checked before anything is computed (or recorded on a tape)
    label_smoothing = _check_label_smoothing(label_smoothing, "cross_entropy")
    class_axis = 0 if logits.ndim == 1 else 1
    n_classes = logits.shape[class_axis]
    w = _class_weight(weight, n_classes, logits.dtype, "cross_entropy")
    if plain_array(_data(target), "cross_entropy: target").dtype.kind == "f":
        if ignore_index >= 0:  # PyTorch: no class can be ignored in a probability target
            raise ValueError(
                f"cross_entropy: ignore_index={ignore_index} is not supported for probability (floating point) targets"
            )
        if np.shape(_data(target)) != logits.shape:
            raise ValueError(
                f"cross_entropy: probability target shape {np.shape(_data(target))} differs from input shape "
                f"{logits.shape}"
            )
        log_probs = ops.log_softmax(logits, axis=class_axis)
        return _cross_entropy_with_probabilities(log_probs, target, w, reduction, label_smoothing, class_axis)
    t = _class_targets(logits, target, ignore_index, "cross_entropy")
    log_probs = ops.log_softmax(logits, axis=class_axis)
    loss = _nll_loss(log_probs, target, w, ignore_index, reduction, "cross_entropy")
    if not label_smoothing:
        return loss
    # PyTorch's smoothing: mix in the mean over classes of -log p (weighted by class weight)
    flat = _classes_last(log_probs)
    valid = (t != ignore_index).astype(logits.dtype)
    w = np.ones(n_classes, logits.dtype) if w is None else w
    smooth = -(flat * w).sum(axis=1) * valid * (1.0 / n_classes)
    if reduction == "mean":
        denom = (valid * w[np.where(valid > 0, t, 0)]).sum()
        smooth = _weighted_mean(smooth, denom, valid > 0)
    elif reduction == "none":
        smooth = ops.reshape(smooth, loss.shape)
    else:
        smooth = _reduce(smooth, reduction, "cross_entropy")
    return loss * (1.0 - label_smoothing) + smooth * label_smoothing


def _cross_entropy_with_probabilities(log_probs, target, w, reduction, label_smoothing, class_axis) -> Tensor:
    """PyTorch's soft-label form: -sum over classes of weight_c * target_c * log p_c for each sample;
    smoothing mixes the target with the uniform distribution; the mean is over samples."""
    n_classes = log_probs.shape[class_axis]
    if label_smoothing:
        target = target * (1.0 - label_smoothing) + label_smoothing / n_classes
    terms = log_probs * target
    if w is not None:
        terms = terms * w.reshape((n_classes,) + (1,) * (log_probs.ndim - class_axis - 1))
    return _reduce(-terms.sum(axis=class_axis), reduction, "cross_entropy")


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:  # noqa: A002 - PyTorch's name
    """Mean squared error. A ``target`` of another shape is broadcast with a warning, as PyTorch does (it
    is rarely meant: a (B,) target against a (B, 1) output gives a (B, B) difference)."""
    shape = np.shape(_data(target))
    if shape != input.shape:
        try:
            both = np.broadcast_shapes(shape, input.shape)
        except ValueError:
            raise ValueError(f"mse_loss: input shape {input.shape} and target shape {shape} do not broadcast") from None
        warnings.warn(
            f"mse_loss: target shape {shape} differs from input shape {input.shape}; both are broadcast to {both}, "
            "as in PyTorch, which is likely not what you meant",
            UserWarning,
            stacklevel=2,
        )
    diff = input - target
    return _reduce(diff * diff, reduction, "mse_loss")


def _softplus_of_negative(x: Tensor) -> Tensor:
    """log(1 + exp(-x)) without overflow and smooth at 0 to every order: log1p(exp(-x)) where x >= 0,
    -x + log1p(exp(x)) where x < 0, each branch fed 0 where the other is used (so exp never
    overflows and the unused branch's gradient is finite). The form max(-x, 0) + log1p(exp(-|x|))
    is right to first order only: |x| has no curvature, so its second derivative at 0 was 0, not 1/4."""
    nonnegative = x >= 0.0  # a comparison op, not NumPy on .data: tl.compile sees it
    right = ops.where(nonnegative, x, 0.0)
    left = ops.where(nonnegative, 0.0, x)
    return ops.where(nonnegative, ops.log1p(ops.exp(-right)), ops.log1p(ops.exp(left)) - left)


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
    for arg, value in (("weight", weight), ("pos_weight", pos_weight)):
        shape = np.shape(_data(value)) if value is not None else ()
        try:
            fits = np.broadcast_shapes(shape, input.shape) == input.shape
        except ValueError:
            fits = False
        if not fits:  # PyTorch refuses it too; NumPy would broadcast the loss to a bigger shape
            raise ValueError(
                f"binary_cross_entropy_with_logits: {arg} of shape {shape} does not broadcast to the input shape "
                f"{input.shape}"
            )
    softplus_neg = _softplus_of_negative(input)
    if pos_weight is None:
        losses = (1.0 - target) * input + softplus_neg
    else:
        losses = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus_neg
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction, "binary_cross_entropy_with_logits")


# ---- padding and activations ------------------------------------------------------------------


def pad(x: Tensor, pad: tuple[int, ...], value: float = 0.0) -> Tensor:
    """PyTorch's ``F.pad`` (constant mode): ``pad`` = (left, right) for the last axis, then (left,
    right) for the one before, ...; a negative amount crops. The gradient is the middle slice of the
    padded gradient."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim or any(int(n) != n for n in pad):
        raise ValueError(f"pad: {pad} must be integer (left, right) pairs for at most {x.ndim} axes")
    for k in range(len(pad) // 2):
        axis, before, after = x.ndim - 1 - k, int(pad[2 * k]), int(pad[2 * k + 1])
        if x.shape[axis] + before + after < 0:
            raise ValueError(f"pad: {pad} crops axis {axis} of shape {x.shape} to a negative size")
        crop = (slice(None),) * axis + (slice(max(-before, 0), x.shape[axis] - max(-after, 0)),)
        x = x[crop] if before < 0 or after < 0 else x
        before, after = max(before, 0), max(after, 0)
        pieces = []
        for n in (before, after):
            shape = x.shape[:axis] + (n,) + x.shape[axis + 1 :]
            pieces.append(Tensor(np.full(shape, value, dtype=x.dtype)) if n else None)
        x = ops.cat([p for p in (pieces[0], x, pieces[1]) if p is not None], axis=axis)
    return x


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    scaled = x * beta
    linear = scaled > threshold  # a comparison op, not NumPy on .data: tl.compile sees it
    smooth = ops.log1p(ops.exp(ops.where(linear, 0.0, scaled))) * (1.0 / beta)  # no overflow where unused
    return ops.where(linear, x, smooth)


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise; one primitive, with PyTorch's slope alpha at 0."""
    return ops.elu(x, alpha)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise (one primitive, so that its gradient depends on
    x as PyTorch's does and can be differentiated again)."""
    return ops.leaky_relu(x, negative_slope)


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond the ends."""
    return ops.hardtanh(x, min_val, max_val)


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
