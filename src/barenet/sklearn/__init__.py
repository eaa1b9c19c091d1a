"""scikit-learn estimators backed by barenet: ``MLPClassifier`` and ``MLPRegressor``.

They take the parameters of scikit-learn's MLP where the meaning is the same, so they drop
into pipelines, cross-validation and grid searches, and add barenet's own: ``dropout``,
``leaky_relu``, more solvers (``rmsprop``, ``adamw``), learning-rate schedules, ``init``
and ``dtype``. The trained network is ``model_``, a plain :class:`barenet.Sequential`.
Needs scikit-learn: ``pip install barenet[sklearn]``; ``import barenet`` never imports it.
"""

from .base import BaseMLP
from .estimators import MLPClassifier, MLPRegressor

__all__ = ["BaseMLP", "MLPClassifier", "MLPRegressor"]
