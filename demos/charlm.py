"""The charlm demo, the same as `tinygrad-lstm demo charlm`.

Usage: `python demos/charlm.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/charlm.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "charlm", *sys.argv[1:]]))
