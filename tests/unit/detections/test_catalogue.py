"""The catalogue as a specification: exact compliance texts, CloudWatch limits, and behaviour on records."""

from __future__ import annotations

import json
import re
import string

import pytest

from detections.catalogue import CATALOGUE, SUMMARY_FIELDS, Detection, get_detection
from detections.filter_pattern import compile_pattern
from tests.prowler_event_names import ORGANIZATIONS_EVENT_NAMES, ROUTE_TABLE_EVENT_NAMES
from tests.unit.detections.catalogue_cases import NEGATIVES, POSITIVES

BY_ID = {d.id: d for d in CATALOGUE}

# The texts Security Hub publishes (awsdocs/aws-security-hub-user-guide doc_source/cloudwatch-controls.md) and
# CIS 1.4.0 prints for 4.15. Security Hub fails a control when a term is added, so they must stay verbatim.
PUBLISHED_PATTERNS = {
    "CloudWatch.1": '{$.userIdentity.type="Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType !="AwsServiceEvent"}',  # noqa: E501
    "CloudWatch.2": '{($.errorCode="*UnauthorizedOperation") || ($.errorCode="AccessDenied*")}',
    "CloudWatch.3": '{ ($.eventName = "ConsoleLogin") && ($.additionalEventData.MFAUsed != "Yes") && ($.userIdentity.type = "IAMUser") && ($.responseElements.ConsoleLogin = "Success") }',  # noqa: E501
    "CloudWatch.4": "{($.eventName=DeleteGroupPolicy) || ($.eventName=DeleteRolePolicy) || ($.eventName=DeleteUserPolicy) || ($.eventName=PutGroupPolicy) || ($.eventName=PutRolePolicy) || ($.eventName=PutUserPolicy) || ($.eventName=CreatePolicy) || ($.eventName=DeletePolicy) || ($.eventName=CreatePolicyVersion) || ($.eventName=DeletePolicyVersion) || ($.eventName=AttachRolePolicy) || ($.eventName=DetachRolePolicy) || ($.eventName=AttachUserPolicy) || ($.eventName=DetachUserPolicy) || ($.eventName=AttachGroupPolicy) || ($.eventName=DetachGroupPolicy)}",  # noqa: E501
    "CloudWatch.5": "{($.eventName=CreateTrail) || ($.eventName=UpdateTrail) || ($.eventName=DeleteTrail) || ($.eventName=StartLogging) || ($.eventName=StopLogging)}",  # noqa: E501
    "CloudWatch.6": '{($.eventName=ConsoleLogin) && ($.errorMessage="Failed authentication")}',
    "CloudWatch.7": "{($.eventSource=kms.amazonaws.com) && (($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}",  # noqa: E501
    "CloudWatch.8": "{($.eventSource=s3.amazonaws.com) && (($.eventName=PutBucketAcl) || ($.eventName=PutBucketPolicy) || ($.eventName=PutBucketCors) || ($.eventName=PutBucketLifecycle) || ($.eventName=PutBucketReplication) || ($.eventName=DeleteBucketPolicy) || ($.eventName=DeleteBucketCors) || ($.eventName=DeleteBucketLifecycle) || ($.eventName=DeleteBucketReplication))}",  # noqa: E501
    "CloudWatch.9": "{($.eventSource=config.amazonaws.com) && (($.eventName=StopConfigurationRecorder) || ($.eventName=DeleteDeliveryChannel) || ($.eventName=PutDeliveryChannel) || ($.eventName=PutConfigurationRecorder))}",  # noqa: E501
    "CloudWatch.10": "{($.eventName=AuthorizeSecurityGroupIngress) || ($.eventName=AuthorizeSecurityGroupEgress) || ($.eventName=RevokeSecurityGroupIngress) || ($.eventName=RevokeSecurityGroupEgress) || ($.eventName=CreateSecurityGroup) || ($.eventName=DeleteSecurityGroup)}",  # noqa: E501
    "CloudWatch.11": "{($.eventName=CreateNetworkAcl) || ($.eventName=CreateNetworkAclEntry) || ($.eventName=DeleteNetworkAcl) || ($.eventName=DeleteNetworkAclEntry) || ($.eventName=ReplaceNetworkAclEntry) || ($.eventName=ReplaceNetworkAclAssociation)}",  # noqa: E501
    "CloudWatch.12": "{($.eventName=CreateCustomerGateway) || ($.eventName=DeleteCustomerGateway) || ($.eventName=AttachInternetGateway) || ($.eventName=CreateInternetGateway) || ($.eventName=DeleteInternetGateway) || ($.eventName=DetachInternetGateway)}",  # noqa: E501
    "CloudWatch.13": "{($.eventName=CreateRoute) || ($.eventName=CreateRouteTable) || ($.eventName=ReplaceRoute) || ($.eventName=ReplaceRouteTableAssociation) || ($.eventName=DeleteRouteTable) || ($.eventName=DeleteRoute) || ($.eventName=DisassociateRouteTable)}",  # noqa: E501
    "CloudWatch.14": "{($.eventName=CreateVpc) || ($.eventName=DeleteVpc) || ($.eventName=ModifyVpcAttribute) || ($.eventName=AcceptVpcPeeringConnection) || ($.eventName=CreateVpcPeeringConnection) || ($.eventName=DeleteVpcPeeringConnection) || ($.eventName=RejectVpcPeeringConnection) || ($.eventName=AttachClassicLinkVpc) || ($.eventName=DetachClassicLinkVpc) || ($.eventName=DisableVpcClassicLink) || ($.eventName=EnableVpcClassicLink)}",  # noqa: E501
    "CIS 1.4.0 4.15": '{ ($.eventSource = organizations.amazonaws.com) && (($.eventName = "AcceptHandshake") || ($.eventName = "AttachPolicy") || ($.eventName = "CreateAccount") || ($.eventName = "CreateOrganizationalUnit") || ($.eventName = "CreatePolicy") || ($.eventName = "DeclineHandshake") || ($.eventName = "DeleteOrganization") || ($.eventName = "DeleteOrganizationalUnit") || ($.eventName = "DeletePolicy") || ($.eventName = "DetachPolicy") || ($.eventName = "DisablePolicyType") || ($.eventName = "EnablePolicyType") || ($.eventName = "InviteAccountToOrganization") || ($.eventName = "LeaveOrganization") || ($.eventName = "MoveAccount") || ($.eventName = "RemoveAccountFromOrganization") || ($.eventName = "UpdatePolicy") || ($.eventName = "UpdateOrganizationalUnit")) }',  # noqa: E501
}


def matches(detection: Detection, event: dict[str, object]) -> bool:
    return any(compile_pattern(p).matches_json(event) for p in detection.all_patterns)


def matches_as_log_line(detection: Detection, event: dict[str, object]) -> bool:
    """The same question through the raw-message path a metric filter uses (one JSON line per record)."""
    message = json.dumps(event, separators=(",", ":"))
    return any(compile_pattern(p).matches(message) for p in detection.all_patterns)


# --- Coverage and exact compliance texts -----------------------------------------------------------------


@pytest.mark.parametrize("control", sorted(PUBLISHED_PATTERNS))
def test_each_compliance_control_has_exactly_one_detection_carrying_the_published_text(control: str) -> None:
    owners = [d for d in CATALOGUE if control in d.controls]
    assert len(owners) == 1, f"{control} is covered by {[d.id for d in owners]}"
    assert owners[0].pattern == PUBLISHED_PATTERNS[control]


def test_all_fourteen_security_hub_cloudwatch_controls_are_covered() -> None:
    covered = {c for d in CATALOGUE for c in d.controls if c.startswith("CloudWatch.")}
    assert covered == {f"CloudWatch.{n}" for n in range(1, 15)}


def test_at_least_ten_detections_go_beyond_cis() -> None:
    beyond = [d for d in CATALOGUE if not any(c.startswith(("CloudWatch.", "CIS ")) for c in d.controls)]
    assert len(beyond) >= 10


# --- Shape and limits ------------------------------------------------------------------------------------


def test_ids_are_unique_stable_kebab_case() -> None:
    ids = [d.id for d in CATALOGUE]
    assert len(ids) == len(set(ids))
    for detection_id in ids:
        assert re.fullmatch(r"[a-z0-9-]{3,60}", detection_id), detection_id
        assert not detection_id.startswith("-") and "--" not in detection_id


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_detection_fields_are_complete_and_valid(detection: Detection) -> None:
    assert detection.severity in ("critical", "error", "warning", "info")
    assert detection.resolve_policy in ("resolve_on_ok", "manual")
    assert detection.title and detection.description and detection.runbook.strip()
    assert detection.mitre_attack and all(
        re.fullmatch(r"T\d{4}(\.\d{3})?", t) for t in detection.mitre_attack
    )
    assert all(re.fullmatch(r"CloudWatch\.\d{1,2}|CIS \d\.\d\.\d \d\.\d{1,2}", c) for c in detection.controls)
    assert detection.metric_name == detection.id
    assert detection.all_patterns == (detection.pattern, *detection.additional_patterns)


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_summary_template_uses_only_the_agreed_fields_and_renders(detection: Detection) -> None:
    fields = {name for _, name, _, _ in string.Formatter().parse(detection.summary_template) if name}
    assert fields <= set(SUMMARY_FIELDS), fields - set(SUMMARY_FIELDS)
    rendered = detection.summary_template.format(**{f: f"<{f}>" for f in SUMMARY_FIELDS})
    assert "{" not in rendered


@pytest.mark.parametrize("detection", CATALOGUE, ids=lambda d: d.id)
def test_every_pattern_is_one_cloudwatch_accepts(detection: Detection) -> None:
    for text in detection.all_patterns:
        compiled = compile_pattern(text)  # raises FilterPatternError on anything AWS would reject
        assert compiled.kind == "json"
        assert len(text) <= 1024
        assert text.count("%") // 2 <= 2, "at most 2 regular expressions per filter pattern"


def test_catalogue_stays_within_log_group_quotas() -> None:
    filters = [p for d in CATALOGUE for p in d.all_patterns]
    assert len(filters) <= 60, "100 metric filters per log group; leave room for others"
    with_regex = [p for p in filters if re.search(r"%[^%]+%", p)]
    assert len(with_regex) <= 1, "5 regex-using filter patterns per log group, shared with anyone else"


def test_only_rate_type_detections_resolve_on_ok() -> None:
    resolving = {d.id for d in CATALOGUE if d.resolve_policy == "resolve_on_ok"}
    assert resolving == {"unauthorized-api-calls", "console-authentication-failures"}


def test_get_detection_finds_by_id_and_names_the_known_ids_otherwise() -> None:
    assert get_detection("root-account-usage").controls[0] == "CloudWatch.1"
    with pytest.raises(KeyError) as raised:
        get_detection("no-such-detection")
    assert "no-such-detection" in str(raised.value) and "root-account-usage" in str(raised.value)


# --- Prowler's checks (issue 4 part 2): my own encoding of their required clauses ----------------------


def prowler_current(pattern: str, *, source: str, names: list[str]) -> bool:
    """Current Prowler: every clause anywhere, event names matched as whole words."""
    clauses = [rf"(?=.*\$\.eventSource\s*=\s*.?{re.escape(source)})"]
    clauses += [rf"(?=.*\$\.eventName\s*=\s*.?{re.escape(name)}\b)" for name in names]
    return re.search("".join(clauses), pattern, flags=re.DOTALL) is not None


def prowler_ordered(
    pattern: str, *, source: str | None, names: list[str], quote_allowed: bool = True
) -> bool:
    """Prowler before 5.30: one regex, clauses in a fixed order (the oldest form allowed no quote)."""
    optional_quote = ".?" if quote_allowed else ""
    parts = [rf"\$\.eventSource\s*=\s*{optional_quote}{re.escape(source)}"] if source else []
    parts += [rf"\$\.eventName\s*=\s*{optional_quote}{re.escape(name)}" for name in names]
    return re.search(".+".join(parts), pattern) is not None


ROUTE_NAMES = list(ROUTE_TABLE_EVENT_NAMES)
ORG_NAMES = list(ORGANIZATIONS_EVENT_NAMES)


def test_route_tables_prowler_variant_satisfies_every_prowler_version_where_the_cis_text_cannot() -> None:
    detection = get_detection("route-table-changes")
    (variant,) = detection.additional_patterns
    assert prowler_current(variant, source="ec2.amazonaws.com", names=ROUTE_NAMES)
    assert prowler_ordered(variant, source="ec2.amazonaws.com", names=ROUTE_NAMES)
    assert prowler_ordered(variant, source=None, names=ROUTE_NAMES, quote_allowed=False)
    assert not prowler_current(detection.pattern, source="ec2.amazonaws.com", names=ROUTE_NAMES)


def test_organizations_prowler_variant_has_the_21_events_in_prowlers_order() -> None:
    detection = get_detection("organizations-changes")
    (variant,) = detection.additional_patterns
    assert prowler_current(variant, source="organizations.amazonaws.com", names=ORG_NAMES)
    assert prowler_ordered(variant, source="organizations.amazonaws.com", names=ORG_NAMES)
    assert not prowler_current(detection.pattern, source="organizations.amazonaws.com", names=ORG_NAMES)


def test_prowler_variants_only_widen_what_the_cis_text_matches() -> None:
    # On the CIS events both filters match (one metric, one alarm); the variant adds nothing unrelated.
    for detection_id in ("route-table-changes", "organizations-changes"):
        detection = get_detection(detection_id)
        for _, event in POSITIVES[detection_id] + NEGATIVES[detection_id]:
            cis = compile_pattern(detection.pattern).matches_json(event)
            variant = compile_pattern(detection.additional_patterns[0]).matches_json(event)
            if cis and detection_id == "organizations-changes":
                assert variant
            if variant and detection_id == "route-table-changes":
                assert cis


# --- Behaviour on records (table in catalogue_cases.py) -------------------------------------------------


def test_every_detection_has_three_positives_and_three_near_misses() -> None:
    assert set(POSITIVES) == set(BY_ID) == set(NEGATIVES)
    for detection_id in BY_ID:
        assert len(POSITIVES[detection_id]) >= 3, detection_id
        assert len(NEGATIVES[detection_id]) >= 3, detection_id


POSITIVE_CASES = [(d, name, event) for d, cases in POSITIVES.items() for name, event in cases]
NEGATIVE_CASES = [(d, name, event) for d, cases in NEGATIVES.items() for name, event in cases]


@pytest.mark.parametrize(("detection_id", "name", "event"), POSITIVE_CASES, ids=lambda v: str(v)[:60])
def test_detection_matches_its_positive_records(
    detection_id: str, name: str, event: dict[str, object]
) -> None:
    detection = BY_ID[detection_id]
    assert matches(detection, event), f"{detection_id} should match: {name}"
    assert matches_as_log_line(detection, event), f"{detection_id} should match the log line: {name}"


@pytest.mark.parametrize(("detection_id", "name", "event"), NEGATIVE_CASES, ids=lambda v: str(v)[:60])
def test_detection_ignores_its_near_misses(detection_id: str, name: str, event: dict[str, object]) -> None:
    detection = BY_ID[detection_id]
    assert not matches(detection, event), f"{detection_id} should not match: {name}"
    assert not matches_as_log_line(detection, event)


def test_no_detection_matches_a_routine_read() -> None:
    from testkit.cloudtrail import api

    routine = [
        api("DescribeInstances", "ec2", read_only=True),
        api("GetObject", "s3", read_only=True),
        api("AssumeRole", "sts"),
        api("ListUsers", "iam", read_only=True),
    ]
    for event in routine:
        assert [d.id for d in CATALOGUE if matches(d, event)] == []
