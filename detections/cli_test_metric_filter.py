"""``python -m detections test-metric-filter``: an offline ``aws logs test-metric-filter``.

Same arguments and the same stdout as the AWS CLI with its default JSON output, so a pattern can be tried
here and on a real account and the two outputs diffed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from detections.filter_pattern import MAX_PATTERN_LENGTH, FilterPatternError, compile_pattern

# TestMetricFilter API shape: logEventMessages has 1..50 members, each at least 1 character long.
MIN_MESSAGES = 1
MAX_MESSAGES = 50

# AWS CLI v2 exit codes: 254 = the service returned an error (InvalidParameterException for a bad pattern);
# 252 = the CLI rejected the parameters itself (botocore validates minimum lengths before sending).
EXIT_SERVICE_ERROR = 254
EXIT_PARAMETER_VALIDATION = 252


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "test-metric-filter",
        help="Test a filter pattern against log event messages, like `aws logs test-metric-filter`.",
        description=(
            "Print which messages a CloudWatch Logs filter pattern matches, in the exact JSON "
            "`aws logs test-metric-filter` prints (matches: eventNumber, eventMessage, extractedValues)."
        ),
    )
    parser.add_argument("--filter-pattern", required=True, help="The CloudWatch Logs filter pattern.")
    parser.add_argument(
        "--log-event-messages",
        required=True,
        nargs="+",
        metavar="MESSAGE",
        help=f"{MIN_MESSAGES} to {MAX_MESSAGES} log event messages to test.",
    )
    parser.set_defaults(run=run)
    _exit_like_the_aws_cli_on_usage_errors(parser)


def _exit_like_the_aws_cli_on_usage_errors(parser: argparse.ArgumentParser) -> None:
    """A missing or malformed argument exits 252, as ``aws logs test-metric-filter`` does (argparse: 2), so a
    script that checks the AWS CLI's exit codes behaves the same against this command."""

    def error(message: str) -> NoReturn:
        parser.print_usage(sys.stderr)
        parser.exit(EXIT_PARAMETER_VALIDATION, f"{parser.prog}: error: {message}\n")

    parser.error = error  # type: ignore[method-assign]


def run_test_metric_filter(
    filter_pattern: str, messages: Sequence[str]
) -> dict[str, list[dict[str, object]]]:
    """The TestMetricFilter response for already-validated input; raises FilterPatternError."""
    pattern = compile_pattern(filter_pattern)
    matches: list[dict[str, object]] = []
    for number, message in enumerate(messages, start=1):
        if pattern.matches(message):
            # Key order is botocore's: it rebuilds each record in the service model's member order
            # (MetricFilterMatchRecord: eventNumber, eventMessage, extractedValues).
            matches.append(
                {
                    "eventNumber": number,
                    "eventMessage": message,
                    "extractedValues": pattern.extracted_values(message),
                }
            )
    return {"matches": matches}


def _service_error(message: str, stderr: TextIO) -> int:
    # The AWS CLI's wording for a service-side InvalidParameterException.
    stderr.write(
        "\nAn error occurred (InvalidParameterException) when calling the TestMetricFilter operation: "
        f"{message}\n"
    )
    return EXIT_SERVICE_ERROR


def _validate_messages(messages: Sequence[str], stderr: TextIO) -> int | None:
    for index, message in enumerate(messages):
        if len(message) < 1:
            stderr.write(
                "\nParameter validation failed:\nInvalid length for parameter "
                f"logEventMessages[{index}], value: 0, valid min length: 1\n"
            )
            return EXIT_PARAMETER_VALIDATION
    if len(messages) > MAX_MESSAGES:
        return _service_error(
            f"1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_MESSAGES} (got {len(messages)})",
            stderr,
        )
    return None


def run(args: argparse.Namespace, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    messages: list[str] = list(args.log_event_messages)
    failure = _validate_messages(messages, err)
    if failure is not None:
        return failure
    if len(args.filter_pattern) > MAX_PATTERN_LENGTH:
        return _service_error(
            f"1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}",
            err,
        )
    try:
        response = run_test_metric_filter(args.filter_pattern, messages)
    except FilterPatternError as error:
        return _service_error(str(error), err)
    # awscli/formatter.py JSONFormatter: json.dump(response, indent=4, ensure_ascii=False) + "\n".
    json.dump(response, out, indent=4, ensure_ascii=False)
    out.write("\n")
    return 0
