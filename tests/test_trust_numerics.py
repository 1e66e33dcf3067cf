"""Axes, numerics and error messages: PyTorch's (or NumPy's) answer, or an error naming the op."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl

try:
    import torch
except ImportError:  # the comparisons with PyTorch below skip; the rest runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")


# ---- axes never wrap: every axis in a range, against NumPy ------------------------------------------
AXIS_OPS = {
    "cat": (lambda x, a: tl.cat([x, x], axis=a), lambda x, a: np.concatenate([x, x], axis=a)),
    "stack": (lambda x, a: tl.stack([x, x], axis=a), lambda x, a: np.stack([x, x], axis=a)),
    "swapaxes": (lambda x, a: x.swapaxes(0, a), lambda x, a: np.swapaxes(x, 0, a)),
    "transpose": (lambda x, a: x.transpose(a, 1, 0), lambda x, a: np.transpose(x, (a, 1, 0))),
    "expand_dims": (lambda x, a: x.expand_dims(a), lambda x, a: np.expand_dims(x, a)),
    "split": (lambda x, a: tl.split(x, 1, axis=a)[0], lambda x, a: np.split(x, 1, axis=a)[0]),
    "sum": (lambda x, a: x.sum(axis=a), lambda x, a: np.sum(x, axis=a)),
    "mean": (lambda x, a: x.mean(axis=a), lambda x, a: np.mean(x, axis=a)),
    "max": (lambda x, a: x.max(axis=a), lambda x, a: np.max(x, axis=a)),
    "softmax": (lambda x, a: x.softmax(axis=a), lambda x, a: np.exp(x) / np.exp(x).sum(axis=a, keepdims=True)),
}


@pytest.mark.parametrize("op", sorted(AXIS_OPS))
@pytest.mark.parametrize("axis", range(-6, 6))
def test_axes_are_checked_like_numpy(op, axis):
    data = np.arange(24.0).reshape(2, 3, 4) / 24
    ours, numpys = AXIS_OPS[op]
    try:
        expected = numpys(data, axis)
    except (ValueError, IndexError):
        with pytest.raises((ValueError, IndexError), match=op):
            ours(tl.Tensor(data), axis)
        return
    np.testing.assert_allclose(ours(tl.Tensor(data), axis).data, expected, rtol=1e-12)


@pytest.mark.parametrize("join", [tl.cat, tl.stack])
def test_joining_nothing_says_the_list_is_empty(join):
    with pytest.raises(ValueError, match=f"{join.__name__}: got an empty list"):
        join([])


def test_errors_that_are_not_broadcasting_are_not_called_broadcasting():
    with pytest.raises(ValueError, match="pow: Integers to negative integer powers") as err:
        tl.Tensor(np.array([2, 3])) ** -2
    assert "broadcast" not in str(err.value)
    with pytest.raises(ValueError, match=r"add: operands with shapes \(2,\) and \(3,\) do not broadcast"):
        tl.ones(2) + tl.ones(3)


# ---- NaN where PyTorch gives a number ------------------------------------------------------------------
def test_power_zero_has_gradient_zero_at_zero():
    x = tl.Tensor(np.array([0.0, 0.0, 2.0]), requires_grad=True)
    (g,) = tl.grad((x**0).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, [0.0, 0.0, 0.0])
    e = tl.Tensor(np.array([0.0, 1.0, 2.0]))  # an exponent array holding a 0
    (g,) = tl.grad((x**e).sum(), x)
    np.testing.assert_array_equal(g.data, [0.0, 1.0, 4.0])
    if torch is not None:
        t = torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
        (t ** torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)).sum().backward()
        np.testing.assert_array_equal(g.data, t.grad.numpy())


@pytest.mark.parametrize(
    "dtype, x", [(np.float64, -40.0), (np.float64, -700.0), (np.float32, -17.0), (np.float32, -80.0)]
)
def test_sigmoid_keeps_its_precision_in_the_negative_tail(dtype, x):
    t = tl.Tensor(np.array([x], dtype=dtype), requires_grad=True)
    y = t.sigmoid().log()  # log sigmoid(x) = x - log(1 + e^x) ~= x
    y.sum().backward()
    np.testing.assert_allclose(y.data, [x], rtol=1e-6)
    np.testing.assert_allclose(t.grad.data, [1.0], rtol=1e-6)  # d/dx log sigmoid = 1 - sigmoid(x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_relative_error_over_its_range(dtype):
    x = np.linspace(-80 if dtype == np.float32 else -700, 80, 4001).astype(dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.longdouble)))
    ours = tl.Tensor(x).sigmoid().data
    assert ours.dtype == dtype
    normal = exact > np.finfo(dtype).tiny  # below it the format itself has fewer digits
    rel = np.abs(ours[normal] - exact[normal]) / exact[normal]
    assert rel.max() < 4 * np.finfo(dtype).eps


@needs_torch
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_a_batch_of_padding_gives_a_nan_loss_but_zero_gradients(label_smoothing):
    logits = np.random.default_rng(0).standard_normal((3, 4))
    target = np.array([-100, -100, -100])
    z = tl.Tensor(logits, requires_grad=True)
    loss = tl.nn.functional.cross_entropy(z, target, label_smoothing=label_smoothing)
    loss.backward()
    tz = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.tensor(target), label_smoothing=label_smoothing)
    tloss.backward()
    assert np.isnan(loss.data) and torch.isnan(tloss)
    np.testing.assert_array_equal(z.grad.data, tz.grad.numpy())
    np.testing.assert_array_equal(z.grad.data, 0.0)
    lp = tl.Tensor(logits, requires_grad=True)
    tl.nn.functional.nll_loss(lp, target).backward()
    np.testing.assert_array_equal(lp.grad.data, 0.0)


# ---- crashes that are now answers -----------------------------------------------------------------------
@pytest.mark.parametrize("n_in, n_out", [(3, 0), (0, 3), (0, 0)])
def test_linear_with_an_empty_dimension_backpropagates(n_in, n_out):
    layer = tl.nn.Linear(n_in, n_out, dtype=np.float64)
    x = tl.Tensor(np.ones((2, n_in)), requires_grad=True)
    layer(x).sum().backward()
    assert layer.weight.grad.shape == (n_out, n_in)
    assert x.grad.shape == (2, n_in)
    np.testing.assert_array_equal(x.grad.data, 0.0)


def test_clip_with_array_bounds_larger_than_x():
    x = tl.Tensor(np.array([-1.0, 0.5, 2.0]), requires_grad=True)
    lo = np.array([[0.0, 0.0, 0.0], [-2.0, 1.0, -2.0]])
    assert tl.gradcheck(lambda x: x.clip(lo, 1.5) * np.arange(6.0).reshape(2, 3), x)
    if torch is not None:
        t = torch.tensor(x.data, requires_grad=True)
        hi = torch.tensor(1.5, dtype=torch.float64)
        (t.clamp(torch.tensor(lo), hi) * torch.arange(6.0).reshape(2, 3)).sum().backward()
        x.grad = None
        (x.clip(lo, 1.5) * np.arange(6.0).reshape(2, 3)).sum().backward()
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())


@pytest.mark.parametrize("op", ["max", "min"])
def test_extremes_of_a_zero_size_tensor(op):
    x = tl.Tensor(np.zeros((0, 3)), requires_grad=True)
    y = getattr(x, op)(axis=1)  # over a non-empty axis: an empty result, as NumPy and PyTorch give
    assert y.shape == (0,)
    y.sum().backward()
    assert x.grad.shape == (0, 3)
    with pytest.raises(ValueError, match=f"{op}: an empty axis"):
        getattr(x, op)(axis=0)
    with pytest.raises(ValueError, match=f"{op}: an empty axis"):
        getattr(x, op)()


@pytest.mark.parametrize("padding_idx", [-1, 4, -5, 0])
def test_embedding_padding_row_gets_no_gradient_however_it_is_named(padding_idx):
    emb = tl.nn.Embedding(5, 2, padding_idx=padding_idx, dtype=np.float64)
    row = padding_idx % 5
    np.testing.assert_array_equal(emb.weight.data[row], 0.0)
    emb(np.array([4, 1, 0, 4])).sum().backward()  # a negative index is refused, as in PyTorch
    np.testing.assert_array_equal(emb.weight.grad.data[row], 0.0)
    assert np.all(emb.weight.grad.data[[r for r in (0, 1, 4) if r != row]] != 0)
    with pytest.raises(ValueError, match="padding_idx=5"):
        tl.nn.Embedding(5, 2, padding_idx=5)


# ---- 0-d values the issue found through other paths ----------------------------------------------------
@needs_torch
def test_bce_on_a_single_logit_and_a_hessian_through_a_0d_mean():
    z = tl.tensor(0.3, requires_grad=True, dtype=np.float64)
    tz = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    loss = tl.nn.functional.binary_cross_entropy_with_logits(z, np.array(1.0), pos_weight=np.array(2.0))
    tloss = torch.nn.functional.binary_cross_entropy_with_logits(
        tz, torch.tensor(1.0, dtype=torch.float64), pos_weight=torch.tensor(2.0, dtype=torch.float64)
    )
    (g,) = tl.grad(loss, z, create_graph=True)
    (tg,) = torch.autograd.grad(tloss, tz, create_graph=True)
    np.testing.assert_allclose(g.data, tg.item(), rtol=1e-12)
    g.backward()
    tg.backward()
    np.testing.assert_allclose(z.grad.data, tz.grad.item(), rtol=1e-12)

    x = tl.Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    m = x.mean()  # a 0-d intermediate used three times
    f = m * m * m + m.tanh()
    (gx,) = tl.grad(f, x, create_graph=True)
    hessian = np.stack([tl.grad(gx[i], x, retain_graph=True)[0].data for i in range(3)])
    tx = torch.tensor(x.data, requires_grad=True)
    expected = torch.autograd.functional.hessian(lambda t: t.mean() ** 3 + t.mean().tanh(), tx)
    np.testing.assert_allclose(hessian, expected.numpy(), rtol=1e-12)
