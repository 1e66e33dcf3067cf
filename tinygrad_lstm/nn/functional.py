"""``tl.nn.functional``: PyTorch's functional names: dropout, the losses and the activations, built
from the engine's primitives and composites (``ops.py``), with PyTorch's semantics; convolution,
pooling and resampling are in ``conv.py``, imported at the end."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from .. import ops, random
from ..checks import check_probability, plain_array
from ..function import Function, FunctionContext
from ..primitives.range_check import CHECK_IN_RANGE
from ..tape import guard, is_grad_enabled
from ..tensor import Tensor
from ..versions import changed_in_place

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cosine_similarity",
    "cosine_embedding_loss",
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "embedding",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "linear",
    "logsigmoid",
    "celu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "mish",
    "relu6",
    "selu",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "normalize",
    "one_hot",
    "smooth_l1_loss",
    "softmin",
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


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """``F.softmax``: exp(x) / sum(exp(x)) along ``dim``, without overflow (``tl.softmax``); ``dtype``
    casts the input first, as PyTorch's. Without ``dim``, PyTorch's old implicit choice, with its
    warning (``_implicit_dim``)."""
    return ops.softmax(_cast(input, dtype), _implicit_dim("softmax", input, dim, _stacklevel))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """``F.log_softmax``: log(softmax(x)) along ``dim``, as x - logsumexp(x) (``tl.log_softmax``)."""
    return ops.log_softmax(_cast(input, dtype), _implicit_dim("log_softmax", input, dim, _stacklevel))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:  # noqa: A002
    """``F.softmin``: softmax(-x) along ``dim``."""
    return ops.softmax(-_cast(input, dtype), _implicit_dim("softmin", input, dim, _stacklevel))


def _implicit_dim(name: str, x: Tensor, dim: int | None, stacklevel: int) -> int:
    """``dim``, or PyTorch's choice when it is left out: axis 0 of a 0-, 1- or 3-D input (one sample,
    or a batch of sequences laid out time first), else axis 1 (the classes of a batch), with PyTorch's
    deprecation warning. The last axis, which the Tensor methods use, would silently differ in 3-D."""
    if dim is not None:
        return dim
    chosen = 0 if np.ndim(x.data) in (0, 1, 3) else 1
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        UserWarning,
        stacklevel=stacklevel,
    )
    return chosen


def _cast(x: Tensor, dtype) -> Tensor:
    return x if dtype is None or np.dtype(dtype) == x.dtype else x.astype(dtype)


def _in_place(x: Tensor, activation, inplace: bool) -> Tensor:
    """``inplace=True``, as PyTorch's: write the result into ``x`` and return ``x``. The activation
    runs on a copy, so what its gradient saved is not the memory overwritten here (the engine would
    otherwise refuse the backward); a leaf that requires grad is refused, as in PyTorch."""
    if not inplace:
        return activation(x)
    return x.copy_(activation(x.clone()))


def sigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``F.sigmoid``: 1 / (1 + e**-x), elementwise (``x.sigmoid()``)."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:  # noqa: A002
    """``F.tanh``: the hyperbolic tangent, elementwise (``x.tanh()``)."""
    return input.tanh()


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """``F.relu``: max(x, 0), elementwise (``x.relu()``)."""
    return _in_place(input, ops.relu, inplace)


def logsigmoid(input: Tensor) -> Tensor:  # noqa: A002
    """``F.logsigmoid``: log(sigmoid(x)) = -log(1 + exp(-x)), without overflow."""
    return -_softplus_of_negative(input)


# ---- dropout and the losses ----------------------------------------------------------------------


def dropout(
    input: Tensor,
    p: float = 0.5,
    training: bool = True,
    inplace: bool = False,
    *,
    rng: np.random.Generator | None = None,
) -> Tensor:
    """Zero elements with probability ``p`` and scale the rest by 1/(1-p); identity when not training."""
    p = check_probability("dropout", "p", p)
    if inplace and training and p > 0.0:
        return _in_place(input, lambda y: dropout(y, p, training, rng=rng), True)
    if not training or p == 0.0:
        return input
    guard("draw", "dropout draws a new mask every step")
    if p == 1.0:
        return input * 0.0
    keep = (rng or random.generator()).random(input.shape) >= p
    return input * (keep.astype(input.dtype) * (1.0 / (1.0 - p)))


def _reduce(losses: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_elementwise_weight(op: str, weight, input: Tensor) -> None:  # noqa: A002
    if weight is not None and np.shape(weight) != input.shape:
        raise ValueError(f"{op}: weight of shape {np.shape(weight)} must have the input's shape {input.shape}")


def _reduce_weighted(losses: Tensor, weight, reduction: str, op: str, by_weight: bool) -> Tensor:
    """PyTorch's ``weight=`` of mse_loss, l1_loss and huber_loss: the losses times ``weight``, element
    by element; their mean is divided by the weights' sum (``by_weight``: mse, l1) or by the count
    (huber), as PyTorch's are."""
    if weight is None:
        return _reduce(losses, reduction, op)
    weighted = losses * weight
    if reduction == "mean" and by_weight:
        return weighted.sum() / (weight.sum() if isinstance(weight, Tensor) else np.sum(weight))
    return _reduce(weighted, reduction, op)


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


def _class_weight(weight, n_classes: int, dtype, op: str, differentiable: bool = False) -> Any:
    """``weight`` as a (C,) array, or a ValueError naming its shape (PyTorch refuses any other length).
    Where the loss differentiates it (``differentiable``: cross_entropy's probability targets, as
    PyTorch's) it stays a Tensor, which the loss multiplies by: a weight that requires grad gets its
    gradient, and a replay reads a weight the step computes as it is on that call."""
    if weight is None:
        return None
    if isinstance(weight, Tensor) and weight.requires_grad and is_grad_enabled() and not differentiable:
        # it enters as numbers and would silently get no gradient: refused, as PyTorch refuses it
        raise RuntimeError(
            f"{op}: not differentiable with respect to weight (shape {weight.shape}), which requires grad; "
            "pass weight.detach(), as PyTorch requires (a weight to learn: weigh the losses of "
            "reduction='none' yourself)"
        )
    kind = _dtype(weight)
    if np.shape(weight) != (n_classes,) or kind.kind not in "biuf":
        raise ValueError(
            f"{op}: weight must hold one number per class, shape ({n_classes},); got {kind} of shape {np.shape(weight)}"
        )
    if differentiable:
        w = weight if isinstance(weight, Tensor) else Tensor(plain_array(weight, f"{op}: weight"))
        return w if w.dtype == dtype else ops.astype(w, dtype)
    return plain_array(ops._values(f"{op}: weight", weight), f"{op}: weight").astype(dtype)


def _dtype(x) -> np.dtype:
    """``x``'s dtype, read without its values (a Tensor's, an array's, or NumPy's reading of a list)."""
    return x.dtype if isinstance(x, (Tensor, np.ndarray)) else plain_array(x, "dtype").dtype


def _class_targets(log_probs: Tensor, target, ignore_index: int, op: str) -> np.ndarray:
    """Integer targets, flat, each in [0, C) or equal to ``ignore_index``; errors name the first bad one."""
    t = plain_array(ops._values(f"{op}: target", target), f"{op}: target")
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


def nll_loss(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of integer ``target`` classes; ``input`` (log-probabilities) has classes on axis 1."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "nll_loss")
    return _nll_loss(input, target, weight, ignore_index, reduction, "nll_loss")


def _nll_loss(log_probs: Tensor, target, weight, ignore_index: int, reduction: str, op: str) -> Tensor:
    t = _class_targets(log_probs, target, ignore_index, op)
    n_classes = log_probs.shape[1] if log_probs.ndim >= 2 else log_probs.shape[0]
    w_class = _class_weight(weight, n_classes, log_probs.dtype, op)  # checked before anything is recorded
    flat = _classes_last(log_probs)
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
    input: Tensor,
    target,
    weight=None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
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
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "cross_entropy")
    # every argument is checked before anything is computed (or recorded on a tape)
    label_smoothing = _check_label_smoothing(label_smoothing, "cross_entropy")
    class_axis = 0 if input.ndim == 1 else 1
    n_classes = input.shape[class_axis]
    probabilities = _dtype(target).kind == "f"
    w = _class_weight(weight, n_classes, input.dtype, "cross_entropy", differentiable=probabilities)
    if probabilities:
        if ignore_index >= 0:  # PyTorch: no class can be ignored in a probability target
            raise ValueError(
                f"cross_entropy: ignore_index={ignore_index} is not supported for probability (floating point) targets"
            )
        if np.shape(target) != input.shape:
            raise ValueError(
                f"cross_entropy: probability target shape {np.shape(target)} differs from input shape {input.shape}"
            )
        log_probs = ops.log_softmax(input, axis=class_axis)
        return _cross_entropy_with_probabilities(log_probs, target, w, reduction, label_smoothing, class_axis)
    t = _class_targets(input, target, ignore_index, "cross_entropy")
    log_probs = ops.log_softmax(input, axis=class_axis)
    loss = _nll_loss(log_probs, target, w, ignore_index, reduction, "cross_entropy")
    if not label_smoothing:
        return loss
    # PyTorch's smoothing: mix in the mean over classes of -log p (weighted by class weight)
    flat = _classes_last(log_probs)
    valid = (t != ignore_index).astype(input.dtype)
    w = np.ones(n_classes, input.dtype) if w is None else w
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


def _broadcast_target(input: Tensor, target, op: str) -> None:  # noqa: A002
    """A ``target`` of another shape is broadcast with a warning, as PyTorch does (it is rarely meant:
    a (B,) target against a (B, 1) output gives a (B, B) difference); one that does not broadcast is
    an error naming both shapes."""
    shape = np.shape(target)
    if shape != input.shape:
        try:
            both = np.broadcast_shapes(shape, input.shape)
        except ValueError:
            raise ValueError(f"{op}: input shape {input.shape} and target shape {shape} do not broadcast") from None
        warnings.warn(
            f"{op}: target shape {shape} differs from input shape {input.shape}; both are broadcast to {both}, "
            "as in PyTorch, which is likely not what you meant",
            UserWarning,
            stacklevel=3,
        )


def mse_loss(
    input: Tensor,  # noqa: A002 - PyTorch's name
    target,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean squared error (a target of another shape is broadcast, with PyTorch's warning); ``weight``
    (the input's shape) scales each squared error, and a mean is then divided by the weights' sum."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "mse_loss")
    _broadcast_target(input, target, "mse_loss")
    _check_elementwise_weight("mse_loss", weight, input)
    diff = input - target
    return _reduce_weighted(diff * diff, weight, reduction, "mse_loss", by_weight=True)


def l1_loss(
    input: Tensor,  # noqa: A002
    target,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    weight=None,
) -> Tensor:
    """Mean absolute error; the gradient where input equals target is 0, as PyTorch's. ``weight`` as
    mse_loss's."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "l1_loss")
    _broadcast_target(input, target, "l1_loss")
    _check_elementwise_weight("l1_loss", weight, input)
    return _reduce_weighted(ops.abs(input - target), weight, reduction, "l1_loss", by_weight=True)


def smooth_l1_loss(
    input: Tensor,  # noqa: A002
    target,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    beta: float = 1.0,
) -> Tensor:
    """0.5 d**2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target); beta = 0 is l1_loss."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    _broadcast_target(input, target, "smooth_l1_loss")
    diff = input - target
    size = ops.abs(diff)
    return _reduce(ops.where(size < beta, diff * diff * (0.5 / beta), size - 0.5 * beta), reduction, "smooth_l1_loss")


def huber_loss(
    input: Tensor,  # noqa: A002
    target,
    reduction: str = "mean",
    delta: float = 1.0,
    weight=None,
) -> Tensor:
    """0.5 d**2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target); ``weight``
    (the input's shape) scales each, and a mean stays one over the count, as PyTorch's."""
    if not isinstance(delta, numbers.Real):
        raise TypeError(f"huber_loss: delta must be a real number, got {delta!r}")
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    _broadcast_target(input, target, "huber_loss")
    _check_elementwise_weight("huber_loss", weight, input)
    diff = input - target
    size = ops.abs(diff)
    losses = ops.where(size < delta, diff * diff * 0.5, (size - 0.5 * delta) * delta)
    return _reduce_weighted(losses, weight, reduction, "huber_loss", by_weight=False)


def binary_cross_entropy(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(t log p + (1 - t) log(1 - p)) for probabilities ``input`` in [0, 1]; each log is clamped at
    -100, as PyTorch's, so p = 0 or 1 gives a finite loss (there the gradient through the clamped log
    is 0, where PyTorch's is about -t * 1e12: prefer binary_cross_entropy_with_logits on logits)."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy")
    if np.shape(target) != input.shape:
        raise ValueError(f"binary_cross_entropy: input shape {input.shape} and target shape {np.shape(target)} differ")
    # an op, not a read of .data: a tl.compile replay runs the check on every call (NaN passes, as PyTorch)
    message = "binary_cross_entropy: input values must lie in [0, 1], got min {min} and max {max}"
    ops.apply(CHECK_IN_RANGE, (input,), (0, 1, message))
    log_p, log_not_p = _clamped_log(input), _clamped_log(1.0 - input)
    losses = -(log_p * target + log_not_p * (1.0 - target))
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction, "binary_cross_entropy")


def _clamped_log(x: Tensor) -> Tensor:
    """max(log x, -100), with a 0 gradient (not 0 * inf = NaN) where x is 0."""
    positive = x > 0.0
    return ops.where(positive, ops.maximum(ops.log(ops.where(positive, x, 1.0)), -100.0), -100.0)


def kl_div(
    input: Tensor,  # noqa: A002
    target,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL(target || exp(input)) summed per element: target (log target - input), 0 where target is 0;
    ``input`` holds log-probabilities. Where target is 0 its own gradient is 0 here (the one-sided
    derivative is -inf; PyTorch's is NaN). A NaN or negative target gives NaN, as in PyTorch (it was 0,
    which hid the NaN). ``reduction="batchmean"`` divides the sum by the batch size (the mathematically
    right mean); "mean" averages over every element, as PyTorch's."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "kl_div")
    if log_target:
        terms = ops.exp(target) * (target - input)
    else:
        zero = (target if isinstance(target, Tensor) else Tensor._from(np.asarray(target))) == 0
        safe = ops.where(zero, 1.0, target)  # log(0) never computed: its gradient would be 0 * inf
        with np.errstate(invalid="ignore"):  # log of a negative target: NaN, PyTorch's value
            terms = ops.where(zero, input * 0.0, safe * (ops.log(safe) - input))  # input * 0: NaN stays NaN
    if reduction == "batchmean":
        return terms.sum() / (input.shape[0] if input.ndim else 1)
    return _reduce(terms, reduction, "kl_div")


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
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
    pos_weight=None,
) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression (no log of 0, no overflow)."""
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair, in its places
        reduction = _reduction(size_average, reduce, reduction, "binary_cross_entropy_with_logits")
    if np.shape(target) != input.shape:
        raise ValueError(
            f"binary_cross_entropy_with_logits: input shape {input.shape} and target shape {np.shape(target)} differ"
        )
    for arg, value in (("weight", weight), ("pos_weight", pos_weight)):
        shape = np.shape(value) if value is not None else ()
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


# ---- the margin, ranking and likelihood losses --------------------------------------------------
# Each checks every argument first (a refused call records nothing), then composes recorded ops in
# PyTorch's order of arithmetic. ``size_average`` and ``reduce`` keep their places in PyTorch's
# signatures, so that positional calls mean the same; they map to ``reduction`` by PyTorch's rule.


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str, op: str) -> str:
    """The reduction to use: PyTorch's legacy rule when ``size_average`` or ``reduce`` is given
    (with its deprecation warning), else ``reduction``, which must be 'mean', 'sum' or 'none'."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        misplaced = [
            f"{k}={v!r}" for k, v in (("size_average", size_average), ("reduce", reduce)) if isinstance(v, str)
        ]
        reduction = "mean" if size_average and reduce else ("sum" if reduce else "none")
        # a string there is a reduction passed by position where PyTorch reads size_average: say so
        hint = f" ({', '.join(misplaced)} is PyTorch's legacy argument, not reduction)" if misplaced else ""
        warnings.warn(
            f"{op}: size_average and reduce are deprecated, use reduction={reduction!r} instead{hint}",
            UserWarning,
            stacklevel=3,
        )
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction


def _broadcast_shape(op: str, **operands: Any) -> tuple[int, ...]:
    """The shape the named operands broadcast to, or a ValueError naming the function and every shape."""
    shapes = {name: np.shape(x) for name, x in operands.items()}
    try:
        return np.broadcast_shapes(*shapes.values())
    except ValueError:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{op}: shapes do not broadcast: {listed}") from None


def _same_ndim(op: str, **operands: Any) -> None:
    """PyTorch's rule for the pairwise losses: every operand has the same number of dimensions."""
    shapes = {name: np.shape(x) for name, x in operands.items()}
    if len({len(shape) for shape in shapes.values()}) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"{op}: all inputs must have the same number of dimensions, got {listed}")
    _broadcast_shape(op, **operands)


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor._from(np.asarray(x))


def poisson_nll_loss(
    input: Tensor,  # noqa: A002
    target,
    log_input: bool = True,
    full: bool = False,
    size_average: bool | None = None,
    eps: float = 1e-8,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Negative log-likelihood of a Poisson ``target`` with rate exp(input) (``log_input``) or
    input: exp(x) - t x, or x - t log(x + eps). ``full`` adds Stirling's approximation of log(t!),
    t log t - t + log(2 pi t) / 2, where t > 1 (0 elsewhere, as PyTorch's)."""
    reduction = _reduction(size_average, reduce, reduction, "poisson_nll_loss")
    _broadcast_shape("poisson_nll_loss", input=input, target=target)
    if log_input:
        losses = ops.exp(input) - target * input
    else:
        losses = input - target * ops.log(input + eps)
    if full:
        t = _as_tensor(target)
        small = t <= 1  # NaN is not small: it stays NaN, as in PyTorch's masked_fill
        safe = ops.where(small, 2.0, t)  # the logs are taken where they are used: no log(0) * 0
        stirling = safe * ops.log(safe) - safe + ops.log(safe * (2 * math.pi)) * 0.5
        losses = losses + ops.where(small, 0.0, stirling)
    return _reduce(losses, reduction, "poisson_nll_loss")


def gaussian_nll_loss(
    input: Tensor,  # noqa: A002
    target,
    var,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Tensor:
    """(log(var) + (input - target)**2 / var) / 2 (+ log(2 pi) / 2 with ``full``). ``var`` is a
    number, of the input's shape, of its shape without the last axis (one variance per sample), or of
    its shape with one axis of size 1; it is clamped at ``eps`` outside autograd, as PyTorch's: its
    gradient is computed at the clamped value and passed on as if unclamped."""
    op = "gaussian_nll_loss"
    if isinstance(var, numbers.Real):
        if var < 0:
            raise ValueError(f"{op}: var must be non-negative, got {var}")
        var = np.full(input.shape, float(var), dtype=input.dtype)
    else:  # an op, not a read of .data: a tl.compile replay runs the check on every call
        message = f"{op}: var has negative entries (min {{min}})"
        ops.apply(CHECK_IN_RANGE, (var if isinstance(var, Tensor) else np.asarray(var),), (0, np.inf, message))
    var_shape, shape = np.shape(var), input.shape
    if var_shape != shape:
        if var_shape == shape[:-1]:  # one variance per sample
            var = ops.expand_dims(var, -1)
        elif not (len(var_shape) == len(shape) and sum(v for i, v in zip(shape, var_shape) if i != v) == 1):
            raise ValueError(
                f"{op}: var of shape {var_shape} does not fit input of shape {shape} (it must equal it, lack "
                "its last axis, or have size 1 on the one axis where it differs)"
            )
    reduction = _reduction(None, None, reduction, op)
    _broadcast_shape(op, input=input, target=target)
    if isinstance(var, Tensor) and var.requires_grad:
        plain = var.detach()
        var = ops.where(plain < eps, (var - plain) + eps, var)  # eps in value, var's own gradient
    else:
        var = ops.clip(var, eps)
    diff = input - target
    losses = (ops.log(var) + diff * diff / var) * 0.5
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return _reduce(losses, reduction, op)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, -target (input1 - input2) + margin): ``target`` 1 means input1 should rank higher,
    -1 lower. The gradient passes where the hinge is exactly 0 (PyTorch's clamp_min)."""
    reduction = _reduction(size_average, reduce, reduction, "margin_ranking_loss")
    _same_ndim("margin_ranking_loss", input1=input1, input2=input2, target=target)
    losses = ops.clip(-target * (input1 - input2) + margin, 0.0)
    return _reduce(losses, reduction, "margin_ranking_loss")


def hinge_embedding_loss(
    input: Tensor,  # noqa: A002
    target,
    margin: float = 1.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """``input`` (a distance) where target is 1, max(0, margin - input) where it is -1 (a target
    that is neither gets both terms, as in PyTorch)."""
    reduction = _reduction(size_average, reduce, reduction, "hinge_embedding_loss")
    _broadcast_shape("hinge_embedding_loss", input=input, target=target)
    t = _as_tensor(target)
    hinge = ops.where(t != 1, ops.clip(margin - input, 0.0), 0.0)
    return _reduce(hinge + ops.where(t != -1, input, 0.0), reduction, "hinge_embedding_loss")


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target,
    margin: float = 0.0,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """1 - cos(x1, x2) where target is 1, max(0, cos(x1, x2) - margin) where it is -1 (0 for any other
    target), cos taken over the last axis of (N, D) inputs with a (N,) target, or of (D,) inputs
    with a 0-d target; each squared norm gets 1e-12 (as a float32) added, as PyTorch's."""
    op = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    t_ndim = np.ndim(target)
    if t_ndim not in (0, 1) or not input1.ndim == input2.ndim == t_ndim + 1:
        raise ValueError(
            f"{op}: expected (N, D) inputs with a (N,) target or (D,) inputs with a 0-d target, got input1 "
            f"{input1.shape}, input2 {input2.shape}, target {np.shape(target)}"
        )
    pairs = _broadcast_shape(op, input1=input1, input2=input2)
    _broadcast_shape(op, cosine=np.empty(pairs[:-1]), target=target)
    eps = float(np.float32(1e-12))  # PyTorch's constant is a C float: 9.99999996e-13, visible at a zero vector
    dot = (input1 * input2).sum(axis=t_ndim)
    norms = ((input1 * input1).sum(axis=t_ndim) + eps) * ((input2 * input2).sum(axis=t_ndim) + eps)
    cos = dot / ops.sqrt(norms)
    t = _as_tensor(target)
    losses = ops.where(t == 1, 1.0 - cos, 0.0) + ops.where(t == -1, ops.clip(cos - margin, 0.0), 0.0)
    return _reduce(losses, reduction, op)


def _distance(x1: Tensor, x2: Tensor, p: float, eps: float) -> Tensor:
    """||x1 - x2 + eps||_p over the last axis (PyTorch's pairwise distance, written here for the loss)."""
    diff = x1 - x2 + eps
    return ops.vector_norm(diff, p, axis=-1 if diff.ndim else None)


def triplet_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    negative: Tensor,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d the ``p``-distance over the last
    axis with ``eps`` added to the difference; ``swap`` uses min(d(a, n), d(p, n)) (Balntas et al. 2016)."""
    op = "triplet_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if not margin > 0:
        raise ValueError(f"{op}: margin must be greater than 0, got {margin}")
    _same_ndim(op, anchor=anchor, positive=positive, negative=negative)
    to_negative = _distance(anchor, negative, p, eps)
    if swap:
        to_negative = ops.minimum(to_negative, _distance(positive, negative, p, eps))
    losses = ops.clip(margin + _distance(anchor, positive, p, eps) - to_negative, 0.0)
    return _reduce(losses, reduction, op)


def soft_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(-target * input)) for targets +-1: two-class logistic loss. Written without
    overflow, so it stays finite where PyTorch's exp overflows to inf (|input| > 709 in float64)."""
    reduction = _reduction(size_average, reduce, reduction, "soft_margin_loss")
    _broadcast_shape("soft_margin_loss", input=input, target=target)
    return _reduce(_softplus_of_negative(input * target), reduction, "soft_margin_loss")


def multilabel_soft_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    weight=None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """-(t log sigmoid(x) + (1 - t) log sigmoid(-x)), times ``weight``, averaged over the classes (the
    last axis): one loss per sample, then ``reduction`` over the samples."""
    op = "multilabel_soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class axis (its last), got a 0-d input")
    if weight is None:
        _broadcast_shape(op, input=input, target=target)
    else:
        _broadcast_shape(op, input=input, target=target, weight=weight)
    losses = -(target * logsigmoid(input) + (1.0 - target) * logsigmoid(-input))
    if weight is not None:
        losses = losses * weight
    return _reduce(losses.sum(axis=-1) / input.shape[-1], reduction, op)


def multi_margin_loss(
    input: Tensor,  # noqa: A002
    target,
    p: int = 1,
    margin: float = 1.0,
    weight=None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge loss of (N, C) scores (or (C,)) and integer targets: for each sample the sum
    over the other classes j of w[y] max(0, margin - x[y] + x[j])**p, divided by C. The gradient is 0
    where the hinge is exactly 0 (PyTorch's z > 0)."""
    op = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if p not in (1, 2):
        raise ValueError(f"{op}: only p == 1 and p == 2 are supported, got p={p}")
    if input.ndim > 2 or (input.ndim >= 1 and input.shape[-1] == 0):
        raise ValueError(f"{op}: expected a (C,) or (N, C) input with C > 0, got shape {input.shape}")
    t = plain_array(ops._values(f"{op}: target", target), f"{op}: target")
    if t.dtype.kind not in "iu":
        raise TypeError(f"{op}: target must hold integer class indices, got dtype {t.dtype}")
    n_classes = input.shape[-1] if input.ndim else 1
    n = input.shape[0] if input.ndim == 2 else 1
    if t.size != n or (input.ndim == 2 and t.ndim != 1) or t.ndim > 1:
        raise ValueError(f"{op}: target of shape {t.shape} does not give one class for each of the {n} samples")
    t_shape, t = t.shape, t.reshape(-1)
    bad = (t < 0) | (t >= n_classes)
    if bad.any():
        raise IndexError(f"{op}: target {t[bad][0]} is out of range for {n_classes} classes")
    w = _class_weight(weight, n_classes, input.dtype, op)
    scores = input if input.ndim == 2 else ops.reshape(input, (n, n_classes))
    rows = np.arange(n)
    scored = ops.getitem(scores, (rows, t))  # x[y] of each sample
    hinge = ops.relu(ops.expand_dims(margin - scored, 1) + scores)  # relu: no gradient at exactly 0
    terms = hinge if p == 1 else hinge * hinge
    if w is not None:
        terms = terms * w[t][:, None]
    own = t[:, None] == np.arange(n_classes)  # the target's own class is not a margin
    losses = ops.where(own, 0.0, terms).sum(axis=1) / n_classes
    if reduction == "none" and losses.shape != t_shape:
        losses = ops.reshape(losses, t_shape)  # (1,) or () as the target of a (C,) input
    return _reduce(losses, reduction, op)


# ---- padding and activations ------------------------------------------------------------------


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: tuple[int, ...], mode: str = "constant", value: float | None = None) -> Tensor:
    """PyTorch's ``F.pad``: ``pad`` = (left, right) for the last axis, then (left, right) for the one
    before, ...; a negative amount crops. ``mode`` "constant" fills with ``value`` (0 by default);
    "reflect", "replicate" and "circular" repeat the input's own elements, so the gradient of a
    repeated element is the sum over its copies (an integer-array index, NumPy's ``np.pad`` modes)."""
    if not isinstance(mode, str) and value is None:  # F.pad(x, pad, 0.5): where value used to be
        value, mode = float(mode), "constant"
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {', '.join(map(repr, _PAD_MODES))}, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim or any(int(n) != n for n in pad):
        raise ValueError(f"pad: {pad} must be integer (left, right) pairs for at most {input.ndim} axes")
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"pad: value={value} is only used by mode='constant', not {mode!r}")
        return _pad_from_input(input, tuple(int(n) for n in pad), mode)
    value = 0.0 if value is None else value
    for k in range(len(pad) // 2):
        axis, before, after = input.ndim - 1 - k, int(pad[2 * k]), int(pad[2 * k + 1])
        if input.shape[axis] + before + after < 0:
            raise ValueError(f"pad: {pad} crops axis {axis} of shape {input.shape} to a negative size")
        crop = (slice(None),) * axis + (slice(max(-before, 0), input.shape[axis] - max(-after, 0)),)
        input = input[crop] if before < 0 or after < 0 else input
        before, after = max(before, 0), max(after, 0)
        pieces = []
        for n in (before, after):
            shape = input.shape[:axis] + (n,) + input.shape[axis + 1 :]
            pieces.append(Tensor(np.full(shape, value, dtype=input.dtype)) if n else None)
        input = ops.cat([p for p in (pieces[0], input, pieces[1]) if p is not None], axis=axis)
    return input


def _pad_from_input(x: Tensor, pad: tuple[int, ...], mode: str) -> Tensor:
    """reflect / replicate / circular: PyTorch pads only the last 1-3 axes of a batched input
    (2 or 3 axes for 1 padded axis, 3 or 4 for 2, 4 or 5 for 3); each padded axis becomes an
    integer-array index into the input, so a repeated element's gradient is the sum over its copies."""
    padded = len(pad) // 2
    if x.ndim not in (padded + 1, padded + 2) or padded > 3:
        raise ValueError(
            f"pad: mode={mode!r} with {padded} padded axes needs a {padded + 1}-D or {padded + 2}-D input, "
            f"got shape {x.shape}"
        )
    for k in range(padded):
        axis, before, after = x.ndim - 1 - k, pad[2 * k], pad[2 * k + 1]
        index = _pad_index(mode, x.shape[axis], before, after)
        if index is None:
            raise ValueError(f"pad: mode={mode!r} cannot pad axis {axis} of size {x.shape[axis]} by {(before, after)}")
        x = ops.getitem(x, (slice(None),) * axis + (index,))
    return x


def _pad_index(mode: str, size: int, before: int, after: int) -> np.ndarray | None:
    """Which input element each output position of a padded axis reads, or None where PyTorch refuses.
    A negative amount crops. reflect and replicate measure from the uncropped input's ends (so
    reflect(-1, 1) of [a, b] is [b, a]); circular crops first and wraps what is left."""
    out = size + before + after
    if mode == "circular":
        kept = size - max(-before, 0) - max(-after, 0)
        if out == 0 and max(before, after) <= size:
            return np.empty(0, dtype=np.intp)
        if out < 0 or kept < 0 or max(before, 0) > kept or max(after, 0) > kept:
            return None  # (PyTorch reads memory it never wrote when a pad exceeds what is kept)
        index = np.empty(out, dtype=np.intp)
        index[max(before, 0) : out - max(after, 0)] = np.arange(max(-before, 0), size - max(-after, 0))
        if before > 0:  # the left pad wraps the kept part's end, the right pad its start
            index[:before] = index[out - before - max(after, 0) : out - max(after, 0)]
        if after > 0:
            index[out - after :] = index[max(before, 0) : max(before, 0) + after]
        return index
    if out < 1 or size == 0 or (mode == "reflect" and max(before, after) >= size):
        return None
    j = np.arange(out)
    if mode == "reflect":  # mirror about the first and the last element, not repeating them
        mirrored = np.where(j < before, 2 * before - j, np.where(j < size + before, j, 2 * (size + before - 1) - j))
    else:  # replicate: the first and the last element repeated
        mirrored = np.clip(j, before, size + before - 1)
    return mirrored - max(before, 0) + max(-before, 0)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's rule)."""
    scaled = x * beta
    linear = scaled > threshold  # a comparison op, not NumPy on .data: tl.compile sees it
    smooth = ops.log1p(ops.exp(ops.where(linear, 0.0, scaled))) * (1.0 / beta)  # no overflow where unused
    return ops.where(linear, x, smooth)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (exp(x) - 1) otherwise; one primitive, with PyTorch's slope alpha at 0."""
    return _in_place(input, lambda y: ops.elu(y, alpha), inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, ``negative_slope * x`` otherwise (one primitive, so that its gradient depends on
    x as PyTorch's does and can be differentiated again)."""
    return _in_place(input, lambda y: ops.leaky_relu(y, negative_slope), inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]; the gradient is 1 strictly inside, 0 at and beyond the ends."""
    return _in_place(input, lambda y: ops.hardtanh(y, min_val, max_val), inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (also called swish)."""
    return _in_place(input, lambda y: y * ops.sigmoid(y), inplace)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x Phi(x) with Phi the normal CDF (``approximate="tanh"``: the tanh formula), as PyTorch's."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (ops.tanh(inner) + 1.0)
    if approximate != "none":
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return x * 0.5 * (ops.erf(x * (1.0 / math.sqrt(2.0))) + 1.0)


# the self-normalizing constants of Klambauer et al. (2017), PyTorch's digits
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu6(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """min(max(x, 0), 6): PyTorch's hardtanh(x, 0, 6), so the gradient is 0 at 0 and at 6."""
    return _in_place(input, lambda y: ops.hardtanh(y, 0.0, 6.0), inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """scale * elu(x, alpha), the self-normalizing constants; the slope at 0 is scale * alpha."""
    return _in_place(input, lambda y: ops.elu(y, _SELU_ALPHA) * _SELU_SCALE, inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)), as alpha * elu(x / alpha): slope 1 at 0."""
    if alpha == 0:
        raise ValueError("celu: alpha cannot be 0 (it divides x)")
    return _in_place(input, lambda y: ops.elu(y * (1.0 / alpha), 1.0) * alpha, inplace)


def softsign(input: Tensor) -> Tensor:  # noqa: A002
    """x / (1 + |x|), PyTorch's composition (abs's slope 0 at 0)."""
    return input / (ops.abs(input) + 1.0)


def tanhshrink(input: Tensor) -> Tensor:  # noqa: A002
    """x - tanh(x)."""
    return input - ops.tanh(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """relu6(x + 3) / 6, as (hardtanh(x, -3, 3) + 3) / 6: the same bits, and the gradient 1/6
    strictly inside (-3, 3), 0 at +-3 as PyTorch's (whose float64 gradient is float32's 1/6)."""
    return _in_place(input, lambda y: (ops.hardtanh(y, -3.0, 3.0) + 3.0) / 6.0, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x relu6(x + 3) / 6. Through hardtanh's mask the gradient is x / 3 + 1/2 strictly inside
    (-3, 3), 0 at -3 and 1 at 3, and the second derivative 1/3 inside and 0 at +-3: PyTorch's."""
    return _in_place(input, lambda y: y * (ops.hardtanh(y, -3.0, 3.0) + 3.0) / 6.0, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x tanh(softplus(x)) (Misra 2019)."""
    return _in_place(input, lambda y: y * ops.tanh(softplus(y)), inplace)


def glu(input: Tensor, dim: int = -1) -> Tensor:  # noqa: A002
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    if input.ndim == 0:
        raise ValueError("glu: a 0-d input has no dimension to halve")
    axis = ops._axis("glu", dim, input.ndim)
    if input.shape[axis] % 2:
        raise ValueError(f"glu: dimension {dim} of shape {input.shape} must have an even size to halve")
    a, b = ops.split(input, 2, axis=axis)
    return a * ops.sigmoid(b)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:  # noqa: A002
    """x where x > threshold, else ``value``; one primitive, whose gradient (0 at the threshold)
    depends on x as PyTorch's threshold_backward does, so a gradient penalty can differentiate it."""
    return _in_place(input, lambda y: ops.threshold(y, threshold, value), inplace)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """0 where |x| <= lambd, else x (one primitive; the gradient is 0 at +-lambd)."""
    return ops.hardshrink(input, lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:  # noqa: A002
    """x - lambd above lambd, x + lambd below -lambd, 0 between; hardshrink's gradient (0 at the
    ends), since sign's is 0."""
    if not lambd >= 0:
        raise ValueError(f"softshrink: lambd must be >= 0, got {lambd}")
    kept = ops.hardshrink(input, lambd)
    return kept - ops.sign(kept) * lambd


# ---- layers as functions ------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:  # noqa: A002
    """``x @ weight.T + bias``, weight (out_features, in_features), as ``nn.Linear``."""
    if input.shape[-1:] != weight.shape[-1:] or weight.ndim != 2:
        raise ValueError(f"linear: input of shape {input.shape} does not match weight of shape {weight.shape}")
    y = input @ weight.T
    return y + bias if bias is not None else y


def layer_norm(
    input: Tensor,  # noqa: A002
    normalized_shape: int | tuple[int, ...] | list[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last axes (``normalized_shape``),
    with the biased variance, as ``torch.nn.functional.layer_norm``; composed of recorded ops, so
    second derivatives work."""
    shape = normalized_size(normalized_shape, "layer_norm")
    if not isinstance(input, Tensor) or input.shape[input.ndim - len(shape) :] != shape or input.ndim < len(shape):
        got = input.shape if isinstance(input, Tensor) else type(input).__name__
        raise ValueError(f"layer_norm: input of shape {got} does not end in normalized_shape {shape}")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and (not isinstance(t, Tensor) or t.shape != shape):
            got = t.shape if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"layer_norm: {what} of shape {got}, expected normalized_shape {shape}")
    axes = tuple(range(input.ndim - len(shape), input.ndim))
    centred = input - input.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)
    y = centred * (var + eps).rsqrt()
    if weight is not None:
        y = y * weight
    return y + bias if bias is not None else y


def normalized_size(normalized_shape: Any, op: str) -> tuple[int, ...]:
    """``normalized_shape`` as a tuple of positive ints (an int is one axis)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else normalized_shape
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{op}: normalized_shape must be an int or a tuple of ints, got {normalized_shape!r}") from None
    if not shape or not all(isinstance(k, numbers.Integral) and int(k) > 0 for k in shape):
        raise ValueError(f"{op}: normalized_shape must be one or more positive ints, got {normalized_shape!r}")
    return tuple(int(k) for k in shape)


def embedding(
    input,  # noqa: A002
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by integer indices; no gradient reaches row ``padding_idx`` (which,
    unlike in ``nn.Embedding``, is not zeroed here), as PyTorch's. ``max_norm``: the rows looked up are
    first scaled down in place to that ``norm_type``-norm (see ``_renorm_rows``). ``scale_grad_by_freq``:
    each row's gradient is divided by how often its index occurs in ``input``. ``sparse=True`` is refused:
    gradients here are dense arrays."""
    refuse_sparse("embedding", sparse)
    idx = plain_array(ops._values("embedding: indices", input), "embedding: indices")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape {weight.shape}")
    rows = weight.shape[0]
    bad = (idx < 0) | (idx >= rows)  # PyTorch refuses negative indices too (NumPy would count from the end)
    if bad.any():
        raise IndexError(
            f"embedding: index out of range for {rows} rows: got {idx[bad].flat[0]} "
            f"(indices must lie in [0, {rows}); {int(bad.sum())} of {idx.size} do not)"
        )
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    out = ops.getitem(weight, idx)
    if padding_idx is not None and out.requires_grad:
        if not -rows <= padding_idx < rows:
            raise ValueError(f"embedding: padding_idx={padding_idx} is out of range for {rows} rows")
        keep = (Tensor._from(idx) != padding_idx % rows)[..., None]  # ops, so that tl.compile sees them
        out = ops.where(keep, out, ops.getitem(weight, idx).detach())
    return by_frequency(out, idx) if scale_grad_by_freq else out


def refuse_sparse(op: str, sparse: bool) -> None:
    """PyTorch's ``sparse=True`` makes a sparse gradient tensor; there are none here."""
    if sparse:
        raise ValueError(f"{op}: sparse=True (a sparse gradient) is not supported here; gradients are dense arrays")


class _ScaledByFrequency(Function):
    """The identity on looked-up rows, whose gradient at each position is divided by the number of
    times that position's index occurs in the batch: summed into the weight, each row's gradient is then
    the mean of its contributions, as PyTorch's ``scale_grad_by_freq``."""

    @staticmethod
    def forward(ctx: FunctionContext, rows: Tensor, scale: np.ndarray) -> Tensor:
        ctx.scale = scale  # type: ignore[attr-defined]
        return rows

    @staticmethod
    def backward(ctx: FunctionContext, g: Tensor) -> tuple:  # type: ignore[override]
        return g * ctx.scale, None  # type: ignore[attr-defined]


def by_frequency(rows: Tensor, idx: np.ndarray) -> Tensor:
    """``rows`` (looked up at ``idx``) whose gradient is scaled by 1 / (count of each index in ``idx``)."""
    if not rows.requires_grad:
        return rows
    _, where, counts = np.unique(idx, return_inverse=True, return_counts=True)
    scale = (1.0 / counts[where.reshape(idx.shape)]).astype(rows.dtype)[..., None]
    return _ScaledByFrequency.apply(rows, scale)


def _renorm_rows(weight: Tensor, indices: np.ndarray, max_norm: float, norm_type: float = 2.0) -> None:
    """PyTorch's ``max_norm`` for embeddings: each row of ``weight`` named in ``indices`` whose
    ``norm_type``-norm exceeds ``max_norm`` is scaled, in place and outside the tape, by
    max_norm / (norm + 1e-7). A graph recorded before that read the weight then refuses backward, as
    PyTorch's version counter does."""
    rows = np.unique(indices)
    norms = np.linalg.norm(weight.data[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        weight.data[rows[over]] *= (max_norm / (norms[over] + 1e-7))[:, None].astype(weight.dtype)
        changed_in_place(weight.data)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Integer class indices -> int64 one-hot vectors on a new last axis (``num_classes=-1``: max + 1)."""
    idx = plain_array(ops._values("one_hot: indices", tensor), "one_hot: indices")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: indices must be integers, got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class value {idx.max()} is not smaller than num_classes={num_classes}")
    return Tensor._from((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """``x / max(||x||_p, eps)`` along ``dim``: unit vectors, and a zero vector stays zero."""
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim`` (broadcast to one shape first), as
    PyTorch computes it: each divided by its norm clamped to at least ``eps``, then their dot product.
    PyTorch clamps the norm without recording the clamp, so below ``eps`` the value is eps's and the
    gradient still the norm's; here the norm plus a constant that lifts it to ``eps`` does the same."""
    x1, x2 = ops.as_tensor(x1), ops.as_tensor(x2)
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {x1.shape} and {x2.shape} do not broadcast") from None
    if not shape:  # PyTorch's dim 0 of two 0-d tensors: vectors of one element
        ops.scalar_axis("cosine_similarity", dim, 0)
        return cosine_similarity(x1.reshape(1), x2.reshape(1), 0, eps).reshape(())
    axis = ops._axis("cosine_similarity", dim, len(shape))

    def unit(x: Tensor) -> Tensor:
        x = x if x.shape == shape else x.expand(shape)
        norm = x.norm(2, axis, keepdim=True)
        lift = ops.maximum(norm.detach(), eps) - norm.detach()  # 0 wherever the norm is at least eps
        return x / (norm + lift)

    return (unit(x1) * unit(x2)).sum(axis)


# the normalisations, distances, rectifiers and dropouts live in files of their own, which import this one
from .bilinear import bilinear  # noqa: E402
from .distance import pairwise_distance, pdist  # noqa: E402
from .dropout import alpha_dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout  # noqa: E402
from .normalization import batch_norm, group_norm, instance_norm, local_response_norm, rms_norm  # noqa: E402
from .rectifiers import prelu, rrelu  # noqa: E402


# PyTorch's in-place spellings: each writes its activation into ``input`` and returns it
def relu_(input: Tensor) -> Tensor:  # noqa: A002
    """``F.relu_``: :func:`relu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return relu(input, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``F.elu_``: :func:`elu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return elu(input, alpha, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:  # noqa: A002
    """``F.leaky_relu_``: :func:`leaky_relu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return leaky_relu(input, negative_slope, inplace=True)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:  # noqa: A002
    """``F.hardtanh_``: :func:`hardtanh` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return hardtanh(input, min_val, max_val, inplace=True)


def selu_(input: Tensor) -> Tensor:  # noqa: A002
    """``F.selu_``: :func:`selu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return selu(input, inplace=True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:  # noqa: A002
    """``F.celu_``: :func:`celu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return celu(input, alpha, inplace=True)


_threshold = threshold  # (threshold_'s own argument takes the name)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:  # noqa: A002
    """``F.threshold_``: :func:`threshold` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return _threshold(input, threshold, value, inplace=True)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:  # noqa: A002
    """``F.rrelu_``: :func:`rrelu` written into ``input``, which it returns (PyTorch's in-place spelling)."""
    return rrelu(input, lower, upper, training, inplace=True)


__all__ += [
    "alpha_dropout",
    "batch_norm",
    "bilinear",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
    "group_norm",
    "instance_norm",
    "local_response_norm",
    "pairwise_distance",
    "pdist",
    "prelu",
    "rms_norm",
    "rrelu",
    "relu_",
    "elu_",
    "leaky_relu_",
    "hardtanh_",
    "selu_",
    "celu_",
    "threshold_",
    "rrelu_",
]

from .conv import *  # noqa: E402, F403 - convolution, pooling and resampling (conv.py), PyTorch's F names
from .conv import __all__ as _conv_names  # noqa: E402

__all__ += _conv_names
