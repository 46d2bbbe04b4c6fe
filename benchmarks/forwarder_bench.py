"""The forwarder's cost, as ratios to a minimal forwarder measured side by side in the same run.

``python -m benchmarks.forwarder_bench [--cold-runs N] [--alarms N]``

The minimal forwarder (below, ``minimal_handler``) is the least a forwarder that keeps the routing key in
Secrets Manager can do: parse the SNS alarm message and POST a bare trigger to PagerDuty (key read once and
kept). Ours additionally validates its environment, uses Powertools (Logger, Tracer, Metrics, Parameters),
maps the alarm to a detection, searches the trail log group with FilterLogEvents, summarises and links the
evidence, applies suppressions and trims the event.

1. Cold start: import of the module plus building its clients (Lambda's init phase), each in a fresh Python
   process, alternating, ``--cold-runs`` times; medians. Target: ours <= 2x minimal. The processes get the
   variables the Lambda service sets (``LAMBDA_TASK_ROOT``, ...; tracing on, as the function is deployed
   with active tracing), so the X-Ray SDK and Powertools take their Lambda code path. For comparison the
   same pair is also timed without them ("outside Lambda"): there the X-Ray SDK, at import, builds its
   centralized sampler (two botocore X-Ray clients, ~0.3 s here), which it never does in Lambda.
2. Warm time per alarm: the same SNS alarm, AWS on moto's server and PagerDuty on the local receiver (both on
   loopback, the receiver validating every request against our schema), alternating, ``--alarms`` times after
   a warm-up; medians. The log group holds 1 matching record among 500 others inside the alarm's search
   window (an 18-minute window: ~28 management events a minute, a quiet account; a busy one writes far
   more, but on AWS that scan happens inside CloudWatch Logs, not in the forwarder). moto's scan of those
   records runs in this process, so ``testkit/moto_harness.py`` evaluates the pattern on each record parsed
   once (cached) rather than re-parsing all of them on every search. The FilterLogEvents pacing
   bucket is refilled before each of our alarms: this measures an alarm arriving at a warm container, not a
   burst (a burst is paced to one FilterLogEvents per second per container by design). Target: <= 3x.
   Tracing is off in this phase (no LAMBDA_TASK_ROOT in this process, no X-Ray daemon); timed separately
   with it on (segments sent over UDP to a closed loopback port), the difference was within the noise.
4. Warm time per EventBridge event (the fast path, issue 11), in the same rounds: a StopLogging call (one
   detection, cloudtrail-configuration-changes) as CloudTrail publishes it to EventBridge
   (``eventbridge_envelope``), a fresh event id each round, handled by ours against the minimal forwarder's
   EventBridge counterpart (``minimal_eventbridge_handler``: parse the event, POST a bare trigger). No search
   is needed (the event is its own evidence). Target: <= 1.5x. Also timed: the minimal forwarder plus the
   one conditional DynamoDB PutItem that keeping one alert per incident needs at the least
   (``minimal_episode_handler``), so the cost of the episode table on this emulator is measured, not argued.
3. The least an enriching forwarder can cost here, in the same rounds: the minimal forwarder plus the one
   FilterLogEvents search the issue requires (same request as ours, its own default client), and its ratio
   to the minimal forwarder. When that ratio alone exceeds the warm target, no forwarder that fetches the
   evidence can meet the target on this emulator; the benchmark says so, and prints ours against it (our
   cost beyond the unavoidable round trip). Also printed: the emulator's floor, the cheapest Logs request
   through the same client and server.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from typing import Any

# --- the minimal forwarder -------------------------------------------------------------------------------

_minimal_state: dict[str, Any] = {}


def minimal_init() -> None:
    """Init phase of the minimal forwarder: one Secrets Manager client."""
    import boto3

    _minimal_state["secrets"] = boto3.client("secretsmanager")


def minimal_handler(event: dict[str, Any], context: object) -> None:
    for record in event["Records"]:
        _post_bare_trigger(json.loads(record["Sns"]["Message"]), details=None)


def minimal_eventbridge_handler(event: dict[str, Any], context: object) -> None:
    """The least a forwarder can do with a CloudTrail event from EventBridge: a bare trigger per event."""
    detail = event["detail"]
    _post_trigger(
        summary=f"{detail['eventName']} by {detail['userIdentity'].get('type')} in {event['region']}",
        source=event["source"],
        dedup_key=f"eventbridge/{event['id']}",
        details=None,
    )


def minimal_episode_handler(event: dict[str, Any], table: str) -> None:
    """The minimal EventBridge forwarder plus one conditional PutItem (open the episode unless one is open):
    the least a forwarder that keeps one PagerDuty alert per incident across both paths must add."""
    detail = event["detail"]
    key = f"episode/{detail['eventName']}/{event['account']}"
    try:
        _minimal_state["dynamodb"].put_item(
            TableName=table,
            Item={"pk": {"S": key}, "dedup_key": {"S": f"eventbridge/{event['id']}"}},
            ConditionExpression="attribute_not_exists(pk)",
        )
    except _minimal_state["dynamodb"].exceptions.ConditionalCheckFailedException:
        pass  # an episode is open: the trigger joins its alert (same key in a real forwarder)
    minimal_eventbridge_handler(event, None)


def minimal_enriching_init() -> None:
    """The minimal forwarder plus one CloudWatch Logs client: the least an enriching forwarder builds."""
    import boto3

    minimal_init()
    _minimal_state["logs"] = boto3.client("logs")
    _minimal_state["dynamodb"] = boto3.client("dynamodb")


def minimal_enriching_handler(event: dict[str, Any], search: dict[str, Any]) -> None:
    """The minimal forwarder that also makes the one FilterLogEvents call (``search``: its parameters) and
    puts the events found into the trigger: no pagination, pacing, summary, suppressions or trimming."""
    for record in event["Records"]:
        alarm = json.loads(record["Sns"]["Message"])
        found = _minimal_state["logs"].filter_log_events(**search)["events"]
        _post_bare_trigger(alarm, details={"events": [json.loads(e["message"]) for e in found[:5]]})


def _post_bare_trigger(alarm: dict[str, Any], details: dict[str, Any] | None) -> None:
    if "key" not in _minimal_state:
        secret = _minimal_state["secrets"].get_secret_value(SecretId=os.environ["ROUTING_KEY_SECRET_NAME"])
        _minimal_state["key"] = secret["SecretString"]
    _post_trigger(
        summary=f"{alarm['AlarmName']} is {alarm['NewStateValue']}",
        source=alarm["AlarmArn"],
        dedup_key=f"{alarm['AlarmName']}/{alarm['StateChangeTime']}",
        details=details,
    )


def _post_trigger(*, summary: str, source: str, dedup_key: str, details: dict[str, Any] | None) -> None:
    if "key" not in _minimal_state:
        secret = _minimal_state["secrets"].get_secret_value(SecretId=os.environ["ROUTING_KEY_SECRET_NAME"])
        _minimal_state["key"] = secret["SecretString"]
    payload: dict[str, Any] = {"summary": summary[:1024], "source": source[:255], "severity": "critical"}
    if details is not None:
        payload["custom_details"] = details
    body = {
        "routing_key": _minimal_state["key"],
        "event_action": "trigger",
        "dedup_key": dedup_key[:255],
        "payload": payload,
    }
    request = urllib.request.Request(
        os.environ["PAGERDUTY_EVENTS_URL"],
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        response.read()


# --- measurement -----------------------------------------------------------------------------------------

COLD_SNIPPETS = {
    "ours": "import lambdas.forwarder.handler",
    "minimal": "import benchmarks.forwarder_bench as b; b.minimal_init()",
}


def lambda_environment(task_root: str) -> dict[str, str]:
    """What the Lambda service sets in a python3.12 execution environment (those that change code paths:
    the X-Ray SDK checks LAMBDA_TASK_ROOT, Powertools' Tracer enables itself on it)."""
    return {
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "lambdas.forwarder.handler.lambda_handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": "security-alert-forwarder",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        # Nothing listens there and nothing is sent during init. (The X-Ray SDK, seeing LAMBDA_TASK_ROOT,
        # touches /tmp/.aws-xray/initialized as it does in Lambda.)
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }


IMPORT_TARGET = 2.0
WARM_TARGET = 3.0
EVENTBRIDGE_WARM_TARGET = 1.5


def main(argv: list[str] | None = None) -> int:
    import argparse
    import contextlib
    import functools
    import statistics
    import subprocess
    import sys
    import tempfile
    import time
    from pathlib import Path

    from demo.cdk_out import CloudAssemblyError
    from detections.naming import DEFAULT_ALARM_NAME_PREFIX, DEFAULT_NAMESPACE
    from detections.targets.eventbridge import eventbridge_envelope
    from lambdas.forwarder import environment as forwarder_env
    from testkit.cloudtrail import api
    from testkit.lambda_context import FakeLambdaContext
    from testkit.moto_harness import (
        REPO_ROOT,
        MotoHarness,
        environment,
        find_deployed_forwarder,
        load_forwarder,
        stale_asset_files,
    )
    from testkit.pagerduty_receiver import PagerDutyReceiver
    from testkit.scenarios import alarm_message, root_console_login, sns_event

    parser = argparse.ArgumentParser(prog="python -m benchmarks.forwarder_bench")
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument("--alarms", type=int, default=40)
    args = parser.parse_args(argv)

    try:
        deployed = find_deployed_forwarder(REPO_ROOT / "cdk.out")
    except CloudAssemblyError as error:  # e.g. a zip asset: measure the source tree, saying why
        print(f"cdk.out not usable: {error}")
        deployed = None
    code_root = deployed.asset_dir if deployed and not stale_asset_files(deployed.asset_dir) else REPO_ROOT
    print(
        f"forwarder code: {code_root if code_root != REPO_ROOT else 'source tree (no current cdk.out asset)'}"
    )

    with MotoHarness() as aws, PagerDutyReceiver() as pagerduty:
        env = {
            **aws.base_environment(),
            **forwarder_env.forwarder_environment(
                trail_log_group_name="bench-trail",
                routing_key_secret_name=forwarder_env.DEFAULT_ROUTING_KEY_SECRET_NAME,
                pagerduty_events_url=pagerduty.events_url,
                dead_letter_queue_url=aws.create_queue("bench-dlq"),
                alarm_name_prefix=DEFAULT_ALARM_NAME_PREFIX,
                metric_namespace=DEFAULT_NAMESPACE,
                suppressions_json="[]",
                episode_table_name=aws.create_episode_table("bench-episodes"),
                episode_seconds=1800,
            ),
        }
        aws.create_log_group("bench-trail")
        aws.create_secret(env[forwarder_env.ROUTING_KEY_SECRET_NAME], "0123456789abcdef0123456789abcdef")
        aws.put_cloudtrail_records(
            "bench-trail", [*_background_records(500), root_console_login("root-login")]
        )

        # 1. cold start, fresh processes, alternating
        cold: dict[str, list[float]] = {f"{w}/{n}": [] for w in ("lambda", "local") for n in COLD_SNIPPETS}
        base_env = {
            k: v for k, v in os.environ.items() if k not in lambda_environment("") and k != "_X_AMZN_TRACE_ID"
        }
        child_envs = {
            "lambda": {**base_env, **env, **lambda_environment(str(code_root))},
            "local": {**base_env, **env},
        }
        for _ in range(args.cold_runs):
            for where, child_env in child_envs.items():
                child_env = {**child_env, "PYTHONPATH": f"{code_root}{os.pathsep}{REPO_ROOT}"}
                for name, snippet in COLD_SNIPPETS.items():
                    code = f"import time; t = time.perf_counter(); {snippet}; print(time.perf_counter() - t)"
                    out = subprocess.run(
                        [sys.executable, "-c", code],
                        env=child_env,
                        cwd=tempfile.gettempdir(),
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    cold[f"{where}/{name}"].append(float(out.stdout.strip().splitlines()[-1]))

        # 2. warm time per alarm, in this process, alternating; 3. the least an enriching forwarder costs
        event = sns_event(alarm_message("root-account-usage"), message_id="bench")
        warm: dict[str, list[float]] = {
            "ours": [],
            "minimal": [],
            "enriching": [],
            "floor": [],
            "ours eventbridge": [],
            "minimal eventbridge": [],
            "minimal + episode": [],
        }
        eventbridge_results: list[object] = []
        made_by: dict[str, list[Any]] = {name: [] for name in warm}  # PagerDuty requests per contender

        def eventbridge_event(round_number: int) -> dict[str, Any]:
            stop = api("StopLogging", "cloudtrail", request={"name": "bench-trail"}, region="us-east-1")
            envelope = eventbridge_envelope({**stop, "eventID": f"bench-eventbridge-{round_number}"})
            assert envelope is not None
            return envelope

        with environment(env), open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
            forwarder = load_forwarder(code_root)
            minimal_enriching_init()
            search = _same_search_as_the_handler(event)

            # The emulator's floor: the cheapest Logs request (no scan) through the same client and server.
            def floor_once() -> None:
                forwarder.LOGS.describe_log_groups(limit=1)

            contenders: dict[str, Callable[[], object]] = {
                "ours": lambda: forwarder.lambda_handler(event, FakeLambdaContext()),
                "minimal": lambda: minimal_handler(event, None),
                "enriching": lambda: minimal_enriching_handler(event, search),
                "floor": floor_once,
            }

            def ours_on(fresh: dict[str, Any]) -> None:
                eventbridge_results.append(forwarder.lambda_handler(fresh, FakeLambdaContext()))

            for round_number in range(args.alarms + 3):
                forwarder.PACER.reset()
                fresh = eventbridge_event(round_number)
                contenders["ours eventbridge"] = functools.partial(ours_on, fresh)
                contenders["minimal eventbridge"] = functools.partial(
                    minimal_eventbridge_handler, fresh, None
                )
                contenders["minimal + episode"] = functools.partial(
                    minimal_episode_handler, fresh, env[forwarder_env.EPISODE_TABLE_NAME]
                )
                for name, run in contenders.items():
                    before = len(pagerduty.requests)
                    started = time.perf_counter()
                    run()
                    elapsed = time.perf_counter() - started
                    made_by[name].extend(pagerduty.requests[before:])
                    if round_number >= 3:  # warm-up: first calls open connections and fill caches
                        warm[name].append(elapsed)
        invalid = pagerduty.invalid_requests()
        details = [
            r.event["payload"].get("custom_details") or {}
            for name in ("ours", "enriching")
            for r in made_by[name]
            if r.valid and r.response_status == 202
        ]
        ours_pages = [d for d in details if "evidence" in d]
        enriching_pages = [d for d in details if "events" in d]
        # Every contender must have done its work, or the times compare nothing.
        if (
            invalid
            or len(ours_pages) != args.alarms + 3
            or len(enriching_pages) != args.alarms + 3
            or ours_pages[0]["evidence"]["count"] != 1
            or len(enriching_pages[0]["events"]) != 1
        ):
            print(
                f"benchmark invalid: {len(invalid)} invalid requests, {len(ours_pages)} enriched pages, "
                f"{len(enriching_pages)} minimal enriched pages"
            )
            return 1
        # Ours must page every fresh EventBridge event, once (a first trigger or an update of the open alert).
        eventbridge_triggers = [
            r for r in made_by["ours eventbridge"] if r.valid and r.event.get("event_action") == "trigger"
        ]
        if (
            len(eventbridge_triggers) != args.alarms + 3
            or len(made_by["minimal eventbridge"]) != args.alarms + 3
        ):
            print(
                f"benchmark invalid: ours sent {len(eventbridge_triggers)} triggers for {args.alarms + 3} "
                f"EventBridge events (last result: {str(eventbridge_results[-1])[:300]})"
            )
            return 1

    def cold_median(key: str) -> float:
        return statistics.median(cold[key])

    def row(label: str, ours: float, baseline: float, target: float | None = None, verdict: str = "") -> None:
        ratio = ours / baseline
        if target is not None and not verdict:
            verdict = "met" if ratio <= target else "MISSED"
        target_text = f"{target:5.1f}x" if target is not None else " " * 6
        print(
            f"{label:34} {ours * 1000:8.1f}ms {baseline * 1000:8.1f}ms {ratio:6.2f}x {target_text}  {verdict}"
        )

    warm_ours, warm_min = statistics.median(warm["ours"]), statistics.median(warm["minimal"])
    warm_enriching = statistics.median(warm["enriching"])
    print(f"{'measure':34} {'ours':>10} {'baseline':>10} {'ratio':>7} {'target':>6}")
    print("against the minimal forwarder (the issue's measure):")
    row(
        "  cold start (import + clients)",
        cold_median("lambda/ours"),
        cold_median("lambda/minimal"),
        IMPORT_TARGET,
    )
    # The same import outside Lambda, where the X-Ray SDK builds a sampler it never builds in Lambda.
    row("    outside Lambda (X-Ray sampler)", cold_median("local/ours"), cold_median("local/minimal"))
    row("  warm time per alarm", warm_ours, warm_min, WARM_TARGET)
    # The enrichment needs one FilterLogEvents round trip the minimal forwarder does not make. If that
    # round trip alone costs more than the target allows, the target is unreachable for ANY enriching
    # forwarder on this emulator - measured here, in the same rounds, not argued.
    reachable = warm_enriching / warm_min <= WARM_TARGET
    row(
        "  minimal + the one FilterLogEvents",
        warm_enriching,
        warm_min,
        WARM_TARGET,
        "" if reachable else "the target is below this floor",
    )
    warm_ours_eb = statistics.median(warm["ours eventbridge"])
    warm_min_eb = statistics.median(warm["minimal eventbridge"])
    row("  warm time per EventBridge event", warm_ours_eb, warm_min_eb, EVENTBRIDGE_WARM_TARGET)
    warm_episode = statistics.median(warm["minimal + episode"])
    row(
        "  minimal + one episode PutItem",
        warm_episode,
        warm_min_eb,
        EVENTBRIDGE_WARM_TARGET,
        "" if warm_episode / warm_min_eb <= EVENTBRIDGE_WARM_TARGET else "the target is below this floor",
    )
    print("against the minimal EventBridge forwarder with the one episode PutItem:")
    row("  warm time per EventBridge event", warm_ours_eb, warm_episode)
    print("against the minimal forwarder that also fetches the evidence (one FilterLogEvents, no more):")
    row("  warm time per alarm", warm_ours, warm_enriching)
    floor = statistics.median(warm["floor"])
    print(
        f"{'any moto request (the floor)':34} {floor * 1000:8.1f}ms  (DescribeLogGroups, same client as ours)"
    )
    print(
        f"(medians of {args.cold_runs} fresh processes and {args.alarms} warm alarms; "
        f"{Path(sys.executable).name})"
    )
    return 0


def _same_search_as_the_handler(event: dict[str, Any]) -> dict[str, Any]:
    """The FilterLogEvents parameters the handler uses for ``event`` (same pattern and window)."""
    from detections.catalogue import get_detection
    from lambdas.forwarder.enrichment import evaluation_window
    from lambdas.forwarder.environment import TRAIL_LOG_GROUP_NAME
    from lambdas.forwarder.models import parse_lambda_event

    (notification,) = parse_lambda_event(event).notifications
    window = evaluation_window(notification)
    return {
        "logGroupName": os.environ[TRAIL_LOG_GROUP_NAME],
        "filterPattern": get_detection("root-account-usage").pattern,
        "startTime": window.start_ms,
        "endTime": window.end_ms,
        "limit": 100,
    }


def _background_records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "eventVersion": "1.09",
            "eventTime": f"2026-11-24T06:{10 + i % 12:02d}:{i % 60:02d}Z",
            "eventSource": "ec2.amazonaws.com",
            "eventName": "DescribeInstances",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7",
            "userAgent": "aws-sdk-go/1.50",
            "eventID": f"bg-{i}",
            "eventType": "AwsApiCall",
            "readOnly": True,
            "recipientAccountId": "123456789012",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/app/i-1"},
        }
        for i in range(count)
    ]


if __name__ == "__main__":
    raise SystemExit(main())
