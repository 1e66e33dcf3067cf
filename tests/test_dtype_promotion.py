"""Integers and booleans meet floats as in PyTorch: the result is the default float dtype, so `tl.arange(5) / 5`
feeds a float32 layer as `torch.arange(5) / 5` does. Floats meet floats as in NumPy and PyTorch alike."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl

CASES = {
    "int * float": lambda L: L.tensor([1, 2]) * 0.5,
    "float * int": lambda L: 0.5 * L.tensor([1, 2]),
    "int / int": lambda L: L.tensor([1, 2]) / L.tensor([2, 2]),
    "int / python int": lambda L: L.arange(5) / 5,
    "bool * float": lambda L: L.tensor([True, False]) * 1.5,
    "int ** 0.5": lambda L: L.tensor([4]) ** 0.5,
    "sqrt of int": lambda L: L.tensor([4]).sqrt(),
    "exp of int": lambda L: L.tensor([0, 1]).exp(),
    "tanh of int": lambda L: L.tensor([0, 1]).tanh(),
    "sigmoid of bool": lambda L: L.tensor([True]).sigmoid(),
    "mean of int arange": lambda L: L.arange(4).float().mean(),
    "int + float32 tensor": lambda L: L.tensor([1, 2]) + L.tensor([0.5, 0.5], dtype=L.float32),
    "int + float64 tensor": lambda L: L.tensor([1, 2]) + L.tensor([0.5, 0.5], dtype=L.float64),
    "float32 * float64": lambda L: L.tensor([1.0], dtype=L.float32) * L.tensor([2.0], dtype=L.float64),
    "int + int": lambda L: L.tensor([1, 2]) + 3,
    "float32 * numpy float64 scalar": lambda L: L.tensor([1.0], dtype=L.float32) * np.sqrt(2.0),
    "numpy float64 scalar + float32": lambda L: np.float64(0.5) + L.tensor([1.0], dtype=L.float32),
    "int * numpy float64 scalar": lambda L: L.tensor([1, 2]) * np.float64(0.5),
    "int * int": lambda L: L.tensor([1, 2]) * L.tensor([3, 4]),
}


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_result_dtype_is_pytorchs(name, default):
    torch = pytest.importorskip("torch")
    before, tbefore = tl.get_default_dtype(), torch.get_default_dtype()
    tl.set_default_dtype(np.dtype(default)), torch.set_default_dtype(getattr(torch, default))
    try:
        ours, theirs = CASES[name](tl), CASES[name](torch)
    finally:
        tl.set_default_dtype(before), torch.set_default_dtype(tbefore)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-6)


def test_a_ramp_of_integers_feeds_a_float32_layer():
    x = (tl.arange(6) / 5).reshape(6, 1)  # float32, the default, as in PyTorch
    y = tl.nn.Linear(1, 2)(x)
    assert x.dtype == np.float32 and y.dtype == np.float32


def test_a_compiled_step_converts_its_integer_constants_as_eager_does():
    w = tl.tensor(np.ones(3, dtype=np.float32), requires_grad=True)

    def loss(x):
        return (w * x * (tl.arange(3) / 2)).sum()

    step = tl.compile(loss)
    for values in ([1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [0.0, 0.0, 2.0]):
        x = np.array(values, dtype=np.float32)
        got, expected = step(x), loss(tl.tensor(x))
        assert got.dtype == expected.dtype == np.float32
        np.testing.assert_array_equal(got.data, expected.data)
