"""Differential tests against PyTorch over generated programs (Hypothesis; see ``programs.py``).

The same program runs in this engine and in PyTorch (float64); values, first-order gradients
(``backward`` and ``tl.grad``) and second-order gradients (``tl.grad(..., create_graph=True)`` then
``backward``) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402

from .programs import BINARY, SHAPED, SHAPES, UNARY, leaf_arrays, programs, run  # noqa: E402


def _close(ours, theirs, what):
    theirs = theirs.detach().numpy(force=True) if isinstance(theirs, torch.Tensor) else theirs  # ZeroTensors too
    np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-9, atol=1e-11, err_msg=what)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_first_order(program):
    arrays = leaf_arrays(program)
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = run(program, xs, "tl")
    tloss, _ = run(program, ts, "torch")
    _close(loss.data, tloss, "loss")
    captured = tl.grad(loss, xs, retain_graph=True, allow_unused=True)
    loss.backward()
    tloss.backward()
    for k, (x, t, g) in enumerate(zip(xs, ts, captured)):
        expected = t.grad if t.grad is not None else torch.zeros_like(t)
        _close(x.grad.data if x.grad is not None else np.zeros(x.shape), expected, f"backward: leaf {k}")
        _close(g.data if g is not None else np.zeros(x.shape), expected, f"tl.grad: leaf {k}")
        assert x.grad is None or x.grad.shape == x.shape


def check_second_order(program, seed):
    arrays = leaf_arrays(program)
    weights = [np.random.default_rng(seed + k).standard_normal(a.shape) for k, a in enumerate(arrays)]
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = run(program, xs, "tl")
    tloss, _ = run(program, ts, "torch")
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


@SETTINGS
@given(programs())
def test_first_order_matches_pytorch(program):
    check_first_order(program)


@SETTINGS
@given(programs(), st.integers(0, 2**16))
def test_second_order_matches_pytorch(program, seed):
    check_second_order(program, seed)


def _single_op_programs():
    """Every op of the tables alone, on every leaf shape it accepts (two leaves for binary ops), its
    result used twice: a random draw may miss an op, this never does."""
    for name in sorted(BINARY):
        for shape in SHAPES:
            yield f"{name}{shape}", ([shape, (2, 3)], [("binary", name, (0, 1))], [2, 2, 0], 1)
    for name in sorted(UNARY):
        for shape in SHAPES:
            yield f"{name}{shape}", ([shape], [("unary", name, (0,))], [1, 1], 2)
    for name, (fits, _, _) in sorted(SHAPED.items()):
        for shape in filter(fits, SHAPES):
            yield f"{name}{shape}", ([shape], [("shaped", name, (0,))], [1, 1], 3)


@pytest.mark.parametrize("program", [p for _, p in _single_op_programs()], ids=[i for i, _ in _single_op_programs()])
def test_every_op_alone_matches_pytorch_to_second_order(program):
    check_first_order(program)
    check_second_order(program, 7)


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
