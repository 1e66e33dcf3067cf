"""The ``tinygrad-lstm`` command. Subcommands arrive with the features they show."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np


def _example(args: argparse.Namespace) -> int:
    """A tanh RNN unrolled from primitives: its tape, then dL/dh_t for every step after backward."""
    import tinygrad_lstm as tl

    rng = np.random.default_rng(args.seed)
    H, T = args.hidden_size, args.steps
    W_xh = tl.Tensor(rng.normal(0, 0.5, (1, H)), requires_grad=True).named("W_xh")
    W_hh = tl.Tensor(rng.normal(0, 1 / np.sqrt(H), (H, H)), requires_grad=True).named("W_hh")
    xs = rng.normal(size=(T, 1, 1))

    hs = []
    h = tl.zeros(1, H)
    with tl.Tape() as tape:
        for t in range(T):
            with tl.scope("rnn", t=t):
                h = (tl.Tensor(xs[t]) @ W_xh + h @ W_hh).tanh().named(f"h{t}")
                h.retain_grad()
                hs.append(h)
        loss = (h * h).sum().named("loss")

    print(f"The tape of a {T}-step tanh RNN (hidden size {H}), one line per recorded op:\n")
    print(tape.listing())
    loss.backward()
    print(f"\nloss = {loss.item():.6f}; backpropagation through time gives ||dL/dh_t||:")
    for t, h_t in enumerate(hs):
        print(f"  t={t}: {np.linalg.norm(h_t.grad.data):.3e}")
    print(f"||dL/dW_hh|| = {np.linalg.norm(W_hh.grad.data):.3e}")
    ok = tl.gradcheck(lambda W: _unroll(tl, xs, W_xh.detach(), W), W_hh)
    print(f"gradcheck of dL/dW_hh against central differences: {'passed' if ok else 'failed'}")
    return 0


def _unroll(tl, xs, W_xh, W_hh):
    h = tl.zeros(1, W_hh.shape[0])
    for x in xs:
        h = (tl.Tensor(x) @ W_xh + h @ W_hh).tanh()
    return (h * h).sum()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tinygrad-lstm",
        description="See autograd and backpropagation through time at work.",
    )
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("example", help="unroll a small tanh RNN, print its tape and BPTT gradients")
    ex.add_argument("--steps", type=int, default=4, help="time steps to unroll (default 4)")
    ex.add_argument("--hidden-size", type=int, default=3, help="hidden units (default 3)")
    ex.add_argument("--seed", type=int, default=0)
    ex.set_defaults(run=_example)

    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["example", *(argv or sys.argv[1:])])
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
