"""The field-shape table (detections/targets/cloudtrail_fields.py) checked against real records.

Each entry is taken from documentation. Where the shared corpus holds a record with a value at that path, the
value must have the documented JSON type (null only where the entry says nullable), and every parent on the
path must be an object (or null, which leaves the field absent for both matchers). An array or object where
the table promises a scalar is exactly where EventBridge and the filter pattern disagree, so such a field must
not be listed: the records win over the documentation.
"""

from __future__ import annotations

from typing import Any

import pytest

from detections.targets.cloudtrail_fields import CLOUDTRAIL_FIELDS, FieldSpec
from tests.corpus.corpus import all_corpus_files, iter_corpus

pytestmark = pytest.mark.corpus

#: Records whose shape is the source's test fixture, not CloudTrail's, with the evidence.
NOT_CLOUDTRAIL_SHAPES = {
    "panther_rule_tests:107": "a hand-written Panther 'Unrelated Event' (AWS.EC2.ManyPasswordReadAttempts) "
    'writing readOnly and managementEvent as the strings "true"; CloudTrail writes JSON booleans',
    "panther_rule_tests:111": "Panther's test 'CopyImage - UserIdentity Null' (AWS.EC2.Monitoring), in "
    'Panther\'s normalised form (eventTime "2022-09-29 22:25:17", not ISO 8601), with '
    "userIdentity.invokedBy null; CloudTrail leaves invokedBy out when no service made the call",
    "streamalert_rule_tests:45": 'a StreamAlert test fixture with userAgent ["..."], a placeholder list; '
    "CloudTrail writes userAgent as a string",
    "streamalert_rule_tests:46": 'the same StreamAlert fixture\'s second record, userAgent ["..."]',
}

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "number": (int, float)}


def shape_problem(record: dict[str, Any], path: str, spec: FieldSpec) -> str | None:
    """Why ``record`` contradicts the entry for ``path``; None if it agrees or does not hold the field."""
    value: Any = record
    keys = path.split(".")
    for depth, key in enumerate(keys):
        if value is None:
            return None
        if not isinstance(value, dict):
            parent = ".".join(keys[:depth])
            return f"parent {parent} holds a {type(value).__name__}, not an object"
        if key not in value:
            return None
        value = value[key]
    if value is None:
        return None if spec.nullable else "holds null, but the table says CloudTrail never writes null there"
    if isinstance(value, bool) != (spec.type == "boolean") or not isinstance(value, _PYTHON_TYPES[spec.type]):
        return f"holds a {type(value).__name__}, the table says {spec.type}"
    return None


def test_shape_problem_sees_arrays_objects_wrong_types_and_nulls() -> None:
    spec = FieldSpec("string")
    assert shape_problem({"a": {"b": "x"}}, "a.b", spec) is None
    assert shape_problem({"a": None}, "a.b", spec) is None
    assert shape_problem({}, "a.b", spec) is None
    assert "parent a holds a list" in str(shape_problem({"a": [{"b": "x"}]}, "a.b", spec))
    assert "holds a dict" in str(shape_problem({"a": {"b": {"c": "x"}}}, "a.b", spec))
    assert "holds null" in str(shape_problem({"a": {"b": None}}, "a.b", spec))
    assert shape_problem({"a": {"b": None}}, "a.b", FieldSpec("string", nullable=True)) is None
    assert "holds a int" in str(shape_problem({"n": 1}, "n", FieldSpec("boolean")))
    assert "holds a bool" in str(shape_problem({"n": True}, "n", FieldSpec("number")))


def test_every_corpus_record_has_the_documented_shape_at_every_listed_field() -> None:
    problems: list[str] = []
    holding: dict[str, int] = dict.fromkeys(CLOUDTRAIL_FIELDS, 0)
    for path in all_corpus_files():
        for record in iter_corpus(path):
            if record.record_id in NOT_CLOUDTRAIL_SHAPES:
                continue
            for field, spec in CLOUDTRAIL_FIELDS.items():
                problem = shape_problem(record.event, field, spec)
                if problem:
                    problems.append(
                        f"{record.record_id} ({record.event.get('eventName')}): {field} {problem}"
                    )
                else:
                    holding[field] += _holds_value(record.event, field)
    assert not problems, "\n".join(problems)
    print(f"\nrecords holding each listed field: {holding}")


def _holds_value(record: dict[str, Any], path: str) -> int:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return 0
        value = value[key]
    return int(value is not None)
