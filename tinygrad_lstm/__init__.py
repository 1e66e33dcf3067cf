"""tinygrad_lstm: a tape-based NumPy autograd engine for seeing backpropagation through time.

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.Tensor(np.ones((2, 2)), requires_grad=True)
>>> loss = (tl.Tensor(np.eye(2)) @ w).tanh().sum()
>>> loss.backward()
>>> w.grad.shape
(2, 2)
"""

import numpy as np

from . import blas, demos, func, nn, optim, viz
from .backward import backward, grad
from .checkpoint import checkpoint
from .compiler import CompileError, compile
from .dtypes import get_default_dtype, set_default_dtype
from .function import Function, FunctionContext, once_differentiable
from .gradcheck import GradcheckError, gradcheck
from .instruments.anomaly import AnomalyError, detect_anomaly
from .instruments.memory import memory_by_step, memory_table
from .instruments.probes import probe_gradients
from .instruments.reach import record_reach
from .instruments.recording import Tape
from .instruments.trace import BackwardTrace, trace_backward
from .ops import (
    abs,
    arange,
    as_tensor,
    atan,
    cat,
    clip,
    cos,
    cumsum,
    erf,
    erfc,
    exp,
    expm1,
    eye,
    flip,
    from_numpy,
    full,
    gather,
    linspace,
    log,
    log1p,
    maximum,
    minimum,
    ones,
    ones_like,
    rand,
    randn,
    reciprocal,
    relu,
    sigmoid,
    sin,
    split,
    sqrt,
    stack,
    tanh,
    tensor,
    tril,
    triu,
    where,
    zeros,
    zeros_like,
)
from .random import manual_seed
from .serialize import load, save
from .spellings import (
    bmm,
    clamp,
    log_softmax,
    logsumexp,
    matmul,
    max,
    mean,
    min,
    mm,
    prod,
    rand_like,
    randn_like,
    reshape,
    softmax,
    squeeze,
    sum,
    transpose,
    unbind,
    unsqueeze,
)
from .subscripts import einsum
from .tape import enable_grad, inference_mode, is_grad_enabled, no_grad, scope, set_grad_enabled
from .tensor import Tensor
from .transforms import hessian, hvp, jacobian, jvp, vhp, vjp
from .vjpcheck import VJPCheck, check_vjps

__version__ = "0.1.0"

# PyTorch's dtype names, as the NumPy dtypes they are: tl.zeros(3, dtype=tl.float32)
float16, float32, float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
half, float, double = float16, float32, float64  # noqa: A001 - torch.float is float32
int32, int64, long, bool = np.dtype(np.int32), np.dtype(np.int64), np.dtype(np.int64), np.dtype(np.bool_)  # noqa: A001

__all__ = [
    "Function",
    "FunctionContext",
    "once_differentiable",
    "GradcheckError",
    "VJPCheck",
    "check_vjps",
    "checkpoint",
    "hessian",
    "hvp",
    "vhp",
    "jacobian",
    "jvp",
    "vjp",
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
    "get_default_dtype",
    "set_default_dtype",
    "backward",
    "grad",
    "load",
    "manual_seed",
    "blas",
    "demos",
    "func",
    "nn",
    "optim",
    "probe_gradients",
    "record_reach",
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
    # PyTorch's spellings
    "abs",
    "as_tensor",
    "bool",
    "double",
    "exp",
    "eye",
    "float",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "half",
    "inference_mode",
    "int32",
    "int64",
    "linspace",
    "log",
    "long",
    "relu",
    "set_grad_enabled",
    "sigmoid",
    "sqrt",
    "tanh",
    "atan",
    "erf",
    "erfc",
    "cos",
    "cumsum",
    "einsum",
    "expm1",
    "reciprocal",
    "flip",
    "gather",
    "log1p",
    "prod",
    "sin",
    "bmm",
    "clamp",
    "matmul",
    "max",
    "mean",
    "min",
    "mm",
    "rand_like",
    "randn_like",
    "reshape",
    "squeeze",
    "sum",
    "transpose",
    "unbind",
    "unsqueeze",
    "tril",
    "triu",
]
