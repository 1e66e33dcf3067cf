"""Small recurrent models with a loss, ready to list, trace and draw (used by the CLI and the demos):
a layer of any cell unrolled (:func:`unroll`), and a tanh RNN written out from primitives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import nn
from .gradcheck import gradcheck
from .instruments.recording import Tape
from .instruments.trace import BackwardTrace, trace_backward
from .ops import zeros
from .random import manual_seed
from .tape import scope
from .tensor import Tensor

CELLS = ("rnn", "lstm", "gru", "peephole", "cifg")


@dataclass
class Unrolled:
    """A model's recorded forward pass, its loss, and (after ``backward``) the trace of its sweep."""

    model: nn.Module
    tape: Tape
    loss: Tensor
    trace: BackwardTrace | None = None

    def backward(self, arrays: int = 0, memory: bool = True) -> BackwardTrace:
        """Run the loss's backward pass inside ``trace_backward(arrays)`` and keep its trace (with
        ``memory``, also the bytes the tape's saved arrays hold at each VJP: the explorer's memory strip)."""
        with trace_backward(arrays, memory=self.tape if memory else None) as trace:
            self.loss.backward()
        self.trace = trace
        return trace


def recurrent_layer(
    cell: str, input_size: int, hidden_size: int, dtype=np.float32, forget_bias: float | None = None
) -> nn.Module:
    """``rnn`` (tanh), ``lstm``, ``gru``, or an LSTM variant name (``peephole``, ``cifg``, ...)."""
    if cell == "rnn":
        return nn.RNN(input_size, hidden_size, dtype=dtype)
    if cell == "gru":
        return nn.GRU(input_size, hidden_size, dtype=dtype)
    variant = "standard" if cell == "lstm" else cell
    return nn.LSTM(input_size, hidden_size, dtype=dtype, variant=variant, forget_bias=forget_bias)


def unroll(
    cell: str = "lstm",
    steps: int = 4,
    batch: int = 1,
    input_size: int = 2,
    hidden_size: int = 3,
    seed: int = 0,
    forget_bias: float | None = None,
    sources: bool = False,
    values: int = 0,
    checkpoint_every: int | None = None,
) -> Unrolled:
    """Record ``steps`` steps of a fresh layer on random input; the loss reads only the last output,
    so the gradient at step t has travelled back through T - 1 - t steps. ``sources`` and ``values`` are
    the Tape's (source lines; norms and small copies of outputs, for the explorer); ``checkpoint_every=k``
    runs the layer in ``tl.checkpoint`` segments of k steps (recomputed in backward).

    >>> u = unroll("rnn", steps=3)
    >>> _ = u.backward()
    >>> len(u.trace) > 0
    True
    """
    if cell not in CELLS and cell not in nn.VARIANTS:
        raise ValueError(f"unroll: unknown cell {cell!r}; choose from {', '.join(CELLS)}")
    manual_seed(seed)
    layer = recurrent_layer(cell, input_size, hidden_size, forget_bias=forget_bias)
    if checkpoint_every is not None:
        if int(checkpoint_every) != checkpoint_every or checkpoint_every < 1:
            raise ValueError(f"unroll: checkpoint_every must be a whole number of steps >= 1, got {checkpoint_every!r}")
        layer.checkpoint_every = int(checkpoint_every)
    x = Tensor(np.random.default_rng(seed).standard_normal((steps, batch, input_size)).astype(np.float32))
    x.name = "x"
    with Tape(sources=sources, values=values) as tape:
        out, _ = layer(x)
        last = out[-1]
        loss = (last * last).mean().named("loss")
    return Unrolled(layer, tape, loss)


def tanh_rnn_loss(xs: np.ndarray, W_xh: Tensor, W_hh: Tensor, hs: list | None = None) -> Tensor:
    """||h_T||^2 of a tanh RNN written out from primitives, h_t = tanh(x_t W_xh + h_{t-1} W_hh), over
    ``xs`` (T, 1, input); keeps each h_t (with its gradient, after backward) in ``hs``."""
    h = zeros(1, W_hh.shape[0])
    for t, x in enumerate(xs):
        with scope("rnn", t=t):
            h = (Tensor(x) @ W_xh + h @ W_hh).tanh().named(f"h{t}")
        if hs is not None:
            h.retain_grad()
            hs.append(h)
    return (h * h).sum().named("loss")


def explain_tanh_rnn(steps: int = 4, hidden_size: int = 3, seed: int = 0) -> None:
    """Print a tanh RNN's tape, then ||dL/dh_t|| for every step after backward, and a gradcheck of
    dL/dW_hh (``tinygrad-lstm example``)."""
    rng = np.random.default_rng(seed)
    W_xh = Tensor(rng.normal(0, 0.5, (1, hidden_size)), requires_grad=True).named("W_xh")
    W_hh = Tensor(rng.normal(0, 1 / np.sqrt(hidden_size), (hidden_size, hidden_size)), requires_grad=True).named("W_hh")
    xs = rng.normal(size=(steps, 1, 1))
    hs: list = []
    with Tape() as tape:
        loss = tanh_rnn_loss(xs, W_xh, W_hh, hs)
    print(f"The tape of a {steps}-step tanh RNN (hidden size {hidden_size}), one line per recorded op:\n")
    print(tape.listing())
    loss.backward()
    print(f"\nloss = {loss.item():.6f}; backpropagation through time gives ||dL/dh_t||:")
    for t, h_t in enumerate(hs):
        print(f"  t={t}: {np.linalg.norm(h_t.grad.data):.3e}")
    assert W_hh.grad is not None  # a leaf that requires grad, on the loss's graph
    print(f"||dL/dW_hh|| = {np.linalg.norm(W_hh.grad.data):.3e}")
    ok = gradcheck(lambda W: tanh_rnn_loss(xs, W_xh.detach(), W), W_hh)
    print(f"gradcheck of dL/dW_hh against central differences: {'passed' if ok else 'failed'}")
