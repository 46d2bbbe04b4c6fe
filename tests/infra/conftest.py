"""Shared infra fixtures: the whole app, synthesized ONCE per test session, in-process, as `cdk synth` would.

The app gets the context of cdk.json (feature flags and the "baseline" defaults), so the templates the
scanners read are the ones the CLI produces. cdk-nag runs on the same construct tree via ``validate_scope``
(cdk-nag v3 reports there, not through annotations); the plugins are not attached here so that a finding
fails the compliance test that lists it instead of erroring every test at synth.

Besides the default configuration, ``deployable_app`` synthesizes the VARIANTS below (once each per session)
so the scanners also judge the templates of the opt-in features users switch on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api

from stacks import build_app, nag_packs
from stacks.alerting_stack import AlertingStack
from stacks.config import BaselineConfig
from stacks.trail_stack import AuditTrailStack
from tests.infra.alarms_harness import SynthesizedAlerting, alerting_of, cdk_json_context

#: Wall times measured during the session, printed in the terminal summary (never asserted).
TIMINGS: dict[str, float] = {}


@dataclass
class SynthesizedApp:
    app: cdk.App
    config: BaselineConfig
    trail_stack: AuditTrailStack
    alerting_stack: AlertingStack
    assembly: cx_api.CloudAssembly
    outdir: Path
    nag_reports: dict[str, Any] = field(default_factory=dict)  # pack name -> PolicyValidationPluginReport
    configuration: str = "default"  # "default" (cdk.json as shipped) or a key of VARIANTS

    @property
    def template_paths(self) -> dict[str, Path]:
        """Stack name -> synthesized template file, for every stack in the cloud assembly."""
        return {stack.stack_name: Path(stack.template_full_path) for stack in self.assembly.stacks}


#: Non-default configurations (the "baseline" object of cdk.json) that, together, switch on every opt-in
#: setting that changes the resources: what users deploy once they enable the features they bought.
#: test_compliance_scanners.py checks that every setting that is off by default is on in one of them.
VARIANTS: dict[str, dict[str, Any]] = {
    # Our own bucket and key with every feature on: data events of all three kinds, both Insights types (so
    # the Insights detection too), an organization trail, Object Lock, alert and health subscribers, a
    # suppression, an alarm override, a user rules folder and a switched-off built-in.
    "everything-on": {
        "detections": {"rulesDir": "examples/rules", "disabled": ["ssm-shell-command-sent"]},
        "dataEvents": {
            "s3Buckets": ["arn:aws:s3:::payments-data", "arn:aws:s3:::exports/reports/"],
            "lambdaFunctions": "all",
            "dynamodbTables": ["arn:aws:dynamodb:eu-west-1:111122223333:table/orders"],
        },
        "insights": {"apiCallRate": True, "apiErrorRate": True},
        "organizationTrail": True,
        "organizationId": "o-a1b2c3d4e5",
        "objectLock": {"mode": "COMPLIANCE", "days": 400},
        "alarms": {"overrides": {"root-account-usage": {"periodSeconds": 300, "toleratedDelayMinutes": 5}}},
        "alertEmails": ["secops@example.com"],
        "health": {
            "emails": ["platform@example.com"],
            "httpsEndpoints": ["https://hooks.example.com/health"],
        },
        "suppressions": [
            {
                "detection": "console-signin-without-mfa",
                "eventName": "ConsoleLogin",
                "expires": "2099-01-31",
                "reason": "break-glass drill account, reviewed quarterly",
            }
        ],
    },
    # Bring your own: an existing trail bucket and KMS key (no key, buckets or bucket policy created), a
    # stack bound to its home region, S3 data events for "all" buckets (the existing one excluded) and a
    # routing-key secret named by ARN, encrypted with a customer-managed key.
    "existing-bucket-and-key": {
        "homeRegion": "eu-west-1",
        "existingKmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "existingBucketName": "org-audit-logs",
        "dataEvents": {
            "s3Buckets": "all",
            "lambdaFunctions": ["arn:aws:lambda:eu-west-1:111122223333:function:payments"],
        },
        "pagerduty": {
            "routingKeySecretName": (
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:pagerduty/routing-key-AbCdEf"
            ),
            "routingKeySecretKmsKeyArn": (
                "arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
            ),
        },
        # The deploy-role stack trusting GitHub's OIDC provider that already exists in the deploy account.
        "rollout": {
            "githubRepository": "acme/security-baseline",
            "deployAccount": "111122223333",
            "existingOidcProviderArn": (
                "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
            ),
            "targets": [{"name": "prod-eu", "account": "111122223333", "region": "eu-west-1"}],
        },
    },
    # Rolled out from CI: the deploy-role stack creating GitHub's OIDC provider, two targets in two
    # accounts, and the organization settings (validated; the StackSet using them is not built yet).
    "ci-rollout": {
        "organizationId": "o-a1b2c3d4e5",
        "rollout": {
            "githubRepository": "acme/security-baseline",
            "deployAccount": "111122223333",
            "cdkQualifier": "secbase",
            "targets": [
                {"name": "staging", "account": "222233334444", "region": "eu-west-1"},
                {
                    "name": "prod",
                    "account": "333344445555",
                    "region": "us-east-1",
                    "environment": "production",
                },
            ],
            "organization": {
                "centralAccount": "333344445555",
                "managementAccount": "999988887777",
                "memberOrganizationalUnits": ["ou-ab12-cd34ef56"],
                "memberAccounts": ["444455556666"],
                "regions": ["eu-west-1", "us-east-1"],
            },
        },
    },
    # The real-time fast path with a home region: the default configuration already has the per-detection
    # EventBridge rules (in the alerting stack's own region); a home region adds one forwarding stack per
    # other region, scanned here for a second region (every forwarding stack is the same template but for
    # its region).
    "fast-path": {
        "homeRegion": "eu-west-1",
        "fastPath": {"enabled": True, "regions": ["eu-west-1", "us-east-1"]},
    },
}


def synthesize(
    outdir: Path, *, configuration: str = "default", baseline: Mapping[str, Any] | None = None
) -> SynthesizedApp:
    """Build and synthesize the whole app as `cdk synth` would: cdk.json's context, ``baseline`` replacing
    its "baseline" object when given. Records the synth and cdk-nag wall times under ``configuration``."""
    context = cdk_json_context()
    if baseline is not None:
        context["baseline"] = dict(baseline)
    label = "the whole app (once per session)" if configuration == "default" else f"variant {configuration}"
    started = time.perf_counter()
    app = cdk.App(outdir=str(outdir), context=context)
    config = BaselineConfig.from_context(app.node)
    trail_stack, alerting_stack = build_app(app, config)
    assembly = app.synth()
    TIMINGS[f"in-process synth of {label}"] = time.perf_counter() - started

    started = time.perf_counter()
    reports = {pack.read_pack_name: pack.validate_scope(app) for pack in nag_packs(app)}
    TIMINGS[f"cdk-nag AwsSolutions + NIST 800-53 R5 (validate_scope), {configuration}"] = (
        time.perf_counter() - started
    )
    return SynthesizedApp(
        app, config, trail_stack, alerting_stack, assembly, outdir, reports, configuration=configuration
    )


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    yield synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session", params=["default", *VARIANTS])
def deployable_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SynthesizedApp:
    """The default app, then each variant: synthesized once per session (pytest groups the tests by it)."""
    name: str = request.param
    if name == "default":
        app: SynthesizedApp = request.getfixturevalue("synthesized_app")
        return app
    return synthesized_variant(name, tmp_path_factory)


_VARIANT_APPS: dict[str, SynthesizedApp] = {}


def synthesized_variant(name: str, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """VARIANTS[name] synthesized once per session, shared by the scanners and the feature's own tests."""
    if name not in _VARIANT_APPS:
        # "<name>.cdk.out<n>": the directory name ends in ".out<n>" as the default's does. checkov's
        # CKV_AWS_45 reads the template path as if it were a Lambda environment value; a run of exactly 40
        # characters from [A-Za-z0-9/+=] before ".template.json" (e.g. "<15 letters>0/SecurityBaseline
        # Alerting") looks to it like an AWS secret access key and fails the forwarder.
        _VARIANT_APPS[name] = synthesize(
            tmp_path_factory.mktemp(f"{name}.cdk.out"), configuration=name, baseline=VARIANTS[name]
        )
    return _VARIANT_APPS[name]


@pytest.fixture(scope="session")
def fast_path_app(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    """The "fast-path" variant (the same synthesis the scanners judge)."""
    return synthesized_variant("fast-path", tmp_path_factory)


@pytest.fixture(scope="session")
def variants() -> dict[str, dict[str, Any]]:
    """VARIANTS, for tests that check what the variants cover (conftest is not imported as a module)."""
    return VARIANTS


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """cdk.json's context (feature flags!) for tests that build their own App: same behaviour as the CLI."""
    return cdk_json_context()


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    """Record a wall time (seconds) under a label; printed in the terminal summary, never asserted."""
    return TIMINGS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("infra timings (seconds)")
        for label, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:7.2f}  {label}")


@pytest.fixture(scope="module")
def synthesized(synthesized_app: SynthesizedApp) -> SynthesizedAlerting:
    """The alerting stack of ``synthesized_app``, viewed with the alarms harness's helpers."""
    return alerting_of(synthesized_app)
