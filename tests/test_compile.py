"""tl.compile: a replayed tape gives exactly what eager execution gives, or refuses clearly."""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lstm as tl
from tinygrad_lstm import nn

# every test here runs on both backends of tl.compile (conftest.py): the NumPy replay and numba's kernels
pytestmark = pytest.mark.usefixtures("compile_backend")


def twin_models(make):
    tl.manual_seed(0)
    a = make()
    b = make()
    b.load_state_dict(a.state_dict())
    return a, b


class Regressor(nn.Module):
    def __init__(self, layer, hidden):
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(hidden, 1, dtype=np.float64)

    def forward(self, x):
        out, _ = self.layer(x)
        return self.head(out[-1])


@pytest.mark.parametrize(
    "make",
    [
        lambda: Regressor(nn.LSTM(3, 5, dtype=np.float64), 5),
        lambda: Regressor(nn.GRU(3, 5, num_layers=2, dtype=np.float64), 5),
        lambda: Regressor(nn.RNN(3, 4, bidirectional=True, dtype=np.float64), 8),
        lambda: Regressor(nn.LSTM(3, 5, variant="fgr", dtype=np.float64), 5),
    ],
    ids=["lstm", "gru-2-layers", "rnn-bidirectional", "lstm-fgr"],
)
def test_compiled_training_matches_eager_exactly(make):
    eager, compiled = twin_models(make)
    opt_e = tl.optim.Adam(eager.parameters(), lr=1e-2)
    opt_c = tl.optim.Adam(compiled.parameters(), lr=1e-2)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(compiled(x), y), exact=True)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x, y = rng.standard_normal((11, 2, 3)), rng.standard_normal((2, 1))  # two projection chunks
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = nn.functional.mse_loss(eager(tl.Tensor(x)), tl.Tensor(y))
        loss_c = step(tl.Tensor(x), y)
        assert loss_c.item() == loss_e.item()
        loss_e.backward()
        loss_c.backward()
        for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
            np.testing.assert_array_equal(pe.grad.data, pc.grad.data, err_msg=name)
        opt_e.step()
        opt_c.step()
    assert step.replays == 3 and len(step.programs) == 1


class CellLoop(nn.Module):
    """A cell stepped in a Python loop (the recorder sees the loop unrolled), as a user writes one."""

    def __init__(self, cell, hidden, dtype):
        super().__init__()
        self.cell = cell
        self.head = nn.Linear(hidden, 1, dtype=dtype)

    def forward(self, x):
        state = None
        for t in range(x.shape[0]):
            state = self.cell(x[t], state)
        h = state[0] if isinstance(state, tuple) else state
        return self.head(h)


def _loss_model(kind, dtype):
    if kind.endswith("cell"):
        cell = {"lstmcell": nn.LSTMCell, "grucell": nn.GRUCell, "rnncell": nn.RNNCell}[kind](3, 5, dtype=dtype)
        return CellLoop(cell, 5, dtype)
    layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](3, 5, dtype=dtype)
    model = Regressor(layer, 5)
    return model.astype(dtype) if dtype == np.float32 else model


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn", "lstmcell", "grucell", "rnncell"])
def test_every_backend_trains_bit_for_bit_as_eager_in_both_float_dtypes(compile_backend, kind, dtype):
    """The loss and every gradient through 3 Adam steps, bit for bit, on the backend under test;
    on numba's, the recurrent cells' elementwise chains and sigmoid/tanh VJPs run as kernels."""
    eager, compiled = twin_models(lambda: _loss_model(kind, dtype))
    opt_e = tl.optim.Adam(eager.parameters(), lr=1e-2)
    opt_c = tl.optim.Adam(compiled.parameters(), lr=1e-2)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(compiled(x), y), exact=True)
    rng = np.random.default_rng(2)
    for _ in range(4):
        x, y = rng.standard_normal((6, 4, 3)).astype(dtype), rng.standard_normal((4, 1)).astype(dtype)
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = nn.functional.mse_loss(eager(tl.Tensor(x)), tl.Tensor(y))
        loss_c = step(x, y)
        assert loss_c.dtype == dtype and loss_c.item() == loss_e.item()
        loss_e.backward()
        loss_c.backward()
        for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
            np.testing.assert_array_equal(pe.grad.data, pc.grad.data, err_msg=name)
        opt_e.step()
        opt_c.step()
    assert step.replays == 3 and step.backend == compile_backend
    assert ("# The kernels (numba)" in step.source) == (compile_backend == "numba")
    if compile_backend == "numba" and kind.startswith(("lstm", "gru")):  # c = f*c + i*g; h = (1-z)*n + z*h
        assert ": one kernel (" in step.source
    if compile_backend == "numba" and kind.startswith("lstm"):  # each step's gates: one kernel, exp, tanh
        assert step.source.split("# The kernels")[0].count("-x where a sigmoid reads it") == 6


def test_the_backend_is_chosen_by_name_or_by_what_is_installed(monkeypatch):
    from tinygrad_lstm.compiler import kernels

    w = tl.Tensor(np.ones(3), requires_grad=True)
    assert tl.compile(lambda x: (x * w).sum(), backend="numpy").backend == "numpy"
    with pytest.raises(ValueError, match="backend must be"):
        tl.compile(lambda x: (x * w).sum(), backend="jax")
    monkeypatch.setattr(kernels, "available", lambda: False)
    assert tl.compile(lambda x: (x * w).sum()).backend == "numpy"
    with pytest.raises(ImportError, match=r"pip install \"\.\[fast\]\""):
        tl.compile(lambda x: (x * w).sum(), backend="numba")


@pytest.mark.parametrize(
    "make, dtype, tolerance",
    [
        (lambda: Regressor(nn.LSTM(3, 5, dtype=np.float64), 5), np.float64, 1e-13),
        (lambda: Regressor(nn.GRU(3, 5, num_layers=2, dtype=np.float64), 5), np.float64, 1e-13),
        (lambda: Regressor(nn.RNN(3, 4, bidirectional=True, dtype=np.float64), 8), np.float64, 1e-13),
        (lambda: Regressor(nn.LSTM(3, 5, dtype=np.float32), 5).astype(np.float32), np.float32, 1e-4),
    ],
    ids=["lstm", "gru-2-layers", "rnn-bidirectional", "lstm-float32"],
)
def test_batched_weight_gradients_train_as_eager_does_to_round_off(make, dtype, tolerance):
    """The default program sums a shared weight's gradient per chunk of steps: another order of the
    same additions. On the same weights (the first replay: the recording's own backward is eager's)
    the gradients agree to 1e-6 of the largest in float32 and 5e-15 in float64. Through 20 Adam steps
    the two models' weights drift apart by round-off, and a gradient entry that cancels amplifies it
    (up to 2.2e-5 of the largest in float32, measured over seeds), so the trajectory is held to a
    looser bound; the weights it trains stay equal to round-off."""
    eager, compiled = twin_models(make)
    opt_e = tl.optim.Adam(eager.parameters(), lr=1e-2)
    opt_c = tl.optim.Adam(compiled.parameters(), lr=1e-2)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(compiled(x), y))
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((19, 2, 3)).astype(dtype), rng.standard_normal((2, 1)).astype(dtype)
    worst = 0.0
    for call in range(20):
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = nn.functional.mse_loss(eager(tl.Tensor(x)), tl.Tensor(y))
        loss_c = step(x, y)
        loss_e.backward()
        loss_c.backward()
        for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
            scale = np.abs(pe.grad.data).max()
            np.testing.assert_allclose(pc.grad.data, pe.grad.data, rtol=0, atol=tolerance * scale, err_msg=name)
            if scale > 0:  # (a reverse direction that only reads the last step gets zeros)
                off = np.abs(pc.grad.data - pe.grad.data).max() / scale
                worst = max(worst, off)
                if call == 1:  # the first replay, on the very weights eager has
                    assert off <= (1e-6 if dtype == np.float32 else 5e-15), name
        opt_e.step()
        opt_c.step()
    for (name, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
        np.testing.assert_allclose(pc.data, pe.data, rtol=0, atol=100 * tolerance, err_msg=name)
    assert "weight_grad(" in step.source, "the recurrent weight's gradient is batched"
    assert 0 < worst, "summed in another order, so not every bit is equal"
    assert step.replays == 19


def test_exact_programs_compute_each_products_weight_gradient_as_the_sweep_does(monkeypatch):
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    loss = lambda x, y: nn.functional.mse_loss(model(x), y)  # noqa: E731
    exact, batched = tl.compile(loss, exact=True), tl.compile(loss)
    x, y = tl.randn(20, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)
    exact(x, y).backward()
    batched(x, y).backward()
    assert "weight_grad(" not in exact.source
    assert tl.compile(exact=True)(loss).exact and not batched.exact  # the decorator's form too
    # weight_hh: 20 products of 2 rows, one chunk; weight_ih: 3 projections of 16 rows, one chunk
    assert batched.source.count("= weight_grad(") == 2
    from tinygrad_lstm.compiler import program as compile_module

    monkeypatch.setattr(compile_module, "WEIGHT_CHUNK_ROWS", 16)
    small_chunks = tl.compile(loss)
    small_chunks(x, y).backward()
    # weight_hh in chunks of 8, 8 and 4 steps; each 16-row projection alone keeps its own VJP
    assert small_chunks.source.count("= weight_grad(") == 3
    assert small_chunks.source.count("over 8 steps") == 2 and small_chunks.source.count("over 4 steps") == 1


def test_products_of_half_a_chunk_or_more_keep_their_own_vjp(monkeypatch):
    """A weight's products are joined for one gradient product only while they are small: joining two
    of half a chunk's rows each would copy both their inputs and gradients to save one call. Here the
    three input projections (8 steps of batch 2: 16 rows) are half of a 32-row chunk: each keeps its
    own VJP, while weight_hh's 20 products of 2 rows are joined, 16 steps and then 4."""
    from tinygrad_lstm.compiler import program as compile_module

    monkeypatch.setattr(compile_module, "WEIGHT_CHUNK_ROWS", 32)
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    loss = lambda x, y: nn.functional.mse_loss(model(x), y)  # noqa: E731
    step = tl.compile(loss)
    x, y = tl.randn(20, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)
    for _ in range(2):  # record, then replay
        model.zero_grad()
        step(x, y).backward()
    got = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    loss(x, y).backward()
    for g, p in zip(got, model.parameters()):
        np.testing.assert_allclose(g, p.grad.data, rtol=0, atol=1e-14 * np.abs(p.grad.data).max())
    assert step.source.count("= weight_grad(") == 2
    assert step.source.count("over 16 steps") == 1 and step.source.count("over 4 steps") == 1


def test_new_shapes_record_a_new_program_and_freed_entries_say_so():
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(model(x), y))
    step(tl.randn(5, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)).backward()
    step(tl.randn(7, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)).backward()
    assert len(step.programs) == 2 and step.replays == 0
    loss = step(tl.randn(7, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64))
    assert step.replays == 1
    loss.backward()
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()


def test_compile_refuses_what_it_cannot_replay():
    tl.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5, dtype=np.float64)
    with pytest.raises(tl.CompileError, match="dropout"):
        tl.compile(lambda x: lstm(x)[0].sum())(tl.randn(5, 2, 3, dtype=np.float64))

    emb = nn.Embedding(10, 4, dtype=np.float64)
    with pytest.raises(tl.CompileError, match="index"):
        tl.compile(lambda ids: emb(ids).sum())(np.array([1, 2, 3]))

    logits_layer = nn.Linear(3, 5, dtype=np.float64)
    with pytest.raises(tl.CompileError, match="index"):
        tl.compile(lambda x, t: nn.functional.cross_entropy(logits_layer(x), t))(tl.randn(4, 3), np.array([0, 1, 2, 3]))

    w = tl.Tensor(np.ones(3), requires_grad=True)
    earlier = w * 2
    with pytest.raises(tl.CompileError, match="computed before the step"):
        tl.compile(lambda x: (x * earlier).sum())(tl.randn(3))

    with pytest.raises(tl.CompileError, match="does not depend on any parameter"):
        tl.compile(lambda x: (x * 2).sum())(tl.randn(3))


def test_compiled_step_is_faster_than_eager_in_op_count_terms():
    """Replaying builds no Tensor per op: count the Tensors a replay creates (not a timing assert)."""
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(model(x), y))
    x, y = tl.randn(20, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)
    step(x, y).backward()
    created = []
    original = tl.Tensor._from

    def counting(*args, **kwargs):
        created.append(1)
        return original(*args, **kwargs)

    tl.Tensor._from = staticmethod(counting)
    try:
        step(x, y).backward()
    finally:
        tl.Tensor._from = original
    assert len(created) < 10  # the loss and the gradients of the leaves, not one per recorded op


def test_replays_still_serve_hooks_and_backward_traces():
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    # exact: the precomputed backward's bits equal the sweep's (a shared weight's chunked gradient
    # would not; this test used to pass without exact only because the hook leaked into later replays)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(model(x), y), exact=True)
    x, y = tl.randn(5, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)
    step(x, y).backward()
    model.zero_grad()
    loss = step(x, y)
    seen = []
    loss.register_hook(lambda g: seen.append(float(g.data)))
    with tl.trace_backward() as trace:
        loss.backward()
    assert seen == [1.0]
    assert trace.records[0].entry is loss.entry  # the usual sweep ran, and was traced
    assert any(r.op == "leaf" for r in trace)
    fast = [p.grad.data.copy() for p in model.parameters()]
    model.zero_grad()
    step(x, y).backward()  # the precomputed order: the same bits
    for a, p in zip(fast, model.parameters()):
        np.testing.assert_array_equal(a, p.grad.data)
    assert seen == [1.0]  # a hook on one call's result is not on the next call's


def test_the_program_is_readable_python_with_one_line_per_entry_and_fused_gates(compile_backend):
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(model(x), y))
    with tl.Tape() as tape:
        loss = step(tl.randn(3, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64))
    source = step.source
    assert source.startswith("def forward(inputs, leaves):") and "\ndef backward(seed):" in source
    forward, backward = source.split("\ndef backward(seed):")
    recorded = [e for e in tape.entries if e.op != "leaf"]
    # ops without a gradient that the step computes (the initial state's slices) are program entries too
    without_grad = [e for e in list(step.programs.values())[-1].entries if e.vjp is None]
    # every entry is computed on a line of its own, or says which line computes it
    computed = [int(k) for k in re.findall(r"\n\s+v\[(\d+)\] = (?:asarray\()?f\d+\(", forward)]
    computed += [int(k) for k in re.findall(r"\n\s+y = f(\d+)\(", forward)]  # a call for several gates
    computed += [int(k) for k in re.findall(r"\n\s+v\[(\d+)\] = kern\d+\(", forward)]  # ops fused into a kernel
    mentioned = [int(k) for k in re.findall(r"\n\s+# v\[(\d+)\]: ", forward)]
    assert sorted(computed + mentioned) == list(range(len(recorded) + len(without_grad)))
    assert "# mul h lstm.l0[t=0]" in forward
    if compile_backend == "numpy":
        # the LSTM's i and f gates (side by side in the pre-activations) are one sigmoid call per step
        assert "# sigmoid i, f lstm.l0[t=2]: one call" in forward
        assert forward.count("y = f") == 3 and forward.count(": one call") == 3
        assert forward.count("computed above in one call") == 3
    else:
        # each step's pre-activations are one kernel writing a plane per gate, the sigmoids i, f, o
        # first (negated), then one exp over those three planes, one kernel for their 1 / (e + 1) and
        # one tanh for g; no sigmoid or tanh call of the gates is left
        assert forward.count(" for its gates, a plane each (i, f, o, g), -x where a sigmoid reads it") == 3
        assert forward.count('with errstate(over="ignore"): exp(y[:3], out=y[:3])') == 3
        assert forward.count("(y[:3])  # the sigmoids' 1 / (exp(-x) + 1), in place") == 3
        assert forward.count("tanh(y[3:], out=y[3:])") == 3
        assert forward.count("computed with v[") == 12 and "y = f" not in forward
    # in backward each reached entry drops what it keeps once, after its VJP (or its part of one) ran:
    # the result is freed in full, the others drop their arrays and keep their parameters armed
    freed = re.findall(r"e(\d+)\.free\(\)(?!  # [^\n]*no gradient reaches it)", backward)
    dropped = re.findall(r"e(\d+)\.(?:ins|out) = None", backward)
    assert len(dropped) == len(set(dropped)) and freed == [str(len(recorded) + len(without_grad) - 1)]
    if compile_backend == "numpy":
        # and i and f have one VJP per step, a piece of the join of the step's gate pre-activations
        assert backward.count(": one VJP") == 3
        assert (
            len(re.findall(r"= concatenate\(\(q\[\d+\], q\[\d+\], q\[\d+\]\), axis=1\); g\[\d+\] \+= 0\.0", backward))
            == 3
        )
    else:  # each gate's VJP runs in the kernel of the product that reads it, which writes the gate's
        # slice of the step's joined gradient (one buffer a step) straight into it: no concatenate
        assert backward.count(": one VJP") == 0 and backward.count("its VJP ran in the kernel of") == 3 * 5
        # and the step's buffer is its row of the gradient of the projection chunk x_proj[t] slices:
        # the kernels fill the chunk's gradient row by row, with no stack
        assert len(re.findall(r"\n    g\[\d+\] = rows\d+\[\d\]  # add lstm", backward)) == 3
        assert len(re.findall(r"\n    rows\d+ = empty\(s\d+, t\d+\)  # reshape x_proj", backward)) == 1
        assert len(re.findall(r"\n    g\[\d+\] = rows\d+; rows\d+ = None", backward)) == 1
        assert backward.count(" = empty(") == 1 and "stack(" not in backward
        assert backward.count("its gradient is written in g[") == 3 * 4 and "= concatenate((q" not in backward
    program = list(step.programs.values())[-1]
    keeping = {str(k) for k, e in enumerate(program.entries) if e.ins is not None or e.out is not None}
    with tl.trace_backward() as trace:  # the sweep's own count of VJPs run
        loss.backward(retain_graph=True)
    assert len(trace) > len(keeping) and set(dropped) == keeping - set(freed)
    step(tl.randn(3, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)).backward()  # a replay
    # every array dropped (a product with a number, as mse_loss's mean, keeps only the number)
    assert all(e.out is None and not any(isinstance(a, np.ndarray) for a in e.ins or ()) for e in program.entries)


def test_mixed_dtypes_are_cast_as_the_sweep_casts_them():
    w = tl.Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    scale = np.array([0.5, 2.0, -1.0])  # float64: the product is float64, w's gradient float32

    def loss_fn(x):
        return ((x @ w) * scale).tanh().sum()

    step = tl.compile(loss_fn)
    x = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    step(x).backward()
    w.grad = None
    step(x).backward()  # replayed
    replayed = w.grad.data
    w.grad = None
    loss_fn(tl.Tensor(x)).backward()
    assert replayed.dtype == np.float32
    np.testing.assert_array_equal(replayed, w.grad.data)


def test_a_result_replayed_over_refuses_backward_instead_of_using_the_later_arrays():
    model = Regressor(nn.LSTM(3, 4, dtype=np.float64), 4)
    step = tl.compile(lambda x, y: nn.functional.mse_loss(model(x), y))
    first = step(tl.randn(5, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64))
    second = step(
        tl.randn(5, 2, 3, dtype=np.float64), tl.randn(2, 1, dtype=np.float64)
    )  # a replay: the entries now hold its arrays
    for call in (lambda: first.backward(), lambda: tl.grad(first, list(model.parameters()))):
        with pytest.raises(RuntimeError, match="replayed over"):
            call()
    second.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_joined_slices_give_the_sweeps_bits_signed_zeros_included():
    """Slices that tile an array get one concatenate (plus 0.0) in a program; the sweep adds each to
    zeros. A -0.0 in a slice's gradient becomes +0.0 both ways."""
    w = tl.Tensor(np.array([[1.0, -2.0, 3.0, 0.5, -1.5, 2.5]]), requires_grad=True)
    scale = np.array([[-0.0, 2.0]])

    def loss_fn(x):
        a, b, c = tl.split(x * w, 3, axis=1)
        return (a * scale).sum() + (b * b).sum() + c.tanh().sum()

    step = tl.compile(loss_fn)
    x = np.array([[0.3, -0.7, 1.1, 0.2, 0.9, -0.4]])
    step(x).backward()
    assert "concatenate(" in step.source
    w.grad = None
    step(x).backward()
    replayed = w.grad.data
    w.grad = None
    loss_fn(tl.Tensor(x)).backward()
    np.testing.assert_array_equal(replayed, w.grad.data)
    assert np.array_equal(np.signbit(replayed), np.signbit(w.grad.data))


def test_a_whole_training_step_under_compile_is_refused_with_what_to_do_and_changes_nothing():
    lstm, head = tl.nn.LSTM(2, 4), tl.nn.Linear(4, 1)
    params = [*lstm.parameters(), *head.parameters()]
    opt = tl.optim.SGD(params, lr=0.1)
    before = [p.data.copy() for p in params]
    x, y = tl.randn(5, 3, 2, dtype=np.float32), tl.zeros(3, 1, dtype=np.float32)

    @tl.compile
    def train_step(x, y):  # what people try first: everything inside
        opt.zero_grad()
        out, _ = lstm(x)
        loss = tl.nn.functional.mse_loss(head(out[-1]), y)
        loss.backward()
        opt.step()
        return loss

    with pytest.raises(
        tl.CompileError, match=r"zero_grad\(\) inside a compiled function.*loss.backward\(\); opt.step\(\)"
    ):
        train_step(x, y)
    assert all(np.array_equal(p.data, b) for p, b in zip(params, before))
    assert not tl.tape.state.guards  # the failed recording is over

    @tl.compile
    def loss_of(x, y):  # what the error says: the forward pass only
        out, _ = lstm(x)
        return tl.nn.functional.mse_loss(head(out[-1]), y)

    for _ in range(2):
        opt.zero_grad()
        loss = loss_of(x, y)
        loss.backward()
        opt.step()
    assert not all(np.array_equal(p.data, b) for p, b in zip(params, before))


NEW_OPTIMIZERS = [
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.01)),
    ("Adadelta", dict(lr=1.0, rho=0.8, weight_decay=0.01)),
    ("Adamax", dict(lr=0.01, maximize=False)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, kw", NEW_OPTIMIZERS, ids=[n for n, _ in NEW_OPTIMIZERS])
def test_compiled_training_with_each_new_optimizer_and_a_schedule_matches_eager_exactly(name, kw):
    """A compiled loss, stepped by the optimizer and a warm-up-then-restarts schedule outside it: each
    replay reads the weights the last step wrote, so every loss, gradient and weight is eager's."""
    eager, compiled = twin_models(lambda: Regressor(nn.LSTM(3, 4, dtype=np.float64), 4))
    run = []
    for model in (eager, compiled):
        opt = getattr(tl.optim, name)(model.parameters(), **kw)
        sched = tl.optim.lr_scheduler
        warm = sched.LinearLR(opt, start_factor=0.5, total_iters=2)
        run.append((opt, sched.SequentialLR(opt, [warm, sched.CosineAnnealingWarmRestarts(opt, 2)], [2])))
    (opt_e, sched_e), (opt_c, sched_c) = run
    step = tl.compile(lambda x, y: nn.functional.mse_loss(compiled(x), y), exact=True)
    rng = np.random.default_rng(4)
    for _ in range(5):
        x, y = rng.standard_normal((4, 2, 3)), rng.standard_normal((2, 1))
        opt_e.zero_grad()
        opt_c.zero_grad()
        loss_e = nn.functional.mse_loss(eager(tl.Tensor(x)), tl.Tensor(y))
        loss_c = step(x, y)
        assert loss_c.item() == loss_e.item()
        loss_e.backward()
        loss_c.backward()
        opt_e.step()
        opt_c.step()
        sched_e.step()
        sched_c.step()
    for (label, pe), pc in zip(eager.named_parameters(), compiled.parameters()):
        np.testing.assert_array_equal(pe.data, pc.data, err_msg=label)
    assert step.replays == 4 and sched_c.get_last_lr() == sched_e.get_last_lr()
    assert opt_c.state_dict()["state"].keys() == opt_e.state_dict()["state"].keys()


@pytest.mark.parametrize(
    "inside",
    [
        lambda opt, schedules: opt.step(),
        lambda opt, schedules: opt.zero_grad(),
        lambda opt, schedules: schedules[0].step(),
        lambda opt, schedules: schedules[1].step(0.5),
        lambda opt, schedules: schedules[2].step(),
        lambda opt, schedules: schedules[3].step(),
    ],
    ids=["NAdam.step", "zero_grad", "SequentialLR", "CosineAnnealingWarmRestarts", "ChainedScheduler", "CyclicLR"],
)
def test_new_optimizer_and_schedule_steps_inside_a_compiled_function_are_refused_and_change_nothing(inside):
    lin = nn.Linear(3, 1, dtype=np.float64)
    opt = tl.optim.NAdam(lin.parameters(), lr=0.1)
    sched = tl.optim.lr_scheduler
    schedules = [
        sched.SequentialLR(opt, [sched.ConstantLR(opt, 0.5, 2), sched.ExponentialLR(opt, 0.9)], [2]),
        sched.CosineAnnealingWarmRestarts(opt, 3),
        sched.ChainedScheduler([sched.ExponentialLR(opt, 0.9)]),
        sched.CyclicLR(opt, 0.01, 0.1, step_size_up=2),
    ]
    for p in lin.parameters():
        p.grad = tl.Tensor(np.ones_like(p.data))
    before = [p.data.copy() for p in lin.parameters()]
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]

    def f(x):
        inside(opt, schedules)
        return lin(tl.Tensor(x)).sum()

    with pytest.raises(tl.CompileError, match="recording call only"):
        tl.compile(f)(np.ones((2, 3)))
    for p, b in zip(lin.parameters(), before):
        np.testing.assert_array_equal(p.data, b)
        np.testing.assert_array_equal(p.grad.data, 1.0)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups
    assert not opt.state


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_generated_programs_of_shared_weight_products_replay_the_eagers_gradients(data):
    """Programs drawn at random: several products of one weight (used directly or transposed, with
    inputs of 1-3 axes), an optional recurrence through a second weight, and a chunk budget from 1 row
    up. Replayed, every gradient equals eager's to round-off, and the weight's is not left out."""
    from tinygrad_lstm.compiler import program as compile_module

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(compile_module, "WEIGHT_CHUNK_ROWS", data.draw(st.integers(1, 24), label="budget"))
        _check_a_generated_shared_weight_program(data)


def _check_a_generated_shared_weight_program(data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    k, n = data.draw(st.integers(1, 4), label="k"), data.draw(st.integers(1, 4), label="n")
    transposed = data.draw(st.booleans(), label="transposed")
    recurrent = data.draw(st.booleans(), label="recurrent")
    leads = data.draw(st.lists(st.lists(st.integers(1, 3), max_size=2), min_size=2, max_size=10), label="leads")
    if recurrent:  # a recurrence needs one shape of state
        leads = [leads[0]] * len(leads)
    xs = [rng.standard_normal((*lead, k)) for lead in leads]
    weights = [rng.standard_normal((n, k) if transposed else (k, n)), rng.standard_normal((n, n))]

    def make():
        return [tl.Tensor(w.copy(), requires_grad=True) for w in weights]

    def loss_fn(params, *inputs):
        w, u = params
        total = 0.0
        h = None
        for x in inputs:
            y = x @ (w.T if transposed else w)
            if recurrent and h is not None:
                y = y + h @ u
            h = y.tanh()
            total = total + (h * h).sum()
        return total

    eager, compiled = make(), make()
    loss_fn(eager, *[tl.Tensor(x) for x in xs]).backward()
    step = tl.compile(lambda *inputs: loss_fn(compiled, *inputs))
    for _ in range(2):  # record, then replay
        for p in compiled:
            p.grad = None
        step(*xs).backward()
    assert step.replays == 1
    for name, pe, pc in zip(("w", "u"), eager, compiled):
        if pe.grad is None:
            assert pc.grad is None, name
            continue
        scale = max(np.abs(pe.grad.data).max(), 1e-300)
        np.testing.assert_allclose(pc.grad.data, pe.grad.data, rtol=0, atol=1e-12 * scale, err_msg=name)


EDGES = [-np.inf, -800.0, -40.0, -1.5, -0.0, 0.0, 1e-30, 0.7, 20.0, np.inf, np.nan]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
def test_a_fused_gates_vjp_is_each_gates_vjp_joined_bit_for_bit(op, dtype):
    """tl.compile runs side-by-side gates' VJPs as one (fusion.vjp_lines, source text): over the
    joined outputs and gradients it gives, bit for bit, each gate's VJP (primitives/elementwise.py) joined, at the
    edges too (signed zeros, infinities, NaNs, saturated outputs)."""
    from types import SimpleNamespace

    from tinygrad_lstm.compiler import fusion
    from tinygrad_lstm.primitives import PRIMITIVES

    rng = np.random.default_rng(0)
    x = rng.permutation(np.array(EDGES * 3, dtype=dtype)).reshape(3, 11)
    g = rng.permutation(np.array([-0.0, 0.0, 3e38, -np.inf, np.nan, 2.5, -1e-40, 3.0, 0.5, -7.0, 1.0] * 3, dtype))
    g = g.reshape(3, 11)
    with np.errstate(all="ignore"):
        y = PRIMITIVES[op].fwd(None, x)
        vjp = PRIMITIVES[op].vjp
        parts = [(slice(None), slice(0, 4)), (slice(None), slice(4, 11))]
        each = np.concatenate([vjp(g[part], SimpleNamespace(out=y[part]))[0] for part in parts], axis=1)
        namespace = {"multiply": np.multiply, "subtract": np.subtract, "y": y, "g": g}
        exec("\n".join(fusion.vjp_lines(op, "y", "g")), namespace)
    fused = namespace["d"]
    assert fused.dtype == each.dtype == dtype
    as_bits = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(fused.view(as_bits), each.view(as_bits))


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_generated_gate_programs_replay_the_eagers_bits(data):
    """Programs drawn at random: a recurrent cell whose pre-activations are sliced into 2-5 gates
    (along the last axis or the first), each gate a sigmoid, a tanh, an exp or the slice itself, read
    by products and sums with the state or by a reduction. Where gates side by side share an op,
    the replay runs them as one call and one VJP; the loss and every gradient equal eager's bit for
    bit (exact=True), through three calls with new inputs."""
    dtype = data.draw(st.sampled_from([np.float32, np.float64]), label="dtype")
    widths = data.draw(st.lists(st.integers(1, 3), min_size=2, max_size=5), label="widths")
    n = len(widths)
    gate_ops = ["sigmoid"] * 3 + ["tanh"] * 2 + ["exp", "slice"]  # weighted towards runs that fuse
    gates = data.draw(st.lists(st.sampled_from(gate_ops), min_size=n, max_size=n), label="gates")
    reader_ops = ["mul"] * 3 + ["add", "div", "sum"]
    readers = data.draw(st.lists(st.sampled_from(reader_ops), min_size=n, max_size=n), label="readers")
    along_first = data.draw(st.booleans(), label="along_first")
    # the pre-activations from one array (a gates kernel of one argument: it failed to compile in numba)
    one_array = data.draw(st.booleans(), label="one_array")
    steps, batch = data.draw(st.integers(1, 3), label="steps"), data.draw(st.integers(1, 3), label="batch")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    width, k = sum(widths), 2
    edges = np.cumsum([0, *widths])
    weights = [rng.standard_normal(s).astype(dtype) for s in ((k, width), (batch, width))]

    def loss_fn(params, xs):
        w, u = params
        gate_axis = 0 if along_first else 1
        h = tl.Tensor(np.ones((1, batch) if along_first else (batch, 1), dtype))  # the state, across the gates
        total = 0.0
        for t in range(steps):
            pre = xs[t] @ w * 1.5 if one_array else xs[t] @ w + u * (h.T if along_first else h)  # (batch, width)
            if along_first:
                pre = pre.T  # slices pre[a:b] of its first axis
            for (a, b), gate, reader in zip(zip(edges, edges[1:]), gates, readers):
                z = pre[a:b] if along_first else pre[:, a:b]
                z = z if gate == "slice" else getattr(z, gate)()
                if reader == "sum":
                    total = total + z.sum()
                    continue
                z = {"mul": h * z, "add": h + z, "div": z / (1.5 + h * h)}[reader]
                h = z.sum(axis=gate_axis, keepdims=True)
            total = total + (h * h).sum()
        return total

    def make():
        return [tl.Tensor(w.copy(), requires_grad=True) for w in weights]

    eager, compiled = make(), make()
    step = tl.compile(lambda *xs: loss_fn(compiled, xs), exact=True)
    as_bits = np.uint32 if dtype == np.float32 else np.uint64
    for call in range(3):
        xs = [rng.standard_normal((batch, k)).astype(dtype) for _ in range(steps)]
        for p in eager + compiled:
            p.grad = None
        with np.errstate(all="ignore"):
            want = loss_fn(eager, [tl.Tensor(x) for x in xs])
            want.backward()
            got = step(*xs)
            got.backward()
        assert _same_bits(got.data, want.data, as_bits), call
        for name, pe, pc in zip(("w", "u"), eager, compiled):
            if pe.grad is None:  # u, unused when the pre-activations come from one array
                assert pc.grad is None and one_array
                continue
            assert _same_bits(pc.grad.data, pe.grad.data, as_bits), (name, pc.grad.data, pe.grad.data)
    assert step.replays == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gates_computed_from_one_array_replay_the_eagers_bits(dtype):
    """An LSTM-like cell whose pre-activations come from one array (``x[t] @ w * 1.5``: the gates
    kernel has one argument). Its numba source unpacked that argument's row as a tuple and failed to
    compile; the generated programs above draw it too, but rarely within their 60 examples."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 8)).astype(dtype)

    def loss_fn(w, x):
        h = c = tl.Tensor(np.zeros((5, 2), dtype))
        for t in range(3):
            z = x[t] @ w * 1.5
            i, f, g, o = z[:, 0:2].sigmoid(), z[:, 2:4].sigmoid(), z[:, 4:6].tanh(), z[:, 6:8].sigmoid()
            c = f * c + i * g
            h = o * c.tanh()
        return (h * h).sum()

    eager, compiled = tl.Tensor(w0.copy(), requires_grad=True), tl.Tensor(w0.copy(), requires_grad=True)
    step = tl.compile(lambda x: loss_fn(compiled, x), exact=True)
    as_bits = np.uint32 if dtype == np.float32 else np.uint64
    for _ in range(3):
        x = rng.standard_normal((3, 5, 3)).astype(dtype)
        eager.grad = compiled.grad = None
        want, got = loss_fn(eager, tl.Tensor(x)), step(x)
        want.backward()
        got.backward()
        assert _same_bits(got.data, want.data, as_bits)
        assert _same_bits(compiled.grad.data, eager.grad.data, as_bits)
    assert step.replays == 2


def _same_bits(a: np.ndarray, b: np.ndarray, as_bits) -> bool:
    """Equal bit for bit, except the sign of a NaN: where both sides are NaN, either sign. NaNs of both
    signs arise together (inf - inf gives -NaN on x86, np.nan is +NaN), and a program drawn with exp
    gates overflowing to inf gave a replayed NaN the other sign than eager's (the cause is not pinned
    down: an addition's operands in the other order would do it and change no number's bits)."""
    both_nan = np.isnan(a) & np.isnan(b)
    return bool(
        np.array_equal(np.isnan(a), np.isnan(b))
        and np.array_equal(a.view(as_bits)[~both_nan], b.view(as_bits)[~both_nan])
    )


def test_slices_that_fix_an_earlier_axis_or_index_a_0d_value_replay_as_eager():
    """Only slices that take the whole of every axis before the sliced one tile an array: ``y[0, :2]``
    and ``y[0, 2:]`` cover row 0 only, and ``v[()]`` of a 0-d value slices no axis (it raised an
    IndexError while recording)."""
    w = tl.Tensor(np.arange(1.0, 9.0).reshape(2, 4), requires_grad=True)

    def f(x):
        y = x * w  # read by the two slices only
        v = (x * w).sum()
        return (y[0, :2] * 3).sum() + y[0, 2:].tanh().sum() + v[()] * v[()]

    step = tl.compile(f)
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    grads = []
    for run in (step, step, lambda x: f(tl.Tensor(x))):  # records, replays, eager
        w.grad = None
        loss = run(x)
        loss.backward()
        grads.append((loss.data, w.grad.data))
    # the formula: y = x * w, s = sum(y); d/dw = x * (3 on row 0 cols 0-1, 1 - tanh^2 on row 0 cols 2-3, + 2s)
    y = x * w.data
    local = np.zeros((2, 4))
    local[0, :2], local[0, 2:] = 3.0, 1 - np.tanh(y[0, 2:]) ** 2
    np.testing.assert_allclose(grads[2][1], x * (local + 2 * y.sum()), rtol=1e-13)
    for loss, grad in grads[:2]:
        np.testing.assert_array_equal(loss, grads[2][0])
        np.testing.assert_array_equal(grad, grads[2][1])


def test_a_strided_slice_is_not_a_piece_of_a_tiling():
    """``y[0:2:2]`` (element 0 only) and ``y[2:]`` start and end where a tiling's pieces would, but
    element 1 is in neither: joining their gradients gave a gradient one element short."""
    w = tl.Tensor(np.arange(1.0, 5.0), requires_grad=True)

    def f(x):
        y = x * w
        return (y[0:2:2] * 3).sum() + (y[2:] ** 2).sum()

    step = tl.compile(f)
    x = np.array([0.5, -1.0, 2.0, 0.25])
    expected = x * np.array([3.0, 0.0, 2 * x[2] * 3.0, 2 * x[3] * 4.0])  # d/dw of 3 x0 w0 + (x2 w2)^2 + (x3 w3)^2
    for _ in range(2):  # records, replays
        w.grad = None
        step(x).backward()
        np.testing.assert_array_equal(w.grad.data, expected)


def test_a_difference_of_two_same_shape_operands_sends_g_and_minus_g():
    a = tl.Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    b = tl.Tensor(np.array([[1.5, 0.25, -3.0]]), requires_grad=True)
    step = tl.compile(lambda x: ((x * a - x * b) ** 2).sum())
    x = np.array([[2.0, -1.0, 0.5]])
    for _ in range(2):  # records, replays
        a.grad = b.grad = None
        step(x).backward()
        d = x * a.data - x * b.data  # d/da of sum(d^2) = 2 d x, d/db = -2 d x
        np.testing.assert_array_equal(a.grad.data, 2 * d * x)
        np.testing.assert_array_equal(b.grad.data, -(2 * d * x))
    if step.backend == "numba":  # the sub's VJP as g and -g, without a call of its VJP
        assert re.search(r"d0 = g\[\d+\]; d1 = negative\(g\[\d+\]\)  # sub: its VJP without a call", step.source)


def test_slices_that_tile_an_array_beside_a_fancy_index_of_it_keep_every_gradient():
    """``y[:, :2]`` and ``y[:, 2:]`` tile y, but ``y[[0]]`` reads it too: y's gradient is the sum of
    all three, not the join of the two slices."""
    w = tl.Tensor(np.arange(1.0, 9.0).reshape(2, 4) / 4, requires_grad=True)

    def f(x):
        y = x * w
        return (y[:, :2] ** 2).sum() + y[:, 2:].sum() + y[[0]].sum() * 3

    step = tl.compile(f)
    x = np.linspace(-1, 1, 8).reshape(2, 4)
    y = x * w.data
    dy = np.concatenate([2 * y[:, :2], np.ones((2, 2))], axis=1)
    dy[0] += 3
    for _ in range(2):  # records, replays
        w.grad = None
        step(x).backward()
        np.testing.assert_allclose(w.grad.data, dy * x, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("batch, hidden", [(1, 1), (3, 7), (2, 33)])
def test_saturated_gates_at_odd_sizes_replay_eagers_bits_without_warnings(compile_backend, dtype, batch, hidden):
    """Weights scaled so that exp(-x) overflows in the sigmoids (gates exactly 0 or 1) and tanh
    saturates; sizes that leave SIMD loops a remainder. On numba's backend the pre-activations are one
    kernel, negated for the sigmoids, and NumPy's exp and tanh run over column slices in place."""
    tl.manual_seed(3)
    lstm = nn.LSTM(2, hidden, dtype=dtype)
    for p in lstm.parameters():
        p.data *= 60.0
    x = np.random.default_rng(4).standard_normal((3, batch, 2)).astype(dtype)

    def loss_of(x):
        out, (h, c) = lstm(x)
        return (out * out).mean() + (c * c).mean()

    loss_e = loss_of(tl.Tensor(x))
    loss_e.backward()
    eager = [p.grad.data.copy() for p in lstm.parameters()]
    step = tl.compile(loss_of, exact=True)
    for _ in range(2):  # records, then replays
        lstm.zero_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # eager's sigmoid silences exp's overflow; so must the replay
            loss_c = step(x)
            loss_c.backward()
        assert loss_c.item() == loss_e.item()
        for pe, p in zip(eager, lstm.parameters()):  # bytes: -0.0 and 0.0 differ (a saturated gate's 0 * -g)
            assert pe.tobytes() == p.grad.data.tobytes()
    assert step.replays == 1
    assert ("-x where a sigmoid reads it" in step.source) == (compile_backend == "numba")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_a_saturated_gates_zero_gradient_is_positive_zero_as_in_the_sweeps_join(compile_backend, dtype):
    """A cell written by hand, whose pre-activations come from an elementwise product (not a matmul,
    whose sums would hide the sign of a zero): gates at exactly 1 have the local derivative (1 - 1) *
    1 = 0, so their gradient is 0 * -g = -0.0; the sweep joins the gates' gradients into zeros (0.0 +
    -0.0 = 0.0), and the weight's gradient (that join times 1) shows the sign. Kernels that write the
    gates' gradients straight into the join must add the 0.0 too."""
    w = tl.Tensor(np.full((2, 8), 50.0, dtype), requires_grad=True)  # every pre-activation is 50

    def loss_of(x, c):
        pre = x * w
        i, f, g, o = pre[:, 0:2].sigmoid(), pre[:, 2:4].sigmoid(), pre[:, 4:6].tanh(), pre[:, 6:8].sigmoid()
        h = o * (f * c + i * g).tanh()
        return -h.sum()  # dL/dh = -1: each gate's gradient before its local derivative is negative

    x, c = np.ones((2, 8), dtype), np.ones((2, 2), dtype)
    loss_of(tl.Tensor(x), tl.Tensor(c)).backward()
    eager = w.grad.data.copy()
    assert not np.signbit(eager).any() and (eager == 0).all()  # the sweep's 0.0 + -0.0, times 1
    step = tl.compile(loss_of)
    for _ in range(2):
        w.grad = None
        step(x, c).backward()
        assert w.grad.data.tobytes() == eager.tobytes()
    if compile_backend == "numba":  # the join this test is about
        assert "its gradient is written in g[" in step.source


def test_gradients_summed_inside_kernels_keep_the_sweeps_order(compile_backend):
    """A product's gradient with three contributions, and a tanh whose input already has a gradient:
    on numba's backend the product's VJP kernel adds the contributions up, and the kernel the tanh's
    VJP runs in adds its result to its input's gradient, in the sweep's order. Magnitudes that differ
    by 1e8 make (a + b) + c and a + (b + c) differ, so another order would show in the bits."""
    rng = np.random.default_rng(5)
    w = tl.Tensor(rng.standard_normal((3, 6)), requires_grad=True)
    big, small, tiny = (rng.standard_normal((3, 6)) * s for s in (1e8, 1.0, 1e-8))

    def loss_of(x):
        m = x * w  # read three times: its gradient is a sum of three
        z = m * 0.5
        y = z.tanh() * w  # the tanh's VJP runs in this product's kernel, z's gradient already started
        return (m * big).sum() + (m * small).sum() + (m * tiny).sum() + y.sum() + (z * small).sum()

    x = rng.standard_normal((3, 6))
    loss_of(tl.Tensor(x)).backward()
    eager = w.grad.data.copy()
    step = tl.compile(loss_of)
    for _ in range(2):
        w.grad = None
        step(x).backward()
        assert w.grad.data.tobytes() == eager.tobytes()
    if compile_backend == "numba":
        assert ", which sums its gradient" in step.source and ", adding to g[" in step.source
