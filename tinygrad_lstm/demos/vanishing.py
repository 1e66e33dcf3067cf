"""Vanishing gradients at initialisation: ||dL/dh_{T-k}|| / ||dL/dh_T|| against k.

The source text's arithmetic: a gradient scaled by f' < 1 each step back shrinks geometrically
(0.9^100 = 2.7e-5) and one scaled by more than 1 explodes (1.1^100 = 13780). A tanh RNN's Jacobian
multiplies by W_hh^T diag(1 - h^2) each step; an LSTM's cell path multiplies by the forget gate, which
a forget bias of 1 starts near sigmoid(1) = 0.73 instead of 0.5.
"""

from __future__ import annotations

import numpy as np

from ..examples import recurrent_layer, unroll
from ..instruments.probes import probe_gradients
from ..random import manual_seed
from ..tensor import Tensor
from .run import Run

MODELS = [  # label, layer kind, forget bias
    ("tanh RNN", "rnn", None),
    ("LSTM", "lstm", None),
    ("LSTM, forget bias 1", "lstm", 1.0),
    ("GRU", "gru", None),
]


def ratios_at_init(kind: str, forget_bias, seed: int, steps: int, hidden: int, batch: int = 16) -> dict[int, float]:
    """k -> ||dL/dh_{T-k}|| / ||dL/dh_T|| for a fresh layer, L = ||h_T||^2, small random inputs."""
    manual_seed(seed)
    layer = recurrent_layer(kind, hidden, hidden, dtype=np.float64, forget_bias=forget_bias)
    x = Tensor(0.1 * np.random.default_rng(seed).standard_normal((steps, batch, hidden)))
    return ratios_back_from_last_step(layer, x)


def ratios_back_from_last_step(layer, x: Tensor) -> dict[int, float]:
    """k -> ||dL/dh_{T-k}|| / ||dL/dh_T|| for L = ||h_T||^2 of ``layer(x)``."""
    with probe_gradients("h") as probe:
        out, _ = layer(x)
    (out[-1] * out[-1]).sum().backward()
    return probe.ratios("h")


def geometric_mean(values) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.exp(np.mean(np.log(np.maximum(values, 1e-300)))))


def run(run: Run, steps: int | None = None, hidden: int = 32, seeds: int | None = None, prefix: str = "") -> dict:
    steps = steps or (40 if run.quick else 100)
    seeds = seeds or (2 if run.quick else 5)
    run.say(f"Vanishing gradients at initialisation: T={steps}, H={hidden}, {seeds} seeds (geometric mean)")
    curves: dict[str, np.ndarray] = {}
    for label, kind, fb in run.progress(MODELS, total=len(MODELS), desc="models"):
        per_seed = [ratios_at_init(kind, fb, s + run.seed, steps, hidden) for s in range(seeds)]
        curves[label] = np.array([geometric_mean([r[k] for r in per_seed]) for k in range(steps)])

    ks = sorted({k for k in (10, 25, 50, 99) if k < steps} | {steps - 1})
    run.say("\n||dL/dh_{T-k}|| / ||dL/dh_T||")
    run.say(f"{'':22}" + "".join(f"{'k=' + str(k):>11}" for k in ks))
    for label, curve in curves.items():
        run.say(f"{label:22}" + "".join(f"{curve[k]:>11.1e}" for k in ks))
    n = steps  # the arithmetic at this run's T (the tour's T=50 prints 0.9^50, not 0.9^100)
    run.say(f"\nThe arithmetic: 0.9^{n} = {0.9**n:.1e} (vanishing), 1.1^{n} = {1.1**n:.0f} (exploding)")
    per_step = {label: float(curve[ks[-1]] ** (1 / ks[-1])) for label, curve in curves.items()}
    run.say("Average factor per step back: " + ", ".join(f"{k} {v:.2f}" for k, v in per_step.items()))

    fig_ax = run.figure(figsize=(7, 4.2))
    if fig_ax is not None:
        fig, ax = fig_ax
        k = np.arange(steps)
        for label, curve in curves.items():
            ax.semilogy(k, curve, label=label, lw=2)
        ax.semilogy(k, 0.9**k, "k:", label=r"$0.9^k$")
        ax.set_xlabel("k (steps back from the loss)")
        ax.set_ylabel(r"$\|\partial L/\partial h_{T-k}\| \;/\; \|\partial L/\partial h_T\|$")
        ax.set_title(f"Gradient reaching step T-k at initialisation\n(T={steps}, H={hidden})")
        ax.legend()
        ax.grid(True, which="major", alpha=0.3)
        run.save_figure(fig, f"{prefix}vanishing.png")

    # the same story in the unrolled graph: heat-coloured cells
    from .. import viz

    # the same story in the unrolled graph: both belts on one colour scale, the same input
    shown = 12 if run.quick else 24
    recordings = []
    for cell, fb, label in (("rnn", None, "tanh RNN"), ("lstm", 1.0, "LSTM, forget-gate bias 1")):
        u = unroll(cell, steps=shown, hidden_size=8, seed=run.seed, forget_bias=fb)
        recordings.append((label, u.tape, u.backward()))
    title = f"The same input, {shown} steps, one colour scale: where does the gradient survive?"
    run.render(viz.compare(recordings, title=title), f"{prefix}vanishing_compare.svg")

    run.results["ratios"] = {label: {k: float(curve[k]) for k in ks} for label, curve in curves.items()}
    run.results["per_step_factor"] = per_step
    return run.results
