"""``tl.autograd``: code written against ``torch.autograd`` runs with ``torch`` replaced by ``tl``, and
gives PyTorch's numbers (found by running common ``torch.autograd`` snippets through both libraries:
the whole namespace was missing, so each of them was a refusal of what PyTorch computes)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_lstm as tl

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")


@pytest.fixture
def float64_in_both():
    before = torch.get_default_dtype(), tl.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    tl.set_default_dtype(np.float64)
    yield
    torch.set_default_dtype(before[0])
    tl.set_default_dtype(before[1])


def both(code: str):
    """Run ``code`` (which sets ``R``) with ``T`` as torch and as tl; return both results as arrays."""
    results = []
    for lib in (torch, tl):
        env = {"T": lib, "np": np}
        exec(code, env)
        results.append(env["R"])
    return results


def as_lists(r):
    if isinstance(r, (tuple, list)):
        return [as_lists(v) for v in r]
    if r is None or isinstance(r, (bool, float, int)):
        return r
    return np.asarray(r.detach().numpy() if hasattr(r, "detach") else r, dtype=np.float64).tolist()


SNIPPETS = {
    "grad": "x = T.tensor([1.0, 2.0, 3.0], requires_grad=True); R = T.autograd.grad((x ** 3).sum(), x)",
    "grad list": "x = T.tensor([1.0, 2.0], requires_grad=True); R = T.autograd.grad([(x ** 2).sum()], [x])",
    "grad several outputs": (
        "x = T.tensor([1.0, 2.0], requires_grad=True); y = x * 2; z = x * x\n"
        "R = T.autograd.grad([y, z], x, grad_outputs=[T.ones(2), T.tensor([1.0, -1.0])])"
    ),
    "grad unused": (
        "x = T.tensor([1.0, 2.0], requires_grad=True); w = T.tensor([3.0], requires_grad=True)\n"
        "R = T.autograd.grad((x ** 2).sum(), [x, w], allow_unused=True)"
    ),
    "grad materialized": (
        "x = T.tensor([1.0, 2.0], requires_grad=True); w = T.tensor([3.0], requires_grad=True)\n"
        "R = T.autograd.grad((x ** 2).sum(), [x, w], materialize_grads=True)"
    ),
    "grad only_inputs": (
        "x = T.tensor([1.0, 2.0], requires_grad=True)\n"
        "R = T.autograd.grad(x.sin().sum(), x, retain_graph=True, create_graph=False, only_inputs=True)"
    ),
    "second order": (
        "x = T.tensor([0.5, 2.0], requires_grad=True); (g,) = T.autograd.grad(x.tanh().sum(), x, create_graph=True)\n"
        "R = T.autograd.grad(g.sum(), x)"
    ),
    "backward several": (
        "x = T.tensor([1.0, 2.0], requires_grad=True)\nT.autograd.backward([(x * 2).sum(), (x ** 2).sum()]); R = x.grad"
    ),
    "backward grad_tensors": (
        "x = T.tensor([1.0, 2.0], requires_grad=True)\n"
        "T.autograd.backward(x * 3, grad_tensors=T.tensor([1.0, 0.5])); R = x.grad"
    ),
    "backward inputs": (
        "x = T.tensor([1.0, 2.0], requires_grad=True); w = T.tensor([3.0, 4.0], requires_grad=True)\n"
        "T.autograd.backward((x * w).sum(), inputs=[w]); R = (x.grad, w.grad)"
    ),
    "jacobian": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.jacobian(lambda a: a.exp() * a, x)",
    "jacobian two inputs": (
        "x = T.tensor([1.0, 2.0]); y = T.tensor([3.0])\nR = T.autograd.functional.jacobian(lambda a, b: a * b, (x, y))"
    ),
    "hessian": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.hessian(lambda a: (a ** 3).prod(), x)",
    "vjp": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.vjp(lambda a: a ** 2, x, T.tensor([1.0, 3.0]))",
    "jvp": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.jvp(lambda a: a.sin(), x, T.tensor([1.0, 3.0]))",
    "hvp": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.hvp(lambda a: (a ** 3).sum(), x, T.ones(2))",
    "vhp": "x = T.tensor([1.0, 2.0]); R = T.autograd.functional.vhp(lambda a: (a ** 3).sum(), x, T.ones(2))",
    "retains_grad": (
        "x = T.tensor([1.0, 2.0], requires_grad=True); y = x * 2; z = x * 3; y.retain_grad()\n"
        "(y * z).sum().backward(); R = (y.grad, y.retains_grad, z.retains_grad, x.retains_grad)"
    ),
    "data_ptr": (
        "x = T.tensor([1.0, 2.0, 3.0]); "
        "R = (x.data_ptr() == x[:2].data_ptr(), x.data_ptr() == x.clone().data_ptr(), "
        "x[1:].data_ptr() - x.data_ptr())"
    ),
}


@needs_torch
@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_torch_autograd_snippets_give_pytorchs_numbers(name, float64_in_both):
    theirs, ours = both(SNIPPETS[name])
    theirs, ours = as_lists(theirs), as_lists(ours)
    assert _close(theirs, ours), (theirs, ours)


def _close(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if a is None or b is None or isinstance(a, bool):
        return a == b
    return bool(np.allclose(a, b, rtol=1e-12, atol=0))


@needs_torch
@pytest.mark.parametrize("create_graph", [False, True])
def test_grads_batched_along_a_first_axis_as_pytorchs(create_graph, float64_in_both):
    found = []
    for lib in (torch, tl):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        rows = lib.tensor(np.arange(6.0).reshape(2, 3))
        gx, gw = lib.autograd.grad(x**2 * w, (x, w), rows, is_grads_batched=True, create_graph=create_graph)
        again = lib.autograd.grad(gx.sum(), w)[0].tolist() if create_graph else None
        found.append((gx.tolist(), gw.tolist(), again))
    assert found[0] == found[1]


def test_grads_batched_needs_a_batch_per_output():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"is_grads_batched=True .* shapes \[\(\)\]"):
        tl.autograd.grad(x * 2, x, tl.tensor(1.0), is_grads_batched=True)


class _RightOnceWrongTwice(tl.Function):
    """x**2 whose VJP is right but built from a detached x: its own derivative is lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 2 * x.detach()


def test_gradgradcheck_finds_a_second_derivative_that_gradcheck_cannot():
    x = tl.tensor([0.3, -1.2], requires_grad=True)
    assert tl.autograd.gradcheck(_RightOnceWrongTwice.apply, (x,))
    with pytest.raises(tl.GradcheckError, match="input 0"):
        tl.autograd.gradgradcheck(_RightOnceWrongTwice.apply, (x,))
    assert tl.autograd.gradgradcheck(_RightOnceWrongTwice.apply, (x,), raise_exception=False) is False
    assert tl.autograd.gradgradcheck(lambda a: a * a, (x,))


def test_gradgradcheck_of_several_outputs_and_given_grad_outputs():
    x = tl.tensor([0.3, -1.2], requires_grad=True)
    w = tl.tensor([2.0, 0.5], requires_grad=True)
    assert tl.gradgradcheck(lambda a, b: (a.sin() * b, (a * b).tanh()), (x, w))
    assert tl.gradgradcheck(lambda a: a.exp(), x, grad_outputs=tl.tensor([1.0, -2.0]))
    assert tl.gradgradcheck(lambda a: a * 3.0, x)  # a linear function: its second derivative is zero
    with pytest.raises(ValueError, match="1 grad_outputs given for 2"):
        tl.gradgradcheck(lambda a: (a, a * 2), x, grad_outputs=[tl.ones(2)])


def test_gradcheck_returns_false_instead_of_raising_when_asked():
    x = tl.tensor([0.3, -1.2], requires_grad=True)

    class WrongSign(tl.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return -2 * g

    assert tl.autograd.gradcheck(WrongSign.apply, (x,), raise_exception=False) is False
    with pytest.raises(tl.GradcheckError):
        tl.autograd.gradcheck(WrongSign.apply, (x,))


def test_set_detect_anomaly_as_a_call_and_as_a_block():
    assert not tl.is_anomaly_enabled()
    x = tl.tensor([-1.0], requires_grad=True)
    with tl.autograd.set_detect_anomaly(True):
        assert tl.is_anomaly_enabled()
        with pytest.raises(tl.AnomalyError, match="log"), np.errstate(invalid="ignore"):
            x.log()
        with tl.autograd.detect_anomaly():  # nested: leaving it keeps the outer mode
            pass
        assert tl.is_anomaly_enabled()
    assert not tl.is_anomaly_enabled()
    tl.autograd.set_detect_anomaly(True)
    try:
        assert tl.is_anomaly_enabled()
    finally:
        tl.autograd.set_detect_anomaly(False)
    assert not tl.is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        x.log()  # no check now: a NaN, as in PyTorch without anomaly mode


@needs_torch
def test_grads_batched_over_several_outputs_with_an_unused_input_as_pytorchs(float64_in_both):
    found = []
    for lib in (torch, tl):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        unused = lib.tensor([3.0], requires_grad=True)
        rows = [lib.tensor(np.arange(6.0).reshape(3, 2)), lib.tensor([1.0, -2.0, 0.5])]
        outputs = [(x * x).tanh(), (x**3).sum()]
        gx, gu = lib.autograd.grad(outputs, [x, unused], rows, is_grads_batched=True, allow_unused=True)
        with pytest.raises(RuntimeError):  # the graph was freed, as after any grad() without retain_graph
            outputs[0].sum().backward()
        found.append((gx.tolist(), gu))
    assert found[0] == found[1]


def test_grads_batched_keeps_the_graph_when_asked_and_materializes_batched_zeros():
    x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    unused = tl.tensor(np.array([3.0]), requires_grad=True)
    y = (x * x).tanh()
    rows = tl.tensor(np.eye(2))
    gx, gu = tl.autograd.grad(y, [x, unused], rows, is_grads_batched=True, materialize_grads=True, retain_graph=True)
    jacobian = np.diag(2 * np.array([1.0, 2.0]) / np.cosh(np.array([1.0, 4.0])) ** 2)  # rows of J, by hand
    np.testing.assert_allclose(gx.numpy(), jacobian, rtol=1e-12)
    assert gu.shape == (2, 1) and not gu.numpy().any()  # one zero gradient per row (PyTorch gives one (1,))
    y.sum().backward()  # the graph was kept
    np.testing.assert_allclose(x.grad.numpy(), jacobian.sum(0), rtol=1e-12)


@needs_torch
def test_grads_batched_with_a_batch_of_one_row_and_an_unused_input_as_pytorchs(float64_in_both):
    """A batch of one row: the stacking of each input's rows must look at that row (a mutant that
    looked at a second row survived, as every batch tested had two or more)."""
    found = []
    for lib in (torch, tl):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        unused = lib.tensor([3.0], requires_grad=True)
        gx, gu = lib.autograd.grad(
            x.exp(), [x, unused], lib.tensor([[1.0, -0.5]]), is_grads_batched=True, allow_unused=True
        )
        found.append((gx.tolist(), gu))
    assert found[0] == found[1] and found[1][1] is None


def test_grads_batched_refuses_what_is_not_one_batch_per_output():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    ys = [x * 2, (x**2).sum()]
    with pytest.raises(ValueError, match=r"one first axis, got shapes \[\(3, 2\), \(2,\)\]"):
        tl.autograd.grad(ys, x, [tl.ones(3, 2), tl.ones(2)], is_grads_batched=True, retain_graph=True)
    with pytest.raises(ValueError, match="needs one batched tensor in grad_outputs per output"):
        tl.autograd.grad(ys, x, [tl.ones(3, 2), None], is_grads_batched=True, retain_graph=True)
    with pytest.raises(ValueError, match="needs one batched tensor in grad_outputs per output"):
        tl.autograd.grad(ys, x, [tl.ones(3, 2)], is_grads_batched=True, retain_graph=True)
    with pytest.raises(ValueError, match="a batch of size 0 has no rows"):
        tl.autograd.grad(ys[0], x, tl.ones(0, 2), is_grads_batched=True, retain_graph=True)


def _walk(fn, depth=0, out=None):
    """(depth, how many next functions) of each node, depth first, None where no gradient is needed."""
    out = [] if out is None else out
    out.append((depth, None if fn is None else len(fn.next_functions)))
    for f, _ in () if fn is None else fn.next_functions:
        _walk(f, depth + 1, out)
    return out


@needs_torch
def test_grad_fn_next_functions_walk_the_graph_as_pytorchs(float64_in_both):
    """``y.grad_fn.next_functions``, how PyTorch users walk a graph (torchviz does): the same shape of
    graph, a leaf where PyTorch has AccumulateGrad, None for a constant. It was an AttributeError."""
    walks = []
    for lib in (torch, tl):
        w = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
        y = ((w * lib.tensor(np.array([3.0, 4.0]))).tanh() + w).sum()
        walks.append(_walk(y.grad_fn))
    assert walks[0] == walks[1]
