"""The rtrl demo, the same as `tinygrad-lstm demo rtrl`.

Usage: `python demos/rtrl.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/rtrl.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "rtrl", *sys.argv[1:]]))
