"""Models: a stack of layers, the recipes that build one, and model files."""

from .builders import mlp
from .files import load, model_from_description
from .sequential import TASKS, BatchResult, Sequential, Tape

__all__ = ["TASKS", "BatchResult", "Sequential", "Tape", "load", "mlp", "model_from_description"]
