"""Helpers the test files share: tensors to differentiate, and comparisons with PyTorch's results."""

from __future__ import annotations

import numpy as np

import tinygrad_lstm as tl


def leaf(shape: tuple, rng: np.random.Generator | int = 0, low=None, high=None, dtype=np.float64) -> tl.Tensor:
    """A tensor of ``shape`` that requires grad: standard normal values, or uniform in [low, high);
    ``rng`` is a NumPy generator or a seed."""
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    data = rng.uniform(low, high, shape) if low is not None else rng.standard_normal(shape)
    return tl.Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


def close(ours, theirs, rtol: float = 1e-9, atol: float = 1e-9, what: str = "") -> None:
    """Assert that ``ours`` equals ``theirs`` (PyTorch's result, or arrays) to ``rtol``/``atol``, shape
    included; tuples and lists element by element. Where PyTorch returns a tensor, ours must be a
    Tensor too (not an array)."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), (type(ours), what)
        for k, (a, b) in enumerate(zip(ours, theirs)):
            close(a, b, rtol, atol, f"{what}[{k}]")
        return
    if hasattr(theirs, "detach"):  # a torch.Tensor
        assert isinstance(ours, tl.Tensor), (type(ours), what)
        theirs = theirs.detach().numpy()
    ours = np.asarray(ours.data if isinstance(ours, tl.Tensor) else ours)
    theirs = np.asarray(theirs)
    assert ours.shape == theirs.shape, (ours.shape, theirs.shape, what)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)
