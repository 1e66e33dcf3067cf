"""The ``tinygrad-lstm`` command line: it parses, then hands each command to ``commands.py`` (or
``demo ...`` to the demos' own command line)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .arguments import Parser, count, quiet_on_closed_pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command ``argv`` names; returns the exit code (``tinygrad-lstm tape --trace | head`` too:
    a reader that stops early ends the output quietly)."""
    return quiet_on_closed_pipe(_main, argv)


def _main(argv: Sequence[str] | None = None) -> int:
    from . import __version__, commands
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
    ex.set_defaults(run=commands.example)

    # the small model that `graph` and `tape` build (tinygrad_lstm.examples.unroll)
    model = Parser(add_help=False)
    model.add_argument("--cell", choices=CELLS, default="lstm", help="the recurrent cell")
    model.add_argument("--batch", type=count(1), default=1, help="sequences in the batch")
    model.add_argument("--input-size", type=count(1), default=2, help="input features")
    model.add_argument("--hidden-size", type=count(1), default=3, help="hidden units")
    model.add_argument("--forget-bias", type=float, default=None, help="LSTM forget-gate bias at init (e.g. 1.0)")
    model.add_argument("--seed", type=int, default=0, help="random seed")
    model.add_argument(
        "--checkpoint-every", type=count(1), default=None, help="run the layer in tl.checkpoint segments of K steps"
    )

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
        "-o",
        "--output",
        default="graph.svg",
        help="output file: .svg, .png, .dot, or .html (the explorer); - for standard output",
    )
    gr.add_argument(
        "--format", choices=("svg", "png", "dot", "html"), default=None, help="with -o -: what to write (svg)"
    )
    gr.add_argument("--dot", action="store_true", help="also write the DOT text beside the picture")
    gr.set_defaults(run=commands.graph)

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
    tp.set_defaults(run=commands.tape)

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
