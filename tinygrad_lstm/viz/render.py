"""Turn DOT text into SVG/PNG with the system ``dot`` when there is one, else the ``graphviz-pure``
binary that ``pip install`` brought along. DOT text is always written; a missing renderer is an error
that says how to fix it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import graphviz
from graphviz.backend import dot_command
from graphviz.backend import piping as graphviz_piping
from graphviz.backend import rendering as graphviz_rendering

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
RENDER_TIMEOUT_S = 300


class RendererNotFound(RuntimeError):
    """Neither ``dot`` nor ``graphviz-pure`` could be run."""


def find_renderer() -> str | None:
    """The program that lays out graphs: ``$TINYGRAD_LSTM_DOT``, the system ``dot``, or ``graphviz-pure``."""
    forced = os.environ.get("TINYGRAD_LSTM_DOT")
    if forced is not None:
        return shutil.which(forced) or (forced if os.path.isfile(forced) else None)
    candidates = [shutil.which("dot"), shutil.which("graphviz-pure")]
    # graphviz-pure lives beside this Python even when that folder is not on PATH
    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        candidates.append(str(folder / "graphviz-pure"))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def pipe(source: str, fmt: str = "svg") -> bytes:
    """Lay out ``source`` (DOT text) and return the rendered bytes."""
    exe = find_renderer()
    if exe is None:
        raise RendererNotFound(
            "no Graphviz renderer found: `pip install graphviz-pure` (a dot-compatible binary from PyPI) "
            "or install Graphviz (`apt-get install graphviz`); set TINYGRAD_LSTM_DOT to choose one"
        )
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"], input=source.encode(), capture_output=True, timeout=RENDER_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"render: {exe} did not finish within {RENDER_TIMEOUT_S} s") from e
    if done.returncode != 0:
        raise RuntimeError(f"render: {exe} failed ({done.returncode}): {done.stderr.decode(errors='replace')[:500]}")
    return done.stdout


def render(graph: graphviz.Digraph | str, path: str | os.PathLike, keep_dot: bool = False) -> Path:
    """Write ``graph`` to ``path``; the extension picks the format (.svg, .png, .dot/.gv).

    With ``keep_dot`` the DOT text is written beside the picture as well (``name.dot``); it is
    written there anyway when no renderer is found, and :class:`RendererNotFound` then says where it
    is and how to get a renderer.
    """
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"render: unknown extension {path.suffix!r}; use one of {', '.join(FORMATS)}")
    source = graph if isinstance(graph, str) else graph.source
    path.parent.mkdir(parents=True, exist_ok=True)
    dot_path = path if fmt == "dot" else path.with_suffix(".dot")
    if fmt == "dot" or keep_dot:
        dot_path.write_text(source)
    if fmt == "dot":
        return path
    try:
        data = pipe(source, fmt)
    except RendererNotFound as e:
        dot_path.write_text(source)
        raise RendererNotFound(f"{e}. The DOT text is in {dot_path}") from None
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


_binary = threading.Lock()


def _with_renderer(function):
    """``function`` of graphviz's backend (render, pipe_lines...), run with the renderer this module
    finds in place of the ``dot`` that graphviz would look for on PATH."""

    def call(*args, **kwargs):
        exe = find_renderer()
        if exe is None:
            raise RendererNotFound(
                "no Graphviz renderer found: `pip install graphviz-pure` (a dot-compatible binary from PyPI) "
                "or install Graphviz (`apt-get install graphviz`); set TINYGRAD_LSTM_DOT to choose one"
            )
        with _binary:  # graphviz reads its binary from one module-level name
            before = dot_command.DOT_BINARY
            dot_command.DOT_BINARY = Path(exe)
            try:
                return function(*args, **kwargs)
            finally:
                dot_command.DOT_BINARY = before

    return call


class Picture(graphviz.Digraph):
    """A ``graphviz.Digraph`` that displays inline in Jupyter with whichever renderer is available, and
    whose own ``render(...)``, ``pipe()`` and ``view()`` use that renderer too (``dot``, else the
    ``graphviz-pure`` binary that pip installed), so they work after ``pip install`` alone. Its default
    format is SVG (graphviz's is PDF, which graphviz-pure does not write).

    ``notes`` says what the drawing did on its own (e.g. folded a graph past the node budget). A belt
    also carries, for the explorer, ``arrivals`` (SVG id -> the entries whose VJPs colour it),
    ``cells`` (each state box: layer, "h"/"c", column, SVG id, norm) and ``columns`` (steps per column).
    """

    notes: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("format", "svg")
        super().__init__(*args, **kwargs)

    @property
    def _render(self):
        return _with_renderer(graphviz_rendering.render)

    @property
    def _pipe_lines(self):
        return _with_renderer(graphviz_piping.pipe_lines)

    @property
    def _pipe_lines_string(self):
        return _with_renderer(graphviz_piping.pipe_lines_string)

    def _repr_mimebundle_(self, include=None, exclude=None, **_):
        return {"image/svg+xml": pipe(self.source, "svg").decode()}
