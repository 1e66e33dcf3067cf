"""``tl.utils.checkpoint``: PyTorch's ``torch.utils.checkpoint`` names for the engine's checkpointing
(``tl.checkpoint``: run a function, free what it saved, run it again when backward needs it).

>>> import numpy as np, tinygrad_lstm as tl
>>> from tinygrad_lstm.utils.checkpoint import checkpoint_sequential
>>> model = tl.nn.Sequential(tl.nn.Linear(3, 3), tl.nn.Tanh(), tl.nn.Linear(3, 1))
>>> x = tl.ones(2, 3, requires_grad=True)
>>> checkpoint_sequential(model, 2, x, use_reentrant=False).shape
(2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..checkpoint import checkpoint

__all__ = ["checkpoint", "checkpoint_sequential"]


def checkpoint_sequential(
    functions: Any,
    segments: int,
    input: Any,
    use_reentrant: bool | None = None,
    **kwargs: Any,  # noqa: A002
) -> Any:
    """Run ``functions`` (an ``nn.Sequential``, or a list of modules or functions) in ``segments``
    pieces, each but the last checkpointed, as ``torch.utils.checkpoint.checkpoint_sequential``."""
    layers: Sequence = list(functions.children()) if hasattr(functions, "children") else list(functions)
    if not isinstance(segments, int) or isinstance(segments, bool) or segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be a whole number >= 1, got {segments!r}")
    size = len(layers) // segments  # segments - 1 pieces of this size, checkpointed; the rest plain

    def run(start: int, end: int):
        def piece(x):
            for layer in layers[start:end]:
                x = layer(x)
            return x

        return piece

    end = 0
    for start in range(0, size * (segments - 1), size) if size else ():
        end = start + size
        input = checkpoint(run(start, end), input, use_reentrant=use_reentrant, **kwargs)
    return run(end, len(layers))(input)
