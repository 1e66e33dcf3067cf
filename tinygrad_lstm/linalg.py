"""``tl.linalg``: PyTorch's ``torch.linalg`` for real tensors, with its names, signatures and
batching (leading axes broadcast as PyTorch broadcasts them).

Norms, vecdot, multi_dot, cross, diagonal and matrix_power are composed of recorded primitives; det
(whose gradient, the cofactor matrix, is computed at singular matrices too), slogdet, inv and solve are
primitives whose VJPs are recorded ops, so that every gradient here has a second order; so is the
reduced SVD (``svd``, ``svdvals``, and through them the 2-norm, nuclear norm and ``cond``). What needs
another factorization (``qr``, ``eigh``, ``cholesky``...) is refused by name.

>>> import numpy as np, tinygrad_lstm as tl
>>> a = tl.tensor([[2.0, 1.0], [1.0, 3.0]], dtype=tl.float64)
>>> tl.linalg.det(a).item(), tl.linalg.solve(a, [4.0, 7.0]).tolist(), tl.linalg.norm(a, 1).item()
(5.000000000000001, [1.0, 2.0], 4.0)
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from . import ops
from .primitives.linalg import DET, INVERSE, SLOGDET, SOLVE, SVD_U, SVD_VH, SVDVALS
from .tensor import Operand, Tensor

__all__ = [
    "SlogdetResult",
    "SVDResult",
    "cond",
    "cross",
    "det",
    "diagonal",
    "inv",
    "logdet",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "multi_dot",
    "norm",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]


class SlogdetResult(NamedTuple):
    """``slogdet``'s pair, named as PyTorch's: ``det = sign * exp(logabsdet)``."""

    sign: Tensor
    logabsdet: Tensor


class SVDResult(NamedTuple):
    """``svd``'s triple, named as PyTorch's: ``A = U diag(S) Vh``."""

    U: Tensor
    S: Tensor
    Vh: Tensor


def _square(op: str, a: Operand) -> Tensor:
    """``a`` as a tensor of square matrices in its last two axes, or an error naming ``op``."""
    a = ops.as_tensor(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.{op}: expects square matrices (..., n, n), got shape {a.shape}")
    return a


def _singular(op: str, a: Tensor, e: Exception) -> ValueError:
    return ValueError(f"linalg.{op}: a matrix of the input (shape {a.shape}) is singular: {e}")


# ---- determinants and inverses -------------------------------------------------------------------------


def det(A: Operand) -> Tensor:  # noqa: N803 - PyTorch's argument names
    """The determinant of each square matrix. Its gradient is the cofactor matrix, det(A) A^-T where A
    is invertible, and defined at singular matrices too (PyTorch computes it there only under
    ``create_graph``; without, it gives 0 where LU meets an exact zero)."""
    return ops.apply(DET, (_square("det", A),))


def slogdet(A: Operand) -> SlogdetResult:  # noqa: N803
    """``(sign, logabsdet)`` of each square matrix: the determinant without its overflow. The sign's
    gradient is 0; logabsdet's is A^-T (at a singular matrix, where it is infinite, refused)."""
    both = ops.apply(SLOGDET, (_square("slogdet", A),))
    return SlogdetResult(ops.getitem(both, 0), ops.getitem(both, 1))


def logdet(A: Operand) -> Tensor:  # noqa: N803
    """log(det(A)): NaN where the determinant is negative, -inf where it is 0 (as PyTorch's)."""
    sign, logabsdet = slogdet(A)
    return ops.where(ops.compare(np.less, sign, 0.0), np.nan, logabsdet)


def inv(A: Operand) -> Tensor:  # noqa: N803
    """The inverse of each square matrix; its gradient is -A^-T g A^-T. A singular matrix is refused."""
    a = _square("inv", A)
    try:
        return ops.apply(INVERSE, (a,))
    except np.linalg.LinAlgError as e:
        raise _singular("inv", a, e) from e


def solve(A: Operand, B: Operand, *, left: bool = True) -> Tensor:  # noqa: N803
    """X with ``A X = B`` (``X A = B`` when ``left=False``), from one LU factorization, not the inverse.
    ``B`` is a batch of vectors when it is 1-D or has the shape ``A.shape[:-1]`` (PyTorch's rule), else a
    batch of matrices; batch axes broadcast."""
    a = _square("solve", A)
    b = ops.as_tensor(B)
    vector = b.ndim == 1 or (b.ndim == a.ndim - 1 and b.shape == a.shape[:-1])
    equation = "AX = B" if left else "XA = B"
    if b.ndim == 0 or (vector and not left and a.shape[-1] != 1):
        raise ValueError(f"linalg.solve: shapes {a.shape} and {b.shape} do not fit {equation}")
    if vector:
        b = ops.expand_dims(b, -1)
    if not left:  # X A = B is A^T X^T = B^T
        a, b = ops.swapaxes(a, -1, -2), ops.swapaxes(b, -1, -2)
    n = a.shape[-1]
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        batch = None
    if batch is None or b.shape[-2] != n:
        raise ValueError(f"linalg.solve: shapes {_shape(A)} and {_shape(B)} do not fit {equation}")
    dtype = np.result_type(a.dtype, b.dtype)
    if dtype.kind != "f":
        raise ValueError(f"linalg.solve: expects floating point tensors, got {a.dtype} and {b.dtype}")
    a = a if a.dtype == dtype else a.astype(dtype)
    b = b if b.dtype == dtype else b.astype(dtype)
    a = a if a.shape[:-2] == batch else ops.broadcast_to(a, batch + a.shape[-2:])
    b = b if b.shape[:-2] == batch else ops.broadcast_to(b, batch + b.shape[-2:])
    try:
        x = ops.apply(SOLVE, (a, b))
    except np.linalg.LinAlgError as e:
        raise _singular("solve", _square("solve", A), e) from e
    if not left:
        x = ops.swapaxes(x, -1, -2)
    return ops.squeeze(x, -1) if vector else x


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)


# ---- singular values -------------------------------------------------------------------------------------


def _matrices(op: str, a: Operand) -> Tensor:
    a = ops.as_tensor(a)
    if a.ndim < 2:
        raise ValueError(f"linalg.{op}: expects matrices (..., m, n), got shape {a.shape}")
    return a


def svdvals(A: Operand) -> Tensor:  # noqa: N803
    """The singular values of each matrix, largest first; their gradient is U diag(g) Vh (exact)."""
    return ops.apply(SVDVALS, (_matrices("svdvals", A),))


def svd(A: Operand, full_matrices: bool = True) -> SVDResult:  # noqa: N803
    """``A = U diag(S) Vh``, the reduced SVD (U: m x k, Vh: k x n, k = min(m, n)). The singular vectors
    are defined up to sign, and the gradient through them where the singular values are distinct, as
    PyTorch's. ``full_matrices=True`` (PyTorch's default) is the same for square matrices; of a
    non-square one it is refused (the columns it adds are any basis of a complement)."""
    a = _matrices("svd", A)
    if full_matrices and a.shape[-1] != a.shape[-2]:
        raise ValueError(
            f"linalg.svd: full_matrices=True of non-square matrices (shape {a.shape}) is not computed here; "
            "pass full_matrices=False"
        )
    return SVDResult(ops.apply(SVD_U, (a,)), ops.apply(SVDVALS, (a,)), ops.apply(SVD_VH, (a,)))


def cond(A: Operand, p: str | float | None = None) -> Tensor:  # noqa: N803
    """The condition number in the ``p``-norm: the largest singular value over the smallest (None or 2;
    -2 the inverse ratio), else ``matrix_norm(A, p) * matrix_norm(inv(A), p)`` of square matrices."""
    if p is None or (not isinstance(p, (str, bool)) and p in (2, -2)):
        s = svdvals(A)
        if s.shape[-1] == 0:
            raise ValueError(f"linalg.cond: the condition number of an empty matrix (shape {_shape(A)}) is undefined")
        big, small = ops.getitem(s, (Ellipsis, 0)), ops.getitem(s, (Ellipsis, -1))
        with np.errstate(divide="ignore", invalid="ignore"):  # a singular matrix: inf, as PyTorch's
            return small / big if p == -2 else big / small
    a = _square("cond", A)
    # a singular matrix (LU meets a zero) has condition number inf, as PyTorch's: it is inverted as the
    # identity, then its result replaced (recorded ops all, so that a replay decides again)
    singular = ops.expand_dims(ops.compare(np.equal, slogdet(a.detach()).sign, 0.0), (-2, -1))
    safe = ops.where(singular, np.eye(a.shape[-1], dtype=a.dtype), a)
    ratio = matrix_norm(safe, p) * matrix_norm(inv(safe), p)
    return ops.where(ops.squeeze(singular, (-2, -1)), np.inf, ratio)


# ---- products ---------------------------------------------------------------------------------------------


def matmul(input: Operand, other: Operand) -> Tensor:  # noqa: A002
    """``input @ other`` (``torch.linalg.matmul``, an alias)."""
    return ops.matmul(input, other)


def vecdot(x: Operand, y: Operand, *, dim: int = -1) -> Tensor:
    """The dot product of the vectors along ``dim`` (other axes broadcast): ``(x * y).sum(dim)``."""
    a, b = ops.as_tensor(x), ops.as_tensor(y)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"linalg.vecdot: shapes {a.shape} and {b.shape} do not broadcast") from None
    axis = ops._axis("linalg.vecdot", dim, len(shape))
    for s in (a.shape, b.shape):  # the vectors themselves do not broadcast (PyTorch's check)
        k = axis - (len(shape) - len(s))
        if k < 0 or s[k] != shape[axis]:
            raise ValueError(f"linalg.vecdot: the vectors along dim {dim} of shapes {a.shape} and {b.shape} differ")
    return ops.sum(a * b, axis)


def multi_dot(tensors: Sequence[Operand]) -> Tensor:
    """The product of a chain of matrices, in the order of fewest multiplications (as PyTorch and
    NumPy choose it); the first may be a row vector and the last a column vector (1-D)."""
    ts = [ops.as_tensor(t) for t in tensors]
    if len(ts) < 2:
        raise ValueError(f"linalg.multi_dot: expected at least 2 tensors, got {len(ts)}")
    shapes = [t.shape for t in ts]
    first_vector, last_vector = ts[0].ndim == 1, ts[-1].ndim == 1
    if first_vector:
        ts[0] = ops.reshape(ts[0], (1,) + ts[0].shape)
    if last_vector:
        ts[-1] = ops.reshape(ts[-1], ts[-1].shape + (1,))
    if any(t.ndim != 2 for t in ts):
        raise ValueError(
            f"linalg.multi_dot: the first and last tensors must be 1-D or 2-D, the others 2-D; got shapes {shapes}"
        )
    for i in range(len(ts) - 1):
        if ts[i].shape[1] != ts[i + 1].shape[0]:
            raise ValueError(f"linalg.multi_dot: tensors {i} and {i + 1} do not chain; got shapes {shapes}")
    out = _chain(ts, _order([ts[0].shape[0]] + [t.shape[1] for t in ts]), 0, len(ts) - 1)
    if first_vector and last_vector:
        return ops.reshape(out, ())
    if first_vector or last_vector:
        return ops.squeeze(out, 0 if first_vector else 1)
    return out


def _order(dims: list[int]) -> list[list[int]]:
    """Where to split each chain i..j (matrix k is dims[k] x dims[k + 1]) for the fewest scalar
    multiplications: the textbook dynamic program."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf  # type: ignore[call-overload]
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def _chain(ts: list[Tensor], split: list[list[int]], i: int, j: int) -> Tensor:
    if i == j:
        return ts[i]
    k = split[i][j]
    return ops.matmul(_chain(ts, split, i, k), _chain(ts, split, k + 1, j))


def cross(input: Operand, other: Operand, *, dim: int = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along ``dim`` (the last axis by default; ``tl.cross`` without a
    dim takes the first axis of length 3, as ``torch.cross``), other axes broadcast."""
    a, b = ops.as_tensor(input), ops.as_tensor(other)
    if a.ndim != b.ndim:  # PyTorch's rule: batch axes broadcast, the number of axes must agree
        raise ValueError(f"linalg.cross: inputs of shapes {a.shape} and {b.shape} differ in their number of axes")
    return ops.cross(a, b, dim)


def diagonal(A: Operand, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """The ``offset``-th diagonal of the matrices in axes ``dim1``, ``dim2`` (the last two by default)."""
    return ops.diagonal(ops.as_tensor(A), offset, dim1, dim2)


def matrix_power(A: Operand, n: int) -> Tensor:  # noqa: N803
    """A @ A @ ... (``n`` times, by repeated squaring); 0 gives the identity, a negative ``n`` the
    inverse's power."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(f"linalg.matrix_power: n must be an int, got {n!r}")
    return ops.matrix_power(_square("matrix_power", A), int(n))


# ---- norms ------------------------------------------------------------------------------------------------


def _as_float(op: str, x: Operand, dtype: npt.DTypeLike | None) -> Tensor:
    x = ops.as_tensor(x)
    if dtype is not None:
        if np.dtype(dtype).kind != "f":
            raise ValueError(f"linalg.{op}: dtype must be a float dtype, got {np.dtype(dtype)}")
        x = x if x.dtype == np.dtype(dtype) else x.astype(dtype)
    if x.dtype.kind != "f":
        raise ValueError(f"linalg.{op}: expects a floating point tensor, got {x.dtype} (pass dtype=)")
    return x


def _dims(op: str, dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...] | None:
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = tuple(ops._axis(f"linalg.{op}", d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise ValueError(f"linalg.{op}: dim {dim!r} names an axis twice")
    return axes if axes else None  # dim=() is every axis, as PyTorch reads it


def vector_norm(
    x: Operand,
    ord: float = 2,  # noqa: A002
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: npt.DTypeLike | None = None,
) -> Tensor:
    """The ``ord``-norm of the vectors along ``dim`` (all elements when None): any float, ``inf`` and
    ``-inf`` (largest and smallest magnitude), 0 (the count of non-zeros). At 0 the gradient is 0,
    PyTorch's subgradient."""
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float, np.integer, np.floating)):
        raise TypeError(f"linalg.vector_norm: ord must be a number (inf, -inf, 0 included), got {ord!r}")
    t = _as_float("vector_norm", x, dtype)
    if t.ndim == 0 and dim is not None:  # PyTorch's dim 0 (or -1) of a 0-d tensor: no axis at all
        ops.scalar_axis("linalg.vector_norm", dim if isinstance(dim, (int, np.integer)) else tuple(dim), 0)
        dim = None
    axes = _dims("vector_norm", dim, t.ndim)
    if abs(ord) == np.inf and (t.size == 0 if axes is None else builtins.any(t.shape[a] == 0 for a in axes)):
        raise ValueError(f"linalg.vector_norm: the {ord} norm of an empty vector (shape {t.shape}) is undefined")
    if t.ndim == 0 and axes is None:
        t = ops.reshape(t, (1,))
        return ops.reshape(ops.vector_norm(t, ord, None, keepdim), ())
    return ops.vector_norm(t, ord, axes, keepdim)


_MATRIX_ORDS = "'fro', 'nuc', inf, -inf, 1, -1, 2 or -2"


def matrix_norm(
    A: Operand,  # noqa: N803
    ord: str | float = "fro",  # noqa: A002
    dim: tuple[int, int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: npt.DTypeLike | None = None,
) -> Tensor:
    """The ``ord``-norm of the matrices in axes ``dim``: 'fro' (of the elements), 1 and -1 (the
    largest and smallest column sum of magnitudes), inf and -inf (row sums), 'nuc', 2 and -2 (the sum,
    largest and smallest of the singular values)."""
    a = _as_float("matrix_norm", A, dtype)
    if a.ndim < 2:
        raise ValueError(f"linalg.matrix_norm: expects a tensor of at least 2 axes, got shape {a.shape}")
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    if len(dims) != 2:
        raise ValueError(f"linalg.matrix_norm: dim must be a 2-tuple, got {dim!r}")
    axes = _dims("matrix_norm", dims, a.ndim)
    assert axes is not None
    rows, cols = axes
    if isinstance(ord, str):
        if ord == "fro":
            return ops.vector_norm(a, 2, axes, keepdim)
        if ord != "nuc":
            raise ValueError(f"linalg.matrix_norm: ord must be {_MATRIX_ORDS}, got {ord!r}")
    elif ord in (1, -1, np.inf, -np.inf) and not isinstance(ord, bool):
        # 1: the largest sum over rows (a column's); inf: the largest sum over columns (a row's)
        summed, over = (rows, cols) if abs(ord) == 1 else (cols, rows)
        sums = ops.sum(ops.abs(a), summed, True)
        if sums.shape[over] == 0:  # nothing to choose from: PyTorch's constant 0, or its refusal
            if ord < 0:
                raise ValueError(f"linalg.matrix_norm: the {ord} norm of a matrix of shape {a.shape} is undefined")
            out = ops.zeros_like(ops.sum(sums.detach(), over, True))
        else:
            out = ops.max(sums, over, True) if ord > 0 else ops.min(sums, over, True)
        return out if keepdim else ops.squeeze(out, axes)
    elif ord not in (2, -2) or isinstance(ord, bool):
        raise ValueError(f"linalg.matrix_norm: ord must be {_MATRIX_ORDS}, got {ord!r}")
    # of the singular values: their sum ('nuc'), the largest (2), the smallest (-2)
    moved = a if axes == (a.ndim - 2, a.ndim - 1) else ops.movedim(a, axes, (-2, -1))
    s = svdvals(moved)
    if ord == "nuc":
        out = ops.sum(s, -1)
    elif s.shape[-1] == 0:  # no singular values: PyTorch's constant 0, or its refusal
        if ord == -2:
            raise ValueError(f"linalg.matrix_norm: the {ord} norm of a matrix of shape {a.shape} is undefined")
        out = ops.zeros_like(ops.sum(s.detach(), -1))
    else:
        out = ops.max(s, -1) if ord == 2 else ops.min(s, -1)
    return ops.expand_dims(out, tuple(sorted(axes))) if keepdim else out


def norm(
    A: Operand,  # noqa: N803
    ord: str | float | None = None,  # noqa: A002
    dim: int | Sequence[int] | None = None,
    keepdim: bool = False,
    *,
    dtype: npt.DTypeLike | None = None,
) -> Tensor:
    """PyTorch's dispatch: a vector norm when ``dim`` is an int or 1-tuple, a matrix norm when it is a
    2-tuple; without ``dim``, the 2-norm of all elements when ``ord`` is None, else the vector or
    matrix norm of a 1-D or 2-D input."""
    a = ops.as_tensor(A)
    if dim is not None:
        dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
        if len(dims) == 2:
            return matrix_norm(a, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
        if len(dims) != 1:
            raise ValueError(f"linalg.norm: dim must be an int, a 1-tuple or a 2-tuple, got {dim!r}")
        if isinstance(ord, str):
            raise ValueError(f"linalg.norm: ord={ord!r} is a matrix norm, but dim {dim!r} names one axis")
        return vector_norm(a, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(a, 2, None, keepdim, dtype=dtype)
    if a.ndim == 2:
        return matrix_norm(a, ord, (-2, -1), keepdim, dtype=dtype)
    if a.ndim == 1 and not isinstance(ord, str):
        return vector_norm(a, ord, None, keepdim, dtype=dtype)
    raise ValueError(f"linalg.norm: with ord={ord!r} and no dim, the input must be 1-D or 2-D, got shape {a.shape}")


# what torch.linalg has and this module does not: say so by name, not with a bare AttributeError
_NOT_HERE = set(
    (
        "eig eigvals eigh eigvalsh qr lu lu_factor lu_factor_ex lu_solve cholesky cholesky_ex "
        "ldl_factor ldl_factor_ex ldl_solve lstsq pinv matrix_rank matrix_exp householder_product "
        "solve_triangular tensorinv tensorsolve inv_ex solve_ex vander"
    ).split()
)


def __getattr__(name: str) -> Any:
    if name in _NOT_HERE:
        raise AttributeError(f"tl.linalg.{name} is not implemented; tl.linalg has {', '.join(__all__[1:])}")
    raise AttributeError(f"module 'tinygrad_lstm.linalg' has no attribute {name!r}")
