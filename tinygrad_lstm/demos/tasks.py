"""The tasks the demos train on: the adding problem, and characters of a text."""

from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..compiler import compile as compile_step
from ..examples import recurrent_layer
from ..tensor import Tensor

MEAN_BASELINE_MSE = 1 / 6  # predicting the mean sum 1.0 for two U(0,1) values: Var = 2 * 1/12


def adding_batch(batch: int, length: int, rng: np.random.Generator, dtype=np.float32):
    """The adding problem (Hochreiter & Schmidhuber 1997, modern form): each step carries a U(0,1)
    value and a marker; exactly two steps are marked, one in each half; the target is their sum.

    Returns x (length, batch, 2) and y (batch, 1).
    """
    values = rng.random((length, batch))
    markers = np.zeros((length, batch))
    half = max(1, length // 2)
    first = rng.integers(0, half, batch)
    second = rng.integers(half, length, batch)
    markers[first, np.arange(batch)] = 1
    markers[second, np.arange(batch)] = 1
    x = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values * markers).sum(axis=0, keepdims=True).T.astype(dtype)
    return x, y


class SequenceRegressor(nn.Module):
    """A recurrent layer read out at its last step by a linear layer."""

    def __init__(self, layer: nn.Module, hidden_size: int) -> None:
        super().__init__()
        self.layer = layer
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.layer(x)
        return self.head(out[-1])


def train_adding(
    kind: str,
    length: int = 50,
    steps: int = 2000,
    batch: int = 64,
    hidden_size: int = 32,
    lr: float = 1e-2,
    clip: float | None = 1.0,
    seed: int = 0,
    eval_every: int = 50,
    solved_below: float = 0.01,
    stop_when_solved: bool = True,
    progress=lambda it, **kw: it,
    reach=None,
) -> dict:
    """Train on the adding problem with Adam; returns the test-MSE curve and when it was solved.

    ``kind``: ``rnn`` (tanh), ``gru``, ``lstm`` or an LSTM variant name (``examples.recurrent_layer``).
    ``reach``: a ``tl.record_reach(every=k)`` recorder; the steps it is due at (after 0, k, 2k, ...
    updates) run eagerly inside ``reach.measure`` so that it sees the states (a replay runs no hooks).
    """
    from ..random import manual_seed

    manual_seed(seed)
    rng = np.random.default_rng(seed)
    # LSTMs (every variant) start with their forget gate open (forget bias 1)
    model = SequenceRegressor(recurrent_layer(kind, 2, hidden_size, forget_bias=1.0), hidden_size)
    opt = optim.Adam(model.parameters(), lr=lr)
    test_x, test_y = adding_batch(512, length, np.random.default_rng(10_000 + seed))
    curve: list[tuple[int, float]] = []
    solved_at = None

    def test_mse() -> float:
        from ..tape import no_grad

        with no_grad():
            pred = model(Tensor(test_x))
        return float(np.mean((pred.data - test_y) ** 2))

    # the same step every time: record it once, replay it after (exactly the eager result, faster)
    def loss_fn(x, y):
        return nn.functional.mse_loss(model(x), y)

    train_step = compile_step(loss_fn)
    curve.append((0, test_mse()))
    for step in progress(range(1, steps + 1), total=steps, desc=f"adding T={length} {kind}"):
        x, y = adding_batch(batch, length, rng)
        opt.zero_grad()
        if reach is not None and reach.due(step - 1):
            with reach.measure(step - 1):
                loss = loss_fn(Tensor(x), Tensor(y))
        else:
            loss = train_step(x, y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if step % eval_every == 0 or step == steps:
            mse = test_mse()
            curve.append((step, mse))
            if solved_at is None and mse < solved_below:
                solved_at = step
                if stop_when_solved:
                    break
    return {
        "kind": kind,
        "curve": curve,
        "final_mse": curve[-1][1],
        "solved_at": solved_at,
        "best_mse": min(m for _, m in curve),
        "model": model,
    }
