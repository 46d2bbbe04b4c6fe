"""``eventbridge-pattern``: a detection's EventBridge event pattern, or why it has none."""

from __future__ import annotations

import argparse
import json
import sys

from detections.catalogue import get_detection
from detections.fast_path import decide
from detections.targets.eventbridge import EventBridgeRefusal, compile_patterns

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "eventbridge-pattern",
        help="Print a detection's EventBridge event pattern (or the reason it has none).",
        description=(
            "Compile the detection's filter pattern(s) (their union) to an EventBridge event pattern over "
            "the CloudTrail event's detail, exactly or not at all."
        ),
        epilog=(
            "Output: the event pattern as JSON on stdout; on stderr, one line with the rule state it needs "
            "and whether the detection gets a fast path. Exit status: 0 when the pattern compiles; 1 when it "
            "is refused (the reason on stderr); 2 for an unknown detection id."
        ),
    )
    parser.add_argument(
        "detection_id", metavar="ID", help="A detection id (see `python -m detections list`)."
    )
    parser.set_defaults(run=run_eventbridge_pattern)


def run_eventbridge_pattern(args: argparse.Namespace) -> int:
    try:
        detection = get_detection(args.detection_id)
    except KeyError as error:
        print(error.args[0], file=sys.stderr)
        return EXIT_USAGE
    try:
        compiled = compile_patterns(detection.all_patterns)
    except EventBridgeRefusal as refusal:
        print(f"{detection.id}: no exact EventBridge pattern: {refusal.reason}", file=sys.stderr)
        return EXIT_REFUSED
    decision = decide(detection)
    print(json.dumps(compiled.pattern, indent=2))
    fast = "fast path: on" if decision.enabled else "fast path: off"
    print(f"{detection.id}: rule state {decision.rule_state}; {fast} ({decision.reason})", file=sys.stderr)
    return EXIT_OK
