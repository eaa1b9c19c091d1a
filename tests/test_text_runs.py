"""Text runs in the run library: the baby-GPT recipe as the default, settings refused at the
door, the fixed validation windows, and sampling from a model."""

from __future__ import annotations

import numpy as np
import pytest

import barenet
from barenet.datasets.errors import DatasetError
from barenet.datasets.text import CharVocabulary
from barenet.model.generation import (
    attention_maps,
    generate,
    next_character_probabilities,
    sampling_distribution,
)
from barenet.runs.config import ConfigError, build_config
from barenet.runs.data_sources import Data
from barenet.runs.text_data import text_windows, validation_windows
from barenet.runs.training_run import build_trainer


def test_the_default_text_recipe_is_nanogpts_baby_gpt(tmp_path):
    config = build_config({"dataset": "tinyshakespeare"})
    assert (config.model, config.layers, config.heads, config.width, config.context) == ("gpt", 4, 4, 128, 64)
    assert (config.batch_size, config.steps, config.eval_every, config.dropout) == (12, 2000, 250, 0.0)
    assert (config.optimizer, config.lr, config.betas, config.weight_decay) == \
        ("adamw", 1e-3, [0.9, 0.99], 0.1)
    assert (config.max_grad_norm, config.warmup, config.min_lr, config.lr_schedule) == \
        (1.0, 100, 1e-4, "cosine")
    model = barenet.gpt(65, rng=0)
    trainer = build_trainer(config, model, tmp_path)
    assert trainer.optimizer.betas == (0.9, 0.99) and trainer.steps_per_epoch == 250
    schedule = trainer.schedule
    assert schedule.per == "step" and schedule(0) == pytest.approx(1e-5)
    assert schedule(99) == pytest.approx(1e-3) and schedule(1999) == pytest.approx(1e-4, rel=1e-3)


def test_short_runs_warm_up_for_a_twentieth_and_evaluate_at_the_end():
    config = build_config({"dataset": "text:x.txt", "steps": 40})
    assert (config.warmup, config.eval_every) == (2, 40)
    lstm = build_config({"dataset": "text:x.txt", "model": "char-lstm", "layers": [2]})
    assert (lstm.layers, lstm.width, lstm.heads, lstm.optimizer, lstm.lr, lstm.steps) == \
        (2, 256, None, "adam", 3e-3, 1000)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"activation": "tanh"}, "activation = 'tanh' does not apply to text models"),
        ({"epochs": 3}, "give --steps"),
        ({"loss": "mse"}, "loss = 'mse' does not apply to text models"),
        ({"layers": [4, 8]}, "layers is one number (transformer blocks)"),
        ({"heads": 3}, "heads must divide width: 128 wide in 3 heads"),
        ({"context": 100000}, "context must be from 1 to 4096"),
        ({"steps": 0}, "steps must be from 1"),
        ({"steps": 1000, "eval_every": 300}, "steps (1000) must be a multiple of eval_every (300)"),
        ({"model": "lenet5"}, "model 'lenet5' does not read text"),
        ({"model": "char-lstm", "heads": 4}, "heads applies to --model gpt"),
        ({"model": "char-lstm", "dropout": 0.1}, "dropout applies to --model gpt"),
        ({"batch_size": "full"}, "not full"),
        ({"val_split": 0.0}, "val_split is the fraction at the end of the text"),
        ({"warmup": 5000}, "warmup = 5000 is refused by the cosine schedule"),
        ({"optimizer": "sgd"}, "betas is a pair (beta1, beta2) for the optimizers adam, adamw"),
    ],
)
def test_text_settings_that_would_be_ignored_or_cannot_work_are_refused(settings, message):
    with pytest.raises(ConfigError) as raised:
        build_config({"dataset": "tinyshakespeare", **settings})
    assert message in str(raised.value)


@pytest.mark.parametrize("settings, message", [
    ({"steps": 100}, "steps apply to text models"),
    ({"model": "gpt"}, "--model gpt reads text"),
    ({"layers": 4}, "layers is a list of widths for mnist"),
])
def test_text_settings_are_refused_for_other_data(settings, message):
    with pytest.raises(ConfigError) as raised:
        build_config(settings)
    assert message in str(raised.value)


def text_data(text: str) -> Data:
    vocabulary = CharVocabulary.from_text(text)
    ids = vocabulary.encode(text)
    return Data("text:t.txt", ids, ids[:0], ids[:0], ids[:0], "classification", vocabulary=vocabulary)


def test_validation_windows_are_fixed_and_from_the_end_of_the_text():
    ids = np.arange(5000) % 50
    first, again = validation_windows(ids, 8, 120), validation_windows(ids, 8, 120)
    assert np.array_equal(first[0], again[0]) and first[0].shape == (120, 8)
    assert np.array_equal(first[1][:, :-1], first[0][:, 1:])  # targets: the next character
    every = validation_windows(ids[:20], 8, 120)[0]
    assert len(every) == 12  # fewer positions than asked: every window once
    config = build_config({"dataset": "text:t.txt", "context": 8, "batch_size": 3, "seed": 5})
    data = text_windows(text_data("abcdefghij" * 1000), config)
    assert data.x_test.shape == (300, 8) and data.x_train.shape == (9000 - 8, 8)
    other_seed = text_windows(text_data("abcdefghij" * 1000), build_config({**vars(config), "seed": 6}))
    assert np.array_equal(data.x_test, other_seed.x_test)


def test_a_text_too_short_for_its_context_says_what_to_change():
    config = build_config({"dataset": "text:t.txt", "context": 64})
    with pytest.raises(DatasetError, match="validation part of text:t.txt holds 30 characters"):
        text_windows(text_data("abc" * 100), config)


def test_sampling_follows_temperature_and_top_k():
    probabilities = np.array([0.5, 0.3, 0.15, 0.05])
    assert np.allclose(sampling_distribution(probabilities, 1.0, None), probabilities)
    top_two = sampling_distribution(probabilities, 1.0, 2)
    assert np.allclose(top_two, [0.625, 0.375, 0, 0])
    cold = sampling_distribution(probabilities, 0.1, None)
    assert cold[0] > 0.99


def test_generation_crops_to_the_context_and_greedy_follows_the_argmax():
    vocabulary = CharVocabulary("abcd")
    model = barenet.gpt(4, context=8, layers=1, heads=2, width=8, rng=0)
    prompt = "abcdabcdabcdab"  # longer than the context: the model reads its last 8 characters
    text = "".join(generate(model, vocabulary, prompt, 5, temperature=1.0, top_k=1, rng=0))
    ids = list(vocabulary.encode(prompt))
    for character in text:
        expected = int(np.argmax(next_character_probabilities(model, np.array(ids[-8:]))))
        assert character == vocabulary.characters[expected]
        ids.append(expected)


def test_attention_maps_are_causal_and_every_row_sums_to_one():
    model = barenet.gpt(5, context=6, layers=3, heads=2, width=8, rng=1)
    maps = attention_maps(model, np.array([0, 1, 2, 3, 4, 0]))
    assert len(maps) == 3 and maps[0].shape == (2, 6, 6)
    for weights in maps:
        assert np.allclose(weights.sum(axis=-1), 1) and np.all(np.triu(weights, 1) == 0)
    assert attention_maps(barenet.char_rnn(5, 8, context=6), np.array([0, 1])) == []  # a recurrent model
