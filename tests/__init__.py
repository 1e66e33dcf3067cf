"""The test suite: fixtures in conftest.py; shared cases and helpers in shapes.py, programs.py and
pictures.py, imported by their package path."""
