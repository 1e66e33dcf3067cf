"""The test suite: fixtures in conftest.py; shared helpers and cases in helpers.py, shapes.py,
programs.py and pictures.py, imported by their package path."""
