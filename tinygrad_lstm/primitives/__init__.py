"""The engine's primitives, one :class:`Primitive` object each, in family files: ``arithmetic.py``,
``elementwise.py``, ``gamma.py``, ``reduce.py``, ``linalg.py``, ``shape.py``, ``index.py``, ``special.py``,
``running.py``, ``range_check.py``. Importing this package defines them all and fills the registry :data:`PRIMITIVES`;
the public functions that check arguments and record them are in ``ops.py``."""

from . import arithmetic, elementwise, gamma, index, linalg, range_check, reduce, running, shape, special
from .primitive import KERNEL, OTHERS, PRIMITIVES, Grad, Primitive, is_primitive

__all__ = [
    "KERNEL",
    "OTHERS",
    "PRIMITIVES",
    "Grad",
    "Primitive",
    "arithmetic",
    "elementwise",
    "gamma",
    "index",
    "is_primitive",
    "linalg",
    "range_check",
    "reduce",
    "running",
    "shape",
    "special",
]
