"""``tl.detect_anomaly()``: stop at the first NaN or Inf, forward or backward, and say where it came from.

Inside the block every new tape entry remembers the user's source line that made it (normal runs pay
nothing), the forward output of each op is checked, and so is every gradient a VJP sends back.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.Tensor(np.array([1.0, -1.0]), requires_grad=True)
>>> with tl.detect_anomaly():
...     y = x.log()  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
tinygrad_lstm.AnomalyError: detect_anomaly: log (%...) produced nan in forward ...
"""

from __future__ import annotations

import numpy as np

from ..tape import number, state, where_made
from .recording import record_source

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True


class AnomalyError(FloatingPointError):
    """A NaN or Inf appeared; the message names the op, its scope and the source line."""


AnomalyError.__module__ = "tinygrad_lstm"  # a traceback names it as users reach it: tl.AnomalyError


def _message(entry, what: str) -> str:
    name = f" {entry.name} =" if entry.name else ""
    scope = f", scope {entry.scope.path}" if getattr(entry, "scope", None) is not None else ""
    return f"detect_anomaly:{name} {entry.op} (%{number(entry)}{scope}) {what}{where_made(entry)}"


def _bad(a) -> str | None:
    a = np.asarray(a)
    if a.dtype.kind not in "fc" or np.all(np.isfinite(a)):
        return None
    return "nan" if np.any(np.isnan(a)) else "inf"


def check_forward(entry, args, out) -> None:
    """Instrument: raise if this op turned finite inputs into a NaN or Inf."""
    record_source(entry, args, out)
    bad = _bad(out)
    if bad and all(_bad(x) is None for x in args):
        raise AnomalyError(_message(entry, f"produced {bad} in forward"))


def check_backward(entry, g, grads) -> None:
    """Observer of the sweep: raise if this VJP sent a NaN or Inf to one of its inputs."""
    for k, sent in enumerate(grads):
        if sent is None:
            continue
        values = sent.dense(np.float64) if hasattr(sent, "dense") else getattr(sent, "data", sent)
        bad = _bad(values)
        if bad:
            raise AnomalyError(_message(entry, f"sent {bad} to input {k} in backward (its VJP)"))


def is_anomaly_enabled() -> bool:
    """Whether the NaN/Inf checks run (inside ``detect_anomaly()`` or after ``set_detect_anomaly(True)``)."""
    return check_forward in state.instruments


def _set_anomaly(mode: bool) -> None:
    if mode and not is_anomaly_enabled():
        state.instruments.append(check_forward)
        state.observers.append(check_backward)
    elif not mode and is_anomaly_enabled():
        state.instruments.remove(check_forward)
        state.observers.remove(check_backward)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager: NaN/Inf checks in forward and backward, with the source line of the culprit."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan

    def __enter__(self) -> detect_anomaly:
        self._before = is_anomaly_enabled()
        if self.check_nan:
            _set_anomaly(True)
        return self

    def __exit__(self, *exc) -> None:
        _set_anomaly(self._before)


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """``tl.autograd.set_detect_anomaly(mode)``: turn the checks on or off from here on, as a call, or
    for a block, as a context manager (the mode before it comes back at the block's end)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._before = is_anomaly_enabled()
        _set_anomaly(bool(mode) and check_nan)

    def __enter__(self) -> set_detect_anomaly:
        return self

    def __exit__(self, *exc) -> None:
        _set_anomaly(self._before)
