"""``tl.accelerator``: PyTorch's device-agnostic questions, answered for a machine whose one device is
the CPU, so that a tutorial's first line runs:

>>> import tinygrad_lstm as tl
>>> tl.accelerator.current_accelerator().type if tl.accelerator.is_available() else "cpu"
'cpu'
"""

from __future__ import annotations

from typing import NoReturn


def is_available() -> bool:
    """False: tensors here live in NumPy arrays, on the CPU (PyTorch counts the CPU as no accelerator)."""
    return False


def current_accelerator(check_available: bool = False) -> None:
    """None: there is no accelerator, as PyTorch answers on a CPU-only machine."""
    return None


def device_count() -> int:
    """0: there is no accelerator."""
    return 0


def _none(op: str) -> NoReturn:
    raise RuntimeError(f"accelerator.{op}: there is no accelerator here (tl.accelerator.is_available() is False)")


def current_device_index() -> int:
    """Refused, as PyTorch refuses it without an accelerator."""
    _none("current_device_index")


def synchronize(device: object = None) -> None:
    """Does nothing: NumPy work is finished when its call returns."""
