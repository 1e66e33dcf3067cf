"""RTRL beside BPTT: three ways to get a recurrent net's gradient, on the same tanh RNN and task.

``python demos/rtrl.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo rtrl ...``;
its logic is tinygrad_lstm/demos/rtrl.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
