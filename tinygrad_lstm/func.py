"""``tl.func``: PyTorch's ``torch.func`` transforms, on this engine's tape.

``grad(f)`` is a function that returns the gradient of ``f`` (a scalar function) with respect to one
argument (``argnums``); ``grad_and_value``, ``vjp``, ``jacrev``/``jacfwd`` and ``hessian`` likewise,
and they compose (``grad(grad(f))`` is a second derivative: an argument that already requires grad
is differentiated with ``create_graph=True``). ``vmap`` runs ``f`` once per slice of the batched
arguments and stacks the results: PyTorch's result, by a loop, so every op ``f`` uses works, and so
does ``vmap(grad(f))``, the per-sample gradients. ``functional_call`` runs a module with other
parameters.

>>> import numpy as np, tinygrad_lstm as tl
>>> f = lambda x: (x ** 3).sum()
>>> x = tl.tensor(np.array([1.0, 2.0]))
>>> tl.func.grad(f)(x).tolist(), tl.func.grad(lambda x: tl.func.grad(f)(x).sum())(x).tolist()
([3.0, 12.0], [6.0, 12.0])
>>> tl.func.vmap(lambda row: row.dot(row))(tl.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))).tolist()
[5.0, 25.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from .backward import grad as _grad
from .nn.module import functional_call
from .random import Draws
from .tape import enable_grad
from .tensor import Tensor
from .transforms import jacobian as _jacobian

__all__ = [
    "functional_call", "grad", "grad_and_value", "hessian", "jacfwd", "jacrev", "jvp", "linearize",
    "stack_module_state", "vjp", "vmap",
]  # fmt: skip


def _numbers(argnums: int | tuple[int, ...], n: int, op: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or any(not isinstance(i, int) or not -n <= i < n for i in nums):
        raise ValueError(f"{op}: argnums={argnums!r} must name positional arguments of the {n} given")
    return tuple(i % n for i in nums)


def _tracked(x: Any, op: str) -> tuple[Tensor, bool]:
    """A tensor to differentiate with respect to, standing for ``x``, and whether ``x`` already requires
    grad (an outer transform's: then the result is differentiated again, so it keeps its graph)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the arguments to differentiate must be Tensors, got {type(x).__name__}")
    if x.dtype.kind not in "fc":
        raise TypeError(f"{op}: cannot differentiate with respect to a {x.dtype} tensor (shape {x.shape})")
    if x.requires_grad:
        return ops.mul(x, 1), True  # a new node: the gradient with respect to it, still a function of x
    return Tensor(x.data, requires_grad=True), False


def _tensor(a: Any) -> Tensor:
    return a if isinstance(a, Tensor) else Tensor(np.asarray(a))


def _plain(t: Any, keep: bool) -> Any:
    return t if keep or not isinstance(t, Tensor) else t.detach()


def _flatten(tree: Any) -> tuple[list, Callable[[list], Any]]:
    """The leaves of ``tree`` (nested dicts, lists and tuples; anything else is a leaf), and a function
    that builds the same structure around other leaves: PyTorch's pytrees, for the few containers
    its transforms take (a dict of parameters, a tuple of tensors)."""
    if isinstance(tree, dict):
        keys = list(tree)
        parts = [_flatten(tree[k]) for k in keys]
    elif isinstance(tree, (list, tuple)):
        keys = list(range(len(tree)))
        parts = [_flatten(v) for v in tree]
    else:
        return [tree], lambda leaves: leaves[0]
    sizes = [len(leaves) for leaves, _ in parts]

    def rebuild(leaves: list) -> Any:
        out, at = [], 0
        for (_, build), n in zip(parts, sizes):
            out.append(build(leaves[at : at + n]))
            at += n
        if isinstance(tree, dict):
            return dict(zip(keys, out))
        return type(tree)(*out) if hasattr(tree, "_fields") else type(tree)(out)  # a namedtuple, or list/tuple

    return [leaf for leaves, _ in parts for leaf in leaves], rebuild


def grad_and_value(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning ``(gradient, value)`` of scalar ``func`` (``(gradient, (value, aux))`` with
    ``has_aux``); the gradient is a tuple when ``argnums`` is."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _numbers(argnums, len(args), "grad")
        # the arguments differentiated, each a tensor or a dict/tuple/list of them, as one tree
        leaves, rebuild = _flatten(tuple(args[i] for i in nums))
        tracked = [_tracked(leaf, "grad") for leaf in leaves]
        wrt = [t for t, _ in tracked]
        nested = any(outer for _, outer in tracked)
        args_ = list(args)
        for i, arg in zip(nums, rebuild(wrt)):
            args_[i] = arg
        with enable_grad():
            result = func(*args_, **kwargs)
        value, aux = result if has_aux else (result, None)
        if not isinstance(value, Tensor) or value.size != 1:
            shape = value.shape if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"grad: func must return one number (a tensor of one element), got {shape}")
        grads = rebuild(list(_grad(value, wrt, create_graph=nested, materialize_grads=True)))
        g = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = _plain(value, nested)
        return (g, (value, aux)) if has_aux else (g, value)

    return wrapper


def grad(func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False) -> Callable:
    """A function returning the gradient of scalar ``func`` (``(gradient, aux)`` with ``has_aux``)."""
    both = grad_and_value(func, argnums, has_aux)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = both(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def vjp(func: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """``(output, vjp_fn)``: ``vjp_fn(cotangent)`` gives one gradient per primal (``(output, vjp_fn, aux)``
    with ``has_aux``)."""
    leaves, rebuild = _flatten(primals)  # each primal a tensor, or a dict/tuple/list of them
    tracked = [_tracked(leaf, "vjp") for leaf in leaves]
    xs = [t for t, _ in tracked]
    nested = any(outer for _, outer in tracked)
    with enable_grad():
        result = func(*rebuild(xs))
    output, aux = result if has_aux else (result, None)
    outputs, rebuild_output = _flatten(output)

    def vjp_fn(*cotangents: Any) -> tuple:
        given, _ = _flatten(cotangents[0] if len(cotangents) == 1 else cotangents)
        if len(given) != len(outputs):
            raise ValueError(f"vjp: {len(given)} cotangents given for {len(outputs)} outputs")
        return rebuild(list(_grad(outputs, xs, given, retain_graph=True, create_graph=nested, materialize_grads=True)))

    shown = rebuild_output([_plain(o, nested) for o in outputs])
    return (shown, vjp_fn, aux) if has_aux else (shown, vjp_fn)


def _pushforward(func: Callable, primals: Any, op: str, has_aux: bool = False) -> tuple:
    """Run ``func`` on ``primals`` and return ``(output, aux, push)``: ``push(tangents)`` is ``J v``,
    by the double-VJP trick (README, Function transforms): the VJP ``u -> u^T J`` is linear in a dummy
    ``u``, so its VJP with respect to ``u`` along ``v`` is ``J v``. Forward mode from reverse mode.
    Primals, tangents and outputs may be dicts, lists and tuples of tensors (PyTorch's pytrees)."""
    if not isinstance(primals, tuple):
        raise TypeError(f"{op}: primals must be a tuple (of Tensors, or dicts/lists/tuples of them), got "
                        f"{type(primals).__name__}")  # fmt: skip
    leaves, rebuild_primals = _flatten(primals)
    tracked = [_tracked(p, op) for p in leaves]
    xs = [t for t, _ in tracked]
    nested = any(outer for _, outer in tracked)
    with enable_grad():
        result = func(*rebuild_primals(xs))
    output, aux = result if has_aux else (result, None)
    outputs, rebuild_output = _flatten(output)
    if not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"{op}: func must return Tensors (or dicts, lists, tuples of them)")
    # u's value does not matter (the VJP is linear in it): zeros, never inf or nan
    dummies = [Tensor(np.zeros(o.shape, o.dtype), requires_grad=True) for o in outputs]
    with enable_grad():
        wanting = [(o, u) for o, u in zip(outputs, dummies) if o.requires_grad]
        pulled = _grad([o for o, _ in wanting], xs, [u for _, u in wanting], retain_graph=True,
                       create_graph=True, materialize_grads=True) if wanting else [None] * len(xs)  # fmt: skip

    def push(tangents: Any) -> Any:
        given, _ = _flatten(tangents) if isinstance(tangents, tuple) else ([], None)
        if not isinstance(tangents, tuple) or len(tangents) != len(primals) or len(given) != len(xs):
            what = f"{len(tangents)} entries" if isinstance(tangents, tuple) else type(tangents).__name__
            raise ValueError(f"{op}: tangents must be a tuple shaped as the primals ({len(primals)} entries, "
                             f"{len(xs)} Tensors), got {what}")  # fmt: skip
        vs = [_tensor(v) for v in given]
        for k, (v, x) in enumerate(zip(vs, xs)):
            if v.shape != x.shape:
                raise ValueError(f"{op}: tangent {k} has shape {v.shape}, its primal {x.shape}")
        kept = [(g, v) for g, v in zip(pulled, vs) if g is not None and g.requires_grad]
        if kept:
            found = list(_grad([g for g, _ in kept], dummies, [v for _, v in kept], retain_graph=True,
                               create_graph=nested, materialize_grads=True))  # fmt: skip
        else:  # no output depends on a primal
            found = [Tensor(np.zeros(o.shape, o.dtype)) for o in outputs]
        return rebuild_output([_plain(f, nested) for f in found])

    return rebuild_output([_plain(o, nested) for o in outputs]), aux, push


def jvp(func: Callable, primals: tuple, tangents: tuple, *, strict: bool = False, has_aux: bool = False) -> tuple:
    """``(func(*primals), J v)``: the Jacobian-vector product along ``tangents``, one per primal
    (``(output, jvp_out, aux)`` with ``has_aux``). ``jvp(grad(f), (x,), (v,))`` is a Hessian-vector
    product. ``strict`` is accepted for PyTorch's signature (its refusals are of vmap'd functions).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.tensor(np.array([1.0, 2.0]))
    >>> out, tangent = tl.func.jvp(lambda x: x ** 3, (x,), (tl.tensor(np.array([1.0, 0.5])),))
    >>> tangent.tolist()
    [3.0, 6.0]
    """
    output, aux, push = _pushforward(func, primals, "jvp", has_aux)
    return (output, push(tangents), aux) if has_aux else (output, push(tangents))


def linearize(func: Callable, *primals: Any) -> tuple:
    """``(func(*primals), jvp_fn)``: ``jvp_fn(*tangents)`` is the Jacobian-vector product at
    ``primals``, as often as asked, without running ``func`` again."""
    output, _, push = _pushforward(func, primals, "linearize")
    return output, lambda *tangents: push(tangents)


def _jacobian_of(func: Callable, argnums: int | tuple[int, ...], strategy: str) -> Callable:
    """The Jacobian of ``func`` with respect to the arguments ``argnums`` names, each a tensor or a dict,
    list or tuple of them (PyTorch's pytrees), of outputs that may be such structures too: the result
    has the outputs' structure outside, the arguments' inside (one Jacobian per output and input
    tensor, output.shape + input.shape), as PyTorch's."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums = _numbers(argnums, len(args), "jacrev" if strategy == "reverse-mode" else "jacfwd")
        found_leaves, rebuild = _flatten(tuple(args[i] for i in nums))  # the arguments, as one tree
        leaves = tuple(found_leaves)
        output_structure: list = []

        def g(*xs: Any) -> tuple:
            full = list(args)
            for i, arg in zip(nums, rebuild(list(xs))):
                full[i] = arg
            outputs, rebuild_output = _flatten(func(*full, **kwargs))
            output_structure[:] = [rebuild_output]
            return tuple(outputs)

        def regroup(per_leaf: tuple) -> Any:
            per_argument = rebuild(list(per_leaf))
            return per_argument[0] if isinstance(argnums, int) else per_argument

        nested = any(isinstance(x, Tensor) and x.requires_grad for x in leaves)
        if strategy == "forward-mode" and not nested:
            found = _jacobian(g, leaves, vectorize=True, strategy=strategy)
        else:
            found = _jacobian(g, leaves, create_graph=nested)
        return output_structure[0]([regroup(per_output) for per_output in found])

    return wrapper


def _with_aux(jacobian_of: Callable, func: Callable, has_aux: bool) -> Callable:
    """``has_aux``: ``func`` returns ``(output, aux)``; the transform's result is ``(jacobian, aux)``,
    ``aux`` as the call at the given arguments made it."""
    if not has_aux:
        return jacobian_of(func)
    made: list = []

    def output_only(*args: Any, **kwargs: Any) -> Any:
        output, aux = func(*args, **kwargs)
        made.append(aux)
        return output

    transformed = jacobian_of(output_only)

    def wrapper(*args: Any, **kwargs: Any) -> tuple:
        made.clear()
        jacobian = transformed(*args, **kwargs)
        aux = made[0]
        return jacobian, (aux.detach() if isinstance(aux, Tensor) else aux)

    return wrapper


def jacrev(
    func: Callable, argnums: int | tuple[int, ...] = 0, *, has_aux: bool = False, chunk_size: int | None = None
) -> Callable:
    """A function returning the Jacobian of ``func`` (output.shape + input.shape), by reverse mode
    (``(jacobian, aux)`` with ``has_aux``; ``chunk_size`` is PyTorch's memory knob, not needed here)."""
    return _with_aux(lambda f: _jacobian_of(f, argnums, "reverse-mode"), func, has_aux)


def jacfwd(
    func: Callable, argnums: int | tuple[int, ...] = 0, has_aux: bool = False, *, randomness: str = "error"
) -> Callable:
    """A function returning the Jacobian of ``func``, by forward mode (one JVP per input element;
    ``(jacobian, aux)`` with ``has_aux``)."""
    return _with_aux(lambda f: _jacobian_of(f, argnums, "forward-mode"), func, has_aux)


def hessian(func: Callable, argnums: int | tuple[int, ...] = 0) -> Callable:
    """A function returning the Hessian of ``func``: ``jacfwd(jacrev(func))``, as PyTorch defines it, so
    of any output shape (output.shape + input.shape + input.shape; a scalar's is input.shape twice)."""
    return jacfwd(jacrev(func, argnums), argnums)


def vmap(
    func: Callable, in_dims: Any = 0, out_dims: Any = 0, randomness: str = "error", chunk_size: Any = None
) -> Callable:
    """``func`` over a batch: each argument with an ``in_dims`` entry (not None) is sliced along that
    axis, ``func`` runs once per slice, and its outputs are stacked along ``out_dims``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dims = in_dims if isinstance(in_dims, (tuple, list)) else (in_dims,) * len(args)
        if len(dims) != len(args):
            raise ValueError(f"vmap: in_dims has {len(dims)} entries for {len(args)} arguments")
        flat = []  # per argument: its leaves, each leaf's axis (None: not batched), its structure
        for k, (a, d) in enumerate(zip(args, dims)):
            leaves, rebuild = _flatten(a)
            if d is None or isinstance(d, int):
                axes = [d] * len(leaves)
            else:  # one axis per leaf, in the argument's structure (a dict of parameters: {name: 0})
                axes, _ = _flatten(d)
                if len(axes) != len(leaves):
                    raise ValueError(f"vmap: in_dims[{k}]={d!r} does not match argument {k}'s {len(leaves)} tensors")
            flat.append((leaves, axes, rebuild))
        sizes = {np.shape(x)[d] for leaves, axes, _ in flat for x, d in zip(leaves, axes) if d is not None}
        if len(sizes) != 1:
            shapes = [np.shape(x) for leaves, _, _ in flat for x in leaves]
            raise ValueError(f"vmap: the batched arguments (in_dims={in_dims!r}) need one batch size, shapes {shapes}")
        (n,) = sizes

        def sliced(k: int) -> list:
            return [
                rebuild([x if d is None else _tensor(x).select(d, k) for x, d in zip(leaves, axes)])
                for leaves, axes, rebuild in flat
            ]

        if randomness not in ("error", "same", "different"):
            raise ValueError(f"vmap: randomness must be 'error', 'same' or 'different', got {randomness!r}")
        rows = []
        for k in range(n):  # PyTorch's randomness: one draw for all rows ("same"), one per row, or none
            before = Draws()
            rows.append(func(*sliced(k), **kwargs))
            if randomness == "error" and before.changed():
                before.restore()
                raise RuntimeError(
                    "vmap: the function draws random numbers (dropout, tl.randn...) with randomness='error', as "
                    "PyTorch refuses; pass randomness='same' (one draw for every row) or 'different' (one per "
                    "row). The generators are back where they were"
                )
            if randomness == "same" and k < n - 1:
                before.restore()
        leaves, rebuild = _flatten(rows[0])
        if isinstance(out_dims, int):
            outs = [out_dims] * len(leaves)
        else:
            outs, _ = _flatten(out_dims)
            if len(outs) != len(leaves):
                raise ValueError(f"vmap: out_dims={out_dims!r} does not match the {len(leaves)} outputs")
        columns = [_flatten(r)[0] for r in rows]
        return rebuild([ops.stack([c[j] for c in columns], outs[j]) for j in range(len(leaves))])

    return wrapper


def stack_module_state(models: Any) -> tuple[dict, dict]:
    """``(params, buffers)``: each name's tensors of ``models`` stacked along a new first axis (the
    parameters as new leaves that require grad), for ``vmap`` over an ensemble with ``functional_call``."""
    models = list(models)
    if not models:
        raise ValueError("stack_module_state: needs at least one model")
    kinds = {type(m) for m in models}
    if len(kinds) != 1:
        raise ValueError(
            f"stack_module_state: the models must be of one class, got {sorted(k.__name__ for k in kinds)}"
        )
    params = {
        name: Tensor(np.stack([m.get_parameter(name).data for m in models]), requires_grad=True)
        for name, _ in models[0].named_parameters()
    }
    buffers = {
        name: Tensor(np.stack([m.get_buffer(name).data for m in models])) for name, _ in models[0].named_buffers()
    }
    return params, buffers
