"""The one place the report imports the test suite's independent oracles from.

The Security Hub CloudWatch.1-14 texts and pass rule, and the cfn-lint/checkov runners, live in tests/infra
(tests and report must judge the same way). They are being consolidated into one test-oracle module; when
it lands, only these imports change.
"""

from __future__ import annotations

from tests.infra.test_alarms_compliance import SECURITY_HUB_PATTERNS, Filter, Inventory, security_hub_passes
from tests.infra.test_compliance_scanners import CHECKOV, _cfn_lint, _checkov

run_cfn_lint = _cfn_lint
run_checkov = _checkov

__all__ = [
    "CHECKOV",
    "SECURITY_HUB_PATTERNS",
    "Filter",
    "Inventory",
    "run_cfn_lint",
    "run_checkov",
    "security_hub_passes",
]
