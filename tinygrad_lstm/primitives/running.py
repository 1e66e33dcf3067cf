"""The update of running statistics (BatchNorm's, InstanceNorm's): an op without a gradient that
writes buffers in place. As a primitive, it is one step of a recorded program like any other, so a
replay of the program runs it on every call (``effect=True``: kept though nothing reads its result),
and eager execution and a replay run the same arithmetic, bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..versions import changed_in_place
from .primitive import Primitive


def _running_update_fwd(p: Any, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """``p`` = (running_mean, running_var, num_batches_tracked, momentum), arrays or None: count the
    batch, then running = (1 - f) running + f batch, with f = momentum, or 1 / count when momentum is
    None (a cumulative average). Returns an empty result: what matters is what it wrote."""
    running_mean, running_var, counter, momentum = p
    if counter is not None:
        counter[...] += 1
        changed_in_place(counter)
    factor = 1.0 / float(counter) if momentum is None else float(momentum)
    for running, batch in ((running_mean, mean), (running_var, var)):
        if running is not None:
            running[...] = running * (1.0 - factor) + batch * factor
            changed_in_place(running)  # a graph that saved the old values refuses backward
    return np.zeros(0, dtype=mean.dtype)


RUNNING_UPDATE = Primitive("running_update", _running_update_fwd, None, effect=True)
