"""Where a replayed step spends its time, statement by statement of the program tl.compile wrote.

    python benchmarks/profile_replay.py                  # numba backend, 100 replays
    python benchmarks/profile_replay.py --backend numpy --rounds 200

The step is bench_backends.py's (LSTM T=50, B=32, I=32, H=64, float32, one BLAS thread). The
program's forward and backward are compiled again with a timer read after every statement; each
statement's time is the median over the replays, less the timer's own cost (measured on as many
``pass`` statements), and statements are grouped by what they do: a NumPy or BLAS call (by op), a
kernel, or bookkeeping (re-arming entries, dropping arrays, storing gradients). The timers slow the
step down; the shares, not the sum, are the result.
"""

import os
import sys

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import ast  # noqa: E402
import gc  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_backends import B, H, I, T  # noqa: E402, F401 - the sizes, for the report


def kind_of(text: str, entries: list) -> str:
    """What a statement of the program does, from its text."""
    if re.match(r"^e\d+\.free\(\)$", text):
        return "free an entry (e.free())"
    if re.match(r"^e\d+\.(p|freed|ins|out) = ", text):
        return "re-arm or drop an entry's arrays"
    if re.match(r"^([vgq]\[\d+\] = )+None$", text):
        return "release v/g/q[k] = None"
    found = re.search(r"\bkern\d+", text)
    if found:
        return f"kernel {found.group(0)}"
    if "+= 0.0" in text or "concatenate" in text or "stack(" in text:
        return "join slices' gradients"
    if "bmm" in text or "weight_grad" in text:
        return "product in backward (bmm, weight_grad)"
    found = re.search(r"\b(f|vjp)(\d+)\(", text)
    if found:
        e = entries[int(found.group(2))]
        return f"{'forward' if found.group(1) == 'f' else 'VJP'} {e.op} {e.name or ''}".strip()
    if re.match(r"^v\[\d+\] = y\[", text):
        return "a gate's view of its call's result"
    if text.startswith("with errstate") or text.startswith("exp("):
        return "exp over the sigmoid gates"
    if text.startswith("tanh("):
        return "tanh over the tanh gates"
    if text.startswith("if sole") or re.search(r"\+= d\d", text):
        return "sum gradients (NumPy)"
    if text.startswith("accumulate"):
        return "accumulate into .grad"
    return "store or alias a gradient"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="numba", choices=["numpy", "numba"])
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()
    from bench_backends import make_step

    run = make_step(args.backend)
    run()  # records
    run()  # the first replay (kernels load)
    program = list(run.step.programs.values())[-1]  # type: ignore[attr-defined]
    namespace = program._forward.__globals__
    tree = ast.parse(program.source)
    texts = {}
    functions = []
    for f in tree.body:
        if not isinstance(f, ast.FunctionDef) or f.name not in ("forward", "backward"):
            continue
        body: list = ast.parse("_p = _pc()").body
        for i, statement in enumerate(f.body):
            texts[(f.name, i)] = ast.unparse(statement)
            body.append(statement)
            body.extend(ast.parse(f"_t = _pc(); _T[{(f.name, i)!r}].append(_t - _p); _p = _t").body)
        f.body, f.name = body, f.name + "_timed"
        functions.append(f)
    calibration = (
        "def calibrate():\n    _p = _pc()\n" + "    pass\n    _t = _pc(); _T['pass'].append(_t - _p); _p = _t\n" * 200
    )
    times: dict = defaultdict(list)
    namespace.update(_pc=time.perf_counter_ns, _T=times)
    exec(compile(ast.Module(body=functions, type_ignores=[]), "<timed program>", "exec"), namespace)
    exec(calibration, namespace)
    program._forward, program._backward = namespace["forward_timed"], namespace["backward_timed"]
    for _ in range(5):
        run()
    times.clear()
    gc.disable()
    for _ in range(args.rounds):
        run()
        namespace["calibrate"]()
    gc.enable()
    timer = float(np.median(times.pop("pass")))
    groups: dict = defaultdict(lambda: [0.0, 0])
    for (function, i), ts in times.items():
        group = groups[(function, kind_of(texts[(function, i)], program.entries))]
        group[0] += float(np.median(ts)) - timer
        group[1] += 1
    total = sum(t for t, _ in groups.values())
    n = {f: sum(1 for g, _ in texts if g == f) for f in ("forward", "backward")}
    print(f"{args.backend} replay, T={T} B={B} I={I} H={H} float32: {n['forward']} statements forward, ")
    print(f"{n['backward']} backward; medians over {args.rounds} replays, less {timer:.0f} ns of timer each:")
    for (function, kind), (t, count) in sorted(groups.items(), key=lambda item: -item[1][0]):
        share = 100 * t / total
        print(f"  {function:8s} {kind:42s} {t / 1e3:8.1f} us {share:5.1f}%  {count:5d} x {t / count:7.0f} ns")


if __name__ == "__main__":
    main()
