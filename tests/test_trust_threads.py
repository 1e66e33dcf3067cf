"""Grad mode, scopes, tapes, instruments and compiled steps are per thread."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tinygrad_lstm as tl


def _in_thread(fn):
    """Run ``fn`` in a new thread; re-raise what it raised."""
    errors = []

    def run():
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t, errors


def test_no_grad_in_one_thread_does_not_stop_another_threads_recording():
    inside, release = threading.Event(), threading.Event()

    def hold_no_grad():
        with tl.no_grad():
            inside.set()
            release.wait(10)

    t, errors = _in_thread(hold_no_grad)
    inside.wait(10)
    x = tl.Tensor(np.ones(2), requires_grad=True)
    y = (x * 3).sum()  # this thread records while the other is inside no_grad
    release.set()
    t.join()
    assert not errors and tl.is_grad_enabled()
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])


def test_interleaved_no_grad_exits_leave_every_thread_recording():
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def thread_a():
        with tl.no_grad():
            a_in.set()
            b_in.wait(10)
        seen["a"] = tl.is_grad_enabled()
        a_out.set()

    def thread_b():
        a_in.wait(10)
        with tl.no_grad():
            b_in.set()
            a_out.wait(10)  # A leaves its block while B is still inside
            seen["b inside"] = tl.is_grad_enabled()
        seen["b"] = tl.is_grad_enabled()

    (ta, ea), (tb, eb) = _in_thread(thread_a), _in_thread(thread_b)
    ta.join()
    tb.join()
    assert not ea and not eb
    assert seen == {"a": True, "b inside": False, "b": True}
    assert tl.is_grad_enabled()


def test_a_reused_no_grad_object_restores_the_mode_it_replaced():
    ng = tl.no_grad()
    with ng:
        with tl.enable_grad():
            with ng:
                assert not tl.is_grad_enabled()
            assert tl.is_grad_enabled()
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()

    @tl.no_grad  # bare, as PyTorch allows
    def f(x):
        return x * 2

    assert not f(tl.Tensor(np.ones(2), requires_grad=True)).requires_grad


def test_one_threads_ops_never_land_in_another_threads_tape_or_scope():
    started, release = threading.Event(), threading.Event()
    other = {}

    def record_elsewhere():
        started.wait(10)
        x = tl.Tensor(np.ones(2), requires_grad=True)
        with tl.Tape() as tape:
            y = x.exp()
        other["ops"] = [e.op for e in tape]
        other["scope"] = y.entry.scope
        release.set()

    t, errors = _in_thread(record_elsewhere)
    w = tl.Tensor(np.ones(2), requires_grad=True)
    with tl.Tape() as mine, tl.scope("main", t=0):
        started.set()
        release.wait(10)  # the other thread records while this tape and scope are open
        z = w.tanh()
    t.join()
    assert not errors
    assert [e.op for e in mine] == ["tanh"] and z.entry.scope.path == "main[t=0]"
    assert other == {"ops": ["exp"], "scope": None}


def test_a_compiled_step_replayed_from_two_threads_gives_each_its_own_answer():
    lstm, head = tl.nn.LSTM(2, 4, dtype=np.float64), tl.nn.Linear(4, 1, dtype=np.float64)

    def loss_fn(x):
        out, _ = lstm(x)
        return (head(out[-1]) ** 2).mean()

    step = tl.compile(loss_fn)
    inputs = [tl.randn(5, 3, 2, dtype=np.float64), tl.randn(5, 3, 2, dtype=np.float64)]
    expected = []
    for x in inputs:  # eager answers
        for p in lstm.parameters():
            p.grad = None
        loss = loss_fn(x)
        loss.backward()
        expected.append((float(loss), lstm.weight_hh_l0.grad.data.copy()))

    barrier = threading.Barrier(2)
    got = {}

    def run(k):
        x = inputs[k]
        for _ in range(3):  # trace, then replays, interleaved with the other thread
            barrier.wait(10)
            loss = step(x)
            barrier.wait(10)
            got.setdefault(k, []).append(float(loss))
            (g,) = tl.grad(loss, [lstm.weight_hh_l0])
            got.setdefault((k, "g"), []).append(g.data)

    threads = [_in_thread(lambda k=k: run(k)) for k in range(2)]
    for t, _ in threads:
        t.join()
    assert not any(errors for _, errors in threads), [errors for _, errors in threads]
    for k in range(2):
        assert got[k] == pytest.approx([expected[k][0]] * 3, rel=1e-12)
        for g in got[(k, "g")]:
            np.testing.assert_allclose(g, expected[k][1], rtol=1e-10)


def test_a_reused_scope_object_is_never_its_own_parent():
    s = tl.scope("block", t=1)
    x = tl.Tensor(np.ones(2), requires_grad=True)
    with tl.Tape() as tape:
        with s:
            with s:
                y = x * 2
            z = y + 1
    assert y.entry.scope.path == "block[t=1]/block[t=1]"
    assert z.entry.scope.path == "block[t=1]"
    assert "block[t=1]/block[t=1]" in tape.listing()  # and the listing terminates
    with s:  # once closed, it can be entered again
        w = x * 3
    assert w.entry.scope is s
