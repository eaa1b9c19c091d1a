"""One source for names and defaults: the command line's choices, metavars and ``--help``
come from the library's registries and constructors, and the configuration refuses what the
optimiser or the schedule would refuse, naming the key and the file."""

from __future__ import annotations

import re

import pytest
from barenet.runs.choices import names

from barenet.cli.main import main
from barenet.errors import ConfigError
from barenet.init import INITIALIZERS
from barenet.layers import ACTIVATIONS
from barenet.losses import LOSSES
from barenet.optim import DEFAULT_LR, OPTIMIZERS
from barenet.runs.config import CHOICES, build_config, read_toml
from barenet.schedules import SCHEDULES


def help_text(capsys, *command: str) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())  # argparse's line breaks undone


def test_the_help_gives_each_optimisers_own_default_learning_rate(capsys):
    text = help_text(capsys, "train")
    groups = re.search(r"--lr LR.*?the optimiser's: (.*?); sine", text).group(1)
    shown = {name: float(lr) for lr, listed in re.findall(r"([\d.]+) for ([a-z, ]+)", groups)
             for name in listed.split(", ")}
    assert shown == DEFAULT_LR and shown["rmsprop"] == 0.01


def test_the_help_lists_every_registered_name(capsys):
    text = help_text(capsys, "train")
    for option, registry in (("--optimizer", OPTIMIZERS), ("--loss", LOSSES), ("--lr-schedule", SCHEDULES)):
        assert f"{option} {{{','.join(names(registry))}}}" in text
    assert "weight initialiser: " + ", ".join(names(INITIALIZERS)) in text
    assert "exponential 0.95" in text and "0.9 for momentum, nesterov" in text


def test_the_names_are_the_registries_first_names():
    assert names({"a": int, "b": float, "alias": int}) == ("a", "b")
    assert set(CHOICES["loss"]) <= set(LOSSES) and set(CHOICES["activation"]) <= set(ACTIVATIONS)
    assert CHOICES["optimizer"] == tuple(OPTIMIZERS)


@pytest.mark.parametrize("line, key, refusal", [
    ('optimizer = "momentum"\nmomentum = 1.5', "momentum = 1.5", "the momentum optimizer: momentum"),
    ('lr_schedule = "exponential"\nlr_decay = 1e-400', "lr_decay = 0.0", "the exponential schedule: gamma"),
    ('lr_schedule = "step"\nlr_decay = 2.0', "lr_decay = 2.0", "the step schedule"),
    ('optimizer = "nesterov"\nmomentum = 0', "momentum = 0.0", "the nesterov optimizer"),
    ("max_grad_norm = 1e-400", "max_grad_norm = 0.0", "the adam optimizer: max_grad_norm"),
    ("lr = -0.1", "lr = -0.1", "the adam optimizer: lr"),
])
def test_the_config_refuses_what_the_optimiser_or_schedule_refuses(tmp_path, capsys, line, key, refusal):
    path = tmp_path / "run.toml"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError) as caught:
        build_config(read_toml(path), sources=[str(path)])
    assert f"{key} in {path}" in str(caught.value) and refusal in str(caught.value)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "run")]) == 1
    assert f"{key} in {path}" in capsys.readouterr().err


def test_a_refused_option_names_the_command_line():
    with pytest.raises(ConfigError, match=r"momentum = 1.5 in the command line is refused by the momentum"):
        build_config({"optimizer": "momentum", "momentum": 1.5}, sources=["the command line"])


def test_rmsprop_has_one_default_learning_rate_everywhere():
    from barenet import mlp
    from barenet.optim import DEFAULT_LR, get_optimizer
    from barenet.runs.config import build_config, resolve_for_data

    model = mlp([2, 2], rng=0)
    assert DEFAULT_LR["rmsprop"] == 0.01
    for name, lr in DEFAULT_LR.items():
        assert get_optimizer(name, model.parameters()).lr == lr  # the Python API
        config = build_config({"optimizer": name})  # the command line and its TOML files
        assert resolve_for_data(config, 2, 2, "classification", n_train=100).lr == lr
