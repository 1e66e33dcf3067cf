"""``tl.Function``: your own primitive, a forward and its VJP side by side, as ``torch.autograd.Function``.

``forward(ctx, *inputs)`` computes the result without recording (inside it, tensor ops are plain
NumPy work) and saves what the gradient needs with ``ctx.save_for_backward``; ``backward(ctx, g)``
returns one gradient per input of ``forward`` (None for an input that needs none). Calling
``MyOp.apply(...)`` records one tape entry named after the class, so the op appears under its own
name in tape listings, pictures and backward traces, and ``tl.gradcheck`` checks it. A backward
written with tensor ops is itself recorded under ``create_graph=True``, so second derivatives work.

A forward that returns a tuple has several outputs, as in PyTorch: ``backward(ctx, *grads)`` gets
one gradient per output (zeros for an output no gradient reached, or None after
``ctx.set_materialize_grads(False)``), and ``ctx.mark_non_differentiable(t)`` keeps an output off
the tape. The call is then one entry holding the outputs side by side (flattened, in order), and
each output an entry ``Name[k]`` reading its part, so listings show what each output is.

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

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from .primitives import Primitive
from .primitives.index import IndexedGrad
from .tape import Entry, Leaf, guard, state
from .tape import no_grad as _no_grad
from .tensor import Tensor, function_views
from .versions import latest_recorded, recorded_write


class FunctionContext:
    """What ``forward`` hands to ``backward``: saved tensors and any attributes you set on it."""

    def __init__(self, function: type, needs_input_grad: tuple[bool, ...]) -> None:
        self.function = function
        self.needs_input_grad = needs_input_grad
        self.saved_tensors: tuple = ()
        self.materialize_grads = True
        self.non_differentiable: set[int] = set()
        self.dirty: set[int] = set()  # inputs forward changed in place (and returns)
        self.layout: list[tuple[int | None, tuple[int, ...], Any]] = []  # per output: (offset, shape, dtype)
        self.received: set[int] = set()  # the outputs a gradient reached in the sweep now running

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

    def mark_non_differentiable(self, *outputs) -> None:
        """These outputs of ``forward`` (the very objects it returns) do not require grad; backward
        still gets a gradient for each (zeros, or None without materialized grads)."""
        self.non_differentiable.update(id(t) for t in outputs)

    def mark_dirty(self, *tensors) -> None:
        """These inputs are changed in place by ``forward``, which returns them: the output is the input
        tensor itself, its history from then on this Function's, as PyTorch's. Call it before the
        change: a leaf that requires grad, or a view, is refused here, before anything changes."""
        name = self.function.__name__
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"{name}.forward: mark_dirty takes the input tensors forward changes in place")
            if isinstance(t._entry, Leaf):
                raise RuntimeError(
                    f"{name}.forward: a leaf tensor that requires grad (shape {t.shape}) is being changed in "
                    "place (mark_dirty); PyTorch refuses it too. Pass a clone, or change it under tl.no_grad()"
                )
            if t._view is not None:
                raise RuntimeError(f"{name}.forward: mark_dirty of a view (shape {t.shape}) is not supported here")
        self.dirty.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """False: backward gets None, not zeros, for an output no gradient reached."""
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static ``forward(ctx, *inputs)`` and ``backward(ctx, *grads)``, then call ``apply``.

    One output tensor, or a tuple of them; inputs may mix tensors and other values (those get None
    as their gradient).
    """

    @staticmethod
    def forward(ctx: FunctionContext, *inputs) -> Tensor:
        raise NotImplementedError("a tl.Function subclass defines forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: FunctionContext, *grads: Tensor) -> Any:
        raise NotImplementedError("a tl.Function subclass defines backward(ctx, *grads)")

    @staticmethod
    def setup_context(ctx: FunctionContext, inputs: tuple, output: Any) -> None:
        """PyTorch 2's other style: define this, and ``forward(*inputs)`` without ctx; it is called
        after forward with the inputs and the output, to save what backward needs."""
        raise NotImplementedError("a tl.Function subclass may define setup_context(ctx, inputs, output)")

    @classmethod
    def apply(cls, *inputs) -> Any:
        """Run ``forward`` and record one tape entry, named after the class, whose VJP is ``backward``
        (and, for a tuple of outputs, one entry per output that reads its part of it)."""
        name = cls.__name__
        guard("value", f"{name} (a tl.Function) runs Python code")
        if latest_recorded[0] >= 0 and state.grad_enabled:  # views stale after an in-place write: rebased
            ops.refresh(cls.__name__, inputs)
        parents = tuple(x._entry if isinstance(x, Tensor) else None for x in inputs)
        ctx = FunctionContext(cls, tuple(p is not None for p in parents))
        with _no_grad():
            if cls.setup_context is Function.setup_context:
                result = cls.forward(ctx, *inputs)
            else:  # forward takes no ctx: setup_context fills it in
                result = cls.forward(*inputs)
                cls.setup_context(ctx, inputs, result)
        if isinstance(result, tuple):
            return _apply_several(cls, ctx, inputs, parents, result)
        out = _array(name, result, None)
        if not (any(p is not None for p in parents) and state.grad_enabled) or out.dtype.kind not in "fc":
            return Tensor._from(out)
        if id(result) in ctx.non_differentiable:
            return Tensor._from(out)
        entry = _record(name, ctx, inputs, parents, out, out.shape, out.dtype, _function_vjp)
        if id(result) in ctx.dirty:
            return _rewritten(result, entry)
        _mark_view(entry, out, inputs, f"the output of {name}")
        tensor = Tensor._from(out, entry)
        _save_recorded_outputs(ctx, {id(result): tensor})
        return tensor


def _array(name: str, result, k: int | None) -> np.ndarray:
    out = result.data if isinstance(result, Tensor) else np.asarray(result)
    if not isinstance(result, (Tensor, np.ndarray)) and out.dtype.kind not in "fciub":
        what = "one tensor (or array)" if k is None else "tensors (or arrays)"
        where = "" if k is None else f" as output {k}"
        raise TypeError(f"{name}.forward must return {what}, got {type(result).__name__}{where}")
    return out


def _record(name: str, ctx, inputs, parents, out, shape, dtype, vjp) -> Entry:
    saved = tuple(t.data for t in ctx.saved_tensors if t is not None)
    # the saved arrays ride in p, where the sweep's in-place check looks (and free() drops them)
    entry = Entry(name, parents, vjp, None, None, (ctx, *saved), shape, dtype)
    arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
    for tape in state.tapes:
        tape.entries.append(entry)
    for instrument in state.instruments:
        instrument(entry, arrays, out)
    return entry


def _apply_several(cls, ctx, inputs, parents, result: tuple) -> tuple:
    """Several outputs: one entry for the call, whose value is the differentiable outputs side by
    side (flattened, in one dtype), and one entry per such output reading its part."""
    name = cls.__name__
    outs = [_array(name, r, k) for k, r in enumerate(result)]
    recording = any(p is not None for p in parents) and state.grad_enabled
    differentiable = [
        recording and o.dtype.kind in "fc" and id(r) not in ctx.non_differentiable for r, o in zip(result, outs)
    ]
    if not any(differentiable):
        return tuple(Tensor._from(o) for o in outs)
    dtype = np.result_type(*(o.dtype for o, d in zip(outs, differentiable) if d))
    offset = 0
    for o, d in zip(outs, differentiable):
        ctx.layout.append((offset if d else None, o.shape, o.dtype))
        offset += o.size if d else 0
    joined = np.concatenate([o.reshape(-1).astype(dtype, copy=False) for o, d in zip(outs, differentiable) if d])
    node = _record(name, ctx, inputs, parents, joined, joined.shape, dtype, _function_vjp)
    tensors = []
    for k, (o, d) in enumerate(zip(outs, differentiable)):
        if not d:
            tensors.append(Tensor._from(o))
            continue
        part = Entry(f"{name}[{k}]", (node,), _output_vjp, None, None, (ctx, k), o.shape, o.dtype)
        for tape in state.tapes:
            tape.entries.append(part)
        for instrument in state.instruments:
            instrument(part, [joined], o)
        if id(result[k]) in ctx.dirty:
            tensors.append(_rewritten(result[k], part))
            continue
        _mark_view(part, o, inputs, f"output {k} of {name}")
        tensors.append(Tensor._from(o, part))
    _save_recorded_outputs(ctx, {id(r): t for r, t in zip(result, tensors)})
    return tuple(tensors)


def _save_recorded_outputs(ctx, recorded: dict) -> None:
    """An output forward saved (``ctx.save_for_backward(result)``) is the recorded output from now on,
    as PyTorch saves it: under create_graph, backward's ops on it are differentiated through this
    Function again (a second derivative of MyCube, whose backward reads its own output dx)."""
    ctx.saved_tensors = tuple(recorded.get(id(t), t) if t is not None else None for t in ctx.saved_tensors)


def _rewritten(t: Tensor, entry: Entry) -> Tensor:
    """An input forward changed in place (mark_dirty): the same tensor, its value now ``entry``'s; what
    saved its old values finds them changed (forward's in-place op moved its version) and refuses."""
    t._entry = entry
    recorded_write(t.data, [entry])  # views of it made before are brought up to date where next used
    return t


def _mark_view(entry: Entry, out: np.ndarray, inputs: tuple, what: str) -> None:
    """Note an output that shares memory with an input: an in-place change of it is refused."""
    if any(isinstance(x, Tensor) and np.may_share_memory(out, x.data) for x in inputs):
        function_views[entry] = what


def _output_vjp(g, entry):
    """An output's gradient, placed at its part of the call's joined value."""
    ctx, k = entry.p
    ctx.received.add(k)
    offset, shape, _ = ctx.layout[k]
    node = entry.parents[0]
    where = slice(offset, offset + math.prod(shape))
    if isinstance(g, Tensor):
        flat = ops.reshape(g, (-1,))
        flat = flat if flat.dtype == node.dtype else ops.astype(flat, node.dtype)
        return (ops.scatter_add(flat, where, node.shape, True),)
    return (IndexedGrad(g.reshape(-1), where, node.shape, True),)


def _gradients_of_outputs(g, ctx) -> tuple:
    """The joined gradient cut back into one per output (zeros or None where none arrived)."""
    received, ctx.received = ctx.received, set()
    recorded = isinstance(g, Tensor)
    grads = []
    for k, (offset, shape, dtype) in enumerate(ctx.layout):
        if offset is None or k not in received:
            grads.append(Tensor._from(np.zeros(shape, dtype)) if ctx.materialize_grads else None)
            continue
        where = slice(offset, offset + math.prod(shape))
        if recorded:
            part = ops.reshape(ops.getitem(g, where), shape)
            grads.append(part if part.dtype == dtype else ops.astype(part, dtype))
        else:
            grads.append(Tensor._from(g[where].reshape(shape).astype(dtype, copy=False)))
    return tuple(grads)


def _function_vjp(g, entry):
    """The recorded entry's VJP: the user's ``backward``, its gradients checked against the inputs."""
    ctx = entry.p[0]
    name = ctx.function.__name__
    several = bool(ctx.layout)
    if isinstance(g, Tensor):  # create_graph: backward's tensor ops are recorded too
        grads = ctx.function.backward(ctx, *(_gradients_of_outputs(g, ctx) if several else (g,)))
    else:
        with _no_grad():
            grads = ctx.function.backward(ctx, *(_gradients_of_outputs(g, ctx) if several else (Tensor._from(g),)))
    grads = grads if isinstance(grads, tuple) else (grads,)
    if len(grads) > len(entry.parents) and all(extra is None for extra in grads[len(entry.parents) :]):
        grads = grads[: len(entry.parents)]  # Nones for optional inputs not given, as PyTorch allows
    if len(grads) != len(entry.parents):
        raise RuntimeError(
            f"{name}.backward returned {len(grads)} gradient(s) for the {len(entry.parents)} input(s) of forward; "
            "return one per input, None where an input needs none"
        )
    result: list[Tensor | np.ndarray | None] = []
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


def once_differentiable(backward: Callable) -> Callable:
    """Decorate a ``backward`` that cannot itself be differentiated (NumPy work, say): it runs
    without recording, and under ``create_graph=True`` its results refuse a second backward with an
    error naming the function, as PyTorch's ``once_differentiable``."""

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with _no_grad():
            result = backward(ctx, *grads)
        live = [g for g in grads if isinstance(g, Tensor) and g.requires_grad]
        if not live or not state.grad_enabled:
            return result
        name = ctx.function.__name__
        single = not isinstance(result, tuple)
        wrapped = tuple(_refuse_twice(name, r, live) for r in ((result,) if single else result))
        return wrapped[0] if single else wrapped

    return wrapper


def _refuse_twice(name: str, value, live: list[Tensor]):
    if value is None:
        return None
    data = value.data if isinstance(value, Tensor) else np.asarray(value)

    def fwd(p, *arrays):
        return data

    def vjp(g, entry):
        raise RuntimeError(
            f"backward: {name}.backward is marked @once_differentiable, so its result (shape {data.shape}) "
            "cannot be differentiated again"
        )

    return ops.apply(Primitive(f"{name}.backward", fwd, vjp, register=False), tuple(live))
