"""Uplift models: whom a retention offer will keep, not just who will churn.

Each model is a scikit-learn estimator fitted on a campaign -- features, churn
outcome and whether the offer was made -- with ``fit(X, y, treatment)``;
``predict_uplift(X)`` (also ``predict``) estimates the churn probability the
offer removes, ``P(churn | no offer) - P(churn | offer)``. Target the highest
uplift first; a negative uplift marks a *sleeping dog* the offer pushes away.

In a :class:`~sklearn.pipeline.Pipeline` route the treatment to the last step
by its name: ``Pipeline([("prep", ChurnPreprocessor()), ("uplift",
TwoModelUplift())]).fit(X, y, uplift__treatment=offer)``; the pipeline's
``predict`` then returns the uplift.
"""

from churnlib.uplift._models import (
    ClassTransformationUplift,
    TwoModelUplift,
    XLearnerUplift,
)

__all__ = ["ClassTransformationUplift", "TwoModelUplift", "XLearnerUplift"]
