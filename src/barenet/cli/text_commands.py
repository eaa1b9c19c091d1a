"""The command line for text models: ``barenet generate``, and what ``evaluate`` and
``predict`` do with a model trained on text (found by the vocabulary in its metadata).

    barenet generate RUN --prompt "ROMEO:" --length 500 --temperature 0.8 --top-k 40 --seed 0
    barenet evaluate RUN          # loss in nats per character and perplexity, fixed windows
    barenet predict RUN --text "ROMEO:"   # the likeliest next characters
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

from ..datasets.errors import DatasetError
from ..errors import ConfigError
from ..model import Sequential, load
from ..model.generation import (
    context_length,
    encode_prompt,
    generate,
    model_vocabulary,
    next_character_probabilities,
)
from ..runs.config import build_config
from ..runs.data_sources import load_data
from ..runs.run_folders import model_path, run_settings
from ..runs.text_data import text_windows
from ..runs.text_plots import shown
from ..runs.text_run import text_scores

MODEL_FILE, CONFIG_FILE = "model.npz", "config.toml"
EXIT_USAGE = 2


def is_text_model(model: Sequential) -> bool:
    return isinstance(model.metadata, dict) and model.metadata.get("vocabulary") is not None


def prompt_refused(option: str, error: DatasetError) -> int:
    """A prompt the model cannot read: one error line, the exit status of a bad command line."""
    print(f"barenet: error: {option}: {error}", file=sys.stderr)
    return EXIT_USAGE


def command_generate(arguments: argparse.Namespace) -> int:
    path = model_path(arguments.model)
    model = load(path)
    vocabulary = model_vocabulary(model, str(path))
    try:
        encode_prompt(vocabulary, arguments.prompt)
    except DatasetError as error:
        return prompt_refused("--prompt", error)
    top_k = arguments.top_k or None  # 0: every character
    sys.stdout.write(arguments.prompt)
    for character in generate(model, vocabulary, arguments.prompt, arguments.length, arguments.temperature,
                              top_k, arguments.seed):
        sys.stdout.write(character)
        sys.stdout.flush()  # character by character, as it is written
    sys.stdout.write("\n")
    return 0


def evaluate_text(model: Sequential, path: Path, dataset: str | None, data_dir: str | None) -> int:
    """Validation loss (nats per character, the mean over the fixed validation windows) and
    perplexity: the windows of the run's config.toml, or of the defaults for ``dataset``."""
    settings = run_settings(path)
    dataset = dataset or settings.get("dataset")
    if dataset is None:
        raise ConfigError(f"which text should {path} be evaluated on? There is no config.toml beside it; "
                          "give --dataset tinyshakespeare or --dataset text:PATH")
    given = {"dataset": dataset, "context": context_length(model)}
    config = build_config({**settings, **given} if settings else given)
    vocabulary = model_vocabulary(model, str(path))
    data = load_data(config.dataset, data_dir or config.data_dir)
    if data.vocabulary != vocabulary:  # read the text with the model's characters
        ids = vocabulary.encode(data.vocabulary.decode(data.x_train))
        data = dataclasses.replace(data, x_train=ids, vocabulary=vocabulary)
    data = text_windows(data, config)
    scores = text_scores(model, data.x_test, data.y_test)
    print(f"{data.name}: {len(data.x_test):,} fixed validation windows of {config.context} characters "
          f"(the last {config.val_split:.0%} of the text)")
    print(f"validation loss {scores['loss']:.4f} nats per character  perplexity {scores['perplexity']:.4f}  "
          f"accuracy {scores['accuracy']:.4f}")
    return 0


def predict_text(model: Sequential, path: Path, arguments: argparse.Namespace) -> int:
    """The likeliest next characters after ``--text``, with their probabilities."""
    if arguments.files or arguments.text is None:
        raise ConfigError(f"{path} is a text model: give the text to continue with --text \"ROMEO:\", "
                          "not files")
    vocabulary = model_vocabulary(model, str(path))
    try:
        ids = encode_prompt(vocabulary, arguments.text)
    except DatasetError as error:
        return prompt_refused("--text", error)
    probabilities = next_character_probabilities(model, ids)
    likeliest = probabilities.argsort()[::-1][: arguments.top or 10]
    top = [{"character": vocabulary.characters[index], "probability": round(float(probabilities[index]), 6)}
           for index in likeliest]
    if arguments.json:
        print(json.dumps({"input": arguments.text, "top": top}, indent=2))
        return 0
    print(f"the next character after {arguments.text[-40:]!r}:")
    for entry in top:
        print(f"  {shown(entry['character'])!r:>6}  {entry['probability']:.4f}")
    return 0
