"""Linear algebra: matmul (its weight gradient one product over stacked rows, :func:`weight_grad`)
and einsum, and the inverse of a square matrix."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import blas
from ..tape import Entry
from .primitive import OTHERS, Grad, Primitive, in_shape, is_tensor, unbroadcast
from .shape import broadcast_to_, reshape_


def einsum_parameters(subscripts: str) -> tuple[str, list[str], str]:
    """An einsum's parameters: its subscripts without spaces, each operand's term, and the output's."""
    inputs, _, output = subscripts.replace(" ", "").partition("->")
    return f"{inputs}->{output}", inputs.split(","), output


def _matmul_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return blas.matmul(a, b)


def _matmul_vjp(g: Grad, entry: Entry) -> tuple:
    a, b = entry.ins  # a is kept only when b needs a gradient, and b only when a does
    need_a, need_b = entry.parents[0] is not None, entry.parents[1] is not None
    sa, sb = in_shape(entry, 0), in_shape(entry, 1)
    if len(sb) == 2 and len(sa) >= 2:  # the common case: fold a's batch dims into one matrix product
        ga = blas.matmul(g, b.T) if need_a else None
        return ga, (weight_grad((a,), (g,)) if need_b else None)
    # promote 1-D operands as matmul does, then undo it on the way back
    sa2 = (1,) + sa if len(sa) == 1 else sa
    sb2 = sb + (1,) if len(sb) == 1 else sb
    g2 = g
    if len(sa) == 1:
        g2 = g2.reshape(g2.shape[:-1] + (1,) + g2.shape[-1:]) if len(sb) > 1 else g2.reshape((1,))
    if len(sb) == 1:
        g2 = g2.reshape(g2.shape + (1,))
    ga = gb = None
    if need_a:
        ga = unbroadcast(blas.matmul(g2, b.reshape(sb2).swapaxes(-1, -2)), sa2).reshape(sa)
    if need_b:
        gb = unbroadcast(blas.matmul(a.reshape(sa2).swapaxes(-1, -2), g2), sb2).reshape(sb)
    return ga, gb


MATMUL = Primitive("matmul", _matmul_fwd, _matmul_vjp, keep_in=OTHERS)


def _rows(x: Any):
    """``x`` as a matrix of its last axis (``reshape(-1, n)`` cannot say how many rows when n is 0)."""
    return x.reshape((math.prod(x.shape[:-1]), x.shape[-1]))


def weight_grad(inputs: tuple, grads: tuple) -> np.ndarray:
    """The gradient of a 2-D weight ``b`` used by products ``input @ b``: the sum of ``input^T grad``
    over the pairs, as one product of their stacked rows (a replay can join a recurrent weight's steps
    this way; one pair is matmul's own VJP)."""
    a = _rows(inputs[0]) if len(inputs) == 1 else np.concatenate([_rows(x) for x in inputs])
    g = _rows(grads[0]) if len(grads) == 1 else np.concatenate([_rows(x) for x in grads])
    # BLAS makes a wide result faster as the transpose of g^T a
    return blas.matmul(g.T, a).T if a.shape[1] < g.shape[1] else blas.matmul(a.T, g)


def _einsum_fwd(p: Any, *arrays: np.ndarray) -> np.ndarray:
    subscripts, _, _ = p
    return np.einsum(subscripts, *arrays)


def _einsum_vjp(g: Grad, entry: Entry) -> tuple:
    _, terms, output = entry.p
    grads: list[Grad] = []
    for i, term in enumerate(terms):
        parent = entry.parents[i]
        if parent is None:
            grads.append(None)
            continue
        others = [x for j, x in enumerate(entry.ins) if j != i]
        seen = set(output).union(*(terms[j] for j in range(len(terms)) if j != i))
        kept = "".join(a for a in term if a in seen)  # the rest were summed in this operand alone
        spec = ",".join([output, *(terms[j] for j in range(len(terms)) if j != i)]) + "->" + kept
        recorded = is_tensor(g) or any(is_tensor(x) for x in others)  # create_graph
        grad = EINSUM(g, *others, p=einsum_parameters(spec)) if recorded else np.einsum(spec, g, *others)
        if kept != term:  # put back the axes summed in this operand alone, by broadcasting
            shape = parent.shape
            grad = reshape_(grad, tuple(n if a in kept else 1 for n, a in zip(shape, term)))
            grad = broadcast_to_(grad, shape)
        grads.append(grad)
    return tuple(grads)


# p: (subscripts, the operands' terms, the output's); each operand is read by the others' gradients
EINSUM = Primitive("einsum", _einsum_fwd, _einsum_vjp, keep_in=OTHERS)


def _inverse_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.linalg.inv(x)


def _inverse_vjp(g: Grad, entry: Entry) -> tuple:
    # d(A^-1) = -A^-1 dA A^-1, so the gradient is -A^-T g A^-T (PyTorch's), from the result alone
    yt = entry.out.swapaxes(-1, -2)
    return (-(yt @ g @ yt),)


INVERSE = Primitive("inverse", _inverse_fwd, _inverse_vjp, keep_out=True, floating=True)
