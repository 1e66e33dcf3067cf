"""The tape and the backward sweep: accumulation, freeing, hooks, modes, dtypes, errors, depth."""

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl

from .helpers import leaf

# ---- the sweep ---------------------------------------------------------------------------------


def test_contributions_are_summed_before_propagating():
    x = leaf((3,))
    calls = []
    y = x.tanh()
    y.register_hook(lambda g: calls.append(g.data.copy()))
    z = (y * 2 + y * 3 + y).sum()  # y feeds three entries
    z.backward()
    assert len(calls) == 1, "the hook sees y's total gradient once"
    np.testing.assert_allclose(calls[0], np.full(3, 6.0))
    np.testing.assert_allclose(x.grad.data, 6 * (1 - np.tanh(x.data) ** 2))


def test_leaf_grad_accumulates_across_backward_calls():
    x = leaf((2, 2))
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3)


def test_leaf_grads_do_not_alias_each_other():
    a, b = leaf((3,)), leaf((3,), 1)
    (a + b).sum().backward()  # the same gradient array flows to both
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0


def test_only_leaves_and_retained_tensors_keep_grad():
    x = leaf((3,))
    y = x * 2
    z = y.exp()
    z.retain_grad()
    z.sum().backward()
    with pytest.warns(UserWarning, match="not a leaf .*retain_grad"):  # as PyTorch warns
        assert y.grad is None
    np.testing.assert_allclose(z.grad.data, np.ones(3))
    assert x.grad is not None and x.is_leaf and not y.is_leaf


def test_deep_chain_of_100000_ops_backpropagates():
    x = tl.Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.data[0] == 1.0
    del y  # freeing a 100,000-deep graph must not overflow the C stack either


def test_diamond_graph_matches_analytic():
    x = leaf((4,))
    a = x.sigmoid()
    b = a * x
    c = (a + b).tanh() * b
    c.sum().backward()
    s = 1 / (1 + np.exp(-x.data))
    bb = s * x.data
    t = np.tanh(s + bb)
    dc_da = (1 - t**2) * bb
    dc_db = (1 - t**2) * bb + t
    expected = dc_da * s * (1 - s) + dc_db * (s * (1 - s) * x.data + s)
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12)


# ---- retain_graph and freeing ------------------------------------------------------------------------


def test_second_backward_through_freed_graph_raises():
    x = leaf((3,))
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="freed.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = leaf((3,))
    y = (x.tanh() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad.data, 2 * first)


def test_saved_arrays_are_freed_after_backward():
    x = leaf((5, 5))
    with tl.Tape() as tape:
        y = (x.tanh() @ x).sigmoid().sum()
    assert sum(e.saved_nbytes for e in tape) > 0
    y.backward()
    assert sum(e.saved_nbytes for e in tape) == 0
    assert all(e.freed for e in tape)


# ---- higher order ----------------------------------------------------------------------------------


def test_second_derivative_of_cube():
    x = tl.Tensor(np.array([0.5, -2.0, 3.0]), requires_grad=True)
    (dx,) = tl.grad((x**3).sum(), x, create_graph=True)
    np.testing.assert_allclose(dx.data, 3 * x.data**2)
    (ddx,) = tl.grad(dx.sum(), x)
    np.testing.assert_allclose(ddx.data, 6 * x.data)


def test_hessian_vector_product_matches_analytic():
    # f(x) = sum(tanh(A x)) has Hessian A^T diag(-2 tanh(Ax)(1 - tanh(Ax)^2)) A
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 3))
    x = tl.Tensor(rng.standard_normal(3), requires_grad=True)
    v = rng.standard_normal(3)
    (g,) = tl.grad((tl.Tensor(A) @ x).tanh().sum(), x, create_graph=True)
    (hv,) = tl.grad((g * v).sum(), x)
    t = np.tanh(A @ x.data)
    H = A.T @ np.diag(-2 * t * (1 - t**2)) @ A
    np.testing.assert_allclose(hv.data, H @ v, rtol=1e-12)


@pytest.mark.parametrize(
    "f, d2",
    [
        (lambda x: x.exp(), lambda x: np.exp(x)),
        (lambda x: x.log(), lambda x: -1 / x**2),
        (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5),
        (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
        (lambda x: 1 / x, lambda x: 2 / x**3),
        (lambda x: x**2.5, lambda x: 2.5 * 1.5 * x**0.5),
        (lambda x: 2.0**x, lambda x: np.log(2) ** 2 * 2**x),
        (lambda x: x.softmax(0)[0:1].sum() * 0 + (x * x).logsumexp(0), None),
    ],
)
def test_second_derivatives_elementwise(f, d2):
    x = tl.Tensor(np.array([0.7, 1.3, 2.1]), requires_grad=True)
    (g,) = tl.grad(f(x).sum(), x, create_graph=True)
    (h,) = tl.grad(g.sum(), x)
    if d2 is not None:
        np.testing.assert_allclose(h.data, d2(x.data), rtol=1e-10)
    else:  # check the recorded backward numerically: d/dx of g.sum()
        assert tl.gradcheck(lambda x: tl.grad(f(x).sum(), x, create_graph=True)[0].sum(), x)


def test_create_graph_through_matmul_indexing_and_reductions():
    rng = np.random.default_rng(4)
    W = tl.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    idx = np.array([0, 2, 2])

    def grad_norm(W):
        y = (W[idx] @ W.T).tanh().max(axis=1).sum() + tl.cat([W, W * 2]).mean()
        (g,) = tl.grad(y, W, create_graph=True)
        return (g * g).sum()

    assert tl.gradcheck(grad_norm, W)


# ---- hooks, no_grad, detach, requires_grad -----------------------------------------------------------


def test_hook_can_replace_gradient_and_be_removed():
    x = leaf((3,))
    handle = x.register_hook(lambda g: g * 10)
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 20.0))
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, 2.0))


def test_hook_on_intermediate_changes_what_flows_upstream():
    x = leaf((3,))
    y = x * 3
    y.register_hook(lambda g: g * 0)
    (y * y).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.zeros(3))


def test_no_grad_records_nothing():
    x = leaf((3,))
    with tl.Tape() as tape, tl.no_grad():
        y = (x * 2).tanh()
    assert not y.requires_grad and len(tape) == 0
    assert tl.is_grad_enabled()

    @tl.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_detach_cuts_the_tape_and_shares_data():
    x = leaf((3,))
    d = x.detach()
    assert not d.requires_grad and d.data is x.data
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.data, x.data)  # d is a constant


def test_requires_grad_propagates():
    a = tl.Tensor(np.ones(2))
    b = tl.Tensor(np.ones(2), requires_grad=True)
    assert not (a * 2).requires_grad
    assert (a * b).requires_grad
    assert not (a > b).requires_grad
    assert (a > b).dtype == np.bool_


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="floating point.*int64"):
        tl.Tensor(np.arange(3), requires_grad=True)


def test_backward_on_non_scalar_needs_grad():
    x = leaf((2, 3))
    y = x * 2
    with pytest.raises(RuntimeError, match=r"scalar.*\(2, 3\).*grad="):
        y.backward()
    y.backward(grad=np.ones((2, 3)))
    np.testing.assert_allclose(x.grad.data, np.full((2, 3), 2.0))


def test_tl_grad_leaves_dot_grad_alone_and_reports_unused_inputs():
    x, unused = leaf((3,)), leaf((3,), 1)
    y = (x * x).sum()
    (gx,) = tl.grad(y, x, retain_graph=True)
    assert x.grad is None
    np.testing.assert_allclose(gx.data, 2 * x.data)
    with pytest.raises(RuntimeError, match="not used"):
        tl.grad(y, [x, unused], retain_graph=True)
    gx, gu = tl.grad(y, [x, unused], allow_unused=True)
    assert gu is None


def test_tl_grad_of_intermediate():
    x = leaf((3,))
    h = x.tanh()
    y = (h * h).sum()
    (gh,) = tl.grad(y, h)
    np.testing.assert_allclose(gh.data, 2 * h.data)


# ---- dtypes and numerical stability --------------------------------------------------------------


def test_float32_stays_float32_through_ops_and_grads():
    x = leaf((3, 4), dtype=np.float32)
    w = leaf((4, 2), 1, dtype=np.float32)
    y = ((x @ w + 1.5).tanh() * 2.0 - 0.5).sigmoid() / 3.0
    y = (y**2).mean(axis=0).logsumexp() + x.max() + (x.relu() + 1e-3).sqrt().log().sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_gradient_cast_back_to_input_dtype_when_mixing_with_float64_arrays():
    x = leaf((3,), dtype=np.float32)
    y = (x * np.ones(3, dtype=np.float64)).sum()
    assert y.dtype == np.float64  # NumPy's promotion
    y.backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("fn", ["sigmoid", "tanh", "softmax", "logsumexp", "log_softmax"])
def test_extreme_inputs_stay_finite_without_warnings(fn):
    x = tl.Tensor(np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(x, fn)()
        (y * np.arange(y.size).reshape(y.shape)).sum().backward()
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad.data))


def test_sigmoid_saturates_exactly():
    y = tl.Tensor(np.array([1e4, -1e4, 0.0])).sigmoid()
    np.testing.assert_array_equal(y.data, [1.0, 0.0, 0.5])


# ---- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, pattern",
    [
        (lambda a, b: a + b, r"add: .*\(2, 3\) and \(4,\)"),
        (lambda a, b: a * b, r"mul: .*\(2, 3\) and \(4,\)"),
        (lambda a, b: a @ b, r"matmul: shapes \(2, 3\) and \(4,\)"),
        (lambda a, b: tl.cat([a, b]), r"cat: shapes \(2, 3\), \(4,\)"),
        (lambda a, b: a.reshape(5), r"reshape: .*\(2, 3\) into \(5,\)"),
    ],
)
def test_shape_errors_name_op_and_shapes(fn, pattern):
    a, b = leaf((2, 3)), leaf((4,))
    with pytest.raises(ValueError, match=pattern):
        fn(a, b)


def test_scalars_and_arrays_mix_on_either_side():
    x = leaf((3,))
    y = 2.0 - x + np.ones(3) * x / 4.0 + 1.0 / (x * x + 1) + 2.0**x
    y.sum().backward()
    assert isinstance(np.ones(3) - x, tl.Tensor)
    assert isinstance(np.ones(3) @ x, tl.Tensor)


# ---- scopes and tape listing --------------------------------------------------------------------------


def test_scopes_label_entries_and_listing_is_readable():
    x = leaf((2, 3))
    x.name = "x"
    with tl.Tape() as tape:
        with tl.scope("rnn.l0", t=0):
            h = x.tanh().named("h")
        with tl.scope("rnn.l0", t=1):
            with tl.scope("gate"):
                y = (h * h).sum()
    assert [e.scope.path for e in tape] == ["rnn.l0[t=0]", "rnn.l0[t=1]/gate", "rnn.l0[t=1]/gate"]
    lines = tape.listing().splitlines()
    assert len(lines) == 3
    assert lines[0].split()[:3] == ["h(%0)", "=", "tanh(x)"] and "(2, 3)" in lines[0] and "float64" in lines[0]
    assert "mul(h(%0), h(%0))" in lines[1] and "rnn.l0[t=1]/gate" in lines[1]
    assert len(tape.filter(scope="t=1")) == 2 and len(tape.filter(op="tanh")) == 1
    graph = tl.Tape.of(y)
    assert [e.op for e in graph] == ["leaf", "tanh", "mul", "sum"]
    assert [e.index for e in graph] == sorted(e.index for e in graph)


def test_a_gradient_is_summed_in_place_only_when_nothing_else_holds_it():
    from tinygrad_lstm.backward import sole_reference

    buffers = {"w": np.ones(3)}
    assert sole_reference(buffers, "w")
    kept = buffers["w"]
    assert not sole_reference(buffers, "w")  # someone else holds it
    del kept
    view = buffers["w"][1:]
    assert not sole_reference(buffers, "w")  # a view would see the change
    del view
    held = np.ones(4)
    buffers["v"] = held[:3]
    assert not sole_reference(buffers, "v")  # a view of an array someone else holds
    buffers["t"] = np.ones((3, 2)).T
    assert sole_reference(buffers, "t")  # a view that alone holds what it views (a transposed product)
    buffers["r"] = np.broadcast_to(np.ones(1), (3,))
    assert not sole_reference(buffers, "r")  # read-only
