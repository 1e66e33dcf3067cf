"""``einsum`` as NumPy and PyTorch spell it: implicit output, ``...``, repeated indices, size-1 axes.

The primitive (``ops.einsum``) takes one plain form: each operand's axes named once, the output
named after ``->``. Every other spelling is rewritten here, before anything is recorded, into recorded
ops whose gradients are already checked, so no new VJP is needed:

- ``...`` becomes fresh letters, right-aligned across operands as broadcasting aligns axes;
- an index repeated within one operand (``"ii->i"``, a diagonal; ``"ii"``, a trace) is that
  operand's diagonal, taken as ``x[arange(n), arange(n)]`` after moving the repeated axes to the front;
- an axis of size 1 named where another operand has size n is ``broadcast_to`` n (its gradient is
  summed back);
- without ``->`` the output is every index named exactly once, in alphabetical order (capitals
  first), after the ``...`` axes; with ``->`` but no ``...`` in the output, the ``...`` axes are summed
  (PyTorch's rule; NumPy refuses).

>>> import numpy as np, tinygrad_lstm as tl
>>> a = tl.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
>>> tl.einsum("ii", a).backward()      # the trace
>>> a.grad.data.diagonal().tolist()
[1.0, 1.0, 1.0]
"""

from __future__ import annotations

import string
from collections import Counter
from typing import Any

import numpy as np

from . import ops
from .tensor import Tensor

ELLIPSIS = "..."
LETTERS = string.ascii_uppercase + string.ascii_lowercase  # the order implicit outputs sort by (ASCII)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation over ``operands`` (NumPy's and PyTorch's ``einsum``; PyTorch's list form
    ``einsum("ij,jk", [a, b])`` too). Its gradient is the primitive's: each operand's is an einsum of
    the output's gradient with the other operands."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    tensors = [x if isinstance(x, Tensor) else ops.as_tensor(x) for x in operands]
    terms, output = _expanded(subscripts, [x.shape for x in tensors])
    sizes = _sizes(subscripts, terms, tensors)
    plain = [_plain(term, x, sizes) for term, x in zip(terms, tensors)]
    return ops.einsum(",".join(term for term, _ in plain) + "->" + output, *(x for _, x in plain))


def _expanded(subscripts: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """Each operand's letters, one per axis (``...`` replaced), and the output's letters."""
    spec = subscripts.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")

    def fail(why: str) -> ValueError:
        listed = ", ".join(str(s) for s in shapes)
        return ValueError(f"einsum: {subscripts!r} with operands of shapes {listed}: {why}")

    if len(terms) != len(shapes):
        raise fail(f"it names {len(terms)} operand(s), {len(shapes)} given")
    for part in (*terms, output):
        if any(c not in LETTERS for c in part.replace(ELLIPSIS, "", 1)):
            raise fail(f"{part!r} may hold only letters and one '...'")
    used = set(spec) & set(LETTERS)
    fresh = [c for c in LETTERS if c not in used]
    lengths = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace(ELLIPSIS, ""))
        if (ELLIPSIS in term and named > len(shape)) or (ELLIPSIS not in term and named != len(shape)):
            raise fail(f"{term!r} names {named} axes, an operand of shape {shape} has {len(shape)}")
        lengths.append(len(shape) - named if ELLIPSIS in term else 0)
    broad = max(lengths, default=0)
    if broad > len(fresh):
        raise fail(f"'...' covers {broad} axes, more than the letters left to name them")
    dots = "".join(fresh[:broad])
    expanded = [term.replace(ELLIPSIS, dots[broad - n :]) for term, n in zip(terms, lengths)]
    if not arrow:
        counts = Counter("".join(terms).replace(ELLIPSIS, ""))
        return expanded, dots + "".join(sorted((c for c, k in counts.items() if k == 1), key=LETTERS.index))
    if output.count(ELLIPSIS) and not any(ELLIPSIS in term for term in terms):
        raise fail("the output has '...' and no operand does")
    output = output.replace(ELLIPSIS, dots)
    if len(set(output)) != len(output):
        raise fail(f"the output {output!r} names an index twice")
    missing = sorted(set(output) - set("".join(expanded)))
    if missing:
        raise fail(f"the output names {', '.join(missing)}, which no operand has")
    return expanded, output


def _sizes(subscripts: str, terms: list[str], tensors: list[Tensor]) -> dict[str, int]:
    """Each index's size: the one size other than 1 it has (1 broadcasts), or a clear error."""
    sizes: dict[str, int] = {}
    where: dict[str, int] = {}
    for k, (term, x) in enumerate(zip(terms, tensors)):
        for letter in {c for c in term if term.count(c) > 1}:
            repeated = [n for c, n in zip(term, x.shape) if c == letter]
            if len(set(repeated)) > 1:
                raise ValueError(
                    f"einsum: {subscripts!r}: index {letter!r} repeats in an operand of shape {x.shape}"
                    f" over axes of sizes {repeated}, which must be equal to take a diagonal"
                )
        for letter, n in zip(term, x.shape):
            if letter not in sizes or sizes[letter] == 1:
                sizes[letter], where[letter] = n, k
            elif n not in (1, sizes[letter]):
                raise ValueError(
                    f"einsum: {subscripts!r}: index {letter!r} has size {sizes[letter]} in operand {where[letter]}"
                    f" (shape {tensors[where[letter]].shape}) and {n} in operand {k} (shape {x.shape})"
                )
    return sizes


def _plain(term: str, x: Tensor, sizes: dict[str, int]) -> tuple[str, Tensor]:
    """The operand with each repeated index reduced to its diagonal and each size-1 axis broadcast,
    and the letters that now name its axes once each."""
    for letter in [c for c, k in Counter(term).items() if k > 1]:
        axes = [k for k, c in enumerate(term) if c == letter]
        n = x.shape[axes[0]]
        rest = [k for k in range(len(term)) if k not in axes]
        order = axes + rest
        if order != list(range(len(term))):
            x = x.transpose(tuple(order))
        x = x[(np.arange(n),) * len(axes)]  # the diagonal, as its own first axis
        term = letter + "".join(term[k] for k in rest)
    shape = tuple(sizes[c] for c in term)
    if x.shape != shape:
        x = x.broadcast_to(shape)
    return term, x
