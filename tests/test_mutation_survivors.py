"""Wrong numbers that mutation testing showed no other test noticed (README, Testing).

Each test checks one place where a one-token change to the engine (a sign, a comparison, a dropped
add or copy) gave users a wrong value or gradient and every other test still passed. The expected
values come from PyTorch or from a formula written here, never from the engine.
"""

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")


def both(fn, *arrays, needs=None):
    """``fn`` on tinygrad_lstm leaves and on PyTorch leaves: the two losses and the gradients."""
    needs = needs or [True] * len(arrays)
    ours = [tl.Tensor(a.copy(), requires_grad=n) for a, n in zip(arrays, needs)]
    theirs = [torch.tensor(a.copy(), requires_grad=n) for a, n in zip(arrays, needs)]
    loss, their_loss = fn(*ours), fn(*theirs)
    loss.backward()
    their_loss.backward()
    np.testing.assert_allclose(loss.data, their_loss.detach().numpy(), rtol=1e-12)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if b.grad is None:
            assert a.grad is None, k
        else:
            np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=f"input {k}")
    return ours


def test_clip_passes_the_gradient_at_both_bounds_as_pytorch():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0])
    ours = tl.Tensor(x, requires_grad=True)
    ours.clip(-0.5, 0.5).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    theirs.clamp(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())
    np.testing.assert_array_equal(ours.grad.data, [0, 1, 1, 1, 0, 0])  # x == min and x == max pass


def test_a_single_element_picked_twice_adds_both_gradients():
    x = np.arange(6.0).reshape(2, 3)
    both(lambda x: x[0, 1] * 3 + x[0, 1] * 5 + x[1, 2], x)
    both(lambda x: (x * x).sum() + x[1, 0] * 7, x)  # into a buffer that already has a gradient
    v = np.array([1.0, 2.0, 3.0])
    both(lambda v: v[1] + v[1] + v[-1], v)


@pytest.mark.parametrize(
    "sa, sc",
    [((2, 3), (3,)), ((3,), (3,)), ((3,), (2, 3, 4)), ((2, 3), (4, 3, 5)), ((5, 2, 3), (3, 4))],
    ids=str,
)
def test_matmul_by_a_constant_of_any_rank_sends_the_gradient_to_the_other_side(sa, sc):
    rng = np.random.default_rng(1)
    a, c = rng.standard_normal(sa), rng.standard_normal(sc)
    both(lambda a, c: (a @ c * (a @ c)).sum(), a, c, needs=[True, False])
    both(lambda c, a: (a @ c * (a @ c)).sum(), c, a, needs=[True, False])


def test_the_exponents_gradient_of_zero_to_the_power_zero_is_zero_as_pytorch():
    a = np.array([0.0, 0.0, 0.0, 2.0, 2.0])
    b = np.array([0.0, 1.0, 2.5, 0.0, -1.0])
    ours = both(lambda a, b: (a**b).sum(), a, b)
    np.testing.assert_array_equal(ours[1].grad.data[:3], 0.0)  # a == 0, b >= 0: flat
    np.testing.assert_allclose(ours[1].grad.data[3:], [np.log(2), 0.5 * np.log(2)])


def test_broadcasting_size_1_against_size_0_gives_a_zero_gradient():
    x, y = np.ones((1, 3)), np.ones((0, 3))
    ours = both(lambda x, y: (x * y).sum() + x.sum(), x, y)
    np.testing.assert_array_equal(ours[0].grad.data, np.ones((1, 3)))
    both(lambda x, y: (x + y).sum(), np.ones((2, 1)), np.ones((2, 0)))


# ---- summing contributions to one gradient ----------------------------------------------------------


def test_a_contribution_is_not_added_in_place_into_a_gradient_another_input_shares():
    # an add sends one array to both inputs; w's later contributions must not reach b's gradient
    rng = np.random.default_rng(2)
    w, b, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    both(lambda w, b, c: ((w + b) * c).sum() * 1 + (w * 3).sum() + (w * c).sum(), w, b, c)
    both(lambda w, b, c: ((w + b).sum(0) * c[0]).sum() + (w * w).sum(), w, b, c)
    # a slice's gradient added later into w's shared array must not reach b's
    both(lambda w, b, c: (w[1] * c[0]).sum() + ((w + b) * c).sum(), w, b, c)
    both(lambda w, b, c: (w[1:] * c[1:]).sum() + ((w - b) * c).sum() + (w[0, 2] * 4), w, b, c)


def test_a_read_only_or_replaced_grad_still_receives_the_new_contribution():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    held = np.array([10.0, 20.0])
    held.flags.writeable = False
    x.grad = tl.Tensor(held)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [12.0, 24.0])  # PyTorch: accumulates, 10 + 2x
    np.testing.assert_array_equal(held, [10.0, 20.0])


def test_grad_is_accumulated_in_place_so_a_held_grad_sees_the_next_backward():
    x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3).sum().backward()
    held = x.grad
    (x * x).sum().backward()
    assert x.grad is held  # PyTorch: the same tensor, updated in place
    np.testing.assert_array_equal(held.data, [5.0, 7.0])


@pytest.mark.parametrize("rows", [(0, 2), (0, 3), (1, 3), (0, 1), (0, 1, 3), (3, 0, 2, 1)], ids=str)
def test_a_compiled_step_joins_row_gradients_only_when_the_rows_tile_the_array(rows):
    rng = np.random.default_rng(3)
    u0 = rng.standard_normal((4, 3))
    u = tl.Tensor(u0.copy(), requires_grad=True)

    def f(x):
        v = u * 1.0  # an entry of the step: slices of it are what a replay may join
        return sum((v[r].tanh() * x * (r + 1)).sum() for r in rows)  # one slice per row

    step = tl.compile(f)
    for k in range(3):  # records, then replays
        x = rng.standard_normal(3)
        u.grad = None
        step(x).backward()
        expected = np.zeros((4, 3))
        for r in rows:
            expected[r] = (1 - np.tanh(u0[r]) ** 2) * x * (r + 1)  # row by row; rows not read get 0
        np.testing.assert_allclose(u.grad.data, expected, rtol=1e-12, err_msg=f"call {k}")


def test_a_compiled_step_keeps_a_slice_gradient_out_of_a_shared_array():
    rng = np.random.default_rng(4)
    w0, b0 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    w = tl.Tensor(w0.copy(), requires_grad=True)
    b = tl.Tensor(b0.copy(), requires_grad=True)
    step = tl.compile(lambda c: (w[1] * c[0]).sum() + ((w + b) * c).sum())
    for k in range(3):
        c = rng.standard_normal((2, 3))
        w.grad = b.grad = None
        step(c).backward()
        expected_w = c.copy()
        expected_w[1] += c[0]
        np.testing.assert_allclose(w.grad.data, expected_w, rtol=1e-12, err_msg=f"call {k}")
        np.testing.assert_allclose(b.grad.data, c, rtol=1e-12, err_msg=f"call {k}")


def test_a_hook_returning_float64_for_a_float32_value_leaves_a_float32_grad_under_create_graph():
    x = tl.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    y = x * x
    y.register_hook(lambda g: tl.Tensor(g.data.astype(np.float64) * 2))
    y.sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])  # 2 * 2x
    x.grad = None
    x.register_hook(lambda g: tl.Tensor(g.data.astype(np.float64) + 1))  # on the leaf itself
    (x * 3).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0])


# ---- found by the mutation run (python benchmarks/mutation.py) ----------------------------------------


def test_astype_sends_back_the_inputs_dtype_under_create_graph():
    x = tl.Tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    (x.astype(np.float64) * 3).sum().backward(create_graph=True)
    assert x.grad.dtype == np.float32  # PyTorch: a leaf's grad has the leaf's dtype
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_flip_of_one_axis_sends_the_gradient_back_along_that_axis_only():
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    both(lambda x, w: (x.flip(0) * w).sum(), x, w, needs=[True, False])
    both(lambda x, w: (x.flip((1,)) * w).sum(), x, w, needs=[True, False])
    # second order: the VJP of flip is recorded too (a Tensor gradient is flipped by the op, not NumPy)
    ours = tl.Tensor(x.copy(), requires_grad=True)
    (g,) = tl.grad(((ours * ours).flip(0) * tl.Tensor(w)).sum(), [ours], create_graph=True)
    (g * g).sum().backward()
    theirs = torch.tensor(x.copy(), requires_grad=True)
    (tg,) = torch.autograd.grad(((theirs * theirs).flip(0) * torch.tensor(w)).sum(), [theirs], create_graph=True)
    (tg * tg).sum().backward()
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)


def test_variance_of_too_few_values_is_pytorchs_nan_or_inf_without_numpys_warnings():
    import warnings

    for shape, axis, correction in (((0, 3), 0, 1), ((1, 3), 0, 1), ((2, 3), 1, 3)):
        data = np.ones(shape)
        ours = tl.Tensor(data, requires_grad=True)
        theirs = torch.tensor(data, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the engine silences NumPy's divide and invalid warnings here
            v = ours.var(axis, correction=correction)
            v.sum().backward()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's own: degrees of freedom <= 0
            expected = theirs.var(axis, correction=correction)
            expected.sum().backward()
        np.testing.assert_array_equal(v.data, expected.detach().numpy())
        np.testing.assert_array_equal(ours.grad.data, theirs.grad.numpy())


def test_clip_by_array_bounds_that_broadcast_x_to_more_rows():
    x = np.array([0.0, 1.0, 2.0])
    lo, hi = np.array(0.5), np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]])  # only hi adds the rows
    ours = tl.Tensor(x, requires_grad=True)
    out = ours.clip(tl.Tensor(lo), tl.Tensor(hi))
    (out * tl.Tensor(np.arange(6.0).reshape(2, 3))).sum().backward()
    their_out = torch.clamp(torch.tensor(x), min=torch.tensor(lo), max=torch.tensor(hi))
    np.testing.assert_array_equal(out.data, their_out.numpy())
    # PyTorch cannot differentiate this; by hand: the weights of the rows where lo <= x <= hi, summed
    np.testing.assert_array_equal(ours.grad.data, [0.0, 1.0 + 4.0, 5.0])


def test_a_value_with_extra_leading_1s_written_into_a_row_gets_its_gradient_in_its_own_shape():
    rng = np.random.default_rng(6)
    x, v, w = rng.standard_normal((2, 3)), rng.standard_normal((1, 1, 3)), rng.standard_normal((2, 3))

    def fn(x, v, w):
        y = x * 1
        y[1] = v  # NumPy and PyTorch drop v's leading 1s
        return (y * w).sum()

    both(fn, x, v, w, needs=[True, True, False])


def test_broadcast_to_fewer_dimensions_is_refused_as_pytorchs_expand():
    x = tl.Tensor(np.ones((1, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="cannot broadcast shape"):
        x.broadcast_to((3,))  # a reshape would give (3,); PyTorch: fewer sizes than dimensions
    with pytest.raises(RuntimeError):
        torch.ones(1, 3).expand(3)


def test_a_hook_returning_the_wrong_shape_is_named_in_the_error():
    import functools

    x = tl.Tensor(np.ones(3), requires_grad=True)

    def widen(g, n=4):
        return tl.Tensor(np.ones(n))

    y = x * 2
    y.register_hook(widen)
    with pytest.raises(RuntimeError, match=r"^hook widen on mul \(%\d+\) returned a gradient of shape \(4,\) for a"):
        y.sum().backward()
    y = x * 2
    y.register_hook(functools.partial(widen, n=5))  # no __name__
    with pytest.raises(RuntimeError, match=r"^hook hook on mul \(%\d+\) returned a gradient of shape \(5,\)"):
        y.sum().backward()


def test_a_hooks_result_stays_on_the_graph_under_create_graph():
    def run(lib, x):
        y = x * x
        y.register_hook(lambda g: g * x)  # the new gradient depends on x
        (g,) = (
            lib.grad(y.sum(), [x], create_graph=True)
            if lib is tl
            else torch.autograd.grad(y.sum(), [x], create_graph=True)
        )
        (g * g).sum().backward()
        return g

    data = np.array([0.5, -1.5, 2.0])
    ours, theirs = tl.Tensor(data.copy(), requires_grad=True), torch.tensor(data.copy(), requires_grad=True)
    np.testing.assert_allclose(run(tl, ours).data, run(torch, theirs).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12)  # 2 x**2 * 2x, squared, in x


@pytest.mark.parametrize("op", ["relu", "leaky_relu"])
def test_a_piecewise_ops_recorded_backward_carries_its_name_to_every_order(op):
    # what tl.Tape and the trace list: relu_backward (PyTorch's threshold_backward), at first and second order
    x = tl.Tensor(np.array([-1.0, 2.0]), requires_grad=True)
    w = tl.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    with tl.Tape() as tape:
        (g,) = tl.grad((getattr(tl.nn.functional, op)(x) * w).sum(), [x], create_graph=True)
        tl.grad((g * g).sum(), [w], create_graph=True)
    assert [e.op for e in tape.entries].count(f"{op}_backward") == 2


def test_rnn_step_is_a_tanh_step_by_default():
    from tinygrad_lstm.nn.cells import rnn_step, step_weights

    tl.manual_seed(9)
    cell = tl.nn.RNNCell(3, 4, dtype=np.float64)
    rng = np.random.default_rng(9)
    xp, h = rng.standard_normal((2, 4)) * 3, rng.standard_normal((2, 4))  # xp: the input's projection
    out = rnn_step(tl.Tensor(xp), tl.Tensor(h), step_weights(cell, ""))
    np.testing.assert_allclose(out.data, np.tanh(xp + h @ cell.weight_hh.data.T), rtol=1e-12)


@pytest.mark.parametrize("dim", [0, 1, (0, 1)])
@pytest.mark.parametrize("which", ["var", "std"])
def test_var_and_std_keep_the_reduced_axes_when_asked(which, dim):
    # a mutant dropped var's keepdims in its forward: the value came back without the kept axes, and
    # a broadcast against it (x - mean) / std quietly took another shape
    x = np.random.default_rng(5).standard_normal((3, 4))
    w = np.random.default_rng(6).standard_normal((3, 4))

    def f(t, v):
        spread = getattr(t, which)(dim, keepdim=True)
        assert tuple(spread.shape) == tuple(1 if k in np.atleast_1d(dim) else n for k, n in enumerate(x.shape))
        return ((t - t.mean(dim, keepdim=True)) / spread * v).sum()

    both(f, x, w)


def test_a_repeated_index_sums_its_gradients_in_the_tensors_dtype_under_create_graph():
    # float32: 1 + 4e-8 + 4e-8 is 1 added in float32, one by one, as PyTorch adds them; a mutant that
    # summed in float64 and rounded once gave 1.0000001 (the gradient differs in its last bit)
    w = np.array([1.0, 4e-8, 4e-8], dtype=np.float32)
    x = tl.tensor(np.zeros(2, np.float32), requires_grad=True)
    (g,) = tl.grad((x[[0, 0, 0]] * tl.tensor(w)).sum(), x, create_graph=True)
    xt = torch.zeros(2, dtype=torch.float32, requires_grad=True)
    (gt,) = torch.autograd.grad((xt[[0, 0, 0]] * torch.tensor(w)).sum(), xt, create_graph=True)
    assert g.dtype == np.float32 and gt.dtype == torch.float32
    np.testing.assert_array_equal(g.data, gt.detach().numpy())
    np.testing.assert_array_equal(g.data, [np.float32(1) + np.float32(4e-8) + np.float32(4e-8), 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_erf_and_gelu_keep_the_inputs_dtype(dtype):
    # erf is computed by math.erf in float64 and cast back; a mutant that cast to float64 made every
    # GELU layer of a float32 model float64
    x = np.linspace(-3, 3, 13).astype(dtype)
    for ours, theirs in (
        (tl.nn.functional.gelu(tl.tensor(x)), torch.nn.functional.gelu(torch.tensor(x))),
        (tl.ops.erf(tl.tensor(x)), torch.tensor(x).erf()),
    ):
        assert ours.dtype == dtype and str(theirs.dtype) == f"torch.{np.dtype(dtype).name}"
        # (near x = -3, 1 + erf(x / sqrt 2) cancels: PyTorch's float32 GELU is off by 1e-4 relative there,
        # this engine's erf, computed in float64, by 1e-6; the claim here is the dtype)
        np.testing.assert_allclose(
            ours.data, theirs.numpy(), rtol=2 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps
        )


@pytest.mark.parametrize("shape, to", [((3,), (1, 3)), ((2, 3), (1, 2, 3)), ((), (1, 1))])
def test_expand_that_only_adds_axes_of_size_one_has_the_new_shape(shape, to):
    # that case is a reshape (a writable view, as PyTorch's expand); a mutant reshaped to the old shape
    x = np.arange(float(np.prod(shape))).reshape(shape) + 1.0

    def f(t, w):
        y = t.expand(*to)
        assert tuple(y.shape) == to
        return (y * w).sum()

    both(f, x, np.linspace(0.5, 2.0, int(np.prod(to))).reshape(to))


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relus_float32_gradient_is_pytorchs_bit_for_bit(slope):
    # PyTorch multiplies by the slope rounded to float32; a mutant kept it in float64 (g * 0.01 then
    # rounded), which changed a quarter of the gradients' last bits and survived
    rng = np.random.default_rng(0)
    x = np.concatenate([-np.abs(rng.standard_normal(500)), np.abs(rng.standard_normal(5))]).astype(np.float32)
    w = rng.standard_normal(x.size).astype(np.float32)
    ours = tl.tensor(x, requires_grad=True)
    (tl.nn.functional.leaky_relu(ours, slope) * tl.tensor(w)).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    (torch.nn.functional.leaky_relu(theirs, slope) * torch.tensor(w)).sum().backward()
    assert ours.grad.dtype == np.float32
    np.testing.assert_array_equal(ours.grad.data.view(np.uint32), theirs.grad.numpy().view(np.uint32))


# ---- found by the fourth run (the helpers' spellings joined the selection) ----------------------------------


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf, as in PyTorch
def test_isclose_with_pytorchs_defaults_and_its_formula():
    """isclose's defaults (rtol 1e-5, atol 1e-8, equal_nan False) and |a - b| <= atol + rtol * |b| (a
    mutant divided by |b|): pairs on both sides of each bound, against PyTorch."""
    torch = pytest.importorskip("torch")
    b = np.array([1.0, 1.0, 100.0, 1e-9, 0.0, np.nan, np.inf, 1e3])
    a = np.array([1.0 + 2e-5, 1.0 + 5e-6, 100.0 + 5e-4, 2e-9, 5e-9, np.nan, np.inf, 1e3 + 0.009])
    for kwargs in ({}, {"equal_nan": True}, {"rtol": 1e-3}, {"atol": 1e-3}):
        ours = tl.isclose(tl.tensor(a), tl.tensor(b), **kwargs)
        theirs = torch.isclose(torch.tensor(a), torch.tensor(b), **kwargs)
        np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=str(kwargs))


def test_tensor_split_with_negative_cuts_and_one_section():
    torch = pytest.importorskip("torch")
    x = np.arange(10.0)
    for how in ([-3, 7], [2, -8, -1], [-20, 3], [0, 10, 12], 1, 3, 4):
        ours = tl.tensor(x).tensor_split(how)
        theirs = torch.tensor(x).tensor_split(how)
        assert [p.data.tolist() for p in ours] == [p.tolist() for p in theirs], how
    with pytest.raises(ValueError, match="tensor_split: the number of sections must be positive"):
        tl.tensor(x).tensor_split(0)


def test_inner_with_a_0d_operand_is_a_product():
    torch = pytest.importorskip("torch")
    a, s = np.arange(6.0).reshape(2, 3), np.float64(2.5)
    for left, right in ((a, s), (s, a), (s, s)):
        ours = tl.inner(tl.tensor(left), tl.tensor(right))
        theirs = torch.inner(torch.tensor(left), torch.tensor(right))
        np.testing.assert_array_equal(ours.data, theirs.numpy())


def test_matrix_power_0_keeps_the_dtype_and_refuses_a_non_square_matrix():
    torch = pytest.importorskip("torch")
    for dtype in (np.float32, np.float64, np.int64):
        x = (np.arange(8).reshape(2, 2, 2) % 3).astype(dtype)
        ours, theirs = tl.matrix_power(tl.tensor(x), 0), torch.linalg.matrix_power(torch.tensor(x), 0)
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(ours.data, theirs.numpy())
    with pytest.raises(ValueError, match=r"matrix_power: expects square matrices, got shape \(2, 3\)"):
        tl.matrix_power(tl.tensor(np.ones((2, 3))), 2)


@pytest.mark.parametrize("default", ["float32", "float64"])
def test_creation_functions_take_the_default_dtype_and_requires_grad_as_pytorch(default):
    torch = pytest.importorskip("torch")
    before, tbefore = tl.get_default_dtype(), torch.get_default_dtype()
    tl.set_default_dtype(np.dtype(default)), torch.set_default_dtype(getattr(torch, default))
    try:
        base = np.arange(6).reshape(2, 3)
        pairs = [
            (tl.ones(2, 3), torch.ones(2, 3)),
            (tl.ones((2, 3), requires_grad=True), torch.ones((2, 3), requires_grad=True)),
            (tl.linspace(0, 1, 5), torch.linspace(0, 1, 5)),
            (tl.linspace(-1, 2, 4, requires_grad=True), torch.linspace(-1, 2, 4, requires_grad=True)),
            (tl.arange(0, 2, 0.5), torch.arange(0, 2, 0.5)),
            (tl.arange(1, 7, 2), torch.arange(1, 7, 2)),
            (tl.zeros_like(tl.tensor(base)), torch.zeros_like(torch.tensor(base))),
            (tl.zeros_like(tl.ones(2), requires_grad=True), torch.zeros_like(torch.ones(2), requires_grad=True)),
        ]
        for ours, theirs in pairs:
            assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), (ours, theirs)
            assert ours.requires_grad == theirs.requires_grad
            np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    finally:
        tl.set_default_dtype(before), torch.set_default_dtype(tbefore)


def test_diag_embed_default_offset_and_axes_against_pytorch():
    torch = pytest.importorskip("torch")
    x = np.arange(1.0, 7.0).reshape(2, 3)
    spellings = [{}, {"offset": 1}, {"offset": -1, "dim1": 0, "dim2": 2}, {"dim1": -1, "dim2": 0}]
    spellings.append({"dim1": 1, "dim2": 2})
    for kwargs in spellings:
        ours, theirs = tl.diag_embed(tl.tensor(x), **kwargs), torch.diag_embed(torch.tensor(x), **kwargs)
        np.testing.assert_array_equal(ours.data, theirs.numpy(), err_msg=str(kwargs))
    with pytest.raises(ValueError, match=r"diag_embed: expects a tensor of at least 1 axis, got shape \(\)"):
        tl.diag_embed(tl.tensor(1.0))


def test_index_ops_of_a_0d_tensor_against_pytorch():
    """index_add/index_copy/index_fill of a 0-d tensor (one axis of length 1, as PyTorch reads it), with a
    0-d or a 1-element source, value and gradient."""
    torch = pytest.importorskip("torch")
    for op, source in (("index_add", 2.5), ("index_copy", 2.5), ("index_fill", 2.5)):
        for shaped in (np.float64(source), np.array([source])):
            results = []
            for L, make in ((torch, torch.tensor), (tl, tl.tensor)):
                x = make(np.float64(1.5), requires_grad=True)
                s = make(shaped.copy(), requires_grad=True) if op != "index_fill" else source
                try:
                    y = getattr(x * 1, op)(0, make(np.array([0])), s)
                except RuntimeError:  # PyTorch refuses a 1-element source there; computing it is allowed
                    break
                y.backward()
                results.append((np.asarray(y.data if L is tl else y.detach().numpy()), float(x.grad)))
            if len(results) < 2:
                continue
            assert results[0][0].shape == results[1][0].shape, (op, shaped.shape)
            np.testing.assert_array_equal(results[0][0], results[1][0])
            assert results[0][1] == results[1][1], (op, shaped.shape)


def test_take_along_dim_broadcasts_the_input_and_flattens_a_2d_index_as_pytorch():
    """Indices larger than the input off ``dim`` broadcast the input (and its gradient sums back); with no
    dim both are flattened, a 2-D index too: value and gradient against PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    cases = [
        ((3, 1), np.array([[0, 2, 1, 0], [1, 1, 0, 2]]), 0),
        ((2, 1, 3), rng.integers(0, 3, (2, 4, 2)), 2),
        ((1, 3), rng.integers(0, 3, (2, 5)), 1),
        ((2, 3), np.array([[5, 0], [1, 3], [2, 2]]), None),
    ]
    for shape, index, dim in cases:
        data = rng.standard_normal(shape)
        w = None
        results = []
        for L, make in ((tl, tl.tensor), (torch, torch.tensor)):
            x = make(data.copy(), requires_grad=True)
            y = x.take_along_dim(make(index), dim) if dim is not None else x.take_along_dim(make(index))
            w = rng.standard_normal(tuple(y.shape)) if w is None else w
            (y * make(w)).sum().backward()
            results.append(
                (
                    np.asarray(y.data if L is tl else y.detach().numpy()),
                    np.asarray(x.grad.data if L is tl else x.grad.numpy()),
                )
            )
        (value, grad), (tvalue, tgrad) = results
        np.testing.assert_array_equal(value, tvalue, err_msg=str((shape, dim)))
        np.testing.assert_allclose(grad, tgrad, rtol=1e-14, err_msg=str((shape, dim)))


def test_corrcoef_is_clipped_to_one_as_pytorchs():
    """Rounding puts this pair's correlation at 1 + 2.2e-16 before the clip PyTorch applies (a mutant
    that moved the upper bound survived)."""
    torch = pytest.importorskip("torch")
    a = np.array([0.1257302210933933, -0.1321048632913019, 0.6404226504432821, 0.10490011715303971, -0.535669373161111])
    x = np.stack([a, np.array([1.7885211860124406, -0.5671323941970539, 6.4908954451175624, 1.5982115195047646,
                               -4.254210841216716])])  # fmt: skip
    x[1] = -x[1]  # and the lower bound, for the negated pair
    for data in (x, x * np.array([[1.0], [-1.0]])):
        ours, theirs = tl.corrcoef(tl.tensor(data)), torch.corrcoef(torch.tensor(data))
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-15, atol=0)  # (rounded apart by an ulp)
        assert np.abs(ours.data).max() <= 1.0


def test_split_with_sizes_of_zero_and_more_than_two_pieces_as_pytorchs():
    torch = pytest.importorskip("torch")
    x = np.arange(12.0).reshape(6, 2)
    for sizes in ([1, 0, 2, 3], [6], [0, 6], [2, 2, 2]):
        ours = tl.split(tl.tensor(x), sizes, dim=0)
        theirs = torch.split(torch.tensor(x), sizes, dim=0)
        assert [p.data.tolist() for p in ours] == [p.tolist() for p in theirs], sizes
    with pytest.raises(ValueError, match="split: sizes"):
        tl.split(tl.tensor(x), [2, 3], dim=0)


def test_copysign_keeps_float32_and_warns_of_nothing_at_zero():
    """Mutants that cast copysign's gradient to float64, or let NumPy warn of its 0/0 where a is 0
    (PyTorch's slope there is 0, silently), survived."""
    import warnings

    a = tl.tensor(np.array([0.0, -1.5, 2.0], dtype=np.float32), requires_grad=True)
    b = tl.tensor(np.array([-1.0, 1.0, -0.0], dtype=np.float32))
    seen = []
    z = a * 1
    z.register_hook(lambda g: seen.append(g.dtype))  # the gradient as it flows, before any .grad cast
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tl.copysign(z, b).sum().backward()
    assert a.grad.dtype == np.float32 and seen == [np.float32]
    ta = torch.tensor([0.0, -1.5, 2.0], requires_grad=True)
    torch.copysign(ta * 1, torch.tensor([-1.0, 1.0, -0.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), ta.grad.numpy())


def test_trunc_division_of_floats_divides_first_as_pytorch():
    """1.0 // 0.1 is 9 (the exact quotient is just under 10) where trunc(1.0 / 0.1) is 10, PyTorch's:
    mutants that sent floats (a float and an integer tensor too) down the integers' floor-and-adjust
    path survived."""
    cases = [
        (np.array([1.0, -1.0, 0.7]), 0.1),
        (np.array([1, -1, 7]), 0.1),
        (np.array([1.0, -1.0]), np.array([0.1, 0.1])),
    ]
    for a, b in cases:
        ours = tl.div(tl.tensor(a), tl.tensor(b) if isinstance(b, np.ndarray) else b, rounding_mode="trunc")
        theirs = torch.div(torch.tensor(a), torch.tensor(b) if isinstance(b, np.ndarray) else b, rounding_mode="trunc")
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_xlogy_and_entr_warn_of_nothing_at_their_special_points():
    """0 * log 0 and entr at 0 and below are defined values, computed silently as by PyTorch: mutants that
    let NumPy warn of the log of 0 or of a negative number, forward or in the gradient, survived."""
    import warnings

    x = tl.tensor(np.array([0.0, 0.0, 2.0, -1.0]), requires_grad=True)
    y = tl.tensor(np.array([0.0, -1.0, 3.0, 0.5]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (tl.xlogy(x, y).sum() + tl.special.xlog1py(x, y).sum() + tl.special.entr(x).sum()).backward()
    tx, ty = (torch.tensor(a.numpy().copy(), requires_grad=True) for a in (tl.tensor(x.numpy()), tl.tensor(y.numpy())))
    (torch.xlogy(tx, ty).sum() + torch.special.xlog1py(tx, ty).sum() + torch.special.entr(tx).sum()).backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(y.grad.numpy(), ty.grad.numpy())


def test_division_by_a_constant_differentiates_twice_as_pytorch():
    """Second order through a division by a constant (a NumPy array, not a Tensor), against PyTorch: the
    VJP's g / b must be recorded when g alone is a Tensor. (The surviving mutant that suggested it, in
    the rounded divisions' helper, is equivalent: floor and trunc have no slope to lose.)"""
    c = np.array([2.0, -3.0, 0.5])
    found = []
    for L, cc in ((torch, torch.tensor(c)), (tl, c)):
        x = L.tensor(np.array([0.7, -1.2, 2.0]), requires_grad=True)
        (g,) = L.autograd.grad((x**3 / cc).sum(), x, create_graph=True)
        (h,) = L.autograd.grad((g * g).sum() + (1.0 / (cc * x)).sum(), x)
        found.append(h.detach().numpy() if L is torch else h.numpy())
    np.testing.assert_allclose(found[1], found[0], rtol=1e-12)


def test_descending_argsort_keeps_ties_in_order_as_pytorchs_stable_sort():
    """Ties keep their order (PyTorch's stable=True): a mutant that dropped kind="stable" from the
    descending path survived, as NumPy's default sort is stable on short arrays; here 300 values, 3 kinds."""
    x = np.random.default_rng(0).permutation(np.repeat([3.0, 1.0, 2.0], 100))
    ours = tl.argsort(tl.tensor(x), descending=True).numpy()
    theirs = torch.sort(torch.tensor(x), descending=True, stable=True).indices.numpy()
    np.testing.assert_array_equal(ours, theirs)
    values, indices = tl.tensor(x).sort(descending=True)
    np.testing.assert_array_equal(indices.numpy(), theirs)


@pytest.mark.parametrize("p", [dict(offset=1), dict(offset=-2, dim1=1, dim2=0), dict(offset=0, dim1=2, dim2=0)])
def test_diagonal_scatter_gradients_with_an_offset_and_other_axes_as_pytorch(p):
    """Its VJP made the zeros for the source's place with the default diagonal's shape (a dropped
    ``*p`` survived): every test used offset 0 on axes 0 and 1."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((4, 5, 3)) if p.get("dim1") == 2 else rng.standard_normal((4, 5))
    src_shape = torch.diagonal(torch.tensor(base), **p).shape
    src = rng.standard_normal(src_shape)
    weights = rng.standard_normal(base.shape)

    def loss(b, s):
        lib = tl if isinstance(b, tl.Tensor) else torch
        w = tl.Tensor(weights) if lib is tl else torch.tensor(weights)
        return (lib.diagonal_scatter(b, s, **p) * w).sum()

    both(loss, base, src)


def test_an_lstm_variant_cells_repr_names_its_variant_as_the_layers_do():
    """``LSTMCell(..., variant=...)``'s repr lost its variant when the standard-variant test was
    mutated to always true: no test printed a variant cell."""
    assert "variant=" not in repr(tl.nn.LSTMCell(3, 4))
    cell = repr(tl.nn.LSTMCell(3, 4, variant="cifg"))  # CIFG: the input gate coupled to the forget gate
    assert cell.startswith("LSTMCell(3, 4, variant=LSTMVariant(") and "coupled=True" in cell, cell
    assert cell.removeprefix("LSTMCell") == repr(tl.nn.LSTM(3, 4, variant="cifg")).removeprefix("LSTM")
