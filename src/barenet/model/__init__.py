"""Models: a stack of layers, the recipes that build one, and model files."""

from .builders import mlp
from .char_rnn import char_rnn
from .cnn import cnn, lenet5
from .files import load, model_from_description
from .gpt import gpt
from .sequential import TASKS, BatchResult, Sequential, Tape

__all__ = [
    "TASKS", "BatchResult", "Sequential", "Tape", "char_rnn", "cnn", "gpt", "lenet5", "load", "mlp",
    "model_from_description",
]
