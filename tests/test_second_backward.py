"""A second ``backward()`` without ``retain_graph``, program by program against PyTorch.

PyTorch frees what each node saved for its backward; a node that saved no tensor (a sum, a view, a
cat, a mean: shapes and numbers only) can run again, and ``loss.backward()`` twice then accumulates
the gradient twice. Where PyTorch computes, this engine must too, with the same numbers; where
PyTorch refuses (a product saved its operands), this engine refuses as well or computes the same.
The expected outcome comes from running PyTorch on the same program, not from a list in the test."""

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")

# each program takes (library, functional, x) with x = [1, 2, 3] that needs a gradient
PROGRAMS = {
    "sum": lambda L, F, x: x.sum(),
    "mean": lambda L, F, x: x.mean(),
    "mean over an axis": lambda L, F, x: x.reshape(3, 1).mean(1).sum(),
    "mean over two axes": lambda L, F, x: x.reshape(3, 1).mean((0, 1)),
    "mean of a sum": lambda L, F, x: x.sum().mean(),
    "two means": lambda L, F, x: x.mean() + x.mean(),
    "mean of a slice": lambda L, F, x: x[1:].mean(),
    "mean of an expansion": lambda L, F, x: x.reshape(3, 1).expand(3, 2).mean(),
    "number minus a mean": lambda L, F, x: (2.0 - x).mean(),
    "cat": lambda L, F, x: L.cat([x, x]).sum(),
    "stack": lambda L, F, x: L.stack([x, x]).sum(),
    "roll": lambda L, F, x: x.roll(1)[0] * 1 + x.roll(-1).sum(),
    "pad": lambda L, F, x: F.pad(x, (1, 2)).sum(),
    "one entry": lambda L, F, x: x[1],
    "two entries": lambda L, F, x: x[0] + x[2],
    "unbind": lambda L, F, x: x.unbind(0)[1],
    "split": lambda L, F, x: x.split(1)[1].sum(),
    "chunk": lambda L, F, x: x.chunk(3)[1].sum(),
    "narrow": lambda L, F, x: x.narrow(0, 1, 2).sum(),
    "flatten": lambda L, F, x: x.reshape(1, 3).flatten().sum(),
    "unsqueeze": lambda L, F, x: x.unsqueeze(0).sum(),
    "transpose, contiguous": lambda L, F, x: x.reshape(3, 1).t().contiguous().sum(),
    "permute": lambda L, F, x: x.reshape(1, 3).permute(1, 0).sum(),
    "flip": lambda L, F, x: x.flip(0).sum(),
    "cumsum": lambda L, F, x: x.cumsum(0).sum(),
    "minus its detached self": lambda L, F, x: (x - x.detach()).sum(),
    "negation": lambda L, F, x: (-x).sum(),
    "number minus x": lambda L, F, x: (1 - x).sum(),
    "plus a tensor": lambda L, F, x: (x + L.tensor(2.0, dtype=L.float64)).sum(),
    "einsum sum": lambda L, F, x: L.einsum("i->", x),
    "dropout in eval": lambda L, F, x: F.dropout(x, 0.5, training=False).sum(),
    "clone": lambda L, F, x: x.clone().sum(),
    "a bias": lambda L, F, x: F.linear(L.ones(2, 3, dtype=L.float64), L.ones(1, 3, dtype=L.float64), x[:1]).sum(),
    "diag of a vector": lambda L, F, x: x.diag(1).sum(),
    "diag of a matrix": lambda L, F, x: x.diag().diag().sum(),
    "trace": lambda L, F, x: x.reshape(1, 3).trace(),
    "tile": lambda L, F, x: x.tile(2).sum(),
    "movedim": lambda L, F, x: x.reshape(1, 3, 1).movedim(0, 2).sum(),
    "repeat_interleave": lambda L, F, x: x.repeat_interleave(2).sum(),
    "unfold": lambda L, F, x: x.unfold(0, 2, 1).sum(),
    "add with alpha": lambda L, F, x: x.add(x, alpha=2).sum(),
    "lerp to a constant": lambda L, F, x: x.lerp(L.zeros(3, dtype=L.float64), 0.3).sum(),
    "remainder by a number": lambda L, F, x: (x % 2).sum(),
    "fmod by a number": lambda L, F, x: L.fmod(x, 2).sum(),
    "diag_embed": lambda L, F, x: x.reshape(1, 3).diag_embed(1).sum(),
    "rot90": lambda L, F, x: x.reshape(1, 3).rot90().sum(),
    "diff": lambda L, F, x: x.diff(prepend=x[:1]).sum(),
    "tensor_split": lambda L, F, x: x.tensor_split(2)[0].sum(),
    "nansum": lambda L, F, x: x.nansum(),
    # PyTorch refuses these: their nodes saved tensors
    "cumprod": lambda L, F, x: x.cumprod(0).sum(),
    "sort": lambda L, F, x: x.sort(descending=True).values[0],
    "square": lambda L, F, x: (x * x).sum(),
    "product with a constant tensor": lambda L, F, x: (x * L.tensor([1.0, 2.0, 3.0], dtype=L.float64)).sum(),
    "mse": lambda L, F, x: F.mse_loss(x, L.zeros(3, dtype=L.float64)),
    "index list": lambda L, F, x: x[[0, 0]].sum(),
    "relu": lambda L, F, x: x.relu().sum(),
    "softmax": lambda L, F, x: x.softmax(0)[0],
    "cross entropy": lambda L, F, x: F.cross_entropy(x.reshape(1, 3), L.tensor([1])),
}


def _twice(library, functional, program):
    x = library.tensor([1.0, 2.0, 3.0], dtype=library.float64, requires_grad=True)
    y = program(library, functional, x)
    y.backward()
    first = np.array(x.grad.detach() if library is torch else x.grad.data)
    try:
        y.backward()
    except RuntimeError as error:
        return first, error, np.array(x.grad.detach() if library is torch else x.grad.data)
    return first, None, np.array(x.grad.detach() if library is torch else x.grad.data)


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_second_backward_does_what_pytorch_does(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_first, t_error, t_after = _twice(torch, torch.nn.functional, PROGRAMS[name])
        first, error, after = _twice(tl, tl.nn.functional, PROGRAMS[name])
    np.testing.assert_allclose(first, t_first, rtol=1e-12, atol=0)
    if t_error is None:  # PyTorch ran it again: the gradient accumulated twice, here as well
        assert error is None, f"{name}: PyTorch computes a second backward, this engine refused: {error}"
        np.testing.assert_allclose(after, t_after, rtol=1e-12, atol=0)
        np.testing.assert_allclose(after, 2 * first, rtol=1e-12, atol=0)
    elif error is not None:  # both refuse: ours says what to do, and the gradient is as it was
        assert "retain_graph=True" in str(error) and "freed" in str(error)
        np.testing.assert_array_equal(after, first)
    else:  # PyTorch refuses, this engine computes: then its number must be the right one
        np.testing.assert_allclose(after, 2 * t_first, rtol=1e-12, atol=0)


def test_a_mean_loss_backward_twice_accumulates_as_in_pytorch():
    """The first lines a student may write: backward twice on a mean, then look at the gradient."""
    w = tl.tensor([0.5, -1.0], requires_grad=True)
    loss = (w.sum() * 0).mean() + w.mean()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])  # d(mean)/dw = 1/2, twice


# ---- generated programs: the same rule on the differential tests' programs ---------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402

from .programs import leaf_arrays, programs, run  # noqa: E402


def _grads(leaves, library):
    return [
        None if x.grad is None else np.array(x.grad.detach().numpy() if library is torch else x.grad.data)
        for x in leaves
    ]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_programs_backward_twice_as_pytorch_does(program):
    """Where PyTorch runs a second backward without retain_graph, this engine runs it too and the
    gradients have accumulated to PyTorch's; where PyTorch refuses, this engine refuses without
    touching a gradient, or computes exactly twice the first gradients."""
    arrays = leaf_arrays(program)
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        loss, _ = run(program, xs, "tl")
        tloss, _ = run(program, ts, "torch")
        loss.backward()
        tloss.backward()
        first = _grads(xs, tl)
        try:
            tloss.backward()
            torch_refused = False
        except RuntimeError:
            torch_refused = True
        try:
            loss.backward()
            refused = None
        except RuntimeError as error:
            refused = error
    after, theirs = _grads(xs, tl), _grads(ts, torch)
    if refused is not None:
        assert torch_refused, f"PyTorch computes a second backward, this engine refused: {refused}"
        assert "retain_graph=True" in str(refused)
        for a, f in zip(after, first):
            assert (a is None) == (f is None) and (a is None or np.array_equal(a, f, equal_nan=True))
        return
    for k, (a, f, t) in enumerate(zip(after, first, theirs)):
        if f is None:
            assert a is None, k
            continue
        expected = 2 * f if torch_refused else t
        np.testing.assert_allclose(a, expected, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=f"leaf {k}")
