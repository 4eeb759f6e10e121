"""MLflow ``python_function`` loader for model-store versions (a stable module).

Every version folder's ``model/MLmodel`` names this module as the loader of
its ``python_function`` flavor, so ``mlflow.pyfunc.load_model("<version>/model")``
and ``mlflow models serve -m <version>/model`` give a model whose ``predict``
returns the churn probability of each row: a 1-D float64 array of P(churn),
the column of ``predict_proba`` the model's contract names as churn (for an
uplift model, whose contract says ``task="uplift"``: the reduction in churn
probability an offer brings, P(churn | no offer) - P(churn | offer)). Raw
tables are first made into the model's features by the contract
(:meth:`churnlib.ModelContract.prepare`).

This module's name and :func:`_load_pyfunc` are referenced by stored models:
they never move or change signature.

Loading checks ``model.skops`` against the version's ``manifest.json`` when the
folder has one (a downloaded or local store version), and its signature when
``CHURNLIB_SIGNING_KEY`` is set. Types are trusted from churnlib's own list plus
``model_config={"trusted_types": [...]}``, never from the artifact.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["ChurnProbabilityModel"]


class ChurnProbabilityModel:
    """A fitted churn model answering ``predict`` with P(churn).

    Parameters
    ----------
    model : fitted classifier
        Usually a scikit-learn ``Pipeline`` carrying a model contract.
    """

    def __init__(self, model: Any) -> None:
        self.model = model

    def get_raw_model(self) -> Any:
        """Return the fitted scikit-learn model."""
        return self.model

    def predict(self, model_input: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Return P(churn) for each row of ``model_input``.

        Parameters
        ----------
        model_input : pandas.DataFrame or array-like
            Rows as in training; with a contract, raw values are prepared
            (text numbers, Yes/No, blanks) and extra columns ignored.
        params : mapping, default=None
            Unused (MLflow's inference parameters).

        Returns
        -------
        ndarray of float64, shape (n_samples,)
        """
        import numpy as np
        import pandas as pd

        from churnlib._core.contract import get_contract
        from churnlib._core.model_facts import churn_proba, through_pipeline

        X = model_input
        contract = get_contract(self.model)
        if contract is not None and isinstance(X, pd.DataFrame):
            X = contract.prepare(X, source="the MLflow model input")
        if contract is not None and contract.task == "uplift":
            # an uplift model has no P(churn) of its own: its answer is the
            # reduction in churn probability an offer brings (as score_table)
            final, Xt = through_pipeline(self.model, X)
            return np.asarray(final.predict_uplift(Xt), dtype=np.float64)
        return churn_proba(self.model, X)


def _verify_against_manifest(path: Path, blob: bytes) -> None:
    from churnlib.deployment._manifest import check_file, check_signature
    from churnlib.exceptions import IntegrityError

    manifest_path = path.parent.parent / "manifest.json"
    if not manifest_path.is_file():
        return
    where = str(manifest_path)
    try:
        manifest = json.loads(manifest_path.read_bytes())
        expected = manifest["files"][f"{path.parent.name}/{path.name}"]
    except (ValueError, KeyError, TypeError) as err:
        raise IntegrityError(
            f"The manifest {where} next to the MLflow model cannot be read "
            f"({type(err).__name__}); download the version again.",
            url=where,
        ) from None
    key = os.environ.get("CHURNLIB_SIGNING_KEY")
    check_signature(manifest, key.encode() if key else None, where)
    check_file(expected, blob, str(path))


def _load_pyfunc(
    path: str, model_config: Mapping[str, Any] | None = None
) -> ChurnProbabilityModel:
    """Load ``model.skops`` for MLflow (called by ``mlflow.pyfunc.load_model``)."""
    import skops.io as sio

    from churnlib._core.contract import attach_contract, get_contract
    from churnlib.deployment._security import load_trusted
    from churnlib.exceptions import IntegrityError

    file = Path(path)
    blob = file.read_bytes()
    _verify_against_manifest(file, blob)
    extra = list((model_config or {}).get("trusted_types") or [])
    candidates = sio.get_untrusted_types(data=blob)
    try:
        model = sio.loads(blob, trusted=load_trusted(candidates, extra))
    except Exception as err:
        raise IntegrityError(
            f"The model {path} holds types churnlib does not trust or cannot be "
            f"read ({type(err).__name__}: {str(err).splitlines()[0][:300]}). Pass "
            "model_config={'trusted_types': [...]} for types your code trusts.",
            url=str(path),
        ) from None
    manifest_path = file.parent.parent / "manifest.json"
    if get_contract(model) is None and manifest_path.is_file():
        stored = json.loads(manifest_path.read_bytes()).get("contract")
        if stored:
            from churnlib._core.contract import ModelContract

            attach_contract(model, ModelContract.from_dict(stored))
    return ChurnProbabilityModel(model)
