"""Coverage of real attacks: which Stratus Red Team techniques page, pinned so any change shows.

Run `python -m tests.corpus.stratus` for the full table and the noise figure.
"""

from __future__ import annotations

import pytest

from detections.replay import CatalogueMatcher
from tests.corpus.stratus import caught_techniques, cis_only_matcher, invictus_noise

pytestmark = pytest.mark.corpus

CAUGHT = {
    "aws.credential-access.ec2-get-password-data",
    "aws.credential-access.ec2-steal-instance-credentials",
    "aws.credential-access.secretsmanager-batch-retrieve-secrets",
    "aws.credential-access.ssm-retrieve-securestring-parameters",
    "aws.defense-evasion.cloudtrail-delete",
    "aws.defense-evasion.cloudtrail-event-selectors",
    "aws.defense-evasion.cloudtrail-stop",
    "aws.defense-evasion.dns-delete-logs",
    "aws.defense-evasion.organizations-leave",
    "aws.defense-evasion.vpc-remove-flow-logs",
    "aws.discovery.ec2-download-user-data",
    "aws.execution.ec2-launch-unusual-instances",
    "aws.execution.ec2-user-data",
    "aws.execution.ssm-send-command",
    "aws.exfiltration.ec2-security-group-open-port-22-ingress",
    "aws.exfiltration.ec2-share-ami",
    "aws.exfiltration.ec2-share-ebs-snapshot",
    "aws.exfiltration.rds-share-snapshot",
    "aws.impact.bedrock-invoke-model",
    "aws.initial-access.console-login-without-mfa",
    "aws.lateral-movement.ec2-serial-console-send-ssh-public-key",
    "aws.persistence.iam-backdoor-role",
    "aws.persistence.iam-backdoor-user",
    "aws.persistence.iam-create-admin-user",
    "aws.persistence.iam-create-backdoor-role",
    "aws.persistence.iam-create-user-login-profile",
    "aws.persistence.lambda-backdoor-function",
    "aws.persistence.lambda-layer-extension",
    "aws.persistence.lambda-overwrite-code",
    "aws.persistence.rolesanywhere-create-trust-anchor",
    "aws.persistence.sts-federation-token",
    "aws.privilege-escalation.iam-update-user-login-profile",
}

# Missed on purpose: each emits only calls that are routine in a working account, so a per-event page would be
# noise. They need rate or behaviour baselines (e.g. GuardDuty), not a metric filter. (SSM GetParameters and
# UpdateFunctionCode are caught since issue 15 by what is unusual about them: five or more decrypted names in
# one call, and code replaced with an IAM user's long-term keys rather than by a deployment role.)
MISSED = {
    "aws.credential-access.secretsmanager-retrieve-secrets": "GetSecretValue/ListSecrets: every workload "
    "reads secrets",
    "aws.execution.ssm-start-session": "StartSession: the normal way admins reach instances",
    "aws.lateral-movement.ec2-instance-connect": "SendSSHPublicKey: the normal EC2 Instance Connect flow",
}

CIS_ONLY_CAUGHT = 10  # the figure issue 3 quotes for a CIS-only baseline


def test_catalogue_catches_exactly_the_pinned_techniques() -> None:
    techniques = caught_techniques(CatalogueMatcher())
    assert len(techniques) == 35
    caught = {t for t, detections in techniques.items() if detections}
    assert caught == CAUGHT
    assert set(techniques) - caught == set(MISSED)
    assert len(caught) >= 32  # issue 15's target


def test_cis_only_baseline_catches_ten_as_the_issue_says() -> None:
    caught = {t for t, detections in caught_techniques(cis_only_matcher()).items() if detections}
    assert len(caught) == CIS_ONLY_CAUGHT
    assert caught < CAUGHT


def test_every_beyond_cis_detection_earns_its_place_on_stratus_or_a_named_threat() -> None:
    from detections.catalogue import CATALOGUE

    firing = set().union(*caught_techniques(CatalogueMatcher()).values())
    for detection in CATALOGUE:
        if detection.controls:
            continue
        assert detection.id in firing or "Stratus" not in detection.description, (
            f"{detection.id} claims a Stratus technique it does not catch"
        )


def test_noise_on_the_unlabelled_incident_dataset_stays_within_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    full, cis = invictus_noise(CatalogueMatcher()), invictus_noise(cis_only_matcher())
    with capsys.disabled():
        print(
            f"\n[noise] Invictus: {full.matches_per_thousand():.1f} matches per 1,000 records "
            f"(CIS-only {cis.matches_per_thousand():.1f}); {full.matched_records}/{full.records} records "
            f"matched"
        )
    # The dataset is an attack simulation sampled towards matching records (PROVENANCE.md), so this is an
    # upper bound, not a background rate. Detections beyond CIS may add at most 40 matches per 1,000 records.
    assert cis.records == full.records == 669
    assert full.matches_per_thousand() - cis.matches_per_thousand() <= 40.0
    assert full.total_matches == 173 and cis.total_matches == 148
    # Issue 15: the widened catalogue may add at most 10 % to the 248.1 per 1,000 measured before it.
    assert full.matches_per_thousand() <= 248.1 * 1.10
