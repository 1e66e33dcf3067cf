"""The tour demo, the same as `tinygrad-lstm demo tour`.

Usage: `python demos/tour.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/tour.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "tour", *sys.argv[1:]]))
