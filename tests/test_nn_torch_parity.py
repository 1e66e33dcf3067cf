"""Layers, cells, losses, clipping and optimizers against PyTorch in float64, to 1e-9.

PyTorch's own state_dict, converted to NumPy, is loaded as it is: same names, same layouts.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lstm as tl

from .helpers import close

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _pytorch_in_float64():
    """PyTorch's default dtype float64 for this file's tests only (set at import, it leaked into the
    tests collected after it, whichever file they were in)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def twin(torch_module, ours_module):
    """Load the torch module's state_dict into ours, unchanged but for the NumPy conversion."""
    ours_module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})
    return ours_module


def compare_grads(ours_module, torch_module):
    theirs = dict(torch_module.named_parameters())
    names = [n for n, _ in ours_module.named_parameters()]
    assert names == list(theirs), "parameter names and order match PyTorch's"
    for name, p in ours_module.named_parameters():
        close(p.grad, theirs[name].grad, what=f"gradient of {name}")


def inputs(*shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return tl.Tensor(data.copy(), requires_grad=True), torch.tensor(data.copy(), requires_grad=True)


# ---- simple layers --------------------------------------------------------------------------------


def test_linear():
    tm = torch.nn.Linear(5, 3)
    m = twin(tm, tl.nn.Linear(5, 3, dtype=np.float64))
    x, tx = inputs(4, 2, 5)
    close(m(x), tm(tx))
    up = np.random.default_rng(1).standard_normal((4, 2, 3))
    m(x).backward(grad=up)
    tm(tx).backward(torch.tensor(up))
    compare_grads(m, tm)
    close(x.grad, tx.grad)


def test_linear_without_bias_and_default_init_bounds():
    m = tl.nn.Linear(16, 4, bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.dtype == np.float32 and np.abs(m.weight.data).max() <= 0.25


def test_embedding_with_padding_idx():
    tm = torch.nn.Embedding(6, 3, padding_idx=2)
    m = twin(tm, tl.nn.Embedding(6, 3, padding_idx=2, dtype=np.float64))
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    y, ty = m(idx), tm(torch.tensor(idx))
    close(y, ty)
    up = np.random.default_rng(2).standard_normal(y.shape)
    y.backward(grad=up)
    ty.backward(torch.tensor(up))
    compare_grads(m, tm)


# ---- recurrent cells and layers -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_cells(kind, batched, bias):
    I, H, B = 4, 5, 3
    if kind.startswith("rnn"):
        nl = kind.split("_")[1]
        tm, m = torch.nn.RNNCell(I, H, bias, nl), tl.nn.RNNCell(I, H, bias, nl, dtype=np.float64)
    else:
        tm = getattr(torch.nn, kind.upper() + "Cell")(I, H, bias)
        m = getattr(tl.nn, kind.upper() + "Cell")(I, H, bias, dtype=np.float64)
    twin(tm, m)
    shape = (B, I) if batched else (I,)
    hshape = (B, H) if batched else (H,)
    x, tx = inputs(*shape)
    h, th = inputs(*hshape, seed=1)
    if kind == "lstm":
        c, tc = inputs(*hshape, seed=2)
        (h1, c1), (th1, tc1) = m(x, (h, c)), tm(tx, (th, tc))
        close(h1, th1)
        close(c1, tc1)
        loss, tloss = (h1 * h1).sum() + (c1 * 3).sum(), (th1 * th1).sum() + (tc1 * 3).sum()
    else:
        h1, th1 = m(x, h), tm(tx, th)
        close(h1, th1)
        loss, tloss = (h1 * h1).sum(), (th1 * th1).sum()
    loss.backward()
    tloss.backward()
    compare_grads(m, tm)
    close(x.grad, tx.grad)
    close(h.grad, th.grad)


def test_cell_default_state_is_zeros():
    tm = torch.nn.LSTMCell(3, 4)
    m = twin(tm, tl.nn.LSTMCell(3, 4, dtype=np.float64))
    x, tx = inputs(2, 3)
    (h, c), (th, tc) = m(x), tm(tx)
    close(h, th)
    close(c, tc)


LAYER_CASES = [
    dict(),
    dict(num_layers=2),
    dict(bidirectional=True),
    dict(num_layers=2, bidirectional=True, batch_first=True),
    dict(bias=False, batch_first=True),
    dict(num_layers=3, bidirectional=True, given_hx=True),
    dict(unbatched=True, num_layers=2, bidirectional=True, given_hx=True),
]


def compare_and_backprop(m, tm, x, tx, out, state, tout, tstate, seed):
    """Outputs and final states agree; then a random upstream gradient through both agrees too."""
    close(out, tout, what="output")
    assert out.shape == tuple(tout.shape)
    states = state if isinstance(state, tuple) else (state,)
    tstates = tstate if isinstance(tstate, tuple) else (tstate,)
    for s, ts in zip(states, tstates):
        assert s.shape == tuple(ts.shape)
        close(s, ts, what="final state")
    rng = np.random.default_rng(seed)
    ups = [rng.standard_normal(t.shape) for t in (tout, *tstates)]
    loss = sum(((t * u).sum() for t, u in zip((out, *states), ups)), tl.Tensor(np.array(0.0)))
    tloss = sum((t * torch.tensor(u)).sum() for t, u in zip((tout, *tstates), ups))
    loss.backward()
    tloss.backward()
    compare_grads(m, tm)
    close(x.grad, tx.grad, what="input gradient")


def run_layer_pair(kind, case, T=6, B=3, I=4, H=5, proj_size=0):
    case = dict(case)
    unbatched = case.pop("unbatched", False)
    given_hx = case.pop("given_hx", False)
    extra = {"proj_size": proj_size} if proj_size else {}
    if kind.startswith("rnn"):
        extra["nonlinearity"] = kind.split("_")[1]
        name = "RNN"
    else:
        name = kind.upper()
    tm = getattr(torch.nn, name)(I, H, **case, **extra)
    m = twin(tm, getattr(tl.nn, name)(I, H, **case, **extra, dtype=np.float64))
    layers_dirs = tm.num_layers * (2 if tm.bidirectional else 1)
    if unbatched:
        shape = (T, I)
    else:
        shape = (B, T, I) if tm.batch_first else (T, B, I)
    x, tx = inputs(*shape)
    hx = thx = None
    if given_hx:
        hb = () if unbatched else (B,)
        h, th = inputs(layers_dirs, *hb, proj_size or H, seed=3)
        hx, thx = h, th
        if kind == "lstm":
            c, tc = inputs(layers_dirs, *hb, H, seed=4)
            hx, thx = (h, c), (th, tc)
    out, state = m(x, hx)
    tout, tstate = tm(tx, thx)
    compare_and_backprop(m, tm, x, tx, out, state, tout, tstate, seed=7)
    if given_hx:
        for a, b in zip(hx if isinstance(hx, tuple) else (hx,), thx if isinstance(thx, tuple) else (thx,)):
            close(a.grad, b.grad, what="hx gradient")
    return m, tm


@pytest.mark.parametrize("kind", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("case", LAYER_CASES, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_layers(kind, case):
    run_layer_pair(kind, case)


@pytest.mark.parametrize("case", [dict(), dict(num_layers=2, bidirectional=True, given_hx=True), dict(unbatched=True)])
def test_lstm_proj_size(case):
    m, tm = run_layer_pair("lstm", case, proj_size=3)
    assert m.weight_hr_l0.shape == (3, 5)


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
def test_layers_over_several_input_projection_chunks(kind):
    # T=19: chunks of 8, 8 and 3 steps, run forwards and backwards, two layers, a given state
    m, _ = run_layer_pair(kind, dict(num_layers=2, bidirectional=True, given_hx=True), T=19)
    assert m.projection_chunk == 8


def test_pytorch_state_dict_keys_load_as_they_are_and_back():
    tm = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    m = tl.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2, dtype=np.float64)
    assert list(m.state_dict()) == list(tm.state_dict())
    twin(tm, m)
    tm2 = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, proj_size=2)
    tm2.load_state_dict({k: torch.tensor(v) for k, v in m.state_dict().items()})
    for k, v in tm2.state_dict().items():
        close(m.state_dict()[k], v.detach().numpy())  # our state_dict holds arrays, by design


@pytest.mark.parametrize("kind", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("T", [6, 19])  # 19: several input projection chunks
def test_lengths_match_packed_sequences(kind, bidirectional, batch_first, T):
    B, I, H = 4, 3, 5
    name = "RNN" if kind.startswith("rnn") else kind.upper()
    kw = dict(num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    tm = getattr(torch.nn, name)(I, H, **kw)
    m = twin(tm, getattr(tl.nn, name)(I, H, **kw, dtype=np.float64))
    lengths = np.array([T, 2, T - 2, 1])
    x, tx = inputs(*((B, T, I) if batch_first else (T, B, I)))
    out, state = m(x, lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(tx, torch.tensor(lengths), batch_first, enforce_sorted=False)
    tpacked, tstate = tm(packed)
    tout, _ = torch.nn.utils.rnn.pad_packed_sequence(tpacked, batch_first, total_length=T)
    compare_and_backprop(m, tm, x, tx, out, state, tout, tstate, seed=3)  # padded output, each sequence's h_n
    time_axis = 1 if batch_first else 0
    for b, n in enumerate(lengths):  # padded steps receive no gradient
        pad = np.take(x.grad.data, b, axis=1 - time_axis)[n:]
        assert np.all(pad == 0)


# ---- losses ------------------------------------------------------------------------------------------


def loss_pair(ours_fn, theirs_fn, *arrays):
    xs = [tl.Tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    y, ty = ours_fn(*xs), theirs_fn(*ts)
    close(y, ty, what="loss value")
    up = np.random.default_rng(0).standard_normal(y.shape)
    y.backward(grad=up)
    ty.backward(torch.tensor(up))
    for x, t in zip(xs, ts):
        close(x.grad, t.grad, what="loss gradient")


CE_CASES = [
    ((5, 4), (5,), {}),
    ((4,), (), {}),
    ((3, 4, 2, 2), (3, 2, 2), {}),
    ((6, 3), (6,), {"reduction": "sum"}),
    ((6, 3), (6,), {"reduction": "none"}),
    ((6, 3), (6,), {"ignore_index": 1}),
    ((6, 3), (6,), {"weight": np.array([0.2, 1.0, 3.0])}),
    ((6, 3), (6,), {"weight": np.array([0.2, 1.0, 3.0]), "ignore_index": 0, "reduction": "mean"}),
    ((6, 3), (6,), {"label_smoothing": 0.1}),
    ((6, 3), (6,), {"label_smoothing": 0.2, "weight": np.array([0.2, 1.0, 3.0]), "ignore_index": 2}),
    ((3, 4, 5), (3, 5), {"label_smoothing": 0.1, "reduction": "none"}),
]


@pytest.mark.parametrize("shape, tshape, kw", CE_CASES)
def test_cross_entropy_and_nll(shape, tshape, kw):
    rng = np.random.default_rng(4)
    logits = rng.standard_normal(shape) * 3
    n_classes = shape[0] if len(shape) == 1 else shape[1]
    target = rng.integers(0, n_classes, tshape)
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    F, TF = tl.nn.functional, torch.nn.functional
    loss_pair(
        lambda x: F.cross_entropy(x, target, **kw), lambda x: TF.cross_entropy(x, torch.tensor(target), **tkw), logits
    )
    nll_kw = {k: v for k, v in kw.items() if k != "label_smoothing"}
    tnll_kw = {k: v for k, v in tkw.items() if k != "label_smoothing"}
    class_axis = 0 if len(shape) == 1 else 1
    loss_pair(
        lambda x: F.nll_loss(x.log_softmax(class_axis), target, **nll_kw),
        lambda x: TF.nll_loss(TF.log_softmax(x, class_axis), torch.tensor(target), **tnll_kw),
        logits,
    )


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_and_bce_with_logits(reduction):
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    F, TF = tl.nn.functional, torch.nn.functional
    loss_pair(
        lambda x, y: F.mse_loss(x, y, reduction=reduction), lambda x, y: TF.mse_loss(x, y, reduction=reduction), a, b
    )
    logits = np.concatenate([rng.standard_normal((3, 3)) * 5, [[0.0, 40.0, -40.0]]])
    probs = rng.random((4, 3))
    w, pw = rng.random((4, 3)), rng.random(3) * 3
    loss_pair(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        lambda x, y: TF.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        logits,
        probs,
    )
    loss_pair(
        lambda x, y: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw),
        lambda x, y: TF.binary_cross_entropy_with_logits(
            x, y, torch.tensor(w), reduction=reduction, pos_weight=torch.tensor(pw)
        ),
        logits,
        probs,
    )


# ---- clipping and optimizers -------------------------------------------------------------------------


def grads_pair(seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) for s in [(3, 4), (4,), (2, 2)]]
    grads = [rng.standard_normal(a.shape) * scale for a in arrays]
    ours = [tl.nn.Parameter(a.copy()) for a in arrays]
    theirs = [torch.nn.Parameter(torch.tensor(a.copy())) for a in arrays]
    for p, tp, g in zip(ours, theirs, grads):
        p.grad = tl.Tensor(g.copy())
        tp.grad = torch.tensor(g.copy())
    return ours, theirs


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0), (0.3, np.inf)])
def test_clip_grad_norm(max_norm, norm_type):
    ours, theirs = grads_pair(scale=2.0)
    total = tl.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    close(total, ttotal)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)


def test_clip_grad_norm_nonfinite_and_clip_value():
    ours, theirs = grads_pair()
    ours[0].grad.data[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="total norm"):
        tl.nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    ours, theirs = grads_pair(seed=1)
    tl.nn.utils.clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, tp in zip(ours, theirs):
        close(p.grad, tp.grad)


OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
]


def quadratic_steps(opt, params, n, seed):
    rng = np.random.default_rng(seed)
    targets = [rng.standard_normal(p.shape) for p in params]
    for _ in range(n):
        opt.zero_grad()
        if isinstance(params[0], tl.Tensor):
            loss = sum(((p - t) ** 2 * (k + 1)).sum() for k, (p, t) in enumerate(zip(params, targets)))
        else:
            loss = sum(((p - torch.tensor(t)) ** 2 * (k + 1)).sum() for k, (p, t) in enumerate(zip(params, targets)))
        loss.backward()
        opt.step()


@pytest.mark.parametrize("name, kw", OPTIMIZERS)
def test_optimizers_match_torch_and_resume_from_state_dict(name, kw):
    ours, theirs = grads_pair()
    opt, topt = getattr(tl.optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)
    quadratic_steps(opt, ours, 5, seed=1)
    quadratic_steps(topt, theirs, 5, seed=1)
    for p, tp in zip(ours, theirs):
        close(p, tp)
    # a copy resumed from state_dict continues exactly as the original
    clone = [tl.nn.Parameter(p.data.copy()) for p in ours]
    opt2 = getattr(tl.optim, name)(clone, **kw)
    opt2.load_state_dict(opt.state_dict())
    quadratic_steps(opt, ours, 4, seed=2)
    quadratic_steps(opt2, clone, 4, seed=2)
    quadratic_steps(topt, theirs, 4, seed=2)
    for p, c, tp in zip(ours, clone, theirs):
        close(p, tp)
        np.testing.assert_array_equal(p.data, c.data)


def test_param_groups_with_their_own_lr():
    ours, theirs = grads_pair()
    opt = tl.optim.SGD([{"params": ours[:1], "lr": 0.5}, {"params": ours[1:]}], lr=0.1, momentum=0.5)
    topt = torch.optim.SGD([{"params": theirs[:1], "lr": 0.5}, {"params": theirs[1:]}], lr=0.1, momentum=0.5)
    quadratic_steps(opt, ours, 3, seed=3)
    quadratic_steps(topt, theirs, 3, seed=3)
    for p, tp in zip(ours, theirs):
        close(p, tp)


def test_dropout_between_layers_only_in_training():
    tm = torch.nn.LSTM(3, 4, num_layers=3, dropout=0.5)
    m = twin(tm, tl.nn.LSTM(3, 4, num_layers=3, dropout=0.5, dtype=np.float64))
    x, tx = inputs(5, 2, 3)
    tm.eval()
    close(m.eval()(x)[0], tm(tx)[0], what="eval mode: no dropout")
    tl.manual_seed(0)
    train_out, (h_n, _) = m.train()(x)
    assert not np.allclose(train_out.data, tm(tx)[0].detach().numpy())
    # the first layer's final state comes before any dropout, so it is unchanged
    close(h_n[0], tm(tx)[1][0][0], what="first layer untouched by dropout")


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_functional_call_matches_pytorchs_on_generated_tied_models(data):
    """torch.func.functional_call against ours, on Linear stacks whose weights are tied at random and
    a random choice of the names to replace (any alias of a tied weight), tie_weights either way: the
    output and the gradient of every tensor given agree. Replacing a tied weight in one place only (with
    tie_weights=True) fails it."""
    from torch.func import functional_call

    n, d = data.draw(st.integers(2, 4), label="layers"), 3
    tie_to = [None] + [data.draw(st.sampled_from([None, *range(i)]), label=f"tie{i}") for i in range(1, n)]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    ours = tl.nn.Sequential(*[m for _ in range(n) for m in (tl.nn.Linear(d, d, dtype=np.float64), tl.nn.Tanh())])
    theirs = torch.nn.Sequential(*[m for _ in range(n) for m in (torch.nn.Linear(d, d), torch.nn.Tanh())])
    twin(theirs, ours)
    for i, j in enumerate(tie_to):
        if j is not None:
            ours[2 * i].weight = ours[2 * j].weight
            theirs[2 * i].weight = theirs[2 * j].weight
    groups: dict = {}  # each weight or bias, by identity -> the names it goes by
    for i in range(n):
        for kind in ("weight", "bias"):
            groups.setdefault(id(getattr(ours[2 * i], kind)), []).append(f"{2 * i}.{kind}")
    names = [data.draw(st.sampled_from(aliases), label="alias") for aliases in groups.values()]
    names = [name for name in names if data.draw(st.booleans(), label=f"replace {name}")]
    values = {name: rng.standard_normal(ours.get_parameter(name).shape) for name in names}
    x = rng.standard_normal((2, d))
    given = {name: tl.Tensor(v.copy(), requires_grad=True) for name, v in values.items()}
    given_t = {name: torch.tensor(v, requires_grad=True) for name, v in values.items()}
    tie = data.draw(st.booleans(), label="tie_weights")
    out = tl.func.functional_call(ours, given, (tl.Tensor(x),), tie_weights=tie)
    out_t = functional_call(theirs, given_t, (torch.tensor(x),), tie_weights=tie)
    close(out, out_t, what=f"output, ties {tie_to}, replacing {names}, tie_weights={tie}")
    (out * out).sum().backward()
    (out_t * out_t).sum().backward()
    for name in names:
        close(given[name].grad, given_t[name].grad, what=f"gradient of {name}, ties {tie_to}")


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("RNNCell", {}),
        ("RNNCell", {"nonlinearity": "relu", "bias": False}),
        ("LSTMCell", {"bias": False}),
        ("GRUCell", {}),
        ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
        ("LSTM", {"batch_first": True, "bidirectional": True, "dropout": 0.5, "num_layers": 2, "proj_size": 2}),
        ("GRU", {"bias": False}),
    ],
)
def test_recurrent_modules_print_as_pytorchs(name, kwargs):
    """print(model) reads as PyTorch's (an RNNCell's relu was missing; the cells' repr had no test)."""
    assert repr(getattr(tl.nn, name)(3, 4, **kwargs)) == repr(getattr(torch.nn, name)(3, 4, **kwargs))
