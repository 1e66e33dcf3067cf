"""The adding problem (Hochreiter & Schmidhuber 1997): remember two marked numbers across T steps.

``python demos/adding.py [--quick] [--seed S] [--out DIR] ...`` is ``tinygrad-lstm demo adding ...``;
its logic is tinygrad_lstm/demos/adding.py, and ``--help`` lists its options.
"""

from tinygrad_lstm.demos import script

script(__file__)
