"""A character-level recurrent language model, char-rnn style: ``char_rnn(65, 256)``."""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError
from ..layers import GRU, LSTM, RNN, Dense, Embedding, Layer, Softmax
from ..validation import as_generator, check_float_dtype, check_int
from .sequential import Sequential

CELLS = {"lstm": LSTM, "gru": GRU, "rnn": RNN}


def char_rnn(
    vocab_size: int,
    hidden_size: int = 256,
    embedding_dim: int | None = None,
    layers: int = 1,
    cell: str = "lstm",
    context: int = 100,
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """Embedding → ``layers`` recurrent layers → Dense → Softmax, predicting the next character
    at every position (Karpathy's char-rnn).

    Args:
        vocab_size: how many distinct characters (the embedding's rows and the output's width).
        hidden_size: the recurrent state's width.
        embedding_dim: the width of each character's vector (``hidden_size`` by default).
        layers: recurrent layers stacked one on another.
        cell: "lstm" (default), "gru" or "rnn".
        context: the sequence length the model is described with (``summary()``, the model
            file); it reads sequences of any length.

    Train it with cross-entropy on the logits (``(n, t, vocab_size)`` against ``(n, t)`` next
    characters); ``predict_proba`` gives the next-character distribution at every position.
    """
    vocab_size = check_int("vocab_size", vocab_size)
    hidden_size = check_int("hidden_size", hidden_size)
    width = hidden_size if embedding_dim is None else check_int("embedding_dim", embedding_dim)
    if cell not in CELLS:
        raise BarenetError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
    rng, dtype = as_generator(rng), check_float_dtype(dtype)
    stack: list[Layer] = [Embedding(vocab_size, width, init="xavier_uniform", rng=rng, dtype=dtype)]
    for index in range(check_int("layers", layers)):
        stack.append(CELLS[cell](width if index == 0 else hidden_size, hidden_size, rng=rng, dtype=dtype))
    stack += [Dense(hidden_size, vocab_size, rng=rng, dtype=dtype), Softmax()]
    return Sequential(stack, task="classification", input_shape=(check_int("context", context),))
