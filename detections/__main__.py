"""Command line: ``python -m detections <command>``.

Commands register themselves from their own modules so each stays next to the code it drives.
"""

from __future__ import annotations

import argparse
import sys

from detections import (
    cli_backtest,
    cli_catalogue,
    cli_eventbridge,
    cli_investigate,
    cli_rules,
    cli_sigma,
    cli_test_metric_filter,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m detections",
        description="Evaluate CloudWatch Logs filter patterns and the detection catalogue offline, and "
        "investigate who did what in CloudTrail.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_test_metric_filter.register(commands)
    cli_catalogue.register(commands)
    cli_backtest.register(commands)
    cli_eventbridge.register(commands)
    cli_investigate.register(commands)
    cli_rules.register(commands)
    cli_sigma.register(commands)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
