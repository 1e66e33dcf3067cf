"""vjp, jvp, jacobian, hessian, hvp against torch.autograd.functional, to 1e-9 in float64."""

import functools

import numpy as np
import pytest

import tinygrad_lstm as tl

from . import helpers

torch = pytest.importorskip("torch")
AF = torch.autograd.functional
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


FUNCTIONS = {
    # name: (function written once for both libraries, input shapes)
    "elementwise": (lambda x: (x.tanh() * x.exp()).sin(), [(3,)]),
    "matrix": (lambda a, b: (a @ b).tanh(), [(2, 3), (3, 2)]),
    "two_outputs": (lambda a, b: ((a * b).sum(), a.sigmoid() * b), [(3,), (3,)]),
    "scalar_of_two": (lambda a, b: (a.tanh() * b.cos()).sum() + (a * a * b).sum(), [(2, 2), (2, 2)]),
    "unused_input": (lambda a, b: a.exp(), [(2,), (3,)]),
}


def tensors(shapes, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, s) for s in shapes]
    return [tl.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


close = functools.partial(helpers.close, atol=1e-12)  # transforms are held to 1e-12 absolute


def single(xs):
    return xs[0] if len(xs) == 1 else tuple(xs)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_equals_pytorchs(name, strategy):
    f, shapes = FUNCTIONS[name]
    mine, theirs = tensors(shapes)
    ref = AF.jacobian(f, single(theirs), strategy=strategy, vectorize=strategy == "forward-mode")
    close(tl.jacobian(f, single(mine), strategy=strategy, vectorize=strategy == "forward-mode"), ref)


@pytest.mark.parametrize("name", ["elementwise", "matrix", "two_outputs", "unused_input"])
def test_vjp_and_jvp_equal_pytorchs(name):
    f, shapes = FUNCTIONS[name]
    mine, theirs = tensors(shapes)
    outs = f(*theirs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    rng = np.random.default_rng(1)
    v_out = [rng.standard_normal(tuple(o.shape)) for o in outs]
    v_in = [rng.standard_normal(s) for s in shapes]
    o, g = tl.vjp(f, single(mine), single([tl.tensor(v) for v in v_out]))
    ro, rg = AF.vjp(f, single(theirs), single([torch.tensor(v) for v in v_out]))
    close(o, ro)
    close(g, rg)
    o, j = tl.jvp(f, single(mine), single([tl.tensor(v) for v in v_in]))
    ro, rj = AF.jvp(f, single(theirs), single([torch.tensor(v) for v in v_in]))
    close(o, ro)
    close(j, rj)


@pytest.mark.parametrize("name", ["scalar_of_two"])
def test_hessian_and_hvp_equal_pytorchs(name):
    f, shapes = FUNCTIONS[name]
    mine, theirs = tensors(shapes)
    close(tl.hessian(f, tuple(mine)), AF.hessian(f, tuple(theirs)))
    close(tl.hessian(lambda a: f(a, mine[1]), mine[0]), AF.hessian(lambda a: f(a, theirs[1]), theirs[0]))
    rng = np.random.default_rng(2)
    v = [rng.standard_normal(s) for s in shapes]
    o, hv = tl.hvp(f, tuple(mine), tuple(tl.tensor(a) for a in v))
    ro, rhv = AF.hvp(f, tuple(theirs), tuple(torch.tensor(a) for a in v))
    close(o, ro)
    close(hv, rhv)
    o, vh = tl.vhp(f, tuple(mine), tuple(tl.tensor(a) for a in v))
    ro, rvh = AF.vhp(f, tuple(theirs), tuple(torch.tensor(a) for a in v))
    close(o, ro)
    close(vh, rvh)


@pytest.mark.parametrize("strict", [False, True])
def test_vhp_of_a_linear_function_is_zero_or_refused_as_in_pytorch(strict):
    x, v = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    f = lambda z: (z * 3.0).sum()  # noqa: E731  (its gradient is constant: no second derivative)
    try:
        expected = AF.vhp(f, torch.tensor(x), torch.tensor(v), strict=strict)[1].numpy()
    except RuntimeError:
        with pytest.raises(RuntimeError, match="vhp"):
            tl.vhp(f, tl.tensor(x), tl.tensor(v), strict=strict)
        return
    np.testing.assert_array_equal(tl.vhp(f, tl.tensor(x), tl.tensor(v), strict=strict)[1].data, expected)


def test_vhp_under_create_graph_is_differentiated_again_as_pytorchs():
    x = tl.tensor(np.array([0.3, -0.7]), requires_grad=True)
    xt = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    f = lambda z: (z.sin() * z * z).sum()  # noqa: E731
    _, vh = tl.vhp(f, x, tl.tensor(np.array([1.0, 2.0])), create_graph=True)
    _, vht = AF.vhp(f, xt, torch.tensor([1.0, 2.0], dtype=torch.float64), create_graph=True)
    np.testing.assert_allclose(vh.data, vht.detach().numpy(), rtol=1e-12)
    (g,) = tl.grad(vh.sum(), x)
    (gt,) = torch.autograd.grad(vht.sum(), xt)
    np.testing.assert_allclose(g.data, gt.numpy(), rtol=1e-9)


def test_create_graph_lets_a_transform_be_differentiated_again():
    x = tl.tensor(np.array([0.3, -0.7]), requires_grad=True)
    xt = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    f = lambda z: (z.tanh() * z).sum()  # noqa: E731
    _, hv = tl.hvp(f, x, tl.tensor(np.array([1.0, 2.0])), create_graph=True)
    _, hvt = AF.hvp(f, xt, torch.tensor([1.0, 2.0], dtype=torch.float64), create_graph=True)
    (g,) = tl.grad(hv.sum(), x)
    (gt,) = torch.autograd.grad(hvt.sum(), xt)
    np.testing.assert_allclose(g.data, gt.numpy(), rtol=1e-9)
    jac = tl.jacobian(lambda z: z.sin() * z, x, create_graph=True)
    assert jac.requires_grad and not tl.jacobian(lambda z: z.sin() * z, x).requires_grad


def test_transforms_work_through_a_recurrent_layer_and_a_user_function():
    torch.manual_seed(0)
    ref = torch.nn.RNN(2, 3).double()
    layer = tl.nn.RNN(2, 3, dtype=np.float64)
    layer.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((4, 1, 2))
    close(tl.jacobian(lambda x: layer(x)[1], tl.tensor(x)), AF.jacobian(lambda x: ref(x)[1], torch.tensor(x)))


def test_mistakes_are_named():
    x = tl.tensor(np.ones(3))
    with pytest.raises(RuntimeError, match="vjp: v can be None only when the function returns a single element"):
        tl.vjp(lambda x: x * 2, x)
    with pytest.raises(ValueError, match="jvp: v must match the inputs"):
        tl.jvp(lambda x: x * 2, x, tl.tensor(np.ones(2)))
    with pytest.raises(RuntimeError, match="does not depend on input 1"):
        tl.jacobian(lambda a, b: a * 2, (x, x), strict=True)
    with pytest.raises(RuntimeError, match="hessian: the function must return a single-element tensor"):
        tl.hessian(lambda x: x * 2, x)
    with pytest.raises(TypeError, match="jacobian: inputs must be tensors"):
        tl.jacobian(lambda x: x, np.ones(2))


def test_jvp_jacobian_and_hessian_equal_torch_func():
    tf = pytest.importorskip("torch.func")

    def f(x):
        return (x.tanh() * x.sin()).cumsum(0) * x.sum()

    data = np.random.default_rng(5).uniform(-1, 1, 4)
    x, xt = tl.tensor(data), torch.tensor(data)
    v = np.random.default_rng(6).standard_normal(4)
    _, jv = tl.jvp(f, x, tl.tensor(v))
    _, jvt = tf.jvp(f, (xt,), (torch.tensor(v),))
    close(jv, jvt)
    close(tl.jacobian(f, x), tf.jacrev(f)(xt))
    close(tl.jacobian(f, x, strategy="forward-mode", vectorize=True), tf.jacfwd(f)(xt))
    scalar = lambda x: (f(x) ** 2).sum()  # noqa: E731
    close(tl.hessian(scalar, x), tf.hessian(scalar)(xt))
