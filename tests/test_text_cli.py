"""Text models on the command line, end to end: train (gpt, char-lstm) on a small text file the
test writes, the run folder, resume after an interruption, generate, evaluate, predict."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA_DIR, assert_clean_error, assert_png, barenet, cli_environment
from PIL import Image

import barenet as bn
from barenet.runs.config import build_config, read_toml
from barenet.runs.run_folders import stored_config
from barenet.training.callbacks import read_history_csv

TINY = ("--layers", 2, "--width", 16, "--heads", 2, "--context", 16, "--batch-size", 4)
WORDS = ("ROMEO", "JULIET", "the", "night", "is", "sweet", "and", "my", "love", "doth", "sing", "to", "thee")

# barenet, with Ctrl-C arriving (as SIGINT, handled as a user's) right after optimiser step
# BARENET_TEST_STOP_AT: an interruption in the middle of an evaluation interval, every time.
RUNNER = r'''
import os, signal, sys
from barenet.training.trainer import Trainer
stop_at, accumulate = int(os.environ["BARENET_TEST_STOP_AT"]), Trainer._accumulate

def accumulate_and_stop(self, *arguments):
    accumulate(self, *arguments)
    if self.step == stop_at:
        os.kill(os.getpid(), signal.SIGINT)

Trainer._accumulate = accumulate_and_stop
from barenet.cli.main import main
sys.exit(main(sys.argv[1:]))
'''


def write_corpus(path: Path, n_lines: int = 300) -> Path:
    """A small play-like text (names, a colon, a line of words), the same every time."""
    rng = np.random.default_rng(0)
    lines = [f"{WORDS[rng.integers(2)]}:\n{' '.join(rng.choice(WORDS[2:], 6))}.\n" for _ in range(n_lines)]
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A tiny GPT trained for 30 steps, evaluated every 10: (folder, CompletedProcess)."""
    root = tmp_path_factory.mktemp("text")
    write_corpus(root / "corpus.txt")
    result = barenet("train", "--dataset", "text:corpus.txt", *TINY, "--steps", 30, "--eval-every", 10,
                     "--out", "run", cwd=root)
    assert result.returncode == 0, result.stderr
    return root / "run", result


def test_train_writes_a_text_run_folder(text_run):
    folder, result = text_run
    for name in ("model.npz", "config.toml", "history.csv", "checkpoint.npz", "samples.txt"):
        assert (folder / name).is_file(), name
    history = read_history_csv(folder / "history.csv")
    assert len(history["val_loss"]) == 3 and len(history["loss"]) == 3  # one row per evaluation
    assert "step 30/30" in result.stdout
    line = [line for line in result.stdout.splitlines() if line.startswith("validation loss")][0]
    assert float(line.split()[2]) == pytest.approx(history["val_loss"][-1], abs=1e-4)
    samples = (folder / "samples.txt").read_text(encoding="utf-8")
    headers = [line for line in samples.splitlines() if line.startswith("==== step ")]
    assert [header.split()[2] for header in headers] == ["10", "20", "30"]
    assert "validation loss" in headers[0] and len(samples) > 3 * 200
    assert_png(folder / "history.png")
    model = bn.load(folder / "model.npz")
    assert model.metadata["vocabulary"]["characters"] == "".join(sorted(set(
        (folder.parent / "corpus.txt").read_text(encoding="utf-8"))))


def test_the_attention_picture_is_a_layers_by_heads_grid(text_run):
    folder, _ = text_run
    image = assert_png(folder / "attention.png")
    assert image.size[0] > image.size[1] * 0.7  # 2 layers x 2 heads, plus a colour bar
    from barenet.runs.text_plots import plot_attention

    tall = Image.open(plot_attention([np.full((1, 5, 5), 0.2)] * 4, "abcde", folder.parent / "tall.png"))
    wide = Image.open(plot_attention([np.full((4, 5, 5), 0.2)], "abcde", folder.parent / "wide.png"))
    assert tall.size[1] > 2 * tall.size[0] and wide.size[0] > 2 * wide.size[1]


def test_config_toml_records_what_was_trained_and_round_trips(text_run):
    folder, _ = text_run
    settings = read_toml(folder / "config.toml")
    shape = [settings[key] for key in ("model", "layers", "heads", "width", "context")]
    assert shape == ["gpt", 2, 2, 16, 16]
    assert (settings["steps"], settings["eval_every"], settings["betas"]) == (30, 10, [0.9, 0.99])
    assert "activation" not in settings and "epochs" not in settings  # nothing a GPT does not have
    config = build_config(settings)
    assert stored_config(config, folder) == config


def test_an_interrupted_run_resumes_bit_identically(text_run, tmp_path):
    folder, _ = text_run
    (tmp_path / "corpus.txt").write_bytes((folder.parent / "corpus.txt").read_bytes())
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    env = cli_environment(tmp_path) | {"BARENET_TEST_STOP_AT": "15"}
    arguments = ["train", "--dataset", "text:corpus.txt", *map(str, TINY), "--steps", "30", "--eval-every",
                 "10", "--out", "run", "--quiet"]
    stopped = subprocess.run([sys.executable, str(runner), *arguments], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 130, stopped.stderr
    assert "interrupted during epoch 2 after batch 5" in stopped.stderr
    resumed = barenet("train", "--resume", "run/checkpoint.npz", "--quiet", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    straight, again = (bn.load(path) for path in (folder / "model.npz", tmp_path / "run" / "model.npz"))
    assert np.array_equal(straight.flat.values, again.flat.values)  # bit for bit
    dataset = straight.metadata.pop("dataset"), again.metadata.pop("dataset")  # each run's own corpus.txt
    assert straight.metadata == again.metadata and all(name.endswith("corpus.txt") for name in dataset)
    for name in ("history.csv", "samples.txt"):
        assert (folder / name).read_text() == (tmp_path / "run" / name).read_text(), name


def test_generate_is_deterministic_for_a_seed(text_run):
    folder, _ = text_run
    arguments = ("generate", "run", "--prompt", "ROMEO:", "--length", 80, "--temperature", 0.8, "--top-k", 5)
    first, again = (barenet(*arguments, "--seed", 3, cwd=folder.parent) for _ in range(2))
    other = barenet(*arguments, "--seed", 4, cwd=folder.parent)
    assert first.returncode == 0, first.stderr
    assert first.stdout == again.stdout != other.stdout
    assert first.stdout.startswith("ROMEO:") and len(first.stdout) == len("ROMEO:") + 80 + 1


def test_generate_streams_character_by_character(text_run, monkeypatch):
    folder, _ = text_run
    from barenet.cli.main import main

    class Terminal:
        def __init__(self):
            self.text, self.flushed = "", []

        def write(self, text):
            self.text += text

        def flush(self):
            self.flushed.append(len(self.text))

    terminal = Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    status = main(["generate", str(folder / "model.npz"), "--prompt", "an", "--length", "20", "--seed", "0"])
    assert status == 0
    assert terminal.flushed[:3] == [3, 4, 5]  # the prompt, then each character as it is drawn


@pytest.mark.parametrize("prompt, named", [("ROMEO§", "'§'"), ("", "empty"), ("x\u00e9Q", "'Q', 'x', 'é'")])
def test_a_prompt_the_model_cannot_read_is_one_clear_error(text_run, prompt, named):
    folder, _ = text_run
    result = barenet("generate", "run", "--prompt", prompt, cwd=folder.parent)
    err = assert_clean_error(result, named, status=2)
    assert len(err.strip().splitlines()) == 1


def test_evaluate_reports_loss_and_perplexity_on_the_fixed_windows(text_run):
    folder, _ = text_run
    result = barenet("evaluate", "run", cwd=folder.parent)
    assert result.returncode == 0, result.stderr
    assert "400 fixed validation windows of 16 characters" in result.stdout  # 100 batches of 4
    words = result.stdout.splitlines()[-1].split()
    loss, perplexity = float(words[2]), float(words[words.index("perplexity") + 1])
    assert perplexity == pytest.approx(math.exp(loss), rel=1e-3)
    assert loss == pytest.approx(read_history_csv(folder / "history.csv")["val_loss"][-1], abs=1e-4)


def test_predict_and_summary_of_a_text_model(text_run):
    folder, _ = text_run
    shown = barenet("predict", "run", "--text", "ROMEO", cwd=folder.parent)
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.strip().splitlines()) == 11  # a title and the 10 likeliest characters
    answer = json.loads(barenet("predict", "run", "--text", "ROMEO", "--json", "--top", 3,
                                cwd=folder.parent).stdout)
    probabilities = [entry["probability"] for entry in answer["top"]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)
    summary = barenet("summary", "run", cwd=folder.parent)
    assert summary.returncode == 0 and "MultiHeadAttention" in summary.stdout
    assert "vocabulary: 28 characters" in summary.stdout
    assert_clean_error(barenet("predict", "run", "--text", "ROMEO\u00a7", cwd=folder.parent), "'§'", status=2)


def test_the_char_lstm_trains_on_the_same_text_path(tmp_path):
    write_corpus(tmp_path / "corpus.txt", 100)
    result = barenet("train", "--dataset", "text:corpus.txt", "--model", "char-lstm", "--width", 16,
                     "--context", 16, "--batch-size", 4, "--steps", 20, "--out", "lstm", "--quiet",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    settings = read_toml(tmp_path / "lstm" / "config.toml")
    assert (settings["model"], settings["layers"], settings["width"], settings["eval_every"]) == \
        ("char-lstm", 1, 16, 20)
    assert "heads" not in settings and not (tmp_path / "lstm" / "attention.png").exists()
    written = barenet("generate", "lstm", "--prompt", "JULIET:", "--length", 30, "--seed", 0, cwd=tmp_path)
    assert written.returncode == 0 and len(written.stdout) == len("JULIET:") + 31, written.stderr


@pytest.mark.skipif(not (DATA_DIR / "tinyshakespeare" / "input.txt").is_file(),
                    reason="tiny Shakespeare is not in the shared data folder (BARENET_DATA_DIR)")
def test_a_slice_of_tiny_shakespeare_trains_from_the_data_folder(tmp_path):
    env = cli_environment(tmp_path) | {"BARENET_DATA_DIR": str(DATA_DIR)}
    result = barenet("train", "--dataset", "tinyshakespeare", *TINY, "--train-limit", 20000, "--steps", 20,
                     "--out", "run", "--quiet", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    model = bn.load(tmp_path / "run" / "model.npz")
    assert len(model.metadata["vocabulary"]["characters"]) == 65
    loss = float(result.stdout.split("validation loss")[1].split()[0])
    assert loss < math.log(65)  # better than a uniform guess after 20 steps
