"""The variants demo, the same as `tinygrad-lstm demo variants`.

Usage: `python demos/variants.py [--quick] [--seed S] [--out DIR]`.

The logic lives in `tinygrad_lstm/demos/variants.py`.
"""

import sys

from tinygrad_lstm.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", "variants", *sys.argv[1:]]))
