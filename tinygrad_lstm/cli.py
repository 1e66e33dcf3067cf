"""The ``tinygrad-lstm`` command. Subcommands arrive with the features they show."""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np


class _Parser(argparse.ArgumentParser):
    """argparse, answering a mistake in one line (``tinygrad-lstm graph: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _count(low: int):
    """An argparse type: an integer of at least ``low``, named in the error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small; it must be at least {low}")
        return value

    parse.__name__ = f"integer >= {low}"
    return parse


def _fail(command: str, message: str) -> int:
    print(f"tinygrad-lstm {command}: error: {message}", file=sys.stderr)
    return 2


def _example(args: argparse.Namespace) -> int:
    """A tanh RNN unrolled from primitives: its tape, then dL/dh_t for every step after backward."""
    import tinygrad_lstm as tl

    rng = np.random.default_rng(args.seed)
    H, T = args.hidden_size, args.steps
    W_xh = tl.Tensor(rng.normal(0, 0.5, (1, H)), requires_grad=True).named("W_xh")
    W_hh = tl.Tensor(rng.normal(0, 1 / np.sqrt(H), (H, H)), requires_grad=True).named("W_hh")
    xs = rng.normal(size=(T, 1, 1))

    hs: list = []
    with tl.Tape() as tape:
        loss = _rnn_loss(tl, xs, W_xh, W_hh, hs)

    print(f"The tape of a {T}-step tanh RNN (hidden size {H}), one line per recorded op:\n")
    print(tape.listing())
    loss.backward()
    print(f"\nloss = {loss.item():.6f}; backpropagation through time gives ||dL/dh_t||:")
    for t, h_t in enumerate(hs):
        print(f"  t={t}: {np.linalg.norm(h_t.grad.data):.3e}")
    print(f"||dL/dW_hh|| = {np.linalg.norm(W_hh.grad.data):.3e}")
    ok = tl.gradcheck(lambda W: _rnn_loss(tl, xs, W_xh.detach(), W), W_hh)
    print(f"gradcheck of dL/dW_hh against central differences: {'passed' if ok else 'failed'}")
    return 0


def _rnn_loss(tl, xs, W_xh, W_hh, hs: list | None = None):
    """||h_T||^2 of a tanh RNN unrolled over ``xs``; keeps each h_t (with its gradient) in ``hs``."""
    h = tl.zeros(1, W_hh.shape[0])
    for t, x in enumerate(xs):
        with tl.scope("rnn", t=t):
            h = (tl.Tensor(x) @ W_xh + h @ W_hh).tanh().named(f"h{t}")
        if hs is not None:
            h.retain_grad()
            hs.append(h)
    return (h * h).sum().named("loss")


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


def _demo(args: argparse.Namespace) -> int:
    """Run one of the demos and print what it measured and the files it wrote."""
    import importlib

    from .demos.common import Run

    if args.length is not None and args.name != "adding":
        return _fail("demo", f"--length applies to the adding demo, not {args.name}")
    if args.text is not None and args.name != "charlm":
        return _fail("demo", f"--text applies to the charlm demo, not {args.name}")
    kwargs = {}
    if args.length is not None:
        kwargs["length"] = args.length
    if args.text is not None:
        try:
            kwargs["text"] = Path(args.text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            return _fail("demo", f"--text {args.text}: {getattr(e, 'strerror', None) or e}")
        if len(set(kwargs["text"])) < 2:
            return _fail("demo", f"--text {args.text}: needs at least two different characters to model")
    module = importlib.import_module(f"tinygrad_lstm.demos.{args.name}")
    run = Run(args.name, out=args.out, quick=args.quick, seed=args.seed)
    module.run(run, **kwargs)
    run.finish()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from . import __version__
    from .demos import DEMOS
    from .examples import CELLS
    from .viz import VIEWS

    shown = argparse.ArgumentDefaultsHelpFormatter  # --help shows every default
    parser = _Parser(
        prog="tinygrad-lstm",
        description="See autograd and backpropagation through time at work.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-lstm {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    ex = sub.add_parser(
        "example", help="unroll a small tanh RNN, print its tape and BPTT gradients", formatter_class=shown
    )
    ex.add_argument("--steps", type=_count(1), default=4, help="time steps to unroll")
    ex.add_argument("--hidden-size", type=_count(1), default=3, help="hidden units")
    ex.add_argument("--seed", type=int, default=0, help="random seed")
    ex.set_defaults(run=_example)

    # the small model that `graph` and `tape` build (tinygrad_lstm.examples.unroll)
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--cell", choices=CELLS, default="lstm", help="the recurrent cell")
    model.add_argument("--batch", type=_count(1), default=1, help="sequences in the batch")
    model.add_argument("--input-size", type=_count(1), default=2, help="input features")
    model.add_argument("--hidden-size", type=_count(1), default=3, help="hidden units")
    model.add_argument("--forget-bias", type=float, default=None, help="LSTM forget-gate bias at init (e.g. 1.0)")
    model.add_argument("--seed", type=int, default=0, help="random seed")

    gr = sub.add_parser(
        "graph",
        parents=[model],
        help="render a small recurrent model's unrolled graph (SVG, PNG or DOT)",
        formatter_class=shown,
    )
    gr.add_argument("--steps", type=_count(1), default=4, help="time steps to unroll")
    gr.add_argument("--view", choices=VIEWS, default=None, help="the picture (None: cell, the belt)")
    gr.add_argument("--heat", action="store_true", help="colour edges and nodes by gradient norm")
    gr.add_argument("--scale", default="1e-8..1e0", help="colour scale LO..HI, or auto")
    gr.add_argument("--compare", default=None, help="cells side by side on one scale, e.g. rnn,lstm (implies --heat)")
    gr.add_argument("--window", type=_count(1), default=2, help="steps kept at each end in the window view")
    gr.add_argument("--budget", type=_count(1), default=500, help="fold automatically past this many nodes")
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
    tp.add_argument("--steps", type=_count(1), default=2, help="time steps to unroll")
    tp.add_argument("--scope", default=None, help="only entries whose scope contains this, e.g. 't=1'")
    tp.add_argument("--op", default=None, help="only entries of this op, e.g. sigmoid")
    tp.add_argument("--trace", action="store_true", help="run backward and print each VJP it ran")
    tp.add_argument(
        "--memory", action="store_true", help="print the bytes saved for backward per step (alone, unless with others)"
    )
    tp.set_defaults(run=_tape)

    dm = sub.add_parser("demo", help="run a demo: " + ", ".join(DEMOS) + " (default: tour)", formatter_class=shown)
    dm.add_argument("name", nargs="?", choices=DEMOS, default="tour", help="which demo")
    dm.add_argument("--quick", action="store_true", help="a small, fast version (what the tests run)")
    dm.add_argument("--seed", type=int, default=0, help="random seed")
    dm.add_argument("--out", default="tinygrad_lstm_out", help="folder for plots and pictures")
    dm.add_argument("--length", type=_count(1), default=None, help="adding: sequence length (None: 50)")
    dm.add_argument("--text", default=None, help="charlm: train on this text file instead")
    dm.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
