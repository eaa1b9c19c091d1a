"""Argument checks: one vocabulary (barenet.validation), one error family, the parameter named."""

from __future__ import annotations

import numpy as np
import pytest

import barenet
from barenet import BarenetError, ShapeError, mlp
from barenet.init import get_initializer
from barenet.layers import get_activation
from barenet.losses import get_loss
from barenet.optim import get_optimizer
from barenet.schedules import get_schedule
from barenet.validation import check_choice, check_int, check_number, check_pair, check_type


def test_the_same_check_raises_the_same_error_family():
    from barenet.datasets import DatasetError
    from barenet.errors import ConfigError, ImageReadError, ModelFileError

    family = (DatasetError, ConfigError, ImageReadError, ModelFileError, ShapeError, barenet.DivergenceError)
    for error in family:
        assert issubclass(error, BarenetError) and issubclass(error, ValueError)
    with pytest.raises(BarenetError, match="dtype must be float32 or float64"):
        mlp([2, 2], dtype=int)
    with pytest.raises(BarenetError, match=r"layer_sizes\[1\] must be a positive integer; got 2.7"):
        mlp([4, 2.7, 2])


@pytest.mark.parametrize(("check", "message"), [
    (lambda: check_int("units", 0), "units must be a positive integer; got 0"),
    (lambda: check_int("units", True), "units must be a positive integer; got True"),
    (lambda: check_int("units", 2.0), "units must be a positive integer; got 2.0"),
    (lambda: check_int("warmup", -1, low=0), "warmup must be an integer >= 0; got -1"),
    (lambda: check_int("k", 9, low=1, high=8), r"k must be an integer in \[1, 8\]; got 9"),
    (lambda: check_pair("stride", (1, 2, 3)), r"stride must be an integer >= 1 or a pair of them \(height"),
    (lambda: check_pair("padding", -1, low=0), "padding must be an integer >= 0 or a pair"),
    (lambda: check_number("lr", -0.5, low=0.0, low_open=True), "lr must be > 0; got -0.5"),
    (lambda: check_number("beta", 1.5, 0.0, 1.0, high_open=True), r"beta must be in \[0, 1\); got 1.5"),
    (lambda: check_number("lr", float("nan")), "lr must be a finite number; got nan"),
    (lambda: check_number("lr", "0.1"), "lr must be a finite number; got '0.1'"),
    (lambda: check_choice("per", "batch", ("epoch", "step")), "per must be one of 'epoch', 'step'; got 'ba"),
    (lambda: check_choice("per", 5, ("epoch", "step")), "per must be one of 'epoch', 'step'; got 5"),
])
def test_each_check_names_the_parameter_and_what_it_expected(check, message):
    with pytest.raises(BarenetError, match=f"^{message}"):
        check()


def test_checks_return_the_value_in_its_plain_python_type():
    assert check_int("units", np.int64(3)) == 3 and type(check_int("units", np.int64(3))) is int
    assert check_pair("kernel_size", 3) == (3, 3) and check_pair("kernel_size", [2, 4]) == (2, 4)
    assert check_number("lr", np.float32(0.5), low=0.0) == 0.5
    assert check_choice("per", "step", ("epoch", "step")) == "step"
    with pytest.raises(TypeError, match="^x must be an array; got int 3"):
        check_type("x", 3, np.ndarray, "an array")


@pytest.mark.parametrize(("lookup", "name"), [
    (lambda value: get_schedule(value, lr=0.1), "schedule"),
    (get_activation, "activation"),
    (lambda value: get_activation(value, "output_activation"), "output_activation"),
    (get_initializer, "init"),
    (get_loss, "loss"),
    (lambda value: get_optimizer(value, mlp([2, 2], rng=0).parameters()), "optimizer"),
])
@pytest.mark.parametrize("value", [5, None, 0.5, ("relu",)])
def test_every_name_lookup_refuses_a_wrong_type_at_the_door(lookup, name, value):
    with pytest.raises(TypeError, match=rf"^{name} must be a name \(.+\) or an instance of \w+; "
                                        rf"got {type(value).__name__}"):
        lookup(value)
