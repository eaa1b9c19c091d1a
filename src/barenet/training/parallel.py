"""Data parallelism on one machine: each batch split into shards, one thread per shard.

Backpropagation is linear in the gradient it starts from, and the rows of a batch go through
the network independently (no layer here mixes them), so the batch's gradient is the sum of
its shards' gradients::

    output = concatenate(model(x₁), model(x₂), ...)        the shards' forward passes
    dY = ∂L/∂output                                        the loss, over the whole batch
    ∇W = Σᵢ backward(dYᵢ)                                  dYᵢ: shard i's rows of dY

Shard 0 runs on the calling thread with the model itself; every other shard runs on its own
thread with a *replica*: a copy of the model whose parameters share the model's weight arrays
(read, never written, during a pass) and own their gradients. NumPy releases Python's lock
while it computes, so the shards run side by side: the element-wise work that NumPy does on
one core (GELU, LayerNorm, softmax, pooling, ReLU) and the many small products of attention,
too small for BLAS to split, use every core; each shard's BLAS gets an equal share of the
threads. The loss sees the whole batch, so its value is the one-pass value; the gradients
differ from the one-pass ones by rounding only (the sum over a batch's rows is added in
another order), so a run's numbers depend on ``workers``, never on timing: the shards are
split and added in a fixed order.

Batch normalisation mixes the samples of a batch: its statistics are the whole batch's. Each
shard's copy of the layer adds up its own values and the shards exchange their sums
(:class:`ShardSums`): a per-feature vector, twice in the forward pass (for the mean, then for
the variance around it) and once in the backward pass, while the element-wise work stays split.
Dropout draws its masks from a stream of its own in each replica, the model's generator
jumped far ahead (NumPy's ``jumped``: about 2¹²⁷ draws for PCG64), set at every step from the
model's state, so a resumed run draws the same masks. Shard 0 is never smaller than another,
so a replica's stream never reaches the draws it made the step before.
"""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import ThreadpoolController

from ..errors import BarenetError
from ..layers import BatchNorm1D, BatchNorm2D, Dropout, walk_layers
from ..losses import L2Penalty, Loss
from .history import BatchResult

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from ..model import Sequential


def check_splittable(model: Sequential) -> None:
    """Refuse, saying why, a model whose batches cannot be split into shards."""
    for key, layer in walk_layers(model.layers):
        if isinstance(layer, Dropout) and not hasattr(layer.rng.bit_generator, "jumped"):
            raise BarenetError(
                f"workers > 1 gives every shard its own jump of the dropout generator, but {key} "
                f"draws from {type(layer.rng.bit_generator).__name__}, which cannot jump; "
                "use NumPy's default PCG64 (an integer seed) or one worker"
            )


class ShardSums:
    """Per-feature sums added up across the shards of a batch, one thread per shard.

    Each shard puts its sums in its slot and waits at a barrier until every shard has; then
    each adds up all the slots, in the same order, so every shard gets the same total. Two
    sets of slots are used in turn: a shard can only write a set again after the next barrier,
    which no shard passes before all have read the set. A failing shard breaks the barrier
    (``abort``), so the others stop waiting and fail too.
    """

    def __init__(self, shards: int) -> None:
        self.barrier = threading.Barrier(shards)
        self.slots: list[list] = [[None] * shards, [None] * shards]
        self.rounds = [0] * shards
        self.batch_size = 0  # the rows of the whole batch, set for each batch

    def start(self, batch_size: int) -> None:
        """Get ready for a new batch of ``batch_size`` rows (after a failure, too)."""
        self.barrier.reset()
        self.rounds = [0] * len(self.rounds)
        self.batch_size = batch_size

    def total(self, shard: int, sums: np.ndarray) -> np.ndarray:
        """``sums`` of shard ``shard`` added to every other shard's: Σᵢ sumsᵢ."""
        slots = self.slots[self.rounds[shard] % 2]
        self.rounds[shard] += 1
        slots[shard] = sums
        self.barrier.wait()
        total = slots[0] + slots[1]
        for other in slots[2:]:
            total += other
        return total


class ShardLink:
    """What batch normalisation on shard ``shard`` needs: the shards' sums, and the batch size."""

    def __init__(self, sums: ShardSums, shard: int) -> None:
        self.sums, self.shard = sums, shard

    @property
    def batch_size(self) -> int:
        return self.sums.batch_size

    def total(self, sums: np.ndarray) -> np.ndarray:
        """This shard's per-feature ``sums`` added to every other shard's."""
        return self.sums.total(self.shard, sums)


def batch_norms(model: Sequential) -> list:
    """The model's batch normalisations, in order."""
    return [layer for _, layer in walk_layers(model.layers) if isinstance(layer, (BatchNorm1D, BatchNorm2D))]


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
        """Each dropout draws from its model twin's stream jumped ``jumps`` times ahead. Both
        start on a whole 64-bit word (a float32 draw takes half of one, and the half the twin
        kept from its last step is dropped), so the twin, with the larger shard, moves at least
        as far each step as the replica does."""
        for original, copied in self.dropouts:
            state = original.rng.bit_generator.state
            if state.get("has_uint32"):
                original.rng.bit_generator.state = state | {"has_uint32": 0, "uinteger": 0}
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
        self.sums = ShardSums(workers)
        self.batch_norms = batch_norms(model)  # the model's own: linked only while it runs shard 0
        self.first_link = ShardLink(self.sums, 0)
        for index, replica in enumerate(self.replicas, start=1):
            for layer in batch_norms(replica.model):
                layer.shards = ShardLink(self.sums, index)
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

    def compute_gradients(self, x: np.ndarray, y: np.ndarray, loss: Loss, *,
                          l2: L2Penalty | None = None) -> BatchResult:
        """The model's ``compute_gradients(x, y, loss, l2=l2)``, one shard per thread: the same
        loss and output, and the batch's gradients in ``parameter.grad``."""
        if self.pool is None:
            raise BarenetError("DataParallel computes inside `with parallel.running():`, "
                               "which starts its threads")
        if len(x) < self.workers:  # too few samples to give every shard one
            return self.model.compute_gradients(x, y, loss, l2=l2)
        sizes = [len(x) // self.workers + (index < len(x) % self.workers) for index in range(self.workers)]
        shards = [slice(start, start + size) for start, size in zip(np.cumsum([0, *sizes[:-1]]), sizes)]
        models = [self.model, *(replica.model for replica in self.replicas)]
        for index, replica in enumerate(self.replicas, start=1):
            replica.follow_generators(index)

        def forward(model, rows: slice):
            return model.forward_with_cache(x[rows], training=True, logits=loss.from_logits)

        def backward(model, rows: slice, tape) -> None:
            model.backward(grad_output[rows], tape)

        self.sums.start(len(x))
        for layer in self.batch_norms:
            layer.shards = self.first_link
        try:
            passes = self._on_shards(forward, list(zip(models, shards)))
            output = np.concatenate([shard_output for shard_output, _ in passes])
            value, loss_cache = loss.forward(output, y)
            grad_output = loss.backward(loss_cache)  # dY, over the whole batch
            tapes = [tape for _, tape in passes]
            self._on_shards(backward, list(zip(models, shards, tapes)))
        finally:
            for layer in self.batch_norms:
                layer.shards = None  # the model alone, as between steps, normalises by itself
        grads = self.model.flat.grads
        for replica in self.replicas:
            grads += replica.grads  # ∇W = Σᵢ backward(dYᵢ)
        if l2 is not None and l2.strength:
            parameters = self.model.parameters()
            value += l2.value(parameters, len(x))
            l2.add_gradient(parameters, len(x))
        return BatchResult(value, output, None)

    def _on_shards(self, work: Callable, shards: list[tuple]) -> list:
        """``work(*shard)`` for each shard: the first here, the others on the worker threads,
        with this thread's floating-point error handling (NumPy keeps it per thread); each
        with a share of the BLAS threads."""
        errors = np.geterr()
        with self.blas.limit(limits=self.shard_threads):
            pending = [self.pool.submit(self._shard, errors, work, *shard) for shard in shards[1:]]
            try:
                first = self._shard(errors, work, *shards[0])
            except threading.BrokenBarrierError:  # another shard failed first: its error is the one
                wait(pending)
                for job in pending:
                    if job.exception() and not isinstance(job.exception(), threading.BrokenBarrierError):
                        raise job.exception() from None
                raise
            finally:
                wait(pending)  # even when shard 0 fails: no shard outlives the BLAS limit
            return [first, *(job.result() for job in pending)]

    def _shard(self, errors: dict, compute: Callable, *arguments):
        """``compute(*arguments)`` under ``np.errstate(**errors)``; a failure breaks the
        barrier of the shards' sums, so no other shard waits for this one forever."""
        try:
            with np.errstate(**errors):
                return compute(*arguments)
        except BaseException:
            self.sums.barrier.abort()
            raise
