"""Values at the edges (zeros, infinities, NaNs, ties, degenerate reductions), to second order, as PyTorch
gives them: the result, the gradient and the gradient of the gradient's sum, compared with NaNs equal."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")
TF = torch.nn.functional
# the edges divide by zero and overflow on purpose: NumPy's and PyTorch's warnings are expected here
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::UserWarning")

INF, NAN = np.inf, np.nan
# name: (input values, ours, PyTorch's)
EDGES = {
    "std of a constant": ([2.0, 2.0, 2.0], lambda x: x.std(), lambda x: x.std()),
    "std of one value": ([2.0], lambda x: x.std(correction=0), lambda x: x.std(correction=0)),
    "std of one value, correction 1": ([2.0], lambda x: x.std(), lambda x: x.std()),
    "std with nan": ([NAN, 1.0, 2.0], lambda x: x.std(), lambda x: x.std()),
    "norm with nan": ([NAN, 1.0], lambda x: x.norm(), lambda x: x.norm()),
    # correction = n: over a dim PyTorch's gradient is 2 (x - mean) / 0, signed infinities (over all
    # elements +inf everywhere, disagreeing with itself: see the test below)
    "var with correction n": (
        [1.0, 2.0, 4.0],
        lambda x: x.var(axis=0, correction=3),
        lambda x: x.var(dim=0, correction=3),
    ),
    "var of a constant, correction n": (
        [2.0, 2.0],
        lambda x: x.var(axis=0, correction=2),
        lambda x: x.var(dim=0, correction=2),
    ),
    "var of empty": ([], lambda x: x.var(), lambda x: x.var()),
    "elu at 0": ([0.0, -1.0, 1.0], lambda x: F.elu(x), lambda x: TF.elu(x)),
    "elu alpha 2 at 0": ([0.0, -0.0, 1e-300], lambda x: F.elu(x, 2.0), lambda x: TF.elu(x, 2.0)),
    "0 to negative powers": ([-1.0, -0.5, -2.0], lambda y: 0.0**y, lambda y: 0.0**y),
    "0 to powers": ([-1.0, 0.0, 0.5, 2.0], lambda y: 0.0**y, lambda y: 0.0**y),
    "x to the 0 at infinities": ([INF, -INF, 0.0, 2.0], lambda x: x**0.0, lambda x: x**0.0),
    "x to the 0 (tensor) at infinities": ([INF, -INF, 0.0], lambda x: x ** (x * 0.0), lambda x: x ** (x * 0.0)),
    "norm 0.5 with a zero entry": ([0.0, 1.0, 4.0], lambda x: x.norm(0.5), lambda x: x.norm(0.5)),
    "norm 3 with a zero entry": ([0.0, -1.0, 2.0], lambda x: x.norm(3), lambda x: x.norm(3)),
    "norm 2 of zeros": ([0.0, 0.0], lambda x: x.norm(), lambda x: x.norm()),
    "norm inf with ties": ([2.0, -2.0, 1.0], lambda x: x.norm(INF), lambda x: x.norm(INF)),
    "softmax with inf": ([INF, 0.0], lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0)),
    "log_softmax with inf": ([INF, 0.0], lambda x: x.log_softmax(axis=0), lambda x: x.log_softmax(dim=0)),
    "softmax with -inf": ([-INF, 0.0, 1.0], lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0)),
    "softmax all -inf": ([-INF, -INF], lambda x: x.softmax(axis=0), lambda x: x.softmax(dim=0)),
    "logsumexp with -inf": ([-INF, 0.0], lambda x: x.logsumexp(axis=0), lambda x: x.logsumexp(dim=0)),
    "relu at nan": ([NAN, 0.0, 1.0], lambda x: x.relu(), lambda x: x.relu()),
    "abs at nan": ([NAN, 0.0, -1.0], lambda x: x.abs(), lambda x: x.abs()),
    # x.max() of all elements is PyTorch's x.max(): its gradient goes to the NaNs; over an axis it is
    # amax's, 0 / 0 everywhere
    "max with nan": ([NAN, 1.0, NAN, 1.0], lambda x: x.max(), lambda x: x.max()),
    "min with nan": ([1.0, NAN, 0.0], lambda x: x.min(), lambda x: x.min()),
    "amax with nan": ([NAN, 1.0, 1.0], lambda x: x.max(axis=0), lambda x: x.amax(dim=0)),
    "amax of all axes with nan": ([[NAN, 1.0]], lambda x: x.max(axis=(0, 1)), lambda x: x.amax(dim=(0, 1))),
    "max dim with nan": ([[1.0, NAN, 2.0]], lambda x: x.max(dim=1).values, lambda x: x.max(dim=1).values),
    "maximum with nan": (
        [NAN, 1.0, 2.0],
        lambda x: tl.maximum(x, x * 0.0 + 1.0),
        lambda x: torch.maximum(x, x * 0.0 + 1.0),
    ),
    "clamp at nan": ([NAN, 0.0, 2.0], lambda x: x.clamp(0.0, 1.0), lambda x: x.clamp(0.0, 1.0)),
    "sqrt at 0": ([0.0, 1.0], lambda x: x.sqrt(), lambda x: x.sqrt()),
    "log at 0": ([0.0, 1.0], lambda x: x.log(), lambda x: x.log()),
    "sigmoid far out": ([-800.0, 800.0, 0.0], lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "tanh far out": ([-800.0, 800.0], lambda x: x.tanh(), lambda x: x.tanh()),
    "exp overflow": ([800.0, 0.0], lambda x: x.exp(), lambda x: x.exp()),
    "mean of empty": ([], lambda x: x.mean(), lambda x: x.mean()),
    "sum of empty": ([], lambda x: x.sum(), lambda x: x.sum()),
    "prod with zeros": ([0.0, 0.0, 3.0], lambda x: x.prod(), lambda x: x.prod()),
    "prod with one zero": ([0.0, 2.0, 3.0], lambda x: x.prod(), lambda x: x.prod()),
}


def _first_and_second(lib, fn, values):
    make = tl.tensor if lib == "tl" else torch.tensor
    grad = tl.grad if lib == "tl" else torch.autograd.grad
    x = make(np.array(values, dtype=np.float64), requires_grad=True)
    y = fn(x)
    weights = make(np.linspace(1.0, 2.0, int(np.prod(y.shape))).reshape(tuple(y.shape)))
    (g,) = grad((y * weights).sum(), [x], create_graph=True)
    second = None
    if g.requires_grad:
        (second,) = grad(g.sum(), [x], allow_unused=True)

    def array(t):
        return None if t is None else np.asarray(t.detach().numpy(force=True) if lib == "torch" else t.data)

    return array(y), array(g), array(second)


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edges_match_pytorch_to_second_order(name):
    values, ours_fn, torch_fn = EDGES[name]
    ours = _first_and_second("tl", ours_fn, values)
    theirs = _first_and_second("torch", torch_fn, values)
    for what, a, b in zip(["value", "gradient", "second derivative"], ours, theirs):
        if b is None or a is None:  # a second derivative that does not depend on x: zeros, or not connected
            other = b if a is None else a
            assert other is None or not np.any(other), f"{name}: {what} {a} vs {b}"
            continue
        if what == "second derivative":  # where PyTorch's is NaN it is undefined there: ours may be a number
            a = np.where(np.isnan(b), np.nan, a)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, equal_nan=True, err_msg=f"{name}: {what}")


def test_var_over_all_elements_equals_var_over_the_only_dim():
    """With correction >= n PyTorch's value is inf (it divides by max(0, n - correction)) but its gradient
    disagrees with that and with itself (+inf over all elements, signed over a dim, finite past n); ours is
    2 (x - mean) / max(0, n - correction), signed infinities, however the axes are given."""
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    assert x.var(correction=3).data == np.inf and torch.tensor([1.0, 2.0]).var(correction=3).item() == np.inf
    (g,) = tl.grad(x.var(correction=3), x)
    np.testing.assert_array_equal(g.data, [-np.inf, np.inf])
    x = tl.tensor([1.0, 2.0, 4.0], requires_grad=True)
    (g_all,) = tl.grad(x.var(correction=3), x)
    (g_dim,) = tl.grad(x.var(axis=0, correction=3), x)
    np.testing.assert_array_equal(g_all.data, g_dim.data)
    np.testing.assert_array_equal(g_all.data, [-np.inf, -np.inf, np.inf])


def test_cross_entropy_with_every_target_weighted_zero_is_nan_as_in_pytorch():
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 1.0]])
    target, weight = np.array([0, 0]), np.array([0.0, 1.0, 1.0])
    x = tl.tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, target, weight=weight)
    loss.backward()
    tx = torch.tensor(logits, requires_grad=True)
    tloss = TF.cross_entropy(tx, torch.tensor(target), weight=torch.tensor(weight))
    tloss.backward()
    np.testing.assert_array_equal(loss.data, tloss.detach().numpy())  # nan, 0 / 0
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_tensors_that_require_grad_are_refused_clearly(dtype):
    with pytest.raises(TypeError, match="complex"):
        tl.tensor(np.array([1 + 2j]), dtype=dtype, requires_grad=True)
    t = tl.tensor(np.array([1 + 2j], dtype=dtype))
    with pytest.raises(TypeError, match="complex"):
        t.requires_grad_()
    assert not t.requires_grad  # nothing changed
