"""The boilerplate of a PyTorch user's first script: devices, creation functions and layers with
``device=``, ``tl.utils.data``, parameter containers, ``nn.init``, ``parameters_to_vector``, the
Embedding options, and the official quickstart's train and eval loops, run with ``tl`` for ``torch``.

Deterministic behaviour is compared with PyTorch; random draws with the formulas PyTorch documents."""

from __future__ import annotations

import inspect
import math
import warnings
from collections import namedtuple

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.utils.data import DataLoader, Subset, TensorDataset, default_collate, random_split

try:
    import torch
except ImportError:  # the comparisons skip; the rest runs
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")


def draws_after(action) -> np.ndarray:
    """The next numbers of the package's generator after ``action`` ran from seed 0 (or failed)."""
    tl.manual_seed(0)
    try:
        action()
    except (ValueError, TypeError):
        pass
    return tl.randn(4).numpy()


# ---- devices ---------------------------------------------------------------------------------------

SPECS = ["cpu", "cpu:0", "cuda", "cuda:1", ("cuda", 2), ("cpu", 0), "mps"]


@needs_torch
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_a_device_reads_as_pytorchs(spec):
    args = spec if isinstance(spec, tuple) else (spec,)
    ours, theirs = tl.device(*args), torch.device(*args)
    assert (repr(ours), str(ours), ours.type, ours.index) == (repr(theirs), str(theirs), theirs.type, theirs.index)
    assert tl.device(ours) == ours and hash(tl.device(*args)) == hash(ours)
    for other in SPECS:
        more = other if isinstance(other, tuple) else (other,)
        assert (ours == tl.device(*more)) == (theirs == torch.device(*more)), (spec, other)


def test_a_device_is_unequal_to_strings_as_pytorchs():
    # as PyTorch's, a device compares unequal with every string: its .type is the string to compare
    assert tl.device("cpu") != "cpu"  # (PyTorch 2.13: torch.device("cpu") == "cpu" is False)
    assert tl.device("cpu:0").type == "cpu" and tl.device("cuda") != tl.device("cpu")
    assert tl.device("cpu") != "cpu:0" and tl.device("cpu") != 1
    assert {tl.device("cpu"): 1}[tl.device("cpu")] == 1


@needs_torch
@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:-1", "", "cuda:0:1"])
def test_a_bad_device_string_is_refused_as_pytorch_refuses_it(spec):
    with pytest.raises(RuntimeError):
        torch.device(spec)
    with pytest.raises(ValueError, match="device"):
        tl.device(spec)


def test_a_device_is_a_value():
    d = tl.device("cpu")
    with pytest.raises(AttributeError, match="value"):
        d.type = "cuda"
    with pytest.raises(TypeError, match="device"):
        tl.device(1.5)
    with pytest.raises(ValueError, match="a bare index"):  # PyTorch's names the current accelerator
        tl.device(0)
    with pytest.raises(ValueError, match="index"):
        tl.device("cuda:0", 1)


def test_the_accelerator_questions_are_answered_no():
    assert tl.cuda.is_available() is False and tl.cuda.device_count() == 0
    assert tl.backends.mps.is_available() is False and tl.backends.mps.is_built() is False
    tl.backends.cudnn.deterministic, tl.backends.cudnn.benchmark = True, False  # seed boilerplate runs
    tl.cuda.manual_seed_all(0)
    assert tl.device("cuda" if tl.cuda.is_available() else "cpu") == tl.device("cpu")


# every creation function PyTorch gives device=, with arguments; the value must not depend on device=
CREATION = {
    "tensor": ([[1.0, 2.0]],),
    "as_tensor": ([1, 2],),
    "zeros": (2, 3),
    "ones": (2,),
    "full": ((2, 2), 0.5),
    "empty": (3,),
    "eye": (2, 3),
    "arange": (0, 5, 2),
    "linspace": (0.0, 1.0, 5),
    "logspace": (0.0, 2.0, 3),
    "rand": (2, 2),
    "randn": (3,),
    "randint": (0, 10, (4,)),
    "randperm": (6,),
    "normal": (0.0, 1.0, (3,)),
    "zeros_like": (tl.ones(2, 2),),
    "ones_like": (tl.ones(2, 2),),
    "full_like": (tl.ones(2), 7.0),
    "empty_like": (tl.ones(2),),
    "rand_like": (tl.ones(3),),
    "randn_like": (tl.ones(3),),
}


@pytest.mark.parametrize("name", sorted(CREATION))
def test_every_creation_function_takes_device_and_refuses_any_but_the_cpu(name):
    make, args = getattr(tl, name), CREATION[name]
    assert "device" in inspect.signature(make).parameters
    tl.manual_seed(3)
    plain = make(*args).numpy()
    for device in ("cpu", "cpu:0", tl.device("cpu"), None):
        tl.manual_seed(3)
        made = make(*args, device=device)
        assert made.device == tl.device("cpu") and np.array_equal(made.numpy(), plain)
    for device in ("cuda", tl.device("cuda", 0), "mps"):
        with pytest.raises(ValueError, match=rf"^{name}: there is one device here, the CPU; got device='{device}'"):
            make(*args, device=device)
    # a refused call draws nothing: the stream goes on as if it had not been made
    assert np.array_equal(draws_after(lambda: make(*args, device="cuda")), draws_after(lambda: None))


@needs_torch
def test_the_creation_functions_pytorch_gives_device_all_take_it():
    # PyTorch's signatures are in its docstrings: "zeros(*size, *, ..., device=None, ...)"
    for name in CREATION:
        assert "device" in getattr(torch, name).__doc__, name


@pytest.mark.parametrize("method, args", [("new_zeros", (2,)), ("new_ones", (2,)), ("new_full", ((2,), 3.0)),
                                          ("new_empty", (2,)), ("new_tensor", ([1.0],))])  # fmt: skip
def test_the_new_methods_take_device(method, args):
    x = tl.ones(3, dtype=np.float64)
    assert getattr(x, method)(*args, device="cpu").dtype == np.float64
    with pytest.raises(ValueError, match=rf"^Tensor.{method}: there is one device"):
        getattr(x, method)(*args, device="cuda")


@needs_torch
def test_a_tensor_says_where_it_lives_as_a_cpu_tensor_of_pytorch_does():
    x, t = tl.zeros(2), torch.zeros(2)
    assert (str(x.device), x.is_cuda, x.is_cpu, x.get_device()) == (str(t.device), t.is_cuda, t.is_cpu, t.get_device())
    assert x.to(tl.device("cpu")) is x and x.to("cpu:0") is x and x.cpu() is x
    assert x.to(tl.device("cpu"), tl.float64).dtype == np.float64
    for move in (lambda: x.cuda(), lambda: x.cuda(1), lambda: x.to(tl.device("cuda")), lambda: x.to("mps")):
        with pytest.raises(ValueError, match="there is one device here, the CPU"):
            move()


LAYERS = {
    "Linear": (3, 4),
    "Embedding": (5, 3),
    "RNN": (3, 4),
    "LSTM": (3, 4),
    "GRU": (3, 4),
    "RNNCell": (3, 4),
    "LSTMCell": (3, 4),
    "GRUCell": (3, 4),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_takes_device_and_refuses_any_but_the_cpu(name):
    layer, args = getattr(tl.nn, name), LAYERS[name]
    assert {"device", "dtype"} <= set(inspect.signature(layer).parameters)
    tl.manual_seed(1)
    plain = layer(*args).state_dict()
    tl.manual_seed(1)
    placed = layer(*args, device=tl.device("cpu"), dtype=np.float64).to(tl.device("cpu"))
    # the same draws in the other dtype (drawn in float64, then rounded to the layer's)
    assert all(np.array_equal(plain[k], v.astype(np.float32)) for k, v in placed.state_dict().items())
    assert {v.dtype for v in placed.state_dict().values()} == {np.dtype(np.float64)}
    with pytest.raises(ValueError, match=rf"^{name}: there is one device here, the CPU; got device='cuda:0'"):
        layer(*args, device="cuda:0")
    assert np.array_equal(draws_after(lambda: layer(*args, device="cuda")), draws_after(lambda: None))


@needs_torch
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_device_sits_where_pytorch_puts_it(name):
    ours = list(inspect.signature(getattr(tl.nn, name)).parameters)
    theirs = list(inspect.signature(getattr(torch.nn, name)).parameters)
    if name in ("RNN", "LSTM", "GRU"):  # PyTorch's take *args, **kwargs; its docs give the order
        theirs = ["input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                  "bidirectional", "proj_size", "device", "dtype"]  # fmt: skip
        theirs = [p for p in theirs if p in ours]
    assert ours[: ours.index("dtype") + 1] == theirs[: theirs.index("dtype") + 1]


@needs_torch
def test_module_to_reads_its_arguments_as_pytorchs_does():
    model = tl.nn.Linear(2, 3)
    assert model.to(tl.device("cpu")) is model and model.weight.dtype == np.float32
    assert model.to("cpu", tl.float64).weight.dtype == np.float64
    assert model.to(tl.zeros(1, dtype=np.float32)).weight.dtype == np.float32
    assert model.to(device="cpu", dtype=tl.float64).weight.dtype == np.float64
    for bad, error in ((lambda: model.to("cuda"), ValueError), (lambda: model.to("cuda", tl.float32), ValueError),
                       (lambda: model.cuda(), ValueError), (lambda: model.to(tl.int64), TypeError)):  # fmt: skip
        with pytest.raises(error, match="Linear"):
            bad()
        assert model.weight.dtype == np.float64  # refused before anything changed
    with pytest.raises(TypeError):  # PyTorch refuses an integer dtype too
        torch.nn.Linear(2, 3).to(torch.int64)


@needs_torch
def test_tensor_type_reads_as_pytorchs():
    for dtype, torch_dtype in ((np.float32, torch.float32), (np.float64, torch.float64), (np.int64, torch.int64),
                               (np.bool_, torch.bool)):  # fmt: skip
        assert tl.zeros(2, dtype=dtype).type() == torch.zeros(2, dtype=torch_dtype).type()
    x = tl.tensor([1, 0, 2])
    assert x.type(tl.float).dtype == np.float32 and x.type("torch.DoubleTensor").dtype == np.float64


# ---- tl.utils.data ----------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("batch_size, drop_last", [(1, False), (3, False), (3, True), (4, True), (10, False),
                                                   (12, False), (12, True)])  # fmt: skip
def test_dataloader_batches_and_counts_are_pytorchs(batch_size, drop_last):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    y = np.arange(10) % 3
    ours = DataLoader(TensorDataset(tl.tensor(x), tl.tensor(y)), batch_size=batch_size, drop_last=drop_last)
    data = torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    theirs = torch.utils.data.DataLoader(data, batch_size=batch_size, drop_last=drop_last)
    assert len(ours) == len(theirs)
    got, want = list(ours), list(theirs)
    assert len(got) == len(want) == len(ours)
    for a, b in zip(got, want):
        assert isinstance(a, list) and len(a) == 2  # PyTorch's default collate gives a list of fields
        for u, v in zip(a, b):
            assert u.dtype == v.numpy().dtype and np.array_equal(u.numpy(), v.numpy())


Point = namedtuple("Point", "x y")


@needs_torch
@pytest.mark.parametrize(
    "samples",
    [
        [1.5, 2.0, -3.25],
        [1, 2, 3],
        [True, False],
        [np.float32(1.5), np.float32(2.5)],
        [np.arange(3), np.arange(3, 6)],
        [(1.0, 2), (3.0, 4)],
        [{"a": 1.0, "b": (1, 2)}, {"a": 2.0, "b": (3, 4)}],
        ["cat", "dog"],
    ],
    ids=["floats", "ints", "bools", "numpy-scalars", "arrays", "tuples", "dicts", "strings"],
)
def test_default_collate_is_pytorchs(samples):
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(samples)
    _compare_collated(ours, theirs)


@needs_torch
def test_default_collate_keeps_a_namedtuple_and_stacks_tensors():
    samples = [Point(tl.tensor([1.0, 2.0]), 3), Point(tl.tensor([4.0, 5.0]), 6)]
    twins = [Point(torch.tensor([1.0, 2.0]), 3), Point(torch.tensor([4.0, 5.0]), 6)]
    ours, theirs = default_collate(samples), torch.utils.data.default_collate(twins)
    assert type(ours) is Point
    _compare_collated(ours, theirs)
    with pytest.raises(ValueError, match=r"default_collate: cannot stack tensors of shapes \[\(2,\), \(3,\)\]"):
        default_collate([tl.zeros(2), tl.zeros(3)])
    with pytest.raises(ValueError, match="different lengths"):
        default_collate([(1, 2), (3,)])


def _compare_collated(ours, theirs) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, tl.Tensor)
        assert ours.dtype == theirs.numpy().dtype and np.array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for k in theirs:
            _compare_collated(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _compare_collated(a, b)
    else:
        assert ours == theirs


def test_shuffling_is_a_new_permutation_each_epoch_and_follows_the_seed():
    loader = DataLoader(list(range(8)), batch_size=3, shuffle=True)
    tl.manual_seed(5)
    first, second = ([int(v) for b in loader for v in b.tolist()] for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(8)) and first != second
    tl.manual_seed(5)
    assert [int(v) for b in loader for v in b.tolist()] == first
    # a generator of its own: the same order from the same seed, and the package's stream untouched
    g = tl.Generator().manual_seed(7)
    own = DataLoader(list(range(8)), batch_size=8, shuffle=True, generator=g)
    tl.manual_seed(0)
    order = next(iter(own)).tolist()
    assert np.array_equal(tl.randn(3).numpy(), draws_after(lambda: None)[:3])
    g.manual_seed(7)
    assert next(iter(own)).tolist() == order


def test_shuffling_puts_each_item_first_equally_often():
    # 6 items, 3,000 epochs: each comes first 1/6 of the time; chi-square with 5 degrees of freedom
    tl.manual_seed(11)
    loader = DataLoader(list(range(6)), batch_size=6, shuffle=True)
    counts = np.bincount([loader._indices()[0] for _ in range(3000)], minlength=6)
    chi2 = float(((counts - 500) ** 2 / 500).sum())
    assert chi2 < 20.5, counts  # the 0.999 quantile of chi-square(5)


@needs_torch
@pytest.mark.parametrize("n, lengths", [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.9]), (10, [3, 7]),
                                        (5, [0.2, 0.2, 0.2, 0.2, 0.2]), (13, [0.25, 0.25, 0.5])])  # fmt: skip
def test_random_split_sizes_are_pytorchs_and_the_subsets_partition_the_data(n, lengths):
    ours = random_split(list(range(n)), lengths, generator=tl.Generator().manual_seed(0))
    theirs = torch.utils.data.random_split(list(range(n)), lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in ours] == [len(s) for s in theirs]
    assert sorted(i for s in ours for i in s) == list(range(n))
    assert all(isinstance(s, Subset) for s in ours)


def test_random_split_refuses_lengths_that_do_not_fit():
    for lengths, match in (([3, 3], "add up to 6, not len"), ([0.5, 0.6], "neither counts nor fractions"),
                           ([-1, 11], "numbers >= 0"), ([2.5, 7.5], "neither counts nor fractions")):  # fmt: skip
        with pytest.raises(ValueError, match=rf"random_split: .*{match}"):
            random_split(list(range(10)), lengths)


@needs_torch
def test_a_loader_without_batching_and_with_a_sampler_reads_as_pytorchs():
    items = [(float(i), i) for i in range(5)]
    assert list(DataLoader(items, batch_size=None)) == list(torch.utils.data.DataLoader(items, batch_size=None))
    ours = DataLoader(items, batch_size=2, sampler=[4, 0, 2])
    theirs = torch.utils.data.DataLoader(items, batch_size=2, sampler=[4, 0, 2])
    assert len(ours) == len(theirs) == 2
    for a, b in zip(ours, theirs):
        _compare_collated(a, b)
    subset = Subset(items, [3, 1])
    assert len(subset) == 2 and subset[0] == items[3]


def test_the_loader_refuses_what_it_cannot_do_by_name():
    data = TensorDataset(tl.zeros(4, 2))
    for kwargs, match in (({"num_workers": 2}, "num_workers=2: there are no worker processes"),
                          ({"batch_size": 0}, "batch_size must be a positive int"),
                          ({"shuffle": True, "sampler": [0, 1]}, "sampler is exclusive with shuffle"),
                          ({"generator": 3}, "generator must be a tl.Generator")):  # fmt: skip
        with pytest.raises((ValueError, TypeError), match=rf"^DataLoader: {match}"):
            DataLoader(data, **kwargs)
    with pytest.raises(
        ValueError, match=r"TensorDataset: the tensors' first axes differ in size: shapes \[\(4, 2\), \(3,\)\]"
    ):  # noqa: E501
        TensorDataset(tl.zeros(4, 2), tl.zeros(3))
    with pytest.raises(TypeError, match="TensorDataset: tensor 0 must be a Tensor"):
        TensorDataset(np.zeros(3))


# ---- ParameterList, ParameterDict ----------------------------------------------------------------------


@needs_torch
def test_parameter_containers_register_as_pytorchs_and_load_its_state_dict():
    class Ours(tl.nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = tl.nn.ParameterList([tl.nn.Parameter(tl.ones(2)), tl.zeros(3)])
            self.heads = tl.nn.ParameterDict({"left": tl.zeros(2, 2), "right": tl.nn.Parameter(tl.ones(1))})
            self.scales.append(tl.ones(1))

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2)), torch.zeros(3)])
            self.heads = torch.nn.ParameterDict({"left": torch.zeros(2, 2), "right": torch.nn.Parameter(torch.ones(1))})
            self.scales.append(torch.ones(1))

    ours, theirs = Ours(), Theirs()
    state = {k: v.detach().numpy() * 0 + np.arange(v.numel()).reshape(v.shape) for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert all(p.requires_grad for p in ours.parameters()) and isinstance(ours.scales[1], tl.nn.Parameter)
    ours.load_state_dict(state)
    assert np.array_equal(ours.heads["left"].numpy(), state["heads.left"])
    assert len(ours.scales) == 3 and "left" in ours.heads and list(ours.heads.keys()) == ["left", "right"]
    assert [p.shape for p in ours.scales[1:]] == [(3,), (1,)]


def test_a_bad_parameter_is_refused_and_the_container_keeps_its_contents():
    params = tl.nn.ParameterList([tl.zeros(2)])
    with pytest.raises(TypeError, match="ParameterList: item 2 is a str"):
        params.extend([tl.ones(1), "w"])
    assert len(params) == 1
    with pytest.raises(TypeError, match="only float tensors"):
        params.append(tl.tensor([1, 2]))
    table = tl.nn.ParameterDict({"a": tl.zeros(1)})
    with pytest.raises(KeyError, match="without '.'"):
        table.update({"b": tl.ones(1), "c.d": tl.ones(1)})
    assert list(table) == ["a"]
    with pytest.raises(KeyError, match=r"ParameterDict: no parameter 'z'; keys are \['a'\]"):
        table["z"]


# ---- nn.init ------------------------------------------------------------------------------------------

GAINS = [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
         ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 0), ("selu", None)]  # fmt: skip


@needs_torch
@pytest.mark.parametrize("nonlinearity, param", GAINS)
def test_calculate_gain_is_pytorchs(nonlinearity, param):
    assert tl.nn.init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_refuses_what_it_does_not_know():
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        tl.nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="calculate_gain: negative_slope True"):
        tl.nn.init.calculate_gain("leaky_relu", True)


# (shape, a, mode, nonlinearity) and the standard deviation He et al. give: gain / sqrt(fan)
KAIMING = [((64, 200), 0.0, "fan_in", "leaky_relu", math.sqrt(2) / math.sqrt(200)),
           ((64, 200), 0.3, "fan_in", "leaky_relu", math.sqrt(2 / 1.09) / math.sqrt(200)),
           ((300, 40), 0.0, "fan_out", "relu", math.sqrt(2) / math.sqrt(300)),
           ((50, 10, 3, 3), 0.0, "fan_in", "tanh", 5 / 3 / math.sqrt(90)),
           ((50, 10, 3, 3), 0.0, "fan_out", "linear", 1 / math.sqrt(450))]  # fmt: skip


@pytest.mark.parametrize("shape, a, mode, nonlinearity, std", KAIMING)
def test_kaiming_draws_have_he_et_als_spread_and_bounds(shape, a, mode, nonlinearity, std):
    tl.manual_seed(0)
    w = tl.nn.init.kaiming_uniform_(tl.zeros(*shape, dtype=np.float64), a, mode, nonlinearity).numpy()
    bound = math.sqrt(3) * std
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound  # U(-bound, bound): fills it
    assert abs(w.std() / std - 1) < 0.03 and abs(w.mean()) < 4 * std / math.sqrt(w.size)
    v = tl.nn.init.kaiming_normal_(tl.zeros(*shape, dtype=np.float64), a, mode, nonlinearity).numpy()
    assert abs(v.std() / std - 1) < 0.03 and abs(v.mean()) < 4 * std / math.sqrt(v.size)
    assert abs(((v / std) ** 4).mean() - 3) < 0.3  # a normal's kurtosis, not a uniform's (1.8)


@needs_torch
@pytest.mark.parametrize("shape, a, mode, nonlinearity, std", KAIMING)
def test_kaiming_spread_is_pytorchs(shape, a, mode, nonlinearity, std):
    torch.manual_seed(0)
    theirs = torch.nn.init.kaiming_uniform_(torch.zeros(shape, dtype=torch.float64), a, mode, nonlinearity)
    assert theirs.abs().max().item() <= math.sqrt(3) * std and abs(theirs.std().item() / std - 1) < 0.03


def test_xavier_and_truncated_normal_draws_follow_their_formulas():
    tl.manual_seed(1)
    w = tl.nn.init.xavier_normal_(tl.zeros(300, 100, dtype=np.float64), gain=2.0).numpy()
    assert abs(w.std() / (2.0 * math.sqrt(2 / 400)) - 1) < 0.03
    mean, std, a, b = 0.5, 2.0, -1.0, 3.0
    t = tl.nn.init.trunc_normal_(tl.zeros(40000, dtype=np.float64), mean, std, a, b).numpy()
    assert t.min() >= a and t.max() <= b and t.min() < a + 0.01 and t.max() > b - 0.01
    # the truncated normal's mean and variance, from the standard normal's pdf phi and cdf Phi
    alpha, beta = (a - mean) / std, (b - mean) / std
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mass = (math.erf(beta / math.sqrt(2)) - math.erf(alpha / math.sqrt(2))) / 2
    want_mean = mean + std * (phi(alpha) - phi(beta)) / mass
    want_var = std**2 * (1 + (alpha * phi(alpha) - beta * phi(beta)) / mass - ((phi(alpha) - phi(beta)) / mass) ** 2)
    assert abs(t.mean() - want_mean) < 4 * math.sqrt(want_var / t.size)
    assert abs(t.var() / want_var - 1) < 0.03
    with pytest.raises(ValueError, match=r"trunc_normal_: \[a, b\] = \[10.0, 11.0\] holds"):
        tl.nn.init.trunc_normal_(tl.zeros(3), 0.0, 1.0, 10.0, 11.0)


@needs_torch
def test_the_deterministic_initialisers_are_pytorchs():
    for shape in ((3, 5), (4, 2)):
        assert np.array_equal(tl.nn.init.eye_(tl.zeros(*shape)).numpy(), torch.nn.init.eye_(torch.zeros(shape)).numpy())
    assert np.array_equal(tl.nn.init.ones_(tl.zeros(2, 3)).numpy(), torch.nn.init.ones_(torch.zeros(2, 3)).numpy())
    w = tl.nn.init.uniform_(tl.zeros(1000), -0.5, 0.25).numpy()
    assert w.min() >= -0.5 and w.max() < 0.25 and w.min() < -0.49 and w.max() > 0.24
    with pytest.raises(ValueError, match=r"eye_: only 2-D tensors are supported, got shape \(2, 2, 2\)"):
        tl.nn.init.eye_(tl.zeros(2, 2, 2))
    with pytest.raises(ValueError, match="kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        tl.nn.init.kaiming_normal_(tl.zeros(2, 2), mode="fan_avg")
    g = tl.Generator().manual_seed(3)
    first = tl.nn.init.normal_(tl.zeros(3), generator=g).numpy()
    assert np.array_equal(tl.nn.init.normal_(tl.zeros(3), generator=g.manual_seed(3)).numpy(), first)


# ---- parameters as one vector ---------------------------------------------------------------------------


@needs_torch
def test_parameters_to_vector_and_back_are_pytorchs_with_gradients():
    tl.manual_seed(0)
    ours = tl.nn.Sequential(tl.nn.Linear(3, 4, dtype=np.float64), tl.nn.Tanh(), tl.nn.Linear(4, 2, dtype=np.float64))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    theirs.load_state_dict({k: torch.tensor(v) for k, v in ours.state_dict().items()})
    vec = tl.nn.utils.parameters_to_vector(ours.parameters())
    tvec = torch.nn.utils.parameters_to_vector(theirs.parameters())
    assert np.array_equal(vec.numpy(), tvec.detach().numpy())
    (vec**2 * tl.arange(vec.shape[0])).sum().backward()
    (tvec**2 * torch.arange(tvec.shape[0])).sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=0)
    new = np.linspace(-1, 1, vec.shape[0])
    tl.nn.utils.vector_to_parameters(tl.tensor(new), ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new), theirs.parameters())
    for (k, v), (_, w) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert np.array_equal(v, w.numpy()), k
    before = {k: v.copy() for k, v in ours.state_dict().items()}
    with pytest.raises(ValueError, match=r"vector_to_parameters: vec of shape \(5,\) does not hold the 26 numbers"):
        tl.nn.utils.vector_to_parameters(tl.zeros(5), ours.parameters())
    assert all(np.array_equal(before[k], v) for k, v in ours.state_dict().items())


# ---- Embedding ------------------------------------------------------------------------------------------


@needs_torch
@pytest.mark.parametrize("padding_idx", [None, 1])
@pytest.mark.parametrize("functional", [False, True], ids=["module", "functional"])
def test_scale_grad_by_freq_gives_pytorchs_gradient(padding_idx, functional):
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((6, 4))
    idx = np.array([[0, 1, 1, 5], [1, 3, 0, 1], [2, 2, 2, 1]])
    g = rng.standard_normal((3, 4, 4))
    emb = tl.nn.Embedding.from_pretrained(tl.tensor(weight), freeze=False, padding_idx=padding_idx,
                                          scale_grad_by_freq=True)  # fmt: skip
    temb = torch.nn.Embedding.from_pretrained(torch.tensor(weight), freeze=False, padding_idx=padding_idx,
                                              scale_grad_by_freq=True)  # fmt: skip
    if functional:
        out = tl.nn.functional.embedding(idx, emb.weight, padding_idx, scale_grad_by_freq=True)
        tout = torch.nn.functional.embedding(torch.tensor(idx), temb.weight, padding_idx, scale_grad_by_freq=True)
    else:
        out, tout = emb(tl.tensor(idx)), temb(torch.tensor(idx))
    assert np.array_equal(out.numpy(), weight[idx])  # the forward is the plain lookup, to the bit
    out.backward(tl.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(emb.weight.grad.numpy(), temb.weight.grad.numpy(), rtol=0, atol=1e-12)
    # and the claim itself: row 1 occurs 5 times, so it gets the mean of its 5 gradients
    if padding_idx is None:
        np.testing.assert_allclose(emb.weight.grad.numpy()[1], g[idx == 1].mean(axis=0), atol=1e-12)


@needs_torch
def test_embedding_takes_pytorchs_keywords_and_refuses_sparse_gradients():
    emb = tl.nn.Embedding(5, 3, sparse=False, device="cpu")
    assert emb.weight.shape == (5, 3) and not emb.scale_grad_by_freq
    for make in (lambda: tl.nn.Embedding(5, 3, sparse=True),
                 lambda: tl.nn.Embedding.from_pretrained(tl.zeros(5, 3), sparse=True),
                 lambda: tl.nn.functional.embedding([0], tl.zeros(5, 3), sparse=True)):  # fmt: skip
        with pytest.raises(ValueError, match=r"^(Embedding|embedding): sparse=True \(a sparse gradient\) is not"):
            make()
    ours = list(inspect.signature(tl.nn.Embedding.from_pretrained).parameters)
    theirs = list(inspect.signature(torch.nn.Embedding.from_pretrained).parameters)
    assert ours == theirs[1:] if theirs[0] == "cls" else ours == theirs
    weight = np.arange(6.0).reshape(3, 2)
    frozen = tl.nn.Embedding.from_pretrained(tl.tensor(weight), padding_idx=0)
    tfrozen = torch.nn.Embedding.from_pretrained(torch.tensor(weight), padding_idx=0)
    assert frozen.weight.requires_grad == tfrozen.weight.requires_grad == False  # noqa: E712
    assert np.array_equal(frozen(tl.tensor([0, 2])).numpy(), tfrozen(torch.tensor([0, 2])).numpy())
    with pytest.raises(ValueError, match=r"Embedding: _weight must be a float array of shape \(4, 2\), got float64"):
        tl.nn.Embedding(4, 2, _weight=tl.tensor(weight))


# ---- the official quickstart, with tl for torch -------------------------------------------------------

QUICKSTART = """
import tinygrad_lstm as tl
from tinygrad_lstm import nn
from tinygrad_lstm.utils.data import DataLoader, TensorDataset

device = tl.device("cuda" if tl.cuda.is_available() else "cpu")
print(f"Using {device} device")
tl.manual_seed(0)

# three classes of points in the plane: which quadrant pair a point falls in
X = tl.randn(640, 2)
y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
train_data = TensorDataset(X[:512], y[:512])
test_data = TensorDataset(X[512:], y[512:])
train_dataloader = DataLoader(train_data, batch_size=32, shuffle=True)
test_dataloader = DataLoader(test_data, batch_size=64)


class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(2, 32, device=device), nn.ReLU(), nn.Linear(32, 3, device=device)
        )

    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits


model = NeuralNetwork().to(device)
loss_fn = nn.CrossEntropyLoss()
optimizer = tl.optim.SGD(model.parameters(), lr=0.1)


def train(dataloader, model, loss_fn, optimizer):
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with tl.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(tl.float).sum().item()
    test_loss /= num_batches
    correct /= size
    return test_loss, correct


before, _ = test(test_dataloader, model, loss_fn)
for t in range(10):
    train(train_dataloader, model, loss_fn, optimizer)
after, accuracy = test(test_dataloader, model, loss_fn)
print(f"test loss {before:.3f} -> {after:.3f}, accuracy {accuracy:.0%}")
assert after < 0.5 * before and accuracy > 0.75, (before, after, accuracy)
"""


def _run(script: str, capsys) -> dict:
    namespace: dict = {"__name__": "quickstart"}
    exec(compile(script, "quickstart.py", "exec"), namespace)  # the script under test
    assert "Using cpu device" in capsys.readouterr().out
    return namespace


def test_the_quickstart_runs_with_tl_for_torch_and_learns(capsys):
    done = _run(QUICKSTART, capsys)
    assert done["after"] < 0.5 * done["before"] and done["accuracy"] > 0.75


@needs_torch
def test_the_quickstart_is_pytorch_code_with_only_the_name_changed(capsys):
    script = QUICKSTART.replace("import tinygrad_lstm as tl", "import torch as tl").replace("tinygrad_lstm", "torch")
    assert script.count("torch") == 3  # the three imports: nothing else was changed
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny products: PyTorch's thread pool only waits on the busy cores
    try:
        done = _run(script, capsys)
    finally:
        torch.set_num_threads(threads)
    assert done["after"] < 0.5 * done["before"] and done["accuracy"] > 0.75


def test_every_layer_that_takes_dtype_takes_device_and_refuses_another_by_its_own_name():
    """Generated over tl.nn: a layer PyTorch builds with ``device=`` (every one that takes ``dtype=``) takes
    it here too, and a device other than the CPU is refused naming the layer (Conv2d, not its base class)."""
    checked = 0
    for name in dir(tl.nn):
        cls = getattr(tl.nn, name)
        if not (inspect.isclass(cls) and issubclass(cls, tl.nn.Module)):
            continue
        params = inspect.signature(cls.__init__).parameters
        if "dtype" not in params:
            continue
        assert "device" in params, f"{name} takes dtype= but not device="
        required = [p for p in list(params.values())[1:] if p.default is inspect.Parameter.empty
                    and p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]  # fmt: skip
        args = {"normalized_shape": 4, "num_groups": 2, "num_channels": 4, "kernel_size": 3}
        values = [args.get(p.name, 4) for p in required]
        with pytest.raises(ValueError, match=rf"^{name}: there is one device here"):
            cls(*values, device="cuda")
        cls(*values, device=tl.device("cpu"))
        checked += 1
    assert checked >= 20


def test_the_tutorials_device_line_runs():
    """PyTorch's tutorials open with ``torch.accelerator.current_accelerator().type if
    torch.accelerator.is_available() else "cpu"``; on a CPU-only machine PyTorch answers as here."""
    device = tl.accelerator.current_accelerator().type if tl.accelerator.is_available() else "cpu"
    assert device == "cpu" and tl.accelerator.device_count() == 0
    assert tl.accelerator.current_accelerator(check_available=True) is None
    with pytest.raises(RuntimeError, match="accelerator.current_device_index: there is no accelerator"):
        tl.accelerator.current_device_index()
    tl.accelerator.synchronize()
    assert tl.zeros(2).to(device).device == tl.device("cpu")


def test_out_argument_as_in_pytorchs_tensors_tutorial():
    """``torch.matmul(tensor, tensor.T, out=y3)`` and ``torch.mul(tensor, tensor, out=z3)``."""
    tensor = tl.ones(4, 4)
    tensor[:, 1] = 0
    y3 = tl.rand_like(tensor)
    assert tl.matmul(tensor, tensor.T, out=y3) is y3
    np.testing.assert_array_equal(y3.numpy(), tensor.numpy() @ tensor.numpy().T)
    z3 = tl.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty out is resized without a word, as in PyTorch
        tl.mul(tensor, tensor, out=z3)
    np.testing.assert_array_equal(z3.numpy(), tensor.numpy() ** 2)
    small = tl.zeros(2)
    with pytest.warns(UserWarning, match=r"add: out= of shape \(2,\) was resized to \(4, 4\)"):
        tl.add(tensor, 1, out=small)
    assert small.shape == (4, 4) and small[0, 0].item() == 2.0
    ints = tl.zeros(4, 4, dtype=np.int64)
    with pytest.raises(TypeError, match="mul: the result's dtype float32 can't be cast to out's dtype int64"):
        tl.mul(tensor, tensor, out=ints)
    assert ints.sum().item() == 0


def test_out_argument_is_not_differentiated_as_in_pytorch():
    w = tl.ones(3, requires_grad=True)
    out = tl.zeros(3)
    with pytest.raises(RuntimeError, match=r"exp\(\): functions with out=\.\.\. arguments don't support automatic"):
        tl.exp(w, out=out)
    assert out.sum().item() == 0  # refused before anything changed
    with tl.no_grad():
        tl.exp(w, out=out)
    np.testing.assert_allclose(out.numpy(), np.e)
    assert not out.requires_grad
    y = (w * out).sum()  # mul saved out: writing into it again is seen by backward
    with tl.no_grad():
        tl.sin(w, out=out)
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()
