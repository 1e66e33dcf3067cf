"""A character-level LSTM language model trained with truncated BPTT.

``python demos/charlm.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo charlm ...``;
its logic is tinygrad_lstm/demos/charlm.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
