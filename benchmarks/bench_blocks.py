"""Benchmark: element-wise work in cache-sized blocks against whole-array passes.

GELU and Adam run their passes one block of ``barenet.blocks.BLOCK_SIZE`` elements at a time,
batch norm a group of channels at a time (see ``barenet/blocks.py``). Setting ``BLOCK_SIZE``
larger than any array gives back the whole-array passes, so both versions run the same code,
interleaved in one process:

- the baby GPT's training step (bench_gpt.py's, 20 steps a round), two copies of the model
  from the same weights on the same batches, whose weights must stay bit-identical;
- GELU forward and backward on the GPT's ``(12, 64, 512)`` activations, exact and tanh;
- the Adam step on the GPT's 818,241 parameters and on the MLP's 235,146;
- an epoch of the fast CNN (``cnn(hidden=(128,), batch_norm=True)``, batch 128) on 6,400 MNIST images,
  two copies from the same weights, whose weights must stay bit-identical.

    python benchmarks/bench_blocks.py --threads 2 --rounds 9
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_gpt import CONTEXT, HEADS, LAYERS, WIDTH, BarenetGPT, Batches, text_ids
from harness import interleave, keep_freed_memory, machine_lines, timing_table
from threadpoolctl import threadpool_limits

import barenet
import barenet.blocks
from barenet import cnn
from barenet.datasets import load_mnist
from barenet.layers import GELU
from barenet.optim import Adam
from barenet.parameter import Parameter
from barenet.training import Trainer

WHOLE = 1 << 62  # a block larger than any array: every pass over the whole array


class Version:
    """One workload run with one block size (restored afterwards)."""

    def __init__(self, name: str, block_size: int, work) -> None:
        self.name, self.block_size, self.work = name, block_size, work

    def epoch(self) -> None:
        kept, barenet.blocks.BLOCK_SIZE = barenet.blocks.BLOCK_SIZE, self.block_size
        try:
            self.work()
        finally:
            barenet.blocks.BLOCK_SIZE = kept


def gpt_workloads(vocabulary: int, train: np.ndarray) -> tuple[list, list]:
    """Two GPTs from the same weights on the same batches: one trained by blocks, one whole."""
    batches = Batches(train, 20, seed=0)
    runs = [BarenetGPT(barenet.gpt(vocabulary, CONTEXT, LAYERS, HEADS, WIDTH, rng=0), batches)
            for _ in range(2)]
    return [run.epoch for run in runs], [run.model for run in runs]


def cnn_workloads(data_dir: str | None) -> tuple[list, list]:
    """Two fast CNNs from the same weights, each training on the same 6,400 MNIST images."""
    (x, y), _ = load_mnist(data_dir=data_dir, download=False)
    x, y = x[:6400].reshape(6400, -1), y[:6400]
    trainers = [Trainer(cnn(hidden=(128,), batch_norm=True, rng=0), optimizer="adam", lr=2e-3, batch_size=128,
                        seed=0)
                for _ in range(2)]

    def epoch(trainer: Trainer):
        return lambda: trainer.fit(x, y, epochs=trainer.epoch + 1, verbose=0)
    return [epoch(trainer) for trainer in trainers], [trainer.model for trainer in trainers]


def bit_identical(models: list) -> str:
    pairs = zip(models[0].parameters(), models[1].parameters())
    return "bit-identical" if all(np.array_equal(a.value, b.value) for a, b in pairs) else "DIFFERENT"


def gelu_work(approximate: str):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((12, 64, 4 * WIDTH), dtype=np.float32)
    grad_output = rng.standard_normal(x.shape, dtype=np.float32)
    gelu = GELU(approximate)

    def work() -> None:
        for _ in range(50):
            gelu.backward(grad_output, gelu.forward_with_cache(x)[1])
    return work


def adam_work(size: int):
    parameter = Parameter(np.random.default_rng(1).standard_normal(size, dtype=np.float32), "w")
    parameter.grad[...] = np.random.default_rng(2).standard_normal(size, dtype=np.float32) * 1e-2
    optimizer = Adam([parameter], lr=1e-3)

    def work() -> None:
        for _ in range(100):
            optimizer.step()
    return work


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--data-dir", default=None,
                        help="folder with tinyshakespeare/ and mnist/ (default: BARENET_DATA_DIR)")
    args = parser.parse_args()
    keep_freed_memory()
    train, _, vocabulary, corpus = text_ids(args.data_dir)
    lines = ["## Element-wise work in cache-sized blocks against whole-array passes", "",
             *machine_lines(args.threads), f"- block: {barenet.blocks.BLOCK_SIZE:,} elements", ""]
    with threadpool_limits(args.threads):
        epochs, models = gpt_workloads(vocabulary, train)
        trained = {"GPTs": models}
        workloads = [(f"baby-GPT training, 20 steps ({corpus})", epochs),
                     ("GELU (exact) forward + backward, (12, 64, 512), 50 times", [gelu_work("none")] * 2),
                     ("GELU (tanh) forward + backward, (12, 64, 512), 50 times", [gelu_work("tanh")] * 2),
                     ("Adam step, 818,241 parameters (the GPT's), 100 times", [adam_work(818_241)] * 2),
                     ("Adam step, 235,146 parameters (the MLP's), 100 times", [adam_work(235_146)] * 2)]
        try:
            epochs, trained["fast CNNs"] = cnn_workloads(args.data_dir)
            workloads.append(("fast CNN (batch norm) training, an epoch of 6,400 MNIST images", epochs))
        except barenet.DatasetError as error:
            lines += [f"(no fast-CNN rounds: {error})", ""]
        for title, (blocked, whole) in workloads:
            contenders = [Version("blocks", barenet.blocks.BLOCK_SIZE, blocked),
                          Version("whole arrays", WHOLE, whole)]
            timings = interleave(contenders, args.rounds)
            lines += [f"### {title}", "",
                      f"{args.rounds} interleaved rounds after one warm-up, seconds per round.", "",
                      *timing_table(timings, reference="blocks"), ""]
    lines += [f"The two {name}' weights after {args.rounds + 1} rounds: {bit_identical(pair)}."
              for name, pair in trained.items()]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
