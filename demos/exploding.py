"""The exploding demo, the same as `tinygrad-lstm demo exploding`.

Usage: `python demos/exploding.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/exploding.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "exploding", *sys.argv[1:]]))
