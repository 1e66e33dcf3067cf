"""Linear algebra: matmul (its weight gradient one product over stacked rows, :func:`weight_grad`)
and einsum; of square matrices the inverse, the determinant (with the cofactor matrix, its gradient),
slogdet and solve; of any matrix the reduced SVD, as three primitives (singular values, U, Vh)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import blas
from ..tape import Entry
from .elementwise import where_
from .primitive import KERNEL, OTHERS, Grad, Primitive, data, in_shape, is_tensor, shape_of, unbroadcast
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


def _matmul_t_fwd(p: Any, a: np.ndarray, b: np.ndarray, b_t: np.ndarray) -> np.ndarray:
    return blas.matmul(a, b)


def _matmul_t_vjp(g: Grad, entry: Entry) -> tuple:
    a, _, b_t = entry.ins  # a is kept when b needs a gradient, b_t when a does (b itself never: a copy)
    ga = None
    if entry.parents[0] is not None:  # g b^T, by b_t: no transposed operand
        parent = entry.parents[1]
        if (
            is_tensor(g) and parent is not None
        ):  # create_graph: b's values (b_t.T) as b, so a second gradient reaches it
            b_t = KERNEL.tensor._from(b_t.T, parent).T
        ga = blas.matmul(g, b_t)
    return ga, (weight_grad((a,), (g,)) if entry.parents[1] is not None else None), None


# ``a @ b`` whose VJP multiplies by ``b_t``, b.T's values in a layout of their own: on OpenBLAS a product
# with a transposed operand (``h @ U.T``, ``g @ b.T``) takes about twice as long at an RNN's sizes, so a
# recurrent layer lays U.T out once per sequence for its forward products (b) and hands U itself (b_t)
# to their VJPs. b_t gets no gradient: b's is the product's, as matmul's.
MATMUL_T = Primitive("matmul_t", _matmul_t_fwd, _matmul_t_vjp, keep_in=((1,), (), (0,)))


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


def _det_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    return np.linalg.det(x)


def _det_vjp(g: Grad, entry: Entry) -> tuple:
    # d det(A) = <cof(A), dA>: the cofactor matrix, a polynomial in A, so defined at singular A too
    a = entry.ins[0]
    cof = COFACTOR(a) if is_tensor(a) else _cofactor_fwd(None, a)
    return (g.reshape(g.shape + (1, 1)) * cof,)


DET = Primitive("det", _det_fwd, _det_vjp, keep_in=True, floating=True)


def _svd_parts(a: np.ndarray) -> tuple:
    """``a = u diag(s) vh``, det(u) det(vh), and ``P[..., i, j]``: the product of the singular values
    other than the i-th and the j-th (on the diagonal: all but the i-th), from products of prefixes
    and suffixes, so that singular values of 0 need no division. A matrix with a NaN or an infinity
    (the SVD would not converge) gets NaN signs, so NaN results, as PyTorch's gradients there."""
    broken = ~np.isfinite(a).all(axis=(-2, -1))
    u, s, vh = np.linalg.svd(np.where(broken[..., None, None], 0.0, a) if broken.any() else a)
    signs = np.where(broken, np.nan, np.linalg.det(u) * np.linalg.det(vh))
    n = s.shape[-1]
    t = np.array(np.broadcast_to(s[..., None, :], s.shape + (n,)))  # row i: s with s_i set to 1
    t[..., np.arange(n), np.arange(n)] = 1.0
    ones = np.ones(t.shape[:-1] + (1,), t.dtype)
    before = np.cumprod(np.concatenate([ones, t[..., :-1]], -1), -1)
    after = np.cumprod(np.concatenate([ones, t[..., :0:-1]], -1), -1)[..., ::-1]
    return u, vh, signs[..., None, None], before * after


def _cofactor_fwd(p: Any, a: np.ndarray) -> np.ndarray:
    # cof(A) = det(A) A^-T where A is invertible; cof(U S Vh) = det(U) det(Vh) U cof(S) Vh everywhere,
    # and cof(S) of a diagonal S is diagonal: the products of all the other singular values
    if a.shape[-1] == 0 or a.size == 0:
        return np.zeros_like(a)
    u, vh, signs, products = _svd_parts(a)
    rest = np.diagonal(products, 0, -2, -1)
    return (signs * (u * rest[..., None, :]) @ vh).astype(a.dtype, copy=False)


def _cofactor_vjp(g: Grad, entry: Entry) -> tuple:
    a = entry.ins[0]
    if is_tensor(g):  # create_graph: recorded through the inverse, so that it differentiates again
        try:
            yt = INVERSE(a).swapaxes(-1, -2)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"det: a third derivative at a singular matrix (shape {tuple(shape_of(a))}) is not implemented"
            ) from None
        # cof = det A^-T: d cof = det (<A^-T, dA> A^-T - A^-T dA^T A^-T)
        inner = (g * yt).sum(axis=(-2, -1), keepdims=True)
        d = DET(a)
        return (d.reshape(d.shape + (1, 1)) * (inner * yt - yt @ g.swapaxes(-1, -2) @ yt),)
    if a.size == 0:
        return (np.zeros_like(a),)
    # with A = U S Vh and F = U^T dA Vh^T: d cof(A) = det(U) det(Vh) U cof'(S)[F] Vh, where
    # cof'(S)[F]_ii = sum_(k != i) F_kk P_ik and cof'(S)[F]_ij = -F_ji P_ij: exact at any rank
    u, vh, signs, products = _svd_parts(a)
    n = a.shape[-1]
    h = signs * (u.swapaxes(-1, -2) @ g @ vh.swapaxes(-1, -2))
    off = products.copy()
    off[..., np.arange(n), np.arange(n)] = 0.0
    fbar = -(h * products).swapaxes(-1, -2)
    fbar[..., np.arange(n), np.arange(n)] = (off @ np.diagonal(h, 0, -2, -1)[..., None])[..., 0]
    return ((u @ fbar @ vh).astype(a.dtype, copy=False),)


COFACTOR = Primitive("cofactor", _cofactor_fwd, _cofactor_vjp, keep_in=True)


def _slogdet_fwd(p: Any, x: np.ndarray) -> np.ndarray:
    sign, logabsdet = np.linalg.slogdet(x)
    return np.stack([sign, logabsdet]).astype(x.dtype, copy=False)  # one LAPACK call; the front door splits it


def _slogdet_vjp(g: Grad, entry: Entry) -> tuple:
    # the sign's gradient is 0; d log|det A| = <A^-T, dA>
    a = entry.ins[0]
    if not np.all(np.isfinite(data(entry.out)[1])):
        raise ValueError(
            f"slogdet: the gradient of logabsdet at a singular matrix (shape {tuple(shape_of(a))}) is infinite"
        )
    inv = INVERSE(a) if is_tensor(a) else np.linalg.inv(a)
    g1 = g[1]
    return (g1.reshape(g1.shape + (1, 1)) * inv.swapaxes(-1, -2),)


# result: sign and logabsdet stacked on a new first axis
SLOGDET = Primitive("slogdet", _slogdet_fwd, _slogdet_vjp, keep_in=True, keep_out=True, floating=True)


def _solve_fwd(p: Any, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(a, b)


def _solve_vjp(g: Grad, entry: Entry) -> tuple:
    # X = A^-1 B: dB = A^-T g, dA = -dB X^T (a and b of one batch shape, matrices: the front door's work)
    a = entry.ins[0]
    at = a.swapaxes(-1, -2)
    gb = SOLVE(at, g) if is_tensor(g) or is_tensor(a) else np.linalg.solve(at, g)
    ga = -(gb @ entry.out.swapaxes(-1, -2)) if entry.parents[0] is not None else None
    return ga, (gb if entry.parents[1] is not None else None)


SOLVE = Primitive("solve", _solve_fwd, _solve_vjp, keep_in=((0, 1), ()), keep_out=(0,))


# ---- the reduced SVD, A = U diag(S) Vh (U: m x k, Vh: k x n, k = min(m, n)), as three primitives whose
# VJPs are built of the three (and arithmetic), so that every order of gradient is recorded. Singular
# vectors are defined only up to sign, and the gradient through them only where the singular values
# are distinct (1 / (s_j^2 - s_i^2) below), as PyTorch's; the singular values' own gradient is exact.


def _svdvals_fwd(p: Any, a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a, compute_uv=False)


def _svd_u_fwd(p: Any, a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a, full_matrices=False)[0]


def _svd_vh_fwd(p: Any, a: np.ndarray) -> np.ndarray:
    return np.linalg.svd(a, full_matrices=False)[2]


def _svd_factors(a: Grad) -> tuple:
    """U, S, Vh of ``a``: recorded on a Tensor (create_graph), arrays otherwise."""
    if is_tensor(a):
        return SVD_U(a), SVDVALS(a), SVD_VH(a)
    return tuple(np.linalg.svd(a, full_matrices=False))


def _svdvals_vjp(g: Grad, entry: Entry) -> tuple:
    # dS_i = u_i^T dA v_i
    u, _, vh = _svd_factors(entry.ins[0])
    return ((u * g[..., None, :]) @ vh,)


def _singular_vectors_vjp(a: Grad, gu: Grad, gvh: Grad) -> Grad:
    """The gradient through U (``gu``) or Vh (``gvh``), Townsend's formula for the reduced SVD:
    U [(F o (U^T gU - gU^T U)) S + S (F o (V^T gV - gV^T V))] Vh + (I - U U^T) gU S^-1 Vh
    + U S^-1 gV^T (I - V Vh), with F_ij = 1 / (s_j^2 - s_i^2) off the diagonal and 0 on it."""
    u, s, vh = _svd_factors(a)
    k = s.shape[-1]
    off = ~np.eye(k, dtype=bool)
    s2 = s * s
    with np.errstate(divide="ignore", invalid="ignore"):  # equal singular values: inf, as PyTorch's
        f = where_(off, 1.0 / where_(off, s2[..., None, :] - s2[..., :, None], 1.0), 0.0)
        if gu is not None:
            utg = u.swapaxes(-1, -2) @ gu
            core = (f * (utg - utg.swapaxes(-1, -2))) * s[..., None, :]
            out = u @ core @ vh
            if u.shape[-2] > k:  # the part of gU outside U's columns
                out = out + ((gu - u @ utg) / s[..., None, :]) @ vh
        else:
            vtg = vh @ gvh.swapaxes(-1, -2)
            core = s[..., :, None] * (f * (vtg - vtg.swapaxes(-1, -2)))
            out = u @ core @ vh
            if vh.shape[-1] > k:  # the part of gVh outside Vh's rows
                out = out + u @ ((gvh - (gvh @ vh.swapaxes(-1, -2)) @ vh) / s[..., :, None])
    return out


def _svd_u_vjp(g: Grad, entry: Entry) -> tuple:
    return (_singular_vectors_vjp(entry.ins[0], g, None),)


def _svd_vh_vjp(g: Grad, entry: Entry) -> tuple:
    return (_singular_vectors_vjp(entry.ins[0], None, g),)


SVDVALS = Primitive("svdvals", _svdvals_fwd, _svdvals_vjp, keep_in=True, floating=True)
SVD_U = Primitive("svd_u", _svd_u_fwd, _svd_u_vjp, keep_in=True, floating=True)
SVD_VH = Primitive("svd_vh", _svd_vh_fwd, _svd_vh_vjp, keep_in=True, floating=True)
