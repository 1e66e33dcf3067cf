"""Greff et al. 2015 ("LSTM: A Search Space Odyssey") in miniature, on the adding problem.

``python demos/variants.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo variants ...``;
its logic is tinygrad_lstm/demos/variants.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
