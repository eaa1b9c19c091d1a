"""Multi-head self-attention ("Attention Is All You Need", §3.2), forward and backward.

Every position asks a question (its query), every position offers a key and a value; a
position's output is the average of the values weighted by how well its query matches each
key. With H heads the width d is split into H slices of d/H that attend independently. All
heads of all sequences run as one batched product over ``(n, H, t, d/H)`` arrays: no Python
loop over the batch or the heads.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from ..errors import BarenetError, ShapeError
from ..init import Uniform, XavierUniform
from ..parameter import Parameter
from ..sums import sum_over, sum_rows
from ..validation import as_generator, check_float_dtype, check_int, check_type
from .base import Layer, Shape


class AttentionCache(NamedTuple):
    """What the backward pass needs; ``weights`` is the attention picture, ``(n, H, t, t)``."""

    x: np.ndarray
    query: np.ndarray  # (n, H, t, d/H), already scaled by 1/√(d/H)
    key: np.ndarray
    value: np.ndarray
    weights: np.ndarray  # P = softmax(S), rows sum to 1
    context: np.ndarray  # the heads' outputs side by side, (n, t, d)


class MultiHeadAttention(Layer):
    """Self-attention with ``num_heads`` heads, PyTorch's ``nn.MultiheadAttention(embed_dim,
    num_heads, batch_first=True)`` called as ``attention(x, x, x)``::

        [Q K V] = X·W_inᵀ + b_in,  split into H heads of width d_h = d/H
        S = Q·Kᵀ/√d_h + M          M = −∞ above the diagonal when causal (position s sees only
                                   positions ≤ s), 0 otherwise
        P = softmax(S)             over the keys (the last axis)
        Y = concat_heads(P·V)·W_outᵀ + b_out

    ``forward_with_cache(x)[1].weights`` (or :meth:`attention_weights`) holds P for every head:
    PyTorch's ``need_weights=True, average_attn_weights=False``.

    Args:
        embed_dim: d, the width of the input and the output.
        num_heads: H; must divide d.
        causal: mask future positions, as a language model must.

    Parameters (PyTorch's shapes; names without the dot a file name cannot hold):
    ``in_proj_weight (3d, d)`` and ``in_proj_bias (3d,)`` (rows: query, key, value), and
    ``out_proj_weight (d, d)``, ``out_proj_bias (d,)`` for PyTorch's ``out_proj.weight`` and
    ``out_proj.bias``. Initialised as PyTorch does: Xavier-uniform ``in_proj_weight``,
    U(−1/√d, 1/√d) ``out_proj_weight``, zero biases.

    Shape:
        input ``(n, t, d)``, output ``(n, t, d)``; weights ``(n, H, t, t)``.
    """

    def __init__(self, embed_dim: int, num_heads: int, causal: bool = False,
                 rng: np.random.Generator | int | None = None, dtype: np.dtype | type = np.float32) -> None:
        self.embed_dim = check_int("embed_dim", embed_dim)
        self.num_heads = check_int("num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise BarenetError(f"num_heads ({num_heads}) must divide embed_dim ({embed_dim}): each head "
                               "gets an equal slice")
        check_type("causal", causal, bool, "True or False")
        self.causal = causal
        self.head_dim = self.embed_dim // self.num_heads
        rng, dtype, d = as_generator(rng), check_float_dtype(dtype), self.embed_dim
        bound = 1 / math.sqrt(d)
        self.in_proj_weight = Parameter(XavierUniform()((3 * d, d), d, 3 * d, rng, dtype), "in_proj_weight")
        self.in_proj_bias = Parameter(np.zeros(3 * d, dtype=dtype), "in_proj_bias", decay=False)
        self.out_proj_weight = Parameter(Uniform(-bound, bound)((d, d), d, d, rng, dtype), "out_proj_weight")
        self.out_proj_bias = Parameter(np.zeros(d, dtype=dtype), "out_proj_bias", decay=False)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.forward_with_cache(x, training=training)[0]

    def attention_weights(self, x: np.ndarray) -> np.ndarray:
        """P for every head, ``(n, H, t, t)``: row s says where position s looked."""
        return self.forward_with_cache(x)[1].weights

    def forward_with_cache(self, x: np.ndarray, *,
                           training: bool = False) -> tuple[np.ndarray, AttentionCache]:
        n, t, d = self._check_input(x)
        qkv = x.reshape(n * t, d) @ self.in_proj_weight.value.T
        qkv += self.in_proj_bias.value  # [Q K V] = X·W_inᵀ + b_in
        heads = qkv.reshape(n, t, 3, self.num_heads, self.head_dim).transpose(2, 0, 3, 1, 4)
        query = heads[0] * qkv.dtype.type(1 / math.sqrt(self.head_dim))  # Q/√d_h: fewer products than S/√d_h
        key, value = heads[1], heads[2]
        scores = query @ key.transpose(0, 1, 3, 2)  # S = Q·Kᵀ/√d_h, (n, H, t, t)
        if self.causal:
            scores += causal_mask(t, scores.dtype)  # S + M
        scores -= scores.max(axis=-1, keepdims=True)  # softmax, stable: exponents ≤ 0
        weights = np.exp(scores, out=scores)
        weights /= sum_over(weights, (-1,))  # P = softmax(S)
        context = (weights @ value).transpose(0, 2, 1, 3).reshape(n, t, d)  # heads side by side
        output = context.reshape(n * t, d) @ self.out_proj_weight.value.T
        output += self.out_proj_bias.value  # Y = context·W_outᵀ + b_out
        return output.reshape(n, t, d), AttentionCache(x, query, key, value, weights, context)

    def _check_input(self, x: np.ndarray) -> tuple[int, int, int]:
        if x.ndim != 3 or x.shape[2] != self.embed_dim or x.shape[1] == 0:
            raise ShapeError(f"MultiHeadAttention expects (n, t, {self.embed_dim}) with t ≥ 1; got {x.shape}")
        return x.shape

    def _backward(self, grad_output: np.ndarray, cache: AttentionCache) -> tuple[np.ndarray, np.ndarray]:
        """``(dY, d[Q K V])`` as rows ``(n·t, d)`` and ``(n·t, 3d)``."""
        x, query, key, value, weights, context = cache
        n, t, d = x.shape
        grad_y = grad_output.reshape(n * t, d)
        grad_context = grad_y @ self.out_proj_weight.value  # dcontext = dY·W_out
        grad_heads = grad_context.reshape(n, t, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
        grad_qkv = np.empty((n, t, 3, self.num_heads, self.head_dim), dtype=grad_context.dtype)
        into = grad_qkv.transpose(2, 0, 3, 1, 4)  # the same memory, seen head by head
        np.matmul(weights.transpose(0, 1, 3, 2), grad_heads, out=into[2])  # dV = Pᵀ·dO
        grad_scores = grad_heads @ value.transpose(0, 1, 3, 2)  # dP = dO·Vᵀ
        grad_scores -= np.einsum("...ij,...ij->...i", grad_scores, weights)[..., None]  # Σⱼ dP ⊙ P
        grad_scores *= weights  # dS = P ⊙ (dP − Σⱼ dP ⊙ P): softmax's backward, row by row
        np.matmul(grad_scores, key, out=into[0])  # dQ = dS·K/√d_h
        into[0] *= 1 / math.sqrt(self.head_dim)
        np.matmul(grad_scores.transpose(0, 1, 3, 2), query, out=into[1])  # dK = dSᵀ·Q/√d_h (query is Q/√d_h)
        return grad_y, grad_qkv.reshape(n * t, 3 * d)

    def _write_gradients(self, grad_y: np.ndarray, grad_qkv: np.ndarray, cache: AttentionCache) -> None:
        d = self.embed_dim
        context = cache.context.reshape(-1, d)
        np.matmul(grad_y.T, context, out=self.out_proj_weight.grad)  # dW_out = dYᵀ·context
        sum_rows(grad_y, out=self.out_proj_bias.grad)  # db_out = Σ dY
        np.matmul(grad_qkv.T, cache.x.reshape(-1, d), out=self.in_proj_weight.grad)  # dW_in = d[Q K V]ᵀ·X
        sum_rows(grad_qkv, out=self.in_proj_bias.grad)  # db_in = Σ d[Q K V]

    def backward(self, grad_output: np.ndarray, cache: AttentionCache) -> np.ndarray:
        grad_y, grad_qkv = self._backward(grad_output, cache)
        self._write_gradients(grad_y, grad_qkv, cache)
        return self._input_gradient(grad_qkv, cache)

    def backward_parameters(self, grad_output: np.ndarray, cache: AttentionCache) -> None:
        self._write_gradients(*self._backward(grad_output, cache), cache)

    def backward_input(self, grad_output: np.ndarray, cache: AttentionCache) -> np.ndarray:
        return self._input_gradient(self._backward(grad_output, cache)[1], cache)

    def _input_gradient(self, grad_qkv: np.ndarray, cache: AttentionCache) -> np.ndarray:
        return (grad_qkv @ self.in_proj_weight.value).reshape(cache.x.shape)  # dX = d[Q K V]·W_in

    def parameters(self) -> list[Parameter]:
        return [self.in_proj_weight, self.in_proj_bias, self.out_proj_weight, self.out_proj_bias]

    def config(self) -> dict:
        return {"embed_dim": self.embed_dim, "num_heads": self.num_heads, "causal": self.causal}

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[1] != self.embed_dim:
            raise ShapeError(f"MultiHeadAttention expects samples (t, {self.embed_dim}); got {shape}")
        return shape


@lru_cache(maxsize=16)
def causal_mask(length: int, dtype: np.dtype) -> np.ndarray:
    """M, ``(length, length)``: 0 on and below the diagonal, −∞ above (the future); made once
    per length and dtype, read-only."""
    mask = np.triu(np.full((length, length), -np.inf, dtype=dtype), k=1)
    mask.flags.writeable = False
    return mask
