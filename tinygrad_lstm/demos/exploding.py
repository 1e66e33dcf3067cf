"""Exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013).

A tanh RNN whose recurrent matrix is orthogonal times rho has Jacobians of norm about rho each step back
while it stays in tanh's linear range, so for rho > 1 the gradient grows like rho^k. Trained with plain
SGD, such a net takes a step so large that its weights, then its loss, become inf/NaN; rescaling the
gradient to norm at most 1 (``clip_grad_norm_``) keeps every step finite.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..random import manual_seed
from ..tensor import Tensor
from .run import Run
from .tasks import SequenceRegressor, adding_batch
from .vanishing import ratios_back_from_last_step


def scaled_rnn(input_size: int, hidden: int, rho: float, dtype=np.float32) -> nn.RNN:
    """A tanh RNN whose W_hh is orthogonal times ``rho`` (spectral radius ``rho``)."""
    layer = nn.RNN(input_size, hidden, dtype=dtype)
    nn.init.orthogonal_(layer.weight_hh_l0)
    layer.weight_hh_l0.data *= rho
    return layer


def growth_at_init(rho: float, steps: int, hidden: int, seed: int) -> dict[int, float]:
    """k -> ||dL/dh_{T-k}|| / ||dL/dh_T|| with tiny inputs (tanh near its linear range)."""
    manual_seed(seed)
    layer = scaled_rnn(hidden, hidden, rho, dtype=np.float64)
    layer.bias_ih_l0.data[:] = 0
    layer.bias_hh_l0.data[:] = 0
    x = Tensor(1e-3 * np.random.default_rng(seed).standard_normal((steps, 4, hidden)))
    return ratios_back_from_last_step(layer, x)


def train(
    rho: float,
    clip: float | None,
    steps: int,
    seed: int,
    length: int = 30,
    hidden: int = 32,
    lr: float = 0.05,
    progress=lambda it, **kw: it,
) -> dict:
    """SGD on the adding problem; returns loss and pre-clipping gradient norm per step."""
    manual_seed(seed)
    model = SequenceRegressor(scaled_rnn(2, hidden, rho), hidden)
    opt = optim.SGD(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses, norms = [], []
    with np.errstate(all="ignore"):  # the unclipped run overflows on purpose
        for _ in progress(range(steps), total=steps, desc=f"SGD, clip={clip}"):
            x, y = adding_batch(32, length, rng)
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(Tensor(x)), Tensor(y))
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip is not None else np.inf)
            opt.step()
            losses.append(float(loss))
            norms.append(float(norm))
            if not np.isfinite(losses[-1]):
                break
    finite = bool(np.all(np.isfinite(losses)))
    return {
        "losses": losses,
        "norms": norms,
        "finite": finite,
        "steps_run": len(losses),
        "max_norm": float(np.nanmax(np.where(np.isfinite(norms), norms, np.inf))),
    }


def run(run: Run, rho: float = 3.0) -> dict:
    steps = 120 if run.quick else 300
    init_steps = 40 if run.quick else 60
    run.say("Exploding gradients: tanh RNN with W_hh = orthogonal x rho, hidden 32")
    growth = {r: growth_at_init(r, init_steps, 32, run.seed) for r in (0.9, 1.1, 1.5)}
    k = init_steps - 1
    run.say(f"\nAt initialisation, ||dL/dh_(T-{k})|| / ||dL/dh_T|| against rho^{k}:")
    for r, g in growth.items():
        run.say(f"  rho={r}: measured {g[k]:.2e}, rho^{k} = {r**k:.2e}")

    run.say(f"\nTraining on the adding problem (T=30) with SGD lr 0.05, rho={rho}, {steps} steps:")
    plain = train(rho, None, steps, run.seed, progress=run.progress)
    clipped = train(rho, 1.0, steps, run.seed, progress=run.progress)
    for label, result in (("no clipping", plain), ("clip_grad_norm_(1.0)", clipped)):
        state = "finite throughout" if result["finite"] else f"became non-finite at step {result['steps_run']}"
        run.say(
            f"  {label:22} largest gradient norm {result['max_norm']:.1e}; loss {state}; "
            f"last loss {result['losses'][-1]:.3g}"
        )

    fig_ax = run.figure(1, 3, figsize=(13, 3.8))
    if fig_ax is not None:
        fig, (a0, a1, a2) = fig_ax
        for r, g in growth.items():
            ks = np.arange(init_steps)
            a0.semilogy(ks, [g[int(i)] for i in ks], lw=2, label=rf"$\rho$ = {r}")
            a0.semilogy(ks, r**ks, "k:", lw=1)
        a0.set_title("gradient reaching step T-k at init\n" r"(dotted: $\rho^k$)")
        a0.set_ylabel(r"$\|\partial L/\partial h_{T-k}\| \;/\; \|\partial L/\partial h_T\|$")
        a0.set_xlabel("k")
        a0.legend()
        for label, result in (("no clipping", plain), ("clipped to norm 1", clipped)):
            a1.semilogy(result["norms"], label=label)
            a2.semilogy(result["losses"], label=label)
        a1.set_title("gradient norm\nbefore clipping")
        a2.set_title("training loss (MSE)\na curve that stops went inf/NaN")
        for a in (a1, a2):
            a.set_xlabel("SGD step")
            a.legend()
        run.save_figure(fig, "exploding.png")

    run.results.update(
        {
            "growth_at_init": {r: g[k] for r, g in growth.items()},
            "unclipped_finite": plain["finite"],
            "unclipped_steps": plain["steps_run"],
            "unclipped_max_norm": plain["max_norm"],
            "clipped_finite": clipped["finite"],
            "clipped_max_norm": clipped["max_norm"],
            "clipped_last_loss": clipped["losses"][-1],
        }
    )
    return run.results
