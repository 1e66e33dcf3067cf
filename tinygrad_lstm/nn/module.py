"""Module and Parameter, with PyTorch's names: parameters are found by attribute, in order."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..checks import plain_array
from ..tape import guard
from ..tensor import Tensor, clear_grads
from ..versions import changed_in_place


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
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """Register a Parameter or Module assigned as an attribute; anything else is a plain attribute."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        changed[0] += 1
        params, modules = self._parameters, self._modules
        params.pop(name, None)
        modules.pop(name, None)
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
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        changed[0] += 1
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` under ``name`` (``self.name = param`` does the same); None removes it."""
        if param is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

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
        """Cast every parameter to ``dtype`` in place (``Module.double()`` in PyTorch)."""
        dtype = np.dtype(dtype)
        changed[0] += 1
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            if p._entry is not None:
                p._entry.dtype = p.data.dtype
        for m in self.modules():  # layers that check their input's dtype check against the new one
            if isinstance(m.__dict__.get("dtype"), np.dtype):
                object.__setattr__(m, "dtype", dtype)
        return self

    def to(self, dtype) -> Module:
        """``module.to(np.float64)`` or ``module.to(tl.float64)``; there is one device, the CPU,
        so ``to("cpu")`` changes nothing."""
        if isinstance(dtype, str) and dtype == "cpu":
            return self
        return self.astype(dtype)

    def double(self) -> Module:
        """Every parameter to float64."""
        return self.astype(np.float64)

    def float(self) -> Module:
        """Every parameter to float32."""
        return self.astype(np.float32)

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

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path, e.g. ``"lstm.weight_hh_l0"``."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(self).__name__}.get_parameter: no parameter {target!r}")
        return module._parameters[name]

    # ---- state ---------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, np.ndarray]:
        """``{name: ndarray}``, copies: a snapshot that later training does not change."""
        return {name: p.data.copy() for name, p in self.named_parameters()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into the parameters; every key and shape is checked before anything changes.

        Values may be ndarrays, anything ``np.asarray`` takes, or PyTorch tensors (a PyTorch
        state_dict, even of tensors that require grad: read through ``.detach().cpu().numpy()``).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict for {type(self).__name__}: expected a dict of arrays, got {type(state_dict).__name__}"
            )
        params = dict(self.named_parameters())
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
        return self.forward(*args, **kwargs)

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
    module: Module, parameters: Mapping[str, Tensor], args: Any = (), kwargs: Mapping[str, Any] | None = None
) -> Any:
    """``module(*args, **kwargs)`` with the tensors in ``parameters`` (by the dotted names
    ``named_parameters`` gives) standing in for the module's own, which are back in place afterwards,
    whatever happens: PyTorch's ``torch.func.functional_call``. The gradient then flows to the
    tensors given, so a loss can be a function of the weights (``tl.gradcheck``, ``tl.jacobian``). A
    weight shared by several submodules (tied) is replaced everywhere it is used, as PyTorch does.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> lin = tl.nn.Linear(2, 1)
    >>> w = tl.tensor([[1.0, 2.0]], requires_grad=True)
    >>> out = tl.func.functional_call(lin, {"weight": w, "bias": tl.zeros(1)}, (tl.ones(1, 2),))
    >>> out.item(), lin.weight is lin.get_parameter("weight")
    (3.0, True)
    """
    replacing: dict[int, tuple[str, Tensor]] = {}  # id(own parameter) -> (the name given, its stand-in)
    for name, tensor in parameters.items():
        try:
            own = module.get_parameter(name)
        except AttributeError:
            known = ", ".join(n for n, _ in module.named_parameters())
            what = f"{type(module).__name__} has no parameter {name!r}"
            raise KeyError(f"functional_call: {what} (it has: {known})") from None
        if not isinstance(tensor, Tensor) or tensor.shape != own.shape:
            shape = getattr(tensor, "shape", type(tensor).__name__)
            raise ValueError(f"functional_call: {name!r} must be a Tensor of shape {own.shape}, got {shape}")
        if id(own) in replacing and replacing[id(own)][1] is not tensor:
            raise ValueError(
                f"functional_call: {replacing[id(own)][0]!r} and {name!r} are one tied weight, given two tensors"
            )
        replacing[id(own)] = (name, tensor)
    places = [  # every (module, attribute) that holds a weight being replaced, tied ones included
        (owner, key, own)
        for owner in module.modules()
        for key, own in owner._parameters.items()
        if id(own) in replacing
    ]
    try:
        for owner, key, own in places:
            owner._parameters[key] = replacing[id(own)][1]
        return module(*(args if isinstance(args, tuple) else (args,)), **(kwargs or {}))
    finally:
        for owner, key, own in places:
            owner._parameters[key] = own
