"""Convolution, pooling and resampling (``nn/conv.py`` and its Modules) against PyTorch in float64 to
1e-9: value, gradient of every input and second-order gradient (``differential``), over seeded grids
of shapes, strides, paddings, dilations and groups, with ties and NaNs in max pooling and ceil-mode
windows that reach into the padding; the errors PyTorch raises; Module initialisation; a small CNN's
training step replayed by ``tl.compile`` with eager's bits."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F
from tinygrad_lstm import nn

from .test_pytorch_suite_probes import differential

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """PyTorch's convolutions on its thread pool wait for busy cores (2 s instead of 0.05 s for the
    grid below, with the suite on both cores): one thread, as the engine's small products use."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _pair(name, **kwargs):
    """F.name with ``kwargs`` for ours and PyTorch's."""
    return (lambda *xs: getattr(F, name)(*xs, **kwargs)), (lambda *xs: getattr(TF, name)(*xs, **kwargs))


def _tuple_or_int(rng, low, high, d):
    values = tuple(int(v) for v in rng.integers(low, high, d))
    return values[0] if rng.random() < 0.4 else values


# ---- convolution --------------------------------------------------------------------------------------


def _conv_cases(d: int, count: int, seed: int):
    """Seeded convolutions: groups, kernels, strides, dilations, paddings (ints, tuples, 'same',
    'valid'), with and without bias, batched and not; sizes around the smallest the kernel allows,
    so some are refused, by both libraries."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        groups = int(rng.choice([1, 1, 2, 3]))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, d))
        stride = _tuple_or_int(rng, 1, 3, d)
        dilation = _tuple_or_int(rng, 1, 3, d)
        padding = str(rng.choice(["numbers", "numbers", "same", "valid"]))
        if padding == "same":
            stride = 1
        elif padding == "numbers":
            padding = _tuple_or_int(rng, 0, 3, d)
        spans = [dl * (k - 1) + 1 for k, dl in zip(kernel, np.broadcast_to(dilation, d))]
        spatial = tuple(max(1, s + int(rng.integers(-1, 4))) for s in spans)
        batch = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
        x = rng.standard_normal(batch + (cin,) + spatial)
        w = rng.standard_normal((cout, cin // groups) + kernel)
        b = rng.standard_normal(cout) if rng.random() < 0.7 else None
        kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        yield pytest.param(x, w, b, kwargs, id=f"x{x.shape}-w{w.shape}-{'b-' if b is not None else ''}{kwargs}")


def _with_bias(name, b, kwargs):
    ours, theirs = _pair(name, **kwargs)
    if b is None:
        return ours, theirs, ()
    return ours, theirs, (b,)


@pytest.mark.parametrize(
    "d, x, w, b, kwargs",
    [
        pytest.param(d, *case.values, id=f"{d}d-{case.id}")
        for d, n in ((1, 14), (2, 14), (3, 4))
        for case in _conv_cases(d, n, seed=d)
    ],
)
def test_conv_matches_pytorch_to_second_order(d, x, w, b, kwargs):
    ours, theirs, bias = _with_bias(f"conv{d}d", b, kwargs)
    differential(ours, theirs, x, w, *bias, refuses=None)  # (a drawn case PyTorch refuses: so must we)


def _conv_transpose_cases(d: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        groups = int(rng.choice([1, 1, 2]))
        cin, cout = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 4, d))
        stride = tuple(int(s) for s in rng.integers(1, 4, d))
        dilation = tuple(int(s) for s in rng.integers(1, 3, d))
        padding = tuple(int(rng.integers(0, (dl * (k - 1)) // 2 + 2)) for k, dl in zip(kernel, dilation))
        output_padding = tuple(int(rng.integers(0, max(s, dl))) for s, dl in zip(stride, dilation))
        spatial = tuple(int(s) for s in rng.integers(1, 5, d))
        batch = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
        x = rng.standard_normal(batch + (cin,) + spatial)
        w = rng.standard_normal((cin, cout // groups) + kernel)
        b = rng.standard_normal(cout) if rng.random() < 0.7 else None
        kwargs = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
        yield pytest.param(x, w, b, kwargs, id=f"x{x.shape}-w{w.shape}-{'b-' if b is not None else ''}{kwargs}")


@pytest.mark.parametrize(
    "d, x, w, b, kwargs",
    [
        pytest.param(d, *case.values, id=f"{d}d-{case.id}")
        for d, n in ((1, 10), (2, 10), (3, 2))
        for case in _conv_transpose_cases(d, n, seed=10 + d)
    ],
)
def test_conv_transpose_matches_pytorch_to_second_order(d, x, w, b, kwargs):
    ours, theirs, bias = _with_bias(f"conv_transpose{d}d", b, kwargs)
    differential(ours, theirs, x, w, *bias, refuses=None)  # (a drawn case PyTorch refuses: so must we)


def test_conv_transpose_is_the_adjoint_of_conv():
    """<conv(x, w), y> = <x, conv_transpose(y, w)>: a formula, independent of PyTorch."""
    rng = np.random.default_rng(3)
    x, w, y = rng.standard_normal((2, 4, 9, 8)), rng.standard_normal((6, 2, 3, 2)), rng.standard_normal((2, 6, 5, 4))
    kw = dict(stride=2, padding=1, dilation=(1, 2), groups=2)
    left = (F.conv2d(tl.Tensor(x), tl.Tensor(w), **kw).data * y).sum()
    right = (x * F.conv_transpose2d(tl.Tensor(y), tl.Tensor(w), output_padding=(0, 1), **kw).data).sum()
    assert math.isclose(left, right, rel_tol=1e-12)


def test_conv2d_is_a_sum_over_the_kernel_written_out():
    """One output element by its definition, in a loop: no library's convolution involved."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 2, 6, 7)), rng.standard_normal((3, 2, 2, 3))
    y = F.conv2d(tl.Tensor(x), tl.Tensor(w), stride=(2, 1), padding=(1, 0), dilation=(2, 1)).data
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    o, i, j = 2, 1, 3
    expected = sum(w[o, c, a, b] * xp[0, c, i * 2 + a * 2, j + b] for c in range(2) for a in range(2) for b in range(3))
    assert math.isclose(y[0, o, i, j], expected, rel_tol=1e-12)


# ---- im2col -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((2, 3, 5, 6), dict(kernel_size=2)),
        ((1, 2, 6, 5), dict(kernel_size=(2, 3), dilation=(2, 1), padding=1, stride=(1, 2))),
        ((2, 4, 4), dict(kernel_size=3, padding=(1, 0), stride=2)),
    ],
)
def test_unfold_and_fold_match_pytorch_to_second_order(shape, kwargs):
    differential(*_pair("unfold", **kwargs), np.random.default_rng(5).standard_normal(shape))
    cols = F.unfold(tl.zeros(*shape), **kwargs)
    differential(*_pair("fold", output_size=shape[-2:], **kwargs), np.random.default_rng(6).standard_normal(cols.shape))


# ---- pooling ------------------------------------------------------------------------------------------


def _pool_input(rng, shape, kind):
    """Random values; small integers, so windows tie; or ties with NaNs among them."""
    if kind == "random":
        return rng.standard_normal(shape)
    x = rng.integers(0, 3, shape).astype(np.float64)
    if kind == "nan":
        x.flat[rng.choice(x.size, max(2, x.size // 5), replace=False)] = np.nan
    return x


def _max_pool_cases(d: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for k in range(count):
        kernel = tuple(int(v) for v in rng.integers(1, 4, d))
        stride = None if rng.random() < 0.3 else _tuple_or_int(rng, 1, 4, d)
        padding = tuple(int(rng.integers(0, k_ // 2 + 1)) for k_ in kernel)
        dilation = _tuple_or_int(rng, 1, 3, d)
        ceil_mode = bool(rng.random() < 0.5)
        spatial = tuple(int(v) for v in rng.integers(2, 8, d))
        batch = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
        kind = ("random", "ties", "nan")[k % 3]
        x = _pool_input(rng, batch + (int(rng.integers(1, 3)),) + spatial, kind)
        kwargs = dict(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
            return_indices=bool(rng.random() < 0.5),
        )
        yield pytest.param(x, kwargs, id=f"{kind}-x{x.shape}-{kwargs}")


@pytest.mark.parametrize(
    "d, x, kwargs",
    [
        pytest.param(d, *case.values, id=f"{d}d-{case.id}")
        for d, n in ((1, 15), (2, 15), (3, 3))
        for case in _max_pool_cases(d, n, seed=20 + d)
    ],
)
def test_max_pool_matches_pytorch_ties_nans_and_indices_included(d, x, kwargs):
    differential(*_pair(f"max_pool{d}d", **kwargs), x, refuses=None)  # (a drawn case PyTorch refuses: so must we)


def test_a_tie_sends_the_whole_gradient_to_the_first_maximum_and_padding_never_wins():
    x = tl.Tensor(np.array([[[[1.0, 3.0, 3.0], [3.0, 0.0, 3.0], [-np.inf, -np.inf, -np.inf]]]]), requires_grad=True)
    y, where = F.max_pool2d(x, 2, stride=1, padding=1, return_indices=True)
    y.sum().backward()
    # each window's first 3, row by row (PyTorch's scan order); an all -inf window picks its first real element
    expected_index = np.array([[0, 1, 1, 2], [3, 1, 1, 2], [3, 3, 5, 5], [6, 6, 7, 8]])
    np.testing.assert_array_equal(where.data[0, 0], expected_index)
    counts = np.bincount(expected_index.ravel(), minlength=9).reshape(3, 3)
    np.testing.assert_array_equal(x.grad.data[0, 0], counts)
    t = torch.tensor(x.data, requires_grad=True)
    ty, twhere = TF.max_pool2d(t, 2, stride=1, padding=1, return_indices=True)
    ty.sum().backward()
    np.testing.assert_array_equal(twhere[0, 0].numpy(), expected_index)
    np.testing.assert_array_equal(t.grad.numpy(), x.grad.data)


@pytest.mark.parametrize(
    "size, kwargs",
    [
        (5, dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),  # the last window would start in padding
        (4, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),  # the last window ends past the padding
        (6, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        (7, dict(kernel_size=3, stride=3, padding=1, ceil_mode=True)),
    ],
)
def test_ceil_mode_windows_at_the_padding_match_pytorch(size, kwargs):
    rng = np.random.default_rng(size)
    differential(*_pair("avg_pool1d", **kwargs), rng.standard_normal((2, size)))
    kwargs = {k: v for k, v in kwargs.items() if k != "count_include_pad"}
    differential(*_pair("max_pool1d", **kwargs), rng.standard_normal((2, size)))
    differential(*_pair("max_pool2d", **kwargs), rng.standard_normal((1, 2, size, size - 1)))


def _avg_pool_cases(d: int, count: int, seed: int):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        kernel = tuple(int(v) for v in rng.integers(1, 4, d))
        stride = None if rng.random() < 0.3 else _tuple_or_int(rng, 1, 4, d)
        padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
        spatial = tuple(int(v) for v in rng.integers(2, 8, d))
        batch = () if rng.random() < 0.2 else (int(rng.integers(1, 3)),)
        x = rng.standard_normal(batch + (int(rng.integers(1, 3)),) + spatial)
        kwargs = dict(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            ceil_mode=bool(rng.random() < 0.5),
            count_include_pad=bool(rng.random() < 0.5),
        )
        if d > 1 and rng.random() < 0.3:
            kwargs["divisor_override"] = int(rng.integers(1, 5))
        yield pytest.param(x, kwargs, id=f"x{x.shape}-{kwargs}")


@pytest.mark.parametrize(
    "d, x, kwargs",
    [
        pytest.param(d, *case.values, id=f"{d}d-{case.id}")
        for d, n in ((1, 10), (2, 10), (3, 2))
        for case in _avg_pool_cases(d, n, seed=30 + d)
    ],
)
def test_avg_pool_matches_pytorch_to_second_order(d, x, kwargs):
    differential(*_pair(f"avg_pool{d}d", **kwargs), x)


@pytest.mark.parametrize(
    "d, shape, output_size",
    [
        (1, (2, 3, 7), 3),
        (1, (2, 10), 4),
        (1, (1, 5), 7),
        (2, (2, 2, 7, 5), (3, 2)),
        (2, (3, 6, 9), (4, None)),
        (2, (1, 1, 5, 4), 1),
        (3, (1, 2, 4, 5, 3), (2, 3, 2)),
    ],
)
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pools_match_pytorch_to_second_order(d, shape, output_size, kind):
    x = _pool_input(np.random.default_rng(len(shape)), shape, "ties" if kind == "max" else "random")
    if kind == "max":
        differential(*_pair(f"adaptive_max_pool{d}d", output_size=output_size, return_indices=True), x)
    else:
        differential(*_pair(f"adaptive_avg_pool{d}d", output_size=output_size), x)


# ---- resampling ---------------------------------------------------------------------------------------


def test_pixel_shuffle_and_unshuffle_match_pytorch():
    x = np.random.default_rng(8).standard_normal((2, 8, 3, 2))
    differential(*_pair("pixel_shuffle", upscale_factor=2), x)
    differential(*_pair("pixel_unshuffle", downscale_factor=3), np.random.default_rng(9).standard_normal((4, 6, 9)))


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 2, 5), dict(size=8)),
        ((1, 2, 5), dict(size=3)),
        ((2, 1, 4, 6), dict(scale_factor=2)),
        ((2, 1, 5, 3), dict(scale_factor=(1.7, 0.6))),
        ((2, 1, 5, 3), dict(scale_factor=(1.7, 0.6), recompute_scale_factor=True)),
        ((1, 1, 7, 4), dict(size=(3, 9), mode="nearest-exact")),
        ((1, 2, 5), dict(size=9, mode="linear")),
        ((1, 2, 6), dict(scale_factor=0.7, mode="linear", align_corners=True)),
        ((2, 1, 4, 5), dict(size=(7, 3), mode="bilinear")),
        ((2, 1, 4, 5), dict(scale_factor=2.5, mode="bilinear", align_corners=True)),
        ((1, 1, 3, 4, 2), dict(size=(5, 2, 3), mode="trilinear")),
        ((1, 2, 7, 5), dict(size=(3, 2), mode="area")),
    ],
)
def test_interpolate_matches_pytorch_to_second_order(shape, kwargs):
    differential(*_pair("interpolate", **kwargs), np.random.default_rng(12).standard_normal(shape))


def test_interpolate_reads_pytorchs_source_positions_over_a_grid():
    """Where each output reads from (float32 arithmetic for "nearest", the input's for "nearest-exact",
    an unchanged axis copied by the linear modes...) over 300 seeded sizes and scales in both dtypes;
    an error in one library must be an error in the other."""
    rng = np.random.default_rng(17)
    for _ in range(300):
        d = int(rng.integers(1, 3))
        mode = str(rng.choice(["nearest", "nearest-exact", "area", "linear" if d == 1 else "bilinear"]))
        dtype = [np.float32, np.float64][int(rng.integers(0, 2))]
        x = rng.standard_normal((1, 2, *rng.integers(1, 20, d))).astype(dtype)
        kw: dict = {}
        if rng.random() < 0.5:
            kw["size"] = tuple(int(v) for v in rng.integers(1, 30, d))
        else:
            kw["scale_factor"] = tuple(float(np.round(rng.uniform(0.3, 3.5), 3)) for _ in range(d))
            kw["recompute_scale_factor"] = bool(rng.random() < 0.3)
        if mode in ("linear", "bilinear"):
            kw["align_corners"] = bool(rng.random() < 0.5)
        try:
            expected = TF.interpolate(torch.tensor(x), mode=mode, **kw).numpy()
        except RuntimeError:
            with pytest.raises(ValueError):
                F.interpolate(tl.Tensor(x), mode=mode, **kw)
            continue
        got = F.interpolate(tl.Tensor(x), mode=mode, **kw)
        assert got.shape == expected.shape and got.dtype == dtype, (mode, kw, x.shape)
        np.testing.assert_allclose(got.data, expected, rtol=1e-5, atol=1e-5 if dtype == np.float32 else 1e-12)


# ---- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, words",
    [
        (
            lambda: F.conv2d(tl.zeros(1, 4, 5, 5), tl.zeros(3, 2, 3, 3), groups=2),
            ["conv2d", "(3, 2, 3, 3)", "groups=2"],
        ),
        (lambda: F.conv2d(tl.zeros(1, 4, 5, 5), tl.zeros(4, 3, 3, 3)), ["conv2d", "(1, 4, 5, 5)", "(4, 3, 3, 3)"]),
        (lambda: F.conv2d(tl.zeros(1, 3, 2, 2), tl.zeros(4, 3, 3, 3)), ["conv2d", "(2, 2)", "(3, 3)"]),
        (lambda: F.conv2d(tl.zeros(3, 5, 5, 5, 5), tl.zeros(4, 3, 3, 3)), ["conv2d", "(3, 5, 5, 5, 5)", "4-D"]),
        (lambda: F.conv1d(tl.zeros(1, 2, 5), tl.zeros(4, 2, 3), stride=0), ["conv1d", "stride"]),
        (lambda: F.conv1d(tl.zeros(1, 2, 5), tl.zeros(4, 2, 3), padding=-1), ["conv1d", "padding"]),
        (lambda: F.conv1d(tl.zeros(1, 2, 5), tl.zeros(4, 2, 3), stride=2, padding="same"), ["conv1d", "same"]),
        (lambda: F.conv1d(tl.zeros(1, 2, 5), tl.zeros(4, 2, 3, dtype=np.float64)), ["conv1d", "float64"]),
        (lambda: F.conv1d(tl.zeros(1, 2, 5), tl.zeros(4, 2, 3), tl.zeros(3)), ["conv1d", "bias", "(3,)"]),
        (lambda: F.max_pool1d(tl.zeros(1, 1, 2), 5), ["max_pool1d", "(2,)", "(5,)"]),
        (lambda: F.max_pool2d(tl.zeros(1, 1, 7, 7), 3, padding=2), ["max_pool2d", "padding", "half"]),
        (lambda: F.max_pool2d(tl.zeros(7, 7), 3), ["max_pool2d", "(7, 7)"]),
        (lambda: F.avg_pool2d(tl.zeros(1, 1, 7, 7), 3, divisor_override=0), ["avg_pool2d", "divisor_override"]),
        (lambda: F.avg_pool3d(tl.zeros(1, 4, 2, 2), (2, 1, 3), padding=(0, 0, 1)), ["avg_pool3d", "(4, 2, 2)"]),
        # PyTorch answers -inf with an index outside the input: a window of padding alone is refused
        (lambda: F.max_pool1d(tl.zeros(1, 1, 1), 2, 2, 1, 2), ["max_pool1d", "only padding", "(1, 1, 1)"]),
        (lambda: F.conv_transpose1d(tl.zeros(1, 2, 5), tl.zeros(2, 2, 3), output_padding=1), ["output_padding"]),
        (lambda: F.fold(tl.zeros(1, 12, 5), (4, 4), 2), ["fold", "(1, 12, 5)", "9"]),
        (lambda: F.pixel_shuffle(tl.zeros(1, 6, 2, 2), 2), ["pixel_shuffle", "(1, 6, 2, 2)"]),
        (lambda: F.interpolate(tl.zeros(1, 1, 4), size=3, mode="bilinear"), ["interpolate", "bilinear", "4-D"]),
        (lambda: nn.Conv2d(4, 6, 3, groups=3), ["Conv2d", "in_channels=4", "groups=3"]),
        (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ["Conv2d", "padding_mode", "mirror"]),
        (lambda: nn.Conv1d(2, 2, 3)(tl.zeros(1, 2, 5, dtype=np.float64)), ["Conv1d", "float64"]),
    ],
)
def test_bad_input_is_refused_by_name_with_the_shapes(call, words):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    for word in words:
        assert word in str(info.value), (word, str(info.value))


def test_a_refused_call_changes_nothing_and_records_nothing():
    x = tl.Tensor(np.ones((1, 4, 5, 5)), requires_grad=True)
    w = tl.Tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    with tl.Tape() as tape, pytest.raises(ValueError):
        F.conv2d(x, w, groups=2)
    assert len(tape) == 0 and x.grad is None and (x.data == 1).all() and (w.data == 1).all()


# ---- Modules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ours, theirs, shape",
    [
        (
            lambda: nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64),
            lambda: torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2).double(),
            (2, 4, 9),
        ),
        (
            lambda: nn.Conv2d(3, 5, (3, 2), padding="same", padding_mode="reflect", dtype=np.float64),
            lambda: torch.nn.Conv2d(3, 5, (3, 2), padding="same", padding_mode="reflect").double(),
            (2, 3, 6, 5),
        ),
        (
            lambda: nn.Conv2d(2, 4, 3, padding=(2, 1), padding_mode="circular", bias=False, dtype=np.float64),
            lambda: torch.nn.Conv2d(2, 4, 3, padding=(2, 1), padding_mode="circular", bias=False).double(),
            (1, 2, 5, 4),
        ),
        (
            lambda: nn.Conv2d(2, 4, 3, padding=1, padding_mode="replicate", dilation=2, dtype=np.float64),
            lambda: torch.nn.Conv2d(2, 4, 3, padding=1, padding_mode="replicate", dilation=2).double(),
            (2, 5, 6),
        ),
        (
            lambda: nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2, dtype=np.float64),
            lambda: torch.nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1, groups=2).double(),
            (2, 4, 3, 3),
        ),
    ],
)
def test_conv_modules_load_pytorchs_weights_and_compute_its_outputs_and_gradients(ours, theirs, shape):
    a, b = ours(), theirs()
    a.load_state_dict({k: v.detach().numpy() for k, v in b.state_dict().items()})
    assert [n for n, _ in a.named_parameters()] == [n for n, _ in b.named_parameters()]
    x = np.random.default_rng(13).standard_normal(shape)
    differential(a, b, x)
    ya, yb = a(tl.Tensor(x)), b(torch.tensor(x))
    ya.sum().backward()
    yb.sum().backward()
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-9, atol=1e-9, err_msg=name)


def test_conv_transpose_output_size_chooses_pytorchs_output_padding():
    a = nn.ConvTranspose2d(2, 3, 3, stride=3, dtype=np.float64)
    b = torch.nn.ConvTranspose2d(2, 3, 3, stride=3).double()
    a.load_state_dict({k: v.detach().numpy() for k, v in b.state_dict().items()})
    x = np.random.default_rng(14).standard_normal((1, 2, 3, 4))
    for size in [(9, 12), (10, 13), (11, 14)]:
        np.testing.assert_allclose(
            a(tl.Tensor(x), output_size=size).data,
            b(torch.tensor(x), output_size=size).detach().numpy(),
            rtol=1e-9,
            atol=1e-9,
        )
    with pytest.raises(ValueError, match="ConvTranspose2d: output_size"):
        a(tl.Tensor(x), output_size=(12, 12))


@pytest.mark.parametrize(
    "args, fan_in",
    [
        ("Conv2d(6, 40, (5, 3), groups=2)", 3 * 15),
        ("Conv1d(3, 30, 4)", 12),
        ("ConvTranspose2d(12, 40, 3, groups=4)", 10 * 9),
    ],
)
def test_module_initialisation_follows_pytorchs_rule(args, fan_in):
    """kaiming_uniform_(a=sqrt(5)) is U(-b, b) with b = sqrt(2 / (1 + 5)) * sqrt(3 / fan_in) = 1/sqrt(fan_in),
    the bias U(-b, b) too: in both libraries the bound holds and is nearly reached, the variance is b^2/3."""
    tl.manual_seed(0)
    torch.manual_seed(0)
    bound = 1 / math.sqrt(fan_in)
    ours, theirs = eval("nn." + args), eval("torch.nn." + args)
    for m in (ours, theirs):
        w, b = (np.asarray(p.data if isinstance(p, tl.Tensor) else p.detach().numpy()) for p in (m.weight, m.bias))
        assert w.shape == tuple(theirs.weight.shape) and b.shape == tuple(theirs.bias.shape)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.97 * bound, type(m)
        assert abs(w.var() / (bound**2 / 3) - 1) < 0.1 and abs(w.mean()) < 0.1 * bound, type(m)
        assert np.abs(b).max() <= bound and np.abs(b).max() > 0.5 * bound and w.dtype == b.dtype == np.float32


@pytest.mark.parametrize(
    "nonlinearity, param",
    [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("relu", 3.0),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ],
)
def test_calculate_gain_is_pytorchs(nonlinearity, param):
    assert nn.init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


@pytest.mark.parametrize("kind", ["uniform", "normal"])
@pytest.mark.parametrize(
    "mode, nonlinearity, a",
    [("fan_in", "leaky_relu", 0.0), ("fan_out", "relu", 0.0), ("fan_in", "tanh", 0.0), ("fan_out", "leaky_relu", 0.3)],
)
def test_kaiming_init_draws_with_pytorchs_spread(kind, mode, nonlinearity, a):
    """The standard deviation of a 64 x 32 x 3 x 3 draw, ours and PyTorch's, against the formula
    gain / sqrt(fan) (torchvision's ResNet init is kaiming_normal_(mode="fan_out", nonlinearity="relu"))."""
    tl.manual_seed(0)
    torch.manual_seed(0)
    fan = 32 * 9 if mode == "fan_in" else 64 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    ours = getattr(nn.init, f"kaiming_{kind}_")(tl.zeros(64, 32, 3, 3), a=a, mode=mode, nonlinearity=nonlinearity)
    theirs = getattr(torch.nn.init, f"kaiming_{kind}_")(
        torch.zeros(64, 32, 3, 3), a=a, mode=mode, nonlinearity=nonlinearity
    )
    for w in (ours.data, theirs.numpy()):
        assert abs(w.std() / std - 1) < 0.02 and abs(w.mean()) < 0.02 * std
        if kind == "uniform":
            assert np.abs(w).max() <= math.sqrt(3) * std


def test_pool_and_resampling_modules_call_their_functions():
    rng = np.random.default_rng(15)
    x = rng.integers(0, 3, (2, 4, 6, 6)).astype(np.float64)
    pairs = [
        (nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True)),
        (nn.MaxPool1d(2, return_indices=True), torch.nn.MaxPool1d(2, return_indices=True)),
        (nn.AvgPool2d(3, 2, 1, count_include_pad=False), torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)),
        (nn.AvgPool1d(3, padding=1), torch.nn.AvgPool1d(3, padding=1)),
        (nn.AdaptiveAvgPool2d((2, 3)), torch.nn.AdaptiveAvgPool2d((2, 3))),
        (nn.AdaptiveMaxPool2d(4, return_indices=True), torch.nn.AdaptiveMaxPool2d(4, return_indices=True)),
        (nn.Unfold(2, padding=1), torch.nn.Unfold(2, padding=1)),
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
        (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2)),
        (nn.Upsample(scale_factor=2, mode="bilinear"), torch.nn.Upsample(scale_factor=2, mode="bilinear")),
    ]
    for ours, theirs in pairs:
        arg = x[0] if isinstance(ours, (nn.MaxPool1d, nn.AvgPool1d)) else x  # (3-D: a 1-d pool)
        differential(ours, theirs, arg, order=1)
    fold_x = rng.standard_normal((2, 8, 9))
    differential(nn.Fold((4, 4), 2), torch.nn.Fold((4, 4), 2), fold_x, order=1)


@pytest.mark.parametrize(
    "text",
    [
        "Conv2d(3, 16, 3, padding=1)",
        "Conv1d(4, 6, 3, stride=2, groups=2, bias=False, padding_mode='reflect')",
        "ConvTranspose2d(4, 2, 3, stride=2, output_padding=1)",
        "Conv2d(3, 4, 3, padding='same', dilation=2)",
        "MaxPool1d(3, 2, 1, ceil_mode=True)",
        "AvgPool1d(3)",
        "AvgPool2d(3, 2, 1)",
        "AdaptiveMaxPool2d((2, 3))",
        "Upsample(scale_factor=2, mode='bilinear')",
        "Fold((4, 4), 2)",
        "PixelUnshuffle(2)",
    ],
)
def test_modules_print_as_pytorchs(text):
    assert repr(eval("nn." + text)) == repr(eval("torch.nn." + text))


# ---- the tape and tl.compile ---------------------------------------------------------------------------


def test_a_convolution_records_one_gather_and_one_product():
    x = tl.Tensor(np.ones((2, 3, 6, 6)), requires_grad=True)
    w = tl.Tensor(np.ones((4, 3, 3, 3)), requires_grad=True)
    with tl.Tape() as tape:
        F.conv2d(x, w, padding=1)
    ops = [e.op for e in tape.entries]
    assert ops.count("getitem") == 1 and ops.count("matmul") == 1 and len(ops) <= 8, ops


def test_a_cnns_picture_names_its_layers(tmp_path):
    """The op view of a small CNN, rendered: each layer's result carries its function's name."""
    tl.manual_seed(0)
    conv, head = nn.Conv2d(1, 2, 3, padding=1), nn.Linear(2, 2)
    x = tl.randn(1, 1, 6, 6)
    with tl.Tape() as tape:
        h = F.max_pool2d(F.relu(conv(x)), 2)
        loss = head(
            F.adaptive_avg_pool2d(F.conv2d(h, conv.weight[:, :1].detach(), padding=1, groups=2), 1).flatten(1)
        ).sum()
    with tl.trace_backward() as trace:
        loss.backward()
    path = tmp_path / "cnn.svg"
    tl.viz.render(tl.viz.draw(tape, trace=trace), str(path))
    svg = path.read_text()
    for name in ("conv2d", "max_pool2d", "windows", "adaptive_avg_pool2d"):
        assert f">{name}<" in svg, name


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, dtype=np.float64)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, dtype=np.float64)
        self.head = nn.Linear(6, 3, dtype=np.float64)

    def forward(self, x):
        h = self.pool(F.relu(self.conv1(x)))
        h = F.adaptive_avg_pool2d(F.relu(self.conv2(h)), 1).flatten(1)
        return self.head(h)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_compiled_cnn_training_matches_eager_bit_for_bit(compile_backend, dtype):
    tl.manual_seed(0)
    eager, compiled = SmallCNN().astype(dtype), SmallCNN().astype(dtype)
    compiled.load_state_dict(eager.state_dict())
    opt_e = tl.optim.SGD(eager.parameters(), lr=0.1, momentum=0.9)
    opt_c = tl.optim.SGD(compiled.parameters(), lr=0.1, momentum=0.9)
    step = tl.compile(lambda x, y: F.cross_entropy(compiled(x), y))
    rng = np.random.default_rng(16)
    for _ in range(4):
        # small integers: max pooling meets ties, and each call's maxima lie elsewhere
        x = rng.integers(0, 3, (3, 2, 8, 8)).astype(dtype)
        y = np.eye(3)[rng.integers(0, 3, 3)].astype(dtype)  # class probabilities: integer inputs are refused
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = F.cross_entropy(eager(tl.Tensor(x)), y)
        loss_c = step(tl.Tensor(x), y)
        assert loss_c.item() == loss_e.item()
        loss_e.backward()
        loss_c.backward()
        for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
            np.testing.assert_array_equal(pe.grad.data, pc.grad.data, err_msg=name)
        opt_e.step()
        opt_c.step()
    assert step.replays == 3 and len(step.programs) == 1
