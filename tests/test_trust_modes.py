"""Grad modes, tl.grad's reach, and PyTorch's spellings: each behaves as PyTorch's does, checked by
running the same program in both."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install torch==2.13.0)")

LIBS = {
    "tl": tl,
    "torch": torch,
}


def _mode(lib):
    return lib.is_grad_enabled()


# ---- grad modes as decorators --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tl", "torch"])
def test_set_grad_enabled_as_a_decorator_applies_to_the_function_only(name):
    lib = LIBS[name]
    seen = []

    @lib.set_grad_enabled(False)
    def inside():
        seen.append(_mode(lib))

    seen.append(_mode(lib))  # after decorating: the mode before it
    inside()
    seen.append(_mode(lib))
    assert seen == [True, False, True]


def _generator_modes(lib, decorator, caller_mode):
    """The mode inside a decorated generator at each step, and the caller's between the steps."""

    @decorator
    def steps():
        for _ in range(3):
            yield _mode(lib)
        return "done"

    seen = []
    with lib.set_grad_enabled(caller_mode):
        gen = steps()
        for inside in gen:
            seen.append(("inside", inside))
            seen.append(("caller", _mode(lib)))
    return seen


@pytest.mark.parametrize("kind", ["no_grad", "enable_grad", "set_grad_enabled(False)", "set_grad_enabled(True)"])
@pytest.mark.parametrize("caller_mode", [True, False])
def test_a_decorated_generator_runs_in_its_mode_and_leaves_the_callers_alone(kind, caller_mode):
    def decorator(lib):
        if kind.startswith("set_grad_enabled"):
            return lib.set_grad_enabled(kind.endswith("(True)"))
        return getattr(lib, kind)()

    ours = _generator_modes(tl, decorator(tl), caller_mode)
    theirs = _generator_modes(torch, decorator(torch), caller_mode)
    assert ours == theirs
    assert tl.is_grad_enabled()


def test_a_decorated_generator_gets_what_is_sent_and_thrown_and_returns_its_value():
    @tl.no_grad()
    def echo():
        got = yield tl.is_grad_enabled()
        try:
            yield got
        except KeyError:
            yield "caught"
        return "finished"

    gen = echo()
    assert next(gen) is False
    assert gen.send(41) == 41
    assert gen.throw(KeyError("k")) == "caught"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    assert stop.value.value == "finished"


# ---- tl.grad runs only what lies between the outputs and its inputs -------------------------------------


PROGRAMS = {
    # (a, b) from x; the output from a and b
    "sum of products": (lambda x: x * 2.0, lambda x, a: x * 3.0, lambda a, b: (a * b + b).sum()),
    "b above a": (lambda x: x.exp(), lambda x, a: a.sin() * 2.0, lambda a, b: (a * b).sum()),
    "b beside a": (lambda x: x.tanh(), lambda x, a: x.sigmoid(), lambda a, b: (a + b * b).sum()),
    "only a used": (lambda x: x * x, lambda x, a: a * 0.5, lambda a, b: a.sum()),
}


def _grad_program(lib, name, inputs_of):
    f_a, f_b, f_out = PROGRAMS[name]
    fired = []
    x = (tl.tensor if lib is tl else torch.tensor)(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    x.register_hook(lambda g: fired.append("x"))
    a = f_a(x)
    a.register_hook(lambda g: fired.append("a"))
    b = f_b(x, a)
    b.register_hook(lambda g: fired.append("b"))
    out = f_out(a, b)
    wanted = {"a": [a], "b": [b], "a, b": [a, b]}[inputs_of]
    grads = (
        lib.autograd.grad(out, wanted, allow_unused=True) if lib is torch else tl.grad(out, wanted, allow_unused=True)
    )
    grads = [None if g is None else np.asarray(g.detach().numpy() if lib is torch else g.data) for g in grads]
    hooks_of_grad = sorted(set(fired))
    # the graph below the inputs was neither run nor freed: a backward through it works (through what
    # lies between, both refuse: that part was run and freed)
    try:
        (a * b).sum().backward()
        xgrad = np.asarray(x.grad.detach().numpy() if lib is torch else x.grad.data)
    except RuntimeError:
        xgrad = "freed"
    return grads, hooks_of_grad, xgrad


@pytest.mark.parametrize("name, inputs_of", list(itertools.product(PROGRAMS, ["a", "b", "a, b"])))
def test_grad_of_intermediate_values_runs_no_hook_and_frees_nothing_below_them(name, inputs_of):
    ours = _grad_program(tl, name, inputs_of)
    theirs = _grad_program(torch, name, inputs_of)
    for g_ours, g_theirs in zip(ours[0], theirs[0]):
        assert (g_ours is None) == (g_theirs is None)
        if g_ours is not None:
            np.testing.assert_allclose(g_ours, g_theirs, rtol=1e-12)
    assert ours[1] == theirs[1]  # which hooks tl.grad fired: never x's
    assert "x" not in ours[1]
    if isinstance(theirs[2], str):
        assert ours[2] == theirs[2]
    else:
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


def test_backward_takes_pytorchs_gradient_and_inputs_keywords():
    results = {}
    for name, lib in LIBS.items():
        make = tl.tensor if lib is tl else torch.tensor
        x, w = make(np.array([1.0, 2.0]), requires_grad=True), make(np.array([3.0, -1.0]), requires_grad=True)
        y = x * w
        y.backward(gradient=make(np.array([1.0, 0.5])), inputs=[w], retain_graph=True)
        assert x.grad is None
        first = w.grad.detach().numpy().copy() if lib is torch else w.grad.data.copy()
        y.backward(gradient=make(np.array([2.0, 2.0])))
        both = [np.asarray(t.grad.detach().numpy() if lib is torch else t.grad.data) for t in (x, w)]
        results[name] = (first, both)
    np.testing.assert_array_equal(results["tl"][0], results["torch"][0])
    for ours, theirs in zip(results["tl"][1], results["torch"][1]):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("value", [True, False])
def test_requires_grad_on_a_result_passes_or_refuses_as_in_pytorch(value):
    outcomes = []
    for lib in (tl, torch):
        x = (tl.tensor if lib is tl else torch.tensor)(np.ones(2), requires_grad=True)
        try:
            outcomes.append((x * 2).requires_grad_(value).requires_grad)
        except RuntimeError:
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1]


# ---- PyTorch's spellings mean what they mean in PyTorch ---------------------------------------------------


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (3,)])
def test_transpose_of_two_dims_swaps_them_as_pytorch(shape):
    data = np.arange(np.prod(shape), dtype=float).reshape(shape)
    for d0, d1 in itertools.product(range(-len(shape), len(shape)), repeat=2):
        ours = tl.tensor(data).transpose(d0, d1)
        theirs = torch.tensor(data).transpose(d0, d1)
        np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=f"transpose({d0}, {d1}) of {shape}")
    assert tl.tensor(data).transpose().shape == data.T.shape  # NumPy's reversal stays
    if len(shape) == 3:
        assert tl.tensor(data).transpose((1, 2, 0)).shape == data.transpose((1, 2, 0)).shape


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_over_a_dim_sends_a_tied_gradient_to_the_index_it_returns(op):
    rng = np.random.default_rng(3)
    for _ in range(20):
        data = rng.integers(0, 3, (3, 4)).astype(float)  # many ties
        for dim, keepdim in itertools.product([0, 1, -1], [False, True]):
            x, tx = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
            ours, theirs = getattr(x, op)(dim=dim, keepdim=keepdim), getattr(tx, op)(dim=dim, keepdim=keepdim)
            np.testing.assert_array_equal(ours.values.data, theirs.values.detach().numpy())
            np.testing.assert_array_equal(ours.indices.data, theirs.indices.numpy())
            weights = np.arange(1.0, 1.0 + ours.values.data.size).reshape(ours.values.shape)
            (ours.values * tl.tensor(weights)).sum().backward()
            (theirs.values * torch.tensor(weights)).sum().backward()
            np.testing.assert_array_equal(x.grad.data, tx.grad.numpy(), err_msg=f"{op}(dim={dim}) of {data}")
    # without dim= it is amax/amin: the gradient shared among ties, as torch.amax
    x, tx = tl.tensor([[1.0, 1.0, 0.0]], requires_grad=True), torch.tensor([[1.0, 1.0, 0.0]], requires_grad=True)
    x.max().backward()
    tx.amax().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
