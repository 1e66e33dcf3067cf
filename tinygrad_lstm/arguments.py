"""argparse as this package's commands use it: a mistake answered in one line, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    """argparse, answering a mistake in one line (``tinygrad-lstm graph: error: ...``), exit code 2."""

    def error(self, message: str) -> NoReturn:
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


CLOSED_PIPE = 141  # what a shell reports for a program stopped by SIGPIPE (128 + 13), as `yes | head` is


def quiet_on_closed_pipe(command: Callable, *args) -> int:
    """``command(*args)``, its output flushed; when the reader of standard output goes away first
    (``| head``), end quietly with exit code 141 instead of a BrokenPipeError traceback."""
    try:
        code = command(*args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        try:  # Python flushes stdout again at exit: point it at /dev/null so that it cannot fail again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):  # no real file descriptor (a test's capture)
            pass
        return CLOSED_PIPE
