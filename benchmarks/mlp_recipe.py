"""The MLP benchmarks' data and recipe: MNIST as uint8 rows (or same-shaped synthetic data),
and ``barenet train``'s default recipe with the learning rate held constant."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPOSITORY = Path(__file__).resolve().parent.parent
SIZES = (784, 256, 128, 10)
BATCH_SIZE = 128
LR = 1e-3
FALLBACK_RECIPE = {"sizes": SIZES, "activation": "relu", "init": "he", "optimizer": "adam", "lr": LR,
                   "batch_size": BATCH_SIZE, "scale": 1 / 255, "dropout": 0.2}


# ---- data --------------------------------------------------------------------------------------------


def load_data(data_dir: str | None, synthetic: bool = False):
    """``(x, y), (x_test, y_test), source``: uint8 rows of 784 pixels and int64 labels."""
    if not synthetic:
        from barenet.datasets import load_mnist

        folders = [data_dir] if data_dir else [None, REPOSITORY.parent / "shared" / "data"]
        for folder in folders:
            try:
                (x, y), (x_test, y_test) = load_mnist(data_dir=folder, download=False)
            except Exception:  # noqa: BLE001 - absent or unreadable: try the next place
                continue
            return (x.reshape(len(x), -1), y), (x_test.reshape(len(x_test), -1), y_test), "MNIST"
    return (*synthetic_mnist(), "synthetic (MNIST not found)")


def synthetic_mnist(seed: int = 0):
    """MNIST-shaped data (60,000 + 10,000 uint8 rows of 784, ten classes) that a MLP can learn."""
    rng = np.random.default_rng(seed)
    prototypes = rng.uniform(0, 255, size=(10, 784)).astype(np.float32)
    splits = []
    for n in (60_000, 10_000):
        labels = rng.integers(0, 10, n)
        pixels = prototypes[labels] + rng.normal(0, 160, size=(n, 784)).astype(np.float32)
        splits.append((np.clip(pixels, 0, 255).astype(np.uint8), labels.astype(np.int64)))
    return splits[0], splits[1]


# ---- the default recipe ------------------------------------------------------------------------------


def default_recipe() -> tuple[dict, str]:
    """The default MNIST recipe of ``barenet train`` (``barenet.runs.config.RunConfig``'s defaults),
    else the fallback. The learning rate is held constant for both contenders: ``barenet train``
    anneals it over its planned epochs (``lr_schedule``), which a run stopped at a target
    accuracy does not have."""
    try:
        from barenet.optim import DEFAULT_LR
        from barenet.runs.config import HIDDEN_LAYERS, RunConfig
    except ImportError:
        return dict(FALLBACK_RECIPE), "benchmark fallback (no barenet.config)"
    defaults = RunConfig()
    recipe = dict(FALLBACK_RECIPE)
    recipe.update(
        sizes=(SIZES[0], *HIDDEN_LAYERS["mnist"], SIZES[-1]), activation=defaults.activation,
        optimizer=defaults.optimizer, lr=defaults.lr or DEFAULT_LR[defaults.optimizer],
        batch_size=defaults.batch_size, dropout=defaults.dropout,
    )
    if defaults.init is not None:
        recipe["init"] = defaults.init
    return recipe, f"barenet train defaults, lr held constant instead of {defaults.lr_schedule}"
