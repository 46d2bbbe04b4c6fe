#!/usr/bin/env python3
"""CDK entry point: load the configuration once, build the stacks, hold them to cdk-nag, synthesize.

A configuration error ends the process with one readable line and exit code 2, not a traceback.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk

from detections.rule_files import RuleFileError
from stacks.config import ROLLOUT_TARGET_CONTEXT_KEY, BaselineConfig, ConfigError


def main() -> int:
    app = cdk.App()
    try:
        config = BaselineConfig.from_context(app.node)
        target_name = app.node.try_get_context(ROLLOUT_TARGET_CONTEXT_KEY)
        target = None if target_name is None else config.rollout.target_named(str(target_name))
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        print(
            '(fix it in cdk.json under "baseline" or in the -c baseline.<key>=<value> override)',
            file=sys.stderr,
        )
        return 2
    except RuleFileError as error:  # a rule in baseline.detections.rulesDir
        print(str(error), file=sys.stderr)
        print("(fix the rule file, or its folder in cdk.json baseline.detections.rulesDir)", file=sys.stderr)
        return 2

    from stacks import add_compliance_checks, build_app

    build_app(app, config, target)
    add_compliance_checks(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
