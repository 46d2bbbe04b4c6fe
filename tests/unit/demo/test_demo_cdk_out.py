"""Reading the deployed settings back from a cloud assembly (a small hand-written one, no CDK needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.cdk_out import CloudAssemblyError, find_function, load_deployment
from detections.naming import fast_path_rule_name

HANDLER = "lambdas.forwarder.handler.lambda_handler"


def write_assembly(root: Path, alerting_resources: dict[str, object]) -> Path:
    trail = {
        "Resources": {"TrailLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 365}}},
        "Outputs": {
            "LogGroupExport": {
                "Value": {"Ref": "TrailLogs"},
                "Export": {"Name": "Trail:ExportsOutputRefTrailLogs"},
            }
        },
    }
    alerting = {"Resources": alerting_resources}
    (root / "Trail.template.json").write_text(json.dumps(trail))
    (root / "Alerting.template.json").write_text(json.dumps(alerting))
    (root / "asset.abc123").mkdir()
    manifest = {
        "artifacts": {
            "SecurityBaselineTrail": {
                "type": "aws:cloudformation:stack",
                "properties": {"templateFile": "Trail.template.json", "stackName": "SecurityBaselineTrail"},
            },
            "SecurityBaselineAlerting": {
                "type": "aws:cloudformation:stack",
                "properties": {
                    "templateFile": "Alerting.template.json",
                    "stackName": "SecurityBaselineAlerting",
                },
            },
        }
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


def alerting_resources() -> dict[str, object]:
    imported_group = {"Fn::ImportValue": "Trail:ExportsOutputRefTrailLogs"}
    return {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Filter": {
            "Type": "AWS::Logs::MetricFilter",
            "Properties": {
                "FilterPattern": '{ $.eventName = "StopLogging" }',
                "LogGroupName": imported_group,
                "MetricTransformations": [
                    {"MetricName": "trail-stopped", "MetricNamespace": "SecurityBaseline", "MetricValue": "1"}
                ],
            },
        },
        "Alarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": "security-baseline-trail-stopped",
                "MetricName": "trail-stopped",
                "Namespace": "SecurityBaseline",
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": HANDLER,
                "Runtime": "python3.12",
                "Timeout": 60,
                "MemorySize": 512,
                "Code": {"S3Bucket": {"Fn::Sub": "cdk-assets-${AWS::AccountId}"}, "S3Key": "abc123.zip"},
                "Environment": {
                    "Variables": {
                        "TRAIL_LOG_GROUP_NAME": imported_group,
                        "DEAD_LETTER_QUEUE_URL": {"Ref": "Queue"},
                        "ALARM_NAME_PREFIX": "security-baseline-",
                        "TOPIC": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x"]]},
                    }
                },
            },
        },
        "Subscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "Protocol": "lambda",
                "TopicArn": {"Ref": "Topic"},
                "Endpoint": {"Fn::GetAtt": ["Fn", "Arn"]},
            },
        },
    }


def test_deployment_is_resolved_to_physical_names(tmp_path: Path) -> None:
    cdk_out = write_assembly(tmp_path, alerting_resources())
    deployment = load_deployment(
        cdk_out, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER
    )

    (metric_filter,) = deployment.metric_filters
    (alarm,) = deployment.alarms
    group = metric_filter.log_group_name
    assert group.startswith("SecurityBaselineTrail-TrailLogs-")
    assert deployment.forwarder.environment["TRAIL_LOG_GROUP_NAME"] == group  # same group via the export
    assert deployment.forwarder.environment["DEAD_LETTER_QUEUE_URL"].startswith(
        "https://sqs.eu-west-1.amazonaws.com/111122223333/SecurityBaselineAlerting-Queue-"
    )
    assert deployment.forwarder.environment["TOPIC"] == "arn:aws:x"
    assert deployment.forwarder.asset_dir == (cdk_out / "asset.abc123").resolve()
    assert alarm.alarm_actions == deployment.forwarder_topics
    assert alarm.treat_missing_data == "notBreaching" and alarm.threshold == 1.0
    assert metric_filter.pattern == '{ $.eventName = "StopLogging" }'


def test_a_forwarder_without_a_subscription_is_an_error(tmp_path: Path) -> None:
    resources = alerting_resources()
    del resources["Subscription"]
    cdk_out = write_assembly(tmp_path, resources)
    with pytest.raises(CloudAssemblyError, match="subscribed to no SNS topic"):
        load_deployment(cdk_out, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER)


def test_a_missing_assembly_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(CloudAssemblyError, match="cdk synth"):
        load_deployment(tmp_path, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER)


def test_weak_cross_stack_references_resolve_to_the_producing_stacks_output(tmp_path: Path) -> None:
    # GIVEN the alerting stack reads the trail's log group through Fn::GetStackOutput (the CDK flag
    # @aws-cdk/core:defaultCrossStackReferences=weak) instead of an export
    weak_reference = {
        "Fn::GetStackOutput": {
            "StackName": "SecurityBaselineTrail",
            "Region": {"Ref": "AWS::Region"},
            "OutputName": "LogGroupExport",
        }
    }
    resources = json.loads(
        json.dumps(alerting_resources()).replace(
            json.dumps({"Fn::ImportValue": "Trail:ExportsOutputRefTrailLogs"}), json.dumps(weak_reference)
        )
    )
    cdk_out = write_assembly(tmp_path, resources)

    # WHEN the deployment is read back
    deployment = load_deployment(
        cdk_out, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER
    )

    # THEN the filter and the forwarder name the trail's real log group, not the intrinsic
    (metric_filter,) = deployment.metric_filters
    assert metric_filter.log_group_name.startswith("SecurityBaselineTrail-TrailLogs-")
    assert deployment.forwarder.environment["TRAIL_LOG_GROUP_NAME"] == metric_filter.log_group_name


def test_the_forwarder_is_found_with_its_environment_both_resolved_and_as_written(tmp_path: Path) -> None:
    # GIVEN an assembly whose forwarder reads the trail's log group and its queue through intrinsics
    cdk_out = write_assembly(tmp_path, alerting_resources())

    # WHEN the function is looked up by its handler (as the moto harness does)
    function = find_function(cdk_out, HANDLER, account_id="111122223333", region="eu-west-1")

    # THEN it is the same definition the demo deploys: resolved values, and the template's own text
    assert function is not None
    deployment = load_deployment(
        cdk_out, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER
    )
    assert function == deployment.forwarder
    assert (function.logical_id, function.timeout_seconds, function.memory_mb) == ("Fn", 60, 512)
    assert function.template_environment["DEAD_LETTER_QUEUE_URL"] == {"Ref": "Queue"}
    assert function.template_environment["ALARM_NAME_PREFIX"] == "security-baseline-"
    assert function.environment["DEAD_LETTER_QUEUE_URL"].startswith("https://sqs.eu-west-1.amazonaws.com/")


def test_no_function_is_found_before_synthesis_or_when_no_function_has_the_handler(tmp_path: Path) -> None:
    assert find_function(tmp_path, HANDLER, account_id="111122223333", region="eu-west-1") is None
    cdk_out = write_assembly(tmp_path, alerting_resources())
    assert find_function(cdk_out, "other.handler", account_id="111122223333", region="eu-west-1") is None


def test_two_functions_with_the_forwarders_handler_are_an_error(tmp_path: Path) -> None:
    resources = alerting_resources()
    resources["Fn2"] = resources["Fn"]
    cdk_out = write_assembly(tmp_path, resources)
    with pytest.raises(CloudAssemblyError, match=r"expected exactly one Lambda function .* found 2"):
        find_function(cdk_out, HANDLER, account_id="111122223333", region="eu-west-1")
    with pytest.raises(CloudAssemblyError, match=r"expected exactly one Lambda function .* found 2"):
        load_deployment(cdk_out, account_id="111122223333", region="eu-west-1", forwarder_handler=HANDLER)


def test_fast_path_rules_are_the_alerting_rules_that_target_the_forwarder(tmp_path: Path) -> None:
    # Given one rule targeting the forwarder, named as FastPathRules names it with the deployment's prefix
    # (the forwarder's ALARM_NAME_PREFIX), and one targeting something else
    resources = alerting_resources()
    pattern = {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"eventName": ["StopLogging"]}}
    resources["FastRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": fast_path_rule_name("trail-stopped", "security-baseline-"),
            "EventPattern": pattern,
            "State": "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
            "Targets": [{"Arn": {"Fn::GetAtt": ["Fn", "Arn"]}, "Id": "Target0"}],
        },
    }
    resources["OtherRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": pattern, "Targets": [{"Arn": {"Ref": "Topic"}, "Id": "Target0"}]},
    }
    deployment = load_deployment(
        write_assembly(tmp_path, resources),
        account_id="111122223333",
        region="eu-west-1",
        forwarder_handler=HANDLER,
    )
    # Then only the forwarder's rule is read, with its detection, pattern and state as synthesized
    (rule,) = deployment.fast_path_rules
    assert rule.logical_id == "FastRule"
    assert rule.detection_id == "trail-stopped"
    assert rule.event_pattern == pattern
    assert rule.state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


def test_without_rules_the_fast_path_is_off(tmp_path: Path) -> None:
    deployment = load_deployment(
        write_assembly(tmp_path, alerting_resources()),
        account_id="111122223333",
        region="eu-west-1",
        forwarder_handler=HANDLER,
    )
    assert deployment.fast_path_rules == ()
