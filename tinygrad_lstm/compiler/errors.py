"""``CompileError``, and what the compiler answers when the engine reports, while a step records,
something a replay could not repeat (the engine's ``guard`` hook point, ``tape.state.guards``)."""

from __future__ import annotations


class CompileError(RuntimeError):
    """``tl.compile`` cannot replay the step faithfully; the message says why."""


# the engine's events (see ``tape.state.guards``) and why each is refused while a step records
_WHY = {
    "value": (
        "{what} while tl.compile records a step; a replay would reuse the first call's value (as JAX's "
        "tracer refuses a Python branch on a traced value). Compute it outside the step, use tl.where for a "
        "data-dependent choice, or run the step without tl.compile"
    ),
    "write": "{what} writes an array in place, and a replay would not repeat it",
    "backward": (
        "{what} inside a compiled function; tl.compile records the forward pass only. Return the loss and "
        "run the rest outside: loss = step(x, y); loss.backward(); opt.step() (backward then replays the "
        "recorded program's VJPs)"
    ),
    "draw": "{what}; a replay would repeat the first one",
    "hook": (
        "{what} would run on the recording call only: a replay runs the recorded ops, not the hook's "
        "Python. Remove it (handle.remove()) while the step is compiled, or run the step without tl.compile"
    ),
    "side effect": (
        "{what} inside a compiled function would run on the recording call only (a replay runs the recorded "
        "ops, not the function's Python). Return the loss and run it outside the step: "
        "loss = step(x, y); loss.backward(); opt.step()"
    ),
}


def refuse(event: str, what: str) -> None:
    """The guard a recording step installs: every event the engine reports is refused, with why."""
    raise CompileError("compile: " + _WHY[event].format(what=what))
