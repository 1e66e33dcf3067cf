"""``tl.utils``: PyTorch's ``torch.utils`` pieces that a training script reaches for (``tl.utils.data``)."""

from . import data

__all__ = ["data"]
