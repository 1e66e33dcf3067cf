"""``tl.backends``: PyTorch's switches for its accelerator backends; none of them is here.

``tl.backends.cudnn.deterministic = True`` and ``benchmark = False`` may be set, as reproducibility
boilerplate does; they change nothing, since every result here is computed by NumPy on the CPU.

>>> import tinygrad_lstm as tl
>>> tl.backends.mps.is_available(), tl.backends.cudnn.is_available()
(False, False)
"""

from __future__ import annotations


class _Absent:
    """A backend that is not built into this engine."""

    def __init__(self, name: str) -> None:
        self.name = name

    def is_available(self) -> bool:
        """False: this backend is not here."""
        return False

    def is_built(self) -> bool:
        """False: this engine was not built with it."""
        return False

    def __repr__(self) -> str:
        return f"<tl.backends.{self.name}: not available>"


class _Cudnn(_Absent):
    """cuDNN's switches, kept as plain attributes so that seed-setting boilerplate runs."""

    def __init__(self) -> None:
        super().__init__("cudnn")
        self.enabled = False
        self.deterministic = False
        self.benchmark = False


mps = _Absent("mps")
cudnn = _Cudnn()
