"""The tour: a tiny LSTM learns in seconds, then we look inside.

``python demos/tour.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo tour ...``;
its logic is tinygrad_lstm/demos/tour.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
