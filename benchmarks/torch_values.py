"""PyTorch values as this engine's, for the probes that run PyTorch's sample inputs through both
(``opinfo_probe.py``, ``moduleinfo_probe.py``)."""

import numpy as np
import torch

import tinygrad_lstm as tl

DTYPES = {
    torch.float64: tl.float64,
    torch.float32: tl.float32,
    torch.int64: np.int64,
    torch.bool: np.bool_,
    torch.int32: np.int32,
    torch.float16: np.float16,
}


def to_tl(v, leaves):
    """A torch value as this engine's; the tensors that require grad are collected (torch, tl) in leaves."""
    if isinstance(v, torch.Tensor):
        t = tl.tensor(v.detach().numpy().copy(), requires_grad=v.requires_grad)
        if v.requires_grad:
            leaves.append((v, t))
        return t
    if isinstance(v, torch.dtype):
        return DTYPES.get(v, v)
    if isinstance(v, (list, tuple)):
        out = [to_tl(x, leaves) for x in v]
        return type(v)(out) if isinstance(v, tuple) else out
    if isinstance(v, dict):
        return {k: to_tl(x, leaves) for k, x in v.items()}
    return v


def flat(out):
    """Nested tuples and lists of outputs as one flat list."""
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in flat(o)]
    return [out]


def npy(t):
    """A torch or tl tensor's values as a NumPy array."""
    if isinstance(t, torch.Tensor):
        return t.detach().numpy(force=True)
    return np.asarray(t.data)
