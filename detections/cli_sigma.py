"""``import-sigma``: convert Sigma CloudTrail rules into rule files (detections/rules format).

pySigma is a development dependency: it is imported only when the command runs, never by the Lambda.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import TextIO

EXIT_CONVERTED = 0
EXIT_NOTHING_CONVERTED = 1
DEFAULT_OUT = Path(__file__).resolve().parent / "rules"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "import-sigma",
        help="Convert Sigma AWS CloudTrail rules into rule files.",
        description=(
            "Convert Sigma rules (logsource aws/cloudtrail) into <id>.toml rule files with generated "
            "<id>.cases.jsonl (positives and near-misses). Each rule is converted through the filter-pattern "
            "engine, so CloudWatch's limits (1024 characters, regex dialect, wildcards) are checked; a rule "
            "a filter pattern cannot express exactly is refused with the reason."
        ),
        epilog=(
            "Output: one line per rule on stdout, 'converted <file>: <id> (<n> cases)' or "
            "'refused <file> (<title>): <reason>', then a count. Exit status: 0 when at least one rule was "
            "converted (refusals are reported, not errors); 1 when none was; 2 on usage errors."
        ),
    )
    parser.add_argument(
        "paths", nargs="+", metavar="RULE", help="Sigma rule files (.yml) or folders searched recursively."
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"Folder for the rule files (default: {DEFAULT_OUT}); created if missing.",
    )
    parser.set_defaults(run=run_import)


def run_import(args: argparse.Namespace) -> int:
    return import_sigma(args.paths, args.out, out=sys.stdout)


def import_sigma(paths: list[str], out_dir: Path, *, out: TextIO) -> int:
    from detections.sigma_import import import_file, sigma_files  # pySigma: only when the command runs

    converted = refused = 0
    written: dict[str, str] = {}  # rule id -> Sigma id, for this run
    for path in sigma_files(paths):
        for outcome in import_file(path):
            rule = outcome.rule
            reason = (
                outcome.refusal if rule is None else _id_clash(rule.rule_id, rule.sigma_id, out_dir, written)
            )
            if rule is None or reason:
                refused += 1
                out.write(f"refused {outcome.source} ({outcome.title}): {reason}\n")
                continue
            written[rule.rule_id] = rule.sigma_id
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / f"{rule.rule_id}.toml").write_text(rule.toml(), encoding="utf-8")
            (out_dir / f"{rule.rule_id}.cases.jsonl").write_text(rule.cases_jsonl(), encoding="utf-8")
            converted += 1
            out.write(f"converted {outcome.source}: {rule.rule_id} ({len(rule.cases)} cases)\n")
    out.write(f"{converted} converted, {refused} refused\n")
    return EXIT_CONVERTED if converted else EXIT_NOTHING_CONVERTED


def _id_clash(rule_id: str, sigma_id: str, out_dir: Path, written: dict[str, str]) -> str | None:
    """Why writing ``rule_id`` would overwrite a different rule (ids come from titles), or None."""
    if rule_id in written and written[rule_id] != sigma_id:
        return (
            f"id {rule_id!r} (from the title) is also the id of Sigma rule {written[rule_id]} in this run; "
            "retitle one"
        )
    existing = out_dir / f"{rule_id}.toml"
    if existing.is_file():
        sigma = tomllib.loads(existing.read_text(encoding="utf-8")).get("sigma", {})
        if sigma.get("id") != sigma_id:
            return (
                f"id {rule_id!r} (from the title) is already used by {existing}, not imported from this "
                "rule; retitle it"
            )
    return None
