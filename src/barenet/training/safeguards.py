"""Safeguards: the ways a run can fail while every number looks fine, said in words.

Each check returns a message (or None) and leaves deciding what to do to the trainer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..layers import Embedding, Rescale, Standardize

if TYPE_CHECKING:
    from ..model import Sequential


def divergence_message(what: str, epoch: int, batch: int, lr: float, kept: str) -> str:
    """Why training stopped with non-finite numbers, and what usually fixes it."""
    return (
        f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {what}. "
        f"This usually means the learning rate ({lr:g}) is too high or the inputs "
        f"are not scaled; try a smaller learning rate, scale the inputs to [0, 1] or standardise "
        f"them, or clip gradients (max_grad_norm, --max-grad-norm). The model keeps {kept}."
    )


def input_scale_message(model: Sequential, x: np.ndarray) -> str | None:
    """Inputs far from unit scale (e.g. 0-255 pixels) that no layer rescales."""
    if any(isinstance(layer, (Rescale, Standardize, Embedding)) for layer in model.layers) or not x.size:
        return None
    sample = x[:1000]  # enough to tell 0-255 pixels from scaled data, without a pass over all
    typical = float(np.sqrt(np.mean(np.square(sample, dtype=np.float64))))  # root mean square
    if typical <= 10:
        return None
    largest = max(float(sample.max()), -float(sample.min()))
    return (
        f"the inputs are not scaled: values reach {largest:g} (root mean square {typical:.3g}). "
        "Large inputs saturate units and make training fail; scale them to [0, 1] (e.g. divide "
        "pixels by 255), standardise them, or put a Rescale/Standardize layer first."
    )


def collapse_message(model: Sequential, x: np.ndarray, y: np.ndarray, epoch: int,
                     n_samples: int = 2000) -> str | None:
    """A classifier that, at the end of an epoch, predicts one class for (nearly) all of the
    first ``n_samples`` training samples although the data are not that lopsided."""
    if model.task != "classification" or len(y) < 100 or np.ndim(y) != 1:
        return None  # a language model that predicts its commonest character early on is learning
    predicted_counts = np.bincount(model.predict(x[:n_samples]))
    top_share = predicted_counts.max() / predicted_counts.sum()
    true_top_share = np.bincount(y).max() / len(y)
    if top_share <= 0.9 or true_top_share >= 0.6:
        return None
    return (
        f"after epoch {epoch + 1} the network predicts class {int(predicted_counts.argmax())} for "
        f"{top_share:.0%} of the training samples, although no class holds more than "
        f"{true_top_share:.0%} of them: the numbers are finite, but the network has collapsed to "
        "one class or is barely learning. Usual causes: unscaled inputs (scale to [0, 1] or "
        "standardise), a learning rate too high (or, for slow sigmoid networks, too low), or a "
        "summed instead of averaged loss."
    )
