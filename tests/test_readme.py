"""Every python block of the README runs as written, as a script; a block the README says fails
fails with the error the README prints; what a `print(...)  # comment` says it prints, it prints."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCK = re.compile(r"```python\n(.*?)```(\n`python example.py` ends with:\n```\n(.*?)```)?", re.S)
BLOCKS = [(m.group(1), m.group(3)) for m in BLOCK.finditer(README)]
# `print(x)   # what it prints`; a trailing "..." means the output goes on
PRINTED = re.compile(r"^\s*print\(.*\)\s+# (.*?)(?: \.\.\.)?$", re.M)
DESCRIBED = {"the Wengert list, below"}  # a comment that describes the output rather than quoting it


def squeeze(text: str) -> str:
    return " ".join(text.split())


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5
    quoted = [said for code, _ in BLOCKS for said in PRINTED.findall(code) if said not in DESCRIBED]
    assert len(quoted) >= 5 and any(said.startswith("step     0: ||dL/dh_1||") for said in quoted), quoted


@pytest.mark.parametrize("k", range(len(BLOCKS)))
def test_readme_block_runs_as_written(tmp_path, k):
    code, expected_end = BLOCKS[k]
    (tmp_path / "example.py").write_text(code)
    done = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    if expected_end is None:
        assert done.returncode == 0, done.stderr[-2000:]
        for said in PRINTED.findall(code):
            if said not in DESCRIBED:
                assert squeeze(said) in squeeze(done.stdout), (said, done.stdout[-2000:])
    else:
        assert done.returncode != 0
        assert done.stderr.rstrip().endswith(expected_end.rstrip()), done.stderr[-1000:]
