"""``tl.autograd.functional``: PyTorch's ``torch.autograd.functional`` names for the engine's transforms
(``tinygrad_lstm/transforms.py`` says how each is computed from ``tl.grad``)."""

from ..transforms import hessian, hvp, jacobian, jvp, vhp, vjp

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]
