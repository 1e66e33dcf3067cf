"""Generated programs for the differential and in-place tests (Hypothesis strategies and tables).

A program is a list of operations over a pool of values that starts with a few leaves of shapes
(), (3,), (2, 1) and (2, 3) (any two of which broadcast, so every binary op is valid) and grows by
one value per operation. Operands are drawn from the whole pool, with replacement, so 0-d and
shaped values are reused many times, and a loss sums several of them. Each op has a form in this
engine and one in PyTorch; PyTorch is imported only if it is installed, and only the differential
tests run its forms, so the tests that use programs without PyTorch still run without it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except ImportError:
    torch = TF = None


def _inplace_mix(a):
    """In-place updates of a result that requires grad (recorded), written once for both engines."""
    h = a * 1.0
    h *= 0.5
    h += a.tanh()
    h.clamp_(-0.9, 0.9)
    return h


def _set_row(a):
    h = a * 1.0
    h[0] = a[1] * 2.0
    return h


def _set_picked(a):
    h = a * 1.0
    h[[0, 2]] = a[1]
    return h


def _write_diagonal_of_transpose(a):
    b = (a * 1.0).t()  # a view of another layout: its diagonal is a strided view of it
    b.diagonal().mul_(3.0)
    return b.t()


def _write_windows(a):
    """Writes into unfold windows of a transpose: apart (step 2), then one of windows that share rows."""
    h = (a * 1.0).t()  # (3, 2)
    h.unfold(0, 1, 2).mul_(a[:, :1].t().unsqueeze(-1).tanh() + 1.0)
    h.unfold(0, 2, 1)[1].add_(a[0, 1] * 0.5)
    return h.t() + (h.unfold(0, 2, 1) ** 2).sum() * 0.1  # (the windows read after the writes)


def _set_through_view(a):
    """A recorded write into a view (a row of h), the view used afterwards: allowed, as in PyTorch."""
    h = a * 1.0
    row = h[0]
    row[1] = a[1, 0] * 3.0
    return row * 1.0


SHAPES = [(), (3,), (2, 1), (2, 3)]


def _broadcast(*shapes):
    return tuple(np.broadcast_shapes(*shapes))


# name -> (number of operands, shape rule or None when any shapes work, tinygrad form, torch form).
# Domain-restricted ops read a positive or bounded version of their operand, written in each
# engine's own ops, so every generated program is differentiable everywhere it is evaluated.
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 0.5), lambda a, b: a / (b * b + 0.5)),
    "rsub_const": (lambda a, b: 1.5 - a * b, lambda a, b: 1.5 - a * b),
    "maximum": (lambda a, b: tl.maximum(a, b), lambda a, b: torch.maximum(a, b)),
    "minimum": (lambda a, b: tl.minimum(a, b), lambda a, b: torch.minimum(a, b)),
    "pow": (lambda a, b: (a * a + 0.5) ** b.tanh(), lambda a, b: (a * a + 0.5) ** b.tanh()),
}
UNARY = {
    "neg": (lambda a: -a, lambda a: -a),
    "tanh": (lambda a: a.tanh(), lambda a: a.tanh()),
    "sigmoid": (lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "exp": (lambda a: a.tanh().exp(), lambda a: a.tanh().exp()),
    "log": (lambda a: (a * a + 0.1).log(), lambda a: (a * a + 0.1).log()),
    "sqrt": (lambda a: (a * a + 0.1).sqrt(), lambda a: (a * a + 0.1).sqrt()),
    "abs": (lambda a: a.abs(), lambda a: a.abs()),
    "relu": (lambda a: a.relu(), lambda a: a.relu()),
    "square": (lambda a: a**2, lambda a: a**2),
    "cube": (lambda a: a**3, lambda a: a**3),
    "scale": (lambda a: a * 0.7 + 0.2, lambda a: a * 0.7 + 0.2),
    "clip": (lambda a: a.clip(-0.8, 0.9), lambda a: a.clamp(-0.8, 0.9)),
    # exact zeros raised to constant powers, 0 included: d(x**0)/dx must be 0, not 0 * inf (relu's own
    # mask would hide that NaN, a product by 0 passes it on)
    **{f"relu_pow{k}": (lambda a, k=k: a.relu() ** k, lambda a, k=k: a.relu() ** k) for k in range(4)},
    **{f"zero_pow{k}": (lambda a, k=k: (a * 0.0) ** k, lambda a, k=k: (a * 0.0) ** k) for k in range(3)},
    # far into sigmoid's negative tail (down to -85), where precision used to vanish
    "log_sigmoid_tail": (lambda a: (a * 30.0 - 40.0).sigmoid().log(), lambda a: (a * 30.0 - 40.0).sigmoid().log()),
    "inplace": (_inplace_mix, _inplace_mix),
    # the ops students reach for, spelled as in PyTorch in both engines
    "log1p": (lambda a: (a * a).log1p(), lambda a: (a * a).log1p()),
    "expm1": (lambda a: a.tanh().expm1(), lambda a: a.tanh().expm1()),
    "sin": (lambda a: a.sin(), lambda a: a.sin()),
    "cos": (lambda a: a.cos(), lambda a: a.cos()),
    "rsqrt": (lambda a: (a * a + 0.5).rsqrt(), lambda a: (a * a + 0.5).rsqrt()),
    "sign": (lambda a: a.sign() * a, lambda a: a.sign() * a),
    "reciprocal": (lambda a: (a * a + 0.5).reciprocal(), lambda a: (a * a + 0.5).reciprocal()),
    "scalar_over": (lambda a: 1.5 / (a * a + 0.5), lambda a: 1.5 / (a * a + 0.5)),
    # round(t, 1) is NumPy's round of an array (PyTorch's tensors have no __round__: torch.round)
    "round": (
        lambda a: (a * 3.0).round() * a + round(a * 2.0, 1),
        lambda a: (a * 3.0).round() * a + (a * 2.0).round(decimals=1),
    ),
    "softplus": (lambda a: F.softplus(a * 8.0, threshold=5.0), lambda a: TF.softplus(a * 8.0, threshold=5.0)),
    "elu": (lambda a: F.elu(a), lambda a: TF.elu(a)),
    "gelu": (lambda a: F.gelu(a), lambda a: TF.gelu(a)),
    "gelu_tanh": (lambda a: F.gelu(a, "tanh"), lambda a: TF.gelu(a, approximate="tanh")),
    "silu": (lambda a: F.silu(a), lambda a: TF.silu(a)),
    "leaky_relu": (lambda a: F.leaky_relu(a, 0.1), lambda a: TF.leaky_relu(a, 0.1)),
    "hardtanh": (lambda a: F.hardtanh(a, -0.5, 0.5), lambda a: TF.hardtanh(a, -0.5, 0.5)),
    "erfinv": (lambda a: (a.tanh() * 0.9).erfinv(), lambda a: (a.tanh() * 0.9).erfinv()),
    # past 20, where PyTorch's trigamma (lgamma's second derivative, digamma's first) is good to 1e-13; nearer 0
    # it is good to ~5e-10 only (tests/test_special_gamma.py compares there with mpmath)
    "lgamma": (lambda a: (a * a + 20.0).lgamma(), lambda a: (a * a + 20.0).lgamma()),
    "digamma": (lambda a: (a * a + 20.0).digamma(), lambda a: (a * a + 20.0).digamma()),
    "polygamma2": (lambda a: (a * a + 0.5).polygamma(2), lambda a: (a * a + 0.5).polygamma(2)),
}
# shape-changing ops: (applies to shape, tinygrad form, torch form)
SHAPED = {
    "sum": (lambda s: True, lambda a: a.sum(), lambda a: a.sum()),
    "mean": (lambda s: True, lambda a: a.mean(), lambda a: a.mean()),
    "sum0": (lambda s: s == (2, 3), lambda a: a.sum(axis=0), lambda a: a.sum(dim=0)),
    "max1k": (lambda s: s == (2, 3), lambda a: a.max(axis=1, keepdims=True), lambda a: a.amax(dim=1, keepdim=True)),
    "mean1k": (lambda s: s == (2, 3), lambda a: a.mean(axis=1, keepdims=True), lambda a: a.mean(dim=1, keepdim=True)),
    "row": (lambda s: s == (2, 3), lambda a: a[1], lambda a: a[1]),
    "col": (lambda s: s == (2, 3), lambda a: a[:, 1:2], lambda a: a[:, 1:2]),
    "pick": (lambda s: s == (3,), lambda a: a[np.array([2, 0, 2])], lambda a: a[torch.tensor([2, 0, 2])]),
    "elem": (lambda s: s == (3,), lambda a: a[1], lambda a: a[1]),
    "matvec": (
        lambda s: s == (2, 3),
        lambda a: (a @ a[0]).reshape(2, 1),
        lambda a: (a @ a[0]).reshape(2, 1),
    ),
    "dot": (lambda s: s == (3,), lambda a: a @ a.tanh(), lambda a: a @ a.tanh()),
    "transpose_back": (lambda s: s == (2, 3), lambda a: (a.T * 1.0).T, lambda a: (a.T * 1.0).T),
    "logsumexp": (
        lambda s: s == (2, 3),
        lambda a: a.logsumexp(axis=1, keepdims=True),
        lambda a: a.logsumexp(dim=1, keepdim=True),
    ),
    "softmax": (lambda s: s == (2, 3), lambda a: a.softmax(axis=1), lambda a: a.softmax(dim=1)),
    "cat": (
        lambda s: s == (2, 3),
        lambda a: tl.cat([a, a * 2], axis=1)[:, 1:4],
        lambda a: torch.cat([a, a * 2], 1)[:, 1:4],
    ),
    "stack": (lambda s: s == (3,), lambda a: tl.stack([a, a.tanh()])[1], lambda a: torch.stack([a, a.tanh()])[1]),
    "set_row": (lambda s: s == (2, 3), _set_row, _set_row),
    "set_picked": (lambda s: s == (3,), _set_picked, _set_picked),
    "set_through_view": (lambda s: s == (2, 3), _set_through_view, _set_through_view),
    "prod": (lambda s: s == (2, 3), lambda a: a.prod(dim=1, keepdim=True), lambda a: a.prod(dim=1, keepdim=True)),
    "prod_all": (lambda s: True, lambda a: a.prod(), lambda a: a.prod()),
    "cumsum": (lambda s: s == (2, 3), lambda a: a.cumsum(dim=1), lambda a: a.cumsum(dim=1)),
    "var": (lambda s: s == (2, 3), lambda a: a.var(dim=1, keepdim=True), lambda a: a.var(dim=1, keepdim=True)),
    # away from 0, where the norm has no second derivative (PyTorch says NaN there, we say 0)
    "norm": (lambda s: True, lambda a: (a * a + 0.1).norm(), lambda a: (a * a + 0.1).norm()),
    "flip": (lambda s: s == (2, 3), lambda a: a.flip(1), lambda a: a.flip(1)),
    "diagonal_write": (lambda s: s == (2, 3), _write_diagonal_of_transpose, _write_diagonal_of_transpose),
    # the windows [a0, a1], [a1, a2] of each row flattened and cut to [a1, a1, a2]: a1's gradient adds two
    "unfold": (
        lambda s: s == (2, 3),
        lambda a: a.unfold(1, 2, 1).reshape(2, 4)[:, 1:],
        lambda a: a.unfold(1, 2, 1).reshape(2, 4)[:, 1:],
    ),
    "unfold_write": (lambda s: s == (2, 3), _write_windows, _write_windows),
    "diagonal_scatter": (
        lambda s: s == (2, 3),
        lambda a: tl.diagonal_scatter(a, a[:, 0].tanh(), 1),
        lambda a: torch.diagonal_scatter(a, a[:, 0].tanh(), 1),
    ),
    "contiguous": (lambda s: s == (2, 3), lambda a: a.t().contiguous().t(), lambda a: a.t().contiguous().t()),
    "tril": (lambda s: s == (2, 3), lambda a: a.tril(), lambda a: a.tril()),
    "gather": (
        lambda s: s == (2, 3),
        lambda a: a.gather(1, np.array([[2, 0, 2], [1, 1, 0]])),
        lambda a: a.gather(1, torch.tensor([[2, 0, 2], [1, 1, 0]])),
    ),
    "pad": (lambda s: s == (3,), lambda a: F.pad(a, (1, 2))[1:4], lambda a: TF.pad(a, (1, 2))[1:4]),
    "einsum": (
        lambda s: s == (2, 3),
        lambda a: tl.einsum("ij,kj->ik", a, a.tanh()) @ np.ones((2, 3)),
        lambda a: torch.einsum("ij,kj->ik", a, a.tanh()) @ torch.ones((2, 3), dtype=a.dtype),
    ),
    "where": (
        lambda s: s == (2, 3),
        lambda a: tl.where(np.array([[True, False, True], [False, True, True]]), a, a * a),
        lambda a: torch.where(torch.tensor([[True, False, True], [False, True, True]]), a, a * a),
    ),
}


@st.composite
def programs(draw):
    n_leaves = draw(st.integers(1, 4))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(n_leaves)]
    pool = list(shapes)
    ops = []
    for _ in range(draw(st.integers(1, 10))):
        kind = draw(st.sampled_from(["binary", "binary", "unary", "shaped"]))
        if kind == "binary":
            name = draw(st.sampled_from(sorted(BINARY)))
            i, j = draw(st.integers(0, len(pool) - 1)), draw(st.integers(0, len(pool) - 1))
            ops.append((kind, name, (i, j)))
            pool.append(_broadcast(pool[i], pool[j]))
        elif kind == "unary":
            name = draw(st.sampled_from(sorted(UNARY)))
            i = draw(st.integers(0, len(pool) - 1))
            ops.append((kind, name, (i,)))
            pool.append(pool[i])
        else:
            i = draw(st.integers(0, len(pool) - 1))
            fitting = [n for n, (ok, _, _) in sorted(SHAPED.items()) if ok(pool[i])]
            name = draw(st.sampled_from(fitting))
            ops.append((kind, name, (i,)))
            pool.append(np.shape(SHAPED[name][1](tl.zeros(*pool[i])).data))
    # the loss sums the last value and several others, with repeats: more contributions per value
    terms = [len(pool) - 1] + draw(st.lists(st.integers(0, len(pool) - 1), max_size=3))
    seed = draw(st.integers(0, 2**16))
    return shapes, ops, terms, seed


def run(program, leaves, engine: str):
    shapes, ops, terms, _ = program
    pool = list(leaves)
    col = 0 if engine == "tl" else 1
    for kind, name, args in ops:
        table = {"binary": BINARY, "unary": UNARY}.get(kind)
        fn = table[name][col] if table else SHAPED[name][1 + col]
        pool.append(fn(*[pool[i] for i in args]))
    loss = pool[terms[0]].sum()
    for k in terms[1:]:
        loss = loss + pool[k].sum() * 0.5
    return loss, pool


def leaf_arrays(program):
    shapes, _, _, seed = program
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=s) for s in shapes]


def tangents_and_torch_jvp(program):
    """The program's leaf arrays, a tangent per leaf, and PyTorch's ``(output, J v)`` by its own forward
    mode (``torch.func.jvp``) in float64; None for the last when PyTorch cannot compute it (then there
    is nothing to compare)."""
    arrays = leaf_arrays(program)
    tangents = [np.random.default_rng(k).standard_normal(a.shape) for k, a in enumerate(arrays)]
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        found = torch.func.jvp(
            lambda *xs: run(program, list(xs), "torch")[0],
            tuple(torch.tensor(a) for a in arrays),
            tuple(torch.tensor(v) for v in tangents),
        )
    except Exception:  # noqa: BLE001 - what PyTorch's forward mode cannot do is no comparison
        found = None
    finally:
        torch.set_default_dtype(before)
    return arrays, tangents, found
