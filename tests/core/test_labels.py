import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from churnlib import LabelRule, decode_labels, infer_label_rule
from churnlib.exceptions import DataValidationError


@pytest.mark.parametrize(
    ("values", "pos"),
    [
        (["Yes", "No", "No"], "Yes"),
        (["no", "yes"], "yes"),
        ([0, 1, 1], 1),
        ([0.0, 1.0], 1.0),
        ([True, False], True),
        (["Y", "N"], "Y"),
        (["F", "T"], "T"),
        (["Stayed", "Left"], "Left"),
        (["Existing Customer", "Attrited Customer"], "Attrited Customer"),
        (["churner", "loyal"], "churner"),
        (["Churned", "Not churned"], "Churned"),
        (["retained", "gone"], "gone"),
        (["active", "cancelled"], "cancelled"),
        # the UCI telecom churn table writes its labels with a full stop
        (["False.", "True.", "False."], "True."),
        (["yes.", "no."], "yes."),
    ],
)
def test_the_one_rule_finds_the_churn_label(values, pos):
    rule = infer_label_rule(values)
    assert rule.pos_label == pos
    y = rule.decode(values)
    assert y.dtype == bool
    assert y.tolist() == [v == pos for v in values]


@pytest.mark.parametrize("values", [[1, 2], ["a", "b"], ["gold", "silver", "bronze"]])
def test_ambiguous_labels_are_refused_not_guessed(values):
    with pytest.raises(DataValidationError, match=r"Pass pos_label="):
        infer_label_rule(values, name="status")


def test_explicit_pos_label_matches_folded_text_and_the_rest_is_negative():
    rule = infer_label_rule(["low", "mid", "High "], pos_label="high")
    assert rule.pos_label == "High"
    assert set(rule.neg_labels) == {"low", "mid"}
    assert rule.decode(["high", "low", "mid"]).tolist() == [True, False, False]


def test_pos_label_that_does_not_occur_names_the_values():
    with pytest.raises(DataValidationError, match=r"pos_label='x' does not occur.*'a'"):
        infer_label_rule(["a", "b"], pos_label="x", name="t")


def test_missing_labels_are_unlabelled_rows_not_a_class():
    values = pd.Series(["Yes", None, " ", "Unknown", "No", np.nan], name="Churn")
    rule = infer_label_rule(values)
    assert rule.pos_label == "Yes"
    assert rule.is_missing(values).tolist() == [False, True, True, True, False, True]
    with pytest.raises(DataValidationError, match=r"4 missing label"):
        rule.decode(values)
    assert rule.decode(values[~rule.is_missing(values)]).tolist() == [True, False]


def test_unknown_label_at_decode_time_is_named():
    rule = infer_label_rule(["Yes", "No"], name="Churn")
    with pytest.raises(DataValidationError, match=r"'maybe'.*neither") as e:
        rule.decode(["Yes", "maybe"])
    assert e.value.columns == ("Churn",)


def test_bool_rule_reads_words_and_numbers():
    rule = LabelRule(pos_label=True, neg_labels=(False,))
    assert rule.decode(["yes", "no", "TRUE"]).tolist() == [True, False, True]
    assert rule.decode(np.array([1, 0])).tolist() == [True, False]


def test_rule_round_trips_through_json_types():
    _, rule = decode_labels(np.array([0, 1, 1], dtype=np.int64), name="Exited")
    again = LabelRule.from_dict(rule.to_dict())
    assert again == rule
    assert type(again.pos_label) is int


def test_no_labels_at_all():
    with pytest.raises(DataValidationError, match="no labels"):
        infer_label_rule(pd.Series([None, None], dtype=object))
    with pytest.raises(DataValidationError, match="no labels"):
        infer_label_rule([])


@given(
    st.lists(st.booleans(), min_size=1, max_size=50),
    st.sampled_from([("Yes", "No"), ("Left", "Stayed"), ("1", "0"), ("T", "F")]),
    st.sampled_from([str, str.lower, str.upper, lambda s: f"  {s} "]),
)
def test_decoding_ignores_case_and_whitespace(flags, words, style):
    pos, neg = words
    rule = infer_label_rule([pos, neg])
    raw = [style(pos if f else neg) for f in flags]
    assert rule.decode(raw).tolist() == flags


def test_a_full_stop_does_not_make_another_label():
    rule = infer_label_rule(["True.", "False."])
    assert rule.decode(["True", "false.", " TRUE. "]).tolist() == [True, False, True]
    # "1." is the number word 1; a lone "." stays what it is (no label)
    assert infer_label_rule(["1.", "0."]).pos_label == "1."
    with pytest.raises(DataValidationError, match="Pass pos_label="):
        infer_label_rule([".", "x"])


@pytest.mark.parametrize(
    ("trained", "later", "expected"),
    [
        (["Yes", "No"], [1, 0, 1.0, True, "y"], [True, False, True, True, True]),
        ([True, False], ["Yes", "no", 1, 0.0], [True, False, True, False]),
        ([1, 0], ["true", "F"], [True, False]),
    ],
)
def test_yes_no_words_and_numbers_read_both_ways(trained, later, expected):
    # a model trained on Yes/No evaluates a table labelled 1/0, and back
    rule = infer_label_rule(trained)
    assert rule.decode(later).tolist() == expected


def test_other_labels_still_need_their_own_spelling():
    rule = infer_label_rule(["Left", "Stayed"])
    with pytest.raises(DataValidationError, match="neither the churn label 'Left'"):
        rule.decode([1, 0])


@pytest.mark.parametrize(
    ("name", "values", "pos"),
    [
        ("Retained", ["Yes", "No", "Yes"], "No"),
        ("Active", [1, 0, 1], 0),
        ("IsActive", [True, False], False),
        ("is_active", ["Y", "N"], "N"),
        ("Renewed", ["no", "yes"], "no"),
        ("customer_retention", [1.0, 0.0], 0.0),
    ],
)
def test_a_target_named_for_staying_takes_no_as_churn(name, values, pos):
    # "Retained: Yes" is a customer who stayed; taking yes as churn would
    # turn every score, threshold and campaign list upside down
    rule = infer_label_rule(values, name=name)
    assert rule.pos_label == pos
    assert rule.decode(values).tolist() == [v == pos for v in values]


@pytest.mark.parametrize(
    ("name", "values", "pos"),
    [
        ("Churn", ["Yes", "No"], "Yes"),
        ("NotActive", ["Yes", "No"], "Yes"),  # negated: yes means gone
        ("churn_active", [1, 0], 1),  # names churn too
        ("inactive", ["Yes", "No"], "Yes"),
        ("Status", ["Existing Customer", "Left"], "Left"),  # words decide
        (None, ["Yes", "No"], "Yes"),
    ],
)
def test_other_targets_keep_yes_as_churn(name, values, pos):
    assert infer_label_rule(values, name=name).pos_label == pos


def test_a_staying_target_of_only_stayers_has_no_churn_label():
    assert infer_label_rule(["Yes", "Yes"], name="Retained").pos_label is None
    assert infer_label_rule([True, True], name="IsActive").pos_label is None
