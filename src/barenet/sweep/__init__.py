"""``barenet sweep``: compare settings over several seeds with Optuna (the ``sweep`` extra).

    pip install "barenet[sweep]"
    barenet sweep examples/sweeps/activations.toml --workers 2
    barenet sweep --report sweeps/activations

:mod:`.spec` reads the spec file, :mod:`.storage` opens where the study lives (a journal
file or a database), :mod:`.study` creates or joins the study and hands out its trials,
:mod:`.trials` runs one trial (through the same recipe as ``barenet train``), :mod:`.workers`
runs trials in local processes, :mod:`.report` writes tables and plots and :mod:`.command`
declares the options of ``barenet sweep`` and runs it. Importing this package imports no
Optuna: only running a sweep does.
"""
