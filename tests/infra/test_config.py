"""Configuration: every bad value fails synth with a message naming the key path, the bad value, the fix."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from detections.catalogue import CATALOGUE
from stacks.config import (
    DEFAULTS,
    AlarmOverride,
    BaselineConfig,
    ConfigError,
    DataEventSettings,
    ObjectLockSettings,
)

REPO = Path(__file__).resolve().parents[2]
DETECTION_ID = CATALOGUE[0].id
KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


# ----------------------------------------------------------------------------------------------- good input


def test_defaults_are_valid_and_match_the_dataclass_defaults() -> None:
    assert BaselineConfig.from_mapping({}) == BaselineConfig()


def test_cdk_json_spells_out_every_default() -> None:
    # The "baseline" object in cdk.json is the documented default: it must not drift from the code.
    context = json.loads((REPO / "cdk.json").read_text())["context"]
    assert context["baseline"] == DEFAULTS
    assert BaselineConfig.from_mapping(context["baseline"]) == BaselineConfig()


def test_cli_style_overrides_are_parsed_as_json_or_kept_as_strings() -> None:
    config = BaselineConfig.from_mapping(
        {},
        {
            "logRetentionDays": "731",
            "trailName": "org-audit",
            "insights.apiCallRate": "true",
            "dataEvents.s3Buckets": '["arn:aws:s3:::payments-data"]',
            "objectLock.mode": "COMPLIANCE",
            f"alarms.overrides.{DETECTION_ID}.periodSeconds": "300",
        },
    )
    assert config.log_retention_days == 731
    assert config.trail_name == "org-audit"
    assert config.insights.api_call_rate is True
    assert config.data_events == DataEventSettings(s3_buckets=("arn:aws:s3:::payments-data",))
    assert config.object_lock == ObjectLockSettings(mode="COMPLIANCE", days=365)
    assert config.alarms.overrides == {DETECTION_ID: AlarmOverride(period_seconds=300)}


def test_from_context_reads_the_baseline_object_and_dotted_overrides() -> None:
    app = cdk.App(
        context={
            "baseline": {"logRetentionDays": 400, "alertEmails": ["secops@example.com"]},
            "baseline.alarms.periodSeconds": "120",
            "unrelated": "ignored",
        }
    )
    config = BaselineConfig.from_context(app.node)
    assert config.log_retention_days == 400
    assert config.alert_emails == ("secops@example.com",)
    assert config.alarms.period_seconds == 120


def test_data_events_accept_all_and_arn_lists() -> None:
    config = BaselineConfig.from_mapping(
        {
            "dataEvents": {
                "s3Buckets": "all",
                "lambdaFunctions": ["arn:aws:lambda:eu-west-1:123456789012:function:payments"],
                "dynamodbTables": ["arn:aws:dynamodb:eu-west-1:123456789012:table/orders"],
            }
        }
    )
    assert config.data_events.s3_buckets == "all"
    assert config.data_events.enabled


def test_a_reused_key_of_the_home_region_is_accepted() -> None:
    config = BaselineConfig.from_mapping({"homeRegion": "eu-west-1", "existingKmsKeyArn": KEY_ARN})
    assert (config.home_region, config.existing_kms_key_arn) == ("eu-west-1", KEY_ARN)


def test_the_routing_key_secret_key_is_off_by_default_and_accepts_a_key_arn() -> None:
    assert BaselineConfig().pagerduty.routing_key_secret_kms_key_arn is None
    # Given as a -c override (a string, not JSON) and in the home region of the deployment
    config = BaselineConfig.from_mapping(
        {"homeRegion": "eu-west-1"}, {"pagerduty.routingKeySecretKmsKeyArn": KEY_ARN}
    )
    assert config.pagerduty.routing_key_secret_kms_key_arn == KEY_ARN
    multi_region_key = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-" + "0" * 32
    secret_arn = "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:pd-AbCdEf"
    config = BaselineConfig.from_mapping(
        {"pagerduty": {"routingKeySecretName": secret_arn, "routingKeySecretKmsKeyArn": multi_region_key}}
    )
    assert config.pagerduty.routing_key_secret_kms_key_arn == multi_region_key


def test_valid_suppressions_are_parsed() -> None:
    raw = [
        {"detection": DETECTION_ID, "eventName": "ConsoleLogin", "expires": "2027-01-31", "reason": "drill"}
    ]
    config = BaselineConfig.from_mapping({"suppressions": raw})
    assert config.suppressions[0].detection == DETECTION_ID


# ------------------------------------------------------------------------------------------------ bad input

BIG_REASON = "x" * 400
BAD_INPUT: list[tuple[str, dict[str, Any], dict[str, str], list[str]]] = [
    # (case, raw cdk.json object, -c overrides, fragments the message must contain)
    ("unknown top-level key", {"trailname": "x"}, {}, ["baseline.trailname", "unknown key", "trailName"]),
    (
        "unknown nested key",
        {"lifecycle": {"glacierDays": 30}},
        {},
        ["baseline.lifecycle.glacierDays", "expirationDays"],
    ),
    ("unknown override key", {}, {"alarms.period": "60"}, ["baseline.alarms.period", "periodSeconds"]),
    ("wrong type", {"logRetentionDays": "a year"}, {}, ["baseline.logRetentionDays", "'a year'", "3653"]),
    (
        "bool is not a number",
        {"lifecycle": {"expirationDays": True}},
        {},
        ["lifecycle.expirationDays", "whole number"],
    ),
    ("retention CloudWatch refuses", {}, {"logRetentionDays": "17"}, ["logRetentionDays", "17", "365, 400"]),
    (
        "negative days",
        {"lifecycle": {"transitionToGlacierDays": -5}},
        {},
        ["transitionToGlacierDays", "-5", ">= 1"],
    ),
    (
        "transition after expiration",
        {"lifecycle": {"transitionToGlacierDays": 400, "expirationDays": 365}},
        {},
        ["transitionToGlacierDays", "400", "less than lifecycle.expirationDays (365)"],
    ),
    (
        "malformed S3 bucket ARN",
        {"dataEvents": {"s3Buckets": ["arn:aws:s3:::Bad_Bucket"]}},
        {},
        ["baseline.dataEvents.s3Buckets[0]", "Bad_Bucket", "arn:aws:s3:::my-bucket"],
    ),
    (
        "S3 data events not a list",
        {"dataEvents": {"s3Buckets": "some"}},
        {},
        ["dataEvents.s3Buckets", '"all" or a JSON array'],
    ),
    (
        "Lambda ARN of another service",
        {"dataEvents": {"lambdaFunctions": ["arn:aws:sqs:eu-west-1:123456789012:queue"]}},
        {},
        ["dataEvents.lambdaFunctions[0]", "function:my-function"],
    ),
    (
        "DynamoDB ARN without table/",
        {"dataEvents": {"dynamodbTables": ["arn:aws:dynamodb:eu-west-1:123456789012:orders"]}},
        {},
        ["dataEvents.dynamodbTables[0]", "table/my-table"],
    ),
    (
        "KMS alias instead of key ARN",
        {"existingKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/trail"},
        {},
        ["existingKmsKeyArn", "alias/trail", "not an alias"],
    ),
    (
        "Object Lock on a bucket we do not manage",
        {"existingBucketName": "their-trail-bucket", "objectLock": {"mode": "GOVERNANCE", "days": 30}},
        {},
        ["baseline.objectLock", "existingBucketName", "objectLock=null"],
    ),
    (
        "Object Lock bad mode",
        {},
        {"objectLock.mode": "LEGAL_HOLD"},
        ["objectLock.mode", "LEGAL_HOLD", "COMPLIANCE"],
    ),
    (
        "Object Lock zero days",
        {"objectLock": {"mode": "GOVERNANCE", "days": 0}},
        {},
        ["objectLock.days", "0"],
    ),
    (
        "Object Lock longer than the lifecycle keeps objects",
        {"objectLock": {"mode": "COMPLIANCE", "days": 3000}},
        {},
        ["baseline.objectLock.days", "3000", "lifecycle.expirationDays (2555)"],
    ),
    (
        "reused key from another region than the trail",
        {"homeRegion": "us-east-1", "existingKmsKeyArn": KEY_ARN},
        {},
        ["baseline.existingKmsKeyArn", KEY_ARN, "eu-west-1", "us-east-1"],
    ),
    (
        "organization trail without organization id",
        {"organizationTrail": True},
        {},
        ["baseline.organizationId", "null", "o-xxxxxxxxxx"],
    ),
    (
        "malformed organization id",
        {"organizationTrail": True, "organizationId": "org-123"},
        {},
        ["organizationId", "org-123", "o-a1b2c3d4e5"],
    ),
    (
        "bad email",
        {"alertEmails": ["secops.example.com"]},
        {},
        ["baseline.alertEmails[0]", "secops.example.com"],
    ),
    (
        "non-https health endpoint",
        {"health": {"httpsEndpoints": ["http://events.pagerduty.com/x"]}},
        {},
        ["health.httpsEndpoints[0]", "http://events.pagerduty.com/x", "https://"],
    ),
    (
        "alarm period 45 s",
        {},
        {"alarms.periodSeconds": "45"},
        ["alarms.periodSeconds", "45", "10, 30 or a multiple"],
    ),
    (
        "override for an unknown detection",
        {"alarms": {"overrides": {"no-such-detection": {"periodSeconds": 60}}}},
        {},
        ["baseline.alarms.overrides.no-such-detection", "catalogue detection ids"],
    ),
    (
        "the replaced evaluationPeriods key",
        {"alarms": {"evaluationPeriods": 3}},
        {},
        ["baseline.alarms.evaluationPeriods", "3", "replaced by toleratedDelayMinutes"],
    ),
    (
        "the replaced evaluationPeriods key in an override",
        {},
        {f"alarms.overrides.{DETECTION_ID}.evaluationPeriods": "3"},
        [f"alarms.overrides.{DETECTION_ID}.evaluationPeriods", "replaced by toleratedDelayMinutes"],
    ),
    (
        "tolerated delay under CloudTrail's documented average",
        {"alarms": {"toleratedDelayMinutes": 4}},
        {},
        ["baseline.alarms.toleratedDelayMinutes", "4", "at least 5"],
    ),
    (
        "tolerated delay whose window exceeds a day",
        {"alarms": {"toleratedDelayMinutes": 1440}},
        {},
        ["baseline.alarms.toleratedDelayMinutes", "1440", "at most 86400", "1441 periods", "largest", "1439"],
    ),
    (
        "override delay whose window exceeds a day at its period",
        {"alarms": {"overrides": {DETECTION_ID: {"periodSeconds": 3600, "toleratedDelayMinutes": 1400}}}},
        {},
        [f"alarms.overrides.{DETECTION_ID}.toleratedDelayMinutes", "1400", "25 periods = 90000 s"],
    ),
    (
        "override with a bad period",
        {"alarms": {"overrides": {DETECTION_ID: {"periodSeconds": 90}}}},
        {},
        [f"alarms.overrides.{DETECTION_ID}.periodSeconds", "90"],
    ),
    (
        "suppression without expiry",
        {"suppressions": [{"detection": DETECTION_ID, "eventName": "X", "reason": "r"}]},
        {},
        ["baseline.suppressions", "suppressions[0]", "expires"],
    ),
    (
        "suppression for an unknown detection",
        {
            "suppressions": [
                {"detection": "not-in-catalogue", "eventName": "X", "expires": "2027-01-01", "reason": "r"}
            ]
        },
        {},
        ["baseline.suppressions[0].detection", "not-in-catalogue"],
    ),
    (
        "suppressions too big for the Lambda environment",
        {
            "suppressions": [
                {
                    "detection": DETECTION_ID,
                    "eventName": f"Event{i}",
                    "expires": "2027-01-01",
                    "reason": BIG_REASON,
                }
                for i in range(10)
            ]
        },
        {},
        ["baseline.suppressions", "10 suppressions", "4096-byte limit"],
    ),
    ("trail name with a space", {"trailName": "my trail"}, {}, ["baseline.trailName", "'my trail'", "3-128"]),
    (
        "forwarder concurrency 0",
        {"forwarder": {"reservedConcurrency": 0}},
        {},
        ["reservedConcurrency", "0", "1 to"],
    ),
    (
        "forwarder timeout too short to fetch evidence and page",
        {"forwarder": {"timeoutSeconds": 10}},
        {},
        ["baseline.forwarder.timeoutSeconds", "10", "from 30 to 900"],
    ),
    (
        "routing-key secret key given as an alias ARN",
        {"pagerduty": {"routingKeySecretKmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:alias/pagerduty"}},
        {},
        [
            "baseline.pagerduty.routingKeySecretKmsKeyArn",
            "'arn:aws:kms:eu-west-1:123456789012:alias/pagerduty'",
            "not an alias",
            "an alias ARN in a policy's Resource does not match the key",
            "aws kms describe-key",
        ],
    ),
    (
        "routing-key secret key given as an alias name",
        {},
        {"pagerduty.routingKeySecretKmsKeyArn": "alias/pagerduty"},
        ["baseline.pagerduty.routingKeySecretKmsKeyArn", "'alias/pagerduty'", "not an alias"],
    ),
    (
        "routing-key secret key given as a bare key id",
        {"pagerduty": {"routingKeySecretKmsKeyArn": KEY_ARN.split("/")[-1]}},
        {},
        [
            "baseline.pagerduty.routingKeySecretKmsKeyArn",
            "'1234abcd-12ab-34cd-56ef-1234567890ab'",
            "not a bare key id",
            "arn:<partition>:kms:<region>:<account>:key/<key id>",
        ],
    ),
    (
        "routing-key secret key given as the secret's ARN",
        {
            "pagerduty": {
                "routingKeySecretKmsKeyArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pd-AbCdEf"
            }
        },
        {},
        ["pagerduty.routingKeySecretKmsKeyArn", "secret:pd-AbCdEf", "KMS key encrypting", KEY_ARN[:20]],
    ),
    (
        "routing-key secret key not a string",
        {"pagerduty": {"routingKeySecretKmsKeyArn": True}},
        {},
        ["baseline.pagerduty.routingKeySecretKmsKeyArn", "true", "or null"],
    ),
    (
        "routing-key secret key from another region than the deployment",
        {"homeRegion": "us-east-1", "pagerduty": {"routingKeySecretKmsKeyArn": KEY_ARN}},
        {},
        [
            "baseline.pagerduty.routingKeySecretKmsKeyArn",
            KEY_ARN,
            "eu-west-1",
            "baseline.homeRegion says us-east-1",
        ],
    ),
    (
        "routing-key secret key from another region than the secret",
        {
            "pagerduty": {
                "routingKeySecretName": "arn:aws:secretsmanager:us-east-1:123456789012:secret:pd-AbCdEf",
                "routingKeySecretKmsKeyArn": KEY_ARN,
            }
        },
        {},
        ["routingKeySecretKmsKeyArn", "eu-west-1", "routingKeySecretName says us-east-1", "own region"],
    ),
    (
        "section given a scalar",
        {"insights": True},
        {},
        ["baseline.insights", "expected an object", "apiCallRate"],
    ),
    (
        "athena over an organization trail without its accounts",
        {"organizationTrail": True, "organizationId": "o-a1b2c3d4e5"},
        {"athena.enabled": "true"},
        ["baseline.athena.accounts", "member account ids", "AWSLogs/<organizationId>/<account>"],
    ),
    (
        "athena cutoff below Athena's 10 MB minimum",
        {},
        {"athena.bytesScannedCutoffPerQuery": "1000"},
        ["baseline.athena.bytesScannedCutoffPerQuery", "1000", ">= 10000000"],
    ),
    (
        "athena projection start with dashes",
        {"athena": {"projectionStartDate": "2024-01-01"}},
        {},
        ["baseline.athena.projectionStartDate", "'2024-01-01'", "yyyy/MM/dd"],
    ),
    (
        "athena region misspelt",
        {"athena": {"regions": ["eu-west1"]}},
        {},
        ["baseline.athena.regions[0]", "'eu-west1'", "eu-west-1"],
    ),
    (
        "athena regions repeated",
        {"athena": {"regions": ["eu-west-1", "eu-west-1"]}},
        {},
        ["baseline.athena.regions", "distinct region names"],
    ),
    (
        "athena account id too short",
        {"athena": {"accounts": ["12345"]}},
        {},
        ["baseline.athena.accounts[0]", "'12345'", "12-digit"],
    ),
]


@pytest.mark.parametrize(
    ("case", "raw", "overrides", "fragments"), BAD_INPUT, ids=[case[0] for case in BAD_INPUT]
)
def test_bad_input_fails_with_a_message_naming_key_value_and_fix(
    case: str, raw: dict[str, Any], overrides: dict[str, str], fragments: list[str]
) -> None:
    with pytest.raises(ConfigError) as error:
        BaselineConfig.from_mapping(raw, overrides)
    message = str(error.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{case}: message {message!r} lacks {missing}"


def test_the_error_carries_the_path_and_value_as_attributes() -> None:
    with pytest.raises(ConfigError) as error:
        BaselineConfig.from_mapping({}, {"logRetentionDays": "17"})
    assert (error.value.path, error.value.value) == ("baseline.logRetentionDays", 17)


# ------------------------------------------------------------------------------------------- real CLI path


def _cdk_env() -> dict[str, str]:
    bin_dirs = [str(REPO / "node_modules" / ".bin"), str(REPO / ".venv" / "bin")]
    return {
        **os.environ,
        "PATH": os.pathsep.join([*bin_dirs, os.environ.get("PATH", "")]),
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
    }


@pytest.mark.skipif(
    not (REPO / "node_modules" / ".bin" / "cdk").exists(), reason="cdk CLI not installed (make setup)"
)
def test_cdk_synth_with_a_bad_override_exits_non_zero_with_one_clear_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            "cdk",
            "synth",
            "--quiet",
            "--output",
            str(tmp_path / "cdk.out"),
            "-c",
            "baseline.logRetentionDays=17",
        ],
        cwd=REPO,
        env=_cdk_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Configuration error: baseline.logRetentionDays: 17 is not allowed" in output
    assert "Traceback" not in output, output
