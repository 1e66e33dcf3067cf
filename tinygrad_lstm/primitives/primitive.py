"""What a primitive is: one object holding its name, its forward, its VJP, what it saves, and its flags.

``fwd(p, *arrays) -> array`` computes the result from the input arrays and the op's parameters ``p``
(kept on the tape entry, so a recorded tape can be replayed). ``vjp(g, entry) ->
tuple`` gives one gradient per input (None where not needed) from the tape entry: ``entry.ins`` the
saved inputs, ``entry.out`` the saved output, ``entry.p`` the parameters, ``entry.parents[i]`` None
when input ``i`` needs no gradient. On the usual path ``g`` and the saved values are NumPy arrays.
Under ``create_graph=True`` they are Tensors wired into the graph, so the same VJP code is recorded
and can be differentiated again: VJPs therefore use only operators, methods shared by ``ndarray`` and
``Tensor``, and the helpers below, which record through the kernel when handed Tensors.

What an entry saves depends on which inputs need a gradient, as PyTorch's derivative formulas save per
input: ``keep_in`` gives, for each input, the inputs whose gradient reads it (``OTHERS`` for a
product: each input is read by the others' gradients; True: every input, whenever the entry exists),
and ``keep_out`` the inputs whose gradient reads the result (True: any). An array nobody will read is
not kept, so changing it in place later is no reason to refuse backward.

Every primitive made here is registered by name in :data:`PRIMITIVES`, which the tape's readers
(whatever replays or draws a tape, the tests) consult. This module imports NumPy alone: the recording kernel (in
``ops.py``, which imports this package) installs itself in :data:`KERNEL`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import numpy as np

# what a VJP gets and returns: arrays, or Tensors under create_graph=True (the same operators serve both)
Grad: TypeAlias = Any
# what an entry keeps of its inputs or its result: False, True, OTHERS, or one tuple of readers per input
Keep: TypeAlias = "bool | tuple"
#: each input is kept for the other inputs' gradients (a product: mul, matmul, einsum)
OTHERS = ("others",)


class Primitive:
    """One engine op: ``name``, ``fwd``, ``vjp`` (None: never differentiated, as comparisons),
    ``keep_in``/``keep_out`` (what it saves, see the module's docstring), and flags:
    ``elementwise`` (each output element computed from the inputs' elements at its position alone, so
    the same bits on a strided view as on a fresh array: what a replay may fuse around) and
    ``view`` (the result may show the input's memory: reshape, transpose, broadcast_to, getitem);
    ``floating`` (a float function: integer or boolean input is computed in the default float dtype, as
    PyTorch computes ``torch.arange(3).exp()``); ``effect`` (it writes state outside the graph, as a
    running statistic's update, and nothing reads its result: a replay must run it all the same).

    Calling it records it on Tensors (or computes it on arrays) with parameters ``p``, unchecked: the
    public function in ``ops.py`` checks the arguments first."""

    __slots__ = ("name", "fwd", "vjp", "keep_in", "keep_out", "elementwise", "view", "floating", "effect")

    def __init__(
        self,
        name: str,
        fwd: Callable,
        vjp: Callable | None,
        *,
        keep_in: Keep = False,
        keep_out: Keep = False,
        elementwise: bool = False,
        view: bool = False,
        floating: bool = False,
        effect: bool = False,
        register: bool = True,
    ) -> None:
        self.name, self.fwd, self.vjp = name, fwd, vjp
        self.keep_in, self.keep_out = keep_in, keep_out
        self.elementwise, self.view, self.floating, self.effect = elementwise, view, floating, effect
        if register:
            if name in PRIMITIVES:
                raise ValueError(f"Primitive: a primitive named {name!r} is already registered")
            PRIMITIVES[name] = self

    def __call__(self, *inputs: Any, p: Any = None) -> Any:
        return KERNEL.record(self, inputs, p)

    def __repr__(self) -> str:
        return f"<Primitive {self.name}>"


#: every registered primitive by name, in the order they were defined
PRIMITIVES: dict[str, Primitive] = {}


def is_primitive(entry: Any, op: str) -> bool:
    """Whether ``entry`` was recorded by the registered primitive ``op``, not by a ``tl.Function``
    that shares its name: what a replay asks before it rewrites an entry."""
    prim = PRIMITIVES.get(op)
    return prim is not None and entry.op == op and entry.vjp is prim.vjp and prim.vjp is not None


class Kernel:
    """The recording kernel (``record(primitive, inputs, p) -> Tensor``) and the Tensor type,
    installed by ``ops.py`` when it loads."""

    record: Callable[[Primitive, tuple, Any], Any]
    tensor: Any  # the Tensor class


KERNEL = Kernel()


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a Tensor: a VJP handed one records its work (create_graph)."""
    return isinstance(x, KERNEL.tensor)


def data(x: Any) -> Any:
    """The array behind ``x`` (a Tensor's data; anything else as it is)."""
    return x.data if isinstance(x, KERNEL.tensor) else x


def shape_of(x: Any) -> tuple[int, ...]:
    return x.data.shape if isinstance(x, KERNEL.tensor) else np.shape(x)


def in_shape(entry: Any, k: int) -> tuple[int, ...]:
    """The shape of input ``k``, which may not be kept: known from its entry when it needs a gradient."""
    parent = entry.parents[k]
    return parent.shape if parent is not None else np.shape(entry.ins[k])


def unbroadcast(g: Grad, to: tuple[int, ...]) -> Grad:
    """Sum ``g`` down to shape ``to``, undoing NumPy broadcasting (used by every broadcasting op)."""
    if g.shape == to:
        return g
    lead = g.ndim - len(to)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(to) if n == 1 and g.shape[lead + i] != 1)
    if axes:
        g = g.sum(axis=axes)
    return g.reshape(to)


def zeros_like_grad(g: Grad, to: tuple[int, ...], dtype: np.dtype) -> Grad:
    """A zero gradient that depends on nothing; a Tensor under create_graph, so that the VJPs it
    reaches record their work (as PyTorch's zeros_like(grad) flows on through its graph)."""
    zeros = np.zeros(to, dtype)
    return KERNEL.tensor._from(zeros) if isinstance(g, KERNEL.tensor) else zeros
