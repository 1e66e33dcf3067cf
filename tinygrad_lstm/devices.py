"""One device, the CPU: PyTorch's ``torch.device`` as a small value, so that device-agnostic code runs here.

``tl.device("cuda")`` may be made, as in PyTorch (a script picks its device before it makes anything),
but every function that would put data on a device other than the CPU refuses it by name.

>>> import tinygrad_lstm as tl
>>> device = tl.device("cuda" if tl.cuda.is_available() else "cpu")
>>> tl.zeros(2, device=device).device, str(device), device.type
(device(type='cpu'), 'cpu', 'cpu')
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, NoReturn, TypeAlias, TypeVar

# the device types PyTorch's parser knows; any of them names a device that is not here, except the CPU
KNOWN = ("cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "ipu", "hpu", "mtia", "lazy", "vulkan")


class device:  # noqa: N801 - PyTorch's name
    """A device as PyTorch names it: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 1)``.

    ``str(d)`` is ``"cpu"`` or ``"cuda:1"``; ``d.type``, ``d.index`` (None unless given). A device is
    equal to another with the same type and index, and, as in PyTorch, unequal to every string (compare
    ``d.type == "cpu"``).

    >>> import tinygrad_lstm as tl
    >>> tl.device("cuda", 1), tl.device("cpu").type == "cpu", tl.device("cpu:0").index
    (device(type='cuda', index=1), True, 0)
    """

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, type: str | device, index: int | None = None) -> None:  # noqa: A002
        if isinstance(type, device):
            kind, at = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            raise ValueError(f"device: a bare index ({type}) names an accelerator device; there is none here")
        elif isinstance(type, str):
            kind, _, number = type.partition(":")
            if kind not in KNOWN:
                raise ValueError(f"device: expected one of {', '.join(KNOWN)} at the start of {type!r}")
            if number and not number.isdigit():
                raise ValueError(f"device: invalid device string {type!r} (an index is a number >= 0: 'cuda:0')")
            at = int(number) if number else None
        else:
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got {type!r}")
        if index is not None:
            if at is not None:
                raise ValueError(f"device: {type!r} has an index already; index={index} cannot be given too")
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise ValueError(f"device: index must be an int >= 0, got {index!r}")
            at = index
        if at is not None and at < 0:
            raise ValueError(f"device: index must be >= 0, got {at}")
        object.__setattr__(self, "type", kind)
        object.__setattr__(self, "index", at)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"device: a device is a value; {name} cannot be set")

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        at = "" if self.index is None else f", index={self.index}"
        return f"device(type={self.type!r}{at})"

    def __eq__(self, other: object) -> bool:
        # as PyTorch's: a device equals a device, never a string (`dev.type == "cpu"` compares the type)
        if isinstance(other, device):
            return (self.type, self.index) == (other.type, other.index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __reduce__(self) -> tuple:  # copy.deepcopy of a module or tensor that holds one
        return (device, (self.type, self.index))


CPU = device("cpu")
# what a device= keyword takes (an int is refused, as PyTorch refuses one where it has no accelerator)
Device: TypeAlias = "str | device | int | None"


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (a ``device`` or a string such as ``"cpu"`` or ``"cuda:0"``), as
    ``Tensor.to`` and ``Module.to`` tell a device from a dtype."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in KNOWN)


def check(op: str, where: Any) -> None:
    """Refuse, naming ``op``, any device but the CPU; None (the default device) and ``"cpu"`` pass."""
    if where is None:
        return
    try:
        named = device(where)
    except (TypeError, ValueError) as e:
        raise type(e)(f"{op}: {e}") from None
    if named.type != "cpu":
        refuse(op, named)


def refuse(op: str, where: Any) -> NoReturn:
    """The error for data put on a device that is not here (``x.cuda()``, ``zeros(device="cuda")``)."""
    raise ValueError(
        f"{op}: there is one device here, the CPU; got device={str(where)!r} (tl.cuda.is_available() is False)"
    )


F = TypeVar("F", bound=Callable[..., Any])


def takes_device(fn: F) -> F:
    """Give ``fn``'s ``device=`` parameter its meaning: it is checked with ``check`` before ``fn`` runs
    (so a refused call changes nothing) and ``fn`` itself ignores it. The error names the function, or
    the class for an ``__init__``."""
    op = fn.__qualname__.removesuffix(".__init__")
    params = list(inspect.signature(fn).parameters.values())
    names = [p.name for p in params]
    if "device" not in names:
        raise TypeError(f"takes_device: {op} has no device parameter")
    kind = params[names.index("device")].kind
    position = names.index("device") if kind is inspect.Parameter.POSITIONAL_OR_KEYWORD else None

    is_init = fn.__name__ == "__init__"

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        name = type(args[0]).__name__ if is_init and args else op  # Conv2d, not the base class it inherits from
        if "device" in kwargs:
            check(name, kwargs["device"])
        elif position is not None and len(args) > position:
            check(name, args[position])
        return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]
