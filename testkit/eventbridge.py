"""moto's EventBridge as an independent matcher (over HTTP): which events does each event pattern deliver?

Not our code. moto 5.2.5 does not implement ``TestEventPattern`` (its handler is an empty stub), so moto's
verdict comes from what its EventBridge really does: one rule per pattern on the default bus, each
targeting its own SQS queue, events sent with ``PutEvents`` (10 per request, the API's maximum), and the
queues read back. Each event carries its index in ``resources``, which no compiled pattern constrains.

Used by the differential tests (tests/integration/test_eventbridge_differential.py; known moto deviations
are listed in tests/eventbridge_oracles.py) and by the demo, which runs the synthesized rules' patterns
through it (demo/fast_path.py). ``matches`` resets moto's backends: call it before standing anything else
up on the same server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from testkit.moto_harness import MotoHarness

PUT_EVENTS_BATCH = 10  # PutEvents accepts at most 10 entries per request


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
        for start in range(0, len(events), PUT_EVENTS_BATCH):
            entries = [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": [f"differential:event/{index}"],
                }
                for index, event in enumerate(events[start : start + PUT_EVENTS_BATCH], start=start)
            ]
            response = self._events.put_events(Entries=entries)
            if response.get("FailedEntryCount"):
                raise AssertionError(f"moto rejected PutEvents entries: {response['Entries']}")
        return {name: set(self._delivered(queue_url)) for name, queue_url in queues.items()}

    def _delivered(self, queue_url: str) -> Iterable[int]:
        for body in self._aws.drain_queue(queue_url):
            (resource,) = body["resources"]
            yield int(resource.rsplit("/", 1)[1])
