"""The compliance report is generated from cdk.out and cannot pass by construction: each control flips to
"not satisfied" when the resource that satisfies it is removed or broken in the templates, and the scanners'
verdicts in the report flip with it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from compliance.oracle import CHECKOV, SECURITY_HUB_PATTERNS
from compliance.report import CONTROLS, Assembly, ScannerRun, build_report, read_cdk_nag

if TYPE_CHECKING:  # the fixtures themselves come from conftest.py
    from tests.infra.conftest import SynthesizedApp

REPO = Path(__file__).resolve().parents[2]
TRAIL, ALERTING = "SecurityBaselineTrail", "SecurityBaselineAlerting"
CONTROL_IDS = [f"CloudTrail.{n}" for n in range(1, 8)] + [f"CloudWatch.{n}" for n in range(1, 18)]
Templates = dict[str, dict[str, Any]]


def _statuses(report: dict[str, Any]) -> dict[str, str]:
    return {control["id"]: control["status"] for control in report["controls"]}


def _copy(cdk_out: Path, destination: Path) -> Path:
    shutil.copytree(cdk_out, destination, ignore=shutil.ignore_patterns("asset.*"))
    return destination


def _templates(cdk_out: Path) -> Templates:
    return {
        stack: json.loads((cdk_out / f"{stack}.template.json").read_text()) for stack in (TRAIL, ALERTING)
    }


def _save(cdk_out: Path, templates: Templates) -> None:
    for stack, template in templates.items():
        (cdk_out / f"{stack}.template.json").write_text(json.dumps(template))


def _of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def _properties(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = _of_type(template, resource_type).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _trail_bucket(templates: Templates) -> dict[str, Any]:
    logical_id = _properties(templates[TRAIL], "AWS::CloudTrail::Trail")["S3BucketName"]["Ref"]
    properties: dict[str, Any] = templates[TRAIL]["Resources"][logical_id]["Properties"]
    return properties


def _cis_filter(templates: Templates, control: str) -> str:
    (logical_id,) = [
        k
        for k, r in _of_type(templates[ALERTING], "AWS::Logs::MetricFilter").items()
        if r["Properties"]["FilterPattern"] == SECURITY_HUB_PATTERNS[control]
    ]
    return logical_id


def _alarm_on(templates: Templates, filter_id: str) -> dict[str, Any]:
    metric = templates[ALERTING]["Resources"][filter_id]["Properties"]["MetricTransformations"][0][
        "MetricName"
    ]
    (alarm,) = [
        r["Properties"]
        for r in _of_type(templates[ALERTING], "AWS::CloudWatch::Alarm").values()
        if r["Properties"].get("MetricName") == metric
    ]
    return alarm


def _delete_subscriptions(templates: Templates) -> None:
    for logical_id in _of_type(templates[ALERTING], "AWS::SNS::Subscription"):
        del templates[ALERTING]["Resources"][logical_id]


def _first_alarm(templates: Templates) -> dict[str, Any]:
    properties: dict[str, Any] = next(iter(_of_type(templates[ALERTING], "AWS::CloudWatch::Alarm").values()))[
        "Properties"
    ]
    return properties


# (what breaks, how, the controls that must then fail - exactly these)
BREAKAGES: list[tuple[str, Callable[[Templates], None], set[str]]] = [
    (
        "single-region trail",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").update(IsMultiRegionTrail=False),
        {"CloudTrail.1"},
    ),
    (
        "read-only management events",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").update(
            EventSelectors=[{"IncludeManagementEvents": True, "ReadWriteType": "ReadOnly"}]
        ),
        {"CloudTrail.1"},
    ),
    (
        "trail without its KMS key",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").pop("KMSKeyId"),
        {"CloudTrail.2"},
    ),
    (
        "trail not logging",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").update(IsLogging=False),
        {"CloudTrail.1", "CloudTrail.3"},
    ),
    (
        "log file validation off",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").update(EnableLogFileValidation=False),
        {"CloudTrail.4"},
    ),
    (
        "trail not delivering to CloudWatch Logs",
        lambda t: _properties(t[TRAIL], "AWS::CloudTrail::Trail").pop("CloudWatchLogsLogGroupArn"),
        # Without the trail's log group no CIS filter sits on it: CloudWatch.1-14 fall with CloudTrail.5.
        {"CloudTrail.5", *(f"CloudWatch.{n}" for n in range(1, 15))},
    ),
    (
        "trail bucket allows public policies",
        lambda t: _trail_bucket(t)["PublicAccessBlockConfiguration"].update(BlockPublicPolicy=False),
        {"CloudTrail.6"},
    ),
    (
        "trail bucket without access logging",
        lambda t: _trail_bucket(t).pop("LoggingConfiguration"),
        {"CloudTrail.7"},
    ),
    (
        "root-usage filter deleted",
        lambda t: t[ALERTING]["Resources"].pop(_cis_filter(t, "CloudWatch.1")),
        {"CloudWatch.1"},
    ),
    (
        "IAM policy filter text no longer the exact CIS text",
        lambda t: t[ALERTING]["Resources"][_cis_filter(t, "CloudWatch.4")]["Properties"].update(
            FilterPattern=SECURITY_HUB_PATTERNS["CloudWatch.4"].replace("||", " || ", 1)
        ),
        {"CloudWatch.4"},
    ),
    (
        "S3 policy alarm without an action",
        lambda t: _alarm_on(t, _cis_filter(t, "CloudWatch.8")).pop("AlarmActions"),
        {"CloudWatch.8", "CloudWatch.15"},
    ),
    (
        "no subscriber on the alert topic",
        _delete_subscriptions,
        {f"CloudWatch.{n}" for n in range(1, 15)},
    ),
    (
        "a log group kept 30 days",
        lambda t: _properties(t[TRAIL], "AWS::Logs::LogGroup").update(RetentionInDays=30),
        {"CloudWatch.16"},
    ),
    (
        "an alarm with its actions deactivated",
        lambda t: _first_alarm(t).update(ActionsEnabled=False),
        {"CloudWatch.17"},
    ),
]


@pytest.fixture(scope="module")
def default_report(synthesized_app: SynthesizedApp) -> dict[str, Any]:
    return build_report(Assembly.read(synthesized_app.outdir), scanners=False)


def test_the_report_covers_cloudtrail_1_to_7_and_cloudwatch_1_to_17(default_report: dict[str, Any]) -> None:
    assert [control["id"] for control in default_report["controls"]] == CONTROL_IDS
    assert [control.id for control in CONTROLS] == CONTROL_IDS


def test_the_default_baseline_satisfies_every_control_with_named_resources(
    default_report: dict[str, Any],
) -> None:
    assert _statuses(default_report) == dict.fromkeys(CONTROL_IDS, "satisfied")
    by_id = {control["id"]: control for control in default_report["controls"]}
    assert [r["type"] for r in by_id["CloudTrail.2"]["resources"]] == ["AWS::CloudTrail::Trail"]
    assert [r["type"] for r in by_id["CloudTrail.7"]["resources"]] == [
        "AWS::CloudTrail::Trail",
        "AWS::S3::Bucket",
    ]
    # CloudWatch.1: the filter with the exact CIS text and the one alarm on its metric
    assert [r["type"] for r in by_id["CloudWatch.1"]["resources"]] == [
        "AWS::Logs::MetricFilter",
        "AWS::CloudWatch::Alarm",
    ]
    assert by_id["CloudWatch.1"]["resources"][0]["constructPath"].startswith(f"{ALERTING}/DetectionAlarms/")
    assert default_report["summary"] == {"satisfied": 24, "not satisfied": 0, "outside this baseline": 0}


@pytest.mark.parametrize(("breakage", "damage", "failing"), BREAKAGES, ids=[b[0] for b in BREAKAGES])
def test_a_control_flips_when_its_resource_is_broken(
    synthesized_app: SynthesizedApp,
    tmp_path: Path,
    breakage: str,
    damage: Callable[[Templates], None],
    failing: set[str],
) -> None:
    # Given the synthesized cloud assembly with one resource removed or broken
    cdk_out = _copy(synthesized_app.outdir, tmp_path / "cdk.out")
    templates = _templates(cdk_out)
    damage(templates)
    _save(cdk_out, templates)
    # When the report is generated from it, Then exactly the controls that resource answered fail
    statuses = _statuses(build_report(Assembly.read(cdk_out), scanners=False))
    assert {control for control, status in statuses.items() if status != "satisfied"} == failing, breakage
    assert all(statuses[control] == "not satisfied" for control in failing)


def test_a_bucket_the_baseline_does_not_create_is_outside_it_not_satisfied(
    synthesized_app: SynthesizedApp, tmp_path: Path
) -> None:
    # existingBucketName: the trail names a bucket this baseline does not own.
    cdk_out = _copy(synthesized_app.outdir, tmp_path / "cdk.out")
    templates = _templates(cdk_out)
    _properties(templates[TRAIL], "AWS::CloudTrail::Trail")["S3BucketName"] = "org-audit-logs"
    _save(cdk_out, templates)
    report = build_report(Assembly.read(cdk_out), scanners=False)
    statuses = _statuses(report)
    assert statuses["CloudTrail.6"] == statuses["CloudTrail.7"] == "outside this baseline"
    (control,) = [c for c in report["controls"] if c["id"] == "CloudTrail.6"]
    assert "'org-audit-logs'" in control["detail"] and "existingBucketName" in control["detail"]


@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov venv missing ({CHECKOV}); `make setup` creates it")
def test_the_scanner_verdicts_come_from_real_runs_and_flip_with_the_template(
    synthesized_app: SynthesizedApp, tmp_path: Path
) -> None:
    def encryption_verdicts(cdk_out: Path) -> dict[str, Any]:
        report = build_report(Assembly.read(cdk_out), scanners=True)
        assert report["scannersRun"] == ["cfn-lint", "checkov"]
        (control,) = [c for c in report["controls"] if c["id"] == "CloudTrail.2"]
        (verdicts,) = control["scanners"].values() if control["scanners"] else [{}]
        return {"status": control["status"], **verdicts}

    healthy = encryption_verdicts(synthesized_app.outdir)
    assert healthy["status"] == "satisfied"
    assert healthy["checkov"] == {"CKV_AWS_35": "passed"} and healthy["cfn-lint"] == "no finding"

    broken_out = _copy(synthesized_app.outdir, tmp_path / "cdk.out")
    templates = _templates(broken_out)
    trail = _properties(templates[TRAIL], "AWS::CloudTrail::Trail")
    trail.pop("KMSKeyId")
    trail["IsMultiRegionTrail"] = "maybe"  # a type error cfn-lint reports on the same resource
    _save(broken_out, templates)
    report = build_report(Assembly.read(broken_out), scanners=True)
    by_id = {c["id"]: c for c in report["controls"]}
    assert by_id["CloudTrail.2"]["status"] == "not satisfied"
    (trail_verdicts,) = by_id["CloudTrail.2"]["scanners"].values()
    assert trail_verdicts["checkov"] == {"CKV_AWS_35": "failed"}
    assert any(line.startswith("E3012") for line in trail_verdicts["cfn-lint"]), trail_verdicts["cfn-lint"]


def test_cdk_nag_verdicts_are_read_from_the_synths_validation_report(
    synthesized_app: SynthesizedApp, tmp_path: Path
) -> None:
    cdk_out = _copy(synthesized_app.outdir, tmp_path / "cdk.out")
    assembly = Assembly.read(cdk_out)
    (trail,) = assembly.resources("AWS::CloudTrail::Trail")
    # Without the report, the report says so instead of claiming a pass.
    assert read_cdk_nag(assembly, ScannerRun()) is False
    # With the report cdk.out holds after a synth with a violation (the shape CDK writes)
    violation = {
        "ruleName": "NIST.800.53.R5-CloudTrailEncryptionEnabled",
        "violatingResources": [{"constructPath": trail.construct_path, "locations": ["Properties"]}],
    }
    report = {"title": "Validation Report", "pluginReports": [{"summary": {}, "violations": [violation]}]}
    (cdk_out / "policy-validation-report.json").write_text(json.dumps(report))
    run = ScannerRun()
    assert read_cdk_nag(assembly, run) is True
    assert run.cdk_nag_violations == {trail.construct_path: ["NIST.800.53.R5-CloudTrailEncryptionEnabled"]}


def test_acknowledgements_in_cdk_out_appear_with_their_reasons(synthesized_app: SynthesizedApp) -> None:
    assembly = Assembly.read(synthesized_app.outdir)
    acknowledged = {rule for rules in assembly.acknowledgements.values() for rule in rules}
    assert "NIST.800.53.R5-S3BucketReplicationEnabled" in acknowledged
    assert all(len(reason) > 40 for rules in assembly.acknowledgements.values() for reason in rules.values())
    # An acknowledgement on an L2 construct covers the CloudFormation resource below it.
    buckets = [
        b for b in assembly.resources("AWS::S3::Bucket") if "AuditTrail/Bucket/" in (b.construct_path or "")
    ]
    (bucket,) = buckets
    assert bucket.construct_path not in assembly.acknowledgements
    assert "NIST.800.53.R5-S3BucketReplicationEnabled" in assembly.acknowledged(bucket)


def test_the_cli_writes_markdown_and_json(synthesized_app: SynthesizedApp, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "compliance",
            "--cdk-out",
            str(synthesized_app.outdir),
            "--output",
            str(tmp_path),
            "--no-scanners",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "compliance-report.json").read_text())
    markdown = (tmp_path / "compliance-report.md").read_text()
    assert [c["id"] for c in report["controls"]] == CONTROL_IDS
    for control in report["controls"]:
        assert f"| {control['id']} | {control['title']} | **{control['status']}** |" in markdown
    assert "24 satisfied" in result.stdout
