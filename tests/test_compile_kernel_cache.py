"""Where tl.compile keeps its generated kernel modules, and how it writes them: mutation testing found
this code untested (with a warm cache every kernel is already on disk, so the writing never runs).
A module is plain Python here, so these tests need no numba."""

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

import numpy as np
import pytest

from tinygrad_lstm.compiler import kernels


def _source(value: float) -> str:
    # a new source each time (a uuid in a comment): never loaded before in this process
    return f"# {uuid.uuid4()}\ndef kernel(a):\n    return a + {value!r}\n"


def test_the_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_LSTM_CACHE", str(tmp_path / "mine"))
    assert kernels.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("TINYGRAD_LSTM_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernels.cache_dir() == tmp_path / "xdg" / "tinygrad_lstm" / "kernels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert kernels.cache_dir() == tmp_path / "home" / ".cache" / "tinygrad_lstm" / "kernels"


def test_a_kernel_module_is_written_once_whole_and_loaded_from_its_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TINYGRAD_LSTM_CACHE", str(tmp_path / "cache"))  # not there yet: made on first use
    source = _source(1.5)
    kernel = kernels.load(source)
    written = list((tmp_path / "cache").iterdir())
    assert len(written) == 1 and written[0].name.startswith("k_") and written[0].read_text() == source
    assert kernel(np.array([1.0])).tolist() == [2.5]
    assert kernels.load(source) is kernel  # loaded once per process
    stamp = written[0].stat().st_mtime_ns
    assert kernels._write(written[0].name, source) == written[0] and written[0].stat().st_mtime_ns == stamp


def test_a_module_file_with_other_text_is_rewritten_before_it_is_loaded(monkeypatch, tmp_path):
    # a file left half-written or edited by hand must not be imported as the kernel
    monkeypatch.setenv("TINYGRAD_LSTM_CACHE", str(tmp_path))
    source = _source(2.0)
    name = f"k_{hashlib.sha256(source.encode()).hexdigest()[:20]}.py"
    (tmp_path / name).write_text("def kernel(a):\n    return a * 0\n")
    assert kernels.load(source)(np.array([1.0])).tolist() == [3.0]
    assert (tmp_path / name).read_text() == source
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left behind


def test_an_unwritable_cache_falls_back_to_the_temporary_directory(monkeypatch, tmp_path):
    blocker = tmp_path / "a file, not a directory"
    blocker.write_text("")
    monkeypatch.setenv("TINYGRAD_LSTM_CACHE", str(blocker))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    source = _source(4.0)
    assert kernels.load(source)(np.array([1.0])).tolist() == [5.0]
    fallback = Path(tempfile.gettempdir()) / f"tinygrad_lstm_kernels_{os.getuid()}"
    assert fallback.parent == tmp_path / "tmp" and any(p.read_text() == source for p in fallback.iterdir())


def test_no_place_to_write_is_an_error_naming_the_cache(monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    monkeypatch.setenv("TINYGRAD_LSTM_CACHE", str(blocker))
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(blocker))
    with pytest.raises(OSError, match=r"compile: cannot write a kernel module in .*blocker"):
        kernels.load(_source(8.0))
