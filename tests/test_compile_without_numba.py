"""Without numba everything works as with it: tl.compile falls back to the NumPy replay, with eager's bits.

CI installs numba (the README's test command takes the ``[fast]`` extra), so this test takes it away in a
fresh interpreter, as a machine without it would be: ``sys.modules["numba"] = None`` makes every import of
it fail before tinygrad_lstm is imported.
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

import tinygrad_lstm as tl
from tinygrad_lstm.compiler import kernels

ROOT = Path(__file__).resolve().parents[1]

# The child trains a small float32 LSTM step three times eagerly and three times compiled with the default
# backend, and prints what it saw; the gradients' bytes as hex, so that the comparison is bit for bit.
CHILD = r"""
import json, sys
sys.modules["numba"] = None  # numba is not importable in this process
import numpy as np
import tinygrad_lstm as tl
from tinygrad_lstm import nn

def make():
    tl.manual_seed(0)
    return nn.LSTM(3, 4), nn.Linear(4, 1)

def loss_fn(lstm, head):
    return lambda x, y: nn.functional.mse_loss(head(lstm(x)[0][-1]), y)

rng = np.random.default_rng(5)
batches = [(rng.standard_normal((5, 2, 3)).astype(np.float32), rng.standard_normal((2, 1)).astype(np.float32))
           for _ in range(3)]
runs = {}
for mode in ("eager", "compiled"):
    lstm, head = make()
    params = [*lstm.parameters(), *head.parameters()]
    fn = loss_fn(lstm, head)
    step = tl.compile(fn, exact=True) if mode == "compiled" else None
    grads = []
    for x, y in batches:
        for p in params:
            p.grad = None
        loss = step(x, y) if step else fn(tl.Tensor(x), tl.Tensor(y))
        loss.backward()
        grads.append([loss.data.tobytes().hex()] + [p.grad.data.tobytes().hex() for p in params])
    runs[mode] = grads
try:
    tl.compile(lambda x: x.sum(), backend="numba")
    refused = ""
except ImportError as e:
    refused = str(e)
print(json.dumps({"backend": step.backend, "replays": step.replays, "kernels": "# The kernels" in step.source,
                  "numba_module": sys.modules["numba"] is None, "refused": refused, **runs}))
"""


def test_without_numba_compile_falls_back_to_the_numpy_replay_with_eagers_bits():
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["numba_module"], "the child imported numba after all"
    assert seen["backend"] == "numpy" and not seen["kernels"] and seen["replays"] == 2
    assert seen["compiled"] == seen["eager"]  # the loss and every gradient, bit for bit, on all three calls
    assert 'backend="numba" needs numba' in seen["refused"] and 'pip install ".[fast]"' in seen["refused"]
    if kernels.available():  # and this process's numba replay gives the same bits as the child's NumPy one
        from tinygrad_lstm import nn

        tl.manual_seed(0)
        lstm, head = nn.LSTM(3, 4), nn.Linear(4, 1)
        params = [*lstm.parameters(), *head.parameters()]
        step = tl.compile(lambda x, y: nn.functional.mse_loss(head(lstm(x)[0][-1]), y), exact=True, backend="numba")
        rng = np.random.default_rng(5)
        for n in range(3):
            x, y = rng.standard_normal((5, 2, 3)).astype(np.float32), rng.standard_normal((2, 1)).astype(np.float32)
            for p in params:
                p.grad = None
            loss = step(x, y)
            loss.backward()
            assert [loss.data.tobytes().hex()] + [p.grad.data.tobytes().hex() for p in params] == seen["compiled"][n]
        assert "# The kernels" in step.source
