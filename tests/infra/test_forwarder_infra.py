"""Specification of how the forwarder Lambda is deployed: code asset, runtime, environment, least privilege,
and the dead-letter path that makes "never lose an alert" true when PagerDuty or the function fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from detections.alarm_window import EPISODE_MARGIN_SECONDS
from detections.suppressions import parse_suppressions
from stacks import build_app, nag_packs
from stacks.config import BaselineConfig
from stacks.constructs.alert_forwarder import (
    HANDLER,
    POWERTOOLS_LAYER_SSM_PARAMETER,
    REPO_ROOT,
)
from tests.infra.alarms_harness import (
    CUSTOM_SUPPRESSION,
    SynthesizedAlerting,
    cdk_json_context,
    custom_alerting,
    custom_config,
)
from tests.infra.least_privilege import wildcard_grants

REGION, ACCOUNT, PARTITION = {"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}, {"Ref": "AWS::Partition"}
EXPECTED_ENVIRONMENT_NAMES = {
    "EPISODE_TABLE_NAME",
    "EPISODE_SECONDS",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "TRAIL_LOG_GROUP_NAME",
    "ROUTING_KEY_SECRET_NAME",
    "PAGERDUTY_EVENTS_URL",
    "DEAD_LETTER_QUEUE_URL",
    "ALARM_NAME_PREFIX",
    "METRIC_NAMESPACE",
    "SUPPRESSIONS",
}


def only(synth: SynthesizedAlerting, resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = synth.properties(resource_type)
    return item


def function_properties(synth: SynthesizedAlerting) -> dict[str, Any]:
    return only(synth, "AWS::Lambda::Function")[1]


# --- the function ----------------------------------------------------------------------------------------


def test_runtime_architecture_handler_and_sizing_follow_the_contract_and_config(synthesized):
    props = function_properties(synthesized)
    settings = BaselineConfig().forwarder

    assert props["Handler"] == HANDLER == "lambdas.forwarder.handler.lambda_handler"
    assert props["Runtime"] in ("python3.12", "python3.13")
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == settings.memory_mb
    assert props["Timeout"] == settings.timeout_seconds
    assert props["ReservedConcurrentExecutions"] == settings.reserved_concurrency
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_custom_forwarder_settings_reach_the_function():
    props = function_properties(custom_alerting())
    settings = custom_config().forwarder

    assert (props["MemorySize"], props["Timeout"], props["ReservedConcurrentExecutions"]) == (
        settings.memory_mb,
        settings.timeout_seconds,
        settings.reserved_concurrency,
    )


def pinned_powertools_version() -> str:
    """The aws-lambda-powertools version requirements.txt pins: what the tests run the forwarder with."""
    pins = re.findall(
        r"^aws-lambda-powertools(?:\[[^\]]*\])?==([\w.]+)", (REPO_ROOT / "requirements.txt").read_text(), re.M
    )
    assert len(pins) == 1, f"expected one aws-lambda-powertools pin in requirements.txt, found {pins}"
    return pins[0]


def test_powertools_comes_from_the_public_layer_of_the_version_the_tests_use(synthesized):
    props = function_properties(synthesized)

    assert props["Layers"] == [f"{{{{resolve:ssm:{POWERTOOLS_LAYER_SSM_PARAMETER}}}}}"]
    # Bumping requirements.txt without the layer (or back) would test one Powertools and deploy another.
    expected = f"/aws/service/powertools/python/arm64/python3.12/{pinned_powertools_version()}"
    assert expected == POWERTOOLS_LAYER_SSM_PARAMETER
    assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])  # what the layer is for


def test_environment_is_exactly_the_contract(synthesized):
    props = function_properties(synthesized)
    config = BaselineConfig()
    stack = synthesized.stack

    assert props["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "security-alert-forwarder",
        "POWERTOOLS_METRICS_NAMESPACE": "SecurityBaseline/Forwarder",
        "TRAIL_LOG_GROUP_NAME": stack.resolve(synthesized.trail_log_group.log_group_name),
        "ROUTING_KEY_SECRET_NAME": config.pagerduty.routing_key_secret_name,
        "PAGERDUTY_EVENTS_URL": config.pagerduty.events_url,
        "DEAD_LETTER_QUEUE_URL": stack.resolve(stack.dead_letter_queue.queue_url),
        "ALARM_NAME_PREFIX": config.alarms.name_prefix,
        "METRIC_NAMESPACE": config.alarms.namespace,
        "SUPPRESSIONS": "[]",
        "EPISODE_TABLE_NAME": stack.resolve(stack.episode_table.table_name),
        # The default alarms: 60 s periods tolerating 19 minutes late (20 periods), plus the margin.
        "EPISODE_SECONDS": str(20 * 60 + EPISODE_MARGIN_SECONDS),
    }
    assert set(props["Environment"]["Variables"]) == EXPECTED_ENVIRONMENT_NAMES


def test_environment_is_encrypted_with_the_forwarder_key(synthesized):
    props = function_properties(synthesized)

    assert props["KmsKeyArn"] == {"Fn::GetAtt": [synthesized.logical_id(_forwarder_key(synthesized)), "Arn"]}


def test_configured_suppressions_reach_the_function_in_the_json_the_handler_parses():
    props = function_properties(custom_alerting())

    raw = json.loads(props["Environment"]["Variables"]["SUPPRESSIONS"])

    assert parse_suppressions(raw) == (CUSTOM_SUPPRESSION,)
    assert raw == [
        {
            "detection": "root-account-usage",
            "expires": "2030-12-31",
            "principalArnPattern": "arn:aws:iam::*:role/BreakGlass",
            "reason": "Quarterly break-glass drill, ticket SEC-123",
            "sourceCidr": "203.0.113.0/24",
        }
    ]


def test_the_function_logs_to_its_own_encrypted_log_group_with_the_configured_retention(synthesized):
    props = function_properties(synthesized)
    log_group_id, log_group = only(synthesized, "AWS::Logs::LogGroup")

    assert props["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    assert log_group["RetentionInDays"] == BaselineConfig().log_retention_days
    key_id = synthesized.logical_id(_forwarder_key(synthesized))
    assert log_group["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert (
        only(custom_alerting(), "AWS::Logs::LogGroup")[1]["RetentionInDays"]
        == custom_config().log_retention_days
    )


# --- the code asset --------------------------------------------------------------------------------------


def staged_asset_files(synth: SynthesizedAlerting) -> set[str]:
    s3_key = function_properties(synth)["Code"]["S3Key"]
    asset_dir = synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    assert asset_dir.is_dir(), f"asset not staged at {asset_dir}"
    return {path.relative_to(asset_dir).as_posix() for path in asset_dir.rglob("*") if path.is_file()}


def expected_asset_files(rule_ids: Iterable[str]) -> set[str]:
    """The two packages' code as the repo holds it (minus caches, tests and the rules folder), plus one
    ``detections/rules/<id>.toml`` per rule in use and no cases."""
    files = {"lambdas/__init__.py"}
    for package in ("lambdas/forwarder", "detections"):
        for path in (REPO_ROOT / package).rglob("*"):
            relative = path.relative_to(REPO_ROOT)
            if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
                continue
            if (
                "tests" in relative.parts
                or "rules" in relative.parts
                or path.name.startswith("test_")
                or ".pytest_cache" in relative.parts
            ):
                continue
            files.add(relative.as_posix())
    return files | {f"detections/rules/{rule_id}.toml" for rule_id in rule_ids}


def test_the_staged_asset_holds_the_code_and_exactly_the_rules_in_use(synthesized):
    staged = staged_asset_files(synthesized)
    in_use = sorted(synthesized.stack.alarms)  # the default configuration: every built-in it can use

    assert staged == expected_asset_files(in_use)
    assert "lambdas/forwarder/handler.py" in staged
    assert "detections/catalogue.py" in staged
    assert "detections/rules/root-account-usage.toml" in staged
    assert not [f for f in staged if f.endswith(".cases.jsonl")]
    assert all(Path(f).parts[0] in ("lambdas", "detections") for f in staged)
    assert not [f for f in staged if "__pycache__" in f or f.endswith(".pyc") or "/tests/" in f]


def test_the_asset_is_a_plain_directory_without_docker_bundling(synthesized):
    assets = json.loads(next(synthesized.outdir.glob("SecurityBaselineAlerting.assets.json")).read_text())
    (source,) = [f["source"] for f in assets["files"].values() if f["source"].get("packaging") == "zip"]
    assert source["path"].startswith("asset.")
    assert "executable" not in source


def test_the_handler_imports_from_the_staged_asset_alone(synthesized):
    # Given only the staged asset on the path (plus the runtime's boto3 and Powertools, which in AWS
    # come from the Lambda runtime and the layer) and the template's literal environment values
    s3_key = function_properties(synthesized)["Code"]["S3Key"]
    asset_dir = synthesized.outdir / f"asset.{s3_key.removesuffix('.zip')}"
    variables = function_properties(synthesized)["Environment"]["Variables"]
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        **{name: value for name, value in variables.items() if isinstance(value, str)},
        "TRAIL_LOG_GROUP_NAME": "security-baseline-trail",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/111122223333/dead-letters",
        "EPISODE_TABLE_NAME": "security-baseline-episodes",
    }
    probe = (
        "import importlib, sys; module = importlib.import_module('lambdas.forwarder.handler'); "
        "import detections.catalogue; print(module.__file__); print(callable(module.lambda_handler))"
    )

    # When the handler module is imported the way Lambda imports the handler string
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=asset_dir,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it loads from the asset, not from the repository checkout
    assert result.returncode == 0, result.stderr[-3000:]
    module_file, is_callable = result.stdout.split()
    assert Path(module_file).resolve().is_relative_to(asset_dir.resolve())
    assert is_callable == "True"


# --- asynchronous delivery and the dead-letter queue -----------------------------------------------------


def _forwarder_key(synth: SynthesizedAlerting) -> Any:
    return synth.stack.node.find_child("AlertForwarder").node.find_child("Key")


def test_async_invocations_retry_twice_then_park_in_the_dead_letter_queue(synthesized):
    _, config = only(synthesized, "AWS::Lambda::EventInvokeConfig")
    queue_id = synthesized.logical_id(synthesized.stack.dead_letter_queue)

    assert config == {
        "FunctionName": {"Ref": synthesized.logical_id(synthesized.stack.forwarder)},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [queue_id, "Arn"]}}},
    }


def test_the_forwarder_subscribes_to_the_alerts_topic_with_the_queue_as_redrive_target(synthesized):
    stack = synthesized.stack
    (subscription,) = [
        p for _, p in synthesized.properties("AWS::SNS::Subscription") if p["Protocol"] == "lambda"
    ]

    assert subscription["TopicArn"] == stack.resolve(stack.alerts_topic.topic_arn)
    assert subscription["Endpoint"] == {"Fn::GetAtt": [synthesized.logical_id(stack.forwarder), "Arn"]}
    assert subscription["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [synthesized.logical_id(stack.dead_letter_queue), "Arn"]}
    }
    # SNS may invoke it from the alerts topic only; the fast path's rules (one permission each) besides.
    (permission,) = [
        p
        for _, p in synthesized.properties("AWS::Lambda::Permission")
        if p["Principal"] != "events.amazonaws.com"
    ]
    assert permission["Principal"] == "sns.amazonaws.com"
    assert permission["SourceArn"] == stack.resolve(stack.alerts_topic.topic_arn)
    fast_path_rules = stack.fast_path.rules if stack.fast_path else {}
    assert len(list(synthesized.properties("AWS::Lambda::Permission"))) == 1 + len(fast_path_rules)


def test_the_dead_letter_queue_is_kms_encrypted_retained_and_denies_non_tls(synthesized):
    queue_id = synthesized.logical_id(synthesized.stack.dead_letter_queue)
    queue = synthesized.resources("AWS::SQS::Queue")[queue_id]
    # (the fast path's dead-letter queue has its own policy, tested with the fast path)
    (queue_policy,) = [
        p for _, p in synthesized.properties("AWS::SQS::QueuePolicy") if p["Queues"] == [{"Ref": queue_id}]
    ]

    assert queue["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [synthesized.logical_id(_forwarder_key(synthesized)), "Arn"]
    }
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["DeletionPolicy"] == "Retain"
    statements = queue_policy["PolicyDocument"]["Statement"]
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
    } in statements
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Action": "sqs:SendMessage",
            "Condition": {
                "ArnEquals": {
                    "aws:SourceArn": synthesized.stack.resolve(synthesized.stack.alerts_topic.topic_arn)
                }
            },
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Resource": {"Fn::GetAtt": [queue_id, "Arn"]},
        }
    ]


def test_forwarder_key_lets_only_the_log_group_and_sns_redrive_use_it_besides_iam(synthesized):
    key = synthesized.resources("AWS::KMS::Key")[synthesized.logical_id(_forwarder_key(synthesized))]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    alerts_topic = synthesized.stack.resolve(synthesized.stack.alerts_topic.topic_arn)

    principals = [s["Principal"] for s in statements]
    assert len(statements) == 3
    assert principals[0] == {"AWS": {"Fn::Join": ["", ["arn:", PARTITION, ":iam::", ACCOUNT, ":root"]]}}
    logs_statement, sns_statement = statements[1], statements[2]
    assert logs_statement["Principal"] == {"Service": {"Fn::Join": ["", ["logs.", REGION, ".amazonaws.com"]]}}
    assert list(logs_statement["Condition"]) == ["ArnEquals"]
    assert "kms:EncryptionContext:aws:logs:arn" in logs_statement["Condition"]["ArnEquals"]
    assert {**sns_statement, "Action": sorted(sns_statement["Action"])} == {
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Condition": {"ArnEquals": {"aws:SourceArn": alerts_topic}},
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Resource": "*",
        "Sid": "AllowSnsRedriveFromTheAlertsTopic",
    }


# --- least privilege -------------------------------------------------------------------------------------


def role_statements(synth: SynthesizedAlerting) -> dict[str, dict[str, Any]]:
    _, policy = only(synth, "AWS::IAM::ManagedPolicy")
    role_id = synth.logical_id(synth.stack.forwarder.role)
    assert policy["Roles"] == [{"Ref": role_id}]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_role_can_be_assumed_by_lambda_only_and_has_no_other_policies(synthesized):
    (role,) = synthesized.resources("AWS::IAM::Role").values()

    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role["Properties"]  # no AWS-managed policy
    assert "Policies" not in role["Properties"]
    assert synthesized.resources("AWS::IAM::Policy") == {}  # no inline policy anywhere in the stack


def test_the_role_grants_exactly_the_listed_actions_on_the_listed_resources(synthesized):
    statements = role_statements(synthesized)
    stack = synthesized.stack
    key_arn = {"Fn::GetAtt": [synthesized.logical_id(_forwarder_key(synthesized)), "Arn"]}
    own_log_group = {"Fn::GetAtt": [only(synthesized, "AWS::Logs::LogGroup")[0], "Arn"]}
    secret = BaselineConfig().pagerduty.routing_key_secret_name

    grants = {
        sid: (sorted(as_list(s["Action"])), s["Resource"], s["Effect"], s.get("Condition"))
        for sid, s in statements.items()
    }
    assert grants == {
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], own_log_group, "Allow", None),
        "ReadTrailEventsBehindAnAlarm": (
            ["logs:FilterLogEvents"],
            stack.resolve(synthesized.trail_log_group.log_group_arn),
            "Allow",
            None,
        ),
        "ReadPagerDutyRoutingKey": (
            ["secretsmanager:GetSecretValue"],
            {
                "Fn::Join": [
                    "",
                    ["arn:", PARTITION, ":secretsmanager:", REGION, ":", ACCOUNT, f":secret:{secret}-??????"],
                ]
            },
            "Allow",
            None,
        ),
        "ParkUndeliverableAlerts": (
            ["sqs:SendMessage"],
            {"Fn::GetAtt": [synthesized.logical_id(stack.dead_letter_queue), "Arn"]},
            "Allow",
            None,
        ),
        "UseForwarderKeyForQueueAndEnvironment": (
            ["kms:Decrypt", "kms:GenerateDataKey"],
            key_arn,
            "Allow",
            None,
        ),
        "RememberOpenEpisodes": (
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            {"Fn::GetAtt": [synthesized.logical_id(stack.episode_table), "Arn"]},
            "Allow",
            None,
        ),
        "UseForwarderKeyThroughDynamoDB": (
            ["kms:DescribeKey", "kms:Encrypt"],
            key_arn,
            "Allow",
            {"StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["dynamodb.", REGION, ".amazonaws.com"]]}}},
        ),
        "NameTheAccountInPages": (["iam:ListAccountAliases"], "*", "Allow", None),
        "SendXRayTraces": (["xray:PutTelemetryRecords", "xray:PutTraceSegments"], "*", "Allow", None),
    }


def test_filter_log_events_is_allowed_on_the_trail_log_group_only(synthesized):
    statements = role_statements(synthesized)

    readers = [s for s in statements.values() if "logs:FilterLogEvents" in as_list(s["Action"])]
    assert len(readers) == 1
    assert readers[0]["Resource"] == synthesized.stack.resolve(synthesized.trail_log_group.log_group_arn)


def test_the_routing_key_is_never_deployed_only_the_name_of_its_secret(synthesized):
    for synth in (synthesized, custom_alerting()):
        assert synth.resources("AWS::SecretsManager::Secret") == {}  # the stack creates no secret value
        variables = function_properties(synth)["Environment"]["Variables"]
        assert set(variables) == EXPECTED_ENVIRONMENT_NAMES  # no ROUTING_KEY-like variable sneaks in
        assert variables["ROUTING_KEY_SECRET_NAME"] == BaselineConfig().pagerduty.routing_key_secret_name


# --- a routing-key secret encrypted with a customer-managed key ------------------------------------------

SECRET_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_KEY_SID = "DecryptPagerDutyRoutingKeySecret"


@dataclass(frozen=True)
class SynthesizedWithSecretKey:
    alerting: SynthesizedAlerting
    template_paths: dict[str, Path]
    nag_packs_run: list[str]
    nag_findings: list[str]


@pytest.fixture(scope="module")
def with_secret_key(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedWithSecretKey:
    """The whole app as `cdk synth -c baseline.pagerduty.routingKeySecretKmsKeyArn=<key ARN>` builds it."""
    outdir = tmp_path_factory.mktemp("cdk.out.secret-key")
    context = {**cdk_json_context(), "baseline.pagerduty.routingKeySecretKmsKeyArn": SECRET_KEY_ARN}
    app = cdk.App(outdir=str(outdir), context=context)
    config = BaselineConfig.from_context(app.node)
    assert config.pagerduty.routing_key_secret_kms_key_arn == SECRET_KEY_ARN
    trail, alerting = build_app(app, config)
    assembly = app.synth()
    reports = {pack.read_pack_name: pack.validate_scope(app) for pack in nag_packs(app)}
    findings = [
        f"{name}: {violation.rule_name} on {resource.construct_path}"
        for name, report in reports.items()
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    return SynthesizedWithSecretKey(
        alerting=SynthesizedAlerting(
            app=app,
            stack=alerting,
            template=Template.from_stack(alerting),
            outdir=outdir,
            trail_log_group=trail.log_group,
        ),
        template_paths={stack.stack_name: Path(stack.template_full_path) for stack in assembly.stacks},
        nag_packs_run=sorted(reports),
        nag_findings=findings,
    )


def test_without_a_secret_key_the_role_gets_no_decrypt_grant_for_the_secret(synthesized):
    # Given the default configuration (the secret uses aws/secretsmanager, which needs no grant)
    assert BaselineConfig().pagerduty.routing_key_secret_kms_key_arn is None
    statements = role_statements(synthesized)

    # Then no statement names the secret key, and kms:Decrypt is granted on the forwarder's own key only
    assert SECRET_KEY_SID not in statements
    decrypters = [s for s in statements.values() if "kms:Decrypt" in as_list(s["Action"])]
    assert [s["Resource"] for s in decrypters] == [
        {"Fn::GetAtt": [synthesized.logical_id(_forwarder_key(synthesized)), "Arn"]}
    ]
    # (the one conditional statement is the episode table's: the forwarder key, through DynamoDB only)
    assert [sid for sid, s in statements.items() if "Condition" in s] == ["UseForwarderKeyThroughDynamoDB"]


def test_a_secret_key_adds_exactly_decrypt_on_that_key_via_secrets_manager_of_the_stack_region(
    with_secret_key,
):
    # Given baseline.pagerduty.routingKeySecretKmsKeyArn set to a key ARN
    statements = role_statements(with_secret_key.alerting)

    # Then the role may call kms:Decrypt on that one key, only through Secrets Manager in its region, and
    # only for the routing key's secret (the same ARN pattern the GetSecretValue grant names)
    assert statements[SECRET_KEY_SID] == {
        "Sid": SECRET_KEY_SID,
        "Action": "kms:Decrypt",
        "Effect": "Allow",
        "Resource": SECRET_KEY_ARN,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {"Fn::Join": ["", ["secretsmanager.", REGION, ".amazonaws.com"]]}
            },
            "StringLike": {
                "kms:EncryptionContext:SecretARN": statements["ReadPagerDutyRoutingKey"]["Resource"]
            },
        },
    }
    assert "security-baseline/pagerduty-routing-key-??????" in json.dumps(
        statements["ReadPagerDutyRoutingKey"]["Resource"]
    )


def test_a_secret_key_changes_nothing_else_in_the_role_or_the_function(synthesized, with_secret_key):
    default, keyed = role_statements(synthesized), role_statements(with_secret_key.alerting)

    assert set(keyed) - set(default) == {SECRET_KEY_SID}
    assert {sid: keyed[sid] for sid in default} == default
    # The key ARN only goes into the policy: the handler needs no new variable (Secrets Manager decrypts).
    variables = function_properties(with_secret_key.alerting)["Environment"]["Variables"]
    assert set(variables) == EXPECTED_ENVIRONMENT_NAMES
    assert SECRET_KEY_ARN not in json.dumps(variables)


def test_with_a_secret_key_no_policy_of_any_stack_allows_a_wildcard_action(with_secret_key):
    # The same check test_compliance_scanners runs on the default app, here on the variant.
    assert set(with_secret_key.template_paths) == {"SecurityBaselineTrail", "SecurityBaselineAlerting"}
    offenders = {
        stack: wildcard_grants(json.loads(path.read_text()))
        for stack, path in with_secret_key.template_paths.items()
    }
    assert offenders == {stack: [] for stack in offenders}


def test_with_a_secret_key_cdk_nag_reports_no_unacknowledged_finding(with_secret_key):
    # The packs test_compliance_scanners runs on the default app, here on the variant.
    assert with_secret_key.nag_packs_run == ["AwsSolutions", "NIST.800.53.R5"]
    assert with_secret_key.nag_findings == []
