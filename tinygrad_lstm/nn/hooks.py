"""Module hooks, PyTorch's: forward pre-hooks and forward hooks, full backward pre-hooks and full
backward hooks, per module or for every module, each removable through the handle it returns.

A backward hook is built as PyTorch builds it: the module's positional Tensor inputs, and its
outputs (a Tensor, or the Tensors at the top level of a tuple), pass through an identity
``tl.Function``, one per side and call. The outputs' identity runs first in the backward sweep and
sees every ``grad_output`` at once (None for an output no gradient reached): the pre-hooks run there,
and may replace them. The inputs' identity runs once every gradient of the inputs is summed: the
backward hooks run there with ``(module, grad_input, grad_output)``, and may replace ``grad_input``.
So, as in PyTorch: a Tensor inside a nested tuple (an LSTM's ``(h, c)``) is not an output the hooks
see; a gradient that reaches the inputs without passing the outputs calls no hook; ``grad_input``
is zeros for a Tensor input no gradient reached or that needs none, and None for anything else; when
no input requires grad the backward hooks run with the outputs' gradients, and must return None.
"""

from __future__ import annotations

import itertools
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from ..function import Function, FunctionContext
from ..tape import guard, state
from ..tensor import Tensor

_ids = itertools.count()


class RemovableHandle:
    """What registering a hook returns: ``handle.remove()`` takes the hook off again (also as a
    ``with`` block). It holds the hook tables weakly, so it keeps no module alive."""

    def __init__(self, table: HookTable, *options: IdSet) -> None:
        self.id = next(_ids)
        self._tables: list[weakref.ref] = [weakref.ref(t) for t in (table, *options)]

    def remove(self) -> None:
        """Remove the hook (again: nothing happens)."""
        for ref in self._tables:
            table = ref()
            if isinstance(table, HookTable):
                table.pop(self.id, None)
            elif isinstance(table, IdSet):
                table.discard(self.id)
        changed_modules()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


class HookTable(OrderedDict):
    """An ordered table of hooks by id (weakly referable, so a handle does not keep it alive)."""


class IdSet(set):
    """The ids of hooks registered with an option (``with_kwargs``, ``always_call``)."""


def add_hook(table: HookTable, hook: Callable, prepend: bool, *options: tuple[IdSet, bool]) -> RemovableHandle:
    """Put ``hook`` in ``table`` (first if ``prepend``), its id in each option set whose flag is on."""
    if not callable(hook):
        raise TypeError(f"register hook: expected a callable, got {type(hook).__name__}")
    handle = RemovableHandle(table, *(ids for ids, _ in options))
    table[handle.id] = hook
    if prepend:
        table.move_to_end(handle.id, last=False)
    for ids, on in options:
        if on:
            ids.add(handle.id)
    changed_modules()
    return handle


def changed_modules() -> None:
    """A hook added or removed changes what calling a module does: caches of modules' state notice."""
    from .module import changed  # (module.py imports this file)

    changed[0] += 1


# every module's hooks (torch.nn.modules.module.register_module_*): they run before a module's own
global_forward_pre_hooks = HookTable()
global_forward_hooks = HookTable()
global_forward_hooks_always_called = IdSet()
global_forward_hooks_with_kwargs = IdSet()
global_backward_pre_hooks = HookTable()
global_backward_hooks = HookTable()


def register_module_forward_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(module, args)`` before every module's forward (PyTorch's global hook)."""
    return add_hook(global_forward_pre_hooks, hook, False)


def register_module_forward_hook(
    hook: Callable, *, with_kwargs: bool = False, always_call: bool = False
) -> RemovableHandle:
    """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)``) after every
    module's forward (PyTorch's global hook)."""
    return add_hook(
        global_forward_hooks,
        hook,
        False,
        (global_forward_hooks_with_kwargs, with_kwargs),
        (global_forward_hooks_always_called, always_call),
    )


def register_module_full_backward_pre_hook(hook: Callable) -> RemovableHandle:
    """``hook(module, grad_output)`` for every module (PyTorch's global hook)."""
    return add_hook(global_backward_pre_hooks, hook, False)


def register_module_full_backward_hook(hook: Callable) -> RemovableHandle:
    """``hook(module, grad_input, grad_output)`` for every module (PyTorch's global hook)."""
    return add_hook(global_backward_hooks, hook, False)


def any_global() -> bool:
    return bool(global_forward_pre_hooks or global_forward_hooks or global_backward_pre_hooks or global_backward_hooks)


def _name(hook: Callable) -> str:
    return getattr(hook, "__qualname__", None) or type(hook).__name__


def call(module: Any, args: tuple, kwargs: dict) -> Any:
    """``module(*args, **kwargs)`` with its hooks and the global ones, in PyTorch's order: forward
    pre-hooks, the inputs' identity, forward, forward hooks, the outputs' identity."""
    kind = type(module).__name__
    own = module.__dict__  # (a module that skipped Module.__init__ has none of its own)
    pre = [*global_forward_pre_hooks.items(), *own.get("_forward_pre_hooks", {}).items()]
    post = [*global_forward_hooks.items(), *own.get("_forward_hooks", {}).items()]
    backward_pre = [*global_backward_pre_hooks.values(), *own.get("_backward_pre_hooks", {}).values()]
    backward = [*global_backward_hooks.values(), *own.get("_backward_hooks", {}).values()]
    pre_kwargs = own.get("_forward_pre_hooks_with_kwargs", ())
    post_kwargs = global_forward_hooks_with_kwargs | own.get("_forward_hooks_with_kwargs", set())
    for _, hook in pre + post:  # a replay runs the recorded ops, never the hook's Python
        guard("hook", f"the forward hook {_name(hook)!r} of {kind}")
    for hook in backward_pre + backward:
        guard("hook", f"the backward hook {_name(hook)!r} of {kind}")
    result = None
    ran: set[int] = set()
    try:
        for hook_id, hook in pre:
            if hook_id in pre_kwargs:
                got = hook(module, args, kwargs)
                if got is not None:
                    if not (isinstance(got, tuple) and len(got) == 2):
                        raise RuntimeError(
                            f"{kind}: forward pre-hook {_name(hook)!r} (with_kwargs=True) must return None or a "
                            f"tuple (new_args, new_kwargs), got {type(got).__name__}"
                        )
                    args, kwargs = got
            else:
                got = hook(module, args)
                if got is not None:
                    args = got if isinstance(got, tuple) else (got,)
        hooked = BackwardHook(module, backward, backward_pre) if backward or backward_pre else None
        if hooked is not None:
            args = hooked.wrap_inputs(args)
        result = module.forward(*args, **kwargs)
        for hook_id, hook in post:
            ran.add(hook_id)
            if hook_id in post_kwargs:
                got = hook(module, args, kwargs, result)
            else:
                got = hook(module, args, result)
            if got is not None:
                result = got
        if hooked is not None:
            result = hooked.wrap_outputs(result)
        return result
    except Exception:
        # hooks registered with always_call=True run even when forward (or a hook) raised
        always = global_forward_hooks_always_called | own.get("_forward_hooks_always_called", set())
        for hook_id, hook in post:
            if hook_id in always and hook_id not in ran:
                try:
                    if hook_id in post_kwargs:
                        got = hook(module, args, kwargs, result)
                    else:
                        got = hook(module, args, result)
                    result = got if got is not None else result
                except Exception as e:  # the first error is the one to see
                    warnings.warn(
                        f"{kind}: forward hook {_name(hook)!r} (always_call=True) raised an exception that was "
                        f"silenced as another error was raised in forward: {e}",
                        stacklevel=2,
                    )
        raise


def _tensors(values: tuple) -> list[int]:
    return [i for i, v in enumerate(values) if isinstance(v, Tensor)]


def _through(function: type[Function], hook: BackwardHook, values: tuple) -> tuple[tuple, list[int] | None]:
    """``values`` with their top-level Tensors passed through ``function`` (an identity whose
    backward calls the hooks), and the positions of those Tensors; unchanged (and None) when none
    requires grad or nothing is recorded."""
    where = _tensors(values)
    if not (state.grad_enabled and any(values[i].requires_grad for i in where)):
        return values, None
    passed = function.apply(hook, *(values[i] for i in where))
    new = list(values)
    for i, t in zip(where, passed):
        new[i] = t
    if type(values) is tuple:
        return tuple(new), where
    return type(values)(*new), where  # a named tuple keeps its type


class BackwardHook:
    """One call's backward hooks: what the outputs' identity saw, for the inputs' identity to pass on."""

    def __init__(self, module: Any, hooks: list[Callable], pre_hooks: list[Callable]) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: tuple | None = None
        self.n_inputs = self.n_outputs = 0
        self.inputs_at: list[int] | None = None
        self.outputs_at: list[int] | None = None
        self.input_shapes: dict[int, tuple] = {}  # position -> shape, for the Tensors
        self.input_dtypes: dict[int, np.dtype] = {}
        self.output_shapes: dict[int, tuple] = {}

    def wrap_inputs(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.input_shapes = {i: args[i].shape for i in _tensors(args)}
        self.input_dtypes = {i: args[i].dtype for i in _tensors(args)}
        args, self.inputs_at = _through(BackwardHookInputs, self, args)
        return args

    def wrap_outputs(self, result: Any) -> Any:
        single = not isinstance(result, tuple)
        if single and not isinstance(result, Tensor):
            warnings.warn(
                f"{type(self.module).__name__}: for backward hooks to be called, the module's output should be a "
                f"Tensor or a tuple of Tensors, but it is a {type(result).__name__}",
                stacklevel=3,
            )
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        self.output_shapes = {i: outputs[i].shape for i in _tensors(outputs)}
        outputs, self.outputs_at = _through(BackwardHookOutputs, self, outputs)
        return outputs[0] if single else outputs

    def _check(self, what: str, hook: Callable, got: Any, expected: int, shapes: dict) -> tuple:
        kind = type(self.module).__name__
        if not isinstance(got, (tuple, list)) or len(got) != expected:
            n = len(got) if isinstance(got, (tuple, list)) else f"a {type(got).__name__}"
            raise RuntimeError(
                f"{kind}: backward hook {_name(hook)!r} returned {n} for {what}, expected a tuple of {expected} "
                "(one per position, None where there is none)"
            )
        for i, g in enumerate(got):
            if g is None or i not in shapes:  # (a value where no Tensor was is not used, as in PyTorch)
                continue
            shape = shapes[i]
            if not isinstance(g, Tensor) or g.shape != shape:
                given = g.shape if isinstance(g, Tensor) else type(g).__name__
                raise RuntimeError(
                    f"{kind}: backward hook {_name(hook)!r} returned {given} as {what}[{i}], where a Tensor of "
                    f"shape {shape} belongs"
                )
        return tuple(got)

    def outputs_backward(self, grads: tuple) -> tuple:
        """The outputs' gradients: pre-hooks may replace them; kept for the backward hooks."""
        assert self.outputs_at is not None
        packed: list = [None] * self.n_outputs
        for i, g in zip(self.outputs_at, grads):
            packed[i] = g
        grad_outputs = tuple(packed)
        for hook in self.pre_hooks:
            got = hook(self.module, grad_outputs)
            if got is not None:
                grad_outputs = self._check("grad_output", hook, got, self.n_outputs, self.output_shapes)
        if self.inputs_at is None:  # no input requires grad: the backward hooks run now, on nothing
            if self.hooks:
                warnings.warn(
                    f"{type(self.module).__name__}: a full backward hook runs with the gradients of the module's "
                    "outputs only, since no input requires grad (as in PyTorch)",
                    stacklevel=2,
                )
            nothing = (None,) * self.n_inputs
            for hook in self.hooks:
                got = hook(self.module, nothing, grad_outputs)
                if got is not None and not (isinstance(got, tuple) and all(g is None for g in got)):
                    raise RuntimeError(
                        f"{type(self.module).__name__}: backward hook {_name(hook)!r} returned gradients, but no "
                        "input of the module requires grad: it must return None (or None for every input)"
                    )
        else:
            self.grad_outputs = grad_outputs
        return tuple(grad_outputs[i] for i in self.outputs_at)

    def inputs_backward(self, grads: tuple) -> tuple:
        """The inputs' gradients: the backward hooks see them with the outputs' and may replace them."""
        assert self.inputs_at is not None
        if self.grad_outputs is None:  # a gradient that did not pass the module's outputs
            return grads
        packed: list = [None] * self.n_inputs
        for i, g in zip(self.inputs_at, grads):
            packed[i] = g if g is not None else Tensor._from(np.zeros(self.input_shapes[i], self.input_dtypes[i]))
        grad_input = tuple(packed)
        for hook in self.hooks:
            got = hook(self.module, grad_input, self.grad_outputs)
            if got is not None:
                grad_input = self._check("grad_input", hook, got, self.n_inputs, self.input_shapes)
        self.grad_outputs = None
        return tuple(grad_input[i] for i in self.inputs_at)


class _Identity(Function):
    """The identity a module's Tensors pass through when it has backward hooks."""

    @staticmethod
    def forward(ctx: FunctionContext, hook: BackwardHook, *tensors: Tensor) -> tuple:  # type: ignore[override]
        ctx.hook = hook  # type: ignore[attr-defined]
        ctx.set_materialize_grads(False)  # None: no gradient reached that output
        ctx.mark_non_differentiable(*(t for t in tensors if not t.requires_grad))
        return tensors


class BackwardHookInputs(_Identity):
    """The module's positional Tensor inputs; its backward calls the full backward hooks."""

    @staticmethod
    def backward(ctx: FunctionContext, *grads: Tensor) -> tuple:
        return (None, *ctx.hook.inputs_backward(grads))  # type: ignore[attr-defined]


class BackwardHookOutputs(_Identity):
    """The module's outputs; its backward calls the full backward pre-hooks."""

    @staticmethod
    def backward(ctx: FunctionContext, *grads: Tensor) -> tuple:
        return (None, *ctx.hook.outputs_backward(grads))  # type: ignore[attr-defined]
