"""Independent EventBridge matchers for differential tests: moto's EventBridge (over HTTP) and event-ruler.

Neither is our code. moto 5.2.5 does not implement ``TestEventPattern`` (its handler is an empty stub), so
moto's verdict comes from what its EventBridge really does: one rule per pattern on the default bus, each
targeting its own SQS queue, events sent with ``PutEvents`` (10 per request, the API's maximum), and the
queues read back. Each event carries its index in ``resources``, which no compiled pattern constrains.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import event_ruler  # type: ignore[import-untyped]  # no type information published

from testkit.moto_harness import MotoHarness

_PUT_EVENTS_BATCH = 10  # PutEvents accepts at most 10 entries per request
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


class MotoEventBridge:
    """moto's EventBridge as a batch matcher: which of many events does each of several patterns match?"""

    def __init__(self, aws: MotoHarness) -> None:
        self._aws = aws
        self._events = aws.client("events")
        self._sqs = aws.client("sqs")

    def matches(
        self, patterns: Mapping[str, Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
    ) -> dict[str, set[int]]:
        """Pattern name -> indexes of the ``events`` (EventBridge envelopes) that moto delivered for it."""
        self._aws.reset()
        queues: dict[str, str] = {}
        for number, (name, pattern) in enumerate(patterns.items()):
            rule = f"differential-{number}"
            queue_url = self._sqs.create_queue(QueueName=rule)["QueueUrl"]
            queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
                "Attributes"
            ]["QueueArn"]
            self._events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
            self._events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": queue_arn}])
            queues[name] = queue_url
        for start in range(0, len(events), _PUT_EVENTS_BATCH):
            entries = [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": [f"differential:event/{index}"],
                }
                for index, event in enumerate(events[start : start + _PUT_EVENTS_BATCH], start=start)
            ]
            response = self._events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                raise AssertionError(f"moto rejected PutEvents entries: {response['Entries']}")
        return {name: set(self._delivered(queue_url)) for name, queue_url in queues.items()}

    def _delivered(self, queue_url: str) -> Iterable[int]:
        for body in self._aws.drain_queue(queue_url):
            (resource,) = body["resources"]
            yield int(resource.rsplit("/", 1)[1])
