"""The normalisation layers (BatchNorm, InstanceNorm, GroupNorm, RMSNorm, LocalResponseNorm) and the
remaining common pieces of torch.nn.functional (pairwise_distance, pdist, prelu, bilinear, rrelu, the
channel and alpha dropouts) and tl.special, each against PyTorch in float64: values, gradients of every
input and second-order gradients to 1e-9 (``differential``), BatchNorm's running buffers after several
steps to 1e-12, parameter initialisation, reprs, state_dict keys; the random ones by their statistics;
tl.compile's replay of a BatchNorm model; bad input refused by name, changing nothing."""

import math
import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
import tinygrad_lstm.nn.functional as F

from .test_pytorch_suite_probes import differential

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(5)


@pytest.fixture(autouse=True, scope="module")
def _pytorch_in_float64():
    """PyTorch's default dtype float64 for this file's tests only."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _normal(*shape):
    return RNG.standard_normal(shape)


def _twin(ours, theirs):
    """PyTorch's module in float64, its state_dict loaded into ours as it is."""
    theirs = theirs.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _close(a, b, tol=1e-9, what=""):
    a = a.data if isinstance(a, tl.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    assert np.shape(a) == np.shape(b), (what, np.shape(a), np.shape(b))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=what)


# ---- F.batch_norm, instance_norm, group_norm, rms_norm, local_response_norm against PyTorch ---------------


@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_function_to_second_order(shape, training):
    stats = (RNG.standard_normal(3), RNG.uniform(0.5, 2.0, 3))

    def ours(x, w, b):
        rm, rv = (tl.Tensor(s.copy()) for s in stats)
        return F.batch_norm(x, rm, rv, w, b, training, 0.3, 1e-3)

    def theirs(x, w, b):
        rm, rv = (torch.tensor(s.copy()) for s in stats)
        return TF.batch_norm(x, rm, rv, w, b, training, 0.3, 1e-3)

    differential(ours, theirs, _normal(*shape) * 2 + 1, _normal(3), _normal(3))


def test_batch_norm_function_updates_running_statistics_in_place_as_pytorch():
    x = _normal(6, 3, 4) * 3 - 1
    rm, rv = tl.Tensor(np.zeros(3)), tl.Tensor(np.ones(3))
    trm, trv = torch.zeros(3), torch.ones(3)
    before = rm.data
    for momentum in (0.1, 0.5, 1.0):
        F.batch_norm(tl.Tensor(x), rm, rv, training=True, momentum=momentum)
        TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=momentum)
    assert rm.data is before  # in place, as PyTorch's buffers
    _close(rm, trm, 1e-12), _close(rv, trv, 1e-12)
    # the unbiased variance, by the formula: n / (n - 1) times the biased one
    rv2 = tl.Tensor(np.zeros(3))
    F.batch_norm(tl.Tensor(x), None, rv2, training=True, momentum=1.0)
    _close(rv2, x.transpose(1, 0, 2).reshape(3, -1).var(axis=1, ddof=1), 1e-12)


@pytest.mark.parametrize("stats", ["none", "running"])
def test_instance_norm_function_to_second_order(stats):
    def ours(x, w, b):
        rm, rv = (tl.Tensor(np.zeros(3)), tl.Tensor(np.ones(3))) if stats == "running" else (None, None)
        return F.instance_norm(x, rm, rv, w, b, eps=1e-4)

    def theirs(x, w, b):
        rm, rv = (torch.zeros(3), torch.ones(3)) if stats == "running" else (None, None)
        return TF.instance_norm(x, rm, rv, w, b, eps=1e-4)

    differential(ours, theirs, _normal(2, 3, 5), _normal(3), _normal(3))
    differential(ours, theirs, _normal(2, 3, 2, 3), _normal(3), _normal(3))


def test_instance_norm_running_statistics_and_use_of_them():
    x = _normal(4, 3, 5) * 2 + 1
    rm, rv, trm, trv = tl.Tensor(np.zeros(3)), tl.Tensor(np.ones(3)), torch.zeros(3), torch.ones(3)
    for _ in range(3):
        F.instance_norm(tl.Tensor(x), rm, rv, momentum=0.2)
        TF.instance_norm(torch.tensor(x), trm, trv, momentum=0.2)
    _close(rm, trm, 1e-12, "running_mean"), _close(rv, trv, 1e-12, "running_var")
    stats = (rm.data.copy(), rv.data.copy())
    differential(
        lambda x, w: F.instance_norm(x, tl.Tensor(stats[0]), tl.Tensor(stats[1]), w, use_input_stats=False),
        lambda x, w: TF.instance_norm(x, torch.tensor(stats[0]), torch.tensor(stats[1]), w, use_input_stats=False),
        x,
        _normal(3),
    )


@pytest.mark.parametrize("shape, groups", [((3, 6), 2), ((2, 6, 5), 3), ((2, 4, 3, 2), 4), ((2, 4, 3), 1)])
def test_group_norm_to_second_order(shape, groups):
    differential(
        lambda x, w, b: F.group_norm(x, groups, w, b, 1e-4),
        lambda x, w, b: TF.group_norm(x, groups, w, b, 1e-4),
        _normal(*shape),
        _normal(shape[1]),
        _normal(shape[1]),
    )
    differential(lambda x: F.group_norm(x, groups), lambda x: TF.group_norm(x, groups), _normal(*shape))


@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm_to_second_order(eps):
    differential(
        lambda x, w: F.rms_norm(x, (4,), w, eps), lambda x, w: TF.rms_norm(x, (4,), w, eps), _normal(3, 4), _normal(4)
    )
    differential(lambda x: F.rms_norm(x, [2, 3], eps=eps), lambda x: TF.rms_norm(x, [2, 3], eps=eps), _normal(4, 2, 3))


def test_rms_norm_eps_none_is_the_dtype_machine_epsilon():
    # a zero row: the result is 0 / sqrt(eps) = 0 either way; a tiny row shows which eps was added
    for dtype in (np.float32, np.float64):
        x = np.full((1, 4), 1e-4, dtype=dtype)
        expected = x / np.sqrt(np.mean(x * x) + np.finfo(dtype).eps)
        got = F.rms_norm(tl.Tensor(x), 4)
        assert got.dtype == dtype
        np.testing.assert_allclose(got.data, expected, rtol=1e-6)
        np.testing.assert_allclose(got.data, TF.rms_norm(torch.tensor(x), (4,)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_local_response_norm_to_second_order(size):
    f = (
        (lambda x: F.local_response_norm(x, size, 0.1, 0.6, 1.5)),
        (lambda x: TF.local_response_norm(x, size, 0.1, 0.6, 1.5)),
    )
    differential(*f, _normal(2, 5, 3))
    differential(*f, _normal(2, 3, 2, 2), order=1)


# ---- the layers: BatchNorm ------------------------------------------------------------------------------


def _train_steps(ours, theirs, shape, steps=4):
    """``steps`` training steps in both; outputs, the gradients of the input and every parameter, and
    the buffers after each step."""
    for step in range(steps):
        data = _normal(*shape) * (step + 1) + step
        up = _normal(*shape)
        x, tx = tl.Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        y, ty = ours(x), theirs(tx)
        _close(y, ty, what=f"output, step {step}")
        y.backward(up)
        ty.backward(torch.tensor(up))
        _close(x.grad, tx.grad, what=f"input gradient, step {step}")
        for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            _close(p.grad, tp.grad, what=f"{name} gradient, step {step}")
        for (name, b), (tname, tb) in zip(ours.named_buffers(), theirs.named_buffers()):
            assert name == tname
            if name == "num_batches_tracked":
                assert b.dtype == np.int64 and b.shape == () and int(b.data) == int(tb), (int(b.data), int(tb))
            else:
                _close(b, tb, 1e-12, f"{name}, step {step}")


BATCH_NORMS = [
    ("BatchNorm1d", (6, 3), {}),
    ("BatchNorm1d", (5, 3, 4), {"momentum": 0.3}),
    ("BatchNorm1d", (6, 3), {"momentum": None}),
    ("BatchNorm2d", (3, 3, 2, 4), {}),
    ("BatchNorm2d", (3, 3, 2, 2), {"affine": False, "eps": 1e-3}),
    ("BatchNorm1d", (4, 3), {"track_running_stats": False}),
    ("BatchNorm1d", (4, 3), {"bias": False}),
    ("BatchNorm3d", (2, 3, 2, 2, 2), {"momentum": None}),
]


@pytest.mark.parametrize("name, shape, kwargs", BATCH_NORMS)
def test_batch_norm_layers_train_and_eval_as_pytorch(name, shape, kwargs):
    ours, theirs = _twin(getattr(tl.nn, name)(3, dtype=np.float64, **kwargs), getattr(torch.nn, name)(3, **kwargs))
    if ours.weight is not None:  # parameters away from their initial values, so that they matter
        for p, tp in zip(ours.parameters(), theirs.parameters()):
            p.data[...] = _normal(3)
            tp.data[...] = torch.tensor(p.data)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    _train_steps(ours, theirs, shape)
    ours.eval(), theirs.eval()
    _train_steps(ours, theirs, shape, steps=2)  # eval: the running statistics, which stay as they are
    differential(ours, theirs, _normal(*shape))  # and the second order of the eval layer


def test_batch_norm_layers_initialise_repr_and_state_dict_as_pytorch():
    for name, kwargs in [
        ("BatchNorm1d", {}),
        ("BatchNorm2d", {"momentum": None, "affine": False, "track_running_stats": False}),
        ("BatchNorm1d", {"eps": 1e-3, "bias": False}),
        ("InstanceNorm1d", {}),
        ("InstanceNorm1d", {"affine": True, "track_running_stats": True}),
        ("InstanceNorm2d", {"momentum": None}),
    ]:
        ours, theirs = getattr(tl.nn, name)(4, **kwargs), getattr(torch.nn, name)(4, **kwargs)
        assert repr(ours) == repr(theirs)
        mine, its = ours.state_dict(), theirs.state_dict()
        assert list(mine) == list(its), name
        for key in mine:
            np.testing.assert_array_equal(mine[key], its[key].numpy(), err_msg=f"{name}.{key}")
            assert mine[key].dtype == (np.int64 if key == "num_batches_tracked" else np.float32), key
    assert tl.nn.BatchNorm1d(3).running_mean.requires_grad is False
    assert [n for n, _ in tl.nn.BatchNorm1d(3).named_buffers()] == [
        "running_mean",
        "running_var",
        "num_batches_tracked",
    ]


def test_batch_norm_state_dict_round_trips_through_pytorch():
    ours, theirs = tl.nn.BatchNorm1d(3, dtype=np.float64), torch.nn.BatchNorm1d(3).double()
    for _ in range(3):
        theirs(torch.tensor(_normal(5, 3)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert int(ours.num_batches_tracked.data) == 3
    back = torch.nn.BatchNorm1d(3).double()
    back.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    x = _normal(4, 3)
    back.eval(), ours.eval()
    _close(ours(tl.Tensor(x)), back(torch.tensor(x)))


def test_float32_layers_stay_float32():
    x = tl.Tensor(_normal(4, 3, 5).astype(np.float32))
    for layer in (tl.nn.BatchNorm1d(3), tl.nn.InstanceNorm1d(3, track_running_stats=True), tl.nn.GroupNorm(3, 3),
                  tl.nn.RMSNorm(5), tl.nn.LocalResponseNorm(2), tl.nn.PReLU(3)):  # fmt: skip
        assert layer(x).dtype == np.float32, layer
        assert all(b.dtype == np.float32 for n, b in layer.named_buffers() if n != "num_batches_tracked"), layer
    with pytest.raises(TypeError, match="BatchNorm1d: input dtype float64 differs from the layer's parameters"):
        tl.nn.BatchNorm1d(3)(tl.Tensor(_normal(4, 3)))


def test_batch_norm_reset_running_stats_and_parameters():
    bn = tl.nn.BatchNorm1d(2, dtype=np.float64)
    bn(tl.Tensor(_normal(4, 2)))
    bn.weight.data[...] = 3.0
    bn.reset_parameters()
    assert bn.running_mean.data.tolist() == [0, 0] and bn.running_var.data.tolist() == [1, 1]
    assert int(bn.num_batches_tracked.data) == 0 and bn.weight.data.tolist() == [1, 1]


@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True, "momentum": 0.4}])
@pytest.mark.parametrize(
    "name, shape",
    [("InstanceNorm1d", (3, 3, 5)), ("InstanceNorm1d", (3, 5)), ("InstanceNorm2d", (2, 3, 2, 3)),
     ("InstanceNorm2d", (3, 4, 2))],
)  # fmt: skip
def test_instance_norm_layers_as_pytorch(kwargs, name, shape):
    ours = getattr(tl.nn, name)(3, dtype=np.float64, **kwargs)
    ours, theirs = _twin(ours, getattr(torch.nn, name)(3, **kwargs))
    if ours.weight is not None:
        ours.weight.data[...] = _normal(3)
        theirs.weight.data[...] = torch.tensor(ours.weight.data)
    _train_steps(ours, theirs, shape, steps=3)
    ours.eval(), theirs.eval()
    _train_steps(ours, theirs, shape, steps=1)
    differential(ours, theirs, _normal(*shape))


def test_instance_norm_warns_as_pytorch_when_its_num_features_is_unused():
    with pytest.warns(UserWarning, match="does not match num_features"):
        tl.nn.InstanceNorm1d(3)(tl.Tensor(_normal(2, 4, 5).astype(np.float32)))
    with pytest.raises(ValueError, match=r"InstanceNorm1d: input of shape \(2, 4, 5\) has 4 channels"):
        tl.nn.InstanceNorm1d(3, affine=True)(tl.Tensor(_normal(2, 4, 5).astype(np.float32)))


@pytest.mark.parametrize("name, args, kwargs", [
    ("GroupNorm", (2, 6), {}),
    ("GroupNorm", (3, 6), {"affine": False, "eps": 1e-3}),
    ("GroupNorm", (1, 6), {"bias": False}),
    ("RMSNorm", ((2, 6),), {}),
    ("RMSNorm", (6,), {"eps": 1e-2, "elementwise_affine": False}),
    ("LocalResponseNorm", (3,), {"alpha": 0.5, "k": 2.0}),
])  # fmt: skip
def test_group_rms_and_local_response_layers_as_pytorch(name, args, kwargs):
    ours, theirs = getattr(tl.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        assert n == tn and p.dtype == np.float32
        np.testing.assert_array_equal(p.data, tp.detach().numpy())  # ones and zeros, PyTorch's init
    ours, theirs = _twin(getattr(tl.nn, name)(*args, dtype=np.float64, **kwargs) if name != "LocalResponseNorm"
                         else ours, theirs)  # fmt: skip
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        p.data[...] = _normal(*p.shape)
        tp.data[...] = torch.tensor(p.data)
    # (RMSNorm normalises the last axes: they must be its normalized_shape)
    shape = {(2, 6): (3, 6, 2, 6), 6: (3, 4, 6)}.get(args[0], (3, 6, 4)) if name == "RMSNorm" else (3, 6, 4)
    differential(ours, theirs, _normal(*shape))


# ---- bad input: refused by name, nothing changed -----------------------------------------------------------


def test_bad_input_is_refused_by_name_and_changes_nothing():
    bn = tl.nn.BatchNorm1d(3, dtype=np.float64)
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    cases = [
        (lambda: bn(tl.Tensor(_normal(4, 5))), r"BatchNorm1d: input of shape \(4, 5\) has 5 channels, expected 3"),
        (lambda: bn(tl.Tensor(_normal(4, 3, 2, 2))), r"BatchNorm1d: expected 2D or 3D input, got 4D input"),
        (lambda: bn(tl.Tensor(_normal(1, 3))), r"BatchNorm1d: expected more than 1 value per channel"),
        (lambda: tl.nn.BatchNorm2d(3)(tl.Tensor(_normal(4, 3, 2))), r"BatchNorm2d: expected 4D input, got 3D"),
        (
            lambda: F.batch_norm(tl.Tensor(_normal(4, 3)), bn.running_mean, tl.Tensor(np.ones(4)), training=True),
            r"batch_norm: running_var of shape \(4,\) does not hold one value for each of the 3 channels of input "
            r"of shape \(4, 3\)",
        ),
        (lambda: F.batch_norm(tl.Tensor(_normal(4, 3)), None, None), "batch_norm: running_mean and running_var"),
        (lambda: F.batch_norm(tl.Tensor(_normal(3)), None, None, training=True), r"batch_norm: input of shape \(3,\)"),
        (lambda: tl.nn.GroupNorm(4, 6), r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"),
        (lambda: F.group_norm(tl.Tensor(_normal(2, 6, 3)), 4), r"group_norm: the 6 channels of input of shape "
                                                                r"\(2, 6, 3\) do not divide into num_groups=4"),
        (lambda: F.group_norm(tl.Tensor(_normal(2, 6)), 2, tl.Tensor(np.ones(4))), r"group_norm: weight of shape"),
        (lambda: tl.nn.GroupNorm(2, 4)(tl.Tensor(_normal(2, 6, 3).astype(np.float32))), r"group_norm: weight of"),
        (lambda: F.instance_norm(tl.Tensor(_normal(2, 3, 1))), "instance_norm: expected more than 1 spatial element"),
        (lambda: F.rms_norm(tl.Tensor(_normal(2, 3)), 2), r"rms_norm: input of shape \(2, 3\) does not end in"),
        (lambda: F.local_response_norm(tl.Tensor(_normal(2, 3)), 2), r"local_response_norm: expected an input of 3"),
    ]  # fmt: skip
    for call, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            call()
        # PyTorch refuses each of them too (its wording differs)
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


# ---- tl.compile of a BatchNorm model ----------------------------------------------------------------------


def _model(track=True):
    tl.manual_seed(3)
    return tl.nn.Sequential(
        tl.nn.Linear(4, 3, dtype=np.float64),
        tl.nn.BatchNorm1d(3, dtype=np.float64, track_running_stats=track),
        tl.nn.ReLU(),
        tl.nn.Linear(3, 1, dtype=np.float64),
    )


def _run(model, fn, batches):
    """Losses, every parameter's gradient and every buffer after each batch."""
    out = []
    for x in batches:
        model.zero_grad()
        loss = fn(x)
        loss.backward()
        out.append((loss.data.copy(), [p.grad.data.copy() for p in model.parameters()],
                    [b.data.copy() for b in model.buffers()]))  # fmt: skip
    return out


def test_compile_replays_an_eval_batch_norm_model_bit_identically():
    batches = [_normal(5, 4) for _ in range(4)]
    eager, compiled = _model(), _model()
    warm = _normal(8, 4) + 2.0
    for m in (eager, compiled):  # running statistics that are not the initial ones
        m(tl.Tensor(warm))
        m.eval()
    step = tl.compile(lambda x: (compiled(x) ** 2).mean())
    got, expected = _run(compiled, step, batches), _run(eager, lambda x: (eager(tl.Tensor(x)) ** 2).mean(), batches)
    assert step.replays == 3
    for (a, ga, ba), (b, gb, bb) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
        for u, v in zip(ga + ba, gb + bb):
            np.testing.assert_array_equal(u, v)
    # the running statistics change (an eager training step): the replay reads their new values
    warm = _normal(8, 4)
    for m in (eager, compiled):
        m.train()
        m(tl.Tensor(warm))
        m.eval()
    again = [_normal(5, 4) for _ in range(2)]
    replays = step.replays
    got, expected = _run(compiled, step, again), _run(eager, lambda x: (eager(tl.Tensor(x)) ** 2).mean(), again)
    assert step.replays == replays + 1  # train()/eval() recorded it again once
    for (a, ga, ba), (b, gb, bb) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
        for u, v in zip(ga + ba, gb + bb):
            np.testing.assert_array_equal(u, v)


def test_compile_replays_batch_norm_without_running_statistics_in_training():
    batches = [_normal(6, 4) for _ in range(3)]
    eager, compiled = _model(track=False), _model(track=False)
    step = tl.compile(lambda x: (compiled(x) ** 2).mean())
    got, expected = _run(compiled, step, batches), _run(eager, lambda x: (eager(tl.Tensor(x)) ** 2).mean(), batches)
    assert step.replays == 2
    for (a, ga, _), (b, gb, _) in zip(got, expected):
        np.testing.assert_array_equal(a, b)
        for u, v in zip(ga, gb):
            np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("momentum, backend", [(0.1, "numpy"), (None, "numpy"), (0.1, None)])
def test_compile_replays_a_training_batch_norm_updating_its_buffers_as_eager(momentum, backend):
    batches = [_normal(5, 4) * (k + 1) for k in range(4)]
    eager, compiled = _model(), _model()
    for m in (eager, compiled):
        m[1].momentum = momentum
    step = tl.compile(lambda x: (compiled(x) ** 2).mean(), backend=backend)
    got, expected = _run(compiled, step, batches), _run(eager, lambda x: (eager(tl.Tensor(x)) ** 2).mean(), batches)
    assert step.replays == 3 and "running_update" in step.source  # the update is a step of the program
    for k, ((a, ga, ba), (b, gb, bb)) in enumerate(zip(got, expected)):
        np.testing.assert_array_equal(a, b)
        for u, v in zip(ga + ba, gb + bb):  # the buffers after each call: running_mean, running_var, count
            np.testing.assert_array_equal(u, v, err_msg=f"call {k}")
    assert int(compiled[1].num_batches_tracked.data) == 4
    # and PyTorch's layer, fed the same batches, agrees on the buffers
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum).double()
    lin = _model()[0]
    for x in batches:
        theirs(torch.tensor(lin(tl.Tensor(x)).data))
    for name, b in compiled[1].named_buffers():
        _close(b, theirs.get_buffer(name), 1e-12, name)


def test_compile_replays_batch_norm_of_buffers_the_step_names():
    # buffers read by name (a closure): the guard knows the step's own update writes them
    ours, eager = (tl.Tensor(np.zeros(3)), tl.Tensor(np.ones(3))), (tl.Tensor(np.zeros(3)), tl.Tensor(np.ones(3)))
    lin = tl.nn.Linear(4, 3, dtype=np.float64)
    step = tl.compile(lambda x: (F.batch_norm(lin(x), *ours, training=True, momentum=0.3) ** 3).sum())
    for k in range(3):
        x = _normal(6, 4)
        a, b = step(x), (F.batch_norm(lin(tl.Tensor(x)), *eager, training=True, momentum=0.3) ** 3).sum()
        np.testing.assert_array_equal(a.data, b.data)
        for u, v in zip(ours, eager):
            np.testing.assert_array_equal(u.data, v.data, err_msg=f"call {k}")
    assert step.recordings == ["first call"] and step.replays == 2
    with tl.no_grad():  # changed from outside: the replay reads the buffers as they are now
        ours[0].zero_()
        eager[0].zero_()
    x = _normal(6, 4)
    step(x)
    F.batch_norm(lin(tl.Tensor(x)), *eager, training=True, momentum=0.3)
    np.testing.assert_array_equal(ours[0].data, eager[0].data)


def test_compile_replays_an_instance_norm_with_running_statistics():
    tl.manual_seed(0)
    eager, compiled = (tl.nn.InstanceNorm1d(4, track_running_stats=True, affine=True, dtype=np.float64) for _ in "ab")
    batches = [_normal(2, 4, 3) for _ in range(3)]
    # (the step must not reach the eager module: its buffers, written in place, would make it record again)
    step = tl.compile(lambda x: (compiled(x) ** 3).sum())
    for x in batches:
        a, b = step(x), (eager(tl.Tensor(x)) ** 3).sum()
        np.testing.assert_array_equal(a.data, b.data)
    assert step.replays == 2
    for name, b in compiled.named_buffers():
        np.testing.assert_array_equal(b.data, eager.get_buffer(name).data, err_msg=name)


# ---- distances, prelu, bilinear ----------------------------------------------------------------------------


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf])
def test_pairwise_distance_to_second_order(p):
    for a, b in [((4, 3), (4, 3)), ((4, 3), (3,)), ((3,), (3,)), ((2, 1, 3), (4, 3))]:
        differential(
            lambda x, y: F.pairwise_distance(x, y, p),
            lambda x, y: TF.pairwise_distance(x, y, p),
            _normal(*a),
            _normal(*b),
        )
    same = _normal(3, 2)  # equal inputs: eps keeps the gradient finite
    differential(lambda x, y: F.pairwise_distance(x, y, p, 1e-3, True),
                 lambda x, y: TF.pairwise_distance(x, y, p, 1e-3, True), same, same.copy())  # fmt: skip
    layers = tl.nn.PairwiseDistance(p, keepdim=True), torch.nn.PairwiseDistance(p, keepdim=True)
    differential(*layers, _normal(4, 3), _normal(4, 3))


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 1.5])
def test_pdist_first_order_as_pytorch_and_second_order_by_finite_differences(p):
    for n in (4, 2, 1):
        differential(lambda x: F.pdist(x, p), lambda x: TF.pdist(x, p), _normal(n, 3), order=1)
    x = tl.Tensor(_normal(4, 3), requires_grad=True)
    # PyTorch has no second derivative of pdist: the gradient's own gradient against finite differences
    v = tl.Tensor(_normal(4, 3))
    assert tl.gradcheck(lambda x: (tl.grad(F.pdist(x, p).sum(), x, create_graph=True)[0] * v).sum(), (x,))


def test_prelu_to_second_order():
    for shape, slopes in [((4, 3), 3), ((4, 3), 1), ((2, 3, 5), 3), ((5,), 1), ((), 1)]:
        differential(F.prelu, TF.prelu, _normal(*shape), _normal(slopes))
        x = _normal(*shape)
        x.flat[:2] = 0.0  # the kink: the gradient is the weight's slope there, and the weight's is x, as PyTorch's
        # (only to first order: PyTorch's second derivative reads x = 0 as positive, its first as negative)
        differential(F.prelu, TF.prelu, x, _normal(slopes), order=1)
    differential(lambda x: tl.nn.PReLU(3, 0.1, dtype=np.float64)(x), lambda x: torch.nn.PReLU(3, 0.1).double()(x),
                 _normal(4, 3, 2), order=1)  # fmt: skip
    m = tl.nn.PReLU(2)
    assert (
        m.weight.data.tolist() == [0.25, 0.25] and m.weight.dtype == np.float32 and repr(m) == repr(torch.nn.PReLU(2))
    )
    with pytest.raises(
        ValueError, match=r"prelu: weight of shape \(2,\) holds 2 slopes, but input of shape \(4, 3\) has 3"
    ):
        F.prelu(tl.Tensor(_normal(4, 3)), tl.Tensor(np.ones(2)))


def test_bilinear_to_second_order():
    for a, b in [((4, 3), (4, 2)), ((3,), (2,)), ((2, 5, 3), (2, 5, 2))]:
        differential(F.bilinear, TF.bilinear, _normal(*a), _normal(*b), _normal(4, 3, 2), _normal(4))
        differential(F.bilinear, TF.bilinear, _normal(*a), _normal(*b), _normal(4, 3, 2))
    with pytest.raises(ValueError, match=r"bilinear: the batch axes of input1 \(2, 3\) and input2 \(1, 2\) differ"):
        F.bilinear(tl.Tensor(_normal(2, 3)), tl.Tensor(_normal(1, 2)), tl.Tensor(_normal(4, 3, 2)))
    with pytest.raises(ValueError, match="bilinear: inputs of shapes"):
        F.bilinear(tl.Tensor(_normal(2, 3)), tl.Tensor(_normal(2, 3)), tl.Tensor(_normal(4, 3, 2)))


def test_bilinear_layer_as_pytorch_and_its_initialisation():
    ours, theirs = _twin(tl.nn.Bilinear(3, 2, 4, dtype=np.float64), torch.nn.Bilinear(3, 2, 4))
    differential(ours, theirs, _normal(5, 3), _normal(5, 2), order=1)
    assert repr(ours) == repr(theirs) and [n for n, _ in ours.named_parameters()] == ["weight", "bias"]
    tl.manual_seed(0)
    big = tl.nn.Bilinear(16, 8, 64)  # U(-1/4, 1/4): the bound, the mean and the variance (1/48) of a uniform
    w = big.weight.data
    assert w.shape == (64, 16, 8) and w.dtype == np.float32 and np.abs(w).max() <= 0.25
    assert abs(w.mean()) < 0.01 and abs(w.var() - 0.25**2 / 3) < 0.001 and np.abs(big.bias.data).max() <= 0.25
    assert tl.nn.Bilinear(2, 2, 3, bias=False).bias is None


# ---- rrelu and the dropouts: statistics, eval identity, gradients of the drawn values ----------------------


def test_rrelu_in_eval_is_leaky_relu_with_the_mean_slope():
    x = np.concatenate([_normal(8), [0.0]])
    differential(lambda x: F.rrelu(x, 0.1, 0.3), lambda x: TF.rrelu(x, 0.1, 0.3), x)
    differential(lambda x: tl.nn.RReLU().eval()(x), lambda x: torch.nn.RReLU().eval()(x), x)
    assert repr(tl.nn.RReLU(0.1, 0.3, True)) == repr(torch.nn.RReLU(0.1, 0.3, True))
    with pytest.raises(ValueError, match="rrelu: lower must be a number <= upper"):
        F.rrelu(tl.Tensor(x), 0.5, 0.2, training=True)


def test_rrelu_in_training_draws_uniform_slopes_that_its_gradient_uses():
    tl.manual_seed(1)
    x = tl.Tensor(-np.abs(_normal(20000)) - 0.1, requires_grad=True)
    y = F.rrelu(x, 0.2, 0.5, training=True)
    slopes = y.data / x.data
    assert slopes.min() >= 0.2 and slopes.max() <= 0.5
    # U(0.2, 0.5): mean 0.35, variance 0.3**2 / 12; 20000 draws put both within a few standard errors
    assert abs(slopes.mean() - 0.35) < 0.005 and abs(slopes.var() - 0.09 / 12) < 0.0005
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, slopes, rtol=1e-12)  # the gradient is the drawn slope
    positive = tl.Tensor(np.abs(_normal(50)) + 0.1, requires_grad=True)
    z = tl.nn.RReLU()(positive)  # a new layer trains: positives pass unchanged, gradient 1
    np.testing.assert_array_equal(z.data, positive.data)
    tl.manual_seed(7)
    a = F.rrelu(tl.Tensor(-np.ones(5)), training=True).data
    tl.manual_seed(7)
    np.testing.assert_array_equal(a, F.rrelu(tl.Tensor(-np.ones(5)), training=True).data)  # repeatable


def test_alpha_dropout_keeps_a_standard_normal_standard():
    tl.manual_seed(2)
    x = tl.Tensor(_normal(400, 500), requires_grad=True)
    for p in (0.2, 0.5):
        y = F.alpha_dropout(x, p, training=True)
        alpha = 1.7580993408473766
        a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
        dropped_value = -alpha * a + alpha * a * p  # where dropped: the saturation, mapped
        dropped = np.isclose(y.data, dropped_value, rtol=0, atol=1e-12)
        assert abs(dropped.mean() - p) < 0.005
        assert abs(y.data.mean()) < 0.01 and abs(y.data.std() - 1.0) < 0.01  # the claim of alpha dropout
        x.grad = None
        y.sum().backward()
        np.testing.assert_allclose(x.grad.data, np.where(dropped, 0.0, a), atol=1e-12)
    assert F.alpha_dropout(x, 0.5) is x and tl.nn.AlphaDropout(0.5).eval()(x) is x  # eval: the identity
    np.testing.assert_array_equal(F.alpha_dropout(x, 1.0, True).data, np.zeros(x.shape))  # PyTorch's p=1
    assert repr(tl.nn.AlphaDropout(0.2)) == repr(torch.nn.AlphaDropout(0.2))


@pytest.mark.parametrize("name, shape", [("dropout1d", (40, 50, 3)), ("dropout1d", (2000, 3)),
                                         ("dropout2d", (40, 50, 2, 2)), ("dropout3d", (2000, 1, 2, 2)),
                                         ("feature_alpha_dropout", (40, 50, 3))])  # fmt: skip
def test_channel_dropouts_drop_whole_channels_at_rate_p(name, shape):
    tl.manual_seed(4)
    x = tl.Tensor(np.abs(_normal(*shape)) + 0.5, requires_grad=True)
    fn = getattr(F, name)
    y = fn(x, 0.3, True)
    unbatched = len(shape) in (2, 4) and name in ("dropout1d", "dropout3d")
    channels = y.data.reshape(shape[: 1 if unbatched else 2] + (-1,))
    if name == "feature_alpha_dropout":  # kept: a x + alpha a p; dropped: one value, the saturation mapped
        alpha = 1.7580993408473766
        a = 1.0 / math.sqrt((alpha * alpha * 0.3 + 1) * 0.7)
        dropped = np.isclose(channels, -alpha * a + alpha * a * 0.3, rtol=0, atol=1e-12).all(axis=-1)
        kept = np.isclose(channels, x.data.reshape(channels.shape) * a + alpha * a * 0.3, rtol=0, atol=1e-12)
        assert np.all(kept.all(axis=-1) ^ dropped)  # each channel whole
    else:
        dropped = (channels == 0).all(axis=-1)
        assert np.all(dropped | (channels != 0).all(axis=-1))  # each channel whole
        np.testing.assert_allclose(channels[~dropped], (x.data.reshape(channels.shape) / 0.7)[~dropped], rtol=1e-6)
    assert abs(dropped.mean() - 0.3) < 0.03  # 2000 channels: three standard errors
    y.sum().backward()
    assert np.all((x.grad.data.reshape(channels.shape) == 0).all(axis=-1) == dropped)
    assert fn(x, 0.3, False) is x  # eval: the identity


def test_dropout_layers_and_their_reprs():
    for name in ("Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"):
        ours, theirs = getattr(tl.nn, name)(0.3, True), getattr(torch.nn, name)(0.3, True)
        assert repr(ours) == repr(theirs)
        x = tl.Tensor(np.ones((2, 3, 4) if name == "Dropout1d" else (2, 3, 4, 5)))
        assert ours.eval()(x) is x
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-D \(C, L\) or 3-D"):
        F.dropout1d(tl.Tensor(np.ones((2, 3, 4, 5))))
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        F.dropout2d(tl.Tensor(np.ones((2, 3, 4))))
    with pytest.raises(ValueError, match=r"dropout2d: p must be in \[0, 1\]"):
        F.dropout2d(tl.Tensor(np.ones((2, 3, 4, 4))), 1.5)
    tl.manual_seed(0)
    x = tl.Tensor(np.ones((4, 6, 2)))
    y = F.dropout1d(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.data)) <= {0.0, 2.0}
    with pytest.raises(tl.CompileError, match="dropout1d draws a new mask"):
        tl.compile(lambda x: F.dropout1d(x).sum())(np.ones((2, 3, 4)))


# ---- tl.special, xlogy, copysign ---------------------------------------------------------------------------


SPECIAL_POINTS = np.array([0.0, -0.0, 1.0, 2.5, -1.5, 1e-300, np.inf, -np.inf, np.nan])


def test_xlogy_and_xlog1py_at_their_special_points_to_second_order():
    xs = np.repeat(SPECIAL_POINTS, len(SPECIAL_POINTS))
    ys = np.tile(SPECIAL_POINTS, len(SPECIAL_POINTS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for ours, theirs in [(tl.xlogy, torch.xlogy), (tl.special.xlogy, torch.special.xlogy),
                             (tl.special.xlog1py, torch.special.xlog1py)]:  # fmt: skip
            differential(ours, theirs, xs, ys, order=1)
            differential(ours, theirs, _normal(3, 4), np.abs(_normal(4)) + 0.1)  # broadcasting, second order
            differential(ours, theirs, np.array([0.0, 1.5, 0.0]), np.array([0.0, 2.0, 3.0]))
            differential(lambda y, f=ours: f(2.0, y), lambda y, f=theirs: f(2.0, y), np.array([0.5, 3.0]))
    assert tl.xlogy(tl.tensor([0, 2]), tl.tensor([0, 3])).dtype == np.float32  # integers: the default float


def test_special_functions_against_pytorch_to_second_order():
    x = np.concatenate([_normal(6) * 3, [0.0, -0.0, 1.0, -1.0, -1.0 - 1e-12, -5.0, -19.9, -20.0, -20.1, -35.0,
                                         -45.0, 8.0, 40.0]])  # fmt: skip
    unit = RNG.uniform(0.02, 0.98, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, data in [("ndtr", x), ("log_ndtr", x), ("expit", x), ("erf", x), ("erfc", x), ("expm1", x),
                           ("exp2", x[:10]), ("sinc", x[x != 0]), ("log1p", np.abs(x)), ("entr", np.abs(x)),
                           ("logit", unit)]:  # fmt: skip
            differential(getattr(tl.special, name), getattr(torch.special, name), data)
        differential(tl.special.entr, torch.special.entr, SPECIAL_POINTS, order=1)  # +inf at 0, -inf below
        # (sinc's second derivative at 0 is -pi**2 / 3 here, NaN in PyTorch: see ops.sinc)
        differential(tl.special.sinc, torch.special.sinc, np.array([0.0, -0.0]), order=1)
        for eps in (0.1, 1e-6):  # (clamped: PyTorch's second derivative is NaN there, 0 here)
            ours, theirs = (lambda x, e=eps: tl.special.logit(x, e)), (lambda x, e=eps: torch.special.logit(x, e))
            differential(ours, theirs, np.array([0.05, 0.5, 0.95, 0.0, 1.0, 0.1, 0.9]), order=1)
            differential(ours, theirs, np.array([0.15, 0.5, 0.85]))
    # far out, PyTorch's derivatives of log_ndtr cancel (exp(-x**2/2 - log_ndtr), then g (-x - g)): ours
    # against the series of the exact ones, -x - 1/x + 2/x**3 - 10/x**5 and -1 + 1/x**2 - 6/x**4 + 50/x**6
    differential(tl.special.log_ndtr, torch.special.log_ndtr, np.array([-300.0]), order=1)
    x = tl.Tensor(np.array([-300.0, -1e4]), requires_grad=True)
    (g,) = tl.grad(tl.special.log_ndtr(x).sum(), x, create_graph=True)
    (h,) = tl.grad(g.sum(), x)
    z = x.data
    np.testing.assert_allclose(g.data, -z - 1 / z + 2 * z**-3 - 10 * z**-5, rtol=1e-14)
    np.testing.assert_allclose(h.data, -1 + z**-2 - 6 * z**-4 + 50 * z**-6, rtol=1e-13)
    for dtype, tol in ((np.float32, 1e-6), (np.float64, 1e-13)):  # log_ndtr far out, in each dtype
        far = np.array([-8.0, -10.5, -12.0, -19.0, -21.0, -30.0, -60.0], dtype=dtype)
        expected = torch.special.log_ndtr(torch.tensor(far.astype(np.float64))).numpy()
        np.testing.assert_allclose(tl.special.log_ndtr(tl.Tensor(far)).data, expected, rtol=tol)


def test_copysign_to_second_order():
    a = np.array([1.0, -2.0, 0.0, -0.0, 3.0, -4.0, np.inf, 2.0])
    b = np.array([-1.0, 2.0, -3.0, 1.0, -0.0, 0.0, -1.0, np.nan])
    differential(tl.copysign, torch.copysign, a, b, order=1)  # the gradient is NaN at inf, as PyTorch's
    # the second derivative is 0 (PyTorch's is NaN where a is 0 or infinite: its 0/0 in result / a)
    differential(tl.copysign, torch.copysign, a[[0, 1, 4, 5, 7]], b[[0, 1, 4, 5, 7]])
    differential(tl.copysign, torch.copysign, _normal(3, 4), _normal(4))
    differential(lambda x: tl.copysign(x, -1.0), lambda x: torch.copysign(x, -1.0), a, order=1)
    got = tl.copysign(tl.Tensor(np.array([1.0, 2.0])), tl.Tensor(np.array([-0.0, 0.0]))).data
    assert np.signbit(got).tolist() == [True, False]
