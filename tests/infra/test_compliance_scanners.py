"""The real scanners an auditor runs - cfn-lint, checkov, cdk-nag - on EVERY stack build_app creates.

Zero errors, zero warnings, zero failed checks, zero unacknowledged findings; every skip or acknowledgement
carries a written reason. Each failing test lists every finding, so the fix starts from the message.

Users judge the baseline by the configuration they deploy, so the scanners run on the default configuration
AND on each variant of conftest.VARIANTS (opt-in features switched on): ``deployable_app`` is parametrized
over them, each synthesized once per session, each scanned with one cfn-lint and one checkov call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from stacks import (
    ALERTING_STACK_ID,
    DEPLOY_ROLE_STACK_ID,
    FAST_PATH_STACK_ID_PREFIX,
    TRAIL_STACK_ID,
    add_compliance_checks,
    build_app,
    nag_packs,
)
from stacks.config import DEFAULTS, BaselineConfig
from stacks.constructs import compliance
from tests.infra.least_privilege import wildcard_grants

if TYPE_CHECKING:  # the fixtures themselves come from conftest.py
    from tests.infra.conftest import SynthesizedApp

REPO = Path(__file__).resolve().parents[2]

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
CFN_LINT = Path(sys.executable).parent / "cfn-lint"  # installed in the same venv as pytest
MIN_REASON_LENGTH = 40  # a reason an auditor can act on, not "n/a"
MIN_CHECKOV_PASSES_PER_TEMPLATE = 10  # the smallest template (trail on an existing bucket and key) passes 20


def test_every_stack_of_build_app_is_in_the_assembly(deployable_app: SynthesizedApp) -> None:
    # Given the app as build_app creates it in this configuration, Then the scanners below see every stack:
    # the trail, the alerting stack, with the fast path and a home region one forwarding stack per other
    # region (none without a home region: synth warns instead), and the deploy-role stack when a GitHub
    # repository is configured.
    config = deployable_app.config
    forwarding = {f"{FAST_PATH_STACK_ID_PREFIX}{r}" for r in config.fast_path_forwarding_regions}
    assert bool(forwarding) == (
        config.fast_path.enabled
        and any(r != config.home_region for r in config.fast_path.regions)
        and config.home_region is not None
    )
    expected = {TRAIL_STACK_ID, ALERTING_STACK_ID, *forwarding}
    if deployable_app.config.rollout.deploy_role_enabled:
        expected.add(DEPLOY_ROLE_STACK_ID)
    assert set(deployable_app.template_paths) == expected
    assert all(path.is_file() for path in deployable_app.template_paths.values())


def _settings_off_by_default(defaults: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every setting whose default is off: null, false, an empty list or object."""
    for key, value in defaults.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _settings_off_by_default(value, f"{path}.")
        elif value is None or value is False or value in ([], {}):
            yield path


def _setting(raw: Mapping[str, Any], dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(raw, Mapping) or key not in raw:
            return None
        raw = raw[key]
    return raw


def test_the_scanned_variants_switch_on_every_setting_that_is_off_by_default(
    variants: dict[str, dict[str, Any]],
) -> None:
    # Given every opt-in setting (off by default: null, false, empty) of the configuration
    opt_in = list(_settings_off_by_default(DEFAULTS))
    assert "dataEvents.dynamodbTables" in opt_in and "existingKmsKeyArn" in opt_in  # the walk finds them
    # Then at least one variant the scanners judge switches it on: a new opt-in feature is scanned too.
    not_scanned = [path for path in opt_in if not any(_setting(v, path) for v in variants.values())]
    assert not not_scanned, (
        f"opt-in settings no scanned variant switches on (add them to VARIANTS in conftest.py): {not_scanned}"
    )


# ---------------------------------------------------------------------------------------------- cfn-lint


def _cfn_lint(templates: Iterable[Path]) -> tuple[list[dict[str, Any]], subprocess.CompletedProcess[str]]:
    """All templates in one cfn-lint run (its start-up costs more than a template)."""
    result = subprocess.run(
        [str(CFN_LINT), "--format", "json", *map(str, templates)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,  # picks up a .cfnlintrc (suppressions with reasons) if one is ever needed
    )
    assert result.stdout.strip(), f"cfn-lint printed nothing on stdout; stderr: {result.stderr}"
    return json.loads(result.stdout), result


def _cfn_lint_listing(findings: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {f['Rule']['Id']} {Path(f['Filename']).name}:{f['Location']['Start']['LineNumber']} "
        f"{'/'.join(map(str, f['Location'].get('Path') or []))}: {f['Message']}"
        for f in findings
    )


def test_cfn_lint_reports_no_error_and_no_warning(
    deployable_app: SynthesizedApp, timings: dict[str, float]
) -> None:
    # Given every template of one deployable configuration, When cfn-lint checks them in one run
    started = time.perf_counter()
    findings, result = _cfn_lint(deployable_app.template_paths.values())
    timings[f"cfn-lint, all templates, {deployable_app.configuration}"] = time.perf_counter() - started
    # Then it reports nothing: no error and no warning (what cfn-lint reports by default).
    assert findings == [], (
        f"cfn-lint found {len(findings)} problem(s) in {deployable_app.configuration}:\n"
        f"{_cfn_lint_listing(findings)}"
    )
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------------------------- checkov


def _checkov(templates: list[Path]) -> list[dict[str, Any]]:
    args = [str(CHECKOV), "--framework", "cloudformation", "--output", "json", "--skip-download", "--compact"]
    for template in templates:
        args += ["--file", str(template)]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_OUTPUT_TRUNCATION": "TRUE"}
    result = subprocess.run(args, capture_output=True, text=True, check=False, env=env, cwd=REPO)
    assert result.stdout.strip(), (
        f"checkov printed nothing; exit {result.returncode}; stderr: {result.stderr[-2000:]}"
    )
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def _checkov_listing(checks: Iterable[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {c['check_id']} {Path(c['file_path']).name} {c['resource']}: {c['check_name']}" for c in checks
    )


@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov venv missing ({CHECKOV}); `make setup` creates it")
def test_checkov_reports_no_failed_check_and_every_skip_has_a_reason(
    deployable_app: SynthesizedApp, timings: dict[str, float]
) -> None:
    # Given every template of one deployable configuration, When checkov scans them in one run
    templates = list(deployable_app.template_paths.values())
    started = time.perf_counter()
    reports = _checkov(templates)
    timings[f"checkov, all templates, {deployable_app.configuration}"] = time.perf_counter() - started

    results = [report["results"] for report in reports if report.get("check_type") == "cloudformation"]
    assert results, f"checkov returned no cloudformation report: {reports!r:.2000}"
    failed = [check for result in results for check in result["failed_checks"]]
    passed = [check for result in results for check in result["passed_checks"]]
    skipped = [check for result in results for check in result["skipped_checks"]]
    # Then no check fails
    assert not failed, (
        f"checkov failed {len(failed)} check(s) in {deployable_app.configuration}:\n"
        f"{_checkov_listing(failed)}"
    )
    # A scan that checked nothing, or skipped a template, would also have no failures.
    passes = {template.resolve(): 0 for template in templates}
    for check in passed:
        path = Path(check["file_abs_path"]).resolve()
        passes[path] = passes.get(path, 0) + 1
    too_few = {path.name: count for path, count in passes.items() if count < MIN_CHECKOV_PASSES_PER_TEMPLATE}
    assert not too_few, f"checkov passed too few checks - did it scan these templates? {too_few}"
    # And every skip carries a reason an auditor can act on
    unexplained = [
        f"  {c['check_id']} {c['resource']}: {c.get('check_result', {}).get('suppress_comment')!r}"
        for c in skipped
        if len(str(c.get("check_result", {}).get("suppress_comment") or "")) < MIN_REASON_LENGTH
    ]
    assert not unexplained, "checkov skips without a written reason:\n" + "\n".join(unexplained)
    # And answers a finding: a skip checkov never applied (a check that does not run on CloudFormation, or
    # that passes anyway) would show an auditor a reason for a finding that does not exist.
    applied = {(c["check_id"], c["resource"]) for c in skipped}
    stale = sorted(_checkov_skips_in(templates) - applied)
    assert not stale, f"checkov skips that suppress nothing (remove them): {stale}"


def _checkov_skips_in(templates: Iterable[Path]) -> set[tuple[str, str]]:
    """(check id, "Type.LogicalId") for every skip written into the templates' resource metadata."""
    skips = set()
    for template in templates:
        for logical_id, resource in json.loads(template.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                skips.add((skip["id"], f"{resource['Type']}.{logical_id}"))
    return skips


# ------------------------------------------------------------------------------------- least privilege

ACCOUNT_ROOT = {
    "AWS": {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"]]
    }
}


def test_no_policy_of_any_stack_allows_a_wildcard_action(deployable_app: SynthesizedApp) -> None:
    # Given every template build_app synthesizes (identity, key, bucket, topic and queue policies)
    offenders = {
        stack: wildcard_grants(json.loads(path.read_text()))
        for stack, path in deployable_app.template_paths.items()
    }
    # Then no Allow names a wildcard action, only the documented account-root key statement does.
    assert offenders == {stack: [] for stack in offenders}


def test_the_wildcard_check_flags_a_documented_but_wildcard_key_grant() -> None:
    # The SNS guide writes kms:GenerateDataKey* for publishers; the check must not let that through.
    template = {
        "Resources": {
            "TopicKey": {
                "Type": "AWS::KMS::Key",
                "Properties": {
                    "KeyPolicy": {
                        "Statement": [
                            {
                                "Action": "kms:*",
                                "Effect": "Allow",
                                "Principal": ACCOUNT_ROOT,
                                "Resource": "*",
                            },
                            {
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Resource": "*",
                            },
                        ]
                    }
                },
            },
            "Role": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "PolicyDocument": {"Statement": [{"Action": "kms:*", "Effect": "Allow", "Resource": "*"}]}
                },
            },
        }
    }
    assert wildcard_grants(template) == ["TopicKey: kms:GenerateDataKey*", "Role: kms:*"]


def test_the_wildcard_check_exempts_only_this_accounts_root_key_statement() -> None:
    # Given kms:* key statements for the account root as CDK writes it with and without a homeRegion
    # (literal or Ref partition), and for another account's root
    def key(*arn_parts: Any) -> dict[str, Any]:
        root = {"AWS": {"Fn::Join": ["", list(arn_parts)]}}
        statement = {"Action": "kms:*", "Effect": "Allow", "Principal": root, "Resource": "*"}
        return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [statement]}}}

    account = {"Ref": "AWS::AccountId"}
    template = {
        "Resources": {
            "RefPartition": key("arn:", {"Ref": "AWS::Partition"}, ":iam::", account, ":root"),
            "LiteralPartition": key("arn:aws:iam::", account, ":root"),
            "ChinaPartition": key("arn:aws-cn:iam::", account, ":root"),
            "OtherAccount": key("arn:aws:iam::111122223333:root"),
            "RoleInThisAccount": key("arn:aws:iam::", account, ":role/admin"),
        }
    }
    # Then only the other account's root and the role are flagged
    assert wildcard_grants(template) == ["OtherAccount: kms:*", "RoleInThisAccount: kms:*"]


# ----------------------------------------------------------------------------------------------- cdk-nag


def test_cdk_nag_packs_report_no_unacknowledged_finding(deployable_app: SynthesizedApp) -> None:
    # Given the construct tree of one deployable configuration, checked by both packs (conftest)
    reports = deployable_app.nag_reports
    assert set(reports) == {"AwsSolutions", "NIST.800.53.R5"}
    lines = [
        f"  {name}: {violation.rule_name} on {resource.construct_path}: {violation.description[:160]}"
        for name, report in reports.items()
        for violation in report.violations
        for resource in violation.violating_resources
    ]
    assert not lines, (
        f"{len(lines)} unacknowledged cdk-nag finding(s) (fix them, or acknowledge per resource and rule "
        "with Validations.of(construct).acknowledge(Acknowledgment(id=..., reason=...))):\n"
        + "\n".join(lines)
    )
    assert all(report.success for report in reports.values())


def _acknowledgements(root: IConstruct) -> list[tuple[str, str, str]]:
    found = []
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == key and entry.data:
                for rule_id, reason in dict(entry.data).items():
                    found.append((construct.node.path, str(rule_id), str(reason)))
    return found


def test_every_cdk_nag_acknowledgement_is_per_resource_with_a_reason(deployable_app: SynthesizedApp) -> None:
    acknowledgements = _acknowledgements(deployable_app.app)
    assert acknowledgements, "expected the documented acknowledgements (e.g. the forwarder's X-Ray grant)"
    by_path = {construct.node.path: construct for construct in deployable_app.app.node.find_all()}
    # On one resource (an L1, or an L2 whose default child is the resource), never on a stack or on one of
    # our composite constructs, where it would cover every resource below it.
    not_a_resource = [
        (path, rule)
        for path, rule, _ in acknowledgements
        if not isinstance(by_path[path], cdk.CfnResource)
        and not isinstance(by_path[path].node.default_child, cdk.CfnResource)
    ]
    assert not not_a_resource, f"acknowledge on the resource, not on a stack or construct: {not_a_resource}"
    # One rule (optionally one finding of it, e.g. IAM5[Resource::*]), never a pattern over rules.
    rule_patterns = [(path, rule) for path, rule, _ in acknowledgements if "*" in rule.split("[", 1)[0]]
    assert not rule_patterns, f"acknowledge one rule at a time: {rule_patterns}"
    unexplained = [a for a in acknowledgements if len(a[2].strip()) < MIN_REASON_LENGTH]
    assert not unexplained, f"acknowledgements without a real reason: {unexplained}"


def test_every_cdk_nag_acknowledgement_answers_a_real_finding(
    monkeypatch: pytest.MonkeyPatch, cdk_context: dict[str, Any]
) -> None:
    # Given the app built with every acknowledgement recorded instead of applied
    recorded: list[tuple[str, str]] = []

    def recording_validations(construct: IConstruct) -> SimpleNamespace:
        return SimpleNamespace(acknowledge=lambda ack: recorded.append((construct.node.path, ack.id)))

    monkeypatch.setattr(compliance, "Validations", SimpleNamespace(of=recording_validations))
    app = cdk.App(context=cdk_context)
    build_app(app, BaselineConfig.from_context(app.node))
    # When the packs check it
    findings = {
        (resource.construct_path, violation.rule_name)
        for pack in nag_packs(app)
        for violation in pack.validate_scope(app).violations
        for resource in violation.violating_resources
    }
    # Then each acknowledgement matches a finding on its construct or below it: none suppresses nothing.
    assert recorded
    stale = [
        (path, rule)
        for path, rule in recorded
        if not any(
            rule == found_rule and f"{found_path}/".startswith(f"{path}/")
            for found_path, found_rule in findings
        )
    ]
    assert not stale, f"acknowledgements without a finding (remove them): {stale}"


def test_cdk_nag_can_fail_an_insecure_bucket() -> None:
    # Given a bucket with none of the baseline's hardening, When the same packs check it,
    # Then they report it: the clean result above is not a scanner that checks nothing.
    app = cdk.App()
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Bucket")
    rules = {
        violation.rule_name for pack in nag_packs(app) for violation in pack.validate_scope(app).violations
    }
    assert {"AwsSolutions-S1", "AwsSolutions-S10", "NIST.800.53.R5-S3BucketVersioningEnabled"} <= rules


def test_add_compliance_checks_makes_synth_fail_on_a_finding(tmp_path: Path) -> None:
    # app.py attaches the packs with add_compliance_checks; a finding must then stop `cdk synth`.
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Insecure")
    s3.Bucket(stack, "Bucket")
    add_compliance_checks(app)
    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-S1\b"):
        app.synth()


def test_app_py_holds_the_real_entry_point_to_the_packs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given app.py's main() with build_app swapped for one insecure bucket, When it synthesizes,
    # Then cdk-nag (attached by app.py itself) stops the synth: `cdk synth` cannot skip the packs.
    import app as entry_point
    import stacks

    def insecure_app(app: cdk.App, config: object, target: object = None) -> None:
        s3.Bucket(cdk.Stack(app, "Insecure"), "Bucket")

    monkeypatch.setattr(stacks, "build_app", insecure_app)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    with pytest.raises(
        RuntimeError, match=r"ValidationFailed(.|\n)*NIST\.800\.53\.R5-S3BucketVersioningEnabled"
    ):
        entry_point.main()
