"""Sequence models as whole models: summary, files, checkpoints, threads, and the char-rnn recipe."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import train_beside_predicting_threads

import barenet
from barenet import Sequential, load
from barenet.datasets import CharVocabulary
from barenet.errors import ModelFileError
from barenet.layers import (
    GELU,
    GRU,
    RNN,
    Dense,
    Embedding,
    LayerNorm,
    MultiHeadAttention,
    PositionalEmbedding,
    Residual,
    Softmax,
)
from barenet.losses import CrossEntropy
from barenet.saving.archive import read_npz, write_npz_atomic
from barenet.training import Trainer, load_checkpoint, save_checkpoint

VOCABULARY = 11


def transformer(width: int = 16, heads: int = 2, context: int = 8, rng: int = 0) -> Sequential:
    return Sequential(
        Embedding(VOCABULARY, width, rng=rng), PositionalEmbedding(context, width, rng=rng + 1),
        Residual(LayerNorm(width), MultiHeadAttention(width, heads, causal=True, rng=rng + 2)),
        Residual(LayerNorm(width), Dense(width, 4 * width, rng=rng + 3), GELU(),
                 Dense(4 * width, width, rng=rng + 4)),
        LayerNorm(width), Dense(width, VOCABULARY, rng=rng + 5), Softmax(),
        input_shape=(context,),
    )


def ids(n: int = 4, t: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCABULARY, size=(n, t))


def test_summary_shows_each_block_and_the_layers_inside_it():
    text = transformer().summary()
    assert "Residual(LayerNorm, MultiHeadAttention)" in text
    assert "2.1  " in text and "    MultiHeadAttention(embed_dim=16, num_heads=2, causal=True)" in text
    assert "(n, 8, 64)" in text  # the MLP's hidden width, inside the second block
    total = sum(p.size for p in transformer().parameters())
    assert f"total parameters: {total:,}" in text


@pytest.mark.parametrize("build", [
    transformer,
    lambda: barenet.char_rnn(VOCABULARY, 12, embedding_dim=6, layers=2, context=8, rng=0),
    lambda: barenet.char_rnn(VOCABULARY, 12, cell="gru", context=8, rng=0),
    lambda: Sequential(Embedding(VOCABULARY, 5, rng=0),
                       RNN(5, 6, nonlinearity="relu", return_sequences=False, rng=0),
                       Dense(6, 3, rng=0), Softmax(), input_shape=(8,)),
], ids=["transformer", "lstm-2", "gru", "rnn-last"])
def test_a_saved_and_reloaded_sequence_model_predicts_bit_identically(tmp_path, build):
    model = build()
    model.metadata["vocabulary"] = CharVocabulary("abcdefghijk").to_dict()
    path = model.save(tmp_path / "model.npz")
    again = load(path)
    np.testing.assert_array_equal(again.predict_proba(ids()), model.predict_proba(ids()))
    np.testing.assert_array_equal(again.get_weights(), model.get_weights())
    assert again.summary() == model.summary()
    assert CharVocabulary.from_dict(again.metadata["vocabulary"]).characters == "abcdefghijk"


def test_a_block_nested_too_deep_is_refused_before_anything_is_built(tmp_path):
    model = Sequential(Residual(Dense(4, 4, rng=0)), input_shape=(4,))
    path = model.save(tmp_path / "model.npz")
    description, arrays = read_npz(path)
    entry = description["layers"][0]
    for _ in range(12):
        entry = {"type": "Residual", "config": {}, "layers": [entry]}
    description["layers"] = [entry]
    write_npz_atomic(tmp_path / "deep.npz", arrays, description)
    with pytest.raises(ModelFileError, match="nests blocks deeper than 8"):
        load(tmp_path / "deep.npz")


def test_a_sequence_layer_with_arrays_of_the_wrong_shape_is_refused(tmp_path):
    model = barenet.char_rnn(VOCABULARY, 6, context=4, rng=0)
    path = model.save(tmp_path / "model.npz")
    description, arrays = read_npz(path)
    description["layers"][1]["config"]["hidden_size"] = 7
    write_npz_atomic(tmp_path / "edited.npz", arrays, description)
    expected = "layers.1.weight_ih_l0 has shape \\(24, 6\\) but the description implies \\(28, 6\\)"
    with pytest.raises(ModelFileError, match=expected):
        load(tmp_path / "edited.npz")


def train_steps(trainer: Trainer, rng: np.random.Generator, steps: int) -> None:
    loss = CrossEntropy()
    for _ in range(steps):
        x = rng.integers(0, VOCABULARY, size=(3, 8))
        trainer.model.compute_gradients(x, np.roll(x, -1, axis=1), loss)
        trainer.optimizer.step()


def test_a_checkpoint_of_a_transformer_resumes_bit_identically(tmp_path):
    trainer = Trainer(transformer(), loss="cross_entropy", optimizer="adam", lr=1e-2, seed=0)
    rng = np.random.default_rng(5)
    train_steps(trainer, rng, 3)
    save_checkpoint(trainer, tmp_path / "checkpoint.npz")
    state = rng.bit_generator.state
    train_steps(trainer, rng, 3)
    straight = trainer.model.get_weights()
    resumed = Trainer(transformer(rng=9), loss="cross_entropy", optimizer="adam", lr=1e-2, seed=0)
    load_checkpoint(resumed, tmp_path / "checkpoint.npz")
    rng.bit_generator.state = state
    train_steps(resumed, rng, 3)
    np.testing.assert_array_equal(resumed.model.get_weights(), straight)


def test_threads_predicting_while_a_sequence_model_trains_see_the_same_answers():
    frozen = transformer()
    probe = ids(16, 8, seed=1)
    expected = frozen.predict_proba(probe)
    attention = frozen.layers[2].layers[1]
    window = np.random.default_rng(2).standard_normal((2, 8, 16)).astype(np.float32)
    pictures = attention.attention_weights(window)
    errors: list[str] = []

    def predict_many() -> None:
        for _ in range(10):
            if not np.array_equal(frozen.predict_proba(probe), expected):
                errors.append("a concurrent prediction differed")
            if not np.array_equal(attention.attention_weights(window), pictures):
                errors.append("concurrent attention weights differed")

    def train(model: Sequential) -> np.ndarray:
        trainer = Trainer(model, loss="cross_entropy", optimizer="adam", lr=1e-2, seed=0)
        train_steps(trainer, np.random.default_rng(0), 4)
        return model.get_weights()

    train_beside_predicting_threads(lambda: transformer(rng=3), train, probe, predict_many, threads=4)
    assert not errors


def test_prediction_leaves_nothing_on_the_layers():
    model = Sequential(Embedding(VOCABULARY, 6, rng=0), GRU(6, 6, rng=0), Dense(6, VOCABULARY, rng=0),
                       input_shape=(8,))
    before = {id(layer): dict(vars(layer)) for layer in model.layers}
    model.predict(ids())
    model.forward_with_cache(ids())
    for layer in model.layers:
        assert vars(layer).keys() == before[id(layer)].keys()


def test_a_char_rnn_learns_to_continue_a_repeating_text():
    vocabulary = CharVocabulary.from_text("abcde")
    text = vocabulary.encode("abcde" * 40)
    model = barenet.char_rnn(vocabulary.size, 16, context=10, rng=0)
    optimizer = barenet.optim.Adam(model.parameters(), lr=0.02)
    loss = CrossEntropy()
    rng = np.random.default_rng(0)
    for _ in range(60):
        starts = rng.integers(0, len(text) - 11, size=8)
        x = text[starts[:, None] + np.arange(10)]
        model.compute_gradients(x, text[starts[:, None] + np.arange(1, 11)], loss)
        optimizer.step()
    predicted = model.predict(vocabulary.encode("abcdeab")[None])[0]
    assert vocabulary.decode(predicted[2:]) == "deabc"


def test_fit_and_evaluate_take_one_target_per_position():
    model = barenet.char_rnn(VOCABULARY, 8, context=6, rng=0)
    x = ids(40, 6)
    y = np.roll(x, -1, axis=1)
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0, validation_data=(x, y))
    results = model.evaluate(x, y)
    assert results["loss"] == pytest.approx(history.history["val_loss"][-1])
    assert results["accuracy"] == pytest.approx(np.mean(model.predict(x) == y))
    assert 0 <= history.history["accuracy"][-1] <= 1
    with pytest.raises(ValueError, match="one class id per position, shape \\(40, 6\\)"):
        model.evaluate(x, y[:, :5])
