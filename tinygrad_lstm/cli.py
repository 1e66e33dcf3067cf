"""The ``tinygrad-lstm`` command. Subcommands arrive with the features they show."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

from .arguments import Parser, count


def _fail(command: str, message: str) -> int:
    print(f"tinygrad-lstm {command}: error: {message}", file=sys.stderr)
    return 2


def _example(args: argparse.Namespace) -> int:
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
    )


def _graph(args: argparse.Namespace) -> int:
    """Build a small recurrent model with a loss, run backward, render its unrolled graph."""
    from . import viz
    from .viz.render import FORMATS

    try:
        scale = viz.parse_scale(args.scale)
    except ValueError as e:
        return _fail("graph", str(e))
    explorer = Path(args.output).suffix.lower() in (".html", ".htm")
    if not explorer and Path(args.output).suffix.lower() not in FORMATS:
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
        write = functools.partial(viz.render, picture, args.output, keep_dot=args.dot)
        return _write(viz, write, args.output, f"{len(runs)} recordings, view cell", args.dot)
    u = _unrolled(args)
    view = args.view or "cell"
    trace = u.backward() if (args.heat or view == "backward") else None
    if trace is None:
        u.loss.backward()
    title = f"{_CELL_TITLES.get(args.cell, args.cell)} unrolled over {args.steps} steps: {view} view"
    picture = viz.draw(
        u.tape, view=view, trace=trace, heat=args.heat, window=args.window, budget=args.budget, title=title,
        scale=scale,
    )  # fmt: skip
    for note in picture.notes:
        print(f"note: {note}")
    write = functools.partial(viz.render, picture, args.output, keep_dot=args.dot)
    return _write(viz, write, args.output, f"{len(u.tape)} tape entries, view {view}", args.dot)


def _label(args: argparse.Namespace, cell: str) -> str:
    label = _CELL_TITLES.get(cell, cell)
    if args.forget_bias is not None and cell not in ("rnn", "gru"):
        label += f", forget-gate bias {args.forget_bias:g}"
    return label


def _explore(args: argparse.Namespace, viz, cells: list[str], scale) -> int:
    """Write the backward-pass explorer page: one recording, or several (--compare) stepping together."""
    runs = []
    for cell in cells:
        u = _unrolled(args, sources=True, cell=cell, values=viz.HEAT_MAP_LIMIT)
        runs.append((_label(args, cell), u.tape, u.backward(arrays=viz.HEAT_MAP_LIMIT)))
    title = f"Backward through {args.steps} steps: " + " beside ".join(label for label, _, _ in runs)
    page = viz.explore(runs, scale=scale, title=title)
    write = functools.partial(page.save, args.output)
    return _write(viz, write, args.output, f"the explorer: {page.steps} VJPs to step through")


_CELL_TITLES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "peephole": "peephole LSTM", "cifg": "CIFG LSTM"}


def _cells() -> tuple:
    from .examples import CELLS

    return CELLS


def _write(viz, write, output: str, what: str, keep_dot: bool = False) -> int:
    """Run ``write()`` (which returns the path it wrote) and say what it wrote, or why it could not."""
    try:
        path = write()
    except (viz.RendererNotFound, ValueError) as e:
        return _fail("graph", str(e))
    except (FileExistsError, NotADirectoryError) as e:
        return _fail("graph", f"cannot write {output}: {e.filename} is a file, not a folder")
    except OSError as e:  # an unwritable folder, a full disk
        return _fail("graph", f"cannot write {output}: {e.strerror or e}")
    print(f"wrote {path} ({what})" + (f" and {path.with_suffix('.dot')}" if keep_dot and path.suffix != ".dot" else ""))
    return 0


def _tape(args: argparse.Namespace) -> int:
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


def main(argv: Sequence[str] | None = None) -> int:
    from . import __version__
    from .demos import DEMOS
    from .demos import main as run_demo
    from .examples import CELLS
    from .viz import VIEWS

    shown = argparse.ArgumentDefaultsHelpFormatter  # --help shows every default
    parser = Parser(
        prog="tinygrad-lstm",
        description="See autograd and backpropagation through time at work.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-lstm {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    ex = sub.add_parser(
        "example", help="unroll a small tanh RNN, print its tape and BPTT gradients", formatter_class=shown
    )
    ex.add_argument("--steps", type=count(1), default=4, help="time steps to unroll")
    ex.add_argument("--hidden-size", type=count(1), default=3, help="hidden units")
    ex.add_argument("--seed", type=int, default=0, help="random seed")
    ex.set_defaults(run=_example)

    # the small model that `graph` and `tape` build (tinygrad_lstm.examples.unroll)
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--cell", choices=CELLS, default="lstm", help="the recurrent cell")
    model.add_argument("--batch", type=count(1), default=1, help="sequences in the batch")
    model.add_argument("--input-size", type=count(1), default=2, help="input features")
    model.add_argument("--hidden-size", type=count(1), default=3, help="hidden units")
    model.add_argument("--forget-bias", type=float, default=None, help="LSTM forget-gate bias at init (e.g. 1.0)")
    model.add_argument("--seed", type=int, default=0, help="random seed")

    gr = sub.add_parser(
        "graph",
        parents=[model],
        help="render a small recurrent model's unrolled graph (SVG, PNG or DOT)",
        formatter_class=shown,
    )
    gr.add_argument("--steps", type=count(1), default=4, help="time steps to unroll")
    gr.add_argument("--view", choices=VIEWS, default=None, help="the picture (None: cell, the belt)")
    gr.add_argument("--heat", action="store_true", help="colour edges and nodes by gradient norm")
    gr.add_argument("--scale", default="1e-8..1e0", help="colour scale LO..HI, or auto")
    gr.add_argument("--compare", default=None, help="cells side by side on one scale, e.g. rnn,lstm (implies --heat)")
    gr.add_argument("--window", type=count(1), default=2, help="steps kept at each end in the window view")
    gr.add_argument("--budget", type=count(1), default=500, help="fold automatically past this many nodes")
    gr.add_argument(
        "-o", "--output", default="graph.svg", help="output file: .svg, .png, .dot, or .html (the explorer)"
    )
    gr.add_argument("--dot", action="store_true", help="also write the DOT text beside the picture")
    gr.set_defaults(run=_graph)

    tp = sub.add_parser(
        "tape",
        parents=[model],
        help="print a small recurrent model's tape, backward trace and memory by step",
        formatter_class=shown,
    )
    tp.add_argument("--steps", type=count(1), default=2, help="time steps to unroll")
    tp.add_argument("--scope", default=None, help="only entries whose scope contains this, e.g. 't=1'")
    tp.add_argument("--op", default=None, help="only entries of this op, e.g. sigmoid")
    tp.add_argument("--trace", action="store_true", help="run backward and print each VJP it ran")
    tp.add_argument(
        "--memory", action="store_true", help="print the bytes saved for backward per step (alone, unless with others)"
    )
    tp.set_defaults(run=_tape)

    # `demo NAME ...` is handed whole to the demos' own command line, where each demo declares its options
    sub.add_parser("demo", help="run a demo: " + ", ".join(DEMOS) + " (default: tour); demo --help lists them")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:
        return run_demo(argv[1:], prog="tinygrad-lstm demo")

    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
