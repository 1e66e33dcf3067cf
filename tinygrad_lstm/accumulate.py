"""Gradient accumulation: how contributions to one gradient are summed, in one place.

Three places sum gradients and must agree to the bit: the backward sweep (:func:`add_gradient`), the
source text a compiled program runs instead (:func:`sum_into_source`, written from the same rule), and
a leaf's ``.grad`` across backward calls (:func:`accumulate_into`). The rule: the first contribution is
kept as it is, since it may be a view or shared with another input; the second is added to it in
place only if nothing else holds it (:func:`sole_reference`, as PyTorch steals an unshared gradient),
else into a new array; from then on the buffer is the sweep's own and later ones are added in place.
"""

from __future__ import annotations

import sys

import numpy as np

from .ops import IndexedGrad
from .tensor import Tensor
from .versions import changed_in_place


def tensor_of(g) -> Tensor:
    """``g`` as a Tensor (hooks and create_graph see Tensors; the sweep passes arrays)."""
    return g if isinstance(g, Tensor) else Tensor._from(np.asarray(g))


def accumulate_into(tensor: Tensor, g, create_graph: bool) -> None:
    """Add ``g`` to ``tensor.grad`` (in place when safe, as PyTorch does)."""
    if create_graph:
        g = tensor_of(g)
        # never the caller's own tensor (a seed can reach a leaf unchanged): a later backward adds into .grad
        tensor.grad = Tensor._from(np.array(g.data), g._node) if tensor.grad is None else tensor.grad + g
        return
    if tensor.grad is None:
        tensor.grad = Tensor._from(np.array(g, dtype=tensor.data.dtype))  # a copy the user owns
    elif tensor.grad.data.flags.writeable and tensor.grad.shape == np.shape(g):
        tensor.grad.data += g
        changed_in_place(tensor.grad.data)
    else:
        tensor.grad = Tensor._from(np.asarray(tensor.grad.data + g))


def add_gradient(buffers: dict, owned: set, key, g, shape: tuple, dtype, in_place: bool = True) -> bool:
    """Add the contribution ``g`` (cast to ``dtype``) to ``buffers[key]``; True when ``key`` had none yet.

    The first contribution is kept as it is (it may be a view or shared with another input); the
    second is added to it in place only if nothing else holds it (:func:`sole_reference`), else into
    a new array; from then on the buffer is the sweep's own and later ones are added in place (unless
    ``in_place`` is False: Tensors under ``create_graph`` are never mutated). An IndexedGrad goes
    straight into a zero buffer, so T slices of one array cost T slice-sized adds.
    """
    buf = buffers.get(key)
    if type(g) is IndexedGrad:  # its values are cast by the add
        if buf is None:
            buf = buffers[key] = np.zeros(shape, dtype=dtype)
            owned.add(key)
            g.add_into(buf)
            return True
        if key not in owned:
            buf = buffers[key] = np.array(buf, dtype=dtype)
            owned.add(key)
        g.add_into(buf)
        return False
    if type(g) is not np.ndarray and not isinstance(g, Tensor):
        g = np.asarray(g)  # NumPy arithmetic on 0-d arrays gives scalars, and `scalar += g` only rebinds a name
    if g.dtype is not dtype and g.dtype != dtype:  # e.g. a float64 constant met a float32 input
        g = g.astype(dtype)
    if buf is None:
        buffers[key] = g
        return True
    if key in owned or (in_place and sole_reference(buffers, key, extra=1)):  # `buf` is one more
        buf += g
    else:
        total = buf + g
        buffers[key] = np.asarray(total) if isinstance(total, np.generic) else total
    if in_place:
        owned.add(key)
    return False


def _references(container, key) -> int:
    value = container[key]
    return sys.getrefcount(value)  # the container's, `value`'s and the argument's when nothing else holds it


def _base_references(container, key) -> int:
    base = container[key].base
    return sys.getrefcount(base)  # the view's, `base`'s and the argument's when nothing else holds it


# measured, not assumed: interpreters count differently
_SOLE = _references({0: np.empty(1)}, 0)
_SOLE_BASE = _base_references({0: np.empty((2, 1)).T}, 0)


def sole_reference(container, key, extra: int = 0) -> bool:
    """Whether ``container[key]`` is an array nothing else holds and no view of it exists (beyond
    ``extra`` references the caller holds): then adding to it in place changes
    nothing anyone can see, as PyTorch steals a gradient nobody shares. The first contribution to a
    gradient (say one step's d weight_hh) is often such an array, and summing into it saves a copy.
    A view qualifies when nothing but it holds the array it views (a transposed product)."""
    value = container[key]
    if type(value) is not np.ndarray or not value.flags.writeable or sys.getrefcount(value) != _SOLE + extra:
        return False
    base = value.base
    return base is None or (type(base) is np.ndarray and sys.getrefcount(base) == _SOLE_BASE)


def sum_into_source(name: str, d: str, dtype: str, shape: str, summed: dict, cast: bool, indexed: bool) -> list[str]:
    """:func:`add_gradient` as source text for a compiled program: the lines that add contribution ``d``
    to gradient ``name``. ``summed`` maps each gradient to whether its buffer is the program's own (as
    ``owned`` does in the sweep); ``sole`` in the lines is :func:`sole_reference`."""
    lines = []
    if indexed:
        if name not in summed:
            lines.append(f"{name} = zeros({shape}, {dtype})")
        elif not summed[name]:
            lines.append(f"{name} = array({name}, {dtype})")
        summed[name] = True
        return lines + [f"{d}.add_into({name})"]
    if cast:
        lines.append(f"if {d}.dtype != {dtype}: {d} = {d}.astype({dtype})")
    if name not in summed:
        summed[name] = False  # the first contribution is kept as it is: it may be shared
        return lines + [f"{name} = {d}"]
    if summed[name]:
        return lines + [f"{name} += {d}"]
    summed[name] = True
    container, key = name.rstrip("]").split("[")
    return lines + [f"if sole({container}, {key}): {name} += {d}", f"else: {name} = {name} + {d}"]
