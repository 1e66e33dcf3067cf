"""The demos, one module each: ``run(run, **options)`` does the work and, where a demo takes options
beyond ``--quick``, ``--seed`` and ``--out``, its ``OPTIONS`` declares them (flag -> argparse's
keywords; ``--length`` reaches ``run`` as ``length``). ``python -m tinygrad_lstm.demos NAME`` and
``tinygrad-lstm demo NAME`` run one (:func:`main`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

DEMOS = ("tour", "vanishing", "exploding", "adding", "variants", "charlm", "rtrl")


def parser(name: str, prog: str = ""):
    """The command line of demo ``name`` (called ``prog``, by default ``python -m tinygrad_lstm.demos
    NAME``): the options every demo takes, then its own."""
    import argparse

    from ..arguments import Parser
    from .run import DEFAULT_OUT

    module = importlib.import_module(f"{__name__}.{name}")
    p = Parser(
        prog=prog or f"python -m {__name__} {name}",
        description=(module.__doc__ or "").strip().splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="a small, fast version (what the tests run)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--out", default=DEFAULT_OUT, help="folder for plots and pictures")
    for flag, keywords in _options(name).items():
        p.add_argument(flag, **keywords)
    return p


def main(argv: Sequence[str] | None = None, prog: str = "python -m tinygrad_lstm.demos", script: str = "") -> int:
    """Run the demo that ``argv`` names (the tour when it names none) and print what it measured.
    ``prog`` is the command's name (``tinygrad-lstm demo``); ``script`` the demo's, when a script
    that runs one demo called. Returns the exit code, an :class:`~tinygrad_lstm.demos.run.Outcome`
    after a run: ``tl.demos.main(["vanishing", "--quick"]).figures`` in a notebook, with ``.results``."""
    from .run import Outcome, Run

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        listing = "".join(f"  {name:<10} {parser(name).description}\n" for name in DEMOS)
        sys.stdout.write(
            f"usage: {prog} [NAME] [--quick] [--seed S] [--out DIR] [the demo's own options]\n\ndemos:\n{listing}"
            f"\n{prog} NAME --help lists a demo's own options. With no NAME: the tour.\n"
        )  # one write, as argparse's help
        return 0
    name = argv.pop(0) if argv and not argv[0].startswith("-") else "tour"
    if name not in DEMOS:
        print(f"{prog}: error: invalid choice: {name!r} (choose from {', '.join(DEMOS)})", file=sys.stderr)
        return 2
    own = parser(name, script or f"{prog} {name}")
    args, unknown = own.parse_known_args(argv)
    if unknown:
        flag = unknown[0].split("=")[0]
        elsewhere = [other for other in DEMOS if other != name and _declares(other, flag)]
        if elsewhere:
            own.error(f"{flag} applies to the {' and '.join(elsewhere)} demo, not {name}")
        own.error(f"unrecognized arguments: {' '.join(unknown)}")
    run = Run(name, out=args.out, quick=args.quick, seed=args.seed)
    options = {flag.lstrip("-").replace("-", "_") for flag in _options(name)}
    importlib.import_module(f"{__name__}.{name}").run(run, **{key: getattr(args, key) for key in options})
    run.finish()
    return Outcome(0, run)


def _options(name: str) -> dict:
    return getattr(importlib.import_module(f"{__name__}.{name}"), "OPTIONS", {})


def _declares(name: str, flag: str) -> bool:
    return flag in _options(name)


def script(path: str) -> None:
    """What ``demos/NAME.py`` runs: ``python demos/NAME.py [options]`` is ``tinygrad-lstm demo NAME``."""
    import os

    name = os.path.splitext(os.path.basename(path))[0]
    from ..arguments import quiet_on_closed_pipe

    sys.exit(
        quiet_on_closed_pipe(
            main, [name, *sys.argv[1:]], "python -m tinygrad_lstm.demos", f"python {os.path.relpath(path)}"
        )
    )
