"""In-place changes: true writes where PyTorch allows them, refused where they would corrupt a graph,
and never a gradient that silently mixes old and new values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_lstm as tl

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed (pip install torch==2.13.0)")


# ---- class 2: arrays changed between forward and backward are detected -----------------------------------
CHANGES = {
    "setitem": lambda w: w.__setitem__(Ellipsis, 100.0),
    "iadd": lambda w: w.__iadd__(1.0),
    "mul_": lambda w: w.mul_(2.0),
    "copy_": lambda w: w.copy_(np.zeros(w.shape)),
    "zero_": lambda w: w.zero_(),
    "view": lambda w: w.detach().reshape(-1).__iadd__(1.0),  # a view of the same memory
    "init": lambda w: tl.nn.init.uniform_(w),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_saved_array_changed_before_backward_is_refused(change):
    x, w = tl.tensor([1.0, 2.0, 3.0], requires_grad=True), tl.tensor([1.0, 1.0, 1.0], requires_grad=True)
    w.name = "w"
    y = (x * w).sum()
    with tl.no_grad():
        CHANGES[change](w)
    with pytest.raises(RuntimeError, match=r"mul \(%\d+\) saved its input 1 \(w, shape \(3,\)\).*changed in place"):
        y.backward()
    assert x.grad is None  # nothing was accumulated


def test_an_op_that_saved_nothing_still_backpropagates_after_a_change():
    x, w = tl.tensor([1.0, 2.0], requires_grad=True), tl.tensor([3.0, 4.0], requires_grad=True)
    y = (x + w).sum()  # add's VJP reads no array, as in PyTorch
    with tl.no_grad():
        w += 1
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0])


def test_version_check_through_an_optimizer_step_on_a_shared_graph():
    lstm = tl.nn.LSTM(2, 3, dtype=np.float64)
    opt = tl.optim.SGD(lstm.parameters(), lr=0.1)
    out, _ = lstm(tl.randn(4, 1, 2, dtype=np.float64))
    l1, l2 = out[-1].sum(), (out * out).sum()
    l1.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"scope lstm\.l0.*(weight|bias)_\w+_l0.*changed in place"):
        l2.backward()
    opt.zero_grad()
    out, _ = lstm(tl.randn(4, 1, 2, dtype=np.float64))  # computed again after the step: fine
    (out * out).sum().backward()
    assert all(p.grad is not None for p in lstm.parameters())


def test_load_state_dict_between_forward_and_backward_is_refused():
    lin = tl.nn.Linear(3, 2, dtype=np.float64)
    x = tl.Tensor(np.ones((1, 3)), requires_grad=True)
    y = lin(x).sum()
    lin.load_state_dict({k: v + 1 for k, v in lin.state_dict().items()})
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_a_compiled_step_refuses_backward_after_an_optimizer_step():
    lin = tl.nn.Linear(2, 1, dtype=np.float64)
    opt = tl.optim.SGD(lin.parameters(), lr=0.1)
    step = tl.compile(lambda x: (lin(x).tanh() * lin(x)).sum())
    x = tl.randn(4, 2, dtype=np.float64)
    lin(x).sum().backward()  # gradients, so that the optimizer's steps change the weights
    # the recording's result goes through the usual sweep, which names the entry that saved the weight;
    # a replay's result names the weight
    expected = [
        r"matmul \(%\d+\) saved its input 1 \(shape \(2, 1\)\).* changed in place after that",
        r"^backward: (weight|bias) \(shape .* changed in place after the step ran",
    ]
    for message in expected:  # the trace, then a replay
        loss = step(x)
        opt.step()
        with pytest.raises(RuntimeError, match=message):
            loss.backward()
    loss = step(x)
    loss.backward()  # in the usual order all is well
    opt.step()


def test_an_in_place_change_of_a_saved_result_is_refused_as_in_pytorch():
    x = tl.tensor([0.5, -0.5], requires_grad=True)
    y = x.sigmoid()  # sigmoid's VJP reads its own result
    z = y + 0.0  # add saves nothing
    z.mul_(2.0)  # recorded: z is not a leaf
    y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"sigmoid .* saved its own result"):
        (z + y).sum().backward()


# generated programs from the differential tests, then one leaf changed in place
from .programs import leaf_arrays, programs, run  # noqa: E402


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from(["iadd", "mul_", "setitem", "copy_"]), st.data())
def test_a_change_in_place_gives_the_old_graph_gradient_or_an_error(program, change, data):
    """Never a silent mix: after a leaf is changed in place, backward either refuses or gives
    exactly the gradient of the program at the values it was recorded with."""
    arrays = leaf_arrays(program)
    fresh = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = run(program, fresh, "tl")
    loss.backward()
    expected = [x.grad.data if x.grad is not None else np.zeros(x.shape) for x in fresh]

    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    loss, _ = run(program, xs, "tl")
    k = data.draw(st.integers(0, len(xs) - 1))
    with tl.no_grad():
        {
            "iadd": lambda x: x.__iadd__(0.75),
            "mul_": lambda x: x.mul_(-1.5),
            "setitem": lambda x: x.__setitem__(Ellipsis, 0.25),
            "copy_": lambda x: x.copy_(np.full(x.shape, 2.0)),
        }[change](xs[k])
    try:
        loss.backward()
    except RuntimeError as e:
        assert "changed in place" in str(e)
        return
    for x, g in zip(xs, expected):
        np.testing.assert_allclose(x.grad.data if x.grad is not None else np.zeros(x.shape), g, rtol=1e-12)


# ---- class 3: in-place updates a PyTorch user writes ----------------------------------------------------
def test_an_sgd_step_written_by_hand_updates_the_weight_in_place():
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    array = p.data
    (p * p).sum().backward()
    with tl.no_grad():
        p -= 0.1 * p.grad
    assert p.data is array and p.is_leaf and p.requires_grad
    np.testing.assert_allclose(p.data, [0.8, 1.6])
    p.grad.zero_()
    np.testing.assert_array_equal(p.grad.data, [0.0, 0.0])
    (p * p).sum().backward()  # still a leaf: its .grad fills again
    np.testing.assert_allclose(p.grad.data, [1.6, 3.2])


@pytest.mark.parametrize(
    "update", [lambda a: a.__iadd__(1), lambda a: a.add_(1), lambda a: a.__setitem__(0, 5.0), lambda a: a.zero_()]
)
def test_an_in_place_update_of_a_leaf_that_requires_grad_is_refused(update):
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf tensor that requires grad .* in-place operation"):
        update(a)
    np.testing.assert_array_equal(a.data, [1.0, 2.0])  # nothing changed
    assert a.is_leaf


INPLACE = [
    ("add_", lambda t, v: t.add_(v, alpha=2), lambda a, v: a + 2 * v),
    ("sub_", lambda t, v: t.sub_(v), lambda a, v: a - v),
    ("mul_", lambda t, v: t.mul_(v), lambda a, v: a * v),
    ("div_", lambda t, v: t.div_(v), lambda a, v: a / v),
    ("iadd", lambda t, v: t.__iadd__(v), lambda a, v: a + v),
    ("isub", lambda t, v: t.__isub__(v), lambda a, v: a - v),
    ("imul", lambda t, v: t.__imul__(v), lambda a, v: a * v),
    ("idiv", lambda t, v: t.__itruediv__(v), lambda a, v: a / v),
    ("clamp_", lambda t, v: t.clamp_(-0.5, 0.5), lambda a, v: np.clip(a, -0.5, 0.5)),
    ("copy_", lambda t, v: t.copy_(v), lambda a, v: np.broadcast_to(v, a.shape)),
    ("fill_", lambda t, v: t.fill_(3.0), lambda a, v: np.full(a.shape, 3.0)),
    ("zero_", lambda t, v: t.zero_(), lambda a, v: np.zeros(a.shape)),
    ("setitem", lambda t, v: t.__setitem__((slice(None), 1), v[0]), None),
]


@pytest.mark.parametrize("name, ours, numpys", INPLACE, ids=[n for n, _, _ in INPLACE])
def test_in_place_updates_write_the_array_that_views_share(name, ours, numpys):
    a = np.random.default_rng(0).standard_normal((2, 3))
    v = np.random.default_rng(1).standard_normal(3) + 2.0
    t = tl.Tensor(a.copy())
    view = t.detach()
    result = ours(t, tl.Tensor(v))
    assert result is None or result is t
    if numpys is None:
        expected = a.copy()
        expected[:, 1] = v[0]
    else:
        expected = numpys(a, v)
    np.testing.assert_allclose(t.data, expected)
    np.testing.assert_allclose(view.data, expected)  # the same array


def test_in_place_errors_name_the_op_and_change_nothing():
    t = tl.Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"add_: cannot update a tensor of shape \(3,\)"):
        t += np.ones((2, 3))
    n = tl.Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="add_: cannot update a tensor of shape"):
        n += 0.5
    np.testing.assert_array_equal(t.data, 1.0)
    np.testing.assert_array_equal(n.data, [1, 2])


@needs_torch
def test_recorded_in_place_updates_of_results_match_pytorch():
    rng = np.random.default_rng(3)
    xa, wa, va = rng.standard_normal((2, 3)), rng.standard_normal(3), rng.standard_normal(2)

    def program(x, w, v, lib):
        h = x * 2.0
        h += w
        h.mul_(w)
        h[:, 0] = v  # a value that requires grad written into a result
        h.clamp_(-1.5, 1.5)
        h.sub_(x, alpha=0.5)
        g = (h * h).sum()
        return g

    ours = [tl.Tensor(a.copy(), requires_grad=True) for a in (xa, wa, va)]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in (xa, wa, va)]
    y = program(*ours, tl)
    ty = program(*theirs, torch)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12)
    y.backward()
    ty.backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o.grad.data, t.grad.numpy(), rtol=1e-12)


def test_index_put_is_gradchecked_to_second_order():
    x = tl.Tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    v = tl.Tensor(np.random.default_rng(1).standard_normal((2, 1)), requires_grad=True)
    index = (np.array([0, 2]), slice(1, 3))

    def fn(x, v):
        return tl.ops.index_put(x, index, v * v).tanh() * x

    assert tl.gradcheck(fn, [x, v])
    assert tl.gradcheck(lambda x, v: tl.grad(fn(x, v).sum(), [x, v], create_graph=True)[1] * v, [x, v])


# ---- class 5: hooks, tl.grad, create_graph, compile and gradcheck ---------------------------------------
def test_a_hook_returning_a_wrong_shape_is_refused():
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x.register_hook(lambda g: np.ones(5))
    with pytest.raises(RuntimeError, match=r"returned a gradient of shape \(5,\) for a value of shape \(3,\)"):
        x.sum().backward()


def test_tl_grad_refuses_fewer_grad_outputs_than_outputs():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="1 grad_outputs given for 2 outputs"):
        tl.grad([x.sum(), (x * 2).sum()], x, grad_outputs=[None])


def test_backward_with_create_graph_never_keeps_the_callers_grad_tensor():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    seed = tl.Tensor(np.array([1.0, 1.0]))
    (x + 0.0).backward(seed, create_graph=True)  # add passes the seed through unchanged
    assert x.grad is not seed
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(seed.data, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


def test_a_compiled_call_with_an_input_that_requires_grad_runs_eagerly_and_reaches_it():
    """It was refused ("input 0 requires grad"), where PyTorch's compiled module differentiates its
    input too: the call runs eagerly now, so the input's gradient is eager's."""
    lin = tl.nn.Linear(2, 1, dtype=np.float64)
    step = tl.compile(lambda x: lin(x).sum())
    x = tl.randn(3, 2, dtype=np.float64, requires_grad=True)
    step(x).backward()
    assert step.eager_calls == 1 and not step.recordings
    np.testing.assert_array_equal(x.grad.data, np.broadcast_to(lin.weight.data, (3, 2)))


@pytest.mark.parametrize(
    "branch",
    [
        lambda loss: loss.item() > 0,
        lambda loss: float(loss) > 0,
        lambda loss: bool(loss > 0),
        lambda loss: loss.numpy() > 0,
    ],
)
def test_compile_refuses_python_control_flow_on_recorded_values(branch):
    lin = tl.nn.Linear(2, 1, dtype=np.float64)

    def step(x):
        loss = lin(x).sum()
        return loss * 2 if branch(loss) else -loss

    with pytest.raises(tl.CompileError, match="a replay would reuse the first call's value"):
        tl.compile(step)(tl.randn(3, 2, dtype=np.float64))
    assert step(tl.randn(3, 2, dtype=np.float64)).shape == ()  # eager, it simply runs


def test_compile_recomputes_a_mask_made_from_a_recorded_value():
    # issue 27: the comparison is an op of the program (no gradient), not the first call's mask
    lin = tl.nn.Linear(2, 1, dtype=np.float64)
    fn = lambda x: tl.where(lin(x) > 0, lin(x), 0.0).sum()  # noqa: E731
    step = tl.compile(fn)
    for x in (np.ones((3, 2)), -np.ones((3, 2)), np.array([[1.0, 2.0], [-3.0, 0.5], [0.0, -1.0]])):
        np.testing.assert_array_equal(step(x).data, fn(tl.Tensor(x)).data)
    assert step.replays == 2


def test_gradcheck_perturbs_non_contiguous_inputs():
    w = tl.Tensor(np.random.default_rng(0).standard_normal((3, 2)).T, requires_grad=True)
    assert not w.data.flags.c_contiguous
    assert tl.gradcheck(lambda w: (w * w).sum(axis=0), w)


def test_a_view_or_base_written_in_place_is_brought_up_to_date_as_pytorch_rebases_it():
    # this engine used to refuse both (and, before that, gave a wrong gradient silently); the matrix in
    # test_trust_views.py checks the same against PyTorch over every view op and kind of write
    w = tl.tensor(np.arange(4.0), requires_grad=True)
    u = w * 2.0
    v = u.reshape(2, 2)
    v[0, 0] = 5.0  # written through the view: u's graph now says u[0] is 5
    (u * u).sum().backward()
    assert w.grad.tolist() == [0.0, 8.0, 16.0, 24.0]
    w = tl.tensor(np.arange(4.0), requires_grad=True)
    u = w * 2.0
    v = u.reshape(2, 2)
    u[0] = 5.0  # written through the base: the view is rebased on u's new value
    (v * v).sum().backward()
    assert w.grad.tolist() == [0.0, 8.0, 16.0, 24.0]
    d = u.detach()  # memory shared without a view: a write through it cannot be followed
    d[1] = tl.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError, match="not a view of that tensor"):
        (u * u).sum()
