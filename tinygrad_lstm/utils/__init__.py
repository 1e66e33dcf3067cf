"""``tl.utils``: PyTorch's ``torch.utils`` pieces that a training script reaches for (``tl.utils.data``,
``tl.utils.checkpoint``)."""

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
