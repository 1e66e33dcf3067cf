"""``tl.cuda``: PyTorch's questions about CUDA, answered for a machine whose one device is the CPU.

>>> import tinygrad_lstm as tl
>>> tl.cuda.is_available(), tl.cuda.device_count()
(False, 0)
"""

from __future__ import annotations


def is_available() -> bool:
    """False: tensors here live in NumPy arrays, on the CPU."""
    return False


def device_count() -> int:
    """0: there is no CUDA device here."""
    return 0


def is_initialized() -> bool:
    """False: there is no CUDA to initialise."""
    return False


def manual_seed(seed: int) -> None:
    """Does nothing, as PyTorch's does without CUDA: seed the CPU generator with ``tl.manual_seed``."""


def manual_seed_all(seed: int) -> None:
    """Does nothing, as PyTorch's does without CUDA: seed the CPU generator with ``tl.manual_seed``."""


def synchronize(device: object = None) -> None:
    """Refused, as PyTorch refuses it without CUDA: there is nothing to wait for on the CPU."""
    raise RuntimeError("cuda.synchronize: there is no CUDA device here (tl.cuda.is_available() is False)")
