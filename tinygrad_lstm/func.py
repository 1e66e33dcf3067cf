"""``tl.func``: PyTorch's ``torch.func`` names that fit this engine."""

from .nn.module import functional_call

__all__ = ["functional_call"]
