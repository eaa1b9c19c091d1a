"""The GPT: its parts equal PyTorch's baby GPT, its gradients equal finite differences, its
training step equals PyTorch's AdamW step, and a run on random windows resumes bit for bit."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_resume_is_bit_identical

import barenet
from barenet.losses import CrossEntropy
from barenet.optim import AdamW
from barenet.training import Trainer

torch = pytest.importorskip("torch", reason="the comparisons need PyTorch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from torch_gpt import TorchGPT, copy_from_barenet  # noqa: E402

VOCAB, CONTEXT = 11, 8


def small_gpt(dtype=np.float64, rng: int = 0) -> barenet.Sequential:
    return barenet.gpt(VOCAB, context=CONTEXT, layers=2, heads=2, width=16, rng=rng, dtype=dtype)


def ids(n: int, t: int = CONTEXT, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, VOCAB, (n, t))


def torch_copy(model: barenet.Sequential) -> TorchGPT:
    twin = TorchGPT(VOCAB, CONTEXT, 2, 2, 16).double()
    copy_from_barenet(model, twin)
    return twin


def test_gpt_has_gpt2s_initialisation():
    model = barenet.gpt(65, layers=4, rng=0)
    attention = model.layers[2].layers[1]
    projection = model.layers[3].layers[3]
    assert attention.in_proj_weight.value.std() == pytest.approx(0.02, rel=0.05)
    assert attention.out_proj_weight.value.std() == pytest.approx(0.02 / np.sqrt(8), rel=0.05)
    assert projection.weight.value.std() == pytest.approx(0.02 / np.sqrt(8), rel=0.05)
    assert not attention.in_proj_bias.value.any() and not projection.bias.value.any()
    assert model.flat.values.size == 818_241
    assert "Residual(LayerNorm, MultiHeadAttention)" in model.summary()


@pytest.mark.parametrize("t", [1, 5, CONTEXT])
def test_gpt_logits_equal_pytorchs_baby_gpt_in_float64(t):
    model = small_gpt()
    x = ids(3, t)
    expected = torch_copy(model)(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model.forward(x, logits=True), expected, rtol=1e-10, atol=1e-12)


def test_a_whole_two_layer_two_head_gpt_passes_the_float64_gradient_check():
    model = small_gpt(rng=3)
    rng = np.random.default_rng(4)
    for parameter in model.parameters():  # random parameters, not the tidy initial ones
        parameter.value = rng.normal(0, 0.3, parameter.shape)
    result = barenet.gradcheck(model, "cross_entropy", ids(2, 6, seed=5), ids(2, 6, seed=6), max_entries=12)
    assert result.passed, result.table()


def test_training_steps_with_adamw_equal_pytorchs_with_decay_on_matrices_only():
    model = small_gpt()
    twin = torch_copy(model)
    loss = CrossEntropy()
    optimizer = AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.99), weight_decay=0.1)
    torch_optimizer = twin.optimizer(1e-2, 0.1, (0.9, 0.99))
    for step in range(5):
        x, y = ids(4, seed=10 + step), ids(4, seed=20 + step)
        value = model.compute_gradients(x, y, loss).loss
        optimizer.step()
        torch_optimizer.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(x)).reshape(-1, VOCAB),
                                                       torch.from_numpy(y).reshape(-1))
        torch_loss.backward()
        torch_optimizer.step()
        # later losses follow AdamW steps, where g/(√v + ε) turns the last bits of tiny
        # gradients into whole steps: agreement to 1e-10 instead of 1e-12
        assert value == pytest.approx(torch_loss.item(), rel=1e-12 if step == 0 else 1e-10), step
    x = ids(2, seed=99)
    np.testing.assert_allclose(model.forward(x, logits=True), twin(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-9, atol=1e-11)


def test_a_saved_gpt_predicts_bit_identically(tmp_path):
    model = small_gpt(dtype=np.float32)
    model.save(tmp_path / "gpt.npz")
    x = ids(3)
    np.testing.assert_array_equal(barenet.load(tmp_path / "gpt.npz").predict_proba(x), model.predict_proba(x))


def windows(n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    text = np.random.default_rng(7).integers(0, VOCAB, n + CONTEXT + 1)
    view = np.lib.stride_tricks.sliding_window_view(text, CONTEXT + 1)
    return view[:, :-1], view[:, 1:]


def test_steps_per_epoch_draws_batches_with_replacement_and_counts_steps():
    x, y = windows()
    trainer = Trainer(small_gpt(np.float32), optimizer="adamw", batch_size=4, steps_per_epoch=7, seed=0)
    trainer.fit(x, y, epochs=2, verbose=0)
    assert trainer.step == 14 and trainer.epoch == 2


def test_a_run_on_random_windows_interrupted_mid_epoch_resumes_bit_identically(tmp_path):
    x, y = windows()

    def trainer() -> Trainer:
        return Trainer(small_gpt(np.float32), optimizer="adamw", lr_schedule="cosine",
                       schedule_options={"total": 30, "warmup": 5, "per": "step"}, batch_size=4,
                       steps_per_epoch=10, seed=0)

    assert_resume_is_bit_identical(trainer, x, y, tmp_path)
