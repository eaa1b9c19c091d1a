"""Data parallelism: a batch split into shards on threads has the one-batch gradient."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from helpers import assert_resume_is_bit_identical
from threadpoolctl import threadpool_info

import barenet
from barenet.errors import BarenetError
from barenet.layers import BatchNorm1D, Dense, Dropout, ReLU
from barenet.losses import MSE, CrossEntropy, L2Penalty
from barenet.training import Trainer
from barenet.training.parallel import DataParallel, batch_norms


def small_gpt(rng: int = 0) -> barenet.Sequential:
    return barenet.gpt(11, context=8, layers=2, heads=2, width=16, rng=rng, dtype=np.float64)


def gradients_of(model, x, y, loss, l2=None, workers: int = 1):
    """(loss, output, every gradient) of one batch, in one pass or split in shards."""
    if workers == 1:
        result = model.compute_gradients(x, y, loss, l2=l2)
    else:
        with DataParallel(model, workers).running() as parallel:
            result = parallel.compute_gradients(x, y, loss, l2=l2)
    return result.loss, result.output.copy(), model.flat.grads.copy()


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("n", [12, 13])
def test_the_shards_gradients_add_up_to_the_batchs_for_a_gpt(workers, n):
    model = small_gpt()
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 11, (n, 8)), rng.integers(0, 11, (n, 8))
    whole = gradients_of(model, x, y, CrossEntropy())
    split = gradients_of(model, x, y, CrossEntropy(), workers=workers)
    np.testing.assert_allclose(split[0], whole[0], rtol=1e-13)
    np.testing.assert_array_equal(split[1], whole[1])  # the same weights: the same logits
    np.testing.assert_allclose(split[2], whole[2], rtol=1e-10, atol=1e-14)
    assert np.abs(whole[2]).min() < np.abs(whole[2]).max()  # gradients that are not all alike


@pytest.mark.parametrize("ignored", [[0, 1, 2, 6], [0, 1, 2, 3, 4]])
def test_ignored_positions_weigh_nothing_and_l2_is_added_once(ignored):
    model = barenet.Sequential([Dense(5, 7, rng=0), ReLU(), Dense(7, 3, rng=1)]).astype(np.float64)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((9, 5)), rng.integers(0, 3, 9)
    y[ignored] = -100  # the first shard (5 rows) counts 2 positions or none, the second 3 or 4
    loss, l2 = CrossEntropy(), L2Penalty(0.3)
    whole = gradients_of(model, x, y, loss, l2)
    split = gradients_of(model, x, y, loss, l2, workers=2)
    np.testing.assert_allclose(split[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(split[2], whole[2], rtol=1e-12, atol=1e-15)


def test_a_regression_loss_over_every_element():
    model = barenet.Sequential([Dense(4, 2, rng=0, dtype=np.float64)], task="regression")
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((7, 4)), rng.standard_normal((7, 2))
    whole, split = gradients_of(model, x, y, MSE()), gradients_of(model, x, y, MSE(), workers=3)
    np.testing.assert_allclose(split[2], whole[2], rtol=1e-12)


def test_the_first_shard_runs_here_the_others_on_worker_threads_that_end_with_the_block():
    seen, blas_seen = set(), set()

    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]

    class Witness(ReLU):
        def forward_with_cache(self, x, *, training=False):
            seen.add(threading.current_thread().name)
            blas_seen.add(tuple(blas_threads()))
            return super().forward_with_cache(x, training=training)

    model = barenet.Sequential([Dense(3, 4, rng=0), Witness(), Dense(4, 2, rng=1)])
    x, y = np.ones((6, 3), np.float32), np.zeros(6, int)
    blas_before = blas_threads()
    parallel = DataParallel(model, 3)
    with pytest.raises(BarenetError, match="running"):
        parallel.compute_gradients(x, y, CrossEntropy())
    with parallel.running():
        parallel.compute_gradients(x, y, CrossEntropy())
        assert blas_threads() == blas_before  # evaluation between steps keeps every thread
    workers = seen - {threading.main_thread().name}
    assert threading.main_thread().name in seen and workers
    assert all(name.startswith("barenet-shard") for name in workers)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("barenet-shard")]
    assert blas_seen == {tuple(max(1, count // 3) for count in blas_before)}  # a share each
    assert blas_threads() == blas_before


def test_when_the_first_shard_fails_the_others_finish_before_the_error_comes_out():
    finished = []

    class Faulty(ReLU):
        def forward_with_cache(self, x, *, training=False):
            if threading.current_thread() is threading.main_thread():
                raise ValueError("shard 0 broke")
            time.sleep(0.2)
            finished.append(True)
            return super().forward_with_cache(x, training=training)

    model = barenet.Sequential([Dense(3, 4, rng=0), Faulty(), Dense(4, 2, rng=1)])
    x, y = np.ones((6, 3), np.float32), np.zeros(6, int)
    with DataParallel(model, 2).running() as parallel:
        with pytest.raises(ValueError, match="shard 0"):
            parallel.compute_gradients(x, y, CrossEntropy())
        assert finished == [True]  # the worker's shard ended first, inside the BLAS limit


def test_the_shards_handle_overflow_as_the_calling_thread_does():
    seen = []

    class Witness(ReLU):
        def forward_with_cache(self, x, *, training=False):
            seen.append(np.geterr()["over"])
            return super().forward_with_cache(x, training=training)

    model = barenet.Sequential([Dense(3, 4, rng=0), Witness(), Dense(4, 2, rng=1)])
    x, y = np.ones((6, 3), np.float32), np.zeros(6, int)
    with DataParallel(model, 2).running() as parallel, np.errstate(over="ignore"):
        parallel.compute_gradients(x, y, CrossEntropy())
    assert seen == ["ignore", "ignore"]  # the trainer reports overflow as divergence, not warnings


def test_each_shard_draws_its_own_dropout_masks_and_the_same_ones_from_the_same_state():
    masks = {}

    class Witness(Dropout):
        def forward_with_cache(self, x, *, training=False):
            output, cache = super().forward_with_cache(x, training=training)
            masks[threading.current_thread().name == threading.main_thread().name] = output != 0
            return output, cache

    model = barenet.Sequential([Witness(0.5, rng=0), Dense(64, 1, rng=0)], task="regression")
    x, y = np.ones((4, 64), np.float32), np.zeros((4, 1), np.float32)
    parallel = DataParallel(model, 2)
    state = model.layers[0].rng.bit_generator.state
    with parallel.running():
        parallel.compute_gradients(x, y, MSE())
        first = dict(masks)
        model.layers[0].rng.bit_generator.state = state
        parallel.compute_gradients(x, y, MSE())
    assert not np.array_equal(first[True], first[False])  # not the same masks twice
    assert all(np.array_equal(first[key], masks[key]) for key in (True, False))


def test_dropout_runs_with_workers_are_reproducible_and_resume_bit_identically(tmp_path):
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)

    def trainer() -> Trainer:
        model = barenet.mlp([6, 16, 3], dropout=0.3, rng=0)
        return Trainer(model, batch_size=16, seed=0, workers=2)

    straight = assert_resume_is_bit_identical(trainer, x, y, tmp_path)
    one_worker = barenet.mlp([6, 16, 3], dropout=0.3, rng=0)
    Trainer(one_worker, batch_size=16, seed=0).fit(x, y, epochs=3, verbose=0)
    assert not np.array_equal(one_worker.flat.values, straight.model.flat.values)  # other masks


def test_workers_are_checked():
    model = barenet.Sequential([Dense(3, 4, rng=0), ReLU(), Dense(4, 2, rng=1)], task="classification")
    with pytest.raises(BarenetError, match="workers"):
        Trainer(model, workers=0)


def batch_norm_model(kind: str) -> barenet.Sequential:
    """A float64 network with batch normalisation: of images (BatchNorm2D, then BatchNorm1D),
    or of rows (BatchNorm1D)."""
    if kind == "images":
        return barenet.cnn(channels=(3, 4), hidden=(6,), dropout=0.0, batch_norm=True, dtype=np.float64,
                           rng=0)
    layers = [Dense(5, 6, rng=0), BatchNorm1D(6), ReLU(), Dense(6, 3, rng=1)]
    return barenet.Sequential(layers, task="classification").astype(np.float64)


@pytest.mark.parametrize(("workers", "n"), [(2, 12), (3, 13), (2, 3)])  # (2, 3): a shard of one row
@pytest.mark.parametrize("kind", ["images", "rows"])
def test_split_batch_normalisation_uses_the_whole_batchs_statistics(kind, workers, n):
    """Each shard adds its sums to the others': the loss, the gradients and the running
    statistics are those of one pass over the whole batch, to rounding."""
    rng = np.random.default_rng(5)
    x = rng.random((n, 784)) if kind == "images" else rng.standard_normal((n, 5)) * 3 + 1
    y = rng.integers(0, 10 if kind == "images" else 3, n)
    whole_model, split_model = batch_norm_model(kind), batch_norm_model(kind)
    whole = gradients_of(whole_model, x, y, CrossEntropy())
    split = gradients_of(split_model, x, y, CrossEntropy(), workers=workers)
    np.testing.assert_allclose(split[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(split[1], whole[1], rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(split[2], whole[2], rtol=1e-10, atol=1e-13)
    assert np.abs(whole[2]).min() < np.abs(whole[2]).max()
    for one_pass, shards in zip(batch_norms(whole_model), batch_norms(split_model)):
        np.testing.assert_allclose(shards.running_mean, one_pass.running_mean, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(shards.running_var, one_pass.running_var, rtol=1e-13)
        assert shards.shards is None  # the model normalises by itself again between steps


class FailsOnOneShard(ReLU):
    """Raises on the calling thread's shard (shard 0), or on the worker threads' ones, while
    the class is ``armed`` (the replicas' copies read it too)."""

    armed = True

    def __init__(self, on_calling_thread: bool) -> None:
        self.on_calling_thread = on_calling_thread

    def forward_with_cache(self, x, *, training=False):
        calling = threading.current_thread().name == "test-caller"
        if FailsOnOneShard.armed and calling == self.on_calling_thread:
            raise ValueError("this shard fails")
        return super().forward_with_cache(x, training=training)


@pytest.mark.parametrize("on_calling_thread", [True, False])
def test_a_failing_shard_stops_the_others_waiting_for_its_sums(on_calling_thread):
    """A shard that fails before batch normalisation breaks the shards' barrier: the others
    stop waiting, its own error comes out, and the next batch runs."""
    FailsOnOneShard.armed = True
    layers = [Dense(4, 5, rng=0), FailsOnOneShard(on_calling_thread), BatchNorm1D(5), Dense(5, 2, rng=1)]
    model = barenet.Sequential(layers, task="classification").astype(np.float64)
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((6, 4)), rng.integers(0, 2, 6)
    outcome = {}

    def run() -> None:
        with DataParallel(model, 3).running() as parallel:
            try:
                parallel.compute_gradients(x, y, CrossEntropy())
            except ValueError as error:
                outcome["error"] = error
            FailsOnOneShard.armed = False
            outcome["next"] = parallel.compute_gradients(x, y, CrossEntropy()).loss

    thread = threading.Thread(target=run, name="test-caller")
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "a shard waited forever for one that had failed"
    assert str(outcome["error"]) == "this shard fails"
    assert np.isfinite(outcome["next"])


def test_batch_norm_runs_with_workers_resume_bit_identically(tmp_path):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((64, 6)).astype(np.float32), rng.integers(0, 3, 64)

    def trainer() -> Trainer:
        layers = [Dense(6, 16, rng=0), BatchNorm1D(16), ReLU(), Dropout(0.2, rng=1), Dense(16, 3, rng=2)]
        model = barenet.Sequential(layers, task="classification")
        return Trainer(model, batch_size=16, seed=0, workers=2)

    straight = assert_resume_is_bit_identical(trainer, x, y, tmp_path)
    assert all(layer.shards is None for layer in batch_norms(straight.model))
