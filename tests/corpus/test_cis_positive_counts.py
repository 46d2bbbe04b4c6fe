"""The catalogue's compliance patterns reproduce PROVENANCE.md's "Computed CIS positives per key".

PROVENANCE.md computed those numbers over the whole corpus with the exact CIS texts; our patterns are meant to
be those exact texts evaluated with the same semantics, so the counts must be equal, key by key.
"""

from __future__ import annotations

import re

import pytest

from detections.catalogue import get_detection
from detections.filter_pattern import compile_pattern
from tests.corpus.corpus import CORPUS_DIR, all_corpus_files, iter_corpus

pytestmark = pytest.mark.corpus

# PROVENANCE.md's key -> catalogue detection carrying that CIS text.
KEY_TO_DETECTION = {
    "unauthorized_api_calls": "unauthorized-api-calls",
    "iam_policy_changes": "iam-policy-changes",
    "root_usage": "root-account-usage",
    "route_table_changes": "route-table-changes",
    "cloudtrail_changes": "cloudtrail-configuration-changes",
    "s3_bucket_policy_changes": "s3-bucket-policy-changes",
    "vpc_changes": "vpc-changes",
    "security_group_changes": "security-group-changes",
    "network_gateway_changes": "network-gateway-changes",
    "console_signin_no_mfa": "console-signin-without-mfa",
    "config_changes": "aws-config-changes",
    "cmk_disable_or_deletion": "kms-cmk-disabled-or-scheduled-for-deletion",
    "nacl_changes": "network-acl-changes",
    "organizations_changes": "organizations-changes",
    "console_auth_failures": "console-authentication-failures",
}
CIS_V12_CONSOLE_SIGNIN_NO_MFA = (
    '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") }'
)


def provenance_counts() -> dict[str, int]:
    path = CORPUS_DIR / "PROVENANCE.md"
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared corpus lives outside the repo)")
    text = " ".join(path.read_text(encoding="utf-8").split())
    section = text.split("Computed CIS positives per key across the corpus:", 1)[1].split("Extra:", 1)[0]
    return {key: int(number) for key, number in re.findall(r"([a-z_0-9]+) (\d+)", section)}


def count_positives(pattern_text: str) -> int:
    pattern = compile_pattern(pattern_text)
    return sum(pattern.matches_json(r.event) for path in all_corpus_files() for r in iter_corpus(path))


def test_provenance_lists_exactly_the_fifteen_cis_keys() -> None:
    assert set(provenance_counts()) == set(KEY_TO_DETECTION)


@pytest.mark.parametrize("key", sorted(KEY_TO_DETECTION))
def test_cis_positives_per_key_match_provenance(key: str) -> None:
    detection = get_detection(KEY_TO_DETECTION[key])
    assert count_positives(detection.pattern) == provenance_counts()[key]


def test_cis_v12_console_signin_text_gives_provenances_second_figure() -> None:
    # PROVENANCE.md: "console_signin_no_mfa 13 (44 with the CIS v1.2 text)". The v1.2 text lacks the IAMUser
    # and Success clauses, so it also counts root, federated and failed sign-ins.
    assert count_positives(CIS_V12_CONSOLE_SIGNIN_NO_MFA) == 44
