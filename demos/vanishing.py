"""Vanishing gradients at initialisation: ||dL/dh_{T-k}|| / ||dL/dh_T|| against k.

``python demos/vanishing.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo vanishing ...``;
its logic is tinygrad_lstm/demos/vanishing.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
