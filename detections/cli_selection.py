"""``--rules-dir`` and ``--builtin-only``: which detections ``list``, ``match`` and ``backtest`` run.

By default the ones the deployment runs (cdk.json's ``baseline.detections``: built-ins, the rules of
``rulesDir``, minus ``disabled``), so a backtest measures what would page.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from detections.deployment import SelectionError, deployment_detections
from detections.rule import Detection
from detections.rule_files import RuleFileError

EXIT_USAGE = 2


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "detections",
        "Default: the detections the deployment runs - the built-ins plus baseline.detections.rulesDir, "
        "minus baseline.detections.disabled, from cdk.json (this folder's, else the project's).",
    )
    group.add_argument(
        "--rules-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="Also run the <id>.toml rules of DIR (each with its <id>.cases.jsonl); repeatable.",
    )
    group.add_argument(
        "--builtin-only",
        action="store_true",
        help="Ignore cdk.json: every built-in detection (plus any --rules-dir).",
    )


def selected_detections(args: argparse.Namespace, err: TextIO) -> tuple[Detection, ...] | None:
    """The selection, or None after writing the error (a rule file, cdk.json or an id clash) to ``err``."""
    try:
        return deployment_detections(extra_rules_dirs=args.rules_dir, builtin_only=args.builtin_only)
    except (RuleFileError, SelectionError) as error:
        err.write(f"error: {error}\n")
    except ValueError as error:  # stacks/config.py's ConfigError (loaded by file path, so not importable)
        err.write(f"error: cdk.json: {error}\n")
    return None
