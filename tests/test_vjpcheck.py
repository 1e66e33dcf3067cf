"""Gradcheck on the picture (issue 31 §2): every VJP on a tape against central differences, and drawn.

A wrong VJP (a sign, a transpose, a missing term), in a user's tl.Function or in a monkeypatched
primitive, must be found at its own entries, at every time step it was used, and nowhere else."""

import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import blas, ops
from tinygrad_lstm.primitives.elementwise import TANH
from tinygrad_lstm.primitives.linalg import MATMUL_T
from tinygrad_lstm.viz import find_renderer
from tinygrad_lstm.viz.errors import ErrorScale

T, H = 5, 3


class SiluMissingTerm(tl.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x.sigmoid()

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * x.sigmoid()  # d/dx x*s(x) = s + x*s*(1-s): the second term is missing


class TanhRight(tl.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * (1 - y * y)


class TanhWrongSign(TanhRight):
    @staticmethod
    def backward(ctx, g):
        return -TanhRight.backward(ctx, g)  # the sign is wrong


def unrolled_rnn(activation, inputs=True, steps=T, seed=0):
    """A tanh RNN written out from primitives, its nonlinearity ``activation``, float32 weights."""
    rng = np.random.default_rng(seed)
    w_xh = tl.Tensor(rng.normal(0, 0.5, (2, H)).astype(np.float32), requires_grad=True).named("W_xh")
    w_hh = tl.Tensor(rng.normal(0, 0.6, (H, H)).astype(np.float32), requires_grad=True).named("W_hh")
    xs = rng.normal(size=(steps, 2, 2)).astype(np.float32)
    with tl.Tape(inputs=inputs) as tape:
        h = tl.zeros(2, H, dtype=np.float32)
        for t in range(steps):
            with tl.scope("rnn", t=t):
                h = activation(tl.Tensor(xs[t]) @ w_xh + h @ w_hh).named("h")
        loss = (h * h).mean().named("loss")
    tape.weights = (w_xh, w_hh)  # alive: a plain tape reads leaves' current values
    return tape, loss


def failing(check):
    return [c.entry for c in check.failures()]


def test_right_vjps_agree_to_round_off_after_backward_with_inputs_kept():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 3)  # float32, as trained
    with tl.Tape(inputs=True) as tape:
        out, _ = lstm(tl.randn(4, 2, 2))
        loss = (out[-1] ** 2).mean()
    loss.backward()  # frees what the entries saved: the tape's copies are what the check runs on
    check = tl.check_vjps(tape)
    assert check.ok and not check.skipped
    assert len(check.errors) == len(tape) and check.worst.error < 1e-7
    assert "all agree" in check.headline()


def test_a_plain_tape_is_checked_before_backward_and_says_why_not_after():
    tape, loss = unrolled_rnn(lambda z: z.tanh(), inputs=False)
    check = tl.check_vjps(tape)
    assert check.ok and not check.skipped and len(check.errors) == len(tape)
    loss.backward()
    after = tl.check_vjps(tape)
    assert not after.errors and len(after.skipped) == len(tape)
    assert "tl.Tape(inputs=True)" in after.skipped[0].skipped


@pytest.mark.parametrize("function", [TanhWrongSign, SiluMissingTerm])
def test_a_wrong_function_lights_up_at_its_own_entries_every_step_and_nowhere_else(function):
    tape, loss = unrolled_rnn(function.apply)
    loss.backward()
    check = tl.check_vjps(tape)
    own = [e for e in tape if e.op == function.__name__]
    assert len(own) == T
    assert failing(check) == own  # every time step, in order, and nothing else
    assert {tl.tape.time_step(e.scope)[1] for e in own} == set(range(T))
    assert all(check.error_of(e) > 1e-2 for e in own)
    others = [err for e, err in check.errors.items() if e.op != function.__name__]
    assert len(others) == len(tape) - T and max(others) < 1e-7
    assert function.__name__ in check.headline() and "worst" in check.headline()


def test_the_same_function_with_a_right_backward_passes():
    tape, loss = unrolled_rnn(TanhRight.apply)
    loss.backward()
    assert tl.check_vjps(tape).ok


def test_a_monkeypatched_primitive_with_a_wrong_sign_is_found_at_every_step(monkeypatch):
    right = TANH.vjp
    monkeypatch.setattr(TANH, "vjp", lambda g, entry: tuple(-r for r in right(g, entry)))
    tl.manual_seed(0)
    rnn = tl.nn.RNN(2, 3)
    with tl.Tape(inputs=True) as tape:
        out, _ = rnn(tl.randn(T, 2, 2))
        loss = (out[-1] ** 2).mean()
    loss.backward()
    check = tl.check_vjps(tape)
    tanh = [e for e in tape if e.op == "tanh"]
    assert len(tanh) == T and failing(check) == tanh


def test_a_transposed_matmul_vjp_is_found_where_its_input_gradient_is_used(monkeypatch):
    right = MATMUL_T.vjp  # the recurrent product h @ W.T (by W.T laid out apart; its VJP by W, kept as b_t)

    def transposed(g, entry):
        ga, gb, gt = right(g, entry)
        if ga is None:
            return ga, gb, gt
        a, _, b_t = entry.ins
        return blas.matmul(g, b_t.T), gb, gt  # b_t.T where b_t belongs: the shapes agree when it is square

    monkeypatch.setattr(MATMUL_T, "vjp", transposed)
    tl.manual_seed(0)
    rnn = tl.nn.RNN(3, 3)  # square weights: the wrong VJP runs silently
    with tl.Tape(inputs=True) as tape:
        out, _ = rnn(tl.randn(T, 2, 3))
        loss = (out[-1] ** 2).mean()
    loss.backward()
    check = tl.check_vjps(tape)
    # the recurrent products of steps 1..T-1 send a gradient to h_{t-1}; step 0 reads the constant
    # h_0 and the input projection reads x, which needs none: their wrong branch never ran
    expected = [e for e in tape if e.op == "matmul_t" and e.parents[0] is not None]
    assert len(expected) == T - 1
    assert failing(check) == expected
    assert all(set(check.slot_errors(e)) == {0, 1} for e in expected)
    assert all(check.slot_errors(e)[0] > 1e-2 > 1e-7 > check.slot_errors(e)[1] for e in expected)


def test_the_picture_fills_the_wrong_boxes_on_the_error_scale_and_names_the_worst():
    tape, loss = unrolled_rnn(TanhWrongSign.apply)
    loss.backward()
    check = tl.check_vjps(tape)
    picture = check.picture()
    source = picture.source
    assert f"{T} wrong (TanhWrongSign)" in source
    assert f"worst TanhWrongSign {tape.refs()[id(check.worst.entry)]}" in source
    scale = ErrorScale()
    bad = scale.colour(check.worst.error)
    fills = {ident: fill for fill, ident in re.findall(r'fillcolor="(#[0-9a-f]{6})"[^\n]*? id=(e\d+) ', source)}
    own = {f"e{tl.tape.number(e)}" for e in tape if e.op == "TanhWrongSign"}
    assert len(own) == T and all(fills[i] == bad for i in own)
    others = {i: fill for i, fill in fills.items() if i not in own}
    assert len(others) == len(tape) - T  # every other entry has a box of its own, on the right end of the scale
    assert set(others.values()) <= {scale.colour(10.0**p) for p in np.arange(-16, -6, 0.01)} | {
        scale.colour(e) for e in check.errors.values() if e < 1e-7
    }
    assert scale.colour(1e-10) != tl.viz.HeatScale().colour(1e-10)  # a scale of its own
    if find_renderer() is not None:
        svg = ops.__name__ and tl.viz.render.__module__ and picture.pipe(format="svg").decode()
        assert svg.count(f'fill="{bad}"') >= T
