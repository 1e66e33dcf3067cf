"""The vanishing demo, the same as `tinygrad-lstm demo vanishing`.

Usage: `python demos/vanishing.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/vanishing.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "vanishing", *sys.argv[1:]]))
