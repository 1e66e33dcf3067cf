"""tinygrad_lstm: a tape-based NumPy autograd engine for seeing backpropagation through time.

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.Tensor(np.ones((2, 2)), requires_grad=True)
>>> loss = (tl.Tensor(np.eye(2)) @ w).tanh().sum()
>>> loss.backward()
>>> w.grad.shape
(2, 2)
"""

from . import nn, optim, viz
from .anomaly import AnomalyError, detect_anomaly
from .backward import grad
from .compile import CompileError, compile
from .functional import log_softmax, logsumexp, softmax
from .gradcheck import GradcheckError, gradcheck
from .memory import memory_by_step, memory_table
from .ops import (
    arange,
    cat,
    clip,
    full,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    randn,
    split,
    stack,
    tensor,
    where,
    zeros,
    zeros_like,
)
from .probes import probe_gradients
from .random import manual_seed
from .serialize import load, save
from .tape import Tape, enable_grad, is_grad_enabled, no_grad, scope
from .tensor import Tensor
from .trace import BackwardTrace, trace_backward

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "AnomalyError",
    "BackwardTrace",
    "Tape",
    "Tensor",
    "arange",
    "cat",
    "compile",
    "CompileError",
    "clip",
    "detect_anomaly",
    "enable_grad",
    "full",
    "grad",
    "load",
    "manual_seed",
    "nn",
    "optim",
    "probe_gradients",
    "save",
    "viz",
    "gradcheck",
    "is_grad_enabled",
    "log_softmax",
    "logsumexp",
    "maximum",
    "memory_by_step",
    "memory_table",
    "minimum",
    "no_grad",
    "ones",
    "ones_like",
    "rand",
    "randn",
    "scope",
    "softmax",
    "split",
    "stack",
    "tensor",
    "trace_backward",
    "where",
    "zeros",
    "zeros_like",
]
