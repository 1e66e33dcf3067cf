"""``tl.compile``: a step recorded once and replayed as straight-line Python (``step.py``), the
program it writes (``program.py``), what that program runs as one call (``fusion.py``) and, with
numba, as one generated kernel (``kernels.py``)."""

from .errors import CompileError
from .step import CompiledStep, compile

__all__ = ["CompileError", "CompiledStep", "compile"]
