"""Fixtures shared by the test files."""

import shutil
import sys
from pathlib import Path

import pytest


def _renderers() -> list:
    """The system dot and the pip-installed graphviz-pure, each where this machine has it."""
    found = []
    for name, path in (("dot", shutil.which("dot")), ("graphviz-pure", Path(sys.executable).parent / "graphviz-pure")):
        usable = path is not None and Path(path).is_file()
        found.append(pytest.param(str(path), id=name, marks=pytest.mark.skipif(not usable, reason=f"no {name} here")))
    return found


@pytest.fixture(params=_renderers())
def renderer(request, monkeypatch):
    """Run the test with each renderer: the pictures must look the same with either."""
    monkeypatch.setenv("TINYGRAD_LSTM_DOT", request.param)
    return request.param


CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # this machine has no network: nothing may reach for one
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1600,1000",
)


def _browser_missing() -> str | None:
    """Why no browser test can run here, or None: Debian's chromium, its driver, and selenium."""
    for name in ("chromium", "chromedriver"):
        if shutil.which(name) is None:
            return f"no {name} on PATH (Debian: apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium from the system's packages, driven by selenium (never a downloaded browser)."""
    missing = _browser_missing()
    if missing:
        pytest.skip(f"browser tests need a real browser: {missing}")
    import tempfile

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")  # a fresh profile each time
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _compile_backends() -> list:
    from tinygrad_lstm.compiler import kernels

    missing = not kernels.available()
    numba = pytest.mark.skipif(missing, reason="numba is not installed (pip install '.[fast]')")
    return ["numpy", pytest.param("numba", marks=numba)]


@pytest.fixture(scope="module", params=_compile_backends())
def compile_backend(request):
    """Run a module's tests with tl.compile's default backend (backend=None) set to each: the NumPy
    replay, and the fused numba kernels where numba is installed. Both must give eager's bits."""
    from tinygrad_lstm.compiler import kernels

    with pytest.MonkeyPatch.context() as patch:
        if request.param == "numpy":
            patch.setattr(kernels, "available", lambda: False)
        yield request.param
