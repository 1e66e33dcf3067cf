"""Variable-length batches as PyTorch packs them: ``pad_sequence``, ``pack_padded_sequence``,
``pad_packed_sequence`` and the ``PackedSequence`` that ``RNN``/``LSTM``/``GRU`` take and return.

A packed batch stores, time step by time step, the rows of the sequences still running, longest
sequence first; ``batch_sizes[t]`` says how many. Packing and unpacking are recorded (slices and
joins), so gradients flow through them to the padded input.

>>> import numpy as np, tinygrad_lstm as tl
>>> from tinygrad_lstm.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
>>> x = tl.tensor(np.arange(6.0).reshape(3, 2, 1))  # (seq, batch, features); lengths 3 and 2
>>> packed = pack_padded_sequence(x, [3, 2])
>>> packed.data.reshape(-1).tolist(), packed.batch_sizes.tolist()
([0.0, 1.0, 2.0, 3.0, 4.0], [2, 2, 1])
>>> padded, lengths = pad_packed_sequence(packed)
>>> padded[:, 1, 0].tolist(), lengths.tolist()
([1.0, 3.0, 0.0], [3, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ... import ops
from ...tensor import Tensor

__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence"]


class PackedSequence(NamedTuple):
    """``data`` (sum of lengths, *features), ``batch_sizes`` (int64, one per step), and the
    permutation that sorted the batch by length (None when it came sorted)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def _lengths(lengths, batch: int, steps: int) -> np.ndarray:
    lengths = np.asarray(ops._values("pack_padded_sequence: lengths", lengths)).reshape(-1)
    if lengths.shape != (batch,) or (lengths.size and lengths.dtype.kind not in "iu"):
        raise ValueError(
            f"pack_padded_sequence: lengths must be {batch} integers (one per sequence), got {lengths.dtype} "
            f"of shape {lengths.shape}"
        )
    if lengths.size and (lengths.min() < 1 or lengths.max() > steps):
        raise ValueError(f"pack_padded_sequence: lengths must lie in [1, {steps}], got {lengths.tolist()}")
    return lengths.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:  # noqa: A002
    """Pack a padded batch (seq, batch, *) (or (batch, seq, *) with ``batch_first``) whose sequence
    b has ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must not increase."""
    x = input if isinstance(input, Tensor) else Tensor(input)
    if x.ndim < 2:
        raise ValueError(f"pack_padded_sequence: input of shape {x.shape} needs a time and a batch axis")
    if batch_first:
        x = ops.swapaxes(x, 0, 1)
    steps, batch = x.shape[0], x.shape[1]
    lengths = _lengths(lengths, batch, steps)
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(
                f"pack_padded_sequence: lengths {lengths.tolist()} are not sorted longest first; sort the "
                "batch or pass enforce_sorted=False"
            )
        order, sorted_indices, unsorted_indices = np.arange(batch), None, None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = Tensor(order.astype(np.int64))
        unsorted_indices = Tensor(np.argsort(order).astype(np.int64))
    return _pack(x, lengths, order, sorted_indices, unsorted_indices)


def _pack(x: Tensor, lengths: np.ndarray, order: np.ndarray, sorted_indices, unsorted_indices) -> PackedSequence:
    """Pack (seq, batch, *) ``x`` taking the batch in ``order`` (longest first)."""
    running = lengths[order]
    batch_sizes = np.array([int((running > t).sum()) for t in range(int(running[0]))], dtype=np.int64)
    rows = [ops.getitem(x, (t, order[:n])) for t, n in enumerate(batch_sizes)]
    return PackedSequence(ops.cat(rows, axis=0), Tensor(batch_sizes), sorted_indices, unsorted_indices)


def pack_like(padded: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
    """Pack (seq, batch, *) ``padded`` in the same order as ``like`` (a layer's output, packed as its input was)."""
    order = np.arange(padded.shape[1]) if like.sorted_indices is None else np.asarray(like.sorted_indices.data)
    return _pack(padded, np.asarray(lengths.data), order, like.sorted_indices, like.unsorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, Tensor]:
    """Undo :func:`pack_padded_sequence`: ``(padded, lengths)``, the batch back in its original order."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got {type(sequence).__name__}")
    data, sizes = sequence.data, np.asarray(sequence.batch_sizes.data)
    batch, steps = int(sizes[0]), len(sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"pad_packed_sequence: total_length={total_length} is shorter than the longest sequence ({steps})"
            )
        steps = total_length
    features = data.shape[1:]
    pad_row = np.full((1, *features), padding_value, dtype=data.dtype)
    starts = np.concatenate([[0], np.cumsum(sizes)])
    back = None if sequence.unsorted_indices is None else np.asarray(sequence.unsorted_indices.data)
    rows = []
    for t in range(steps):
        n = int(sizes[t]) if t < len(sizes) else 0
        pieces = [ops.getitem(data, slice(int(starts[t]), int(starts[t]) + n))] if n else []
        if n < batch:
            pieces.append(Tensor(np.repeat(pad_row, batch - n, axis=0)))
        row = ops.cat(pieces, axis=0) if len(pieces) > 1 else pieces[0]
        rows.append(row if back is None else ops.getitem(row, back))
    padded = ops.stack(rows, axis=0)
    lengths = (sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)
    if back is not None:
        lengths = lengths[back]
    return (ops.swapaxes(padded, 0, 1) if batch_first else padded), Tensor(lengths)


def pad_sequence(
    sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"
) -> Tensor:
    """Stack sequences of different lengths (each (L_i, *)) into (max L, batch, *), padding the rest."""
    sequences = [s if isinstance(s, Tensor) else Tensor(s) for s in sequences]
    if not sequences:
        raise ValueError("pad_sequence: got an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    tails = {s.shape[1:] for s in sequences}
    if len(tails) != 1 or any(s.ndim == 0 for s in sequences):
        raise ValueError(f"pad_sequence: sequences differ beyond their length: {[s.shape for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            pad = Tensor(np.full((missing, *s.shape[1:]), padding_value, dtype=s.dtype))
            s = ops.cat([s, pad] if padding_side == "right" else [pad, s], axis=0)
        padded.append(s)
    return ops.stack(padded, axis=0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences of different lengths (each (L_i, *))."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
