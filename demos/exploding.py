"""The exploding demo: `python demos/exploding.py [--quick] [--seed S] [--out DIR]` (same as `tinygrad-lstm demo exploding`).

The logic lives in `tinygrad_lstm/demos/exploding.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "exploding", *sys.argv[1:]]))
