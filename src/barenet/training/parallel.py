"""Data parallelism on one machine: each batch split into shards, one thread per shard.

The loss of a batch is a mean over its terms (samples, or positions of a sequence), so its
gradient is the mean of the shards' gradients weighted by how many terms each holds::

    ∇L = Σᵢ (mᵢ/m)·∇Lᵢ        m = Σᵢ mᵢ terms, shard i holding mᵢ of them

Shard 0 runs on the calling thread with the model itself; every other shard runs on its own
thread with a *replica*: a copy of the model whose parameters share the model's weight arrays
(read, never written, during a pass) and own their gradients. NumPy releases Python's lock
while it computes, so the shards run side by side: the element-wise work that NumPy does on
one core (GELU, LayerNorm, softmax, pooling, ReLU) and the many small products of attention,
too small for BLAS to split, use every core. Each shard's BLAS gets an equal share of the
threads. The sum is exact math, not an approximation; in floating point it differs from the
one-batch gradient by rounding, so a run's numbers depend on ``workers`` (never on timing:
the shards are split and added in a fixed order).

Layers whose training pass mixes the samples of a batch (batch normalisation's statistics)
cannot be split; dropout can: each replica draws its masks from its own stream, the model's
generator jumped far ahead (NumPy's ``jumped``: about 2¹²⁷ draws for PCG64), set at every step
from the model's state, so a resumed run draws the same masks. Shard 0 is never smaller than
another, so a replica's stream never reaches the draws it made the step before.
"""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import ThreadpoolController

from ..errors import BarenetError
from ..layers import BatchNorm1D, BatchNorm2D, Dropout, walk_layers
from ..losses import L2Penalty, Loss

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..model import Sequential


def check_splittable(model: Sequential) -> None:
    """Refuse, saying why, a model whose batches cannot be split into shards."""
    layers = walk_layers(model.layers)
    mixing = [key for key, layer in layers if isinstance(layer, (BatchNorm1D, BatchNorm2D))]
    if mixing:
        raise BarenetError(
            f"workers > 1 splits each batch, but {mixing[0]} is a batch normalisation, whose "
            "statistics need the whole batch; train this model with one worker (workers = 1)"
        )
    for key, layer in layers:
        if isinstance(layer, Dropout) and not hasattr(layer.rng.bit_generator, "jumped"):
            raise BarenetError(
                f"workers > 1 gives every shard its own jump of the dropout generator, but {key} "
                f"draws from {type(layer.rng.bit_generator).__name__}, which cannot jump; "
                "use NumPy's default PCG64 (an integer seed) or one worker"
            )


class Replica:
    """The model's layers again, with the model's weight arrays and gradients of its own."""

    def __init__(self, model: Sequential) -> None:
        shared = {id(parameter.value): parameter.value for parameter in model.parameters()}
        shared[id(model.flat)] = None  # the copy lays out no flat buffer of its own
        self.model = copy.deepcopy(model, memo=shared)
        self.grads = np.zeros_like(model.flat.grads)  # laid out as the model's: added in one pass
        start = 0
        for parameter in self.model.parameters():
            parameter.flat = None
            parameter.grad = self.grads[start : start + parameter.size].reshape(parameter.shape)
            start += parameter.size
        self.dropouts = [
            (original, copied)
            for (_, original), (_, copied) in zip(walk_layers(model.layers), walk_layers(self.model.layers))
            if isinstance(original, Dropout)
        ]

    def follow_generators(self, jumps: int) -> None:
        """Each dropout draws from its model twin's stream jumped ``jumps`` times ahead."""
        for original, copied in self.dropouts:
            copied.rng.bit_generator.state = original.rng.bit_generator.jumped(jumps).state


class DataParallel:
    """``compute_gradients`` of a model, with each batch split into ``workers`` shards.

    Args:
        model: the network; its weights are shared with the replicas, not copied.
        workers: shards per batch, each on its own thread (≥ 2).

    ``running()`` starts the worker threads for the length of a ``with`` block; inside,
    ``compute_gradients`` shares the BLAS threads among the shards for the length of a call,
    so what runs between calls (evaluation, the optimiser) keeps them all.
    """

    def __init__(self, model: Sequential, workers: int) -> None:
        check_splittable(model)
        self.model, self.workers = model, workers
        self.replicas = [Replica(model) for _ in range(workers - 1)]
        self.blas = ThreadpoolController().select(user_api="blas")
        self.pool: ThreadPoolExecutor | None = None  # while running()
        self.shard_threads = 1

    @contextmanager
    def running(self) -> Iterator[DataParallel]:
        """Start the worker threads; each shard will get an equal share of the BLAS threads."""
        threads = max([1, *(info["num_threads"] for info in self.blas.info())])
        self.shard_threads = max(1, threads // self.workers)
        with ThreadPoolExecutor(self.workers - 1, thread_name_prefix="barenet-shard") as pool:
            self.pool = pool
            try:
                yield self
            finally:
                self.pool = None

    def compute_gradients(self, x: np.ndarray, y: np.ndarray, loss: Loss, *, l2: L2Penalty | None = None):
        """The model's ``compute_gradients(x, y, loss, l2=l2)``, one shard per thread: the same
        ``BatchResult`` and the batch's gradients in ``parameter.grad``."""
        if self.pool is None:
            raise BarenetError("DataParallel computes inside `with parallel.running():`, "
                               "which starts its threads")
        if len(x) < self.workers:  # too few samples to give every shard one
            return self.model.compute_gradients(x, y, loss, l2=l2)
        sizes = [len(x) // self.workers + (index < len(x) % self.workers) for index in range(self.workers)]
        bounds = np.cumsum([0, *sizes])  # shard 0 is never smaller than another
        shards = [(x[start:stop], y[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]
        with self.blas.limit(limits=self.shard_threads):
            results = self._shard_results(shards, loss)
        terms = [loss.terms(result.output.shape, y_shard) for result, (_, y_shard) in zip(results, shards)]
        total = sum(terms)
        grads = self.model.flat.grads
        grads *= terms[0] / total  # ∇L = Σᵢ (mᵢ/m)·∇Lᵢ
        for replica, count in zip(self.replicas, terms[1:]):
            replica.grads *= count / total  # the replica's own buffer, rewritten by its next pass
            grads += replica.grads
        value = sum(count / total * result.loss for count, result in zip(terms, results))
        if l2 is not None and l2.strength:
            parameters = self.model.parameters()
            value += l2.value(parameters, len(x))
            l2.add_gradient(parameters, len(x))
        output = np.concatenate([result.output for result in results])
        return results[0]._replace(loss=value, output=output)

    def _shard_results(self, shards: list[tuple[np.ndarray, np.ndarray]], loss: Loss) -> list:
        """Shard 0 here, the others on the worker threads, each with its own dropout stream and
        this thread's floating-point error handling (NumPy keeps it per thread)."""
        pending, errors = [], np.geterr()
        for index, (replica, (x_shard, y_shard)) in enumerate(zip(self.replicas, shards[1:]), start=1):
            replica.follow_generators(index)
            pending.append(self.pool.submit(_in_errstate, errors, replica.model.compute_gradients,
                                            x_shard, y_shard, loss))
        return [self.model.compute_gradients(*shards[0], loss)] + [job.result() for job in pending]


def _in_errstate(errors: dict, compute: Callable, *arguments):
    """``compute(*arguments)`` under ``np.errstate(**errors)``."""
    with np.errstate(**errors):
        return compute(*arguments)
