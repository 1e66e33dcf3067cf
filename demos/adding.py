"""The adding demo, the same as `tinygrad-lstm demo adding`.

Usage: `python demos/adding.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/adding.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "adding", *sys.argv[1:]]))
