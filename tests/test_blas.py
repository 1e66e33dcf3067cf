"""The engine's matrix products: one BLAS thread while the machine is busy, the user's setting kept.

A fake BLAS controller and a fake clock make the rule deterministic: a product is "late" because the
clock says so, not because this machine happened to be busy.
"""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import blas


class FakeBlas:
    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.calls: list[int] = []

    def get_num_threads(self) -> int:
        return self.threads

    def set_num_threads(self, n: int) -> None:
        self.calls.append(n)
        self.threads = n


class FakeClock:
    """``perf_counter`` moves by ``tick`` at every reading."""

    def __init__(self, tick: float) -> None:
        self.now = 100.0
        self.tick = tick

    def perf_counter(self) -> float:
        self.now += self.tick
        return self.now


@pytest.fixture
def fake(monkeypatch):
    controller, clock = FakeBlas(threads=2), FakeClock(tick=1e-5)
    monkeypatch.setattr(blas, "_blas", controller)
    monkeypatch.setattr(blas, "time", clock)
    monkeypatch.setattr(blas, "_one_thread_seconds", {})
    monkeypatch.setattr(blas, "_busy_until", 0.0)
    monkeypatch.setattr(blas, "_late_in_a_row", 0)
    monkeypatch.setattr(blas, "watch", True)
    return controller, clock


def test_products_equal_numpy_for_every_shape_matmul_takes():
    rng = np.random.default_rng(0)
    pairs = [((64, 256), (256, 128)), ((3, 64, 80), (80, 96)), ((64, 80), (5, 80, 96)), ((400, 300), (300,))]
    pairs += [((300,), (300, 400)), ((2, 3), (3, 4)), ((0, 500), (500, 500))]
    for shape_a, shape_b in pairs:
        a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
        for _ in range(3):  # the first product of a shape runs on one thread, the next on all
            np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-13, atol=1e-13)
            assert blas.matmul(a, b).shape == (a @ b).shape


def test_a_shape_is_timed_once_on_one_thread_then_runs_on_all(fake):
    controller, _ = fake
    a, b = np.ones((64, 64)), np.ones((64, 64))
    blas.matmul(a, b)
    assert controller.calls == [1, 2], "the first product of a shape is timed on one thread, then put back"
    blas.matmul(a, b)
    blas.matmul(a, b)
    assert controller.calls == [1, 2], "later products of that shape use every thread"


def test_a_late_product_holds_products_to_one_thread_for_busy_seconds(fake):
    controller, clock = fake
    a, b = np.ones((64, 64)), np.ones((64, 64))
    blas.matmul(a, b)  # one thread: 1e-5 s
    stalls = blas.stalls
    clock.tick = 0.01  # the next products on all threads take 10 ms: their threads waited for a core
    blas.matmul(a, b)
    assert blas.stalls == stalls, "one late product may be a hiccup"
    blas.matmul(a, b)
    assert blas.stalls == stalls + 1, "two in a row: the machine is busy"
    controller.calls.clear()
    clock.tick = 1e-5
    blas.matmul(a, b)
    blas.matmul(np.ones((64, 32)), np.ones((32, 128)))  # every shape, not only the late one
    assert controller.calls == [1, 2, 1, 2]
    assert controller.threads == 2, "the user's thread count is put back after each product"
    clock.now += blas.busy_seconds  # the busy period is over: all threads again
    controller.calls.clear()
    blas.matmul(a, b)
    assert controller.calls == []


def test_a_wake_up_delay_or_a_lone_hiccup_is_not_a_stall(fake):
    controller, clock = fake
    a, b = np.ones((64, 64)), np.ones((64, 64))
    blas.matmul(a, b)
    clock.tick = 9e-5  # 9x the one-thread time, but within the allowance for waking threads
    stalls = blas.stalls
    blas.matmul(a, b)
    blas.matmul(a, b)
    for tick in (0.01, 1e-5, 0.01, 1e-5):  # late products, but never two in a row
        clock.tick = tick
        blas.matmul(a, b)
    assert blas.stalls == stalls


def test_small_products_tensors_and_watch_off_leave_blas_alone(fake):
    controller, _ = fake
    blas.matmul(np.ones((8, 8)), np.ones((8, 8)))  # too small for OpenBLAS to split
    x = tl.Tensor(np.ones((64, 64)), requires_grad=True)
    assert isinstance(blas.matmul(x, x), tl.Tensor)  # create_graph: recorded, the op applies the rule
    blas.watch = False
    blas.matmul(np.ones((64, 64)), np.ones((64, 64)))
    assert controller.calls == [1, 2], "only the recorded matmul's own product was timed"


def test_a_user_limit_is_what_is_put_back(fake):
    controller, _ = fake
    controller.threads = 1  # e.g. inside threadpoolctl.threadpool_limits(1)
    blas.matmul(np.ones((64, 64)), np.ones((64, 64)))
    assert controller.threads == 1


def test_the_engine_products_forward_and_backward_go_through_the_rule(fake):
    controller, _ = fake
    w = tl.Tensor(np.random.default_rng(1).standard_normal((64, 96)), requires_grad=True)
    x = tl.Tensor(np.random.default_rng(2).standard_normal((32, 64)), requires_grad=True)
    (x @ w).sum().backward()
    # forward (32x64 @ 64x96), x's gradient (32x96 @ 96x64), w's gradient: three shapes, each timed once
    assert controller.calls == [1, 2] * 3
    np.testing.assert_allclose(w.grad, x.data.T @ np.ones((32, 96)), rtol=1e-13)
    np.testing.assert_allclose(x.grad, np.ones((32, 96)) @ w.data.T, rtol=1e-13)


def test_a_real_blas_is_found_here():
    from threadpoolctl import threadpool_info

    blas_libs = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    if len(blas_libs) != 1:
        pytest.skip(f"{len(blas_libs)} BLAS libraries loaded; the rule leaves them alone")
    assert blas._blas is not None
    threads = blas._blas.get_num_threads()
    blas.matmul(np.ones((70, 70)), np.ones((70, 70)))
    assert blas._blas.get_num_threads() == threads


def test_overlapping_one_thread_products_in_two_python_threads_put_the_users_count_back(fake, monkeypatch):
    """Thread A holds BLAS to one thread; B starts its product inside A's and ends after A's. Had each
    saved and restored the count itself, B would have saved A's 1 and put it back last."""
    import threading
    import types

    controller, _ = fake
    b_inside, a_done = threading.Event(), threading.Event()

    def product(a, b):
        if threading.current_thread().name == "A":
            assert b_inside.wait(5)
        else:
            b_inside.set()
            assert a_done.wait(5)
        return a @ b

    monkeypatch.setattr(blas, "np", types.SimpleNamespace(ndarray=np.ndarray, matmul=product))

    def run():
        blas.matmul(np.ones((64, 64)), np.ones((64, 64)))  # a new shape: timed on one thread
        if threading.current_thread().name == "A":
            a_done.set()

    threads = [threading.Thread(target=run, name=name) for name in ("A", "B")]
    threads[0].start()
    threads[1].start()
    for t in threads:
        t.join(10)
    assert controller.threads == 2
    assert controller.calls == [1, 2], "one hold for the overlap: set once, put back once"
