"""Matrix products that stay fast on a busy machine.

OpenBLAS splits a product of more than about a hundred thousand multiply-adds across its threads,
then waits for every thread to finish its share. On a quiet machine that is up to 2x faster. On a busy
one (a browser, a second job: the laptop a learner runs the demos on) a worker thread may wait a whole
time slice to be scheduled, and the product waits with it: with two busy processes on two cores, one
LSTM train step went from 73 ms to 3.5 s, each 40 us product taking milliseconds.

So the engine watches its products. It times each shape once on one thread; when two products in a
row on all threads then take longer than that (plus 0.1 ms to wake threads), their threads are
waiting for cores: the machine is busy, and for the next :data:`busy_seconds` every product runs on
one thread. That costs a quiet machine nothing (but for a hiccup of a shared machine now and then)
and a busy one about its lost share of the CPU. The thread count is changed only around the
engine's own products and put back after each, so NumPy code outside the engine runs as it would
without it.

>>> import numpy as np, tinygrad_lstm as tl
>>> a, b = np.ones((64, 256)), np.ones((256, 1024))
>>> bool((tl.blas.matmul(a, b) == a @ b).all())
True
>>> tl.blas.watch = False   # every product on every thread, as plain NumPy
>>> tl.blas.watch = True
"""

from __future__ import annotations

import threading
import time

import numpy as np

#: Below this many multiply-adds OpenBLAS does not split a product, so there is nothing to watch.
THREADED_FROM = 100_000
#: A product on all threads is late when it takes longer than on one thread plus this allowance for
#: waking idle threads: on a quiet machine it takes half the time or less, on a busy one a thread
#: waiting for a core waits a time slice (milliseconds), and a long product gains nothing.
WAKE_UP = 1e-4
#: Late products in a row that mean the machine is busy: one alone may be a hiccup of a shared machine.
LATE_IN_A_ROW = 2
#: False: every product may use every BLAS thread, as plain NumPy.
watch = True
#: How long products stay on one thread after the machine was found busy.
busy_seconds = 1.0
#: How many times products found the machine busy so far (each started a one-thread period).
stalls = 0

_busy_until = 0.0  # perf_counter() time until which products run on one thread
_late_in_a_row = 0
_one_thread_seconds: dict[tuple, float] = {}  # (a.shape, b.shape) -> its fastest time on one thread
_hold_lock = threading.Lock()
_holds = 0  # products now running with BLAS held to one thread
_users_threads = 1  # the count to put back when the last of them ends


def _find_blas():
    """The BLAS library's thread setters, through ``threadpoolctl`` (None when it cannot control one)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - a dependency; kept optional for vendored copies
        return None
    controllers = ThreadpoolController().select(user_api="blas").lib_controllers
    return controllers[0] if len(controllers) == 1 else None  # two BLAS libraries: leave them be


_blas = _find_blas()


def matmul(a, b):
    """``a @ b``; on one BLAS thread while the machine is busy (see the module docstring).

    Anything but two NumPy arrays (Tensors under ``create_graph``, which record a matmul that applies
    this rule itself) is passed to ``@`` unchanged.
    """
    global _busy_until, _late_in_a_row, stalls
    if (
        not watch
        or _blas is None
        or type(a) is not np.ndarray
        or type(b) is not np.ndarray
        or not a.ndim
        or not b.ndim
        or _work(a, b) < THREADED_FROM
    ):
        return a @ b
    key = (a.shape, b.shape)
    alone = _one_thread_seconds.get(key)
    start = time.perf_counter()
    if alone is None or start < _busy_until:
        out = _on_one_thread(a, b)
        took = time.perf_counter() - start
        if alone is None or took < alone:
            if len(_one_thread_seconds) > 4096:  # shapes that keep changing: start over
                _one_thread_seconds.clear()
            _one_thread_seconds[key] = took
        return out
    out = np.matmul(a, b)
    if time.perf_counter() - start <= alone + WAKE_UP:
        _late_in_a_row = 0
    else:  # its threads waited for cores
        _late_in_a_row += 1
        if _late_in_a_row >= LATE_IN_A_ROW:
            _busy_until = time.perf_counter() + busy_seconds
            _late_in_a_row = 0
            stalls += 1
    return out


def _on_one_thread(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` with BLAS held to one thread. The thread count is global to the process: the first of
    overlapping holds (products in several Python threads) saves the user's count, the last puts it
    back, so an overlap cannot leave the saved 1 behind."""
    global _holds, _users_threads
    with _hold_lock:
        if _holds == 0:
            _users_threads = _blas.get_num_threads()
            _blas.set_num_threads(1)
        _holds += 1
    try:
        return np.matmul(a, b)
    finally:
        with _hold_lock:
            _holds -= 1
            if _holds == 0:
                _blas.set_num_threads(_users_threads)


def _work(a: np.ndarray, b: np.ndarray) -> int:
    """Multiply-adds in ``a @ b`` (either operand may carry the batch axes)."""
    rows = a.shape[-2] if a.ndim > 1 else 1
    cols = b.shape[-1] if b.ndim > 1 else 1
    return max(a.size * cols, b.size * rows)
