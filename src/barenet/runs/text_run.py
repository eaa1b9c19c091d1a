"""What a text run adds to a run folder, beside the model, config.toml and history.csv:

    samples.txt     text the model writes at each evaluation, headed by the step and the loss
    history.png     training and validation loss against optimiser steps
    attention.png   every head of every layer on the first validation window (gpt)

and the pieces :func:`~barenet.runs.training_run.train_run` builds for text: the model
(:func:`barenet.gpt` or :func:`barenet.char_rnn`) and the scores (loss in nats per
character, perplexity, next-character accuracy).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from ..datasets.text import CharVocabulary
from ..layers import MultiHeadAttention, walk_layers
from ..model import Sequential, char_rnn, gpt
from ..model.generation import attention_maps, generate
from ..saving.atomic import write_atomic
from ..training import Callback, History, evaluate
from ..training.evaluation import evaluation_batch
from .data_sources import Data
from .text_plots import plot_attention, plot_text_history

SAMPLES_FILE, SAMPLE_LENGTH = "samples.txt", 200
HEADER = re.compile(r"^==== step (\d+) ", re.MULTILINE)


def build_text_model(config, vocabulary_size: int) -> Sequential:
    """The text model of ``config``: a GPT, or a char-rnn of LSTMs."""
    if config.model == "gpt":
        return gpt(vocabulary_size, config.context, config.layers, config.heads, config.width,
                   dropout=config.dropout, rng=config.seed, dtype=config.dtype)
    return char_rnn(vocabulary_size, config.width, layers=config.layers, context=config.context,
                    rng=config.seed, dtype=config.dtype)


def describe_text_model(config) -> str:
    """``gpt: 4 layers, 4 heads, width 128, context 64`` for the log."""
    if config.model == "gpt":
        shape = f"{config.layers} layers, {config.heads} heads, width {config.width}"
    else:
        shape = f"{config.layers} LSTM layer{'s' if config.layers > 1 else ''} of {config.width}"
    return f"{config.model}: {shape}, context {config.context}"


def text_scores(model: Sequential, x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Cross-entropy in nats per character (the mean over every position of every window),
    its perplexity exp(loss), and next-character accuracy."""
    scores = evaluate(model, x, y, loss="cross_entropy", batch_size=evaluation_batch(model))
    return {"loss": scores["loss"], "perplexity": math.exp(scores["loss"]), "accuracy": scores["accuracy"]}


def sample_prompt(vocabulary: CharVocabulary) -> str:
    """What samples start from: a line break (nanoGPT's), else the first character."""
    return "\n" if "\n" in vocabulary.characters else vocabulary.characters[0]


class TextSamples(Callback):
    """Write text the model generates after each evaluation into ``samples.txt``, each headed
    ``==== step N · validation loss L ====``. The same seed and step give the same text, and a
    resumed run keeps the samples of the steps its checkpoint holds, so the file ends as the
    uninterrupted run's would."""

    def __init__(self, path: str | Path, vocabulary: CharVocabulary, seed: int) -> None:
        self.path, self.vocabulary, self.seed = Path(path), vocabulary, seed
        self.blocks: list[str] = []

    def on_train_begin(self, trainer) -> None:
        text = self.path.read_text(encoding="utf-8") if self.path.is_file() and trainer.step else ""
        starts = [(match.start(), int(match.group(1))) for match in HEADER.finditer(text)]
        ends = [start for start, _ in starts[1:]] + [len(text)]
        self.blocks = [text[start:end] for (start, step), end in zip(starts, ends) if step <= trainer.step]

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None:
        prompt = sample_prompt(self.vocabulary)
        rng = np.random.default_rng([self.seed, trainer.step])
        written = "".join(generate(trainer.model, self.vocabulary, prompt, SAMPLE_LENGTH, rng=rng))
        loss = f" · validation loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
        self.blocks.append(f"==== step {trainer.step}{loss} ====\n{prompt.lstrip(chr(10))}{written}\n\n")
        write_atomic(self.path, "".join(self.blocks).encode("utf-8"))


def has_attention(model: Sequential) -> bool:
    return any(isinstance(layer, MultiHeadAttention) for _, layer in walk_layers(model.layers))


def draw_text_plots(folder: Path, model: Sequential, data: Data, history: History, config) -> list[Path]:
    """history.png, and attention.png for a model with attention (on the first validation window)."""
    written = [plot_text_history(history.history, config.eval_every, folder / "history.png",
                                 data.vocabulary.size)]
    if has_attention(model):
        window = data.x_test[0]
        written.append(plot_attention(attention_maps(model, window), data.vocabulary.decode(window),
                                      folder / "attention.png"))
    return written
