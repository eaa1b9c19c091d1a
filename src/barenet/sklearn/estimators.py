"""scikit-learn estimators backed by barenet: ``MLPClassifier`` and ``MLPRegressor``.

See :mod:`barenet.sklearn` for what they take and how they train. Needs scikit-learn:
``pip install barenet[sklearn]``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import check_classification_targets

from ..errors import BarenetError
from ..losses import MSE, Loss
from .base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """A multi-layer perceptron classifier trained by barenet, with scikit-learn's interface.

    Any labels (strings included) are learnt as ``classes_``; the parameters are those of
    :class:`BaseMLP`. Fitted: ``classes_``, ``n_features_in_`` (``feature_names_in_``),
    ``loss_curve_``, ``best_loss_``, ``validation_scores_``, ``best_validation_score_``,
    ``n_iter_`` and ``model_``, the trained :class:`barenet.Sequential`.
    """

    _task = "classification"

    def partial_fit(self, X: ArrayLike, y: ArrayLike, classes: ArrayLike | None = None) -> MLPClassifier:
        """One epoch on (X, y); the first call needs ``classes``, all the labels there will be."""
        if not hasattr(self, "model_") and classes is None:
            raise BarenetError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, incremental=True, classes=classes)

    def _encode_targets(self, y, first: bool, classes=None) -> tuple[np.ndarray, int]:
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise BarenetError(f"a classifier needs at least 2 classes; got 1 class, {self.classes_}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise BarenetError(f"classes={classes!r} differs from the first call's classes_ {self.classes_}")
        ids = np.searchsorted(self.classes_, y).clip(max=len(self.classes_) - 1)
        unknown = self.classes_[ids] != y
        if unknown.any():
            raise BarenetError(
                f"y holds labels the classifier does not know: {np.unique(y[unknown])}; "
                f"its classes_ are {self.classes_}"
            )
        return ids, 1 if len(self.classes_) == 2 else len(self.classes_)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The most probable label of each sample."""
        return self._labels(self._checked(X))

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities of shape (n_samples, n_classes), columns in the order of ``classes_``."""
        return self._probabilities(self._checked(X))

    def predict_log_proba(self, X: ArrayLike) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def _probabilities(self, X: np.ndarray) -> np.ndarray:
        probabilities = self._outputs(X)  # the network ends in a softmax, or one sigmoid if binary
        if probabilities.shape[1] == 1:
            return np.hstack([1 - probabilities, probabilities])
        return probabilities

    def _labels(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[self._probabilities(X).argmax(axis=1)]

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        return accuracy_score(y, self._labels(X))


class MLPRegressor(RegressorMixin, BaseMLP):
    """A multi-layer perceptron regressor trained by barenet, with scikit-learn's interface.

    Trains on scikit-learn's loss ½·mean((ŷ − y)²); y may have several columns. The parameters
    and fitted attributes are those of :class:`MLPClassifier`, less ``classes_``.
    """

    _task = "regression"

    def partial_fit(self, X: ArrayLike, y: ArrayLike) -> MLPRegressor:
        """One epoch on (X, y), continuing from the current weights."""
        return self._fit(X, y, incremental=True)

    def _loss(self) -> Loss:
        return MSE(half=True)

    def _encode_targets(self, y, first: bool, classes=None) -> tuple[np.ndarray, int]:
        targets = y.reshape(len(y), -1)
        if not first and targets.shape[1] != self.model_.out_features:
            raise BarenetError(
                f"y has {targets.shape[1]} outputs but the model was fitted with {self.model_.out_features}"
            )
        return targets, targets.shape[1]

    def predict(self, X: ArrayLike) -> np.ndarray:
        """Predictions of shape (n_samples,) for one output, (n_samples, n_outputs) for several."""
        return self._values(self._checked(X))

    def _values(self, X: np.ndarray) -> np.ndarray:
        outputs = self._outputs(X)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        return r2_score(y, self._values(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
