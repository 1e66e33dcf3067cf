"""``tl.compile``: a step recorded once and replayed as straight-line Python (``step.py``), the
program it writes (``program.py``) and what that program runs as one call (``fusion.py``)."""

from ..tape import CompileError
from .step import CompiledStep, compile

__all__ = ["CompileError", "CompiledStep", "compile"]
