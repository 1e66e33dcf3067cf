"""All parameters as one flat vector and back, with PyTorch's names (``torch.nn.utils``)."""

from __future__ import annotations

from collections.abc import Iterable

from ... import ops
from ...tape import guard
from ...tensor import Tensor
from ...versions import changed_in_place


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined into one 1-D tensor, in order; recorded, so a loss of the
    vector sends gradients back to each parameter.

    >>> import tinygrad_lstm as tl
    >>> tl.nn.utils.parameters_to_vector(tl.nn.Linear(3, 2).parameters()).shape
    (8,)
    """
    params = list(parameters)
    for k, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameters_to_vector: parameter {k} is a {type(p).__name__}, not a Tensor")
    if not params:
        raise ValueError("parameters_to_vector: no parameters given")
    return ops.cat([p.reshape(-1) for p in params], axis=0)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place, outside the tape
    (each slice cast to its parameter's dtype). ``vec`` must hold exactly as many numbers as the
    parameters; checked before any is written. PyTorch makes the parameters views of ``vec``; here
    they keep their own memory."""
    guard("side effect", "vector_to_parameters()")
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: vec must be a Tensor, got {type(vec).__name__}")
    params = list(parameters)
    sizes = [p.size for p in params]
    if vec.ndim != 1 or vec.shape[0] != sum(sizes):
        raise ValueError(
            f"vector_to_parameters: vec of shape {vec.shape} does not hold the {sum(sizes)} numbers of "
            f"the parameters of shapes {[p.shape for p in params]}"
        )
    start = 0
    for p, n in zip(params, sizes):
        p.data[...] = vec.data[start : start + n].reshape(p.shape)
        changed_in_place(p.data)
        start += n
