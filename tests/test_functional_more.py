"""The activations and losses of torch.nn.functional added in one step (relu6 ... multi_margin_loss),
each against PyTorch in float64 to 1e-9: value, gradient and second-order gradient (``differential``
from the PyTorch probes), at their kinks, with broadcasting, 0-d and empty inputs, and the errors."""

import math

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

from .test_pytorch_suite_probes import differential

torch = pytest.importorskip("torch")
TF = torch.nn.functional

A = np.array
RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 4)) * 2


def _both(name, *args, **kwargs):
    """F.name for ours and PyTorch's, with the same arguments."""
    return (lambda *xs: getattr(F, name)(*xs, *args, **kwargs)), (lambda *xs: getattr(TF, name)(*xs, *args, **kwargs))


# ---- activations --------------------------------------------------------------------------------------
# name -> (arguments, inputs with the kinks): each at its kink points, random values, 0-d and empty
KINKS = {
    "relu6": ((), A([0.0, 6.0, -1.0, 3.0, 7.0, 0.5])),
    "selu": ((), A([0.0, -1.0, 1.5, -30.0])),
    "celu": ((0.5,), A([0.0, -1.0, 1.5, -3.0])),
    "softsign": ((), A([0.0, -1.0, 2.0])),
    "tanhshrink": ((), A([0.0, -1.0, 2.0])),
    "hardswish": ((), A([-3.0, 3.0, -2.0, 2.0, -4.0, 4.0, 0.0])),
    "mish": ((), A([0.0, -1.0, 2.0, 25.0, -40.0])),
    "threshold": ((0.5, -2.0), A([0.5, 0.4, 0.6, -3.0])),
    "hardshrink": ((0.5,), A([0.5, -0.5, 0.4, -0.4, 0.6, -0.6, 0.0])),
    "softshrink": ((0.5,), A([0.5, -0.5, 0.4, -0.4, 0.6, -0.6, 0.0])),
    "logsigmoid": ((), A([0.0, -50.0, 50.0])),
}


@pytest.mark.parametrize("name", sorted(KINKS))
@pytest.mark.parametrize("shape", ["kinks", "random", "0-d", "empty"])
def test_activation_matches_pytorch_to_second_order(name, shape):
    args, kinks = KINKS[name]
    x = {"kinks": kinks, "random": X, "0-d": A(0.3), "empty": np.zeros((0, 3))}[shape]
    differential(*_both(name, *args), x)


def test_activations_of_shifted_thresholds_and_a_negative_hardshrink():
    differential(*_both("threshold", -1.0, 4.0), A([-1.0, -1.5, 0.0]))
    differential(*_both("hardshrink", -0.5), A([0.0, 0.5, -0.25]))  # an empty band: the identity
    differential(*_both("softshrink", 0.0), A([0.0, 0.5, -0.25]))
    differential(*_both("celu", 2.0), X)


def test_nan_and_inf_pass_where_pytorch_passes_them():
    # (not hardshrink's NaN: PyTorch's gradient there is 0 from its vectorized loop, 1 from its scalar tail)
    x = A([np.nan, np.inf, -np.inf, 1.0])
    for name, args in [("threshold", (0.5, 2.0)), ("relu6", ()), ("hardtanh", (-0.5, 2.0)), ("selu", ())]:
        differential(*_both(name, *args), x, order=1)
    differential(*_both("hardshrink", 0.5), A([np.inf, -np.inf, 1.0]), order=1)


def test_hardsigmoid_gradient_is_one_sixth_inside_and_zero_at_three():
    x = A([-3.0, 3.0, -2.0, 2.0, -4.0, 4.0, 0.0])
    # PyTorch's float64 gradient is float32's 1/6 (0.16666667163...), 3e-8 off: compared at 1e-7 there
    differential(F.hardsigmoid, TF.hardsigmoid, x, order=1, tol=1e-7)
    differential(F.hardsigmoid, TF.hardsigmoid, X, order=0)  # the values to 1e-9
    t = tl.Tensor(x, requires_grad=True)
    (g,) = tl.grad(F.hardsigmoid(t).sum(), t, create_graph=True)
    np.testing.assert_array_equal(g.data, np.where(np.abs(x) < 3, 1 / 6, 0.0))
    (h,) = tl.grad(g.sum(), t, allow_unused=True)  # PyTorch has no second derivative here: ours is 0
    assert h is None or not np.any(h.data)


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_glu_halves_along_dim(dim):
    differential(*_both("glu", dim), RNG.standard_normal((4, 6)))
    differential(*_both("glu", dim), np.zeros((0, 2)) if dim else np.zeros((2, 0)))


def test_glu_refuses_an_odd_dimension_and_a_0d_input():
    for x in (np.ones((2, 3)), np.array(1.0)):
        differential(*_both("glu"), x, refuses=True)  # PyTorch refuses, and so do we
    with pytest.raises(ValueError, match=r"glu: dimension -1 of shape \(2, 3\)"):
        F.glu(tl.Tensor(np.ones((2, 3))))


def test_softmin_and_logsigmoid_as_modules():
    differential(lambda x: tl.nn.Softmin(dim=0)(x), lambda x: torch.nn.Softmin(dim=0)(x), X)
    differential(lambda x: tl.nn.LogSigmoid()(x), lambda x: torch.nn.LogSigmoid()(x), X)


MODULES = {
    "ReLU6": (), "SELU": (), "CELU": (0.7,), "Softsign": (), "Tanhshrink": (), "Hardsigmoid": (),
    "Hardswish": (), "Mish": (), "GLU": (0,), "Threshold": (0.1, 20.0), "Hardshrink": (0.3,),
    "Softshrink": (0.3,),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MODULES))
def test_activation_modules_are_pytorch_modules(name):
    args = MODULES[name]
    ours, theirs = getattr(tl.nn, name)(*args), getattr(torch.nn, name)(*args)
    x = RNG.standard_normal((4, 3)) * 4
    # PyTorch's float64 gradients of these two use float32 constants: 1/6, and 1/alpha for CELU(0.7)
    differential(ours, theirs, x, order=1, tol=1e-7 if name in ("Hardsigmoid", "CELU") else 1e-9)


@pytest.mark.parametrize("inplace", [False, True])
def test_activation_modules_print_as_pytorch(inplace):
    for name, args in MODULES.items():
        if name not in ("Softsign", "Tanhshrink", "GLU", "Hardshrink", "Softshrink"):
            args = (*args, inplace)
        assert repr(getattr(tl.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_celu_gradient_is_exp_of_x_over_alpha():
    x = tl.Tensor(-np.abs(X), requires_grad=True)
    F.celu(x, 0.7).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.exp(-np.abs(X) / 0.7), rtol=1e-14)


@pytest.mark.parametrize("name", ["relu6", "selu", "celu", "hardsigmoid", "hardswish", "mish", "threshold"])
def test_inplace_writes_into_the_input_as_pytorch(name):
    args = KINKS.get(name, ((), None))[0]

    def run(lib, fn):
        x = lib.tensor(X.copy(), requires_grad=True)
        y = x * 1.0
        out = fn(y, *args, inplace=True)
        assert out is y
        out.sum().backward()
        return y.detach(), x.grad

    (y, g), (ty, tg) = run(tl, getattr(F, name)), run(torch, getattr(TF, name))
    tol = 1e-7 if name == "hardsigmoid" else 1e-9
    np.testing.assert_allclose(y.data, ty.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=tol, atol=tol)


def test_activation_errors_name_the_function():
    x = tl.Tensor(X)
    with pytest.raises(ValueError, match="softshrink: lambd must be >= 0, got -0.5"):
        F.softshrink(x, -0.5)
    with pytest.raises(ValueError, match="celu: alpha cannot be 0"):
        F.celu(x, 0.0)


def test_a_gradient_penalty_through_threshold_and_hardshrink_is_zero_as_pytorch():
    # their first gradients depend on x (PyTorch's threshold_backward), so they can be differentiated
    for fn in (lambda x: F.threshold(x, 0.1, 2.0), lambda x: F.hardshrink(x, 0.3), lambda x: F.softshrink(x)):
        x = tl.Tensor(X.copy(), requires_grad=True)
        (g,) = tl.grad(fn(x).sum(), x, create_graph=True)
        assert g.requires_grad
        (g * g).sum().backward()
        np.testing.assert_array_equal(x.grad.data, np.zeros_like(X))


def test_erf_and_erfc_as_methods():
    x = A([-2.0, 0.0, 0.5, 5.0, 27.0])
    differential(lambda t: (t.erf(), t.erfc()), lambda t: (t.erf(), t.erfc()), x)
    assert tl.erfc(tl.tensor(5.0, dtype=np.float64)).item() == math.erfc(5.0)  # 1 - erf(5) keeps 4 digits


# ---- losses -------------------------------------------------------------------------------------------
REDUCTIONS = ["mean", "sum", "none"]
P = np.abs(RNG.standard_normal((3, 4))) + 0.1
COUNTS = A([[0.0, 1.0, 2.0, 5.0], [3.0, 0.0, 1.0, 0.5], [7.0, 1.5, 0.0, 2.0]])
SIGNS = A([1.0, -1.0, 1.0])


def _loss_cases():
    y1, y2, y3 = RNG.standard_normal((3, 3, 4))
    return {
        "poisson log": (("poisson_nll_loss",), {}, [X, COUNTS], None),
        # a target of 0 gets a gradient of 0 from Stirling's term, which is not used there; PyTorch's is NaN
        "poisson rate, full": (("poisson_nll_loss",), {"log_input": False, "full": True}, [P, COUNTS], [0]),
        "poisson full, target grad": (("poisson_nll_loss",), {"full": True}, [X, COUNTS + 0.5], None),
        "poisson broadcast": (("poisson_nll_loss",), {}, [X, COUNTS[0]], None),
        "gaussian": (("gaussian_nll_loss",), {}, [X, y1, P], None),
        "gaussian full, clamped var": (("gaussian_nll_loss",), {"full": True}, [X, y1, P * [[1e-9], [1], [1]]], None),
        "gaussian var per sample": (("gaussian_nll_loss",), {}, [X, y1, P[:, 0]], None),
        "gaussian var size 1": (("gaussian_nll_loss",), {}, [X, y1, P[:1]], None),
        "gaussian 0-d": (("gaussian_nll_loss",), {}, [A(0.3), A(-0.2), A(0.5)], None),
        "margin ranking": (("margin_ranking_loss",), {"margin": 0.3}, [y1, y2, np.sign(y3)], None),
        "margin ranking at 0": (("margin_ranking_loss",), {}, [A([1.0, 2.0]), A([1.0, 1.0]), A([1.0, -1.0])], None),
        "margin ranking broadcast": (("margin_ranking_loss",), {}, [y1, y2[:1], np.sign(y3[:1, :1])], None),
        "hinge embedding": (("hinge_embedding_loss",), {"margin": 0.5}, [y1, np.sign(y2)], [0]),
        "hinge at margin, target 0": (("hinge_embedding_loss",), {}, [A([1.0, 0.5, 0.25]), A([-1.0, -1.0, 0.0])], [0]),
        "cosine embedding": (("cosine_embedding_loss",), {"margin": 0.2}, [y1, y2, SIGNS], [0, 1]),
        "cosine 1-D": (("cosine_embedding_loss",), {}, [y1[0], y2[0], A(-1.0)], [0, 1]),
        "cosine other target, zero vector": (
            ("cosine_embedding_loss",), {}, [np.vstack([y1[:2], 0 * y1[2]]), y2, A([1.0, 0.5, -1.0])], [0, 1]
        ),
        "triplet": (("triplet_margin_loss",), {"margin": 0.7}, [y1, y2, y3], None),
        "triplet swap p=1": (("triplet_margin_loss",), {"p": 1, "swap": True}, [y1, y2, y3], None),
        "triplet p=3 swap": (("triplet_margin_loss",), {"p": 3, "swap": True}, [y1, y2, y1 + 0.1], None),
        "triplet 1-D": (("triplet_margin_loss",), {}, [y1[0], y2[0], y3[0]], None),
        "triplet 3-D": (("triplet_margin_loss",), {}, [X[None] * y1, y2[None], y3[None]], None),
        "soft margin": (("soft_margin_loss",), {}, [X, np.sign(y1)], [0]),
        "soft margin broadcast": (("soft_margin_loss",), {}, [X, np.sign(y1[0])], [0]),
        "multilabel": (("multilabel_soft_margin_loss",), {}, [X, (y1 > 0) * 1.0], None),
        "multilabel weight": (("multilabel_soft_margin_loss",), {}, [X, (y1 > 0) * 1.0, P[0]], [0, 2]),
        "multilabel 1-D": (("multilabel_soft_margin_loss",), {}, [X[0], (y1[0] > 0) * 1.0], None),
        "multi margin": (("multi_margin_loss",), {}, [X, A([0, 3, 1])], None),
        "multi margin p=2 margin": (
            ("multi_margin_loss",), {"p": 2, "margin": 0.5}, [X, A([2, 2, 0])], None
        ),
        "multi margin 1-D": (("multi_margin_loss",), {}, [X[0], A(2)], None),
        "multi margin 1-D, target (1,)": (("multi_margin_loss",), {}, [X[0], A([2])], None),
        "multi margin 0-d": (("multi_margin_loss",), {}, [A(0.4), A(0)], None),
        "multi margin at the hinge": (("multi_margin_loss",), {}, [A([[0.0, 1.0, -1.0]]), A([1])], None),
        "poisson 0-d": (("poisson_nll_loss",), {"full": True}, [A(0.3), A(4.0)], None),
        "margin ranking 0-d": (("margin_ranking_loss",), {"margin": 0.1}, [A(0.3), A(0.1), A(-1.0)], None),
        "hinge 0-d": (("hinge_embedding_loss",), {}, [A(0.3), A(-1.0)], [0]),
        "soft margin 0-d": (("soft_margin_loss",), {}, [A(0.3), A(-1.0)], [0]),
        "triplet 0-d": (("triplet_margin_loss",), {}, [A(0.3), A(-0.1), A(1.2)], None),
    }  # fmt: skip


LOSSES = _loss_cases()
# PyTorch has no second derivative of multi_margin_loss (checked below by central differences)
FIRST_ORDER = {"multi margin", "multi margin p=2 margin", "multi margin 1-D", "multi margin 1-D, target (1,)"}
FIRST_ORDER |= {"multi margin 0-d", "multi margin at the hinge"}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", sorted(LOSSES))
def test_loss_matches_pytorch_to_second_order(case, reduction):
    (name,), kwargs, arrays, needs_grad = LOSSES[case]
    ours, theirs = _both(name, **kwargs, reduction=reduction)
    differential(ours, theirs, *arrays, needs_grad=needs_grad, order=1 if case in FIRST_ORDER else 2)


@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss_weight_and_second_order(p):
    w = A([0.5, 2.0, 1.0, 3.0])
    x, t = X * 0.3, A([0, 3, 1])
    ours = lambda a: F.multi_margin_loss(a, t, p=p, weight=w)  # noqa: E731
    theirs = lambda a: TF.multi_margin_loss(a, torch.tensor(t), p=p, weight=torch.tensor(w))  # noqa: E731
    differential(ours, theirs, x, order=1)
    # second order (PyTorch has none): the Hessian-vector product against central differences of
    # the gradient; the hinge is smooth away from its kink (p=1: zero curvature, p=2: 2 w[y] / (N C))
    v = RNG.standard_normal(x.shape)
    xt = tl.Tensor(x.copy(), requires_grad=True)
    (g,) = tl.grad(ours(xt), xt, create_graph=True)
    (hv,) = tl.grad((g * tl.Tensor(v)).sum(), xt, allow_unused=True)

    def gradient(a):
        at = tl.Tensor(a, requires_grad=True)
        return tl.grad(ours(at), at)[0].data

    h = 1e-6
    expected = (gradient(x + h * v) - gradient(x - h * v)) / (2 * h)
    got = np.zeros_like(x) if hv is None else hv.data
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert p == 2 or not np.any(got)


def test_losses_of_empty_batches():
    e = np.zeros((0, 4))
    for reduction in ("sum", "none"):  # PyTorch's mean of an empty multi_margin_loss is uninitialized memory
        differential(*_both("multi_margin_loss", reduction=reduction), e, np.zeros(0, np.int64), order=1)
    for name, arrays in [
        ("poisson_nll_loss", [e, e]),
        ("margin_ranking_loss", [e, e, e]),
        ("soft_margin_loss", [e, e]),
        ("triplet_margin_loss", [e, e, e]),
        ("gaussian_nll_loss", [e, e, e + 1]),
        ("cosine_embedding_loss", [e, e, np.zeros(0)]),
    ]:
        for reduction in REDUCTIONS:
            differential(*_both(name, reduction=reduction), *arrays, needs_grad=[0])


def test_legacy_size_average_and_reduce_map_to_reduction_as_pytorch():
    x, t = tl.Tensor(X), A([0, 1, 2])
    with pytest.warns(UserWarning, match="reduction='sum'"):
        loss = F.multi_margin_loss(x, t, 1, 1.0, None, False)
    np.testing.assert_allclose(loss.data, TF.multi_margin_loss(torch.tensor(X), torch.tensor(t), reduction="sum"))
    with pytest.warns(UserWarning, match="reduction='none'"):
        assert tl.nn.SoftMarginLoss(reduce=False).reduction == "none"
    for size_average, reduce in [(None, True), (False, None), (True, False), (0, 1)]:
        kind = torch.nn._reduction.legacy_get_string(size_average, reduce, emit_warning=False)
        with pytest.warns(UserWarning, match=f"reduction='{kind}'"):
            F.soft_margin_loss(tl.Tensor(X), np.sign(X), size_average, reduce)


FLOAT32 = {
    "hardswish": lambda F, x, t: F.hardswish(x),
    "mish": lambda F, x, t: F.mish(x),
    "celu": lambda F, x, t: F.celu(x, 0.7),
    "softshrink": lambda F, x, t: F.softshrink(x, 0.3),
    "threshold": lambda F, x, t: F.threshold(x, 0.1, 2.0),
    "poisson_nll_loss": lambda F, x, t: F.poisson_nll_loss(x, t * t, full=True),
    "gaussian_nll_loss": lambda F, x, t: F.gaussian_nll_loss(x, t, 0.5, full=True),
    "cosine_embedding_loss": lambda F, x, t: F.cosine_embedding_loss(x, t, (t[:, 0] > 0) * 2.0 - 1.0),
    "triplet_margin_loss": lambda F, x, t: F.triplet_margin_loss(x, t, x * 2.0, swap=True),
    "multilabel_soft_margin_loss": lambda F, x, t: F.multilabel_soft_margin_loss(x, (t > 0) * 1.0),
}


@pytest.mark.parametrize("name", sorted(FLOAT32))
def test_float32_stays_float32(name):
    x32, t32 = X.astype(np.float32), X[::-1].astype(np.float32)
    x, tx = tl.Tensor(x32, requires_grad=True), torch.tensor(x32, requires_grad=True)
    y, ty = FLOAT32[name](F, x, tl.Tensor(t32)), FLOAT32[name](TF, tx, torch.tensor(t32))
    y.sum().backward()
    ty.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-5, atol=1e-6)


# ---- loss modules --------------------------------------------------------------------------------------
# name -> (constructor's keywords, inputs, the inputs that require grad)
LOSS_MODULES = {
    "PoissonNLLLoss": ({"log_input": False, "full": True, "eps": 1e-3}, [P, COUNTS], [0]),
    "GaussianNLLLoss": ({"full": True, "eps": 1e-2}, [X, X[::-1], P * 0.1], [0, 2]),
    "MarginRankingLoss": ({"margin": 0.2}, [X, X[::-1], np.sign(X.T[0])[:, None]], [0, 1]),
    "HingeEmbeddingLoss": ({"margin": 2.0}, [P, np.sign(X)], [0]),
    "CosineEmbeddingLoss": ({"margin": -0.5}, [X, X[::-1], -SIGNS], [0, 1]),
    "TripletMarginLoss": ({"margin": 0.5, "p": 1.5, "eps": 1e-3, "swap": True}, [X, X[::-1], X**2], [0, 1, 2]),
    "SoftMarginLoss": ({}, [X, np.sign(X[::-1])], [0]),
    "MultiLabelSoftMarginLoss": ({"weight": A([1.0, 2.0, 0.5, 0.0])}, [X, (X > 0) * 1.0], [0]),
    "MultiMarginLoss": ({"p": 2, "margin": 0.3, "weight": A([1.0, 2.0, 0.5, 4.0])}, [X, A([3, 0, 0])], [0]),
}


@pytest.mark.parametrize("name", sorted(LOSS_MODULES))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_modules_are_pytorch_modules(name, reduction):
    kwargs, arrays, needs_grad = LOSS_MODULES[name]
    weight = kwargs.get("weight")
    ours = getattr(tl.nn, name)(**kwargs, reduction=reduction)
    theirs_kwargs = dict(kwargs, weight=torch.tensor(weight)) if weight is not None else kwargs
    theirs = getattr(torch.nn, name)(**theirs_kwargs, reduction=reduction)
    differential(ours, theirs, *arrays, needs_grad=needs_grad, order=1)


# ---- bad input: a clear error naming the function and the shapes, and nothing recorded -------------------
def _refusals():
    x, y = tl.Tensor(X, requires_grad=True), tl.Tensor(X[:, :3], requires_grad=True)
    v, x3 = tl.Tensor(np.ones(3), requires_grad=True), tl.Tensor(X[None], requires_grad=True)
    x0 = tl.Tensor(np.array(1.0), requires_grad=True)
    t = np.zeros(3, np.int64)
    return [
        (lambda: F.poisson_nll_loss(x, X, reduction="avg"), ValueError, "poisson_nll_loss: reduction must be"),
        (lambda: F.poisson_nll_loss(x, X[:, :3]), ValueError, r"poisson_nll_loss: .*input \(3, 4\), target \(3, 3\)"),
        (lambda: F.gaussian_nll_loss(x, X, np.ones(4)), ValueError, r"gaussian_nll_loss: var of shape \(4,\)"),
        (lambda: F.gaussian_nll_loss(x, X, -P), ValueError, "gaussian_nll_loss: var has negative entries"),
        (lambda: F.gaussian_nll_loss(x, X, -1.0), ValueError, "gaussian_nll_loss: var must be non-negative"),
        (lambda: F.gaussian_nll_loss(x, X, P, reduction="max"), ValueError, "gaussian_nll_loss: reduction"),
        (lambda: F.margin_ranking_loss(x, v, v), ValueError, r"margin_ranking_loss: .*input1 \(3, 4\), input2 \(3,\)"),
        (lambda: F.margin_ranking_loss(x, y, X), ValueError, r"margin_ranking_loss: .*input2 \(3, 3\)"),
        (lambda: F.hinge_embedding_loss(x, np.ones(3)), ValueError, r"hinge_embedding_loss: .*target \(3,\)"),
        (lambda: F.cosine_embedding_loss(x, x, np.ones((3, 1))), ValueError, r"cosine_embedding_loss: .*\(3, 1\)"),
        (lambda: F.cosine_embedding_loss(x, y, SIGNS), ValueError, r"cosine_embedding_loss: .*input2 \(3, 3\)"),
        (lambda: F.triplet_margin_loss(x, x, x, margin=-1.0), ValueError, "triplet_margin_loss: margin must be"),
        (lambda: F.triplet_margin_loss(x, x, v), ValueError, r"triplet_margin_loss: .*negative \(3,\)"),
        (lambda: F.soft_margin_loss(x, np.ones(3)), ValueError, r"soft_margin_loss: .*target \(3,\)"),
        (lambda: F.multilabel_soft_margin_loss(x, X, np.ones(3)), ValueError, r"multilabel.*weight \(3,\)"),
        (lambda: F.multilabel_soft_margin_loss(x0, 1.0), ValueError, "multilabel_soft_margin_loss: .*0-d"),
        (lambda: F.multi_margin_loss(x, t, p=3), ValueError, "multi_margin_loss: only p == 1 and p == 2"),
        (lambda: F.multi_margin_loss(x, A([0, 4, 1])), IndexError, "multi_margin_loss: target 4 is out of range"),
        (lambda: F.multi_margin_loss(x, t[:2]), ValueError, r"multi_margin_loss: target of shape \(2,\)"),
        (lambda: F.multi_margin_loss(x, t, weight=np.ones(3)), ValueError, r"multi_margin_loss: weight .*\(4,\)"),
        (lambda: F.multi_margin_loss(x3, t), ValueError, r"multi_margin_loss: .*\(1, 3, 4\)"),
        (lambda: F.multi_margin_loss(x, t * 1.0), TypeError, "multi_margin_loss: target must hold integer"),
        (lambda: tl.nn.TripletMarginLoss(margin=0.0), ValueError, "TripletMarginLoss: margin must be"),
        (lambda: tl.nn.MultiMarginLoss(p=3), ValueError, "MultiMarginLoss: only p == 1"),
        (lambda: tl.nn.HingeEmbeddingLoss(reduction="avg"), ValueError, "HingeEmbeddingLoss: reduction"),
    ]


@pytest.mark.parametrize("k", range(len(_refusals())))
def test_bad_input_is_refused_clearly_and_records_nothing(k):
    call, kind, message = _refusals()[k]
    with tl.Tape() as tape, pytest.raises(kind, match=message):
        call()
    assert len(tape) == 0


def test_cross_entropy_of_probability_targets_differentiates_the_class_weight_as_pytorch():
    """PyTorch gives the class weight a gradient with probability targets (not with class indices, where
    both refuse it); it was refused here for both."""
    found = []
    for L in (torch, tl):
        x = L.tensor(np.linspace(-1, 1, 8).reshape(2, 4), requires_grad=True)
        p = L.tensor(np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1]]), requires_grad=True)
        w = L.tensor(np.array([1.0, 2.0, 0.5, 3.0]), requires_grad=True)
        loss = L.nn.functional.cross_entropy(x, p, weight=w, label_smoothing=0.1)
        loss.backward()
        found.append([float(loss)] + [t.grad.numpy().copy() for t in (x, p, w)])
    for theirs, ours in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    w = tl.tensor(np.ones(4), requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"cross_entropy: not differentiable with respect to weight \(shape \(4,\)\)"
    ):
        tl.nn.functional.cross_entropy(tl.zeros(2, 4), np.array([0, 3]), weight=w)


def test_tensordot_broadcasts_a_contracted_axis_of_size_one_as_pytorch():
    found = []
    for L in (torch, tl):
        a = L.tensor(np.linspace(-1, 1, 6).reshape(2, 1, 3), requires_grad=True)
        b = L.tensor(np.linspace(0, 2, 20).reshape(4, 5), requires_grad=True)
        c = L.tensor(np.linspace(0, 1, 6).reshape(1, 3, 2), requires_grad=True)
        out = L.tensordot(a, b, dims=([1], [0])).sum() + (L.tensordot(a, c, dims=([1, 2], [1, 0])) ** 2).sum()
        out.backward()
        found.append([float(out), a.grad.numpy().copy(), b.grad.numpy().copy(), c.grad.numpy().copy()])
    for theirs, ours in zip(*found):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
