"""Shape: reshape, transpose and broadcast_to (views of their input's memory where NumPy makes one),
diagonal and unfold (always views, as PyTorch's), and cat, stack, flip, triangle, diagonal_scatter,
unfold_backward (unfold's adjoint), unfold_scatter and a transposed copy (new memory)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..tape import Entry
from .primitive import Grad, Primitive, in_shape, is_tensor, unbroadcast


def reshape_(g: Grad, to: tuple[int, ...]) -> Any:
    """``g`` reshaped to ``to``; recorded when it is a Tensor."""
    return RESHAPE(g, p=(g.shape, tuple(to))) if is_tensor(g) else np.reshape(g, to)


def broadcast_to_(g: Grad, to: tuple[int, ...]) -> Any:
    """``g`` broadcast to ``to``; recorded when it is a Tensor."""
    return BROADCAST_TO(g, p=(g.shape, tuple(to))) if is_tensor(g) else np.broadcast_to(g, to)


def _reshape_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, shape = p
    return x.reshape(shape)


def _reshape_vjp(g: Grad, entry: Entry) -> tuple:
    shape, _ = entry.p
    return (g.reshape(shape),)


RESHAPE = Primitive("reshape", _reshape_fwd, _reshape_vjp, view=True)  # p: (from, to)


def _transpose_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return x.transpose(p)


def _transpose_vjp(g: Grad, entry: Entry) -> tuple:
    return (g.transpose(tuple(np.argsort(entry.p))),)


TRANSPOSE = Primitive("transpose", _transpose_fwd, _transpose_vjp, view=True)  # p: the axes


def _transposed_copy_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.T)


def _transposed_copy_vjp(g: Grad, entry: Entry) -> tuple:
    return (g.T,)


# a matrix's transpose in memory of its own, row by row (NumPy's transpose is a view with swapped strides)
TRANSPOSED_COPY = Primitive("transposed_copy", _transposed_copy_fwd, _transposed_copy_vjp)


def _broadcast_to_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    _, shape = p
    if math.prod(shape) == x.size:  # only axes of size 1 added: a writable view, as PyTorch's expand
        return x.reshape(shape)
    return np.broadcast_to(x, shape)


def _broadcast_to_vjp(g: Grad, entry: Entry) -> tuple:
    shape, _ = entry.p
    return (unbroadcast(g, shape),)


BROADCAST_TO = Primitive("broadcast_to", _broadcast_to_fwd, _broadcast_to_vjp, view=True)


def _cat_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    axis, _ = p
    return np.concatenate(arrays, axis=axis)


def _cat_vjp(g: Grad, entry: Entry) -> tuple:
    axis, bounds = entry.p
    lead = (slice(None),) * axis
    return tuple(
        g[lead + (slice(int(s), int(e)),)] if parent is not None else None
        for parent, s, e in zip(entry.parents, bounds[:-1], bounds[1:])
    )


CAT = Primitive("cat", _cat_fwd, _cat_vjp)  # p: (axis, where each input starts and ends)


def _stack_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    return np.stack(arrays, axis=p)


def _stack_vjp(g: Grad, entry: Entry) -> tuple:
    lead = (slice(None),) * entry.p
    return tuple(g[lead + (i,)] if parent is not None else None for i, parent in enumerate(entry.parents))


STACK = Primitive("stack", _stack_fwd, _stack_vjp)  # p: the new axis


def _flip_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.flip(x, p).copy()  # a copy, as PyTorch's flip (NumPy's is a view)


def _flip_vjp(g: Grad, entry: Entry) -> tuple:
    return (FLIP(g, p=entry.p) if is_tensor(g) else np.flip(g, entry.p),)


FLIP = Primitive("flip", _flip_fwd, _flip_vjp)  # p: the flipped axes


def diagonal_view(x: np.ndarray, p: Any) -> np.ndarray:
    """The diagonal ``p = (offset, axis1, axis2)`` of ``x`` as a view that writes through to ``x``
    whatever its layout (NumPy's own is read-only; a reshape of a transpose would be a copy)."""
    d = np.diagonal(x, *p)
    if x.flags.writeable:
        d.flags.writeable = True
    return d


def diagonal_shape(shape: tuple[int, ...], p: Any) -> tuple[int, ...]:
    """The shape of the diagonal ``p = (offset, axis1, axis2)`` of an array of ``shape``."""
    return np.diagonal(np.broadcast_to(np.empty((), dtype=np.bool_), shape), *p).shape


def _diagonal_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return diagonal_view(x, p)


def _diagonal_vjp(g: Grad, entry: Entry) -> tuple:
    zeros = np.zeros(in_shape(entry, 0), dtype=g.dtype)
    return (DIAGONAL_SCATTER(zeros, g, p=entry.p) if is_tensor(g) else _diagonal_scatter_fwd(entry.p, zeros, g),)


DIAGONAL = Primitive("diagonal", _diagonal_fwd, _diagonal_vjp, view=True)  # p: (offset, axis1, axis2)


def _scatter_into(view_of: Any, p: Any, x: np.ndarray, src: np.ndarray) -> np.ndarray:
    """x with the part ``view_of(x, p)`` shows replaced by src, in new memory: what a recorded write
    through a view primitive (diagonal, unfold) makes of its base."""
    out = np.array(x, dtype=np.result_type(x, src))
    view_of(out, p)[...] = src
    return out


def _scatter_vjp(view_of: Any, shape_of: Any, view: Primitive, scatter: Primitive, g: Grad, entry: Entry) -> tuple:
    """A view scatter's VJP: x's gradient is g with the part zeroed (the scatter again), src's is the
    part (the view again), so every order is one of the two primitives."""
    gx = gsrc = None
    if entry.parents[0] is not None:  # every element the view does not show
        zeros = np.zeros(shape_of(g.shape, entry.p), dtype=g.dtype)
        gx = scatter(g, zeros, p=entry.p) if is_tensor(g) else _scatter_into(view_of, entry.p, g, zeros)
    if entry.parents[1] is not None:
        gsrc = view(g, p=entry.p) if is_tensor(g) else view_of(g, entry.p).copy()
    return gx, gsrc


def _diagonal_scatter_fwd(p: Any, x: np.ndarray, src: np.ndarray) -> np.ndarray:
    return _scatter_into(diagonal_view, p, x, src)


def _diagonal_scatter_vjp(g: Grad, entry: Entry) -> tuple:
    return _scatter_vjp(diagonal_view, diagonal_shape, DIAGONAL, DIAGONAL_SCATTER, g, entry)


DIAGONAL_SCATTER = Primitive("diagonal_scatter", _diagonal_scatter_fwd, _diagonal_scatter_vjp)  # p: as diagonal's


def _contiguous_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.array(x, order="C")  # always new memory: writing to the result never writes to x


def _contiguous_vjp(g: Grad, entry: Entry) -> tuple:
    return (g,)


CONTIGUOUS = Primitive("contiguous", _contiguous_fwd, _contiguous_vjp)  # a row-major copy


def _triangle_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    k, upper = p
    return np.triu(x, k) if upper else np.tril(x, k)


def _triangle_vjp(g: Grad, entry: Entry) -> tuple:
    # the same triangle of g; it saves nothing but (k, upper), so a second backward can run it again
    return (TRIANGLE(g, p=entry.p) if is_tensor(g) else _triangle_fwd(entry.p, g),)


TRIANGLE = Primitive("triangle", _triangle_fwd, _triangle_vjp)  # p: (diagonal k, upper: triu, else tril)


def unfold_shape(shape: tuple[int, ...], p: Any) -> tuple[int, ...]:
    """The shape of the windows ``p = (axis, size, step)`` of an array of ``shape``: the axis counts the
    windows, a new last axis holds each window's entries."""
    axis, size, step = p
    windows = (shape[axis] - size) // step + 1
    return shape[:axis] + (windows,) + shape[axis + 1 :] + (size,)


def unfold_view(x: np.ndarray, p: Any) -> np.ndarray:
    """The windows ``p = (axis, size, step)`` of ``x`` as a view of its memory, as PyTorch's unfold:
    windows closer than their size share elements. Made on the array that owns the memory, so that
    the view's ``base`` is that array (whatever reads memory sharing through ``base`` sees it);
    writable where ``x`` is."""
    axis, size, step = p
    shape = unfold_shape(x.shape, p)
    s = x.strides[axis]
    strides = x.strides[:axis] + (s * step,) + x.strides[axis + 1 :] + (s,)
    owner = x
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    offset = x.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    try:
        out = np.ndarray(shape, x.dtype, buffer=owner, offset=offset, strides=strides)
    except (TypeError, ValueError):  # an owner that lends no buffer: NumPy's strided view of x itself
        out = np.lib.stride_tricks.as_strided(x, shape, strides)
    if not x.flags.writeable:
        out.flags.writeable = False
    return out


def windows_overlap(shape: tuple[int, ...], p: Any) -> bool:
    """Whether two windows ``p = (axis, size, step)`` share an element (and so one memory location)."""
    axis, size, step = p
    return step < size and (shape[axis] - size) // step >= 1


def _unfold_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return unfold_view(x, p)


def _unfold_vjp(g: Grad, entry: Entry) -> tuple:
    p = (in_shape(entry, 0), *entry.p)
    return (UNFOLD_BACKWARD(g, p=p) if is_tensor(g) else _unfold_backward_fwd(p, g),)


UNFOLD = Primitive("unfold", _unfold_fwd, _unfold_vjp, view=True)  # p: (axis, size, step)


def _unfold_backward_fwd(p: Any, g: np.ndarray) -> np.ndarray:
    """Each window's gradient added back at its place (overlapping windows add up): the adjoint of unfold."""
    shape, axis, size, step = p
    out = np.zeros(shape, dtype=g.dtype)
    windows = g.shape[axis]
    lead = (slice(None),) * axis
    for j in range(size):  # entry j of every window: a strided slice of the input, which windows do not repeat
        out[lead + (slice(j, j + (windows - 1) * step + 1, step),)] += g[..., j]
    return out


def _unfold_backward_vjp(g: Grad, entry: Entry) -> tuple:
    _, axis, size, step = entry.p
    return (UNFOLD(g, p=(axis, size, step)) if is_tensor(g) else unfold_view(g, (axis, size, step)).copy(),)


# p: (the input's shape, axis, size, step); its VJP is unfold again, so every order is one of the two
UNFOLD_BACKWARD = Primitive("unfold_backward", _unfold_backward_fwd, _unfold_backward_vjp)


def _unfold_scatter_fwd(p: Any, x: np.ndarray, src: np.ndarray) -> np.ndarray:
    return _scatter_into(unfold_view, p, x, src)


def _unfold_scatter_vjp(g: Grad, entry: Entry) -> tuple:
    return _scatter_vjp(unfold_view, unfold_shape, UNFOLD, UNFOLD_SCATTER, g, entry)


# x with the windows p = (axis, size, step) replaced by src, windows that share no element (new memory): what
# a recorded write into an unfold view makes of its base
UNFOLD_SCATTER = Primitive("unfold_scatter", _unfold_scatter_fwd, _unfold_scatter_vjp)
