"""``barenet sweep``: compare settings over several seeds with Optuna (the ``sweep`` extra).

    pip install "barenet[sweep]"
    barenet sweep examples/sweeps/activations.toml --workers 2
    barenet sweep --report sweeps/activations

:mod:`.spec` reads the spec file, :mod:`.engine` holds the Optuna study and runs a trial,
:mod:`.workers` runs trials in local processes, :mod:`.report` writes tables and plots and
:mod:`.command` is the command line. Importing this package imports no Optuna: only running
a sweep does.
"""
