"""barenet.sklearn: scikit-learn's own estimator checks, pipelines, grid search, and the extras."""

import copy
import pickle
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sklearn", minversion="1.6")  # __sklearn_tags__ and validate_data came in 1.6

from scipy import sparse
from sklearn.base import clone
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

import barenet
from barenet.sklearn import MLPClassifier, MLPRegressor

# The trainings here are short or on odd data on purpose (scikit-learn's checks feed unscaled,
# random and one-sample data); test_convergence_warning checks the warning that matters.
pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.filterwarnings("ignore::barenet.training.TrainingWarning"),
]


# Every check passes, with no expected failures, for the default float32 networks and for a
# float64 one. (check_methods_subset_invariance compares predicting a batch with predicting
# row by row at atol=1e-7 on float64 X: predictions on float64 X are computed in float64, as
# scikit-learn's own MLP does, so BLAS's different float32 summation orders do not show.)
@parametrize_with_checks([MLPClassifier(), MLPRegressor(), MLPClassifier(dtype="float64")])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=200, n_features=5, n_targets=2, noise=1.0, random_state=0)
    return X, y / y.std(axis=0)


def test_classifier_learns_string_labels_in_a_pipeline(iris):
    X, y = iris
    classifier = MLPClassifier((16,), batch_size=16, learning_rate_init=0.01, random_state=0)
    pipeline = make_pipeline(StandardScaler(), classifier)
    pipeline.fit(X, y)
    assert list(classifier.classes_) == ["setosa", "versicolor", "virginica"]
    assert pipeline.score(X, y) > 0.9
    assert set(pipeline.predict(X)) <= set(classifier.classes_)
    probabilities = pipeline.predict_proba(X)
    assert probabilities.shape == (150, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(pipeline.predict_log_proba(X), np.log(probabilities))
    assert isinstance(classifier.model_, barenet.Sequential)
    assert classifier.n_features_in_ == 4
    assert len(classifier.loss_curve_) == classifier.n_iter_


def test_grid_search_and_cross_validation(iris):
    X, y = iris
    classifier = MLPClassifier(batch_size=16, learning_rate_init=0.01, max_iter=30, random_state=0)
    pipeline = make_pipeline(StandardScaler(), classifier)
    grid = {
        "mlpclassifier__hidden_layer_sizes": [(8,), (16, 8)],
        "mlpclassifier__activation": ["relu", "tanh"],
    }
    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    assert search.best_score_ > 0.8
    assert set(search.best_params_) == set(grid)
    assert len(search.cv_results_["mean_test_score"]) == 4
    best = search.best_estimator_.named_steps["mlpclassifier"]
    assert best is not classifier and not hasattr(classifier, "model_")  # cloned, never fitted itself
    assert best.get_params()["hidden_layer_sizes"] == search.best_params_["mlpclassifier__hidden_layer_sizes"]
    assert search.score(X, y) > 0.9


def test_regressor_in_a_pipeline_and_a_grid_search(regression):
    X, y = regression
    X = X * 100 + 50  # unscaled: the StandardScaler in front matters
    regressor = MLPRegressor(learning_rate_init=0.01, max_iter=60, random_state=0)
    pipeline = make_pipeline(StandardScaler(), regressor)
    grid = {"mlpregressor__hidden_layer_sizes": [(4,), (32,)], "mlpregressor__alpha": [1e-4, 1e-2]}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)
    assert search.best_score_ > 0.8  # R², averaged over the two outputs
    assert search.predict(X).shape == (200, 2)
    scores = cross_val_score(MLPRegressor((8,), max_iter=50, random_state=0), X[:, :3], y[:, 0], cv=3)
    assert scores.shape == (3,) and np.isfinite(scores).all()


def test_barenet_itself_never_imports_sklearn():
    """scikit-learn is an optional extra: every module but barenet.sklearn must import without it."""
    code = (  # the modules are listed from the files: walking the packages would import barenet.sklearn
        "import importlib, pathlib, sys, barenet\n"
        "root = pathlib.Path(barenet.__file__).parent\n"
        "for path in sorted(root.rglob('*.py')):\n"
        "    parts = ('barenet', *path.relative_to(root).with_suffix('').parts)\n"
        "    if parts[1] in ('sklearn', '__main__', 'serve', 'sweep'):\n"
        "        continue\n"
        "    importlib.import_module('.'.join(parts[:-1] if parts[-1] == '__init__' else parts))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'sklearn'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_regressor_with_several_outputs_and_early_stopping(regression):
    X, y = regression
    regressor = MLPRegressor(
        (32,), learning_rate_init=0.01, early_stopping=True, max_iter=500, random_state=0
    )
    regressor.fit(X, y)
    assert regressor.predict(X).shape == (200, 2)
    assert regressor.score(X, y) > 0.9
    assert regressor.n_iter_ < 500  # stopped on the validation score
    assert len(regressor.validation_scores_) == regressor.n_iter_
    assert regressor.best_validation_score_ == max(regressor.validation_scores_)
    assert regressor.best_loss_ is None


def test_classifier_early_stopping_keeps_its_best_weights(iris):
    X, y = iris
    classifier = MLPClassifier(
        (16,), batch_size=16, learning_rate_init=0.01, early_stopping=True, validation_fraction=0.2,
        n_iter_no_change=5, random_state=0,
    )
    pipeline = make_pipeline(StandardScaler(), classifier).fit(X, y)
    scores = classifier.validation_scores_
    assert classifier.n_iter_ == len(scores) < 200 and all(0 <= score <= 1 for score in scores)
    assert classifier.best_validation_score_ == max(scores) > 0.9
    assert pipeline.score(X, y) > 0.9
    with pytest.raises(ValueError, match="early_stopping"):
        classifier.partial_fit(X, y)


def test_training_stops_by_scikit_learns_rule(regression):
    X, y = regression
    regressor = MLPRegressor((32,), learning_rate_init=0.01, tol=1e-2, n_iter_no_change=3, random_state=0)
    regressor.fit(X, y[:, 0])
    assert regressor.n_iter_ < 200
    curve = regressor.loss_curve_
    # each of the last n_iter_no_change + 1 epochs failed to beat the best loss before it by tol
    assert all(curve[i] > min(curve[:i]) - 1e-2 for i in range(len(curve) - 4, len(curve)))
    assert curve[-5] <= min(curve[:-5]) - 1e-2  # and the epoch before them did
    assert regressor.best_loss_ == min(curve)


def test_convergence_warning_when_max_iter_is_reached(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)


def test_partial_fit_and_warm_start_continue_training(iris):
    X, y = iris
    classifier = MLPClassifier((16,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        classifier.partial_fit(X, y)
    losses = [classifier.partial_fit(X, y, classes=np.unique(y)).loss_curve_[-1] for _ in range(30)]
    assert classifier.n_iter_ == 1 and len(classifier.loss_curve_) == 30
    assert losses[-1] < losses[0]
    with pytest.raises(ValueError, match="does not know"):
        classifier.partial_fit(X, np.where(y == "setosa", "rose", y))

    warm = MLPClassifier((16,), max_iter=5, warm_start=True, random_state=0)
    warm.fit(X, y)
    model = warm.model_
    warm.fit(X, y)
    assert warm.model_ is model and len(warm.loss_curve_) == 10


def test_barenet_extras_and_solvers(regression):
    X, y = regression
    for solver in ("sgd", "adam", "adamw", "rmsprop"):
        regressor = MLPRegressor(
            (16, 16), activation="leaky_relu", solver=solver, dropout=0.1, init="he_uniform",
            lr_schedule="cosine", learning_rate_init=0.01, max_iter=100, random_state=0, dtype="float64",
        )
        regressor.fit(X, y)
        assert regressor.model_.dtype == np.float64
        assert regressor.score(X, y) > 0.5, solver


def test_input_checks(iris, monkeypatch):
    X, y = iris
    classifier = MLPClassifier((4,), max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="NaN"):
        classifier.fit(np.where(X > 7, np.nan, X), y)
    with pytest.raises(ValueError, match="2D array"):
        classifier.fit(X[:, 0], y)
    with pytest.raises(ValueError, match="solver"):
        MLPClassifier(solver="lbfgs").fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        classifier.fit(sparse.dok_matrix(np.where(X > 7, np.nan, X)), y)
    dense = clone(classifier).fit(X, y).predict_proba(X)
    classifier.fit(sparse.csr_matrix(X), y)  # small sparse input is densified
    np.testing.assert_array_equal(classifier.predict_proba(sparse.coo_matrix(X)), dense)
    monkeypatch.setattr(barenet.sklearn.base, "MAX_DENSE_ENTRIES", 100)  # large sparse input is refused
    with pytest.raises(ValueError, match="too large to densify"):
        classifier.fit(sparse.csr_matrix(X), y)
    assert classifier.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert classifier.predict_proba(X).dtype == np.float64
    with pytest.raises(ValueError, match="X has 3 features"):
        classifier.predict(X[:, :3])


def test_predictions_keep_the_input_dtype_and_its_precision(iris):
    X, y = iris
    classifier = MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y)  # a float32 network
    assert classifier.model_.dtype == np.float32
    as_float32 = classifier.predict_proba(X.astype(np.float32))
    assert as_float32.dtype == np.float32
    np.testing.assert_allclose(as_float32, classifier.model_.predict_proba(X), rtol=1e-6, atol=1e-7)
    # float64 X gets float64 arithmetic: the float32 weights, exactly, applied in float64
    float64_network = copy.deepcopy(classifier.model_).astype(np.float64)
    as_float64 = classifier.predict_proba(X)
    assert as_float64.dtype == np.float64
    np.testing.assert_allclose(as_float64, float64_network.predict_proba(X), rtol=1e-12, atol=1e-15)
    regressor = MLPRegressor((8,), max_iter=20, random_state=0, dtype="float64").fit(X[:, :3], X[:, 3])
    assert regressor.predict(X[:, :3].astype(np.float32)).dtype == np.float32


def test_pickled_estimator_continues_training_like_the_original(iris):
    X, y = iris
    original = MLPClassifier((8,), max_iter=5, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(original))
    copied = copy.deepcopy(original)
    for estimator in (original, restored, copied):
        for _ in range(3):
            estimator.partial_fit(X, y)
    np.testing.assert_array_equal(restored.predict_proba(X), original.predict_proba(X))
    np.testing.assert_array_equal(copied.predict_proba(X), original.predict_proba(X))
    assert restored.loss_curve_ == original.loss_curve_
    assert not hasattr(clone(original), "model_")


def test_fitted_estimator_pickles_and_the_model_saves(iris, tmp_path):
    X, y = iris
    classifier = MLPClassifier((8,), max_iter=20, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(classifier))
    np.testing.assert_array_equal(restored.predict_proba(X), classifier.predict_proba(X))
    loaded = barenet.load(classifier.model_.save(tmp_path / "iris"))
    np.testing.assert_array_equal(loaded.predict_proba(X), classifier.model_.predict_proba(X))
    X32 = X.astype(np.float32)  # the estimator computes in float32 on float32 X, as the model does
    np.testing.assert_allclose(loaded.predict_proba(X32), classifier.predict_proba(X32), rtol=1e-6, atol=1e-7)


def test_feature_names_are_recorded(iris):
    pandas = pytest.importorskip("pandas")
    X, y = iris
    frame = pandas.DataFrame(X, columns=["sepal_length", "sepal_width", "petal_length", "petal_width"])
    classifier = MLPClassifier((4,), max_iter=3, random_state=0).fit(frame, y)
    assert list(classifier.feature_names_in_) == list(frame.columns)


@pytest.mark.parametrize(("settings", "name"), [
    ({"momentum": 1.5}, "momentum"), ({"learning_rate_init": -0.1}, "learning_rate_init"),
    ({"beta_2": 1.0}, "beta_2"), ({"activation": "swish"}, "activation"), ({"lr_schedule": 5}, "lr_schedule"),
    ({"init": "hee"}, "init"), ({"dtype": "float16"}, "dtype"), ({"batch_size": 0}, "batch_size"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"hidden_layer_sizes": "wide"}, "hidden_layer_sizes"),
])
def test_parameters_are_checked_by_scikit_learns_own_constraints_naming_the_parameter(iris, settings, name):
    X, y = iris
    assert set(MLPClassifier._parameter_constraints) == set(MLPClassifier().get_params())
    for estimator in (MLPClassifier(**settings), MLPRegressor(**settings)):
        with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of MLP"):
            estimator.fit(X, y)
    with pytest.raises(ValueError, match=r"hidden_layer_sizes\[1\] must be a positive integer; got 2.5"):
        MLPClassifier((4, 2.5)).fit(X, y)
