"""``python -m detections check-rules [DIR ...]``: validate rule files and run their cases before synth.

Without a folder it checks the built-in rules. Exit status 0 when every rule loads and every case gives its
expected outcome; 1 otherwise, with one line per problem on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from detections.rule_files import (
    PACKAGED_RULES_DIR,
    RuleFileError,
    case_failures,
    cases_path_of,
    load_cases,
    load_rules,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "check-rules",
        help="Validate rule files (<id>.toml) and run their cases (<id>.cases.jsonl).",
        description="Load every rule in each folder with the same checks as `cdk synth`, then run each "
        "rule's cases. Without a folder: the built-in rules.",
    )
    parser.add_argument(
        "folders", nargs="*", type=Path, metavar="DIR", help="Rule folders (default: built-ins)."
    )
    parser.set_defaults(run=lambda args: check_rules(args.folders or [PACKAGED_RULES_DIR]))


def check_rules(folders: list[Path], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    problems = 0
    for folder in folders:
        try:
            detections = load_rules(folder)
        except RuleFileError as error:
            print(error, file=err)
            problems += 1
            continue
        cases = 0
        for detection in detections:
            rule_cases = load_cases(cases_path_of(Path(detection.source)))
            cases += len(rule_cases)
            for failure in case_failures(detection, rule_cases):
                print(failure, file=err)
                problems += 1
        print(f"{folder}: {len(detections)} rule(s), {cases} case(s) checked", file=out)
    return 1 if problems else 0
