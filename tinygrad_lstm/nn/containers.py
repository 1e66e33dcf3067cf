"""Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict: PyTorch's containers,
registering what they hold under the same names ("0", "1", ... or the keys), so state_dict keys
match PyTorch's."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..tensor import Tensor
from .module import Module, Parameter, changed


def _check_module(owner: str, name: str, module) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"{owner}: {name} is a {type(module).__name__}, not a tl.nn.Module")
    return module


class ModuleList(Module):
    """A list of modules, registered as "0", "1", ...

    >>> import tinygrad_lstm as tl
    >>> layers = tl.nn.ModuleList([tl.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), sorted(layers.state_dict())[:2]
    (3, ['0.bias', '0.weight'])
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        self.extend(modules or [])

    def _name(self) -> str:
        return type(self).__name__

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return type(self)(items[index])
        if not -len(items) <= index < len(items):
            raise IndexError(f"{self._name()}: index {index} is out of range for {len(items)} modules")
        return items[index]

    def __setitem__(self, index: int, module: Module) -> None:
        key = list(self._modules)[index]
        self._modules[key] = _check_module(self._name(), f"item {index}", module)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns the list."""
        self._modules[str(len(self))] = _check_module(self._name(), f"item {len(self)}", module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end; returns the list."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index``."""
        items = list(self._modules.values())
        items.insert(index, _check_module(self._name(), f"item {index}", module))
        self._modules.clear()
        self.extend(items)


class Sequential(ModuleList):
    """Modules called in order, each on the output of the one before; built from modules or an
    ``OrderedDict`` of named ones.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> head = tl.nn.Sequential(tl.nn.Linear(4, 8), tl.nn.Tanh(), tl.nn.Linear(8, 2))
    >>> head(tl.zeros(3, 4, dtype=np.float32)).shape
    (3, 2)
    """

    def __init__(self, *modules) -> None:
        Module.__init__(self)
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, m in modules[0].items():
                self._modules[str(name)] = _check_module("Sequential", repr(name), m)
        else:
            self.extend(modules)

    def __getitem__(self, index):
        if isinstance(index, slice):  # a Sequential of the same named modules, as PyTorch slices one
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return super().__getitem__(index)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleDict(Module):
    """A dict of modules, registered under their keys.

    >>> import tinygrad_lstm as tl
    >>> heads = tl.nn.ModuleDict({"value": tl.nn.Linear(2, 1), "policy": tl.nn.Linear(2, 3)})
    >>> list(heads), heads["policy"].out_features
    (['value', 'policy'], 3)
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module {key!r}; keys are {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self._modules[str(key)] = _check_module("ModuleDict", repr(key), module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def keys(self):
        """The names, in insertion order."""
        return self._modules.keys()

    def values(self):
        """The modules, in insertion order."""
        return self._modules.values()

    def items(self):
        """(name, module) pairs, in insertion order."""
        return self._modules.items()

    def update(self, modules) -> None:
        """Add (or replace) each (name, module) of a dict or of pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module


def _as_parameter(owner: str, name: str, value: Any) -> Parameter:
    """A Parameter as it is; a plain Tensor becomes one (sharing its array), as PyTorch wraps it."""
    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        if value.dtype.kind != "f":
            raise TypeError(f"{owner}: {name} has dtype {value.dtype}; only float tensors can be parameters")
        return Parameter(value.data)
    raise TypeError(f"{owner}: {name} is a {type(value).__name__}, not a tl.nn.Parameter or Tensor")


def _parameters_repr(module: Module) -> str:
    """One line per parameter, as PyTorch prints its parameter containers."""
    lines = [
        f"  ({k}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}]"
        for k, p in module._parameters.items()
    ]
    return f"{type(module).__name__}(" + "".join("\n" + line for line in lines) + ("\n)" if lines else ")")


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... (a Tensor given is wrapped as a Parameter).

    >>> import tinygrad_lstm as tl
    >>> scales = tl.nn.ParameterList([tl.nn.Parameter(tl.ones(2)) for _ in range(3)])
    >>> len(scales), list(scales.state_dict())
    (3, ['0', '1', '2'])
    """

    def __init__(self, values: Iterable[Any] | None = None) -> None:
        super().__init__()
        self.extend(values or [])

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(list(self._parameters.values()))

    def __getitem__(self, index):
        items = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(items[index])
        if not -len(items) <= index < len(items):
            raise IndexError(f"ParameterList: index {index} is out of range for {len(items)} parameters")
        return items[index]

    def __setitem__(self, index: int, value: Any) -> None:
        if not -len(self) <= index < len(self):
            raise IndexError(f"ParameterList: index {index} is out of range for {len(self)} parameters")
        key = list(self._parameters)[index]
        self._parameters[key] = _as_parameter("ParameterList", f"item {index}", value)
        changed[0] += 1

    def append(self, value: Any) -> ParameterList:
        """Add ``value`` at the end; returns the list."""
        self._parameters[str(len(self))] = _as_parameter("ParameterList", f"item {len(self)}", value)
        changed[0] += 1
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Add each of ``values`` at the end (all checked first: a bad one adds none); returns the list."""
        checked = [_as_parameter("ParameterList", f"item {len(self) + k}", v) for k, v in enumerate(values)]
        for p in checked:
            self.append(p)
        return self

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def __repr__(self) -> str:
        return _parameters_repr(self)


class ParameterDict(Module):
    """A dict of parameters, registered under their keys (a Tensor given is wrapped as a Parameter).

    >>> import tinygrad_lstm as tl
    >>> biases = tl.nn.ParameterDict({"left": tl.nn.Parameter(tl.zeros(2)), "right": tl.zeros(3)})
    >>> list(biases), biases["right"].shape, [n for n, _ in biases.named_parameters()]
    (['left', 'right'], (3,), ['left', 'right'])
    """

    def __init__(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._parameters))

    def __contains__(self, key: object) -> bool:
        return key in self._parameters

    def __getitem__(self, key: str) -> Parameter:
        if key not in self._parameters:
            raise KeyError(f"ParameterDict: no parameter {key!r}; keys are {list(self._parameters)}")
        return self._parameters[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ParameterDict: a key must be a non-empty string without '.', got {key!r}")
        self._parameters[key] = _as_parameter("ParameterDict", repr(key), value)
        changed[0] += 1

    def __delitem__(self, key: str) -> None:
        self[key]  # the KeyError that names the keys
        del self._parameters[key]
        changed[0] += 1

    def keys(self):
        """The names, in insertion order."""
        return self._parameters.keys()

    def values(self):
        """The parameters, in insertion order."""
        return self._parameters.values()

    def items(self):
        """(name, parameter) pairs, in insertion order."""
        return self._parameters.items()

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter under ``key``, or ``default``."""
        return self._parameters.get(key, default)

    def pop(self, key: str) -> Parameter:
        """Remove the parameter under ``key`` and return it."""
        value = self[key]
        del self[key]
        return value

    def update(self, parameters: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add (or replace) each (name, parameter) of a dict or of pairs (all checked first)."""
        pairs = list(parameters.items() if isinstance(parameters, Mapping) else parameters)
        for key, value in pairs:
            if not isinstance(key, str) or not key or "." in key:
                raise KeyError(f"ParameterDict: a key must be a non-empty string without '.', got {key!r}")
            _as_parameter("ParameterDict", repr(key), value)
        for key, value in pairs:
            self[key] = value

    def __repr__(self) -> str:
        return _parameters_repr(self)
