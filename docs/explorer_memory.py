"""Make docs/explorer_memory.png, the README's still of the explorer's memory strip: a 16-step LSTM beside
the same LSTM run in ``tl.checkpoint`` segments of 4 steps (sqrt(T)), opened in Debian's headless Chromium
and stepped part of the way back.

    python docs/explorer_memory.py                  # 1366 x 768, a laptop's screen
    python docs/explorer_memory.py 1920 1080 out.png

Needs chromium, chromium-driver and selenium. The page itself is not kept in the repository.
"""

import sys
import tempfile
from pathlib import Path

from explorer_still import screenshot  # docs/, beside this script

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll

HERE = Path(__file__).parent
STEPS, EVERY = 16, 4  # checkpoint every sqrt(T) steps
FRACTION = 0.55  # of the sweep run when the picture is taken: inside a segment run again


def page() -> tl.viz.Explorer:
    runs = []
    for label, every in (("LSTM", None), (f"LSTM, checkpoint every {EVERY} steps", EVERY)):
        u = unroll("lstm", steps=STEPS, batch=4, hidden_size=16, sources=True, values=64, checkpoint_every=every)
        runs.append((label, u.tape, u.backward(arrays=64)))  # backward reads the bytes held at each VJP
    return tl.viz.explore(runs, title=f"Backward through {STEPS} steps: the memory BPTT holds")


def main(width: int = 1366, height: int = 768, out: Path = HERE / "explorer_memory.png") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        screenshot(page().save(Path(tmp) / "memory.html"), out, width, height, FRACTION)


if __name__ == "__main__":
    args = sys.argv[1:]
    main(*(int(a) for a in args[:2]), *(Path(a) for a in args[2:3]))
