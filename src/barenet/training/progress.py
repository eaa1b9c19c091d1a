"""Progress reporting: on a terminal a tqdm bar per epoch, or one bar for the whole run when
epochs are short (fewer than RUN_BAR_BATCHES batches: a small table trained for hundreds of
epochs); one line per epoch in logs."""

from __future__ import annotations

import shutil
import sys

from tqdm.auto import tqdm

from ..errors import BarenetError

IMPORTANCE = ("loss", "val_loss", "accuracy", "val_accuracy", "r2", "val_r2", "lr", "mae", "val_mae", "mse")
"""Fields of a progress line, most important first; on a narrow terminal the last go first."""
BAR_SPACE = 50  # columns a tqdm bar needs besides its postfix
RUN_BAR_BATCHES = 100  # epochs of fewer batches share one bar, counting epochs


def format_logs(logs: dict[str, float], width: int | None = None) -> str:
    """``loss 0.1234  accuracy 0.9650 ...``, in at most ``width`` characters: the least
    important fields (see IMPORTANCE; unknown ones before them) are dropped until it fits."""
    shown = dict(logs)
    ranked = sorted(shown, key=lambda name: IMPORTANCE.index(name) if name in IMPORTANCE else len(IMPORTANCE))
    text = "  ".join(f"{name} {value:.4f}" for name, value in shown.items())
    while width is not None and len(text) > width and len(shown) > 1:
        del shown[ranked.pop()]
        text = "  ".join(f"{name} {value:.4f}" for name, value in shown.items())
    return text


def terminal_width() -> int | None:
    """The terminal's width in columns, or None when output goes to a file or pipe (kept whole)."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


class Progress:
    """Shows training progress.

    Args:
        verbose: 0 prints nothing; 1 shows a live bar per epoch when standard output is a
            terminal (or a notebook) and one line per epoch otherwise; 2 always prints lines.
        every: with lines, print only every ``every``-th epoch (and the last).
        steps_per_epoch: when an epoch is a fixed number of steps (language models), progress
            is told in steps: ``step 250/2000`` rather than ``epoch 1/8``.
    """

    def __init__(self, verbose: int = 1, every: int = 1, steps_per_epoch: int | None = None) -> None:
        if verbose not in (0, 1, 2):
            raise BarenetError(f"verbose must be 0, 1 or 2; got {verbose!r}")
        if every < 1:
            raise BarenetError(f"verbose_every must be >= 1; got {every}")
        self.verbose, self.every = verbose, every
        self.use_bar = verbose == 1 and (sys.stdout.isatty() or "ipykernel" in sys.modules)
        self.bar = None
        self.steps_per_epoch = steps_per_epoch
        self.whole_run = False  # the bar counts epochs, not batches

    def label(self, epoch: int, epochs: int) -> str:
        """``epoch 3/15``, or ``step 750/2000`` (the step the epoch ends at)."""
        if self.steps_per_epoch is None:
            return f"epoch {epoch + 1}/{epochs}"
        return f"step {(epoch + 1) * self.steps_per_epoch}/{epochs * self.steps_per_epoch}"

    def start_epoch(self, epoch: int, epochs: int, n_batches: int) -> None:
        if not self.use_bar or self.whole_run:
            return
        if n_batches < RUN_BAR_BATCHES and self.steps_per_epoch is None:  # many short epochs: one bar
            self.bar = tqdm(total=epochs, initial=epoch, desc="training", unit="epoch", leave=True)
            self.whole_run = True
        else:
            unit = "batch" if self.steps_per_epoch is None else "step"
            self.bar = tqdm(total=n_batches, desc=self.label(epoch, epochs), unit=unit, leave=True)

    def update_batch(self, loss: float, accuracy: float | None) -> None:
        if self.bar is not None and not self.whole_run:
            self.bar.update(1)
            if self.bar.n % 20 == 0 or self.bar.n == self.bar.total:
                shown = {"loss": f"{loss:.4f}"}
                if accuracy is not None:
                    shown["acc"] = f"{accuracy:.4f}"
                self.bar.set_postfix(shown, refresh=False)

    def end_epoch(self, epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
        if self.whole_run:
            width = terminal_width()
            self.bar.set_postfix_str(format_logs(logs, width and width - BAR_SPACE), refresh=False)
            self.bar.update(1)
        elif self.bar is not None:
            width = terminal_width()
            self.bar.set_postfix_str(format_logs(logs, width and width - BAR_SPACE), refresh=True)
            self.bar.close()
            self.bar = None
        elif self.verbose and ((epoch + 1) % self.every == 0 or epoch + 1 == epochs):
            head, tail = f"{self.label(epoch, epochs)}  ", f"  ({seconds:.1f} s)"
            width = terminal_width()
            print(f"{head}{format_logs(logs, width and width - len(head) - len(tail))}{tail}", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        self.whole_run = False

    def message(self, text: str) -> None:
        if self.verbose:
            (tqdm.write if self.bar is not None else print)(text)
