"""Text from a character-level language model: sample it one character at a time, and look at
what it attends to.

    model = barenet.load("runs/gpt/model.npz")
    vocabulary = model_vocabulary(model)
    for character in generate(model, vocabulary, "ROMEO:", 200, temperature=0.8, top_k=40, rng=0):
        print(character, end="", flush=True)

Sampling is nanoGPT's ``generate`` loop: crop the text to the model's context (its last
``context`` characters), take the scores of the last position, divide them by the
temperature, keep the ``top_k`` largest, softmax, draw one character, append it, repeat.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..datasets.errors import DatasetError
from ..datasets.text import CharVocabulary
from ..errors import ModelFileError
from ..layers import MultiHeadAttention, Residual
from ..validation import as_generator, check_int, check_number
from .sequential import Sequential

DEFAULT_TEMPERATURE, DEFAULT_TOP_K = 0.8, 40


def model_vocabulary(model: Sequential, source: str = "the model") -> CharVocabulary:
    """The characters a text model was trained on (its metadata's ``vocabulary``)."""
    stored = model.metadata.get("vocabulary") if isinstance(model.metadata, dict) else None
    if stored is None:
        raise ModelFileError(f"{source} holds no vocabulary: it is not a text model (train one with "
                             "barenet train --dataset tinyshakespeare or --dataset text:PATH)")
    try:
        vocabulary = CharVocabulary.from_dict(stored)
    except DatasetError as error:
        raise ModelFileError(f"{source}: metadata.vocabulary is damaged ({error})") from None
    if vocabulary.size != model.output_shape[-1]:
        raise ModelFileError(f"{source}: the vocabulary has {vocabulary.size} characters but the model "
                             f"scores {model.output_shape[-1]}; the file is damaged")
    return vocabulary


def context_length(model: Sequential) -> int:
    """The longest text the model reads at once (its ``input_shape``)."""
    return int(model.input_shape[0])


def next_character_probabilities(model: Sequential, ids: np.ndarray) -> np.ndarray:
    """P(next character | ids), float64 ``(vocabulary,)``, read from the last ``context`` ids."""
    window = np.asarray(ids, dtype=np.int64)[-context_length(model):]
    scores = model.forward(window[None], logits=True)[0, -1].astype(np.float64)
    probabilities = np.exp(scores - scores.max())  # softmax, stable
    return probabilities / probabilities.sum()


def sampling_distribution(probabilities: np.ndarray, temperature: float, top_k: int | None) -> np.ndarray:
    """``softmax(log p / temperature)`` over the ``top_k`` likeliest characters (all if None)."""
    with np.errstate(divide="ignore"):
        scores = np.log(probabilities) / temperature  # logits / T (log p differs from them by a constant)
    if top_k is not None and top_k < len(scores):
        threshold = np.partition(scores, -top_k)[-top_k]
        scores = np.where(scores < threshold, -np.inf, scores)  # keep the k largest (and ties)
    weights = np.exp(scores - scores.max())
    return weights / weights.sum()


def encode_prompt(vocabulary: CharVocabulary, prompt: str) -> np.ndarray:
    """The prompt's ids; an empty prompt or characters outside the vocabulary are refused,
    naming them."""
    if not isinstance(prompt, str) or not prompt:
        raise DatasetError("the prompt is empty; give at least one character the model knows")
    return vocabulary.encode(prompt)


def generate(
    model: Sequential,
    vocabulary: CharVocabulary,
    prompt: str,
    length: int,
    temperature: float = DEFAULT_TEMPERATURE,
    top_k: int | None = DEFAULT_TOP_K,
    rng: np.random.Generator | int | None = None,
) -> Iterator[str]:
    """Yield ``length`` characters, one at a time, that the model writes after ``prompt``.

    The arguments are checked when this is called, before the first character is asked for.

    Args:
        prompt: at least one character, all of them in the vocabulary (others are named).
        temperature: > 0; below 1 sharpens the distribution (safer text), above 1 flattens it.
        top_k: draw only among the k likeliest characters (None: among all).
        rng: a generator or seed; the same seed gives the same text.
    """
    ids = list(encode_prompt(vocabulary, prompt))
    length = check_int("length", length, low=0)
    temperature = check_number("temperature", temperature, low=0.0, low_open=True)
    if top_k is not None:
        top_k = check_int("top_k", top_k, low=1)
    return _sample(model, vocabulary, ids, length, temperature, top_k, as_generator(rng))


def _sample(model: Sequential, vocabulary: CharVocabulary, ids: list[int], length: int,
            temperature: float, top_k: int | None, rng: np.random.Generator) -> Iterator[str]:
    context = context_length(model)
    for _ in range(length):
        weights = sampling_distribution(next_character_probabilities(model, np.array(ids[-context:])),
                                        temperature, top_k)
        choice = int(rng.choice(len(weights), p=weights))
        ids.append(choice)
        yield vocabulary.characters[choice]


def attention_maps(model: Sequential, ids: np.ndarray) -> list[np.ndarray]:
    """Every attention layer's weights for one text (its last ``context`` ids), first layer
    first: each ``(heads, t, t)``, row s saying where position s looked. Empty for a model
    without attention (a recurrent one). Prediction mode; nothing is stored on the model."""
    window = np.asarray(ids, dtype=np.int64)[-context_length(model):][None]
    maps: list[np.ndarray] = []
    _forward_noting_attention(model.layers, window, maps)
    return maps


def _forward_noting_attention(layers: list, x: np.ndarray, maps: list[np.ndarray]) -> np.ndarray:
    """The layers' forward pass, appending each attention layer's weights to ``maps``."""
    for layer in layers:
        if isinstance(layer, MultiHeadAttention):
            maps.append(layer.attention_weights(x)[0])
        if isinstance(layer, Residual):
            x = x + _forward_noting_attention(layer.layers, x, maps)  # Y = X + f(X)
        else:
            x = layer.forward(x)
    return x
