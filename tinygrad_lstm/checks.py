"""Argument checks shared by layers, losses, optimizers and files: one clear error naming the
operation and the argument, raised before anything is built or changed."""

from __future__ import annotations

import numbers
import operator
import warnings
from typing import Any, cast

import numpy as np


def check_int(op: str, arg: str, value: Any, least: int | None = 0) -> int:
    """``value`` as an int (Python's notion: ``operator.index`` takes it, as PyTorch's sizes do),
    at least ``least`` (None: any); TypeError for a float or other non-integer, ValueError below ``least``."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be an integer, got {value!r} ({type(value).__name__})") from None
    if least is not None and number < least:
        raise ValueError(f"{op}: {arg} must be an integer >= {least}, got {number}")
    return number


def check_bool(op: str, arg: str, value: Any) -> bool:
    """``value``, which must be a bool (NumPy's too), as PyTorch's recurrent layers check their flags: a
    string "False" or a 1 would otherwise be taken for what its truth value says."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {arg} must be True or False, got {value!r}")
    return bool(value)


def check_probability(op: str, arg: str, value: Any, allow_bool: bool = True) -> float:
    """``value`` as a float in [0, 1] (PyTorch's recurrent layers refuse a bool dropout)."""
    if not isinstance(value, numbers.Real) or (not allow_bool and isinstance(value, (bool, np.bool_))):
        raise TypeError(f"{op}: {arg} must be a number in [0, 1], got {value!r} ({type(value).__name__})")
    if not 0.0 <= cast(float, value) <= 1.0:  # a numbers.Real, which the stubs do not compare with a float
        raise ValueError(f"{op}: {arg} must be in [0, 1], got {value}")
    return float(value)


def check_layer_dropout(op: str, dropout: Any, num_layers: int) -> float:
    """A recurrent layer's ``dropout``, a probability; PyTorch's warning when it can do nothing (it
    acts between layers, and there is one)."""
    p = check_probability(op, "dropout", dropout, allow_bool=False)
    if p > 0 and num_layers == 1:
        message = f"{op}: dropout={p} is applied after every layer but the last, so with num_layers=1 it does nothing"
        warnings.warn(message, UserWarning, stacklevel=4)
    return p


def is_torch_tensor(value: Any) -> bool:
    """A PyTorch tensor, recognised without importing torch (which may not be installed)."""
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach")


def plain_array(value: Any, where: str) -> np.ndarray:
    """``value`` as an ndarray: PyTorch tensors (even ones that require grad) through
    ``.detach().cpu().numpy()``, anything else through ``np.asarray``; a ragged list or a tensor NumPy
    cannot hold gets a ValueError naming ``where`` instead of NumPy's or PyTorch's message."""
    try:
        if is_torch_tensor(value):
            return value.detach().cpu().numpy()
        return np.asarray(value)
    except (ValueError, TypeError, RuntimeError) as e:  # ragged lists; bfloat16 tensors
        kind = type(value).__name__
        raise ValueError(f"{where}: a {kind} that is not an array of one shape and dtype ({e})") from None
