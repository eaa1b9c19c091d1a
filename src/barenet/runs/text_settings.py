"""The settings of a text run (``--dataset tinyshakespeare`` or ``text:PATH``): its defaults,
nanoGPT's "baby GPT" recipe, and the checks that keep settings from being silently ignored.

The default recipe (``--model gpt``) is nanoGPT's ``shakespeare_char`` on a CPU: 4 layers,
4 heads, width 128, context 64, batch 12, 2,000 steps, no dropout, AdamW at lr 1e-3 with
betas (0.9, 0.99) and weight decay 0.1 (on matrices only), the gradient norm clipped to 1,
100 steps of linear warm-up then a cosine decay to 1e-4 at the last step. ``--model
char-lstm`` is the char-rnn recipe: one LSTM of 256 units, Adam at 3e-3, batch 32, 1,000 steps.

A text run counts optimiser steps (``steps``), evaluating every ``eval_every`` steps on a
fixed set of validation windows. ``layers`` is one number for a text model (transformer
blocks, or stacked LSTMs) and ``width`` the embedding width (gpt) or the hidden size
(char-lstm). Settings of the image and table models (activation, initialiser, preprocessing,
epochs, ...) are refused for text, and the text settings for other data.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError

TEXT_DATASETS = ("tinyshakespeare", "text")
TEXT_MODELS = ("gpt", "char-lstm")
TEXT_KEYS = ("steps", "eval_every", "context", "heads", "width")
"""Settings that only a text run has."""
MAX_CONTEXT, MAX_LAYERS, MAX_WIDTH = 4096, 128, 16384
"""Far beyond what trains on a CPU, but not a typo's billion."""
BABY_GPT_WARMUP, BABY_GPT_EVAL_EVERY = 100, 250

TEXT_DEFAULTS: dict[str, object] = {
    "model": "gpt",
    "optimizer": "adamw",
    "lr": 1e-3,
    "betas": [0.9, 0.99],
    "weight_decay": 0.1,
    "max_grad_norm": 1.0,
    "lr_schedule": "cosine",
    "min_lr": 1e-4,
    "batch_size": 12,
    "steps": 2000,
    "dropout": 0.0,
    "epochs": None,
    "activation": None,
    "bias_init": None,
    "preprocess": None,
}
MODEL_DEFAULTS: dict[str, dict[str, object]] = {
    "gpt": {"layers": 4, "heads": 4, "width": 128, "context": 64},
    "char-lstm": {"layers": 1, "width": 256, "context": 64, "optimizer": "adam", "lr": 3e-3,
                  "betas": None, "weight_decay": None, "min_lr": None, "warmup": 0, "batch_size": 32,
                  "steps": 1000},
}
FIXED_FOR_TEXT: dict[str, tuple[object, str]] = {
    "activation": (None, "gpt uses GELU inside its blocks, char-lstm the LSTM's own sigmoid and tanh"),
    "output_activation": ("softmax", "a text model ends in a softmax over the characters"),
    "loss": ("cross_entropy", "a text model learns the next character with cross_entropy"),
    "init": (None, "gpt starts as GPT-2 does (N(0, 0.02²)), char-lstm as PyTorch's LSTM"),
    "bias_init": (None, "biases of a text model start at zero"),
    "preprocess": (None, "text is read as character ids"),
    "epochs": (None, "a text run counts optimiser steps: give --steps"),
}
"""Settings a text model cannot take other values of: the value it has, and why."""


def is_text(kind: str) -> bool:
    return kind in TEXT_DATASETS


def text_values(given: Mapping[str, object]) -> dict[str, object]:
    """The settings of a text run: the text defaults, the model's, then ``given``; ``layers``
    as one number, the warm-up and the evaluation interval fitted to short runs when not given."""
    model = given.get("model", TEXT_DEFAULTS["model"])
    values = {**TEXT_DEFAULTS, **MODEL_DEFAULTS.get(model, {}), **given}
    if values.get("lr_schedule") != "cosine":  # the baby GPT's warm-up and floor belong to its cosine
        values |= {key: given.get(key) for key in ("warmup", "min_lr")}
    layers = values.get("layers")
    if isinstance(layers, (list, tuple)) and len(layers) == 1 and isinstance(layers[0], int):
        values["layers"] = layers[0]  # --layers 4
    steps = values.get("steps")
    if isinstance(steps, int) and not isinstance(steps, bool):
        if values.get("warmup") is None and values.get("lr_schedule") == "cosine":
            values["warmup"] = min(BABY_GPT_WARMUP, steps // 20)  # a 20th of a short run
        if values.get("eval_every") is None:
            values["eval_every"] = BABY_GPT_EVAL_EVERY
        if isinstance(values["eval_every"], int) and values["eval_every"] > steps:
            values["eval_every"] = steps  # at least the evaluation at the end
    return values


def check_text_settings(config, given: Mapping[str, object]) -> None:
    """Refuse text settings that do not fit together or that the model would ignore."""
    if config.model not in TEXT_MODELS:
        raise ConfigError(f"model {config.model!r} does not read text; for {config.dataset} use --model "
                          f"{' or --model '.join(TEXT_MODELS)}")
    for key, (value, reason) in FIXED_FOR_TEXT.items():
        if given.get(key) is not None and given[key] != value:
            raise ConfigError(f"{key} = {given[key]!r} does not apply to text models ({reason}); remove it")
    if not isinstance(config.layers, int) or isinstance(config.layers, bool):
        raise ConfigError(f"for a text model, layers is one number ({describe_layers(config.model)}), "
                          f"e.g. --layers 4; got {config.layers!r}")
    if config.batch_size == "full":
        raise ConfigError("a text run draws batches of random windows: give --batch-size N, not full")
    ranges = {"layers": MAX_LAYERS, "width": MAX_WIDTH, "context": MAX_CONTEXT, "steps": None,
              "eval_every": None}
    for key, largest in ranges.items():
        value = getattr(config, key)
        if value < 1 or (largest is not None and value > largest):
            raise ConfigError(f"{key} must be from 1 to {largest or 'any number'}; got {value}")
    if config.steps % config.eval_every:
        divisors = [n for n in (250, 200, 100, 50, 10) if config.steps % n == 0]
        hint = f"e.g. --eval-every {divisors[0]}" if divisors else "or change --steps"
        raise ConfigError(f"steps ({config.steps}) must be a multiple of eval_every ({config.eval_every}), "
                          f"so that the run ends with an evaluation; {hint}")
    if not 0 < config.val_split < 1:
        raise ConfigError(f"val_split is the fraction at the end of the text that validates, in (0, 1); "
                          f"got {config.val_split}")
    if config.model == "gpt":
        if config.heads < 1 or config.width % config.heads:
            raise ConfigError(f"heads must divide width: {config.width} wide in {config.heads} heads leaves "
                              "a remainder; e.g. --heads 4 --width 128")
    elif config.heads is not None:
        raise ConfigError(f"heads applies to --model gpt, not {config.model}")
    elif config.dropout:
        raise ConfigError(f"dropout applies to --model gpt; {config.model} has none (give --dropout 0)")


def check_not_text(config) -> None:
    """Refuse the text settings for data that is not text."""
    given = [key for key in TEXT_KEYS if getattr(config, key) is not None]
    if config.model in TEXT_MODELS:
        raise ConfigError(f"--model {config.model} reads text: give --dataset tinyshakespeare or text:PATH, "
                          f"not {config.dataset}")
    if given:
        raise ConfigError(f"{', '.join(given)} apply to text models (--dataset tinyshakespeare or "
                          f"text:PATH), not {config.dataset}")
    if isinstance(config.layers, int):
        raise ConfigError(f"layers is a list of widths for {config.dataset}, inputs to outputs, e.g. "
                          f"[784, 256, 10]; got {config.layers}")


def describe_layers(model: str) -> str:
    return "transformer blocks" if model == "gpt" else "LSTM layers stacked"


def evaluations(config) -> int:
    """How many times a text run evaluates (its "epochs"): ``steps / eval_every``."""
    return config.steps // config.eval_every
