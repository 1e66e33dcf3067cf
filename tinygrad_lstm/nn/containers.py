"""Sequential, ModuleList, ModuleDict: PyTorch's containers, registering what they hold under
the same names ("0", "1", ... or the keys), so state_dict keys match PyTorch's."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from .module import Module


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

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


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
