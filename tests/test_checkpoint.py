"""tl.checkpoint: the same gradients, bit for bit, for far less memory kept between forward and backward."""

import numpy as np
import pytest

import tinygrad_lstm as tl


def lstm_and_input(T=12, seed=0, dropout=0.0):
    tl.manual_seed(seed)
    cell = tl.nn.LSTMCell(3, 5, dtype=np.float64)
    x = tl.tensor(np.random.default_rng(seed).standard_normal((T, 2, 3)), requires_grad=True)
    return cell, x


def run(cell, x, every: int | None, dropout: float = 0.0):
    """An LSTM over x, checkpointed every ``every`` steps (None: not at all); returns the loss."""
    T = x.shape[0]

    def segment(xs, h, c):
        for t in range(xs.shape[0]):
            h, c = cell(xs[t], (h, c))
            if dropout:
                h = tl.nn.functional.dropout(h, dropout, True)
        return h, c

    h = c = tl.zeros(2, 5)
    step = every or T
    for lo in range(0, T, step):
        xs = x[lo : lo + step]
        h, c = tl.checkpoint(segment, xs, h, c) if every else segment(xs, h, c)
    return (h * h).sum() + c.sum()


def grads(cell, x, every, dropout=0.0, use_grad=False):
    tl.manual_seed(7)
    params = list(cell.parameters())
    loss = run(cell, x, every, dropout)
    if use_grad:
        return [g.data for g in tl.grad(loss, [x, *params])]
    for p in [x, *params]:
        p.grad = None
    loss.backward()
    return [p.grad.data.copy() for p in [x, *params]]


@pytest.mark.parametrize("every", [1, 3, 4, 12])
@pytest.mark.parametrize("use_grad", [False, True])
def test_gradients_are_the_same_bit_for_bit(every, use_grad):
    cell, x = lstm_and_input()
    plain = grads(cell, x, None, use_grad=use_grad)
    kept = grads(cell, x, every, use_grad=use_grad)
    for a, b in zip(plain, kept):
        np.testing.assert_array_equal(a, b)


def test_dropout_draws_the_same_masks_when_recomputed():
    cell, x = lstm_and_input()
    plain = grads(cell, x, None, dropout=0.3)
    kept = grads(cell, x, 4, dropout=0.3)
    for a, b in zip(plain, kept):
        np.testing.assert_array_equal(a, b)


def test_memory_kept_for_backward_grows_like_the_number_of_segments():
    def saved_bytes(T, every):
        cell, x = lstm_and_input(T)
        with tl.Tape() as tape:
            run(cell, x, every)
        return sum(e.saved_nbytes for e in tape.entries)

    plain = [saved_bytes(T, None) for T in (16, 64)]
    sqrt_t = [saved_bytes(T, int(np.sqrt(T))) for T in (16, 64)]
    assert plain[1] / plain[0] == pytest.approx(4, rel=0.1)  # like T
    assert sqrt_t[1] / sqrt_t[0] == pytest.approx(2, rel=0.25)  # like sqrt(T): T / sqrt(T) segments
    assert sqrt_t[1] < plain[1] / 5


def test_in_place_changes_and_outside_intermediates_are_refused():
    cell, x = lstm_and_input()
    loss = run(cell, x, 4)
    with tl.no_grad():
        cell.weight_hh += 0.1  # an optimizer step before backward: the recomputation would differ
    with pytest.raises(RuntimeError, match="checkpoint .* weight_hh was changed in place"):
        loss.backward()

    w = tl.tensor(np.ones(3), requires_grad=True)
    hidden = w * 2.0  # an intermediate, captured by the function instead of passed to it
    with pytest.raises(ValueError, match=r"checkpoint: the function reads %\d+ \(mul, shape \(3,\)\)"):
        tl.checkpoint(lambda v: v * hidden, tl.tensor(np.ones(3), requires_grad=True))


def test_second_order_goes_through_a_checkpoint():
    w = tl.tensor(np.array([0.5, 1.5]), requires_grad=True)
    f = lambda v: ((v * v).tanh() * v).sin()  # noqa: E731
    (plain,) = tl.grad(tl.grad(f(w).sum(), w, create_graph=True)[0].sum(), w)
    (kept,) = tl.grad(tl.grad(tl.checkpoint(f, w).sum(), w, create_graph=True)[0].sum(), w)
    np.testing.assert_array_equal(plain.data, kept.data)


def test_without_grad_it_just_calls_the_function():
    with tl.no_grad():
        out = tl.checkpoint(lambda v: v * 2.0, tl.tensor(np.ones(2), requires_grad=True))
    assert out.grad_fn is None and out.tolist() == [2.0, 2.0]
