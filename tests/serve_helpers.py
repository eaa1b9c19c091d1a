"""What the ``barenet serve`` tests share: a real uvicorn server on a free 127.0.0.1 port,
run in a thread and stopped when the test ends, and small models and run folders to serve
(digit classifiers, and a tiny GPT that has learned a few lines of text)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import barenet
from barenet.datasets.text import CharVocabulary
from barenet.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Rescale, Reshape, Softmax
from barenet.losses import CrossEntropy
from barenet.optim import AdamW

EXTRA = "barenet serve needs the serve extra: pip install barenet[serve]"
uvicorn = pytest.importorskip("uvicorn", reason=EXTRA)
pytest.importorskip("starlette", reason=EXTRA)

from barenet.serve.app import create_app  # noqa: E402
from barenet.serve.command import bind  # noqa: E402
from barenet.serve.inputs import MAX_BODY_BYTES  # noqa: E402
from barenet.serve.served import ServedModel, load_served  # noqa: E402


@contextlib.contextmanager
def running_server(served: ServedModel, max_body_bytes: int = MAX_BODY_BYTES) -> Iterator[str]:
    """Serve ``served`` on a free port in a thread; yields the base URL, stops the server after."""
    listening = bind("127.0.0.1", 0)
    port = listening.getsockname()[1]
    config = uvicorn.Config(create_app(served, max_body_bytes), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        listening.close()
        assert not thread.is_alive(), "the test server did not stop"


def random_classifier(dtype=np.float32, activation: str = "relu") -> barenet.Sequential:
    """An untrained MLP 784-32-16-10 of raw 0-255 pixels, with random (seeded) weights."""
    return barenet.mlp([784, 32, 16, 10], activation=activation, preprocessing=[Rescale(1 / 255)], rng=0,
                       dtype=dtype)


def random_cnn(dtype=np.float32, activation: type = ReLU, flat: bool = True) -> barenet.Sequential:
    """An untrained convolutional network of raw 0-255 pixels, seeded: of rows of 784 pixels
    (``flat``, reshaped inside) or of images ``(1, 28, 28)``."""
    layers = [
        Rescale(1 / 255), Conv2D(1, 8, 3, rng=0, dtype=dtype), activation(), MaxPool2D(2),
        Conv2D(8, 12, 3, rng=1, dtype=dtype), activation(), MaxPool2D(2), Flatten(),
        Dense(12 * 5 * 5, 10, rng=2, dtype=dtype), Softmax(),
    ]
    if flat:
        return barenet.Sequential(Reshape((1, 28, 28)), *layers)
    return barenet.Sequential(*layers, input_shape=(1, 28, 28))


def digit_images(n_samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stand-ins for test digits: uint8 ``(n, 784)`` noise blobs and labels 0-9."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n_samples, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n_samples)
    for image, label in zip(images, labels):
        top, left = 4 + label % 5 * 3, 4 + label // 5 * 10
        image[top : top + 8, left : left + 8] = rng.integers(100, 256, (8, 8))
    return images.reshape(n_samples, -1), labels


def write_run_folder(folder: Path, model: barenet.Sequential, with_data: bool = True) -> Path:
    """A run folder as ``barenet train`` leaves one: model, config.toml, history.csv, and an
    ``npz:`` test set the config names (left out when ``with_data`` is false)."""
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.npz")
    data_file = folder.parent / f"{folder.name}-digits.npz"
    if with_data:
        x, y = digit_images(300)
        np.savez(data_file, x_train=x, y_train=y, x_test=x, y_test=y)
    (folder / "config.toml").write_text(f'dataset = "npz:{data_file}"\n')
    (folder / "history.csv").write_text(
        "epoch,loss,accuracy,val_loss,val_accuracy\n"
        "1,1.5,0.5,1.4,0.55\n2,0.9,0.7,1.0,0.66\n3,0.6,0.8,0.8,0.72\n"
    )
    return folder


LINES = ("ROMEO:\nBut soft, what light through yonder window breaks?\n"
         "It is the east, and Juliet is the sun.\n\nJULIET:\nO Romeo, Romeo, wherefore art thou Romeo?\n\n")


def tiny_gpt(steps: int = 60, context: int = 32) -> barenet.Sequential:
    """A 2-layer, 2-head GPT, 32 wide, trained for ``steps`` AdamW steps on :data:`LINES`
    (seeded: a few seconds), its vocabulary in its metadata as ``barenet train`` keeps it."""
    vocabulary = CharVocabulary.from_text(LINES)
    windows = np.lib.stride_tricks.sliding_window_view(vocabulary.encode(LINES * 3), context + 1)
    model = barenet.gpt(vocabulary.size, context=context, layers=2, heads=2, width=32, rng=0)
    optimizer, loss, rng = AdamW(model.parameters(), lr=1e-2), CrossEntropy(), np.random.default_rng(0)
    for _ in range(steps):
        batch = windows[rng.integers(0, len(windows), 16)]
        model.compute_gradients(batch[:, :-1], batch[:, 1:], loss)
        optimizer.step()
    model.metadata["vocabulary"] = vocabulary.to_dict()
    return model


__all__ = [
    "LINES", "digit_images", "load_served", "random_classifier", "random_cnn", "running_server", "tiny_gpt",
    "write_run_folder",
]


def assert_refused(response, status: int, *expected: str) -> str:
    """A JSON error with ``status`` whose message holds every ``expected`` text; returns it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()["error"]
    for text in expected:
        assert text in message, message
    return message
