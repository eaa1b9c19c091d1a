"""Normalisation layers: batch normalisation (PyTorch's semantics) and layer normalisation.

Each one standardises its input, ``x̂ = (x − μ) / √(σ² + ε)``, then applies a learned affine
map ``y = γ ⊙ x̂ + β``. They differ in *which* values share a μ and σ²: batch norm pools each
feature (or channel) over the batch (and the image), layer norm pools each sample over its
own features. Both backward passes are the same formula over the pooled axes::

    dX = (dX̂ − mean(dX̂) − X̂ ⊙ mean(dX̂ ⊙ X̂)) / √(σ² + ε),  with dX̂ = dY ⊙ γ
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..blocks import channel_blocks
from ..errors import BarenetError, ShapeError
from ..parameter import Parameter
from ..sums import mean_over, sum_rows
from ..validation import check_float_dtype, check_int, check_number
from .base import Layer, Shape


def standardize(x: np.ndarray, mean: np.ndarray, variance: np.ndarray, eps: float) -> tuple:
    """``(x̂, 1/√(σ² + ε))`` for statistics already shaped to broadcast against ``x``."""
    inverse_std = 1.0 / np.sqrt(variance + eps)
    return (x - mean) * inverse_std, inverse_std  # X̂ = (X − μ) / √(σ² + ε)


class Standardized(NamedTuple):
    """What :func:`standardize_over` computes; ``spare`` is an array of ``x``'s shape that the
    caller owns and may overwrite (it held the squares)."""

    xhat: np.ndarray
    inverse_std: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    spare: np.ndarray


def standardize_over(x: np.ndarray, axes: tuple[int, ...], eps: float,
                     out: np.ndarray | None = None) -> Standardized:
    """x̂ = (x − mean) / √(var + ε) with the statistics of ``x`` over ``axes``, centring once:
    the variance is the mean of the centred squares, as ``x.var`` computes it, without
    ``x.var`` centring ``x`` a second time. The means are :func:`~barenet.sums.mean_over`'s:
    NumPy's own (bit for bit ``x.var``) for batch norm, products with ones for the rows of
    layer norm (to round-off). x̂ is written into ``out`` when given."""
    mean = mean_over(x, axes)
    xhat = np.subtract(x, mean, out=out)
    squares = np.multiply(xhat, xhat)
    variance = mean_over(squares, axes)  # σ² = mean((X − μ)²)
    inverse_std = 1.0 / np.sqrt(variance + eps)
    xhat *= inverse_std  # X̂ = (X − μ) / √(σ² + ε), in place on our own difference
    return Standardized(xhat, inverse_std, mean, variance, squares)


def standardized_input_gradient(grad_xhat: np.ndarray, xhat: np.ndarray, inverse_std: np.ndarray,
                                axes: tuple[int, ...]) -> np.ndarray:
    """∂loss/∂x through ``x̂ = (x − mean(x)) / √(var(x) + ε)`` with statistics pooled over ``axes``.

    ``grad_xhat`` is the caller's own product (``dY ⊙ γ``) and becomes the result, in place."""
    projection = grad_xhat * xhat
    along_xhat = mean_over(projection, axes)
    grad_xhat -= mean_over(grad_xhat, axes)
    grad_xhat -= np.multiply(xhat, along_xhat, out=projection)  # projection's memory, reused
    grad_xhat *= inverse_std  # dX = (dX̂ − mean(dX̂) − X̂ ⊙ mean(dX̂ ⊙ X̂)) / σ
    return grad_xhat


class _BatchNorm(Layer):
    """Batch normalisation over every axis but the feature (channel) axis 1.

    While training (``forward_with_cache(x, training=True)``) each feature is standardised
    with the batch's mean and *biased* variance, and the running statistics move towards them:
    ``running ← (1 − momentum)·running + momentum·batch``, the variance *unbiased*
    (× m/(m−1), m values per feature), as PyTorch does. Prediction (``forward(x)``, or
    ``forward_with_cache(x)``) uses the running statistics, so it is a fixed affine map.
    ``forward(x, training=True)`` uses the batch's statistics and updates nothing.

    This is the one exception to "a layer keeps nothing between calls": the running
    statistics are buffers of the layer (saved with the model), and the training pass moves
    them in place. Prediction still only reads them.

    When a batch is split into shards on threads (``workers``, :mod:`barenet.training.parallel`),
    each shard's copy of the layer holds ``shards``, its link to the other shards, for the
    length of the step: the statistics are still the whole batch's (each shard adds its sums
    to the others'), so every shard normalises as one pass over the whole batch would.
    """

    sample_dimensions = 1  # how many axes one sample has: 1 for (features,), 3 for (channels, h, w)
    shards = None  # while a batch is split across threads: the link that adds up the shards' sums

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: np.dtype | type = np.float32) -> None:
        self.num_features = check_int("num_features", num_features)
        self.momentum = check_number("momentum", momentum, 0.0, 1.0)
        self.eps = check_number("eps", eps, 0.0, low_open=True)
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.ones(self.num_features, dtype=dtype), "weight", decay=False)  # γ
        self.bias = Parameter(np.zeros(self.num_features, dtype=dtype), "bias", decay=False)  # β
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return (0, *range(2, x.ndim))

    def _per_feature(self, values: np.ndarray) -> np.ndarray:
        """A ``(features,)`` vector shaped to broadcast against a batch: ``(F,)`` or ``(C, 1, 1)``."""
        return values.reshape(-1, *([1] * (self.sample_dimensions - 1)))

    def _running_standardized(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x̂, 1/√(running σ² + ε))``: the fixed map of prediction."""
        return standardize(x, self._per_feature(self.running_mean), self._per_feature(self.running_var),
                           self.eps)

    def _affine(self, xhat: np.ndarray, out: np.ndarray, features: slice = slice(None)) -> np.ndarray:
        output = np.multiply(xhat, self._per_feature(self.weight.value[features]), out=out)
        output += self._per_feature(self.bias.value[features])  # Y = γ·X̂ + β, in place on our own array
        return output

    def _count(self, x: np.ndarray) -> int:
        """m, the values per feature in the batch (in every shard, when it is split)."""
        count = x.size // self.num_features
        return count if self.shards is None else count // len(x) * self.shards.batch_size

    def _train(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(Y, X̂, mean, σ², 1/√(σ² + ε))`` with the batch's statistics, a group of channels at a
        time when the batch is barenet's images (:func:`~barenet.blocks.channel_blocks`): a
        channel's statistics need only its own values, so a group's passes run in the cache."""
        if self._count(x) < 2:
            raise BarenetError(
                f"{type(self).__name__} needs more than one value per feature to train on; got a batch of "
                f"shape {x.shape}: use a batch of at least 2 samples"
            )
        if self.shards is not None:
            return self._train_shard(x)
        axes, per_feature = self._axes(x), (1, self.num_features, *[1] * (x.ndim - 2))
        output, xhat = np.empty_like(x), np.empty_like(x)
        mean, variance, inverse_std = (np.empty(per_feature, dtype=x.dtype) for _ in range(3))
        for group in channel_blocks(x):
            batch = standardize_over(x[:, group], axes, self.eps, out=xhat[:, group])
            self._affine(batch.xhat, output[:, group], group)
            mean[:, group], variance[:, group] = batch.mean, batch.variance
            inverse_std[:, group] = batch.inverse_std
        return output, xhat, mean, variance, inverse_std

    def _train_shard(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        """:meth:`_train` on one shard of a batch: the same passes, a group of channels at a time,
        but the statistics are the whole batch's, so the shard's per-feature sums are added to
        the other shards' twice (``self.shards.total``): Σx for the mean, then Σ(x − μ)² for the
        variance (two rounds, as :func:`standardize_over` centres before it squares)."""
        axes, groups, count = self._axes(x), channel_blocks(x), self._count(x)
        mean = self.shards.total(x.sum(axis=axes, keepdims=True)) / count  # μ = Σ X / m
        xhat, output, squares = np.empty_like(x), np.empty_like(x), np.empty_like(mean)
        for group in groups:
            centred = np.subtract(x[:, group], mean[:, group], out=xhat[:, group])
            squares[:, group] = np.multiply(centred, centred).sum(axis=axes, keepdims=True)
        variance = self.shards.total(squares) / count  # σ² = Σ (X − μ)² / m
        inverse_std = 1.0 / np.sqrt(variance + self.eps)
        for group in groups:
            xhat[:, group] *= inverse_std[:, group]  # X̂ = (X − μ) / √(σ² + ε)
            self._affine(xhat[:, group], output[:, group], group)
        return output, xhat, mean, variance, inverse_std

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        self.output_shape(x.shape[1:])
        if training:
            return self._train(x)[0]
        xhat, _ = self._running_standardized(x)
        return self._affine(xhat, xhat)  # nothing keeps x̂: the output takes its memory

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        self.output_shape(x.shape[1:])
        if not training:
            xhat, inverse_std = self._running_standardized(x)
            return self._affine(xhat, np.empty_like(xhat)), (xhat, inverse_std, training)
        output, xhat, mean, variance, inverse_std = self._train(x)
        count = self._count(x)
        keep = 1.0 - self.momentum
        # in place on the layer's own buffers: running ← (1 − m)·running + m·batch (variance unbiased)
        self.running_mean *= keep
        self.running_mean += self.momentum * mean.reshape(-1)
        self.running_var *= keep
        self.running_var += (self.momentum * count / (count - 1)) * variance.reshape(-1)
        return output, (xhat, inverse_std, training)

    def _parameter_gradients(self, grad_output: np.ndarray, xhat: np.ndarray, features: slice) -> None:
        axes = self._axes(grad_output)
        self.weight.grad[features] = (grad_output * xhat).sum(axis=axes)  # dγ = Σ dY ⊙ X̂
        self.bias.grad[features] = grad_output.sum(axis=axes)  # dβ = Σ dY

    def backward_parameters(self, grad_output: np.ndarray, cache: tuple) -> None:
        self._parameter_gradients(grad_output, cache[0], slice(None))

    def backward_input(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        xhat, inverse_std, training = cache
        grad_xhat = grad_output * self._per_feature(self.weight.value)  # dX̂ = dY ⊙ γ
        if not training:
            return grad_xhat * inverse_std  # the fixed affine map: dX = dX̂ / √(running σ² + ε)
        if self.shards is not None:
            raise BarenetError("a shard of a split batch takes batch normalisation's backward pass "
                               "whole (backward), which adds up the shards' sums")
        return standardized_input_gradient(grad_xhat, xhat, inverse_std, self._axes(grad_output))

    def backward(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        """Both halves of the training pass's backward, a group of features at a time."""
        xhat, inverse_std, training = cache
        if not training:
            return super().backward(grad_output, cache)
        if self.shards is not None:
            return self._backward_shard(grad_output, xhat, inverse_std)
        grad_input, axes = np.empty_like(grad_output), self._axes(grad_output)
        for group in channel_blocks(grad_output, xhat):
            self._parameter_gradients(grad_output[:, group], xhat[:, group], group)
            grad_xhat = np.multiply(grad_output[:, group], self._per_feature(self.weight.value[group]),
                                    out=grad_input[:, group])  # dX̂ = dY ⊙ γ, in the result's memory
            standardized_input_gradient(grad_xhat, xhat[:, group], inverse_std[:, group], axes)
        return grad_input

    def _backward_shard(self, grad_output: np.ndarray, xhat: np.ndarray, inverse_std: np.ndarray
                        ) -> np.ndarray:
        """:meth:`backward` on one shard of a batch: this shard's dγ and dβ, then dX by the
        formula of :func:`standardized_input_gradient`, whose two means over the whole batch
        are mean(dX̂) = γ·Σ dY / m and mean(dX̂ ⊙ X̂) = γ·Σ dY ⊙ X̂ / m: the sums of dβ and dγ,
        added across the shards (their gradients stay the shard's own: they are added later)."""
        groups, gamma = channel_blocks(grad_output, xhat), self.weight.value
        for group in groups:
            self._parameter_gradients(grad_output[:, group], xhat[:, group], group)
        sums = self.shards.total(np.stack([self.weight.grad, self.bias.grad]))  # Σ dY ⊙ X̂, Σ dY
        count = self._count(grad_output)
        along_xhat, mean_grad = (self._per_feature(gamma * total / count) for total in sums)
        grad_input = np.empty_like(grad_output)
        for group in groups:
            grad = np.multiply(grad_output[:, group], self._per_feature(gamma[group]),
                               out=grad_input[:, group])  # dX̂ = dY ⊙ γ, in the result's memory
            grad -= mean_grad[group]
            grad -= xhat[:, group] * along_xhat[group]
            grad *= inverse_std[:, group]  # dX = (dX̂ − mean(dX̂) − X̂ ⊙ mean(dX̂ ⊙ X̂)) / √(σ² + ε)
        return grad_input

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def buffers(self) -> dict[str, np.ndarray]:
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def config(self) -> dict:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != self.sample_dimensions or input_shape[0] != self.num_features:
            expected = "(features,)" if self.sample_dimensions == 1 else "(channels, height, width)"
            raise ShapeError(
                f"{type(self).__name__}({self.num_features}) expects samples of shape {expected} with "
                f"{self.num_features} in the first place; got {tuple(input_shape)}"
            )
        return tuple(input_shape)


class BatchNorm1D(_BatchNorm):
    """Batch normalisation of features (PyTorch's ``nn.BatchNorm1d`` on 2-D input).

    Args:
        num_features: the width F of the input.
        momentum: how far the running statistics move towards each batch's (0.1).
        eps: added to the variance before the square root (1e-5).

    Shape:
        input ``(n, F)``, output ``(n, F)``; γ, β, running_mean, running_var ``(F,)``.
    """


class BatchNorm2D(_BatchNorm):
    """Batch normalisation of channels (PyTorch's ``nn.BatchNorm2d``): one mean and variance
    per channel, pooled over the batch and every pixel.

    Args:
        num_channels: the channel count C of the input.
        momentum, eps: as in :class:`BatchNorm1D`.

    Shape:
        input ``(n, C, h, w)``, output the same; γ, β, running_mean, running_var ``(C,)``.
    """

    sample_dimensions = 3

    def __init__(self, num_channels: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype: np.dtype | type = np.float32) -> None:
        super().__init__(num_channels, momentum, eps, dtype)

    def config(self) -> dict:
        return {"num_channels": self.num_features, "momentum": self.momentum, "eps": self.eps}


class LayerNorm(Layer):
    """Layer normalisation (PyTorch's ``nn.LayerNorm``): each sample standardised over its
    trailing ``normalized_shape`` axes, then ``γ ⊙ x̂ + β`` with γ, β of that shape. The
    same in training and prediction; no running statistics.

    Shape:
        input ``(n, ..., *normalized_shape)``, output the same; γ, β ``normalized_shape``.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 dtype: np.dtype | type = np.float32) -> None:
        listed = isinstance(normalized_shape, (tuple, list))
        shape = tuple(normalized_shape) if listed else (normalized_shape,)
        if not shape:
            raise BarenetError("normalized_shape must name at least one axis, e.g. LayerNorm(128)")
        self.normalized_shape = tuple(check_int("normalized_shape", size) for size in shape)
        self.eps = check_number("eps", eps, 0.0, low_open=True)
        dtype = check_float_dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype), "weight", decay=False)  # γ
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype), "bias", decay=False)  # β

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(range(x.ndim - len(self.normalized_shape), x.ndim))

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.forward_with_cache(x, training=training)[0]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, tuple]:
        standardized = standardize_over(x, self._axes(x), self.eps)
        output = np.multiply(standardized.xhat, self.weight.value, out=standardized.spare)
        output += self.bias.value  # Y = γ ⊙ X̂ + β, in place on our own array
        return output, (standardized.xhat, standardized.inverse_std)

    def backward_parameters(self, grad_output: np.ndarray, cache: tuple) -> None:
        xhat, _ = cache
        shape = self.normalized_shape
        rows = grad_output.reshape(-1, math.prod(shape))  # every sample (and position) one row
        self.weight.grad[...] = sum_rows(rows * xhat.reshape(rows.shape)).reshape(shape)  # dγ = Σₙ dY ⊙ X̂
        self.bias.grad[...] = sum_rows(rows).reshape(shape)  # dβ = Σₙ dY

    def backward_input(self, grad_output: np.ndarray, cache: tuple) -> np.ndarray:
        xhat, inverse_std = cache
        return standardized_input_gradient(grad_output * self.weight.value, xhat, inverse_std,
                                           self._axes(grad_output))

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def config(self) -> dict:
        return {"normalized_shape": list(self.normalized_shape), "eps": self.eps}

    def output_shape(self, input_shape: Shape) -> Shape:
        trailing = tuple(input_shape)[len(input_shape) - len(self.normalized_shape):]
        if len(input_shape) < len(self.normalized_shape) or trailing != self.normalized_shape:
            raise ShapeError(
                f"LayerNorm{self.normalized_shape} expects samples ending in {self.normalized_shape}; "
                f"got {tuple(input_shape)}"
            )
        return tuple(input_shape)
