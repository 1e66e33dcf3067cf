"""Instruments for studying autograd: tape listing with sources, backward trace, anomaly mode,
memory by time step, gradients per step."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.cli import main


def test_tape_listing_names_inputs_scopes_and_source_lines():
    x = tl.Tensor(np.ones((2, 3)), requires_grad=True).named("x")
    with tl.Tape(sources=True) as tape:
        with tl.scope("layer", t=0):
            y = (x * 2).tanh().named("y")  # the line the listing must point at
        z = y.sum()
    lines = tape.listing().splitlines()
    assert lines[0].split()[:3] == ["%0", "=", "mul(x,"]
    assert "y(%1) = tanh(%0)" in lines[1] and "layer[t=0]" in lines[1]
    assert "test_instruments.py:" in lines[1] and "the line the listing must point at" in lines[1]
    assert lines[2].split()[:3] == ["%2", "=", "sum(y(%1))"]
    assert z.requires_grad
    assert [e.op for e in tape.filter(scope="t=0")] == ["mul", "tanh"]
    assert tape.filter(op="sum")[0] is tape[2]


def test_a_source_line_points_past_the_library_to_the_line_that_asked():
    """Entries made inside a method, a composite or a loss name the caller's line, not the library's."""
    logits = tl.Tensor(np.array([[0.5, -1.0, 2.0]]), requires_grad=True)
    with tl.Tape(sources=True) as tape:
        loss = tl.nn.functional.cross_entropy(logits.softmax(-1).log(), np.array([2]))  # the loss line
    assert len(tape) > 3 and loss.requires_grad
    for entry in tape:
        assert entry.source.startswith("test_instruments.py:") and "the loss line" in entry.source, entry


def test_cli_tape_prints_a_step_its_trace_and_memory(capsys):
    assert main(["tape", "--cell", "lstm", "--steps", "2", "--scope", "t=1", "--trace", "--memory"]) == 0
    out = capsys.readouterr().out
    step = out.split("# memory")[0]
    for name in ["i(%", "f(%", "g(%", "o(%", "c(%", "h(%"]:
        assert name in step
    assert "lstm.l0[t=0]" not in step  # the filter kept only step 1
    assert "cells.py:" in step  # the equation's line in the cell
    assert "# backward trace" in out and "-> .grad" in out
    memory_rows = [line.split() for line in out.split("# memory")[1].split("# backward")[0].splitlines()]
    assert [row[:2] for row in memory_rows if row and row[0] == "lstm.l0"] == [["lstm.l0", "0"], ["lstm.l0", "1"]]


def test_backward_trace_records_every_vjp_in_sweep_order_with_true_norms():
    rng = np.random.default_rng(0)
    x = tl.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = tl.Tensor(rng.standard_normal((4, 2)), requires_grad=True)
    h = (x @ w).tanh()
    h.retain_grad()
    y = (h * h).sum()
    with tl.trace_backward() as trace:
        y.backward()
    ops = [r.op for r in trace]
    assert ops[:4] == ["sum", "mul", "tanh", "matmul"] and sorted(ops[4:]) == ["leaf", "leaf"]
    norms = trace.grad_norms()
    assert norms[h.entry.index] == pytest.approx(np.linalg.norm(h.grad.data))
    leaf_records = {r.entry.index: r.grad_norm for r in trace if r.op == "leaf"}
    assert leaf_records[w.entry.index] == pytest.approx(np.linalg.norm(w.grad.data))
    matmul = next(r for r in trace if r.op == "matmul")
    assert {s.role for s in matmul.saved} == {"in0", "in1"}
    assert sum(s.nbytes for s in matmul.saved) == x.data.nbytes + w.data.nbytes
    sent = dict((p.index, n) for p, n in matmul.sent)
    assert sent[x.entry.index] == pytest.approx(np.linalg.norm(x.grad.data))


def test_anomaly_mode_catches_log_of_a_negative_inside_an_lstm_step_and_names_it():
    tl.manual_seed(0)
    cell = tl.nn.LSTMCell(2, 3, dtype=np.float64)
    xs = tl.randn(5, 1, 2, dtype=np.float64)
    state = None
    with pytest.raises(tl.AnomalyError) as err, tl.detect_anomaly():
        for t in range(5):
            with tl.scope("lstm.l0", t=t):
                state = cell(xs[t], state)
                (state[1] + 1.0 - 0.5 * t).log()  # turns negative after a few steps
    message = str(err.value)
    assert "log" in message and "produced nan in forward" in message
    assert "lstm.l0[t=" in message
    assert "test_instruments.py" in message and "turns negative after a few steps" in message


def test_anomaly_mode_catches_inf_in_backward_and_normal_runs_record_no_source():
    x = tl.Tensor(np.array([0.0, 4.0]), requires_grad=True)
    with tl.detect_anomaly():
        y = x.sqrt().sum()  # d sqrt / dx is inf at 0
        with pytest.raises(tl.AnomalyError, match=r"sqrt .* sent inf to input 0 in backward") as err:
            with np.errstate(divide="ignore"):
                y.backward()
    assert "d sqrt / dx is inf at 0" in str(err.value)
    z = x.sqrt()
    assert z.entry.source is None  # outside the mode nothing is recorded
    assert not tl.tape.state.instruments and not tl.tape.state.observers  # the hook points are empty again


def test_memory_by_step_grows_linearly_with_sequence_length():
    B, I = 2, 4
    input_bytes = B * I * 4  # per step: the input projection keeps its slice of x for d weight_ih

    def total(T):
        tl.manual_seed(1)
        lstm = tl.nn.LSTM(I, 8)
        with tl.Tape() as tape:
            lstm(tl.randn(T, B, I, dtype=np.float32))
        rows = tl.memory_by_step(tape)
        steps = [m for m in rows if m.layer == "lstm.l0"]
        chunks = [m for m in rows if m.layer == "lstm.l0.x_proj"]
        assert [m.t for m in steps] == list(range(T))
        assert [m.t for m in chunks] == list(range(0, T, lstm.projection_chunk))
        # every step alike, but t=1 also keeps weight_hh^T (8, 32) for d h: at t=0 the state is a constant
        # zero, so its product keeps only that zero, for d weight_hh (what an entry keeps follows what needs a
        # gradient, as in PyTorch)
        assert len({m.nbytes for m in steps[:1] + steps[2:]}) == 1
        assert steps[1].nbytes == steps[0].nbytes + 8 * 32 * 4
        for m in chunks[1:]:  # weight_ih is counted with the first chunk
            assert m.nbytes == input_bytes * min(lstm.projection_chunk, T - m.t)
        return sum(m.nbytes for m in steps + chunks), steps[2].nbytes

    t10, per_step = total(10)
    t40, per_step_40 = total(40)
    assert per_step == per_step_40 == 448  # i, f, g, o, c_prev, tanh c, h_prev: 7 x (2, 8) float32
    assert t40 - t10 == 30 * (per_step + input_bytes)
    table = tl.memory_table(tl.Tape.of(tl.nn.RNN(2, 2)(tl.zeros(3, 1, 2, dtype=np.float32))[0]))
    assert "running total" in table and "rnn.l0" in table


def test_probe_collects_dl_dh_for_every_step():
    tl.manual_seed(2)
    rnn = tl.nn.RNN(3, 5, num_layers=2, dtype=np.float64)
    x = tl.randn(6, 2, 3, dtype=np.float64)
    with tl.probe_gradients("h") as probe, tl.Tape() as tape:
        out, h_n = rnn(x)
    with tl.trace_backward() as trace:
        (out[-1] ** 2).sum().backward()
    norms = probe.norms("h")
    assert sorted({layer for layer, _ in norms}) == ["rnn.l0", "rnn.l1"]
    assert len(norms) == 12
    # the hooks see what the sweep computed at each h_t (the trace reads it independently)
    traced = trace.grad_norms()
    for e in tape:
        if e.name == "h":
            assert norms[(e.scope.name, e.scope.attrs["t"])] == pytest.approx(traced[e.index], rel=1e-12)
    ratios = probe.ratios("h", "rnn.l1")
    assert ratios[0] == 1.0 and ratios[5] < ratios[1]


def test_the_guards_hook_point_hears_what_a_recorded_step_could_not_repeat_and_a_refusal_changes_nothing():
    """``tape.state.guards``: the engine reports, with no compiler in sight, a recorded value read into
    Python, an unrecorded in-place write, a backward pass and dropout's draw; a guard that raises stops
    the write before the array changes."""
    heard = []
    x = tl.Tensor(np.ones(3), requires_grad=True)
    plain = tl.Tensor(np.zeros(3))
    tl.tape.state.guards.append(lambda event, what: heard.append((event, what)))
    try:
        y = (x * 2.0).sum()
        y.item()
        plain += 1.0
        y.backward()
        tl.nn.functional.dropout(x, 0.5)
        assert tl.nn.functional.dropout(x, 0.5, training=False) is x  # no draw: nothing heard
    finally:
        tl.tape.state.guards.clear()
    assert [event for event, _ in heard] == ["value", "write", "backward", "draw"]
    assert "item()" in heard[0][1] and heard[1][1] == "add_"

    def refuse(event, what):
        raise RuntimeError(f"refused {event}: {what}")

    tl.tape.state.guards.append(refuse)
    try:
        with pytest.raises(RuntimeError, match="refused write: add_"):
            plain += 1.0
    finally:
        tl.tape.state.guards.remove(refuse)
    assert np.array_equal(plain.data, np.ones(3))  # one write heard and done, the refused one not done
