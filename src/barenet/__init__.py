"""barenet: neural networks in bare NumPy, every forward and backward pass written by hand."""

from .callbacks import Callback, EarlyStopping, HistoryLogger, ModelCheckpoint
from .checkpoints import load_checkpoint, save_checkpoint
from .gradcheck import GradcheckResult, gradcheck
from .layers import Dense, Dropout, Identity, LeakyReLU, ReLU, Rescale, Sigmoid, Softmax, Standardize, Tanh
from .model import Sequential, mlp
from .saving import ModelFileError, load
from .training import DivergenceError, History, Trainer, TrainingInterrupted, TrainingWarning, evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "Callback", "Dense", "DivergenceError", "Dropout", "EarlyStopping", "GradcheckResult", "History",
    "HistoryLogger", "Identity", "LeakyReLU", "ModelCheckpoint", "ModelFileError", "ReLU", "Rescale",
    "Sequential", "Sigmoid", "Softmax", "Standardize", "Tanh", "Trainer", "TrainingInterrupted",
    "TrainingWarning", "evaluate", "fit", "gradcheck", "load", "load_checkpoint", "mlp", "save_checkpoint",
]
