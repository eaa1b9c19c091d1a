"""Progress reporting: a tqdm bar per epoch on a terminal, one line per epoch in logs."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def format_logs(logs: dict[str, float]) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in logs.items())


class Progress:
    """Shows training progress.

    Args:
        verbose: 0 prints nothing; 1 shows a live bar per epoch when standard output is a
            terminal (or a notebook) and one line per epoch otherwise; 2 always prints lines.
        every: with lines, print only every ``every``-th epoch (and the last).
    """

    def __init__(self, verbose: int = 1, every: int = 1) -> None:
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose must be 0, 1 or 2; got {verbose!r}")
        if every < 1:
            raise ValueError(f"verbose_every must be >= 1; got {every}")
        self.verbose, self.every = verbose, every
        self.use_bar = verbose == 1 and (sys.stdout.isatty() or "ipykernel" in sys.modules)
        self.bar = None

    def start_epoch(self, epoch: int, epochs: int, n_batches: int) -> None:
        if self.use_bar:
            self.bar = tqdm(total=n_batches, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=True)

    def update_batch(self, loss: float, accuracy: float | None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if self.bar.n % 20 == 0 or self.bar.n == self.bar.total:
                shown = {"loss": f"{loss:.4f}"}
                if accuracy is not None:
                    shown["acc"] = f"{accuracy:.4f}"
                self.bar.set_postfix(shown, refresh=False)

    def end_epoch(self, epoch: int, epochs: int, logs: dict[str, float], seconds: float) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=True)
            self.bar.close()
            self.bar = None
        elif self.verbose and ((epoch + 1) % self.every == 0 or epoch + 1 == epochs):
            print(f"epoch {epoch + 1}/{epochs}  {format_logs(logs)}  ({seconds:.1f} s)", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def message(self, text: str) -> None:
        if self.verbose:
            (tqdm.write if self.bar is not None else print)(text)
