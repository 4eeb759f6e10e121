"""Feature importance grouped by ORIGINAL input column, and its Display.

A churn pipeline one-hot encodes ``contract`` into three columns; users ask
"how much does the contract matter", not "how much does contract_Two year
matter". Both methods here answer per input column:

- ``"permutation"``: :func:`sklearn.inspection.permutation_importance` on the
  whole pipeline permutes the columns of the *input* ``X``, so one permutation
  shuffles every one-hot column derived from an input column together;
- ``"impurity"``: the final estimator's ``feature_importances_`` (fast, from
  training, biased towards high-cardinality features), summed over the output
  columns of the preprocessing steps that came from each input column, matched
  by feature name.
"""

from __future__ import annotations

from numbers import Integral
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from churnlib._validation import Interval, StrOptions, validate_params
from churnlib.evaluation._checks import (
    check_binary_target,
    final_estimator,
    positive_proba,
)
from churnlib.evaluation._plotting import _DisplayMixin, check_matplotlib_support
from churnlib.exceptions import DataValidationError, InvalidParameterError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["FeatureImportanceDisplay", "feature_importance"]

_PARAMS: dict[str, list[Any]] = {
    "method": [StrOptions({"auto", "permutation", "impurity"})],
    "n_repeats": [Interval(Integral, 1, None, closed="left")],
    "max_samples": [
        None,
        Interval(float, 0, 1, closed="right"),
        Interval(Integral, 1, None, closed="left"),
    ],
}


def _input_names(estimator: Any, X: Any) -> list[str]:
    if isinstance(X, pd.DataFrame):
        return [str(c) for c in X.columns]
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None:
        return [str(c) for c in names]
    n = np.shape(X)[1] if X is not None else getattr(estimator, "n_features_in_", 0)
    return [f"x{i}" for i in range(n)]


def group_output_features(output_names: list[str], input_names: list[str]) -> list[str]:
    """Map each output feature name to the input column it came from.

    Strips a ``transformer__`` prefix (``ColumnTransformer`` verbose names),
    then takes the longest input name equal to the rest or followed by a
    separator that is not a letter or digit (one-hot columns such as
    ``contract_Two year`` or ``contract=two year``). Unmatched names map to
    themselves.
    """
    inputs = sorted(input_names, key=len, reverse=True)
    groups = []
    for out in output_names:
        stripped = out.split("__", 1)[1] if "__" in out else out
        match = next(
            (
                col
                for cand in (stripped, out)
                for col in inputs
                if cand == col
                or (cand.startswith(col) and not cand[len(col)].isalnum())
            ),
            stripped,
        )
        groups.append(match)
    return groups


def _impurity(estimator: Any, X: Any) -> pd.DataFrame:
    steps = getattr(estimator, "steps", None)
    final = final_estimator(estimator)
    if not hasattr(final, "feature_importances_"):
        raise InvalidParameterError(
            f"method='impurity' needs a final estimator with feature_importances_ "
            f"(trees, forests, boosting); {type(final).__name__} has none. "
            "Use method='permutation'."
        )
    importances = np.asarray(final.feature_importances_, dtype=float)
    inputs = _input_names(estimator, X)
    if steps and len(steps) > 1:
        try:
            outputs = [str(n) for n in estimator[:-1].get_feature_names_out()]
        except (AttributeError, ValueError, TypeError) as err:
            raise InvalidParameterError(
                "method='impurity' maps importances back to input columns through "
                "get_feature_names_out, which the preprocessing steps of this "
                f"pipeline do not support ({err}). Use method='permutation'."
            ) from err
    else:
        outputs = list(inputs)
    if len(outputs) != importances.shape[0]:
        raise DataValidationError(
            f"The final estimator has {importances.shape[0]} importances but the "
            f"preprocessing produces {len(outputs)} features."
        )
    # Per-tree spread for ensembles, so the bars get error bars.
    per_tree = None
    trees = getattr(final, "estimators_", None)
    if trees is not None:
        try:
            per_tree = np.array(
                [t.feature_importances_ for t in np.ravel(trees)], dtype=float
            )
        except (AttributeError, ValueError):
            per_tree = None
    groups = group_output_features(outputs, inputs)
    frame = pd.DataFrame(
        {"group": groups, "importance": importances}, copy=False
    ).groupby("group", sort=False)["importance"]
    mean = frame.sum()
    if per_tree is not None and per_tree.shape[1] == len(groups):
        std = (
            pd.DataFrame(per_tree, columns=groups)
            .T.groupby(level=0, sort=False)
            .sum()
            .std(axis=1, ddof=0)
        )
        std = std.reindex(mean.index)
    else:
        std = pd.Series(np.nan, index=mean.index)
    return pd.DataFrame({"importance_mean": mean, "importance_std": std})


def feature_importance(
    estimator: Any,
    X: Any,
    y: Any = None,
    *,
    method: str = "auto",
    n_repeats: int = 5,
    max_samples: float | int | None = None,
    pos_label: Any = None,
    random_state: Any = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Compute the importance of each ORIGINAL input column of a churn model.

    Parameters
    ----------
    estimator : fitted classifier or Pipeline
        The model; for a pipeline, importances are reported per column of the
        pipeline's input, never per one-hot column.
    X : DataFrame or array-like of shape (n_samples, n_features)
        Customers to compute permutation importance on (held-out data).
    y : array-like of shape (n_samples,), default=None
        Their outcomes; required for ``"permutation"``.
    method : {"auto", "permutation", "impurity"}, default="auto"
        ``"permutation"``: drop in ROC AUC when one input column is shuffled
        (model-agnostic, on the given data). ``"impurity"``: the final
        estimator's ``feature_importances_`` summed per input column (fast,
        trees only). ``"auto"``: impurity when available, else permutation.
    n_repeats : int, default=5
        Shuffles per column for ``"permutation"``.
    max_samples : int or float, default=None
        Rows drawn per repeat for ``"permutation"`` (as in
        :func:`~sklearn.inspection.permutation_importance`); ``None`` uses at
        most 5000 rows.
    pos_label : int, bool or str, default=None
        The churn class of ``y``.
    random_state : int, RandomState instance or None, default=None
        Seed of the permutations.
    n_jobs : int, default=None
        Parallel jobs for ``"permutation"``.

    Returns
    -------
    DataFrame
        Indexed by input column (``feature``), sorted by decreasing
        ``importance_mean``, with ``importance_std``; ``attrs["method"]``
        holds the method used.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.compose import make_column_transformer
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import OneHotEncoder
    >>> from churnlib.evaluation import feature_importance
    >>> X = pd.DataFrame(
    ...     {
    ...         "contract": ["month", "year", "two", "month"] * 25,
    ...         "tenure": range(100),
    ...     }
    ... )
    >>> y = (X["contract"] == "month").to_numpy()
    >>> model = make_pipeline(
    ...     make_column_transformer(
    ...         (OneHotEncoder(), ["contract"]), remainder="passthrough"
    ...     ),
    ...     RandomForestClassifier(n_estimators=10, random_state=0),
    ... ).fit(X, y)
    >>> feature_importance(model, X, y, method="impurity").index.tolist()
    ['contract', 'tenure']
    """
    validate_params(
        _PARAMS,
        {"method": method, "n_repeats": n_repeats, "max_samples": max_samples},
        "feature_importance",
    )
    if method == "auto":
        final = final_estimator(estimator)
        method = "impurity" if hasattr(final, "feature_importances_") else "permutation"
    if method == "impurity":
        result = _impurity(estimator, X)
    else:
        if y is None:
            raise InvalidParameterError(
                "method='permutation' needs the true outcomes y."
            )
        y_bool, pos_label = check_binary_target(
            y, pos_label=pos_label, caller="feature_importance"
        )

        def scorer(est: Any, X_: Any, y_: Any) -> float:
            scores, _ = positive_proba(
                est, X_, pos_label=pos_label, caller="feature_importance"
            )
            return float(roc_auc_score(y_, scores))

        n = np.shape(X)[0]
        if max_samples is None:
            max_samples = 1.0 if n <= 5000 else 5000
        raw = permutation_importance(
            estimator,
            X,
            y_bool,
            scoring=scorer,
            n_repeats=n_repeats,
            max_samples=max_samples,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        result = pd.DataFrame(
            {
                "importance_mean": raw.importances_mean,
                "importance_std": raw.importances_std,
            },
            index=_input_names(estimator, X),
        )
    result.index.name = "feature"
    result = result.sort_values("importance_mean", ascending=False, kind="stable")
    result.attrs["method"] = method
    return result


class FeatureImportanceDisplay(_DisplayMixin):
    """Horizontal bar chart of feature importance per original input column.

    Create it with :meth:`from_estimator` (or from the output of
    :func:`feature_importance`).

    Parameters
    ----------
    importances : DataFrame
        Output of :func:`feature_importance`: ``importance_mean`` and
        ``importance_std`` indexed by feature.
    method : str, default=None
        The method used, shown in the axis label.
    name : str, default=None
        Model name, shown in the title.

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The bars.
    ax_ : matplotlib Axes
        Axes with the chart.
    figure_ : matplotlib Figure
        Figure containing the chart.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from churnlib.evaluation import FeatureImportanceDisplay
    >>> imp = pd.DataFrame(
    ...     {"importance_mean": [0.3, 0.1], "importance_std": [0.02, 0.01]},
    ...     index=pd.Index(["contract", "tenure"], name="feature"),
    ... )
    >>> display = FeatureImportanceDisplay(importances=imp).plot()
    >>> [float(b.get_width()) for b in display.bars_]  # drawn bottom-up
    [0.1, 0.3]
    """

    def __init__(
        self,
        *,
        importances: pd.DataFrame,
        method: str | None = None,
        name: str | None = None,
    ) -> None:
        self.importances = importances
        self.method = method
        self.name = name

    def plot(
        self,
        *,
        ax: Axes | None = None,
        name: str | None = None,
        max_features: int | None = 20,
        **kwargs: Any,
    ) -> Self:
        """Draw the bars, most important feature on top.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure is created when ``None``.
        name : str, default=None
            Title; defaults to the ``name`` given at construction.
        max_features : int, default=20
            Show only the most important features; ``None`` shows all.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh`.

        Returns
        -------
        FeatureImportanceDisplay
        """
        ax, name = self._setup_ax(ax, name)
        imp = self.importances
        if max_features is not None:
            imp = imp.head(max_features)
        imp = imp.iloc[::-1]  # barh draws bottom-up
        std = imp["importance_std"].to_numpy(dtype=float)
        xerr = None if np.isnan(std).all() else np.nan_to_num(std)
        self.bars_ = ax.barh(
            [str(i) for i in imp.index],
            imp["importance_mean"].to_numpy(dtype=float),
            xerr=xerr,
            **kwargs,
        )
        method = self.method or self.importances.attrs.get("method")
        label = {
            "permutation": "Drop in ROC AUC when the column is shuffled",
            "impurity": "Impurity importance (summed over encoded columns)",
        }.get(method or "", "Importance")
        ax.set_xlabel(label)
        if name:
            ax.set_title(name)
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator: Any,
        X: Any,
        y: Any = None,
        *,
        method: str = "auto",
        n_repeats: int = 5,
        max_samples: float | int | None = None,
        pos_label: Any = None,
        random_state: Any = None,
        n_jobs: int | None = None,
        name: str | None = None,
        ax: Axes | None = None,
        max_features: int | None = 20,
        **kwargs: Any,
    ) -> Self:
        """Compute :func:`feature_importance` and plot it.

        Parameters
        ----------
        estimator, X, y, method, n_repeats, max_samples, pos_label, \
random_state, n_jobs
            See :func:`feature_importance`.
        name : str, default=None
            Title of the chart.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        max_features : int, default=20
            Show only the most important features.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.barh`.

        Returns
        -------
        FeatureImportanceDisplay
        """
        check_matplotlib_support(f"{cls.__name__}.from_estimator")
        importances = feature_importance(
            estimator,
            X,
            y,
            method=method,
            n_repeats=n_repeats,
            max_samples=max_samples,
            pos_label=pos_label,
            random_state=random_state,
            n_jobs=n_jobs,
        )
        return cls._from_importances(
            importances, name=name, ax=ax, max_features=max_features, **kwargs
        )

    @classmethod
    def _from_importances(
        cls,
        importances: pd.DataFrame,
        *,
        name: str | None,
        ax: Axes | None,
        max_features: int | None,
        **kwargs: Any,
    ) -> Self:
        """Plot the output of :func:`feature_importance` (its method labels x)."""
        display = cls(
            importances=importances, method=importances.attrs["method"], name=name
        )
        return display.plot(ax=ax, max_features=max_features, **kwargs)
