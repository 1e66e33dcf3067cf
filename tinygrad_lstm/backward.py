"""The backward sweep: reverse mode over the tape, in decreasing tape index; then, in one place,
how contributions to one gradient are summed.

A max-heap keyed by tape index hands out entries child-before-parent, so every contribution to an
entry's gradient is summed before that entry's VJP runs, exactly once. No recursion: a chain of
100,000 ops is just 100,000 pops.
"""

from __future__ import annotations

import heapq
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops import stack
from .primitives.index import IndexedGrad
from .tape import _GradMode, guard, number, state
from .tensor import Tensor
from .versions import changed_in_place, check_saved
from .versions import latest as changed_last


class _RecordedContext:
    """A tape entry's saved values as graph-connected Tensors, for ``create_graph=True``."""

    __slots__ = ("ins", "out", "p", "parents")

    def __init__(self, entry) -> None:
        self.parents = entry.parents
        self.p = entry.p
        self.out = None if entry.out is None else Tensor._from(entry.out, entry)
        self.ins = None
        if entry.ins is not None:
            self.ins = tuple(
                Tensor._from(x, parent) if parent is not None and x is not None else x
                for x, parent in zip(entry.ins, entry.parents)
            )


def _run_hooks(entry, g, create_graph: bool):
    for fn in list(entry.hooks):
        result = fn(tensor_of(g))
        if result is not None:
            result = tensor_of(result)
            if result.shape != entry.shape:
                name = getattr(fn, "__name__", "hook")
                raise RuntimeError(
                    f"hook {name} on {entry.name or entry.op} (%{number(entry)}) returned a gradient of "
                    f"shape {result.shape} for a value of shape {entry.shape}"
                )
            if result.dtype != entry.dtype:
                result = result.astype(entry.dtype)
            g = result if create_graph else result.data
    return g


def sweep(
    roots: Sequence[Tensor],
    seeds: Sequence[Any],
    retain_graph: bool,
    create_graph: bool,
    capture: dict | None = None,
) -> None:
    """Propagate ``seeds`` from ``roots`` to every ancestor.

    With ``capture`` (entry -> None), the total gradient reaching each listed entry is stored there
    and leaves' ``.grad`` are left alone (that is ``tl.grad``); otherwise leaves accumulate ``.grad``.
    A capturing sweep runs only the entries between the roots and the captured ones, as PyTorch's
    ``autograd.grad`` does: below them no hook fires and nothing is freed.
    Grad mode is ``create_graph`` while it runs, as in PyTorch: under ``tl.no_grad()``,
    ``create_graph=True`` still records the VJPs, and hooks record nothing without it.
    """
    with _GradMode(create_graph):
        _sweep(roots, seeds, retain_graph, create_graph, capture)


def _sweep(roots, seeds, retain_graph: bool, create_graph: bool, capture: dict | None) -> None:
    buffers: dict = {}  # entry -> its gradient so far
    owned: set = set()  # entries whose buffer the sweep allocated, so it may add in place
    heap: list = []
    leads: set | None = None  # with capture: the entries the sweep visits, and those whose VJP runs
    between: set = set()
    if capture is not None:
        leads, between = _between(roots, capture)

    for root, seed in zip(roots, seeds):
        entry = root._entry
        if leads is not None and entry not in leads:
            continue
        if add_gradient(buffers, owned, entry, seed, entry.shape, entry.dtype, not create_graph):
            heapq.heappush(heap, (-entry.index, entry))
    observers, capturing = state.observers, capture is not None  # observers: trace_backward, detect_anomaly
    heappop, heappush, in_place = heapq.heappop, heapq.heappush, not create_graph

    while heap:
        _, entry = heappop(heap)
        g = buffers.pop(entry)
        owned.discard(entry)
        if entry.hooks:
            g = _run_hooks(entry, g, create_graph)
        if capture is not None:
            if entry in capture:
                capture[entry] = g
            if entry not in between:  # nothing captured lies below it
                continue
        if entry.vjp is None:  # a leaf: the sweep ends here
            for observe in observers:
                observe(entry, g, ())
            tensor = entry.tensor()
            if not capturing and tensor is not None:
                accumulate_into(tensor, g, create_graph)
            continue
        # an entry that saved nothing runs again as it is (PyTorch's rule); one of a checkpointed
        # segment is recomputed with the rest of its segment, which keeps the segments' order
        while entry.freed and (not entry.kept_nothing or entry.recompute is not None):
            recompute = entry.recompute
            if recompute is None:
                raise freed_error(entry)
            recompute.refill()  # (inside nested checkpoints, the outer run leaves the inner one to refill)
            if entry.freed and entry.recompute is recompute:
                raise freed_error(entry)
        if entry.replay is not None:  # one call's result of a replayed step: do the entries below hold it?
            entry.replay.check_current(entry, "backward", sweeping=True)
        if entry.index < changed_last[0]:  # something was changed in place since: were this VJP's arrays?
            check_saved(entry)
        if entry.retain is not None and not capturing:
            tensor = entry.retain()
            if tensor is not None:
                accumulate_into(tensor, g, create_graph)
        grads = entry.vjp(g, _RecordedContext(entry) if create_graph else entry)
        for observe in observers:  # before free(): they may read what the VJP read
            observe(entry, g, grads)
        if not retain_graph:
            entry.free()  # before the sums below: the saved arrays need not outlive the VJP
        for parent, gp in zip(entry.parents, grads):
            if parent is None or gp is None or (leads is not None and parent not in leads):
                continue
            if type(gp) is not IndexedGrad and gp.shape != parent.shape:
                raise RuntimeError(
                    f"backward: the VJP of {entry.op} (entry %{entry.index}) gave a gradient of shape "
                    f"{gp.shape} for an input of shape {parent.shape}"
                )
            if add_gradient(buffers, owned, parent, gp, parent.shape, parent.dtype, in_place):
                heappush(heap, (-parent.index, parent))


def _between(roots: Sequence[Tensor], targets) -> tuple[set, set]:
    """The entries a capturing sweep visits (the targets and the entries above them), and those whose
    VJP it runs (the entries with a target below them, through their parents).
    A parent is always recorded before its child, so one pass in index order decides each entry from its
    parents; nothing older than the oldest target can lead to one, so the search stops there."""
    oldest = min((t.index for t in targets), default=0)
    seen: dict = {}
    stack = [root._entry for root in roots if root._entry is not None]
    while stack:
        entry = stack.pop()
        if entry in seen or entry.index < oldest:
            continue
        seen[entry] = False
        stack.extend(p for p in entry.parents if p is not None)
    leads: set = set()  # targets and the entries above them
    between: set = set()  # entries whose VJP must run: a parent leads to a target
    for entry in sorted(seen, key=lambda e: e.index):
        if any(p in leads for p in entry.parents if p is not None):
            between.add(entry)
            leads.add(entry)
        elif entry in targets:
            leads.add(entry)
    return leads, between


def freed_error(entry) -> RuntimeError:
    return RuntimeError(
        f"backward: entry %{entry.index} ({entry.op}) was freed by an earlier backward; "
        "pass retain_graph=True to the first backward (or tl.grad) to go through it twice"
    )


def _seed(output: Tensor, grad: Any, create_graph: bool, where: str) -> np.ndarray | Tensor:
    if output._entry is None:
        raise RuntimeError(f"{where}: the tensor does not require grad and has no grad_fn")
    if output._entry.replay is not None:
        output._entry.replay.check_current(output._entry, where)
    if grad is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"{where}: grad can be implied only for a scalar output, not shape {output.shape}; "
                "pass grad= (a tensor of the output's shape)"
            )
        seed: np.ndarray | Tensor = np.ones_like(output.data)
    else:
        seed = grad.data if isinstance(grad, Tensor) and not create_graph else grad
        if np.shape(seed) != output.shape:
            raise ValueError(f"{where}: grad of shape {np.shape(seed)} does not match output shape {output.shape}")
        if not isinstance(seed, Tensor):
            seed = np.asarray(seed, dtype=output.dtype)
    if create_graph and not isinstance(seed, Tensor):
        seed = Tensor._from(seed)
    return seed


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """``output.backward(...)``, and PyTorch's ``tl.backward(tensors, grad_tensors)`` for several
    outputs in one sweep: accumulate gradients into the leaves' ``.grad`` (only into the tensors in
    ``inputs``, when given, as PyTorch's ``backward(inputs=...)``)."""
    guard("backward", "backward()")
    if isinstance(tensors, Tensor):
        outputs, grads = [tensors], [grad_tensors]
    else:
        outputs = list(tensors)
        grads = list(grad_tensors) if isinstance(grad_tensors, (list, tuple)) else [grad_tensors] * len(outputs)
        if len(grads) != len(outputs) or not outputs:
            raise ValueError(
                f"backward: {len(grads)} grad_tensors given for {len(outputs)} tensors; give one per tensor "
                "(None for a scalar)"
            )
    seeds = [_seed(y, g, create_graph, "backward") for y, g in zip(outputs, grads)]
    retain = create_graph if retain_graph is None else retain_graph
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for i, x in enumerate(inputs):
            if x._entry is None:
                raise RuntimeError(f"backward: inputs[{i}] (shape {x.shape}) does not require grad")
        capture = {x._entry: None for x in inputs}
        sweep(outputs, seeds, retain, create_graph, capture)
        for x in inputs:
            if capture[x._entry] is not None:
                accumulate_into(x, capture[x._entry], create_graph)
        return
    entry = outputs[0]._entry
    assert entry is not None, "_seed refused a tensor without an entry"
    replay = entry.replay
    alone = len(outputs) == 1
    if alone and replay is not None and not (retain or create_graph or state.observers) and replay.unobserved(entry):
        replay.backward(seeds[0])  # a replay's result with nothing to observe: its precomputed order
        return
    sweep(outputs, seeds, retain, create_graph)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    materialize_grads: bool = False,
    only_inputs: bool = True,
    is_grads_batched: bool = False,
) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated. An input
    the outputs do not depend on is an error, or gets None with ``allow_unused=True``, or zeros with
    ``materialize_grads=True`` (as PyTorch's, which implies ``allow_unused``).

    With ``create_graph=True`` the returned gradients are themselves on the tape, so ``grad`` can be
    applied to them again (Hessian-vector products).

    >>> import numpy as np, tinygrad_lstm as tl
    >>> x = tl.Tensor(np.array(3.0), requires_grad=True)
    >>> (dx,) = tl.grad(x ** 3, x, create_graph=True)
    >>> (ddx,) = tl.grad(dx, x)
    >>> float(dx), float(ddx)
    (27.0, 18.0)

    ``is_grads_batched=True`` reads each of ``grad_outputs`` as a batch along its first axis and
    returns the gradients stacked along a first axis of the same size (PyTorch vectorizes this; here
    it is one sweep per row, with the graph retained between them). ``only_inputs`` is PyTorch's
    deprecated flag, which has no effect there either.
    """
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads)
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "grad: materialize_grads=True gives zeros for unused inputs; it cannot go with allow_unused=False"
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(
            f"grad: {len(grad_outputs)} grad_outputs given for {len(outputs)} outputs; give one per output "
            "(None for a scalar output)"
        )
    for i, x in enumerate(inputs):
        if x._entry is None:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) does not require grad")
    seeds = [_seed(y, g, create_graph, "grad") for y, g in zip(outputs, grad_outputs)]
    capture = {x._entry: None for x in inputs}
    retain = create_graph if retain_graph is None else retain_graph
    sweep(outputs, seeds, retain, create_graph, capture)
    result: list[Tensor | None] = []
    for i, x in enumerate(inputs):
        g = capture[x._entry]
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} (shape {x.shape}) was not used to compute the outputs; "
                "pass allow_unused=True to get None for it"
            )
        if g is None and materialize_grads:
            result.append(Tensor._from(np.zeros(x.shape, dtype=x.dtype)))
            continue
        if g is not None and not isinstance(g, Tensor):
            g = Tensor._from(np.array(g, dtype=x.dtype))
        result.append(g)
    return tuple(result)


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    batches = [grad_outputs] if not isinstance(grad_outputs, (list, tuple)) else list(grad_outputs)
    if any(b is None for b in batches) or len(batches) != len(outputs):
        raise ValueError("grad: is_grads_batched=True needs one batched tensor in grad_outputs per output")
    sizes = {int(np.shape(b)[0]) if np.ndim(b) else -1 for b in batches}
    if len(sizes) != 1 or -1 in sizes:
        shapes = [tuple(np.shape(b)) for b in batches]
        raise ValueError(
            f"grad: is_grads_batched=True needs grad_outputs batched along one first axis, got shapes {shapes}"
        )
    (n,) = sizes
    if n == 0:
        raise ValueError("grad: is_grads_batched=True with a batch of size 0 has no rows to differentiate")
    rows = [
        grad(outputs, inputs, [b[k] for b in batches], True if k < n - 1 else retain_graph, create_graph,
             allow_unused, materialize_grads)
        for k in range(n)
    ]  # fmt: skip
    return tuple(None if row[0] is None else stack(list(row)) for row in zip(*rows))


# ---- gradient accumulation: how contributions to one gradient are summed, in one place --------------
# Every place that sums gradients must agree to the bit: the backward sweep (``add_gradient``), a
# leaf's ``.grad`` across backward calls (``accumulate_into``), and any program that replays a sweep
# (it writes the same rule as text). The rule: the first contribution is
# kept as it is, since it may be a view or shared with another input; the second is added to it in
# place only if nothing else holds it (``sole_reference``, as PyTorch steals an unshared gradient),
# else into a new array; from then on the buffer is the sweep's own and later ones are added in place.


def tensor_of(g) -> Tensor:
    """``g`` as a Tensor (hooks and create_graph see Tensors; the sweep passes arrays)."""
    return g if isinstance(g, Tensor) else Tensor._from(np.asarray(g))


def accumulate_into(tensor: Tensor, g, create_graph: bool) -> None:
    """Add ``g`` to ``tensor.grad`` (in place when safe, as PyTorch does), then run the leaf's
    post-accumulate hooks."""
    if create_graph:
        g = tensor_of(g)
        # never the caller's own tensor (a seed can reach a leaf unchanged): a later backward adds into .grad
        tensor.grad = Tensor._from(np.array(g.data), g._entry) if tensor.grad is None else tensor.grad + g
    elif tensor.grad is None:
        tensor.grad = Tensor._from(np.array(g, dtype=tensor.data.dtype))  # a copy the user owns
    elif tensor.grad.data.flags.writeable and tensor.grad.shape == np.shape(g):
        tensor.grad.data += g
        changed_in_place(tensor.grad.data)
    else:
        tensor.grad = Tensor._from(np.asarray(tensor.grad.data + g))
    for hook in list(getattr(tensor._entry, "post_hooks", None) or ()):
        if hook(tensor) is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: the hook must return None")


def add_gradient(buffers: dict, owned: set, key, g, shape: tuple, dtype, in_place: bool = True) -> bool:
    """Add the contribution ``g`` (cast to ``dtype``) to ``buffers[key]``; True when ``key`` had none yet.

    The first contribution is kept as it is (it may be a view or shared with another input); the
    second is added to it in place only if nothing else holds it (:func:`sole_reference`), else into
    a new array; from then on the buffer is the sweep's own and later ones are added in place (unless
    ``in_place`` is False: Tensors under ``create_graph`` are never mutated). An IndexedGrad goes
    straight into a zero buffer, so T slices of one array cost T slice-sized adds.
    """
    buf = buffers.get(key)
    if type(g) is IndexedGrad:  # its values are cast by the add
        if buf is None:
            buf = buffers[key] = np.zeros(shape, dtype=dtype)
            owned.add(key)
            g.add_into(buf)
            return True
        if key not in owned:
            buf = buffers[key] = np.array(buf, dtype=dtype)
            owned.add(key)
        g.add_into(buf)
        return False
    if type(g) is not np.ndarray and not isinstance(g, Tensor):
        g = np.asarray(g)  # NumPy arithmetic on 0-d arrays gives scalars, and `scalar += g` only rebinds a name
    if g.dtype is not dtype and g.dtype != dtype:  # e.g. a float64 constant met a float32 input
        g = g.astype(dtype)
    if buf is None:
        buffers[key] = g
        return True
    if key in owned or (in_place and sole_reference(buffers, key, extra=1)):  # `buf` is one more
        buf += g
    else:
        total = buf + g
        buffers[key] = np.asarray(total) if isinstance(total, np.generic) else total
    if in_place:
        owned.add(key)
    return False


def _references(container, key) -> int:
    value = container[key]
    return sys.getrefcount(value)  # the container's, `value`'s and the argument's when nothing else holds it


def _base_references(container, key) -> int:
    base = container[key].base
    return sys.getrefcount(base)  # the view's, `base`'s and the argument's when nothing else holds it


# measured, not assumed: interpreters count differently
_SOLE = _references({0: np.empty(1)}, 0)
_SOLE_BASE = _base_references({0: np.empty((2, 1)).T}, 0)


def sole_reference(container, key, extra: int = 0) -> bool:
    """Whether ``container[key]`` is an array nothing else holds and no view of it exists (beyond
    ``extra`` references the caller holds): then adding to it in place changes
    nothing anyone can see, as PyTorch steals a gradient nobody shares. The first contribution to a
    gradient (say one step's d weight_hh) is often such an array, and summing into it saves a copy.
    A view qualifies when nothing but it holds the array it views (a transposed product)."""
    value = container[key]
    if type(value) is not np.ndarray or not value.flags.writeable or sys.getrefcount(value) != _SOLE + extra:
        return False
    base = value.base
    return base is None or (type(base) is np.ndarray and sys.getrefcount(base) == _SOLE_BASE)
