"""The package's random number generator: one seed makes initialisation and dropout repeatable."""

from __future__ import annotations

import random as _python_random
from typing import cast

import numpy as np

from .devices import check as check_device

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the generator used by ``tl.randn``/``tl.rand``, ``nn.init`` and dropout.

    >>> import tinygrad_lstm as tl
    >>> _ = tl.manual_seed(0); a = tl.randn(2)
    >>> _ = tl.manual_seed(0); b = tl.randn(2)
    >>> bool((a == b).data.all())
    True
    """
    global _generator
    _generator = np.random.default_rng(seed)
    return _generator


def generator() -> np.random.Generator:
    """The current package-wide generator."""
    return _generator


class Generator:
    """PyTorch's ``torch.Generator``: a random stream of its own, for code that must not disturb (or be
    disturbed by) the package-wide one, e.g. ``random_split(data, [0.8, 0.2], generator=g)``.

    >>> import tinygrad_lstm as tl
    >>> a = tl.Generator().manual_seed(42).rng.random()
    >>> b = tl.Generator().manual_seed(42).rng.random()
    >>> a == b
    True
    """

    def __init__(self, device: object = "cpu") -> None:
        check_device("Generator", device)
        self._seed: int = int(np.random.SeedSequence().entropy) % 2**63  # type: ignore[arg-type]
        self.rng = np.random.default_rng(self._seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from ``seed``; returns the generator, as PyTorch's does."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"Generator.manual_seed: seed must be an int, got {seed!r}")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._seed

    def seed(self) -> int:
        """Restart the stream from a fresh nondeterministic seed, and return that seed."""
        self._seed = int(np.random.SeedSequence().entropy) % 2**63  # type: ignore[arg-type]
        self.rng = np.random.default_rng(self._seed)
        return self._seed


def numpy_generator(op: str, generator: Generator | np.random.Generator | None) -> np.random.Generator:
    """The NumPy stream to draw from: ``generator``'s, or the package-wide one for None."""
    if generator is None:
        return _generator
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(
        f"{op}: generator must be a tl.Generator or a numpy.random.Generator, got {type(generator).__name__}"
    )


class Draws:
    """The package's generator, NumPy's global one and Python's ``random`` as they are now: whether
    something drew from one since (``changed``), and putting them back (``restore``). A recorded
    step refuses draws by it, ``tl.func.vmap`` runs each row from the same draws with it."""

    def __init__(self) -> None:
        self.generator = generator()
        self.state = self.generator.bit_generator.state
        self.legacy = cast(tuple, np.random.get_state())  # the legacy tuple (the stubs say a dict)
        self.python = _python_random.getstate()

    def changed(self) -> bool:
        legacy = cast(tuple, np.random.get_state())
        return (
            generator() is not self.generator
            or self.generator.bit_generator.state != self.state
            or legacy[2:] != self.legacy[2:]
            or not np.array_equal(legacy[1], self.legacy[1])
            or _python_random.getstate() != self.python
        )

    def restore(self) -> None:
        global _generator
        _generator = self.generator
        self.generator.bit_generator.state = self.state
        np.random.set_state(self.legacy)
        _python_random.setstate(self.python)
