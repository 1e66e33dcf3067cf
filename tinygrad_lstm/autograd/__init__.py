"""``tl.autograd``: the engine's autograd under PyTorch's ``torch.autograd`` names, so that code written
against ``torch.autograd`` runs with ``torch`` replaced by ``tl``.

Nothing here is new machinery: ``grad`` and ``backward`` are the engine's sweep (``tl.grad``,
``tl.backward``), ``functional`` holds the transforms (``tl.jacobian``, ``tl.hessian``, ...), ``Function``
is ``tl.Function``, and ``gradcheck`` / ``gradgradcheck`` compare with central differences in float64.

>>> import numpy as np, tinygrad_lstm as tl
>>> x = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
>>> (g,) = tl.autograd.grad((x ** 2).sum(), x)
>>> g.tolist()
[2.0, 4.0]
>>> tl.autograd.functional.jacobian(lambda a: a ** 2, x).tolist()
[[2.0, 0.0], [0.0, 4.0]]
"""

from __future__ import annotations

from ..backward import backward, grad
from ..function import Function, FunctionContext, once_differentiable
from ..gradcheck import GradcheckError, gradcheck, gradgradcheck
from ..instruments.anomaly import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from ..tape import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from . import forward_ad, functional, graph

__all__ = [
    "Function",
    "FunctionContext",
    "GradcheckError",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "forward_ad",
    "functional",
    "graph",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
]
