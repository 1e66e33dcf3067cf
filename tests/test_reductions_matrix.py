"""Every reduction x every axis spelling x keepdim, spelled as PyTorch spells them, against PyTorch in
float64: shape, value, gradient and second-order gradient. (A mutant that dropped var's keepdim in its
forward lived until a table of this kind was written; this one covers the family.)"""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")

REDUCTIONS = {
    "sum": lambda t, d, k: t.sum(d, keepdim=k),
    "mean": lambda t, d, k: t.mean(d, keepdim=k),
    "var": lambda t, d, k: t.var(d, keepdim=k),
    "std": lambda t, d, k: t.std(d, keepdim=k),
    "amax": lambda t, d, k: t.amax(d, keepdim=k),
    "amin": lambda t, d, k: t.amin(d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(d, keepdim=k),
    "norm": lambda t, d, k: t.norm(dim=d, keepdim=k),
    "norm1": lambda t, d, k: t.norm(p=1, dim=d, keepdim=k),
    "nansum": lambda t, d, k: t.nansum(d, keepdim=k),
    "prod": lambda t, d, k: t.prod(d, keepdim=k),
    "max values": lambda t, d, k: t.max(dim=d, keepdim=k)[0],
    "min values": lambda t, d, k: t.min(dim=d, keepdim=k)[0],
    "max indices": lambda t, d, k: t.max(dim=d, keepdim=k)[1],
    "argmax": lambda t, d, k: t.argmax(dim=d, keepdim=k),
    "any": lambda t, d, k: (t > 0).any(d, keepdim=k),
}
ONE_AXIS = {"prod", "max values", "min values", "max indices", "argmax", "any"}  # PyTorch takes one int
DIMS = [0, 1, -1, 2, (0, 2), (1,)]
CASES = [
    (name, d, k)
    for name, d, k in itertools.product(REDUCTIONS, DIMS, [False, True])
    if not (name in ONE_AXIS and not isinstance(d, int))
]
X = np.random.default_rng(0).standard_normal((2, 3, 4))


@pytest.mark.parametrize("name, dim, keepdim", CASES)
def test_a_reduction_over_an_axis_is_pytorchs_to_second_order(name, dim, keepdim):
    f = REDUCTIONS[name]
    xt, xl = torch.tensor(X, requires_grad=True), tl.tensor(X, requires_grad=True)
    theirs, ours = f(xt, dim, keepdim), f(xl, dim, keepdim)
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(np.asarray(ours.data, float), theirs.detach().numpy().astype(float), rtol=1e-12)
    if not theirs.requires_grad:
        return
    w = np.random.default_rng(1).standard_normal(tuple(theirs.shape))
    (gt,) = torch.autograd.grad((theirs * torch.tensor(w)).sum(), xt, create_graph=True)
    (gl,) = tl.grad((ours * tl.tensor(w)).sum(), xl, create_graph=True)
    np.testing.assert_allclose(gl.data, gt.detach().numpy(), rtol=1e-10, atol=1e-12)
    if gt.requires_grad:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            (ht,) = torch.autograd.grad((gt * gt).sum(), xt)
        (hl,) = tl.grad((gl * gl).sum(), xl)
        np.testing.assert_allclose(hl.data, ht.numpy(force=True), rtol=1e-9, atol=1e-10)
