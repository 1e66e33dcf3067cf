"""Exploding gradients and clipping (Pascanu, Mikolov & Bengio 2013).

``python demos/exploding.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo exploding ...``;
its logic is tinygrad_lstm/demos/exploding.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
