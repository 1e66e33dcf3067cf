"""A recorded step as a program: :class:`Program` holds its entries and where each input came
from, and :class:`ProgramWriter` writes them out as two straight-line Python functions (see
``step.py`` for what they look like and how a step uses them).

``forward`` calls each entry's forward function (``fwd(p, *arrays)``, kept on every entry) on plain
NumPy arrays and hands each entry the arrays its VJP will read; ``backward`` is the backward sweep
unrolled, each VJP in reverse tape order and each gradient summed as the sweep sums it. Knowing the
whole program, the writer also joins the gradients of slices that tile an array with one
concatenate, computes a shared weight's gradient as one product per chunk of steps, and runs gates
side by side that share an op as one call (``fusion.py``).
"""

from __future__ import annotations

import builtins
import math
from typing import Any

import numpy as np

from ..backward import accumulate_into, freed_error, sole_reference
from ..blas import matmul as blas_matmul
from ..primitives import is_primitive
from ..primitives.linalg import weight_grad
from ..tape import Entry, Leaf, _sequence, number
from ..tensor import Tensor
from ..versions import changed_after
from ..versions import latest as latest_stamp
from . import fusion, kernels
from .errors import CompileError

_FROM_ENTRY, _FROM_LEAF, _FROM_INPUT, _CONSTANT = range(4)


class InputLeaf(Leaf):
    """Marks a step input while tracing, so every op that reads it is recorded."""

    __slots__ = ("position",)
    stands_in = True

    def __init__(self, tensor, position: int) -> None:
        super().__init__(tensor)
        self.position = position
        self.name = f"input{position}"


def _pass_on(g, entry):
    return (g,)


class Program:
    """One recorded step as two straight-line Python functions, written once and run many times.

    ``forward(inputs, leaves)`` calls each entry's forward function on the arrays it read while
    recording and re-arms the entry with what its VJP will read; ``backward(seed)`` is the sweep
    unrolled: each VJP in reverse tape order, each contribution summed exactly as
    :func:`~tinygrad_lstm.backward.add_gradient` would sum it, so the bits equal eager execution's.
    Knowing the whole program also lets it join the gradients of slices that tile an array (an LSTM
    step's gates) with one concatenate instead of adding each into zeros, and run gates side by side
    that share an op (an LSTM's i and f) as one call, and their VJPs as one
    (:mod:`~tinygrad_lstm.compiler.fusion`). ``print(program.source)`` shows both functions.
    """

    # set by tl.compile's step once the program is made: the guards it is checked against on each call
    environment: Any  # a guards.Environment
    modules_changed: int  # nn.module's change counter when the step was recorded
    why: str  # why it was recorded (first call, new input shapes, a guard that failed)
    kept_armed: list[tuple]  # (entry, its parameters) for the entries whose backward only drops arrays

    def __init__(
        self,
        entries: list,
        raw_inputs: dict[int, tuple],
        input_arrays: list,
        output: Tensor,
        exact: bool = False,
        outs: dict[int, np.ndarray] | None = None,
        readings: dict[int, tuple] | None = None,
        leaf_arrays: dict[int, Leaf] | None = None,
        constants: list | None = None,
        backend: str = "numpy",
    ) -> None:
        position = {id(e): k for k, e in enumerate(entries)}
        self.exact = exact
        self.backend = backend  # "numpy", or "numba": elementwise chains as fused kernels (kernels.py)
        input_ids = {id(a): i for i, a in enumerate(input_arrays)}
        # results by their array: an entry's result read without its entry (detached, a mask, a
        # result under no_grad) is still that entry's result, recomputed on every replay
        produced: dict[int, int] = {}
        leaf_arrays = leaf_arrays or {}
        self.constants = constants or []  # (weak ref, array) of tensors read as constants: guarded
        self.entries = entries
        self.sources: list[tuple] = []  # per entry, per input: (kind, ref)
        self.needs_grad: list[bool] = []
        self.mixed_dtypes: list[bool] = []  # per entry, whether its gradients may need a cast
        self.dynamic_p: dict[int, object] = {}  # entry -> its parameters as sources, where they hold results

        def source_of(raw):
            if id(raw) in input_ids:
                return (_FROM_INPUT, input_ids[id(raw)])
            if id(raw) in produced:
                return (_FROM_ENTRY, produced[id(raw)])
            if id(raw) in leaf_arrays:
                return (_FROM_LEAF, leaf_arrays[id(raw)])
            return (_CONSTANT, raw)

        readings = readings or {}
        for k, e in enumerate(entries):
            sources: list[tuple] = []
            read = readings.get(id(e)) or (None,) * len(e.parents)
            for parent, raw, reading in zip(e.parents, raw_inputs[id(e)], read):
                if parent is None and reading is not None and id(reading) in position:
                    sources.append((_FROM_ENTRY, position[id(reading)]))  # the values it held when read
                elif parent is None:
                    sources.append(source_of(raw))
                elif isinstance(parent, InputLeaf):
                    sources.append((_FROM_INPUT, parent.position))
                elif isinstance(parent, Leaf):
                    sources.append((_FROM_LEAF, parent))
                elif id(parent) in position:
                    sources.append((_FROM_ENTRY, position[id(parent)]))
                else:
                    raise CompileError(
                        f"compile: entry {e.op} reads a result computed before the step ({parent.op}, "
                        f"%{number(parent)}); pass it to the step as an input or detach it"
                    )
            _check_not_an_index(e, input_arrays)
            dynamic = _dynamic_params(e, source_of)
            if dynamic is not None:
                self.dynamic_p[k] = dynamic
            wants = [
                parent is not None and (kind == _FROM_LEAF or (kind == _FROM_ENTRY and self.needs_grad[ref]))
                for (kind, ref), parent in zip(sources, e.parents)
            ]
            self.needs_grad.append(any(wants))
            # the VJPs skip inputs whose parent is None: mask what needs no gradient
            e.parents = tuple(p if w else None for p, w in zip(e.parents, wants))
            self.sources.append(tuple(sources))
            self.mixed_dtypes.append(_mixed_dtypes(e, raw_inputs[id(e)]))
            if outs is not None:
                produced[id(outs[id(e)])] = k
        self.n_inputs = len(input_arrays)
        self.input_shapes = [a.shape for a in input_arrays]
        self.input_dtypes = [a.dtype for a in input_arrays]
        output_position = position.get(id(output._entry))
        if output_position is None or not self.needs_grad[output_position]:
            raise CompileError("compile: the step's result does not depend on any parameter")
        self.output_position: int = output_position
        self.root = entries[self.output_position]
        # what the step itself hooked on its result; a caller's hooks and retain_grad on one call's
        # result are that call's, so each replay starts again from this
        self.root_hooks = (list(self.root.hooks) if self.root.hooks else None, self.root.retain)
        # only the result escapes a step, so only it (and entries hooked while recording) can have hooks
        self.watched = [self.root] + [e for e in entries if e.hooks or e.retain is not None]
        self.leaves: list[Leaf] = []
        writer = ProgramWriter(self)
        self.source = writer.write()
        code = builtins.compile(self.source, f"<tl.compile program of {len(entries)} entries>", "exec")
        exec(code, writer.namespace)  # defines forward and backward in the namespace the source names
        if writer.kernels is not None and writer.kernels.sources:  # shown, not run: each is a module of its own
            self.source += "\n\n" + writer.kernels.source(self.source)
        self._forward, self._backward = writer.namespace["forward"], writer.namespace["backward"]
        self.generation = 0  # calls replayed so far: which call's arrays the entries hold
        self.leaf_guards = [(leaf, leaf.shape, leaf.dtype) for leaf in self.leaves]
        # the arrays the latest run read (inputs, then parameters), and the tape index it started at
        self.read = (list(input_arrays) + [leaf.tensor().data for leaf in self.leaves], entries[0].index)

    def check_current(self, result: Entry, where: str, sweeping: bool = False) -> None:
        """Refuse a call's result (its own entry above the step's, ``result``) whose saved arrays a later
        replay has replaced: every call re-arms the same entries, so one call's result, or the loss a
        caller computed from it, would get a later call's gradient. When the sweep reaches the latest
        replay's result (``sweeping``), check the step's inputs and parameters as :meth:`backward` does
        and number its entries anew, as if recorded now: the sweep then checks their saved arrays
        against this replay, not against changes made before it (an optimizer step between the
        recording and this call). Only then: everything that reads the result has been swept, and
        the entries below, numbered after it, come next."""
        if result.p != self.generation:
            raise RuntimeError(
                f"{where}: this result of a tl.compile step was replayed over: the step ran again before its "
                "backward, and its tape entries now hold the later call's arrays. Call backward() on each "
                "result (or the loss computed from it) before calling the step again"
            )
        if sweeping and self.generation and self.entries[-1].index < latest_stamp[0]:
            self._check_read(where)
            for e in self.entries:
                e.index = next(_sequence)
            self.read = (self.read[0], self.entries[0].index)

    def result(self, data: np.ndarray) -> Tensor:
        """A call's result: an entry of its own (``op`` "compiled", passing its gradient on unchanged)
        above the step's, which every call re-arms, so that a sweep can tell one call's result from
        another's, through any loss computed from it."""
        entry = Entry("compiled", (self.root,), _pass_on, None, None, self.generation, data.shape, data.dtype)
        entry.replay = self
        return Tensor._from(data, entry)

    def stale(self) -> str | None:
        """Why this program no longer describes the step (a parameter replaced, frozen or unfrozen,
        cast to another dtype), or None. Identity and dtype checks, no copies."""
        for leaf, shape, dtype in self.leaf_guards:
            t = leaf.tensor()
            if t is None or t._entry is not leaf:
                return f"parameter {leaf.name or ''} was replaced, or its requires_grad changed".replace("  ", " ")
            if t.data.shape != shape or t.data.dtype != dtype:
                return f"parameter {leaf.name or ''} changed shape or dtype".replace("  ", " ")
        for ref, data in self.constants:
            t = ref()
            if t is not None and (t.data is not data or t._entry is not None):
                return f"a tensor read as a constant (shape {data.shape}) got a new array or requires grad now"
        return None

    def _check_read(self, where: str) -> None:
        arrays, since = self.read
        for k, a in enumerate(arrays):
            if changed_after(a, since):
                what = f"input {k}" if k < self.n_inputs else (self.leaves[k - self.n_inputs].name or "a parameter")
                raise RuntimeError(
                    f"{where}: {what} (shape {a.shape}) of this tl.compile step was changed in place after the "
                    "step ran (an optimizer step, an in-place op...); run the step again after the change, or "
                    "make the change after backward"
                )

    def unobserved(self, result: Entry) -> bool:
        """Whether backward from a replay's ``result`` may run the precomputed sweep: no hook or
        retain_grad on it or inside the step (the recording's own result takes the usual sweep: its
        entries hold eager's arrays, not the replay's fused ones)."""
        if not result.p or result.hooks or result.retain is not None:
            return False
        return not any(e.hooks or e.retain is not None for e in self.watched)

    def run(self, arrays: list[np.ndarray]) -> Tensor:
        """Replay the forward pass on new input arrays; the result's backward() runs :meth:`backward`."""
        if any(e.freed for e, _ in self.kept_armed):  # the usual sweep freed them (the recording's, hooks)
            for e, p in self.kept_armed:
                e.p, e.freed = p, False
        leaves = [leaf.tensor().data for leaf in self.leaves]  # read now: optimizers may have replaced them
        self.read = (arrays + leaves, next(_sequence))
        latest = self._forward(arrays, leaves)
        hooks, retain = self.root_hooks
        self.root.hooks, self.root.retain = (list(hooks) if hooks else None), retain
        self.generation += 1
        return self.result(latest)

    def backward(self, seed: np.ndarray) -> None:
        """The precomputed sweep: leaves' ``.grad`` accumulate, every entry's saved arrays are freed."""
        if self.root.freed:
            raise freed_error(self.root)
        self._check_read("backward")
        self._backward(seed)


class ProgramWriter:
    """Writes a :class:`Program` as Python source, and the namespace its names refer to.

    Names in the source, by family:

    - the step's data: ``x{i}`` its inputs, ``w{j}`` the parameters' arrays (``leaf{j}`` their tape
      leaves, whose ``.grad`` ``accumulate`` adds into), ``k{j}`` constants;
    - entry k: ``v[k]`` its result, ``e{k}`` the entry itself, ``f{k}``, ``p{k}`` and ``vjp{k}`` its
      forward function, parameters and VJP; ``s{k}``, ``t{k}`` the shape and dtype of its gradient
      where that starts as zeros;
    - backward: ``g[k]`` entry k's gradient being summed, ``d0, d1, ...`` what a VJP returns (``_``
      for an input that needs none), ``gw[j]`` parameter j's gradient, ``q[n]`` gradients waiting
      for their join, or a product's input and gradient waiting for their chunk's one
      ``weight_grad``; ``bmm`` a product (``tl.blas.matmul``), ``sole`` whether a buffer may be
      added into in place;
    - gates run as one call: ``y`` the call's result, ``u{k}`` where their slices lie together in
      the array they slice, ``i{k}`` gate k's part of ``y``, ``d`` their one VJP's result.
    - on the numba backend: ``kern{n}`` a generated kernel (``kernels.py``), listed after the
      program in its source; ``negative`` NumPy's, for a sub's VJP written without a call; ``y``
      the planes of a gates kernel (one per gate, the sigmoids first), ``exp``, ``tanh`` and
      ``errstate`` NumPy's; ``empty`` the buffer VJP kernels write a joined gradient into, and
      ``q[n]`` also a contribution to a gradient waiting for the kernel that sums it.

    Only the result's entry is freed and re-armed in full on every call; the entries inside the step
    keep their parameters armed, and backward drops only their arrays (``e{k}.ins = None``).

    Results and gradients live in lists, not in thousands of local variables: a frame that large
    makes CPython allocate a fresh stack chunk for every call made from it.
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.namespace: dict = {
            "asarray": np.asarray,
            "array": np.array,
            "zeros": np.zeros,
            "empty": np.empty,
            "concatenate": np.concatenate,
            "stack": np.stack,
            "multiply": np.multiply,
            "subtract": np.subtract,
            "negative": np.negative,
            "exp": np.exp,
            "tanh": np.tanh,
            "errstate": np.errstate,
            "accumulate": _accumulate_leaf,
            "sole": sole_reference,
            "bmm": blas_matmul,
            "weight_grad": weight_grad,
        }
        self._constants: dict[int, str] = {}
        self._leaves: dict[int, int] = {}
        self.kernels = kernels.Kernels(self.namespace) if program.backend == "numba" else None

    def operand(self, kind: int, ref) -> str:
        if kind == _FROM_ENTRY:
            return f"v[{ref}]"
        if kind == _FROM_INPUT:
            return f"x{ref}"
        if kind == _FROM_LEAF:
            return f"w{self.leaf_slot(ref)}"
        if id(ref) not in self._constants:
            name = self._constants[id(ref)] = f"k{len(self._constants)}"
            self.namespace[name] = ref
        return self._constants[id(ref)]

    def leaf_slot(self, leaf: Leaf) -> int:
        if id(leaf) not in self._leaves:
            j = self._leaves[id(leaf)] = len(self.program.leaves)
            self.program.leaves.append(leaf)
            self.namespace[f"leaf{j}"] = leaf
            self.namespace[f"tw{j}"] = leaf.dtype
            self.namespace[f"sw{j}"] = leaf.shape
        return self._leaves[id(leaf)]

    def params_source(self, k: int, spec, counter: list | None = None) -> str:
        """Source text of entry k's parameters where some of them are results (see ``_dynamic_params``)."""
        counter = [0] if counter is None else counter
        kind, value = spec
        if kind == "tuple":
            return _tuple([self.params_source(k, s, counter) for s in value])
        if kind == "source":
            return self.operand(*value)
        counter[0] += 1
        return self.constant(f"c{k}_{counter[0]}", value)

    def write(self) -> str:
        self.readers = self._readers()
        self.reached = self._reached()
        self.tilings = self._tilings(self.reached)
        self.gates_kernels = self._gates_kernels() if self.kernels is not None else {}
        self.gates = self._gate_groups()  # of the slices no gates kernel reads
        self.chain_trees: dict[int, tuple] = {}  # gates kernel root -> (expression, element) of its chain
        self.chains = self._chains() if self.kernels is not None else {}
        self.kept_armed = self._kept_armed()
        self.program.kept_armed = [
            (self.program.entries[k], self.program.entries[k].p) for k in sorted(self.kept_armed)
        ]
        return self.write_forward() + "\n\n" + self.write_backward() + "\n"

    def _kept_armed(self) -> set[int]:
        """Entries whose parameters stay armed between replays: the backward drops only the arrays
        they keep (``e.ins``, ``e.out``), not their constant parameters (the namespace holds those
        anyway) or their ``freed`` flag: no one reads those of an entry inside the step but the
        step's own VJPs. The result (whose ``freed`` says a second backward is an error), entries
        with hooks, parameters computed in the step and entries no gradient reaches are freed in
        full; :meth:`Program.run` re-arms the others after a usual sweep freed them."""
        prog = self.program
        watched = {id(e) for e in prog.watched}
        return {
            k
            for k in self.reached
            if prog.needs_grad[k]
            and k != prog.output_position
            and k not in prog.dynamic_p
            and id(prog.entries[k]) not in watched
        }

    def _free(self, k: int) -> str:
        """The statement that frees entry k after its VJP ran: ``e{k}.free()``, or for an entry kept
        armed (:meth:`_kept_armed`) only dropping the arrays it keeps ("" where it keeps none)."""
        if k not in self.kept_armed:
            return f"e{k}.free()"
        e = self.program.entries[k]
        kept = [f"e{k}.{name}" for name, x in (("ins", e.ins), ("out", e.out)) if x is not None]
        return " = ".join(kept) + " = None" if kept else ""

    def _line(self, *parts: str, comment: str = "") -> list[str]:
        """One source line of the non-empty statements in ``parts``, with its comment (a comment alone
        where no statement is left)."""
        text = "; ".join(part for part in parts if part)
        if comment:
            text = f"{text}  # {comment}" if text else f"# {comment}"
        return [text] if text else []

    def constant(self, name: str, value) -> str:
        """A value the source refers to by ``name`` (an index, a shape): put in the namespace."""
        self.namespace[name] = value
        return name

    def write_forward(self) -> str:
        prog = self.program
        last_reader = [max(self.readers.get(ref, [ref])) for ref in range(len(prog.entries))]
        in_gates_kernel = {}  # slices and gates computed at their root's gates kernel
        for root, gk in self.gates_kernels.items():
            in_gates_kernel.update({t: f"a slice of v[{root}], which is never stored" for t in gk.tiles})
            in_gates_kernel.update({g: f"computed with v[{root}]'s gates kernel" for g in gk.gates})
        fused = {}  # first member -> its group, for groups of gates run as one call
        in_a_call = {}  # the other entries that call computes, and the slices it reads instead
        for group in self.gates:
            fused[group.first] = group
            in_a_call.update({m: "computed above in one call" for m in group.members if m != group.first})
            in_a_call.update({t: "read by one call from the array it slices" for t in group.tiles})
            last_reader[group.array] = max(last_reader[group.array], group.first)
        in_a_kernel = {}  # entries computed inside a chain's one kernel, by the chain's last entry
        for root, (members, _, args) in self.chains.items():
            in_a_kernel.update({m: root for m in members if m != root})
            for ref in args:  # what the chain reads lives until its kernel runs
                last_reader[ref] = max(last_reader[ref], root)
        released: list[list[int]] = [[] for _ in prog.entries]
        for ref, k in enumerate(last_reader):
            if ref != prog.output_position:
                released[k].append(ref)

        body = []
        for k, (e, sources) in enumerate(zip(prog.entries, prog.sources)):
            self.namespace.update({f"f{k}": e.fwd, f"p{k}": e.p, f"e{k}": e})
            operands = [self.operand(kind, ref) for kind, ref in sources]
            if k in self.gates_kernels:  # one kernel for it and its gates' inputs, NumPy's exp and tanh
                body.append(f"# v[{k}]: {_describe(e)}, written only as its gates read it:")
                body.extend(self._gates_kernel_lines(self.gates_kernels[k]))
            elif k in in_gates_kernel:
                body.append(f"# v[{k}]: {_describe(e)}, {in_gates_kernel[k]}")
            elif k in fused:  # one call over the gates' adjacent slices; each gate's result is a view of it
                group = fused[k]
                union = self.constant(f"u{k}", group.union)
                body.append(f"y = f{k}(p{k}, v[{group.array}][{union}])  # {group.describe(prog)}: one call")
                for m, part in zip(group.members, group.parts):
                    body.append(f"v[{m}] = y[{self.constant(f'i{m}', part)}]")
            elif k in in_a_call:
                body.append(f"# v[{k}]: {_describe(e)}, {in_a_call[k]}")
            elif k in in_a_kernel:
                body.append(f"# v[{k}]: {_describe(e)}, computed in v[{in_a_kernel[k]}]'s kernel")
            elif k in self.chains:
                members, call, _ = self.chains[k]
                ops = ", ".join(prog.entries[m].op for m in sorted(members))
                body.append(f"v[{k}] = {call}  # {_describe(e)}: one kernel ({ops})")
            else:
                params = f"p{k}"
                if k in prog.dynamic_p:  # parameters that hold results (a mask): built anew each call
                    body.append(f"r = {self.params_source(k, prog.dynamic_p[k])}")
                    params = "r"
                call = f"f{k}({params}, {', '.join(operands)})"
                body.append(f"v[{k}] = {f'asarray({call})' if e.shape == () else call}  # {_describe(e)}")
            if prog.needs_grad[k]:  # re-arm the entry with what its VJP reads (free() cleared it)
                arm = [] if k in self.kept_armed else [f"e{k}.p = {'r' if k in prog.dynamic_p else f'p{k}'}"]
                arm += [] if k in self.kept_armed else [f"e{k}.freed = False"]
                if e.ins is not None:  # what the entry kept: inputs no gradient reads stay None
                    kept = [op if x is not None else "None" for op, x in zip(operands, e.ins)]
                    arm.insert(0, f"e{k}.ins = {_tuple(kept)}")
                if e.out is not None:
                    arm.insert(0, f"e{k}.out = v[{k}]")
                if arm:
                    body.append("; ".join(arm))
            if released[k]:  # after its last reader, as eager execution would drop it
                body.append(" = ".join(f"v[{ref}]" for ref in released[k]) + " = None")
        body.append(f"return v[{prog.output_position}]")
        head = [f"v = [None] * {len(prog.entries)}"]
        if prog.n_inputs:
            head.append(_tuple([f"x{i}" for i in range(prog.n_inputs)], brackets=False) + " = inputs")
        if prog.leaves:
            head.append(_tuple([f"w{j}" for j in range(len(prog.leaves))], brackets=False) + " = leaves")
        return "def forward(inputs, leaves):\n" + "\n".join("    " + line for line in head + body)

    def write_backward(self) -> str:
        prog = self.program
        out = prog.output_position
        reached = self.reached
        tile_of = {k: ref for ref, (_, _, tiles) in self.tilings.items() for k in tiles}
        slot = {k: n for n, k in enumerate(tile_of)}  # where a slice's gradient waits for the join
        gates = {m: group for group in self.gates for m in group.members}  # gates run as one call
        covered = {t: group for group in self.gates for t in group.tiles}  # slices whose gates give one piece
        chunks = {} if prog.exact else self._weight_products(reached)
        held = {k: len(slot) + 2 * n for n, k in enumerate(chunks)}  # where a product keeps its a and g
        body = [f"g = [None] * {out + 1}", f"gw = [None] * {len(prog.leaves)}"]
        # gradients waiting for their join, products' inputs waiting for their chunk, contributions
        # waiting for the kernel that sums them (its size is known at the end)
        body.append("q = [None] * {}")
        body.append(f"g[{out}] = seed")
        summing = self._kernel_sums()  # entries whose VJP kernel adds up the contributions to their gradient
        pending: dict[int, list[int]] = {}  # entry -> slots of contributions its kernel adds to g[k]
        free_slots: list[int] = []
        n_slots = len(slot) + 2 * len(held)
        summed: dict[str, bool] = {}  # gradient name -> whether its buffer is the sweep's own (add in place)
        folded: dict[int, int] = {}  # sigmoid/tanh entry -> the mul whose VJP kernel ran its VJP too
        direct = self._direct_joins(tile_of, covered)  # slice -> (array, column): written there by a kernel
        in_rows = self._row_joins(tile_of, covered, direct)  # array -> (tiled array, its row): allocated there
        row_joined = {ref for ref, _ in in_rows.values()}  # tiled arrays whose gradient is those rows
        started_rows: set[int] = set()  # of those, the ones whose buffer is allocated
        started: set[int] = set()  # arrays whose joined gradient is allocated
        done_gates: set[int] = set()  # folded gates whose input's gradient their kernel wrote or summed
        first_leaf_grads: list[int] = []
        for k in range(out, -1, -1):
            e = prog.entries[k]
            if not prog.needs_grad[k]:
                continue
            if k not in reached:
                body.append(f"e{k}.free()  # {_describe(e)}: no gradient reaches it")
                continue
            if k in gates:  # a gate run with others as one call: one VJP for all, when the last arrives
                group = gates[k]
                if k == group.first:
                    body.extend(self._gates_vjp(group, f"q[{slot[group.tiles[0]]}]"))
                continue
            if k in tile_of:  # a slice of an array whose slices tile it: keep its gradient for the join
                ref = tile_of[k]
                if k in direct:
                    body.extend(
                        self._line(
                            self._free(k), comment=f"{_describe(e)}: its gradient is written in g[{ref}] already"
                        )
                    )
                    if k == min(self.tilings[ref][2]):
                        summed[f"g[{ref}]"] = True
                    continue
                if ref in row_joined:
                    body.extend(
                        self._line(
                            f"g[{k}] = None",
                            self._free(k),
                            comment=f"{_describe(e)}: its gradient is a row of rows{ref}",
                        )
                    )
                    if k == min(self.tilings[ref][2]):  # the last to arrive: the rows are the joined gradient
                        body.append(
                            f"g[{ref}] = rows{ref}; rows{ref} = None  # every row written, + 0.0 in the kernels"
                        )
                        summed[f"g[{ref}]"] = False  # its rows are held elsewhere too: never added to in place
                    continue
                if k in covered:
                    body.extend(
                        self._line(self._free(k), comment=f"{_describe(e)}: its gradient is in its gates' piece")
                    )
                else:
                    body.extend(
                        self._line(f"q[{slot[k]}] = g[{k}]", f"g[{k}] = None", self._free(k), comment=_describe(e))
                    )
                join, axis, tiles = self.tilings[ref]
                if k == min(tiles):  # the last to arrive
                    pieces = [f"q[{slot[t]}]" for t in tiles if t not in covered or t == covered[t].tiles[0]]
                    joined = f"g[{ref}] = {join}({_tuple(pieces)}, axis={axis}); g[{ref}] += 0.0"
                    body.append(joined + "  # = zeros + each slice")
                    body.append(" = ".join(pieces) + " = None")
                    summed[f"g[{ref}]"] = True
                continue
            grads = [f"d{i}" if parent is not None else "_" for i, parent in enumerate(e.parents)]
            if k in chunks:  # a shared weight's product: its weight's gradient waits for its chunk
                if grads[0] != "_":  # (matmul_t keeps the weight's transpose laid out apart)
                    w = f"e{k}.ins[2]" if e.op == "matmul_t" else f"e{k}.ins[1].T"
                    body.append(f"d0 = bmm(g[{k}], {w})  # {_describe(e)}: the input's gradient now")
                body.extend(
                    self._line(f"q[{held[k]}], q[{held[k] + 1}] = e{k}.ins[0], g[{k}]", f"g[{k}] = None", self._free(k))
                )
                grads[1] = "_"
                chunk = chunks[k]
                if k == chunk[-1]:  # the chunk's last to arrive: one product for all its steps
                    a_s = _tuple([f"q[{held[m]}]" for m in chunk])
                    g_s = _tuple([f"q[{held[m] + 1}]" for m in chunk])
                    body.append(f"d1 = weight_grad({a_s}, {g_s})  # the weight's gradient over {len(chunk)} steps")
                    body.append(" = ".join(f"q[{held[m]}] = q[{held[m] + 1}]" for m in chunk) + " = None")
                    grads[1] = "d1"
            elif self._mul_kernel(k):
                others = []  # g * b for a, g * a for b; and a sigmoid's or tanh's VJP where that is its only gradient
                into: list[tuple[str, int] | None] = []  # or straight into the joined gradient of its slice
                plus: list[str | None] = []  # or added to the gradient it is summed into, in the kernel
                lhs = []  # what the kernel returns, in order
                for i, d in enumerate(grads):
                    if d == "_":
                        continue
                    j = self._folded_into_mul(k, i)
                    if j is not None:
                        folded[j] = k
                    then = (prog.entries[j].op, f"e{j}.out") if j is not None else None
                    others.append((f"e{k}.ins[{1 - i}]", then))
                    target = direct.get(prog.sources[j][0][1]) if j is not None else None
                    added = self._added_in_kernel(k, i, j, summed, summing)
                    into.append(None if target is None else (f"g[{target[0]}]", target[1]))
                    plus.append(f"g[{added}]" if added is not None and target is None else None)
                    if target is not None:
                        ref = target[0]
                        if ref not in started:  # the first piece to arrive: the joined gradient's buffer
                            started.add(ref)
                            row = in_rows.get(ref)
                            if row is not None and row[0] not in started_rows:  # the first row: the tiled array's
                                started_rows.add(row[0])
                                self.namespace[f"t{row[0]}"] = prog.entries[row[0]].dtype
                                self.namespace[f"s{row[0]}"] = prog.entries[row[0]].shape
                                body.append(
                                    f"rows{row[0]} = empty(s{row[0]}, t{row[0]})  # {_describe(prog.entries[row[0]])}"
                                    ": its gradient, each row written by its step's kernels"
                                )
                            if row is not None:
                                body.append(f"g[{ref}] = rows{row[0]}[{row[1]}]  # {_describe(prog.entries[ref])}")
                            else:
                                self.namespace[f"t{ref}"] = prog.entries[ref].dtype
                                self.namespace[f"s{ref}"] = prog.entries[ref].shape
                                body.append(f"g[{ref}] = empty(s{ref}, t{ref})  # {_describe(prog.entries[ref])}")
                    elif added is not None:  # g[added] + this contribution, as the sweep sums it
                        lhs.append(f"g[{added}]")
                        summed[f"g[{added}]"] = True  # a new array: the sweep's own
                    else:
                        lhs.append(d)
                        continue
                    grads[i] = "_"  # written or summed by the kernel, not returned to be summed
                    if j is not None:
                        done_gates.add(j)
                waiting = pending.pop(k, [])  # contributions to g[k] after the first: summed in the kernel
                parts = [f"g[{k}]"] + [f"q[{n}]" for n in waiting]
                call = self.kernels.mul_vjp(parts, others, e.dtype, len(e.shape), into, plus)  # type: ignore[union-attr]
                assigned = f"{', '.join(lhs)} = " if lhs else ""
                what = "its VJP as one kernel" + (", which sums its gradient" if waiting else "")
                what += "".join(f", adding to {p}" for p in plus if p is not None)
                body.append(f"{assigned}{call}  # {_describe(e)}: {what}")
                body.extend(self._line(" = ".join(parts) + " = None", self._free(k)))
                free_slots.extend(waiting)
            elif self._same_shape_vjp(k, "add") or self._same_shape_vjp(k, "sub"):  # no call: g itself (and -g)
                negated = e.op == "sub" and grads[1] != "_"
                same = [d for d in grads if d != "_" and not (negated and d == "d1")]
                parts = [" = ".join([*same, f"g[{k}]"])] if same else []
                if negated:
                    parts.append(f"d1 = negative(g[{k}])")
                body.append("; ".join(parts) + f"  # {_describe(e)}: its VJP without a call")
                body.extend(self._line(f"g[{k}] = None", self._free(k)))
            elif k in done_gates:  # that kernel wrote its input's gradient into the join, or summed it
                body.extend(
                    self._line(
                        self._free(k), comment=f"{_describe(e)}: its VJP ran in the kernel of %{folded[k]}'s VJP"
                    )
                )
                continue
            elif k in folded:  # its VJP ran in its one reader's kernel: g[k] is already its input's gradient
                body.append(f"d0 = g[{k}]  # {_describe(e)}: its VJP ran in the kernel of %{folded[k]}'s VJP")
                body.extend(self._line(f"g[{k}] = None", self._free(k)))
            elif self._kernel_vjp(k):
                call = self.kernels.vjp(e.op, f"e{k}.out", f"g[{k}]", e.dtype, len(e.shape))  # type: ignore[union-attr]
                body.append(f"d0 = {call}  # {_describe(e)}: its VJP as one kernel")
                body.extend(self._line(f"g[{k}] = None", self._free(k)))
            else:
                self.namespace[f"vjp{k}"] = e.vjp
                body.append(f"{_tuple(grads, brackets=False)} = vjp{k}(g[{k}], e{k})  # {_describe(e)}")
                body.extend(self._line(f"g[{k}] = None", self._free(k)))
            cast = prog.mixed_dtypes[k]
            indexed = is_primitive(e, "getitem")  # its gradient is an IndexedGrad: added into a zero buffer
            for (kind, ref), d in zip(prog.sources[k], grads):
                if d == "_":
                    continue
                if kind == _FROM_ENTRY:
                    name, dtype, shape = f"g[{ref}]", f"t{ref}", f"s{ref}"
                    self.namespace[dtype], self.namespace[shape] = prog.entries[ref].dtype, prog.entries[ref].shape
                else:
                    j = self.leaf_slot(ref)
                    name, dtype, shape = f"gw[{j}]", f"tw{j}", f"sw{j}"
                    if name not in summed:
                        first_leaf_grads.append(j)
                if kind == _FROM_ENTRY and ref in summing and name in summed and not cast and not indexed:
                    n = free_slots.pop() if free_slots else n_slots  # kept for ref's kernel to add
                    n_slots = max(n_slots, n + 1)
                    pending.setdefault(ref, []).append(n)
                    body.append(f"q[{n}] = {d}  # added to g[{ref}] in its VJP's kernel")
                    continue
                body.extend(sum_into_source(name, d, dtype, shape, summed, cast, indexed))
        body.extend(f"accumulate(leaf{j}, gw[{j}])" for j in first_leaf_grads)
        if n_slots:
            body[2] = body[2].format(n_slots)
        else:
            del body[2]
        return "def backward(seed):\n" + "\n".join("    " + line for line in body)

    def _added_in_kernel(self, k: int, i: int, j: int | None, summed: dict, summing: set[int]) -> int | None:
        """The entry whose gradient mul k's VJP kernel may add its result for operand i to (through
        the gate j folded into it, if any), as the sweep would add it next: one that already has a
        gradient, of the same shape and dtype, summed with no cast, that no entry between j and k
        adds to (so the order of the sum is the sweep's), and whose own kernel does not sum it."""
        prog = self.program
        kind, m = prog.sources[j if j is not None else k][0 if j is not None else i]
        if kind != _FROM_ENTRY or f"g[{m}]" not in summed or m in summing:
            return None
        e, dest = prog.entries[k], prog.entries[m]
        if (dest.shape, dest.dtype) != (e.shape, e.dtype):
            return None
        if prog.mixed_dtypes[k] or (j is not None and prog.mixed_dtypes[j]):
            return None
        low = j if j is not None else k
        if any(low < r < k for r in self.readers.get(m, [])):
            return None
        return m

    def _mul_kernel(self, k: int) -> bool:
        """Whether entry k's VJP runs as a product's VJP kernel (``Kernels.mul_vjp``)."""
        prog = self.program
        return self._same_shape_vjp(k, "mul") and self.operand(*prog.sources[k][0]) != self.operand(*prog.sources[k][1])

    def _kernel_sums(self) -> set[int]:
        """Products whose VJP kernel adds up the contributions to their gradient itself, in the sweep's
        order (an LSTM step's h: its part of the output, then the next step's product): one loop over
        the elements instead of a NumPy call per contribution after the first."""
        prog = self.program
        if self.kernels is None:
            return set()
        return {k for k in self.reached if prog.needs_grad[k] and k != prog.output_position and self._mul_kernel(k)}

    def _direct_joins(self, tile_of: dict[int, int], covered: dict) -> dict[int, tuple[int, int]]:
        """Slices whose gradient a product's VJP kernel writes straight into the joined gradient of the
        array they tile (slice -> (array, first column)): where every slice of that array (along its
        last axis) is read only by a sigmoid or tanh whose VJP runs in such a kernel (an LSTM step's
        gates, with the gates kernel): no concatenate, and the join's + 0.0 is in the kernels."""
        prog = self.program
        if self.kernels is None:
            return {}
        fold_input: dict[int, int] = {}  # slice -> the gate folded into a product's VJP kernel that reads it
        for k in self.reached:
            e = prog.entries[k]
            if not prog.needs_grad[k] or not self._mul_kernel(k):
                continue
            for i, parent in enumerate(e.parents):
                j = self._folded_into_mul(k, i) if parent is not None else None
                if j is not None and prog.sources[j][0][0] == _FROM_ENTRY:
                    fold_input[prog.sources[j][0][1]] = j
        found = {}
        for ref, (join, axis, tiles) in self.tilings.items():
            e = prog.entries[ref]
            if join != "concatenate" or axis != len(e.shape) - 1 or e.dtype not in kernels.DTYPES:
                continue
            ok = all(
                t in fold_input
                and t not in covered
                and self.readers.get(t) == [fold_input[t]]
                and not prog.mixed_dtypes[t]
                and prog.entries[fold_input[t]].dtype == e.dtype
                for t in tiles
            )
            if ok:
                for t in tiles:
                    piece = _slice_of(prog.entries[t].p, e.shape)
                    assert piece is not None
                    found[t] = (ref, piece[2])
        return found

    def _row_joins(self, tile_of: dict[int, int], covered: dict, direct: dict) -> dict[int, tuple[int, str]]:
        """Arrays whose gradient buffer is allocated as a row (or rows) of the joined gradient of an
        array tiled along its first axis (array -> (tiled array, index text)): where each tile is read
        by one same-shape ``add`` (or a ``sub``'s first operand) whose gradient is a direct join
        (:meth:`_direct_joins`), which that VJP passes on unchanged as the tile's only gradient (an
        LSTM step's pre-activations, a row of its projection chunk ``x_proj[t]``). The kernels then
        write each step's gradient in its row: no stack, and no + 0.0, which the kernels added."""
        prog = self.program
        joined = {ref for ref, _ in direct.values()}
        found: dict[int, tuple[int, str]] = {}
        for ref, (join, axis, tiles) in self.tilings.items():
            e = prog.entries[ref]
            if axis != 0 or e.dtype not in kernels.DTYPES:
                continue
            rows = {}
            for t in tiles:
                readers = self.readers.get(t, [])
                if t in covered or t in direct or len(readers) != 1 or readers[0] not in joined:
                    break
                a = readers[0]
                sources = [(kind, r) for kind, r in prog.sources[a]]
                if sources.count((_FROM_ENTRY, t)) != 1 or prog.entries[a].dtype != e.dtype or a in rows:
                    break
                if not (
                    self._same_shape_vjp(a, "add")
                    or (self._same_shape_vjp(a, "sub") and sources[0] == (_FROM_ENTRY, t))
                ):
                    break
                _, _, start, stop = _slice_of(prog.entries[t].p, e.shape)  # type: ignore[misc]
                rows[a] = str(start) if join == "stack" else f"{start}:{stop}"
            else:
                found.update({a: (ref, index) for a, index in rows.items()})
        return found

    def _readers(self) -> dict[int, list[int]]:
        """Entry -> the entries that read its result, in tape order."""
        readers: dict[int, list[int]] = {}
        for k, sources in enumerate(self.program.sources):
            for kind, ref in sources:
                if kind == _FROM_ENTRY:
                    readers.setdefault(ref, []).append(k)
            for kind, ref in _spec_sources(self.program.dynamic_p.get(k)):  # a mask in its parameters
                if kind == _FROM_ENTRY and k not in readers.get(ref, ()):
                    readers.setdefault(ref, []).append(k)
        return readers

    def _gate_groups(self) -> list[GateGroup]:
        """Slices of a tiled array each read only by one of :mod:`~tinygrad_lstm.compiler.fusion`'s ops (an
        LSTM's gates): runs of two or more adjacent slices under the same op, which run as one call
        and one VJP, when what reads their results is elementwise too (a sum over a strided view may
        add in another order, and change the bits)."""
        prog = self.program
        gate_reading, elementwise_readers = self._gate_reading, self._elementwise_readers
        groups = []
        for ref, (join, axis, tiles) in self.tilings.items():
            if join != "concatenate" or ref in self.gates_kernels:  # steps (x[t]) are not gates
                continue
            runs: list[list[tuple[int, int]]] = []
            for tile in tiles:
                gate = gate_reading(tile)
                if gate is None:
                    runs.append([])
                elif runs and runs[-1] and prog.entries[runs[-1][-1][1]].op == prog.entries[gate].op:
                    runs[-1].append((tile, gate))
                else:
                    runs.append([(tile, gate)])
            for run in runs:
                if len(run) > 1 and all(elementwise_readers(gate) for _, gate in run):
                    pieces = [_slice_of(prog.entries[tile].p, prog.entries[ref].shape) for tile, _ in run]
                    groups.append(GateGroup(ref, [g for _, g in run], [t for t, _ in run], axis, pieces))
        return groups

    def _gate_reading(self, tile: int) -> int | None:
        """The gate that reads slice ``tile``, if one of fusion's ops (sigmoid, tanh) alone reads it."""
        prog = self.program
        found = self.readers.get(tile, [])
        if len(found) != 1:
            return None
        k = found[0]
        e = prog.entries[k]
        ok = k in self.reached and prog.needs_grad[k] and not prog.mixed_dtypes[k] and fusion.fusable(e)
        return k if ok and len(prog.sources[k]) == 1 else None

    def _elementwise_readers(self, k: int) -> bool:
        """Whether only elementwise ops read entry k's result (so that it may be a strided view)."""
        prog = self.program
        return k != prog.output_position and all(fusion.elementwise(prog.entries[r]) for r in self.readers.get(k, ()))

    def _gates_kernels(self) -> dict[int, GatesKernel]:
        """Elementwise results read only by gates, one per slice of the last axis (an LSTM step's
        pre-activations ``x_proj[t] + h @ U.T``, read by i, f, g and o): root entry -> its
        :class:`GatesKernel`. The result is then never stored as it is: one kernel writes it negated
        where a sigmoid reads it, so that the sigmoids' exp runs over their columns in place, and the
        gates' results are views of that one array (so what reads them must be elementwise)."""
        prog = self.program
        watched = {id(e) for e in prog.watched}
        found = {}
        for ref, (join, axis, tiles) in self.tilings.items():
            e = prog.entries[ref]
            if join != "concatenate" or axis != len(e.shape) - 1 or not self._chain_op(ref):
                continue
            if ref == prog.output_position or id(e) in watched or sorted(self.readers.get(ref, [])) != sorted(tiles):
                continue
            reading = [self._gate_reading(tile) for tile in tiles]
            gates = [g for g in reading if g is not None]
            if len(gates) < len(tiles) or any(id(prog.entries[t]) in watched for t in tiles):
                continue
            ops = [prog.entries[g].op for g in gates]
            if "sigmoid" not in ops or not all(self._elementwise_readers(g) for g in gates):
                continue
            pieces = [_slice_of(prog.entries[tile].p, e.shape) for tile in tiles]
            if len({piece[3] - piece[2] for piece in pieces if piece is not None}) > 1:  # planes of one width
                continue
            found[ref] = GatesKernel(ref, tiles, gates, pieces, ops)
        return found

    def _gates_kernel_lines(self, gk: GatesKernel) -> list[str]:
        """The forward of an elementwise result and of the gates that read its slices (see
        :meth:`_gates_kernels`): one kernel writing a plane per gate, the sigmoids' first, negated;
        NumPy's exp over the sigmoids' planes, one kernel finishing them, NumPy's tanh over the
        tanh's planes, both in place; each gate's result is its plane, a contiguous array."""
        prog = self.program
        root = prog.entries[gk.root]
        ndim = len(root.shape)
        expression, element = self.chain_trees[gk.root]
        call = self.kernels.gates(expression, element, gk.planes(), ndim)  # type: ignore[union-attr]
        names = ", ".join(prog.entries[g].name or prog.entries[g].op for g in gk.order)
        n = gk.sigmoids
        lines = [f"y = {call}  # {_describe(root)} for its gates, a plane each ({names}), -x where a sigmoid reads it"]
        lines.append(
            f'with errstate(over="ignore"): exp(y[:{n}], out=y[:{n}])  # the sigmoids: exp(-x), as ops.sigmoid'
        )
        tail = self.kernels.sigmoid_tail(f"y[:{n}]", root.dtype, ndim + 1)  # type: ignore[union-attr]
        lines.append(f"{tail}  # the sigmoids' 1 / (exp(-x) + 1), in place")
        if n < len(gk.order):
            lines.append(f"tanh(y[{n}:], out=y[{n}:])  # the tanh gates")
        lines.append("; ".join(f"v[{g}] = y[{plane}]" for plane, g in enumerate(gk.order)))
        return lines

    def _gates_vjp(self, group: GateGroup, piece: str) -> list[str]:
        """The VJP of gates run as one call, as one piece of the joined gradient: the local derivative
        over the forward's one result (each gate's saved output is a view of it), times the gates'
        gradients joined the same way."""
        prog = self.program
        first = group.first
        grads = f"concatenate({_tuple([f'g[{m}]' for m in group.members])}, axis={group.axis})"
        e = prog.entries[first]
        base = f"e{first}.out.base"  # the one call's result
        if self.kernels is not None and e.dtype in kernels.DTYPES:
            lines = [f"d = {self.kernels.vjp(e.op, base, grads, e.dtype, len(e.shape))}"]
        else:
            lines = fusion.vjp_lines(e.op, base, grads)
        lines[-1] += f"  # {group.describe(prog)}: one VJP"
        lines.append(f"{piece} = d; " + " = ".join(f"g[{m}]" for m in group.members) + " = None")
        lines.extend(self._line(*[self._free(m) for m in group.members]))
        return lines

    def _kernel_vjp(self, k: int) -> bool:
        """Whether entry k's VJP runs as one kernel: a sigmoid or tanh of one float dtype, not 0-d."""
        e = self.program.entries[k]
        return (
            self.kernels is not None
            and fusion.fusable(e)
            and not self.program.mixed_dtypes[k]
            and e.dtype in kernels.DTYPES
            and e.shape != ()
        )

    def _folded_into_mul(self, k: int, i: int) -> int | None:
        """The entry whose VJP can run inside mul k's VJP kernel, for the gradient of its operand i: a
        sigmoid or tanh (:meth:`_kernel_vjp`) of the same dtype that only k reads, once, so that this
        gradient is its whole gradient; or None."""
        prog = self.program
        kind, j = prog.sources[k][i]
        if kind != _FROM_ENTRY or self.readers.get(j) != [k] or not self._kernel_vjp(j):
            return None
        if any(j in group.members for group in self.gates):  # its VJP runs with its neighbours'
            return None
        e = prog.entries[j]
        watched = any(w is e for w in prog.watched)
        ok = j in self.reached and prog.needs_grad[j] and e.dtype == prog.entries[k].dtype and not watched
        return j if ok else None

    def _same_shape_vjp(self, k: int, op: str) -> bool:
        """Whether entry k is ``op`` of two operands of its own shape and dtype (so its VJP broadcasts
        nothing back), on the kernels' backend."""
        prog = self.program
        e = prog.entries[k]
        return (
            self.kernels is not None
            and is_primitive(e, op)
            and not prog.mixed_dtypes[k]
            and e.dtype in kernels.DTYPES
            and e.shape != ()
            and all(self._operand_type(kind, ref) == (e.shape, e.dtype) for kind, ref in prog.sources[k])
        )

    def _operand_type(self, kind: int, ref) -> tuple:
        prog = self.program
        if kind == _FROM_ENTRY:
            return prog.entries[ref].shape, prog.entries[ref].dtype
        if kind == _FROM_LEAF:
            return ref.shape, ref.dtype
        if kind == _FROM_INPUT:
            return prog.input_shapes[ref], prog.input_dtypes[ref]
        return np.shape(ref), getattr(ref, "dtype", None)

    def _chain_op(self, k: int) -> bool:
        """Whether entry k may be part of a fused elementwise chain: one of :data:`kernels.OPS`, every
        operand of its own shape and dtype (no broadcasting) or a Python number, float32 or float64."""
        prog = self.program
        e = prog.entries[k]
        if e.op not in kernels.OPS or not is_primitive(e, e.op) or k in prog.dynamic_p or prog.mixed_dtypes[k]:
            return False
        if e.dtype not in kernels.DTYPES or e.shape == () or e.out is not None:
            return False
        for kind, ref in prog.sources[k]:
            if kind == _CONSTANT and not isinstance(ref, (np.ndarray, np.generic)):
                if not kernels.exact_constant(ref, e.dtype):
                    return False
            elif self._operand_type(kind, ref) != (e.shape, e.dtype):
                return False
        return True

    def _chains(self) -> dict[int, tuple]:
        """Maximal trees of elementwise ops (:meth:`_chain_op`) whose inner results nothing else reads:
        read once, by the next op of the tree, which does not keep them for its VJP, and not the
        step's result or hooked. Last entry -> (its members, the source text of its kernel's call,
        the entries it reads), for trees of two ops or more; the entries run as one kernel there."""
        prog = self.program
        n = len(prog.entries)
        candidate = [self._chain_op(k) for k in range(n)]
        watched = {id(e) for e in prog.watched}

        def inner(m: int) -> bool:
            found = self.readers.get(m, [])
            if not candidate[m] or m == prog.output_position or id(prog.entries[m]) in watched or len(found) != 1:
                return False
            r = found[0]
            kept = prog.entries[r].ins
            return candidate[r] and not (
                kept is not None
                and any(
                    x is not None and kind == _FROM_ENTRY and ref == m for x, (kind, ref) in zip(kept, prog.sources[r])
                )
            )

        chains = {}
        for k in range(n):
            if candidate[k] and not inner(k):
                e = prog.entries[k]
                expression = kernels.Expression(e.dtype)
                members: list[int] = []
                args: list[int] = []
                element = self._chain_element(k, inner, expression, members, args)
                if k in self.gates_kernels:  # written by its gates' kernel instead (_gates_kernel_lines)
                    self.chain_trees[k] = (expression, element)
                    chains[k] = (set(members), "", args)
                elif len(members) > 1:
                    call = self.kernels.call(expression, element, len(e.shape))  # type: ignore[union-attr]
                    chains[k] = (set(members), call, args)
        return chains

    def _chain_element(self, j: int, inner, expression, members: list[int], args: list[int]) -> str:
        """Entry j's result as one element of an expression over the chain's arguments (entries that
        ``inner`` says are inside the chain are written in as expressions of their own)."""
        prog = self.program
        members.append(j)
        operands = []
        for kind, ref in prog.sources[j]:
            if kind == _FROM_ENTRY and inner(ref):
                operands.append(self._chain_element(ref, inner, expression, members, args))
            elif kind == _CONSTANT and not isinstance(ref, (np.ndarray, np.generic)):
                operands.append(expression.constant(ref))
            else:
                operands.append(expression.arg(self.operand(kind, ref)))
                if kind == _FROM_ENTRY:
                    args.append(ref)
        return expression.op(prog.entries[j].op, *operands)

    def _reached(self) -> set[int]:
        """The entries some gradient reaches, walking back from the result."""
        prog = self.program
        reached = {prog.output_position}
        for k in range(prog.output_position, -1, -1):
            if k in reached and prog.needs_grad[k]:
                for (kind, ref), parent in zip(prog.sources[k], prog.entries[k].parents):
                    if kind == _FROM_ENTRY and parent is not None:
                        reached.add(ref)
        return reached

    def _weight_products(self, reached: set[int]) -> dict[int, list[int]]:
        """Matrix products that share one weight (an RNN's recurrent weight, once per step): product ->
        its chunk, consecutive in sweep order, up to :data:`WEIGHT_CHUNK_ROWS` rows in all. The
        weight's gradient is then one product over each chunk's stacked rows instead of one per step
        and a sum of them: far fewer calls and additions of a weight-sized array, at the price of
        summing in another order (equal to the sweep's to float round-off, not bit for bit)."""
        prog = self.program
        by_weight: dict[tuple, list[int]] = {}
        for k in sorted(reached, reverse=True):
            e = prog.entries[k]
            if (
                prog.needs_grad[k]
                and (is_primitive(e, "matmul") or is_primitive(e, "matmul_t"))
                and e.parents[1] is not None
                and not prog.mixed_dtypes[k]
                and len(e.shape) >= 2
                and len(_input_shape(prog, k, 1)) == 2
            ):
                kind, ref = prog.sources[k][1]
                by_weight.setdefault((kind, id(ref) if kind == _CONSTANT else ref), []).append(k)
        chunks = {}
        for products in by_weight.values():
            chunk: list[int] = []
            rows = 0
            for product in [*products, None]:
                n = math.prod(prog.entries[product].shape[:-1]) if product is not None else 0
                large = 2 * n >= WEIGHT_CHUNK_ROWS  # a join would copy its rows to save one call: left alone
                if product is None or large or (chunk and rows + n > WEIGHT_CHUNK_ROWS):
                    if len(chunk) > 1:  # alone, a product's VJP is already one product
                        chunks.update(dict.fromkeys(chunk, chunk))
                    chunk, rows = [], 0
                if product is not None and not large:
                    chunk.append(product)
                    rows += n
        return chunks

    def _tilings(self, reached: set[int]) -> dict[int, tuple]:
        """Entries read only by slices that tile them along one axis (an LSTM's gates, a chunk's
        steps): entry -> (join, axis, readers in position order). Their gradient is then one
        concatenate or stack, plus 0.0 so that every bit equals the sweep's zeros + each slice (the
        join, not the sum, is how PyTorch backpropagates a split)."""
        prog = self.program
        readers: dict[int, list[int]] = {}
        for k in reached:
            for (kind, ref), parent in zip(prog.sources[k], prog.entries[k].parents):
                if kind == _FROM_ENTRY and parent is not None and prog.needs_grad[k]:
                    readers.setdefault(ref, []).append(k)
        tilings = {}
        for ref, ks in readers.items():
            if len(ks) < 2 or not all(is_primitive(prog.entries[k], "getitem") for k in ks):
                continue
            found = [_slice_of(prog.entries[k].p, prog.entries[ref].shape) for k in ks]
            pieces = [piece for piece in found if piece is not None]
            if len(pieces) < len(found) or len({(join, axis) for join, axis, _, _ in pieces}) != 1:
                continue
            order = sorted(zip(pieces, ks), key=lambda pk: pk[0][2])
            join, axis = pieces[0][:2]
            edges = [(start, stop) for (_, _, start, stop), _ in order]
            ends = [0] + [stop for _, stop in edges]
            if all(start == end for (start, _), end in zip(edges, ends)) and ends[-1] == prog.entries[ref].shape[axis]:
                tilings[ref] = (join, axis, [k for _, k in order])
        return tilings


class GateGroup:
    """Adjacent slices ``tiles`` of entry ``array`` along ``axis``, read by the gates ``members``
    (one op, in slice order): ``union`` indexes all of them in ``array``, ``parts`` each gate in the
    union (the forward's one result)."""

    def __init__(self, array: int, members: list[int], tiles: list[int], axis: int, pieces: list) -> None:
        self.array, self.members, self.tiles, self.axis = array, members, tiles, axis
        self.first = min(members)  # the one the forward computes them at, and the VJP runs at
        start, stop = pieces[0][2], pieces[-1][3]
        self.union = (slice(None),) * axis + (slice(start, stop),)
        self.parts = [(slice(None),) * axis + (slice(a - start, b - start),) for _, _, a, b in pieces]

    def describe(self, prog: Program) -> str:
        """Like an entry's comment: ``sigmoid i, f lstm.l0[t=2]``."""
        names = ", ".join(prog.entries[m].name for m in self.members if prog.entries[m].name)
        return _describe(prog.entries[self.members[0]], names)


class GatesKernel:
    """Entry ``root`` (an elementwise result) read only by ``gates`` (sigmoid or tanh), one per slice
    ``tiles`` of its last axis, each as wide: its kernel writes a plane per gate, the sigmoids first
    (``order``), so that one exp covers them all and each gate's result is contiguous."""

    def __init__(self, root: int, tiles: list[int], gates: list[int], pieces: list, ops: list[str]) -> None:
        self.root, self.tiles, self.gates = root, tiles, gates
        spans = {g: (start, stop) for g, (_, _, start, stop) in zip(gates, pieces)}
        self.order = [g for g, op in zip(gates, ops) if op == "sigmoid"] + [
            g for g, op in zip(gates, ops) if op != "sigmoid"
        ]
        self.sigmoids = ops.count("sigmoid")
        self.spans = [spans[g] for g in self.order]

    def planes(self) -> list[tuple[int, int, bool]]:
        """The kernel's planes in order: (start, stop, negated) of the columns each is written from."""
        return [(start, stop, n < self.sigmoids) for n, (start, stop) in enumerate(self.spans)]


#: How many rows (batch x steps) of a weight's products share one product for its gradient: more is
#: fewer calls and more memory, since each product keeps its output's gradient until its chunk is done.
#: 512 is 16 steps at batch 32 and 8 at batch 64. A product of half as many rows or more is left
#: alone (a layer's input projections, 8 steps each): joining two would copy both their inputs and
#: gradients to save one call, and keep the whole sequence's projection gradient.
WEIGHT_CHUNK_ROWS = 512


def _input_shape(prog: Program, k: int, i: int) -> tuple:
    kind, ref = prog.sources[k][i]
    if kind == _FROM_ENTRY:
        return prog.entries[ref].shape
    if kind == _FROM_LEAF:
        return ref.shape
    if kind == _CONSTANT:
        return np.shape(ref)
    return prog.input_shapes[ref]


def _slice_of(p, shape: tuple) -> tuple | None:
    """A getitem's basic index as (join, axis, start, stop) when it takes one contiguous range
    (``x[t]``, ``x[:, a:b]``) of one axis and all of the others before it; None otherwise."""
    index, _, basic = p
    parts = index if isinstance(index, tuple) else (index,)
    if not basic or not parts:  # x[()]: the whole array, no axis sliced
        return None
    axis = len(parts) - 1
    if any(s != slice(None) for s in parts[:axis]) or axis >= len(shape):
        return None
    last, n = parts[axis], shape[axis]
    if isinstance(last, (int, np.integer)) and not isinstance(last, bool):
        start = int(last) % n
        return ("stack", axis, start, start + 1)
    if isinstance(last, slice):
        start, stop, step = last.indices(n)
        return ("concatenate", axis, start, stop) if step == 1 and start < stop else None
    return None


def _flat_params(p) -> list:
    """An op's parameters, tuples (an index of several parts) opened one level."""
    flat: list = []
    for v in p if isinstance(p, tuple) else (p,):
        flat.extend(v if isinstance(v, tuple) else (v,))
    return flat


def _mixed_dtypes(entry, raw_inputs: tuple) -> bool:
    """Whether a VJP may hand a parent a gradient of another dtype (e.g. float32 input, float64
    constant): only then does the program check and cast, as add_gradient always does."""
    arrays = (*raw_inputs, *_flat_params(entry.p))
    return len({a.dtype for a in arrays if isinstance(a, (np.ndarray, np.generic))} | {entry.dtype}) > 1


def _accumulate_leaf(leaf: Leaf, g: np.ndarray) -> None:
    tensor = leaf.tensor()
    if tensor is not None:
        accumulate_into(tensor, g, False)


def _tuple(names: list[str], brackets: bool = True) -> str:
    text = ", ".join(names) + ("," if len(names) == 1 else "")
    return f"({text})" if brackets else text


def _describe(e, name: str | None = None) -> str:
    """An entry as the source's comments call it: ``sigmoid i lstm.l0[t=2]`` (``name`` in place of its own)."""
    where = e.scope.label if e.scope is not None else ""
    return " ".join(part for part in (e.op, e.name if name is None else name, where) if part)


def _dynamic_params(entry, source_of):
    """Entry parameters that hold arrays the step computed (``tl.where``'s mask from a comparison, an
    index from ``argmax``), as a spec the writer turns into source: ``("tuple", [...])``,
    ``("source", (kind, ref))`` or ``("constant", value)``; None when every parameter is a constant."""
    found = [False]

    def spec(v):
        if type(v) is tuple:
            return ("tuple", [spec(x) for x in v])
        if isinstance(v, np.ndarray):
            where = source_of(v)
            if where[0] != _CONSTANT:
                if v.dtype == bool and is_primitive(entry, "getitem"):
                    raise CompileError(
                        "compile: a boolean mask computed in the step indexes a tensor (x[mask]): the result's "
                        "shape depends on the values, which a replay cannot follow. Use tl.where(mask, x, 0), "
                        "or run the step without tl.compile"
                    )
                found[0] = True
                return ("source", where)
        return ("constant", v)

    result = spec(entry.p)
    return result if found[0] else None


def _spec_sources(spec) -> list:
    if spec is None:
        return []
    kind, value = spec
    if kind == "tuple":
        return [s for v in value for s in _spec_sources(v)]
    return [value] if kind == "source" else []


def _check_not_an_index(entry, input_arrays: list) -> None:
    for v in _flat_params(entry.p):
        if isinstance(v, np.ndarray) and any(v is a or (v.base is not None and v.base is a) for a in input_arrays):
            raise CompileError(
                f"compile: an input is used as an index or mask by {entry.op}; a replay would reuse the "
                "first call's values. Run this step without tl.compile"
            )


def sum_into_source(name: str, d: str, dtype: str, shape: str, summed: dict, cast: bool, indexed: bool) -> list[str]:
    """``backward.add_gradient`` as source text for the program: the lines that add contribution ``d``
    to gradient ``name``. ``summed`` maps each gradient to whether its buffer is the program's own (as
    ``owned`` does in the sweep); ``sole`` in the lines is ``backward.sole_reference``."""
    lines = []
    if indexed:
        if name not in summed:
            lines.append(f"{name} = zeros({shape}, {dtype})")
        elif not summed[name]:
            lines.append(f"{name} = array({name}, {dtype})")
        summed[name] = True
        return lines + [f"{d}.add_into({name})"]
    if cast:
        lines.append(f"if {d}.dtype != {dtype}: {d} = {d}.astype({dtype})")
    if name not in summed:
        summed[name] = False  # the first contribution is kept as it is: it may be shared
        return lines + [f"{name} = {d}"]
    if summed[name]:
        return lines + [f"{name} += {d}"]
    summed[name] = True
    container, key = name.rstrip("]").split("[")
    return lines + [f"if sole({container}, {key}): {name} += {d}", f"else: {name} = {name} + {d}"]
