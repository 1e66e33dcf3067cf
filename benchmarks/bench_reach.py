"""The price of ``tl.record_reach``: ms per eager training step of a small LSTM (forward, backward,
Adam) without the recorder, with it recording every step (a hook per state, the worst case), and with it
recording every 10th step (the other nine pay one Python call per named value).
Run: ``python benchmarks/bench_reach.py [runs]``. In each run the three settings take turns step by
step (a busy machine slows them alike), 60 steps each; a run reports each setting's best and median."""

import statistics
import sys
import time

import numpy as np

import tinygrad_lstm as tl

T, B, H = 50, 32, 32
SETTINGS = {"without": None, "every step": 1, "every 10th step": 10}


def run(n: int = 60) -> dict[str, list[float]]:
    """ms per training step, per setting, the settings taking turns."""
    tl.manual_seed(0)
    lstm, head = tl.nn.LSTM(2, H), tl.nn.Linear(H, 1)
    opt = tl.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    rng = np.random.default_rng(0)
    xs = [tl.tensor(rng.standard_normal((T, B, 2)).astype(np.float32)) for _ in range(4)]
    recorders = {name: tl.record_reach(lstm, every=every) if every else None for name, every in SETTINGS.items()}
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for k in range(3 + n):
        for name, recorder in recorders.items():
            start = time.perf_counter()
            if recorder is not None:
                recorder.__enter__()
            out, _ = lstm(xs[k % 4])
            loss = (head(out[-1]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if recorder is not None:
                recorder.__exit__()
            if k >= 3:  # after warming up
                times[name].append(1e3 * (time.perf_counter() - start))
    assert len(recorders["every step"].steps) == 3 + n and len(recorders["every 10th step"].steps) == 7
    return times


def main(runs: int = 5) -> None:
    results = [run() for _ in range(runs)]
    print(f"LSTM I=2, H={H}, T={T}, batch {B}, eager step with Adam; {runs} runs of 60 steps per setting")
    base_best = [min(r["without"]) for r in results]
    base_median = [statistics.median(r["without"]) for r in results]
    for name in SETTINGS:
        best = [min(r[name]) for r in results]
        median = [statistics.median(r[name]) for r in results]
        over = [b - b0 for b, b0 in zip(best, base_best)]
        over_median = [m - m0 for m, m0 in zip(median, base_median)]
        print(
            f"  {name:16} best {min(best):6.2f}-{max(best):6.2f} ms, median {min(median):6.2f}-{max(median):6.2f} ms"
            + (
                ""
                if name == "without"
                else f"; over without: best {min(over):+.2f} to {max(over):+.2f} ms, "
                f"median {min(over_median):+.2f} to {max(over_median):+.2f} ms"
            )
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
