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
>>> step = tl.compile(lambda x: (x @ w).tanh().sum(), backend="numpy")  # the backend without kernels
>>> step(np.ones((4, 2))).backward()   # records (the usual sweep runs this backward)
>>> step(np.ones((4, 2))).backward()   # replays: forward(), then backward()
>>> print(step.source)
def forward(inputs, leaves):
    v = [None] * 3
    x0, = inputs
    w0, = leaves
    v[0] = f0(p0, x0, w0)  # matmul
    e0.ins = (x0, w0)
    v[1] = f1(p1, v[0])  # tanh
    e1.out = v[1]
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
    g[1] = None; e1.out = None
    g[0] = d0
    _, d1 = vjp0(g[0], e0)  # matmul
    g[0] = None; e0.ins = None
    gw[0] = d1
    accumulate(leaf0, gw[0])
<BLANKLINE>

``x0`` is the step's input and ``w0`` the array of the parameter it uses; entry k computes ``v[k]``
with its own forward function and parameters (``f{k}``, ``p{k}``), is re-armed with the arrays its
VJP reads (``e{k}.ins``, ``e{k}.out``) and, in backward, runs that VJP (``vjp{k}``) on its gradient
``g[k]``, then drops those arrays; ``gw[j]`` is parameter j's gradient, added into its ``.grad`` at
the end. Only the result's entry is freed in full (``e2.free()``, so that a second backward is an
error) and re-armed with its parameters and ``freed`` flag on every call; the others keep theirs
between replays. The program's docstring (``program.py``) names every family of names a larger
program uses.

What is replayed is what was recorded: every op, with or without a gradient (a comparison, a
detached value), each recomputed. Python control flow on computed values, random draws and inputs
used as indices cannot be replayed and raise while recording; what the step reads besides its
inputs and parameters is guarded (``guards.py``), and a new input shape or dtype records a new
program, as a changed guard does (so does ``tl.set_default_dtype``). Inside ``tl.detect_anomaly()``
or an open ``tl.Tape()`` a recorded step runs eagerly, so that they see its entries and check its values;
when hooks, ``trace_backward`` or the anomaly check are on, or ``retain_graph=True``, a replayed
result's backward is the usual sweep over the same entries instead, so they still see every VJP.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import overload

import numpy as np

from .. import random as _random
from ..nn.module import changed as modules_changed
from ..primitives import PRIMITIVES
from ..tape import Entry, Leaf, state
from ..tensor import Tensor
from ..versions import _root
from . import kernels
from .errors import CompileError, refuse
from .guards import Environment, watching_reads
from .program import InputLeaf, Program


def recording() -> bool:
    """Whether this thread records a step now (its guard is on the engine's hook point)."""
    return refuse in state.guards


@overload
def compile(fn: Callable[..., Tensor], *, exact: bool = False, backend: str | None = None) -> CompiledStep: ...
@overload
def compile(
    fn: None = None, *, exact: bool = False, backend: str | None = None
) -> Callable[[Callable[..., Tensor]], CompiledStep]: ...
def compile(  # noqa: A001 - the verb users expect
    fn: Callable[..., Tensor] | None = None, *, exact: bool = False, backend: str | None = None
) -> CompiledStep | Callable[[Callable[..., Tensor]], CompiledStep]:
    """Record ``fn(*inputs) -> loss`` on its first call (per input shape and dtype) and replay it on
    later calls as straight-line NumPy: the same numbers, less Python per op.

    The loss and every gradient of an input or a weight used once are bit-identical to eager
    execution's. A weight used by many products (an RNN's recurrent weight, once per step) gets its
    gradient as one product per chunk of steps (512 rows: 16 steps at batch 32) instead of one per
    step and a sum: faster, and equal to eager's to float round-off (summed in another order; about
    1e-15 relative in float64, 1e-6 in float32). ``tl.compile(fn, exact=True)`` keeps every bit equal.

    It can compile a forward pass of fixed structure: layers, losses, slicing by constant indices,
    anything whose sequence of ops does not depend on the values.

    ``backend``: ``"numpy"`` replays with one NumPy call per op; ``"numba"`` (the ``[fast]`` extra)
    also runs chains of elementwise arithmetic whose inner results nothing else reads, the inputs of
    gates (an LSTM step's pre-activations, a plane per gate), product VJPs and sigmoid/tanh VJPs as
    generated numba kernels (``kernels.py``), listed at the end of ``step.source``, with the same
    bits; ``None`` (the default) is numba where it can be imported.

    **Traced** (recomputed on every replay): every op the step runs, with a gradient or without one:
    ``.detach()`` and ``no_grad`` results, comparisons and the masks made from them (``tl.where(h >
    0, ...)``, the masks of ``elu``, ``softplus``...), the softmax family's shift by the maximum; and
    the updates of running statistics (BatchNorm and InstanceNorm in training mode, ``num_batches_tracked``
    too), ops that write their buffers in place on every replay as eager execution does.

    **Guarded** (checked before each replay; when one changed, the step records again, as a new input
    shape does; ``step.recordings`` says why each recording was made): the parameters (the same
    Parameter objects, still requiring grad, of the same shape and dtype), tensors read as constants
    (the same array, still not requiring grad), any module's attributes, ``train()``/``eval()`` and
    ``astype()`` (one counter), and the values the function reads by name: its closure cells and the
    globals its code names, one level into the lists, tuples, dicts and plain objects they hold and
    the functions it calls the same way (identity checks; NumPy arrays of up to 65536 elements are
    also compared by value, since NumPy keeps no version; tensors by their in-place stamps):

    >>> import numpy as np, tinygrad_lstm as tl
    >>> lin = tl.nn.Linear(3, 1, dtype=np.float64)
    >>> temperature = [1.0]
    >>> step = tl.compile(lambda x: (lin(x) / temperature[0]).sum())
    >>> _ = step(np.ones((2, 3))); _ = step(np.ones((2, 3)))    # records, then replays
    >>> temperature[0] = 2.0
    >>> _ = step(np.ones((2, 3)))                                # the guard sees it: records again
    >>> step.recordings
    ['first call', 'temperature[0] changed since the step was recorded']

    Not guarded, and so baked as the first call's: values reached deeper than that, attributes of
    objects other than modules that the function does not name, and arrays over 65536 elements
    written in place. Pass what changes as an input.

    **Refused**: what it cannot compile says so with a :class:`CompileError`, raised before
    parameters, ``.grad``, optimizer state or the random generators change: ``loss.backward()``,
    ``opt.step()``, ``zero_grad()``, clipping and ``sched.step()`` inside ``fn`` (return the loss
    and run them outside); reading a computed value as Python or NumPy (``if loss > 1``,
    ``float(x)``, ``x.data``, ``.numpy()``; use ``tl.where``); random draws (dropout in training
    mode, ``tl.randn``, ``np.random``); a boolean mask computed in the step used as an index;
    integer inputs used as indices; inputs that are tuples (a PackedSequence). Under
    ``tl.no_grad()`` the step runs eagerly, recording nothing.

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
    backend = kernels.resolve(backend)
    if fn is None:  # @tl.compile(exact=True)
        return lambda f: CompiledStep(f, exact, backend)
    return CompiledStep(fn, exact, backend)


class CompiledStep:
    """What :func:`compile` returns: call it like the function; it records once per input signature."""

    def __init__(self, fn: Callable[..., Tensor], exact: bool = False, backend: str | None = "numpy") -> None:
        self.fn = fn
        self.exact = exact
        self.backend = kernels.resolve(backend)  # "numpy" or "numba"
        self._per_thread = threading.local()
        self.replays = 0
        self.eager_calls = 0  # calls run eagerly: an input that requires grad
        self.recordings: list[str] = []  # why each recording was made: "first call", what changed...

    @property
    def programs(self) -> dict[tuple, Program]:
        """This thread's recorded programs by input signature: a program's entries hold one call's
        arrays between its forward and backward, so each thread records and replays its own."""
        found = getattr(self._per_thread, "programs", None)
        if found is None:
            found = self._per_thread.programs = {}
        return found

    def __getattr__(self, name: str):
        """A compiled module answers for the module, as PyTorch's compiled one does: ``step.parameters()``
        for an optimizer, ``train()``/``eval()``, ``state_dict()``, its layers and weights by name."""
        fn = self.__dict__.get("fn")
        from ..nn.module import Module  # the compiler sits below nn: imported when asked

        if isinstance(fn, Module) and not name.startswith("__"):
            return getattr(fn, name)
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    @property
    def _orig_mod(self):
        """The function or module compiled (PyTorch's name for it)."""
        return self.fn

    @property
    def source(self) -> str:
        """The Python source of the most recently recorded program (its forward and backward)."""
        if not self.programs:
            raise RuntimeError("compile: nothing recorded yet; call the step once first")
        return list(self.programs.values())[-1].source

    def __call__(self, *inputs) -> Tensor:
        if any(isinstance(x, Tensor) and x.requires_grad for x in inputs):
            # a gradient wanted for an input (a GAN's discriminator reads the generator's output): the
            # program differentiates parameters only, so this call runs eagerly, as under no_grad below
            self.eager_calls += 1
            return self.fn(*[x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        for i, x in enumerate(inputs):
            if isinstance(x, tuple):  # a PackedSequence, (h, c)...: NumPy would make one ragged array of it
                raise CompileError(
                    f"compile: input {i} is a {type(x).__name__}, not an array; a compiled step takes arrays "
                    "(pass a PackedSequence's padded arrays and lengths, or the parts of a tuple, as inputs of "
                    "their own), or run the step without tl.compile"
                )
        if not state.grad_enabled:  # as eager under no_grad: nothing recorded, a result without grad
            return self.fn(*[x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        arrays = [np.asarray(x.data if isinstance(x, Tensor) else x) for x in inputs]
        signature = tuple((a.shape, a.dtype.str) for a in arrays)
        program = self.programs.get(signature)
        if program is None:
            why = "first call" if not self.programs else "new input shapes or dtypes"
        elif state.instruments or state.tapes:  # detect_anomaly, a Tape: they see eager's entries and checks
            return self.fn(*[x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        else:
            stale = self._stale(program)
            if stale is None:
                self.replays += 1
                return program.run(arrays)
            why = stale
        return self._trace(arrays, signature, why)

    @staticmethod
    def _stale(program: Program) -> str | None:
        """Why ``program`` may no longer be what the step computes (the guards), or None."""
        if program.modules_changed != modules_changed[0]:
            return "a module changed (an attribute set, train()/eval(), astype())"
        why = program.environment.changed()
        if why is not None:
            return f"{why} changed since the step was recorded"
        return program.stale()

    def _trace(self, arrays: list[np.ndarray], signature: tuple, why: str) -> Tensor:
        wrapped = []
        for i, a in enumerate(arrays):
            if a.dtype.kind not in "fc":
                raise CompileError(
                    f"compile: input {i} holds {a.dtype} values (indices or class targets); a replay would "
                    "reuse the first call's values as an index. Pass class targets as floats "
                    "(F.one_hot(y, num_classes).float(), with a loss that takes probabilities), or run this "
                    "step without tl.compile"
                )
            t = Tensor._from(a)
            t._entry = InputLeaf(t, i)
            wrapped.append(t)
        recorder = _Recorder(arrays)
        environment = Environment(self.fn)
        if environment.iterators:
            raise CompileError(
                f"compile: the step can reach the iterator {environment.iterators[0]}; a replay runs no Python, "
                "so it would not advance it (next(it) would give every replay the first call's item). Take the "
                "item outside the step and pass it in as an input, or run the step without tl.compile"
            )
        draws = _random.Draws()
        state.watchers.append(recorder)
        state.writes.append(recorder.wrote)
        state.guards.append(refuse)
        try:
            with watching_reads(recorder.tracked):
                result = self.fn(*wrapped)
        except BaseException:
            draws.restore()
            raise
        finally:
            state.guards.remove(refuse)
            state.writes.remove(recorder.wrote)
            state.watchers.remove(recorder)
        if draws.changed():
            draws.restore()
            raise CompileError(
                "compile: the step draws random numbers (tl.randn, tl.rand, np.random, random...); a replay would "
                "repeat the first call's draws. Draw them outside and pass them in as inputs, or run the step "
                "without tl.compile (the generators are back where they were before this call)"
            )
        environment.written = recorder.written
        changed = environment.changed() or environment.rebound()
        if changed is not None:
            raise CompileError(
                f"compile: the step changed {changed} while it ran; a replay would not do it again. Keep the "
                "step free of side effects (return what it should report), or run it without tl.compile"
            )
        if not isinstance(result, Tensor):
            raise CompileError(
                f"compile: the step must return one Tensor (a loss, or a model's output), got "
                f"{type(result).__name__}; an LSTM returns (output, (h, c)): compile a function that returns the "
                "tensor you need, such as `tl.compile(lambda x: lstm(x)[0])`"
            )
        entries = recorder.live_entries()
        program = Program(
            entries,
            recorder.raw,
            arrays,
            result,
            exact=self.exact,
            outs=recorder.outs,
            readings=recorder.readings,
            leaf_arrays=recorder.leaf_arrays,
            constants=recorder.alive_constants(),
            backend=self.backend,
        )
        program.environment = environment
        program.modules_changed = modules_changed[0]
        program.why = why
        self.programs[signature] = program
        self.recordings.append(why)
        return program.result(result.data)


class _Recorder:
    """Watches every op while a step records: entries with a gradient, and the ops without one
    (comparisons, detached values, results under no_grad) as entries of their own, which a replay
    recomputes too. Results are known by their arrays, which it keeps alive while it records."""

    def __init__(self, arrays: list[np.ndarray]) -> None:
        self.entries: list = []
        self.raw: dict[int, tuple] = {}
        self.outs: dict[int, np.ndarray] = {}
        self.tracked: dict[int, np.ndarray] = {id(a): a for a in arrays}
        self.leaf_arrays: dict[int, Leaf] = {}
        self.constants: dict[int, tuple] = {}
        # what an array holds changes when a recorded in-place update writes into it (h.mul_(2) leaves
        # h's array holding the mul's values): each op's inputs are resolved to the entries whose
        # values they hold as it runs, not later by the array alone
        self.holds: dict[int, Entry] = {}  # id(array) -> the entry whose values it holds now
        self.since: dict[int, int] = {}  # id(array) -> the event that gave it those values
        self.rewritten: dict[int, int] = {}  # id(root array) -> the event of its latest recorded write
        self.events = 0
        self.readings: dict[int, tuple] = {}  # id(entry) -> per input array, the entry it read (or None)
        self.written: set[int] = set()  # the arrays effects write (running statistics): a replay writes them

    def __call__(self, entry, op, fwd, p, inputs, args, out) -> None:
        if entry is None:  # an op without a gradient: an entry whose parents are all None
            entry = Entry(op, (None,) * len(args), None, None, None, p, out.shape, out.dtype, fwd)
            if _is_effect(entry):
                self.written.update(id(a) for a in _arrays_in(p))
        self.entries.append(entry)
        self.raw[id(entry)] = tuple(args)
        self.readings[id(entry)] = tuple(self._reading(a) for a in args)
        self.outs[id(entry)] = out
        self.events += 1
        self._hold(out, entry)
        for x in inputs:
            if isinstance(x, Tensor):
                e, data = x._entry, x.data
                if e is None:
                    if id(data) not in self.tracked and id(x) not in self.constants:
                        self.constants[id(x)] = (weakref.ref(x), data)
                elif type(e) is Leaf:
                    self.leaf_arrays[id(data)] = e
                    self.tracked[id(data)] = data

    def wrote(self, written: list[tuple[np.ndarray, Entry]]) -> None:
        """A recorded in-place update wrote each entry's values into its array (``state.writes``)."""
        self.events += 1
        for array, entry in written:
            self._hold(array, entry)
            self.rewritten[id(_root(array))] = self.events

    def _hold(self, array: np.ndarray, entry: Entry) -> None:
        self.holds[id(array)] = entry
        self.since[id(array)] = self.events
        self.tracked[id(array)] = array  # alive while recording, so no other array takes its id

    def _reading(self, array) -> Entry | None:
        """The entry whose values ``array`` holds as an op reads it; None for an input, a parameter or
        a constant. Refused: an alias made before an update of its memory (a replay would read the
        values it had when made)."""
        entry = self.holds.get(id(array))
        if entry is None:
            return None
        if self.rewritten.get(id(_root(array)), -1) > self.since[id(array)]:
            raise CompileError(
                f"compile: {entry.op}'s result (shape {array.shape}) is read through an alias (a view or a "
                "detached tensor) made before a recorded in-place update changed its memory; a replay would "
                "read the values it had when made. Make the view or detach() after the update, or update a "
                ".clone()"
            )
        return entry

    def live_entries(self) -> list:
        """The entries, without the ops without a gradient whose results nothing recorded reads (but
        with the effects, which write state: a running statistic's update)."""
        needed: set[int] = set()
        kept = []
        for e in reversed(self.entries):
            if e.vjp is None and id(e) not in needed and id(self.outs[id(e)]) not in needed and not _is_effect(e):
                continue
            kept.append(e)
            needed.update(id(a) for a in self.raw[id(e)])
            needed.update(id(a) for a in _arrays_in(e.p))
            needed.update(id(r) for r in self.readings[id(e)] if r is not None)
        kept.reverse()
        return kept

    def alive_constants(self) -> list:
        return [(ref, data) for ref, data in self.constants.values() if ref() is not None]


def _is_effect(entry) -> bool:
    prim = PRIMITIVES.get(entry.op)
    return prim is not None and prim.effect and entry.fwd is prim.fwd


def _arrays_in(p) -> list:
    if isinstance(p, np.ndarray):
        return [p]
    if type(p) is tuple:
        return [a for v in p for a in _arrays_in(v)]
    return []
