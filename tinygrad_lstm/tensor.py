"""Tensor: a NumPy array, its gradient, and the tape entry that made it.

Operators and methods delegate to the public functions and composites in ``ops.py`` (which record the
primitives of ``primitives/``); this file holds the data, the user-facing names (NumPy's and
PyTorch's), and the rules for in-place updates (``x += y``, ``x[i] = v``, ``add_``, ``zero_``...),
which write into the tensor's own array. They are PyTorch's:

- **plain** under ``no_grad``, or when neither the tensor nor what is written into it requires grad:
  the array is written in place, so views and detached copies of it see the change
  (``with tl.no_grad(): p -= lr * p.grad`` is an SGD step);
- **recorded** when the update is part of a graph (the tensor is a result that requires grad, or the
  value written into it requires grad): the new value is computed as one more tape entry, written
  into the array, and the tensor now stands for that entry;
- **refused** on a leaf that requires grad outside ``no_grad``: its ``.grad`` would no longer be the
  gradient of anything.

Every write stamps the array (``versions.py``), so an entry that saved the old values refuses
backward instead of mixing old and new ones.

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.Tensor(np.ones(3), requires_grad=True)
>>> (w * w).sum().backward()
>>> with tl.no_grad():
...     w -= 0.25 * w.grad
>>> w.data, w.is_leaf
(array([0.5, 0.5, 0.5]), True)
"""

from __future__ import annotations

import copy
import numbers
import warnings
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeAlias, overload

import numpy as np
import numpy.typing as npt

from . import devices, dtypes, random
from .tape import Entry, Leaf, Recording, guard, wants_grad
from .tape import state as _state
from .versions import _root, changed_in_place, recorded_write

# a recorded entry's source line (Tape(sources=True), detect_anomaly) points past this file, to its caller
_SOURCE_LINES_POINT_PAST = True


# what operators and ops take: a Tensor, or what np.asarray takes (arrays, Python numbers, nested lists);
# Any, because the engine's duck typing (a VJP's operators on arrays or on Tensors) is beyond NumPy's stubs
Operand: TypeAlias = Any
# a shape given as separate ints (x.reshape(2, -1)) or as one tuple or list (x.reshape((2, -1)))
ShapeArgs: TypeAlias = "int | tuple[int, ...] | list[int]"
# the axes a reduction takes (NumPy's axis=, PyTorch's dim=): one, several, or None for all of them
Axes: TypeAlias = "int | tuple[int, ...] | None"
# a Python number in a method's signature (``float`` itself is a method name inside the class)
Real: TypeAlias = float
# as a Tensor method takes them: a list of axes too
AxesArg: TypeAlias = "int | tuple[int, ...] | list[int] | None"


def _is_float(dtype: np.dtype) -> bool:
    return dtype.kind in "fc"


# NumPy's binary ufuncs as Tensor operators: (the method when the Tensor is on the left, when on the right)
_OPERATORS: dict[np.ufunc, tuple[str, str]] = {
    np.add: ("add", "radd"),
    np.subtract: ("sub", "rsub"),
    np.multiply: ("mul", "rmul"),
    np.true_divide: ("truediv", "rtruediv"),
    np.power: ("pow", "rpow"),
    np.matmul: ("matmul", "rmatmul"),
    np.less: ("lt", "gt"),
    np.less_equal: ("le", "ge"),
    np.greater: ("gt", "lt"),
    np.greater_equal: ("ge", "le"),
    np.equal: ("eq", "eq"),
    np.not_equal: ("ne", "ne"),
}


class Tensor:
    """An n-dimensional array that can record the operations made with it.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad.data
    array([2., 4.])
    """

    __slots__ = ("data", "_grad", "_entry", "_name", "_view", "__weakref__")
    __hash__ = object.__hash__  # == is elementwise, identity hashing stays
    data: np.ndarray

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy meeting a Tensor. ``ndarray op Tensor`` is the Tensor's reflected operator (recorded as
        any other); an in-place operator on a plain array, as PyTorch's ``p.data -= lr * p.grad``,
        writes the Tensor's values into that array and records nothing (a change through ``.data``,
        as in PyTorch). Other NumPy functions of a Tensor are refused: use the Tensor's own."""
        out = kwargs.get("out")
        if method == "__call__" and out and all(type(o) is np.ndarray for o in out):
            return ufunc(*(x._concrete(ufunc.__name__) if isinstance(x, Tensor) else x for x in inputs), **kwargs)
        if method == "__call__" and not kwargs and len(inputs) == 2 and ufunc in _OPERATORS:
            name, swapped = _OPERATORS[ufunc]
            if isinstance(inputs[0], Tensor):
                return getattr(inputs[0], f"__{name}__")(inputs[1])
            return getattr(inputs[1], f"__{swapped}__")(inputs[0])
        name = ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}"
        own = f"x.{name}()" if hasattr(Tensor, name) else "the Tensor's methods, or np.asarray(x) for plain numbers"
        raise TypeError(f"np.{name}: NumPy's functions do not record a Tensor's operations; use {own}")

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self._grad: Tensor | None = None
        self._entry: Entry | Leaf | None = None
        self._name: str | None = None
        self._view: View | None = None
        if isinstance(data, Tensor):
            data = data.data
        array = np.asarray(data, dtype=dtype)
        if dtype is None and array.dtype == np.float64:  # Python floats: the default dtype
            array = dtypes.from_python(data, array)
        self.data = array
        if requires_grad:
            self.requires_grad = True

    # ---- copy and pickle ----------------------------------------------------------------------
    def _twin(self, data: np.ndarray, view: View | None = None) -> Tensor:
        """A new tensor of this class over ``data``: a leaf of its own (its gradient its own) when
        this one requires grad, with the same name."""
        if self._entry is not None and not self.is_leaf:
            raise RuntimeError(
                f"copy: only leaf tensors can be copied ({_describe(self)} is the result of {self._entry.op}), "
                "as in PyTorch; copy a .detach() of it, or .clone() it to stay in the graph"
            )
        twin = object.__new__(type(self))
        twin.data, twin._grad, twin._entry, twin._name, twin._view = data, None, None, self._name, view
        if self._entry is not None:
            twin.requires_grad = True
        return twin

    def __copy__(self) -> Tensor:
        """``copy.copy(t)``: a new leaf over the same memory with a gradient of its own (PyTorch's).
        It shared the original's tape entry, so its gradient went to the original."""
        return self._twin(self.data, self._view)  # the same memory: still a view of what it showed

    def __deepcopy__(self, memo: dict) -> Tensor:
        """``copy.deepcopy(t)`` (and of a module, its parameters): a new leaf with a copy of the values and
        of ``.grad``, as PyTorch's. It shared the original's tape entry, so the copy's gradients went to
        the original and an optimizer of the copy changed nothing."""
        twin = self._twin(self.data.copy())
        memo[id(self)] = twin
        if self._grad is not None:
            twin._grad = copy.deepcopy(self._grad, memo)
        return twin

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(
            f"pickle: a Tensor ({_describe(self)}) is not pickled (this project never pickles): save with "
            "tl.save(obj, path) and read with tl.load(path) (NumPy .npz), or pass t.numpy() across processes"
        )

    @classmethod
    def _from(cls, data: np.ndarray, entry: Entry | Leaf | None = None) -> Tensor:
        """Fast internal constructor: no conversion, no checks."""
        t = object.__new__(Tensor)
        t.data = data
        t._grad = None
        t._entry = entry
        t._name = None
        t._view = None
        return t

    # ---- autograd state -------------------------------------------------------------------
    @property
    def grad(self) -> Tensor | None:
        """The gradient accumulated by ``backward()``: kept for leaves (and ``retain_grad()`` results)."""
        if self._grad is None and self._entry is not None and not self.is_leaf and self._entry.retain is None:
            warnings.warn(
                "grad: this tensor is not a leaf (it was computed by "
                f"{self._entry.op}), so backward() does not fill its .grad; call .retain_grad() on it "
                "before backward, or use tl.grad(loss, tensor)",
                UserWarning,
                stacklevel=2,
            )
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        # as PyTorch: a Tensor or None, of this tensor's shape (backward would add into it)
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(
                f"grad: a gradient must be a Tensor or None, got {type(value).__name__}; wrap it: tl.tensor(...)"
            )
        if value is not None and value.shape != self.shape:
            raise ValueError(f"grad: a gradient of shape {value.shape} for a tensor of shape {self.shape}")
        self._grad = value

    @grad.deleter
    def grad(self) -> None:
        # ``del x.grad``, as PyTorch: the gradient is gone, .grad reads None
        self._grad = None

    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded (a leaf you set, or a result that depends on one)."""
        entry = self._entry
        # while a recorder watches a step, its inputs are recorded too: what depends on them alone needs no grad
        return entry is not None and (not _state.watchers or wants_grad(entry))

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not self.is_leaf:
            if value:  # a result that requires grad already does: PyTorch lets this pass
                return
            raise RuntimeError(
                "requires_grad can only be turned off on leaf tensors; use detach() on a result to use it "
                "without a gradient"
            )
        if value and self._entry is None:
            if self.data.dtype.kind == "c":
                raise TypeError(
                    f"requires_grad: complex tensors ({self.data.dtype}) cannot require grad here; this engine "
                    "differentiates real tensors only (split into real and imaginary parts)"
                )
            if not _is_float(self.data.dtype):
                raise TypeError(f"only floating point tensors can require grad, got dtype {self.data.dtype}")
            self._entry = Leaf(self)
            self._entry.name = self._name
        elif not value:
            self._entry = None

    @property
    def is_leaf(self) -> bool:
        """True for a tensor not made by a recorded op (its .grad is kept after backward)."""
        return self._entry is None or isinstance(self._entry, Leaf)

    @property
    def name(self) -> str | None:
        """A readable name shown by tape listings and the renderer."""
        return self._entry.name if self._entry is not None else self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name = value
        if self._entry is not None:
            self._entry.name = value
        for namer in _state.namers:  # (tl.probe_gradients hooks the values it watches)
            namer(self, value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set :attr:`requires_grad` in place and return self (PyTorch's spelling)."""
        self.requires_grad = requires_grad
        return self

    def named(self, name: str | None) -> Tensor:
        """Set :attr:`name` and return self, for use inside expressions."""
        # (the setter's work, without its call: layers name most of what a step records)
        self._name = name
        if self._entry is not None:
            self._entry.name = name
        for namer in _state.namers:
            namer(self, name)
        return self

    def detach(self) -> Tensor:
        """The same data, cut from the tape."""
        return Tensor._from(self.data)

    def detach_(self) -> Tensor:
        """Cut this tensor from the tape in place: it becomes a leaf that does not require grad."""
        if self._view is not None:
            raise RuntimeError(
                "detach_: a view cannot be detached in place (its base's history is shared); use detach()"
            )
        self._entry = None
        return self

    @property
    def retains_grad(self) -> bool:
        """True for a non-leaf tensor whose ``.grad`` backward keeps (``retain_grad()`` was called)."""
        entry = self._entry
        return isinstance(entry, Entry) and entry.retain is not None and entry.retain() is self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward."""
        if self._entry is None:
            raise RuntimeError("retain_grad: tensor does not require grad")
        if not self.is_leaf:
            self._entry.retain = weakref.ref(self)

    def register_hook(self, fn: Callable[[Tensor], Tensor | None]) -> _HookHandle:
        """Call ``fn(grad)`` when this tensor's total gradient is known; it may return a new grad."""
        if self._entry is None:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that doesn't require grad")
        entry = self._entry
        if entry.hooks is None:
            entry.hooks = []
        entry.hooks.append(fn)
        return _HookHandle(entry.hooks, fn)

    def register_post_accumulate_grad_hook(self, fn: Callable[[Tensor], None]) -> _HookHandle:
        """Call ``fn(self)`` after a backward has added into this leaf's ``.grad`` (PyTorch's hook of
        that name: where an optimizer can step one parameter as soon as its gradient is complete)."""
        if self._entry is None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: cannot register a hook on a tensor that doesn't require grad"
            )
        entry = self._entry
        if not isinstance(entry, Leaf):
            raise RuntimeError(
                "register_post_accumulate_grad_hook: only a leaf accumulates into .grad; "
                f"this tensor is the result of {entry.op}"
            )
        if entry.post_hooks is None:
            entry.post_hooks = []
        entry.post_hooks.append(fn)
        return _HookHandle(entry.post_hooks, fn)

    def backward(
        self,
        grad: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        *,
        gradient: Any = None,
        inputs: Any = None,
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``tl.grad`` for the rest).
        ``gradient=`` is PyTorch's name for ``grad``; ``inputs=`` limits which leaves accumulate."""
        from .backward import backward

        if gradient is not None:
            if grad is not None:
                raise TypeError("backward: give grad= or gradient= (PyTorch's name), not both")
            grad = gradient
        backward(self, grad, retain_graph=retain_graph, create_graph=create_graph, inputs=inputs)

    # ---- NumPy-like attributes ----------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape, a tuple of ints."""
        return self.data.shape

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        """The NumPy dtype."""
        return self.data.dtype

    @property
    def size(self) -> _Size:
        """NumPy's ``x.size`` (the element count, an int) that is also PyTorch's ``x.size()``
        (the shape) and ``x.size(dim)``."""
        return _Size(self.data.size, self.data.shape)

    @property
    def device(self) -> devices.device:
        """``tl.device("cpu")``: the one device here, where every tensor lives."""
        return devices.CPU

    @property
    def is_cuda(self) -> bool:
        """False: there is one device, the CPU."""
        return False

    @property
    def is_cpu(self) -> bool:
        """True: there is one device, the CPU."""
        return True

    def get_device(self) -> int:
        """-1, PyTorch's answer for a tensor on the CPU."""
        return -1

    def cuda(self, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Tensor:
        """Refused by name: there is one device here, the CPU (``tl.cuda.is_available()`` is False)."""
        devices.refuse("Tensor.cuda", "cuda" if device is None else device)

    def dim(self) -> int:
        """The number of axes (PyTorch's name for ``ndim``)."""
        return self.data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def entry(self) -> Entry | Leaf | None:
        """The tape entry behind this tensor, read-only: the entry that made it, a leaf's own entry
        (where its gradient accumulates) when it requires grad, or None when nothing records it.

        >>> import numpy as np, tinygrad_lstm as tl
        >>> x = tl.Tensor(np.ones(2), requires_grad=True)
        >>> y = (x * 2).named("y")
        >>> y.entry.op, y.entry.name, y.entry.parents[0] is x.entry, x.entry.op
        ('mul', 'y', True, 'leaf')
        """
        return self._entry

    @property
    def grad_fn(self) -> Entry | Leaf | None:
        """The tape entry that made this tensor (its ``op``, ``parents``, ``name``), or None for a
        leaf or a value recorded by nothing; print a ``tl.Tape`` to read the whole program."""
        return None if self.is_leaf else self._entry

    def __array__(self, dtype: npt.DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the values (a copy when ``dtype`` asks for another type)."""
        data = self._concrete("np.asarray()")
        return data if dtype is None else data.astype(dtype)

    def tolist(self) -> Any:
        """The values as nested Python lists (a Python number for a 0-d tensor)."""
        return self._concrete("tolist()").tolist()

    @property
    def T(self) -> Tensor:
        """The transpose (all axes reversed)."""
        return ops.transpose(self)

    def _concrete(self, what: str) -> np.ndarray:
        """The array, as a Python-side value (a recorded value's is guarded: a replay would reuse it)."""
        if self._entry is not None:
            guard("value", f"{what} turns a recorded value into a Python value")
        return self.data

    def numpy(self) -> np.ndarray:
        """The values as a NumPy array (the same memory, not a copy)."""
        return self._concrete("numpy()")

    def item(self) -> Any:
        """The value of a one-element tensor (of any number of axes) as a Python number."""
        return self._one("item()").item()

    def _one(self, what: str) -> np.ndarray:
        """The one value of a one-element tensor, as a 0-d array; PyTorch's error for any other size."""
        data = self._concrete(what)
        if data.size != 1:
            raise ValueError(f"{what}: only a tensor of one element converts to a Python number; this one has "
                             f"shape {self.shape} ({data.size} elements)")  # fmt: skip
        return data.reshape(())

    def __len__(self) -> int:
        return len(self.data)

    def __float__(self) -> float:
        return float(self._one("float()"))

    def __int__(self) -> int:
        return int(self._one("int()"))

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"``: a 0-d tensor formats as its number, as in PyTorch; others only with no spec."""
        if self.data.ndim == 0:
            return format(self._concrete("format()").item(), spec)
        if spec:
            raise TypeError(f"format: a tensor of shape {self.shape} has no {spec!r} format; only a 0-d one has")
        return str(self)

    def __round__(self, ndigits: int | None = None) -> Tensor:
        """``round(t, 2)``: a tensor rounded to ``ndigits`` decimals, as PyTorch's (its gradient is 0)."""
        return self.round(0 if ndigits is None else ndigits)

    def round(self, decimals: int = 0) -> Tensor:
        """Round half to even at ``decimals`` decimals, as ``np.round`` and ``torch.round``."""
        return ops.round(self, decimals)

    def __bool__(self) -> bool:
        data = self._concrete("bool()")
        if data.size != 1:  # PyTorch's error (and its type), naming the shape
            raise RuntimeError(f"bool(): the truth value of a tensor of shape {self.shape} ({data.size} elements) "
                               "is ambiguous; use .any() or .all()")  # fmt: skip
        return bool(data.reshape(()))

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._entry is not None:
            extra = ", requires_grad=True" if self.is_leaf else f", op={self._entry.op}"
        return f"Tensor({body}, dtype={self.data.dtype}{extra})"

    # ---- operators ------------------------------------------------------------------------------
    def __add__(self, other: Operand) -> Tensor:
        """self + other, broadcasting as NumPy does."""
        return ops.add(self, other)

    def __radd__(self, other: Operand) -> Tensor:
        return ops.add(other, self)

    def __sub__(self, other: Operand) -> Tensor:
        return ops.sub(self, other)

    def __rsub__(self, other: Operand) -> Tensor:
        return ops.sub(other, self)

    def __mul__(self, other: Operand) -> Tensor:
        return ops.mul(self, other)

    def __rmul__(self, other: Operand) -> Tensor:
        return ops.mul(other, self)

    def __truediv__(self, other: Operand) -> Tensor:
        return ops.div(self, other)

    def __rtruediv__(self, other: Operand) -> Tensor:
        if isinstance(other, (numbers.Number, np.generic)):  # PyTorch's way: it keeps 1/self, not self
            return ops.mul(ops.reciprocal(self), other)
        return ops.div(other, self)  # an array is a tensor there: one division, in the wider dtype

    def __floordiv__(self, other: Operand) -> Tensor:
        """self // other, rounded down as Python's ``//`` (integers stay integers); gradient 0."""
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other: Operand) -> Tensor:
        return ops.floor_divide(other, self)

    def __mod__(self, other: Operand) -> Tensor:
        """self % other, with the sign of ``other``, as Python's ``%`` and PyTorch's remainder."""
        return ops.remainder(self, other)

    def __rmod__(self, other: Operand) -> Tensor:
        return ops.remainder(other, self)

    def __pow__(self, other: Operand) -> Tensor:
        return ops.pow(self, other)

    def __rpow__(self, other: Operand) -> Tensor:
        return ops.pow(other, self)

    def __matmul__(self, other: Operand) -> Tensor:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Tensor:
        return ops.matmul(other, self)

    def __neg__(self) -> Tensor:
        return ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # ---- in-place updates (the rules are _update's, below: plain under no_grad, recorded on a graph,
    # refused on a leaf that requires grad) -------------------------------------------------------------
    def __setitem__(self, index: Any, value: Operand) -> None:
        """x[index] = value, a recorded in-place update (PyTorch's rules)."""
        plain_index, basic = ops._plain_index(index)
        if basic and _shared_windows(self) is not None:  # windows that share elements: write into the part named
            self[index].copy_(value)
            return

        def write(data):
            data[plain_index] = ops._data(value)

        _update(self, "setitem", (value,), lambda: ops.index_put(self, index, value), write)

    def __iadd__(self, other: Operand) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Operand) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Operand) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Operand) -> Tensor:
        return self.div_(other)

    def add_(self, other: Operand, alpha: float = 1) -> Tensor:
        """In place: self += alpha * other (a recorded in-place update; see the README on in-place rules)."""
        other = other if alpha == 1 else other * alpha
        return _update(self, "add_", (other,), lambda: ops.add(self, other), _ufunc(np.add, other))

    def sub_(self, other: Operand, alpha: float = 1) -> Tensor:
        """In place: self -= alpha * other."""
        other = other if alpha == 1 else other * alpha
        return _update(self, "sub_", (other,), lambda: ops.sub(self, other), _ufunc(np.subtract, other))

    def mul_(self, other: Operand) -> Tensor:
        """In place: self *= other."""
        return _update(self, "mul_", (other,), lambda: ops.mul(self, other), _ufunc(np.multiply, other))

    def div_(self, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
        """In place: self /= other (``rounding_mode="trunc"`` or ``"floor"`` as :meth:`div`)."""
        if rounding_mode is not None:
            return self._elementwise_("div_", lambda x: x.div(other, rounding_mode=rounding_mode), (other,))
        return _update(self, "div_", (other,), lambda: ops.div(self, other), _ufunc(np.true_divide, other))

    def clamp_(self, min: Operand = None, max: Operand = None) -> Tensor:  # noqa: A002 - PyTorch's names
        """In place: clip to [min, max]; bounds that require grad get theirs, as with ``clamp``."""
        return self._elementwise_("clamp_", lambda x: ops.clip(x, min, max), (min, max))

    def copy_(self, src: Operand) -> Tensor:
        """In place: take ``src``'s values (broadcast to this tensor's shape)."""

        def write(data):
            np.copyto(data, ops._data(src), casting="same_kind")

        # where(True, src, self): the result is src's values, and the old value gets a zero gradient
        return _update(self, "copy_", (src,), lambda: ops.where(np.ones(self.shape, bool), src, self), write)

    def fill_(self, value: Operand) -> Tensor:
        """In place: set every element to value."""

        def write(data):
            data[...] = ops._data(value)

        return _update(self, "fill_", (value,), lambda: ops.where(np.ones(self.shape, bool), value, self), write)

    def fill_diagonal_(self, fill_value: Operand, wrap: bool = False) -> Tensor:
        """In place: set the main diagonal to ``fill_value`` (all axes of one length, or a matrix; a tall
        matrix's diagonal starts again below each square with ``wrap=True``), as ``np.fill_diagonal``."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise ValueError(f"fill_diagonal_: needs a matrix, or all axes of one length; got shape {self.shape}")
        mask = np.zeros(self.shape, dtype=bool)
        np.fill_diagonal(mask, True, wrap=wrap)

        def write(data):
            data[mask] = ops._data(fill_value)

        return _update(self, "fill_diagonal_", (fill_value,), lambda: ops.where(mask, fill_value, self), write)

    def _elementwise_(self, op: str, fn: Callable[[Tensor], Tensor], others: Any = ()) -> Tensor:
        """``self = fn(self)`` written into this tensor's memory: recorded when a graph is involved,
        else computed from the array and copied in. ``others`` holds the arguments, so a tensor among
        them that requires grad (at any depth: an index tuple, a keyword) makes the update recorded."""

        def write(data):
            value = fn(Tensor._from(data)).data
            if value.shape != data.shape:
                raise ValueError(f"the result has shape {value.shape}, the tensor {data.shape}")
            np.copyto(data, value, casting="same_kind")

        return _update(self, op, tuple(_tensors_in(others)), lambda: fn(self), write)

    def zero_(self) -> Tensor:
        """In place: set every element to 0 (``x.grad.zero_()``)."""
        return self.fill_(0)

    def __lt__(self, other: Operand) -> Tensor:
        return ops.compare(np.less, self, other)

    def __le__(self, other: Operand) -> Tensor:
        return ops.compare(np.less_equal, self, other)

    def __gt__(self, other: Operand) -> Tensor:
        return ops.compare(np.greater, self, other)

    def __ge__(self, other: Operand) -> Tensor:
        return ops.compare(np.greater_equal, self, other)

    def __eq__(self, other: Operand) -> Tensor:  # type: ignore[override]  # elementwise, as NumPy's
        return ops.compare(np.equal, self, other)

    def __ne__(self, other: Operand) -> Tensor:  # type: ignore[override]  # elementwise, as NumPy's
        return ops.compare(np.not_equal, self, other)

    # ---- methods: NumPy's names and keywords, PyTorch's beside them ---------------------------------
    # Reductions take axis=/keepdims= (NumPy) or dim=/keepdim= (PyTorch); dtype= and out= are the
    # keywords np.sum(t) and np.mean(t) pass on, so NumPy's functions work on tensors too.
    def sum(
        self,
        axis: AxesArg = None,
        keepdims: bool = False,
        *,
        dim: AxesArg = None,
        keepdim: bool | None = None,
        dtype: npt.DTypeLike | None = None,
        out: None = None,
    ) -> Tensor:
        """Sum over ``axis`` (or ``dim``); all axes by default."""
        axes, keepdims = _reduction_args("sum", axis, dim, keepdims, keepdim, out)
        total = ops.sum(self, axes, keepdims)
        return total if dtype is None else total.astype(dtype)

    def mean(
        self,
        axis: AxesArg = None,
        keepdims: bool = False,
        *,
        dim: AxesArg = None,
        keepdim: bool | None = None,
        dtype: npt.DTypeLike | None = None,
        out: None = None,
    ) -> Tensor:
        """Mean over ``axis`` (or ``dim``); all axes by default."""
        axes, keepdims = _reduction_args("mean", axis, dim, keepdims, keepdim, out)
        average = ops.mean(self, axes, keepdims)
        return average if dtype is None else average.astype(dtype)

    @overload
    def max(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: None = None,
        keepdim: None = None,
        out: None = None,
    ) -> Tensor: ...
    @overload
    def max(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: int | None = None,
        keepdim: bool | None = None,
        out: None = None,
    ) -> Tensor | MinMax: ...
    def max(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: int | None = None,
        keepdim: bool | None = None,
        out: None = None,
    ) -> Tensor | MinMax:
        """The largest value over ``axis`` (NumPy's). With ``dim=``, or ``keepdim=`` after an axis
        (PyTorch's spellings), PyTorch's ``(values, indices)`` pair, as ``x.max(dim=1).values`` expects.
        ``x.max(1)`` alone keeps NumPy's meaning and warns: PyTorch's ``x.max(1)[1]`` would be indices."""
        axis, keepdims, dim = _numpy_or_pytorch("max", _axis, _keepdims, axis, keepdims, dim, keepdim)
        axis_, keepdims = _reduction_args("max", axis, dim, keepdims, keepdim, out)
        if dim is None:
            return ops.max(self, axis_, keepdims)
        return _picked(self, self.argmax(dim=dim, keepdim=True), dim, keepdims)

    @overload
    def min(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: None = None,
        keepdim: None = None,
        out: None = None,
    ) -> Tensor: ...
    @overload
    def min(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: int | None = None,
        keepdim: bool | None = None,
        out: None = None,
    ) -> Tensor | MinMax: ...
    def min(
        self,
        _axis: AxesArg = None,
        _keepdims: bool = False,
        /,
        *,
        axis: AxesArg = None,
        keepdims: bool = False,
        dim: int | None = None,
        keepdim: bool | None = None,
        out: None = None,
    ) -> Tensor | MinMax:
        """The smallest value over ``axis`` (NumPy's). With ``dim=``, or ``keepdim=`` after an axis
        (PyTorch's spellings), PyTorch's ``(values, indices)`` pair, as ``x.min(dim=1).values`` expects.
        ``x.min(1)`` alone keeps NumPy's meaning and warns: PyTorch's ``x.min(1)[1]`` would be indices."""
        axis, keepdims, dim = _numpy_or_pytorch("min", _axis, _keepdims, axis, keepdims, dim, keepdim)
        axis_, keepdims = _reduction_args("min", axis, dim, keepdims, keepdim, out)
        if dim is None:
            return ops.min(self, axis_, keepdims)
        return _picked(self, self.argmin(dim=dim, keepdim=True), dim, keepdims)

    def argmax(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool | None = None
    ) -> Tensor:
        """Index of the largest value (over the flattened tensor by default); never differentiated."""
        axis, keepdims = _reduction_args("argmax", axis, dim, keepdims, keepdim, None)
        return ops.argmax(self, axis, keepdims)

    def argmin(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool | None = None
    ) -> Tensor:
        """Index of the smallest value; never differentiated."""
        axis, keepdims = _reduction_args("argmin", axis, dim, keepdims, keepdim, None)
        return ops.argmin(self, axis, keepdims)

    def var(
        self,
        axis: AxesArg = None,
        keepdims: bool = False,
        *,
        dim: AxesArg = None,
        keepdim: bool | None = None,
        correction: int | None = None,
        ddof: int | None = None,
        unbiased: bool | None = None,
        dtype: npt.DTypeLike | None = None,
        out: None = None,
    ) -> Tensor:
        """Variance, dividing by n - ``correction`` (PyTorch's default 1; PyTorch's older ``unbiased=``
        (True: correction 1, False: 0) also taken). ``ddof=``, ``dtype=`` and ``out=`` are what
        ``np.var(t)`` passes on, with NumPy's meaning: ``np.var(t)`` divides by n (ddof 0), as NumPy
        does, and ``dtype`` is the result's, as in :meth:`mean`."""
        if isinstance(axis, bool):  # PyTorch's older x.var(unbiased)
            axis, unbiased = None, axis if unbiased is None else unbiased
        axes, keepdims = _reduction_args("var", axis, dim, keepdims, keepdim, out)
        variance = ops.var(self, axes, keepdims, _correction("var", correction, ddof, unbiased))
        return variance if dtype is None else variance.astype(dtype)

    def std(
        self,
        axis: AxesArg = None,
        keepdims: bool = False,
        *,
        dim: AxesArg = None,
        keepdim: bool | None = None,
        correction: int | None = None,
        ddof: int | None = None,
        unbiased: bool | None = None,
        dtype: npt.DTypeLike | None = None,
        out: None = None,
    ) -> Tensor:
        """Standard deviation: the square root of :meth:`var` (the same keywords, and ``np.std(t)``
        NumPy's), with PyTorch's gradient 0 where it is 0 (a constant input), not the NaN of sqrt's
        slope there."""
        if isinstance(axis, bool):  # PyTorch's older x.std(unbiased)
            axis, unbiased = None, axis if unbiased is None else unbiased
        axes, keepdims = _reduction_args("std", axis, dim, keepdims, keepdim, out)
        variance = ops.var(self, axes, keepdims, _correction("std", correction, ddof, unbiased))
        deviation = ops.root_or_zero(variance)
        return deviation if dtype is None else deviation.astype(dtype)

    def norm(self, p: float | str = 2, dim: Axes = None, keepdim: bool = False) -> Tensor:
        """The ``p``-norm over ``dim`` (all elements by default), as ``torch.linalg.vector_norm``: ``inf``
        and ``-inf`` the largest and smallest magnitude, 0 the count of non-zeros, ``"fro"`` the 2-norm;
        ``"nuc"`` the nuclear norm of the matrices over ``dim`` (a matrix's by default), as torch.norm."""
        if isinstance(p, str) and p == "nuc":
            if dim is None and self.ndim != 2:
                raise ValueError(f"norm: p='nuc' of shape {self.shape} needs a matrix, or dim= naming two axes")
            axes = (-2, -1) if dim is None else tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
            if len(axes) != 2:
                raise ValueError(f"norm: p='nuc' takes two axes (dim=), got {dim!r}")
            return linalg.matrix_norm(self, "nuc", (axes[0], axes[1]), keepdim)
        return ops.vector_norm(self, p, dim, keepdim)

    def prod(
        self,
        axis: int | None = None,
        keepdims: bool = False,
        *,
        dim: int | None = None,
        keepdim: bool | None = None,
        dtype: npt.DTypeLike | None = None,
        out: None = None,
    ) -> Tensor:
        """Product over ``axis`` (``dim``); exact gradients even where entries are 0."""
        axis, keepdims = _reduction_args("prod", axis, dim, keepdims, keepdim, out)
        product = ops.prod(self, axis, keepdims)
        return product if dtype is None else product.astype(dtype)

    def cumsum(self, axis: int | None = None, *, dim: int | None = None, dtype: npt.DTypeLike | None = None) -> Tensor:
        """Running sum along ``axis`` (``dim``), in ``dtype`` when given."""
        return ops.cumsum(self if dtype is None else self.astype(dtype), axis, dim=dim)

    def flip(self, *dims: Any) -> Tensor:
        """Reverse the order along the given axes: ``x.flip(0)``, ``x.flip((0, 1))``."""
        return ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def split(self, split_size: int | list[int] | tuple[int, ...], dim: int = 0) -> list[Tensor]:
        """``torch.split``: pieces of ``split_size`` along ``dim`` (the last may be shorter), or of
        each size in a list (NumPy arrays have no such method; ``tl.split`` with ``axis=`` is NumPy's)."""
        return ops.split_sizes(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        """``torch.chunk``: at most ``chunks`` pieces of ceil(n / chunks) along ``dim``."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        n = self.shape[ops._axis("chunk", dim, self.ndim)]
        return ops.split_sizes(self, max(1, -(-n // chunks)), dim)

    def tril(self, diagonal: int = 0) -> Tensor:
        """Zero above the diagonal-th diagonal of the last two axes."""
        return ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """Zero below the diagonal-th diagonal of the last two axes."""
        return ops.triu(self, diagonal)

    def gather(self, dim: int, index: Operand) -> Tensor:
        """``out[i][j] = self[index[i][j]][j]`` for ``dim=0`` (PyTorch's gather)."""
        return ops.gather(self, dim, index)

    def log1p(self) -> Tensor:
        """log(1 + x), exact for tiny x."""
        return ops.log1p(self)

    def reciprocal(self) -> Tensor:
        """1 / x elementwise."""
        return ops.reciprocal(self)

    def expm1(self) -> Tensor:
        """exp(x) - 1, exact for tiny x."""
        return ops.expm1(self)

    def sin(self) -> Tensor:
        """Sine, elementwise."""
        return ops.sin(self)

    def cos(self) -> Tensor:
        """Cosine, elementwise."""
        return ops.cos(self)

    def atan(self) -> Tensor:
        """Arctangent, elementwise."""
        return ops.atan(self)

    def erf(self) -> Tensor:
        """The error function, elementwise (``torch.erf``)."""
        return ops.erf(self)

    def erfc(self) -> Tensor:
        """1 - erf(x), elementwise, exact in the tail (``torch.erfc``)."""
        return ops.erfc(self)

    def erfinv(self) -> Tensor:
        """The inverse error function, elementwise (``torch.erfinv``): +-inf at +-1, NaN beyond."""
        return ops.erfinv(self)

    def lgamma(self) -> Tensor:
        """log |Gamma(x)|, elementwise (``torch.lgamma``)."""
        return ops.lgamma(self)

    def digamma(self) -> Tensor:
        """d/dx lgamma(x), elementwise (``torch.digamma``)."""
        return ops.digamma(self)

    def polygamma(self, n: int) -> Tensor:
        """The ``n``-th derivative of digamma, elementwise (``x.polygamma(n)`` is ``torch.polygamma(n, x)``)."""
        return ops.polygamma(n, self)

    def mvlgamma(self, p: int) -> Tensor:
        """The log of the multivariate gamma function of dimension ``p`` (``torch.mvlgamma``)."""
        return ops.mvlgamma(self, p)

    def square(self) -> Tensor:
        """x * x."""
        return ops.square(self)

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return ops.rsqrt(self)

    def sign(self) -> Tensor:
        """-1, 0 or 1 elementwise; the gradient is 0."""
        return ops.sign(self)

    def pow(self, exponent: Operand) -> Tensor:
        """``self ** exponent`` (PyTorch's method name)."""
        return self**exponent

    def exp(self) -> Tensor:
        """exp(x), elementwise."""
        return ops.exp(self)

    def log(self) -> Tensor:
        """Natural logarithm, elementwise."""
        return ops.log(self)

    def sqrt(self) -> Tensor:
        """Square root, elementwise."""
        return ops.sqrt(self)

    def abs(self) -> Tensor:
        """Absolute value, elementwise."""
        return ops.abs(self)

    def tanh(self) -> Tensor:
        """tanh(x), elementwise."""
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        """1 / (1 + exp(-x)), elementwise, precise in both tails."""
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        """max(x, 0), elementwise."""
        return ops.relu(self)

    def softmax(self, axis: int | None = None, *, dim: int | None = None, dtype: npt.DTypeLike | None = None) -> Tensor:
        """Softmax over ``axis`` (``dim``; the last by default), stable for large inputs; with ``dtype``,
        computed in that dtype (the input converted first, as PyTorch)."""
        x = self if dtype is None else self.astype(dtype)
        return ops.softmax(x, ops.axis_or_dim("softmax", axis, dim, -1))

    def log_softmax(
        self, axis: int | None = None, *, dim: int | None = None, dtype: npt.DTypeLike | None = None
    ) -> Tensor:
        """log(softmax) over ``axis`` (``dim``), computed stably (in ``dtype`` when given)."""
        x = self if dtype is None else self.astype(dtype)
        return ops.log_softmax(x, ops.axis_or_dim("log_softmax", axis, dim, -1))

    def logsumexp(
        self, axis: AxesArg = -1, keepdims: bool = False, *, dim: AxesArg = None, keepdim: bool | None = None
    ) -> Tensor:
        """log(sum(exp(x))) over ``axis`` (``dim``), computed stably."""
        axes, keepdims = _reduction_args("logsumexp", None if dim is not None else axis, dim, keepdims, keepdim, None)
        return ops.logsumexp(self, axes, keepdims)

    def reshape(self, *shape: ShapeArgs) -> Tensor:
        """The same values in a new shape: ``x.reshape(2, -1)`` or ``x.reshape((2, -1))``."""
        return ops.reshape(self, ops._shape_args(shape))

    def view(self, *shape: ShapeArgs) -> Tensor:
        """PyTorch's name for :meth:`reshape` (here a recorded reshape, never an alias to write through)."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes ``start_dim..end_dim`` into one (all of them by default)."""
        if self.ndim == 0:
            return self.reshape(1)
        lo, hi = ops._axis("flatten", start_dim, self.ndim), ops._axis("flatten", end_dim, self.ndim)
        if lo > hi:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for shape {self.shape}")
        return self.reshape(self.shape[:lo] + (-1,) + self.shape[hi + 1 :])

    def transpose(self, *axes: Any) -> Tensor:
        """Two axes given apart swap them, as ``torch.transpose(x, dim0, dim1)`` (so ``x.transpose(0, 1)``
        of a matrix is its transpose); no axes, or one tuple of them, is NumPy's ``transpose(axes)``:
        reverse or permute all axes."""
        if len(axes) == 2 and not isinstance(axes[0], (tuple, list)):
            return ops.swapaxes(self, axes[0], axes[1])
        order = axes[0] if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))) else axes
        return ops.transpose(self, tuple(order) if order else None)

    def permute(self, *dims: ShapeArgs) -> Tensor:
        """Reorder the axes: ``x.permute(1, 0, 2)``."""
        return ops.transpose(self, ops._shape_args(dims))

    def t(self) -> Tensor:
        """The transpose of a tensor of at most 2 axes."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor of at most 2 axes, got shape {self.shape}; use transpose(d0, d1)")
        return ops.transpose(self)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return ops.swapaxes(self, axis1, axis2)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """A new axis of length 1 at ``axis`` (NumPy's name; PyTorch's is ``unsqueeze``)."""
        return ops.expand_dims(self, axis)

    def unsqueeze(self, dim: int) -> Tensor:
        """A new axis of length 1 at ``dim`` (PyTorch's name for :meth:`expand_dims`)."""
        return ops.expand_dims(self, dim)

    def squeeze(self, axis: AxesArg = None, *, dim: AxesArg = None) -> Tensor:
        """Drop axes of length 1 (all of them, or those of ``axis``/``dim`` that have length 1: as in
        PyTorch, a named axis of another length stays)."""
        chosen = ops.scalar_axis("squeeze", ops.axis_or_dim("squeeze", axis, dim), self.ndim)
        if chosen is None:
            return ops.squeeze(self, None)
        named = chosen if isinstance(chosen, tuple) else (chosen,)
        axes = tuple(a for a in ops.reduced_axes("squeeze", tuple(named), self.ndim) if self.shape[a] == 1)
        return ops.squeeze(self, axes) if axes else self.reshape(self.shape)

    def clip(self, min: Operand = None, max: Operand = None) -> Tensor:  # noqa: A002 - NumPy's keyword names
        """Values clipped to [min, max]; the gradient passes where min <= x <= max."""
        return ops.clip(self, min, max)

    def clamp(self, min: Operand = None, max: Operand = None) -> Tensor:  # noqa: A002 - PyTorch's keyword names
        """PyTorch's name for :meth:`clip`."""
        return ops.clip(self, min, max)

    def astype(self, dtype: npt.DTypeLike) -> Tensor:
        """A recorded copy in ``dtype``; the gradient is cast back."""
        return ops.astype(self, dtype)

    def to(
        self,
        *args: Any,
        dtype: npt.DTypeLike | None = None,
        device: str | devices.device | None = None,
        non_blocking: bool = False,
        copy: bool = False,
        memory_format: Any = None,
    ) -> Tensor:
        """PyTorch's ``to``: ``t.to(tl.float64)``, ``t.to("cpu", tl.float64)``, ``t.to(other)`` (its
        dtype). As in PyTorch, ``t`` itself when nothing changes (``copy=True`` for a new tensor), else
        a recorded copy. There is one device, the CPU (``"cpu"`` or ``tl.device("cpu")``; any other is
        refused by name); ``memory_format`` changes no value here."""
        flags = []
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, bool):
                flags.append(arg)  # non_blocking, then copy, as PyTorch orders them
            elif devices.is_device(arg):
                device = arg
            else:
                dtype = arg
        if len(flags) > 2:
            raise TypeError(f"to: at most two flags (non_blocking, copy), got {args}")
        copy = copy or (len(flags) == 2 and flags[1])
        devices.check("Tensor.to", device)
        if dtype is None or np.dtype(dtype) == self.dtype:
            return ops.astype(self, self.dtype) if copy else self
        return ops.astype(self, dtype)

    def float(self, memory_format: Any = None) -> Tensor:
        """As float32 (``self`` if it is already)."""
        return self.to(np.float32)

    def double(self, memory_format: Any = None) -> Tensor:
        """As float64 (``self`` if it is already)."""
        return self.to(np.float64)

    def clone(self, memory_format: Any = None) -> Tensor:
        """A recorded copy: new memory, the gradient flows back to this tensor."""
        return ops.astype(self, self.dtype)

    def broadcast_to(self, shape: tuple[int, ...] | list[int]) -> Tensor:
        """A view broadcast to ``shape``; the gradient is summed back."""
        return ops.broadcast_to(self, tuple(shape))

    def expand(self, *sizes: ShapeArgs) -> Tensor:
        """PyTorch's ``expand``: a view broadcast to ``sizes``, where -1 keeps that axis's size."""
        sizes = ops._shape_args(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: {len(sizes)} sizes given for a tensor of shape {self.shape}")
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
        return ops.broadcast_to(self, shape)

    # ---- more of PyTorch's method names: each composed of the recorded ops above, so gradients of
    # every order, pictures and replays come with them ----------------------------------------
    def contiguous(self, memory_format: Any = None) -> Tensor:
        """``self`` when its values already lie in row-major order, else a recorded row-major copy,
        as PyTorch's: writing to the result never writes to ``self`` (a transpose's, say)."""
        return self if self.data.flags.c_contiguous else ops.contiguous(self)

    def cpu(self) -> Tensor:
        """``self``: there is one device."""
        return self

    def neg(self) -> Tensor:
        """-x."""
        return ops.neg(self)

    def __abs__(self) -> Tensor:
        return ops.abs(self)

    def add(self, other: Operand, *, alpha: Operand = 1) -> Tensor:
        """self + alpha * other."""
        return ops.add(self, ops.scaled("add", self, other, alpha))

    def sub(self, other: Operand, *, alpha: Operand = 1) -> Tensor:
        """self - alpha * other."""
        return ops.sub(self, ops.scaled("sub", self, other, alpha))

    def mul(self, other: Operand) -> Tensor:
        """self * other."""
        return ops.mul(self, other)

    def div(self, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
        """self / other: true division, or with ``rounding_mode`` "floor" (``//``) or "trunc" (toward
        zero) the rounded quotient, whose gradient is 0, as PyTorch's."""
        return ops.divide(self, other, rounding_mode)

    def divide(self, other: Operand, *, rounding_mode: str | None = None) -> Tensor:
        """PyTorch's other name for :meth:`div`."""
        return ops.divide(self, other, rounding_mode)

    def true_divide(self, other: Operand) -> Tensor:
        """self / other."""
        return ops.div(self, other)

    def floor_divide(self, other: Operand) -> Tensor:
        """self // other: the quotient rounded down."""
        return ops.floor_divide(self, other)

    def remainder(self, other: Operand) -> Tensor:
        """self % other, with the sign of ``other`` (Python's and PyTorch's rule)."""
        return ops.remainder(self, other)

    def fmod(self, other: Operand) -> Tensor:
        """C's remainder of self / other, with the sign of ``self``."""
        return ops.fmod(self, other)

    def floor(self) -> Tensor:
        """The largest whole number <= x (gradient 0)."""
        return ops.floor(self)

    def ceil(self) -> Tensor:
        """The smallest whole number >= x (gradient 0)."""
        return ops.ceil(self)

    def trunc(self) -> Tensor:
        """x rounded toward zero (gradient 0)."""
        return ops.trunc(self)

    def fix(self) -> Tensor:
        """PyTorch's other name for :meth:`trunc`."""
        return ops.trunc(self)

    def frac(self) -> Tensor:
        """x minus x rounded toward zero (gradient 1)."""
        return self - ops.trunc(self)

    def multiply(self, other: Operand) -> Tensor:
        """self * other."""
        return ops.mul(self, other)

    def subtract(self, other: Operand, *, alpha: Operand = 1) -> Tensor:
        """self - alpha * other."""
        return self.sub(other, alpha=alpha)

    def clamp_min(self, min: Operand) -> Tensor:  # noqa: A002 - PyTorch's name
        """max(x, min); the gradient passes where x >= min."""
        return ops.clip(self, min, None)

    def clamp_max(self, max: Operand) -> Tensor:  # noqa: A002 - PyTorch's name
        """min(x, max); the gradient passes where x <= max."""
        return ops.clip(self, None, max)

    def matmul(self, other: Operand) -> Tensor:
        """self @ other."""
        return ops.matmul(self, other)

    def mm(self, other: Operand) -> Tensor:
        """The product of two matrices (2-D only, as ``torch.mm``)."""
        if self.ndim != 2 or len(ops._shape(other)) != 2 or self.shape[1] != ops._shape(other)[0]:
            raise ValueError(f"mm: expects two matrices (n, k) and (k, m), got shapes {self.shape} and "
                             f"{ops._shape_text(other)}")  # fmt: skip
        return ops.matmul(self, other)

    def bmm(self, other: Operand) -> Tensor:
        """Batched matrix products of two 3-D tensors (as ``torch.bmm``)."""
        if self.ndim != 3 or len(ops._shape(other)) != 3 or self.shape[0] != ops._shape(other)[0]:
            raise ValueError(f"bmm: expects two 3-D tensors of one batch size, got {self.shape} and "
                             f"{ops._shape_text(other)}")  # fmt: skip
        return ops.matmul(self, other)

    @property
    def mT(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two axes swapped (a batch of transposes)."""
        if self.ndim < 2:
            raise ValueError(f"mT: needs at least 2 axes, got shape {self.shape}")
        return ops.swapaxes(self, -2, -1)

    def masked_fill(self, mask: Operand, value: Operand) -> Tensor:
        """``value`` where ``mask`` is True, else ``self`` (broadcast with the mask, as PyTorch's); the
        gradient passes where mask is False."""
        mask = ops._data(mask)
        if np.asarray(mask).dtype != np.bool_:
            raise TypeError(f"masked_fill: the mask must be bool, got {np.asarray(mask).dtype}")
        try:
            np.broadcast_shapes(np.shape(mask), self.shape)
        except ValueError:
            raise ValueError(f"masked_fill: a mask of shape {np.shape(mask)} does not broadcast with "
                             f"{self.shape}") from None  # fmt: skip
        if isinstance(value, Tensor) and value.ndim:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got shape {value.shape}")
        if not isinstance(value, Tensor):
            value = np.asarray(value, dtype=self.dtype)
        elif value.dtype != self.dtype:  # the result keeps this tensor's dtype, as PyTorch's
            value = ops.astype(value, self.dtype)
        return ops.where(mask, value, self)

    def masked_fill_(self, mask: Operand, value: Operand) -> Tensor:
        """In place: ``value`` where ``mask`` is True (attention masks)."""
        result = self.masked_fill(mask, value)  # checks the arguments before anything is written
        if result.shape != self.shape:
            raise ValueError(f"masked_fill_: a mask of shape {np.shape(ops._data(mask))} does not broadcast to "
                             f"{self.shape}")  # fmt: skip

        def write(data):
            np.copyto(data, result.data, casting="same_kind")

        return _update(self, "masked_fill_", (value,), lambda: self.masked_fill(mask, value), write)

    def type_as(self, other: Tensor) -> Tensor:
        """``self`` in ``other``'s dtype."""
        return self if self.dtype == other.dtype else ops.astype(self, other.dtype)

    def index_select(self, dim: int, index: Operand) -> Tensor:
        """The entries at ``index`` (1-D integers) along ``dim``."""
        index = ops._values("index_select()", index)
        axis = ops._axis("index_select", dim, max(self.ndim, 1))
        if index.ndim > 1 or (index.size and index.dtype.kind not in "iu"):
            raise ValueError(f"index_select: index must be 1-D integers, got {index.dtype} of shape {index.shape}")
        n = self.shape[axis] if self.ndim else 1
        if index.size and (index.min() < 0 or index.max() >= n):
            raise IndexError(f"index_select: index values must lie in [0, {n}) along axis {axis} of {self.shape}")
        if self.ndim == 0:
            return self.reshape(1)[index.astype(np.int64).reshape(-1)].reshape(())
        return self[(slice(None),) * axis + (index.astype(np.int64).reshape(-1),)]

    def amax(self, dim: AxesArg = (), keepdim: bool = False) -> Tensor:
        """The largest value over ``dim`` (all axes by default); tied maxima share the gradient."""
        return ops.max(self, _every_axis_if_empty("amax", dim), keepdim)

    def amin(self, dim: AxesArg = (), keepdim: bool = False) -> Tensor:
        """The smallest value over ``dim`` (all axes by default); tied minima share the gradient."""
        return ops.min(self, _every_axis_if_empty("amin", dim), keepdim)

    def view_as(self, other: Tensor) -> Tensor:
        """``self`` in ``other``'s shape."""
        return self.reshape(other.shape)

    def expand_as(self, other: Tensor) -> Tensor:
        """``self`` broadcast to ``other``'s shape."""
        return self.expand(other.shape)

    @devices.takes_device
    def new_zeros(
        self,
        *size: ShapeArgs,
        dtype: npt.DTypeLike | None = None,
        device: devices.Device = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Zeros of ``size`` in this tensor's dtype (or ``dtype``)."""
        return self.new_full(ops._shape_args(size), 0, dtype=dtype, requires_grad=requires_grad)

    @devices.takes_device
    def new_ones(
        self,
        *size: ShapeArgs,
        dtype: npt.DTypeLike | None = None,
        device: devices.Device = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """Ones of ``size`` in this tensor's dtype (or ``dtype``)."""
        return self.new_full(ops._shape_args(size), 1, dtype=dtype, requires_grad=requires_grad)

    @devices.takes_device
    def new_full(
        self,
        size: ShapeArgs,
        fill_value: Any,
        *,
        dtype: npt.DTypeLike | None = None,
        device: devices.Device = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """``fill_value`` in a tensor of ``size``, in this tensor's dtype (or ``dtype``)."""
        shape = (size,) if isinstance(size, int) else tuple(size)
        return Tensor(np.full(shape, fill_value, dtype=self.dtype if dtype is None else dtype), requires_grad)

    def isnan(self) -> Tensor:
        """True where the value is NaN."""
        return ops.compare(np.not_equal, self, self)

    def isinf(self) -> Tensor:
        """True where the value is +inf or -inf."""
        return ops.compare(np.equal, ops.abs(self.detach()), np.inf)

    def isfinite(self) -> Tensor:
        """True where the value is neither infinite nor NaN."""
        return ops.compare(np.less, ops.abs(self.detach()), np.inf)

    def any(
        self, dim: AxesArg = None, keepdim: bool = False, *, axis: AxesArg = None, keepdims: bool | None = None,
        out: None = None,
    ) -> Tensor:  # fmt: skip
        """Whether any value over ``dim`` (``axis``; all by default) is non-zero, as a bool tensor."""
        axes, keep = _reduction_args("any", axis, dim, keepdim, keepdims, out)
        count = ops.compare(np.not_equal, self, 0).astype(np.int64).sum(axes, keep)
        return ops.compare(np.greater, count, 0)

    def all(
        self, dim: AxesArg = None, keepdim: bool = False, *, axis: AxesArg = None, keepdims: bool | None = None,
        out: None = None,
    ) -> Tensor:  # fmt: skip
        """Whether every value over ``dim`` (``axis``; all by default) is non-zero, as a bool tensor."""
        axes, keep = _reduction_args("all", axis, dim, keepdim, keepdims, out)
        count = ops.compare(np.equal, self, 0).astype(np.int64).sum(axes, keep)
        return ops.compare(np.equal, count, 0)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """``length`` entries from ``start`` along ``dim`` (a view, as slicing)."""
        axis = ops._axis("narrow", dim, self.ndim)
        start = int(start) if isinstance(start, Tensor) else start  # PyTorch takes a 0-d tensor too
        n = self.shape[axis]
        begin = start + n if -n <= start < 0 else start
        if not 0 <= begin <= n or length < 0 or begin + length > n:
            raise IndexError(f"narrow: start {start} and length {length} do not fit axis {axis} of shape {self.shape}")
        return self[(slice(None),) * axis + (slice(begin, begin + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at ``index`` along ``dim``, that axis removed."""
        axis = ops._axis("select", dim, self.ndim)
        if not -self.shape[axis] <= index < self.shape[axis]:
            raise IndexError(f"select: index {index} is out of range for axis {axis} of shape {self.shape}")
        return self[(slice(None),) * axis + (index,)]

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along ``dim``, each without that axis."""
        axis = ops._axis("unbind", dim, self.ndim)
        return tuple(self.select(axis, k) for k in range(self.shape[axis]))

    def unflatten(self, dim: int, sizes: tuple[int, ...] | list[int]) -> Tensor:
        """Axis ``dim`` split into axes of ``sizes`` (one may be -1)."""
        axis = ops._axis("unflatten", dim, self.ndim)
        sizes = tuple(sizes)
        known = int(np.prod([k for k in sizes if k != -1]))
        n = self.shape[axis]
        if not sizes or sizes.count(-1) > 1 or (-1 not in sizes and known != n) or (known and n % known):
            raise ValueError(f"unflatten: sizes {sizes} do not split axis {axis} of shape {self.shape}")
        return self.reshape(self.shape[:axis] + sizes + self.shape[axis + 1 :])

    def repeat(self, *sizes: ShapeArgs) -> Tensor:
        """The tensor tiled ``sizes[k]`` times along each axis (leading sizes add axes), as ``torch.repeat``."""
        reps = ops._shape_args(sizes)
        if len(reps) < self.ndim or any(r < 0 for r in reps):
            raise ValueError(f"repeat: {reps} must give a non-negative count for each axis of shape {self.shape}")
        shape = (1,) * (len(reps) - self.ndim) + self.shape
        # a new axis of length r before each axis, broadcast, then merged into it
        spread = self.reshape(tuple(n for k in shape for n in (1, k)))
        tiled = ops.broadcast_to(spread, tuple(n for r, k in zip(reps, shape) for n in (r, k)))
        return tiled.reshape(tuple(r * k for r, k in zip(reps, shape)))

    def roll(self, shifts: int | tuple[int, ...], dims: int | tuple[int, ...] | None = None) -> Tensor:
        """Entries shifted along ``dims``, wrapping around (the flattened tensor when ``dims`` is None)."""
        if dims is None:
            if not isinstance(shifts, int):
                raise ValueError(f"roll: without dims, shifts must be one int, got {shifts}")
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shift_list = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dim_list = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shift_list) != len(dim_list):
            raise ValueError(f"roll: {len(shift_list)} shifts for {len(dim_list)} dims")
        out = self
        for shift, dim in zip(shift_list, dim_list):
            axis = ops._axis("roll", dim, self.ndim)
            n = self.shape[axis]
            cut = n - shift % n if n else 0
            if 0 < cut < n:  # the last `shift` entries, then the rest: two slices (which free() keeps)
                lead = (slice(None),) * axis
                out = ops.cat([out[lead + (slice(cut, None),)], out[lead + (slice(None, cut),)]], axis)
        return out

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The ``offset``-th diagonal of axes ``dim1``, ``dim2``, as a new last axis (``torch.diagonal``)."""
        return ops.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal: int = 0) -> Tensor:
        """A vector on the ``diagonal``-th diagonal of a square matrix, or a matrix's diagonal (``torch.diag``)."""
        return ops.diag(self, diagonal)

    def trace(self) -> Tensor:
        """The sum of a matrix's diagonal."""
        return ops.trace(self)

    def tile(self, *dims: ShapeArgs) -> Tensor:
        """The tensor tiled ``dims[k]`` times along each axis; fewer dims than axes leave the leading axes
        as they are (``torch.tile``; :meth:`repeat` needs one count per axis)."""
        reps = ops._shape_args(dims)
        return self.repeat((1,) * (self.ndim - len(reps)) + tuple(reps))

    def movedim(
        self, source: int | tuple[int, ...] | list[int], destination: int | tuple[int, ...] | list[int]
    ) -> Tensor:
        """Axes ``source`` moved to ``destination``, the others kept in their order."""
        return ops.movedim(self, source, destination)

    def moveaxis(
        self, source: int | tuple[int, ...] | list[int], destination: int | tuple[int, ...] | list[int]
    ) -> Tensor:
        """NumPy's name for :meth:`movedim`."""
        return ops.movedim(self, source, destination)

    def repeat_interleave(self, repeats: Operand, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        """Each entry repeated ``repeats`` times in place along ``dim`` (the flattened tensor by default)."""
        out = ops.repeat_interleave(self, repeats, dim)
        axis = 0 if dim is None else ops._axis("repeat_interleave", dim, out.ndim)
        if output_size is not None and out.shape[axis] != output_size:
            raise ValueError(f"repeat_interleave: output_size {output_size} differs from the {out.shape[axis]} "
                             f"entries the repeats give (shape {self.shape})")  # fmt: skip
        return out

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Windows of ``size`` entries, ``step`` apart, along ``dimension``; the window's entries form a new
        last axis (``Tensor.unfold``: sliding windows, a view of this tensor's memory, as PyTorch's)."""
        return ops.unfold(self, dimension, size, step)

    def cumprod(self, axis: int | None = None, *, dim: int | None = None, dtype: npt.DTypeLike | None = None) -> Tensor:
        """Running product along ``axis`` (``dim``); exact gradients where entries are 0."""
        chosen = ops.axis_or_dim("cumprod", axis, dim)
        if chosen is None:
            raise ValueError("cumprod: give axis= (or dim=), the axis to run along")
        x = self if dtype is None else self.astype(dtype)
        return ops.cumprod(x, chosen)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> MinMax:
        """PyTorch's ``(values, indices)`` sorted along ``dim``; ties keep their order (a stable sort is
        one of the orders PyTorch may return without ``stable=True``), NaN counts as the largest. The
        gradient goes back to where each value came from."""
        indices = ops.argsort(self, dim, descending)
        if self.ndim == 0:
            return MinMax(self.clone(), indices)
        return MinMax(ops.gather(self, dim, indices.data), indices)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        """The indices that sort along ``dim`` (stable; NaN counts as the largest)."""
        return ops.argsort(self, dim, descending)

    def msort(self) -> Tensor:
        """The values sorted along the first axis."""
        return self.sort(0).values

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> MinMax:  # noqa: A002
        """PyTorch's ``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) along ``dim``,
        always in sorted order (one of the orders PyTorch may give with ``sorted=False``)."""
        axis = ops._axis("topk", dim, max(self.ndim, 1))
        n = self.shape[axis] if self.ndim else 1
        if not 0 <= k <= n:
            raise ValueError(f"topk: k ({k}) must lie in [0, {n}] for axis {axis} of shape {self.shape}")
        if self.ndim == 0:
            return MinMax(self.clone(), ops.argsort(self, dim))
        indices = ops.argsort(self, axis, largest)[(slice(None),) * axis + (slice(0, k),)]
        return MinMax(ops.gather(self, axis, indices.data), indices)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> MinMax:
        """PyTorch's ``(values, indices)`` of the ``k``-th smallest value (counted from 1) along ``dim``."""
        axis = ops._axis("kthvalue", dim, max(self.ndim, 1))
        n = self.shape[axis] if self.ndim else 1
        if not 1 <= k <= n:
            raise ValueError(f"kthvalue: k ({k}) must lie in [1, {n}] for axis {axis} of shape {self.shape}")
        if self.ndim == 0:
            return MinMax(self.clone(), ops.argsort(self, dim))
        index = ops.argsort(self, axis)[(slice(None),) * axis + (slice(k - 1, k),)]
        return _picked(self, index, axis, keepdim)

    def lerp(self, end: Operand, weight: Operand) -> Tensor:
        """``self + weight * (end - self)``, as PyTorch computes it (``weight`` a number or a tensor)."""
        return ops.lerp(self, end, weight)

    def outer(self, vec2: Operand) -> Tensor:
        """The outer product of two vectors."""
        return ops.outer(self, vec2)

    def ger(self, vec2: Operand) -> Tensor:
        """The outer product (PyTorch's older name)."""
        return ops.outer(self, vec2)

    def addmm(self, mat1: Operand, mat2: Operand, *, beta: Operand = 1, alpha: Operand = 1) -> Tensor:
        """``beta * self + alpha * (mat1 @ mat2)`` of two matrices."""
        return ops.scaled_sum("addmm", self, ops.as_tensor(mat1).mm(mat2), beta, alpha)

    def addmv(self, mat: Operand, vec: Operand, *, beta: Operand = 1, alpha: Operand = 1) -> Tensor:
        """``beta * self + alpha * (mat @ vec)`` of a matrix and a vector."""
        return ops.scaled_sum("addmv", self, ops.as_tensor(mat).mv(vec), beta, alpha)

    def addbmm(self, batch1: Operand, batch2: Operand, *, beta: Operand = 1, alpha: Operand = 1) -> Tensor:
        """``beta * self + alpha * sum_b(batch1[b] @ batch2[b])``."""
        return ops.scaled_sum("addbmm", self, ops.as_tensor(batch1).bmm(batch2).sum(0), beta, alpha)

    def baddbmm(self, batch1: Operand, batch2: Operand, *, beta: Operand = 1, alpha: Operand = 1) -> Tensor:
        """``beta * self + alpha * (batch1 @ batch2)``, batch by batch."""
        return ops.scaled_sum("baddbmm", self, ops.as_tensor(batch1).bmm(batch2), beta, alpha)

    def addr(self, vec1: Operand, vec2: Operand, *, beta: Operand = 1, alpha: Operand = 1) -> Tensor:
        """``beta * self + alpha * outer(vec1, vec2)``."""
        return ops.scaled_sum("addr", self, ops.outer(ops.as_tensor(vec1), vec2), beta, alpha)

    def mv(self, vec: Operand) -> Tensor:
        """The product of a matrix and a vector (as ``torch.mv``)."""
        if self.ndim != 2 or len(ops._shape(vec)) != 1 or self.shape[1] != ops._shape(vec)[0]:
            raise ValueError(f"mv: expects a matrix (n, k) and a vector (k,), got shapes {self.shape} and "
                             f"{ops._shape_text(vec)}")  # fmt: skip
        return ops.matmul(self, vec)

    def dot(self, other: Operand) -> Tensor:
        """The inner product of two vectors of one length (as ``torch.dot``)."""
        if self.ndim != 1 or ops._shape(other) != self.shape:
            raise ValueError(f"dot: expects two 1-D tensors of one length, got shapes {self.shape} and "
                             f"{ops._shape_text(other)}")  # fmt: skip
        return ops.matmul(self, other)

    # ---- the trigonometric and hyperbolic family, other bases, and NumPy's names for them ---------------
    def tan(self) -> Tensor:
        """Tangent, elementwise."""
        return ops.tan(self)

    def sinh(self) -> Tensor:
        """Hyperbolic sine, elementwise."""
        return ops.sinh(self)

    def cosh(self) -> Tensor:
        """Hyperbolic cosine, elementwise."""
        return ops.cosh(self)

    def asin(self) -> Tensor:
        """Arcsine, elementwise."""
        return ops.asin(self)

    def acos(self) -> Tensor:
        """Arccosine, elementwise."""
        return ops.acos(self)

    def asinh(self) -> Tensor:
        """Inverse hyperbolic sine, elementwise."""
        return ops.asinh(self)

    def acosh(self) -> Tensor:
        """Inverse hyperbolic cosine, elementwise."""
        return ops.acosh(self)

    def atanh(self) -> Tensor:
        """Inverse hyperbolic tangent, elementwise."""
        return ops.atanh(self)

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def log2(self) -> Tensor:
        """Logarithm in base 2."""
        return ops.log2(self)

    def log10(self) -> Tensor:
        """Logarithm in base 10."""
        return ops.log10(self)

    def exp2(self) -> Tensor:
        """2 ** x."""
        return ops.exp2(self)

    def atan2(self, other: Operand) -> Tensor:
        """The angle of the point (other, self), in (-pi, pi]."""
        return ops.atan2(self, other)

    arctan2 = atan2

    def hypot(self, other: Operand) -> Tensor:
        """sqrt(self**2 + other**2), without overflow."""
        return ops.hypot(self, other)

    def rad2deg(self) -> Tensor:
        """Radians in degrees."""
        return self * (180.0 / np.pi)

    def deg2rad(self) -> Tensor:
        """Degrees in radians."""
        return self * (np.pi / 180.0)

    def logit(self, eps: Real | None = None) -> Tensor:
        """log(x / (1 - x)), with x first clamped to [eps, 1 - eps] when ``eps`` is given (gradient 0 outside)."""
        x = self if eps is None else ops.clip(self, eps, 1.0 - eps)
        return ops.log(x / (1.0 - x))

    def float_power(self, exponent: Operand) -> Tensor:
        """self ** exponent computed in float64, as ``torch.float_power``."""
        other = exponent.double() if isinstance(exponent, Tensor) else exponent
        return ops.pow(self.double(), other)

    def negative(self) -> Tensor:
        """-x (PyTorch's and NumPy's other name for :meth:`neg`)."""
        return ops.neg(self)

    def positive(self) -> Tensor:
        """``self``."""
        return self

    def absolute(self) -> Tensor:
        """|x| (NumPy's name)."""
        return ops.abs(self)

    def sgn(self) -> Tensor:
        """The sign of a real tensor (PyTorch's ``sgn``; gradient 0)."""
        return ops.sign(self)

    def nan_to_num(self, nan: Real = 0.0, posinf: Real | None = None, neginf: Real | None = None) -> Tensor:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the dtype's
        largest and smallest values); the gradient is 0 where a value was replaced."""
        info = np.finfo(self.dtype) if _is_float(self.dtype) else None
        if info is None:
            return self.clone()
        hi = info.max if posinf is None else posinf
        lo = info.min if neginf is None else neginf
        out = ops.where(ops.compare(np.equal, self, np.inf), hi, self)
        out = ops.where(ops.compare(np.equal, self, -np.inf), lo, out)
        return ops.where(self.isnan(), nan, out)

    # ---- comparisons and logic as methods (bool tensors, never differentiated) ---------------------------
    def eq(self, other: Operand) -> Tensor:
        """self == other, elementwise."""
        return ops.compare(np.equal, self, other)

    def ne(self, other: Operand) -> Tensor:
        """self != other, elementwise."""
        return ops.compare(np.not_equal, self, other)

    def lt(self, other: Operand) -> Tensor:
        """self < other, elementwise."""
        return ops.compare(np.less, self, other)

    def le(self, other: Operand) -> Tensor:
        """self <= other, elementwise."""
        return ops.compare(np.less_equal, self, other)

    def gt(self, other: Operand) -> Tensor:
        """self > other, elementwise."""
        return ops.compare(np.greater, self, other)

    def ge(self, other: Operand) -> Tensor:
        """self >= other, elementwise."""
        return ops.compare(np.greater_equal, self, other)

    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne

    def logical_and(self, other: Operand) -> Tensor:
        """Both non-zero, elementwise."""
        return ops.compare(np.logical_and, self, other)

    def logical_or(self, other: Operand) -> Tensor:
        """Either non-zero, elementwise."""
        return ops.compare(np.logical_or, self, other)

    def logical_xor(self, other: Operand) -> Tensor:
        """Exactly one non-zero, elementwise."""
        return ops.compare(np.logical_xor, self, other)

    def logical_not(self) -> Tensor:
        """True where the value is 0."""
        return ops.compare(np.equal, self, 0)

    def isclose(self, other: Operand, rtol: Real = 1e-05, atol: Real = 1e-08, equal_nan: bool = False) -> Tensor:
        """|self - other| <= atol + rtol * |other| elementwise (equal infinities too; NaN only with ``equal_nan``)."""
        return ops.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Operand, rtol: Real = 1e-05, atol: Real = 1e-08, equal_nan: bool = False) -> bool:
        """Whether every element is close (:meth:`isclose`), as a Python bool."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    def equal(self, other: Tensor) -> bool:
        """Whether the two tensors have one shape and equal values, as a Python bool."""
        return self.shape == ops._shape(other) and bool(ops.compare(np.equal, self, other).all())

    def where(self, condition: Operand, other: Operand) -> Tensor:
        """``self`` where ``condition`` holds, else ``other`` (``torch.where(condition, self, other)``)."""
        return ops.where(condition, self, other)

    def maximum(self, other: Operand) -> Tensor:
        """The elementwise maximum (NaN wins; ties share the gradient)."""
        return ops.maximum(self, other)

    def minimum(self, other: Operand) -> Tensor:
        """The elementwise minimum (NaN wins; ties share the gradient)."""
        return ops.minimum(self, other)

    def fmax(self, other: Operand) -> Tensor:
        """The elementwise maximum ignoring NaN; at ties ``self`` takes the gradient, as in PyTorch."""
        return ops.fmax(self, other, np.greater_equal)

    def fmin(self, other: Operand) -> Tensor:
        """The elementwise minimum ignoring NaN; at ties ``self`` takes the gradient, as in PyTorch."""
        return ops.fmax(self, other, np.less_equal)

    def copysign(self, other: Operand) -> Tensor:
        """|self| with the sign (bit) of ``other`` (``torch.copysign``)."""
        return ops._binary(COPYSIGN, *ops._promoted(self, other, true_division=True))

    def xlogy(self, other: Operand) -> Tensor:
        """self * log(other), 0 where self is 0 (``torch.xlogy``)."""
        return ops._binary(XLOGY, *ops._promoted(self, other, true_division=True))

    def logaddexp(self, other: Operand) -> Tensor:
        """log(exp(self) + exp(other)), without overflow."""
        return ops.logaddexp(self, other)

    def logaddexp2(self, other: Operand) -> Tensor:
        """log2(2**self + 2**other), without overflow."""
        ln2 = float(np.log(2.0))
        return ops.logaddexp(self * ln2, other * ln2) * (1.0 / ln2)

    def addcmul(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self + value * tensor1 * tensor2."""
        product = ops.mul(tensor1, tensor2)
        return self + (product if value == 1 else product * value)

    def addcdiv(self, tensor1: Operand, tensor2: Operand, *, value: Operand = 1) -> Tensor:
        """self + value * tensor1 / tensor2."""
        quotient = ops.div(tensor1, tensor2)
        return self + (quotient if value == 1 else quotient * value)

    def dist(self, other: Operand, p: Real = 2) -> Tensor:
        """The ``p``-norm of self - other."""
        return (self - other).norm(p)

    # ---- reductions ------------------------------------------------------------------------------------
    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> AMinMax:
        """PyTorch's ``(min, max)`` over ``dim`` (all elements by default); tied extremes share the gradient."""
        return AMinMax(ops.min(self, dim, keepdim), ops.max(self, dim, keepdim))

    def count_nonzero(self, dim: AxesArg = None) -> Tensor:
        """How many values are not 0, over ``dim`` (all by default), as int64."""
        return ops.compare(np.not_equal, self, 0).astype(np.int64).sum(ops.axis_or_dim("count_nonzero", None, dim))

    def nansum(self, dim: AxesArg = None, keepdim: bool = False, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """The sum with NaN taken as 0 (their gradient is 0)."""
        return ops.where(self.isnan(), 0.0, self).sum(dim=dim, keepdim=keepdim, dtype=dtype)

    def nanmean(self, dim: AxesArg = None, keepdim: bool = False, *, dtype: npt.DTypeLike | None = None) -> Tensor:
        """The mean of the values that are not NaN."""
        count = ops.compare(np.equal, self.isnan(), False).astype(self.dtype).sum(dim=dim, keepdim=keepdim)
        return self.nansum(dim, keepdim, dtype=dtype) / count

    def cummax(self, dim: int) -> MinMax:
        """PyTorch's ``(values, indices)`` of the running maximum along ``dim`` (the latest of ties)."""
        return _running_extreme(self, dim, True)

    def cummin(self, dim: int) -> MinMax:
        """PyTorch's ``(values, indices)`` of the running minimum along ``dim``."""
        return _running_extreme(self, dim, False)

    # ---- shape -------------------------------------------------------------------------------------------
    def swapdims(self, dim0: int, dim1: int) -> Tensor:
        """Exchange two axes (PyTorch's other name for ``transpose(dim0, dim1)``)."""
        return ops.swapaxes(self, dim0, dim1)

    def ravel(self) -> Tensor:
        """The values as one axis."""
        return self.reshape(-1)

    def fliplr(self) -> Tensor:
        """Columns in reverse order (axis 1 of a tensor of at least 2 axes)."""
        if self.ndim < 2:
            raise ValueError(f"fliplr: needs at least 2 axes, got shape {self.shape}")
        return ops.flip(self, 1)

    def flipud(self) -> Tensor:
        """Rows in reverse order (axis 0)."""
        if self.ndim < 1:
            raise ValueError(f"flipud: needs at least 1 axis, got shape {self.shape}")
        return ops.flip(self, 0)

    def rot90(self, k: int = 1, dims: tuple[int, int] | list[int] = (0, 1)) -> Tensor:
        """Rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first axis toward the second."""
        return ops.rot90(self, k, tuple(dims))

    def diff(self, n: int = 1, dim: int = -1, prepend: Operand = None, append: Operand = None) -> Tensor:
        """The ``n``-th difference along ``dim`` (``prepend``/``append`` joined on first)."""
        return ops.diff(self, n, dim, prepend, append)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        """Each vector of the last axis on the ``offset``-th diagonal of a matrix in axes ``dim1``, ``dim2``."""
        return ops.diag_embed(self, offset, dim1, dim2)

    def tensor_split(self, indices_or_sections: int | list[int] | tuple[int, ...], dim: int = 0) -> tuple[Tensor, ...]:
        """``sections`` pieces as equal as can be (the first ones one longer), or pieces cut at the indices."""
        return ops.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, sections: int | list[int] | tuple[int, ...]) -> tuple[Tensor, ...]:
        """Split along axis 1 (axis 0 of a vector); an int must divide the axis."""
        return ops.named_split("hsplit", self, sections, 1 if self.ndim > 1 else 0, 1)

    def vsplit(self, sections: int | list[int] | tuple[int, ...]) -> tuple[Tensor, ...]:
        """Split along axis 0 of a tensor of at least 2 axes."""
        return ops.named_split("vsplit", self, sections, 0, 2)

    def dsplit(self, sections: int | list[int] | tuple[int, ...]) -> tuple[Tensor, ...]:
        """Split along axis 2 of a tensor of at least 3 axes."""
        return ops.named_split("dsplit", self, sections, 2, 3)

    def sum_to_size(self, *size: ShapeArgs) -> Tensor:
        """Summed down to ``size``, a shape this tensor's broadcasts from (the gradient of a broadcast)."""
        shape = ops._shape_args(size)
        if not _broadcasts_to(shape, self.shape):
            raise ValueError(f"sum_to_size: shape {self.shape} is not a broadcast of {shape}")
        lead = self.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and self.shape[lead + i] != 1)
        return self.sum(axes, keepdims=True).reshape(shape) if axes else self

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: each entry of self times the whole of ``other``."""
        return ops.kron(self, other)

    def inner(self, other: Operand) -> Tensor:
        """The sum of products over the last axes of both (``torch.inner``)."""
        return ops.inner(self, other)

    def vdot(self, other: Operand) -> Tensor:
        """The inner product of two vectors (real tensors: :meth:`dot`)."""
        return self.dot(other)

    def cross(self, other: Operand, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along ``dim`` (by default the first axis of length 3)."""
        return ops.cross(self, other, dim)

    def matrix_power(self, n: int) -> Tensor:
        """The matrix times itself ``n`` times (``n`` >= 0; 0 gives the identity), batched over leading axes."""
        return ops.matrix_power(self, n)

    def inverse(self) -> Tensor:
        """The inverse of a square matrix (batched); its gradient is -A^-T g A^-T."""
        return ops.inverse(self)

    def det(self) -> Tensor:
        """The determinant of each square matrix (``tl.linalg.det``); its gradient is the cofactor matrix."""
        return linalg.det(self)

    def logdet(self) -> Tensor:
        """log(det): NaN where the determinant is negative (``torch.logdet``)."""
        return linalg.logdet(self)

    def slogdet(self) -> linalg.SlogdetResult:
        """``(sign, logabsdet)`` of each square matrix (``tl.linalg.slogdet``)."""
        return linalg.slogdet(self)

    # ---- indexing -----------------------------------------------------------------------------------------
    def take(self, index: Operand) -> Tensor:
        """The entries of the flattened tensor at ``index`` (integers of any shape)."""
        return self.reshape(-1)[ops.integer_index("take", index, self.size, self.shape)]

    def take_along_dim(self, indices: Operand, dim: int | None = None) -> Tensor:
        """:meth:`gather` with ``indices`` broadcast against this tensor off ``dim`` (flattened when None)."""
        return ops.take_along_dim(self, indices, dim)

    def masked_select(self, mask: Operand) -> Tensor:
        """The values where ``mask`` (broadcast with this tensor) is True, as one axis."""
        mask = ops._values("masked_select()", mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_select: the mask must be bool, got {mask.dtype}")
        try:
            shape = np.broadcast_shapes(mask.shape, self.shape)
        except ValueError:
            raise ValueError(
                f"masked_select: a mask of shape {mask.shape} does not broadcast with {self.shape}"
            ) from None
        x = self if self.shape == shape else ops.broadcast_to(self, shape)
        return x[np.broadcast_to(mask, shape)]

    def scatter(
        self, dim: int, index: Operand, src: Operand = None, *, value: Operand = None, reduce: str | None = None
    ) -> Tensor:
        """A copy with ``src[i][j]`` (or ``value``) written at ``[index[i][j]][j]`` for ``dim=0`` (and so on);
        ``reduce="add"`` is :meth:`scatter_add`."""
        if reduce is not None:
            if reduce != "add":
                raise ValueError(f"scatter: reduce={reduce!r} is not supported here; 'add' is (scatter_add)")
            return ops.scatter(self, dim, index, src if src is not None else value, add=True)
        return ops.scatter(self, dim, index, src if src is not None else value, add=False)

    def scatter_add(self, dim: int, index: Operand, src: Operand) -> Tensor:
        """A copy with each ``src[i][j]`` added at ``[index[i][j]][j]`` for ``dim=0`` (and so on); repeats add up."""
        return ops.scatter(self, dim, index, src, add=True)

    def index_add(self, dim: int, index: Operand, source: Operand, *, alpha: Operand = 1) -> Tensor:
        """A copy with ``alpha * source``'s slices added at ``index`` along ``dim``; repeated indices add up."""
        return ops.index_along(self, "index_add", dim, index, source if alpha == 1 else source * alpha)

    def index_copy(self, dim: int, index: Operand, source: Operand) -> Tensor:
        """A copy with ``source``'s slices written at ``index`` along ``dim``."""
        return ops.index_along(self, "index_copy", dim, index, source)

    def index_fill(self, dim: int, index: Operand, value: Operand) -> Tensor:
        """A copy with ``value`` written at ``index`` along ``dim``."""
        return ops.index_along(self, "index_fill", dim, index, value)

    def nonzero(self, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """The indices of the non-zero values: one row per value (int64), or one tensor per axis."""
        found = np.nonzero(self._concrete("nonzero()"))
        if as_tuple:
            return tuple(Tensor._from(i.astype(np.int64)) for i in found)
        return Tensor._from(np.stack(found, axis=1).astype(np.int64) if found else np.zeros((1, 0), np.int64))

    def argwhere(self) -> Tensor:
        """The indices of the non-zero values, one row per value."""
        rows = self.nonzero()
        assert isinstance(rows, Tensor)
        return rows

    def unique(
        self,
        sorted: bool = True,
        return_inverse: bool = False,
        return_counts: bool = False,
        dim: int | None = None,  # noqa: A002
    ) -> Tensor | tuple[Tensor, ...]:
        """The distinct values, sorted (of the flattened tensor, or the distinct slices along ``dim``);
        with the index of each value in them and how often each occurs when asked. Not differentiated."""
        data = self._concrete("unique()")
        axis = None if dim is None else ops._axis("unique", dim, self.ndim)
        values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=axis)
        out = [Tensor._from(values)]
        if return_inverse:
            out.append(Tensor._from(inverse.reshape(self.shape if axis is None else -1).astype(np.int64)))
        if return_counts:
            out.append(Tensor._from(counts.astype(np.int64)))
        return out[0] if len(out) == 1 else tuple(out)

    # ---- what a tensor is ---------------------------------------------------------------------------------
    @devices.takes_device
    def new_tensor(
        self,
        data: Any,
        dtype: npt.DTypeLike | None = None,
        requires_grad: bool = False,
        *,
        device: devices.Device = None,
    ) -> Tensor:
        """A new tensor of ``data``, in this tensor's dtype unless ``dtype`` is given."""
        return Tensor(np.array(ops._data(data), dtype=self.dtype if dtype is None else dtype), requires_grad)

    @devices.takes_device
    def new_empty(
        self,
        *size: ShapeArgs,
        dtype: npt.DTypeLike | None = None,
        device: devices.Device = None,
        requires_grad: bool = False,
    ) -> Tensor:
        """A tensor of ``size`` in this tensor's dtype (zeros: NumPy's empty would leave garbage to read)."""
        return self.new_full(ops._shape_args(size), 0, dtype=dtype, requires_grad=requires_grad)

    def is_floating_point(self) -> bool:
        """Whether the dtype is a float dtype."""
        return self.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        """Whether the values lie in row-major order in memory."""
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim: int | None = None) -> tuple[int, ...] | int:
        """The step in elements (not bytes) between neighbours along each axis, or along ``dim``."""
        steps = tuple(s // self.data.itemsize for s in self.data.strides)
        return steps if dim is None else steps[ops._axis("stride", dim, self.ndim)]

    def data_ptr(self) -> int:
        """The address of the first element (a view and its base share memory; ``clone()`` does not)."""
        return int(self.data.__array_interface__["data"][0])

    def element_size(self) -> int:
        """Bytes per element."""
        return self.data.itemsize

    def nelement(self) -> int:
        """The number of elements."""
        return self.data.size

    def half(self, memory_format: Any = None) -> Tensor:
        """As float16 (``self`` if it is already)."""
        return self.to(np.float16)

    # ---- more found by probing PyTorch's OpInfo list -----------------------------------------------------

    def sinc(self) -> Tensor:
        """sin(pi x) / (pi x), 1 at 0."""
        return ops.sinc(self)

    def logcumsumexp(self, dim: int) -> Tensor:
        """log(cumsum(exp(x))) along ``dim``, without overflow."""
        return ops.logcumsumexp(self, dim)

    def median(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMax:
        """The lower of the two middle values (NaN if there is one); with ``dim``, PyTorch's ``(values,
        indices)``, the gradient to the index returned; without, shared by the elements equal to it."""
        values, indices = ops.median(self, dim, keepdim and self.ndim > 0, ignore_nan=False)
        return _shared(self, values) if dim is None else MinMax(values, indices)

    def nanmedian(self, dim: int | None = None, keepdim: bool = False) -> Tensor | MinMax:
        """The median of the values that are not NaN; with ``dim``, ``(values, indices)``."""
        values, indices = ops.median(self, dim, keepdim and self.ndim > 0, ignore_nan=True)
        return _shared(self, values) if dim is None else MinMax(values, indices)

    def quantile(
        self, q: Operand, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Tensor:
        """The ``q``-th quantiles along ``dim`` (of all values by default), as ``torch.quantile``."""
        return ops.quantile(self, q, dim, keepdim and self.ndim > 0, interpolation, ignore_nan=False)

    def nanquantile(
        self, q: Operand, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear"
    ) -> Tensor:
        """:meth:`quantile` of the values that are not NaN."""
        return ops.quantile(self, q, dim, keepdim and self.ndim > 0, interpolation, ignore_nan=True)

    def cov(self, *, correction: int = 1, fweights: Operand = None, aweights: Operand = None) -> Tensor:
        """The covariance matrix of the variables in the rows (observations in the columns), the
        observations weighted by ``fweights`` (counts) and ``aweights`` as ``torch.cov``."""
        return ops.cov(self, correction, fweights, aweights)

    def corrcoef(self) -> Tensor:
        """Pearson's correlation matrix of the variables in the rows."""
        return ops.corrcoef(self)

    def reshape_as(self, other: Tensor) -> Tensor:
        """``self`` in ``other``'s shape."""
        return self.reshape(other.shape)

    def diagflat(self, offset: int = 0) -> Tensor:
        """The flattened values on the ``offset``-th diagonal of a square matrix."""
        return ops.diag(self.reshape(-1), offset)

    def split_with_sizes(self, split_sizes: list[int] | tuple[int, ...], dim: int = 0) -> list[Tensor]:
        """Pieces of the listed sizes along ``dim``."""
        return ops.split_sizes(self, list(split_sizes), dim)

    def unsafe_split(self, split_size: int | list[int] | tuple[int, ...], dim: int = 0) -> list[Tensor]:
        """:meth:`split` (PyTorch's name for a split whose pieces skip its view checks)."""
        return self.split(split_size, dim)

    def unsafe_chunk(self, chunks: int, dim: int = 0) -> list[Tensor]:
        """:meth:`chunk`."""
        return self.chunk(chunks, dim)

    def narrow_copy(self, dim: int, start: int, length: int) -> Tensor:
        """:meth:`narrow`, in new memory."""
        return self.narrow(dim, start, length).clone()

    def index_put(self, indices: tuple | list, values: Operand, accumulate: bool = False) -> Tensor:
        """A copy with ``values`` written (or, ``accumulate``, added) at ``self[indices]``."""
        index = tuple(indices)
        if accumulate:
            target = self[index]  # checks the index
            values = values if isinstance(values, Tensor) else np.asarray(values, self.dtype)
            spread = (
                ops.broadcast_to(ops.as_tensor(values), target.shape) if ops._shape(values) != target.shape else values
            )
            return self + ops.scatter_add(spread, ops._plain_index(index)[0], self.shape, False)
        return ops.index_put(self, index, values)

    def put(self, index: Operand, source: Operand, accumulate: bool = False) -> Tensor:
        """A copy with ``source`` written (or added) at ``index`` of the flattened tensor."""
        at = ops.integer_index("put", index, self.size, self.shape).reshape(-1)
        flat = source.reshape(-1) if isinstance(source, Tensor) else np.asarray(source, self.dtype).reshape(-1)
        return self.reshape(-1).index_put((at,), flat, accumulate).reshape(self.shape)

    def select_scatter(self, src: Operand, dim: int, index: int) -> Tensor:
        """A copy with ``src`` written at ``index`` along ``dim``."""
        axis = ops._axis("select_scatter", dim, self.ndim)
        self.select(axis, index)  # checks the index
        return ops.index_put(self, (slice(None),) * axis + (index,), src)

    def diagonal_scatter(self, src: Operand, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """A copy with ``src`` written on the ``offset``-th diagonal of axes ``dim1``, ``dim2``."""
        return ops.diagonal_scatter(self, src, offset, dim1, dim2)

    def slice_scatter(
        self, src: Operand, dim: int = 0, start: int | None = None, end: int | None = None, step: int = 1
    ) -> Tensor:
        """A copy with ``src`` written at ``start:end:step`` along ``dim``."""
        axis = ops._axis("slice_scatter", dim, self.ndim)
        return ops.index_put(self, (slice(None),) * axis + (slice(start, end, step),), src)

    def masked_scatter(self, mask: Operand, source: Tensor) -> Tensor:
        """A copy with the first values of ``source``, in order, written where ``mask`` is True."""
        mask = ops._values("masked_scatter()", mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_scatter: the mask must be bool, got {mask.dtype}")
        try:
            shape = np.broadcast_shapes(mask.shape, self.shape)
        except ValueError:
            raise ValueError(f"masked_scatter: a mask of shape {mask.shape} does not broadcast with "
                             f"{self.shape}") from None  # fmt: skip
        where_ = np.broadcast_to(mask, shape)
        count = int(where_.sum())
        if source.size < count:
            raise ValueError(f"masked_scatter: {count} places to fill and a source of {source.size} values")
        x = self if self.shape == shape else ops.broadcast_to(self, shape)
        return ops.index_put(x, where_, source.reshape(-1)[:count])

    @property
    def mH(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The last two axes swapped (the conjugate is the tensor itself: real tensors only)."""
        return self.mT

    @property
    def H(self) -> Tensor:  # noqa: N802 - PyTorch's name
        """The transpose of a matrix (real tensors: no conjugate)."""
        if self.ndim != 2:
            raise ValueError(f"H: expects a matrix, got shape {self.shape}")
        return ops.transpose(self)

    def conj(self) -> Tensor:
        """``self``: the conjugate of a real tensor."""
        return self

    resolve_conj = resolve_neg = conj

    def bernoulli(self, p: Operand = None) -> Tensor:
        """1 with probability ``self`` (or ``p``), else 0, in this tensor's dtype; not differentiated."""
        prob = np.asarray(ops._data(self if p is None else p), dtype=np.float64)
        if np.any((prob < 0) | (prob > 1)):
            raise ValueError("bernoulli: probabilities must lie in [0, 1]")
        draw = random.generator().random(np.broadcast_shapes(prob.shape, self.shape)) < prob
        return Tensor._from(draw.astype(self.dtype))

    def __ifloordiv__(self, other: Operand) -> Tensor:
        ops._integer_divisor("floor_divide_", self, other)
        return _update(
            self, "floor_divide_", (other,), lambda: ops.floor_divide(self, other), _ufunc(np.floor_divide, other)
        )

    def __imod__(self, other: Operand) -> Tensor:
        ops._integer_divisor("remainder_", self, other)
        return _update(self, "remainder_", (other,), lambda: ops.remainder(self, other), _ufunc(np.remainder, other))

    # ---- PyTorch's dtype conversions; last in the class, as their names shadow the builtins here ----
    def long(self) -> Tensor:
        """As int64 (class indices for losses); not differentiated."""
        return ops.astype(self, np.int64)

    def int(self) -> Tensor:
        """As int32; not differentiated."""
        return ops.astype(self, np.int32)

    def bool(self) -> Tensor:
        """As bool (non-zero is True); not differentiated."""
        return ops.compare(np.not_equal, self, 0)

    def type(self, dtype: Any = None, non_blocking: object = False) -> Any:  # noqa: A003 - PyTorch's name
        """PyTorch's ``type``: without ``dtype`` the name PyTorch gives (``"torch.FloatTensor"``...);
        with one (``tl.float32``, ``np.float64`` or such a name) ``self.to(dtype)``, so that
        ``(pred.argmax(1) == y).type(tl.float).sum()`` counts as in PyTorch's tutorials."""
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype)
            if name is None:
                raise TypeError(f"Tensor.type: PyTorch has no tensor type name for dtype {self.dtype}")
            return f"torch.{name}"
        if isinstance(dtype, str) and dtype.removeprefix("torch.") in _TYPE_NAMES.values():
            dtype = next(d for d, n in _TYPE_NAMES.items() if n == dtype.removeprefix("torch."))
        return self.to(dtype)


_TYPE_NAMES = {
    np.dtype(np.float32): "FloatTensor",
    np.dtype(np.float64): "DoubleTensor",
    np.dtype(np.float16): "HalfTensor",
    np.dtype(np.int64): "LongTensor",
    np.dtype(np.int32): "IntTensor",
    np.dtype(np.int16): "ShortTensor",
    np.dtype(np.int8): "CharTensor",
    np.dtype(np.uint8): "ByteTensor",
    np.dtype(np.bool_): "BoolTensor",
}


class _Size(int):
    """An element count that, called, gives the shape: ``x.size == 6`` and ``x.size() == (2, 3)``."""

    shape: tuple[int, ...]

    def __new__(cls, count: int, shape: tuple[int, ...]) -> _Size:
        size = super().__new__(cls, count)
        size.shape = shape
        return size

    @overload
    def __call__(self, dim: None = None) -> tuple[int, ...]: ...
    @overload
    def __call__(self, dim: int) -> int: ...
    def __call__(self, dim: int | None = None) -> tuple[int, ...] | int:
        if dim is None:
            return self.shape
        return self.shape[ops._axis("size", dim, len(self.shape))]


class MinMax(tuple):
    """PyTorch's ``(values, indices)`` from ``x.max(dim=...)``, ``min``, ``sort``, ``topk``, ``kthvalue``,
    ``median(dim=...)``, ``cummax`` and ``cummin``."""

    def __new__(cls, values: Tensor, indices: Tensor) -> MinMax:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]


class AMinMax(tuple):
    """PyTorch's ``(min, max)`` from ``x.aminmax()``."""

    def __new__(cls, low: Tensor, high: Tensor) -> AMinMax:
        return super().__new__(cls, (low, high))

    @property
    def min(self) -> Tensor:
        return self[0]

    @property
    def max(self) -> Tensor:
        return self[1]


def _shared(x: Tensor, value: Tensor) -> Tensor:
    """``value`` (one of x's elements) with its gradient shared evenly by every element equal to it (NaN:
    by the NaNs), as PyTorch's median() and max() without dim: the value plus the mean gap to it, which
    is 0 and so keeps the value's bits. Made of ops, so that a replay computes it again."""
    v = value.detach()
    both_nan = ops.compare(np.logical_and, x.isnan(), v.isnan())
    hit = ops.compare(np.logical_or, ops.compare(np.equal, x, v), both_nan)
    gap = ops.where(hit, x - v, 0.0).sum()
    return v + gap / hit.astype(x.dtype).sum()


def _running_extreme(x: Tensor, dim: int, largest: bool) -> MinMax:
    """cummax/cummin: the indices from an op (so a replay finds them again), the values picked there, so
    the gradient goes to the element each running extreme came from, as in PyTorch."""
    op = "cummax" if largest else "cummin"
    if x.ndim == 0:
        ops.scalar_axis(op, dim, 0)
        return MinMax(x.clone(), Tensor._from(np.zeros((), np.int64)))
    axis = ops._axis(op, dim, x.ndim)
    if x.shape[axis] == 0:
        return MinMax(x.clone(), Tensor._from(np.zeros(x.shape, np.int64)))
    indices = ops.cumulative_argmax(x, axis, largest)
    return MinMax(ops.gather(x, axis, indices.data), indices)


def _reduction_args(
    op: str, axis: AxesArg, dim: AxesArg, keepdims: bool, keepdim: bool | None, out: None
) -> tuple[Any, bool]:
    """(axis, keepdims) from NumPy's or PyTorch's keywords (the axis as given, a list made a tuple);
    ``out=`` is refused, by name."""
    if out is not None:
        raise TypeError(f"{op}: out= is not supported; a tensor's values are never written into")
    return ops.axis_or_dim(op, axis, dim), keepdims if keepdim is None else bool(keepdim)


def _numpy_or_pytorch(
    op: str,
    positional_axis: AxesArg,
    positional_keepdims: bool,
    axis: AxesArg,
    keepdims: bool,
    dim: int | None,
    keepdim: bool | None,
) -> tuple[AxesArg, bool, int | None]:
    """(axis, keepdims, dim) of ``x.max``/``x.min``: NumPy's meaning (the values) unless PyTorch's is
    asked for by ``dim=``, or by ``keepdim=`` after an int axis. A lone positional int axis keeps
    NumPy's meaning with a warning, since PyTorch's ``x.max(1)[1]`` (the indices) would silently be
    a row of values."""
    if positional_axis is not None and axis is not None:
        raise TypeError(f"{op}: the axis is given twice, by position and as axis=")
    keepdims = keepdims or positional_keepdims
    pytorch_axis = isinstance(positional_axis, (int, np.integer)) and not isinstance(positional_axis, bool)
    if pytorch_axis and dim is None and keepdim is not None:
        return None, keepdims, int(positional_axis)  # type: ignore[arg-type]
    if pytorch_axis and dim is None and not positional_keepdims:
        warnings.warn(
            f"x.{op}({positional_axis}) is NumPy's {op} over axis {positional_axis} (the values only); "
            f"PyTorch's (values, indices) is x.{op}(dim={positional_axis}). "
            f"Write axis={positional_axis} for NumPy's without this warning",
            UserWarning,
            stacklevel=3,
        )
    return (axis if positional_axis is None else positional_axis), keepdims, dim


def _correction(op: str, correction: int | None, ddof: int | None, unbiased: bool | None) -> int:
    """The divisor's correction from PyTorch's ``correction=`` or ``unbiased=`` or NumPy's ``ddof=`` (1 by
    default, as PyTorch's). ``np.var(t, correction=1)`` passes ``ddof=0`` beside it, which NumPy allows."""
    if correction is not None and unbiased is not None:
        raise TypeError(f"{op}: give one of correction= and unbiased=, not both")
    if ddof is not None and (correction is not None or unbiased is not None) and ddof != 0:
        raise TypeError(f"{op}: give one of correction= (or unbiased=) and ddof=, not both")
    if unbiased is not None:
        return 1 if unbiased else 0
    if correction is not None:
        return correction
    return 1 if ddof is None else ddof


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _every_axis_if_empty(op: str, dim: AxesArg) -> Axes:
    """PyTorch's ``dim=()`` (or ``[]``) of amax/amin: every axis."""
    chosen = ops.axis_or_dim(op, None, dim)
    return None if chosen == () else chosen


def _picked(x: Tensor, index: Tensor, dim: int, keepdim: bool) -> MinMax:
    """PyTorch's ``(values, indices)`` of ``max(dim=)``/``min(dim=)``: the values are picked at the
    indices, so at a tie the whole gradient goes to the index returned, as in PyTorch (``amax`` without
    ``dim=`` shares it among the tied elements)."""
    if x.ndim == 0:  # PyTorch's dim 0 of a 0-d tensor: the value itself, at index 0
        return MinMax(x.clone(), index.reshape(()))
    values = ops.gather(x, dim, index.data)
    if not keepdim:
        values, index = values.squeeze(dim), index.squeeze(dim)
    return MinMax(values, index)


def clear_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """``zero_grad`` for modules and optimizers: drop each ``.grad``, or zero it in place."""
    for p in params:
        if set_to_none or p.grad is None:
            p.grad = None
        else:
            p.grad.data[...] = 0
            changed_in_place(p.grad.data)


class _HookHandle:
    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks: list, fn: Callable) -> None:
        self._hooks = hooks
        self._fn = fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


# ---- in-place updates, by PyTorch's rules (see the module's docstring) -----------------------------


def _describe(t: Tensor) -> str:
    name = f"{t.name}, " if t.name else ""
    return f"{name}shape {t.shape}, dtype {t.dtype}"


class View:
    """How a tensor shows another one's memory: made by ``op`` (getitem, reshape, transpose, broadcast_to)
    from ``base``, so that a write through either side can bring the other's graph up to date, as
    PyTorch rebases views. ``stamp`` is the memory's change stamp when the view was made."""

    __slots__ = ("base", "primitive", "p", "stamp")

    def __init__(self, base: Tensor, primitive: Any, p: Any, stamp: int) -> None:
        self.base, self.primitive, self.p, self.stamp = base, primitive, p, stamp

    @property
    def op(self) -> str:
        return self.primitive.name


def _leaf_behind(target: Tensor) -> Tensor | None:
    """The leaf that requires grad whose memory ``target`` shows through views, if any."""
    view = target._view
    while view is not None:
        base = view.base
        if base._entry is not None and base.is_leaf:
            return base
        view = base._view
    return None


#: Outputs of a ``tl.Function`` that are an input returned as-is (or a view made inside forward),
#: by their entry: "output k of Name". As in PyTorch, a recorded in-place change of one is refused:
#: the Function's backward would no longer describe the value.
function_views: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _update(target: Tensor, op: str, others: tuple, compute: Callable[[], Tensor], write: Callable) -> Tensor:
    """Give ``target`` its new value: ``write(array)`` changes the array in place when nothing is
    recorded; ``compute()`` makes the new value as tape entries when the update is part of a graph.
    A recorded write through a view gives each base it shows a graph of its new value too (PyTorch's
    CopySlices); views of the written memory made before are brought up to date where next used."""
    if _state.grad_enabled and isinstance(target._entry, Leaf) and target._entry.stands_in:
        raise RuntimeError(
            f"{op}: the recorded step's input ({_describe(target)}) is being changed in place; a replay would not "
            "write into the array it is given. Write `x = x * 2` (a new tensor), or run the step eagerly"
        )
    if _state.grad_enabled and target._entry is not None and target.is_leaf:
        raise RuntimeError(
            f"{op}: a leaf tensor that requires grad ({_describe(target)}) is being used in an in-place "
            "operation. Update parameters inside `with tl.no_grad():` (as optimizers do), or write "
            "`x = x + ...` to make a new tensor"
        )
    if _state.grad_enabled and target._entry is not None and target._entry in function_views:
        raise RuntimeError(
            f"{op}: {function_views[target._entry]} is a view of its input (returned as-is, or a view made inside "
            "forward) and is being modified in place; the Function's backward would then give wrong gradients, "
            "so this is refused (as in PyTorch). clone() the output first"
        )
    if _state.grad_enabled and target._view is not None:
        leaf = _leaf_behind(target)
        if leaf is not None:
            raise RuntimeError(
                f"{op}: a view of a leaf tensor that requires grad ({_describe(leaf)}) is being used in an "
                "in-place operation (PyTorch refuses it too). Change the leaf inside `with tl.no_grad():`, "
                "or change a .clone() of it"
            )
    data = target.data
    if not data.flags.writeable:
        if 0 in data.strides and data.size > 1:
            raise ValueError(
                f"{op}: more than one element of the tensor ({_describe(target)}) refers to a single memory "
                "location (a broadcast view); clone() it before writing into it"
            )
        raise ValueError(f"{op}: the tensor's array ({_describe(target)}) is read-only")
    recording = _state.grad_enabled and (
        target._entry is not None or any(isinstance(o, Tensor) and o._entry is not None for o in others)
    )
    windows = _shared_windows(target)
    by_window = windows is not None and _internal_overlap(data)
    if windows is not None:
        _check_windows(target, op, windows, recording, by_window)
    if not recording:
        guard("write", op)
        try:
            if by_window:
                _write_in_parts(target, compute)
            else:
                write(data)
        except (ValueError, TypeError) as e:
            kind = ValueError if isinstance(e, ValueError) else TypeError
            raise kind(f"{op}: cannot update a tensor of {_describe(target)} in place: {e}") from e
        changed_in_place(data)
        return target

    root = _root(data)
    with Recording(writes_into=root) as recorded:
        result = compute()
    if result.shape != target.shape:
        raise ValueError(f"{op}: the result has shape {result.shape}; a tensor of shape {target.shape} cannot hold it")
    if not np.can_cast(result.dtype, target.dtype, "same_kind"):
        raise TypeError(f"{op}: a {result.dtype} result cannot be written into a tensor of dtype {target.dtype}")
    if result.dtype != target.dtype:
        result = ops.astype(result, target.dtype)
    # the bases this memory is seen through: each gets a graph of its new value (before the write, from
    # its old values), and saves nothing of the memory
    bases = []
    child, value = target, result
    if windows is not None:  # memory shown through windows that share elements: the elements written, found
        top = _shared_windows(windows.base) or windows  # by their place in memory, go into the windows' base
        while (above := _shared_windows(top.base)) is not None:
            top = above
        child = top.base
        flat = ops.reshape(child, (-1,))
        value = ops.reshape(ops.index_put(flat, (_places(data, child.data),), ops.reshape(result, (-1,))), child.shape)
        bases.append((child, value._entry))
    while child._view is not None:
        view = child._view
        value = ops.written_through(view, value)
        bases.append((view.base, value._entry))
        child = view.base
    # entries that saved the values about to be overwritten keep a copy of what they saved
    for entry in recorded.entries:
        if entry.ins is not None:
            entry.ins = tuple(_copy_if_in(a, root) for a in entry.ins)
    np.copyto(data, result.data)
    # other views of this memory, made before, are stale from now on
    recorded_write(data, [result._entry] + [entry for _, entry in bases])
    for watcher in _state.writes:  # what reads these arrays from now on reads these entries' values
        watcher([(data, result._entry), *((base.data, entry) for base, entry in bases)])
    old = target._entry
    target._entry = result._entry
    if old is not None and old.retain is not None:  # retain_grad() follows the tensor to its new value
        assert isinstance(result._entry, Entry), "a recorded update's result is a tape entry"
        result._entry.retain, old.retain = old.retain, None
    for base, entry in bases:
        base._entry = entry
    return target


def _shared_windows(target: Tensor) -> View | None:
    """The unfold whose windows share elements that ``target`` shows its memory through, if any."""
    view = target._view
    while view is not None:
        if view.op == "unfold" and windows_overlap(view.base.shape, view.p):
            return view
        view = view.base._view
    return None


def _offsets(a: np.ndarray) -> np.ndarray:
    """The memory address of each element of ``a``, in row-major order."""
    offsets = np.full((), a.__array_interface__["data"][0], np.int64)
    for n, s in zip(a.shape, a.strides):
        offsets = np.add.outer(offsets, np.arange(n, dtype=np.int64) * s)
    return offsets.reshape(-1)


def _places(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """The row-major position in ``whole`` of each element of ``part``, which shows some of its memory."""
    addresses = _offsets(whole)
    order = np.argsort(addresses)
    return order[np.searchsorted(addresses[order], _offsets(part))]


def _internal_overlap(a: np.ndarray) -> bool:
    """Whether two elements of ``a`` are one memory location (its byte offsets, counted)."""
    if a.size <= 1:
        return False
    offsets = np.zeros((), np.int64)
    for n, s in zip(a.shape, a.strides):
        offsets = np.add.outer(offsets, np.arange(n, dtype=np.int64) * s)
    return np.unique(offsets).size < a.size


#: the updates PyTorch applies element by element, each reading the element's current value, whose result
#: does not depend on the order: through windows that share an element it is updated once per window
#: (mul_(2) doubles it twice, add_(t) adds each window's t). copy_ of differing values is left out: which
#: window's value stays depends on the order PyTorch's loops happen to take
_ONE_ELEMENT_UPDATES = frozenset(
    (
        "add_ sub_ mul_ div_ fill_ pow_ clamp_ clip_ clamp_min_ clamp_max_ abs_ neg_ exp_ log_ sqrt_ "
        "tanh_ sigmoid_ relu_ sin_ cos_ square_ reciprocal_ rsqrt_ expm1_ log1p_ erf_ erfinv_ lgamma_ digamma_"
    ).split()
)


def _check_windows(target: Tensor, op: str, windows: View, recording: bool, by_window: bool) -> None:
    """Refuse, before anything changes, an in-place update through the windows of an unfold that share
    elements, where the engine cannot give PyTorch's values and a right gradient."""
    axis, size, step = windows.p
    where = (
        f"{op}: the tensor ({_describe(target)}) shows the windows of an unfold (size {size}, step {step} along "
        f"axis {axis} of shape {windows.base.shape}) that share elements"
    )
    if recording and by_window:
        raise RuntimeError(
            f"{where}, and it holds some of them more than once; an in-place change of it is not differentiated "
            "here (PyTorch's gradient counts a shared element once where the update reached it once per window). "
            "Change the unfolded tensor itself, or clone() the windows first"
        )
    if by_window and op not in _ONE_ELEMENT_UPDATES:
        raise RuntimeError(
            f"{where}; {op} through them is not supported (its result would depend on the order of the writes; "
            "add_, mul_, fill_, exp_... are). clone() the windows first"
        )


def _write_in_parts(target: Tensor, compute: Callable[[], Tensor]) -> None:
    """PyTorch's elementwise update of memory whose elements repeat: part after part, each part free of
    repeats and computed from the memory as the parts before it left it, so that a repeated element is
    updated once per time it appears. The parts: the slices along one axis where they are free of
    repeats (the windows of one unfold), else the lines along the last axis."""
    data = target.data
    parts: Iterable[tuple] = ()
    for axis in range(data.ndim):
        lead = (slice(None),) * axis
        if data.shape[axis] and not _internal_overlap(data[lead + (0,)]):
            parts = (lead + (i,) for i in range(data.shape[axis]))
            break
    else:
        parts = np.ndindex(data.shape[:-1])
    for part in parts:
        value = compute()
        if value.shape != target.shape:
            raise ValueError(f"the result has shape {value.shape}, the tensor {target.shape}")
        np.copyto(data[part], value.data[part], casting="same_kind")


def _copy_if_in(a, root: np.ndarray):
    """``a``, or a copy of it when it shows the memory of the array ``root``."""
    return a.copy() if isinstance(a, np.ndarray) and _root(a) is root else a


def _tensors_in(value: Any):
    """The tensors in an argument: itself, or those in a tuple, list or dict (at any depth)."""
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _tensors_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_in(v)


def _in_place_twin(name: str) -> Callable[..., Tensor]:
    def twin(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        return self._elementwise_(f"{name}_", lambda x: getattr(x, name)(*args, **kwargs), (args, kwargs))

    twin.__name__ = twin.__qualname__ = f"{name}_"
    twin.__doc__ = f"In place: ``x.{name}_(...)`` writes ``x.{name}(...)`` into x (PyTorch's in-place twin)."
    return twin


# PyTorch's in-place twins of the methods above that keep the shape: x.pow_(2) is x = x.pow(2) written
# into x's memory, recorded as every in-place update is (views, saved values, version checks)
_IN_PLACE_TWINS = (
    "abs exp log neg relu sigmoid sqrt tanh "
    "acos acosh addbmm addcdiv addcmul addmm addmv addr asin asinh atan atan2 atanh baddbmm ceil clamp_max "
    "clamp_min clip cos cosh cumprod cumsum deg2rad erf erfc exp2 expm1 floor fmod frac hypot index_add "
    "index_copy index_fill index_put lerp log10 log1p log2 logit masked_scatter nan_to_num pow put rad2deg "
    "reciprocal remainder round rsqrt scatter scatter_add sgn sign sin sinc sinh square tan tril triu "
    "true_divide trunc "
    "copysign xlogy digamma erfinv lgamma mvlgamma polygamma "
    "absolute arccos arccosh arcsin arcsinh arctan arctan2 arctanh divide fix multiply negative subtract"
).split()
for _name in _IN_PLACE_TWINS:
    if not hasattr(Tensor, f"{_name}_"):
        setattr(Tensor, f"{_name}_", _in_place_twin(_name))


def _ufunc(fn, other) -> Callable:
    value = other.data if isinstance(other, Tensor) else other
    return lambda data: fn(data, value, out=data, casting="same_kind")


from . import linalg, ops  # noqa: E402  (circular: ops build Tensors, linalg builds on ops)
from .primitives.shape import windows_overlap  # noqa: E402
from .primitives.special import COPYSIGN, XLOGY  # noqa: E402
