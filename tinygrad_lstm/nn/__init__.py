"""Layers with PyTorch's names, parameter names and weight layouts, composed from primitives."""

from . import functional, init, utils
from .activation import (
    ELU,
    GELU,
    Hardtanh,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from .cells import GREFF_VARIANTS, VARIANTS, GRUCell, LSTMCell, LSTMVariant, RNNCell
from .containers import ModuleDict, ModuleList, Sequential
from .flatten import Flatten, Unflatten
from .hooks import (
    RemovableHandle,
    register_module_forward_hook,
    register_module_forward_pre_hook,
    register_module_full_backward_hook,
    register_module_full_backward_pre_hook,
)
from .layers import Dropout, Embedding, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter
from .normalization import LayerNorm
from .recurrent import GRU, LSTM, RNN

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "HuberLoss",
    "KLDivLoss",
    "L1Loss",
    "SmoothL1Loss",
    "ELU",
    "GELU",
    "Hardtanh",
    "LeakyReLU",
    "SiLU",
    "Softplus",
    "CrossEntropyLoss",
    "Identity",
    "LogSoftmax",
    "MSELoss",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "GREFF_VARIANTS",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LSTMVariant",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "RemovableHandle",
    "Unflatten",
    "register_module_forward_hook",
    "register_module_forward_pre_hook",
    "register_module_full_backward_hook",
    "register_module_full_backward_pre_hook",
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
