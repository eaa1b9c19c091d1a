"""Photos and drawings of digits: uneven lighting, grey noise, transparency, every format
Pillow reads, too-large images, and the out-of-distribution warning."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import DATA_DIR, draw_shape, mnist_present, shapes_dataset
from PIL import Image, ImageDraw

from barenet import mlp
from barenet.cli.main import main
from barenet.layers import Rescale
from barenet.runs.images import (
    ImageReadError,
    box_blur,
    ink_statistics,
    mnist_style,
    read_digit_image,
    unusual_ink,
)


def correlation(first: np.ndarray, second: np.ndarray) -> float:
    """The best correlation of two 28x28 images over shifts of up to one pixel (a centre of
    mass may round either way)."""
    first, second = first.reshape(28, 28), second.reshape(28, 28)
    return max(
        float(np.corrcoef(np.roll(first, (rows, columns), axis=(0, 1)).ravel(), second.ravel())[0, 1])
        for rows in (-1, 0, 1)
        for columns in (-1, 0, 1)
    )


def photograph(ink: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``ink`` (0-255, bright = ink, any size) as dark ink on paper: evenly lit, lit from one
    side (a gradient from 90 to 250, which a single paper level cannot describe), or with grey
    noise of standard deviation 25."""
    height, width = ink.shape
    paper = np.full(ink.shape, 210.0)
    if kind == "gradient":
        paper = np.linspace(90, 250, width)[None, :] * np.linspace(0.8, 1.0, height)[:, None]
    photo = paper * (1 - 0.75 * ink / 255)
    if kind == "noise":
        photo = photo + rng.normal(0, 25, photo.shape)
    return np.clip(photo, 0, 255)


def enlarged(digit: np.ndarray, side: int = 224) -> np.ndarray:
    return np.asarray(
        Image.fromarray(digit.astype(np.uint8)).resize((side, side), Image.Resampling.BILINEAR),
        dtype=np.float64,
    )


def test_lighting_gradient_and_grey_noise_are_not_ink():
    rng = np.random.default_rng(0)
    for shape in ("one", "ring", "dash"):
        clean = mnist_style(photograph(enlarged(draw_shape(shape), 224), "even", rng))
        for kind in ("gradient", "noise"):
            photo = mnist_style(photograph(enlarged(draw_shape(shape), 224), kind, rng))
            assert correlation(clean, photo) > 0.85, (shape, kind)
            assert photo[0].max() < 30 and photo[:, 0].max() < 30  # the border stays paper, not ink


@pytest.mark.slow
@pytest.mark.skipif(not mnist_present(), reason=f"MNIST not found under {DATA_DIR}")
def test_photographed_mnist_digits_keep_their_predictions():
    """A small MLP trained on real MNIST (a few seconds) recognises photographed test digits
    about as well as the originals: lighting and noise cost at most 2 of 24."""
    from barenet.datasets import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist(DATA_DIR)
    model = mlp([784, 64, 10], preprocessing=[Rescale(1 / 255)], rng=0)
    model.fit(x_train[:6000].reshape(-1, 784), y_train[:6000], epochs=3, batch_size=64, seed=0)
    rng = np.random.default_rng(1)
    digits = x_test[:24]
    original = model.predict(np.stack([mnist_style(d.astype(float)) for d in digits]).reshape(-1, 784))
    for kind in ("gradient", "noise"):
        photos = np.stack([mnist_style(photograph(enlarged(d), kind, rng)) for d in digits]).reshape(-1, 784)
        assert np.sum(model.predict(photos) != original) <= 2, kind
    assert np.mean(original == y_test[:24]) > 0.8


def test_transparent_background_is_composited(tmp_path):
    ink = draw_shape("ring")
    rgba = np.zeros((*ink.shape, 4), dtype=np.uint8)
    rgba[..., 3] = ink  # black strokes, opaque where drawn; everything else fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "black.png")
    rgba[..., :3] = 255  # white strokes on a transparent background
    Image.fromarray(rgba, "RGBA").save(tmp_path / "white.png")
    expected = mnist_style(ink.astype(float)).reshape(-1)
    for name in ("black.png", "white.png"):
        assert correlation(read_digit_image(tmp_path / name), expected) > 0.99
    Image.fromarray(np.zeros((20, 20, 4), np.uint8), "RGBA").save(tmp_path / "empty.png")
    with pytest.raises(ImageReadError, match="fully transparent"):
        read_digit_image(tmp_path / "empty.png")


@pytest.mark.parametrize("suffix", [".webp", ".tiff", ".bmp", ".gif", ".ppm"])
def test_every_format_pillow_reads(tmp_path, suffix):
    path = tmp_path / f"one{suffix}"
    Image.fromarray(draw_shape("one", dark_on_light=True)).convert("RGB").save(path)
    expected = mnist_style(draw_shape("one").astype(float)).reshape(-1)
    assert correlation(read_digit_image(path), expected) > 0.95


def test_sixteen_bit_and_large_images(tmp_path, monkeypatch):
    deep = draw_shape("dash").astype(np.uint16) * 257
    Image.fromarray(deep).save(tmp_path / "deep.png")
    assert (
        correlation(read_digit_image(tmp_path / "deep.png"), mnist_style(draw_shape("dash").astype(float)))
        > 0.99
    )
    big = Image.fromarray(
        np.kron(draw_shape("ring"), np.ones((20, 20), np.uint8))
    )  # 1920x1920, reduced first
    big.save(tmp_path / "big.png")
    assert (  # the same ring; sizes may differ by a pixel, positions by half (as in MNIST)
        correlation(read_digit_image(tmp_path / "big.png"), mnist_style(draw_shape("ring").astype(float)))
        > 0.85
    )
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow's decompression-bomb limit
    with pytest.raises(ImageReadError, match="too large to be a digit"):
        read_digit_image(tmp_path / "big.png")


def test_out_of_distribution_rule():
    rng = np.random.default_rng(0)
    shapes = [
        mnist_style(draw_shape(s, offset=tuple(rng.integers(-8, 9, 2)), width=int(w)).astype(float))
        for s in ("one", "ring", "dash")
        for w in (5, 8, 11)
    ]
    statistics = ink_statistics(np.stack(shapes).reshape(len(shapes), -1))
    assert unusual_ink(shapes[4].reshape(1, -1), statistics) == []
    blotches = mnist_style(box_blur(rng.uniform(0, 255, (64, 64)), 2))  # smoothed noise: rough, scattered
    assert any(reason.startswith("roughness") for reason in unusual_ink(blotches.reshape(1, -1), statistics))
    with pytest.raises(ImageReadError, match="only noise"):  # plain noise has no ink above its own level
        mnist_style(rng.uniform(0, 255, (64, 64)))


def test_predict_warns_on_noise_and_goes_on_after_a_bad_file(tmp_path, capsys):
    """The model file keeps the training images' ink statistics; pure noise is predicted with a
    warning, a broken file is reported, and the rest of the batch is still predicted."""
    rng = np.random.default_rng(0)
    rows = np.stack(
        [
            mnist_style(draw_shape(s, offset=tuple(rng.integers(-8, 9, 2))).astype(float))
            for s in ("one", "ring", "dash") * 10
        ]
    ).reshape(30, -1)
    np.savez(tmp_path / "shapes.npz", x=rows.astype(np.uint8), y=np.arange(30) % 3)
    assert (
        main(
            [
                "train",
                "--dataset",
                f"npz:{tmp_path / 'shapes.npz'}",
                "--epochs",
                "3",
                "--val-split",
                "0",
                "--out",
                str(tmp_path / "run"),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    Image.fromarray(draw_shape("ring", dark_on_light=True)).save(tmp_path / "ring.png")
    blotches = box_blur(rng.uniform(0, 255, (64, 64)), 2)
    Image.fromarray(blotches.astype(np.uint8)).save(tmp_path / "noise.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    status = main(
        [
            "predict",
            str(tmp_path / "run" / "model.npz"),
            str(tmp_path / "noise.png"),
            str(tmp_path / "broken.png"),
            str(tmp_path / "ring.png"),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert status == 1
    results = {result["input"]: result for result in json.loads(captured.out)}
    assert set(results) == {str(tmp_path / "noise.png"), str(tmp_path / "ring.png")}
    assert (
        "unusual" in results[str(tmp_path / "noise.png")]
        and "unusual" not in results[str(tmp_path / "ring.png")]
    )
    assert "looks unlike the images the model was trained on" in captured.err
    assert "broken.png is not a readable PNG or JPEG image" in captured.err


def test_predict_advises_drawing_a_small_digit_bigger(tmp_path, capsys):
    """A small dark ring on a white 300x300 PNG comes out with strokes far thicker than the
    training images': predict warns, and says to draw it bigger, as ``barenet serve`` does."""
    model = mlp([784, 16, 3], preprocessing=[Rescale(1 / 255)], rng=0)
    model.metadata["ink_statistics"] = ink_statistics(shapes_dataset(100, np.random.default_rng(0))[0])
    model.save(tmp_path / "model.npz")
    paper = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(paper).ellipse([(130, 125), (162, 170)], outline=0, width=18)
    paper.save(tmp_path / "small.png")
    Image.fromarray(draw_shape("ring", size=300, width=24, dark_on_light=True)).save(tmp_path / "large.png")
    arguments = ["predict", *(str(tmp_path / name) for name in ("model.npz", "small.png", "large.png"))]
    assert main(arguments) == 0
    captured = capsys.readouterr()
    assert "small.png looks unlike the images the model was trained on" in captured.err
    assert "draw it bigger" in captured.err and "large.png" not in captured.err
    assert main([*arguments, "--json"]) == 0
    small, large = json.loads(capsys.readouterr().out)
    assert small["unusual"] and "draw it bigger" in small["advice"]
    assert "unusual" not in large and "advice" not in large
