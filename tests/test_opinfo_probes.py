"""Found by running PyTorch's OpInfo sample inputs (float64) through this engine to second order and
through ``tl.compile`` (replay against eager over four calls); each case is compared with PyTorch
itself, never with the engine's own results."""

import itertools

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

PAD_SIZES = range(0, 6)
PAD_AMOUNTS = list(itertools.product(range(-6, 7), repeat=2))


def _torch_pad(x: np.ndarray, pad, mode):
    """PyTorch's padded values and the gradient of sum(out * w), or None where it refuses. Its
    circular mode reads memory it never wrote when a pad exceeds what a crop keeps: a result holding
    anything but the input's own elements counts as a refusal."""
    t = torch.tensor(x, requires_grad=True)
    try:
        out = TF.pad(t, pad, mode=mode)
    except (RuntimeError, ValueError, NotImplementedError):
        return None
    if not np.all(np.isin(out.detach().numpy(), x)):
        return None
    w = torch.tensor(np.random.default_rng(out.numel()).standard_normal(tuple(out.shape)))
    (out * w).sum().backward()
    return out.detach().numpy(), t.grad.numpy(), w.numpy()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_with_negative_amounts_matches_pytorch_value_and_gradient(mode):
    """reflect and replicate measure from the uncropped input (reflect(-1, 1) of [0, 1] is [1, 0]):
    cropping first gave [1, 1] silently. Every (size, left, right) PyTorch computes gives its values
    and gradient here; where this engine refuses, PyTorch refuses too (or its result is empty)."""
    computed = 0
    for n, (left, right) in itertools.product(PAD_SIZES, PAD_AMOUNTS):
        x = (np.pi + np.arange(n)).reshape(1, 1, n)  # values no stray memory holds by chance
        theirs = _torch_pad(x, (left, right), mode)
        ours_x = tl.tensor(x, requires_grad=True)
        try:
            ours = F.pad(ours_x, (left, right), mode=mode)
        except ValueError as e:
            assert "pad" in str(e) and mode in str(e)
            assert theirs is None or theirs[0].size == 0, (n, left, right, theirs)
            continue
        if theirs is None:  # PyTorch refuses a few empty results this engine gives (circular only)
            assert mode == "circular" and ours.size == 0, (n, left, right)
            continue
        value, grad, w = theirs
        np.testing.assert_array_equal(ours.data, value, err_msg=str((n, left, right)))
        (ours * w).sum().backward()
        np.testing.assert_allclose(ours_x.grad.data, grad, rtol=1e-12, atol=1e-12, err_msg=str((n, left, right)))
        computed += 1
    assert computed > 150  # the grid is not all refusals


def test_pad_two_axes_with_crops_matches_pytorch():
    x = np.pi + np.arange(30.0).reshape(1, 5, 6)
    for mode, pad in [("reflect", (-2, 3, 1, -3)), ("replicate", (4, -5, -2, 6)), ("circular", (2, -1, -1, 3))]:
        value, grad, w = _torch_pad(x, pad, mode)
        ours_x = tl.tensor(x, requires_grad=True)
        ours = F.pad(ours_x, pad, mode=mode)
        (ours * w).sum().backward()
        np.testing.assert_array_equal(ours.data, value, err_msg=mode)
        np.testing.assert_allclose(ours_x.grad.data, grad, rtol=1e-12, atol=1e-12, err_msg=mode)
