"""What each ``tinygrad-lstm`` command does, once ``cli.py`` has parsed its line: ``example``,
``graph`` and ``tape`` (``demo`` is the demos' own, ``tinygrad_lstm.demos.main``). A mistake the
parser cannot see (a file where a folder should be, an option that does not fit the cell) is
answered in one line and exit code 2."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path


def _fail(command: str, message: str) -> int:
    print(f"tinygrad-lstm {command}: error: {message}", file=sys.stderr)
    return 2


def example(args: argparse.Namespace) -> int:
    from .examples import explain_tanh_rnn

    explain_tanh_rnn(args.steps, args.hidden_size, args.seed)
    return 0


def _unrolled(args: argparse.Namespace, sources: bool = False, cell: str | None = None, values: int = 0):
    from .examples import unroll

    return unroll(
        cell or args.cell,
        args.steps,
        args.batch,
        args.input_size,
        args.hidden_size,
        args.seed,
        args.forget_bias,
        sources=sources,
        values=values,
        checkpoint_every=args.checkpoint_every,
    )


def graph(args: argparse.Namespace) -> int:
    """Build a small recurrent model with a loss, run backward, render its unrolled graph."""
    from . import viz
    from .viz.render import FORMATS

    try:
        scale = viz.parse_scale(args.scale)
    except ValueError as e:
        return _fail("graph", str(e))
    to_stdout = args.output == "-"
    if args.format is not None and not to_stdout:
        return _fail(
            "graph", f"--format applies to -o - (standard output); the extension of {args.output} picks its format"
        )
    if to_stdout and args.dot:
        return _fail("graph", "--dot writes the DOT text beside a picture file; with -o - use --format dot")
    suffix = f".{args.format or 'svg'}" if to_stdout else Path(args.output).suffix.lower()
    explorer = suffix in (".html", ".htm")
    if not explorer and suffix not in FORMATS:
        return _fail("graph", f"-o {args.output}: the extension picks the format; use .svg, .png, .dot or .html")
    if explorer and args.view not in (None, "cell"):
        return _fail("graph", f"--view {args.view} draws a still picture; the .html explorer shows the belt "
                     "and opens a step into its op view on a click")  # fmt: skip
    cells = [c.strip() for c in args.compare.split(",") if c.strip()] if args.compare else [args.cell]
    if args.compare and ([c for c in cells if c not in _cells()] or len(cells) < 2):
        return _fail("graph", f"--compare takes two or more of {', '.join(_cells())} (comma-separated), "
                     f"got {args.compare!r}")  # fmt: skip
    if args.forget_bias is not None and all(c in ("rnn", "gru") for c in cells):
        return _fail("graph", f"--forget-bias applies to LSTM cells; {', '.join(cells)} has no forget gate")
    if explorer:
        return _explore(args, viz, cells, scale)
    if args.compare:
        runs = []
        for cell in cells:
            u = _unrolled(args, cell=cell)
            runs.append((_label(args, cell), u.tape, u.backward()))
        title = f"The same input, {args.steps} steps, one colour scale: where does the gradient survive?"
        picture = viz.compare(runs, scale=scale, title=title)
        write = _picture_writer(viz, picture, args, suffix)
        return _write(viz, write, args.output, f"{len(runs)} recordings, view cell", args.dot)
    u = _unrolled(args)
    view = args.view or "cell"
    trace = u.backward() if (args.heat or view == "backward") else None
    if trace is None:
        u.loss.backward()
    cell = _CELL_TITLES.get(args.cell, args.cell)
    title = f"{cell} unrolled over {args.steps} steps: {view} view"
    if view == "rolled":  # the picture folds the steps back into one cell: say so, not "unrolled"
        title = f"{cell}, {args.steps} steps rolled into one cell (the loop: the state handed from step to step)"
    picture = viz.draw(
        u.tape, view=view, trace=trace, heat=args.heat, window=args.window, budget=args.budget, title=title,
        scale=scale,
    )  # fmt: skip
    for note in picture.notes:
        print(f"note: {note}", file=sys.stderr if to_stdout else sys.stdout)
    write = _picture_writer(viz, picture, args, suffix)
    return _write(viz, write, args.output, f"{len(u.tape)} tape entries, view {view}", args.dot)


def _label(args: argparse.Namespace, cell: str) -> str:
    label = _CELL_TITLES.get(cell, cell)
    if args.forget_bias is not None and cell not in ("rnn", "gru"):
        label += f", forget-gate bias {args.forget_bias:g}"
    if args.checkpoint_every:
        label += f", checkpoint every {args.checkpoint_every} steps"
    return label


def _explore(args: argparse.Namespace, viz, cells: list[str], scale) -> int:
    """Write the backward-pass explorer page: one recording, or several (--compare) stepping together."""
    runs = []
    for cell in cells:
        u = _unrolled(args, sources=True, cell=cell, values=viz.HEAT_MAP_LIMIT)
        runs.append((_label(args, cell), u.tape, u.backward(arrays=viz.HEAT_MAP_LIMIT)))
    title = f"Backward through {args.steps} steps: " + " beside ".join(label for label, _, _ in runs)
    page = viz.explore(runs, scale=scale, title=title)
    if args.output == "-":
        write = functools.partial(_to_stdout, page.html.encode())
    else:
        write = functools.partial(page.save, args.output)
    return _write(viz, write, args.output, f"the explorer: {page.steps} VJPs to step through")


def _picture_writer(viz, picture, args: argparse.Namespace, suffix: str):
    """What writes the picture: to its file, or (``-o -``) its bytes to standard output."""
    if args.output != "-":
        return functools.partial(viz.render, picture, args.output, keep_dot=args.dot)
    from .viz.render import FORMATS

    fmt = FORMATS[suffix]

    def write():
        return _to_stdout(picture.source.encode() if fmt == "dot" else viz.pipe(picture.source, fmt))

    return write


def _to_stdout(data: bytes) -> None:
    """Write ``data`` to standard output as bytes (a PNG too); None: there is no path to report."""
    sys.stdout.flush()
    out = getattr(sys.stdout, "buffer", None)
    if out is None:  # a text stream (a test's capture): SVG, DOT and HTML are text
        sys.stdout.write(data.decode())
    else:
        out.write(data)
        out.flush()


_CELL_TITLES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "peephole": "peephole LSTM", "cifg": "CIFG LSTM"}


def _cells() -> tuple:
    from .examples import CELLS

    return CELLS


def _write(viz, write, output: str, what: str, keep_dot: bool = False) -> int:
    """Run ``write()`` (which returns the path it wrote) and say what it wrote, or why it could not."""
    try:
        path = write()
        if path is None:  # -o -: the data went to standard output; the report goes to stderr
            print(f"wrote standard output ({what})", file=sys.stderr)
            return 0
    except (viz.RendererNotFound, ValueError) as e:
        return _fail("graph", str(e))
    except (FileExistsError, NotADirectoryError) as e:
        return _fail("graph", f"cannot write {output}: {e.filename} is a file, not a folder")
    except OSError as e:  # an unwritable folder, a full disk
        return _fail("graph", f"cannot write {output}: {e.strerror or e}")
    print(f"wrote {path} ({what})" + (f" and {path.with_suffix('.dot')}" if keep_dot and path.suffix != ".dot" else ""))
    return 0


def _nothing_matched(tape, scope: str | None, op: str | None) -> str:
    """One line for a --scope/--op that selects no entry: the scopes (time steps as a range) and ops there are."""
    from .tape import time_step

    steps: dict[str, list[int]] = {}  # a scope's name -> its time steps, in order met
    for e in tape.entries:
        if e.scope is None:
            continue
        s = time_step(e.scope)
        name, t = (e.scope.name, s[1]) if s is not None else (e.scope.path, None)
        ts = steps.setdefault(name, [])
        if t is not None and t not in ts:
            ts.append(t)
    scopes = ", ".join(
        f"{name}[t={min(ts)}..{max(ts)}]" if len(ts) > 1 else f"{name}[t={ts[0]}]" if ts else name
        for name, ts in steps.items()
    )
    ops = sorted({e.op for e in tape.entries})
    asked = " and ".join(x for x in (f"--scope {scope!r}" if scope else "", f"--op {op!r}" if op else "") if x)
    return f"{asked}: no entry (of {len(tape)}) matches; the scopes are {scopes}; the ops are {', '.join(ops)}"


def tape(args: argparse.Namespace) -> int:
    """Print a small recurrent model's tape (the Wengert list), and optionally its backward trace and memory."""
    from .instruments.memory import memory_table

    if args.forget_bias is not None and args.cell in ("rnn", "gru"):
        return _fail("tape", f"--forget-bias applies to LSTM cells; {args.cell} has no forget gate")
    u = _unrolled(args, sources=True)
    if args.memory and not (args.trace or args.scope or args.op):  # asked for the table alone
        print(f"# memory held for backward by a {args.cell} over {args.steps} steps, by time step")
        print(memory_table(u.tape))
        return 0
    tape = u.tape.filter(scope=args.scope, op=args.op) if (args.scope or args.op) else u.tape
    if not tape.entries:  # a filter that matches nothing: say what there is to match
        return _fail("tape", _nothing_matched(u.tape, args.scope, args.op))
    print(f"# tape of a {args.cell} over {args.steps} steps: {len(tape)} of {len(u.tape)} entries")
    print(tape.listing())
    if args.memory:
        print("\n# memory held for backward, by time step")
        print(memory_table(u.tape))
    if args.trace:
        trace = u.backward()
        print("\n# backward trace: the VJPs in the order the sweep ran them")
        print(trace.listing(u.tape))
    return 0
