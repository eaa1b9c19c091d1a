"""The pictures of a text run: the loss curves over optimiser steps, and where every attention
head of every layer looks in one validation window (a layers × heads grid)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from .plots import new_figure, save_figure

TICK_CHARACTERS = 24
"""Windows up to this long are labelled with their characters; longer ones with positions."""


def shown(text: str) -> str:
    """``text`` with line breaks and tabs made visible, for titles and tick labels."""
    return text.replace("\n", "↵").replace("\t", "→")


def plot_text_history(history: dict[str, list[float]], eval_every: int, path: str | Path,
                      vocabulary_size: int | None = None) -> Path:
    """Training loss (the mean over the steps since the last evaluation) and validation loss
    (the fixed validation windows) at each evaluation, against optimiser steps."""
    figure = new_figure(figsize=(6.5, 4.2))
    axes = figure.add_subplot()
    for name, label in (("loss", "training (mean since the last evaluation)"),
                        ("val_loss", "validation (fixed windows)")):
        values = history.get(name) or []
        steps = [eval_every * (index + 1) for index in range(len(values))]
        axes.plot(steps, values, label=label, marker="o" if len(values) < 40 else None)
    if vocabulary_size:
        axes.axhline(math.log(vocabulary_size), color="grey", linestyle=":", linewidth=1,
                     label=f"uniform guess: ln {vocabulary_size} = {math.log(vocabulary_size):.2f}")
    final = (history.get("val_loss") or [None])[-1]
    title = "loss, nats per character" + (f" (final validation {final:.4f})" if final is not None else "")
    axes.set_title(title)
    axes.set_xlabel("optimiser step")
    axes.set_ylabel("cross-entropy (nats per character)")
    axes.set_xlim(left=0)
    axes.grid(alpha=0.3)
    axes.legend()
    return save_figure(figure, path)


def plot_attention(maps: list[np.ndarray], text: str, path: str | Path) -> Path:
    """Every head of every layer: ``maps[layer]`` is ``(heads, t, t)``, row s the weights with
    which the character at position s (the query) looked at each position (the key) of ``text``."""
    layers, heads, length = len(maps), maps[0].shape[0], maps[0].shape[-1]
    size = 2.6 if length <= TICK_CHARACTERS else 2.3
    figure = new_figure(figsize=(size * heads + 1.4, size * layers + 1.4), layout="constrained")
    grid = figure.subplots(layers, heads, squeeze=False, sharex=True, sharey=True)
    image = None
    if length <= TICK_CHARACTERS:
        ticks, labels = list(range(length)), [shown(character) for character in text]
    else:
        ticks = list(range(0, length, max(1, length // 4)))
        labels = [str(tick) for tick in ticks]
    for layer in range(layers):
        for head in range(heads):
            axes = grid[layer, head]
            image = axes.imshow(maps[layer][head], cmap="viridis", vmin=0.0, vmax=1.0,
                                interpolation="nearest")
            axes.set_xticks(ticks, labels, fontsize=7)
            axes.set_yticks(ticks, labels, fontsize=7)
            if layer == 0:
                axes.set_title(f"head {head + 1}", fontsize=10)
            if head == 0:
                axes.set_ylabel(f"layer {layer + 1}\nquery position", fontsize=9)
            if layer == layers - 1:
                axes.set_xlabel("key position", fontsize=9)
    figure.colorbar(image, ax=grid, shrink=0.6, label="attention weight")
    wrapped = textwrap.fill(shown(text), width=max(40, 14 * heads))
    figure.suptitle(f"attention of every head on a validation window ({length} characters):\n{wrapped}",
                    fontsize=9)
    return save_figure(figure, path)
