"""Jupyter (issue 28 §5): notebooks run by a real kernel (nbclient, ipykernel), skipped with the reason
where those are missing; and what the explorer puts into a notebook, opened in a real browser."""

import base64
import gzip
import html
import importlib
import re
from pathlib import Path

import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.examples import unroll

ROOT = Path(__file__).resolve().parent.parent
explore_module = importlib.import_module("tinygrad_lstm.viz.explore")  # tl.viz.explore is the function


def _kernel_missing() -> str | None:
    for name in ("nbformat", "nbclient", "ipykernel"):
        try:
            __import__(name)
        except ImportError:
            return f"{name} is not installed (it comes with the test extras: pip install '.[test]')"
    from jupyter_client.kernelspec import KernelSpecManager

    if "python3" not in KernelSpecManager().find_kernel_specs():
        return "no python3 Jupyter kernel spec (python -m ipykernel install --user)"
    return None


def run_notebook(*cells: str):
    """Run ``cells`` in a fresh python3 kernel that imports this checkout; returns each cell's outputs."""
    missing = _kernel_missing()
    if missing:
        pytest.skip(f"notebook tests need a Jupyter kernel: {missing}")
    import nbclient
    import nbformat

    notebook = nbformat.v4.new_notebook()
    setup = f"import sys; sys.path.insert(0, {str(ROOT)!r})\nimport tinygrad_lstm as tl\nprint(tl.__file__)"
    notebook.cells = [nbformat.v4.new_code_cell(c) for c in (setup, *cells)]
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    outputs = [cell.outputs for cell in notebook.cells]
    assert outputs[0][0]["text"].strip() == str(ROOT / "tinygrad_lstm" / "__init__.py")
    return outputs[1:]


def text_of(outputs, stream: str = "stdout") -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream" and o["name"] == stream)


def data_of(outputs, mime: str) -> list:
    return [
        o["data"][mime]
        for o in outputs
        if o["output_type"] in ("execute_result", "display_data") and mime in o.get("data", {})
    ]


def test_a_demo_in_a_notebook_leaves_the_backend_alone_and_returns_its_figures_and_numbers(tmp_path):
    out = str(tmp_path / "out")
    outputs = run_notebook(
        "%matplotlib inline\nimport matplotlib\nbefore = matplotlib.get_backend()\nprint(before)",
        f"r = tl.demos.main(['vanishing', '--quick', '--out', {out!r}])",
        "print(matplotlib.get_backend() == before)",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
        "r",
        "print(int(r), type(r.figures['vanishing.png']).__name__, sorted(r.results['ratios']))",
    )
    backend, demo, same, shown, value, parts = outputs
    assert "agg" not in text_of(backend).lower()  # the notebook's own, inline backend
    printed = text_of(demo)
    assert "Vanishing gradients at initialisation" in printed and "finished in" in printed
    assert "\r" not in printed and "it/s" not in printed  # no progress bar runs into the results
    assert "it/s" not in text_of(demo, "stderr") or data_of(demo, "application/vnd.jupyter.widget-view+json")
    assert text_of(same).strip() == "True"  # the demo did not switch matplotlib to Agg
    assert data_of(shown, "image/png")  # so the user's next plt.show() still shows
    page = data_of(value, "text/html")[0]
    assert page.count('<img src="data:image/png;base64,') == 1 and "vanishing.png" in page
    assert "seconds" in page  # the numbers, beside the figure
    assert text_of(parts).strip() == "0 Figure ['GRU', 'LSTM', 'LSTM, forget bias 1', 'tanh RNN']"
    assert (tmp_path / "out" / "vanishing.png").is_file()


def test_tapes_traces_and_memory_tables_show_as_listings_in_a_notebook():
    outputs = run_notebook(
        "lstm = tl.nn.LSTM(2, 3)\nwith tl.Tape() as tape:\n    out, _ = lstm(tl.randn(2, 1, 2))\n"
        "    loss = (out * out).sum()\ntape",
        "with tl.trace_backward() as trace:\n    loss.backward()\ntrace",
        "tl.memory_table(tape)",
        "with tl.Tape() as long:\n    tl.nn.LSTM(2, 3)(tl.randn(40, 1, 2))\nlong",
    )
    tape_html = data_of(outputs[0], "text/html")[0]
    assert tape_html.startswith(f"<p><code>&lt;Tape of {tape_html.count(chr(10)) + 1} entries&gt;</code></p><pre>")
    assert "= sigmoid(" in tape_html and "lstm.l0[t=1]" in tape_html
    assert data_of(outputs[0], "text/plain")[0].startswith("<Tape of")  # a terminal keeps the short form
    trace_html = data_of(outputs[1], "text/html")[0]
    assert "&lt;BackwardTrace of" in trace_html and "|g|=" in trace_html and "sent" in trace_html
    memory = data_of(outputs[2], "text/plain")[0]
    assert memory.startswith("scope ") and "running total" in memory and "\\n" not in memory  # not a quoted str
    assert "backward() has since freed the arrays" in memory
    assert "<pre>scope" in data_of(outputs[2], "text/html")[0]
    long_html = data_of(outputs[3], "text/html")[0]
    assert long_html.count("\n") < 410 and re.search(r"\.\.\. [\d,]+ more lines: <code>print\(tape\)</code>", long_html)


def test_a_long_explorer_in_a_notebook_stays_small_and_a_huge_one_is_left_out_with_a_note(monkeypatch):
    u = unroll("lstm", steps=1000, values=64)
    page = tl.viz.explore(u.tape, u.backward(arrays=64))
    assert len(page.html) > 5 << 20  # the page itself
    cell = page._repr_html_()
    assert len(cell) < 1.5 * (1 << 20)  # what the notebook keeps: gzipped, about a sixth
    packed = re.search(r"atob\(&quot;([A-Za-z0-9+/=]+)&quot;\)", cell).group(1)
    assert gzip.decompress(base64.b64decode(packed)).decode() == page.html  # the whole page, unchanged
    monkeypatch.setattr(explore_module, "NOTEBOOK_CAP_BYTES", 100_000)
    note = page._repr_html_()
    assert "<iframe" not in note and len(note) < 1000
    assert f"explorer page of {page.steps:,} VJPs is 6." in note and "<code>page.save('bptt.html')</code>" in note


def test_the_packed_explorer_works_inside_a_notebook_cell_in_a_browser(browser, tmp_path, monkeypatch):
    from selenium.webdriver.common.keys import Keys

    from tests.test_explorer import console_errors, open_page, press

    monkeypatch.setattr(explore_module, "NOTEBOOK_PLAIN_BYTES", 0)  # pack even a small page
    u = unroll("lstm", steps=6, values=64)
    page = tl.viz.explore(u.tape, u.backward(arrays=64))
    cell = page._repr_html_()
    assert "DecompressionStream" in cell and "&lt;script" in cell and html.escape(page.html[:200]) not in cell
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body><h1>a notebook cell</h1>{cell}</body></html>")
    open_page(browser, host)
    browser.switch_to.frame(browser.find_element("tag name", "iframe"))
    try:
        browser.implicitly_wait(5)
        assert browser.find_element("id", "slider").get_attribute("max") == str(len(u.trace))
        browser.find_element("tag name", "body").click()
        press(browser, Keys.ARROW_RIGHT, 3)
        assert browser.find_element("id", "position").text == f"VJP 3 / {len(u.trace)}"
    finally:
        browser.implicitly_wait(0)
        browser.switch_to.default_content()
    assert console_errors(browser) == []


def test_progress_bars_only_on_a_terminal_or_as_notebook_widgets(monkeypatch):
    from tinygrad_lstm.demos import run

    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

        def write(self, text):
            pass

        def flush(self):
            pass

    monkeypatch.setattr("sys.stderr", Stream(False))
    assert run.progress_bar() is None  # redirected: no bar to run into the printed results
    monkeypatch.setattr("sys.stderr", Stream(True))
    assert run.progress_bar().__module__ == "tqdm.std"
