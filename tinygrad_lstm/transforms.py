"""Function transforms with the signatures and results of ``torch.autograd.functional``:
``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``hvp``, ``vhp``.

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
- ``hessian`` is the Jacobian of the gradient, ``hvp`` is H v without forming H, and ``vhp`` is
  v^T H, one backward through the recorded gradient.

They run with grad enabled whatever the caller's mode (inside ``tl.no_grad()`` too), and follow
PyTorch's ``strict`` rule: with ``strict=False`` an output that does not depend on an input (unused,
detached, constant; or a second derivative that is constant, as a linear function's) gives zeros;
with ``strict=True`` it raises, and so, under ``create_graph=True``, does a result that cannot be
differentiated again. Where PyTorch refuses a combination of options it is refused here too.

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
from .tape import enable_grad
from .tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

_STRATEGIES = ("reverse-mode", "forward-mode")


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


def _require(values, kind: str, strict: bool, fn: str) -> None:
    """strict=True: refuse values that are None or do not require grad (PyTorch's checks), naming
    what is independent of what."""
    if not strict:
        return
    for k, value in enumerate(values):
        if value is None:
            raise RuntimeError(f"{fn}: the output does not depend on input {k}; strict=True refuses it")
        if not value.requires_grad:
            what = {
                "outputs": f"output {k} (shape {value.shape}) does not require grad: it is not computed from the "
                "inputs",
                "grad_inputs": f"the gradient with respect to input {k} (shape {value.shape}) does not depend on "
                "the inputs",
                "jacobian": f"the gradient with respect to input {k} (shape {value.shape}) does not depend on "
                "the inputs (the function is linear in it)",
            }[kind]
            raise RuntimeError(f"{fn}: {what}; strict=True refuses it")


def _grads(outputs, inputs, grad_outputs, create_graph: bool) -> tuple:
    """tl.grad over the outputs that require grad (None where no output does, or an input is
    unused), as PyTorch's functional API calls it."""
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    kept = [(o, v) for o, v in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not kept:
        return (None,) * len(inputs)
    # retain_graph: the function may read captured values whose history another backward still needs
    found = grad([o for o, _ in kept], list(inputs), [v for _, v in kept], retain_graph=True,
                 create_graph=create_graph, allow_unused=True)  # fmt: skip
    return tuple(found)


def _fill(found, refs, strict: bool, create_graph: bool, fn: str, what: str) -> tuple:
    """Zeros for None (PyTorch's strict=False), or strict=True's refusals: a missing derivative, and
    under create_graph one that does not depend on the inputs (it could not be differentiated again)."""
    result = []
    for k, (g, ref) in enumerate(zip(found, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the {what} does not depend on input {k} (shape {ref.shape}); "
                                   "strict=True refuses it")  # fmt: skip
            g = Tensor(np.zeros(ref.shape, ref.dtype))
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{fn}: the {what} with respect to input {k} (shape {ref.shape}) does not depend on "
                               "the inputs, so it cannot be differentiated again; strict=True with "
                               "create_graph=True refuses it")  # fmt: skip
        result.append(g)
    return tuple(result)


def _finish(values, create_graph: bool):
    return tuple(v if create_graph else Tensor(v.data) for v in values)


def _shape_of_v(v, outputs, fn: str, role: str):
    if v is None:
        if len(outputs) != 1 or outputs[0].data.size != 1:
            only = "the function returns a single element" if role == "outputs" else "there is one input of one element"
            raise RuntimeError(f"{fn}: v can be None only when {only}")
        return (Tensor(np.ones(outputs[0].shape, outputs[0].dtype)),)
    vs, _ = _as_tuple(v, f"{fn}: v")
    if len(vs) != len(outputs) or any(a.shape != b.shape for a, b in zip(vs, outputs)):
        raise ValueError(
            f"{fn}: v must match the {role} in number and shapes: {[a.shape for a in vs]} given, "
            f"{[b.shape for b in outputs]} expected"
        )
    return vs


def vjp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``: one reverse sweep from the outputs in direction ``v``."""
    with enable_grad():
        xs, single_in = _inputs(inputs, create_graph, "vjp")
        outs, single_out = _outputs(func(*xs), "vjp")
        _require(outs, "outputs", strict, "vjp")
        vs = _shape_of_v(v, outs, "vjp", "outputs")
    found = _grads(outs, xs, list(vs), create_graph)
    result = _finish(_fill(found, xs, strict, create_graph, "vjp", "output"), create_graph)
    outs = _finish(outs, create_graph)
    return (outs[0] if single_out else outs), (result[0] if single_in else result)


def jvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)`` by the double-VJP trick (see the module docstring)."""
    with enable_grad():
        xs, single_in = _inputs(inputs, create_graph, "jvp")
        vs = _shape_of_v(v, xs, "jvp", "inputs")
        outs, single_out = _outputs(func(*xs), "jvp")
        _require(outs, "outputs", strict, "jvp")
        # the VJP u -> u^T J is linear in u, so u's value does not matter: zeros, never inf or nan
        dummies = tuple(Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outs)
        pulled = _grads(outs, xs, list(dummies), True)
        _require(pulled, "grad_inputs", strict, "jvp")
    found = _grads(pulled, dummies, list(vs), create_graph)
    result = _finish(_fill(found, outs, strict, create_graph, "jvp", "gradient (the double-VJP trick)"), create_graph)
    outs = _finish(outs, create_graph)
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
    tuples).

    ``strategy="forward-mode"`` builds it from one JVP per input element; as in PyTorch it needs
    ``vectorize=True`` and refuses ``create_graph`` and ``strict``, and its result is never on the
    tape (PyTorch's may be, through its dual tensors). ``vectorize`` changes nothing else here (the
    rows are computed one by one either way), except that PyTorch refuses it with ``strict=True`` in
    reverse mode, and so does this."""
    if strategy not in _STRATEGIES:
        raise ValueError(f"jacobian: strategy must be 'reverse-mode' or 'forward-mode', got {strategy!r}")
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError("jacobian: strategy='forward-mode' with create_graph=True is not supported "
                                      "(as in PyTorch); use strategy='reverse-mode'")  # fmt: skip
        if strict:
            raise RuntimeError("jacobian: strategy='forward-mode' with strict=True is not supported (as in PyTorch); "
                               "use strict=False or strategy='reverse-mode'")  # fmt: skip
        if not vectorize:
            raise NotImplementedError("jacobian: strategy='forward-mode' needs vectorize=True (as in PyTorch)")
        with enable_grad():
            xs, single_in = _inputs(inputs, False, "jacobian")
            blocks, single_out = _forward_blocks(func, xs)
    else:
        with enable_grad():
            xs, single_in = _inputs(inputs, create_graph, "jacobian")
            outs, single_out = _outputs(func(*xs), "jacobian")
            _require(outs, "outputs", strict, "jacobian")
            if vectorize and strict:
                raise RuntimeError("jacobian: vectorize=True with strict=True is not supported (as in PyTorch); "
                                   "use strict=False or vectorize=False")  # fmt: skip
            blocks = [_reverse_row(out, i, xs, create_graph, strict) for i, out in enumerate(outs)]
        blocks = [list(_finish(row, create_graph)) for row in blocks]
    if single_out and single_in:
        return blocks[0][0]
    if single_out:
        return tuple(blocks[0])
    if single_in:
        return tuple(row[0] for row in blocks)
    return tuple(tuple(row) for row in blocks)


def _reverse_row(out: Tensor, i: int, xs: tuple, create_graph: bool, strict: bool) -> list[Tensor]:
    """One output's Jacobian blocks (one per input), a VJP per output element."""
    flat = ops.reshape(out, (-1,))
    rows: list[list[Tensor]] = [[] for _ in xs]
    for k in range(flat.data.size):
        found = _grads((ops.getitem(flat, k),), xs, None, create_graph)
        for j, g in enumerate(_fill(found, xs, strict, create_graph, "jacobian", f"Jacobian of output {i}")):
            rows[j].append(g)
    return [_stack_rows(rows[j], out.shape + x.shape) for j, x in enumerate(xs)]


def _forward_blocks(func: Callable, xs: tuple) -> tuple[list[list[Tensor]], bool]:
    """The Jacobian blocks column by column, one JVP per input element."""
    columns: dict = {}  # (output i, input j) -> that block's columns
    outs = None
    for j, x in enumerate(xs):
        for k in range(x.data.size):
            unit = [Tensor(np.zeros(z.shape, z.dtype)) for z in xs]
            unit[j].data.reshape(-1)[k] = 1.0
            outs, tangents = jvp(func, xs, tuple(unit))
            tangents = tangents if isinstance(tangents, tuple) else (tangents,)
            for i, t in enumerate(tangents):
                columns.setdefault((i, j), []).append(ops.reshape(t, (-1,)))
    if outs is None:  # no input has an element: the outputs' shapes still shape the blocks
        outs = func(*xs)
    outs, single_out = _outputs(outs, "jacobian")
    blocks = []
    for i, out in enumerate(outs):
        row = []
        for j, x in enumerate(xs):
            cols = columns.get((i, j))
            stacked = ops.stack(cols, axis=1) if cols else Tensor(np.zeros((out.data.size, 0), out.dtype))
            row.append(ops.reshape(stacked, out.shape + x.shape))
        blocks.append(list(_finish(row, False)))
    return blocks, single_out


def hessian(
    func: Callable,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The Hessian of a scalar ``func``: ``input.shape + input.shape`` (a tuple of tuples for
    several inputs), the Jacobian of its gradient. ``outer_jacobian_strategy`` says how that outer
    Jacobian is taken (``"forward-mode"`` needs ``vectorize=True``, as in PyTorch)."""
    if outer_jacobian_strategy not in _STRATEGIES:
        raise ValueError(
            "hessian: outer_jacobian_strategy must be 'reverse-mode' or 'forward-mode', "
            f"got {outer_jacobian_strategy!r}"
        )
    xs, single_in = _as_tuple(inputs, "hessian: inputs")

    def scalar(*ys):
        out = func(*ys)
        outs, single = _outputs(out, "hessian")
        _require(outs, "outputs", strict, "hessian")
        if not single:
            raise RuntimeError("hessian: the function must return a single tensor, not a tuple")
        if out.data.size != 1:
            raise RuntimeError(f"hessian: the function must return a single-element tensor, got shape {out.shape}")
        return ops.reshape(out, ())

    def gradient(*ys):
        found = jacobian(scalar, ys[0] if single_in else ys, create_graph=True)
        _require((found,) if single_in else found, "jacobian", strict, "hessian")
        return found

    return jacobian(gradient, xs[0] if single_in else xs, create_graph, strict, vectorize, outer_jacobian_strategy)


def _gradient_of_scalar(func: Callable, inputs, v, create_graph: bool, strict: bool, name: str):
    """What ``hvp`` and ``vhp`` share: the inputs, the directions, the output and its gradient,
    recorded so that it can be differentiated again."""
    xs, single_in = _inputs(inputs, create_graph, name)
    vs = _shape_of_v(v, xs, name, "inputs")
    out = func(*xs)
    outs, single = _outputs(out, name)
    _require(outs, "outputs", strict, name)
    if not single:
        raise RuntimeError(f"{name}: the function must return a single tensor, not a tuple")
    if out.data.size != 1:
        raise RuntimeError(f"{name}: the function must return a single-element tensor, got shape {out.shape}")
    first = _grads(outs, xs, None, True)
    _require(first, "jacobian", strict, name)
    return xs, single_in, vs, outs, first


def hvp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), H v)`` for a scalar ``func``, without forming H: the double-VJP trick on
    the gradient, as PyTorch's ``hvp``."""
    with enable_grad():
        xs, single_in, vs, outs, first = _gradient_of_scalar(func, inputs, v, create_graph, strict, "hvp")
        dummies = tuple(Tensor(np.zeros(x.shape, x.dtype), requires_grad=True) for x in xs)
        pulled = _grads(first, xs, list(dummies), True)  # H^T u, linear in u
    found = _grads(pulled, dummies, list(vs), create_graph)
    result = _finish(_fill(found, xs, strict, create_graph, "hvp", "Hessian"), create_graph)
    return _finish(outs, create_graph)[0], (result[0] if single_in else result)


def vhp(func: Callable, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)`` for a scalar ``func``: one backward through the recorded gradient
    (PyTorch's ``vhp``; equal to ``hvp`` where H is symmetric, and one sweep cheaper).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x, v = tl.tensor(np.array([1.0, 2.0])), tl.tensor(np.array([1.0, 1.0]))
    >>> tl.vhp(lambda x: (x ** 3).sum(), x, v)[1].tolist()
    [6.0, 12.0]
    """
    with enable_grad():
        xs, single_in, vs, outs, first = _gradient_of_scalar(func, inputs, v, create_graph, strict, "vhp")
    found = _grads(first, xs, list(vs), create_graph)
    result = _finish(_fill(found, xs, strict, create_graph, "vhp", "Hessian"), create_graph)
    return _finish(outs, create_graph)[0], (result[0] if single_in else result)
