"""argparse as this package's commands use it: a mistake answered in one line, never a traceback."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class Parser(argparse.ArgumentParser):
    """argparse, answering a mistake in one line (``tinygrad-lstm graph: error: ...``), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def count(low: int) -> Callable[[str], int]:
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
