"""Make docs/vjp_errors.png: a 4-step tanh RNN whose nonlinearity is a tl.Function with a wrong
backward (its sign), every VJP on the tape checked against central differences and drawn by its error.
Run from the repository's root: ``python docs/wrong_vjp.py [out.png]``."""

import sys

import numpy as np

import tinygrad_lstm as tl


class TanhWrongSign(tl.Function):
    """tanh, with the sign of its backward wrong."""

    @staticmethod
    def forward(ctx, x):
        y = x.tanh()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return -(g * (1 - y * y))  # should be g * (1 - y * y)


def main(out: str = "docs/vjp_errors.png") -> None:
    rng = np.random.default_rng(0)
    w_xh = tl.Tensor(rng.normal(0, 0.5, (2, 3)).astype(np.float32), requires_grad=True).named("W_xh")
    w_hh = tl.Tensor(rng.normal(0, 0.6, (3, 3)).astype(np.float32), requires_grad=True).named("W_hh")
    xs = rng.normal(size=(4, 1, 2)).astype(np.float32)
    with tl.Tape(inputs=True) as tape:  # inputs=True: copies of every entry's inputs, for the check
        h = tl.zeros(1, 3, dtype=np.float32)
        for t in range(4):
            with tl.scope("rnn", t=t):
                h = TanhWrongSign.apply(tl.Tensor(xs[t]) @ w_xh + h @ w_hh).named("h")
        loss = (h * h).sum().named("loss")
    loss.backward()
    check = tl.check_vjps(tape)
    print(check)
    print("wrote", tl.viz.render(check.picture(), out))


if __name__ == "__main__":
    main(*sys.argv[1:])
