"""Indexing: getitem (a view for basic indices, a copy for advanced ones), its adjoint scatter_add,
and index_put (what ``x[i] = v`` records). A getitem's gradient on the usual path is an
:class:`IndexedGrad`, added into the parent's buffer in place by the sweep."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..tape import Entry
from .primitive import Grad, Primitive, is_tensor, unbroadcast


def _getitem_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    index, _, basic = p
    out = x[index]
    if basic and type(out) is not np.ndarray:  # one element: a 0-d view of it, as PyTorch's (not a copy)
        out = x[(index if type(index) is tuple else (index,)) + (Ellipsis,)]
    return out


def _getitem_vjp(g: Grad, entry: Entry) -> tuple:
    index, shape, basic = entry.p
    if is_tensor(g):
        return (SCATTER_ADD(g, p=(index, shape, basic)),)
    return (IndexedGrad(g, index, shape, basic),)


GETITEM = Primitive("getitem", _getitem_fwd, _getitem_vjp, view=True)  # p: (index, shape, basic)


class IndexedGrad:
    """A gradient that is zero except at ``index``: the sweep adds it into the parent's buffer in
    place, so T slices of one array cost T slice-sized adds, not T full-size arrays."""

    __slots__ = ("values", "index", "shape", "basic")

    def __init__(self, values: Any, index: Any, shape: tuple[int, ...], basic: bool) -> None:
        self.values, self.index, self.shape, self.basic = values, index, shape, basic

    def add_into(self, buffer: np.ndarray) -> None:
        if self.basic:
            region = buffer[self.index]  # a view: one indexing, not the two of `buffer[i] += v`
            if type(region) is np.ndarray:
                np.add(region, self.values, out=region)
            else:  # a single element: indexing gave a scalar copy, not a view
                buffer[self.index] += self.values
        else:
            np.add.at(buffer, self.index, self.values)  # repeated indices add up

    def dense(self, dtype: npt.DTypeLike) -> np.ndarray:
        buffer = np.zeros(self.shape, dtype=dtype)
        self.add_into(buffer)
        return buffer


def _scatter_add_fwd(p: Any, g: np.ndarray) -> np.ndarray:
    return IndexedGrad(g, *p).dense(g.dtype)


def _scatter_add_vjp(g: Grad, entry: Entry) -> tuple:
    index, _, _ = entry.p
    return (g[index],)


SCATTER_ADD = Primitive("scatter_add", _scatter_add_fwd, _scatter_add_vjp)  # getitem's adjoint


def _index_put_fwd(p: Any, x: np.ndarray, v: Any) -> np.ndarray:
    index, _ = p
    out = x.copy()
    out[index] = v
    return out


def _index_put_vjp(g: Grad, entry: Entry) -> tuple:
    index, v_shape = entry.p
    gx = gv = None
    if entry.parents[0] is not None:  # the overwritten elements had no effect on the result
        gx = INDEX_PUT(g, 0.0, p=(index, ())) if is_tensor(g) else _index_put_fwd(entry.p, g, 0.0)
    if entry.parents[1] is not None:  # every position v was written to, as PyTorch's index_put_
        written = g[index]
        if written.ndim < len(v_shape):  # NumPy lets v carry extra leading 1s
            written = written.reshape((1,) * (len(v_shape) - written.ndim) + written.shape)
        gv = unbroadcast(written, v_shape)
    return gx, gv


INDEX_PUT = Primitive("index_put", _index_put_fwd, _index_put_vjp)  # p: (index, the value's shape)
