"""Initialisers: on a large draw, each one's spread matches its published formula."""

import math

import numpy as np
import pytest

from barenet import BarenetError, Dense
from barenet.init import (
    INITIALIZERS,
    Constant,
    HeNormal,
    HeUniform,
    Initializer,
    LeCunNormal,
    LeCunUniform,
    Normal,
    Uniform,
    XavierNormal,
    XavierUniform,
    Zeros,
    get_initializer,
)

FAN_IN, FAN_OUT = 300, 200  # 60 000 draws: the sample std is within 0.6% of the truth (2 sigma)
SHAPE = (FAN_IN, FAN_OUT)


def draw(initializer, dtype=np.float64, seed=0):
    return initializer(SHAPE, fan_in=FAN_IN, fan_out=FAN_OUT, rng=np.random.default_rng(seed), dtype=dtype)


@pytest.mark.parametrize(("initializer", "std"), [
    (XavierNormal(), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    (HeNormal(), math.sqrt(2 / FAN_IN)),
    (LeCunNormal(), math.sqrt(1 / FAN_IN)),
    (Normal(std=0.3), 0.3),
], ids=["xavier_normal", "he_normal", "lecun_normal", "normal"])
def test_normal_initialisers_have_zero_mean_and_the_published_std(initializer, std):
    weights = draw(initializer)
    assert abs(weights.mean()) < 4 * std / math.sqrt(weights.size)
    assert weights.std() == pytest.approx(std, rel=0.015)
    assert np.abs(weights).max() > 3 * std  # really normal: tails beyond 3 sigma occur


@pytest.mark.parametrize(("initializer", "limit"), [
    (XavierUniform(), math.sqrt(6 / (FAN_IN + FAN_OUT))),
    (HeUniform(), math.sqrt(6 / FAN_IN)),
    (LeCunUniform(), math.sqrt(3 / FAN_IN)),
], ids=["xavier_uniform", "he_uniform", "lecun_uniform"])
def test_uniform_initialisers_fill_minus_a_to_a(initializer, limit):
    weights = draw(initializer)
    assert weights.min() >= -limit and weights.max() <= limit
    assert weights.min() < -0.999 * limit and weights.max() > 0.999 * limit
    assert weights.std() == pytest.approx(limit / math.sqrt(3), rel=0.015)  # std of U(−a, a)


def test_uniform_low_high_fills_exactly_that_interval():
    weights = draw(Uniform(low=2.0, high=5.0))
    assert weights.min() >= 2.0 and weights.max() <= 5.0
    assert weights.mean() == pytest.approx(3.5, rel=0.01)
    assert weights.std() == pytest.approx(3 / math.sqrt(12), rel=0.015)


def test_zeros_and_constant_fill_every_entry():
    assert not draw(Zeros()).any()
    np.testing.assert_array_equal(draw(Constant(0.25)), np.full(SHAPE, 0.25))


def test_the_same_seed_gives_the_same_weights():
    np.testing.assert_array_equal(draw(HeNormal(), seed=7), draw(HeNormal(), seed=7))
    assert not np.array_equal(draw(HeNormal(), seed=7), draw(HeNormal(), seed=8))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initialisers_return_the_requested_dtype(dtype):
    for name in INITIALIZERS:
        assert draw(get_initializer(name), dtype=dtype).dtype == dtype


def test_float32_is_the_default_dtype():
    assert HeNormal()(SHAPE, fan_in=FAN_IN, fan_out=FAN_OUT, rng=np.random.default_rng(0)).dtype == np.float32


@pytest.mark.parametrize(("name", "cls"), [
    ("xavier", XavierUniform), ("glorot_normal", XavierNormal), ("he", HeNormal),
    ("kaiming_uniform", HeUniform), ("lecun", LeCunNormal), ("lecun_uniform", LeCunUniform),
    ("normal", Normal), ("uniform", Uniform), ("zeros", Zeros), ("constant", Constant),
    ("He-Normal", HeNormal),
])
def test_initialisers_are_selectable_by_name(name, cls):
    assert type(get_initializer(name)) is cls


def test_an_initialiser_object_passes_through():
    initializer = Normal(std=0.5)
    assert get_initializer(initializer) is initializer


def test_dense_uses_the_named_initialiser_with_its_own_fans():
    layer = Dense(FAN_IN, FAN_OUT, init="he_uniform", bias_init=Constant(0.1), rng=0)
    limit = math.sqrt(6 / FAN_IN)
    assert np.abs(layer.weight.value).max() <= limit
    assert layer.weight.value.std() == pytest.approx(limit / math.sqrt(3), rel=0.015)
    np.testing.assert_array_equal(layer.bias.value, np.full(FAN_OUT, 0.1, dtype=np.float32))


def test_an_unknown_initialiser_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown initialiser 'xavir'; valid names are: constant, glorot, "
                                         ".*he_uniform.*lecun_uniform.*xavier_uniform, zeros"):
        get_initializer("xavir")


def test_something_that_is_neither_a_name_nor_an_initialiser_is_refused():
    with pytest.raises(TypeError, match=r"^init must be a name \(constant, .*\) or an instance of "
                                        "Initializer; got int 3"):
        get_initializer(3)
    with pytest.raises(TypeError, match="^bias_init must be a name"):
        get_initializer(HeNormal, "bias_init")  # the class, not an object


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Normal(std=-1.0), "std must be >= 0"),
    (lambda: Normal(mean=float("nan")), "mean must be a finite number"),
    (lambda: Uniform(low="0", high=1.0), "low must be a finite number"),
    (lambda: Constant(value=None), "value must be a finite number"),
])
def test_initialiser_settings_are_checked_by_name(build, message):
    with pytest.raises(BarenetError, match=message):
        build()


def test_uniform_needs_low_below_high():
    with pytest.raises(ValueError, match="Uniform needs low < high"):
        Uniform(low=1.0, high=1.0)


def test_every_registered_name_builds_an_initializer():
    for name in INITIALIZERS:
        assert isinstance(get_initializer(name), Initializer)
