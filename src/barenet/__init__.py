"""barenet: neural networks in bare NumPy, every forward and backward pass written by hand."""

from .allocator import reuse_freed_memory
from .errors import BarenetError, DatasetError, DivergenceError, ModelFileError, ShapeError
from .gradcheck import GradcheckResult, gradcheck
from .layers import (
    GELU,
    GRU,
    LSTM,
    RNN,
    AvgPool2D,
    BatchNorm1D,
    BatchNorm2D,
    Conv2D,
    Dense,
    Dropout,
    Embedding,
    Flatten,
    GlobalAvgPool2D,
    Identity,
    Layer,
    LayerNorm,
    LeakyReLU,
    MaxPool2D,
    MultiHeadAttention,
    PositionalEmbedding,
    ReLU,
    Rescale,
    Reshape,
    Residual,
    Sigmoid,
    Softmax,
    Standardize,
    Tanh,
)
from .model import Sequential, Tape, char_rnn, cnn, gpt, lenet5, load, mlp
from .training import (
    Callback,
    EarlyStopping,
    History,
    HistoryLogger,
    ModelCheckpoint,
    Trainer,
    TrainingInterrupted,
    TrainingWarning,
    evaluate,
    fit,
    load_checkpoint,
    save_checkpoint,
)

__version__ = "0.2.0"

__all__ = [
    "BarenetError", "Callback", "DatasetError", "Dense", "DivergenceError", "Dropout", "EarlyStopping",
    "GradcheckResult", "History", "HistoryLogger", "Identity", "Layer", "LeakyReLU", "ModelCheckpoint",
    "ModelFileError", "ReLU", "Rescale", "Sequential", "ShapeError", "Sigmoid", "Softmax", "Standardize",
    "Tanh", "Tape", "Trainer", "TrainingInterrupted", "TrainingWarning", "evaluate", "fit", "gradcheck",
    "load", "load_checkpoint", "mlp", "save_checkpoint",
    "AvgPool2D", "BatchNorm1D", "BatchNorm2D", "Conv2D", "Flatten", "GlobalAvgPool2D", "LayerNorm",
    "MaxPool2D", "Reshape", "cnn", "lenet5",
    "GELU", "GRU", "LSTM", "RNN", "Embedding", "MultiHeadAttention", "PositionalEmbedding", "Residual",
    "char_rnn",
    "gpt",
    "reuse_freed_memory",
]
