"""Messages that name the right thing: the file, the line, the folder, the network, the data
set; one progress bar, one error line, readable numbers."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest
from helpers import DATA_DIR, mnist_present, run_main

import barenet
from barenet.cli import commands
from barenet.layers import Rescale
from barenet.runs.config import build_config, read_toml
from barenet.runs.training_run import resume_text
from barenet.training import Trainer, TrainingInterrupted
from barenet.training.checkpoints import load_checkpoint
from barenet.training.progress import Progress


def write_table(path, n: int, seed: int, outlier_line: int | None = None) -> None:
    """A CSV of three features and a yes/no label; one cell of ``outlier_line`` set to 1e9."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    lines = ["a,b,c,label"]
    for row in x:
        lines.append(",".join(f"{value:.4f}" for value in row) + (",yes" if row[0] + row[1] > 0 else ",no"))
    if outlier_line is not None:
        cells = lines[outlier_line - 1].split(",")
        cells[1] = "1e9"
        lines[outlier_line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def trained(tmp_path, capsys):
    """A run trained on train.csv with --test-data test.csv, in tmp_path/run."""
    write_table(tmp_path / "train.csv", 120, 0)
    write_table(tmp_path / "test.csv", 30, 1)
    status, _, err = run_main(["train", "--dataset", f"csv:{tmp_path / 'train.csv'}", "--test-data",
                               tmp_path / "test.csv", "--epochs", 2, "--out", tmp_path / "run", "--quiet"],
                              capsys)
    assert status == 0, err
    return tmp_path / "run"


def test_evaluate_names_the_runs_test_file_and_takes_a_run_folder(trained, capsys, monkeypatch) -> None:
    titles = []
    drawn = commands.plot_confusion_matrix
    # the real picture is drawn; its title is kept
    monkeypatch.setattr(commands, "plot_confusion_matrix",
                        lambda *args: titles.append(args[3]) or drawn(*args))
    status, out, err = run_main(["evaluate", trained], capsys)
    assert titles == ["test.csv test set"]
    assert status == 0, err
    assert f"{trained.parent / 'test.csv'}, 30 test samples" in out.splitlines()
    picture = trained / "evaluate_confusion_matrix.png"
    assert f"confusion matrix picture: {picture}" in out and picture.is_file()  # says which PNG it wrote
    status, out, err = run_main(["summary", trained], capsys)
    assert status == 0 and "Standardize" in out, err
    (trained.parent / "rows.csv").write_text("a,b,c\n1,2,3\n")
    status, out, err = run_main(["predict", trained, trained.parent / "rows.csv"], capsys)
    assert status == 0 and out.startswith(f"{trained.parent / 'rows.csv'}:2: "), err


def test_a_missing_file_in_predict_is_one_error_line(trained, tmp_path, capsys) -> None:
    status, out, err = run_main(["predict", trained, tmp_path / "nothere.csv"], capsys)
    assert status == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "nothere.csv" in err


def test_an_outlier_warning_names_the_files_line(tmp_path, capsys) -> None:
    write_table(tmp_path / "outlier.csv", 60, 0, outlier_line=6)
    status, _, err = run_main(["train", "--dataset", f"csv:{tmp_path / 'outlier.csv'}", "--epochs", 1,
                               "--out", tmp_path / "run", "--quiet"], capsys)
    assert status == 0, err
    assert f"e.g. 1e+09 in {tmp_path / 'outlier.csv'}, line 6, far from" in err


def test_a_data_dir_that_does_not_exist_is_an_error(tmp_path, capsys) -> None:
    status, _, err = run_main(["data", "mnist", "--data-dir", tmp_path / "nowhere"], capsys)
    assert status == 1
    assert err.startswith(f"barenet: error: the data folder {tmp_path / 'nowhere'} (data_dir / --data-dir) "
                          "does not exist")


@pytest.mark.skipif(not mnist_present(), reason=f"the shared MNIST copy is not at {DATA_DIR / 'mnist'}")
def test_data_says_which_folder_it_read_and_which_picture_it_wrote(tmp_path, capsys) -> None:
    picture = tmp_path / "samples.png"
    status, out, err = run_main(["data", "mnist", "--data-dir", DATA_DIR, "--out", picture], capsys)
    assert status == 0, err
    assert f"data read from {DATA_DIR / 'mnist'}" in out.splitlines()
    assert f"samples picture: {picture}" in out and picture.is_file()


def test_decimal_commas_are_read_and_named(tmp_path, capsys) -> None:
    rows = ["a;b;label", *(f"{a:.3f};{b:.3f};{int(a > 0)}".replace(".", ",")
                           for a, b in np.random.default_rng(0).normal(size=(40, 2)))]
    (tmp_path / "euro.csv").write_text("\n".join(rows) + "\n")
    status, out, err = run_main(["data", f"csv:{tmp_path / 'euro.csv'}", "--out", tmp_path / "e.png"], capsys)
    assert status == 0, err
    assert "delimiter: ';'" in out and "decimal commas: cells such as 1,5 are read as 1.5" in out
    assert "train  x (32, 2) float32" in out  # the header is a header, every row a sample


def test_short_epochs_share_one_progress_bar(monkeypatch, capsys) -> None:
    progress = Progress(verbose=1)
    progress.use_bar = True  # as on a terminal
    for epoch in range(50):
        progress.start_epoch(epoch, 50, n_batches=3)
        for _ in range(3):
            progress.update_batch(0.5, 0.9)
        progress.end_epoch(epoch, 50, {"loss": 0.5}, 0.01)
    progress.close()
    err = capsys.readouterr().err
    assert "training: 100%" in err and "50/50" in err and "epoch 2/50" not in err


def test_learning_rate_in_a_toml_file_is_lr(tmp_path) -> None:
    (tmp_path / "config.toml").write_text('learning_rate = 0.01\nverbose_epoch = 5\ndataset = "spirals"\n')
    config = build_config(read_toml(tmp_path / "config.toml"))
    assert config.lr == 0.01 and config.verbose_every == 5


def test_resuming_in_the_middle_of_an_epoch_says_where(tmp_path) -> None:
    x = np.random.default_rng(0).normal(size=(200, 2))
    y = (x[:, 0] > 0).astype(np.int64)

    def trainer(augment) -> Trainer:
        return Trainer(barenet.mlp([2, 8, 2], rng=0), batch_size=20, seed=0, augment=augment,
                       checkpoint_path=str(tmp_path / "checkpoint.npz"))

    batches = []

    def interrupt_in_epoch_2(x_batch):
        batches.append(1)
        if len(batches) == 10 + 4:  # epoch 1 has 10 batches: the 4th batch of epoch 2
            os.kill(os.getpid(), signal.SIGINT)
        return x_batch

    with pytest.raises(TrainingInterrupted, match="interrupted during epoch 2 after batch 4"):
        trainer(interrupt_in_epoch_2).fit(x, y, epochs=3, verbose=0)
    resumed = trainer(lambda x_batch: x_batch)
    load_checkpoint(resumed, tmp_path / "checkpoint.npz")
    assert resume_text(resumed) == "; resuming in epoch 2 after batch 4"


def test_a_regression_shows_its_mse_once(tmp_path, capsys) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 2))
    target = 50 * x[:, 0] + 10 * rng.normal(size=80)
    rows = "".join(f"{a},{b},{t}\n" for (a, b), t in zip(x, target))
    (tmp_path / "reg.csv").write_text("u,v,target\n" + rows)
    status, out, err = run_main(["train", "--dataset", f"csv:{tmp_path / 'reg.csv'}", "--epochs", 3,
                                 "--out", tmp_path / "run", "--quiet"], capsys)
    assert status == 0, err
    test_line = next(line for line in out.splitlines() if line.startswith("test "))
    assert test_line.startswith("test mse ") and "loss" not in test_line and " r2 " in test_line


def test_summary_shows_a_reciprocal_scale_as_a_fraction(tmp_path, capsys) -> None:
    assert repr(Rescale(1 / 255)) == "Rescale(scale=1/255)"
    assert repr(Rescale(0.5, 3.0)) == "Rescale(scale=1/2, offset=3)"
    assert repr(Rescale(0.3)) == "Rescale(scale=0.3)"
    barenet.mlp([784, 10], preprocessing=[Rescale(1 / 255)], rng=0).save(tmp_path / "model.npz")
    status, out, err = run_main(["summary", tmp_path / "model.npz"], capsys)
    assert status == 0 and "Rescale(scale=1/255)" in out, err


def image_archive(path, n: int = 200) -> None:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (n, 784)).astype(np.uint8), y=np.arange(n) % 10)


def test_layers_with_a_cnn_are_refused_and_its_config_records_no_widths(tmp_path, capsys) -> None:
    image_archive(tmp_path / "images.npz")
    data = f"npz:{tmp_path / 'images.npz'}"
    status, _, err = run_main(["train", "--dataset", data, "--model", "cnn", "--layers", 784, 10,
                               "--out", tmp_path / "refused"], capsys)
    assert status == 1
    assert "layers (--layers) are the widths of an MLP, but model = 'cnn' builds its own network" in err
    status, _, err = run_main(["train", "--dataset", data, "--model", "lenet5", "--epochs", 1,
                               "--out", tmp_path / "run", "--quiet"], capsys)
    assert status == 0, err
    config = read_toml(tmp_path / "run" / "config.toml")
    assert config["model"] == "lenet5" and "layers" not in config  # no widths it did not train


def test_evaluate_on_another_data_set_than_the_models_warns(tmp_path, capsys) -> None:
    image_archive(tmp_path / "images.npz")
    status, _, err = run_main(["train", "--dataset", f"npz:{tmp_path / 'images.npz'}", "--epochs", 1,
                               "--out", tmp_path / "run", "--quiet"], capsys)
    assert status == 0, err
    stored = barenet.load(tmp_path / "run" / "model.npz").metadata["dataset"]
    assert stored == f"npz:{tmp_path / 'images.npz'}"  # the model keeps the name of its data
    if not mnist_present():
        pytest.skip(f"the warning's other half needs the shared MNIST copy at {DATA_DIR / 'mnist'}")
    status, _, err = run_main(["evaluate", tmp_path / "run", "--dataset", "mnist", "--data-dir", DATA_DIR],
                              capsys)
    assert status == 0, err
    assert f"was trained on npz:{tmp_path / 'images.npz'}, not mnist" in err
