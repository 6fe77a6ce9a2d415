"""McqItem validation and the one mapping to and from veRL's record."""

from __future__ import annotations

import numpy as np
import pytest

from alphamed.data_preprocess.prompts import EXTRACTION_MODE, build_prompt
from alphamed.data_preprocess.schema import (
    ItemProblem,
    McqItem,
    McqItemError,
    from_verl_record,
    mark_answer_text_repeated,
    to_verl_record,
)


def item(**changes) -> McqItem:
    fields = {
        "id": "q1",
        "source": "medqa",
        "split": "test",
        "question": "Which vitamin deficiency causes scurvy?",
        "options": ["Vitamin A", "Vitamin C", "Vitamin D", "Vitamin K"],
        "answer": "B",
        "meta": {"step": "step1"},
    }
    return McqItem(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"options": ["only one"]}, "options"),
        ({"options": ["Vitamin A", "  "], "answer": "A"}, "options"),
        ({"question": " \n"}, "question"),
        ({"answer": "E"}, "answer"),
        ({"answer": "b"}, "answer"),
        ({"answer": "AB"}, "answer"),
        ({"id": ""}, "id"),
        ({"options": ["Vitamin A", "Vitamin C", "vitamin c."], "answer": "B"}, None),
        ({"options": ["Vitamin A", "Vitamin C", "Vitamin  C."], "answer": "B"}, "options"),
    ],
)
def test_invalid_items_name_the_field(changes: dict, field: str | None) -> None:
    if field is None:  # differs only in case: a different answer (genotypes "Bb bb" / "bb Bb"), so valid
        assert item(**changes).answer_text == "Vitamin C"
        return
    with pytest.raises(McqItemError) as err:
        item(**changes)
    assert err.value.field == field and field in str(err.value)


def test_duplicate_wrong_options_are_not_ambiguous() -> None:
    assert item(options=["x", "x", "Vitamin C"], answer="C").answer_text == "Vitamin C"


def test_errors_carry_a_typed_kind() -> None:
    kinds = {}
    for changes in ({"question": " "}, {"answer": "E"}, {"options": ["A", "", "C"]}):
        with pytest.raises(McqItemError) as err:
            item(**changes)
        kinds[err.value.field] = (err.value.kind, err.value.category)
    assert kinds == {
        "question": (ItemProblem.EMPTY_QUESTION, "empty question"),
        "answer": (ItemProblem.ANSWER_NOT_AMONG_OPTIONS, "answer not among options"),
        "options": (ItemProblem.INVALID_FIELD, "invalid options"),
    }


def test_a_repeated_answer_text_is_valid_only_when_marked() -> None:
    repeated = {"options": ["Vitamin A", "Vitamin C", "Vitamin D", "vitamin C."], "answer": "B"}
    with pytest.raises(McqItemError) as err:
        item(options=["Vitamin A", "Vitamin C", "Vitamin D", "Vitamin  C."], answer="B")
    assert err.value.kind is ItemProblem.ANSWER_TEXT_REPEATED and err.value.item is not None
    marked = mark_answer_text_repeated(err.value.item)
    assert marked.meta == {"step": "step1", "answer_text_repeated": True} and marked.answer_text == "Vitamin C"
    assert from_verl_record(to_verl_record(marked, "alphamed", 0)) == marked  # reads back from parquet rows
    with pytest.raises(McqItemError, match="answer_text_repeated is set but"):
        item(meta={"answer_text_repeated": True})  # a stale mark is an error, not a silent letter-only item
    assert item(**repeated).meta == {"step": "step1"}  # differs in case only: not repeated, no mark needed


def test_record_round_trip_and_layout() -> None:
    original = item()
    record = to_verl_record(original, "alphamed", index=7)
    assert record["data_source"] == "medqa" and record["ability"] == "medical_mcqa"
    assert record["reward_model"] == {"style": "rule", "ground_truth": "B"}
    assert record["extra_info"]["index"] == 7 and record["extra_info"]["answer_text"] == "Vitamin C"
    assert record["prompt"] == build_prompt(original.question, original.options, "alphamed")
    assert "B. Vitamin C" in record["prompt"][-1]["content"] and "\\boxed{}" in record["prompt"][-1]["content"]
    assert from_verl_record(record) == original
    # parquet read back through pandas gives numpy arrays for lists
    as_read = {**record, "extra_info": {**record["extra_info"], "options": np.array(original.options)}}
    assert from_verl_record(as_read) == original


def test_prompt_styles_pair_with_extraction_modes() -> None:
    assert EXTRACTION_MODE == {"alphamed": "strict", "med_rlvr": "tagged"}
    messages = to_verl_record(item(), "med_rlvr", 0)["prompt"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "<answer>" in messages[0]["content"] and "<answer>" in messages[1]["content"]
    with pytest.raises(ValueError, match="prompt_style"):
        to_verl_record(item(), "cot", 0)


def _broken(path: str, value: object) -> dict:
    """A valid record with one field (dotted path) set to ``value``; ``...`` deletes it."""
    record = to_verl_record(item(), "alphamed", 0)
    record = {**record, "extra_info": dict(record["extra_info"]), "reward_model": dict(record["reward_model"])}
    *parents, key = path.replace("[", ".").replace("]", "").split(".")
    container = record
    for parent in parents:
        container = container[parent]
    if key.isdigit():
        container[int(key)] = value
    elif value is ...:
        del container[key]
    else:
        container[key] = value
    return record


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("extra_info.id", None, "expected a string, found null"),
        ("extra_info.id", 17, "expected a string, found int 17"),
        ("extra_info.question", None, "expected a string, found null"),
        ("data_source", None, "expected a string, found null"),
        ("data_source", ..., "expected a string, found missing"),
        ("extra_info.split", None, "expected a string, found null"),
        ("reward_model.ground_truth", None, "expected a string, found null"),
        ("extra_info.options[2]", None, "option C is null"),
        ("extra_info.options[0]", 3.5, "option A is float 3.5"),
        ("extra_info.options", None, "expected a list of option texts, found null"),
        ("extra_info.meta", "{not json", "not valid JSON"),
        ("extra_info", None, "expected a mapping, found null"),
    ],
)
def test_a_null_or_mistyped_field_is_an_error_naming_it_never_the_text_none(
    path: str, value: object, message: str
) -> None:
    record = _broken(path, value)
    if path == "extra_info.options[2]":  # as pandas gives it back: a numpy array holding a None
        record["extra_info"]["options"] = np.array(record["extra_info"]["options"], dtype=object)
    with pytest.raises(McqItemError) as err:
        from_verl_record(record)
    assert err.value.field == path and message in err.value.reason
