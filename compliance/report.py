"""Security Hub controls answered by the synthesized baseline: the resources that satisfy each, and the
scanners' verdicts on those resources. Markdown and JSON, generated from a cloud assembly (``cdk.out``).

Each control is judged from the templates, with the rule Security Hub states for it (titles and rules from
the Security Hub user guide, awsdocs/aws-security-hub-user-guide doc_source/cloudtrail-controls.md and
cloudwatch-controls.md at commit bda5bf7d). CloudWatch.1-14 use the test suite's oracle (the exact CIS
filter texts); the scanners are the ones tests/infra runs. A control whose resource is missing or broken
is reported as not satisfied; one that depends on something this baseline does not create (an existing
bucket) is reported as outside the baseline, never as satisfied.

Scope: the resources in these templates. Security Hub evaluates CloudWatch.15-17 and CloudTrail.1/3 over the
whole account; other stacks' alarms and log groups are outside what this report can see.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from compliance import oracle

Status = Literal["satisfied", "not satisfied", "outside this baseline"]
SOURCE = (
    "AWS Security Hub user guide, awsdocs/aws-security-hub-user-guide@bda5bf7d: "
    "doc_source/cloudtrail-controls.md, doc_source/cloudwatch-controls.md"
)
MIN_RETENTION_DAYS = 365  # CloudWatch.16: "retained for at least 1 year"
MARKDOWN_RESOURCES = 4  # per control in the Markdown table; the JSON lists them all


# ------------------------------------------------------------------------------------------ the assembly


@dataclass(frozen=True)
class Resource:
    stack: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    construct_path: str | None

    @property
    def ref(self) -> str:
        return f"{self.stack}/{self.logical_id}"


@dataclass
class Assembly:
    """A cloud assembly's stacks: templates, template paths, construct paths, cdk-nag acknowledgements."""

    directory: Path
    templates: dict[str, dict[str, Any]]
    template_paths: dict[str, Path]
    construct_paths: dict[tuple[str, str], str]  # (stack, logical id) -> construct path
    acknowledgements: dict[str, dict[str, str]]  # construct path -> {rule: reason}

    @classmethod
    def read(cls, directory: Path) -> Assembly:
        manifest = json.loads((directory / "manifest.json").read_text())
        templates: dict[str, dict[str, Any]] = {}
        paths: dict[str, Path] = {}
        construct_paths: dict[tuple[str, str], str] = {}
        acknowledgements: dict[str, dict[str, str]] = {}
        for name, artifact in manifest["artifacts"].items():
            if artifact["type"] != "aws:cloudformation:stack":
                continue
            paths[name] = directory / artifact["properties"]["templateFile"]
            templates[name] = json.loads(paths[name].read_text())
            metadata_file = artifact.get("additionalMetadataFile")
            metadata = json.loads((directory / metadata_file).read_text()) if metadata_file else {}
            metadata.update(artifact.get("metadata", {}))
            for path, entries in metadata.items():
                for entry in entries:
                    if entry["type"] == "aws:cdk:logicalId":
                        construct_paths[(name, entry["data"])] = path.lstrip("/")
                    elif entry["type"] == "aws:cdk:acknowledged-rules":
                        acknowledgements.setdefault(path.lstrip("/"), {}).update(
                            {rule.split("::", 1)[-1]: reason for rule, reason in entry["data"].items()}
                        )
        if not templates:
            raise ValueError(f"{directory} holds no CloudFormation stack (run `cdk synth` first)")
        return cls(directory, templates, paths, construct_paths, acknowledgements)

    def acknowledged(self, resource: Resource) -> dict[str, str]:
        """cdk-nag acknowledgements covering a resource: on its own construct or on an ancestor (an L2 whose
        default child it is)."""
        found: dict[str, str] = {}
        parts = (resource.construct_path or "").split("/")
        for end in range(1, len(parts) + 1):
            found.update(self.acknowledgements.get("/".join(parts[:end]), {}))
        return found

    def resources(self, resource_type: str) -> list[Resource]:
        return [
            Resource(
                stack,
                logical_id,
                resource_type,
                body.get("Properties", {}),
                self.construct_paths.get((stack, logical_id)),
            )
            for stack, template in self.templates.items()
            for logical_id, body in template.get("Resources", {}).items()
            if body["Type"] == resource_type
        ]

    def resource(self, stack: str, logical_id: str) -> Resource | None:
        body = self.templates.get(stack, {}).get("Resources", {}).get(logical_id)
        if body is None:
            return None
        return Resource(
            stack,
            logical_id,
            body["Type"],
            body.get("Properties", {}),
            self.construct_paths.get((stack, logical_id)),
        )

    def resolve(self, stack: str, value: Any) -> Resource | str | None:
        """The resource a property points at (Ref, Fn::GetAtt, a weak cross-stack reference), a literal
        name for something this assembly does not create, or None when the value is absent."""
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            if "Ref" in value:
                return self.resource(stack, value["Ref"]) or value["Ref"]
            if "Fn::GetAtt" in value:
                return self.resource(stack, value["Fn::GetAtt"][0])
            if "Fn::GetStackOutput" in value:
                output = value["Fn::GetStackOutput"]
                producer = output["StackName"]
                exported = self.templates.get(producer, {}).get("Outputs", {}).get(output["OutputName"], {})
                return self.resolve(producer, exported.get("Value"))
        return json.dumps(value)


# ------------------------------------------------------------------------------------------ evaluation


@dataclass
class Verdict:
    status: Status
    resources: list[Resource] = field(default_factory=list)
    detail: str = ""


def _trails(assembly: Assembly) -> list[Resource]:
    return assembly.resources("AWS::CloudTrail::Trail")


def _trail_verdict(
    assembly: Assembly, test: Callable[[Resource], bool], satisfied: str, missing: str
) -> Verdict:
    trails = _trails(assembly)
    passing = [trail for trail in trails if test(trail)]
    if passing:
        return Verdict("satisfied", passing, satisfied)
    return Verdict("not satisfied", trails, missing if trails else "no CloudTrail trail in the templates")


def _all_management_events(trail: Resource) -> bool:
    properties = trail.properties
    advanced = properties.get("AdvancedEventSelectors")
    if advanced:
        for selector in advanced:
            fields = {f["Field"]: f for f in selector.get("FieldSelectors", [])}
            category = fields.get("eventCategory", {}).get("Equals")
            if category == ["Management"] and set(fields) == {"eventCategory"}:
                return True
        return False
    for selector in properties.get("EventSelectors") or [{}]:
        if (
            selector.get("IncludeManagementEvents", True)
            and selector.get("ReadWriteType", "All") == "All"
            and not selector.get("ExcludeManagementEventSources")
        ):
            return True
    return False


def cloudtrail_1(assembly: Assembly) -> Verdict:
    return _trail_verdict(
        assembly,
        lambda t: (
            t.properties.get("IsMultiRegionTrail") is True
            and t.properties.get("IsLogging") is True
            and _all_management_events(t)
        ),
        "multi-Region, logging, read and write management events, no excluded event source",
        "no logging multi-Region trail records all read and write management events",
    )


def cloudtrail_2(assembly: Assembly) -> Verdict:
    return _trail_verdict(
        assembly,
        lambda t: bool(t.properties.get("KMSKeyId")),
        "KMSKeyId set (SSE-KMS)",
        "no trail sets KMSKeyId",
    )


def cloudtrail_3(assembly: Assembly) -> Verdict:
    return _trail_verdict(
        assembly, lambda t: t.properties.get("IsLogging") is True, "IsLogging true", "no trail is logging"
    )


def cloudtrail_4(assembly: Assembly) -> Verdict:
    return _trail_verdict(
        assembly,
        lambda t: t.properties.get("EnableLogFileValidation") is True,
        "EnableLogFileValidation true",
        "no trail enables log file validation",
    )


def cloudtrail_5(assembly: Assembly) -> Verdict:
    return _trail_verdict(
        assembly,
        lambda t: bool(t.properties.get("CloudWatchLogsLogGroupArn")),
        "CloudWatchLogsLogGroupArn set",
        "no trail delivers to CloudWatch Logs (CloudWatchLogsLogGroupArn empty)",
    )


def _trail_bucket(
    assembly: Assembly, test: Callable[[Resource], bool], satisfied: str, missing: str
) -> Verdict:
    trails = _trails(assembly)
    if not trails:
        return Verdict("not satisfied", [], "no CloudTrail trail in the templates")
    verdicts = []
    for trail in trails:
        bucket = assembly.resolve(trail.stack, trail.properties.get("S3BucketName"))
        if isinstance(bucket, Resource) and bucket.type == "AWS::S3::Bucket":
            verdicts.append(Verdict("satisfied" if test(bucket) else "not satisfied", [trail, bucket]))
        else:
            verdicts.append(
                Verdict(
                    "outside this baseline",
                    [trail],
                    f"the trail writes to bucket {bucket!r}, which this baseline does not create "
                    "(existingBucketName): its owner must configure it",
                )
            )
    for status in ("satisfied", "outside this baseline"):
        chosen = [v for v in verdicts if v.status == status]
        if chosen:
            detail = satisfied if status == "satisfied" else chosen[0].detail
            return Verdict(status, [r for v in chosen for r in v.resources], detail)
    return Verdict("not satisfied", [r for v in verdicts for r in v.resources], missing)


def cloudtrail_6(assembly: Assembly) -> Verdict:
    keys = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    return _trail_bucket(
        assembly,
        lambda b: all(b.properties.get("PublicAccessBlockConfiguration", {}).get(k) is True for k in keys),
        "the trail bucket blocks all public access (all four PublicAccessBlockConfiguration settings)",
        "the trail bucket does not block all public access",
    )


def cloudtrail_7(assembly: Assembly) -> Verdict:
    return _trail_bucket(
        assembly,
        lambda b: bool(b.properties.get("LoggingConfiguration", {}).get("DestinationBucketName")),
        "server access logging on the trail bucket (LoggingConfiguration.DestinationBucketName)",
        "the trail bucket has no server access logging",
    )


def _ref_of(assembly: Assembly, stack: str, value: Any) -> str:
    resolved = assembly.resolve(stack, value)
    return resolved.ref if isinstance(resolved, Resource) else str(resolved)


def cis_metric_filter(control: str) -> Callable[[Assembly], Verdict]:
    """CloudWatch.1-14 through the tests' Security Hub oracle, on resources resolved across stacks."""

    def evaluate(assembly: Assembly) -> Verdict:
        trail_groups = {
            _ref_of(assembly, t.stack, t.properties.get("CloudWatchLogsLogGroupArn"))
            for t in _trails(assembly)
        }
        filters = {resource.ref: resource for resource in assembly.resources("AWS::Logs::MetricFilter")}
        alarms = assembly.resources("AWS::CloudWatch::Alarm")
        subscribed = tuple(
            _ref_of(assembly, s.stack, s.properties.get("TopicArn"))
            for s in assembly.resources("AWS::SNS::Subscription")
        )
        passing: list[Resource] = []
        for trail_group in sorted(trail_groups):
            inventory = oracle.Inventory(
                trail_log_group=trail_group,
                filters=tuple(
                    oracle.Filter(
                        name=ref,  # the resource, so a passing filter leads back to it
                        pattern=f.properties["FilterPattern"],
                        log_group=_ref_of(assembly, f.stack, f.properties["LogGroupName"]),
                        namespace=f.properties["MetricTransformations"][0]["MetricNamespace"],
                        metric=f.properties["MetricTransformations"][0]["MetricName"],
                    )
                    for ref, f in filters.items()
                ),
                alarms=tuple(
                    {
                        **a.properties,
                        "AlarmActions": [
                            _ref_of(assembly, a.stack, x) for x in a.properties.get("AlarmActions", [])
                        ],
                        "_ref": a.ref,
                    }
                    for a in alarms
                ),
                topics_with_subscribers=subscribed,
            )
            for metric_filter in oracle.security_hub_passes(inventory, control):
                passing.append(filters[metric_filter.name])
                passing.extend(
                    next(a for a in alarms if a.ref == alarm["_ref"])
                    for alarm in inventory.alarms_on(metric_filter)
                )
        if passing:
            return Verdict(
                "satisfied",
                passing,
                "a metric filter with the exact CIS text on the trail's log group, an alarm on its metric, "
                "the alarm's action an SNS topic with a subscriber",
            )
        return Verdict(
            "not satisfied",
            [],
            "no metric filter with the exact CIS text on the trail's log group whose alarm notifies a "
            "subscribed SNS topic",
        )

    return evaluate


def _every(
    assembly: Assembly, resource_type: str, test: Callable[[Resource], bool], satisfied: str, failing: str
) -> Verdict:
    resources = assembly.resources(resource_type)
    offenders = [r for r in resources if not test(r)]
    if offenders:
        return Verdict("not satisfied", offenders, failing)
    if not resources:
        return Verdict("not satisfied", [], f"no {resource_type} in the templates")
    return Verdict("satisfied", resources, satisfied)


def cloudwatch_15(assembly: Assembly) -> Verdict:
    return _every(
        assembly,
        "AWS::CloudWatch::Alarm",
        lambda a: bool(a.properties.get("AlarmActions")),
        "every alarm of the baseline has an ALARM action",
        "alarms without an ALARM action",
    )


def cloudwatch_16(assembly: Assembly) -> Verdict:
    return _every(
        assembly,
        "AWS::Logs::LogGroup",
        lambda g: (
            g.properties.get("RetentionInDays") is None
            or g.properties["RetentionInDays"] >= MIN_RETENTION_DAYS
        ),
        f"every log group of the baseline keeps events for at least {MIN_RETENTION_DAYS} days",
        f"log groups retained for less than {MIN_RETENTION_DAYS} days",
    )


def cloudwatch_17(assembly: Assembly) -> Verdict:
    return _every(
        assembly,
        "AWS::CloudWatch::Alarm",
        lambda a: a.properties.get("ActionsEnabled", True) is not False,
        "no alarm of the baseline has its actions deactivated (ActionsEnabled not false)",
        "alarms with ActionsEnabled false",
    )


# ------------------------------------------------------------------------------------------ the controls


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    evaluate: Callable[[Assembly], Verdict]
    checkov: tuple[str, ...] = ()
    cdk_nag: tuple[str, ...] = ()
    limits: str = ""  # what a template cannot show about this control (printed with the verdict)
    rules_apply_to: str = "AWS::CloudTrail::Trail"  # the resource type the named checkov/cdk-nag rules judge


_CIS_TITLES = {
    1: 'A log metric filter and alarm should exist for usage of the "root" user',
    2: "Ensure a log metric filter and alarm exist for unauthorized API calls",
    3: "Ensure a log metric filter and alarm exist for Management Console sign-in without MFA",
    4: "Ensure a log metric filter and alarm exist for IAM policy changes",
    5: "Ensure a log metric filter and alarm exist for CloudTrail AWS Configuration changes",
    6: "Ensure a log metric filter and alarm exist for AWS Management Console authentication failures",
    7: (
        "Ensure a log metric filter and alarm exist for disabling or scheduled deletion of customer managed "
        "keys"
    ),
    8: "Ensure a log metric filter and alarm exist for S3 bucket policy changes",
    9: "Ensure a log metric filter and alarm exist for AWS Config configuration changes",
    10: "Ensure a log metric filter and alarm exist for security group changes",
    11: "Ensure a log metric filter and alarm exist for changes to Network Access Control Lists (NACL)",
    12: "Ensure a log metric filter and alarm exist for changes to network gateways",
    13: "Ensure a log metric filter and alarm exist for route table changes",
    14: "Ensure a log metric filter and alarm exist for VPC changes",
}
_CIS_LIMITS = (
    "answered in the account holding the trail's log group; Security Hub judges each account by its own "
    "trails, so member accounts of an organization trail are not covered by these filters (not verified "
    "against a live Security Hub)"
)
_ACCOUNT_WIDE = "Security Hub checks every resource of this type in the account, not only the baseline's"
_S3_PUBLIC = ("CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56")
_NIST = "NIST.800.53.R5-"

CONTROLS: tuple[Control, ...] = (
    Control(
        "CloudTrail.1",
        "CloudTrail should be enabled and configured with at least one multi-Region trail that includes read "
        "and write management events",
        cloudtrail_1,
        checkov=("CKV_AWS_67",),
    ),
    Control(
        "CloudTrail.2",
        "CloudTrail should have encryption at-rest enabled",
        cloudtrail_2,
        checkov=("CKV_AWS_35",),
        cdk_nag=(_NIST + "CloudTrailEncryptionEnabled",),
    ),
    Control("CloudTrail.3", "CloudTrail should be enabled", cloudtrail_3),
    Control(
        "CloudTrail.4",
        "CloudTrail log file validation should be enabled",
        cloudtrail_4,
        checkov=("CKV_AWS_36",),
        cdk_nag=(_NIST + "CloudTrailLogFileValidationEnabled",),
    ),
    Control(
        "CloudTrail.5",
        "CloudTrail trails should be integrated with Amazon CloudWatch Logs",
        cloudtrail_5,
        cdk_nag=(_NIST + "CloudTrailCloudWatchLogsEnabled",),
    ),
    Control(
        "CloudTrail.6",
        "Ensure the S3 bucket used to store CloudTrail logs is not publicly accessible",
        cloudtrail_6,
        rules_apply_to="AWS::S3::Bucket",
        checkov=_S3_PUBLIC,
        cdk_nag=(_NIST + "S3BucketLevelPublicAccessProhibited", _NIST + "S3BucketPublicReadProhibited"),
    ),
    Control(
        "CloudTrail.7",
        "Ensure S3 bucket access logging is enabled on the CloudTrail S3 bucket",
        cloudtrail_7,
        rules_apply_to="AWS::S3::Bucket",
        checkov=("CKV_AWS_18",),
        cdk_nag=("AwsSolutions-S1", _NIST + "S3BucketLoggingEnabled"),
    ),
    *(
        Control(f"CloudWatch.{n}", title, cis_metric_filter(f"CloudWatch.{n}"), limits=_CIS_LIMITS)
        for n, title in _CIS_TITLES.items()
    ),
    Control(
        "CloudWatch.15",
        "CloudWatch alarms should have an action configured for the ALARM state",
        cloudwatch_15,
        rules_apply_to="AWS::CloudWatch::Alarm",
        cdk_nag=(_NIST + "CloudWatchAlarmAction",),
        limits=_ACCOUNT_WIDE,
    ),
    Control(
        "CloudWatch.16",
        "CloudWatch log groups should be retained for at least 1 year",
        cloudwatch_16,
        rules_apply_to="AWS::Logs::LogGroup",
        checkov=("CKV_AWS_66",),
        cdk_nag=(_NIST + "CloudWatchLogGroupRetentionPeriod",),
        limits=_ACCOUNT_WIDE,
    ),
    Control(
        "CloudWatch.17", "CloudWatch alarm actions should be activated", cloudwatch_17, limits=_ACCOUNT_WIDE
    ),
)


# ------------------------------------------------------------------------------------------ the scanners


@dataclass
class ScannerRun:
    """What each scanner said about each resource ("Stack/LogicalId")."""

    cfn_lint: dict[str, list[str]] = field(default_factory=dict)  # resource -> "Rule: message"
    checkov: dict[str, dict[str, str]] = field(default_factory=dict)  # resource -> check id -> verdict
    cdk_nag_violations: dict[str, list[str]] = field(default_factory=dict)  # construct path -> rules
    cdk_nag_report: bool = False  # cdk.out holds the synth's policy validation report
    ran: tuple[str, ...] = ()


def run_scanners(assembly: Assembly) -> ScannerRun:
    run = ScannerRun()
    stacks_by_file = {path.resolve(): stack for stack, path in assembly.template_paths.items()}
    findings, _ = oracle.run_cfn_lint(assembly.template_paths.values())
    for finding in findings:
        stack = stacks_by_file.get(Path(finding["Filename"]).resolve(), "?")
        path = finding["Location"].get("Path") or []
        where = f"{stack}/{path[1]}" if len(path) > 1 and path[0] == "Resources" else f"{stack}/(template)"
        run.cfn_lint.setdefault(where, []).append(f"{finding['Rule']['Id']}: {finding['Message']}")
    ran = ["cfn-lint"]
    if oracle.CHECKOV.exists():
        for report in oracle.run_checkov(list(assembly.template_paths.values())):
            if report.get("check_type") != "cloudformation":
                continue
            results = report["results"]
            for verdict, key in (
                ("passed", "passed_checks"),
                ("failed", "failed_checks"),
                ("skipped", "skipped_checks"),
            ):
                for check in results[key]:
                    stack = stacks_by_file.get(Path(check["file_abs_path"]).resolve(), "?")
                    logical_id = check["resource"].split(".", 1)[-1]
                    text = verdict
                    if verdict == "skipped":
                        text += f" ({check.get('check_result', {}).get('suppress_comment', '')})"
                    run.checkov.setdefault(f"{stack}/{logical_id}", {})[check["check_id"]] = text
        ran.append("checkov")
    if read_cdk_nag(assembly, run):
        ran.append("cdk-nag")
    run.ran = tuple(ran)
    return run


def read_cdk_nag(assembly: Assembly, run: ScannerRun) -> bool:
    """cdk-nag runs on the construct tree at synth (app.py attaches both packs), not on templates: its
    verdicts come from the policy validation report the synth wrote into cdk.out, when asked to
    (`-c @aws-cdk/core:validationReportJson=true`, as `make compliance-report` does)."""
    report_file = assembly.directory / "policy-validation-report.json"
    if not report_file.exists():
        return False
    run.cdk_nag_report = True
    for plugin in json.loads(report_file.read_text()).get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for where in violation.get("violatingResources", []):
                run.cdk_nag_violations.setdefault(where["constructPath"], []).append(violation["ruleName"])
    return True


# ------------------------------------------------------------------------------------------ the report


def _scanner_verdicts(
    control: Control, resources: Iterable[Resource], assembly: Assembly, run: ScannerRun | None
) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    for resource in resources:
        entry: dict[str, Any] = {}
        judged = resource.type == control.rules_apply_to
        if run is not None:
            entry["cfn-lint"] = run.cfn_lint.get(resource.ref, []) or "no finding"
            if "checkov" in run.ran:
                checks = run.checkov.get(resource.ref, {})
                named = {c: checks.get(c, "not applied") for c in control.checkov} if judged else {}
                entry["checkov"] = named or (
                    f"{sum(v == 'passed' for v in checks.values())} passed, "
                    f"{sum(v == 'failed' for v in checks.values())} failed"
                )
        if control.cdk_nag and judged:
            acknowledged = assembly.acknowledged(resource)
            violations = run.cdk_nag_violations.get(resource.construct_path or "", []) if run else []
            entry["cdk-nag"] = {
                rule: (
                    "violation"
                    if rule in violations
                    else f"acknowledged: {acknowledged[rule]}"
                    if rule in acknowledged
                    else "no violation"
                    if run is not None and run.cdk_nag_report
                    else "not recorded (synthesize with -c @aws-cdk/core:validationReportJson=true)"
                )
                for rule in control.cdk_nag
            }
        if entry:
            verdicts[resource.ref] = entry
    return verdicts


def build_report(assembly: Assembly, *, scanners: bool = True) -> dict[str, Any]:
    run = run_scanners(assembly) if scanners else None
    controls = []
    for control in CONTROLS:
        verdict = control.evaluate(assembly)
        unique = list({r.ref: r for r in verdict.resources}.values())
        controls.append(
            {
                "id": control.id,
                "title": control.title,
                "status": verdict.status,
                "detail": verdict.detail,
                "limits": control.limits,
                "resources": [
                    {"resource": r.ref, "type": r.type, "constructPath": r.construct_path} for r in unique
                ],
                "scanners": _scanner_verdicts(control, unique, assembly, run),
            }
        )
    counts = {
        status: sum(c["status"] == status for c in controls)
        for status in ("satisfied", "not satisfied", "outside this baseline")
    }
    return {
        "source": SOURCE,
        "cdkOut": str(assembly.directory),
        "stacks": sorted(assembly.templates),
        "scannersRun": list(run.ran) if run else [],
        "summary": counts,
        "controls": controls,
    }


def render_markdown(report: Mapping[str, Any]) -> str:
    lines = [
        "# Compliance report",
        "",
        "Generated by `make compliance-report` from the synthesized templates; do not edit by hand.",
        f"Controls and titles: {report['source']}.",
        f"Stacks: {', '.join(report['stacks'])}. Scanners run: {', '.join(report['scannersRun']) or 'none'}.",
        "",
        "Scope: the resources in these templates. Security Hub evaluates CloudWatch.15-17 and CloudTrail.1/3 "
        "over the whole account, so other stacks' alarms and log groups can still fail them there.",
        "",
        "| Summary | Controls |",
        "|---|---|",
        *(f"| {status} | {count} |" for status, count in report["summary"].items()),
        "",
        "| Control | Title | Status | Satisfied by | Why |",
        "|---|---|---|---|---|",
    ]
    for control in report["controls"]:
        names = [f"`{r['resource']}`" for r in control["resources"]]
        if len(names) > MARKDOWN_RESOURCES:
            names = [*names[:MARKDOWN_RESOURCES], f"and {len(names) - MARKDOWN_RESOURCES} more (JSON report)"]
        resources = "<br>".join(names) or "-"
        status = f"**{control['status']}**"
        why = control["detail"] + (f" (limit: {control['limits']})" if control["limits"] else "")
        lines.append(f"| {control['id']} | {control['title']} | {status} | {resources} | {why} |")
    lines += ["", "## Scanner verdicts on those resources", ""]
    for control in report["controls"]:
        if not control["scanners"]:
            continue
        lines.append(f"### {control['id']}")
        for resource, verdicts in control["scanners"].items():
            lines.append(
                f"- `{resource}`: " + "; ".join(f"{name}: {_flat(v)}" for name, v in verdicts.items())
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _flat(value: Any) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, list):
        return " / ".join(map(str, value))
    return str(value)


def write_report(cdk_out: Path, output: Path, *, scanners: bool = True) -> dict[str, Any]:
    report = build_report(Assembly.read(cdk_out), scanners=scanners)
    output.mkdir(parents=True, exist_ok=True)
    (output / "compliance-report.json").write_text(json.dumps(report, indent=2) + "\n")
    (output / "compliance-report.md").write_text(render_markdown(report))
    return report


__all__ = ["CONTROLS", "Assembly", "Control", "Verdict", "build_report", "render_markdown", "write_report"]
