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
    "mul_ into unfold windows that share no element, then a mask": lambda h, b: (
        h.unfold(0, 2, 3).mul_(-2),
        tl.where(h > 0, h, h * b),
    )[1],
    "mul_ of one of unfold windows that share rows, then a mask": lambda h, b: (
        h.unfold(0, 3, 1)[1].mul_(b.unsqueeze(1)),
        tl.where(h > 0, h, h * 0.1),
    )[1],
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


def _no_grad_rows(h):
    with tl.no_grad():
        return h[:2]


ALIASES = {
    "detached rows": lambda h: h.detach()[:2],
    "detached transpose": lambda h: h.detach().t(),
    "rows made under no_grad": _no_grad_rows,
    "a row": lambda h: h[1],
    "transpose": lambda h: h.t(),
    "diagonal": lambda h: h.diagonal(),
    "a split piece": lambda h: h.detach().split(2)[1],
    "unfold windows that share rows": lambda h: h.unfold(0, 2, 1),
    "unfold of a transpose, detached": lambda h: h.detach().t().unfold(1, 3, 2),
}


@pytest.mark.parametrize("alias", sorted(ALIASES))
def test_a_view_made_before_an_update_of_its_memory_replays_its_new_values(compile_backend, alias):
    """A view of h made before h is written in place shows the new values in eager (it is brought up
    to date where next used, as PyTorch rebases a view); the replay reads them too, on every call. It
    was refused before: the view's array was still known as the old entry's result."""
    ws = [tl.tensor(W.copy(), requires_grad=True) for _ in range(2)]

    def make(w):
        def loss(x):
            h = x @ w
            early = ALIASES[alias](h)
            h.mul_(2)
            return (h * early.sum()).sum() + (early * early).sum() + (early > 0.5).sum()

        return loss

    eager, step = make(ws[0]), tl.compile(make(ws[1]), backend=compile_backend)
    for k in range(3):
        x = np.random.default_rng(k).standard_normal((5, 4))
        expected, got = eager(tl.tensor(x)), step(x)
        expected.backward()
        got.backward()
        assert float(got) == float(expected)
        np.testing.assert_array_equal(ws[1].grad.numpy(), ws[0].grad.numpy())
    assert step.replays == 2


def test_an_update_of_unfold_windows_that_share_elements_is_refused_in_a_compiled_step(compile_backend):
    """Windows that share elements: a write without a graph is refused in a step as every unrecorded write
    is (a replay would not repeat it), a recorded one as in eager; the input is left as it was."""
    w = tl.tensor(W.copy(), requires_grad=True)

    def unrecorded(x):
        h = x @ w
        with tl.no_grad():
            h.detach().unfold(0, 3, 1).mul_(2)
        return (h * h).sum()

    def recorded(x):
        h = x @ w
        h.unfold(0, 2, 1).mul_(2)
        return h.sum()

    with pytest.raises(tl.CompileError, match="mul_ writes an array in place"):
        tl.compile(unrecorded, backend=compile_backend)(np.ones((5, 4)))
    window = r"mul_: .*windows of an unfold \(size 2, step 1 along axis 0 of shape \(5, 3\)\) that share elements"
    with pytest.raises(RuntimeError, match=window):
        tl.compile(recorded, backend=compile_backend)(np.ones((5, 4)))
    np.testing.assert_array_equal(w.data, W)
