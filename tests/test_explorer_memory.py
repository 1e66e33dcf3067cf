"""The explorer's memory strip: the bytes of saved arrays the tape still holds at each VJP of the sweep.

The numbers are checked against what other instruments measure (``tl.memory_table``, a scan of every
entry on the tape at every VJP, the checkpoint benchmark), the shapes against what BPTT and
``tl.checkpoint`` must do (plain: falls as the sweep goes back; checkpointed: one tooth per segment,
peak like sqrt(T)), and the strip in a real headless Chromium (skipped without one).
"""

import importlib.util
from pathlib import Path

import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll
from tinygrad_lstm.tape import state, time_step
from tinygrad_lstm.viz import explore

STEPS, EVERY = 12, 4


def scan(tape) -> int:
    """Bytes of the distinct arrays every entry on the tape saves now, and every checkpoint segment on it
    keeps to run again: the whole tape, read afresh."""
    arrays = {id(a): a.nbytes for e in tape.entries for _, a in e.saved()}
    segments = {id(e.recompute): e.recompute for e in tape.entries if getattr(e, "recompute", None) is not None}
    arrays.update((id(a), a.nbytes) for r in segments.values() for _, a in r.arguments)
    return sum(arrays.values())


def recorded(every):
    """A 12-step LSTM (batch 2, hidden 8) whose backward runs with the memory instrument and, beside it,
    an observer that scans the whole tape at every VJP."""
    u = unroll("lstm", steps=STEPS, batch=2, hidden_size=8, checkpoint_every=every)
    scans = []
    with tl.trace_backward(memory=u.tape) as trace:
        observe = lambda entry, g, grads: scans.append(scan(u.tape))  # noqa: E731
        state.observers.append(observe)
        try:
            u.loss.backward()
        finally:
            state.observers.remove(observe)
    u.trace = trace
    return u, scans


@pytest.fixture(scope="module")
def plain():
    return recorded(None)


@pytest.fixture(scope="module")
def checkpointed():
    return recorded(EVERY)


def strip(u) -> dict:
    return explore(u.tape, u.trace).data["panes"][0]["memory"]


def table_total(tape) -> int:
    """memory_table's running total, read from its text."""
    last = [line for line in tl.memory_table(tape).splitlines() if not line.startswith("(")][-1]
    return int(last.split()[-1].replace(",", ""))


@pytest.mark.parametrize("which", ["plain", "checkpointed"])
def test_the_strip_starts_at_memory_tables_total_and_then_reads_the_whole_tape_at_every_vjp(which, request):
    u, scans = request.getfixturevalue(which)
    held = strip(u)["held"]
    assert len(held) == len(u.trace) + 1  # one value a sweep position: before the sweep, then per VJP
    assert held[0] == table_total(u.tape) == sum(m.nbytes for m in tl.memory_by_step(u.tape))
    assert held[1:] == scans  # the instrument re-reads only what changed: a full scan agrees everywhere
    assert held[1:] == [r.held for r in u.trace]
    # the sweep has freed everything it ran; a checkpointed run still holds the (h, c) each later segment
    # started from (batch 2 x hidden 8 float32 each): its tape keeps them to run the segment again
    assert held[-1] == (0 if which == "plain" else (STEPS // EVERY - 1) * 2 * (2 * 8 * 4))


def test_entering_each_step_the_plain_strip_holds_memory_tables_rows_of_that_step_and_before(plain):
    """A step's arrays are freed as the sweep leaves it, so when it enters step t what is held is exactly
    the rows memory_table gives steps 0..t (and the input projection), counted before backward ran."""
    u, _ = plain
    held = strip(u)["held"]
    rows = tl.memory_by_step(u.tape)
    entered = {}
    for r in u.trace:
        s = time_step(r.entry.scope)
        if s is not None and s[0] == "lstm.l0":
            entered.setdefault(s[1], r.order + 1)  # the position after the first VJP in step t
    assert sorted(entered) == list(range(STEPS))
    for t, k in entered.items():
        expected = sum(m.nbytes for m in rows if m.t is not None and m.t <= t)
        assert held[k] == expected, (t, held[k], expected)


def test_plain_bptt_memory_only_falls_as_the_sweep_goes_back(plain):
    held = strip(plain[0])["held"]
    assert all(b <= a for a, b in zip(held, held[1:]))
    assert held[0] > 0 and held[-1] == 0
    assert strip(plain[0])["segments"] == []


def test_a_checkpointed_lstm_shows_one_tooth_per_segment_where_the_segment_runs_again(checkpointed):
    u, _ = checkpointed
    data = strip(u)
    held, segments = data["held"], data["segments"]
    rises = [k for k in range(1, len(held)) if held[k] > held[k - 1]]
    assert len(rises) == STEPS // EVERY == len(segments)
    assert rises == [first for first, _, _ in segments]  # each rise is where a segment ran again
    assert [steps for _, _, steps in segments] == ["t=8..11", "t=4..7", "t=0..3"]  # the sweep goes back
    for first, last, _ in segments:  # inside a segment memory only falls, as in plain BPTT
        assert all(b <= a for a, b in zip(held[first : last + 1], held[first + 1 : last + 1]))
    assert max(held) > 3 * held[0]  # a tooth: a segment's arrays against the states kept between them


def load_benchmark():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_checkpoint.py"
    spec = importlib.util.spec_from_file_location("bench_checkpoint", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("every", [None, 4])
def test_the_strip_shows_what_the_checkpoint_benchmark_measures(every):
    bench = load_benchmark()
    kept, peak = bench.memory(16, every, 4, batch=2, hidden=8)
    lstm, x = bench.model(16, every, 4, batch=2, hidden=8)
    with tl.Tape() as tape:
        out, _ = lstm(x)
        loss = out[-1].sum()
    with tl.trace_backward(memory=tape) as trace:
        loss.backward()
    held = explore(tape, trace).data["panes"][0]["memory"]["held"]
    assert held[0] == kept == table_total(tape)
    assert max(held) == peak


def test_a_checkpointed_lstms_peak_grows_like_sqrt_t_and_plain_bptts_like_t():
    bench = load_benchmark()
    plain = [bench.memory(T, None, k, batch=4, hidden=16)[1] for T, k in ((16, 4), (64, 8))]
    sqrt_t = [bench.memory(T, k, k, batch=4, hidden=16)[1] for T, k in ((16, 4), (64, 8))]
    assert plain[1] / plain[0] == pytest.approx(4, rel=0.1)  # 4x the steps: 4x the memory
    assert 1.5 < sqrt_t[1] / sqrt_t[0] < 2.5  # 4x the steps: about 2x (one segment of sqrt(T) steps, sqrt(T) states)
    assert sqrt_t[1] < plain[1] / 4


def test_without_the_instrument_the_page_has_no_strip_and_bad_input_is_named():
    u = unroll("rnn", steps=3)
    with tl.trace_backward() as trace:
        u.loss.backward()
    assert explore(u.tape, trace).data["panes"][0]["memory"] is None
    with pytest.raises(TypeError, match=r"trace_backward: memory= takes the tl.Tape .* got Tensor"):
        tl.trace_backward(memory=u.loss)
    with pytest.raises(ValueError, match=r"unroll: checkpoint_every must be a whole number of steps >= 1, got 0"):
        unroll("lstm", checkpoint_every=0)


# ---- in a real browser ----------------------------------------------------------------------------

MARKER = """
const out = [];
for (const pane of document.querySelectorAll('.pane')) {
  const holder = pane.querySelector('.memory-holder');
  const marker = holder && holder.querySelector('.mem-marker line');
  if (!marker) { out.push(null); continue; }
  const m = marker.getBoundingClientRect(), h = holder.getBoundingClientRect();
  const dot = holder.querySelector('.mem-marker circle').getBoundingClientRect();
  out.push({ x: m.left, top: m.top, bottom: m.bottom, dotY: (dot.top + dot.bottom) / 2,
             holder: [h.left, h.top, h.right, h.bottom], value: holder.querySelector('.mem-value').textContent,
             ticks: [...holder.querySelectorAll('.mem-tick')].map((t) => t.textContent),
             segments: holder.querySelectorAll('.mem-segment').length,
             recomputes: holder.querySelectorAll('.mem-recompute').length });
}
return out;
"""


@pytest.fixture(scope="module")
def memory_page(plain, checkpointed, tmp_path_factory):
    page = explore(
        [
            ("LSTM", plain[0].tape, plain[0].trace),
            ("LSTM, checkpoint every 4", checkpointed[0].tape, checkpointed[0].trace),
        ]
    )
    return page, page.save(tmp_path_factory.mktemp("explorer") / "memory.html")


@pytest.fixture(scope="module")
def screen(browser):
    def set_size(width, height):
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    yield set_size
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def shows_bytes(text: str, b: int) -> bool:
    """Whether the strip's ``text`` ("37.5 KiB held") writes ``b`` bytes: binary units, rounded to 3 figures."""
    number, unit = text.split()[:2]
    scale = {"B": 1, "KiB": 1024, "MiB": 1 << 20}[unit]
    expected = b / scale
    if unit != ("B" if b < 1024 else "KiB" if b < 1 << 20 else "MiB"):
        return False
    digits = 0 if scale == 1 or expected >= 100 else 1 if expected >= 10 else 2
    return abs(float(number) - expected) <= 0.5 * 10**-digits + 1e-9


@pytest.mark.parametrize("width, height", [(1366, 768), (1920, 1080)])
def test_stepping_the_sweep_moves_the_strips_marker_along_it_always_on_screen(
    browser, screen, memory_page, width, height
):
    from selenium.webdriver.common.keys import Keys

    from .test_explorer import console_errors, open_page, press

    page, path = memory_page
    screen(width, height)
    open_page(browser, path)
    held = [pane["memory"]["held"] for pane in page.data["panes"]]
    total = browser.execute_script("return window.explorer.total")
    last = None
    for fraction in (0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0):
        browser.execute_script(f"window.explorer.setPos(Math.round(window.explorer.total * {fraction}))")
        press(browser, Keys.ARROW_RIGHT)  # and one VJP on, by the keyboard
        seen = browser.execute_script(MARKER)
        ks = browser.execute_script("return window.explorer.panes.map((p) => p.k)")
        for pane, k, values in zip(seen, ks, held):
            x0, y0, x1, y1 = pane["holder"]
            # on screen and inside its strip: the page never scrolls, the strip has a fixed height
            assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height, (fraction, pane)
            assert x0 <= pane["x"] <= x1 and y0 <= pane["top"] < pane["bottom"] <= y1, (fraction, pane)
            assert shows_bytes(pane["value"], values[k]) and pane["value"].endswith(" held"), (pane, values[k])
            assert all(t.endswith((" B", "KiB", "MiB")) for t in pane["ticks"]) and len(pane["ticks"]) >= 2
        assert seen[1]["segments"] == seen[1]["recomputes"] == STEPS // EVERY and seen[0]["segments"] == 0
        if last is not None:  # the marker moves right as the sweep goes on
            assert all(now["x"] > before["x"] for now, before in zip(seen, last)), (fraction, seen, last)
        last = seen
    assert browser.execute_script("return window.explorer.pos") == total
    page_size = browser.execute_script("const e = document.scrollingElement; return [e.scrollWidth, e.scrollHeight]")
    assert page_size[0] <= width and page_size[1] <= height
    # higher on screen where more is held: the dot follows the bytes (one shared scale for both panes)
    browser.execute_script("window.explorer.setPos(1)")
    start = browser.execute_script(MARKER)
    browser.execute_script(f"window.explorer.setPos({total})")
    end = browser.execute_script(MARKER)
    assert start[0]["dotY"] < end[0]["dotY"]
    assert start[0]["dotY"] < start[1]["dotY"]  # plain BPTT holds more than the checkpointed run at the start
    assert console_errors(browser) == []


def test_a_click_on_the_strip_moves_the_sweep_there(browser, screen, memory_page):
    from selenium.webdriver.common.action_chains import ActionChains

    from .test_explorer import open_page

    _, path = memory_page
    screen(1366, 768)
    open_page(browser, path)
    holder = browser.find_elements("css selector", ".memory-holder")[0]
    box = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.width, r.top, r.height]", holder
    )
    # three quarters of the way along the plot (it starts 74 px in and ends 10 px before the edge)
    x = 74 + 0.75 * (box[1] - 84)
    ActionChains(browser).move_to_element_with_offset(holder, int(x - box[1] / 2), 0).click().perform()
    total = browser.execute_script("return window.explorer.total")
    assert abs(browser.execute_script("return window.explorer.pos") - 0.75 * total) <= 0.02 * total


def test_in_a_notebooks_iframe_the_strip_is_drawn_and_follows_the_sweep(browser, screen, memory_page, tmp_path):
    from selenium.webdriver.common.keys import Keys

    from .test_explorer import console_errors, open_page, press

    page, _ = memory_page
    screen(1366, 768)
    host = tmp_path / "notebook.html"  # the cell's HTML output, as a notebook front end places it
    host.write_text(f"<!DOCTYPE html><html><body><h1>a notebook cell</h1>{page._repr_html_()}</body></html>")
    open_page(browser, host)
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        browser.find_element("tag name", "body").click()
        press(browser, Keys.ARROW_RIGHT, 5)
        seen = browser.execute_script(MARKER)
        ks = browser.execute_script("return window.explorer.panes.map((p) => p.k)")
        values = [pane["memory"]["held"][k] for pane, k in zip(page.data["panes"], ks)]
        assert [shows_bytes(s["value"], v) for s, v in zip(seen, values)] == [True, True], (seen, values)
        frame = browser.execute_script("return [window.innerWidth, window.innerHeight]")
        for s in seen:  # inside the iframe's window
            assert 0 <= s["holder"][0] and s["holder"][2] <= frame[0] and s["holder"][3] <= frame[1], (s, frame)
    finally:
        browser.switch_to.default_content()
    assert console_errors(browser) == []


def test_the_command_line_writes_a_checkpointed_page_with_its_strip(tmp_path, capsys):
    import json
    import re

    from tinygrad_lstm.cli import main

    path = tmp_path / "bptt.html"
    assert main(["graph", "--steps", "8", "--checkpoint-every", "4", "-o", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', text, re.S)
    pane = json.loads(found.group(1).replace("<\\/", "</"))["panes"][0]
    assert pane["label"] == "LSTM, checkpoint every 4 steps"
    assert [steps for _, _, steps in pane["memory"]["segments"]] == ["t=4..7", "t=0..3"]
    with pytest.raises(SystemExit) as refused:
        main(["graph", "--checkpoint-every", "0", "-o", str(tmp_path / "x.html")])
    assert refused.value.code == 2 and not (tmp_path / "x.html").exists()
    assert "--checkpoint-every: 0 is too small" in capsys.readouterr().err
