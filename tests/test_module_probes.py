"""Found by running PyTorch's ModuleInfo samples (``benchmarks/moduleinfo_probe.py``) through this
engine's nn: each module is built from the same constructor arguments, given PyTorch's state with
``load_state_dict``, and compared with PyTorch itself (outputs, gradients, buffers), never with the
engine's own results."""

import inspect

import numpy as np
import pytest

import tinygrad_lstm as tl

torch = pytest.importorskip("torch")


def _upstream(shape) -> np.ndarray:
    return np.random.default_rng(1).standard_normal(shape)


@pytest.mark.parametrize(
    "name, kwargs, n_classes",
    [
        ("CrossEntropyLoss", {"weight": [0.5, 2.0, 1.5]}, 3),
        ("NLLLoss", {"weight": [0.5, 2.0, 1.5], "reduction": "sum"}, 3),
        ("BCELoss", {"weight": [0.5, 2.0, 1.5]}, 3),
        ("BCEWithLogitsLoss", {"weight": [0.5, 2.0, 1.5], "pos_weight": [3.0, 1.0, 0.25]}, 3),
        ("MultiLabelSoftMarginLoss", {"weight": [0.5, 2.0, 1.5]}, 3),
        ("MultiMarginLoss", {"weight": [0.5, 2.0, 1.5]}, 3),
    ],
)
def test_a_losss_class_weights_are_buffers_so_pytorchs_state_dict_loads(name, kwargs, n_classes):
    """PyTorch registers a loss's ``weight`` (and ``pos_weight``) as buffers: its state_dict holds
    them, and loading it here failed ("unexpected keys: weight"). Loaded, the loss is PyTorch's."""
    theirs = getattr(torch.nn, name)(
        **{k: torch.tensor(v, dtype=torch.float64) for k, v in kwargs.items() if k != "reduction"}
    )
    ours = getattr(tl.nn, name)(**{k: tl.zeros(3, dtype=np.float32) for k in kwargs if k != "reduction"})
    assert ours.double().weight.dtype == np.float64  # cast with the module, as a buffer is
    if "reduction" in kwargs:
        theirs.reduction = ours.reduction = kwargs["reduction"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, n_classes))
    if name in ("BCELoss",):
        x = 1 / (1 + np.exp(-x))
    if name in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"):
        target = np.array([0, 2, 1, 2])
    else:
        target = rng.uniform(size=(4, n_classes)).round()
    tx = torch.tensor(x, requires_grad=True)
    want = theirs(tx, torch.tensor(target))
    want.backward()
    ox = tl.tensor(x, requires_grad=True)
    got = ours(ox, tl.tensor(target))
    got.backward()
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", ["none", "sum", "batchmean"])
def test_kl_div_gives_nan_for_a_nan_or_negative_target_as_pytorch(reduction):
    """ModuleInfo's KLDivLoss samples hold NaN (the log of random values): this engine's loss was 0
    where the target was NaN or negative, so the NaN disappeared from the loss and the gradient.
    Where the target is 0 the target's own gradient stays 0 here (PyTorch's is NaN: documented)."""
    x = np.array([[-1.0, -2.0, -0.5, np.nan, -0.7], [-0.3, -1.5, -2.5, -0.1, -4.0]])
    t = np.array([[0.5, 0.0, -0.3, 0.2, np.nan], [0.25, 0.0, 0.4, 0.1, 0.25]])
    w = _upstream((2, 5)) if reduction == "none" else np.array(1.5)
    tx, tt = (torch.tensor(a, requires_grad=True) for a in (x, t))
    want = torch.nn.KLDivLoss(reduction=reduction)(tx, tt)
    (want * torch.tensor(w)).sum().backward()
    ox, ot = (tl.tensor(a, requires_grad=True) for a in (x, t))
    got = tl.nn.KLDivLoss(reduction=reduction)(ox, ot)
    (got * w).sum().backward()
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), rtol=1e-12)
    nonzero = t != 0
    np.testing.assert_allclose(ot.grad.data[nonzero], tt.grad.numpy()[nonzero], rtol=1e-12)
    assert np.all(ot.grad.data[~nonzero] == 0)


@pytest.mark.parametrize("momentum", [0.3, None])
def test_batch_norm_training_on_an_empty_batch_counts_it_as_pytorch(momentum):
    """ModuleInfo's zero_batch samples: PyTorch normalises an empty batch in training (an empty
    result, the batch counted, the running statistics left alone), and refuses only one value per
    channel; this engine refused every batch of fewer than 2. The count matters: with momentum=None
    the next batch's weight is 1 / num_batches_tracked."""
    theirs = torch.nn.BatchNorm1d(5, 0.001, momentum).double()
    ours = tl.nn.BatchNorm1d(5, 0.001, momentum).double()
    ours.load_state_dict(theirs.state_dict())
    batch = np.random.default_rng(0).standard_normal((4, 5, 3))
    for x in (np.zeros((0, 5, 9)), batch):
        tx, ox = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
        want, got = theirs(tx), ours(ox)
        w = _upstream(x.shape)
        want_grads = torch.autograd.grad((want * torch.tensor(w)).sum(), [tx, theirs.weight, theirs.bias])
        got_grads = tl.grad((got * w).sum(), [ox, ours.weight, ours.bias])
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12, atol=1e-12)
        for g, h in zip(got_grads, want_grads):
            np.testing.assert_allclose(g.data, h.numpy(), rtol=1e-10, atol=1e-12)
        for name, buffer in theirs.named_buffers():
            np.testing.assert_allclose(getattr(ours, name).data, buffer.numpy(), rtol=1e-12, err_msg=name)
    for module in (theirs, ours):  # one value per channel: refused by both
        with pytest.raises((ValueError, RuntimeError), match="more than 1 value per channel"):
            module(torch.zeros(1, 5, dtype=torch.float64) if module is theirs else tl.zeros(1, 5, dtype=np.float64))


def test_instance_norm_of_no_spatial_elements_is_empty_as_pytorch():
    """PyTorch normalises (N, C, 0) input to an empty result; this engine refused it (fewer than 2
    spatial elements), as it still refuses exactly 1, with PyTorch."""
    theirs = torch.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    ours = tl.nn.InstanceNorm1d(3, affine=True, track_running_stats=True).double()
    tx, ox = torch.zeros(2, 3, 0, dtype=torch.float64, requires_grad=True), tl.zeros(2, 3, 0, dtype=np.float64)
    want, got = theirs(tx), ours(ox)
    assert got.shape == tuple(want.shape) == (2, 3, 0)
    want_grad = torch.autograd.grad(want.sum(), theirs.weight)[0]
    np.testing.assert_array_equal(tl.grad(got.sum(), ours.weight)[0].data, want_grad.numpy())
    np.testing.assert_array_equal(ours.running_mean.data, theirs.running_mean.numpy())
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        ours(tl.zeros(2, 3, 1, dtype=np.float64))


@pytest.mark.parametrize("name", ["InstanceNorm1d", "InstanceNorm2d"])
def test_instance_norm_takes_pytorchs_bias_false(name):
    """ModuleInfo's affine_not_bias samples: InstanceNorm(C, affine=True, bias=False), a weight and
    no bias, as BatchNorm and GroupNorm here; this engine refused the keyword (a TypeError)."""
    theirs = getattr(torch.nn, name)(3, 0.001, 0.3, affine=True, bias=False).double()
    ours = getattr(tl.nn, name)(3, 0.001, 0.3, affine=True, bias=False).double()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    theirs.weight.data.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(0))
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 4) if name == "InstanceNorm1d" else (2, 3, 4, 2))
    tx, ox = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
    w = _upstream(x.shape)
    want = torch.autograd.grad((theirs(tx) * torch.tensor(w)).sum(), [tx, theirs.weight])
    got = tl.grad((ours(ox) * w).sum(), [ox, ours.weight])
    for g, h in zip(got, want):
        np.testing.assert_allclose(g.data, h.numpy(), rtol=1e-10, atol=1e-12)


def _names(fn) -> list[str]:
    """The parameters a caller can pass by position or name (not self, *args, **kwargs)."""
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind not in kinds][1:]


def _pairs(method: str):
    """(name, ours, PyTorch's) for each tl.nn module class torch.nn has, whose ``method`` PyTorch defines."""
    for name in sorted(tl.nn.__all__):
        ours, theirs = getattr(tl.nn, name), getattr(torch.nn, name, None)
        if isinstance(ours, type) and isinstance(theirs, type) and issubclass(theirs, torch.nn.Module):
            if getattr(theirs, method) is not getattr(torch.nn.Module, method):
                yield name, ours, theirs


def test_every_modules_forward_takes_pytorchs_argument_names():
    """ModuleInfo calls Linear(10, 8)(input=x): refused here (a TypeError) because 46 modules named
    the argument ``x`` (Embedding: ``indices``) where PyTorch's is ``input`` (RMSNorm's is ``x``).
    PyTorch's names, in order, begin ours (a layer here may take more after them)."""
    differ = {
        name: (_names(ours.forward), _names(theirs.forward))
        for name, ours, theirs in _pairs("forward")
        if _names(ours.forward)[: len(_names(theirs.forward))] != _names(theirs.forward)
    }
    assert not differ
    x = np.random.default_rng(0).standard_normal((3, 10))
    theirs = torch.nn.Linear(10, 8).double()
    ours = tl.nn.Linear(10, 8, dtype=np.float64)
    ours.load_state_dict(theirs.state_dict())
    want = theirs(input=torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(input=tl.tensor(x)).data, want, rtol=1e-12)
    np.testing.assert_array_equal(tl.nn.Embedding(4, 2)(input=np.array([1, 3])).shape, (2, 2))


def test_every_modules_constructor_takes_pytorchs_arguments_in_pytorchs_order():
    """Nine losses left out PyTorch's deprecated size_average and reduce, which sit between its other
    arguments, so a call by position bound them elsewhere (CrossEntropyLoss(w, True): ignore_index
    True); Hardtanh lacked min_value and max_value. PyTorch's names, in order, begin ours."""
    differ = {
        name: (_names(ours.__init__), _names(theirs.__init__))
        for name, ours, theirs in _pairs("__init__")
        if _names(ours.__init__)[: len(_names(theirs.__init__))] != _names(theirs.__init__)
    }
    assert not differ


@pytest.mark.filterwarnings("ignore:.*deprecated")
@pytest.mark.parametrize(
    "name, args",
    [
        ("CrossEntropyLoss", (None, True)),
        ("CrossEntropyLoss", ("w", None, 1, False)),
        ("NLLLoss", ("w", False)),
        ("MSELoss", (None, None, "sum")),
        ("L1Loss", (False,)),
        ("SmoothL1Loss", (None, None, "sum", 0.5)),
        ("BCEWithLogitsLoss", ("w3", None, None, "sum", "w3")),
        ("BCELoss", ("w3", None, False)),
        ("KLDivLoss", (False, None, "mean", True)),
    ],
)
def test_a_loss_called_by_position_means_pytorchs(name, args):
    x = np.random.default_rng(0).standard_normal((4, 3))
    weights = {"w": np.array([0.5, 2.0, 1.5]), "w3": np.array([3.0, 1.0, 0.25])}
    if name in ("CrossEntropyLoss", "NLLLoss"):
        target = np.array([0, 1, 2, 1])
    else:
        target = np.random.default_rng(1).uniform(size=(4, 3)).round()
    if name == "BCELoss":
        x = 1 / (1 + np.exp(-x))
    theirs = getattr(torch.nn, name)(
        *(torch.tensor(weights[a]) if isinstance(a, str) and a in weights else a for a in args)
    )
    ours = getattr(tl.nn, name)(*(tl.tensor(weights[a]) if isinstance(a, str) and a in weights else a for a in args))
    assert ours.reduction == theirs.reduction
    want = theirs(torch.tensor(x), torch.tensor(target)).numpy()
    np.testing.assert_allclose(ours(tl.tensor(x), tl.tensor(target)).data, want, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:.*deprecated")
def test_hardtanh_takes_pytorchs_deprecated_min_value_and_max_value():
    x = np.linspace(-3, 3, 13)
    want = torch.nn.Hardtanh(min_value=-2.0, max_value=0.5)(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(tl.nn.Hardtanh(min_value=-2.0, max_value=0.5)(tl.tensor(x)).data, want)


def test_a_reduction_passed_where_pytorch_reads_size_average_is_pytorchs_mean_with_a_warning():
    """MSELoss("sum") is size_average="sum" in PyTorch: the legacy rule, a mean. Computed as PyTorch
    does, and the warning says the string is not a reduction there."""
    x, t = np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    with pytest.warns(UserWarning):
        want = torch.nn.MSELoss("sum")(torch.tensor(x), torch.tensor(t)).numpy()
    with pytest.warns(UserWarning, match="size_average='sum' is PyTorch's legacy argument"):
        ours = tl.nn.MSELoss("sum")
    np.testing.assert_allclose(ours(tl.tensor(x), tl.tensor(t)).data, want, rtol=1e-12)


@pytest.mark.parametrize("name", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("batch_first", [0, 1, "False"])
def test_a_recurrent_layer_refuses_a_batch_first_that_is_not_a_bool_as_pytorch(name, batch_first):
    """ModuleInfo's error inputs: PyTorch refuses batch_first=0, 1 or "False"; this engine took them,
    and "False", being truthy, meant batch first."""
    with pytest.raises((TypeError, ValueError), match="batch_first should be of type bool"):
        getattr(torch.nn, name)(3, 5, batch_first=batch_first)
    with pytest.raises(TypeError, match=f"{name}: batch_first must be True or False, got {batch_first!r}"):
        getattr(tl.nn, name)(3, 5, batch_first=batch_first)


def test_huber_loss_refuses_a_complex_delta_by_name_when_built_as_pytorch():
    """PyTorch refuses HuberLoss(delta=1+0j) when built; this engine built it and failed in forward
    with "'>' not supported between instances of 'complex' and 'int'", naming neither loss nor delta."""
    with pytest.raises(TypeError, match="delta must be a float or int"):
        torch.nn.HuberLoss(delta=1 + 0j)
    with pytest.raises(TypeError, match=r"HuberLoss: delta must be a real number, got \(1\+0j\)"):
        tl.nn.HuberLoss(delta=1 + 0j)
    with pytest.raises(TypeError, match=r"huber_loss: delta must be a real number"):
        tl.nn.functional.huber_loss(tl.tensor([1.0]), tl.tensor([0.0]), delta=1j)


def test_bce_loss_compiles_and_a_replay_still_refuses_probabilities_outside_0_1():
    """The probe's compile mode: tl.compile refused every step with BCELoss (its [0, 1] check read
    .data of a computed value, which a replay cannot repeat). The check is now a step of the program:
    replays give eager's bits and PyTorch's loss, and a replay given values outside [0, 1] refuses
    them by name, as eager execution and PyTorch do."""
    rng = np.random.default_rng(0)
    lin = tl.nn.Linear(4, 3, dtype=np.float64)
    theirs = torch.nn.Linear(4, 3).double()
    lin.load_state_dict(theirs.state_dict())
    target = rng.uniform(size=(5, 3)).round()
    loss = tl.nn.BCELoss()
    step = tl.compile(lambda x, scale: loss(lin(x).sigmoid() * scale, target))
    for _ in range(3):
        x = rng.standard_normal((5, 4))
        lin.zero_grad()
        got = step(x, np.ones(1))
        got.backward()
        want = torch.nn.BCELoss()(theirs(torch.tensor(x)).sigmoid(), torch.tensor(target))
        np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    assert step.replays == 2
    eager_grad = lin.weight.grad.data.copy()
    lin.zero_grad()
    loss(lin(tl.tensor(x)).sigmoid(), target).backward()
    np.testing.assert_array_equal(eager_grad, lin.weight.grad.data)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: input values must lie in \[0, 1\]"):
        step(x, np.full(1, 3.0))
    assert step.replays == 3  # refused by the replay itself, not by recording again
    np.testing.assert_array_equal(step(x, np.ones(1)).data, got.data)  # and the step still works


def test_a_compiled_gaussian_nll_loss_refuses_a_negative_variance_on_every_call_as_eager():
    """gaussian_nll_loss checked var >= 0 by reading its values in NumPy, which a replay does not
    repeat: eager refused a negative variance, a replay computed a loss from it (474282.7, with the
    variance clamped). PyTorch refuses it too."""
    lin = tl.nn.Linear(4, 3, dtype=np.float64)
    target = np.random.default_rng(0).uniform(size=(5, 3))
    loss = tl.nn.GaussianNLLLoss()
    step = tl.compile(lambda x, sign: loss(lin(x), target, tl.nn.functional.softplus(lin(x)) * sign))
    x = np.random.default_rng(1).uniform(size=(5, 4))
    for _ in range(3):
        step(x, np.ones(1))
    with pytest.raises(ValueError, match="var has negative entr"):
        torch.nn.GaussianNLLLoss()(torch.zeros(5, 3), torch.zeros(5, 3), -torch.ones(5, 3))
    with pytest.raises(ValueError, match=r"gaussian_nll_loss: var has negative entries \(min -"):
        step(x, -np.ones(1))
    assert step.replays == 3


# PyTorch arguments this engine's functions do not take (last in PyTorch's list, so a call that passes
# one is refused with a TypeError, never read as another argument): out= (no preallocated results here)
FUNCTIONAL_GAPS = {"normalize": ["out"]}


def test_every_functional_takes_pytorchs_arguments_in_pytorchs_order():
    """The losses of nn.functional left out size_average and reduce, which sit between PyTorch's other
    arguments (F.cross_entropy(x, t, w, True): ignore_index True, where PyTorch reads size_average);
    six functions named their input x (cross_entropy logits, nll_loss log_probs)."""
    F, TF = tl.nn.functional, torch.nn.functional
    differ = {}
    for name in sorted(n for n in dir(F) if not n.startswith("_")):
        ours, theirs = getattr(F, name), getattr(TF, name, None)
        if isinstance(ours, type) or not callable(ours) or not callable(theirs):
            continue
        try:
            a, b = _names_of_function(ours), _names_of_function(theirs)
        except ValueError:  # a builtin without a signature
            continue
        if b[: len(a)] != a[: len(b)] or b[len(a) :] != FUNCTIONAL_GAPS.get(name, []):
            differ[name] = (a, b)
    assert not differ


def _names_of_function(fn) -> list[str]:
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [p.name for p in inspect.signature(fn).parameters.values() if p.kind not in kinds]


@pytest.mark.filterwarnings("ignore:.*deprecated")
@pytest.mark.parametrize(
    "name, args",
    [
        ("cross_entropy", ("w", True)),
        ("nll_loss", ("w", None, 1, False)),
        ("mse_loss", (None, None, "sum")),
        ("l1_loss", (False,)),
        ("smooth_l1_loss", (None, None, "none", 0.5)),
        ("kl_div", (None, None, "batchmean")),
        ("binary_cross_entropy", ("w", None, False)),
        ("binary_cross_entropy_with_logits", ("w", None, None, "sum", "w")),
    ],
)
def test_a_functional_loss_called_by_position_means_pytorchs(name, args):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    if name in ("cross_entropy", "nll_loss"):
        target = np.array([0, 1, 2, 1])
    else:
        target = rng.uniform(size=(4, 3))
    if name == "binary_cross_entropy":
        x = 1 / (1 + np.exp(-x))
    w = np.array([0.5, 2.0, 1.5])
    want = getattr(torch.nn.functional, name)(
        torch.tensor(x), torch.tensor(target), *(torch.tensor(w) if a == "w" else a for a in args)
    )
    got = getattr(tl.nn.functional, name)(
        tl.tensor(x), tl.tensor(target), *(tl.tensor(w) if a == "w" else a for a in args)
    )
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_l1_and_huber_loss_take_pytorchs_elementwise_weight(name, reduction):
    """PyTorch's F.mse_loss, l1_loss and huber_loss take weight= (the input's shape): refused here (a
    TypeError). Their means differ: mse and l1 divide by the weights' sum, huber by the count."""
    rng = np.random.default_rng(0)
    x, t, w = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)) * 2, rng.uniform(0.5, 2.0, (4, 3))
    up = rng.standard_normal((4, 3)) if reduction == "none" else np.array(1.0)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    want = getattr(torch.nn.functional, name)(tx, torch.tensor(t), reduction=reduction, weight=tw)
    (want * torch.tensor(up)).sum().backward()
    ox, ow = tl.tensor(x, requires_grad=True), tl.tensor(w, requires_grad=True)
    got = getattr(tl.nn.functional, name)(ox, tl.tensor(t), reduction=reduction, weight=ow)
    (got * up).sum().backward()
    np.testing.assert_allclose(got.data, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ox.grad.data, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ow.grad.data, tw.grad.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=rf"{name}: weight of shape \(3,\) must have the input's shape \(4, 3\)"):
        getattr(tl.nn.functional, name)(ox, tl.tensor(t), weight=np.ones(3))
