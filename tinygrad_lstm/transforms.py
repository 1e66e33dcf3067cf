"""Function transforms with the signatures and results of ``torch.autograd.functional``:
``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``.

Each is a few calls of ``tl.grad`` over the recorded tape:

- ``vjp`` (reverse mode) is one backward sweep: v^T J for a chosen output direction v.
- ``jvp`` (forward mode) uses the double-VJP trick: the VJP ``u -> u^T J`` is linear in a dummy
  cotangent ``u``, so differentiating ``(u^T J) . v`` with respect to ``u`` gives ``J v``. It needs
  no forward rule per primitive, so every primitive (and every ``tl.Function``) supports it with
  the VJP it already has. It costs about two reverse sweeps, where a tangent-carrying forward mode
  would cost one; what forward mode buys is the count of passes, not their price.
- ``jacobian`` builds J row by row with one VJP per output element (``strategy="reverse-mode"``) or
  column by column with one JVP per input element (``"forward-mode"``). Forward wins when there
  are few inputs and many outputs.
- ``hessian`` is the Jacobian of the gradient, and ``hvp`` is H v without forming H.

>>> import numpy as np, tinygrad_lstm as tl
>>> f = lambda x: (x ** 3).sum()
>>> x = tl.tensor(np.array([1.0, 2.0]))
>>> tl.hessian(f, x).tolist()
[[6.0, 0.0], [0.0, 12.0]]
>>> _, jv = tl.jvp(lambda x: x ** 2, x, tl.tensor(np.array([1.0, 1.0])))
>>> jv.tolist()
[2.0, 4.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import ops
from .backward import grad
from .tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vjp"]


def _as_tuple(value, what: str) -> tuple[tuple, bool]:
    """(values as a tuple, whether a single value was given)."""
    if isinstance(value, (tuple, list)):
        items = tuple(value)
        single = False
    else:
        items, single = (value,), True
    for k, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"{what} must be tensors, got {type(item).__name__} in position {k}")
    return items, single


def _inputs(inputs, create_graph: bool, fn: str) -> tuple[tuple[Tensor, ...], bool]:
    """Differentiable stand-ins for the inputs: with ``create_graph`` an input that requires grad is
    used through a recorded copy (the result stays connected to it), otherwise a fresh leaf."""
    items, single = _as_tuple(inputs, f"{fn}: inputs")
    prepared = []
    for x in items:
        if create_graph and x.requires_grad:
            prepared.append(x.clone())
        else:
            prepared.append(Tensor(x.data, requires_grad=True))
    return tuple(prepared), single


def _outputs(result, fn: str) -> tuple[tuple[Tensor, ...], bool]:
    return _as_tuple(result, f"{fn}: the function's outputs")


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, fn: str) -> tuple:
    """tl.grad, with zeros (PyTorch's choice) for an input the outputs do not depend on."""
    found = grad(list(outputs), list(inputs), grad_outputs, retain_graph=True, create_graph=create_graph,
                 allow_unused=True)  # fmt: skip
    result = []
    for k, (g, x) in enumerate(zip(found, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output does not depend on input {k} (strict=True)")
            g = Tensor(np.zeros(x.shape, x.dtype))
        result.append(g)
    return tuple(result)


def _finish(values, create_graph: bool):
    return tuple(v if create_graph else Tensor(v.data) for v in values)


def _shape_of_v(v, outputs, fn: str, role: str):
    if v is None:
        if len(outputs) != 1 or outputs[0].data.size != 1:
            raise RuntimeError(f"{fn}: v can be None only when the function returns a single element")
        return (Tensor(np.ones(outputs[0].shape, outputs[0].dtype)),)
    vs, _ = _as_tuple(v, f"{fn}: v")
    if len(vs) != len(outputs) or any(a.shape != b.shape for a, b in zip(vs, outputs)):
        raise ValueError(
            f"{fn}: v must match the {role} in number and shapes: {[a.shape for a in vs]} given, "
            f"{[b.shape for b in outputs]} expected"
        )
    return vs


def _dot(gradients, directions) -> Tensor | None:
    """sum_i <g_i, v_i> over the gradients that depend on something (None if none does)."""
    total = None
    for g, direction in zip(gradients, directions):
        if g.requires_grad:
            term = (g * direction).sum()
            total = term if total is None else total + term
    return total


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: one reverse sweep from the outputs in direction ``v``."""
    xs, single_in = _inputs(inputs, create_graph, "vjp")
    outs, single_out = _outputs(func(*xs), "vjp")
    vs = _shape_of_v(v, outs, "vjp", "outputs")
    result = _finish(_grads(outs, xs, list(vs), create_graph, strict, "vjp"), create_graph)
    outs = _finish(outs, create_graph)
    return (outs[0] if single_out else outs), (result[0] if single_in else result)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)`` by the double-VJP trick (see the module docstring)."""
    xs, single_in = _inputs(inputs, create_graph, "jvp")
    outs, single_out = _outputs(func(*xs), "jvp")
    vs = _shape_of_v(v, xs, "jvp", "inputs")
    dummies = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
    pulled = _grads(outs, xs, list(dummies), True, strict, "jvp")  # u -> u^T J, linear in u
    total = _dot(pulled, vs)
    if total is None:  # J is zero (the outputs do not depend on the inputs)
        result = tuple(Tensor(np.zeros(o.shape, o.dtype)) for o in outs)
    else:
        result = _grads((total,), dummies, None, create_graph, False, "jvp")
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs[0] if single_out else outs), (result[0] if single_out else result)


def _stack_rows(rows: list[Tensor], shape: tuple[int, ...]) -> Tensor:
    if not rows:
        return Tensor(np.zeros(shape))
    return ops.reshape(ops.stack(rows, axis=0), shape)


def jacobian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """The Jacobian of ``func`` at ``inputs``: shape ``output.shape + input.shape`` for each (output,
    input) pair, nested as PyTorch nests them (a tensor, a tuple over inputs or outputs, or a tuple of
    tuples). ``strategy="forward-mode"`` builds it from one JVP per input element."""
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    xs, single_in = _inputs(inputs, create_graph, "jacobian")
    outs, single_out = _outputs(func(*xs), "jacobian")
    blocks: list[list[Tensor]] = []
    if strategy == "reverse-mode":
        for out in outs:
            flat = ops.reshape(out, (-1,))
            rows: list[list[Tensor]] = [[] for _ in xs]
            for k in range(flat.data.size):
                for j, g in enumerate(_grads((ops.getitem(flat, k),), xs, None, create_graph, strict, "jacobian")):
                    rows[j].append(g)
            blocks.append([_stack_rows(rows[j], out.shape + x.shape) for j, x in enumerate(xs)])
    else:
        columns: list[list[list[Tensor]]] = [[[] for _ in xs] for _ in outs]
        for j, x in enumerate(xs):
            for k in range(x.data.size):
                unit = [Tensor(np.zeros(z.shape, z.dtype)) for z in xs]
                unit[j].data.reshape(-1)[k] = 1.0
                _, tangents = jvp(func, xs, tuple(unit), create_graph, strict)
                tangents = tangents if isinstance(tangents, tuple) else (tangents,)
                for i, t in enumerate(tangents):
                    columns[i][j].append(ops.reshape(t, (-1,)))
        for i, out in enumerate(outs):
            row = []
            for j, x in enumerate(xs):
                cols = columns[i][j]
                stacked = ops.stack(cols, axis=1) if cols else Tensor(np.zeros((out.data.size, 0)))
                row.append(ops.reshape(stacked, out.shape + x.shape))
            blocks.append(row)
    blocks = [list(_finish(row, create_graph)) for row in blocks]
    if single_out and single_in:
        return blocks[0][0]
    if single_out:
        return tuple(blocks[0])
    if single_in:
        return tuple(row[0] for row in blocks)
    return tuple(tuple(row) for row in blocks)


def hessian(func: Callable, inputs, create_graph: bool = False, strict: bool = False, **options):
    """The Hessian of a scalar ``func``: ``input.shape + input.shape`` (a tuple of tuples for
    several inputs), the Jacobian of its gradient."""
    xs, single_in = _as_tuple(inputs, "hessian: inputs")

    def gradient(*ys):
        out = func(*ys)
        if not isinstance(out, Tensor) or out.data.size != 1:
            raise RuntimeError("hessian: the function must return a single-element tensor")
        found = _grads((out,), ys, None, True, strict, "hessian")
        return found[0] if single_in else found

    return jacobian(gradient, xs[0] if single_in else xs, create_graph, strict, **options)


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func``, without forming H: two sweeps."""
    xs, single_in = _inputs(inputs, True, "hvp")
    out = func(*xs)
    if not isinstance(out, Tensor) or out.data.size != 1:
        raise RuntimeError("hvp: the function must return a single-element tensor")
    vs = _shape_of_v(v, xs, "hvp", "inputs")
    total = _dot(_grads((out,), xs, None, True, strict, "hvp"), vs)
    if total is None:
        result = tuple(Tensor(np.zeros(x.shape, x.dtype)) for x in xs)
    else:
        result = _grads((total,), xs, None, create_graph, strict, "hvp")
    result = _finish(result, create_graph)
    return _finish((out,), create_graph)[0], (result[0] if single_in else result)
