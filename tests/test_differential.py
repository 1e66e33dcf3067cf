"""Differential tests against PyTorch over generated programs (Hypothesis).

A program is a list of operations over a pool of values that starts with a few leaves of shapes
(), (3,), (2, 1) and (2, 3) (any two of which broadcast, so every binary op is valid) and grows by
one value per operation. Operands are drawn from the whole pool, with replacement, so 0-d and
shaped values are reused many times, and a loss sums several of them. The same program runs in this
engine and in PyTorch (float64); values, first-order gradients (``backward`` and ``tl.grad``) and
second-order gradients (``tl.grad(..., create_graph=True)`` then ``backward``) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402

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
    # the loss sums several values of the pool, with repeats: more gradient contributions per value
    terms = draw(st.lists(st.integers(0, len(pool) - 1), min_size=1, max_size=4))
    seed = draw(st.integers(0, 2**16))
    return shapes, ops, terms, seed


def _run(program, leaves, engine: str):
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


def _leaves(program):
    shapes, _, _, seed = program
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1.5, 1.5, size=s) for s in shapes]


def _close(ours, theirs, what):
    theirs = theirs.detach().numpy(force=True) if isinstance(theirs, torch.Tensor) else theirs  # ZeroTensors too
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-9, atol=1e-11, err_msg=what)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(programs())
def test_first_order_matches_pytorch(program):
    arrays = _leaves(program)
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = _run(program, xs, "tl")
    tloss, _ = _run(program, ts, "torch")
    _close(loss.data, tloss, "loss")
    captured = tl.grad(loss, xs, retain_graph=True, allow_unused=True)
    loss.backward()
    tloss.backward()
    for k, (x, t, g) in enumerate(zip(xs, ts, captured)):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        _close(x.grad.data if x.grad is not None else np.zeros(x.shape), expected, f"backward: leaf {k}")
        _close(g.data if g is not None else np.zeros(x.shape), expected, f"tl.grad: leaf {k}")
        assert x.grad is None or x.grad.shape == x.shape


@SETTINGS
@given(programs(), st.integers(0, 2**16))
def test_second_order_matches_pytorch(program, seed):
    arrays = _leaves(program)
    weights = [np.random.default_rng(seed + k).standard_normal(a.shape) for k, a in enumerate(arrays)]
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = _run(program, xs, "tl")
    tloss, _ = _run(program, ts, "torch")
    grads = tl.grad(loss, xs, create_graph=True, allow_unused=True)
    tgrads = torch.autograd.grad(tloss, ts, create_graph=True, allow_unused=True)
    # a weighted sum of the gradients, differentiated again: a Hessian-vector product per leaf
    second = sum(((g * w).sum() for g, w in zip(grads, weights) if g is not None), tl.zeros(()))
    tsecond = sum(
        ((g * torch.tensor(w)).sum() for g, w in zip(tgrads, weights) if g is not None),
        torch.zeros((), dtype=torch.float64),
    )
    for k, (g, tg) in enumerate(zip(grads, tgrads)):
        _close(g.data if g is not None else 0.0, tg if tg is not None else 0.0, f"first order: leaf {k}")
    _close(second.data, tsecond, "weighted gradient sum")
    if tsecond.requires_grad:
        tsecond.backward()
    if second.requires_grad:
        second.backward()
    for k, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        _close(x.grad.data if x.grad is not None else np.zeros(x.shape), expected, f"second order: leaf {k}")


def test_micrograd_readme_example_with_0d_tensors():
    """micrograd's README expression, each value a 0-d tensor reused many times."""
    a = tl.tensor(-4.0, requires_grad=True)
    b = tl.tensor(2.0, requires_grad=True)
    c = a + b
    d = a * b + b**3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    assert abs(float(g) - 24.7041) < 1e-4
    assert abs(float(a.grad) - 138.8338) < 1e-4
    assert abs(float(b.grad) - 645.5773) < 1e-4


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_a_0d_value_used_n_times_gets_n_contributions(n):
    x = tl.tensor(0.5, requires_grad=True)
    y = x
    for _ in range(n - 1):
        y = y + x
    y.backward()
    assert float(x.grad) == n
    m = (tl.tensor([1.0, 2.0], requires_grad=True)).mean()  # a 0-d intermediate used n times
    total = m
    for _ in range(n - 1):
        total = total * 1.0 + m
    (gm,) = tl.grad(total, [m])
    assert float(gm) == n
