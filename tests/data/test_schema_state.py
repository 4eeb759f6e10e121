"""ChurnSchema objects stored by older releases keep loading, printing, cloning.

A stored model (skops, pickle) holds its schema as the list of field values
in the field order of the release that wrote it; a field added later must
get its default instead of breaking ``repr``, ``clone``, ``pickle`` and
``deepcopy`` of every model stored before.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
import warnings
from pathlib import Path

import pytest

from churnlib.data import ChurnSchema
from churnlib.data._schema import _LAYOUTS

FIXTURE = Path(__file__).parents[1] / "deployment" / "fixtures" / "store-2026-12-01"

FULL = ChurnSchema(
    numeric=("tenure",),
    categorical=("contract",),
    binary=("partner", "sex"),
    id_columns=("customerID",),
    datetime=("signup",),
    target="Churn",
    positive="Yes",
    neg_labels=("No",),
    constant=("region",),
    leakage={"reason": 1.0},
    na_values=("-",),
    key="customerID",
    true_values={"sex": ("1",)},
    false_values={"sex": ("2",)},
    coded_categories=("area",),
    ignored={"Unnamed: 0": "saved index"},
)


def restored(state) -> ChurnSchema:
    schema = ChurnSchema.__new__(ChurnSchema)
    schema.__setstate__(state)
    return schema


@pytest.mark.parametrize("n_fields", sorted(_LAYOUTS))
def test_states_of_older_releases_restore_with_defaults(n_fields):
    names = _LAYOUTS[n_fields]
    old = restored([getattr(FULL, name) for name in names])
    for field in dataclasses.fields(ChurnSchema):
        default = ChurnSchema()
        want = getattr(FULL if field.name in names else default, field.name)
        assert getattr(old, field.name) == want, field.name
    assert ChurnSchema.from_json(old.to_json()) == old  # every field readable
    assert copy.deepcopy(old) == old
    assert pickle.loads(pickle.dumps(old)) == old
    assert "ignored={}" in repr(old)


def test_current_state_and_a_mapping_round_trip():
    assert pickle.loads(pickle.dumps(FULL)) == FULL
    assert copy.deepcopy(FULL) == FULL
    by_name = {"numeric": ("a",), "target": "y"}
    assert restored(by_name) == ChurnSchema(numeric=("a",), target="y")


def test_new_fields_go_last():
    # the positional states above rely on it: each layout is a prefix of the
    # next, except for the two fields inserted before layouts were recorded
    current = tuple(f.name for f in dataclasses.fields(ChurnSchema))
    newest = _LAYOUTS[max(_LAYOUTS)]
    assert current[: len(newest)] == newest
    assert len(current) not in _LAYOUTS or _LAYOUTS[len(current)] == current


def test_a_model_stored_by_an_older_release_pickles_and_clones():
    store = FIXTURE / "store"
    if not store.exists():
        pytest.skip("the fixture store is not in this checkout")
    from sklearn.base import clone

    from churnlib.deployment import ModelStore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fixture's library versions
        model = ModelStore(str(store)).load("20261201T100216.895947Z-de718793")
        copied = copy.deepcopy(model)
        again = pickle.loads(pickle.dumps(model))
        cloned = clone(model)
    assert "ChurnSchema" not in repr(cloned) or "ignored" in repr(cloned)
    schemas = [
        v
        for m in (model, copied, again)
        for _, step in m.steps
        for v in vars(step).values()
        if isinstance(v, ChurnSchema)
    ]
    assert schemas
    for schema in schemas:
        assert schema.ignored == {}
        assert schema.key is None
        assert schema.neg_labels == ()  # not shifted from the next field
        assert schema.numeric[:2] == ("age", "tenure_months")
