"""Fixtures shared by the test files."""

import shutil
import sys
from pathlib import Path

import pytest


def _renderers() -> list:
    """The system dot and the pip-installed graphviz-pure, each where this machine has it."""
    found = []
    for name, path in (("dot", shutil.which("dot")), ("graphviz-pure", Path(sys.executable).parent / "graphviz-pure")):
        usable = path is not None and Path(path).is_file()
        found.append(pytest.param(str(path), id=name, marks=pytest.mark.skipif(not usable, reason=f"no {name} here")))
    return found


@pytest.fixture(params=_renderers())
def renderer(request, monkeypatch):
    """Run the test with each renderer: the pictures must look the same with either."""
    monkeypatch.setenv("TINYGRAD_LSTM_DOT", request.param)
    return request.param
