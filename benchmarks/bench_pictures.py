"""How long the default picture takes: record, backward with a trace, draw the belt, render SVG.

Targets (issue 12): a 100-step cell view in under 2 s and 10,000 steps in under 10 s and 1 MB,
whole process excluded (this times the picture alone). Run: ``python benchmarks/bench_pictures.py``.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll


def once(cell: str, steps: int, out: Path) -> tuple[float, float, int]:
    u = unroll(cell, steps=steps, hidden_size=8)
    trace = u.backward()
    t0 = time.perf_counter()
    picture = tl.viz.draw(u.tape, trace=trace)
    t1 = time.perf_counter()
    path = tl.viz.render(picture, out / f"{cell}{steps}.svg")
    return t1 - t0, time.perf_counter() - t1, path.stat().st_size


def main(runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as folder:
        print(f"renderer: {tl.viz.find_renderer()}; {runs} runs each; seconds, median (min-max)")
        print("| picture | draw s | render s | SVG KB |")
        print("|---|---|---|---|")
        for cell, steps in (("lstm", 16), ("lstm", 100), ("gru", 1000), ("lstm", 10_000)):
            times = [once(cell, steps, Path(folder)) for _ in range(runs)]
            d, r = [t[0] for t in times], [t[1] for t in times]
            print(
                f"| {cell} belt, {steps} steps | {statistics.median(d):.3f} ({min(d):.3f}-{max(d):.3f}) "
                f"| {statistics.median(r):.3f} ({min(r):.3f}-{max(r):.3f}) | {times[0][2] / 1000:.0f} |"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
