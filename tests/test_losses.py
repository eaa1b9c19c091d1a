"""Losses: each value and gradient is its published formula, stable for huge logits, and bad
targets are refused with a message that says what was expected."""

import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from barenet import Dense
from barenet.losses import MSE, BinaryCrossEntropy, CrossEntropy, L2Penalty, get_loss
from barenet.parameter import Parameter

FLOATS = [np.float32, np.float64]


def random(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def direct_softmax(z):
    """The textbook definition, no stabilisation: only for moderate z."""
    return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)


def direct_sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---- cross-entropy ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(2, 6)),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 10),
)
def test_cross_entropy_is_minus_mean_log_softmax_and_its_gradient(shape, seed, scale):
    n, k = shape
    z = random(shape, seed) * scale
    y = np.random.default_rng(seed + 1).integers(0, k, size=n)
    loss = CrossEntropy()
    value, cache = loss.forward(z, y)
    expected = -np.mean(np.log(direct_softmax(z))[np.arange(n), y])
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)  # log p, p ≈ 1: absolute
    one_hot = np.eye(k)[y]
    expected_grad = (direct_softmax(z) - one_hot) / n
    np.testing.assert_allclose(loss.backward(cache), expected_grad, rtol=1e-10, atol=1e-15)


def test_cross_entropy_with_one_hot_rows_equals_cross_entropy_with_class_ids():
    z, y = random((5, 4)), np.array([3, 0, 1, 1, 2])
    loss = CrossEntropy()
    (by_ids, ids_cache), (by_rows, rows_cache) = loss.forward(z, y), loss.forward(z, np.eye(4)[y])
    assert by_ids == by_rows
    np.testing.assert_array_equal(loss.backward(ids_cache), loss.backward(rows_cache))


def test_cross_entropy_accepts_class_ids_as_a_column_or_as_whole_floats():
    z, y = random((3, 4)), np.array([3, 0, 1])
    expected = CrossEntropy()(z, y)
    assert CrossEntropy()(z, y[:, None]) == expected
    assert CrossEntropy()(z, y.astype(float)) == expected


@pytest.mark.parametrize("dtype", FLOATS)
def test_cross_entropy_is_exact_for_logits_of_plus_minus_1e4(dtype):
    z = np.array([[1e4, -1e4], [1e4, -1e4]], dtype=dtype)
    loss = CrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, cache = loss.forward(z, np.array([0, 1]))  # one sure and right, one sure and wrong
        grad = loss.backward(cache)
    assert value == pytest.approx((0 + 2e4) / 2)  # −log softmax = 0 and 2e4
    np.testing.assert_array_equal(grad, [[0, 0], [0.5, -0.5]])  # (p − onehot) / n


# ---- binary cross-entropy ---------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 8), st.integers(1, 3)),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 10),
)
def test_binary_cross_entropy_is_its_formula(shape, seed, scale):
    z = random(shape, seed) * scale
    y = np.random.default_rng(seed + 1).uniform(size=shape)
    loss = BinaryCrossEntropy()
    value, cache = loss.forward(z, y)
    p = direct_sigmoid(z)
    # −[y log σ(z) + (1 − y) log(1 − σ(z))], writing 1 − σ(z) as σ(−z) to keep its digits
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(direct_sigmoid(-z)))
    np.testing.assert_allclose(value, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.backward(cache), (p - y) / z.size, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_cross_entropy_is_exact_for_logits_of_plus_minus_1e4(dtype):
    z = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype=dtype)
    y = np.array([1, 0, 0, 1])
    loss = BinaryCrossEntropy()
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, cache = loss.forward(z, y)
        grad = loss.backward(cache)
    assert value == pytest.approx((0 + 0 + 1e4 + 1e4) / 4)
    np.testing.assert_array_equal(grad, np.array([[0], [0], [1], [-1]]) / 4)


def test_binary_cross_entropy_accepts_a_flat_target_for_a_single_output():
    z, y = random((4, 1)), np.array([0, 1, 1, 0])
    assert BinaryCrossEntropy()(z, y) == BinaryCrossEntropy()(z, y[:, None])


# ---- mean squared error -----------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    prediction=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 4)),
                      elements=st.floats(-100, 100, allow_subnormal=False)),
    half=st.booleans(),
)
def test_mse_is_the_mean_over_every_element(prediction, half):
    target = np.sin(np.arange(prediction.size)).reshape(prediction.shape)
    loss = MSE(half=half)
    factor = 0.5 if half else 1.0
    value, cache = loss.forward(prediction, target)
    squares = [(a - b) ** 2 for a, b in zip(prediction.ravel(), target.ravel())]
    np.testing.assert_allclose(value, factor * sum(squares) / len(squares), rtol=1e-12)
    np.testing.assert_allclose(
        loss.backward(cache), 2 * factor * (prediction - target) / prediction.size, rtol=1e-12
    )


def test_mse_accepts_a_flat_target_for_a_single_output():
    prediction = np.array([[1.0], [2.0], [4.0]])
    assert MSE()(prediction, np.array([1.0, 1.0, 1.0])) == pytest.approx((0 + 1 + 9) / 3)


# ---- dtypes -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("loss", "target"), [
    (CrossEntropy(), np.array([0, 2, 1])),
    (BinaryCrossEntropy(), np.array([[0, 1, 1], [1, 0, 0], [0, 0, 1]])),
    (MSE(), np.ones((3, 3))),
    (MSE(half=True), np.ones((3, 3))),
], ids=["cross_entropy", "bce", "mse", "half_mse"])
def test_loss_gradient_keeps_the_output_dtype(loss, target, dtype):
    output = random((3, 3)).astype(dtype)
    value, cache = loss.forward(output, target)
    assert isinstance(value, float) and np.isfinite(value)
    assert loss.backward(cache).dtype == dtype


# ---- L2 -----------------------------------------------------------------------------------


def test_l2_penalty_is_lambda_over_2m_times_squared_weights_biases_excluded():
    layers = [Dense(3, 4, rng=0, dtype=np.float64), Dense(4, 2, rng=1, dtype=np.float64)]
    parameters = [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.value[...] = random(p.shape, seed=p.size)  # non-zero biases, to show they are excluded
    strength, m = 0.3, 8
    weights = [layers[0].weight.value, layers[1].weight.value]
    expected = strength / (2 * m) * sum(np.sum(w**2) for w in weights)
    assert L2Penalty(strength).value(parameters, m) == pytest.approx(expected, rel=1e-12)


def test_l2_gradient_adds_lambda_over_m_times_each_weight_and_nothing_to_biases():
    weight = Parameter(random((3, 2)), "weight", decay=True)
    bias = Parameter(random((2,), seed=1), "bias", decay=False)
    weight.grad[...], bias.grad[...] = 1.0, 1.0
    L2Penalty(0.5).add_gradient([weight, bias], 4)
    np.testing.assert_allclose(weight.grad, 1.0 + 0.5 / 4 * weight.value, rtol=1e-12)
    np.testing.assert_array_equal(bias.grad, 1.0)


# ---- bad targets --------------------------------------------------------------------------


@pytest.mark.parametrize(("target", "message"), [
    (np.array([0, 1, 3]), r"labels outside \[0, 3\).*max 3"),
    (np.array([0, -1, 2]), r"labels outside \[0, 3\).*min -1"),
    (np.array([0.0, 1.5, 2.0]), "whole-number class ids"),
    (np.array(["a", "b", "c"]), "integer class ids"),
    (np.array([0, 1]), "target has 2 samples but the output has 3"),
    (np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1]]), "looks one-hot .* rows are not one-hot"),
    (np.zeros((3, 2, 2)), r"class ids of shape \(n_samples,\) or one-hot rows"),
])
def test_cross_entropy_refuses_bad_labels_by_saying_what_it_expects(target, message):
    with pytest.raises(ValueError, match=message):
        CrossEntropy()(random((3, 3)), target)


def test_binary_cross_entropy_refuses_targets_outside_0_1():
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        BinaryCrossEntropy()(random((2, 1)), np.array([0.0, 2.0]))


@pytest.mark.parametrize("loss", [MSE(), BinaryCrossEntropy()], ids=["mse", "bce"])
def test_shape_mismatch_names_both_shapes(loss):
    with pytest.raises(ValueError, match=r"target has shape \(3, 2\) but the output has shape \(3, 1\)"):
        loss.forward(random((3, 1)), np.zeros((3, 2)))


def test_negative_l2_strength_is_refused():
    with pytest.raises(ValueError, match="l2 strength must be >= 0"):
        L2Penalty(-0.1)


def test_losses_are_selectable_by_name_and_an_unknown_name_lists_the_valid_ones():
    assert isinstance(get_loss("cross_entropy"), CrossEntropy)
    assert isinstance(get_loss("BCE"), BinaryCrossEntropy)
    assert isinstance(get_loss("mean-squared-error"), MSE)
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid names are: .*cross_entropy.*mse"):
        get_loss("hinge")


# ---- no hidden state -----------------------------------------------------------------------


@pytest.mark.parametrize("loss", [CrossEntropy(), BinaryCrossEntropy(), MSE()], ids=repr)
def test_loss_backward_twice_returns_the_same_gradient(loss):
    rng = np.random.default_rng(0)
    output = rng.standard_normal((6, 3))
    target = rng.integers(0, 3, 6) if isinstance(loss, CrossEntropy) else rng.random((6, 3)).round()
    _, cache = loss.forward(output, target)
    first = loss.backward(cache)
    second = loss.backward(cache)
    np.testing.assert_array_equal(first, second)
    if isinstance(loss, CrossEntropy):
        np.testing.assert_allclose(first.sum(axis=1), 0.0, atol=1e-15)


# ---- the layers' contract: nothing on the loss object, so threads may share one ---------------


def loss_batches(kind: str, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` (output, target) batches of different sizes for one kind of loss."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(count):
        n = int(rng.integers(1, 40))
        if kind == "cross_entropy":
            batches.append((rng.normal(size=(n, 5)) * 3, rng.integers(0, 5, n)))
        elif kind == "sequence_cross_entropy":
            t = int(rng.integers(1, 9))
            target = rng.integers(0, 4, (n, t))
            target[rng.random((n, t)) < 0.3] = -1  # padding
            target[0, 0] = 2  # at least one position counts
            batches.append((rng.normal(size=(n, t, 4)) * 3, target))
        elif kind == "bce":
            batches.append((rng.normal(size=(n, 2)) * 3, rng.random((n, 2)).round()))
        else:
            batches.append((rng.normal(size=(n, 3)), rng.normal(size=(n, 3))))
    return batches


SHARED_LOSSES = {
    "cross_entropy": CrossEntropy(),
    "sequence_cross_entropy": CrossEntropy(ignore_index=-1),
    "bce": BinaryCrossEntropy(),
    "mse": MSE(),
}


@pytest.mark.parametrize("kind", sorted(SHARED_LOSSES))
def test_one_loss_object_used_by_eight_threads_at_once_gives_what_it_gives_alone(kind):
    loss = SHARED_LOSSES[kind]
    work = [loss_batches(kind, 40, seed) for seed in range(8)]
    alone = [[(value, loss.backward(cache)) for value, cache in (loss.forward(*b) for b in batches)]
             for batches in work]
    results: list[list | None] = [None] * len(work)
    start = threading.Barrier(len(work))

    def run(index: int) -> None:
        start.wait()
        forwards = [loss.forward(*batch) for batch in work[index]]  # every forward first ...
        grads = [loss.backward(cache) for _, cache in reversed(forwards)][::-1]  # ... then backward
        results[index] = [(value, grad) for (value, _), grad in zip(forwards, grads)]

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # let the threads interleave as often as they can
    try:
        threads = [threading.Thread(target=run, args=(index,)) for index in range(len(work))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switch)
    for expected, got in zip(alone, results):
        assert got is not None
        for (value, grad), (value_threaded, grad_threaded) in zip(expected, got):
            assert value_threaded == value
            np.testing.assert_array_equal(grad_threaded, grad)


SEQUENCE_SHAPES = [(1, 1, 2), (2, 3, 4), (5, 7, 3), (3, 1, 6), (4, 9, 10)]


def sequence_batch(shape, ignore_index: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, t, c = shape
    target = rng.integers(0, c, (n, t))
    target[rng.random((n, t)) < 0.25] = ignore_index
    target.flat[rng.integers(0, n * t)] = 0 if ignore_index != 0 else c - 1  # at least one position counts
    return rng.normal(size=shape) * 2, target


@pytest.mark.parametrize("shape", SEQUENCE_SHAPES)
@pytest.mark.parametrize("ignore_index", [-100, 0])
def test_cross_entropy_over_sequences_equals_the_flattened_batch(shape, ignore_index):
    logits, target = sequence_batch(shape, ignore_index, seed=sum(shape))
    loss = CrossEntropy(ignore_index=ignore_index)
    value, cache = loss.forward(logits, target)
    flat_value, flat_cache = loss.forward(logits.reshape(-1, shape[2]), target.reshape(-1))
    assert value == pytest.approx(flat_value, rel=1e-15)
    np.testing.assert_allclose(loss.backward(cache), loss.backward(flat_cache).reshape(shape), rtol=1e-15)


@pytest.mark.parametrize("shape", SEQUENCE_SHAPES)
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_over_sequences_equals_pytorchs_with_ignore_index(shape, ignore_index):
    torch = pytest.importorskip("torch")
    logits, target = sequence_batch(shape, ignore_index, seed=7 * sum(shape))
    value, cache = CrossEntropy(ignore_index=ignore_index).forward(logits, target)
    tensor = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    # PyTorch takes the classes on axis 1: (n, c, t)
    reference = torch.nn.functional.cross_entropy(
        tensor.permute(0, 2, 1), torch.tensor(target), ignore_index=ignore_index
    )
    reference.backward()
    assert value == pytest.approx(reference.item(), rel=1e-12)
    np.testing.assert_allclose(
        CrossEntropy(ignore_index=ignore_index).backward(cache), tensor.grad.numpy(), rtol=1e-10, atol=1e-15
    )
