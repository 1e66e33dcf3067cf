"""Greff et al. 2015 ("LSTM: A Search Space Odyssey") in miniature, on the adding problem.

Each variant changes one thing of the vanilla (peephole) LSTM; the GRU is the outside reference. The
paper found the forget gate and the output activation matter most, and that coupling the gates (CIFG)
or dropping peepholes (NP) costs nothing. A toy task with a few seeds is no replication: the table
reports what this run measured.
"""

from __future__ import annotations

import numpy as np

from ..nn import GREFF_VARIANTS
from .run import Run
from .tasks import train_adding

MODELS = (*GREFF_VARIANTS, "gru")


def run(run: Run) -> dict:
    if run.quick:
        length, steps, seeds, hidden, batch = 10, 150, 1, 8, 32
    else:
        length, steps, seeds, hidden, batch = 20, 600, 2, 16, 32
    run.say(
        f"LSTM variants on the adding problem: T={length}, hidden {hidden}, up to {steps} Adam steps, "
        f"{seeds} seed(s); solved = test MSE < 0.01"
    )
    rows = {}
    for model in run.progress(MODELS, total=len(MODELS), desc="variants"):
        runs = [
            train_adding(
                model, length=length, steps=steps, batch=batch, hidden_size=hidden, seed=run.seed + s, eval_every=25
            )
            for s in range(seeds)
        ]
        solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
        rows[model] = {
            "final_mse": float(np.mean([r["final_mse"] for r in runs])),
            "solved": len(solved),
            "mean_steps_to_solve": float(np.mean(solved)) if solved else None,
        }
    run.say(f"\n{'variant':9} {'final MSE':>10} {'solved':>7} {'steps to solve':>15}")
    for model, r in rows.items():
        steps_text = f"{r['mean_steps_to_solve']:.0f}" if r["mean_steps_to_solve"] else "-"
        run.say(f"{model:9} {r['final_mse']:>10.4f} {r['solved']:>4}/{seeds} {steps_text:>15}")
    fig_ax = run.figure(figsize=(8, 3.8))
    if fig_ax is not None:
        fig, ax = fig_ax
        names = list(rows)
        ax.bar(names, [rows[n]["final_mse"] for n in names], color=["#4c72b0"] * (len(names) - 1) + ["#dd8452"])
        ax.set_yscale("log")
        ax.axhline(0.01, color="g", ls="--", label="solved (0.01)")
        ax.set_ylabel("final test MSE (mean over seeds)")
        ax.set_title(f"Greff et al. variants, adding problem T={length}")
        ax.legend()
        run.save_figure(fig, "variants.png")
    run.results.update({"length": length, "steps": steps, "seeds": seeds, "table": rows})
    return run.results
