"""Optimisers: the first steps equal the update rules as PyTorch documents them, computed here by
hand in float64; the flat parameter buffer really is shared with the layers."""

import numpy as np
import pytest

from barenet import BarenetError, mlp
from barenet.losses import CrossEntropy
from barenet.optim import SGD, Adam, AdamW, RMSProp, get_optimizer
from barenet.parameter import FlatParameters, Parameter

STEPS = 3


def make_parameters(dtype=np.float64):
    """A weight and a bias with values of magnitude 1..2, far from 0, so that relative
    comparisons after a few small steps are meaningful."""
    rng = np.random.default_rng(0)
    weight = rng.uniform(1, 2, size=(2, 3)) * rng.choice([-1, 1], size=(2, 3))
    bias = rng.uniform(1, 2, size=3)
    return [Parameter(weight.astype(dtype), "weight"), Parameter(bias.astype(dtype), "bias", decay=False)]


def gradient_sequence():
    """The gradients of steps 1..STEPS, as flat vectors over (weight, bias)."""
    rng = np.random.default_rng(1)
    return [rng.uniform(-1, 1, size=9) for _ in range(STEPS)]


def run_optimizer(build):
    """Take STEPS steps with the library, writing each step's gradient into parameter.grad."""
    parameters = make_parameters()
    optimizer = build(parameters)
    trajectory = []
    for gradient in gradient_sequence():
        parameters[0].grad[...] = gradient[:6].reshape(2, 3)
        parameters[1].grad[...] = gradient[6:]
        optimizer.step()
        trajectory.append(np.concatenate([p.value.ravel() for p in parameters]))
    return trajectory


def initial_theta():
    return np.concatenate([p.value.ravel() for p in make_parameters()])


def assert_trajectories_equal(actual, expected):
    for step, (a, e) in enumerate(zip(actual, expected), start=1):
        np.testing.assert_allclose(a, e, rtol=1e-12, err_msg=f"step {step}")


# ---- reference implementations, written from the PyTorch documentation ----------------------


def reference_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    theta, b, trajectory = initial_theta(), None, []
    for t, g in enumerate(gradient_sequence(), start=1):
        if weight_decay != 0:
            g = g + weight_decay * theta
        if momentum != 0:
            b = g if t == 1 else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        theta = theta - lr * g
        trajectory.append(theta)
    return trajectory


def reference_rmsprop(lr, alpha, eps, weight_decay=0.0):
    theta, v, trajectory = initial_theta(), np.zeros(9), []
    for g in gradient_sequence():
        if weight_decay != 0:
            g = g + weight_decay * theta
        v = alpha * v + (1 - alpha) * g**2
        theta = theta - lr * g / (np.sqrt(v) + eps)
        trajectory.append(theta)
    return trajectory


def reference_adam(lr, beta1, beta2, eps, weight_decay=0.0, decoupled=False):
    theta, m, v, trajectory = initial_theta(), np.zeros(9), np.zeros(9), []
    for t, g in enumerate(gradient_sequence(), start=1):
        if decoupled:  # AdamW: θ ← θ − γλθ, on the weight only (the bias has decay=False)
            theta = np.concatenate([theta[:6] - lr * weight_decay * theta[:6], theta[6:]])
        elif weight_decay != 0:
            g = g + weight_decay * theta  # Adam: L2 added to the gradient
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(theta)
    return trajectory


# ---- each optimiser against its reference ------------------------------------------------


@pytest.mark.parametrize("settings", [
    {},
    {"momentum": 0.9},
    {"momentum": 0.9, "dampening": 0.3},
    {"momentum": 0.8, "nesterov": True},
    {"weight_decay": 0.1},
    {"momentum": 0.9, "nesterov": True, "weight_decay": 0.05},
], ids=["plain", "momentum", "dampening", "nesterov", "weight_decay", "nesterov_weight_decay"])
def test_sgd_steps_follow_the_published_rule(settings):
    actual = run_optimizer(lambda parameters: SGD(parameters, lr=0.1, **settings))
    assert_trajectories_equal(actual, reference_sgd(lr=0.1, **settings))


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_rmsprop_steps_follow_the_published_rule(weight_decay):
    actual = run_optimizer(
        lambda parameters: RMSProp(parameters, lr=0.01, alpha=0.9, eps=1e-8, weight_decay=weight_decay)
    )
    assert_trajectories_equal(actual, reference_rmsprop(0.01, 0.9, 1e-8, weight_decay))


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
def test_adam_steps_follow_the_published_rule_with_bias_correction(weight_decay):
    actual = run_optimizer(
        lambda parameters: Adam(parameters, lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=weight_decay)
    )
    assert_trajectories_equal(actual, reference_adam(0.05, 0.8, 0.95, 1e-8, weight_decay))


def test_adamw_decays_the_weights_directly_not_through_the_gradient():
    actual = run_optimizer(
        lambda parameters: AdamW(parameters, lr=0.05, betas=(0.8, 0.95), eps=1e-8, weight_decay=0.2)
    )
    assert_trajectories_equal(actual, reference_adam(0.05, 0.8, 0.95, 1e-8, 0.2, decoupled=True))
    coupled = run_optimizer(lambda parameters: Adam(parameters, lr=0.05, betas=(0.8, 0.95), weight_decay=0.2))
    assert not np.allclose(actual[-1], coupled[-1])


def test_adams_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    # Bias correction makes m̂₁ = g and v̂₁ = g², so step one is lr·g / (|g| + ε) ≈ lr·sign(g).
    [after_one_step] = run_optimizer(lambda parameters: Adam(parameters, lr=0.01))[:1]
    g = gradient_sequence()[0]
    np.testing.assert_allclose(initial_theta() - after_one_step, 0.01 * np.sign(g), rtol=1e-6)


# ---- gradient clipping -------------------------------------------------------------------


def test_clipping_rescales_the_global_gradient_norm_to_max_grad_norm():
    max_norm = 0.5
    actual = run_optimizer(lambda parameters: SGD(parameters, lr=0.1, max_grad_norm=max_norm))
    theta, expected = initial_theta(), []
    for g in gradient_sequence():
        norm = np.sqrt(np.sum(g**2))  # one norm over all parameters together
        assert norm > max_norm  # so the clipping below really happens
        theta = theta - 0.1 * g * (max_norm / norm)
        expected.append(theta)
    assert_trajectories_equal(actual, expected)


def test_clipping_leaves_a_gradient_below_the_threshold_alone():
    clipped = run_optimizer(lambda parameters: Adam(parameters, lr=0.05, max_grad_norm=100.0))
    assert_trajectories_equal(clipped, reference_adam(0.05, 0.9, 0.999, 1e-8))


def test_clipping_happens_before_momentum_and_adam_moments():
    max_norm = 0.3
    actual = run_optimizer(lambda parameters: Adam(parameters, lr=0.05, max_grad_norm=max_norm))
    theta, m, v, expected = initial_theta(), np.zeros(9), np.zeros(9), []
    for t, g in enumerate(gradient_sequence(), start=1):
        g = g * min(1.0, max_norm / np.linalg.norm(g))
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g**2
        theta = theta - 0.05 * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        expected.append(theta)
    assert_trajectories_equal(actual, expected)


# ---- the flat buffer ---------------------------------------------------------------------


def test_flat_parameters_turn_every_value_and_grad_into_a_view_of_one_buffer():
    parameters = make_parameters()
    originals = [p.value.copy() for p in parameters]
    flat = FlatParameters(parameters)
    for parameter, original in zip(parameters, originals):
        assert np.shares_memory(parameter.value, flat.values)
        assert np.shares_memory(parameter.grad, flat.grads)
        np.testing.assert_array_equal(parameter.value, original)
    np.testing.assert_array_equal(flat.values, np.concatenate([o.ravel() for o in originals]))
    flat.values[0] = 99.0
    assert parameters[0].value[0, 0] == 99.0


def test_layers_backward_writes_into_the_optimisers_flat_buffer():
    model = mlp([4, 5, 3], rng=0)
    optimizer = Adam(model.parameters())
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    model.compute_gradients(x, np.array([0, 1, 2, 0, 1, 2]), CrossEntropy())
    for parameter in model.parameters():
        assert np.shares_memory(parameter.value, optimizer.flat.values)
        assert np.shares_memory(parameter.grad, optimizer.flat.grads)
    expected = np.concatenate([p.grad.ravel() for p in model.parameters()])
    np.testing.assert_array_equal(optimizer.flat.grads, expected)
    assert np.any(expected != 0)


def test_zero_grad_clears_every_parameter_gradient():
    parameters = make_parameters()
    optimizer = SGD(parameters)
    for p in parameters:
        p.grad[...] = 1.0
    optimizer.zero_grad()
    assert all(not p.grad.any() for p in parameters)


def test_flat_parameters_refuse_mixed_dtypes_and_empty_lists():
    mixed = [Parameter(np.zeros(2, np.float32), "a"), Parameter(np.zeros(2, np.float64), "b")]
    with pytest.raises(ValueError, match="mix dtypes"):
        FlatParameters(mixed)
    with pytest.raises(ValueError, match="parameters is empty"):
        SGD([])


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw"])
def test_float32_parameters_stay_float32_through_every_optimiser(name):
    parameters = make_parameters(np.float32)
    optimizer = get_optimizer(name, parameters, lr=0.01, max_grad_norm=0.5)
    for p in parameters:
        p.grad[...] = 1.0
    optimizer.step()
    assert optimizer.flat.values.dtype == np.float32
    for p in parameters:
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
    for array in optimizer.state().values():
        assert array.dtype == np.float32


# ---- state, names and bad settings -------------------------------------------------------


def test_loading_state_lets_a_second_optimiser_continue_exactly():
    first_parameters, second_parameters = make_parameters(), make_parameters()
    first, second = Adam(first_parameters, lr=0.05), Adam(second_parameters, lr=0.05)
    gradients = gradient_sequence()
    for optimizer in (first, second):
        optimizer.flat.grads[...] = gradients[0]
        optimizer.step()
    first.flat.grads[...] = gradients[1]
    first.step()
    second.flat.values[...] = first.flat.values
    second.load_state({k: v.copy() for k, v in first.state().items()}, first.step_count)
    for optimizer in (first, second):
        optimizer.flat.grads[...] = gradients[2]
        optimizer.step()
    np.testing.assert_array_equal(first.flat.values, second.flat.values)


def test_loading_state_of_another_shape_says_it_belongs_to_another_architecture():
    optimizer = SGD(make_parameters(), momentum=0.9)
    with pytest.raises(ValueError, match="different architecture"):
        optimizer.load_state({"velocity": np.zeros(4)}, 1)


def test_optimisers_are_selectable_by_name_with_settings():
    parameters = make_parameters()
    assert isinstance(get_optimizer("Adam", parameters, lr=0.1), Adam)
    momentum = get_optimizer("momentum", parameters)
    nesterov = get_optimizer("nesterov", parameters, momentum=0.5)
    assert (momentum.momentum, momentum.nesterov) == (0.9, False)
    assert (nesterov.momentum, nesterov.nesterov) == (0.5, True)


def test_an_unknown_optimiser_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'; valid names are: adam, adamw, "
                                         "momentum, nesterov, rmsprop, sgd"):
        get_optimizer("adagrad", make_parameters())


@pytest.mark.parametrize(("build", "message"), [
    (lambda p: SGD(p, lr=0), r"lr must be > 0; got 0"),
    (lambda p: SGD(p, lr=-0.1), r"lr must be > 0; got -0.1"),
    (lambda p: SGD(p, lr=float("nan")), "lr must be a finite number; got nan"),
    (lambda p: SGD(p, lr="0.1"), "lr must be a finite number; got '0.1'"),
    (lambda p: SGD(p, momentum=1.0), r"momentum must be in \[0, 1\); got 1.0"),
    (lambda p: SGD(p, momentum=1.5), r"momentum must be in \[0, 1\); got 1.5"),
    (lambda p: SGD(p, dampening=-0.5), r"dampening must be in \[0, 1\]"),
    (lambda p: SGD(p, nesterov=True), "nesterov momentum needs momentum > 0"),
    (lambda p: SGD(p, weight_decay=-1), "weight_decay must be >= 0; got -1"),
    (lambda p: SGD(p, max_grad_norm=0), "max_grad_norm must be > 0"),
    (lambda p: RMSProp(p, alpha=1.5), r"alpha must be in \[0, 1\)"),
    (lambda p: RMSProp(p, eps=float("inf")), "eps must be a finite number"),
    (lambda p: Adam(p, betas=(0.9,)), r"betas must be a pair \(beta1, beta2\)"),
    (lambda p: Adam(p, betas=0.9), r"betas must be a pair \(beta1, beta2\)"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"beta2 must be in \[0, 1\)"),
    (lambda p: Adam(p, eps=0), "eps must be > 0"),
    (lambda p: AdamW(p, weight_decay=-0.01), "weight_decay must be >= 0"),
])
def test_bad_settings_name_what_was_expected(build, message):
    with pytest.raises(BarenetError, match=message):
        build(make_parameters())


@pytest.mark.parametrize("optimizer", [5, None, 0.1, Adam])
def test_get_optimizer_refuses_what_is_neither_a_name_nor_an_optimizer(optimizer):
    with pytest.raises(TypeError, match=r"^optimizer must be a name \(adam, adamw, .*\) or an instance of "
                                        r"Optimizer; got"):
        get_optimizer(optimizer, make_parameters())
