"""The same computations in PyTorch: values and gradients agree to 1e-10 in float64."""

import numpy as np
import pytest

import tinygrad_lstm as tl

from .shapes import MATMUL_SHAPES

torch = pytest.importorskip("torch")

TOL = {"rtol": 1e-10, "atol": 1e-10}


def run_both(ours, theirs, arrays, upstream_seed=0):
    """Run both with the same inputs and a random upstream gradient; compare value and grads."""
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y, ty = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **TOL)
    up = np.random.default_rng(upstream_seed).standard_normal(y.shape)
    y.backward(grad=up)
    ty.backward(torch.tensor(up))
    for i, (x, t) in enumerate(zip(xs, ts)):
        expected = t.grad.numpy() if t.grad is not None else np.zeros(x.shape)
        got = x.grad.data if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, expected, **TOL, err_msg=f"gradient of input {i}")


def rnd(*shape, seed=0, low=None, high=None):
    rng = np.random.default_rng(seed + len(shape) * 101 + sum(shape))
    return rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)


BINARY = [
    ("add", lambda a, b: a + b, lambda a, b: a + b),
    ("sub", lambda a, b: a - b, lambda a, b: a - b),
    ("mul", lambda a, b: a * b, lambda a, b: a * b),
    ("div", lambda a, b: a / b, lambda a, b: a / b),
    ("maximum", tl.maximum, torch.maximum),
    ("minimum", tl.minimum, torch.minimum),
]
SHAPE_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5, 1), (1, 6))]


@pytest.mark.parametrize("name, ours, theirs", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize("sa, sb", SHAPE_PAIRS)
def test_binary(name, ours, theirs, sa, sb):
    run_both(ours, theirs, [rnd(*sa), rnd(*sb, seed=1, low=0.5, high=2.0)])


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_extremum_ties_share_gradient_like_torch(name):
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 5.0, 3.0, -2.0])
    run_both(getattr(tl, name), getattr(torch, name), [a, b])


def test_pow():
    a, b = rnd(3, 4, low=0.5, high=2.0), rnd(4, seed=2)
    run_both(lambda a, b: a**b, lambda a, b: a**b, [a, b])
    run_both(lambda a: a**3.5, lambda a: a**3.5, [a])
    run_both(lambda b: 2.5**b, lambda b: 2.5**b, [b])


def test_pow_zero_base_gradient_like_torch():
    run_both(lambda a, b: a**b, lambda a, b: a**b, [np.array([0.0, 1.0, 2.0]), np.array([2.0, 3.0, 0.5])])


UNARY = [
    ("neg", lambda x: -x, lambda x: -x, None),
    ("exp", lambda x: x.exp(), torch.exp, None),
    ("log", lambda x: x.log(), torch.log, (0.1, 3.0)),
    ("sqrt", lambda x: x.sqrt(), torch.sqrt, (0.1, 3.0)),
    ("abs", lambda x: x.abs(), torch.abs, None),
    ("tanh", lambda x: x.tanh(), torch.tanh, None),
    ("sigmoid", lambda x: x.sigmoid(), torch.sigmoid, None),
    ("relu", lambda x: x.relu(), torch.relu, None),
    ("clip", lambda x: x.clip(-0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5), None),
    ("softmax0", lambda x: x.softmax(0), lambda x: torch.softmax(x, 0), None),
    ("softmax", lambda x: x.softmax(), lambda x: torch.softmax(x, -1), None),
    ("log_softmax", lambda x: x.log_softmax(), lambda x: torch.log_softmax(x, -1), None),
    ("logsumexp", lambda x: x.logsumexp(), lambda x: torch.logsumexp(x, -1), None),
    ("logsumexp_keep", lambda x: x.logsumexp(0, True), lambda x: torch.logsumexp(x, 0, True), None),
]


@pytest.mark.parametrize("name, ours, theirs, domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, ours, theirs, domain):
    x = rnd(4, 5, low=domain[0], high=domain[1]) if domain else rnd(4, 5) * 2
    run_both(ours, theirs, [x])


def test_sigmoid_and_friends_at_large_inputs():
    x = np.array([[1e4, -1e4, 30.0, -30.0, 0.0]])
    for ours, theirs in [
        (lambda x: x.sigmoid(), torch.sigmoid),
        (lambda x: x.tanh(), torch.tanh),
        (lambda x: x.softmax(), lambda x: torch.softmax(x, -1)),
        (lambda x: x.log_softmax(), lambda x: torch.log_softmax(x, -1)),
        (lambda x: x.logsumexp(), lambda x: torch.logsumexp(x, -1)),
    ]:
        run_both(ours, theirs, [x])


REDUCTIONS = [
    (None, False),
    (0, False),
    (1, True),
    (-1, False),
    ((0, 2), False),
    ((0, 2), True),
]


@pytest.mark.parametrize("axis, keepdims", REDUCTIONS)
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
def test_reductions(op, axis, keepdims):
    x = np.random.default_rng(5).permutation(24).reshape(2, 3, 4) * 0.25
    torch_op = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[op]

    def theirs(t):
        if axis is None:
            return torch_op(t) if not keepdims else torch_op(t, dim=(0, 1, 2), keepdim=True)
        return torch_op(t, dim=axis, keepdim=keepdims)

    run_both(lambda t: getattr(t, op)(axis=axis, keepdims=keepdims), theirs, [x])


def test_max_with_ties_like_torch_amax():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    run_both(lambda t: t.max(axis=1), lambda t: torch.amax(t, 1), [x])
    run_both(lambda t: t.max(), lambda t: torch.amax(t), [x])


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES)
def test_matmul(sa, sb):
    run_both(lambda a, b: a @ b, lambda a, b: a @ b, [rnd(*sa), rnd(*sb, seed=3)])


SHAPES = [
    ("reshape", lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
    ("transpose", lambda x: x.transpose((2, 0, 1)), lambda x: x.permute(2, 0, 1)),
    ("T", lambda x: x.T, lambda x: x.permute(2, 1, 0)),
    ("swapaxes", lambda x: x.swapaxes(0, 2), lambda x: x.transpose(0, 2)),
    ("expand_dims", lambda x: x.expand_dims(1), lambda x: x.unsqueeze(1)),
    ("squeeze", lambda x: x[:, :1].squeeze(1), lambda x: x[:, :1].squeeze(1)),
    ("broadcast_to", lambda x: x[:1].broadcast_to((3, 3, 4)), lambda x: x[:1].expand(3, 3, 4)),
    ("getitem_basic", lambda x: x[1, ::-1, None, 1:3], lambda x: x[1].flip(0)[:, None, 1:3]),
    ("getitem_int_array", lambda x: x[np.array([0, 1, 1, 0])], lambda x: x[torch.tensor([0, 1, 1, 0])]),
    (
        "getitem_pair",
        lambda x: x[np.array([0, 1, 1]), np.array([2, 2, 0])],
        lambda x: x[torch.tensor([0, 1, 1]), torch.tensor([2, 2, 0])],
    ),
    ("getitem_mixed", lambda x: x[:, np.array([2, 0, 2]), 1:], lambda x: x[:, torch.tensor([2, 0, 2]), 1:]),
    ("getitem_bool", lambda x: x[x.data > 0], lambda x: x[x > 0]),
]


@pytest.mark.parametrize("name, ours, theirs", SHAPES, ids=[s[0] for s in SHAPES])
def test_shape_and_indexing(name, ours, theirs):
    run_both(ours, theirs, [rnd(2, 3, 4)])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_stack_split(axis):
    arrays = [rnd(2, 3, seed=i) for i in range(3)]
    run_both(lambda *xs: tl.cat(xs, axis=axis), lambda *xs: torch.cat(xs, dim=axis), arrays)
    run_both(lambda *xs: tl.stack(xs, axis=axis), lambda *xs: torch.stack(xs, dim=axis), arrays)
    run_both(
        lambda x: tl.split(x, 2, axis=1)[1] * 3 + tl.split(x, 2, axis=1)[0],
        lambda x: torch.split(x, 2, dim=1)[1] * 3 + torch.split(x, 2, dim=1)[0],
        [rnd(3, 4)],
    )


def test_where():
    cond = rnd(3, 4) > 0
    run_both(
        lambda a, b: tl.where(cond, a, b),
        lambda a, b: torch.where(torch.tensor(cond), a, b),
        [rnd(3, 4), rnd(4, seed=1)],
    )


def test_lstm_step_composed_from_primitives():
    rng = np.random.default_rng(9)
    B, I, H = 3, 4, 5
    arrays = [rng.standard_normal(s) for s in [(B, I), (B, H), (B, H), (4 * H, I), (4 * H, H), (4 * H,)]]

    def step(split, sig, x, h, c, w_ih, w_hh, b):
        gates = x @ w_ih.T + h @ w_hh.T + b
        i, f, g, o = split(gates)
        c2 = sig(f) * c + sig(i) * g.tanh()
        return (sig(o) * c2.tanh()).sum() + (c2 * c2).sum()

    ours = lambda *a: step(lambda t: tl.split(t, 4, axis=1), lambda t: t.sigmoid(), *a)  # noqa: E731
    theirs = lambda *a: step(lambda t: t.chunk(4, 1), torch.sigmoid, *a)  # noqa: E731
    run_both(ours, theirs, arrays)


def test_hessian_vector_product_like_torch():
    rng = np.random.default_rng(11)
    A, x0, v = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)

    def f(lib, A, x):
        y = (A @ x).tanh()
        return (
            (y * y).sum() + (x**3).sum() + (A @ x).softmax(0)[1]
            if lib is tl
            else (y * y).sum() + (x**3).sum() + torch.softmax(A @ x, 0)[1]
        )

    x = tl.Tensor(x0.copy(), requires_grad=True)
    (g,) = tl.grad(f(tl, tl.Tensor(A), x), x, create_graph=True)
    (hv,) = tl.grad((g * v).sum(), x)

    tx = torch.tensor(x0.copy(), requires_grad=True)
    (tg,) = torch.autograd.grad(f(torch, torch.tensor(A), tx), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(g.data, tg.detach().numpy(), **TOL)
    np.testing.assert_allclose(hv.data, thv.numpy(), **TOL)
