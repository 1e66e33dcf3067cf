"""Fused elementwise kernels: the arithmetic between a step's products and transcendentals as one
loop each, written as Python source and compiled by numba (``tl.compile(fn, backend="numba")``).

A replay makes one NumPy call per primitive, and each call is a pass over its arrays plus about a
microsecond of dispatch. Where several elementwise ops feed only each other (an LSTM's ``c = f * c
+ i * g``: two products and a sum) the program writer (``program.py``) hands their expression to
:func:`kernel`, which writes one loop that computes each element through the whole expression; and
the local derivative of ``sigmoid`` and ``tanh`` times the incoming gradient (three NumPy calls in
their VJPs) is one loop too. Products stay BLAS calls and ``exp``/``tanh`` stay NumPy calls:
NumPy's SIMD loops are faster than numba's scalar ones, and their bits are NumPy's.

An LSTM step, on this backend: its gate pre-activations ``x_proj[t] + h @ U.T`` are one kernel
(:func:`gates_source`) that writes a plane per gate, the sigmoid gates' first and negated, so that
one NumPy ``exp`` covers i, f and o in place and one more kernel finishes them (``1 / (e + 1)``,
the rest of ``ops.sigmoid``); one ``tanh`` runs over g's plane. Every gate is then a contiguous
array. In backward each product's VJP kernel also runs the VJP of the gate it reads, writes that
gate's gradient straight into the step's joined gradient (plus the 0.0 of the sweep's ``zeros +
slice``), adds up the contributions to its own incoming gradient (h: its part of the output, then
the next step's product) and adds its result to the gradient it is summed into (c), in the sweep's
order: three kernels and the products per step.

Every bit equals NumPy's op by op: each operation is an IEEE operation on two values of the array's
dtype, rounded to that dtype, so the order of operations inside one element is all that matters,
and the kernel keeps it. What keeps it so: operands of one dtype and one shape (no broadcasting:
the writer falls back to NumPy otherwise), constants cast to the array's dtype (a float literal
would promote float32 to float64), ``error_model="numpy"`` (division by zero gives inf and NaN as
NumPy does, and the loops stay vectorised) and no fast-math (no fused multiply-adds, no
reassociation). Loops run over 1-D row views, which numba vectorises where it would not 2-D indexing.

Each kernel is a module file of its own under the kernel cache (``TINYGRAD_LSTM_CACHE``, else
``~/.cache/tinygrad_lstm/kernels``), named by a hash of its source, so that numba's ``cache=True``
keeps its machine code on disk: a later process loads it instead of compiling it again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

BACKENDS = ("numpy", "numba")


def available() -> bool:
    """Whether numba can be imported (the ``[fast]`` extra): imported once to see, so that a numba
    that is installed but fails to load (built for another NumPy) means the NumPy replay, not an error."""
    global _importable
    if _importable is None:
        try:
            import numba  # noqa: F401
        except ImportError:
            _importable = False
        else:
            _importable = True
    return _importable


_importable: bool | None = None


def resolve(backend: str | None) -> str:
    """The backend a step uses: ``None`` is numba where it is installed, else NumPy."""
    if backend is None:
        return "numba" if available() else "numpy"
    if backend not in BACKENDS:
        raise ValueError(f"compile: backend must be None, 'numpy' or 'numba', got {backend!r}")
    if backend == "numba" and not available():
        raise ImportError(
            'compile: backend="numba" needs numba, which cannot be imported here: pip install ".[fast]" in a clone of '
            'this project (or pip install numba), or use backend="numpy"'
        )
    return backend


#: op -> how an element of its result is written from its operands' elements
OPS = {
    "add": "({0} + {1})",
    "sub": "({0} - {1})",
    "mul": "({0} * {1})",
    "div": "({0} / {1})",
    "neg": "(-{0})",
}

#: the VJPs of ``ops.sigmoid`` and ``ops.tanh`` (see ``fusion.py``) as one expression of the output
#: ``y`` and the incoming gradient ``g``, in the order the VJPs compute them: (1 - y) * y, then * g;
#: y * y, then 1 - that, then * g
VJPS = {
    "sigmoid": ("mul", ("mul", ("sub", 1, "y"), "y"), "g"),
    "tanh": ("mul", ("sub", 1, ("mul", "y", "y")), "g"),
}

DTYPES = {np.dtype(np.float32): "float32", np.dtype(np.float64): "float64"}


def exact_constant(value, dtype: np.dtype) -> bool:
    """Whether a Python number is cast to ``dtype`` by NumPy exactly as ``dtype.type(value)`` casts it."""
    if type(value) is float:
        return True
    return type(value) is int and abs(value) <= 2**24  # exactly representable in both floats


class Expression:
    """An elementwise expression being built for one kernel: its array arguments (source text, in
    order of first use) and its constants, each named once."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.args: list[str] = []  # source text of the caller's arrays
        self.constants: list[float] = []

    def arg(self, source: str) -> str:
        if source not in self.args:
            self.args.append(source)
        return f"a{self.args.index(source)}"

    def constant(self, value) -> str:
        value = float(value)
        if value not in self.constants:
            self.constants.append(value)
        return f"c{self.constants.index(value)}"

    def op(self, op: str, *operands: str) -> str:
        return OPS[op].format(*operands)

    def tree(self, tree, names: dict, built: dict | None = None) -> str:
        """A nested tuple ``(op, operand, ...)`` with names from ``names`` (arrays) or ``built``
        (expressions already written) and numbers as constants."""
        if isinstance(tree, tuple):
            return self.op(tree[0], *[self.tree(t, names, built) for t in tree[1:]])
        if isinstance(tree, str):
            return built[tree] if built and tree in built else self.arg(names[tree])
        return self.constant(tree)


HEADER = [
    "# Written by tl.compile (tinygrad_lstm/compiler/kernels.py): one elementwise loop, each operation",
    "# rounded to the arrays' dtype as NumPy rounds it, op by op.",
    "import numpy as np",
    "from numba import njit",
    "",
    "",
    '@njit(cache=True, error_model="numpy")',
]


def _rows(body: list[str], level: list[str], ndim: int) -> tuple[list[str], str]:
    """Loops over all but the last of ``ndim`` axes, each taking a row view of every array in
    ``level`` (numba vectorises a loop over 1-D views where it would not 2-D indexing); returns the
    innermost views and indent."""
    indent = ""
    for depth in range(ndim - 1):
        body.append(indent + f"for i{depth} in range({level[0]}.shape[0]):")
        indent += "    "
        views = [f"{v.rsplit('_', 1)[0]}_{depth + 1}" if "_" in v else f"{v}_{depth + 1}" for v in level]
        body.append(indent + f"{', '.join(views)} = {', '.join(f'{v}[i{depth}]' for v in level)}")
        level = views
    return level, indent


def _at(element: str, args: list[str], index: str) -> str:
    """``element`` with each argument ``aN`` read at ``index`` of its view in ``args``."""
    return re.sub(r"\ba(\d+)\b", lambda m: f"{args[int(m.group(1))]}[{index}]", element)


def kernel_source(
    elements: list[str],
    n_args: int,
    constants: list[float],
    ndim: int,
    dtype: np.dtype,
    in_place: bool = False,
    into: list[int | None] | None = None,
) -> str:
    """One kernel's module: each of ``elements`` (of ``a0``, ``a1``..., ``c0``...) computed for every
    element of arrays of ``ndim`` dimensions, the shape and dtype of ``a0``, into a new array each
    (``in_place``: the one element into ``a0`` itself; ``into[n] = arg``: element n into argument
    ``arg``, a wider array, from the column the kernel's next integer argument ``o0``, ``o1``... says
    on: an argument, not a constant, so that one kernel serves every width)."""
    into = into or [None] * len(elements)
    offsets = [f"o{n}" for n in range(sum(target is not None for target in into))]
    args = [f"a{i}" for i in range(n_args)]
    new = [n for n, target in enumerate(into) if target is None]
    outs = [] if in_place else ["out"] if len(new) == 1 else [f"out{n}" for n in range(len(new))]
    body = [f"c{i} = np.{DTYPES[dtype]}({value!r})" for i, value in enumerate(constants)]
    body.extend(f"{out} = np.empty(a0.shape, a0.dtype)" for out in outs)
    level, indent = _rows(body, [*outs, *args], ndim)
    last = ndim - 1
    views = level[len(outs) :]
    targets = [f"t{k}" for k in range(len(offsets))]  # a wider array's row from its offset on: indexed
    wider = [views[target] for target in into if target is not None]  # from 0, so the loop vectorises
    if targets:
        rows = ", ".join(f"{v}[{o}:]" for v, o in zip(wider, offsets))
        body.append(indent + f"{', '.join(targets)} = {rows}  # indexed from 0 below: numba vectorises that")
    body.append(indent + f"for i{last} in range({level[0]}.shape[0]):")
    next_target = iter(targets)
    for n, element in enumerate(elements):
        target = into[n]
        if target is not None:
            written = f"{next(next_target)}[i{last}]"
        else:
            written = f"{(level[: len(outs)] or level[:1])[new.index(n)]}[i{last}]"
        body.append(indent + f"    {written} = {_at(element, views, f'i{last}')}")
    results = outs or (["a0"] if in_place else [])
    if results:
        body.append(f"return {', '.join(results)}")
    return "\n".join([*HEADER, f"def kernel({', '.join(args + offsets)}):"] + ["    " + line for line in body]) + "\n"


def gates_source(
    element: str, n_args: int, constants: list[float], ndim: int, dtype: np.dtype, negated: list[bool]
) -> str:
    """The gates kernel's module: ``element`` computed for every element of arrays of ``ndim``
    dimensions (the shape of ``a0``), the ``w`` columns of the last axis from ``s{n}`` on written into
    plane n of one new array, negated where ``negated[n]``: a contiguous array per gate, and the
    gates that share an op side by side. Width and starts are arguments: one kernel for every size."""
    args = [f"a{i}" for i in range(n_args)]
    starts = [f"s{n}" for n in range(len(negated))]
    planes = [f"p{n}" for n in range(len(negated))]
    body = [f"c{i} = np.{DTYPES[dtype]}({value!r})" for i, value in enumerate(constants)]
    body.append(f"out = np.empty(({len(negated)},) + a0.shape[:-1] + (w,), a0.dtype)")
    body.append(f"{', '.join(planes)} = {', '.join(f'out[{n}]' for n in range(len(planes)))}")
    level, indent = _rows(body, [*planes, *args], ndim)
    last = ndim - 1
    columns = [f"x{i}" for i in range(n_args)]  # each argument's row, the plane's columns of it
    unpack = ", ".join(columns)  # one name = one row, or a tuple = a tuple of rows
    for minus, start, plane in zip(negated, starts, level):
        sliced = ", ".join(f"{v}[{start}:{start} + w]" for v in level[len(planes) :])
        body.append(indent + f"{unpack} = {sliced}  # indexed from 0 below: numba vectorises that")
        value = _at(element, columns, f"i{last}")
        body.append(indent + f"for i{last} in range(w):")
        body.append(indent + f"    {plane}[i{last}] = {f'(-{value})' if minus else value}")
    body.append("return out")
    signature = ", ".join([*args, "w", *starts])
    return "\n".join([*HEADER, f"def kernel({signature}):"] + ["    " + line for line in body]) + "\n"


_loaded: dict[str, object] = {}
_lock = threading.Lock()


def cache_dir() -> Path:
    """Where kernel modules (and numba's cache of their machine code, beside them) are kept."""
    configured = os.environ.get("TINYGRAD_LSTM_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tinygrad_lstm" / "kernels"


def load(source: str):
    """The kernel that ``source`` defines, from its module file (written once, then reused)."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    with _lock:
        found = _loaded.get(digest)
        if found is not None:
            return found
        path = _write(f"k_{digest}.py", source)
        name = f"tinygrad_lstm_kernel_{digest}"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's cache finds a kernel's globals by its module's name
        spec.loader.exec_module(module)
        _loaded[digest] = module.kernel
        return module.kernel


def _write(name: str, source: str) -> Path:
    for directory in (cache_dir(), Path(tempfile.gettempdir()) / f"tinygrad_lstm_kernels_{os.getuid()}"):
        path = directory / name
        try:
            if path.exists() and path.read_text() == source:
                return path  # unchanged, so numba's cached machine code for it stays valid
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)  # whole or not at all, for processes writing the same kernel
            return path
        except OSError:
            continue
    raise OSError(f"compile: cannot write a kernel module in {cache_dir()} or the temporary directory")


class Kernels:
    """The kernels of one program: each distinct kernel once (``kern0``, ``kern1``... in the
    program's namespace), and their source for ``step.source``."""

    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace
        self.names: dict[str, str] = {}  # kernel source -> its name in the program
        self.sources: list[str] = []

    def call(self, expression: Expression, element: str | list[str], ndim: int) -> str:
        """Source text that calls the kernel computing ``element`` (or each of a list, a result each)
        over ``expression``'s arguments."""
        elements = element if isinstance(element, list) else [element]
        source = kernel_source(elements, len(expression.args), expression.constants, ndim, expression.dtype)
        return f"{self.named(source)}({', '.join(expression.args)})"

    def named(self, source: str) -> str:
        """The program's name for the kernel ``source`` defines (loaded the first time)."""
        name = self.names.get(source)
        if name is None:
            name = self.names[source] = f"kern{len(self.names)}"
            self.namespace[name] = load(source)
            self.sources.append(f"# {name}:\n" + source.split("\n\n\n", 1)[1])
        return name

    def gates(self, expression: Expression, element: str, tiles: list[tuple[int, int, bool]], ndim: int) -> str:
        """Source text that calls the gates kernel (:func:`gates_source`): ``element`` written as one
        plane per slice ``(start, stop, negated)`` of its last axis, negated where a sigmoid reads it
        (the ``-x`` of its ``1 / (1 + exp(-x))``)."""
        negated = [minus for _, _, minus in tiles]
        source = gates_source(element, len(expression.args), expression.constants, ndim, expression.dtype, negated)
        columns = [str(tiles[0][1] - tiles[0][0])] + [str(start) for start, _, _ in tiles]
        return f"{self.named(source)}({', '.join(expression.args + columns)})"

    def sigmoid_tail(self, array: str, dtype: np.dtype, ndim: int) -> str:
        """Source text that calls the kernel finishing sigmoids in place, where ``array`` holds
        ``exp(-x)``: ``1 / (exp(-x) + 1)``, as ``ops.sigmoid`` adds 1, then takes the reciprocal."""
        expression = Expression(dtype)
        element = expression.tree(("div", 1, ("add", "e", 1)), {"e": array})
        source = kernel_source([element], 1, expression.constants, ndim, dtype, in_place=True)
        return f"{self.named(source)}({array})"

    def vjp(self, op: str, y: str, g: str, dtype: np.dtype, ndim: int) -> str:
        """Source text of ``op``'s VJP (``sigmoid`` or ``tanh``) for output ``y`` and gradient ``g``, as one kernel."""
        expression = Expression(dtype)
        element = expression.tree(VJPS[op], {"y": y, "g": g})
        return self.call(expression, element, ndim)

    def mul_vjp(
        self,
        g: list[str],
        others: list[tuple[str, tuple | None]],
        dtype: np.dtype,
        ndim: int,
        into: list[tuple[str, int] | None] | None = None,
        plus: list[str | None] | None = None,
    ) -> str:
        """Source text of ``ops.mul``'s VJP for operands of one shape as one kernel: ``g * other`` for
        each of ``others`` (b for a's gradient, a for b's), a result each; where ``other`` comes with
        ``(op, y)``, the operand is a sigmoid or tanh output ``y`` whose only gradient this is, and the
        result is that op's VJP of it (its local derivative times ``g * other``) too. ``into[n] =
        (array, start)``: result n is not returned but written into ``array`` from column ``start``
        of its last axis, plus 0.0 (the gradient of a slice that tiles ``array``: zeros + the slice,
        as the sweep adds it). ``g`` is the incoming gradient as the contributions the sweep would
        have added up, in its order: ((g0 + g1) + g2)...; ``plus[n]``: result n is that gradient plus
        this one (the sweep's next sum into it)."""
        expression = Expression(dtype)
        elements = []
        targets: list[int | None] = []
        offsets: list[str] = []  # the columns the results written into wider arrays start at
        gradient = expression.arg(g[0])
        for part in g[1:]:
            gradient = expression.op("add", gradient, expression.arg(part))
        for n, (other, then) in enumerate(others):
            product = expression.op("mul", gradient, expression.arg(other))
            if then is not None:
                op, y = then
                product = expression.tree(VJPS[op], {"y": y}, {"g": product})
            added = plus[n] if plus else None
            if added is not None:
                product = expression.op("add", expression.arg(added), product)
            target = into[n] if into else None
            if target is not None:
                product = expression.op("add", product, expression.constant(0.0))
                targets.append(int(expression.arg(target[0])[1:]))
                offsets.append(str(target[1]))
            else:
                targets.append(None)
            elements.append(product)
        source = kernel_source(
            elements, len(expression.args), expression.constants, ndim, dtype, into=targets if into else None
        )
        return f"{self.named(source)}({', '.join(expression.args + offsets)})"

    def source(self, program: str = "") -> str:
        """The kernels' listing, each headed by what the first line of ``program`` that calls it says."""
        if not self.sources:
            return ""
        head = "# The kernels (numba): each a module of its own in the kernel cache, shown here without its imports\n"
        listed = []
        for name, text in zip(self.names.values(), self.sources):
            said = re.search(rf"\b{name}\([^\n]*?  # ([^\n]*)", program)
            listed.append(text.replace(f"# {name}:\n", f"# {name}: {said.group(1)}\n", 1) if said else text)
        return head + "\n".join(listed)
