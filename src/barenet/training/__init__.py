"""Training: the loop, its history, callbacks, checkpoints and the safeguards around it.

Nothing here imports the model: the trainer works with any object that has the model's
methods, so :mod:`barenet.model` can offer ``model.fit`` without an import circle.
"""

from ..errors import DivergenceError
from .callbacks import Callback, EarlyStopping, HistoryLogger, ModelCheckpoint
from .checkpoints import load_checkpoint, read_checkpoint, save_checkpoint
from .evaluation import check_data, class_ids, default_loss, evaluate
from .history import BatchResult, History, TrainingInterrupted, TrainingWarning
from .trainer import Trainer, fit

__all__ = [
    "BatchResult", "Callback", "DivergenceError", "EarlyStopping", "History", "HistoryLogger",
    "ModelCheckpoint", "Trainer", "TrainingInterrupted", "TrainingWarning", "check_data", "class_ids",
    "default_loss", "evaluate", "fit", "load_checkpoint", "read_checkpoint", "save_checkpoint",
]
