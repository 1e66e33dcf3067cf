"""The adding problem (Hochreiter & Schmidhuber 1997): remember two marked numbers across T steps.

Predicting the mean gives MSE 1/6 = 0.167; solving it means test MSE < 0.01. A tanh RNN's gradient
from the target dies long before it reaches the first marked step (see the vanishing demo), so it
stays near the mean; the LSTM's cell path and the GRU's update gate carry it.
"""

from __future__ import annotations

from ..arguments import count
from ..instruments.reach import record_reach
from ..viz.reach import reach_map
from .run import Run
from .tasks import MEAN_BASELINE_MSE, train_adding

MODELS = ("lstm", "gru", "rnn")
REACH_MODELS = {"rnn": "tanh RNN", "lstm": "LSTM"}  # drawn side by side, in this order
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
    # the gradient's reach (tl.record_reach) of the tanh RNN and the LSTM, every `every` steps
    every = steps // 20 if run.quick else steps // 40
    reaches = {kind: record_reach(every=every) for kind in REACH_MODELS}
    for kind in MODELS:
        r = train_adding(
            kind,
            length=length,
            steps=steps,
            batch=batch,
            hidden_size=hidden,
            seed=run.seed,
            progress=run.progress,
            reach=reaches.get(kind),
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
    report_reach(run, reaches, results, length)
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


def report_reach(run: Run, reaches: dict, results: dict, length: int) -> None:
    """Print the reach at a few training steps, draw the map (PNG, and an HTML page to hover)."""
    run.say(
        f"\nThe gradient's reach, ||dL/dh_1|| / ||dL/dh_T|| (k = T-1 = {length - 1} steps back), and how many "
        "steps back it stays above 1e-3 of ||dL/dh_T||:"
    )
    found = {}
    for kind, reach in reaches.items():
        steps = reach.steps
        shown = sorted({steps[round(q * (len(steps) - 1))] for q in (0, 0.25, 0.5, 0.75, 1)}) if steps else []
        solved = results[kind]["solved_at"]
        run.say(f"  {REACH_MODELS[kind]}" + (f" (solved at step {solved}, training stopped)" if solved else ""))
        for line in reach.summary(shown).splitlines():
            run.say(f"    {line}")
        found[kind] = {s: float(reach.row(s)[-1]) for s in steps}
        run.results[f"{kind}_reach_span"] = {s: reach.span(s) for s in steps}
    run.results["reach"] = found
    labels = {
        kind: REACH_MODELS[kind]
        + (f" (solved at step {results[kind]['solved_at']})" if results[kind]["solved_at"] else "")
        for kind in REACH_MODELS
    }
    picture = reach_map(
        [(labels[kind], reaches[kind]) for kind in REACH_MODELS],
        title=f"Adding problem, T={length}: ||dL/dh_(T-k)|| / ||dL/dh_T|| over training (seed {run.seed})",
    )
    run.results["reach_map"] = picture
    try:
        fig = picture.figure()
    except ImportError:
        fig = None
    run.save_figure(fig, f"adding_reach_T{length}.png")
    run.wrote(picture.save(run.path(f"adding_reach_T{length}.html")))
