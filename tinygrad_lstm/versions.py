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
# id(root array) -> indices of the entries whose values a recorded in-place update made the memory's
# new values (the written tensor's, and its bases' through the views it was written through); and the
# stamp of the latest such update (-1: none yet, so recording an op looks at nothing)
written: dict[int, set] = {}
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


def recorded_write(array: np.ndarray, entries) -> None:
    """A recorded in-place update wrote the values of ``entries`` into ``array``'s memory (the written
    tensor's new entry, and its bases'): every other tensor that shows this memory and was computed
    before is now stale."""
    changed_in_place(array)
    written[id(_root(array))] = {entry.index for entry in entries}
    latest_recorded[0] = latest[0]


def is_stale(x) -> bool:
    """Whether a recorded in-place update overwrote tensor ``x``'s memory after ``x`` was computed, through
    another tensor (a view of it, or its base): ``x``'s graph no longer describes its values. A view
    made without a graph (of a tensor that did not require grad then) is stale when its memory was
    written by a recorded update after it was made: its values now depend on what was written."""
    entry = x._entry
    if entry is not None:
        if entry.index > latest_recorded[0] or entry.op == "leaf":
            return False
        made = entry.index
    elif x._view is None:
        return False
    else:
        made = x._view.stamp
    key = id(_root(x.data))
    current = written.get(key)
    return current is not None and stamps.get(key, -1) > made and (entry is None or made not in current)


def stale_error(op: str, x) -> RuntimeError:
    """For a stale tensor that is no view (it shares memory another way, as ``detach()`` does)."""
    entry = x._entry
    return RuntimeError(
        f"{op}: its input %{number(entry)} ({entry.name or entry.op}, shape {entry.shape}) shares memory with "
        "a tensor that a recorded in-place update changed after this input was computed, and it is not a "
        "view of that tensor (made by detach(), or from .data), so its graph cannot be brought up to date: "
        "its gradient would be wrong. Compute it again after the update, or update a .clone() instead"
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
        named = parent.name if parent is not None else _owner_name(entry, entry.ins[k])
        name = f"{named}, " if named else ""
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


def _owner_name(entry, array) -> str | None:
    """The name of a leaf among ``entry``'s parents and theirs whose memory ``array`` shows: an input
    passed without its graph (``matmul_t`` keeps its weight so, for its VJP) still gets its name."""
    root = _root(array)
    for parent in entry.parents:
        for p in (parent, *(getattr(parent, "parents", None) or ())):
            tensor = p.tensor() if p is not None and p.op == "leaf" else None
            if tensor is not None and _root(tensor.data) is root:
                return p.name
    return None


_HINT = "\n  (run the forward pass under tl.detect_anomaly() to see the line of your code that made this op)"
