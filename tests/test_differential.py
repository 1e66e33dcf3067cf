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
    differences = None
    for k, (x, t) in enumerate(zip(xs, ts)):
        expected = (t.grad if t.grad is not None else torch.zeros_like(t)).detach().numpy(force=True)
        ours = x.grad.data if x.grad is not None else np.zeros(x.shape)
        # PyTorch's second-order formulas can overflow where the true value is finite: log's VJP g / s,
        # differentiated again, is -g / s**2, and s**2 underflows to 0 deep in sigmoid's tail (s ~ 1e-171).
        # There, the reference is central differences of PyTorch's own first-order gradient.
        overflowed = ~np.isfinite(expected) & np.isfinite(ours)
        if overflowed.any():
            if differences is None:
                differences = _hessian_vector_by_differences(program, arrays, weights)
            np.testing.assert_allclose(
                ours[overflowed], differences[k][overflowed], rtol=1e-5, atol=1e-8, err_msg=f"leaf {k}"
            )
            expected = np.where(overflowed, ours, expected)
        _close(ours, expected, f"second order: leaf {k}")


def _hessian_vector_by_differences(program, arrays, weights, h=1e-5):
    """H w per leaf, as (grad L(x + h w) - grad L(x - h w)) / 2h with PyTorch's first-order gradients."""

    def gradients(sign):
        ts = [torch.tensor(a + sign * h * w, requires_grad=True) for a, w in zip(arrays, weights)]
        loss, _ = run(program, ts, "torch")
        grads = torch.autograd.grad(loss, ts, allow_unused=True)
        return [g.numpy(force=True) if g is not None else np.zeros(a.shape) for g, a in zip(grads, arrays)]

    return [(up - down) / (2 * h) for up, down in zip(gradients(+1), gradients(-1))]


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


def test_second_order_deep_in_sigmoids_tail_is_finite_where_pytorchs_overflows():
    """log(sigmoid(z2)), z2 = 30 log(sigmoid(30x - 40)) - 40: at x = 0.94, sigmoid(z2) ~ 1e-171 and PyTorch's
    second derivative is inf (its -g / s**2 underflows s**2); the true one is finite, written out here."""
    x0 = np.array([0.9398107, 0.6, 1.2])
    x = tl.Tensor(x0.copy(), requires_grad=True)
    y = ((((x * 30.0 - 40.0).sigmoid().log()) * 30.0 - 40.0).sigmoid().log()).sum()
    (g,) = tl.grad(y, [x], create_graph=True)
    g.sum().backward()

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    z1 = 30.0 * x0 - 40.0
    s1 = sig(z1)
    z2 = 30.0 * np.log(s1) - 40.0
    s2 = sig(z2)
    first = 900.0 * (1 - s2) * (1 - s1)
    second = 900.0 * (-s2 * (1 - s2) * 30.0 * (1 - s1) ** 2 - (1 - s2) * 30.0 * s1 * (1 - s1))
    np.testing.assert_allclose(g.data, first, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, second, rtol=1e-9)
    t = torch.tensor(x0, requires_grad=True)
    ty = ((((t * 30.0 - 40.0).sigmoid().log()) * 30.0 - 40.0).sigmoid().log()).sum()
    (tg,) = torch.autograd.grad(ty, [t], create_graph=True)
    tg.sum().backward()
    assert np.isinf(t.grad[0].item()) and np.all(np.isfinite(x.grad.data))  # why the generated test needs its fallback


def test_nested_log_sigmoid_tail_program_second_order():
    """The generated program that first showed PyTorch's overflow: checked against central differences there."""
    program = (
        [(), (), (), (3,)],
        [
            ("unary", "abs", (0,)),
            ("binary", "add", (0, 0)),
            ("unary", "log_sigmoid_tail", (3,)),
            ("unary", "log_sigmoid_tail", (6,)),
        ],
        [7],
        0,
    )
    check_second_order(program, 0)


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
