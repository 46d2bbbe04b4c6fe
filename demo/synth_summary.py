"""A readable summary of what ``cdk deploy`` would create, read back from the synthesized cloud assembly.

Reads ``cdk.out/manifest.json`` and each stack's template: the deployed truth, not the configuration.
``summarize(cdk_out)`` returns the text; ``python -m demo.synth_summary [cdk.out]`` prints it.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from detections.fast_path import FAST_PATH_METADATA_KEY
from detections.naming import ATHENA_REFUSALS_METADATA_KEY

STACK_ARTIFACT = "aws:cloudformation:stack"


class SummaryError(ValueError):
    """The cloud assembly is missing or unreadable; the message says how to produce it."""


def load_templates(cdk_out: Path) -> dict[str, dict[str, Any]]:
    """Stack name -> template, for every stack artifact in the cloud assembly's manifest."""
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise SummaryError(f"{manifest_path} not found: run `cdk synth` (or `make synth`) first")
    manifest = json.loads(manifest_path.read_text())
    templates: dict[str, dict[str, Any]] = {}
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        if artifact.get("type") != STACK_ARTIFACT:
            continue
        template_file = artifact["properties"]["templateFile"]
        name = artifact.get("displayName", artifact_id)
        templates[name] = json.loads((cdk_out / template_file).read_text())
    if not templates:
        raise SummaryError(f"{manifest_path} lists no CloudFormation stack")
    return templates


def show(value: Any) -> str:
    """Render a template value, intrinsics included, the way a reader thinks of it."""
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return "${" + argument + "}"
        if function == "Fn::GetAtt":
            return "${" + ".".join(map(str, argument)) + "}"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(show(part) for part in parts)
    if isinstance(value, list):
        return ", ".join(show(item) for item in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _of_type(template: dict[str, Any], resource_type: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in template.get("Resources", {}).items() if v.get("Type") == resource_type]


def _retained(resource: dict[str, Any]) -> str:
    return (
        "retained on stack delete" if resource.get("DeletionPolicy") == "Retain" else "DELETED with the stack"
    )


def _trail_lines(template: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for _, trail in _of_type(template, "AWS::CloudTrail::Trail"):
        p = trail["Properties"]
        lines += [
            f"  Trail {p.get('TrailName', '(generated name)')}",
            f"    multi-region: {show(p.get('IsMultiRegionTrail', False))}, global service events: "
            f"{show(p.get('IncludeGlobalServiceEvents', False))}, log file validation: "
            f"{show(p.get('EnableLogFileValidation', False))}, organization trail: "
            f"{show(p.get('IsOrganizationTrail', False))}",
            f"    KMS key: {show(p.get('KMSKeyId', 'none (SSE-S3)'))}",
            f"    delivers to bucket {show(p.get('S3BucketName'))} and log group "
            f"{show(p.get('CloudWatchLogsLogGroupArn', 'none'))}",
        ]
        if "EventSelectors" in p:
            for selector in p["EventSelectors"]:
                lines.append(
                    f"    management events: {selector.get('ReadWriteType', 'All')}, excluded sources: "
                    f"{show(selector.get('ExcludeManagementEventSources') or 'none')}"
                )
            lines.append("    data events: none")
        for selector in p.get("AdvancedEventSelectors", []):
            fields = "; ".join(
                f"{f['Field']} {op} {show(values)}"
                for f in selector["FieldSelectors"]
                for op, values in f.items()
                if op != "Field"
            )
            lines.append(f"    selector '{selector.get('Name', '')}': {fields}")
        insights = [i["InsightType"] for i in p.get("InsightSelectors", [])]
        lines.append(f"    Insights: {', '.join(insights) if insights else 'off'}")
    for logical_id, bucket in _of_type(template, "AWS::S3::Bucket"):
        p = bucket["Properties"]
        encryption = p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
        algorithm = encryption.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "none")
        lock = p.get("ObjectLockConfiguration", {}).get("Rule", {}).get("DefaultRetention")
        lines.append(
            f"  Bucket {logical_id}: versioning {p.get('VersioningConfiguration', {}).get('Status', 'off')}, "
            f"encryption {algorithm}, public access blocked: "
            f"{show(all(p.get('PublicAccessBlockConfiguration', {}).values() or [False]))}, "
            f"{_retained(bucket)}"
        )
        if "LoggingConfiguration" in p:
            lines.append(
                f"    server access logs -> {show(p['LoggingConfiguration'].get('DestinationBucketName'))}"
            )
        lines.append(
            f"    Object Lock: {lock['Mode']} {lock['Days']} days" if lock else "    Object Lock: off"
        )
        for rule in p.get("LifecycleConfiguration", {}).get("Rules", []):
            transitions = ", ".join(
                f"{t['StorageClass']} after {t['TransitionInDays']} days" for t in rule.get("Transitions", [])
            )
            lines.append(
                f"    lifecycle: {transitions or 'no transition'}; expire after "
                f"{rule.get('ExpirationInDays', 'never')} days"
            )
    for _, log_group in _of_type(template, "AWS::Logs::LogGroup"):
        p = log_group["Properties"]
        if "cloudtrail" not in str(p.get("LogGroupName", "")):
            continue
        lines.append(
            f"  Log group {p.get('LogGroupName')}: "
            f"retention {p.get('RetentionInDays', 'never expires')} days, "
            f"KMS {show(p.get('KmsKeyId', 'none'))}, {_retained(log_group)}"
        )
    for logical_id, key in _of_type(template, "AWS::KMS::Key"):
        lines.append(
            f"  KMS key {logical_id}: rotation {show(key['Properties'].get('EnableKeyRotation', False))}, "
            f"{_retained(key)}"
        )
    return lines


def _alerting_lines(template: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    filters = _of_type(template, "AWS::Logs::MetricFilter")
    alarms = _of_type(template, "AWS::CloudWatch::Alarm")
    if not filters and not alarms:
        return lines
    lines.append(f"  {len(filters)} metric filters, {len(alarms)} alarms")
    for _, alarm in sorted(alarms, key=lambda item: str(item[1]["Properties"].get("AlarmName", item[0]))):
        p = alarm["Properties"]
        lines.append(
            f"    {show(p.get('AlarmName', '(generated)'))}: "
            f"{p.get('Statistic', p.get('ExtendedStatistic', '-'))} of {p.get('MetricName', 'metric math')} "
            f"over {p.get('Period', '-')} s x {p.get('EvaluationPeriods')} "
            f"{p.get('ComparisonOperator', '')} {p.get('Threshold', '')}, missing data: "
            f"{p.get('TreatMissingData', 'missing')}"
        )
    for logical_id, function in _of_type(template, "AWS::Lambda::Function"):
        p = function["Properties"]
        lines.append(
            f"  Lambda {logical_id}: {p.get('Runtime')} {show(p.get('Architectures', ['x86_64']))}, "
            f"{p.get('MemorySize', 128)} MB, timeout {p.get('Timeout', 3)} s, reserved concurrency "
            f"{p.get('ReservedConcurrentExecutions', 'none')}"
        )
    topics = _of_type(template, "AWS::SNS::Topic")
    queues = _of_type(template, "AWS::SQS::Queue")
    subscriptions = Counter(
        s["Properties"].get("Protocol") for _, s in _of_type(template, "AWS::SNS::Subscription")
    )
    lines.append(
        f"  {len(topics)} SNS topics, {len(queues)} SQS queues, subscriptions: "
        + (", ".join(f"{count} {protocol}" for protocol, count in sorted(subscriptions.items())) or "none")
    )
    return lines


def _fast_path_lines(template: dict[str, Any]) -> list[str]:
    """Which detections page through EventBridge, why the others do not, and where events are forwarded."""
    lines: list[str] = []
    decisions = template.get("Metadata", {}).get(FAST_PATH_METADATA_KEY)
    if decisions is None and _of_type(template, "AWS::Logs::MetricFilter"):
        lines.append("  fast path: off (baseline.fastPath.enabled is false); the alarms are the only path")
    if decisions is not None:
        on = {k: v for k, v in decisions.items() if v["enabled"]}
        lines.append(f"  fast path: {len(on)} of {len(decisions)} detections have an EventBridge rule")
        for detection_id, decision in on.items():
            read_only = " + read-only events" if decision["state"] != "ENABLED" else ""
            kinds = ", ".join(
                t.removeprefix("AWS ").removesuffix(" via CloudTrail") for t in decision["detailTypes"]
            )
            lines.append(f"    {detection_id}: {decision['reason']}; {kinds}{read_only}")
        lines.append("  no fast path:")
        lines += [f"    {k}: {v['reason']}" for k, v in decisions.items() if not v["enabled"]]
    for _, rule in _of_type(template, "AWS::Events::Rule"):
        p = rule["Properties"]
        for target in p.get("Targets", []):
            if "event-bus/" in show(target.get("Arn", "")):
                lines.append(
                    f"  forwards to {show(target['Arn'])}: {p.get('Description', '')}, state {p['State']}"
                )
    return lines


def _stack_set_lines(template: dict[str, Any]) -> list[str]:
    """The organization rollout: where the StackSet deploys, and the forwarding rules of each instance."""
    lines: list[str] = []
    for _, stack_set in _of_type(template, "AWS::CloudFormation::StackSet"):
        p = stack_set["Properties"]
        member = json.loads(p["TemplateBody"])
        rules = _of_type(member, "AWS::Events::Rule")
        for group in p.get("StackInstancesGroup", []):
            targets = group["DeploymentTargets"]
            excluded = targets.get("Accounts", []) if targets.get("AccountFilterType") == "DIFFERENCE" else []
            lines.append(
                f"  StackSet {p.get('StackSetName')} ({p['PermissionModel']}, automatic deployment "
                f"{show(p.get('AutoDeployment', {}).get('Enabled', False))}): OUs "
                f"{', '.join(targets.get('OrganizationalUnitIds', []))}"
                + (f" except {', '.join(excluded)}" if excluded else "")
                + f"; regions {', '.join(group['Regions'])}; {len(rules)} forwarding rules per account "
                "and region"
            )
    return lines


def _athena_lines(template: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for _, workgroup in _of_type(template, "AWS::Athena::WorkGroup"):
        p = workgroup["Properties"]
        configuration = p.get("WorkGroupConfiguration", {})
        results = configuration.get("ResultConfiguration", {})
        lines.append(
            f"  Athena workgroup {p.get('Name')}: enforced: "
            f"{show(configuration.get('EnforceWorkGroupConfiguration', False))}, cutoff "
            f"{configuration.get('BytesScannedCutoffPerQuery', 'none')} bytes per query, results "
            f"{show(results.get('OutputLocation', 'client-chosen'))} "
            f"({results.get('EncryptionConfiguration', {}).get('EncryptionOption', 'unencrypted')})"
        )
        queries = _of_type(template, "AWS::Athena::NamedQuery")
        refused = workgroup.get("Metadata", {}).get(ATHENA_REFUSALS_METADATA_KEY, [])
        lines.append(
            f"    {len(queries)} saved detection queries; {len(refused)} detections not expressible"
            + (":" if refused else "")
        )
        lines += [f"      {entry['detection']}: {entry['reason']}" for entry in refused]
    for _, table in _of_type(template, "AWS::Glue::Table"):
        table_input = table["Properties"]["TableInput"]
        parameters = table_input.get("Parameters", {})
        lines.append(
            f"  Glue table {table_input.get('Name')}: partitions "
            f"{', '.join(k['Name'] for k in table_input.get('PartitionKeys', []))}, projection "
            f"{parameters.get('projection.enabled', 'false')}, location "
            f"{show(parameters.get('storage.location.template', table_input.get('StorageDescriptor', {})))}"
        )
    return lines


def summarize(cdk_out: Path) -> str:
    """The summary of every stack in ``cdk_out``: resource counts, trail settings, retention, detections."""
    templates = load_templates(Path(cdk_out))
    lines = [f"Cloud assembly {cdk_out}: {len(templates)} stacks"]
    for name, template in templates.items():
        resources = template.get("Resources", {})
        counts = Counter(resource["Type"] for resource in resources.values())
        lines.append("")
        lines.append(f"Stack {name}: {len(resources)} resources")
        lines += [f"  {count:3d} x {resource_type}" for resource_type, count in sorted(counts.items())]
        detail = (
            _trail_lines(template)
            + _athena_lines(template)
            + _alerting_lines(template)
            + _fast_path_lines(template)
            + _stack_set_lines(template)
        )
        if detail:
            lines.append("  --")
            lines += detail
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    cdk_out = Path(arguments[0]) if arguments else Path("cdk.out")
    try:
        print(summarize(cdk_out))
    except SummaryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
