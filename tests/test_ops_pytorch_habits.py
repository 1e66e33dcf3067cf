"""The ops students and sequence models reach for: each gradchecked in float64 to second order and
compared with PyTorch (values, gradients, and gradients of gradients)."""

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# name -> (ours, PyTorch's, input shape, low, high): the same spelling where PyTorch's allows it
OPS = {
    "prod": (lambda x: x.prod(dim=1), lambda x: x.prod(dim=1), (3, 4), -2, 2),
    "prod_all": (lambda x: x.prod(), lambda x: x.prod(), (2, 3), -2, 2),
    "prod_keepdim": (lambda x: x.prod(dim=0, keepdim=True), lambda x: x.prod(dim=0, keepdim=True), (3, 2), -2, 2),
    "cumsum": (lambda x: x.cumsum(dim=1), lambda x: x.cumsum(dim=1), (3, 4), -2, 2),
    "cumsum_0": (lambda x: tl.cumsum(x, dim=0), lambda x: torch.cumsum(x, dim=0), (4, 2), -2, 2),
    "var": (lambda x: x.var(dim=0), lambda x: x.var(dim=0), (4, 3), -2, 2),
    "std": (lambda x: x.std(dim=1, correction=0), lambda x: x.std(dim=1, correction=0), (3, 4), -2, 2),
    "einsum_bmm": (
        lambda x: tl.einsum("bij,bkj->bik", x, x * 2.0),
        lambda x: torch.einsum("bij,bkj->bik", x, x * 2.0),
        (2, 3, 4),
        -2,
        2,
    ),
    "einsum_sum": (lambda x: tl.einsum("ijk->ki", x), lambda x: torch.einsum("ijk->ki", x), (2, 3, 4), -2, 2),
    "einsum_outer": (lambda x: tl.einsum("i,j->ij", x, x), lambda x: torch.einsum("i,j->ij", x, x), (3,), -2, 2),
    "flip": (lambda x: x.flip(0, 1), lambda x: x.flip(0, 1), (3, 4), -2, 2),
    "pad": (lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), lambda x: TF.pad(x, (1, 2, 0, 1), value=0.5), (2, 3), -2, 2),
    "tril": (lambda x: x.tril(), lambda x: x.tril(), (3, 4), -2, 2),
    "triu": (lambda x: x.triu(1), lambda x: x.triu(1), (2, 3, 3), -2, 2),
    "gather": (
        lambda x: x.gather(1, np.array([[0, 0, 3], [2, 1, 1]])),
        lambda x: x.gather(1, torch.tensor([[0, 0, 3], [2, 1, 1]])),
        (2, 4),
        -2,
        2,
    ),
    "where_scalar": (lambda x: tl.where(x.data > 0, x, 0.5), lambda x: torch.where(x > 0, x, 0.5), (3, 4), -2, 2),
    "log1p": (lambda x: x.log1p(), lambda x: x.log1p(), (3, 4), -0.5, 2),
    "expm1": (lambda x: x.expm1(), lambda x: x.expm1(), (3, 4), -2, 2),
    "sin": (lambda x: x.sin(), lambda x: x.sin(), (3, 4), -3, 3),
    "cos": (lambda x: x.cos(), lambda x: x.cos(), (3, 4), -3, 3),
    "square": (lambda x: x.square(), lambda x: x.square(), (3, 4), -2, 2),
    "rsqrt": (lambda x: x.rsqrt(), lambda x: x.rsqrt(), (3, 4), 0.5, 2),
    "sign": (lambda x: x.sign() * x, lambda x: x.sign() * x, (3, 4), -2, 2),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), lambda x: TF.softplus(x, 2.0, 3.0), (3, 4), -3, 3),
    "elu": (lambda x: F.elu(x, 0.7), lambda x: TF.elu(x, 0.7), (3, 4), -2, 2),
    "gelu": (lambda x: F.gelu(x), lambda x: TF.gelu(x), (3, 4), -3, 3),
    "gelu_tanh": (lambda x: F.gelu(x, "tanh"), lambda x: TF.gelu(x, approximate="tanh"), (3, 4), -3, 3),
    "silu": (lambda x: F.silu(x), lambda x: TF.silu(x), (3, 4), -3, 3),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1), (3, 4), -2, 2),
    "hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.8), lambda x: TF.hardtanh(x, -0.5, 0.8), (3, 4), -2, 2),
}


def _inputs(name, shape, low, high):
    rng = np.random.default_rng(sum(map(ord, name)))
    data = rng.uniform(low, high, shape)
    return tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


@pytest.mark.parametrize("name", OPS)
def test_values_gradients_and_second_derivatives_equal_pytorchs(name):
    ours, theirs, shape, low, high = OPS[name]
    x, xt = _inputs(name, shape, low, high)
    y, yt = ours(x), theirs(xt)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(7).standard_normal(yt.shape)
    (g,) = tl.grad((y * w).sum(), x, create_graph=True)
    (gt,) = torch.autograd.grad((yt * torch.tensor(w)).sum(), xt, create_graph=True)
    np.testing.assert_allclose(g.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    # where the gradient does not depend on x (linear and piecewise-linear ops) ours has no graph
    # to differentiate, and PyTorch's second derivative must then be 0
    h = tl.grad((g * g).sum(), x, allow_unused=True)[0] if g.requires_grad else None
    ht = torch.autograd.grad((gt * gt).sum(), xt, allow_unused=True)[0] if gt.requires_grad else None
    h = np.zeros(shape) if h is None else h.data
    ht = np.zeros(shape) if ht is None else ht.numpy()
    np.testing.assert_allclose(h, ht, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("name", OPS)
def test_gradcheck_first_and_second_order(name):
    ours, _, shape, low, high = OPS[name]
    x, _ = _inputs(name, shape, low, high)
    assert tl.gradcheck(ours, x)
    assert tl.gradcheck(lambda x: (tl.grad((ours(x) ** 2).sum(), x, create_graph=True)[0] ** 2).sum(), x)
    assert tl.gradcheck(lambda x: (tl.grad((ours(x) ** 3).sum(), x, create_graph=True)[0]).sum(), x)


def test_zeros_in_a_product_and_the_ends_of_hardtanh_follow_pytorch():
    data = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.5], [-1.0, 0.5, 1.0]])
    x, xt = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    x.prod(dim=1).sum().backward()
    xt.prod(dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, xt.grad.numpy())  # no 0/0 where entries are 0
    y, yt = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    F.hardtanh(y, -1.0, 1.0).sum().backward()
    TF.hardtanh(yt, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(y.grad.data, yt.grad.numpy())  # 0 at the ends, as PyTorch's


def test_0d_and_empty_inputs():
    s = tl.tensor(0.3, requires_grad=True)
    for f in (lambda v: v.sin(), lambda v: v.log1p(), lambda v: F.gelu(v), lambda v: F.softplus(v), lambda v: v.prod()):
        assert tl.gradcheck(f, s)
    e = tl.tensor(np.zeros((0, 3)), requires_grad=True)
    et = torch.zeros((0, 3), dtype=torch.float64, requires_grad=True)
    np.testing.assert_array_equal(e.prod(dim=0).data, et.prod(dim=0).detach().numpy())  # the empty product is 1
    assert e.cumsum(dim=0).shape == (0, 3) and tl.einsum("ij->j", e).tolist() == [0, 0, 0]
    e.prod(dim=0).sum().backward()
    assert e.grad.shape == (0, 3)


def test_softplus_and_elu_stay_finite_far_out():
    x = tl.tensor(np.array([-800.0, -30.0, 0.0, 30.0, 800.0]), requires_grad=True)
    (F.softplus(x) + F.elu(x) + F.gelu(x, "tanh")).sum().backward()
    assert np.all(np.isfinite(x.grad.data))


def test_mistakes_name_the_op_and_shapes():
    x = tl.randn(2, 3)
    with pytest.raises(ValueError, match=r"einsum: 'ij,jk,k' with operands of shapes \(2, 3\), \(2, 3\): it names 3"):
        tl.einsum("ij,jk,k", x, x)
    with pytest.raises(ValueError, match=r"einsum: 'ij,jk->ik': index 'j' has size 3 in operand 0 \(shape \(2, 3\)\)"):
        tl.einsum("ij,jk->ik", x, x)
    with pytest.raises(ValueError, match="gather: index must be integers with 2 axes"):
        x.gather(1, np.array([0, 1]))
    with pytest.raises(IndexError, match="gather: index values must lie in"):
        x.gather(1, np.array([[0, 5]]))
    with pytest.raises(ValueError, match="pad: .* must be integer"):
        F.pad(x, (1,))
    with pytest.raises(ValueError, match="cumsum: give axis"):
        tl.cumsum(tl.tensor(1.0))
    with pytest.raises(np.exceptions.AxisError, match="cumsum: axis 1 is out of range"):  # 0 and -1 are PyTorch's
        tl.cumsum(tl.tensor(1.0), 1)


@pytest.mark.parametrize(
    "call, kind, message",
    [
        (
            lambda x: x.mm(x),
            ValueError,
            r"mm: expects two matrices \(n, k\) and \(k, m\), got shapes \(2, 3\) and \(2, 3\)",
        ),
        (lambda x: x.mm(x[0]), ValueError, r"mm: expects two matrices .*, got shapes \(2, 3\) and \(3,\)"),
        (lambda x: x.bmm(x), ValueError, r"bmm: expects two 3-D tensors of one batch size, got \(2, 3\)"),
        (lambda x: x[0].mT, ValueError, r"mT: needs at least 2 axes, got shape \(3,\)"),
        (lambda x: x.masked_fill(np.ones(3), 0.0), TypeError, "masked_fill: the mask must be bool, got float64"),
        (lambda x: x.masked_fill(np.ones(2, bool), 0.0), ValueError, r"masked_fill: a mask of shape \(2,\) does not"),
        (lambda x: x.masked_fill(x > 0, x), ValueError, r"masked_fill: value must be a number or a 0-d tensor"),
        (
            lambda x: x.index_select(0, np.zeros((1, 1), int)),
            ValueError,
            r"index_select: index must be 1-D .* \(1, 1\)",
        ),
        (lambda x: x.index_select(1, [3]), IndexError, r"index_select: index values must lie in \[0, 3\) along axis 1"),
        (lambda x: x.narrow(1, 2, 2), IndexError, r"narrow: start 2 and length 2 do not fit axis 1 of shape \(2, 3\)"),
        (lambda x: x.select(0, 2), IndexError, r"select: index 2 is out of range for axis 0 of shape \(2, 3\)"),
        (lambda x: x.unflatten(1, (2, 2)), ValueError, r"unflatten: sizes \(2, 2\) do not split axis 1 of shape"),
        (lambda x: x.repeat(2), ValueError, r"repeat: \(2,\) must give a non-negative count for each axis of shape"),
        (lambda x: x.roll((1, 2), 0), ValueError, "roll: 2 shifts for 1 dims"),
        (lambda x: x.diagonal(0, 1, -1), ValueError, r"diagonal: dim1 and dim2 name one axis \(1\) of shape"),
        (lambda x: x.var(dim=1, unbiased=False, correction=0), TypeError, "var: give one of correction= and unbiased="),
        (lambda x: x.sum(dim=2), np.exceptions.AxisError, "sum: axis 2 is out of range for 2 dimensions"),
        (lambda x: tl.backward([x * 2, x * 3], [None]), ValueError, "backward: 1 grad_tensors given for 2 tensors"),
    ],
)
def test_new_spellings_name_the_op_and_shapes_and_change_nothing(call, kind, message):
    x = tl.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    before = x.data.copy()
    with pytest.raises(kind, match=message):
        call(x)
    np.testing.assert_array_equal(x.data, before)
    assert x.grad is None


@pytest.mark.parametrize(
    "name, args", [("GELU", ()), ("SiLU", ()), ("ELU", (0.5,)), ("LeakyReLU", (0.2,)), ("Softplus", (2.0,)),
                   ("Hardtanh", (-0.3, 0.4))]
)  # fmt: skip
def test_activation_modules_equal_pytorchs(name, args):
    data = np.random.default_rng(3).uniform(-2, 2, (3, 4))
    ours = getattr(tl.nn, name)(*args)(tl.tensor(data))
    theirs = getattr(torch.nn, name)(*args)(torch.tensor(data))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("amounts", [(-1, 0), (0, -2), (-1, -1, 1, 0), (2, -1, -1, 2), (-3, 0)])
def test_pad_with_negative_amounts_crops_as_pytorchs(amounts):
    data = np.arange(12.0).reshape(3, 4)
    x, t = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = F.pad(x, amounts, value=2.0), TF.pad(t, amounts, value=2.0)
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    weight = np.arange(float(np.prod(ty.shape))).reshape(ty.shape)
    (y * weight).sum().backward()
    (ty * torch.tensor(weight)).sum().backward()
    np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


def test_pad_cropping_past_the_edge_is_named():
    with pytest.raises(ValueError, match=r"pad: \(-3, -2\) crops axis 1 of shape \(3, 4\) to a negative size"):
        F.pad(tl.zeros(3, 4), (-3, -2))


def test_mse_loss_broadcasts_a_target_of_another_shape_with_a_warning_as_pytorch():
    rng = np.random.default_rng(0)
    out, target = rng.standard_normal((4, 1)), rng.standard_normal(4)
    x, t = tl.tensor(out, requires_grad=True), torch.tensor(out, requires_grad=True)
    with pytest.warns(UserWarning, match=r"mse_loss: target shape \(4,\) differs from input shape \(4, 1\)"):
        loss = F.mse_loss(x, target)
    with pytest.warns(UserWarning):
        tloss = TF.mse_loss(t, torch.tensor(target))
    loss.backward(), tloss.backward()
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, t.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(4, 1\) and target shape \(3, 2\) do not broadcast"):
        F.mse_loss(x, np.zeros((3, 2)))
