"""Is the explorer responsive? For LSTMs of 16, 100 and 1,000 steps: the time to build the page, its
size, the time a headless Chromium (Debian's) takes to open it from disk, and for 200 slider moves to scattered
positions the work each costs (script, style and layout) and how many were not painted by the next
frame, with the step under the sweep open ("follow the sweep", the default) and closed. A frame at
60 Hz is 16.7 ms: moves that fit in it do not stutter.

Run: ``python benchmarks/bench_explorer.py`` (needs chromium, chromium-driver and selenium).
"""

import shutil
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll

FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking --no-first-run --window-size=1600,1000"

# move the slider to each position: the work is the script plus the style and layout it forces; then
# wait for two animation frames (the second starts once the first was painted). Headless Chromium
# paints at 60 Hz, so a move that fits its frame lands at 33.3 ms; one that needs more lands later.
MOVES = """
const [positions, follow, done] = arguments;
const e = window.explorer;
document.getElementById("follow").checked = follow;
const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
(async () => {
  const work = [], painted = [];
  for (const k of positions) {
    await frame();
    const t0 = performance.now();
    e.setPos(k);
    document.body.getBoundingClientRect(); // force style and layout now
    work.push(performance.now() - t0);
    await frame();
    painted.push(performance.now() - t0);
  }
  done([work.sort((a, b) => a - b), painted.sort((a, b) => a - b)]);
})();
"""


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in FLAGS.split():
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def main() -> None:
    driver = browser()
    driver.set_script_timeout(300)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            head = f"{'steps':>6} {'VJPs':>6} {'build s':>8} {'size KB':>8} {'open s':>7}"
            print(head + "   a slider move's work (of 200)")
            for steps in (16, 100, 1000):
                u = unroll("lstm", steps=steps, hidden_size=8, sources=True, values=tl.viz.HEAT_MAP_LIMIT)
                u.backward(arrays=tl.viz.HEAT_MAP_LIMIT)
                start = time.perf_counter()
                page = tl.viz.explore(u.tape, u.trace)
                build = time.perf_counter() - start
                path = page.save(Path(tmp) / f"lstm{steps}.html")
                start = time.perf_counter()
                driver.get(path.as_uri())  # returns once the page has loaded and its script has run
                opened = time.perf_counter() - start
                positions = [(k * 7919) % (page.steps + 1) for k in range(1, 201)]
                cells = []
                for follow in (True, False):
                    work, painted = driver.execute_async_script(MOVES, positions, follow)
                    median, p95, worst = work[len(work) // 2], work[int(len(work) * 0.95)], work[-1]
                    late = sum(t > 2 * 1000 / 60 + 4 for t in painted)  # needed more than the next frame
                    label = "step open" if follow else "step closed"
                    cells.append(f"{label}: median {median:.1f}, p95 {p95:.1f}, max {worst:.1f} ms, {late} late")
                size = len(page.html.encode()) / 1024
                print(f"{steps:>6} {page.steps:>6} {build:>8.2f} {size:>8.0f} {opened:>7.2f}   " + "; ".join(cells))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
