"""``python -m demo``: synthesize and summarize the app (demo.synth_summary), stand the pipeline up on
loopback, replay an attack (or your CloudTrail files), and show what PagerDuty would receive.
Exit status 1 when a page is missing or invalid, 2 when the app or the input cannot be used.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from demo import scenario as builtin
from demo.cdk_out import CloudAssemblyError, Deployment, load_deployment
from demo.checks import check_run, outcomes_of, pages_of
from demo.delivery_delay import DEFAULT_MODEL, DEFAULT_SEED, DelayModel, DelayModelError, parse_delay_model
from demo.eventbridge_delivery import (
    DEFAULT_EVENTBRIDGE_MODEL,
    EventBridgeModel,
    EventBridgeModelError,
    parse_eventbridge_model,
)
from demo.events_input import dominant, place_in_ingestion_window, read_event_files
from demo.pipeline import RunResult, run_pipeline, write_requests
from demo.report import alert_lines, pages_section, timeline_lines
from demo.synth_summary import SummaryError, summarize
from demo.time_to_page import summarize as summarize_time_to_page
from demo.time_to_page import summary_lines
from detections.catalogue import CATALOGUE
from testkit.moto_harness import HANDLER
from testkit.synth import synthesize

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CDK_OUT = REPO_ROOT / "cdk.out"
DEFAULT_OUTPUT = REPO_ROOT / "demo-output"


@dataclass(frozen=True)
class DemoInput:
    title: str
    records: list[dict[str, Any]]
    account_id: str
    region: str
    expected_detections: tuple[str, ...]
    notes: tuple[str, ...]
    window: tuple[datetime, datetime] | None = None
    account_alias: str | None = None


def builtin_start(now: datetime) -> datetime:
    """The scenario ends just before now: CloudWatch Logs only accepts events from the last 14 days."""
    return now.replace(second=0, microsecond=0) - timedelta(minutes=builtin.DURATION_MINUTES + 15)


def builtin_input(now: datetime) -> DemoInput:
    story = builtin.attack_chain(start=builtin_start(now))
    return DemoInput(
        title=f"built-in scenario '{story.name}': {len(story.records)} CloudTrail records over "
        f"{builtin.DURATION_MINUTES} simulated minutes",
        records=list(story.records),
        account_id=builtin.ACCOUNT_ID,
        region=builtin.REGION,
        expected_detections=story.expected_detections,
        notes=story.notes,
        window=(story.start, story.end),
        account_alias=builtin.ACCOUNT_ALIAS,
    )


def user_input(paths: Sequence[Path], now: datetime) -> DemoInput:
    records, errors, skipped = read_event_files(paths)
    if not records:
        raise SystemExit(
            "no CloudTrail records could be read from "
            + ", ".join(map(str, paths))
            + "\n"
            + "\n".join(errors)
        )
    placed, offset = place_in_ingestion_window(records, now=now, settle=timedelta(minutes=15))
    notes = list(errors)
    if skipped:
        notes.append(f"{skipped} record(s) without a usable eventTime were skipped")
    if offset:
        notes.append(
            f"records moved by {offset} (eventTime rewritten) so CloudWatch Logs accepts them; "
            "their order and spacing are unchanged"
        )
    return DemoInput(
        title=f"{len(placed)} CloudTrail records from {', '.join(map(str, paths))}",
        records=placed,
        account_id=dominant(placed, "recipientAccountId", builtin.ACCOUNT_ID),
        region=dominant(placed, "awsRegion", builtin.REGION),
        expected_detections=(),
        notes=tuple(notes),
    )


def alarm_prefix(deployment: Deployment) -> str:
    return deployment.forwarder.environment.get("ALARM_NAME_PREFIX", "")


def run_demo(
    demo_input: DemoInput,
    *,
    cdk_out: Path,
    output_dir: Path,
    out: Callable[[str], None] = print,
    colour: bool = False,
    delay_model: DelayModel | None = None,
    seed: int = DEFAULT_SEED,
    eventbridge_model: EventBridgeModel | None = None,
) -> tuple[int, RunResult, list[str]]:
    """Replay ``demo_input`` through the pipeline deployed from ``cdk_out``: (exit code, result, problems)."""
    deployment = load_deployment(
        cdk_out, account_id=demo_input.account_id, region=demo_input.region, forwarder_handler=HANDLER
    )
    prefix = alarm_prefix(deployment)
    out(f"Replaying {demo_input.title}")
    out(
        f"Deployed pipeline read from {cdk_out}: {len(deployment.metric_filters)} metric filters, "
        f"{len(deployment.alarms)} alarms, forwarder {deployment.forwarder.handler} "
        f"({deployment.forwarder.runtime}, asset {deployment.forwarder.asset_dir.name}); "
        + (
            f"fast path: {len(deployment.fast_path_rules)} EventBridge rules targeting the forwarder"
            if deployment.fast_path_rules
            else "fast path off (no EventBridge rule targets the forwarder)"
        )
    )
    if deployment.unsimulated_alarms:
        names = ", ".join(a.name.removeprefix(prefix) for a in deployment.unsimulated_alarms)
        out(f"Not simulated (alarms on AWS service metrics, checked directly instead): {names}")
    for note in demo_input.notes:
        out(f"note: {note}")
    started = time.monotonic()
    result = run_pipeline(
        demo_input.records,
        deployment,
        output_dir=output_dir,
        window=demo_input.window,
        account_alias=demo_input.account_alias,
        delay_model=delay_model,
        seed=seed,
        eventbridge_model=eventbridge_model,
    )
    elapsed = time.monotonic() - started

    out("")
    out(
        f"Timeline (simulated; times UTC; CloudTrail delivery delay model {result.delay_model}: "
        "a simulation, see demo/delivery_delay.py"
        + (
            f"; EventBridge delivery model {result.eventbridge_model}: an assumption, AWS publishes no "
            "latency for it, see demo/eventbridge_delivery.py)"
            if deployment.fast_path_rules
            else ")"
        )
    )
    for line in timeline_lines(result, prefix):
        out(line)

    pages = pages_of(result)
    out("")
    out(f"Pages at the local PagerDuty ({len(pages)} triggers, {len(result.requests)} requests in all)")
    for line in pages_section(pages, colour=colour):
        out(line)
    out("")
    out(
        f"Alerts at the local PagerDuty ({len(result.alerts.alerts)} alerts from {len(result.requests)} "
        "requests; events grouped by dedup_key: first trigger opens, later triggers update, resolve closes)"
    )
    for line in alert_lines(result.alerts):
        out(line)

    jsonl = write_requests(result.requests, output_dir / "pagerduty-events.jsonl")
    problems = check_run(
        result,
        expected_detections=demo_input.expected_detections,
        known_detections=tuple(d.id for d in CATALOGUE),
    )
    outcomes = outcomes_of(result)
    out("")
    out(
        "Time to page per matching record and path (API call -> PagerDuty accepted the page; simulated clock)"
    )
    for line in summary_lines(summarize_time_to_page(outcomes)):
        out("  " + line)
    for outcome in outcomes:
        if outcome.coverage == "missed":
            within = "WITHIN" if outcome.within_tolerance else "beyond"
            out(
                f"  missed: {outcome.event.record.get('eventID')} {outcome.event.record.get('eventName')} "
                f"({outcome.detection}) arrived {outcome.event.delay} late, {within} the tolerated "
                f"{outcome.tolerated}"
            )
    out("")
    out(f"Every PagerDuty request received: {jsonl}")
    if result.forwarder_log is not None:
        out(f"Forwarder logs (Powertools JSON, as in CloudWatch Logs): {result.forwarder_log}")
    distinct = sorted({p.detection_id or "?" for p in pages})
    out(
        f"{len(pages)} page(s) for {len(distinct)} distinct detection(s); {len(result.events)} records "
        f"replayed over {len(result.steps)} simulated minutes in {elapsed:.1f} s"
    )
    if problems:
        out("")
        out(f"FAILED: {len(problems)} problem(s)")
        for problem in problems:
            out(f"  - {problem}")
        return 1, result, problems
    if demo_input.expected_detections:
        out("OK: every expected page arrived, valid, with matching evidence only")
    else:
        out("OK: every alarm that fired was paged, every request valid, evidence matching only")
    return 0, result, problems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Replay an attack (or your CloudTrail files) through the synthesized pipeline, locally.",
    )
    parser.add_argument(
        "--events",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="CloudTrail files or folders to replay instead of the built-in scenario "
        "(.json.gz as delivered to S3, .json, JSON Lines)",
    )
    parser.add_argument(
        "--cdk-out", type=Path, default=DEFAULT_CDK_OUT, help="cloud assembly to read (default: cdk.out)"
    )
    parser.add_argument("--no-synth", action="store_true", help="use the existing cloud assembly as it is")
    parser.add_argument(
        "--output-dir", type=Path, default=DEFAULT_OUTPUT, help="where to write the requests and logs"
    )
    parser.add_argument(
        "--delivery-delay",
        default=DEFAULT_MODEL,
        metavar="MODEL",
        help="CloudTrail -> CloudWatch Logs delay model (a simulation): 'published' (default, fitted to "
        "published CloudTrail delivery figures), 'fixed:N' (every record N minutes late) or 'none'",
    )
    parser.add_argument(
        "--eventbridge-delay",
        default=DEFAULT_EVENTBRIDGE_MODEL,
        metavar="MODEL",
        help="CloudTrail -> EventBridge delivery model (an assumption: AWS publishes no latency, delivery is "
        "best effort): 'assumed' (default, seconds, rare losses), 'fixed:N' (N seconds) or 'none'",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"seed of the delay model (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--write-scenario",
        type=Path,
        metavar="PATH",
        help="write the built-in scenario as JSON Lines and exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        delay_model = parse_delay_model(args.delivery_delay)
        eventbridge_model = parse_eventbridge_model(args.eventbridge_delay)
    except (DelayModelError, EventBridgeModelError) as error:
        parser.error(str(error))
    now = datetime.now(UTC)
    if args.write_scenario:
        path = builtin.write_scenario(args.write_scenario, builtin.attack_chain(start=builtin_start(now)))
        print(f"wrote {path}")
        return 0
    try:
        if not args.no_synth:
            synthesize(args.cdk_out)
        print(summarize(args.cdk_out))
        print()
        try:
            demo_input = user_input(args.events, now) if args.events else builtin_input(now)
        except ValueError as error:  # e.g. files spanning more than CloudWatch Logs accepts
            print(f"error: {error}", file=sys.stderr)
            return 2
        code, _, _ = run_demo(
            demo_input,
            cdk_out=args.cdk_out,
            output_dir=args.output_dir,
            colour=sys.stdout.isatty(),
            delay_model=delay_model,
            seed=args.seed,
            eventbridge_model=eventbridge_model,
        )
    except subprocess.CalledProcessError as error:
        print(f"error: cdk synth failed (exit {error.returncode}); its messages are above", file=sys.stderr)
        return 2
    except (CloudAssemblyError, SummaryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return code
