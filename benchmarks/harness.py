"""What the epoch benchmarks share: interleaved timing rounds, one table format, the machine's
state (BLAS kernels, threads, load average) and a per-phase timer.

Timing rules, the same for every benchmark here:

- Contenders run in the same process, one epoch (or chunk) each per *round*, the order rotating
  from round to round, so a burst of load from elsewhere hits every contender alike.
- Each round is timed on the wall clock and on the process's CPU clock (all threads): a CPU ÷
  wall ratio near the thread count while a contender runs mostly single-threaded code shows
  worker threads busy-waiting (OpenBLAS's pthreads and OpenMP both spin between parallel regions).
- A table gives, per contender, the median with min and max; a ratio between two contenders is
  the median of the *paired* ratios (round by round, epochs that ran next to each other) with
  their min and max, which a slow drift of the machine's load cannot move.
- On a busy machine, compare with ``--threads 1`` on the CPU clock: one thread's CPU seconds
  are the work done, whoever else wants the cores (a multi-threaded GEMM, in contrast, waits
  for its slowest thread, and its spinning workers count as CPU time).
- Every report states the BLAS and OpenMP pools that threadpoolctl found (library, kernel,
  threads) and the load average before and after timing.
- Peak memory is measured in a child process of its own per contender (:func:`child_json`,
  :func:`peak_rss_mb`), so every library is measured alike, without the others' memory.
- Time to accuracy (:func:`time_to_target`) counts training only: the test set is evaluated
  after every epoch, off the clock.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from threadpoolctl import threadpool_info


class Contender(Protocol):
    name: str

    def epoch(self) -> None: ...


@dataclass
class Timings:
    """Seconds per timed round, wall and CPU, for every contender, and the load around them."""

    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def paired_ratios(self, numerator: str, denominator: str, clock: str = "wall") -> list[float]:
        """``numerator ÷ denominator`` round by round, on the ``"wall"`` or the ``"cpu"`` clock."""
        times = getattr(self, clock)
        return [a / b for a, b in zip(times[numerator], times[denominator])]


def interleave(contenders: Sequence[Contender], rounds: int, warmup: int = 1) -> Timings:
    """``warmup`` untimed rounds, then ``rounds`` timed ones; each round runs every contender's
    ``epoch()`` once, the order rotating. Progress goes to stderr."""
    timings = Timings({c.name: [] for c in contenders}, {c.name: [] for c in contenders})
    timings.load_before = os.getloadavg()
    for index in range(warmup + rounds):
        shift = index % len(contenders)
        for contender in contenders[shift:] + contenders[:shift]:
            wall, cpu = time.perf_counter(), time.process_time()
            contender.epoch()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if index >= warmup:
                timings.wall[contender.name].append(wall)
                timings.cpu[contender.name].append(cpu)
        done = ", ".join(f"{name} {values[-1]:.3f} s" for name, values in timings.wall.items() if values)
        print(f"round {index + 1}/{warmup + rounds}{' (warm-up)' if index < warmup else ''}: {done} "
              f"(load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    timings.load_after = os.getloadavg()
    return timings


def spread(values: Sequence[float], digits: int = 2) -> str:
    """``median (min-max)``."""
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def timing_table(timings: Timings, reference: str = "barenet", digits: int = 3,
                 extra: dict[str, dict[str, str]] | None = None,
                 compare: Collection[str] | None = None,
                 pairs: Sequence[tuple[str, str]] | None = None, unit: str = "s") -> list[str]:
    """The one table format: a row per contender, then the paired ratios against ``reference``
    (of every other contender, or of those in ``compare``), or ``numerator ÷ denominator`` for
    each of ``pairs``.

    ``extra`` adds columns: ``{column title: {contender: text}}``; ``unit`` names what the
    timings count (seconds a round, unless the caller scaled them)."""
    extra = extra or {}
    titles = "".join(f" {title} |" for title in extra)
    columns = f"median {unit} | min {unit} | max {unit} | CPU {unit} (median)"
    lines = [f"| contender | {columns} | CPU ÷ wall |{titles}",
             "|---|---|---|---|---|---|" + "---|" * len(extra)]
    for name, wall in timings.wall.items():
        busy = statistics.median(c / w for c, w in zip(timings.cpu[name], wall))
        cells = "".join(f" {column.get(name, '')} |" for column in extra.values())
        lines.append(f"| {name} | {statistics.median(wall):.{digits}f} | {min(wall):.{digits}f} | "
                     f"{max(wall):.{digits}f} | {statistics.median(timings.cpu[name]):.{digits}f} | "
                     f"{busy:.2f} |{cells}")
    lines.append("")
    if pairs is None:
        pairs = [(reference, name) for name in timings.wall
                 if name != reference and reference in timings.wall and (compare is None or name in compare)]
    for numerator, denominator in pairs:
        ratios = timings.paired_ratios(numerator, denominator)
        of_medians = statistics.median(timings.wall[numerator]) / statistics.median(timings.wall[denominator])
        cpu = timings.paired_ratios(numerator, denominator, "cpu")
        lines.append(f"- {numerator} ÷ {denominator}: **{statistics.median(ratios):.2f}** "
                     f"(paired rounds: min {min(ratios):.2f}, max {max(ratios):.2f}; "
                     f"ratio of the medians {of_medians:.2f}; on the CPU clock {spread(cpu)})")
    before, after = timings.load_before, timings.load_after
    lines.append("- load average (1, 5, 15 min) before timing " + " ".join(f"{v:.2f}" for v in before)
                 + ", after " + " ".join(f"{v:.2f}" for v in after))
    return lines


def time_to_target(train_epoch: Callable[[], None], accuracy: Callable[[], float], target: float,
                   max_epochs: int, label: str = "") -> dict:
    """Train epoch by epoch until ``accuracy()`` reaches ``target`` or ``max_epochs`` have run.

    Only ``train_epoch`` is on the clock (wall), never the evaluation. Returns ``seconds`` (of
    training up to the first epoch at the target, or of all epochs when it was not reached),
    ``epoch`` (the first epoch at the target, 1-based; None if never), ``accuracy`` (the
    last one measured) and, per epoch, ``epoch_seconds`` and ``accuracies``."""
    epoch_seconds: list[float] = []
    accuracies: list[float] = []
    while len(accuracies) < max_epochs and (not accuracies or accuracies[-1] < target):
        start = time.perf_counter()
        train_epoch()
        epoch_seconds.append(time.perf_counter() - start)
        accuracies.append(float(accuracy()))
        print(f"{label}epoch {len(accuracies)}: {epoch_seconds[-1]:.2f} s, test accuracy "
              f"{accuracies[-1]:.4f} (load {os.getloadavg()[0]:.2f})", file=sys.stderr, flush=True)
    reached = accuracies[-1] >= target
    return {"seconds": sum(epoch_seconds), "epoch": len(accuracies) if reached else None,
            "accuracy": accuracies[-1], "epoch_seconds": epoch_seconds, "accuracies": accuracies}


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB. Linux: VmHWM of /proc/self/status, which
    belongs to this program alone; ``ru_maxrss`` is not used because on Linux a child inherits
    the RSS of the parent it was forked from (the benchmark, holding every contender) and keeps
    it across exec, so every child would report at least the parent's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere (macOS: bytes)


def child_json(script: str | Path, arguments: Sequence[str], what: str = "") -> dict | None:
    """Run ``python script arguments`` in a child process (its stderr passes through, for its
    progress) and return the JSON object on the last line of its stdout; None if it failed."""
    command = [sys.executable, str(script), *arguments]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        print(f"child process for {what or ' '.join(arguments)} failed (exit status {done.returncode})",
              file=sys.stderr)
        return None
    return json.loads(lines[-1])


MEMORY_KEPT = False


def keep_freed_memory(keep: bool = True) -> None:
    """Run the benchmark as the ``barenet`` command runs (see :func:`barenet.reuse_freed_memory`);
    one process, so both libraries get the same allocator settings."""
    global MEMORY_KEPT
    if keep:
        from barenet import reuse_freed_memory

        MEMORY_KEPT = reuse_freed_memory()


def machine_lines(threads: int) -> list[str]:
    """The command, the CPU, the versions, and every thread pool threadpoolctl finds."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    lines = [f"- command: `python {' '.join(sys.argv)}`",
             f"- machine: {cpu}, {cores} cores available; threads asked for: {threads}",
             f"- Python {platform.python_version()}, NumPy {np.__version__}"]
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        lines[-1] += f", torch {torch.__version__} ({torch.get_num_threads()} threads)"
    lines.append("- thread pools (threadpoolctl): " + "; ".join(
        f"{pool.get('internal_api')} {pool.get('version') or ''} ({pool.get('user_api')}"
        f"{', kernel ' + pool['architecture'] if pool.get('architecture') else ''}, "
        f"{pool.get('num_threads')} threads, {Path(pool.get('filepath', '')).name})"
        for pool in threadpool_info()))
    kept = "freed memory kept for reuse (glibc mallopt, as the barenet command sets it), for both libraries"
    lines.append("- allocator: " + (kept if MEMORY_KEPT else "the system's defaults"))
    names = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OPENBLAS_THREAD_TIMEOUT")
    settings = {name: os.environ[name] for name in names if name in os.environ}
    if settings:
        lines.append("- environment: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return lines


class PhaseTimer:
    """Wraps methods of live objects (or functions of modules) and adds up their *exclusive*
    wall time per phase: time spent in a wrapped call made by another is counted once, in the inner one."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.children: list[float] = []
        self.restore: list[tuple[object, str, object, bool]] = []

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            self.children.append(0.0)
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.totals[phase] += elapsed - self.children.pop()
                if self.children:
                    self.children[-1] += elapsed

        self.restore.append((owner, name, original, name in vars(owner)))
        setattr(owner, name, timed)

    def unwrap(self) -> None:
        for owner, name, original, own in reversed(self.restore):
            if own:  # a module's function or an instance's own attribute: put it back
                setattr(owner, name, original)
            else:  # a method: drop the instance attribute, the class's method shows again
                delattr(owner, name)
        self.restore.clear()


def phase_table(phases: dict[str, float], total: float) -> list[str]:
    """Seconds and share per phase, largest first."""
    lines = ["| phase | seconds | share |", "|---|---|---|"]
    for name, seconds in sorted(phases.items(), key=lambda item: -item[1]):
        lines.append(f"| {name} | {seconds:.3f} | {seconds / total:.0%} |")
    return lines
