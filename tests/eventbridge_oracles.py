"""Independent EventBridge matchers for differential tests: moto's EventBridge (over HTTP) and event-ruler.

Neither is our code. moto's matcher lives in testkit/eventbridge.py (the demo uses it too) and is imported
from there; this module adds the event-ruler package and the notes on where moto deviates from EventBridge.

``event-ruler`` (PyPI 0.3.0, a Go matcher) understands only exact values, ``exists``, ``anything-but`` lists,
null and booleans: no ``prefix``/``suffix``/``wildcard``/``numeric`` and no ``$or`` (it answers "invalid
pattern"). It is consulted only for patterns inside that subset (``event_ruler_supports``).

Known moto deviations from the EventBridge documentation (why an operator would be excluded from moto's
oracle; none of the compiled catalogue patterns depends on them, see the notes per item):

* Scalars compare with Python ``==``, so a ``[false]`` value list matches the number 0 and ``[true]``
  matches 1 (``_does_item_match_filters``). EventBridge compares JSON types. Our ``IS TRUE``/``IS FALSE``
  fields are documented booleans, so it cannot decide a verdict here; an integration test pins the deviation
  (test_moto_deviation_false_matches_zero) so a moto upgrade that fixes it is noticed.
* Arrays of objects are not flattened (``_flatten_dict`` stops at lists), so ``a.b`` inside ``a: [{...}]``
  is "missing" for moto but present for EventBridge. The compiler refuses paths through arrays, so no
  compiled pattern reaches one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import event_ruler  # type: ignore[import-untyped]  # no type information published

_EVENT_RULER_OPERATORS = frozenset({"exists", "anything-but"})


def event_ruler_supports(pattern: Any) -> bool:
    """Whether ``pattern`` stays inside the operators the event-ruler package implements."""
    if isinstance(pattern, dict):
        if "$or" in pattern:
            return False
        return all(event_ruler_supports(value) for value in pattern.values())
    if isinstance(pattern, list):
        for matcher in pattern:
            if isinstance(matcher, dict):
                if not set(matcher) <= _EVENT_RULER_OPERATORS:
                    return False
                if "anything-but" in matcher and not isinstance(matcher["anything-but"], list):
                    return False
            elif isinstance(matcher, list):
                return False
        return True
    return False


def event_ruler_matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return bool(event_ruler.test_event_pattern(json.dumps(event), json.dumps(pattern)))
