"""Benchmark: training iterations of the baby GPT, barenet against PyTorch on this CPU.

nanoGPT's baby GPT for tiny Shakespeare (4 layers, 4 heads, 128 wide, context 64, batch 12,
AdamW with decay on matrices, gradient clipping at 1.0): the same architecture in both
libraries, the same initial weights (barenet's, copied into PyTorch), the same batches, the
same number of threads; PyTorch with its fused ``scaled_dot_product_attention``. A round is
``--iterations`` training steps of each, interleaved (see ``harness.py``); then one
instrumented round says where barenet's step goes, and one round under ``torch.profiler``
where PyTorch's goes.

``--time-to-loss 2.0`` also trains both from the same weights on the same batches (nanoGPT's
learning-rate schedule) until the mean loss over a fixed set of validation batches reaches
that value, and reports the seconds and steps each needed.

    python benchmarks/bench_gpt.py                       # tiny Shakespeare, 2 threads
    python benchmarks/bench_gpt.py --threads 1 --rounds 7
    python benchmarks/bench_gpt.py --time-to-loss 2.0 --whole-recipe   # and both to step 2,000
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from harness import PhaseTimer, interleave, keep_freed_memory, machine_lines, phase_table, timing_table
from threadpoolctl import threadpool_limits

import barenet
from barenet.datasets.text import load_tinyshakespeare, random_windows, split_text
from barenet.layers import GELU, Dense, Embedding, LayerNorm, MultiHeadAttention, PositionalEmbedding
from barenet.losses import CrossEntropy
from barenet.optim import AdamW
from barenet.schedules import CosineDecay
from barenet.training.parallel import DataParallel

CONTEXT, BATCH, LAYERS, HEADS, WIDTH = 64, 12, 4, 4, 128
LR, MIN_LR, WARMUP, STEPS, BETAS, DECAY, CLIP = 1e-3, 1e-4, 100, 2000, (0.9, 0.99), 0.1, 1.0


def text_ids(data_dir: str | None) -> tuple[np.ndarray, np.ndarray, int, str]:
    """Training and validation ids of tiny Shakespeare, or of random text when it is absent."""
    try:
        text = load_tinyshakespeare(data_dir)
        train, validation = split_text(text.ids)
        return train, validation, text.vocabulary.size, "tiny Shakespeare"
    except barenet.DatasetError:
        print("tiny Shakespeare not found: timing on random ids (set BARENET_DATA_DIR)", file=sys.stderr)
        ids = np.random.default_rng(0).integers(0, 65, 200_000)
        return ids[:180_000], ids[180_000:], 65, "random ids"


class Batches:
    """The same batches for both contenders: a list drawn once from a seeded generator."""

    def __init__(self, ids: np.ndarray, count: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.pairs = [random_windows(ids, CONTEXT, BATCH, rng) for _ in range(count)]


class BarenetGPT:
    """barenet's steps; with ``workers`` > 1 each batch is split in shards on threads (the
    trainer's ``workers``), and ``train_step`` runs inside ``running()``."""

    def __init__(self, model: barenet.Sequential, batches: Batches,
                 schedule: CosineDecay | None = None, workers: int = 1) -> None:
        self.model, self.batches, self.schedule = model, batches, schedule
        self.loss = CrossEntropy()
        self.optimizer = AdamW(model.parameters(), lr=LR, betas=BETAS, weight_decay=DECAY, max_grad_norm=CLIP)
        self.step = 0
        self.parallel = DataParallel(model, workers) if workers > 1 else None
        self.name = "barenet" if workers == 1 else f"barenet, {workers} workers"

    def running(self) -> contextlib.AbstractContextManager:
        return self.parallel.running() if self.parallel else contextlib.nullcontext()

    def train_step(self, x: np.ndarray, y: np.ndarray) -> None:
        if self.schedule is not None:
            self.optimizer.lr = self.schedule(self.step)
        (self.parallel or self.model).compute_gradients(x, y, self.loss)
        self.optimizer.step()
        self.step += 1

    def epoch(self) -> None:
        with self.running():
            for x, y in self.batches.pairs:
                self.train_step(x, y)

    def validation_loss(self, pairs: list) -> float:
        return float(np.mean([self.loss(self.model.forward(x, logits=True), y) for x, y in pairs]))


class TorchGPT:
    name = "PyTorch"

    @staticmethod
    def running() -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def __init__(self, model: barenet.Sequential, batches: Batches,
                 schedule: CosineDecay | None = None) -> None:
        import torch
        from torch_gpt import TorchGPT as Network
        from torch_gpt import copy_from_barenet

        self.torch, self.batches, self.schedule = torch, batches, schedule
        self.network = Network(model.output_shape[-1], CONTEXT, LAYERS, HEADS, WIDTH)
        copy_from_barenet(model, self.network)
        self.optimizer = self.network.optimizer(LR, DECAY, BETAS)
        self.tensors = [(torch.from_numpy(x), torch.from_numpy(y)) for x, y in batches.pairs]
        self.step = 0

    def train_step(self, x, y) -> None:
        torch = self.torch
        if self.schedule is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.schedule(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        logits = self.network(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.network.parameters(), CLIP)
        self.optimizer.step()
        self.step += 1

    def epoch(self) -> None:
        self.network.train()
        for x, y in self.tensors:
            self.train_step(x, y)

    def validation_loss(self, pairs: list) -> float:
        torch = self.torch
        self.network.eval()
        losses = []
        with torch.inference_mode():
            for x, y in pairs:
                logits = self.network(torch.from_numpy(x))
                losses.append(torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]),
                                                                torch.from_numpy(y).reshape(-1)).item())
        self.network.train()
        return float(np.mean(losses))


def phase_breakdown(contender: BarenetGPT) -> tuple[dict[str, float], float]:
    """One instrumented round of barenet's steps, by kind of work."""
    timer = PhaseTimer()
    kinds = {Dense: "matrix products (Dense)", MultiHeadAttention: "attention (products, softmax)",
             LayerNorm: "LayerNorm", GELU: "GELU", Embedding: "embeddings", PositionalEmbedding: "embeddings"}
    methods = ("forward", "forward_with_cache", "backward", "backward_parameters", "backward_input")
    for _, layer in barenet.layers.walk_layers(contender.model.layers):
        phase = kinds.get(type(layer))
        if phase is not None:
            for method in methods:
                if method in type(layer).__dict__:
                    timer.wrap(layer, method, phase)
    timer.wrap(contender.loss, "forward", "softmax and loss")
    timer.wrap(contender.loss, "backward", "softmax and loss")
    timer.wrap(contender.optimizer, "step", "optimiser (AdamW, clipping)")
    start = time.perf_counter()
    contender.epoch()
    total = time.perf_counter() - start
    timer.unwrap()
    timer.totals["the rest (residual adds, the model's walk, Python)"] = total - sum(timer.totals.values())
    return dict(timer.totals), total


TORCH_KINDS = (
    (("Addmm", "linear", "MmBackward", "aten::mm"), "matrix products (every linear layer, with the "
                                                    "attention's projections)"),
    (("ScaledDotProduct", "scaled_dot_product"), "attention (its fused products and softmax)"),
    (("Gelu", "gelu"), "GELU"),
    (("LayerNorm", "layer_norm"), "LayerNorm"),
    (("Optimizer.step", "_foreach_", "zero_grad"), "optimiser (AdamW, clipping)"),
    (("Embedding", "embedding"), "embeddings"),
    (("cross_entropy", "NllLoss", "LogSoftmax"), "softmax and loss"),
)


def torch_phase_breakdown(contender: TorchGPT) -> tuple[dict[str, float], float]:
    """One profiled round of PyTorch's steps (``torch.profiler``): each outermost operation of
    the forward pass, of the backward pass (autograd's functions) and of the optimiser counted
    under the kind of work it does; the profiler's own cost falls in "the rest"."""
    from torch.profiler import ProfilerActivity, profile

    totals = dict.fromkeys((kind for _, kind in TORCH_KINDS), 0.0)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        start = time.perf_counter()
        contender.epoch()
        total = time.perf_counter() - start
    for event in profiled.events():
        kind = next((kind for words, kind in TORCH_KINDS if any(word in event.name for word in words)), None)
        if event.cpu_parent is None and kind is not None:
            totals[kind] += event.cpu_time_total / 1e6
    totals["the rest (residual adds, autograd, Python, the profiler)"] = total - sum(totals.values())
    return totals, total


def time_to_loss(target: float, train: np.ndarray, validation: np.ndarray, vocab: int,
                 evaluate_every: int, whole_recipe: bool, workers: int) -> list[str]:
    """Seconds and steps each library needs, from the same weights and batches, to a mean loss
    ≤ ``target`` over 100 fixed validation batches (evaluation time not counted); with
    ``whole_recipe``, both go on to the recipe's last step and report the loss there too."""
    held_out = Batches(validation, 100, seed=2).pairs
    schedule = CosineDecay(LR, total=STEPS, min_lr=MIN_LR, warmup=WARMUP, per="step")
    lines = [f"| library | steps to ≤ {target} | training seconds to it | validation loss at step {STEPS} "
             "| training seconds in all |", "|---|---|---|---|---|"]
    for kind in (BarenetGPT, TorchGPT):  # the same initial weights: PyTorch copies barenet's
        model, batches = barenet.gpt(vocab, CONTEXT, LAYERS, HEADS, WIDTH, rng=0), Batches(train, 0, 0)
        if kind is BarenetGPT:
            contender = BarenetGPT(model, batches, schedule, workers)
        else:
            contender = TorchGPT(model, batches, schedule)
        rng, seconds, loss, reached = np.random.default_rng(1), 0.0, math.inf, None
        while contender.step < STEPS and (reached is None or whole_recipe):
            pairs = [random_windows(train, CONTEXT, BATCH, rng) for _ in range(evaluate_every)]
            if kind is TorchGPT:
                pairs = [(contender.torch.from_numpy(x), contender.torch.from_numpy(y)) for x, y in pairs]
            start = time.perf_counter()
            with contender.running():
                for x, y in pairs:
                    contender.train_step(x, y)
            seconds += time.perf_counter() - start
            loss = contender.validation_loss(held_out)
            print(f"{contender.name} step {contender.step}: validation loss {loss:.4f}", file=sys.stderr)
            if reached is None and loss <= target:
                reached = (contender.step, seconds)
        to_target = f"{reached[0]} | {reached[1]:.1f}" if reached else f"not within {STEPS} | -"
        final = f"{loss:.4f}" if contender.step == STEPS else "-"
        lines.append(f"| {contender.name} | {to_target} | {final} | {seconds:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per contender (default 5)")
    parser.add_argument("--iterations", type=int, default=20, help="training steps per round (default 20)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-phases", action="store_true", help="skip the instrumented round")
    parser.add_argument("--time-to-loss", type=float, default=None,
                        help="also train both to this validation loss")
    parser.add_argument("--whole-recipe", action="store_true",
                        help="with --time-to-loss: train both for the recipe's 2,000 steps")
    parser.add_argument("--evaluate-every", type=int, default=50,
                        help="steps between validations (time to loss)")
    parser.add_argument("--workers", type=int, default=2,
                        help="barenet's second contender splits each batch in this many shards (default 2); "
                             "its time to loss too")
    parser.add_argument("--output", default=None, help="also write the markdown report here")
    parser.add_argument("--system-allocator", action="store_true",
                        help="leave glibc's defaults (freed memory returned at once)")
    args = parser.parse_args()
    keep_freed_memory(not args.system_allocator)
    import torch

    torch.set_num_threads(args.threads)
    train, validation, vocab, source = text_ids(args.data_dir)
    with threadpool_limits(args.threads):
        model = barenet.gpt(vocab, CONTEXT, LAYERS, HEADS, WIDTH, rng=0)
        batches = Batches(train, args.iterations, seed=1)
        split = barenet.gpt(vocab, CONTEXT, LAYERS, HEADS, WIDTH, rng=0)  # the same initial weights
        contenders = [BarenetGPT(model, batches), BarenetGPT(split, batches, workers=args.workers),
                      TorchGPT(model, batches)]
        timings = interleave(contenders, args.rounds)
        phases = None
        if not args.no_phases:
            phases = phase_breakdown(contenders[0]), torch_phase_breakdown(contenders[-1])
        machine = machine_lines(args.threads)
        to_loss = None
        if args.time_to_loss is not None:
            to_loss = time_to_loss(args.time_to_loss, train, validation, vocab, args.evaluate_every,
                                   args.whole_recipe, args.workers)
    per_step = {name: f"{statistics.median(values) / args.iterations * 1e3:.1f}"
                for name, values in timings.wall.items()}
    lines = [f"## Training steps of the baby GPT ({model.flat.values.size:,} parameters), batch {BATCH}, "
             f"context {CONTEXT}, float32 ({source})", "", *machine, "",
             f"{args.rounds} interleaved rounds of {args.iterations} steps after one warm-up, "
             "seconds per round.",
             "", *timing_table(timings, extra={"ms per step (median)": per_step},
                               pairs=[(contenders[0].name, "PyTorch"), (contenders[1].name, "PyTorch"),
                                      (contenders[1].name, contenders[0].name)])]
    if phases is not None:
        (breakdown, instrumented), (torch_breakdown, profiled) = phases
        lines += ["", f"### Where barenet's steps go (one instrumented round: {instrumented:.2f} s)", "",
                  *phase_table(breakdown, instrumented),
                  "", f"### Where PyTorch's steps go (one profiled round: {profiled:.2f} s)", "",
                  *phase_table(torch_breakdown, profiled)]
    if to_loss is not None:
        lines += ["", f"### Time to a validation loss of {args.time_to_loss} (mean of 100 fixed batches)", "",
                  *to_loss]
    text = "\n".join(lines)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n")


if __name__ == "__main__":
    main()
