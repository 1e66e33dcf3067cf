"""Layers with PyTorch's names, parameter names and weight layouts, composed from primitives."""

from . import functional, init, utils
from .cells import GREFF_VARIANTS, VARIANTS, GRUCell, LSTMCell, LSTMVariant, RNNCell
from .layers import Dropout, Embedding, Linear
from .module import Module, Parameter
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "GREFF_VARIANTS",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LSTMVariant",
    "Dropout",
    "Embedding",
    "Linear",
    "Module",
    "Parameter",
    "RNN",
    "RNNCell",
    "VARIANTS",
    "functional",
    "init",
    "utils",
]
