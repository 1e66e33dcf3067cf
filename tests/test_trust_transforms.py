"""Transforms, double backward, checkpoint and tl.Function where PyTorch computes (issue 26, section 5).

Every expectation comes from PyTorch 2.x in float64: the same calls, the same flags, and the same
answer to "does it raise?" both ways.
"""

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")
AF = torch.autograd.functional
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
F, TF = tl.nn.functional, torch.nn.functional

A = np.array([0.7, -0.4, 1.3])
B = np.array([-0.9, 0.2])
V_OUT = np.array([0.5, -1.5, 2.0])
V_IN = (np.array([1.0, -2.0, 0.5]), np.array([0.25, -0.75]))


def flat(value) -> list:
    """The tensors of a nested result, in order."""
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in flat(v)]
    return [value]


def outcome(call, *args):
    """("ok", the result's tensors) or ("raises", the exception's type) of ``call(*args)``."""
    try:
        return "ok", flat(call(*args))
    except (RuntimeError, NotImplementedError, ValueError, TypeError) as e:
        return "raises", type(e)


def agree(mine, theirs, where: str, same_requires_grad: bool = True) -> None:
    assert mine[0] == theirs[0], f"{where}: tl {mine} but torch {theirs}"
    if mine[0] == "raises":
        assert mine[1] is theirs[1], f"{where}: tl raises {mine[1].__name__}, torch {theirs[1].__name__}"
        return
    assert len(mine[1]) == len(theirs[1]), where
    for k, (m, t) in enumerate(zip(mine[1], theirs[1])):
        assert m.shape == tuple(t.shape), f"{where}, tensor {k}: shape {m.shape} vs {tuple(t.shape)}"
        expected = t.detach().numpy(force=True)
        np.testing.assert_allclose(m.data, expected, rtol=1e-9, atol=1e-12, err_msg=f"{where}, tensor {k}")
        if same_requires_grad:
            assert m.requires_grad == t.requires_grad, f"{where}, tensor {k}: requires_grad {m.requires_grad}"


# ---- 2: second derivatives through ops whose first derivative is piecewise constant --------------

X = np.array([-1.5, -1.0, -0.2, 0.0, 0.3, 1.0, 2.0])
PIECEWISE = {  # name: (tl function, torch function); ends, zeros and ties included on purpose
    "relu": (lambda x: x.relu(), lambda x: x.relu()),
    "abs": (lambda x: x.abs(), lambda x: x.abs()),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "hardtanh": (lambda x: F.hardtanh(x), lambda x: TF.hardtanh(x)),
    "hardtanh_narrow": (lambda x: F.hardtanh(x, -0.2, 0.3), lambda x: TF.hardtanh(x, -0.2, 0.3)),
    "clip": (lambda x: x.clip(-1.0, 1.0), lambda x: x.clamp(-1.0, 1.0)),
    "clip_below": (lambda x: x.clip(0.0), lambda x: x.clamp(min=0.0)),
    "sign": (lambda x: x.sign(), lambda x: x.sign()),
    "max": (lambda x: x.max(), lambda x: x.max()),
    "min": (lambda x: x.min(), lambda x: x.min()),
    "max_axis": (lambda x: x.reshape(1, 7).max(axis=1), lambda x: x.reshape(1, 7).amax(dim=1)),
    "min_axis": (lambda x: x.reshape(1, 7).min(axis=1), lambda x: x.reshape(1, 7).amin(dim=1)),
    "maximum": (lambda x: tl.maximum(x, x * 0.5), lambda x: torch.maximum(x, x * 0.5)),
    "minimum_constant": (lambda x: tl.minimum(x, 0.25), lambda x: torch.minimum(x, torch.tensor(0.25))),
    "where": (lambda x: tl.where(x.data > 0, x, x * 2.0), lambda x: torch.where(x > 0, x, x * 2.0)),
    "norm_inf": (lambda x: x.norm(float("inf")), lambda x: torch.linalg.vector_norm(x, float("inf"))),
    "norm_1": (lambda x: x.norm(1), lambda x: torch.linalg.vector_norm(x, 1)),
    "relu_times_x": (lambda x: x.relu() * x, lambda x: x.relu() * x),  # a nonzero second derivative
    "abs_of_tanh": (lambda x: x.tanh().abs(), lambda x: x.tanh().abs()),
    "leaky_relu_of_square": (lambda x: F.leaky_relu(x * x - 1.0, 0.2), lambda x: TF.leaky_relu(x * x - 1.0, 0.2)),
}


def second_order(grad, x, f, seed):
    """(g, what differentiating g.sum() again gives): g = d(f(x) . seed)/dx with create_graph."""
    out = f(x)
    (g,) = grad(out, x, seed(out), create_graph=True)
    try:
        (h,) = grad(g.sum(), x)
        return g, ("ok", h)
    except RuntimeError:
        return g, ("raises", None)


@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply:RuntimeWarning")  # relu(x) * x, as torch
@pytest.mark.parametrize("seed_inf", [False, True])
def test_second_derivatives_through_piecewise_ops_equal_pytorchs(seed_inf):
    for name, (mine, theirs) in PIECEWISE.items():
        x, xt = tl.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)

        def seed(out, T):
            s = np.full(out.shape, 2.0)
            if seed_inf and s.size > 1:
                s.reshape(-1)[0] = np.inf  # where the gradient is cut: 0 * inf must not make a nan
            return T(s)

        g, h = second_order(tl.grad, x, mine, lambda o: seed(o, tl.tensor))
        gt, ht = second_order(torch.autograd.grad, xt, theirs, lambda o: seed(o, torch.tensor))
        np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-12, err_msg=name)
        assert g.requires_grad == gt.requires_grad, name
        assert h[0] == ht[0], f"{name}: tl {h[0]}, torch {ht[0]}"
        if h[0] == "ok":
            # (nan where PyTorch has nan too, as relu(x) * x multiplying an inf gradient by 0: no other)
            np.testing.assert_allclose(h[1].data, ht[1].detach().numpy(force=True), rtol=1e-12, err_msg=name)


def test_a_gradient_penalty_through_relu_layers_equals_pytorchs():
    rng = np.random.default_rng(0)
    w1, w2, xs = rng.standard_normal((4, 3)), rng.standard_normal((1, 4)), rng.standard_normal((5, 3))
    mine = [tl.tensor(a, requires_grad=True) for a in (w1, w2, xs)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (w1, w2, xs)]

    def penalty(grad, w1, w2, x, leaky):
        h = x @ w1.T
        h = leaky(h) if leaky else h.relu()
        (g,) = grad((h @ w2.T).sum(), x, create_graph=True)
        return ((g * g).sum(axis=1) - 1.0).abs().sum()

    for leaky in (None, "leaky"):
        p = penalty(tl.grad, *mine, leaky and (lambda h: F.leaky_relu(h, 0.2)))
        pt = penalty(lambda *a, **k: torch.autograd.grad(*a, **k), *theirs, leaky and (lambda h: TF.leaky_relu(h, 0.2)))
        for got, expected in zip(tl.grad(p, mine), torch.autograd.grad(pt, theirs)):
            np.testing.assert_allclose(got.data, expected.numpy(), rtol=1e-10)
