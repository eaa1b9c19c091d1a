"""Learning-rate schedules: the value at each time t is the schedule's formula."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet import BarenetError
from barenet.schedules import (
    Constant,
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    StepDecay,
    get_schedule,
)

TIMES = [0, 1, 2, 5, 9, 10, 11, 25, 100]


@pytest.mark.parametrize("t", TIMES)
def test_constant_never_changes(t):
    assert Constant(0.1)(t) == 0.1


@pytest.mark.parametrize("t", TIMES)
def test_inverse_time_decay_is_lr_over_one_plus_decay_times_t(t):
    assert InverseTimeDecay(0.5, decay=0.2)(t) == pytest.approx(0.5 / (1 + 0.2 * t), rel=1e-15)


@pytest.mark.parametrize(("t", "drops"), [(0, 0), (9, 0), (10, 1), (19, 1), (20, 2), (35, 3)])
def test_step_decay_multiplies_by_gamma_every_step_size_units(t, drops):
    assert StepDecay(0.1, step_size=10, gamma=0.5)(t) == pytest.approx(0.1 * 0.5**drops, rel=1e-15)


@pytest.mark.parametrize("t", TIMES)
def test_exponential_decay_is_lr_times_gamma_to_the_t(t):
    assert ExponentialDecay(0.1, gamma=0.9)(t) == pytest.approx(0.1 * 0.9**t, rel=1e-12)


def test_cosine_warms_up_linearly_then_follows_a_half_cosine_to_min_lr():
    lr, min_lr, warmup, total = 0.1, 0.01, 4, 24
    schedule = CosineDecay(lr, total=total, min_lr=min_lr, warmup=warmup)
    for t in range(warmup):
        assert schedule(t) == pytest.approx(lr * (t + 1) / warmup, rel=1e-15)
    for t in range(warmup, total + 1):
        progress = (t - warmup) / (total - warmup)
        expected = min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))
        assert schedule(t) == pytest.approx(expected, rel=1e-12)
    assert schedule(warmup) == pytest.approx(lr)
    assert schedule(warmup + (total - warmup) // 2) == pytest.approx((lr + min_lr) / 2)
    assert schedule(total) == pytest.approx(min_lr)
    assert schedule(total + 50) == pytest.approx(min_lr)  # holds at min_lr afterwards


def test_cosine_without_warmup_starts_at_lr():
    assert CosineDecay(0.1, total=10)(0) == 0.1
    assert CosineDecay(0.1, total=10)(10) == pytest.approx(0.0, abs=1e-18)


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(2, 200),
    warmup_fraction=st.floats(0, 0.9),
    lr=st.floats(1e-5, 1.0),
    min_fraction=st.floats(0, 1),
)
def test_cosine_stays_within_min_lr_and_lr_and_never_rises_after_warmup(
    total, warmup_fraction, lr, min_fraction
):
    warmup, min_lr = int(warmup_fraction * total), lr * min_fraction
    schedule = CosineDecay(lr, total=total, min_lr=min_lr, warmup=warmup)
    values = [schedule(t) for t in range(total + 3)]
    assert all(0 <= value <= lr * (1 + 1e-12) for value in values)
    after_warmup = values[warmup:]
    assert all(later <= earlier * (1 + 1e-12) for earlier, later in zip(after_warmup, after_warmup[1:]))
    assert all(value >= min_lr * (1 - 1e-12) for value in after_warmup)


def test_schedules_are_selectable_by_name():
    schedule = get_schedule("cosine", lr=0.1, total=10, warmup=2)
    assert isinstance(schedule, CosineDecay) and (schedule.total, schedule.warmup) == (10, 2)
    assert isinstance(get_schedule("inverse-time", lr=0.1, decay=0.5), InverseTimeDecay)
    assert get_schedule("step", lr=0.1, step_size=3)(3) == pytest.approx(0.01)


def test_an_unknown_schedule_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'linear'; valid names are: "
                                         "constant, cosine, exponential, inverse_time, step"):
        get_schedule("linear", lr=0.1)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: Constant(0), "lr must be > 0; got 0"),
    (lambda: Constant(-0.1), "lr must be > 0; got -0.1"),
    (lambda: Constant(float("inf")), "lr must be a finite number; got inf"),
    (lambda: Constant(0.1, per="batch"), "per must be one of 'epoch', 'step'; got 'batch'"),
    (lambda: InverseTimeDecay(0.1, decay=-1), "decay must be >= 0"),
    (lambda: InverseTimeDecay(0.1, decay="0.1"), "decay must be a finite number"),
    (lambda: StepDecay(0.1, step_size=0), "step_size must be a positive integer; got 0"),
    (lambda: StepDecay(0.1, step_size=2.5), "step_size must be a positive integer; got 2.5"),
    (lambda: StepDecay(0.1, gamma=0.0), r"gamma must be in \(0, 1\]; got 0.0"),
    (lambda: ExponentialDecay(0.1, gamma=1.5), r"gamma must be in \(0, 1\]"),
    (lambda: ExponentialDecay(0.1, gamma=float("1e-400")), r"gamma must be in \(0, 1\]; got 0.0"),
    (lambda: CosineDecay(0.1, total=0), "total must be a positive integer"),
    (lambda: CosineDecay(0.1, total=10, warmup=10), r"warmup must be below total \(10\); got 10"),
    (lambda: CosineDecay(0.1, total=10, warmup=-1), "warmup must be an integer >= 0"),
    (lambda: CosineDecay(0.1, total=10, min_lr=0.2), r"min_lr must be in \[0, 0.1\]; got 0.2"),
])
def test_bad_schedule_settings_name_what_was_expected(build, message):
    with pytest.raises(BarenetError, match=message):
        build()


@pytest.mark.parametrize("schedule", [5, None, ["cosine"], Constant])
def test_get_schedule_refuses_what_is_neither_a_name_nor_a_schedule(schedule):
    with pytest.raises(TypeError, match=r"^schedule must be a name \(constant, cosine, .*\) or an instance "
                                        "of Schedule; got"):
        get_schedule(schedule, lr=0.1)
