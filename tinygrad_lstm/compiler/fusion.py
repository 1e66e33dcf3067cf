"""What ``tl.compile`` runs as one NumPy call where eager runs several: the gates of a cell.

An LSTM step slices its four gate pre-activations from one array and applies ``sigmoid`` to three
of them and ``tanh`` to one. Eager execution keeps one tape entry per gate (the pictures and
listings show each gate), so it makes one call per gate, and in backward a new array per gate's
gradient, joined afterwards into the gradient of the array they were sliced from. A replay knows
the whole program, so where gates side by side share an op (an LSTM's i and f, a GRU's r and z) it
runs them as one call over their slices together, hands each gate its part of the result, and in
backward runs their VJPs as one, over the joined outputs and gradients: one piece of the joined
gradient where eager makes one per gate.

Both are the same arithmetic on the same elements, so every bit equals eager's (an elementwise op
computes each element alone). This module says which entries qualify and holds each op's VJP as
source text: a twin of the VJP beside its forward in ``primitives/elementwise.py``, which
``tests/test_compile.py`` checks bit for bit against the original.
"""

from __future__ import annotations

from ..primitives import PRIMITIVES, is_primitive


def _sigmoid_factor(y: str) -> list[str]:
    # ops.sigmoid's VJP: d = 1 - y; d *= y; d *= g
    return [f"d = subtract(1, {y})", f"multiply(d, {y}, out=d)"]


def _tanh_factor(y: str) -> list[str]:
    # ops.tanh's VJP: d = y * y; d = 1 - d; d *= g
    return [f"d = multiply({y}, {y})", "subtract(1, d, out=d)"]


#: op -> the lines that make its local derivative ``d`` (a function of its output ``y`` alone) as a
#: new array; the VJP then multiplies ``d`` by the incoming gradient, in place, as the primitive does.
FACTORS = {"sigmoid": _sigmoid_factor, "tanh": _tanh_factor}


def fusable(entry) -> bool:
    """Whether ``entry`` is one of the engine's own ops with a VJP here (a user's Function that
    happens to be called "tanh" is not)."""
    return entry.op in FACTORS and is_primitive(entry, entry.op) and entry.p is None


def elementwise(entry) -> bool:
    """Whether ``entry`` is one of the engine's primitives flagged elementwise: it may read a gate's
    result when that is a view of a joined call's result, since each element is computed as from a
    fresh array (a sum or product over a strided view can add in another order than over a contiguous
    one, and change the bits)."""
    prim = PRIMITIVES.get(entry.op)
    return prim is not None and prim.elementwise and is_primitive(entry, entry.op)


def vjp_lines(op: str, y: str, g: str) -> list[str]:
    """Source lines that leave ``op``'s VJP in ``d``, for output ``y`` and incoming gradient ``g``:
    the same operations, in the same order, as the primitive's VJP."""
    return [*FACTORS[op](y), f"multiply(d, {g}, out=d)"]
