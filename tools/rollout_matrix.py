"""The workflows' deployment matrix, generated from baseline.rollout in cdk.json (never written in YAML).

``python -m tools.rollout_matrix`` prints the outputs; ``--github-output "$GITHUB_OUTPUT"`` appends them
for later jobs: ``matrix`` ({"include": [target, ...]} in deploy order), ``count``, ``deploy-role-arn`` and
``diff-role-arn``. The configuration is validated exactly as `cdk synth` validates it, so a bad target
fails here with the same message.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stacks.config import BaselineConfig, ConfigError, RolloutSettings

REPO = Path(__file__).resolve().parents[1]


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def rollout_outputs(rollout: RolloutSettings) -> dict[str, str]:
    """The step outputs, as GitHub stores them: strings (the matrix as compact JSON)."""
    include = [
        {"name": t.name, "account": t.account, "region": t.region, "environment": t.environment}
        for t in rollout.targets
    ]
    outputs = {"matrix": json.dumps({"include": include}, separators=(",", ":")), "count": str(len(include))}
    if rollout.deploy_account is not None:
        partition = partition_of(rollout.targets[0].region) if rollout.targets else "aws"
        prefix = f"arn:{partition}:iam::{rollout.deploy_account}:role/"
        outputs["deploy-role-arn"] = prefix + rollout.deploy_role_name
        outputs["diff-role-arn"] = prefix + rollout.diff_role_name
    return outputs


def load_rollout(cdk_json: Path) -> RolloutSettings:
    context: Mapping[str, Any] = json.loads(cdk_json.read_text())["context"]
    return BaselineConfig.from_mapping(context.get("baseline") or {}).rollout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cdk-json", type=Path, default=REPO / "cdk.json")
    parser.add_argument("--github-output", type=Path, help="append name=value lines to this file")
    args = parser.parse_args(argv)
    try:
        outputs = rollout_outputs(load_rollout(args.cdk_json))
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    lines = "".join(f"{name}={value}\n" for name, value in outputs.items())
    if args.github_output is not None:
        with args.github_output.open("a") as output:
            output.write(lines)
    sys.stdout.write(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
