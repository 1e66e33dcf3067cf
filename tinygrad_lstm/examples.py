"""Small recurrent models with a loss, ready to list, trace and draw (used by the CLI and the demos)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import nn
from .instruments.recording import Tape
from .instruments.trace import BackwardTrace, trace_backward
from .random import manual_seed
from .tensor import Tensor

CELLS = ("rnn", "lstm", "gru", "peephole", "cifg")


@dataclass
class Unrolled:
    """A model's recorded forward pass, its loss, and (after ``backward``) the trace of its sweep."""

    model: nn.Module
    tape: Tape
    loss: Tensor
    trace: BackwardTrace | None = None

    def backward(self, arrays: int = 0) -> BackwardTrace:
        """Run the loss's backward pass inside ``trace_backward(arrays)`` and keep its trace."""
        with trace_backward(arrays) as trace:
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
) -> Unrolled:
    """Record ``steps`` steps of a fresh layer on random input; the loss reads only the last output,
    so the gradient at step t has travelled back through T - 1 - t steps. ``sources`` and ``values`` are
    the Tape's (source lines; norms and small copies of outputs, for the explorer).

    >>> u = unroll("rnn", steps=3)
    >>> _ = u.backward()
    >>> len(u.trace) > 0
    True
    """
    if cell not in CELLS and cell not in nn.VARIANTS:
        raise ValueError(f"unroll: unknown cell {cell!r}; choose from {', '.join(CELLS)}")
    manual_seed(seed)
    layer = recurrent_layer(cell, input_size, hidden_size, forget_bias=forget_bias)
    x = Tensor(np.random.default_rng(seed).standard_normal((steps, batch, input_size)).astype(np.float32))
    x.name = "x"
    with Tape(sources=sources, values=values) as tape:
        out, _ = layer(x)
        last = out[-1]
        loss = (last * last).mean().named("loss")
    return Unrolled(layer, tape, loss)
