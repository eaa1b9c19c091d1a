"""A GPT from scratch: ``gpt(vocab_size=65)`` is nanoGPT's "baby GPT" for characters.

Token and position embeddings, then ``layers`` pre-LayerNorm transformer blocks, each two
residual branches — causal multi-head self-attention, and a 4×-wide MLP with GELU — then a
final LayerNorm and the output layer that scores every character of the vocabulary at every
position. Every piece is a layer a user already knows: the block is two :class:`Residual`\\ s.
"""

from __future__ import annotations

import math

import numpy as np

from ..init import Normal
from ..layers import (
    GELU,
    Dense,
    Dropout,
    Embedding,
    Layer,
    LayerNorm,
    MultiHeadAttention,
    PositionalEmbedding,
    Residual,
    Softmax,
)
from ..validation import as_generator, check_float_dtype, check_int, check_number
from .sequential import Sequential

INIT_STD = 0.02
"""GPT-2's initialisation: every weight matrix N(0, 0.02²), biases zero."""


def gpt(
    vocab_size: int,
    context: int = 64,
    layers: int = 4,
    heads: int = 4,
    width: int = 128,
    dropout: float = 0.0,
    rng: np.random.Generator | int | None = None,
    dtype: np.dtype | type = np.float32,
) -> Sequential:
    """A decoder-only transformer that predicts the next token at every position.

    The defaults are nanoGPT's baby GPT for tiny Shakespeare (4 layers, 4 heads, 128 wide,
    context 64: 0.8 M parameters for 65 characters).

    Args:
        vocab_size: how many distinct tokens (the embedding's rows and the output's width).
        context: the longest sequence the model reads (the position table's rows).
        layers: transformer blocks.
        heads: attention heads per block; must divide ``width``.
        width: the embedding width d, kept through every block (the MLP is 4·d wide inside).
        dropout: the probability of dropping after the embeddings and at the end of each
            residual branch (0 for the baby GPT).
        rng: generator or seed for the initial weights.

    Initialisation as GPT-2: weights N(0, 0.02²) — the two projections that end a residual
    branch with std 0.02/√(2·layers), so the residual stream's variance does not grow with
    depth — biases zero, LayerNorm γ = 1, β = 0. Where nanoGPT differs: its output layer
    shares the token embedding's matrix and has no bias; here the output layer is a Dense of
    its own (8,385 more parameters for 65 tokens), and GELU is GPT-2's tanh form.

    Shape:
        input ``(n, t)`` token ids with ``t ≤ context``; output ``(n, t, vocab_size)``
        probabilities (``logits=True``: the scores before the softmax).
    """
    vocab_size, context = check_int("vocab_size", vocab_size), check_int("context", context)
    layers, heads, width = check_int("layers", layers), check_int("heads", heads), check_int("width", width)
    dropout = check_number("dropout", dropout, 0.0, 1.0, high_open=True)
    rng, dtype = as_generator(rng), check_float_dtype(dtype)
    weights, branch_end = Normal(std=INIT_STD), Normal(std=INIT_STD / math.sqrt(2 * layers))
    drop = [Dropout(dropout, rng=rng)] if dropout else []

    stack: list[Layer] = [
        Embedding(vocab_size, width, init=weights, rng=rng, dtype=dtype),
        PositionalEmbedding(context, width, init=weights, rng=rng, dtype=dtype),
        *drop,
    ]
    for _ in range(layers):
        attention = MultiHeadAttention(width, heads, causal=True, rng=rng, dtype=dtype)
        attention.in_proj_weight.value = weights((3 * width, width), width, 3 * width, rng, dtype)
        attention.out_proj_weight.value = branch_end((width, width), width, width, rng, dtype)
        stack.append(Residual(LayerNorm(width, dtype=dtype), attention, *_fresh(drop, rng)))
        stack.append(Residual(
            LayerNorm(width, dtype=dtype),
            Dense(width, 4 * width, init=weights, rng=rng, dtype=dtype),
            GELU(approximate="tanh"),
            Dense(4 * width, width, init=branch_end, rng=rng, dtype=dtype),
            *_fresh(drop, rng),
        ))
    stack += [
        LayerNorm(width, dtype=dtype),
        Dense(width, vocab_size, init=weights, rng=rng, dtype=dtype),
        Softmax(),
    ]
    return Sequential(stack, task="classification", input_shape=(context,))


def _fresh(drop: list[Dropout], rng: np.random.Generator) -> list[Dropout]:
    """A new Dropout layer for each place (none when dropout is off)."""
    return [Dropout(layer.p, rng=rng) for layer in drop]
