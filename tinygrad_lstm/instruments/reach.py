"""``tl.record_reach``: how far back the gradient reaches, recorded over training.

For each recorded training step, ||dL/dh_{T-k}|| / ||dL/dh_T|| for k = 0 .. T-1 (the gradient that
arrives k steps before the last one, relative to the last): one row of a heat map whose rows are
training steps and whose columns are steps back in time (``tl.viz.reach_map`` draws it).

Probes sit only on the states: when a recorded forward pass names its ``h`` of a time step, one hook
on that tensor keeps the norm of its total gradient (a float, no copy). Forward passes that are not
recorded pay one Python call per named value.

>>> import numpy as np, tinygrad_lstm as tl
>>> rnn = tl.nn.RNN(2, 4)
>>> with tl.record_reach(rnn, every=2) as reach:
...     for step in range(4):
...         out, h = rnn(tl.randn(5, 1, 2))
...         (out[-1] ** 2).sum().backward()
>>> reach.steps                      # the forward passes it recorded: 0, 2 (every=2)
[0, 2]
>>> reach.ratios().shape             # (recorded steps, T): column k is k steps back
(2, 5)
>>> float(reach.ratios()[0, 0])      # k = 0: the last step against itself
1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..tape import state, time_step

#: the pictures a recording draws itself with, put here by ``viz`` when it loads (instruments import
#: nothing above them; ``import tinygrad_lstm`` loads ``viz``)
drawers: dict[str, Callable] = {}


class ReachRecorder:
    """Records ||dL/dh_{T-k}|| / ||dL/dh_T|| of one recurrent layer at every ``every``-th training step.

    ``layer``: a recurrent module (``tl.nn.RNN``, ``LSTM``, ``GRU``; its first layer, forward direction,
    or ``layer_index``), or the scope name its steps run in (``"lstm.l0"``); None takes the first layer
    seen. A training step is one forward pass of the layer that records a graph (passes under
    ``tl.no_grad()``, such as evaluation, are not counted); a ``tl.compile`` replay runs no Python, so a
    compiled loop runs the steps it wants recorded eagerly inside ``with reach.measure(step):``.
    """

    def __init__(self, layer=None, every: int = 1, name: str = "h", layer_index: int = 0) -> None:
        if every < 1:
            raise ValueError(f"record_reach: every must be at least 1, got {every}")
        if layer is None or isinstance(layer, str):
            self.scope = layer
        else:
            mode = getattr(layer, "mode", None)
            if mode is None:
                raise TypeError(
                    f"record_reach: expected a recurrent layer (tl.nn.RNN, LSTM, GRU) or its scope name, "
                    f"got {type(layer).__name__}"
                )
            self.scope = f"{mode}.l{layer_index}"
        self.every = every
        self.name = name
        self.forwards = 0  # forward passes of the layer seen (recording a graph)
        self.norms: dict[int, dict[int, float]] = {}  # training step -> {t: ||dL/dh_t||}
        self.listeners: list[Callable[[ReachRecorder], None]] = []  # called when a row is complete
        self._label: int | None = None  # the step the forward now running is recorded as, or None
        self._forced: int | None = None  # set by measure(step)

    # ---- recording -------------------------------------------------------------------------------
    def _watch(self, tensor, name: str) -> None:
        """Namer hook: called whenever a tensor is given a name."""
        if name != self.name or tensor._entry is None or tensor.is_leaf:
            return
        step = time_step(tensor._entry.scope)
        if step is None:
            return
        layer, t = step
        if self.scope is None:
            self.scope = layer
        elif layer != self.scope:
            return
        if t == 0:  # a new forward pass of the layer
            if self._forced is not None:
                self._label = self._forced
            else:
                n = self.forwards
                self._label = n if n % self.every == 0 else None
            self.forwards += 1
        label = self._label
        if label is None:
            return
        if t == 0:
            self.norms[label] = {}  # a step measured again replaces its row
        row = self.norms.setdefault(label, {})

        def keep(grad, t=t, row=row, label=label):
            row[t] = float(np.sqrt(np.vdot(grad.data, grad.data).real))
            if t == 0:
                for listener in self.listeners:
                    listener(self)

        tensor.register_hook(keep)

    def due(self, step: int) -> bool:
        """Whether training step ``step`` is one to record (``step % every == 0``)."""
        return step % self.every == 0

    def measure(self, step: int) -> _Measure:
        """``with reach.measure(step):`` around a forward pass records it as training step ``step``,
        whatever the count says (for loops whose other steps are ``tl.compile`` replays)."""
        return _Measure(self, step)

    def __enter__(self) -> ReachRecorder:
        state.namers.append(self._watch)
        return self

    def __exit__(self, *exc) -> None:
        state.namers.remove(self._watch)

    # ---- reading ---------------------------------------------------------------------------------
    @property
    def steps(self) -> list[int]:
        """The training steps recorded whose gradients arrived, in order."""
        return sorted(s for s, row in self.norms.items() if row)

    @property
    def length(self) -> int:
        """T, the longest sequence recorded (the number of columns)."""
        return max((max(row) + 1 for row in self.norms.values() if row), default=0)

    def row(self, step: int) -> np.ndarray:
        """Ratios k -> ||dL/dh_{T-k}|| / ||dL/dh_T|| at one recorded step (NaN where none arrived)."""
        norms = self.norms.get(step) or {}
        out = np.full(self.length, np.nan)
        if not norms:
            return out
        last = max(norms)
        top = norms[last]
        for t, n in norms.items():
            out[last - t] = n / top if top > 0 else (0.0 if n == 0 else math.inf)
        return out

    def ratios(self) -> np.ndarray:
        """(recorded steps, T): row i is :meth:`row` of ``steps[i]``."""
        return np.array([self.row(s) for s in self.steps]).reshape(len(self.steps), self.length)

    def span(self, step: int, floor: float = 1e-3) -> int:
        """How many steps back the gradient stays at or above ``floor`` times its size at T: the first
        k whose ratio falls below ``floor`` (T when none does)."""
        r = self.row(step)
        below = np.nonzero(~(r >= floor))[0]
        return int(below[0]) if below.size else len(r)

    def summary(self, steps: list[int] | None = None, floor: float = 1e-3) -> str:
        """A few lines: at each step, the ratio at the oldest step (k = T-1) and the span above ``floor``."""
        steps = self.steps if steps is None else steps
        lines = []
        for s in steps:
            r = self.row(s)
            lines.append(
                f"step {s:>5}: ||dL/dh_1|| / ||dL/dh_T|| = {r[-1]:.1e}, above {floor:.0e} for "
                f"{self.span(s, floor)} of {len(r)} steps back"
            )
        return "\n".join(lines)

    def picture(self, label: str | None = None, **kwargs):
        """This recording as a heat map (``tl.viz.reach_map``)."""
        return drawers["reach_map"]([(label or self.scope or "layer", self)], **kwargs)

    def show(self, label: str | None = None, **kwargs):
        """In a notebook: display the heat map now and update it in place as each recorded row completes
        (returns the map; ``map.handle`` is IPython's display handle)."""
        return self.picture(label, **kwargs).show()

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()

    def __repr__(self) -> str:
        return f"<ReachRecorder {self.scope or '?'}: {len(self.steps)} steps recorded, T={self.length}>"


class _Measure:
    def __init__(self, recorder: ReachRecorder, step: int) -> None:
        self.recorder, self.step = recorder, step

    def __enter__(self) -> ReachRecorder:
        self.recorder._forced = self.step
        if self.recorder._watch not in state.namers:
            state.namers.append(self.recorder._watch)
            self.added = True
        else:
            self.added = False
        return self.recorder

    def __exit__(self, *exc) -> None:
        self.recorder._forced = None
        self.recorder._label = None
        if self.added:
            state.namers.remove(self.recorder._watch)


def record_reach(layer=None, every: int = 1, name: str = "h", layer_index: int = 0) -> ReachRecorder:
    """Context manager over a training loop: at every ``every``-th forward pass of ``layer``, keep
    ||dL/dh_{T-k}|| / ||dL/dh_T|| for k = 0 .. T-1 once backward has run. Draw it with
    ``reach.picture()`` or ``tl.viz.reach_map([(label, reach), ...])``; in a notebook ``reach.show()``
    (or the map's) updates in place as rows arrive."""
    return ReachRecorder(layer, every, name, layer_index)
