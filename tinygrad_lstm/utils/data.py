"""``tl.utils.data``: PyTorch's datasets and loader, in the main process.

A ``DataLoader`` draws indices (in order, or shuffled from ``tl.manual_seed``'s generator or the
``generator`` given), fetches those samples from the dataset and stacks them into batches as PyTorch's
default collate does: tensors and NumPy arrays stacked on a new first axis, Python floats into a float64
tensor, ints into int64, and tuples, lists and dicts of those collated field by field.

>>> import tinygrad_lstm as tl
>>> data = tl.utils.data.TensorDataset(tl.arange(10.0).reshape(5, 2), tl.arange(5))
>>> loader = tl.utils.data.DataLoader(data, batch_size=2)
>>> len(loader), [tuple(y.tolist()) for _, y in loader]
(3, [(0, 1), (2, 3), (4,)])
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import ops, random
from ..tensor import Tensor

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate", "default_convert", "random_split"]


class Dataset:
    """A map-style dataset: subclasses give ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__}: a Dataset subclass must define __len__")


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first axis: ``data[i]`` is
    ``(t[i] for t in tensors)``, as a tuple.

    >>> import tinygrad_lstm as tl
    >>> x, y = tl.utils.data.TensorDataset(tl.zeros(4, 3), tl.arange(4))[1]
    >>> x.shape, y.item()
    ((3,), 1)
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give one or more tensors")
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor) or t.ndim == 0:
                what = f"shape {t.shape}" if isinstance(t, Tensor) else type(t).__name__
                raise TypeError(f"TensorDataset: tensor {k} must be a Tensor with a first axis, got {what}")
        shapes = [t.shape for t in tensors]
        if len({s[0] for s in shapes}) != 1:
            raise ValueError(f"TensorDataset: the tensors' first axes differ in size: shapes {shapes}")
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = list(indices)

    def __getitem__(self, index: int) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: random.Generator | np.random.Generator | None = None
) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of ``lengths``: counts that add up to
    ``len(dataset)``, or fractions that add up to 1 (each count then ``floor(n * fraction)``, and the
    items left over handed out one each to the first subsets, as PyTorch does).

    >>> import tinygrad_lstm as tl
    >>> train, test = tl.utils.data.random_split(range(10), [0.7, 0.3], generator=tl.Generator().manual_seed(0))
    >>> len(train), len(test), sorted([*train, *test]) == list(range(10))
    (7, 3, True)
    """
    n = len(dataset)
    lengths = list(lengths)
    if any(isinstance(k, bool) or not isinstance(k, numbers.Real) or k < 0 for k in lengths):
        raise ValueError(f"random_split: lengths must be numbers >= 0, got {lengths}")
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        if any(k > 1 for k in lengths):
            raise ValueError(f"random_split: a fraction must lie between 0 and 1, got {lengths}")
        counts = [math.floor(n * k) for k in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        if 0 in counts:
            warnings.warn(f"random_split: the split of {n} items by {lengths} has an empty subset", stacklevel=2)
    elif all(isinstance(k, numbers.Integral) for k in lengths):
        counts = [int(k) for k in lengths]
    else:
        raise ValueError(f"random_split: lengths {lengths} are neither counts nor fractions that add up to 1")
    if sum(counts) != n:
        raise ValueError(f"random_split: the lengths {lengths} add up to {sum(counts)}, not len(dataset)={n}")
    order = random.numpy_generator("random_split", generator).permutation(n).tolist()
    ends = np.cumsum(counts).tolist()
    return [Subset(dataset, order[end - k : end]) for end, k in zip(ends, counts)]


def default_collate(batch: Sequence[Any]) -> Any:
    """A list of samples as one batch, as PyTorch's ``default_collate``: tensors (and NumPy arrays)
    stacked on a new first axis, floats into a float64 tensor, ints into int64, bools into bool,
    strings left a list; a tuple of fields becomes a list of collated fields (PyTorch's), a dict a dict
    of them."""
    first = batch[0]
    if isinstance(first, Tensor):
        shapes = {t.shape for t in batch}
        if len(shapes) != 1:
            raise ValueError(f"default_collate: cannot stack tensors of shapes {sorted(shapes)} into one batch")
        return ops.stack(list(batch), axis=0)
    if isinstance(first, (np.ndarray, np.generic)):
        if first.dtype.kind in "OSU":
            raise TypeError(f"default_collate: cannot batch NumPy arrays of dtype {first.dtype}")
        return default_collate([Tensor(np.asarray(b)) for b in batch])
    if isinstance(first, bool):
        return ops.tensor(list(batch), dtype=np.bool_)
    if isinstance(first, numbers.Integral):
        return ops.tensor(list(batch), dtype=np.int64)
    if isinstance(first, numbers.Real):
        return ops.tensor(list(batch), dtype=np.float64)
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        return type(first)({key: default_collate([b[key] for b in batch]) for key in first})  # type: ignore[call-arg]
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple keeps its type
        return type(first)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(first, Sequence):
        sizes = {len(b) for b in batch}
        if len(sizes) != 1:
            raise ValueError(f"default_collate: samples of different lengths {sorted(sizes)} cannot be batched")
        fields = [default_collate(list(field)) for field in zip(*batch)]
        return fields if isinstance(first, tuple) else type(first)(fields)  # type: ignore[call-arg]
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


def default_convert(sample: Any) -> Any:
    """One unbatched sample as PyTorch's ``default_convert`` leaves it: NumPy arrays and scalars become
    tensors, a tuple a list (PyTorch's), dicts and namedtuples keep their type; anything else as it is."""
    if isinstance(sample, (np.ndarray, np.generic)) and sample.dtype.kind not in "OSU":
        return Tensor(np.asarray(sample))
    if isinstance(sample, Mapping):
        return type(sample)({k: default_convert(v) for k, v in sample.items()})  # type: ignore[call-arg]
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(default_convert(v) for v in sample))
    if isinstance(sample, Sequence) and not isinstance(sample, (str, bytes)):
        fields = [default_convert(v) for v in sample]
        return fields if isinstance(sample, (tuple, list)) else type(sample)(fields)  # type: ignore[call-arg]
    return sample


class DataLoader:
    """Batches of samples from a dataset, in the main process, as PyTorch's ``DataLoader``.

    ``batch_size=None`` gives the samples one by one, unbatched, each passed through ``collate_fn``
    (default ``default_convert``, as PyTorch's). ``shuffle=True``: a new order each
    epoch (each ``iter``), drawn from ``generator`` or ``tl.manual_seed``'s generator. ``sampler``: any
    iterable of indices (then ``shuffle`` must stay False). ``num_workers`` must be 0: there are no
    worker processes; ``pin_memory`` and the other worker options change nothing here.

    >>> import tinygrad_lstm as tl
    >>> loader = tl.utils.data.DataLoader(list(range(10)), batch_size=4, shuffle=True, drop_last=True)
    >>> len(loader), [b.shape for b in loader]
    (2, [(4,), (4,)])
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable[[int], None] | None = None,
        multiprocessing_context: Any = None,
        generator: random.Generator | np.random.Generator | None = None,
        *,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
    ) -> None:
        if num_workers != 0:
            raise ValueError(
                f"DataLoader: num_workers={num_workers}: there are no worker processes here; "
                "batches are loaded in the main process (num_workers=0)"
            )
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must have __getitem__ and __len__, got {type(dataset).__name__}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1
        ):
            raise ValueError(f"DataLoader: batch_size must be a positive int or None, got {batch_size!r}")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("DataLoader: batch_sampler is exclusive with batch_size, shuffle, sampler and drop_last")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is exclusive with shuffle=True")
        if batch_size is None and drop_last:
            raise ValueError("DataLoader: drop_last=True needs a batch_size (it is None: samples come unbatched)")
        random.numpy_generator("DataLoader", generator)  # refuse a wrong generator now, not at the first batch
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last = drop_last
        self.generator = generator
        self.num_workers = 0
        self.collate_fn = collate_fn if collate_fn is not None else default_collate

    def _indices(self) -> list[int]:
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if self.shuffle:
            return random.numpy_generator("DataLoader", self.generator).permutation(n).tolist()
        return list(range(n))

    def _batches(self) -> Iterator[list[int]]:
        if self.batch_sampler is not None:
            yield from (list(b) for b in self.batch_sampler)
            return
        order, size = self._indices(), self.batch_size or 1
        for start in range(0, len(order), size):
            batch = order[start : start + size]
            if len(batch) < size and self.drop_last:
                return
            yield batch

    def __iter__(self) -> Iterator[Any]:
        for batch in self._batches():
            if self.batch_size is None and self.batch_sampler is None:  # unbatched, as PyTorch's batch_size=None
                convert = default_convert if self.collate_fn is default_collate else self.collate_fn
                yield convert(self.dataset[batch[0]])
            else:
                yield self.collate_fn([self.dataset[i] for i in batch])

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)  # type: ignore[arg-type]
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)  # type: ignore[arg-type]
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
