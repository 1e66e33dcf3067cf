"""``tl.autograd.graph.saved_tensors_hooks``: PyTorch's hooks on saved tensors, against PyTorch.

The cases of PyTorch's "Hooks for autograd saved tensors" tutorial: hooks that see what a graph
saves, an unpack that changes it (so the gradient changes, as in PyTorch), saving to disk and loading
back, nested hooks (the innermost applies), and an LSTM trained under hooks with eager's gradients.
Each was an AttributeError before."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lstm as tl

from .programs import leaf_arrays, programs, run

torch = pytest.importorskip("torch")

A, B = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.0])


def _run(lib, pack, unpack, body):
    hooks = lib.autograd.graph.saved_tensors_hooks
    a = lib.tensor(A.copy(), requires_grad=True)
    b = lib.tensor(B.copy(), requires_grad=True)
    with hooks(pack, unpack):
        y = body(a, b)
    y.backward()
    return a.grad.numpy(), b.grad.numpy()


BODIES = {
    "product": lambda a, b: (a * b).sum(),
    "exp saves its output": lambda a, b: (a.exp() * b).sum(),
    "tanh and a quotient": lambda a, b: (a.tanh() / (b * b + 1)).sum(),
}


@pytest.mark.parametrize("body", sorted(BODIES))
@pytest.mark.parametrize("unpack", ["identity", "doubled"])
def test_hooks_give_pytorchs_gradients_even_when_unpack_changes_the_saved_values(body, unpack):
    """An unpack that doubles what was saved changes the gradient as in PyTorch (each op here saves
    what PyTorch's saves); identity hooks give the gradient without hooks, bit for bit."""
    scale = 2.0 if unpack == "doubled" else 1.0
    ours = _run(tl, lambda t: t, lambda t: t * scale, BODIES[body])
    theirs = _run(torch, lambda t: t, lambda t: t * scale, BODIES[body])
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)
    if unpack == "identity":
        a = tl.tensor(A.copy(), requires_grad=True)
        b = tl.tensor(B.copy(), requires_grad=True)
        BODIES[body](a, b).backward()
        np.testing.assert_array_equal(ours[0], a.grad.numpy())
        np.testing.assert_array_equal(ours[1], b.grad.numpy())


@pytest.mark.parametrize("lib", [tl, torch], ids=["tl", "torch"])
def test_the_tutorials_first_example_packs_each_saved_tensor_once_and_unpacks_it_in_backward(lib):
    packed, unpacked = [], []
    a = lib.ones(5, requires_grad=True)
    b = lib.ones(5, requires_grad=True) * 2
    with lib.autograd.graph.saved_tensors_hooks(
        lambda t: packed.append(t.tolist()) or t, lambda t: unpacked.append(t.tolist()) or t
    ):
        y = a * b
    assert sorted(packed) == [[1.0] * 5, [2.0] * 5] and unpacked == []
    y.sum().backward()
    assert sorted(unpacked) == sorted(packed)
    assert a.grad.tolist() == [2.0] * 5


def test_saving_to_disk_and_loading_back_gives_the_same_gradients(tmp_path):
    """The tutorial's hooks that write each saved tensor to a file and read it in backward."""

    def pack(t):
        name = str(tmp_path / f"{uuid.uuid4()}.npz")
        tl.save(t, name)
        return name

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2, 3))
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(3, 4, dtype=np.float64)
    lstm(tl.tensor(x))[0].sum().backward()
    want = [p.grad.data.copy() for p in lstm.parameters()]
    lstm.zero_grad()
    with tl.autograd.graph.saved_tensors_hooks(pack, lambda name: tl.load(name)):
        out = lstm(tl.tensor(x))[0].sum()
    assert len(list(tmp_path.iterdir())) > 50
    out.backward()
    for p, w in zip(lstm.parameters(), want):
        np.testing.assert_array_equal(p.grad.data, w)


@pytest.mark.parametrize("lib", [tl, torch], ids=["tl", "torch"])
def test_the_innermost_hooks_apply_as_in_pytorch(lib):
    seen = []
    a = lib.tensor(A.copy(), requires_grad=True)
    hooks = lib.autograd.graph.saved_tensors_hooks
    with hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with hooks(lambda t: seen.append("inner") or t, lambda t: t):
            y = (a * a).sum()
        z = a.exp().sum()
    (y + z).backward()
    assert seen == ["inner", "inner", "outer"], (lib.__name__, seen)


def test_an_unpack_of_the_wrong_shape_is_named_and_a_second_backward_needs_retain_graph():
    a = tl.tensor(A.copy(), requires_grad=True)
    with tl.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t[:2]):
        y = (a * a).sum()
    with pytest.raises(RuntimeError, match=r"unpack hook of mul .* returned a float64 Tensor of shape \(2,\) for a"):
        y.backward()
    with tl.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
        y = (a * a).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), 4 * A)
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        y.backward()


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(programs(), st.sampled_from(["identity", "copy to a file", "save_on_cpu"]))
def test_generated_programs_under_hooks_give_the_gradients_without_them_bit_for_bit(program, how):
    """Every primitive the generated programs use, its saved arrays packed and unpacked (as they are,
    as copies through a file, or save_on_cpu's copies): the gradients and values bit for bit as
    without hooks, to second order where the program has one."""
    import io

    def via_file(t):
        buffer = io.BytesIO()
        tl.save(t, buffer)
        buffer.seek(0)
        return buffer

    hooks = {
        "identity": lambda: tl.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t),
        "copy to a file": lambda: tl.autograd.graph.saved_tensors_hooks(via_file, tl.load),
        "save_on_cpu": lambda: tl.autograd.graph.save_on_cpu(),
    }[how]
    arrays = leaf_arrays(program)
    results = []
    for hooked in (False, True):
        leaves = [tl.tensor(a.copy(), requires_grad=True) for a in arrays]
        if hooked:
            with hooks():
                loss, _ = run(program, leaves, "tl")
        else:
            loss, _ = run(program, leaves, "tl")
        grads = tl.grad(loss, leaves, allow_unused=True, create_graph=True)
        used = [g for g in grads if g is not None and g.requires_grad]
        second = tl.grad(sum(g.sum() for g in used), leaves, allow_unused=True) if used else []
        results.append([loss.data] + [None if g is None else g.data for g in [*grads, *second]])
    for plain, hooked in zip(*results):
        assert (plain is None) == (hooked is None)
        if plain is not None:
            np.testing.assert_array_equal(hooked, plain)


def test_an_in_place_update_of_a_saved_value_under_hooks_as_pytorch():
    """``h.clamp_()`` saves h's values and then writes its result into them; under hooks the packed
    tensor was h's memory itself, so backward refused ("changed in place") where PyTorch computes."""
    for lib in (tl, torch):
        a = lib.tensor(np.array([0.3, -2.0, 0.8]), requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            h = a * 1.0
            h *= 0.5
            h += a.tanh()
            h.clamp_(-0.9, 0.9)
        h.sum().backward()
        if lib is tl:
            ours = a.grad.numpy()
    np.testing.assert_allclose(ours, a.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("lib", [tl, torch], ids=["tl", "torch"])
def test_what_a_graph_saved_as_the_tutorial_reads_it(lib):
    """The saved-tensors tutorial's first cells: ``y.grad_fn._saved_self`` is the leaf x itself,
    ``_saved_result`` equals the output (not the output object), ``_saved_other`` the second input.
    They were AttributeErrors."""
    x = lib.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x.pow(2)
    assert y.grad_fn._saved_self is x
    e = x.exp()
    assert e.grad_fn._saved_result.tolist() == e.tolist() and e.grad_fn._saved_result is not e
    z = x * lib.tensor(np.array([4.0, 5.0, 6.0]))
    assert z.grad_fn._saved_other.tolist() == [4.0, 5.0, 6.0]
