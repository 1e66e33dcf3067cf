"""Changes in place, and the backward check that no saved array was changed after it was saved.

A VJP reads arrays its entry saved in forward (``mul`` reads its inputs, ``tanh`` its output). If one
of them is changed in place before backward (an optimizer step, ``w += 1`` under ``no_grad``,
``load_state_dict``), the gradient would silently mix old and new values. PyTorch keeps a version
counter per tensor for this; here the tape's own clock does the job. Every in-place change made
through the engine stamps the memory it wrote (the array at the root of the views, so a view, a
detached copy and the original all share one stamp) with the next tape index; an entry was recorded
at its own index, so one of its saved arrays was changed after it was saved exactly when the
array's stamp is larger. Forward pays nothing; backward looks only when something was ever stamped.

Writing into ``tensor.data``'s array directly (``w.data[...] = 0``) goes around the engine and cannot
be seen: use ``with tl.no_grad(): w[...] = 0`` or ``w.copy_(values)``, which stamp what they change.
"""

from __future__ import annotations

import weakref

import numpy as np

from .tape import _sequence, number, where_made

# id(root array) -> tape index of its latest in-place change; an entry leaves when its array dies
stamps: dict[int, int] = {}
latest = [-1]  # the largest stamp: an entry recorded after it needs no look (the usual case, as an
# optimizer steps before the next forward)
# id(root array) -> index of the entry a recorded in-place update made the memory's new value; and the
# stamp of the latest such update (-1: none yet, so recording an op looks at nothing)
written: dict[int, int] = {}
latest_recorded = [-1]


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def changed_in_place(array: np.ndarray) -> None:
    """Record that ``array``'s memory (and so every view of it) was just written in place."""
    root = _root(array)
    key = id(root)
    if key not in stamps:
        weakref.finalize(root, _forget, key)
    stamps[key] = latest[0] = next(_sequence)


def _forget(key: int) -> None:
    stamps.pop(key, None)
    written.pop(key, None)


def recorded_write(array: np.ndarray, entry) -> None:
    """A recorded in-place update wrote ``entry``'s value into ``array``'s memory: every other tensor
    that shows this memory (a view, its base) was computed differently and is now stale."""
    changed_in_place(array)
    written[id(_root(array))] = entry.index
    latest_recorded[0] = latest[0]


def check_current(op: str, inputs) -> None:
    """Refuse to record ``op`` on an input whose memory a recorded in-place update overwrote after the
    input was computed (through a view, or through its base): its graph no longer describes its
    values, so its gradient would be silently wrong. Called only after such an update ever happened."""
    for x in inputs:
        entry = getattr(x, "_entry", None)
        if entry is None or entry.op == "leaf" or entry.index > latest_recorded[0]:
            continue
        key = id(_root(x.data))
        if stamps.get(key, -1) > entry.index and written.get(key) != entry.index:
            raise RuntimeError(
                f"{op}: its input %{number(entry)} ({entry.name or entry.op}, shape {entry.shape}) shares memory "
                "with a tensor that a recorded in-place update changed after this input was computed (a view "
                "and its base); the input's values no longer match how the tape computed them, so its gradient "
                "would be wrong. Compute it again after the update, or update a .clone() instead (PyTorch "
                "rebases views; this engine refuses)"
            )


def changed_after(array, index: int) -> bool:
    """Whether ``array`` was changed in place after tape index ``index``."""
    if not stamps or type(array) is not np.ndarray:
        return False
    return stamps.get(id(_root(array)), -1) > index


def check_saved(entry) -> None:
    """Raise if an array ``entry`` saved for its VJP was changed in place after ``entry`` was recorded
    (the sweep calls it only for entries older than ``latest[0]``)."""
    for role, array in entry.saved():
        if changed_after(array, entry.index):
            raise RuntimeError(changed_error(entry, role))


def changed_error(entry, role: str) -> str:
    if role == "out":
        what = "its own result"
    elif role.startswith("in"):
        k = int(role[2:])
        parent = entry.parents[k] if k < len(entry.parents) else None
        name = f"{parent.name}, " if parent is not None and parent.name else ""
        what = f"its input {k} ({name}shape {entry.ins[k].shape})"
    else:
        what = "an array among its parameters"
    scope = f", scope {entry.scope.path}" if entry.scope is not None else ""
    return (
        f"backward: {entry.op} (%{number(entry)}{scope}) saved {what} for its gradient, and it was "
        "changed in place after that (an optimizer step, an in-place op, load_state_dict...). The gradient "
        "would mix old and new values. Compute the loss again after the change, or make the change after "
        "backward (PyTorch: 'modified by an inplace operation')" + (where_made(entry) or _HINT)
    )


_HINT = "\n  (run the forward pass under tl.detect_anomaly() to see the line of your code that made this op)"
