"""The adding problem (Hochreiter & Schmidhuber 1997): remember two marked numbers across T steps.

Predicting the mean gives MSE 1/6 = 0.167; solving it means test MSE < 0.01. A tanh RNN's gradient
from the target dies long before it reaches the first marked step (see the vanishing demo), so it
stays near the mean; the LSTM's cell path and the GRU's update gate carry it.
"""

from __future__ import annotations

from ..arguments import count
from .run import Run
from .tasks import MEAN_BASELINE_MSE, train_adding

MODELS = ("lstm", "gru", "rnn")
OPTIONS = {
    "--length": {"type": count(1), "default": None, "help": "sequence length (None: 20 with --quick, else 50)"},
}


def run(run: Run, length: int | None = None) -> dict:
    if run.quick:
        length, steps, batch, hidden = length or 20, 500, 32, 32
    else:
        length, steps, batch, hidden = length or 50, 2000, 64, 32
    run.say(
        f"The adding problem, T={length}: Adam lr 1e-2, batch {batch}, hidden {hidden}, clip 1, "
        f"up to {steps} steps (mean predictor: MSE {MEAN_BASELINE_MSE:.3f}; solved: test MSE < 0.01)"
    )
    results = {}
    for kind in MODELS:
        r = train_adding(
            kind, length=length, steps=steps, batch=batch, hidden_size=hidden, seed=run.seed, progress=run.progress
        )
        results[kind] = r
        solved = f"solved at step {r['solved_at']}" if r["solved_at"] else f"not solved in {steps} steps"
        run.say(f"  {kind.upper():5} test MSE {r['final_mse']:.4f} (best {r['best_mse']:.4f}); {solved}")

    fig_ax = run.figure(figsize=(7, 4.2))
    if fig_ax is not None:
        fig, ax = fig_ax
        for kind, r in results.items():
            steps_, mse = zip(*r["curve"])
            ax.semilogy(steps_, mse, lw=2, label=kind.upper())
        ax.axhline(MEAN_BASELINE_MSE, color="k", ls=":", label="predict the mean")
        ax.axhline(0.01, color="g", ls="--", label="solved (0.01)")
        ax.set_xlabel("Adam step")
        ax.set_ylabel("test MSE")
        ax.set_title(f"Adding problem, T={length}")
        ax.legend()
        run.save_figure(fig, f"adding_T{length}.png")
    run.results.update(
        {
            "length": length,
            "steps": steps,
            **{f"{k}_final_mse": r["final_mse"] for k, r in results.items()},
            **{f"{k}_best_mse": r["best_mse"] for k, r in results.items()},
            **{f"{k}_solved_at": r["solved_at"] for k, r in results.items()},
        }
    )
    return run.results
