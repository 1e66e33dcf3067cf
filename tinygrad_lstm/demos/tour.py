"""The tour: a tiny LSTM learns in seconds, then we look inside.

1. An LSTM learns the adding problem on short sequences (loss.backward() is all the BPTT there is).
2. Its unrolled graph is drawn: every primitive of a few steps, and the folded cells of a whole
   sequence, coloured by the gradient that reached them.
3. The tape of one time step is printed: the Wengert list of one LSTM step.
4. The vanishing-gradient picture: how much gradient reaches k steps back at initialisation.
5. The backward-pass explorer: a page that steps the sweep VJP by VJP, a tanh RNN beside an LSTM
   on the same input, so one watches the RNN's gradient die out while the LSTM's travels back.
"""

from __future__ import annotations

import numpy as np

from .. import viz
from ..examples import recurrent_layer
from ..instruments.recording import Tape
from ..instruments.trace import trace_backward
from ..random import manual_seed
from ..tape import time_step
from ..tensor import Tensor
from . import vanishing
from .run import Run
from .tasks import MEAN_BASELINE_MSE, SequenceRegressor, adding_batch, train_adding


def run(run: Run) -> dict:
    length = 10
    steps = 150 if run.quick else 400
    run.say(f"1. Training an LSTM (hidden 16) on the adding problem, T={length}, Adam, up to {steps} steps")
    result = train_adding(
        "lstm",
        length=length,
        steps=steps,
        batch=32,
        hidden_size=16,
        seed=run.seed,
        eval_every=25,
        progress=run.progress,
    )
    model = result.pop("model")
    start, final = result["curve"][0][1], result["final_mse"]
    solved = f", solved at step {result['solved_at']}" if result["solved_at"] else ""
    run.say(f"   test MSE {start:.3f} -> {final:.4f} (predicting the mean: {MEAN_BASELINE_MSE:.3f}){solved}")

    run.say("\n2. Drawing the LSTM's unrolled graph, coloured by ||dL/d value|| after one backward")
    x, y = adding_batch(1, length, np.random.default_rng(run.seed + 7))
    manual_seed(run.seed)  # the same initial weights train_adding started from
    fresh = SequenceRegressor(recurrent_layer("lstm", 2, 16, forget_bias=1.0), 16)
    manual_seed(run.seed)
    rnn = SequenceRegressor(recurrent_layer("rnn", 2, 16), 16)
    recordings = {}
    for label, net, seq in (
        ("tanh RNN, untrained", rnn, x),
        ("LSTM before training", fresh, x),
        (f"LSTM after {steps} Adam steps", model, x),
        ("op", model, x[-4:]),
    ):
        with Tape() as tape:
            pred = net(Tensor(seq))
            loss = ((pred - Tensor(y)) ** 2).mean().named("loss")
        with trace_backward() as trace:
            loss.backward()
        recordings[label] = (tape, trace)
    # every norm of the trained LSTM's 4 steps sits within about a decade: a scale fitted to the picture
    # spreads them over the whole palette (the title says so); the belts below share the one fixed scale
    tape, trace = recordings.pop("op")
    scale = viz.HeatScale("auto", trace.grad_norms().values())
    title = (f"trained LSTM, last 4 of {length} steps, op view: colour = ||dL/d value||, "
             f"scale fitted to this picture (1e{scale.lo}..1e{scale.hi})")  # fmt: skip
    run.render(viz.draw(tape, view="op", trace=trace, title=title, scale=(scale.lo, scale.hi)), "tour_lstm_op.svg")
    one_step = tape.filter(scope="t=1")
    contrast = {"tour_lstm_op.svg": _spread([(tape, trace)], scale, every=True)}
    title = f"The same input, {length} steps, one colour scale: before and after training, and a tanh RNN"
    runs = [(label, tape, trace) for label, (tape, trace) in recordings.items()]
    run.render(viz.compare(runs, title=title), "tour_lstm_cell.svg")
    contrast["tour_lstm_cell.svg"] = _spread(list(recordings.values()), viz.HeatScale())
    run.results["picture_contrast"] = contrast

    run.say("\n3. The tape of one time step (lstm.l0, t=1): one line per recorded primitive")
    run.say(one_step.listing())

    run.say("\n4. The vanishing-gradient picture")
    sub = Run("vanishing", out=run.out, quick=True, seed=run.seed, quiet=run.quiet)
    vanishing.run(sub, steps=50, seeds=2, prefix="tour_")
    run.files.extend(sub.files)
    run.results.update(
        {"start_mse": start, "final_mse": final, "solved_at": result["solved_at"], "vanishing": sub.results["ratios"]}
    )

    run.say(
        f"\n5. The backward-pass explorer: a fresh tanh RNN beside a fresh LSTM, one input of {EXPLORER_LENGTH} steps"
    )
    x, y = adding_batch(1, EXPLORER_LENGTH, np.random.default_rng(run.seed + 8))
    explored: list = []
    survived = {}
    for kind, label in (("rnn", "tanh RNN"), ("lstm", "LSTM, forget-gate bias 1")):
        manual_seed(run.seed)  # at initialisation, as the vanishing picture: before training shapes anything
        net = SequenceRegressor(recurrent_layer(kind, 2, 16, forget_bias=1.0), 16)
        with Tape(sources=True, values=viz.HEAT_MAP_LIMIT) as tape:
            loss = ((net(Tensor(x)) - Tensor(y)) ** 2).mean().named("loss")
        with trace_backward(arrays=viz.HEAT_MAP_LIMIT) as trace:
            loss.backward()
        explored.append((f"{label}, at initialisation", tape, trace))
        norms = trace.grad_norms()
        first, last = (norms[_state_at(tape, t).index] for t in (0, EXPLORER_LENGTH - 1))
        survived[kind] = first / last
    title = f"Backward through {EXPLORER_LENGTH} steps: press \u2192 and watch where the gradient survives"
    page = viz.explore(explored, title=title)
    path = run.wrote(page.save(run.path("tour_explorer.html")))
    run.say(f"   wrote {path}: open it in a browser (no network needed) and press the right arrow")
    run.say(f"   {page.steps} VJPs to step through; ||dL/dh_0|| / ||dL/dh_{EXPLORER_LENGTH - 1}||: "
            f"tanh RNN {survived['rnn']:.1e}, LSTM {survived['lstm']:.1e}")  # fmt: skip
    run.results["explorer_survived"] = survived
    return run.results


EXPLORER_LENGTH = 24  # two lines of 12 steps: long enough for the RNN's gradient to fade by decades


def _spread(recordings: list, scale, every: bool = False) -> float:
    """How much of the colour scale the gradient norms of the states (``every``: of every value) span
    in one picture (0 to 1)."""
    found = []
    for tape, trace in recordings:
        norms = trace.grad_norms()
        found += [norms[e.index] for e in tape if (e.name in ("h", "c") or every) and norms.get(e.index, 0) > 0]
    return scale.fraction(max(found)) - scale.fraction(min(found)) if found else 0.0


def _state_at(tape: Tape, t: int):
    """The entry named h in time step ``t`` of the tape's (only) layer."""
    return next(e for e in tape if e.name == "h" and (at := time_step(e.scope)) is not None and at[1] == t)
