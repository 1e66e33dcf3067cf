"""Module and Parameter, with PyTorch's names: parameters are found by attribute, in order."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import devices
from ..checks import plain_array
from ..tape import guard
from ..tensor import Tensor, clear_grads
from ..versions import changed_in_place
from . import hooks as _hooks
from .hooks import HookTable, IdSet, RemovableHandle


class Parameter(Tensor):
    """A Tensor that requires grad and that a Module collects.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> p = tl.nn.Parameter(np.zeros(3, dtype=np.float32))
    >>> p.requires_grad, p.dtype
    (True, dtype('float32'))
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def check_input_dtype(name: str, x, dtype: np.dtype) -> None:
    """PyTorch refuses an input whose dtype differs from the parameters' (a float64 batch into a
    float32 layer would otherwise silently compute in float64)."""
    if x.dtype != dtype:
        raise TypeError(
            f"{name}: input dtype {x.dtype} differs from the layer's parameters ({dtype}); convert the input "
            f"with .astype(np.{dtype}) or build the layer with dtype=np.{x.dtype}"
        )


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


# a module's hook tables (ordered, by hook id) and the ids registered with an option
_HOOK_TABLES = ("_forward_pre_hooks", "_forward_hooks", "_backward_pre_hooks", "_backward_hooks")
_HOOK_OPTIONS = ("_forward_pre_hooks_with_kwargs", "_forward_hooks_with_kwargs", "_forward_hooks_always_called")


#: Counts changes to any module's attributes (a replaced parameter or layer, a setting), its mode
#: (``train``/``eval``) or its parameters' dtype: what a cache keyed on models' state (a compiled step's
#: recordings) compares, one integer, instead of walking every module.
changed = [0]


class Module:
    """Base class of layers: assign Parameters and Modules as attributes and they are registered.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> class Affine(tl.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = tl.nn.Parameter(np.ones(2))
    ...     def forward(self, x):
    ...         return x * self.w
    >>> [name for name, _ in Affine().named_parameters()]
    ['w']
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers_set", set())
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        for table in _HOOK_TABLES:
            object.__setattr__(self, table, HookTable())
        for ids in _HOOK_OPTIONS:
            object.__setattr__(self, ids, IdSet())

    # ---- registration ------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """Register a Parameter or Module assigned as an attribute; anything else is a plain attribute."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        changed[0] += 1
        params, modules, buffers = self._parameters, self._modules, self.__dict__.get("_buffers", {})
        if name in buffers and not isinstance(value, (Parameter, Module)):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign a {type(value).__name__} to the buffer {name!r} "
                    "(a Tensor or None is required)"
                )
            buffers[name] = value
            return
        params.pop(name, None)
        modules.pop(name, None)
        buffers.pop(name, None)
        self.__dict__.get("_non_persistent_buffers_set", set()).discard(name)
        if isinstance(value, Parameter):
            self.__dict__.pop(name, None)
            params[name] = value
            if value.name is None:  # tape listings and pictures call it by its attribute name
                value.name = name
        elif isinstance(value, Module):
            self.__dict__.pop(name, None)
            modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if name in d.get("_parameters", {}):
            return d["_parameters"][name]
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        if name in d.get("_buffers", {}):
            return d["_buffers"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        changed[0] += 1
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` under ``name`` (``self.name = param`` does the same); None removes it."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def _check_new_name(self, op: str, name: Any, table: dict) -> None:
        """PyTorch's rules for a name to register: a non-empty str without ".", not another attribute."""
        kind = type(self).__name__
        if not isinstance(name, str):
            raise TypeError(f"{kind}.{op}: the name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"{kind}.{op}: the name {name!r} must be non-empty and contain no '.'")
        if name not in table and (
            name in self.__dict__
            or name in self._parameters
            or name in self._modules
            or name in self._buffers
            or hasattr(type(self), name)
        ):
            raise KeyError(f"{kind}.{op}: attribute {name!r} already exists")

    def add_module(self, name: str, module: Module | None) -> None:
        """Add ``module`` as a submodule under ``name`` (``self.name = module`` does the same)."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.add_module: {name!r} is a {type(module).__name__}, not a Module")
        self._check_new_name("add_module", name, self._modules)
        if module is None:
            self._modules.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, module)

    def register_module(self, name: str, module: Module | None) -> None:
        """``add_module`` under PyTorch's other name."""
        self.add_module(name, module)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a Tensor that is state but not a parameter (a running mean, a mask): reached as an
        attribute, listed by ``buffers()``, cast by ``double()``, and saved in ``state_dict()``
        unless ``persistent=False``. None registers the name with no value (not saved)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"{type(self).__name__}.register_buffer: cannot register a {type(tensor).__name__} as buffer "
                f"{name!r} (a Tensor or None is required)"
            )
        if isinstance(tensor, Parameter):
            raise TypeError(f"{type(self).__name__}.register_buffer: {name!r} is a Parameter; use register_parameter")
        self._check_new_name("register_buffer", name, self._buffers)
        changed[0] += 1
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    # ---- traversal -------------------------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module and every submodule, each once, depth first."""
        stack = [(prefix, self)]
        seen: set[int] = set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = list(module._modules.items())
            stack.extend((f"{name}.{n}" if name else n, m) for n, m in reversed(children))

    def modules(self) -> Iterator[Module]:
        """This module and every submodule, each once, depth first."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for the direct submodules, in the order they were set."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """The direct submodules, in the order they were set."""
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) for every parameter, each once (a tied weight under its first name):
        the names ``state_dict`` uses, and PyTorch's (``lstm.weight_ih_l0``)."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, buffer) for every buffer that is not None, each once unless
        ``remove_duplicate=False``."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, b in module._buffers.items():
                if b is None or (remove_duplicate and id(b) in seen):
                    continue
                seen.add(id(b))
                yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Every buffer that is not None, each once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Every parameter, each once: what an optimizer takes (``tl.optim.Adam(model.parameters())``).

        >>> import tinygrad_lstm as tl
        >>> [p.shape for p in tl.nn.Linear(3, 2).parameters()]
        [(2, 3), (2,)]
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    # ---- modes and gradients -------------------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout on) on this module and every submodule."""
        changed[0] += 1
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off) on this module and every submodule: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter (``False`` freezes the module); returns the module."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (None, or zeros with ``set_to_none=False``)."""
        guard("side effect", "module.zero_grad()")
        clear_grads(self.parameters(), set_to_none)

    def astype(self, dtype) -> Module:
        """Cast every parameter, and every floating point buffer, to ``dtype`` in place
        (``Module.double()`` in PyTorch)."""
        return self._cast_tensors(dtype, "astype", every_buffer=False)

    def type(self, dst_type) -> Module:  # noqa: A003 - PyTorch's name
        """Cast every parameter and every buffer (integer ones too, as PyTorch's ``Module.type``)."""
        return self._cast_tensors(dst_type, "type", every_buffer=True)

    def _cast_tensors(self, dtype, op: str, every_buffer: bool) -> Module:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}.{op}: {dtype!r} is not a dtype (np.float64, tl.float32...)"
            ) from None
        changed[0] += 1
        for t in [*self.parameters(), *(b for b in self.buffers() if every_buffer or b.dtype.kind == "f")]:
            t.data = t.data.astype(dtype)
            if t._entry is not None:
                t._entry.dtype = t.data.dtype
        for m in self.modules():  # layers that check their input's dtype check against the new one
            if isinstance(m.__dict__.get("dtype"), np.dtype):
                object.__setattr__(m, "dtype", dtype)
        return self

    def to(
        self, *args: Any, device: Any = None, dtype: Any = None, non_blocking: bool = False, **kwargs: Any
    ) -> Module:
        """PyTorch's ``to``: ``module.to(tl.float64)``, ``module.to(device)``, ``module.to("cpu", tl.float64)``,
        ``module.to(tensor)`` (its dtype). There is one device, the CPU: ``"cpu"`` or ``tl.device("cpu")``
        changes nothing and any other is refused by name, before anything changes."""
        name = f"{type(self).__name__}.to"
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif devices.is_device(arg):
                device = arg
            elif isinstance(arg, bool):
                continue  # non_blocking: nothing is asynchronous here
            else:
                dtype = arg
        unknown = set(kwargs) - {"memory_format"}
        if len(args) > 3 or unknown:
            raise TypeError(f"{name}: expected (device, dtype, non_blocking) or a tensor, got {args} {sorted(unknown)}")
        devices.check(name, device)
        if dtype is None:
            return self
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            raise TypeError(f"{name}: {dtype!r} is neither a device nor a dtype") from None
        if kind != "f":
            raise TypeError(f"{name}: only floating point dtypes, as in PyTorch; got {np.dtype(dtype)}")
        return self.astype(dtype)

    def cuda(self, device: Any = None) -> Module:
        """Refused by name: there is one device here, the CPU (``tl.cuda.is_available()`` is False)."""
        devices.refuse(f"{type(self).__name__}.cuda", "cuda" if device is None else device)

    def double(self) -> Module:
        """Every parameter to float64."""
        return self.astype(np.float64)

    def float(self) -> Module:
        """Every parameter to float32."""
        return self.astype(np.float32)

    def half(self) -> Module:
        """Every parameter (and floating point buffer) to float16."""
        return self.astype(np.float16)

    def bfloat16(self) -> Module:
        """Refused: NumPy, which holds every array here, has no bfloat16."""
        raise TypeError(f"{type(self).__name__}.bfloat16: NumPy has no bfloat16 dtype; use half() or float()")

    def cpu(self) -> Module:
        """The module itself: everything is on the CPU already."""
        return self

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule, children first, then on this one (for initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path, e.g. ``"head.0"``; ``""`` is this module."""
        module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{type(self).__name__}.get_submodule: no submodule {target!r} ({part!r} missing)")
            module = module._modules[part]
        return module

    def set_submodule(self, target: str, module: Module, strict: bool = False) -> None:
        """Put ``module`` at a dotted path (``"head.0"``); the parent must exist, and what is replaced
        must be a module. ``strict=True``: the last name must exist already."""
        kind = type(self).__name__
        if not target:
            raise ValueError(f"{kind}.set_submodule: the target must name a submodule, got ''")
        if not isinstance(module, Module):
            raise ValueError(f"{kind}.set_submodule: {target!r} would be a {type(module).__name__}, not a Module")
        path, _, name = target.rpartition(".")
        parent = self.get_submodule(path)
        present = name in parent._modules or hasattr(parent, name)
        if strict and not present:
            raise AttributeError(f"{kind}.set_submodule: {type(parent).__name__} has no attribute {name!r}")
        if present and not isinstance(getattr(parent, name), Module):
            raise AttributeError(
                f"{kind}.set_submodule: {target!r} is a {type(getattr(parent, name)).__name__}, not a Module"
            )
        setattr(parent, name, module)

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at a dotted path, e.g. ``"norm.running_mean"``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._buffers or module._buffers[name] is None:
            raise AttributeError(f"{type(self).__name__}.get_buffer: no buffer {target!r}")
        return module._buffers[name]

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path, e.g. ``"lstm.weight_hh_l0"``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(self).__name__}.get_parameter: no parameter {target!r}")
        return module._parameters[name]

    # ---- state ---------------------------------------------------------------------------------------
    def _state_dict_tensors(self) -> dict[str, Tensor]:
        """What ``state_dict`` holds, PyTorch's way: each module's parameters, then its persistent
        buffers, then its children's, depth first; a tensor or module held twice (tied) under each name."""
        state: dict[str, Tensor] = {}
        stack: list[tuple[str, Module]] = [("", self)]
        while stack:
            prefix, module = stack.pop()
            for name, p in module._parameters.items():
                state[prefix + name] = p
            for name, b in module._buffers.items():
                if b is not None and name not in module._non_persistent_buffers_set:
                    state[prefix + name] = b
            stack.extend((f"{prefix}{n}.", m) for n, m in reversed(list(module._modules.items())))
        return state

    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: ndarray}``, copies: a snapshot that later training does not change. Parameters
        and persistent buffers, each module's in that order, under PyTorch's names."""
        return {name: t.data.copy() for name, t in self._state_dict_tensors().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters; every key and shape is checked before anything changes.

        Values may be ndarrays, anything ``np.asarray`` takes, or PyTorch tensors (a PyTorch
        state_dict, even of tensors that require grad: read through ``.detach().cpu().numpy()``).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a dict of arrays, got {type(state_dict).__name__}"
            )
        params = self._state_dict_tensors()
        missing = [k for k in params if k not in state_dict]
        unexpected = [k for k in state_dict if k not in params]
        problems = []
        if strict and missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if strict and unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        values = {}
        for name, p in params.items():
            if name not in state_dict:
                continue
            try:
                value = plain_array(state_dict[name], name)
            except ValueError as e:  # a ragged list, a tensor NumPy cannot hold
                problems.append(str(e))
                continue
            if value.shape != p.shape:
                problems.append(f"{name}: shape {value.shape} in the state_dict, {p.shape} in the module")
            elif value.dtype.kind not in "fiub":
                problems.append(f"{name}: dtype {value.dtype} is not numeric")
            elif not p.data.flags.writeable:
                problems.append(f"{name}: the parameter's array is read-only")
            else:
                values[name] = value
        if problems:
            raise ValueError(
                f"load_state_dict for {type(self).__name__} failed, nothing was changed: " + "; ".join(problems)
            )
        for name, value in values.items():
            params[name].data[...] = value
            changed_in_place(params[name].data)
        return IncompatibleKeys(missing, unexpected)

    # ---- calling -------------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        """What calling the module computes; every layer defines it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        d = self.__dict__  # (.get: a subclass that skipped Module.__init__ still runs its forward)
        if (
            d.get("_forward_pre_hooks")
            or d.get("_forward_hooks")
            or d.get("_backward_pre_hooks")
            or d.get("_backward_hooks")
            or _hooks.any_global()
        ):
            return _hooks.call(self, args, kwargs)
        return self.forward(*args, **kwargs)

    # ---- hooks ---------------------------------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """``hook(module, args)`` before ``forward``; it may return new args (a tuple, or one value).
        ``with_kwargs=True``: ``hook(module, args, kwargs)``, returning None or ``(args, kwargs)``.
        ``prepend=True``: before the hooks already there."""
        return _hooks.add_hook(
            self._forward_pre_hooks, hook, prepend, (self._forward_pre_hooks_with_kwargs, with_kwargs)
        )

    def register_forward_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """``hook(module, args, output)`` after ``forward``; it may return a new output.
        ``with_kwargs=True``: ``hook(module, args, kwargs, output)``; ``always_call=True``: it runs
        even when forward raised."""
        return _hooks.add_hook(
            self._forward_hooks,
            hook,
            prepend,
            (self._forward_hooks_with_kwargs, with_kwargs),
            (self._forward_hooks_always_called, always_call),
        )

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output)`` when the gradients of the module's outputs are known; it may
        return new ones (a tuple, one per output, None where an output is not a Tensor)."""
        return _hooks.add_hook(self._backward_pre_hooks, hook, prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output)`` when the gradients of the module's positional
        Tensor inputs are known; it may return new ``grad_input``. PyTorch's rules: ``nn/hooks.py``."""
        return _hooks.add_hook(self._backward_hooks, hook, prepend)

    def extra_repr(self) -> str:
        """What ``repr(module)`` shows between the parentheses (a subclass's sizes and options)."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {module!r}".replace("\n", "\n  ") for name, module in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def functional_call(
    module: Module,
    parameters: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]],
    args: Any = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the tensors in ``parameters`` (by the dotted names
    ``named_parameters`` and ``named_buffers`` give; or a tuple of such mappings, PyTorch's ``(params,
    buffers)``) standing in for the module's own, which are back
    in place afterwards, whatever happens: PyTorch's ``torch.func.functional_call``. The gradient then flows to the
    tensors given, so a loss can be a function of the weights (``tl.gradcheck``, ``tl.jacobian``). A
    weight shared by several submodules (tied) is replaced everywhere it is used, as PyTorch does
    (``tie_weights=False``: only under the name given). As PyTorch's, a name the module does not
    have is passed over, and ``strict=True`` refuses it, and any of the module's names not given.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> lin = tl.nn.Linear(2, 1)
    >>> w = tl.tensor([[1.0, 2.0]], requires_grad=True)
    >>> out = tl.func.functional_call(lin, {"weight": w, "bias": tl.zeros(1)}, (tl.ones(1, 2),))
    >>> out.item(), lin.weight is lin.get_parameter("weight")
    (3.0, True)
    """
    given: Mapping[str, Tensor]
    if isinstance(parameters, Mapping):
        given = parameters
    else:  # PyTorch's (params, buffers): one mapping, each name once
        merged: dict[str, Tensor] = {}
        for part in parameters:
            for name, tensor in part.items():
                if name in merged:
                    raise ValueError(f"functional_call: {name!r} appears in more than one of the mappings given")
                merged[name] = tensor
        given = merged
    known = [n for n, _ in [*module.named_parameters(), *module.named_buffers()]]
    if strict and set(given) != set(known):
        unexpected = sorted(set(given) - set(known))
        missing = sorted(set(known) - set(given))
        raise RuntimeError(
            f"functional_call: strict=True, and the names given are not {type(module).__name__}'s: unexpected "
            f"{unexpected}, missing {missing}"
        )
    replacing: dict[int, tuple[str, Tensor]] = {}  # id(own tensor) -> (the name given, its stand-in)
    exact: list[tuple[dict, str, Tensor, Tensor]] = []  # (table, key, own, stand-in) of the names given
    for name, tensor in given.items():
        try:
            own: Tensor = module.get_parameter(name)
        except AttributeError:
            try:
                own = module.get_buffer(name)
            except AttributeError:
                continue  # as PyTorch's: a name the module does not have changes nothing
        if not isinstance(tensor, Tensor) or tensor.shape != own.shape:
            shape = getattr(tensor, "shape", type(tensor).__name__)
            raise ValueError(f"functional_call: {name!r} must be a Tensor of shape {own.shape}, got {shape}")
        if tie_weights and id(own) in replacing and replacing[id(own)][1] is not tensor:
            raise ValueError(
                f"functional_call: {replacing[id(own)][0]!r} and {name!r} are one tied weight, given two tensors"
            )
        replacing[id(own)] = (name, tensor)
        owner_name, _, key = name.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        exact.append((owner._parameters if key in owner._parameters else owner._buffers, key, own, tensor))
    places = (
        [  # every (table, key) that holds a tensor being replaced, tied ones included
            (table, key, own, replacing[id(own)][1])
            for owner in module.modules()
            for table in (owner._parameters, owner._buffers)
            for key, own in table.items()
            if id(own) in replacing
        ]
        if tie_weights
        else exact
    )
    try:
        for table, key, _, stand_in in places:
            table[key] = stand_in
        return module(*(args if isinstance(args, tuple) else (args,)), **(kwargs or {}))
    finally:
        for table, key, own, _ in places:
            table[key] = own
