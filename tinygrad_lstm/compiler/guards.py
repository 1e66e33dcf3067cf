"""What a compiled step checks before it replays, and what it watches while it records.

A replay runs the recorded ops, not the step's Python, so every value the recording read that is
neither a step input nor a parameter was read once. :class:`Environment` notes the values the step's
function can reach by name (its closure cells and the globals its code names, one level into the
lists, tuples, dicts and plain objects they hold, and the functions it calls the same way) and, before
each replay, checks that each is still the same object: cheap identity checks, no copies. A changed
value makes the step record again. Modules are checked as one counter (``nn.module.changed``: any
attribute set, ``train``/``eval``, ``astype``), and what they hold that can change in place (buffers,
lists, arrays, tensors that are no parameters) as above: a loss's class weights are read in Python
while the step records, so one written in place makes it record again (so does one of a module the
step can reach and does not call; the step's own effects, running statistics, do not).

:func:`watching_reads` refuses, while a step records, Python-side reads of a value the step computes
(``x.data``, ``.numpy()`` of a detached result): NumPy work on them would be baked into the replay.
"""

from __future__ import annotations

import functools
import io
import os
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..dtypes import get_default_dtype
from ..tape import Leaf, _sequence
from ..tensor import Tensor
from ..versions import changed_after
from .errors import CompileError

_MISSING = object()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
_VALUES = (int, float, complex, bool, str, bytes, type(None), np.generic, np.ndarray, np.dtype, slice, range)
MAX_CHECKS = 1024  # values guarded per step, beyond which deeper containers are not looked into
_MODULE_REGISTRIES = ("_parameters", "_buffers", "_modules", "_non_persistent_buffers_set")
MAX_COPIED = 1 << 16  # elements of a NumPy array whose values are compared, not only its identity


class Environment:
    """The values a step's function reads by name, each with the object it was when recorded."""

    def __init__(self, fn) -> None:
        self.checks: list[tuple] = []  # (kind, holder, key, object, what it is called)
        self._seen: set[int] = set()
        self.since = next(_sequence)  # in-place changes to a tensor after this are seen by its stamp
        self.written: set[int] = set()  # ids of the arrays the step's effects write (a replay writes them too)
        self.default_dtype = get_default_dtype()  # what tl.zeros(...) and layers made in the step were
        self.modules: list[tuple] = []  # (what the step's code calls it, module, its attributes as recorded)
        self.iterators: list[str] = []  # what the step's code calls the iterators it can reach
        self._function(fn, 3, "")

    def changed(self) -> str | None:
        """What is no longer the object it was when recorded (as the step's code names it), or None."""
        if get_default_dtype() != self.default_dtype:
            return "the default dtype (tl.set_default_dtype)"
        for kind, holder, key, obj, name in self.checks:
            if kind == "cell":
                try:
                    now = holder.cell_contents
                except ValueError:
                    now = _MISSING
            elif kind == "item":
                try:
                    now = holder[key]
                except (IndexError, KeyError, TypeError):
                    now = _MISSING
            elif kind == "attr":
                now = holder.__dict__.get(key, _MISSING)
            elif kind == "len":
                if len(holder) != obj:
                    return f"{name} (its length)"
                continue
            elif kind == "array":  # a NumPy array's values: it may be written in place
                if holder.dtype != obj.dtype or not np.array_equal(holder, obj, equal_nan=obj.dtype.kind in "fc"):
                    return f"{name} (its values)"
                continue
            else:  # "tensor": the same array, the same requires_grad, and not written since, unless it
                # requires grad (a parameter, whose values every replay reads: `w -= lr * w.grad`) or the
                # step's own effects wrote it (running statistics: a replay writes them again)
                written = changed_after(obj[0], self.since) and not isinstance(obj[1], Leaf)
                written = written and id(obj[0]) not in self.written
                if holder.data is not obj[0] or holder._entry is not obj[1] or written:
                    return f"{name} (its array, its values or requires_grad)"
                continue
            if now is not obj:
                return name
        return None

    def rebound(self) -> str | None:
        """Which attribute of a module the step reaches was set while the step ran (``self.calls += 1``,
        ``self.last = out.detach()``, a buffer rebound to a new tensor), or None; if one was, every
        module is put back as it was. The module counter cannot tell: the recording's own change is
        the state each replay is checked against, and a replay runs no Python to set it again."""
        for name, module, before in self.modules:
            now = _attributes(module)
            for part, was in zip(now, before):
                for key in was.keys() | part.keys():
                    if was.get(key, _MISSING) is not part.get(key, _MISSING):
                        self._put_back()
                        return f"{name}.{key}"
        return None

    def _put_back(self) -> None:
        for _, module, before in self.modules:
            for part, was in zip(_registries(module), before):
                part.clear()
                part.update(was)

    def _add(self, kind, holder, key, obj, name) -> bool:
        if len(self.checks) >= MAX_CHECKS:
            return False
        self.checks.append((kind, holder, key, obj, name))
        return True

    def _function(self, fn, depth: int, prefix: str) -> None:
        if id(fn) in self._seen or depth <= 0:
            return
        self._seen.add(id(fn))
        if isinstance(fn, functools.partial):  # its function, and the arguments bound to it
            self._function(fn.func, depth, prefix)
            for k, v in [*enumerate(fn.args), *fn.keywords.items()]:
                self._value(v, depth - 1, f"{prefix}partial[{k!r}]")
            return
        if isinstance(fn, types.MethodType):
            self._object(fn.__self__, depth, prefix + "self")
            fn = fn.__func__
        if not isinstance(fn, types.FunctionType):
            if hasattr(fn, "__dict__") and not isinstance(fn, type):
                self._seen.discard(id(fn))
                self._object(fn, depth, prefix + type(fn).__name__)
                # a module called as the step (what its forward reads), or any object with a __call__ of its own
                body = getattr(fn, "forward", None) or vars(type(fn)).get("__call__")
                body = body.__func__ if isinstance(body, types.MethodType) else body
                if isinstance(body, types.FunctionType):
                    self._function(body, depth, prefix + type(fn).__name__ + ".")
            return
        if fn.__code__.co_filename.startswith(_PACKAGE):  # the library's own functions read no user values
            return
        code = fn.__code__
        names: set[str] = set()  # the globals and attributes the code names
        stack = [code]
        while stack:
            c = stack.pop()
            names.update(c.co_names)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        for name, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                obj = cell.cell_contents
            except ValueError:
                continue
            if self._add("cell", cell, None, obj, prefix + name):
                self._value(obj, depth - 1, prefix + name)
                self._namespace(obj, names, depth - 1, prefix + name)
        arguments = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        defaults = dict(zip(arguments[code.co_argcount - len(fn.__defaults__ or ()) :], fn.__defaults__ or ()))
        for name, obj in {**defaults, **(fn.__kwdefaults__ or {})}.items():  # def step(x, w=weights): w[0] = 5
            self._value(obj, depth - 1, f"{prefix}{fn.__name__}'s default {name}")
        g = fn.__globals__
        for name in sorted(names):
            obj = g.get(name, _MISSING)
            if obj is _MISSING or (isinstance(obj, type) and not _users(obj)):
                continue
            if isinstance(obj, types.ModuleType):
                self._namespace(obj, names, depth - 1, prefix + name)
            elif self._add("item", g, name, obj, prefix + name):
                self._value(obj, depth - 1, prefix + name)

    def _namespace(self, module, names: set[str], depth: int, name: str) -> None:
        """A module of the user's code the step's function names (``import config``): the attributes
        of it that the code names (``config.scale``), each as the object it was."""
        if not isinstance(module, types.ModuleType) or not _users_file(getattr(module, "__file__", None)):
            return
        for key in sorted(names & vars(module).keys()):
            value = vars(module)[key]
            if isinstance(value, types.ModuleType):
                continue
            if self._add("attr", module, key, value, f"{name}.{key}"):
                self._value(value, depth - 1, f"{name}.{key}")

    def _value(self, obj, depth: int, name: str) -> None:
        from ..nn.module import Module  # the compiler sits below nn: imported when a step records

        if isinstance(obj, Tensor):
            if id(obj) not in self._seen:
                self._seen.add(id(obj))
                self._add("tensor", obj, None, (obj.data, obj._entry), name)
            return
        if isinstance(obj, Module):
            self._module(obj, depth, name)
            return
        if isinstance(obj, Iterator) and not isinstance(obj, io.IOBase):  # next(it) would run on recording only
            self.iterators.append(f"{name} ({type(obj).__name__})")
            return
        if isinstance(obj, np.ndarray) and obj.dtype.kind in "biufc" and id(obj) not in self._seen:
            # NumPy keeps no version: a copy to compare, for arrays small enough (targets, masks, settings)
            self._seen.add(id(obj))
            if obj.size <= MAX_COPIED:
                self._add("array", obj, None, obj.copy(), name)
            return
        if isinstance(obj, type) and _users(obj) and depth > 0 and id(obj) not in self._seen:
            self._class(obj, depth, name)
            return
        if depth <= 0 or isinstance(obj, (*_VALUES, type, types.ModuleType)) or id(obj) in self._seen:
            return
        self._seen.add(id(obj))
        if isinstance(obj, (types.FunctionType, types.MethodType)):
            self._seen.discard(id(obj))
            self._function(obj, depth, name + ".")
        elif isinstance(obj, (list, tuple, dict)):
            if not isinstance(obj, tuple):
                self._add("len", obj, None, len(obj), name)
            for k, v in list(obj.items() if isinstance(obj, dict) else enumerate(obj)):
                if not self._add("item", obj, k, v, f"{name}[{k!r}]"):
                    return
                self._value(v, depth - 1, f"{name}[{k!r}]")
        elif hasattr(obj, "__dict__") and not callable(obj):
            self._seen.discard(id(obj))
            self._object(obj, depth, name)

    def _class(self, cls: type, depth: int, name: str) -> None:
        """A class of the user's code (a configuration class, say): its class attributes, as an object's
        (``Cfg.scale = 2.0`` after recording makes the step record again); its methods are code."""
        self._seen.add(id(cls))
        for key, value in list(vars(cls).items()):
            if key.startswith("__") or isinstance(value, (types.FunctionType, staticmethod, classmethod, property)):
                continue
            if self._add("attr", cls, key, value, f"{name}.{key}"):
                self._value(value, depth - 1, f"{name}.{key}")

    def _module(self, module, depth: int, name: str) -> None:
        """A module the step can reach: its buffers as tensors (a loss's class weights are read in Python
        while the step records), what its own attributes hold that can change in place (a list, an
        array, a tensor that is no parameter), and its submodules, at any depth. Rebinding an attribute,
        train/eval and astype are the module counter's; its parameters every replay reads."""
        if id(module) in self._seen:
            return
        self._seen.add(id(module))
        self.modules.append((name, module, _attributes(module)))
        if _users(type(module)) and id(type(module)) not in self._seen:
            self._class(type(module), depth, f"{name}.__class__")
        for key, buffer in module._buffers.items():
            self._value(buffer, depth, f"{name}.{key}")
        for key, value in list(vars(module).items()):
            if key not in _MODULE_REGISTRIES and "_hooks" not in key:  # registering a hook bumps the counter
                self._value(value, depth - 1, f"{name}.{key}")
        for key, sub in module._modules.items():
            if sub is not None:
                self._module(sub, depth, f"{name}.{key}")

    def _object(self, obj, depth: int, name: str) -> None:
        from ..nn.module import Module

        if isinstance(obj, Module):
            self._module(obj, depth, name)
            return
        if id(obj) in self._seen or not hasattr(obj, "__dict__"):
            return
        self._seen.add(id(obj))
        for k, v in list(vars(obj).items()):
            if self._add("attr", obj, k, v, f"{name}.{k}"):
                self._value(v, depth - 1, f"{name}.{k}")


def _registries(module) -> tuple[dict, ...]:
    return vars(module), module._parameters, module._buffers, module._modules


def _attributes(module) -> tuple[dict, ...]:
    """A module's attributes as the objects they are now, each place a copy: its plain attributes (with
    the registries themselves and its hooks, which it keeps in dicts that change in place), parameters,
    buffers and submodules."""
    return tuple(dict(part) for part in _registries(module))


def _users(cls: type) -> bool:
    """Whether ``cls`` comes from the user's code: not built in, not installed (NumPy, this package)."""
    if cls.__module__ == "__main__":
        return True
    return _users_file(getattr(sys.modules.get(cls.__module__), "__file__", None))


def _users_file(file: str | None) -> bool:
    return file is not None and file != "" and not file.startswith((sys.prefix, sys.base_prefix, _PACKAGE))


_reads = threading.local()  # per thread: the arrays of the values the step being recorded computes
_patch_lock = threading.Lock()
_patched = [0]


@contextmanager
def watching_reads(tracked: dict):
    """While a step records in this thread: ``t.data`` read outside the engine, or ``t.numpy()``, of a
    value the step computes (``tracked``: id of array -> array) or of any tensor that requires grad
    raises a CompileError. Swaps ``Tensor.data`` for a checking property only while some thread records,
    so eager execution never pays for it."""
    with _patch_lock:
        if _patched[0] == 0:
            _install()
        _patched[0] += 1
    _reads.tracked = tracked
    try:
        yield
    finally:
        _reads.tracked = None
        with _patch_lock:
            _patched[0] -= 1
            if _patched[0] == 0:
                _uninstall()


_slot = Tensor.__dict__["data"]
_concrete = Tensor._concrete
_ENGINE = ("tinygrad_lstm.",)
_USER_SIDE = ("tinygrad_lstm.nn", "tinygrad_lstm.demos", "tinygrad_lstm.examples")


def _read_refused(data, what: str) -> None:
    raise CompileError(
        f"compile: {what} of a value the step computes (shape {np.shape(data)}) was read while tl.compile "
        "records the step: a replay would reuse the first call's value (whatever NumPy computes from it: a "
        "mask, a branch, a number). Use tensor operations instead (comparisons, tl.where, .detach(), "
        "x.shape), pass the value in as an input, or run the step without tl.compile"
    )


def _is_tracked(t: Tensor, data) -> bool:
    tracked = getattr(_reads, "tracked", None)
    return tracked is not None and (t._entry is not None or id(data) in tracked)


def _get(t):  # pragma: no mutate block (mutation testing: the caller must be frame 1, not a trampoline)
    data = _slot.__get__(t, Tensor)
    if getattr(_reads, "tracked", None) is not None and _is_tracked(t, data):
        module = sys._getframe(1).f_globals.get("__name__", "")
        if not module.startswith(_ENGINE) or module.startswith(_USER_SIDE):
            _read_refused(data, ".data")
    return data


def _checked_concrete(self, what):
    if self._entry is not None:
        return _concrete(self, what)  # refuses a recorded value by itself
    data = _slot.__get__(self, Tensor)
    if _is_tracked(self, data):
        _read_refused(data, what)
    return data


def _install() -> None:
    # the read guard swaps the class's own descriptors while a step records, and puts them back after:
    # a dynamic patch of a slot and a method, which the type system has no words for
    Tensor.data = property(_get, _slot.__set__)  # type: ignore[misc, assignment]
    Tensor._concrete = _checked_concrete  # type: ignore[method-assign]


def _uninstall() -> None:
    Tensor.data = _slot  # type: ignore[misc]
    Tensor._concrete = _concrete  # type: ignore[method-assign]
