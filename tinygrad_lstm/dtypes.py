"""The one default float dtype that creation functions and layers share (PyTorch's names).

float32, as PyTorch's: ``tl.nn.Linear(2, 2)(tl.randn(3, 2))`` works, because the layer's parameters
and the input are made in the same dtype. NumPy arrays you pass in keep their dtype (as
``torch.tensor(array)`` does), so a float64 array into a float32 layer is still refused, by name.

>>> import numpy as np, tinygrad_lstm as tl
>>> tl.get_default_dtype()
dtype('float32')
>>> tl.randn(2).dtype, tl.tensor([1.0, 2.0]).dtype, tl.tensor(np.zeros(2)).dtype, tl.tensor([1, 2]).dtype
(dtype('float32'), dtype('float32'), dtype('float64'), dtype('int64'))
"""

from __future__ import annotations

from typing import Any

import numpy as np

_default = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The float dtype of new tensors and layers when none is given (float32, as PyTorch's).

    >>> import tinygrad_lstm as tl
    >>> tl.zeros(2).dtype == tl.get_default_dtype() == tl.nn.Linear(2, 2).weight.dtype
    True
    """
    return _default


def set_default_dtype(dtype: Any) -> None:
    """Make ``dtype`` (a float dtype: ``np.float64``, ``tl.float64``, ``"float64"``...) the default of
    creation functions (``tl.tensor`` of Python floats, ``randn``, ``zeros``...) and layers, for the whole
    process, as ``torch.set_default_dtype``. Tensors and layers made before keep their dtype.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> tl.set_default_dtype(np.float64)
    >>> tl.randn(2).dtype, tl.nn.LSTM(2, 3).weight_ih_l0.dtype
    (dtype('float64'), dtype('float64'))
    >>> tl.set_default_dtype(np.float32)
    """
    global _default
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"set_default_dtype: {dtype!r} is not a dtype; use np.float32 or np.float64") from None
    if resolved.kind != "f":
        raise TypeError(f"set_default_dtype: only floating point dtypes can be the default, got {resolved}")
    _default = resolved


def resolve(dtype: Any) -> Any:
    """``dtype``, or the default float dtype when it is None (what constructors and layers call)."""
    return _default if dtype is None else dtype


def from_python(data: Any, array: np.ndarray) -> np.ndarray:
    """``array`` (made by NumPy from ``data`` with no dtype given) in the default dtype when ``data``
    was Python floats (a float, or a list or tuple of them): NumPy reads them as float64. Arrays (NumPy's,
    PyTorch's) and NumPy scalars keep their dtype, in a list too, as in PyTorch."""
    if isinstance(data, (list, tuple)):
        python = not any(isinstance(v, (np.ndarray, np.generic)) for v in data)
    else:
        python = isinstance(data, float) and not isinstance(data, np.generic)  # np.float64 is a float
    if array.dtype == np.float64 and _default != np.float64 and python:
        return array.astype(_default)
    return array
