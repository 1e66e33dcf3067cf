"""The import graph runs downward: the engine knows nothing of instruments, compile, nn or pictures;
instruments know nothing of pictures; layers and optimizers know nothing of the compiler (they report
to the engine's hook point, ``tape.state.guards``). Read from the source with ``ast``, so a lazy import
inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_lstm"
ENGINE = {
    "tape", "tensor", "ops", "backward", "versions", "function", "checkpoint", "primitives",
    "dtypes", "blas", "random", "checks", "arguments", "linalg", "devices",
}  # fmt: skip
# what each part may import from the package (besides itself)
ALLOWED = {
    "engine": ENGINE,
    "instruments": ENGINE | {"instruments"},
    "nn": ENGINE | {"nn"},
    "optim": ENGINE | {"optim"},
}


def _part(module: str) -> str:
    """'tinygrad_lstm.ops' -> 'ops'; 'tinygrad_lstm.primitives.reduce' -> 'primitives'."""
    return module.split(".")[1] if module.count(".") else ""


def _imports(path: Path) -> set[str]:
    """The package modules ``path`` imports, as absolute dotted names."""
    return _imported(path.read_text(), _module(path), path.name == "__init__.py")


def _imported(source: str, module: str, is_package: bool) -> set[str]:
    package = module if is_package else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
            if target.startswith("tinygrad_lstm"):
                found.update([target] if node.module else [f"{target}.{a.name}" for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tinygrad_lstm"))
    return found


def _files(part: str) -> list[Path]:
    if part == "engine":
        return [p for p in PACKAGE.rglob("*.py") if _part(_module(p)) in ENGINE]
    return sorted((PACKAGE / part).rglob("*.py"))


def _module(path: Path) -> str:
    return "tinygrad_lstm." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_lies_below_it(part):
    files = _files(part)
    assert files
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {target}"
        for path in files
        for target in _imports(path)
        if _part(target) not in ALLOWED[part]
    }
    assert not wrong, sorted(wrong)


def test_no_engine_file_mentions_the_compiler():
    mentions = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in _files("engine")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "compil" in line.lower()
    ]
    assert not mentions, mentions


def test_the_reader_sees_lazy_and_relative_imports():
    """A mutation of the reader that misses these must fail here, not silently pass the tests above."""
    source = "import numpy\nfrom . import ops\ndef f():\n    from ..viz.reach import reach_map\n    from ... import x\n"
    found = _imported(source, "tinygrad_lstm.instruments.reach", False)
    assert found == {"tinygrad_lstm.instruments.ops", "tinygrad_lstm.viz.reach", "tinygrad_lstm.x"}
    assert _part("tinygrad_lstm.viz.reach") == "viz" and _part("tinygrad_lstm.ops") == "ops"


# Test files the mutation run leaves out, and why: a new test file must be put in the selection
# (pyproject.toml, [tool.mutmut]) or here, since a mutant that only an unselected file would kill survives
NOT_MUTATION_TESTS = {
    "tests/test_architecture.py": "the import graph, no values",
    "tests/test_blas.py": "thread pools and timings of the BLAS layer, not the mutated files",
    "tests/test_cli.py": "the command line (subprocesses)",
    "tests/test_compile_without_numba.py": "a subprocess without numba",
    "tests/test_demos.py": "the demos' claims, minutes of training",
    "tests/test_docs.py": "doctests of every module",
    "tests/test_explorer.py": "the HTML explorer and the browser",
    "tests/test_explorer_memory.py": "the explorer's memory strip",
    "tests/test_first_hour.py": "the tour and notebooks a student runs first",
    "tests/test_instruments.py": "instruments, not the mutated files",
    "tests/test_lr_scheduler.py": "optim/, not mutated",
    "tests/test_notebook.py": "a real Jupyter kernel",
    "tests/test_optimizers.py": "optim/, not mutated",
    "tests/test_reach.py": "the reach demo",
    "tests/test_readme.py": "the README's code blocks",
    "tests/test_trust_threads.py": "threads, timing-sensitive",
    "tests/test_viz.py": "pictures",
    "tests/test_viz_belt.py": "pictures",
    "tests/test_viz_truth.py": "pictures against the tape",
}


def test_every_test_file_is_in_the_mutation_selection_or_left_out_with_a_reason():
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]
    selected = set(config["pytest_add_cli_args_test_selection"])
    files = {f"tests/{p.name}" for p in (root / "tests").glob("test_*.py")}
    undecided = sorted(files - selected - set(NOT_MUTATION_TESTS))
    where = "in [tool.mutmut]'s test selection, or in NOT_MUTATION_TESTS with a reason"
    assert not undecided, f"put these {where}: {undecided}"
    assert not (selected & set(NOT_MUTATION_TESTS)) and selected <= files


def test_nn_reads_values_through_the_guarded_path():
    """Layers and losses read a tensor's values in Python through ``ops._values`` (``_concrete``), which
    refuses, while tl.compile records, a value the step computes; ``ops._data`` is the engine's own
    unguarded read, and nn's reads through it were baked into replays (class targets)."""
    found = [
        f"{path.relative_to(PACKAGE)}:{n}"
        for path in _files("nn")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "_data(" in line and "def _data" not in line
    ]
    assert not found, found
