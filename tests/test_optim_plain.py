"""The fast optimisers against the plain ones (the reference, written as the paper writes it):
float64, many steps, random shapes and settings, gradients that depend on where the weights are."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

from barenet import BarenetError, mlp
from barenet.losses import CrossEntropy
from barenet.optim import SGD, Adam
from barenet.optim_plain import PlainAdam, PlainSGD
from barenet.parameter import Parameter

SHAPES = st.lists(array_shapes(min_dims=1, max_dims=3, max_side=6), min_size=1, max_size=4)


def twin_parameters(shapes, seed: int) -> tuple[list[Parameter], list[Parameter]]:
    """Two independent sets of float64 parameters with the same random values."""
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(shape) for shape in shapes]
    return ([Parameter(value.copy(), f"p{i}") for i, value in enumerate(values)],
            [Parameter(value.copy(), f"p{i}") for i, value in enumerate(values)])


def run_both(fast, plain, fast_parameters, plain_parameters, steps: int, seed: int):
    """Step both optimisers on the gradient of ½·Σ a⊙(θ − c)² plus noise: the same function of
    each set's own weights, so a difference in one step shows in the next gradients too."""
    rng = np.random.default_rng(seed + 1)
    curvature = [rng.uniform(0.1, 3.0, p.shape) for p in fast_parameters]
    centres = [rng.standard_normal(p.shape) for p in fast_parameters]
    for _ in range(steps):
        noise = [rng.standard_normal(p.shape) * 0.1 for p in fast_parameters]
        for parameters in (fast_parameters, plain_parameters):
            for p, a, c, e in zip(parameters, curvature, centres, noise):
                p.grad[...] = a * (p.value - c) + e  # g = a⊙(θ − c) + noise
        fast.step()
        plain.step()
        yield [p.value for p in fast_parameters], [p.value for p in plain_parameters]


@settings(max_examples=25, deadline=None)
@given(shapes=SHAPES, steps=st.integers(1, 80), lr=st.floats(1e-4, 0.3), seed=st.integers(0, 2**31))
def test_sgd_gives_exactly_the_weights_of_plain_sgd(shapes, steps, lr, seed):
    fast_parameters, plain_parameters = twin_parameters(shapes, seed)
    fast, plain = SGD(fast_parameters, lr=lr), PlainSGD(plain_parameters, lr=lr)
    for fast_values, plain_values in run_both(fast, plain, fast_parameters, plain_parameters, steps, seed):
        for a, b in zip(fast_values, plain_values):
            np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(
    shapes=SHAPES, steps=st.integers(1, 80), lr=st.floats(1e-4, 0.1), beta1=st.floats(0.0, 0.99),
    beta2=st.floats(0.5, 0.9999), eps=st.sampled_from([1e-8, 1e-6, 1e-3]), seed=st.integers(0, 2**31),
)
def test_adam_gives_the_weights_of_the_papers_adam(shapes, steps, lr, beta1, beta2, eps, seed):
    fast_parameters, plain_parameters = twin_parameters(shapes, seed)
    fast = Adam(fast_parameters, lr=lr, betas=(beta1, beta2), eps=eps)
    plain = PlainAdam(plain_parameters, lr=lr, betas=(beta1, beta2), eps=eps)
    for step, (fast_values, plain_values) in enumerate(
        run_both(fast, plain, fast_parameters, plain_parameters, steps, seed), start=1
    ):
        for a, b in zip(fast_values, plain_values):
            # the folded corrections round differently from m̂ and v̂: equal to float64 round-off
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12, err_msg=f"step {step}")


@pytest.mark.parametrize(("fast", "plain"), [(SGD, PlainSGD), (Adam, PlainAdam)])
def test_a_model_trained_by_the_fast_and_the_plain_optimiser_ends_with_the_same_weights(fast, plain):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 96)
    x = rng.standard_normal((96, 5)) + y[:, None]
    models = [mlp([5, 8, 3], rng=1, dtype=np.float64) for _ in range(2)]
    optimizers = [fast(models[0].parameters(), lr=0.05), plain(models[1].parameters(), lr=0.05)]
    loss = CrossEntropy()
    for _ in range(30):
        for model, optimizer in zip(models, optimizers):
            model.compute_gradients(x, y, loss)
            optimizer.step()
    np.testing.assert_allclose(models[0].get_weights(), models[1].get_weights(), rtol=1e-10, atol=1e-12)
    assert not np.allclose(models[1].get_weights(), mlp([5, 8, 3], rng=1, dtype=np.float64).get_weights())


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: PlainSGD(p, lr=-1.0), "lr must be > 0"),
    (lambda p: PlainAdam(p, betas=(1.5, 0.999)), r"beta1 must be in \[0, 1\)"),
    (lambda p: PlainAdam(p, eps=0.0), "eps must be > 0"),
])
def test_the_plain_optimisers_check_their_settings_by_name(build, message):
    with pytest.raises(BarenetError, match=message):
        build(twin_parameters([(2,)], 0)[0])
