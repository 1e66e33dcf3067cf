"""``tl.Function``: your own primitive, a forward and its VJP side by side, as ``torch.autograd.Function``.

``forward(ctx, *inputs)`` computes the result without recording (inside it, tensor ops are plain
NumPy work) and saves what the gradient needs with ``ctx.save_for_backward``; ``backward(ctx, g)``
returns one gradient per input of ``forward`` (None for an input that needs none). Calling
``MyOp.apply(...)`` records one tape entry named after the class, so the op appears under its own
name in tape listings, pictures and backward traces, and ``tl.gradcheck`` checks it. A backward
written with tensor ops is itself recorded under ``create_graph=True``, so second derivatives work.

>>> import numpy as np, tinygrad_lstm as tl
>>> class SigmoidTimes(tl.Function):
...     '''sigmoid(x) * y in one entry: the gate-times-candidate product of an LSTM.'''
...     @staticmethod
...     def forward(ctx, x, y):
...         ctx.save_for_backward(x, y)
...         return x.sigmoid() * y
...     @staticmethod
...     def backward(ctx, g):
...         x, y = ctx.saved_tensors
...         s = x.sigmoid()
...         return g * y * s * (1 - s), g * s
>>> x = tl.tensor(np.array([0.5, -1.0]), requires_grad=True).named("x")
>>> y = tl.tensor(np.array([2.0, 3.0]), requires_grad=True).named("y")
>>> with tl.Tape() as tape:
...     z = SigmoidTimes.apply(x, y).sum()
>>> print(tape)
%0 = SigmoidTimes(x, y)  (2,)  float64
%1 = sum(%0)             ()    float64
>>> tl.gradcheck(SigmoidTimes.apply, (x, y))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tape import Entry, refuse_while_compiling, state
from .tape import no_grad as _no_grad
from .tensor import Tensor
from .versions import check_current, latest_recorded


class FunctionContext:
    """What ``forward`` hands to ``backward``: saved tensors and any attributes you set on it."""

    def __init__(self, function: type, needs_input_grad: tuple[bool, ...]) -> None:
        self.function = function
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep these (inputs, the output, or new tensors) for ``backward``; changing one of them in
        place before backward is detected, as for the built-in ops."""
        for k, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"{self.function.__name__}.forward: save_for_backward takes tensors (or None), got "
                    f"{type(t).__name__} in position {k}; keep other values as attributes of ctx"
                )
        self.saved_tensors = tensors


class Function:
    """Subclass with static ``forward(ctx, *inputs)`` and ``backward(ctx, g)``, then call ``apply``.

    One output tensor; inputs may mix tensors and other values (those get None as their gradient).
    """

    @staticmethod
    def forward(ctx: FunctionContext, *inputs) -> Tensor:
        raise NotImplementedError("a tl.Function subclass defines forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: FunctionContext, g: Tensor) -> Any:
        raise NotImplementedError("a tl.Function subclass defines backward(ctx, g)")

    @classmethod
    def apply(cls, *inputs) -> Tensor:
        """Run ``forward`` and record one tape entry, named after the class, whose VJP is ``backward``."""
        name = cls.__name__
        refuse_while_compiling(f"{name} (a tl.Function) runs Python code tl.compile cannot replay")
        parents = tuple(x._entry if isinstance(x, Tensor) else None for x in inputs)
        ctx = FunctionContext(cls, tuple(p is not None for p in parents))
        with _no_grad():
            result = cls.forward(ctx, *inputs)
        out = result.data if isinstance(result, Tensor) else np.asarray(result)
        if not isinstance(result, (Tensor, np.ndarray)) and out.dtype.kind not in "fciub":
            raise TypeError(f"{name}.forward must return one tensor (or array), got {type(result).__name__}")
        if not (any(p is not None for p in parents) and state.grad_enabled) or out.dtype.kind not in "fc":
            return Tensor._from(out)
        if latest_recorded[0] >= 0:
            check_current(name, inputs)
        saved = tuple(t.data for t in ctx.saved_tensors if t is not None)
        # the saved arrays ride in p, where the sweep's in-place check looks (and free() drops them)
        entry = Entry(name, parents, _function_vjp, None, None, (ctx, *saved), out.shape, out.dtype)
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        for tape in state.tapes:
            tape.entries.append(entry)
        for instrument in state.instruments:
            instrument(entry, arrays, out)
        return Tensor._from(out, entry)


def _function_vjp(g, entry):
    """The recorded entry's VJP: the user's ``backward``, its gradients checked against the inputs."""
    ctx = entry.p[0]
    name = ctx.function.__name__
    if isinstance(g, Tensor):  # create_graph: backward's tensor ops are recorded too
        grads = ctx.function.backward(ctx, g)
    else:
        with _no_grad():
            grads = ctx.function.backward(ctx, Tensor._from(g))
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) != len(entry.parents):
        raise RuntimeError(
            f"{name}.backward returned {len(grads)} gradient(s) for the {len(entry.parents)} input(s) of forward; "
            "return one per input, None where an input needs none"
        )
    result = []
    for k, (parent, grad) in enumerate(zip(entry.parents, grads)):
        if parent is None or grad is None:
            result.append(None)
            continue
        data = grad.data if isinstance(grad, Tensor) else np.asarray(grad)
        if data.shape != parent.shape:
            raise RuntimeError(
                f"{name}.backward returned a gradient of shape {data.shape} for input {k} of shape {parent.shape}"
            )
        if isinstance(g, Tensor):
            result.append(grad if isinstance(grad, Tensor) else Tensor._from(data))
        else:
            result.append(data.astype(parent.dtype, copy=False))
    return tuple(result)
