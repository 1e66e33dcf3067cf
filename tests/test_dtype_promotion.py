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


# ---- every kind of operand against every other, both sides, five operators ---------------------------------
# PyTorch's rule (dimensioned tensors first, then 0-d tensors, then Python numbers; a lower tier counts only
# when of a higher category, bool < integer < float) decides the dtype; a NumPy array counts as a tensor
# and a NumPy scalar as a number. The values must be PyTorch's bits (pow: to an ulp).
_VALUES = [1.5, -2.0, 3.0]
OPERANDS = {
    "float32 tensor": lambda L: L.tensor(np.array(_VALUES, np.float32)),
    "float64 tensor": lambda L: L.tensor(np.array(_VALUES, np.float64)),
    "int tensor": lambda L: L.tensor(np.array([1, -2, 3])),
    "int32 tensor": lambda L: L.tensor(np.array([1, -2, 3], np.int32)),
    "bool tensor": lambda L: L.tensor(np.array([True, False, True])),
    "0-d float64": lambda L: L.tensor(np.float64(1.7)),
    "0-d float32": lambda L: L.tensor(np.float32(1.7)),
    "0-d int": lambda L: L.tensor(np.int64(3)),
    "float64 array": lambda L: np.array(_VALUES) if L is tl else L.from_numpy(np.array(_VALUES)),
    "float32 array": lambda L: (lambda a: a if L is tl else L.from_numpy(a))(np.array(_VALUES, np.float32)),
    "int array": lambda L: (lambda a: a if L is tl else L.from_numpy(a))(np.array([1, -2, 3])),
    "python float": lambda L: 0.3,
    "python int": lambda L: 3,
    "numpy float64 scalar": lambda L: np.float64(0.3) if L is tl else 0.3,
    "numpy float32 scalar": lambda L: np.float32(0.3) if L is tl else float(np.float32(0.3)),
}
_OPERATORS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
              "/": lambda a, b: a / b, "**": lambda a, b: a**b}  # fmt: skip
_TENSORS = [k for k in OPERANDS if "tensor" in k or k.startswith("0-d")]
PAIRS = [(a, b) for a in OPERANDS for b in OPERANDS if a in _TENSORS or b in _TENSORS]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # x / 0 and (-2) ** 1.5, as in PyTorch: inf and NaN
@pytest.mark.parametrize("op", _OPERATORS)
@pytest.mark.parametrize("left, right", PAIRS)
def test_every_operand_kind_meets_every_other_as_in_pytorch(left, right, op):
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()  # another test file may have set PyTorch's to float64
    torch.set_default_dtype(getattr(torch, str(tl.get_default_dtype())))
    try:
        _compare_with_pytorch(torch, left, right, op)
    finally:
        torch.set_default_dtype(before)


def _compare_with_pytorch(torch, left: str, right: str, op: str) -> None:
    f = _OPERATORS[op]
    try:
        theirs = f(OPERANDS[left](torch), OPERANDS[right](torch))
    except (RuntimeError, NotImplementedError) as refusal:
        if "negative integer powers" in str(refusal):  # NumPy refuses it too
            with pytest.raises(ValueError, match="negative integer powers"):
                f(OPERANDS[left](tl), OPERANDS[right](tl))
        return  # PyTorch refuses a bool's subtraction, and a bool to a bool's power: computing more is allowed
    ours = f(OPERANDS[left](tl), OPERANDS[right](tl))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours.dtype, theirs.dtype)
    if op == "**" and ours.dtype.kind == "f":
        np.testing.assert_array_max_ulp(ours.data, theirs.numpy(), maxulp=1)
    else:
        np.testing.assert_array_equal(ours.data, theirs.numpy())


# The functions of two operands follow the same rule: PyTorch's where/maximum/atan2... of an int32 and a
# float32 tensor is float32 (NumPy's would be float64). Each loops over every pair; PyTorch refusing a pair
# (torch.maximum of a Python number) skips it: computing more is allowed.
_CONDITION = np.array([True, False, True])
FUNCTIONS = {
    "where": lambda L, a, b: L.where(L.tensor(_CONDITION) if L is not tl else _CONDITION, a, b),
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "fmax": lambda L, a, b: L.fmax(a, b),
    "atan2": lambda L, a, b: L.atan2(a, b),
    "hypot": lambda L, a, b: L.hypot(a, b),
    "fmod": lambda L, a, b: L.fmod(a, b),
    "remainder": lambda L, a, b: L.remainder(a, b),
    "clamp(x, min=)": lambda L, a, b: L.clamp(a, min=b),
    "clamp(x, max=)": lambda L, a, b: L.clamp(a, max=b),
}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", FUNCTIONS)
def test_functions_of_two_operands_take_pytorchs_result_dtype(name):
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, str(tl.get_default_dtype())))
    f, compared, wrong = FUNCTIONS[name], 0, []
    try:
        for left, right in PAIRS:
            try:
                theirs = f(torch, OPERANDS[left](torch), OPERANDS[right](torch))
            except (RuntimeError, TypeError, NotImplementedError):
                continue
            ours = f(tl, OPERANDS[left](tl), OPERANDS[right](tl))
            compared += 1
            if str(ours.dtype) != str(theirs.dtype).removeprefix("torch."):
                wrong.append((left, right, str(ours.dtype), str(theirs.dtype)))
            elif not np.array_equal(ours.data, theirs.numpy(), equal_nan=True):
                try:  # float32 atan2: NumPy's loop and PyTorch's are each within an ulp of the true value
                    np.testing.assert_array_max_ulp(ours.data, theirs.numpy(), maxulp=2)
                except AssertionError:
                    wrong.append((left, right, "values"))
    finally:
        torch.set_default_dtype(before)
    assert compared >= 20 and not wrong, wrong
