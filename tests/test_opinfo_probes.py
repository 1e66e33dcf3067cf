"""Found by running PyTorch's OpInfo sample inputs (float64) through this engine to second order and
through ``tl.compile`` (replay against eager over four calls); each case is compared with PyTorch
itself, never with the engine's own results."""

import itertools
import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

PAD_SIZES = range(0, 6)
PAD_AMOUNTS = list(itertools.product(range(-6, 7), repeat=2))


def _torch_pad(x: np.ndarray, pad, mode):
    """PyTorch's padded values and the gradient of sum(out * w), or None where it refuses. Its
    circular mode reads memory it never wrote when a pad exceeds what a crop keeps: a result holding
    anything but the input's own elements counts as a refusal."""
    t = torch.tensor(x, requires_grad=True)
    try:
        out = TF.pad(t, pad, mode=mode)
    except (RuntimeError, ValueError, NotImplementedError):
        return None
    if not np.all(np.isin(out.detach().numpy(), x)):
        return None
    w = torch.tensor(np.random.default_rng(out.numel()).standard_normal(tuple(out.shape)))
    (out * w).sum().backward()
    return out.detach().numpy(), t.grad.numpy(), w.numpy()


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_pad_with_negative_amounts_matches_pytorch_value_and_gradient(mode):
    """reflect and replicate measure from the uncropped input (reflect(-1, 1) of [0, 1] is [1, 0]):
    cropping first gave [1, 1] silently. Every (size, left, right) PyTorch computes gives its values
    and gradient here; where this engine refuses, PyTorch refuses too (or its result is empty)."""
    computed = 0
    for n, (left, right) in itertools.product(PAD_SIZES, PAD_AMOUNTS):
        x = (np.pi + np.arange(n)).reshape(1, 1, n)  # values no stray memory holds by chance
        theirs = _torch_pad(x, (left, right), mode)
        ours_x = tl.tensor(x, requires_grad=True)
        try:
            ours = F.pad(ours_x, (left, right), mode=mode)
        except ValueError as e:
            assert "pad" in str(e) and mode in str(e)
            assert theirs is None or theirs[0].size == 0, (n, left, right, theirs)
            continue
        if theirs is None:  # PyTorch refuses a few empty results this engine gives (circular only)
            assert mode == "circular" and ours.size == 0, (n, left, right)
            continue
        value, grad, w = theirs
        np.testing.assert_array_equal(ours.data, value, err_msg=str((n, left, right)))
        (ours * w).sum().backward()
        np.testing.assert_allclose(ours_x.grad.data, grad, rtol=1e-12, atol=1e-12, err_msg=str((n, left, right)))
        computed += 1
    assert computed > 150  # the grid is not all refusals


def test_pad_two_axes_with_crops_matches_pytorch():
    x = np.pi + np.arange(30.0).reshape(1, 5, 6)
    for mode, pad in [("reflect", (-2, 3, 1, -3)), ("replicate", (4, -5, -2, 6)), ("circular", (2, -1, -1, 3))]:
        value, grad, w = _torch_pad(x, pad, mode)
        ours_x = tl.tensor(x, requires_grad=True)
        ours = F.pad(ours_x, pad, mode=mode)
        (ours * w).sum().backward()
        np.testing.assert_array_equal(ours.data, value, err_msg=mode)
        np.testing.assert_allclose(ours_x.grad.data, grad, rtol=1e-12, atol=1e-12, err_msg=mode)


def test_cat_gives_a_legacy_empty_part_its_empty_gradient():
    """PyTorch joins a 1-D empty tensor beside 2-D parts as nothing, and still gives it a gradient
    (empty); here it had none (None)."""
    parts = [np.zeros(0), np.arange(6.0).reshape(2, 3), np.zeros(0)]
    ours = [tl.tensor(p, requires_grad=True) for p in parts]
    theirs = [torch.tensor(p, requires_grad=True) for p in parts]
    w = np.random.default_rng(0).standard_normal((2, 3))
    out, ref = tl.cat(ours, dim=1), torch.cat(theirs, dim=1)
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    (out * w).sum().backward()
    (ref * torch.tensor(w)).sum().backward()
    for o, t in zip(ours, theirs):
        assert o.grad is not None and o.grad.shape == tuple(t.grad.shape)
        np.testing.assert_array_equal(o.grad.data, t.grad.numpy())


def test_cosine_similarity_of_0d_tensors_along_dim_0():
    for a, b in [(2.0, -3.0), (0.5, 4.0), (0.0, 1.0)]:
        x, tx = tl.tensor(np.float64(a), requires_grad=True), torch.tensor(a, dtype=torch.float64, requires_grad=True)
        y, ty = tl.tensor(np.float64(b), requires_grad=True), torch.tensor(b, dtype=torch.float64, requires_grad=True)
        ours, theirs = F.cosine_similarity(x, y, dim=0), TF.cosine_similarity(tx, ty, dim=0)
        assert ours.shape == () and float(ours) == theirs.item()
        ours.backward()
        theirs.backward()
        assert (float(x.grad), float(y.grad)) == (tx.grad.item(), ty.grad.item())
    with pytest.raises(IndexError, match="cosine_similarity"):
        F.cosine_similarity(x, y, dim=1)


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("cpu", "float64", True, True), {}),
        (("cpu", "float64", True, False), {"memory_format": "channels_last"}),
        (("float32", False, True), {}),
        (("float64",), {"copy": True}),
        ((), {"dtype": "float32", "non_blocking": True}),
        (("cpu",), {}),
        (("float64",), {}),
    ],
)
def test_to_takes_pytorchs_arguments_and_returns_self_when_nothing_changes(args, kwargs):
    """t.to(device, dtype, non_blocking, copy, memory_format=): the OpInfo samples' spellings, refused
    here before. As in PyTorch, t itself when neither the dtype changes nor copy=True."""
    data = np.arange(6.0).reshape(2, 3)
    x, tx = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)

    def spell(lib, dtype):
        return {"float64": lib.float64, "float32": lib.float32}.get(dtype, dtype)

    ours = x.to(*[spell(tl, a) for a in args], **{k: spell(tl, v) for k, v in kwargs.items() if k != "memory_format"},
                **({"memory_format": None} if "memory_format" in kwargs else {}))  # fmt: skip
    theirs = tx.to(*[spell(torch, a) for a in args], **{k: spell(torch, v) for k, v in kwargs.items()
                                                       if k != "memory_format"})  # fmt: skip
    assert (ours is x) == (theirs is tx)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())


def test_float_double_half_take_memory_format_and_return_self_when_unchanged():
    x = tl.tensor(np.ones(3, dtype=np.float32))
    assert x.float(memory_format=None) is x and x.double().dtype == np.float64 and x.half().dtype == np.float16
    t = torch.ones(3)
    assert t.float() is t  # PyTorch's same rule
    with pytest.raises(ValueError, match="one device"):
        x.to("cuda")


def test_split_warns_where_pytorchs_reading_of_the_same_line_differs():
    """tl.split(x, 2) keeps NumPy's meaning (2 equal sections); torch.split(x, 2) cuts pieces of 2. A
    PyTorch user's line would silently cut elsewhere, so it warns where the readings differ."""
    x = tl.tensor(np.arange(6.0))
    with pytest.warns(UserWarning, match="torch.split"):
        pieces = tl.split(x, 2)
    assert [p.shape for p in pieces] == [(3,), (3,)]  # NumPy's, as the contract says
    with pytest.warns(UserWarning, match="torch.split"):
        tl.split(x, [1, 2, 3])  # PyTorch's sizes adding up to the axis
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [p.shape for p in tl.split(x, 2, axis=0)] == [(3,), (3,)]
        assert [p.shape for p in tl.split(x, 2, dim=0)] == [tuple(t.shape) for t in torch.split(torch.arange(6.0), 2)]
        assert [p.shape for p in tl.split(tl.tensor(np.arange(4.0)), 2)] == [(2,), (2,)]  # both readings agree
        assert [p.shape for p in tl.split(x, [1, 3])] == [(1,), (2,), (3,)]  # PyTorch would refuse these sizes
        assert [p.shape for p in x.split(2)] == [(2,), (2,), (2,)]


def test_diff_of_order_0_is_the_input_without_prepend_or_append():
    """torch.diff(x, 0, 0, prepend, append) is x (as np.diff): the parts were joined here."""
    data, before, after = np.arange(6.0).reshape(2, 3), np.full((1, 3), 10.0), np.full((2, 3), 20.0)
    x, tx = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours = tl.diff(x, 0, 0, tl.tensor(before), tl.tensor(after))
    theirs = torch.diff(tx, 0, 0, torch.tensor(before), torch.tensor(after))
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_array_equal(x.grad.data, tx.grad.numpy())
    with pytest.raises(ValueError, match="diff: the order n must be non-negative"):
        tl.diff(x, -1, 0, None, None)


@pytest.mark.parametrize("name", ["quantile", "nanquantile"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
@pytest.mark.parametrize("q", [[0.2, 0.5, 0.93], 0.37])
def test_quantile_differentiates_a_q_that_requires_grad(name, interpolation, q):
    """PyTorch gives q its gradient (through the linear weight; none for the other interpolations):
    here q was read as numbers, and q.grad stayed None."""
    data = np.random.default_rng(3).standard_normal((4, 5))
    data[1, 2] = np.nan if name == "nanquantile" else data[1, 2]
    w = np.random.default_rng(4).standard_normal((3, 4) if isinstance(q, list) else (4,))
    x, tx = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    qs, tq = tl.tensor(np.array(q), requires_grad=True), torch.tensor(q, dtype=torch.float64, requires_grad=True)
    ours = getattr(tl, name)(x, qs, dim=1, interpolation=interpolation)
    theirs = getattr(torch, name)(tx, tq, dim=1, interpolation=interpolation)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-13, equal_nan=True)
    (ours * w).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-13, atol=1e-15)
    if tq.grad is None:
        assert qs.grad is None
    else:
        np.testing.assert_allclose(qs.grad.data, tq.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("interpolation", ["linear", "lower", "higher", "nearest", "midpoint"])
def test_quantile_keeps_the_inputs_dtype(default, interpolation):
    """midpoint's weight was a float64 0.5, widening a float32 input's quantile to float64."""
    before = tl.get_default_dtype()
    tl.set_default_dtype(np.dtype(default))
    try:
        for dtype in (np.float32, np.float64):
            x = tl.tensor(np.random.default_rng(0).standard_normal(7).astype(dtype))
            theirs = torch.quantile(torch.tensor(x.data), torch.tensor([0.2, 0.5], dtype=getattr(torch, str(x.dtype))),
                                    interpolation=interpolation)  # fmt: skip
            for ours in (tl.quantile(x, [0.2, 0.5], interpolation=interpolation),
                         tl.nanquantile(x, 0.5, interpolation=interpolation)):  # fmt: skip
                assert ours.dtype == dtype
            np.testing.assert_allclose(tl.quantile(x, [0.2, 0.5], interpolation=interpolation).data, theirs.numpy(),
                                       rtol=1e-6)  # fmt: skip
    finally:
        tl.set_default_dtype(before)


def test_clamp_in_place_gives_bounds_that_require_grad_their_gradient():
    """x.clamp_(lo, hi) read tensor bounds as numbers: lo.grad and hi.grad stayed None (PyTorch's are not)."""
    data = np.array([-1.0, 0.2, 0.9, 0.5])
    lo_data, hi_data = np.array([-0.5, 0.3, 0.1, 0.5]), np.array([0.5, 0.6, 0.7, 0.5])
    results = []
    for make in (tl.tensor, torch.tensor):
        x, lo, hi = (make(a.copy(), requires_grad=True) for a in (data, lo_data, hi_data))
        y = x * 1
        y.clamp_(lo, hi)
        (y * make(np.array([1.0, 2.0, 3.0, 4.0]))).sum().backward()
        results.append([np.asarray(t.grad.data if make is tl.tensor else t.grad.numpy()) for t in (x, lo, hi)])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_tril_and_triu_run_a_second_backward_as_pytorch():
    """tril/triu were a where() whose saved mask the first backward freed: a second backward was refused
    where PyTorch's (TrilBackward keeps only the diagonal) runs."""
    data = np.arange(12.0).reshape(3, 4)
    grads = []
    for L, make in ((tl, tl.tensor), (torch, torch.tensor)):
        x = make(data.copy(), requires_grad=True)
        y = (x.tril(1) + x.triu(-1) + L.tril(x, -1)).sum()
        y.backward()
        y.backward()
        grads.append(np.asarray(x.grad.data if L is tl else x.grad.numpy()))
    np.testing.assert_array_equal(*grads)


@pytest.mark.parametrize("keepdim", [True, False])
@pytest.mark.parametrize("ord", [2, 6, 1, np.inf])
def test_vector_norm_of_a_0d_tensor_along_dim_0(ord, keepdim):
    """linalg.vector_norm(x, ord, dim=0) of a 0-d tensor: PyTorch reads dim 0 as no axis; refused here before."""
    x, t = tl.tensor(np.float64(-1.5), requires_grad=True), torch.tensor(-1.5, dtype=torch.float64, requires_grad=True)
    ours, theirs = tl.linalg.vector_norm(x, ord, 0, keepdim), torch.linalg.vector_norm(t, ord, 0, keepdim)
    assert ours.shape == tuple(theirs.shape) and float(ours) == theirs.item()
    ours.backward()
    theirs.backward()
    assert np.isclose(float(x.grad), t.grad.item(), rtol=1e-14)
    with pytest.raises(IndexError, match="linalg.vector_norm"):
        tl.linalg.vector_norm(x, ord, 1)
