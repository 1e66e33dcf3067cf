"""Module behaviour, state dicts and saving, dropout, scopes and names, truncated BPTT, depth, memory."""

import gc
import os
import tracemalloc

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import nn


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4, dtype=np.float64)
        self.head = nn.Linear(4, 2, dtype=np.float64)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def test_module_registration_and_traversal():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == [
        "rnn.weight_ih_l0",
        "rnn.weight_hh_l0",
        "rnn.bias_ih_l0",
        "rnn.bias_hh_l0",
        "head.weight",
        "head.bias",
    ]
    assert [type(c).__name__ for c in m.children()] == ["LSTM", "Linear"]
    assert len(list(m.modules())) == 3
    m.eval()
    assert not m.training and not m.rnn.training
    m.train()
    assert m.head.training
    m(tl.randn(5, 2, 3, dtype=np.float64)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_is_a_snapshot_and_loads_back():
    a, b = TwoLayer(), TwoLayer()
    sd = a.state_dict()
    a.head.weight.data += 1  # later training does not change the snapshot
    assert not np.allclose(sd["head.weight"], a.head.weight.data)
    result = b.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(b.head.weight.data, sd["head.weight"])


def test_failed_load_state_dict_names_keys_and_shapes_and_changes_nothing():
    m = TwoLayer()
    before = m.state_dict()
    bad = dict(before)
    bad["head.weight"] = np.zeros((5, 4))
    bad["rnn.weight_hh_l0"] = np.ones_like(before["rnn.weight_hh_l0"])  # valid, must not be applied
    with pytest.raises(ValueError, match=r"head\.weight: shape \(5, 4\) in the state_dict, \(2, 4\) in the module"):
        m.load_state_dict(bad)
    missing = dict(before)
    del missing["rnn.bias_hh_l0"]
    missing["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing keys: rnn\.bias_hh_l0.*unexpected keys: extra"):
        m.load_state_dict(missing)
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    result = m.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["rnn.bias_hh_l0"] and result.unexpected_keys == ["extra"]


def test_save_and_load_npz_without_pickle(tmp_path):
    m = TwoLayer()
    opt = tl.optim.Adam(m.parameters(), lr=0.1)
    m(tl.randn(4, 2, 3, dtype=np.float64)).sum().backward()
    opt.step()
    path = tmp_path / "ckpt.npz"
    tl.save({"model": m.state_dict(), "optim": opt.state_dict(), "epoch": 3}, path)
    with np.load(path, allow_pickle=False) as archive:  # readable with pickle switched off
        assert len(archive.files) > 6
    ckpt = tl.load(path)
    assert ckpt["epoch"] == 3
    m2 = TwoLayer()
    m2.load_state_dict(ckpt["model"])
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(m2.state_dict()[k], v)
    opt2 = tl.optim.Adam(m2.parameters(), lr=0.1)
    opt2.load_state_dict(ckpt["optim"])
    assert opt2.state_dict()["state"][0]["step"] == 1


def test_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "w.npz"
    tl.save({"w": np.arange(3.0)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="without pickle"):
        tl.save({"w": np.arange(3.0), "bad": object()}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["w.npz"]  # no temporary file left behind


def test_dropout_scales_and_is_identity_in_eval():
    tl.manual_seed(0)
    d = nn.Dropout(0.25)
    x = tl.ones(200, 200)
    y = d(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.75)
    assert d.eval()(x) is x
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.Dropout(1.5)


def test_recurrent_default_initialisation_bounds_and_dtype():
    tl.manual_seed(0)
    m = nn.GRU(8, 16, num_layers=2)
    bound = 1 / np.sqrt(16)
    for name, p in m.named_parameters():
        assert p.dtype == np.float32, name
        assert np.abs(p.data).max() <= bound
        assert np.abs(p.data).max() > 0.8 * bound  # actually uniform over the range
    out, h = m(tl.randn(5, 3, 8, dtype=np.float32))
    assert out.dtype == np.float32 and h.dtype == np.float32


def test_bad_inputs_name_the_layer_and_shapes():
    m = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=r"LSTM: input of shape \(5, 2, 7\)"):
        m(tl.zeros(5, 2, 7, dtype=np.float32))
    with pytest.raises(ValueError, match=r"hx\[1\] of shape \(1, 2, 5\) should be \(1, 2, 4\)"):
        m(tl.zeros(5, 2, 3, dtype=np.float32), (tl.zeros(1, 2, 4), tl.zeros(1, 2, 5)))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 5\]"):
        m(tl.zeros(5, 2, 3, dtype=np.float32), lengths=[6, 1])
    with pytest.raises(ValueError, match=r"Linear: input of shape \(2, 5\)"):
        nn.Linear(3, 2)(tl.zeros(2, 5))
    with pytest.raises(IndexError, match="Embedding: index out of range"):
        nn.Embedding(4, 2)(np.array([1, 4]))


def test_every_step_opens_a_scope_and_cell_values_are_named():
    m = nn.LSTM(2, 3, num_layers=2, bidirectional=True, dtype=np.float64)
    with tl.Tape() as tape:
        m(tl.randn(3, 1, 2, dtype=np.float64))
    paths = {e.scope.path for e in tape if e.scope is not None}
    expected = {f"lstm.l{k}{d}[t={t}]" for k in range(2) for d in ("", "_reverse") for t in range(3)}
    projections = {f"lstm.l{k}{d}.x_proj[t=0]" for k in range(2) for d in ("", "_reverse")}
    assert paths == expected | projections
    step = tape.filter(scope="lstm.l1_reverse[t=1]")
    assert {e.name for e in step} >= {"i", "f", "g", "o", "c", "h"}
    gru = nn.GRU(2, 3)
    with tl.Tape() as tape:
        gru(tl.randn(2, 1, 2, dtype=np.float32))
    assert {e.name for e in tape.filter(scope="gru.l0[t=1]")} >= {"r", "z", "n", "h"}


def test_truncated_bptt_carries_state_with_detach():
    tl.manual_seed(1)
    m = nn.LSTM(2, 3, dtype=np.float64)
    x = tl.randn(12, 2, 2, dtype=np.float64)
    state = None
    for k in range(3):
        out, state = m(x[4 * k : 4 * (k + 1)], state)
        (out * out).mean().backward()
        state = nn.utils.detach_state(state)
        assert not state[0].requires_grad and state[0].shape == (1, 2, 3)
    # forgetting the detach reaches into the previous chunk's freed graph, and says so
    out, state = m(x[:4])
    out.sum().backward()
    out, state = m(x[4:8], state)
    with pytest.raises(RuntimeError, match="freed by an earlier backward"):
        out.sum().backward()


def test_truncated_bptt_matches_torch():
    torch = pytest.importorskip("torch")
    tm = torch.nn.LSTM(2, 3).double()
    m = nn.LSTM(2, 3, dtype=np.float64)
    m.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    x = np.random.default_rng(2).standard_normal((12, 2, 2))
    opt, topt = tl.optim.SGD(m.parameters(), lr=0.1), torch.optim.SGD(tm.parameters(), lr=0.1)
    state = tstate = None
    for k in range(3):
        chunk = x[4 * k : 4 * (k + 1)]
        out, state = m(tl.Tensor(chunk), state)
        tout, tstate = tm(torch.tensor(chunk), tstate)
        opt.zero_grad()
        topt.zero_grad()
        (out * out).mean().backward()
        (tout * tout).mean().backward()
        opt.step()
        topt.step()
        state = nn.utils.detach_state(state)
        tstate = tuple(s.detach() for s in tstate)
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(getattr(m, name).data, p.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_lstm_over_2000_steps_backpropagates():
    tl.manual_seed(3)
    m = nn.LSTM(2, 4, dtype=np.float64, forget_bias=3.0)
    x = tl.randn(2000, 2, 2, requires_grad=True, dtype=np.float64)
    out, (h, c) = m(x)
    (h * h).sum().backward()
    assert np.all(np.isfinite(m.weight_hh_l0.grad.data)) and np.abs(m.weight_hh_l0.grad.data).max() > 0
    # with forget gates near 1 the gradient reaches far back along the cell path
    assert np.abs(x.grad.data[-1000]).max() > 0


def test_training_keeps_memory_flat():
    tl.manual_seed(4)
    m = nn.LSTM(3, 8)
    head = nn.Linear(8, 1)
    opt = tl.optim.Adam([*m.parameters(), *head.parameters()], lr=1e-2)
    x = tl.randn(10, 4, 3, dtype=np.float32)
    y = tl.randn(4, 1, dtype=np.float32)

    def step():
        opt.zero_grad()
        out, _ = m(x)
        loss = nn.functional.mse_loss(head(out[-1]), y)
        loss.backward()
        opt.step()

    tracemalloc.start()
    try:
        for _ in range(20):  # warm-up: lazy imports, NumPy's small caches
            step()
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(180):
            step()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 180 training steps"


def test_init_functions_fill_in_place_with_the_documented_distributions():
    tl.manual_seed(5)
    w = nn.Parameter(np.empty((200, 300)))
    data = w.data
    bound = np.sqrt(6 / 500)
    nn.init.xavier_uniform_(w)
    assert w.data is data and np.abs(w.data).max() <= bound and np.abs(w.data).max() > 0.95 * bound
    nn.init.xavier_normal_(w)
    assert abs(w.data.std() - np.sqrt(2 / 500)) < 0.05 * np.sqrt(2 / 500)
    nn.init.kaiming_uniform_(w, a=np.sqrt(5))  # PyTorch's Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert np.abs(w.data).max() <= 1 / np.sqrt(300) + 1e-12
    nn.init.normal_(w, 2.0, 0.5)
    assert abs(w.data.mean() - 2.0) < 0.01 and abs(w.data.std() - 0.5) < 0.01
    nn.init.constant_(w, 3.0)
    assert np.all(w.data == 3.0)
    nn.init.zeros_(w)
    assert not w.data.any()
    nn.init.ones_(w)
    assert np.all(w.data == 1.0)
    q = nn.Parameter(np.empty((4, 6)))
    nn.init.orthogonal_(q)
    np.testing.assert_allclose(q.data @ q.data.T, np.eye(4), atol=1e-12)


def test_named_children_and_register_parameter():
    m = TwoLayer()
    assert [name for name, _ in m.named_children()] == ["rnn", "head"]
    m.register_parameter("scale", nn.Parameter(np.ones(1)))
    assert "scale" in dict(m.named_parameters())
    m.register_parameter("scale", None)
    assert "scale" not in dict(m.named_parameters()) and m.scale is None


def test_the_input_projection_runs_per_chunk_and_one_product_gives_the_same():
    tl.manual_seed(4)
    x = tl.randn(19, 2, 3, dtype=np.float64)
    m = nn.LSTM(3, 4, bidirectional=True, dtype=np.float64)
    with tl.Tape() as tape:
        out, _ = m(x)
    scopes = {e.scope.label for e in tape if e.scope is not None and "x_proj" in e.scope.name}
    assert scopes == {f"lstm.l0{d}.x_proj[t={t}]" for d in ("", "_reverse") for t in (0, 8, 16)}
    (out * out).sum().backward()
    chunked = [p.grad.data.copy() for p in m.parameters()]
    m.zero_grad()
    m.projection_chunk = None  # one product for the whole sequence
    whole, _ = m(x)
    (whole * whole).sum().backward()
    np.testing.assert_allclose(whole.data, out.data, rtol=1e-13, atol=1e-13)
    for a, p in zip(chunked, m.parameters()):
        np.testing.assert_allclose(p.grad.data, a, rtol=1e-12, atol=1e-13)


def test_functional_call_runs_a_module_on_given_weights_and_puts_its_own_back():
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(3, 4), tl.nn.Tanh(), tl.nn.Linear(4, 1))
    own = {name: p for name, p in model.named_parameters()}
    x = tl.randn(5, 3, dtype=np.float32)
    given = {name: tl.Tensor(p.data * 0.5, requires_grad=True) for name, p in own.items()}
    out = tl.func.functional_call(model, given, (x,))
    expected = np.tanh(x.data @ given["0.weight"].data.T + given["0.bias"].data) @ given["2.weight"].data.T
    np.testing.assert_allclose(out.data, expected + given["2.bias"].data, rtol=1e-6)
    out.sum().backward()
    assert all(t.grad is not None for t in given.values())  # the gradient reaches the tensors given
    assert all(p.grad is None for p in own.values())  # and not the module's own
    assert dict(model.named_parameters()) == own  # which are back in place

    def broken(x):
        raise RuntimeError("inside forward")

    model[1].forward = broken
    with pytest.raises(RuntimeError, match="inside forward"):
        tl.func.functional_call(model, given, x)
    assert dict(model.named_parameters()) == own  # back even when forward raises
    with pytest.raises(RuntimeError, match=r"unexpected \['0\.wieght'\], missing \[.*'0\.weight'"):
        tl.func.functional_call(model, {"0.wieght": given["0.weight"]}, x, strict=True)
    with pytest.raises(ValueError, match=r"'2\.bias' must be a Tensor of shape \(1,\), got \(4,\)"):
        tl.func.functional_call(model, {"2.bias": tl.zeros(4)}, x)
    assert dict(model.named_parameters()) == own


def test_functional_call_replaces_a_tied_weight_everywhere_it_is_used():
    """Two layers sharing one weight (tied): the tensor given stands in for both, so the gradient is
    the same as with the weight tied for real; two different tensors for one tied weight are refused."""
    tl.manual_seed(1)
    first, second = tl.nn.Linear(3, 3, dtype=np.float64), tl.nn.Linear(3, 3, dtype=np.float64)
    second.weight = first.weight  # tied
    model = tl.nn.Sequential(first, tl.nn.Tanh(), second)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.bias"]
    x = tl.randn(4, 3, dtype=np.float64)
    w = tl.Tensor(np.random.default_rng(2).standard_normal((3, 3)), requires_grad=True)
    tl.func.functional_call(model, {"0.weight": w}, (x,)).sum().backward()
    with tl.no_grad():
        first.weight.copy_(w)  # the same computation, tied for real
    model(x).sum().backward()
    np.testing.assert_allclose(w.grad.data, first.weight.grad.data, rtol=1e-12)
    assert second.weight is first.weight
    other = tl.Tensor(np.zeros((3, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"'0\.weight' and '2\.weight' are one tied weight"):
        tl.func.functional_call(model, {"0.weight": w, "2.weight": other}, (x,))


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN", "LSTM-proj", "LSTM-fgr"])
def test_recurrent_products_multiply_by_contiguous_operands_forward_and_backward(kind, monkeypatch):
    """A product with a transposed operand (h @ U.T) takes about twice as long on OpenBLAS: the layers
    multiply by U.T laid out once per sequence forward and by U itself in the VJP. Every product an
    RNN step makes (the recurrent one, FGR's gate recurrence, the LSTM projection) is checked by its
    operands' layout, forward and backward (their values: tests/test_nn_torch_parity.py)."""
    from tinygrad_lstm import blas

    layer = {
        "LSTM": lambda: nn.LSTM(3, 4, dtype=np.float64),
        "GRU": lambda: nn.GRU(3, 4, dtype=np.float64),
        "RNN": lambda: nn.RNN(3, 4, dtype=np.float64),
        "LSTM-proj": lambda: nn.LSTM(3, 4, proj_size=2, dtype=np.float64),
        "LSTM-fgr": lambda: nn.LSTM(3, 4, variant="fgr", dtype=np.float64),
    }[kind]()
    seen = []
    real = blas.matmul

    def spy(a, b):
        seen.append((a.shape, b.shape, b.flags.c_contiguous))
        return real(a, b)

    monkeypatch.setattr(blas, "matmul", spy)
    x = tl.Tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    out, _ = layer(x)
    (out * out).sum().backward()
    step_weights = [w for name, w in layer.named_parameters() if name.split("_l0")[0] in ("weight_hh", "weight_hr")]
    step_weights += [w for name, w in layer.named_parameters() if name.startswith("weight_gates")]
    for w in step_weights:
        rows, cols = w.shape
        forward = [s for s in seen if s[1] == (cols, rows)]
        backward = [s for s in seen if s[1] == (rows, cols) and s[0][-1] == rows]
        assert forward and backward, (w.shape, seen)
        assert all(contiguous for _, _, contiguous in forward + backward), (w.shape, seen)
