"""The backward-pass explorer: its data, and the page in a real headless Chromium (skipped without one).

Browser tests open the page from disk (no server, no network), step it with the keyboard and the
slider, and check the DOM and the pixels of screenshots.
"""

import io
import json
import re
import time

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll
from tinygrad_lstm.tape import number, time_step
from tinygrad_lstm.viz import HEAT_MAP_LIMIT, HeatScale, explore


def recorded(cell="lstm", steps=16, hidden=3, seed=0):
    u = unroll(cell, steps=steps, hidden_size=hidden, seed=seed, sources=True, values=HEAT_MAP_LIMIT)
    u.backward(arrays=HEAT_MAP_LIMIT)
    return u


@pytest.fixture(scope="module")
def lstm():
    return recorded("lstm")


@pytest.fixture(scope="module")
def rnn():
    return recorded("rnn")


@pytest.fixture(scope="module")
def lstm_page(lstm, tmp_path_factory):
    page = explore(lstm.tape, lstm.trace, title="LSTM, 16 steps")
    return page, page.save(tmp_path_factory.mktemp("explorer") / "bptt.html")


@pytest.fixture(scope="module")
def compare_page(rnn, lstm, tmp_path_factory):
    page = explore([("tanh RNN", rnn.tape, rnn.trace), ("LSTM", lstm.tape, lstm.trace)])
    return page, page.save(tmp_path_factory.mktemp("explorer") / "compare.html")


def h_entries(tape) -> dict:
    """t -> the entry named h in that time step."""
    return {time_step(e.scope)[1]: e for e in tape if e.name == "h" and time_step(e.scope) is not None}


# ---- the page as a file --------------------------------------------------------------------------


def test_the_page_is_one_self_contained_file(lstm_page):
    page, _ = lstm_page
    text = page.html
    # the only addresses in it are SVG's namespace names, which no browser fetches
    addresses = set(re.findall(r"https?://[^\s\"'<>\\]+", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, addresses
    assert not re.search(r"<(link|img|iframe)\b|<script[^>]+src=|@import|url\(", text)
    assert len(text.encode()) < 400_000  # a few hundred KB for a 16-step LSTM


def test_the_slider_counts_every_vjp_of_the_trace(lstm, lstm_page):
    page, _ = lstm_page
    assert page.steps == len(lstm.trace) == page.data["panes"][0]["n"] == len(page.data["panes"][0]["sweep"])


def test_a_state_box_fills_when_its_vjp_has_run_and_earlier_steps_fill_later(lstm, lstm_page):
    page, _ = lstm_page
    pane = page.data["panes"][0]
    order = {id(r.entry): r.order for r in lstm.trace}
    hs = h_entries(lstm.tape)
    arrive = [pane["arrive"][f"e{number(hs[t])}"] for t in sorted(hs)]
    assert arrive == [order[id(hs[t])] for t in sorted(hs)]
    assert arrive == sorted(arrive, reverse=True)  # the gradient travels from the last step to the first


def test_entries_carry_what_the_info_panel_shows(lstm, lstm_page):
    page, _ = lstm_page
    pane = page.data["panes"][0]
    by_ref = {e["ref"]: e for e in pane["entries"]}
    h = h_entries(lstm.tape)[15]
    record = by_ref[f"h(%{number(h)})"]
    assert record["op"] == "mul" and record["shape"] == "(1, 3)" and record["dtype"] == "float32"
    assert record["scope"] == "lstm.l0[t=15]" and record["step"] == ["lstm.l0", 15]
    assert "cells.py" in record["source"]
    norms = lstm.trace.grad_norms()
    assert record["gn"] == pytest.approx(norms[h.index], rel=1e-3)
    value = lstm.tape.kept[h][1]
    assert record["v"][:2] == [1, 3] and np.allclose(record["v"][2], value.ravel(), rtol=1e-3)
    assert record["fill"] == HeatScale().colour(norms[h.index])
    weight = by_ref["weight_hh_l0"]  # a parameter: its value read from the tensor, its gradient = .grad
    assert np.allclose(weight["g"][2], lstm.model.weight_hh_l0.grad.data.ravel(), rtol=1e-3, atol=1e-9)


def test_one_drawing_serves_every_step_with_the_same_program():
    u = recorded("lstm", steps=200, hidden=2)
    pane = explore(u.tape, u.trace).data["panes"][0]
    layer = {key: step for key, step in pane["steps"].items() if key.startswith("lstm.l0|")}
    assert len(layer) == 200
    # two drawings for 200 steps: step 0 (which reads no h or c) and every other step
    assert len({step["template"] for step in layer.values()}) == 2
    step = pane["steps"]["lstm.l0|57"]
    assert [pane["entries"][k]["scope"] for k in step["ops"]] == ["lstm.l0[t=57]"] * 16
    ins = [pane["entries"][k]["ref"] for k in step["ins"]]
    assert any(r.startswith("h(%") for r in ins) and any(r.startswith("c(%") for r in ins)


def test_compared_belts_share_one_width_so_their_time_axes_line_up(compare_page, rnn, lstm):
    page, _ = compare_page
    widths = [re.search(r'<svg width="([\d.]+)pt"', p["svg"]).group(1) for p in page.data["panes"]]
    assert widths[0] == widths[1]
    assert page.steps == max(len(rnn.trace), len(lstm.trace))


def test_small_values_and_gradients_are_kept_on_request():
    x = tl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    big = tl.Tensor(np.ones(100), requires_grad=True)
    with tl.Tape(values=6) as tape:
        y = (x * 2).tanh()
        loss = y.sum() + (big * 3).sum()
    with tl.trace_backward(arrays=6) as trace:
        loss.backward()
    kept = tape.kept
    assert np.array_equal(kept[y.entry][1], np.tanh(np.arange(6.0).reshape(2, 3) * 2))
    times3 = tape.entries[3]
    assert times3.op == "mul" and times3.shape == (100,)
    assert kept[times3][1] is None  # 100 elements: its norm only
    assert kept[times3][0] == pytest.approx(np.linalg.norm(np.ones(100) * 3))
    leaf_x = next(r for r in trace if r.entry is x.entry)
    assert np.array_equal(leaf_x.grad, x.grad.data)
    assert next(r for r in trace if r.entry is big.entry).grad is None
    with tl.trace_backward() as plain:
        ((x * x).sum()).backward()
    assert all(r.grad is None for r in plain)  # nothing kept unless asked


def test_mistakes_are_named(lstm, tmp_path):
    with pytest.raises(ValueError, match=r"explore: the recording needs the trace of its backward pass"):
        explore(lstm.tape)
    x = tl.Tensor(np.ones(3), requires_grad=True)
    with tl.Tape() as flat:
        loss = (x * x).sum()
    with tl.trace_backward() as trace:
        loss.backward()
    with pytest.raises(ValueError, match="explore: no time-step scopes in this tape"):
        explore(flat, trace)
    with pytest.raises(ValueError, match=r"explore: save to a \.html file, got '.*bptt\.svg'"):
        explore(lstm.tape, lstm.trace).save(tmp_path / "bptt.svg")
    assert not (tmp_path / "bptt.svg").exists()
    with pytest.raises(TypeError, match="explore: expected a Tape or a Tensor, got int"):
        explore(3, trace)


def test_in_a_notebook_it_is_an_iframe_holding_the_page(lstm_page):
    page, _ = lstm_page
    html = page._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "&lt;script" in html and "<script" not in html


# ---- in a real browser ----------------------------------------------------------------------------


def open_page(browser, path):
    browser.get(path.resolve().as_uri())
    browser.get_log("browser")  # start each test with an empty console
    return browser.find_element("tag name", "body")


def console_errors(browser) -> list:
    return [m for m in browser.get_log("browser") if m["level"] == "SEVERE"]


def press(browser, key, times=1):
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(browser)
    for _ in range(times):
        chain.send_keys(key)
    chain.perform()


def pixel_of_fill(browser, element) -> tuple:
    """The colour of ``element``'s fill on screen (scrolled into view first), read halfway down, just
    inside its left edge: away from its centred label, whose glyphs fall elsewhere with other fonts."""
    from PIL import Image

    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    box = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left + r.width * 0.08, r.top + r.height / 2];",
        element,
    )
    shot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    ratio = shot.width / browser.execute_script("return window.innerWidth")
    return shot.getpixel((int(box[0] * ratio), int(box[1] * ratio)))


def rgb(colour: str) -> tuple:
    return tuple(int(colour[k : k + 2], 16) for k in (1, 3, 5))


def test_right_arrow_runs_one_vjp_at_a_time_and_a_box_fills_when_its_gradient_arrives(browser, lstm, lstm_page):
    from selenium.webdriver.common.keys import Keys

    _, path = lstm_page
    open_page(browser, path)
    assert browser.find_element("id", "slider").get_attribute("max") == str(len(lstm.trace))
    assert browser.find_element("id", "position").text == f"VJP 0 / {len(lstm.trace)}"
    h12 = h_entries(lstm.tape)[12]
    arrives = next(r.order for r in lstm.trace if r.entry is h12) + 1  # VJPs run when h_12's gradient is complete
    box = browser.find_element("css selector", f'.belt g[id="e{number(h12)}"]')
    assert "pending" in box.get_attribute("class")
    assert pixel_of_fill(browser, box) == (255, 255, 255)

    press(browser, Keys.ARROW_RIGHT, arrives - 1)
    assert browser.find_element("id", "position").text == f"VJP {arrives - 1} / {len(lstm.trace)}"
    assert "pending" in box.get_attribute("class")
    press(browser, Keys.ARROW_RIGHT)
    assert browser.find_element("id", "position").text == f"VJP {arrives} / {len(lstm.trace)}"
    assert "pending" not in box.get_attribute("class")
    expected = rgb(HeatScale().colour(lstm.trace.grad_norms()[h12.index]))
    seen = pixel_of_fill(browser, box)
    assert max(abs(a - b) for a, b in zip(seen, expected)) <= 3, (seen, expected)

    press(browser, Keys.ARROW_LEFT)  # back one VJP: the box is white again
    assert "pending" in box.get_attribute("class")
    assert pixel_of_fill(browser, box) == (255, 255, 255)
    press(browser, Keys.END)
    assert not browser.find_elements("css selector", ".belt g.node.pending")  # every gradient has arrived
    assert console_errors(browser) == []


def test_the_slider_moves_the_sweep_and_the_status_names_the_current_vjp(browser, lstm, lstm_page):
    _, path = lstm_page
    open_page(browser, path)
    slider = browser.find_element("id", "slider")
    browser.execute_script("arguments[0].value = 5; arguments[0].dispatchEvent(new Event('input'))", slider)
    record = lstm.trace.records[4]
    status = browser.find_element("css selector", ".status").text
    assert status.startswith(f"VJP 5 of {len(lstm.trace)}: {record.op}.vjp of ")
    assert f"%{number(record.entry)}" in status
    assert console_errors(browser) == []


def test_a_step_opens_into_its_primitives_with_the_current_vjp_outlined(browser, lstm, lstm_page):
    _, path = lstm_page
    open_page(browser, path)
    h3 = h_entries(lstm.tape)[3]
    browser.find_element("css selector", f'.belt g[id="e{number(h3)}"]').click()
    view = browser.find_element("css selector", ".cell-view")
    assert view.is_displayed()
    assert browser.find_element("css selector", ".cell-title").text == "lstm.l0[t=3]: 16 primitives"
    # the gates, the products and h, each drawn with its name
    titles = [t.text for t in browser.find_elements("css selector", ".cell-svg g.node text")]
    for name in ("i", "f", "g", "o", "f*c[t-1]", "i*g", "c", "tanh(c)", "h"):
        assert name in titles
    # run the sweep to h_3's VJP: h_3 is outlined, its inputs (o and tanh(c)) are where it sends
    order = next(r.order for r in lstm.trace if r.entry is h3)
    browser.execute_script(f"window.explorer.setPos({order + 1})")
    current = browser.find_elements("css selector", ".cell-svg g.node.cur text")
    assert [t.text for t in current][:1] == ["h"]
    sent = {t.text for t in browser.find_elements("css selector", ".cell-svg g.node.sendto text")}
    assert {"o", "tanh(c)"} <= sent
    assert len(browser.find_elements("css selector", ".cell-svg g.edge.sending")) == 2
    browser.find_element("css selector", ".cell-view .close").click()
    assert not view.is_displayed()
    assert console_errors(browser) == []


def test_hovering_a_box_shows_its_details_and_heat_maps(browser, lstm, lstm_page):
    from selenium.webdriver.common.action_chains import ActionChains

    _, path = lstm_page
    open_page(browser, path)
    browser.execute_script(f"window.explorer.setPos({len(lstm.trace)})")
    h15 = h_entries(lstm.tape)[15]
    box = browser.find_element("css selector", f'.belt g[id="e{number(h15)}"]')
    ActionChains(browser).move_to_element(box).perform()
    info = browser.find_element("id", "info").text
    for text in (f"h(%{number(h15)})", "mul", "(1, 3)", "float32", "lstm.l0[t=15]", "cells.py", "||dL/d value||"):
        assert text in info
    assert len(browser.find_elements("css selector", "#info canvas")) == 2  # the value and the gradient
    assert console_errors(browser) == []


def test_hovering_a_step_in_the_strip_lights_its_column(browser, lstm_page):
    from selenium.webdriver.common.action_chains import ActionChains

    _, path = lstm_page
    open_page(browser, path)
    assert not browser.find_elements("css selector", ".belt rect.band-hover")
    cell = browser.find_element("css selector", '.strip td[data-col="5"]')
    ActionChains(browser).move_to_element(cell).perform()
    band = browser.find_element("css selector", ".belt rect.band-hover")
    assert float(band.get_attribute("width")) > 0
    assert "lit" in cell.get_attribute("class")


def test_play_runs_the_sweep_on_its_own(browser, lstm_page):
    _, path = lstm_page
    open_page(browser, path)
    browser.find_element("id", "play").click()
    time.sleep(0.5)
    browser.find_element("id", "play").click()  # pause
    assert browser.execute_script("return window.explorer.pos") > 0


def test_compared_recordings_step_together_on_one_slider(browser, rnn, lstm, compare_page):
    _, path = compare_page
    open_page(browser, path)
    panes = browser.find_elements("css selector", ".pane")
    assert [p.find_element("tag name", "h2").text for p in panes] == ["tanh RNN", "LSTM"]
    total = max(len(rnn.trace), len(lstm.trace))
    browser.execute_script(f"window.explorer.setPos({total // 2})")
    ks = browser.execute_script("return window.explorer.panes.map(p => p.k)")
    assert ks == [round(total // 2 * len(rnn.trace) / total), round(total // 2 * len(lstm.trace) / total)]
    statuses = [s.text for s in browser.find_elements("css selector", ".status")]
    assert statuses[0].startswith(f"VJP {ks[0]} of {len(rnn.trace)}")
    assert statuses[1].startswith(f"VJP {ks[1]} of {len(lstm.trace)}")
    browser.execute_script(f"window.explorer.setPos({total})")
    assert not browser.find_elements("css selector", ".belt g.node.pending")
    assert console_errors(browser) == []


def test_a_thousand_step_lstm_page_opens_and_steps(browser, tmp_path):
    u = recorded("lstm", steps=1000, hidden=4)
    path = explore(u.tape, u.trace).save(tmp_path / "long.html")
    open_page(browser, path)
    assert browser.find_element("id", "slider").get_attribute("max") == str(len(u.trace))
    for k in (1, 500, 8000, len(u.trace) - 1, 3):
        browser.execute_script(f"window.explorer.setPos({k})")
        assert browser.find_element("id", "position").text == f"VJP {k} / {len(u.trace)}"
    # the belt bins 1,000 steps into 24 columns, as the static picture does
    assert len(browser.find_elements("css selector", ".strip th[data-col]")) == 24
    assert console_errors(browser) == []


def test_inline_in_a_notebook_the_iframe_works(browser, lstm, lstm_page, tmp_path):
    from selenium.webdriver.common.keys import Keys

    page, _ = lstm_page
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body><h1>a notebook cell</h1>{page._repr_html_()}</body></html>")
    open_page(browser, host)
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        assert browser.find_element("id", "slider").get_attribute("max") == str(len(lstm.trace))
        browser.find_element("tag name", "body").click()
        press(browser, Keys.ARROW_RIGHT, 3)
        assert browser.find_element("id", "position").text == f"VJP 3 / {len(lstm.trace)}"
    finally:
        browser.switch_to.default_content()
    assert console_errors(browser) == []


def test_in_a_real_jupyter_kernel_the_output_steps_in_the_browser(browser, tmp_path):
    """A notebook run by a Jupyter kernel: the cell's HTML output, placed in a page as a notebook
    front end places it, is the working explorer."""
    nbformat = pytest.importorskip("nbformat", reason="nbclient and ipykernel come with the test extras")
    nbclient = pytest.importorskip("nbclient", reason="nbclient and ipykernel come with the test extras")
    pytest.importorskip("ipykernel", reason="nbclient and ipykernel come with the test extras")
    from selenium.webdriver.common.keys import Keys

    notebook = nbformat.v4.new_notebook()
    code = (
        "import tinygrad_lstm as tl\n"
        "from tinygrad_lstm.examples import unroll\n"
        "u = unroll('lstm', steps=8, values=64)\n"
        "page = tl.viz.explore(u.tape, u.backward(arrays=64))\n"
        "page"
    )
    notebook.cells = [nbformat.v4.new_code_cell(code)]
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    output = notebook.cells[0].outputs[0]["data"]["text/html"]
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body><div class='output_html'>{output}</div></body></html>")
    open_page(browser, host)
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        total = browser.find_element("id", "slider").get_attribute("max")
        browser.find_element("tag name", "body").click()
        press(browser, Keys.ARROW_RIGHT, 5)
        assert browser.find_element("id", "position").text == f"VJP 5 / {total}"
        assert browser.find_elements("css selector", ".belt g.node:not(.pending)")  # the loss has filled
    finally:
        browser.switch_to.default_content()
    assert console_errors(browser) == []


def test_the_data_is_valid_json_inside_the_page(lstm_page):
    page, _ = lstm_page
    payload = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page.html, re.S)
    assert json.loads(payload.group(1).replace("<\\/", "</")) == json.loads(json.dumps(page.data))


def deep_recording():
    tl.manual_seed(0)
    gru = tl.nn.GRU(2, 3, num_layers=2, bidirectional=True)
    with tl.Tape(values=HEAT_MAP_LIMIT) as tape:
        out, h = gru(tl.randn(6, 2, 2, dtype=np.float32))
        loss = (out * out).mean()
    with tl.trace_backward(arrays=HEAT_MAP_LIMIT) as trace:
        loss.backward()
    return tape, trace


@pytest.mark.parametrize("kind", ["gru", "peephole", "deep bidirectional gru"])
def test_other_cells_step_from_start_to_end_without_errors(browser, tmp_path, kind):
    if kind.startswith("deep"):
        tape, trace = deep_recording()
    else:
        u = recorded(kind, steps=5)
        tape, trace = u.tape, u.trace
    page = explore(tape, trace)
    open_page(browser, page.save(tmp_path / "page.html"))
    states = browser.find_elements("css selector", ".belt g.node.pending")
    assert states  # white before the sweep
    for k in range(0, page.steps + 1, max(1, page.steps // 40)):  # follow the sweep through every step
        browser.execute_script(f"window.explorer.setPos({k})")
    browser.execute_script(f"window.explorer.setPos({page.steps})")
    assert not browser.find_elements("css selector", ".belt g.node.pending")
    assert browser.find_element("css selector", ".cell-view").is_displayed()
    assert console_errors(browser) == []


# ---- on a laptop: measured on screen, at 1366 x 768 and 1920 x 1080 -------------------------------

SCREENS = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def long_compare_page(tmp_path_factory):
    """The tour's page: a tanh RNN beside an LSTM, 24 steps (two lines of belt)."""
    runs = [recorded(cell, steps=24, hidden=16) for cell in ("rnn", "lstm")]
    page = explore([("tanh RNN", runs[0].tape, runs[0].trace), ("LSTM", runs[1].tape, runs[1].trace)])
    return page.save(tmp_path_factory.mktemp("explorer") / "tour.html")


def viewport(browser, width, height):
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )


@pytest.mark.parametrize("width, height", SCREENS)
def test_belt_and_strip_text_is_at_least_9_px_tall_on_screen(browser, long_compare_page, width, height):
    viewport(browser, width, height)
    try:
        open_page(browser, long_compare_page)
        heights = browser.execute_script(
            "return [...document.querySelectorAll('.belt svg text, .strip th, .strip td')]"
            ".filter((t) => t.textContent.trim()).map((t) => {"
            "  const r = t.getBoundingClientRect(); const s = parseFloat(getComputedStyle(t).fontSize);"
            "  return t.tagName.toLowerCase() === 'text' ? r.height : Math.min(r.height, s * 1.2); })"
        )
        assert len(heights) > 100
        # a text element's box is its line height, about 1.15 x the font size: >= 9 px of type on screen
        assert min(heights) >= 9 * 1.15 - 0.5, sorted(heights)[:5]
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width, height", SCREENS)
def test_the_strip_and_the_belt_keep_the_sweeps_current_step_in_view(browser, long_compare_page, width, height):
    viewport(browser, width, height)
    try:
        open_page(browser, long_compare_page)
        for fraction in (0.1, 0.4, 0.7):
            browser.execute_script(f"window.explorer.setPos(Math.round(window.explorer.total * {fraction}))")
            seen = browser.execute_script(
                "return [...document.querySelectorAll('.pane')].map((pane) => {"
                "  const now = pane.querySelector('.strip th.now') || pane.querySelector('.strip td.now');"
                "  const band = pane.querySelector('rect.band-now');"
                "  const inside = (el, holder) => { if (!el) return null; const r = el.getBoundingClientRect(),"
                "    h = holder.getBoundingClientRect(); return r.left >= h.left - 1 && r.right <= h.right + 1; };"
                "  return [now && now.textContent, inside(now, pane.querySelector('.strip-holder')),"
                "          inside(band, pane.querySelector('.belt'))]; })"
            )
            for label, strip_ok, belt_ok in seen:
                if label is None:
                    continue  # this pane's sweep is between steps (the loss, the weights)
                assert strip_ok, (fraction, label)
                assert belt_ok is not False, (fraction, label)
            assert any(label for label, _, _ in seen)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.mark.parametrize("width, height", SCREENS)
def test_an_opened_step_fits_its_pane(browser, lstm_page, width, height):
    _, path = lstm_page
    viewport(browser, width, height)
    try:
        open_page(browser, path)
        browser.execute_script("window.explorer.setPos(Math.round(window.explorer.total / 2))")
        sizes = browser.execute_script(
            "const v = document.querySelector('.cell-view:not([hidden]) .cell-svg svg');"
            "const pane = document.querySelector('.pane');"
            "return v && [v.getBoundingClientRect().width, pane.getBoundingClientRect().width];"
        )
        assert sizes, "follow the sweep opens the step the sweep is in"
        assert sizes[0] <= sizes[1], sizes
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
