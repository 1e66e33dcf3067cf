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

    h = c = tl.zeros(2, 5, dtype=np.float64)
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

    # values captured from outside (here an intermediate) are fine, and watched the same way
    w = tl.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    hidden = w * 2.0
    v = tl.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    (plain,) = tl.grad((v * hidden).tanh().sum(), w, retain_graph=True)
    (kept,) = tl.grad(tl.checkpoint(lambda v: (v * hidden).tanh(), v).sum(), w, retain_graph=True)
    np.testing.assert_array_equal(plain.data, kept.data)
    loss = tl.checkpoint(lambda v: (v * hidden).tanh(), v).sum()
    with tl.no_grad():
        hidden += 1.0
    with pytest.raises(RuntimeError, match=r"%\d+ \(mul\) was changed in place"):
        loss.backward()


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


@pytest.mark.parametrize("kind, options", [("LSTM", dict(num_layers=2, bidirectional=True)), ("GRU", {}), ("RNN", {})])
def test_a_layer_checkpointed_every_k_steps_gives_the_same_gradients(kind, options):
    def gradients(every):
        tl.manual_seed(0)
        layer = getattr(tl.nn, kind)(3, 4, dtype=np.float64, **options)
        layer.checkpoint_every = every
        layer.projection_chunk = 3  # checkpointed chunks are 3 steps: the same products either way
        x = tl.tensor(np.random.default_rng(1).standard_normal((11, 2, 3)), requires_grad=True)
        out, _ = layer(x, lengths=[11, 7])
        (out * out).sum().backward()
        return [x.grad.data] + [p.grad.data for p in layer.parameters()]

    for a, b in zip(gradients(None), gradients(3)):
        np.testing.assert_array_equal(a, b)


def test_an_lstm_checkpointed_every_sqrt_t_steps_keeps_memory_like_sqrt_t():
    def kept(T, every):
        tl.manual_seed(0)
        lstm = tl.nn.LSTM(4, 16, dtype=np.float64)
        lstm.checkpoint_every = every
        x = tl.tensor(np.random.default_rng(0).standard_normal((T, 8, 4)), requires_grad=True)
        with tl.Tape() as tape:
            out, _ = lstm(x)
            loss = out[-1].sum()
        total = sum(e.saved_nbytes for e in tape.entries)
        table = tl.memory_table(tape)
        loss.backward()
        return total, table

    plain = [kept(T, None)[0] for T in (64, 256)]
    sqrt_t = [kept(T, int(np.sqrt(T)))[0] for T in (64, 256)]
    assert plain[1] / plain[0] == pytest.approx(4, rel=0.05)  # 4x the steps: 4x the memory
    assert sqrt_t[1] / sqrt_t[0] == pytest.approx(2, rel=0.1)  # 4x the steps: 2x the memory
    assert sqrt_t[1] < plain[1] / 8
    assert kept(256, 16)[1].splitlines()[-1].split()[-1] == f"{sqrt_t[1]:,}"  # the table says the same


def test_torch_utils_checkpoint_spellings_give_the_same_gradients():
    """``torch.utils.checkpoint.checkpoint`` and ``checkpoint_sequential`` as PyTorch code spells them
    (``tl.utils.checkpoint`` was missing): the same bits as without checkpointing, fewer saved arrays."""
    from tinygrad_lstm.utils.checkpoint import checkpoint, checkpoint_sequential

    tl.manual_seed(0)
    model = tl.nn.Sequential(
        *[layer for _ in range(3) for layer in (tl.nn.Linear(4, 4, dtype=np.float64), tl.nn.Tanh())]
    )
    x = tl.tensor(np.linspace(-1, 1, 8).reshape(2, 4))
    grads = []
    for run in (lambda: model(x), lambda: checkpoint_sequential(model, 3, x, use_reentrant=False),
                lambda: checkpoint(model, x, use_reentrant=False)):  # fmt: skip
        model.zero_grad()
        (run() ** 2).sum().backward()
        grads.append([p.grad.numpy().copy() for p in model.parameters()])
    for other in grads[1:]:
        for a, b in zip(grads[0], other):
            np.testing.assert_array_equal(a, b)
    kept = []
    for run in (lambda: model(x), lambda: checkpoint_sequential(model, 3, x)):
        with tl.Tape() as tape:
            run()
        kept.append(sum(e.saved_nbytes for e in tape.entries))
    assert kept[1] < kept[0]  # two of three segments freed what they saved
    with pytest.raises(ValueError, match="checkpoint_sequential: segments must be a whole number >= 1, got 0"):
        checkpoint_sequential(model, 0, x)
