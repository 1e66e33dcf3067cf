"""One demo run (:class:`Run`): its output folder, progress bars, plots, and a summary of what it measured."""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path

DEFAULT_OUT = "tinygrad_lstm_out"


class Run:
    """One demo run: where it writes, what it wrote, and the numbers it measured."""

    def __init__(
        self, name: str, out: str | os.PathLike = DEFAULT_OUT, quick: bool = False, seed: int = 0, quiet: bool = False
    ) -> None:
        self.name, self.quick, self.seed, self.quiet = name, quick, seed, quiet
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self.results: dict = {}
        self.figures: dict = {}  # file name -> matplotlib Figure: what a notebook shows again
        self.started = time.perf_counter()

    def path(self, filename: str) -> Path:
        return self.out / filename

    def wrote(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        self.files.append(path)
        return path

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def progress(self, iterable: Iterable, total: int | None = None, desc: str = ""):
        """A progress bar when tqdm is installed and we are talking: a widget in a notebook
        (``tqdm.auto``, where ipywidgets is installed), a bar on stderr in a terminal, and none when
        stderr is redirected (a file or a pipe), so that bars never run into the printed results."""
        if self.quiet:
            return iterable
        bar = progress_bar()
        if bar is None:
            return iterable
        return bar(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)

    def figure(self, *args, **kwargs):
        """``(figure, axes)`` as ``plt.subplots(*args, **kwargs)`` gives, on a ``matplotlib.figure.Figure``
        that pyplot knows nothing of: the backend is left alone (a notebook's ``plt.show()`` still shows),
        and no window opens. None when matplotlib is not installed."""
        try:
            from matplotlib.figure import Figure
        except ImportError:
            self.say("(matplotlib is not installed: pip install 'tinygrad-lstm[demos]' for the plots)")
            return None
        layout = {k: kwargs.pop(k) for k in list(kwargs) if k in _SUBPLOTS_KEYWORDS}
        fig = Figure(**kwargs)
        return fig, fig.subplots(*args, **layout)

    def save_figure(self, fig, filename: str) -> Path | None:
        if fig is None:
            return None
        path = self.path(filename)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        self.figures[filename] = fig
        return self.wrote(path)

    def render(self, picture, filename: str) -> Path | None:
        from .. import viz

        try:
            return self.wrote(viz.render(picture, self.path(filename)))
        except viz.RendererNotFound as e:
            self.say(f"(could not render {filename}: {e})")
            return None

    def finish(self) -> dict:
        seconds = time.perf_counter() - self.started
        self.results["seconds"] = round(seconds, 1)
        self.say(f"\n{self.name} finished in {seconds:.1f} s; files written:")
        for f in self.files:
            self.say(f"  {f}")
        return self.results


_SUBPLOTS_KEYWORDS = {"nrows", "ncols", "sharex", "sharey", "squeeze", "width_ratios", "height_ratios"}
_SUBPLOTS_KEYWORDS |= {"subplot_kw", "gridspec_kw"}


def progress_bar():
    """tqdm's class for here: the notebook widget in a Jupyter kernel with ipywidgets, the text bar on
    a terminal; None where there is no tqdm, or stderr is not a terminal (redirected output) and we are
    not in a notebook that shows widgets."""
    try:
        with warnings.catch_warnings():  # tqdm.auto warns in a kernel without ipywidgets: handled below
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
        from tqdm.std import tqdm as text_bar
    except ImportError:
        return None
    if tqdm is not text_bar:  # tqdm.auto found a Jupyter kernel: its widget needs ipywidgets
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            tqdm = text_bar
        else:
            return tqdm
    isatty = getattr(sys.stderr, "isatty", None)
    return text_bar if isatty is not None and isatty() else None


class Outcome(int):
    """What ``tl.demos.main([...])`` returns: the exit code (0), which a shell sees, carrying the run's
    numbers (``results``), its matplotlib figures (``figures``, by file name) and the files it wrote
    (``files``). As a notebook cell's value it shows the figures and the numbers."""

    name: str
    results: dict
    figures: dict
    files: list

    def __new__(cls, code: int, run: Run | None = None) -> Outcome:
        outcome = super().__new__(cls, code)
        outcome.name = run.name if run else ""
        outcome.results = run.results if run else {}
        outcome.figures = run.figures if run else {}
        outcome.files = run.files if run else []
        return outcome

    def __repr__(self) -> str:
        return int.__repr__(self)

    def _repr_html_(self) -> str | None:
        if not self.name:
            return None
        import base64
        import html
        import io

        parts = [f"<p><b>{html.escape(self.name)}</b>: exit code {int(self)}</p>"]
        numbers = {k: v for k, v in self.results.items() if isinstance(v, (int, float, str))}
        if numbers:
            rows = "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>" for k, v in numbers.items()
            )
            parts.append(f"<table>{rows}</table>")
        for name, fig in self.figures.items():
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", dpi=72)
            data = base64.b64encode(buffer.getvalue()).decode()
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}"><figcaption>{html.escape(name)}</figcaption></figure>'
            )
        return "\n".join(parts)
