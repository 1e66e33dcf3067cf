"""``tl.probe_gradients``: collect dL/dh_t (or any named value) for every time step, with hooks.

>>> import numpy as np, tinygrad_lstm as tl
>>> rnn = tl.nn.RNN(2, 4)
>>> with tl.probe_gradients("h") as probe:
...     out, h_n = rnn(tl.randn(5, 1, 2, dtype=np.float32))
>>> (out[-1] * out[-1]).sum().backward()
>>> sorted(probe.norms("h"))   # {(layer, t): ||dL/dh_t||}
[('rnn.l0', 0), ('rnn.l0', 1), ('rnn.l0', 2), ('rnn.l0', 3), ('rnn.l0', 4)]
"""

from __future__ import annotations

import numpy as np

from ..tape import state, time_step


class GradientProbe:
    """Hooks every tensor given one of ``names`` inside a time-step scope while the block runs;
    after ``backward()``, ``grads[(name, layer, t)]`` is its total gradient."""

    def __init__(self, *names: str) -> None:
        self.names = set(names or ("h",))
        self.grads: dict[tuple[str, str, int], np.ndarray] = {}

    def watch(self, tensor, name: str) -> None:
        """Called when a tensor is named; hook it if it is one of ours."""
        if name not in self.names or not tensor.requires_grad or tensor.is_leaf:
            return
        step = time_step(tensor._entry.scope)
        if step is None:
            return
        key = (name, *step)

        def keep(grad):
            self.grads[key] = grad.data.copy()

        tensor.register_hook(keep)

    def norms(self, name: str = "h") -> dict[tuple[str, int], float]:
        """(layer, t) -> ||dL/d name_t|| for every step that received a gradient."""
        return {(layer, t): float(np.linalg.norm(g)) for (n, layer, t), g in sorted(self.grads.items()) if n == name}

    def ratios(self, name: str = "h", layer: str | None = None) -> dict[int, float]:
        """k -> ||dL/d name_{T-k}|| / ||dL/d name_T||, for one layer (the first one by default)."""
        norms = self.norms(name)
        layer = layer or (sorted({lay for lay, _ in norms})[0] if norms else None)
        steps = {t: n for (lay, t), n in norms.items() if lay == layer}
        if not steps:
            return {}
        last = max(steps)
        return {last - t: n / steps[last] for t, n in steps.items()}

    def __enter__(self) -> GradientProbe:
        state.namers.append(self.watch)
        return self

    def __exit__(self, *exc) -> None:
        state.namers.remove(self.watch)


def probe_gradients(*names: str) -> GradientProbe:
    """Context manager collecting the gradient of every tensor named ``names`` (default ``"h"``)
    in each time step recorded inside it."""
    return GradientProbe(*names)
