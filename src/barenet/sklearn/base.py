"""What barenet's scikit-learn estimators share: parameters, input checks, the training loop.

They take the parameters of scikit-learn's MLP where the meaning is the same, so they drop
into pipelines, cross-validation and grid searches, and add barenet's own: ``dropout``,
``leaky_relu``, more solvers (``rmsprop``, ``adamw``), learning-rate schedules, ``init``
and ``dtype``. The trained network is ``model_``, a plain :class:`barenet.Sequential`
(``model_.save(path)`` writes a safe model file).

Training mirrors scikit-learn's stochastic solvers: one epoch per iteration; stop when the
training loss (or, with ``early_stopping``, the validation score) has not improved by
``tol`` for more than ``n_iter_no_change`` epochs; a ``ConvergenceWarning`` when
``max_iter`` epochs were not enough. A binary classifier has one sigmoid output, as in
scikit-learn; ``predict_proba`` still returns two columns.

Input is checked as scikit-learn checks it (NaN/inf and 1-D X refused; sparse X densified
when small enough, refused otherwise). Outputs keep X's dtype, and so does their arithmetic:
the network trains in ``dtype`` (float32 by default), but float64 X is predicted in float64
(the trained weights applied in float64), as scikit-learn's MLP predicts float64 X in float64.

Needs scikit-learn: ``pip install barenet[sklearn]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils.validation import validate_data
except ImportError:  # scikit-learn < 1.6

    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


from ..errors import BarenetError
from ..init import INITIALIZERS, Initializer
from ..losses import Loss
from ..model import mlp
from ..schedules import SCHEDULES, Schedule
from ..training import Callback, Trainer
from ..validation import check_int

SOLVERS = ("adam", "sgd", "adamw", "rmsprop")
# scikit-learn's activation names → barenet's
ACTIVATIONS = {
    "identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu",
}
FLOAT_DTYPES = (np.float64, np.float32)  # X keeps either; anything else becomes float64
# Formats whose NaN/inf scikit-learn can check; other sparse formats (dok, lil, ...) are converted first.
SPARSE_FORMATS = ("csr", "csc", "coo")
MAX_DENSE_ENTRIES = 10**8  # sparse input is densified up to this many entries (400 MB in float32)
PREDICT_BATCH = 8192  # rows per forward pass when predicting


class BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks and the training loop.

    Parameters as in scikit-learn's MLP:
        hidden_layer_sizes: units of each hidden layer, e.g. ``(64, 32)``.
        activation: of the hidden layers: "relu", "tanh", "logistic", "identity" or "leaky_relu".
        solver: "adam", "sgd" (with ``momentum``, ``nesterovs_momentum``), "adamw" or "rmsprop".
        alpha: L2 strength, the penalty alpha/(2·batch size)·Σ‖W‖² (barenet's ``l2``).
        batch_size: samples per step; "auto" is min(200, n_samples).
        learning_rate_init: the (initial) learning rate.
        max_iter: the most epochs one ``fit`` runs.
        tol, n_iter_no_change: stop after more than ``n_iter_no_change`` epochs without a
            ``tol`` improvement.
        early_stopping, validation_fraction: watch the score on this held-out fraction instead
            of the training loss, and keep the weights that scored best.
        beta_1, beta_2, epsilon: Adam's (and AdamW's; RMSProp's ``epsilon``).
        random_state: seed (or RandomState) for the weights, the shuffling and dropout.
        verbose: print the loss of each epoch.
        warm_start: ``fit`` continues from the current weights.
    barenet's own:
        dropout: probability of dropping each hidden unit while training.
        init: weight initialiser ("he", "xavier", ...; default He for (leaky) ReLU, else Xavier).
        lr_schedule: "constant", "inverse_time", "step", "exponential", "cosine" (over
            ``max_iter`` epochs) or a :class:`barenet.schedules.Schedule`.
        dtype: "float32" or "float64", the network's numbers, used in training. Predictions
            are computed in the wider of this and X's dtype, and returned in X's dtype.
    """

    _task: str  # "classification" or "regression"

    # scikit-learn's own declaration of what each parameter may be, checked by
    # ``_validate_params()`` at the start of every fit (as scikit-learn's estimators do).
    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions(set(SOLVERS))],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "init": [StrOptions(set(INITIALIZERS)), Initializer, None],
        "lr_schedule": [StrOptions(set(SCHEDULES)), Schedule],
        "dtype": [StrOptions({"float32", "float64"}), type, np.dtype],
    }

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        tol: float = 1e-4,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        warm_start: bool = False,
        dropout: float = 0.0,
        init: str | Initializer | None = None,
        lr_schedule: str | Schedule = "constant",
        dtype: str = "float32",
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.dropout = dropout
        self.init = init
        self.lr_schedule = lr_schedule
        self.dtype = dtype

    # ---- what subclasses provide --------------------------------------------------------

    def _encode_targets(self, y, first: bool, classes=None) -> tuple[np.ndarray, int]:
        """Targets as the network trains on them, and the number of network outputs."""
        raise NotImplementedError

    def _loss(self) -> Loss | None:
        return None  # barenet's default for the task

    # ---- checks -------------------------------------------------------------------------

    def _hidden_sizes(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, (int, np.integer)) else list(sizes)
        return [check_int(f"hidden_layer_sizes[{index}]", size) for index, size in enumerate(sizes)]

    def _validate_input(self, X, y, reset: bool) -> tuple[np.ndarray, np.ndarray]:
        """scikit-learn's checks of (X, y) for fitting."""
        regression = self._task == "regression"
        X, y = validate_data(
            self, X, y, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES, multi_output=regression,
            y_numeric=regression, reset=reset,
        )
        return _densify(X), y

    # ---- training -----------------------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> BaseMLP:
        """Train on (X, y) for up to ``max_iter`` epochs (continuing the model if ``warm_start``)."""
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental: bool, classes=None) -> BaseMLP:
        self._validate_params()
        if incremental and self.early_stopping:
            raise BarenetError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "model_") or not (incremental or self.warm_start)
        X, y = self._validate_input(X, y, reset=first)
        targets, n_outputs = self._encode_targets(y, first, classes)
        random_state = check_random_state(self.random_state)
        if first:
            self._build(X.shape[1], n_outputs, _seed(random_state))
        X = X.astype(self.model_.dtype, copy=False)  # once, rather than batch by batch
        if not incremental or not hasattr(self, "_trainer"):
            self._trainer = self._new_trainer(_seed(random_state))
        validation = None
        if self.early_stopping:
            X, X_val, y, y_val, targets, _ = train_test_split(
                X, y, targets, test_size=self.validation_fraction, random_state=random_state,
                stratify=targets if self._task == "classification" else None,
            )
            if len(X_val) < 2:
                raise BarenetError("the validation set is too small; increase validation_fraction")
            validation = (X_val, y_val)
        self._trainer.batch_size = self._batch_size(len(X))
        self._run_epochs(X, targets, 1 if incremental else self.max_iter, validation, incremental)
        return self

    def _build(self, n_features: int, n_outputs: int, seed: int) -> None:
        self.model_ = mlp(
            [n_features, *self._hidden_sizes(), n_outputs], activation=ACTIVATIONS[self.activation],
            task=self._task, dropout=self.dropout, init=self.init, rng=seed, dtype=self.dtype,
        )
        self.loss_curve_: list[float] = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = [], -np.inf, None
        else:
            self.validation_scores_, self.best_validation_score_, self.best_loss_ = None, None, np.inf

    def _batch_size(self, n_samples: int) -> int:
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn("Got `batch_size` larger than sample size. It is going to be clipped", stacklevel=4)
        return int(min(self.batch_size, n_samples))

    def _new_trainer(self, seed: int) -> Trainer:
        if self.solver == "sgd":
            options = {"momentum": self.momentum, "nesterov": self.nesterovs_momentum and self.momentum > 0}
        elif self.solver == "rmsprop":
            options = {"eps": self.epsilon}
        else:
            options = {"betas": (self.beta_1, self.beta_2), "eps": self.epsilon}
        return Trainer(
            self.model_, loss=self._loss(), optimizer=self.solver, lr=self.learning_rate_init,
            lr_schedule=self.lr_schedule,
            schedule_options={"total": self.max_iter} if self.lr_schedule == "cosine" else None,
            l2=self.alpha, optimizer_options=options, seed=seed,
        )

    def _run_epochs(self, X, targets, epochs: int, validation, incremental: bool) -> None:
        """scikit-learn's loop: stop after more than ``n_iter_no_change`` epochs without a
        ``tol`` improvement of the training loss (or of the validation score).

        One ``Trainer.fit`` call runs all the epochs (the data is checked once, not once per
        epoch); the rule is applied after each epoch by a callback."""
        self.n_iter_ = 0
        stopping = _ScikitLearnStopping(self, validation)
        self._trainer.fit(X, targets, epochs=self._trainer.epoch + epochs, callbacks=[stopping], verbose=0)
        if not stopping.stopped and not incremental:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.", ConvergenceWarning, stacklevel=4,
            )
        if validation is not None and hasattr(self, "_best_weights"):
            self.model_.set_weights(self._best_weights)

    def _end_epoch(self, loss: float, validation) -> bool:
        """Record an epoch; True when scikit-learn's rule says stop."""
        self.n_iter_ += 1
        self.loss_curve_.append(loss)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {loss:.8f}")
        self._update_no_improvement_count(validation)
        if self._no_improvement_count <= self.n_iter_no_change:
            return False
        if self.verbose:
            watched = "Validation score" if validation else "Training loss"
            print(f"{watched} did not improve more than tol={self.tol} for "
                  f"{self.n_iter_no_change} consecutive epochs. Stopping.")
        return True

    def _update_no_improvement_count(self, validation) -> None:
        if validation is not None:
            score = self._validation_score(*validation)
            self.validation_scores_.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            improved = score >= self.best_validation_score_ + self.tol
            if score > self.best_validation_score_:
                self.best_validation_score_ = score
                self._best_weights = self.model_.get_weights()
        else:
            loss = self.loss_curve_[-1]
            improved = loss <= self.best_loss_ - self.tol
            self.best_loss_ = min(self.best_loss_, loss)
        self._no_improvement_count = 0 if improved else self._no_improvement_count + 1

    # ---- using the fitted network -------------------------------------------------------

    def _validation_score(self, X: np.ndarray, y: np.ndarray) -> float:
        """``score`` on arrays already checked (accuracy, or R² averaged over the outputs)."""
        raise NotImplementedError

    def _checked(self, X: ArrayLike) -> np.ndarray:
        """X for prediction, checked against what the estimator was fitted on."""
        check_is_fitted(self)
        return _densify(validate_data(self, X, accept_sparse=SPARSE_FORMATS, dtype=FLOAT_DTYPES, reset=False))

    def _outputs(self, X: np.ndarray) -> np.ndarray:
        """The network's outputs for checked X, in X's dtype.

        The arithmetic is done in the wider of X's and the network's dtypes: float64 input
        is not rounded to float32 on the way in, so float64 in means float64 arithmetic
        out (as scikit-learn's own MLP does), also for a network trained in float32.
        """
        outputs = [
            self.model_.forward(X[start : start + PREDICT_BATCH])
            for start in range(0, len(X), PREDICT_BATCH)
        ]
        return np.concatenate(outputs).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class _ScikitLearnStopping(Callback):
    """Hands each finished epoch to the estimator, and stops the trainer when it says so."""

    def __init__(self, estimator: BaseMLP, validation) -> None:
        self.estimator, self.validation, self.stopped = estimator, validation, False

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.estimator._end_epoch(float(logs["loss"]), self.validation):
            self.stopped = trainer.stop_training = True


def _seed(random_state: np.random.RandomState) -> int:
    """An integer seed for barenet drawn from scikit-learn's random state."""
    return int(random_state.randint(np.iinfo(np.int32).max))


def _densify(X):
    """barenet works on dense arrays: a sparse X becomes one, unless that would be huge."""
    if not sparse.issparse(X):
        return X
    if X.shape[0] * X.shape[1] > MAX_DENSE_ENTRIES:
        raise BarenetError(
            f"X is a sparse matrix of shape {X.shape}, too large to densify; barenet works on dense "
            "arrays. Reduce the features first (e.g. TruncatedSVD) or pass a dense array"
        )
    return X.toarray()
