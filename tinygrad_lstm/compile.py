"""``tl.compile``: record a step's tape once, then replay it for new inputs of the same shapes.

A tape is a program. The first call runs the function normally while recording every entry and
where each input came from; later calls with the same input shapes run the recorded forward
functions (``fwd(p, *arrays)``, kept on each entry) straight on NumPy arrays, refresh the arrays the
VJPs will read, and hand back a loss whose ``backward()`` is the usual sweep over the same entries.
No Tensor or tape entry is built per op, which is where a small LSTM spends most of its time.

>>> import numpy as np, tinygrad_lstm as tl
>>> lstm, head = tl.nn.LSTM(2, 8), tl.nn.Linear(8, 1)
>>> def loss_fn(x, y):
...     out, _ = lstm(x)
...     return tl.nn.functional.mse_loss(head(out[-1]), y)
>>> step = tl.compile(loss_fn)
>>> x, y = tl.randn(5, 3, 2, dtype=np.float32), tl.zeros(3, 1, dtype=np.float32)
>>> loss = step(x, y)          # traces
>>> loss.backward()
>>> loss = step(x, y)          # replays
>>> loss.backward()
>>> step.replays
1

What is replayed is what was recorded: Python control flow that depends on input values, random
draws (dropout) and inputs used as indices (class targets, token ids) cannot be. Dropout and integer
inputs raise when the step is compiled; a new input shape or dtype records a new program. A replayed
forward runs no instruments (Tape recordings, source lines, detect_anomaly's forward check); its
backward is the usual sweep, so hooks set while recording, ``trace_backward`` and the backward
anomaly check still run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .backward import accumulate_into, add_gradient, freed_error
from .tape import Leaf, Node, state
from .tensor import Tensor

_FROM_ENTRY, _FROM_LEAF, _FROM_INPUT, _CONSTANT = range(4)


class CompileError(RuntimeError):
    """The step cannot be replayed faithfully; the message says why."""


class _InputLeaf(Leaf):
    """Marks a step input while tracing, so every op that reads it is recorded."""

    __slots__ = ("position",)

    def __init__(self, tensor, position: int) -> None:
        super().__init__(tensor)
        self.position = position
        self.name = f"input{position}"


class Program:
    """One recorded step: its entries in tape order, and where each entry's inputs come from."""

    def __init__(self, entries: list, raw_inputs: dict[int, tuple], input_arrays: list, output: Tensor) -> None:
        position = {id(e): k for k, e in enumerate(entries)}
        input_ids = {id(a): i for i, a in enumerate(input_arrays)}
        needs_grad = []
        self.steps = []
        for e in entries:
            sources = []
            for parent, raw in zip(e.parents, raw_inputs[id(e)]):
                if parent is None:
                    sources.append((_FROM_INPUT, input_ids[id(raw)]) if id(raw) in input_ids else (_CONSTANT, raw))
                elif isinstance(parent, _InputLeaf):
                    sources.append((_FROM_INPUT, parent.position))
                elif isinstance(parent, Leaf):
                    sources.append((_FROM_LEAF, parent))
                elif id(parent) in position:
                    sources.append((_FROM_ENTRY, position[id(parent)]))
                else:
                    raise CompileError(
                        f"compile: entry {e.op} reads a result computed before the step ({parent.op}, "
                        f"tape index {parent.index}); pass it to the step as an input or detach it"
                    )
            _check_not_an_index(e, input_arrays)
            grad = any(kind == _FROM_LEAF or (kind == _FROM_ENTRY and needs_grad[ref]) for kind, ref in sources)
            needs_grad.append(grad)
            # the VJPs skip inputs whose parent is None: mask what needs no gradient
            e.parents = tuple(
                p if (kind == _FROM_LEAF or (kind == _FROM_ENTRY and needs_grad[ref])) else None
                for p, (kind, ref) in zip(e.parents, sources)
            )
            self.steps.append((e, e.fwd, e.p, tuple(sources), e.ins is not None, e.out is not None, grad))
        self.n_inputs = len(input_arrays)
        self.output_position = position.get(id(output._node))
        if self.output_position is None or not needs_grad[self.output_position]:
            raise CompileError("compile: the step's result does not depend on any parameter")
        # free each intermediate after its last reader, as eager execution would
        last_use = list(range(len(entries)))
        for k, (_, _, _, sources, *_rest) in enumerate(self.steps):
            for kind, ref in sources:
                if kind == _FROM_ENTRY:
                    last_use[ref] = k
        self.release = [[] for _ in entries]
        for ref, k in enumerate(last_use):
            if ref != self.output_position:
                self.release[k].append(ref)
        self._lay_out_slots(len(entries))
        root = self.steps[self.output_position][0]
        root.program = self
        # only the result escapes a step, so only it (and entries hooked while recording) can have hooks
        self.watched = [root] + [e for e, *_ in self.steps if e.hooks or e.retain is not None]

    def _lay_out_slots(self, n: int) -> None:
        """One flat list holds every value a replay reads: entry outputs, then the inputs, then the
        constants and parameters, so each entry's arguments are plain list lookups."""
        extra: dict[int, int] = {}
        self.template: list = [None] * (n + self.n_inputs)
        self.leaf_slots: list = []
        self.arg_slots = []
        for _, _, _, sources, *_rest in self.steps:
            slots = []
            for kind, ref in sources:
                if kind == _FROM_ENTRY:
                    slots.append(ref)
                elif kind == _FROM_INPUT:
                    slots.append(n + ref)
                else:
                    if id(ref) not in extra:
                        extra[id(ref)] = len(self.template)
                        self.template.append(ref if kind == _CONSTANT else None)
                        if kind == _FROM_LEAF:
                            self.leaf_slots.append((extra[id(ref)], ref))
                    slots.append(extra[id(ref)])
            self.arg_slots.append(tuple(slots))

    def has_hooks(self) -> bool:
        return any(e.hooks or e.retain is not None for e in self.watched)

    def backward(self, seed: np.ndarray) -> None:
        """The sweep over the recorded entries in reverse tape order, with no heap and no lookups:
        the same sums in the same order as :func:`~tinygrad_lstm.backward.sweep`, so the same bits."""
        buffers: dict = {self.output_position: seed}
        owned: set = set()
        leaves: dict = {}
        for k in range(self.output_position, -1, -1):
            entry, _, _, sources, _, _, grad = self.steps[k]
            g = buffers.pop(k, None)
            if g is not None and grad:
                if entry.freed:
                    raise freed_error(entry)
                for (kind, ref), gp in zip(sources, entry.vjp(g, entry)):
                    if gp is None or kind == _FROM_INPUT or kind == _CONSTANT:
                        continue
                    target = self.steps[ref][0] if kind == _FROM_ENTRY else ref
                    if add_gradient(buffers, owned, ref, gp, target.shape, target.dtype) and kind == _FROM_LEAF:
                        leaves[ref] = None
            entry.free()
        for leaf in leaves:
            tensor = leaf.tensor()
            if tensor is not None:
                accumulate_into(tensor, buffers[leaf], False)

    def run(self, arrays: list[np.ndarray]) -> Tensor:
        """Replay the forward pass on new input arrays; the result's backward() is the usual sweep."""
        n = len(self.steps)
        values = list(self.template)
        values[n : n + self.n_inputs] = arrays
        for slot, leaf in self.leaf_slots:
            values[slot] = leaf.tensor().data  # read now: optimizers may have replaced it
        for k, (entry, fwd, p, _, keep_in, keep_out, grad) in enumerate(self.steps):
            args = [values[i] for i in self.arg_slots[k]]
            out = fwd(p, *args)
            if type(out) is not np.ndarray:
                out = np.asarray(out)
            values[k] = out
            if grad:
                entry.ins = tuple(args) if keep_in else None
                entry.out = out if keep_out else None
                entry.p = p
                entry.freed = False
            for ref in self.release[k]:
                values[ref] = None
        root = self.steps[self.output_position][0]
        return Tensor._from(values[self.output_position], root)


def _check_not_an_index(entry, input_arrays: list) -> None:
    params = entry.p if isinstance(entry.p, tuple) else (entry.p,)
    flat = []
    for v in params:
        flat.extend(v if isinstance(v, tuple) else (v,))
    for v in flat:
        if isinstance(v, np.ndarray) and any(v is a or (v.base is not None and v.base is a) for a in input_arrays):
            raise CompileError(
                f"compile: an input is used as an index or mask by {entry.op}; a replay would reuse the "
                "first call's values. Run this step without tl.compile"
            )


class CompiledStep:
    """What :func:`compile` returns: call it like the function; it records once per input signature."""

    def __init__(self, fn: Callable[..., Tensor]) -> None:
        self.fn = fn
        self.programs: dict[tuple, Program] = {}
        self.replays = 0

    def __call__(self, *inputs) -> Tensor:
        arrays = [np.asarray(x.data if isinstance(x, Tensor) else x) for x in inputs]
        signature = tuple((a.shape, a.dtype.str) for a in arrays)
        program = self.programs.get(signature)
        if program is not None:
            self.replays += 1
            return program.run(arrays)
        return self._trace(arrays, signature)

    def _trace(self, arrays: list[np.ndarray], signature: tuple) -> Tensor:
        if not state.grad_enabled:
            raise CompileError("compile: a step is recorded for backward; call it outside no_grad()")
        wrapped = []
        for i, a in enumerate(arrays):
            if a.dtype.kind not in "fc":
                raise CompileError(
                    f"compile: input {i} holds {a.dtype} values (indices or class targets); a replay would "
                    "reuse the first call's values as an index. Run this step without tl.compile"
                )
            t = Tensor._from(a)
            t._node = _InputLeaf(t, i)
            wrapped.append(t)
        entries: list = []
        raw_inputs: dict[int, tuple] = {}

        def keep(node: Node, args, out) -> None:
            entries.append(node)
            raw_inputs[id(node)] = tuple(args)

        state.instruments.append(keep)
        state.compiling += 1
        try:
            result = self.fn(*wrapped)
        finally:
            state.compiling -= 1
            state.instruments.remove(keep)
        if not isinstance(result, Tensor):
            raise CompileError(f"compile: the step must return a Tensor (its loss), got {type(result).__name__}")
        self.programs[signature] = Program(entries, raw_inputs, arrays, result)
        return result


def compile(fn: Callable[..., Tensor]) -> CompiledStep:  # noqa: A001 - the verb users expect
    """Record ``fn(*inputs) -> loss`` once per input shape and replay it afterwards (see module doc)."""
    return CompiledStep(fn)
