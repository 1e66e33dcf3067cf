"""``tl.autograd.forward_ad``: PyTorch's dual tensors, against ``torch.autograd.forward_ad`` in float64.

The cases of PyTorch's forward-mode AD tutorial (a function of a dual and a plain tensor, a module
run with dual parameters by ``functional_call``), the tangents PyTorch gives as None or zeros, forward
mode through reverse mode, and the generated programs of the differential tests. Each was an
AttributeError before."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import tinygrad_lstm as tl
import tinygrad_lstm.autograd.forward_ad as fwAD

from .programs import programs, run, tangents_and_torch_jvp

torch = pytest.importorskip("torch")
tfwAD = torch.autograd.forward_ad

RNG = np.random.default_rng(0)
P, V, Q = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))


def _tangents(lib, fad, fn):
    """``fn(lib, fad, tensor)`` inside a dual level; its unpacked tangents as arrays (None kept)."""
    with fad.dual_level():
        found = fn(lib, fad, lib.tensor)
        return [None if t is None else np.asarray(t.detach().numpy() if lib is torch else t.numpy()) for t in found]


CASES = {
    "tutorial: a dual and a plain tensor": lambda L, A, T: [
        A.unpack_dual(A.make_dual(T(P), T(V)) ** 2 + T(Q) ** 2).tangent
    ],
    "two duals, nonlinear": lambda L, A, T: [
        A.unpack_dual((A.make_dual(T(P), T(V)) * A.make_dual(T(Q), T(P)).exp()).tanh().sum(1)).tangent
    ],
    "a dual itself": lambda L, A, T: [A.unpack_dual(A.make_dual(T(P), T(V))).tangent],
    "no dual: None": lambda L, A, T: [A.unpack_dual(T(P) * 2).tangent],
    "a detached dual: None": lambda L, A, T: [A.unpack_dual(A.make_dual(T(P), T(V)).detach() * 2).tangent],
    "through a zero derivative: zeros": lambda L, A, T: [A.unpack_dual(A.make_dual(T(P), T(V)) * 0 + 1).tangent],
    "matmul and softmax": lambda L, A, T: [A.unpack_dual((A.make_dual(T(P), T(V)) @ T(Q.T)).softmax(-1)).tangent],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_dual_tensors_give_pytorchs_tangents(name):
    ours, theirs = _tangents(tl, fwAD, CASES[name]), _tangents(torch, tfwAD, CASES[name])
    for o, t in zip(ours, theirs):
        assert (o is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(o, t, rtol=1e-12, atol=1e-14)


def test_a_module_with_dual_parameters_by_functional_call_as_pytorch():
    """The tutorial's second part: a Linear run on dual weights; the output's tangent is the directional
    derivative along the weights' tangents."""
    x = RNG.standard_normal((5, 4))
    tl.manual_seed(0)
    ours = tl.nn.Linear(4, 3, dtype=np.float64)
    theirs = torch.nn.Linear(4, 3, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
        theirs.bias.copy_(torch.tensor(ours.bias.data))
    tangents = {name: RNG.standard_normal(p.shape) for name, p in ours.named_parameters()}
    with fwAD.dual_level():
        duals = {n: fwAD.make_dual(p.detach(), tl.tensor(tangents[n])) for n, p in ours.named_parameters()}
        got = fwAD.unpack_dual(tl.func.functional_call(ours, duals, (tl.tensor(x),))).tangent
    with tfwAD.dual_level():
        duals = {n: tfwAD.make_dual(p.detach(), torch.tensor(tangents[n])) for n, p in theirs.named_parameters()}
        want = tfwAD.unpack_dual(torch.func.functional_call(theirs, duals, (torch.tensor(x),))).tangent
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


def test_forward_mode_through_a_tensor_that_requires_grad_keeps_reverse_mode():
    """A dual of a tensor that requires grad: the tangent as PyTorch's, and backward from the primal
    still reaches the tensor."""
    x = tl.tensor(P, requires_grad=True)
    tx = torch.tensor(P, requires_grad=True)
    with fwAD.dual_level():
        y = fwAD.unpack_dual((fwAD.make_dual(x, tl.tensor(V)) ** 3).sum())
    with tfwAD.dual_level():
        ty = tfwAD.unpack_dual((tfwAD.make_dual(tx, torch.tensor(V)) ** 3).sum())
    np.testing.assert_allclose(y.tangent.numpy(), ty.tangent.detach().numpy(), rtol=1e-12)
    y.primal.backward()
    ty.primal.backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_outside_a_level_duals_lose_their_tangents_and_mistakes_are_named():
    with fwAD.dual_level():
        y = fwAD.make_dual(tl.tensor(P), tl.tensor(V)) * 2
    assert fwAD.unpack_dual(y).tangent is None
    with pytest.raises(RuntimeError, match="make_dual: no dual level"):
        fwAD.make_dual(tl.tensor(P), tl.tensor(V))
    with fwAD.dual_level():
        with pytest.raises(
            ValueError, match=r"make_dual: the tangent's shape \(3,\) differs from the tensor's \(3, 4\)"
        ):
            fwAD.make_dual(tl.tensor(P), tl.tensor(V[0, :3]))
        with pytest.raises(RuntimeError, match="nested forward mode AD is not supported"):
            fwAD.enter_dual_level()


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(programs())
def test_dual_tensors_through_generated_programs_as_pytorchs_forward_mode(program):
    """The differential tests' generated programs run on dual inputs: the tangent of the output against
    PyTorch's forward mode (torch.func.jvp), wherever PyTorch computes it."""
    arrays, tangents, theirs = tangents_and_torch_jvp(program)
    if theirs is None:
        return
    _, want = theirs
    with fwAD.dual_level():
        duals = [fwAD.make_dual(tl.tensor(a.copy()), tl.tensor(v)) for a, v in zip(arrays, tangents)]
        got = fwAD.unpack_dual(run(program, duals, "tl")[0]).tangent
    want = want.detach().numpy()
    if got is None:  # the output does not depend on the inputs at all
        np.testing.assert_array_equal(want, 0)
    else:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-8, equal_nan=True)
