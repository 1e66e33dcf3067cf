"""The package's random number generator: one seed makes initialisation and dropout repeatable."""

from __future__ import annotations

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
