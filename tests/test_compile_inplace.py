"""tl.compile after recorded in-place updates: an op without a gradient (a comparison, a detached value,
the softmax family's shift, a clamp's masks) that reads memory an in-place update wrote must read the
update's values on every replay, as eager does. Before, a replay resolved such reads by the array alone
and read the value the array held before the update: silently other numbers from the second call on."""

import numpy as np
import pytest

import tinygrad_lstm as tl

pytestmark = pytest.mark.usefixtures("compile_backend")

W = np.random.default_rng(0).standard_normal((4, 3))
B = np.random.default_rng(1).standard_normal(3)

PROGRAMS = {
    "a mask after mul_": lambda h, b: tl.where(h.mul_(-1) > 0, h, h * 0.1),
    "softmax after add_": lambda h, b: h.add_(b).softmax(1) * h,
    "a detached max after a write through a view": lambda h, b: (
        h.__setitem__((slice(None), slice(0, 1)), -h[:, 1:2] * 5),
        h - h.detach().max(),
    )[1],
    "clamp_min_ with a bound that requires grad, after mul_": lambda h, b: h.mul_(-2).clamp_min_(b * 0.1),
    "a base's mask after writing through its view": lambda h, b: (h[1:].mul_(-3), tl.where(h > 0, h, -h))[1],
    "lerp_ through a view, then clip by a bound with a gradient": lambda h, b: (
        h[1:].lerp_(h[:-1].tanh(), 0.3),
        tl.clip(h, b * 0.2, None),
    )[1],
}


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("name", PROGRAMS)
def test_replay_reads_what_an_in_place_update_wrote(name, exact, compile_backend):
    w = tl.tensor(W.copy(), requires_grad=True)
    b = tl.tensor(B.copy(), requires_grad=True)
    program = PROGRAMS[name]

    def loss(x):
        return (program(x @ w, b) ** 2).sum()

    step = tl.compile(loss, exact=exact, backend=compile_backend)
    rng = np.random.default_rng(2)
    for call in range(4):
        x = rng.standard_normal((5, 4))
        w.grad = b.grad = None
        replayed = step(x)
        replayed.backward()
        got = (float(replayed.data), w.grad.data.copy(), b.grad.data.copy() if b.grad is not None else None)
        w.grad = b.grad = None
        eager = loss(tl.tensor(x))
        eager.backward()
        assert got[0] == float(eager.data), (name, call)
        if exact:
            np.testing.assert_array_equal(got[1], w.grad.data, err_msg=f"{name}, call {call}")
        else:
            np.testing.assert_allclose(got[1], w.grad.data, rtol=1e-12, err_msg=f"{name}, call {call}")
        assert (got[2] is None) == (b.grad is None)
        if got[2] is not None:
            np.testing.assert_array_equal(got[2], b.grad.data, err_msg=f"{name}, call {call}")
        with tl.no_grad():  # an optimizer's step: the next call sees other weights
            w -= 0.05 * w.grad
    assert step.replays == 3


def test_an_alias_made_before_an_update_of_its_memory_is_refused_before_anything_changes(compile_backend):
    """A view of h made without a graph before h is written in place shows the new values in eager;
    a replay could only read what the view held when made: refused, by name."""
    w = tl.tensor(W.copy(), requires_grad=True)

    def loss(x):
        h = x @ w
        early = h.detach()[:2]  # an alias of h's memory, made before the update
        h.mul_(2)
        return (h * early.sum()).sum()

    step = tl.compile(loss)
    with pytest.raises(tl.CompileError, match="alias .* made before a recorded in-place update"):
        step(np.ones((5, 4)))
    assert w.grad is None and np.array_equal(w.data, W) and step.replays == 0
