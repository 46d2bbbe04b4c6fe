"""baseline.athena: the Glue table, workgroup, results bucket and saved queries, read from the template.

The table is checked against the other side of each contract: its partition columns against the filter
detections/athena.py writes, its location against the prefixes the trail bucket policy lets CloudTrail write,
its columns against detections/targets/sql.py, each saved query by parsing it as Trino. The scanners
(cfn-lint, checkov, cdk-nag) judge the same resources in tests/infra/test_compliance_scanners.py, whose
variants switch Athena on for an organization trail and for an existing bucket and key.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
import sqlglot
from aws_cdk.assertions import Match, Template

from demo.synth_summary import _athena_lines
from detections.athena import partition_filter
from detections.catalogue import CATALOGUE
from detections.naming import (
    ATHENA_DATABASE,
    ATHENA_REFUSALS_METADATA_KEY,
    ATHENA_TABLE,
    ATHENA_WORKGROUP,
    athena_named_query_name,
)
from detections.targets.sql import COLUMNS, compile_catalogue
from stacks.config import DEFAULT_ENABLED_REGIONS, BaselineConfig
from stacks.trail_stack import AuditTrailStack
from tests.infra.least_privilege import wildcard_grants

if TYPE_CHECKING:
    from tests.infra.conftest import SynthesizedApp

ORG_ID = "o-a1b2c3d4e5"
ACCOUNTS = ["111122223333", "444455556666"]


def _trail_stack(raw: dict[str, Any], context: dict[str, Any]) -> AuditTrailStack:
    app = cdk.App(context={key: value for key, value in context.items() if key != "baseline"})
    return AuditTrailStack(app, "SecurityBaselineTrail", config=BaselineConfig.from_mapping(raw))


@pytest.fixture(scope="module")
def single(cdk_context: dict[str, Any]) -> AuditTrailStack:
    return _trail_stack({"athena": {"enabled": True}}, cdk_context)


@pytest.fixture(scope="module")
def organization(cdk_context: dict[str, Any]) -> AuditTrailStack:
    return _trail_stack(
        {
            "organizationTrail": True,
            "organizationId": ORG_ID,
            "athena": {
                "enabled": True,
                "accounts": ACCOUNTS,
                "regions": ["eu-west-1", "us-east-1"],
                "bytesScannedCutoffPerQuery": 50_000_000_000,
                "resultsExpirationDays": 7,
                "projectionStartDate": "2025/06/01",
            },
        },
        cdk_context,
    )


def _only(template: Template, resource_type: str) -> tuple[str, dict[str, Any]]:
    found = [(key, dict(value)) for key, value in template.find_resources(resource_type).items()]
    assert len(found) == 1, f"expected one {resource_type}: {[k for k, _ in found]}"
    return found[0]


def _table_input(stack: AuditTrailStack) -> dict[str, Any]:
    table_input: dict[str, Any] = _only(Template.from_stack(stack), "AWS::Glue::Table")[1]["Properties"][
        "TableInput"
    ]
    return table_input


def _joined(value: Any) -> str:
    """A Fn::Join of literals, Refs and GetAtts as one string, written ${LogicalId} and ${LogicalId.Attr}."""
    if isinstance(value, str):
        return value
    if "Ref" in value:
        return "${" + value["Ref"] + "}"
    if "Fn::GetAtt" in value:
        return "${" + ".".join(value["Fn::GetAtt"]) + "}"
    separator, parts = value["Fn::Join"]
    return separator.join(_joined(part) for part in parts)


def _logical_id(stack: AuditTrailStack, construct: Any) -> str:
    return stack.get_logical_id(construct.node.default_child)


# --------------------------------------------------------------------------------------------------- off


def test_athena_is_off_by_default(synthesized_app: SynthesizedApp) -> None:
    template = Template.from_stack(synthesized_app.trail_stack)
    for resource_type in ("AWS::Glue::Table", "AWS::Athena::WorkGroup", "AWS::Athena::NamedQuery"):
        template.resource_count_is(resource_type, 0)
    assert synthesized_app.trail_stack.backtest is None


# ------------------------------------------------------------------------------------------------- table


def test_table_partitions_are_the_columns_the_backtest_filters_on(single: AuditTrailStack) -> None:
    table_input = _table_input(single)
    partition_keys = [(key["Name"], key["Type"]) for key in table_input["PartitionKeys"]]
    assert partition_keys == [("account", "string"), ("region", "string"), ("timestamp", "string")]
    where = partition_filter(date(2026, 1, 1), date(2026, 1, 2), ["111122223333"], ["eu-west-1"])
    filtered = {column.name for column in sqlglot.parse_one(where, read="trino").find_all(sqlglot.exp.Column)}
    assert filtered == {name for name, _ in partition_keys}


def test_table_is_the_documented_cloudtrail_table_with_our_columns(single: AuditTrailStack) -> None:
    table_input = _table_input(single)
    descriptor = table_input["StorageDescriptor"]
    assert table_input["TableType"] == "EXTERNAL_TABLE"
    assert [(c["Name"], c["Type"]) for c in descriptor["Columns"]] == list(COLUMNS)
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "org.apache.hive.hcatalog.data.JsonSerDe"
    assert descriptor["InputFormat"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    assert descriptor["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert table_input["Name"] == ATHENA_TABLE


def test_single_account_projection(single: AuditTrailStack) -> None:
    parameters = _table_input(single)["Parameters"]
    bucket = _logical_id(single, single.bucket)
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.timestamp.type"] == "date"
    assert parameters["projection.timestamp.format"] == "yyyy/MM/dd"
    assert parameters["projection.timestamp.interval"] == "1"
    assert parameters["projection.timestamp.interval.unit"] == "DAYS"
    assert parameters["projection.timestamp.range"] == "2024/01/01,NOW"
    assert parameters["projection.region.type"] == "enum"
    assert parameters["projection.region.values"] == ",".join(DEFAULT_ENABLED_REGIONS)
    assert parameters["projection.account.type"] == "enum"
    assert parameters["projection.account.values"] == {"Ref": "AWS::AccountId"}  # this account only
    assert _joined(parameters["storage.location.template"]) == (
        f"s3://${{{bucket}}}/AWSLogs/${{account}}/CloudTrail/${{region}}/${{timestamp}}"
    )


def test_organization_projection_reads_under_the_organization_id(organization: AuditTrailStack) -> None:
    table_input = _table_input(organization)
    parameters = table_input["Parameters"]
    bucket = _logical_id(organization, organization.bucket)
    assert parameters["projection.account.values"] == ",".join(ACCOUNTS)
    assert parameters["projection.region.values"] == "eu-west-1,us-east-1"
    assert parameters["projection.timestamp.range"] == "2025/06/01,NOW"
    assert _joined(parameters["storage.location.template"]) == (
        f"s3://${{{bucket}}}/AWSLogs/{ORG_ID}/${{account}}/CloudTrail/${{region}}/${{timestamp}}"
    )
    assert _joined(table_input["StorageDescriptor"]["Location"]) == f"s3://${{{bucket}}}/AWSLogs/{ORG_ID}/"


@pytest.mark.parametrize("layout", ["single", "organization"])
def test_the_table_reads_where_the_bucket_policy_lets_cloudtrail_write(
    layout: str, request: pytest.FixtureRequest
) -> None:
    stack: AuditTrailStack = request.getfixturevalue(layout)
    template = Template.from_stack(stack)
    bucket = _logical_id(stack, stack.bucket)
    (policy,) = template.find_resources(
        "AWS::S3::BucketPolicy", {"Properties": {"Bucket": {"Ref": bucket}}}
    ).values()
    (write,) = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s.get("Sid") == "AWSCloudTrailWrite"
    ]
    resources = write["Resource"] if isinstance(write["Resource"], list) else [write["Resource"]]
    written = [
        _joined(r).replace(f"${{{bucket}.Arn}}", "").replace("${AWS::AccountId}", "${account}")
        for r in resources
    ]
    template_path = _joined(_table_input(stack)["Parameters"]["storage.location.template"])
    read = template_path.split(f"s3://${{{bucket}}}", 1)[1].split("${account}", 1)[0] + "${account}/"
    assert any(read.startswith(prefix.rstrip("*")) for prefix in written), (read, written)


# --------------------------------------------------------------------------------------------- workgroup


def test_workgroup_enforces_its_encrypted_results_and_the_byte_cutoff(organization: AuditTrailStack) -> None:
    template = Template.from_stack(organization)
    backtest = organization.backtest
    assert backtest is not None
    results_key = _logical_id(organization, backtest.results_key)
    results_bucket = _logical_id(organization, backtest.results_bucket)
    template.has_resource_properties(
        "AWS::Athena::WorkGroup",
        {
            "Name": ATHENA_WORKGROUP,
            "State": "ENABLED",
            "WorkGroupConfiguration": {
                "EnforceWorkGroupConfiguration": True,
                "BytesScannedCutoffPerQuery": 50_000_000_000,
                "PublishCloudWatchMetricsEnabled": True,
                "ResultConfiguration": {
                    "EncryptionConfiguration": {
                        "EncryptionOption": "SSE_KMS",
                        "KmsKey": {"Fn::GetAtt": [results_key, "Arn"]},
                    },
                    "OutputLocation": {"Fn::Join": ["", ["s3://", {"Ref": results_bucket}, "/results/"]]},
                    "ExpectedBucketOwner": {"Ref": "AWS::AccountId"},
                },
            },
        },
    )


def test_results_bucket_is_private_tls_only_kms_encrypted_logged_and_expires(
    organization: AuditTrailStack,
) -> None:
    template = Template.from_stack(organization)
    backtest = organization.backtest
    assert backtest is not None and organization.access_log_bucket is not None
    results_bucket = _logical_id(organization, backtest.results_bucket)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {
                                    "Fn::GetAtt": [_logical_id(organization, backtest.results_key), "Arn"]
                                },
                            },
                        }
                    ]
                },
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "LoggingConfiguration": {
                    "DestinationBucketName": {
                        "Ref": _logical_id(organization, organization.access_log_bucket)
                    },
                    "LogFilePrefix": "athena-results-bucket/",
                },
                "LifecycleConfiguration": {
                    "Rules": Match.array_with(
                        [Match.object_like({"ExpirationInDays": 7, "Status": "Enabled"})]
                    )
                },
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": results_bucket},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            },
        },
    )


def test_an_existing_trail_bucket_gets_an_access_log_bucket_for_the_results(
    cdk_context: dict[str, Any],
) -> None:
    stack = _trail_stack({"existingBucketName": "org-audit-logs", "athena": {"enabled": True}}, cdk_context)
    template = Template.from_stack(stack)
    assert stack.backtest is not None and stack.access_log_bucket is None
    buckets = template.find_resources("AWS::S3::Bucket")
    assert len(buckets) == 2  # the results bucket and its access-log bucket
    logging = buckets[_logical_id(stack, stack.backtest.results_bucket)]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"]["Ref"] in buckets
    assert "org-audit-logs" in json.dumps(_table_input(stack)["Parameters"]["storage.location.template"])


# ------------------------------------------------------------------------------------------ saved queries


def test_one_saved_query_per_compiled_detection_parsing_as_trino(single: AuditTrailStack) -> None:
    template = Template.from_stack(single)
    in_use = BaselineConfig.from_mapping({"athena": {"enabled": True}}).detections_in_use
    compiled, refused = compile_catalogue(in_use)
    queries = {
        q["Properties"]["Name"]: q for q in template.find_resources("AWS::Athena::NamedQuery").values()
    }
    assert set(queries) == {athena_named_query_name(d.detection_id) for d in compiled}
    assert len(compiled) + len(refused) == len(in_use)
    workgroup_id, _ = _only(template, "AWS::Athena::WorkGroup")
    database_id, _ = _only(template, "AWS::Glue::Database")
    for detection in compiled:
        properties = queries[athena_named_query_name(detection.detection_id)]["Properties"]
        assert properties["WorkGroup"] == {"Ref": workgroup_id}
        assert properties["Database"] == {"Ref": database_id}
        parsed = sqlglot.parse_one(properties["QueryString"], read="trino")
        assert f'"{ATHENA_DATABASE}"."{ATHENA_TABLE}"' in parsed.sql(dialect="trino")
        assert detection.sql() in properties["QueryString"]


def test_refused_detections_are_listed_on_the_workgroup_and_in_the_synth_summary(
    cdk_context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the catalogue plus a detection whose selector has no column in the table
    probe = dataclasses.replace(
        CATALOGUE[0],
        id="probe-not-in-the-table",
        pattern='{ $.resources[0].ARN = "x" }',
        additional_patterns=(),
    )
    in_use = BaselineConfig.detections_in_use.fget  # type: ignore[attr-defined]
    monkeypatch.setattr(BaselineConfig, "detections_in_use", property(lambda self: (*in_use(self), probe)))
    stack = _trail_stack({"athena": {"enabled": True}}, cdk_context)
    template = dict(Template.from_stack(stack).to_json())
    # Then it gets no saved query, the workgroup's metadata says why, and the synth summary shows it
    (workgroup,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::Athena::WorkGroup"]
    refused = workgroup["Metadata"][ATHENA_REFUSALS_METADATA_KEY]
    assert [entry["detection"] for entry in refused] == ["probe-not-in-the-table"]
    assert refused[0]["reason"]
    names = [
        r["Properties"]["Name"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::Athena::NamedQuery"
    ]
    assert athena_named_query_name("probe-not-in-the-table") not in names
    lines = "\n".join(_athena_lines(template))
    assert f"{len(names)} saved detection queries; 1 detections not expressible" in lines
    assert f"probe-not-in-the-table: {refused[0]['reason']}" in lines
    assert "enforced: yes" in lines


# ------------------------------------------------------------------------------------------ query policy


def test_query_policy_grants_named_actions_on_scoped_resources(organization: AuditTrailStack) -> None:
    template = dict(Template.from_stack(organization).to_json())
    assert wildcard_grants(template) == []
    (policy,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert all(s["Resource"] != "*" for s in statements.values())
    assert _joined(statements["ReadTheTrailLogFiles"]["Resource"]).endswith(f"/AWSLogs/{ORG_ID}/*")
    for sid in ("DecryptTrailLogFilesThroughS3", "EncryptAndDecryptResultsThroughS3"):
        via = statements[sid]["Condition"]["StringEquals"]["kms:ViaService"]
        assert _joined(via) == "s3.${AWS::Region}.amazonaws.com"
