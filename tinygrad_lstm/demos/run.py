"""One demo run (:class:`Run`): its output folder, progress bars, plots, and a summary of what it measured."""

from __future__ import annotations

import os
import sys
import time
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
        self.started = time.perf_counter()

    def path(self, filename: str) -> Path:
        return self.out / filename

    def wrote(self, path: os.PathLike) -> Path:
        path = Path(path)
        self.files.append(path)
        return path

    def say(self, text: str = "") -> None:
        if not self.quiet:
            print(text, flush=True)

    def progress(self, iterable: Iterable, total: int | None = None, desc: str = ""):
        """A tqdm bar on stderr when tqdm is installed and we are talking; the bare iterable otherwise."""
        if self.quiet:
            return iterable
        try:
            from tqdm import tqdm
        except ImportError:
            return iterable
        return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)

    def figure(self, *args, **kwargs):
        """A matplotlib figure (Agg backend), or None when matplotlib is not installed."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            self.say("(matplotlib is not installed: pip install 'tinygrad-lstm[demos]' for the plots)")
            return None
        return plt.subplots(*args, **kwargs)

    def save_figure(self, fig, filename: str) -> Path | None:
        if fig is None:
            return None
        import matplotlib.pyplot as plt

        path = self.path(filename)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
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
