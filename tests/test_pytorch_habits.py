"""A PyTorch user's habits: the same lines run with ``torch`` replaced by ``tinygrad_lstm`` and give
PyTorch's numbers (float64)."""

import warnings
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.nn.utils import rnn as tl_rnn

from .helpers import close

torch = pytest.importorskip("torch")


# ---- the whole script ------------------------------------------------------------------------------


def train(lib, weights, x, lengths, y):
    """An LSTM classifier as a PyTorch user writes it; ``lib`` is torch or tinygrad_lstm."""
    nn = lib.nn
    pack, unpack = nn.utils.rnn.pack_padded_sequence, nn.utils.rnn.pad_packed_sequence

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 5, num_layers=2, batch_first=True)
            self.head = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 4))

        def forward(self, x, lengths):
            packed = pack(x, lengths, batch_first=True, enforce_sorted=False)
            out, (h_n, c_n) = self.lstm(packed)
            padded, _ = unpack(out, batch_first=True)
            return self.head(h_n[-1]), padded

    model = Classifier().double()
    model.load_state_dict(weights)
    opt = lib.optim.Adam(model.parameters(), lr=0.05)
    sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    x, y = lib.tensor(x), lib.tensor(y)
    losses = []
    for _ in range(6):
        opt.zero_grad()
        logits, padded = model(x, lengths)
        loss = loss_fn(logits, y) + 0.01 * padded.pow(2).sum()
        loss.backward()
        opt.step()
        sched.step()
        with lib.no_grad():  # a manual SGD step on the head, in place
            for p in model.head.parameters():
                p -= 0.01 * p.grad
        losses.append(loss.item())
    return losses, {k: np.asarray(v) for k, v in model.state_dict().items()}


def test_a_pytorch_training_script_runs_unchanged_and_gives_pytorchs_numbers():
    torch.manual_seed(0)
    reference = torch.nn.Module()
    reference.lstm = torch.nn.LSTM(3, 5, num_layers=2, batch_first=True)
    reference.head = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 4))
    weights = {k: v.double().numpy() for k, v in reference.state_dict().items()}
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6, 3))
    lengths = [4, 6, 2, 5]  # unsorted: the layer sorts, and h_n comes back in this order
    y = np.array([0, 3, 1, 2])

    theirs, their_state = train(torch, {k: torch.tensor(v) for k, v in weights.items()}, x, lengths, y)
    mine, my_state = train(tl, weights, x, lengths, y)
    np.testing.assert_allclose(mine, theirs, rtol=1e-9, atol=1e-12)
    assert theirs[-1] < theirs[0]  # it learns
    assert list(my_state) == list(their_state)  # Sequential numbers its layers as PyTorch does
    for key in their_state:
        np.testing.assert_allclose(my_state[key], their_state[key], rtol=1e-9, atol=1e-12, err_msg=key)


# ---- packing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 4]])
def test_pack_and_pad_equal_pytorchs(batch_first, lengths):
    rng = np.random.default_rng(0)
    shape = (4, 5, 2) if batch_first else (5, 4, 2)
    x = rng.standard_normal(shape)
    sorted_ = lengths == sorted(lengths, reverse=True)
    mine = tl_rnn.pack_padded_sequence(tl.tensor(x), lengths, batch_first, enforce_sorted=sorted_)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), lengths, batch_first, enforce_sorted=sorted_)
    close(mine.data, theirs.data)
    close(mine.batch_sizes, theirs.batch_sizes)
    for a, b in ((mine.sorted_indices, theirs.sorted_indices), (mine.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None) == (b is None) and (a is None or a.tolist() == b.tolist())
    for total in (None, 7):
        padded, lens = tl_rnn.pad_packed_sequence(mine, batch_first, padding_value=-1.0, total_length=total)
        ref, ref_lens = torch.nn.utils.rnn.pad_packed_sequence(theirs, batch_first, -1.0, total)
        close(padded, ref)
        assert lens.tolist() == ref_lens.tolist()
    with pytest.raises(ValueError, match="not sorted longest first"):
        tl_rnn.pack_padded_sequence(tl.tensor(x), [1, 2, 3, 4], batch_first)


def test_pad_sequence_and_pack_sequence_equal_pytorchs():
    rng = np.random.default_rng(2)
    seqs = [rng.standard_normal((n, 3)) for n in (2, 5, 3)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            close(
                tl_rnn.pad_sequence([tl.tensor(s) for s in seqs], batch_first, 9.0, side),
                torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 9.0, side),
            )
    mine = tl_rnn.pack_sequence([tl.tensor(s) for s in seqs], enforce_sorted=False)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    close(mine.data, theirs.data)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_take_and_return_packed_sequences_as_pytorch_does(kind):
    torch.manual_seed(3)
    ref = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True).double()
    layer = getattr(tl.nn, kind)(3, 4, num_layers=2, bidirectional=True, dtype=np.float64)
    layer.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(4)
    x = rng.standard_normal((6, 3, 3))
    lengths = [3, 6, 4]
    xt, xm = torch.tensor(x, requires_grad=True), tl.tensor(x, requires_grad=True)
    out_t, h_t = ref(torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, enforce_sorted=False))
    out_m, h_m = layer(tl_rnn.pack_padded_sequence(xm, lengths, enforce_sorted=False))
    assert isinstance(out_m, tl_rnn.PackedSequence)
    close(out_m.data, out_t.data)
    close(out_m.batch_sizes, out_t.batch_sizes)
    for a, b in zip(h_m if kind == "LSTM" else (h_m,), h_t if kind == "LSTM" else (h_t,)):
        close(a, b)
    # gradients through packing, the layer and unpacking, to the padded input and the weights
    pad_t, _ = torch.nn.utils.rnn.pad_packed_sequence(out_t)
    pad_m, _ = tl_rnn.pad_packed_sequence(out_m)
    w = rng.standard_normal(pad_t.shape)
    (pad_t * torch.tensor(w)).sum().backward()
    (pad_m * w).sum().backward()
    close(xm.grad, xt.grad)
    for name, p in ref.named_parameters():
        close(layer.get_parameter(name).grad, p.grad)


# ---- Tensor spellings --------------------------------------------------------------------------------

CALLS = [
    lambda t: t.sum(dim=1),
    lambda t: t.sum(dim=(0, 2), keepdim=True),
    lambda t: t.mean(dim=-1),
    lambda t: t.max(dim=1).values,
    lambda t: t.min(dim=0, keepdim=True).values,
    lambda t: t.var(dim=1),
    lambda t: t.var(dim=1, correction=0),
    lambda t: t.std(),
    lambda t: t.norm(),
    lambda t: t.norm(p=1, dim=2),
    lambda t: t.softmax(dim=1),
    lambda t: t.log_softmax(dim=0),
    lambda t: t.logsumexp(dim=2),
    lambda t: t.view(6, 4),
    lambda t: t.flatten(),
    lambda t: t.flatten(1),
    lambda t: t.unsqueeze(1),
    lambda t: t.permute(2, 0, 1),
    lambda t: t.transpose(0, 2),
    lambda t: t.squeeze(dim=0) if t.shape[0] == 1 else t.squeeze(),
    lambda t: t.clone() * 2,
    lambda t: t.clamp(min=-0.5, max=0.5),
    lambda t: t[0].t(),
]


@pytest.mark.parametrize("k", range(len(CALLS)))
def test_tensor_methods_spelled_as_in_pytorch_give_pytorchs_values_and_gradients(k):
    rng = np.random.default_rng(k)
    x = rng.standard_normal((2, 3, 4))
    mine, theirs = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_m, out_t = CALLS[k](mine), CALLS[k](theirs)
    close(out_m, out_t)
    w = rng.standard_normal(out_t.shape)
    (out_m * w).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    close(mine.grad, theirs.grad)


def test_shape_queries_conversions_and_numpy_interop():
    x = tl.tensor(np.arange(6.0).reshape(2, 3))
    assert x.size == 6 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3  # NumPy's and PyTorch's
    assert x.dim() == 2 and x.numel() == 6 and x.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x.argmax().item() == 5 and x.argmax(dim=1).tolist() == [2, 2] and x.argmin(dim=0).tolist() == [0, 0, 0]
    values, indices = x.max(dim=1)
    assert values.tolist() == [2, 5] and indices.tolist() == [2, 2]
    assert x.float().dtype == tl.float32 and x.double().dtype == tl.float64 and x.to(tl.float32).dtype == np.float32
    assert np.asarray(x).shape == (2, 3) and np.asarray(x, dtype=np.int64).dtype == np.int64
    assert isinstance(np.sum(x), tl.Tensor) and np.sum(x).item() == 15 and np.mean(x).item() == 2.5
    assert np.max(x).item() == 5
    with pytest.raises(TypeError, match="out= is not supported"):
        np.sum(x, out=np.empty(()))
    with pytest.raises(TypeError, match="axis= .* or dim="):
        x.sum(axis=0, dim=1)
    w = tl.ones(2, requires_grad=True)
    y = (w * 3).sum()
    assert w.grad_fn is None and y.grad_fn.op == "sum" and y.grad_fn.parents[0].op == "mul"
    z = tl.zeros(3, requires_grad=True)
    z.norm().backward()
    assert z.grad.tolist() == [0, 0, 0]  # PyTorch's subgradient at 0, not NaN
    shared = np.zeros(3)
    tl.from_numpy(shared).data[0] = 1.0
    assert shared[0] == 1.0  # from_numpy shares memory, as torch.from_numpy does
    assert tl.eye(2).tolist() == [[1, 0], [0, 1]] and tl.linspace(0, 1, 3).tolist() == [0, 0.5, 1]


def _sgd_by_hand(lib, compiled: bool):
    """The oldest PyTorch training loop: ``p.data -= lr * p.grad`` (micrograd's, with tensors)."""
    gen = np.random.default_rng(4)
    w = lib.tensor(gen.standard_normal((3, 2)), requires_grad=True)
    b = lib.tensor(gen.standard_normal(2), requires_grad=True)
    x, y = lib.tensor(gen.standard_normal((5, 3))), lib.tensor(gen.standard_normal((5, 2)))

    def loss_fn(x, y):
        return ((x @ w + b).tanh() - y).pow(2).mean()

    step = tl.compile(loss_fn) if compiled else loss_fn
    losses = []
    for _ in range(5):
        loss = step(x, y)
        loss.backward()
        for p in (w, b):
            p.data -= 0.5 * p.grad
            p.grad = None
        losses.append(loss.item())
    return losses, np.array(w.detach().numpy() if lib is torch else w.data)


@pytest.mark.parametrize("compiled", [False, True])
def test_p_data_minus_lr_times_grad_trains_as_in_pytorch(compiled):
    (theirs, theirs_w), (ours, ours_w) = _sgd_by_hand(torch, False), _sgd_by_hand(tl, compiled)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "@", "<", "<=", ">", ">=", "==", "!="])
def test_an_array_on_the_left_of_a_tensor_is_the_tensors_reflected_operator(op, dtype):
    """A float64 array meets the tensor as PyTorch's float64 tensor would: one operation in the wider
    dtype (``array / t`` was 1/t rounded to float32, then a product: 2.0000000596 for 3 / 1.5)."""
    a = np.array([0.5, 2.0, 3.0])
    f = eval(f"lambda a, t: a {op} t")  # noqa: S307  (the operator under test, spelled as a user would)
    t = tl.tensor(np.array([3.0, 2.0, 1.5], dtype=dtype), requires_grad=True)
    tt = torch.tensor(np.array([3.0, 2.0, 1.5], dtype=dtype), requires_grad=True)
    ours = f(a, t)
    if op == "@" and dtype == "float32":  # PyTorch refuses a product of two dtypes; NumPy's promotion here
        np.testing.assert_array_equal(ours.data, a @ t.data.astype(np.float64))
        return
    theirs = f(torch.tensor(a), tt)
    assert isinstance(ours, tl.Tensor) and ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", ""))
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    if theirs.requires_grad:
        ours.sum().backward()
        theirs.sum().backward()
        assert t.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(t.grad.data, tt.grad.numpy(), rtol=1e-15 if dtype == "float64" else 1e-7)
    else:
        assert not ours.requires_grad


def test_numpy_functions_of_a_tensor_are_refused_with_the_tensors_own_spelling():
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=r"np.exp: NumPy's functions do not record .* use x.exp\(\)"):
        np.exp(x)
    with pytest.raises(TypeError, match=r"np.spacing: .* np.asarray\(x\)"):
        np.spacing(x)
    plain = np.ones(2)
    plain += x  # numbers into a plain array: nothing recorded, x unchanged
    assert plain.tolist() == [2.0, 3.0] and x.tolist() == [1.0, 2.0] and x.grad is None


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda t: t.split(2, dim=1), lambda t: t.split(2, dim=1)),
        (lambda t: t.split([1, 4], dim=1), lambda t: t.split([1, 4], dim=1)),
        (lambda t: t.chunk(2, dim=1), lambda t: t.chunk(2, dim=1)),
        (lambda t: tl.split(t, 2, dim=1), lambda t: torch.split(t, 2, dim=1)),  # dim=: PyTorch's meaning
    ],
)
def test_split_and_chunk_with_pytorchs_meaning(ours, theirs):
    data = np.arange(15.0).reshape(3, 5)
    mine, ref = ours(tl.tensor(data)), theirs(torch.tensor(data))
    assert [p.tolist() for p in mine] == [p.tolist() for p in ref]


def test_split_with_axis_keeps_numpys_meaning():
    pieces = tl.split(tl.tensor(np.arange(6.0)), 3, axis=0)  # three equal sections, as np.split
    assert [p.tolist() for p in pieces] == [a.tolist() for a in np.split(np.arange(6.0), 3)]
    with pytest.raises(TypeError, match="not both"):
        tl.split(tl.tensor(np.arange(6.0)), 3, axis=0, dim=0)


def test_grad_modes_as_pytorch_spells_them():
    w = tl.ones(2, requires_grad=True)

    @tl.no_grad
    def bare(v):
        return v * 2

    @tl.inference_mode()
    def called(v):
        return v * 2

    assert bare(w).grad_fn is None and called(w).grad_fn is None
    with tl.set_grad_enabled(False):
        assert (w * 2).grad_fn is None
    assert (w * 2).grad_fn is not None
    tl.set_grad_enabled(False)
    try:
        assert not tl.is_grad_enabled()
    finally:
        tl.set_grad_enabled(True)
    assert tl.is_grad_enabled()


# ---- nn ----------------------------------------------------------------------------------------------


def test_containers_name_their_modules_as_pytorch_does():
    torch.manual_seed(0)
    ref = torch.nn.Sequential(
        OrderedDict(
            rnn=torch.nn.GRU(2, 3),
            heads=torch.nn.ModuleList([torch.nn.Linear(3, 1), torch.nn.Linear(3, 2)]),
            extra=torch.nn.ModuleDict({"a": torch.nn.Linear(1, 1)}),
        )
    )
    mine = tl.nn.Sequential(
        OrderedDict(
            rnn=tl.nn.GRU(2, 3),
            heads=tl.nn.ModuleList([tl.nn.Linear(3, 1), tl.nn.Linear(3, 2)]),
            extra=tl.nn.ModuleDict({"a": tl.nn.Linear(1, 1)}),
        )
    )
    assert list(mine.state_dict()) == list(ref.state_dict())
    mine.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    assert mine.get_parameter("heads.1.weight").shape == (2, 3)
    assert len(mine.heads) == 2 and isinstance(mine.heads[-1], tl.nn.Linear) and "a" in mine.extra
    head = mine[1:]  # a slice of a Sequential is a Sequential, as in PyTorch
    assert isinstance(head, tl.nn.Sequential)
    assert [n for n, _ in head.named_children()] == [n for n, _ in ref[1:].named_children()]
    assert isinstance(mine.heads[:1], tl.nn.ModuleList)
    seen = []
    mine.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Sequential" and seen.count("Linear") == 3
    with pytest.raises(TypeError, match="not a tl.nn.Module"):
        tl.nn.ModuleList([torch.nn.Linear(1, 1)])


@pytest.mark.parametrize(
    "name, make_target",
    [
        ("MSELoss", lambda rng: rng.standard_normal((4, 3))),
        ("CrossEntropyLoss", lambda rng: rng.integers(0, 3, 4)),
        ("CrossEntropyLoss", lambda rng: rng.dirichlet(np.ones(3), 4)),  # class probabilities
        ("NLLLoss", lambda rng: rng.integers(0, 3, 4)),
        ("BCEWithLogitsLoss", lambda rng: rng.integers(0, 2, (4, 3)).astype(float)),
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_modules_equal_pytorchs(name, make_target, reduction):
    rng = np.random.default_rng(5)
    x, target = rng.standard_normal((4, 3)), make_target(rng)
    kwargs = {"reduction": reduction}
    if name == "CrossEntropyLoss":
        kwargs.update(label_smoothing=0.1, weight=np.array([0.5, 1.0, 2.0]))
    mine_in, theirs_in = tl.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    theirs_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    out_m = getattr(tl.nn, name)(**kwargs)(mine_in, target)
    out_t = getattr(torch.nn, name)(**theirs_kwargs)(theirs_in, torch.tensor(target))
    close(out_m, out_t)
    out_m.sum().backward()
    out_t.sum().backward()
    close(mine_in.grad, theirs_in.grad)


def test_module_dtype_conversions():
    layer = tl.nn.LSTM(2, 3)
    assert layer.double() is layer and layer.weight_hh_l0.dtype == np.float64
    out, _ = layer(tl.zeros(4, 1, 2, dtype=tl.float64))  # the layer checks inputs against its new dtype
    assert out.dtype == np.float64
    assert layer.to(tl.float32).weight_ih_l0.dtype == np.float32 and layer.to("cpu") is layer


@pytest.mark.parametrize("op", ["max", "min"])
def test_max_with_an_axis_means_pytorchs_pair_when_asked_and_warns_when_ambiguous(op):
    data = np.array([[0.5, 3.0, -1.0], [2.0, 2.0, 7.0]])
    x, t = tl.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    for keep in (False, True):  # keepdim= is PyTorch's keyword: PyTorch's (values, indices)
        ours, theirs = getattr(x, op)(1, keepdim=keep), getattr(t, op)(1, keepdim=keep)
        np.testing.assert_array_equal(ours[0].data, theirs[0].detach().numpy())
        np.testing.assert_array_equal(ours[1].data, theirs[1].numpy())
    with pytest.warns(UserWarning, match=rf"x.{op}\(1\) is NumPy's {op} over axis 1 .* x.{op}\(dim=1\)"):
        values = getattr(x, op)(1)  # the contract's NumPy meaning, said out loud
    np.testing.assert_array_equal(values.data, getattr(data, op)(axis=1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's spellings and PyTorch's dim= are unambiguous
        getattr(x, op)(axis=1), getattr(x, op)(1, True), getattr(x, op)(dim=1), getattr(x, op)()
    with pytest.raises(TypeError, match=f"{op}: the axis is given twice"):
        getattr(x, op)(1, axis=0)


@pytest.mark.parametrize("shape", [(), (4,), (2, 4), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "softmin", "log_softmax"])
def test_the_softmax_family_without_dim_picks_pytorchs_axis_and_warns(name, shape):
    # PyTorch's old implicit choice: axis 0 of a 0-, 1- or 3-D input, else axis 1 (the last axis, the
    # Tensor methods' default, gave other numbers in 3-D and 4-D, silently)
    x = np.random.default_rng(len(shape)).standard_normal(shape)
    module = {"softmax": "Softmax", "softmin": "Softmin", "log_softmax": "LogSoftmax"}[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(torch.nn.functional, name)(torch.tensor(x)).numpy()
        their_module = getattr(torch.nn, module)()(torch.tensor(x)).numpy()
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated"):
        ours = getattr(tl.nn.functional, name)(tl.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        our_module = getattr(tl.nn, module)()(tl.tensor(x))
    np.testing.assert_allclose(ours.data, theirs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(our_module.data, their_module, rtol=1e-12, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit dim says nothing
        getattr(tl.nn.functional, name)(tl.tensor(x), dim=-1 if shape else 0)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "multi_margin_loss"])
def test_a_class_weight_that_requires_grad_is_refused_as_pytorch_refuses_it(name):
    # it entered as numbers and silently got no gradient; PyTorch refuses it at the call
    x, t, w = np.random.default_rng(1).standard_normal((4, 3)), np.array([0, 2, 1, 2]), np.array([0.5, 1.0, 2.0])
    ours, theirs = getattr(tl.nn.functional, name), getattr(torch.nn.functional, name)
    with pytest.raises(RuntimeError, match="not differentiable with respect to .*weight"):
        theirs(torch.tensor(x, requires_grad=True), torch.tensor(t), weight=torch.tensor(w, requires_grad=True))
    x_ours = tl.tensor(x, requires_grad=True)
    with tl.Tape() as tape, pytest.raises(RuntimeError, match=f"{name}: not differentiable with respect to weight"):
        ours(x_ours, tl.tensor(t), weight=tl.tensor(w, requires_grad=True))
    assert not tape.entries  # refused before anything was recorded
    with tl.no_grad(), torch.no_grad():  # no gradient asked for: both compute
        value = ours(tl.tensor(x), tl.tensor(t), weight=tl.tensor(w, requires_grad=True))
        expected = theirs(torch.tensor(x), torch.tensor(t), weight=torch.tensor(w, requires_grad=True))
    np.testing.assert_allclose(value.data, expected.numpy(), rtol=1e-12)
    assert x_ours.grad is None
