"""Embeddings: integer ids looked up as learned vectors, and learned position vectors.

A lookup ``E[ids]`` is a product with one-hot rows, ``onehot(ids)·E``, so its backward pass is
``dE = onehot(ids)ᵀ·dY``: each position's gradient is *added* to the row of its id, and an id
that appears twice gets both. That sum is the whole trick of an embedding's backward pass.
"""

from __future__ import annotations

import numpy as np

from ..errors import BarenetError, ShapeError
from ..init import Initializer, Normal, get_initializer
from ..parameter import Parameter
from ..sums import sum_rows
from ..validation import as_generator, check_float_dtype, check_int
from .base import Layer, Shape


def check_ids(ids: object, num_embeddings: int, name: str = "ids") -> np.ndarray:
    """``ids`` as an integer array with every id in ``[0, num_embeddings)``; floats holding
    whole numbers are accepted (a file of ids read as floats), anything else is refused."""
    array = np.asarray(ids)
    if array.dtype.kind == "f":
        if not np.isfinite(array).all() or not np.array_equal(array, np.round(array)):
            raise BarenetError(f"{name} must hold whole-number token ids; got non-integer values")
        array = array.astype(np.int64)
    elif array.dtype.kind not in "iu":
        raise BarenetError(f"{name} must hold integer token ids; got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= num_embeddings):
        raise BarenetError(
            f"{name} holds ids outside [0, {num_embeddings}): found min {array.min()}, max {array.max()}; "
            f"encode the text with the model's vocabulary, or build Embedding({array.max() + 1}, ...)"
        )
    return array


class Embedding(Layer):
    """A table of ``num_embeddings`` learned vectors; integer ids pick rows: ``Y = E[ids]``.

    PyTorch's ``nn.Embedding``: the same parameter, ``weight`` of shape
    ``(num_embeddings, embedding_dim)`` drawn from N(0, 1) (``init`` changes that; GPT-2 uses
    N(0, 0.02²)), so ``embedding.weight.value = torch_embedding.weight`` copies one across.

    Args:
        num_embeddings: how many ids (the vocabulary size).
        embedding_dim: the length of each vector.

    Shape:
        input ``(n, t)`` integer ids, output ``(n, t, embedding_dim)``; ``E`` is
        ``(num_embeddings, embedding_dim)``.
    """

    takes_sequences = True

    def __init__(self, num_embeddings: int, embedding_dim: int, init: str | Initializer | None = None,
                 rng: np.random.Generator | int | None = None, dtype: np.dtype | type = np.float32) -> None:
        self.num_embeddings = check_int("num_embeddings", num_embeddings)
        self.embedding_dim = check_int("embedding_dim", embedding_dim)
        shape = (self.num_embeddings, self.embedding_dim)
        initializer = Normal(std=1.0) if init is None else get_initializer(init)
        weight = initializer(shape, self.num_embeddings, self.embedding_dim, as_generator(rng),
                             check_float_dtype(dtype))
        self.weight = Parameter(weight, "weight", decay=True)

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return self.weight.value[check_ids(x, self.num_embeddings, "x")]  # Y = E[ids]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, np.ndarray]:
        ids = check_ids(x, self.num_embeddings, "x")
        return self.weight.value[ids], ids

    def backward_parameters(self, grad_output: np.ndarray, ids: np.ndarray) -> None:
        # dE = onehot(ids)ᵀ·dY: row e of dE is the sum of dY over the positions holding id e.
        # The plain loop, `for position, e in enumerate(ids.ravel()): dE[e] += dY[position]` (the
        # tests compare the two), is np.add.at(dE, ids, dY) in C; sorting the positions by id and
        # summing each id's run with one np.add.reduceat is several times faster still.
        flat = ids.ravel()
        order = np.argsort(flat, kind="stable")
        sorted_ids = flat[order]
        new_run = np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1]))
        starts = np.flatnonzero(new_run)  # where each id's run of positions begins
        rows = grad_output.reshape(-1, self.embedding_dim)[order]
        self.weight.grad[...] = 0
        self.weight.grad[sorted_ids[starts]] = np.add.reduceat(rows, starts, axis=0)  # dE[e] = Σ dY[ids = e]

    def backward_input(self, grad_output: np.ndarray, ids: np.ndarray) -> np.ndarray:
        raise BarenetError(
            "token ids are integers and have no gradient; an Embedding is the first layer of its "
            "model, so ask for parameter gradients only (input_grad=False)"
        )

    def parameters(self) -> list[Parameter]:
        return [self.weight]

    def config(self) -> dict:
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim}

    def output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != 1:
            raise ShapeError(f"Embedding expects samples of ids of shape (t,); got {tuple(input_shape)}")
        return (*tuple(input_shape), self.embedding_dim)


class PositionalEmbedding(Layer):
    """Learned position vectors added to a sequence: ``Y[:, s] = X[:, s] + P[s]``.

    GPT-2's ``wpe``: a table ``weight`` of shape ``(max_length, dim)`` (nanoGPT's
    ``transformer.wpe.weight``; N(0, 0.02²) by default, as GPT-2 draws it). Sequences up to
    ``max_length`` long; position ``s`` of every sequence gets row ``s``.

    Shape:
        input ``(n, t, dim)`` with ``t ≤ max_length``, output the same.
    """

    def __init__(self, max_length: int, dim: int, init: str | Initializer | None = None,
                 rng: np.random.Generator | int | None = None, dtype: np.dtype | type = np.float32) -> None:
        self.max_length = check_int("max_length", max_length)
        self.dim = check_int("dim", dim)
        initializer = Normal(std=0.02) if init is None else get_initializer(init)
        weight = initializer((self.max_length, self.dim), self.max_length, self.dim, as_generator(rng),
                             check_float_dtype(dtype))
        self.weight = Parameter(weight, "weight", decay=True)

    def _length(self, x: np.ndarray) -> int:
        if x.ndim != 3 or x.shape[2] != self.dim or not 1 <= x.shape[1] <= self.max_length:
            raise ShapeError(
                f"PositionalEmbedding({self.max_length}, {self.dim}) expects (n, t, {self.dim}) with "
                f"1 ≤ t ≤ {self.max_length}; got {x.shape} (shorten the sequence or raise max_length)"
            )
        return x.shape[1]

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        return x + self.weight.value[: self._length(x)]  # Y = X + P[:t]

    def forward_with_cache(self, x: np.ndarray, *, training: bool = False) -> tuple[np.ndarray, int]:
        return self.forward(x), x.shape[1]

    def backward_parameters(self, grad_output: np.ndarray, length: int) -> None:
        self.weight.grad[length:] = 0  # positions past t were not used
        samples = grad_output.reshape(len(grad_output), -1)  # each sample's t·d values as one row
        self.weight.grad[:length] = sum_rows(samples).reshape(length, -1)  # dP[s] = Σₙ dY[n, s]

    def backward_input(self, grad_output: np.ndarray, length: int) -> np.ndarray:
        return grad_output.copy()  # dX = dY

    def parameters(self) -> list[Parameter]:
        return [self.weight]

    def config(self) -> dict:
        return {"max_length": self.max_length, "dim": self.dim}

    def output_shape(self, input_shape: Shape) -> Shape:
        shape = tuple(input_shape)
        if len(shape) != 2 or shape[1] != self.dim or shape[0] > self.max_length:
            raise ShapeError(
                f"PositionalEmbedding({self.max_length}, {self.dim}) expects samples (t, {self.dim}) with "
                f"t ≤ {self.max_length}; got {shape}"
            )
        return shape
