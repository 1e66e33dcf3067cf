"""``tl.compile``: record a step's tape once, then replay it for new inputs of the same shapes.

A tape is a program, and here it is written out as one. The first call runs the function normally
while recording every entry and where each of its inputs came from. From that record a
:class:`~tinygrad_lstm.compiler.program.Program` writes two straight-line Python functions:
``forward`` calls each entry's forward function (``fwd(p, *arrays)``, kept on every entry) on plain
NumPy arrays and hands each entry the arrays its VJP will read; ``backward`` is the backward sweep
unrolled, each VJP in reverse tape order and each gradient summed as the sweep sums it. Later calls
with the same input shapes run those functions: no Tensor, tape entry, heap or dict lookup per op,
which is where a small LSTM spends most of its time. Here is the whole program of a small step:

>>> import numpy as np, tinygrad_lstm as tl
>>> w = tl.Tensor(np.ones((2, 3)), requires_grad=True)
>>> step = tl.compile(lambda x: (x @ w).tanh().sum())
>>> step(np.ones((4, 2))).backward()   # records (the usual sweep runs this backward)
>>> step(np.ones((4, 2))).backward()   # replays: forward(), then backward()
>>> print(step.source)
def forward(inputs, leaves):
    v = [None] * 3
    x0, = inputs
    w0, = leaves
    v[0] = f0(p0, x0, w0)  # matmul
    e0.ins = (x0, w0); e0.p = p0; e0.freed = False
    v[1] = f1(p1, v[0])  # tanh
    e1.out = v[1]; e1.p = p1; e1.freed = False
    v[0] = None
    v[2] = asarray(f2(p2, v[1]))  # sum
    e2.p = p2; e2.freed = False
    v[1] = None
    return v[2]
<BLANKLINE>
def backward(seed):
    g = [None] * 3
    gw = [None] * 1
    g[2] = seed
    d0, = vjp2(g[2], e2)  # sum
    g[2] = None; e2.free()
    g[1] = d0
    d0, = vjp1(g[1], e1)  # tanh
    g[1] = None; e1.free()
    g[0] = d0
    _, d1 = vjp0(g[0], e0)  # matmul
    g[0] = None; e0.free()
    gw[0] = d1
    accumulate(leaf0, gw[0])
<BLANKLINE>

``x0`` is the step's input and ``w0`` the array of the parameter it uses; entry k computes ``v[k]``
with its own forward function and parameters (``f{k}``, ``p{k}``), is re-armed with what its VJP
reads (``e{k}.ins``, ``e{k}.out``) and, in backward, runs that VJP (``vjp{k}``) on its gradient
``g[k]``; ``gw[j]`` is parameter j's gradient, added into its ``.grad`` at the end. The program's
docstring (``program.py``) names every family of names a larger program uses.

What is replayed is what was recorded: Python control flow that depends on input values, random
draws (dropout) and inputs used as indices (class targets, token ids) cannot be. Dropout and integer
inputs raise when the step is compiled; a new input shape or dtype records a new program. A replayed
forward runs no instruments (Tape recordings, source lines, detect_anomaly's forward check); when
hooks, ``trace_backward`` or the anomaly check are on, or ``retain_graph=True``, the result's
backward is the usual sweep over the same entries instead, so they still see every VJP.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from ..tape import CompileError, Entry, state
from ..tensor import Tensor
from .program import InputLeaf, Program


def compile(  # noqa: A001 - the verb users expect
    fn: Callable[..., Tensor] | None = None, *, exact: bool = False
) -> CompiledStep | Callable[[Callable[..., Tensor]], CompiledStep]:
    """Record ``fn(*inputs) -> loss`` on its first call (per input shape and dtype) and replay it on
    later calls as straight-line NumPy: the same numbers, less Python per op.

    The loss and every gradient of an input or a weight used once are bit-identical to eager
    execution's. A weight used by many products (an RNN's recurrent weight, once per step) gets its
    gradient as one product per chunk of steps (512 rows: 16 steps at batch 32) instead of one per
    step and a sum: faster, and equal to eager's to float round-off (summed in another order; about
    1e-15 relative in float64, 1e-6 in float32). ``tl.compile(fn, exact=True)`` keeps every bit equal.

    It can compile a forward pass of fixed structure: layers, losses, slicing by constant indices,
    anything whose sequence of ops does not depend on the values. It cannot compile (and says so
    with a :class:`CompileError`): ``loss.backward()`` or an optimizer step inside ``fn`` (return the
    loss and run them outside), Python branches on recorded values (``if loss > 1``, ``float(x)``;
    use ``tl.where``), dropout's random draws, and integer inputs used as indices.

    >>> import numpy as np, tinygrad_lstm as tl
    >>> lstm, head = tl.nn.LSTM(2, 8), tl.nn.Linear(8, 1)
    >>> opt = tl.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-2)
    >>> @tl.compile
    ... def loss_of(x, y):
    ...     out, _ = lstm(x)
    ...     return tl.nn.functional.mse_loss(head(out[-1]), y)
    >>> x, y = tl.randn(5, 3, 2, dtype=np.float32), tl.zeros(3, 1, dtype=np.float32)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     loss = loss_of(x, y)   # the first call records, the next two replay
    ...     loss.backward()
    ...     opt.step()
    >>> loss_of.replays
    2
    """
    if fn is None:  # @tl.compile(exact=True)
        return lambda f: CompiledStep(f, exact)
    return CompiledStep(fn, exact)


class CompiledStep:
    """What :func:`compile` returns: call it like the function; it records once per input signature."""

    def __init__(self, fn: Callable[..., Tensor], exact: bool = False) -> None:
        self.fn = fn
        self.exact = exact
        self._per_thread = threading.local()
        self.replays = 0

    @property
    def programs(self) -> dict[tuple, Program]:
        """This thread's recorded programs by input signature: a program's entries hold one call's
        arrays between its forward and backward, so each thread records and replays its own."""
        found = getattr(self._per_thread, "programs", None)
        if found is None:
            found = self._per_thread.programs = {}
        return found

    @property
    def source(self) -> str:
        """The Python source of the most recently recorded program (its forward and backward)."""
        if not self.programs:
            raise RuntimeError("compile: nothing recorded yet; call the step once first")
        return list(self.programs.values())[-1].source

    def __call__(self, *inputs) -> Tensor:
        for i, x in enumerate(inputs):
            if isinstance(x, Tensor) and x.requires_grad:
                raise CompileError(
                    f"compile: input {i} requires grad, but a compiled step differentiates only the parameters it "
                    "uses (its inputs' .grad would stay empty); detach the input, or run the step without "
                    "tl.compile to get its gradient"
                )
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
            t._entry = InputLeaf(t, i)
            wrapped.append(t)
        entries: list = []
        raw_inputs: dict[int, tuple] = {}

        def keep(entry: Entry, args, out) -> None:
            entries.append(entry)
            raw_inputs[id(entry)] = tuple(args)

        state.instruments.append(keep)
        state.compiling += 1
        try:
            result = self.fn(*wrapped)
        finally:
            state.compiling -= 1
            state.instruments.remove(keep)
        if not isinstance(result, Tensor):
            raise CompileError(f"compile: the step must return a Tensor (its loss), got {type(result).__name__}")
        self.programs[signature] = Program(entries, raw_inputs, arrays, result, exact=self.exact)
        return result
