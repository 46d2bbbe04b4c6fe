"""The one typed, validated configuration of the baseline, read once in app.py and passed down.

Source: the ``baseline`` object in cdk.json context, then ``-c baseline.<dotted.key>=<value>`` overrides (the
value is parsed as JSON when it parses, else taken as a string). Every problem raises :class:`ConfigError`
naming the key path, the bad value and what is allowed, so a bad setting fails ``cdk synth``, not a page
at 3 a.m.

Pure Python (no CDK import): the stacks read the dataclasses; tests build them directly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

from detections.alarm_window import (
    DEFAULT_EPISODE_SECONDS,
    DEFAULT_TOLERATED_DELAY_MINUTES,
    MAX_EVALUATION_WINDOW_SECONDS,
    MIN_TOLERATED_DELAY_MINUTES,
    evaluation_periods_for_delay,
)
from detections.deployment import select_detections
from detections.naming import DEFAULT_ALARM_NAME_PREFIX, DEFAULT_NAMESPACE
from detections.rule import Detection
from detections.rule_files import load_rules
from detections.suppressions import Suppression, parse_suppressions, suppressions_json
from lambdas.forwarder import environment as forwarder_env

CONTEXT_KEY = "baseline"

#: The only retention values CloudWatch Logs accepts (PutRetentionPolicy), in days.
CLOUDWATCH_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


_PARTITION = r"aws(?:-[a-z]+)*"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
_ACCOUNT = r"\d{12}"
_BUCKET_NAME = r"(?!xn--)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
_S3_BUCKET_ARN = re.compile(rf"^arn:{_PARTITION}:s3:::(?P<bucket>[^/]+)(?:/(?P<prefix>.*))?$")
_LAMBDA_ARN = re.compile(
    rf"^arn:{_PARTITION}:lambda:{_REGION}:{_ACCOUNT}:function:[A-Za-z0-9_-]{{1,64}}(?::[A-Za-z0-9$_-]{{1,128}})?$"
)
_DYNAMODB_TABLE_ARN = re.compile(
    rf"^arn:{_PARTITION}:dynamodb:{_REGION}:{_ACCOUNT}:table/[A-Za-z0-9_.-]{{3,255}}$"
)
_KMS_KEY_ID_TEXT = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
_KMS_KEY_ARN = re.compile(rf"^arn:{_PARTITION}:kms:{_REGION}:{_ACCOUNT}:key/{_KMS_KEY_ID_TEXT}$")
_KMS_ALIAS_ARN = re.compile(rf"^arn:{_PARTITION}:kms:[^:]*:[^:]*:alias/")
_KMS_KEY_ID = re.compile(rf"^{_KMS_KEY_ID_TEXT}$")
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_TRAIL_NAME = re.compile(r"^(?![\d.]+$)[A-Za-z0-9](?:[A-Za-z0-9._-]{1,126})[A-Za-z0-9]$")
_TRAIL_NAME_ADJACENT = re.compile(r"[._-]{2}")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_NAMESPACE = re.compile(r"^(?!AWS/)[A-Za-z0-9.\-_/#:]{1,255}$")
_ALARM_PREFIX = re.compile(r"^[A-Za-z0-9._\-/:]{0,100}$")
_SECRET_NAME = re.compile(
    rf"^(?:[A-Za-z0-9/_+=.@-]{{1,512}}|arn:{_PARTITION}:secretsmanager:{_REGION}:{_ACCOUNT}:secret:.+)$"
)


class ConfigError(ValueError):
    """A configuration value is not acceptable. ``str(error)`` is the whole, user-facing message."""

    def __init__(self, path: str, value: object, allowed: str) -> None:
        self.path = path
        self.value = value
        self.allowed = allowed
        super().__init__(f"{path}: {_show(value)} is not allowed; {allowed}")


def _show(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


# --------------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class LifecycleSettings:
    transition_to_glacier_days: int = 90
    expiration_days: int = 2555  # 7 years: a common retention for audit evidence


@dataclass(frozen=True)
class ObjectLockSettings:
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    days: int = 365


@dataclass(frozen=True)
class DataEventSettings:
    """S3/Lambda: "all" or a tuple of ARNs; DynamoDB: a tuple of table ARNs. All empty = no data events."""

    s3_buckets: Literal["all"] | tuple[str, ...] = ()
    lambda_functions: Literal["all"] | tuple[str, ...] = ()
    dynamodb_tables: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.s3_buckets or self.lambda_functions or self.dynamodb_tables)


@dataclass(frozen=True)
class InsightsSettings:
    api_call_rate: bool = False
    api_error_rate: bool = False


@dataclass(frozen=True)
class DetectionSettings:
    """Which detections are on: the built-ins, plus the user's own rule files, minus the switched-off ids."""

    #: The user's rules folder as written in cdk.json (relative to the project folder), or None.
    rules_dir: str | None = None
    disabled: tuple[str, ...] = ()
    #: The rules loaded (and validated) from ``rules_dir``, sorted by id.
    user_rules: tuple[Detection, ...] = ()


@dataclass(frozen=True)
class AlarmOverride:
    period_seconds: int | None = None
    tolerated_delay_minutes: int | None = None


@dataclass(frozen=True)
class AlarmSettings:
    namespace: str = DEFAULT_NAMESPACE
    name_prefix: str = DEFAULT_ALARM_NAME_PREFIX
    period_seconds: int = 60
    # How late a CloudTrail record may reach the log group and still page (see detections/alarm_window.py).
    tolerated_delay_minutes: int = DEFAULT_TOLERATED_DELAY_MINUTES
    overrides: Mapping[str, AlarmOverride] = field(default_factory=dict)


@dataclass(frozen=True)
class HealthSettings:
    emails: tuple[str, ...] = ()
    https_endpoints: tuple[str, ...] = ()
    trail_silence_minutes: int = 60


@dataclass(frozen=True)
class PagerDutySettings:
    routing_key_secret_name: str = forwarder_env.DEFAULT_ROUTING_KEY_SECRET_NAME
    events_url: str = "https://events.pagerduty.com/v2/enqueue"
    # The customer-managed key encrypting the secret; None: the secret uses aws/secretsmanager.
    routing_key_secret_kms_key_arn: str | None = None


@dataclass(frozen=True)
class ForwarderSettings:
    reserved_concurrency: int = 5
    timeout_seconds: int = 60
    memory_mb: int = 512


#: The regions every new AWS account has enabled (those launched before 20 March 2019; later ones are opt-in):
#: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html
DEFAULT_ENABLED_REGIONS: tuple[str, ...] = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
    "eu-central-1", "eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1",
    "ap-south-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
)  # fmt: skip


@dataclass(frozen=True)
class FastPathSettings:
    """EventBridge rules paging within seconds of the API call (see detections/fast_path.py).

    ``regions``: every region whose CloudTrail events must reach the home region's rules; the home region
    itself may be listed and gets the per-detection rules, every other region one forwarding stack.
    """

    enabled: bool = True
    regions: tuple[str, ...] = DEFAULT_ENABLED_REGIONS


# ------------------------------------------------------------------------------ rollout from CI (issue 16)


@dataclass(frozen=True)
class DeploymentTarget:
    """One account + region the pipeline deploys the baseline to, gated by a GitHub environment."""

    name: str
    account: str
    region: str
    environment: str


@dataclass(frozen=True)
class OrganizationRolloutSettings:
    """Where the fast path reaches across an organization: validated here, consumed by the StackSet.

    ``central_account`` holds the trail and the alerting stack (and the bus the members forward to); the
    StackSet targets ``member_organizational_units`` in every region of ``regions``. StackSets never deploy
    to the management account, and a StackSet resource reaches accounts only through their OU: those and
    ``member_accounts`` get regional stacks of their own (``accounts_outside_the_stack_set``).
    """

    central_account: str | None = None
    management_account: str | None = None
    member_organizational_units: tuple[str, ...] = ()
    member_accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.central_account is not None

    @property
    def accounts_outside_the_stack_set(self) -> tuple[str, ...]:
        """Accounts that get regional forwarding stacks of their own: the management account (StackSets never
        deploy there) unless it is the central account, and ``member_accounts`` (a StackSet resource reaches
        accounts only through their OU; list here only accounts outside ``member_organizational_units``)."""
        management = self.management_account
        outside = () if management is None or management == self.central_account else (management,)
        return (*outside, *self.member_accounts)


@dataclass(frozen=True)
class RolloutSettings:
    """GitHub Actions OIDC deploy role and the ordered deployment targets the workflows read."""

    github_repository: str | None = None
    deploy_account: str | None = None
    existing_oidc_provider_arn: str | None = None
    cdk_qualifier: str = "hnb659fds"
    deploy_role_name: str = "security-baseline-github-deploy"
    diff_role_name: str = "security-baseline-github-diff"
    targets: tuple[DeploymentTarget, ...] = ()
    organization: OrganizationRolloutSettings = OrganizationRolloutSettings()

    @property
    def deploy_role_enabled(self) -> bool:
        return self.github_repository is not None

    def target_named(self, name: str) -> DeploymentTarget:
        for target in self.targets:
            if target.name == name:
                return target
        raise ConfigError(
            ROLLOUT_TARGET_CONTEXT_KEY,
            name,
            "expected the name of one of baseline.rollout.targets: "
            + (", ".join(target.name for target in self.targets) or "(none configured)"),
        )


#: Athena's smallest BytesScannedCutoffPerQuery (10 MB).
ATHENA_MIN_BYTES_SCANNED_CUTOFF = 10_000_000


@dataclass(frozen=True)
class AthenaSettings:
    """The opt-in backtest table and workgroup (README, Backtest). Names live in detections/athena.py."""

    enabled: bool = False
    #: The workgroup cancels any query past this many bytes scanned ($5 per TB: 1 TB caps a query at $5).
    bytes_scanned_cutoff_per_query: int = 1_000_000_000_000
    results_expiration_days: int = 30
    #: First day (yyyy/MM/dd) the table's date projection knows; days before it cannot be queried.
    projection_start_date: str = "2024/01/01"
    regions: tuple[str, ...] = DEFAULT_ENABLED_REGIONS
    #: Account ids of the projection; empty: this account only (an organization trail must list them).
    accounts: tuple[str, ...] = ()


@dataclass(frozen=True)
class BaselineConfig:
    trail_name: str = "security-baseline"
    home_region: str | None = None  # None: environment-agnostic (region decided at deploy time)
    log_retention_days: int = 365
    lifecycle: LifecycleSettings = LifecycleSettings()
    object_lock: ObjectLockSettings | None = None
    data_events: DataEventSettings = DataEventSettings()
    insights: InsightsSettings = InsightsSettings()
    organization_trail: bool = False
    organization_id: str | None = None
    existing_kms_key_arn: str | None = None
    existing_bucket_name: str | None = None
    alarms: AlarmSettings = AlarmSettings()
    alert_emails: tuple[str, ...] = ()
    health: HealthSettings = HealthSettings()
    pagerduty: PagerDutySettings = PagerDutySettings()
    forwarder: ForwarderSettings = ForwarderSettings()
    suppressions: tuple[Suppression, ...] = ()
    fast_path: FastPathSettings = FastPathSettings()
    detections: DetectionSettings = DetectionSettings()
    rollout: RolloutSettings = RolloutSettings()

    athena: AthenaSettings = AthenaSettings()

    @property
    def fast_path_forwarding_regions(self) -> tuple[str, ...]:
        """The regions that get a forwarding stack: every fast-path region but the home region (none without
        a home region: a forwarding stack needs the home bus's ARN)."""
        if not self.fast_path.enabled or self.home_region is None:
            return ()
        return tuple(region for region in self.fast_path.regions if region != self.home_region)

    @property
    def fast_path_uncovered_regions(self) -> tuple[str, ...]:
        """With the fast path on but no home region, the configured regions no forwarding stack covers (the
        stack's own region, unknown at synth, has the per-detection rules): synth warns about them."""
        if not self.fast_path.enabled or self.home_region is not None:
            return ()
        return self.fast_path.regions

    @property
    def log_group_name(self) -> str:
        return f"/aws/cloudtrail/{self.trail_name}"

    @property
    def features(self) -> frozenset[str]:
        """What a rule's ``requires`` may name that this deployment has."""
        insights = self.insights.api_call_rate or self.insights.api_error_rate
        return frozenset({"insights"} if insights else ())

    @property
    def detections_in_use(self) -> tuple[Detection, ...]:
        """Built-ins and user rules, minus ``disabled``, minus those whose ``requires`` is not met; by id."""
        from detections.catalogue import CATALOGUE

        return select_detections(
            CATALOGUE, self.detections.user_rules, self.detections.disabled, self.features
        )

    @property
    def disabled_compliance_detections(self) -> tuple[Detection, ...]:
        """Switched-off detections that carry compliance controls (their controls then fail)."""
        from detections.catalogue import CATALOGUE

        every = (*CATALOGUE, *self.detections.user_rules)
        return tuple(d for d in every if d.id in self.detections.disabled and d.controls)

    @classmethod
    def from_context(cls, node: Any) -> BaselineConfig:
        """Read ``baseline`` and every ``baseline.<dotted.key>`` override from a construct node's context."""
        raw = node.try_get_context(CONTEXT_KEY)
        if raw is None:
            raw = {}
        if isinstance(raw, str):  # `-c baseline='{...}'` arrives as a string
            raw = _parse_cli_value(raw)
        prefix = CONTEXT_KEY + "."
        overrides = {
            key[len(prefix) :]: value
            for key, value in node.get_all_context().items()
            if isinstance(key, str) and key.startswith(prefix)
        }
        return cls.from_mapping(raw, overrides)

    @classmethod
    def from_mapping(
        cls, raw: Mapping[str, Any], overrides: Mapping[str, Any] | None = None
    ) -> BaselineConfig:
        """Defaults <- ``raw`` (the cdk.json object) <- ``overrides`` (dotted key -> value), then validate."""
        if not isinstance(raw, Mapping):
            raise ConfigError(CONTEXT_KEY, raw, "expected an object of settings (see README, Configuration)")
        merged = copy.deepcopy(DEFAULTS)
        _merge(merged, raw, CONTEXT_KEY)
        for dotted, value in sorted((overrides or {}).items()):
            _apply_override(merged, dotted, value)
        return _build(merged)


#: Every key with its default, in the camelCase spelling of cdk.json. cdk.json repeats this object verbatim.
DEFAULTS: dict[str, Any] = {
    "trailName": "security-baseline",
    "homeRegion": None,
    "logRetentionDays": 365,
    "lifecycle": {"transitionToGlacierDays": 90, "expirationDays": 2555},
    "objectLock": None,
    "dataEvents": {"s3Buckets": [], "lambdaFunctions": [], "dynamodbTables": []},
    "insights": {"apiCallRate": False, "apiErrorRate": False},
    "organizationTrail": False,
    "organizationId": None,
    "existingKmsKeyArn": None,
    "existingBucketName": None,
    "alarms": {
        "namespace": DEFAULT_NAMESPACE,
        "namePrefix": DEFAULT_ALARM_NAME_PREFIX,
        "periodSeconds": 60,
        "toleratedDelayMinutes": DEFAULT_TOLERATED_DELAY_MINUTES,
        "overrides": {},
    },
    "alertEmails": [],
    "health": {"emails": [], "httpsEndpoints": [], "trailSilenceMinutes": 60},
    "pagerduty": {
        "routingKeySecretName": forwarder_env.DEFAULT_ROUTING_KEY_SECRET_NAME,
        "eventsUrl": "https://events.pagerduty.com/v2/enqueue",
        "routingKeySecretKmsKeyArn": None,
    },
    "forwarder": {"reservedConcurrency": 5, "timeoutSeconds": 60, "memoryMb": 512},
    "suppressions": [],
    "fastPath": {"enabled": True, "regions": list(DEFAULT_ENABLED_REGIONS)},
    "detections": {"rulesDir": None, "disabled": []},
    "rollout": {
        "githubRepository": None,
        "deployAccount": None,
        "existingOidcProviderArn": None,
        "cdkQualifier": "hnb659fds",
        "deployRoleName": "security-baseline-github-deploy",
        "diffRoleName": "security-baseline-github-diff",
        "targets": [],
        "organization": {
            "centralAccount": None,
            "managementAccount": None,
            "memberOrganizationalUnits": [],
            "memberAccounts": [],
            "regions": [],
        },
    },
    "athena": {
        "enabled": False,
        "bytesScannedCutoffPerQuery": 1_000_000_000_000,
        "resultsExpirationDays": 30,
        "projectionStartDate": "2024/01/01",
        "regions": list(DEFAULT_ENABLED_REGIONS),
        "accounts": [],
    },
}

#: Sections whose value may be null (off) or an object with these keys.
_OPTIONAL_SECTIONS: dict[str, dict[str, Any]] = {"objectLock": {"mode": "GOVERNANCE", "days": 365}}
#: Sections whose keys are free (validated later), with the shape of each value.
_FREE_KEYED: dict[str, dict[str, Any]] = {
    "alarms.overrides": {"periodSeconds": None, "toleratedDelayMinutes": None}
}
#: Keys that were replaced: using the old name fails with the new one (relative key name -> replacement).
_REPLACED_KEYS: dict[str, str] = {
    "evaluationPeriods": "toleratedDelayMinutes (minutes of CloudTrail delivery delay to tolerate; "
    "EvaluationPeriods is derived from it and periodSeconds, with DatapointsToAlarm 1)",
}


# ------------------------------------------------------------------------------------------- merge + override


def _parse_cli_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _allowed_keys(template: Mapping[str, Any]) -> str:
    return "allowed keys: " + ", ".join(sorted(template))


def _merge(target: dict[str, Any], source: Mapping[str, Any], path: str) -> None:
    """Deep-merge ``source`` into ``target`` (which holds the defaults), refusing keys the defaults lack."""
    relative = path[len(CONTEXT_KEY) + 1 :]
    free_template = _FREE_KEYED.get(relative)
    for key, value in source.items():
        key_path = f"{path}.{key}"
        if free_template is not None:
            if not isinstance(value, Mapping):
                raise ConfigError(key_path, value, f"expected an object with {_allowed_keys(free_template)}")
            entry = dict(free_template)
            _merge(entry, value, key_path)
            target[key] = entry
            continue
        if key not in target and key in _REPLACED_KEYS and path.startswith(_path("alarms")):
            raise ConfigError(key_path, value, f"this key was replaced by {_REPLACED_KEYS[key]}")
        if key not in target:
            raise ConfigError(
                path + "." + str(key), value, f"unknown key under {path}; {_allowed_keys(target)}"
            )
        current = target[key]
        sub_relative = key_path[len(CONTEXT_KEY) + 1 :]
        if sub_relative in _OPTIONAL_SECTIONS and isinstance(value, Mapping):
            current = dict(_OPTIONAL_SECTIONS[sub_relative]) if current is None else current
            _merge(current, value, key_path)
            target[key] = current
        elif isinstance(current, dict) and isinstance(value, Mapping):
            _merge(current, value, key_path)
        elif isinstance(current, dict) and sub_relative not in _FREE_KEYED:
            raise ConfigError(key_path, value, f"expected an object with {_allowed_keys(current)}")
        else:
            target[key] = copy.deepcopy(value)


def _apply_override(merged: dict[str, Any], dotted: str, value: Any) -> None:
    """Apply ``-c baseline.a.b=value`` by merging {"a": {"b": value}}, so unknown keys fail the same way."""
    parts = dotted.split(".")
    if not all(parts):
        raise ConfigError(
            f"{CONTEXT_KEY}.{dotted}",
            value,
            "the key path has an empty segment; use e.g. alarms.periodSeconds",
        )
    nested: Any = _parse_cli_value(value)
    for part in reversed(parts):
        nested = {part: nested}
    _merge(merged, nested, CONTEXT_KEY)


# ----------------------------------------------------------------------------------------------- validation

T = TypeVar("T")


def _path(*parts: str) -> str:
    return ".".join((CONTEXT_KEY, *parts))


def _int(value: Any, path: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    # bool is an int subclass in Python; `true` is never a number of days.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(path, value, f"expected a whole number{_range(minimum, maximum)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ConfigError(path, value, f"expected a whole number{_range(minimum, maximum)}")
    return value


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    return ""


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(path, value, "expected true or false")
    return value


def _str(value: Any, path: str, pattern: re.Pattern[str] | None = None, allowed: str = "a string") -> str:
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise ConfigError(path, value, f"expected {allowed}")
    return value


def _optional(value: Any, path: str, parse: Callable[[Any, str], T]) -> T | None:
    return None if value is None else parse(value, path)


def _list(value: Any, path: str, item: Callable[[Any, str], T], what: str) -> tuple[T, ...]:
    if not isinstance(value, list):
        raise ConfigError(path, value, f"expected a JSON array of {what}")
    return tuple(item(entry, f"{path}[{index}]") for index, entry in enumerate(value))


def _all_or_list(
    value: Any, path: str, item: Callable[[Any, str], str], what: str
) -> Literal["all"] | tuple[str, ...]:
    if value == "all":
        return "all"
    if not isinstance(value, list):
        raise ConfigError(path, value, f'expected "all" or a JSON array of {what} ([] for none)')
    return _list(value, path, item, what)


def _s3_bucket_arn(value: Any, path: str) -> str:
    allowed = "an S3 bucket ARN such as 'arn:aws:s3:::my-bucket' or 'arn:aws:s3:::my-bucket/prefix/'"
    match = _S3_BUCKET_ARN.match(value) if isinstance(value, str) else None
    if match is None or not re.fullmatch(_BUCKET_NAME, match["bucket"]):
        raise ConfigError(path, value, f"expected {allowed}")
    return value


def _lambda_arn(value: Any, path: str) -> str:
    return _str(
        value,
        path,
        _LAMBDA_ARN,
        "a Lambda function ARN such as 'arn:aws:lambda:eu-west-1:123456789012:function:my-function'",
    )


def _dynamodb_arn(value: Any, path: str) -> str:
    return _str(
        value,
        path,
        _DYNAMODB_TABLE_ARN,
        "a DynamoDB table ARN such as 'arn:aws:dynamodb:eu-west-1:123456789012:table/my-table'",
    )


def _email(value: Any, path: str) -> str:
    return _str(value, path, _EMAIL, "an email address such as 'secops@example.com'")


def _https_url(value: Any, path: str) -> str:
    parsed = urlparse(value) if isinstance(value, str) else None
    if parsed is None or parsed.scheme != "https" or not parsed.hostname:
        raise ConfigError(
            path, value, "expected an https:// URL such as 'https://events.pagerduty.com/integration/...'"
        )
    return value


def _alarm_period(value: Any, path: str) -> int:
    period = _int(value, path, minimum=1)
    if period not in (10, 30) and period % 60 != 0:
        raise ConfigError(
            path, value, "expected 10, 30 or a multiple of 60 seconds (CloudWatch alarm periods)"
        )
    return period


def _tolerated_delay(value: Any, path: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < MIN_TOLERATED_DELAY_MINUTES:
        raise ConfigError(
            path,
            value,
            f"expected a whole number of minutes, at least {MIN_TOLERATED_DELAY_MINUTES} (CloudTrail's "
            "documented average delivery delay); measure your trail's delay with the README's Logs "
            "Insights query and set it above the maximum you see",
        )
    return value


def _evaluation_window(period: int, delay_minutes: int, path: str) -> None:
    evaluations = evaluation_periods_for_delay(delay_minutes * 60, period)
    if period * evaluations > MAX_EVALUATION_WINDOW_SECONDS:
        # The window is about delay + one period, so a longer period does not make room for a longer delay.
        largest = (MAX_EVALUATION_WINDOW_SECONDS - period) // 60
        raise ConfigError(
            path,
            delay_minutes,
            f"the alarm window periodSeconds x EvaluationPeriods must be at most "
            f"{MAX_EVALUATION_WINDOW_SECONDS} s (one day, a CloudWatch limit); {delay_minutes} minutes at "
            f"{period} s needs {evaluations} periods = {period * evaluations} s. At {period} s the "
            f"largest toleratedDelayMinutes is {largest}",
        )


def _build(raw: Mapping[str, Any]) -> BaselineConfig:
    trail_name = _str(
        raw["trailName"],
        _path("trailName"),
        _TRAIL_NAME,
        "3-128 letters, digits, '.', '_' or '-', starting and ending with a letter or digit "
        "(CloudTrail trail name)",
    )
    if _TRAIL_NAME_ADJACENT.search(trail_name):
        raise ConfigError(
            _path("trailName"),
            trail_name,
            "a CloudTrail name may not contain '..', '_-', '--' and similar pairs",
        )

    home_region = _optional(
        raw["homeRegion"],
        _path("homeRegion"),
        lambda v, p: _region(v, p, or_else="or null (environment-agnostic)"),
    )

    retention = raw["logRetentionDays"]
    if isinstance(retention, bool) or retention not in CLOUDWATCH_RETENTION_DAYS:
        raise ConfigError(
            _path("logRetentionDays"),
            retention,
            "CloudWatch Logs accepts only "
            + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
            + " (days); 365 or more is "
            "recommended (Security Hub CloudWatch.16)",
        )

    lifecycle_raw = raw["lifecycle"]
    lifecycle = LifecycleSettings(
        transition_to_glacier_days=_int(
            lifecycle_raw["transitionToGlacierDays"], _path("lifecycle", "transitionToGlacierDays"), minimum=1
        ),
        expiration_days=_int(
            lifecycle_raw["expirationDays"], _path("lifecycle", "expirationDays"), minimum=1
        ),
    )
    if lifecycle.transition_to_glacier_days >= lifecycle.expiration_days:
        raise ConfigError(
            _path("lifecycle", "transitionToGlacierDays"),
            lifecycle.transition_to_glacier_days,
            f"it must be less than lifecycle.expirationDays ({lifecycle.expiration_days}), "
            "or objects expire before "
            "they ever reach Glacier",
        )

    existing_bucket_name = _optional(
        raw["existingBucketName"],
        _path("existingBucketName"),
        lambda v, p: _str(
            v,
            p,
            re.compile(rf"^{_BUCKET_NAME}$"),
            "an S3 bucket name (3-63 lower-case letters, digits, '.', '-'), or null",
        ),
    )
    existing_kms_key_arn = _optional(
        raw["existingKmsKeyArn"],
        _path("existingKmsKeyArn"),
        lambda v, p: _str(
            v,
            p,
            _KMS_KEY_ARN,
            "a KMS key ARN such as "
            "'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' "
            "(not an alias), or null",
        ),
    )

    if existing_kms_key_arn is not None and home_region is not None:
        key_region = existing_kms_key_arn.split(":")[3]
        if key_region != home_region:
            raise ConfigError(
                _path("existingKmsKeyArn"),
                existing_kms_key_arn,
                f"the key is in {key_region} but homeRegion is {home_region}; CloudTrail, its bucket and its "
                "log group can only use a KMS key of their own region: reuse a key from "
                f"{home_region} or set existingKmsKeyArn=null",
            )

    object_lock = _object_lock(raw["objectLock"], existing_bucket_name, lifecycle)

    data_raw = raw["dataEvents"]
    data_events = DataEventSettings(
        s3_buckets=_all_or_list(
            data_raw["s3Buckets"], _path("dataEvents", "s3Buckets"), _s3_bucket_arn, "S3 bucket ARNs"
        ),
        lambda_functions=_all_or_list(
            data_raw["lambdaFunctions"],
            _path("dataEvents", "lambdaFunctions"),
            _lambda_arn,
            "Lambda function ARNs",
        ),
        dynamodb_tables=_list(
            data_raw["dynamodbTables"],
            _path("dataEvents", "dynamodbTables"),
            _dynamodb_arn,
            "DynamoDB table ARNs",
        ),
    )
    insights = InsightsSettings(
        api_call_rate=_bool(raw["insights"]["apiCallRate"], _path("insights", "apiCallRate")),
        api_error_rate=_bool(raw["insights"]["apiErrorRate"], _path("insights", "apiErrorRate")),
    )

    organization_trail = _bool(raw["organizationTrail"], _path("organizationTrail"))
    organization_id = _optional(
        raw["organizationId"],
        _path("organizationId"),
        lambda v, p: _str(v, p, _ORGANIZATION_ID, "an AWS Organizations id such as 'o-a1b2c3d4e5', or null"),
    )
    if organization_trail and organization_id is None:
        raise ConfigError(
            _path("organizationId"),
            None,
            "an organization trail needs the organization id (o-xxxxxxxxxx) so the bucket policy "
            "admits member "
            "accounts' logs; set baseline.organizationId or organizationTrail=false",
        )

    detections = _detections(raw["detections"])
    known_ids = tuple(sorted({*_catalogue_ids(), *(detection.id for detection in detections.user_rules)}))
    alarms = _alarms(raw["alarms"], known_ids)
    health_raw = raw["health"]
    health = HealthSettings(
        emails=_list(health_raw["emails"], _path("health", "emails"), _email, "email addresses"),
        https_endpoints=_list(
            health_raw["httpsEndpoints"], _path("health", "httpsEndpoints"), _https_url, "https:// URLs"
        ),
        trail_silence_minutes=_int(
            health_raw["trailSilenceMinutes"], _path("health", "trailSilenceMinutes"), minimum=1, maximum=1440
        ),
    )
    pagerduty = _pagerduty(raw["pagerduty"], home_region)
    forwarder_raw = raw["forwarder"]
    forwarder = ForwarderSettings(
        reserved_concurrency=_int(
            forwarder_raw["reservedConcurrency"],
            _path("forwarder", "reservedConcurrency"),
            minimum=1,
            maximum=1000,
        ),
        # Below 30 s a slow Secrets Manager read plus one PagerDuty attempt could use the whole budget,
        # leaving no time for evidence: the page would always go out degraded, or not before the timeout.
        timeout_seconds=_int(
            forwarder_raw["timeoutSeconds"],
            _path("forwarder", "timeoutSeconds"),
            minimum=forwarder_env.MIN_TIMEOUT_SECONDS,
            maximum=900,
        ),
        memory_mb=_int(forwarder_raw["memoryMb"], _path("forwarder", "memoryMb"), minimum=128, maximum=10240),
    )

    config = BaselineConfig(
        trail_name=trail_name,
        home_region=home_region,
        log_retention_days=retention,
        lifecycle=lifecycle,
        object_lock=object_lock,
        data_events=data_events,
        insights=insights,
        organization_trail=organization_trail,
        organization_id=organization_id,
        existing_kms_key_arn=existing_kms_key_arn,
        existing_bucket_name=existing_bucket_name,
        alarms=alarms,
        alert_emails=_list(raw["alertEmails"], _path("alertEmails"), _email, "email addresses"),
        health=health,
        pagerduty=pagerduty,
        forwarder=forwarder,
        suppressions=_suppressions(raw["suppressions"], pagerduty, alarms, trail_name, known_ids),
        fast_path=_fast_path(raw["fastPath"], home_region),
        detections=detections,
        rollout=_rollout(
            raw["rollout"],
            home_region=home_region,
            organization_id=organization_id,
            regional_keys={
                _path("existingKmsKeyArn"): existing_kms_key_arn,
                _path("pagerduty", "routingKeySecretKmsKeyArn"): pagerduty.routing_key_secret_kms_key_arn,
            },
        ),
        athena=_athena(raw["athena"], organization_trail),
    )
    if config.fast_path.enabled:
        _fast_path_plan_is_deployable(config.detections_in_use, config.alarms.name_prefix)
    if config.rollout.organization.enabled:
        _organization_fast_path_is_deployable(config)
    return config


def _organization_fast_path_is_deployable(config: BaselineConfig) -> None:
    """The organization rollout deploys the fast path's forwarding rules: the fast path must be on (which
    pins the central bus to homeRegion), and the central account must forward its own events from every
    region its members forward from (the StackSet excludes the central account)."""
    if not config.fast_path.enabled:
        raise ConfigError(
            _path("fastPath", "enabled"),
            False,
            "baseline.rollout.organization forwards the members' fast-path events to the central account's "
            "bus: set fastPath.enabled=true (and homeRegion), or rollout.organization.centralAccount=null",
        )
    organization = config.rollout.organization
    for index, region in enumerate(organization.regions):
        if region not in config.fast_path.regions:
            raise ConfigError(
                _path("rollout", "organization", f"regions[{index}]"),
                region,
                "the central account forwards its own events only from baseline.fastPath.regions "
                f"({', '.join(config.fast_path.regions)}): add {region} there too, or remove it here",
            )


_PROJECTION_DATE = re.compile(r"^\d{4}/(0[1-9]|1[0-2])/(0[1-9]|[12]\d|3[01])$")


def _athena(raw: Mapping[str, Any], organization_trail: bool) -> AthenaSettings:
    regions = _list(
        raw["regions"],
        _path("athena", "regions"),
        _region,
        "region names",
    )
    if not regions or len(set(regions)) != len(regions):
        raise ConfigError(
            _path("athena", "regions"),
            list(regions),
            "expected a non-empty list of distinct region names: the regions the trail records that the "
            "table's partition projection may read",
        )
    accounts = _list(
        raw["accounts"],
        _path("athena", "accounts"),
        lambda v, p: _str(v, p, re.compile(rf"^{_ACCOUNT}$"), "a 12-digit AWS account id"),
        "12-digit account ids",
    )
    enabled = _bool(raw["enabled"], _path("athena", "enabled"))
    if enabled and organization_trail and not accounts:
        raise ConfigError(
            _path("athena", "accounts"),
            [],
            "an organization trail's table needs the member account ids its partition projection may read "
            "(AWSLogs/<organizationId>/<account>/...); list them in baseline.athena.accounts",
        )
    return AthenaSettings(
        enabled=enabled,
        bytes_scanned_cutoff_per_query=_int(
            raw["bytesScannedCutoffPerQuery"],
            _path("athena", "bytesScannedCutoffPerQuery"),
            minimum=ATHENA_MIN_BYTES_SCANNED_CUTOFF,
        ),
        results_expiration_days=_int(
            raw["resultsExpirationDays"], _path("athena", "resultsExpirationDays"), minimum=1, maximum=3650
        ),
        projection_start_date=_str(
            raw["projectionStartDate"],
            _path("athena", "projectionStartDate"),
            _PROJECTION_DATE,
            "a date written yyyy/MM/dd (CloudTrail's key layout) such as '2024/01/01'",
        ),
        regions=regions,
        accounts=accounts,
    )


def _fast_path(raw: Mapping[str, Any], home_region: str | None) -> FastPathSettings:
    enabled = _bool(raw["enabled"], _path("fastPath", "enabled"))
    regions = _list(
        raw["regions"],
        _path("fastPath", "regions"),
        _region,
        "region names",
    )
    duplicates = sorted({region for region in regions if regions.count(region) > 1})
    if duplicates:
        raise ConfigError(
            _path("fastPath", "regions"), list(regions), f"list each region once ({duplicates})"
        )
    # Without a home region the per-detection rules still cover the stack's own region; the alerting stack
    # warns at synth about the other regions (stacks/constructs/fast_path.warn_about_uncovered_regions).
    if enabled and not regions:
        raise ConfigError(
            _path("fastPath", "regions"),
            [],
            "list at least the home region, or set fastPath.enabled=false",
        )
    return FastPathSettings(enabled=enabled, regions=regions)


def _object_lock(
    raw: Any, existing_bucket_name: str | None, lifecycle: LifecycleSettings
) -> ObjectLockSettings | None:
    if raw is None:
        return None
    path = _path("objectLock")
    if not isinstance(raw, Mapping):
        raise ConfigError(path, raw, 'expected null (off) or {"mode": "GOVERNANCE"|"COMPLIANCE", "days": N}')
    if existing_bucket_name is not None:
        raise ConfigError(
            path,
            dict(raw),
            "Object Lock needs a versioned bucket created with Object Lock by this stack; with "
            f"existingBucketName ({existing_bucket_name!r}) the bucket is not ours, so enable Object Lock "
            "on it yourself and set objectLock=null",
        )
    mode = raw["mode"]
    if mode not in ("GOVERNANCE", "COMPLIANCE"):
        raise ConfigError(_path("objectLock", "mode"), mode, 'expected "GOVERNANCE" or "COMPLIANCE"')
    days = _int(raw["days"], _path("objectLock", "days"), minimum=1, maximum=36500)
    if days > lifecycle.expiration_days:
        raise ConfigError(
            _path("objectLock", "days"),
            days,
            f"it must not exceed lifecycle.expirationDays ({lifecycle.expiration_days}): "
            "lifecycle cannot expire locked objects",
        )
    return ObjectLockSettings(mode=mode, days=days)


def _pagerduty(raw: Mapping[str, Any], home_region: str | None) -> PagerDutySettings:
    secret_name = _str(
        raw["routingKeySecretName"],
        _path("pagerduty", "routingKeySecretName"),
        _SECRET_NAME,
        "a Secrets Manager secret name (letters, digits, /_+=.@-) or secret ARN",
    )
    return PagerDutySettings(
        routing_key_secret_name=secret_name,
        events_url=_https_url(raw["eventsUrl"], _path("pagerduty", "eventsUrl")),
        routing_key_secret_kms_key_arn=_optional(
            raw["routingKeySecretKmsKeyArn"],
            _path("pagerduty", "routingKeySecretKmsKeyArn"),
            lambda v, p: _secret_kms_key_arn(v, p, secret_name, home_region),
        ),
    )


def _secret_kms_key_arn(value: Any, path: str, secret_name: str, home_region: str | None) -> str:
    """The key ARN the forwarder may decrypt the routing-key secret with: an IAM Resource, never an alias."""
    example = "'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'"
    if isinstance(value, str) and _KMS_KEY_ARN.match(value):
        key_region = value.split(":")[3]
    elif isinstance(value, str) and (value.startswith("alias/") or _KMS_ALIAS_ARN.match(value)):
        raise ConfigError(
            path,
            value,
            "expected the key ARN, not an alias: IAM policies on KMS need the key ARN, and an alias ARN in a "
            "policy's Resource does not match the key, so the forwarder could not decrypt the secret; "
            "find the key ARN with `aws kms describe-key --key-id <alias> --query KeyMetadata.Arn`, "
            f"e.g. {example}",
        )
    elif isinstance(value, str) and _KMS_KEY_ID.match(value):
        raise ConfigError(
            path,
            value,
            "expected the full key ARN, not a bare key id: an IAM policy names a KMS key only by its ARN "
            f"(arn:<partition>:kms:<region>:<account>:key/<key id>), e.g. {example}",
        )
    else:
        raise ConfigError(
            path,
            value,
            f"expected the ARN of the KMS key encrypting the routing-key secret, e.g. {example}, or null "
            "when the secret uses the default aws/secretsmanager key",
        )
    # KMS keys are regional and Secrets Manager uses a key of the secret's own region.
    secret_region = secret_name.split(":")[3] if secret_name.startswith("arn:") else None
    for other_path, other_region in (
        (_path("pagerduty", "routingKeySecretName"), secret_region),
        (_path("homeRegion"), home_region),
    ):
        if other_region is not None and other_region != key_region:
            raise ConfigError(
                path,
                value,
                f"the key is in {key_region} but {other_path} says {other_region}; a secret can only be "
                "encrypted with a KMS key of its own region: give the key ARN from the secret's region",
            )
    return value


def _fast_path_plan_is_deployable(detections: tuple[Detection, ...], name_prefix: str) -> None:
    from detections.fast_path import enabled, plan
    from detections.naming import fast_path_rule_name

    try:
        decisions = plan(detections)
        for decision in enabled(decisions):
            fast_path_rule_name(decision.detection_id, name_prefix)
    except ValueError as error:  # FastPathError, or a rule name over EventBridge's limit
        raise ConfigError(_path("fastPath", "enabled"), True, str(error)) from None


def _catalogue_ids() -> tuple[str, ...]:
    from detections.catalogue import CATALOGUE

    return tuple(detection.id for detection in CATALOGUE)


def _detections(raw: Mapping[str, Any]) -> DetectionSettings:
    """``detections``: the user's rules folder (loaded and validated now) and the ids switched off."""
    rules_dir = _optional(
        raw["rulesDir"],
        _path("detections", "rulesDir"),
        lambda v, p: _str(
            v, p, re.compile(r"^\S(?:.*\S)?$"), "a folder path (relative to the project), or null"
        ),
    )
    user_rules: tuple[Detection, ...] = ()
    if rules_dir is not None:
        folder = Path(rules_dir)
        if not folder.is_dir():
            raise ConfigError(
                _path("detections", "rulesDir"),
                rules_dir,
                f"no such folder (looked in {folder.resolve()}); create it with your <id>.toml rules and "
                "their <id>.cases.jsonl (see README, Add your own detection), or set rulesDir=null",
            )
        user_rules = load_rules(folder)  # RuleFileError names the file, the field and the fix
        builtin = set(_catalogue_ids())
        for detection in user_rules:
            if detection.id in builtin:
                raise ConfigError(
                    _path("detections", "rulesDir"),
                    detection.source,
                    f"rule id {detection.id!r} is already a built-in detection; give your rule another id "
                    "(and file name), or to replace the built-in add its id to baseline.detections.disabled "
                    "and yours under a new id",
                )
    known = sorted({*_catalogue_ids(), *(detection.id for detection in user_rules)})
    disabled = _list(
        raw["disabled"],
        _path("detections", "disabled"),
        lambda v, p: _known_detection_id(v, p, known),
        "detection ids",
    )
    for index, detection_id in enumerate(disabled):
        if detection_id in disabled[:index]:
            raise ConfigError(
                f"{_path('detections', 'disabled')}[{index}]", detection_id, "listed twice; list each id once"
            )
    return DetectionSettings(rules_dir=rules_dir, disabled=disabled, user_rules=user_rules)


def _known_detection_id(value: Any, path: str, known: list[str]) -> str:
    if not isinstance(value, str) or value not in known:
        raise ConfigError(
            path,
            value,
            "unknown detection id; expected one of the built-in or rulesDir ids (see `python -m detections "
            "list`): " + ", ".join(known),
        )
    return value


def _alarms(raw: Mapping[str, Any], known_ids: tuple[str, ...]) -> AlarmSettings:
    period = _alarm_period(raw["periodSeconds"], _path("alarms", "periodSeconds"))
    delay = _tolerated_delay(raw["toleratedDelayMinutes"], _path("alarms", "toleratedDelayMinutes"))
    _evaluation_window(period, delay, _path("alarms", "toleratedDelayMinutes"))
    overrides_raw = raw["overrides"]
    if not isinstance(overrides_raw, Mapping):
        raise ConfigError(
            _path("alarms", "overrides"), overrides_raw, "expected an object: detection id -> override"
        )
    overrides: dict[str, AlarmOverride] = {}
    for detection_id, override in overrides_raw.items():
        path = _path("alarms", "overrides", detection_id)
        if detection_id not in known_ids:
            raise ConfigError(
                path,
                detection_id,
                "override keys must be catalogue detection ids (see `python -m detections list`), e.g. "
                + ", ".join(known_ids[:3]),
            )
        override_period = _optional(override["periodSeconds"], f"{path}.periodSeconds", _alarm_period)
        override_delay = _optional(
            override["toleratedDelayMinutes"], f"{path}.toleratedDelayMinutes", _tolerated_delay
        )
        _evaluation_window(
            override_period or period, override_delay or delay, f"{path}.toleratedDelayMinutes"
        )
        overrides[detection_id] = AlarmOverride(
            period_seconds=override_period, tolerated_delay_minutes=override_delay
        )
    return AlarmSettings(
        namespace=_str(
            raw["namespace"],
            _path("alarms", "namespace"),
            _NAMESPACE,
            "a CloudWatch namespace: 1-255 of letters, digits, . - _ / # :, not starting with 'AWS/'",
        ),
        name_prefix=_str(
            raw["namePrefix"],
            _path("alarms", "namePrefix"),
            _ALARM_PREFIX,
            "up to 100 of letters, digits, . _ - / :",
        ),
        period_seconds=period,
        tolerated_delay_minutes=delay,
        overrides=overrides,
    )


def _suppressions(
    raw: Any, pagerduty: PagerDutySettings, alarms: AlarmSettings, trail_name: str, known_ids: tuple[str, ...]
) -> tuple[Suppression, ...]:
    path = _path("suppressions")
    try:
        suppressions = parse_suppressions(raw)
    except ValueError as error:
        raise ConfigError(path, raw, f"{error}") from None
    for index, suppression in enumerate(suppressions):
        if suppression.detection not in known_ids:
            raise ConfigError(
                f"{path}[{index}].detection",
                suppression.detection,
                "expected a catalogue detection id (see `python -m detections list`)",
            )
    environment = forwarder_env.forwarder_environment(
        trail_log_group_name=f"/aws/cloudtrail/{trail_name}",
        routing_key_secret_name=pagerduty.routing_key_secret_name,
        pagerduty_events_url=pagerduty.events_url,
        dead_letter_queue_url="",  # resolved at deploy time: inside UNKNOWN_AT_SYNTH_BYTES
        alarm_name_prefix=alarms.name_prefix,
        metric_namespace=alarms.namespace,
        suppressions_json=suppressions_json(suppressions),
        episode_table_name="",  # resolved at deploy time: inside UNKNOWN_AT_SYNTH_BYTES
        episode_seconds=DEFAULT_EPISODE_SECONDS,
    )
    needed = forwarder_env.environment_bytes(environment) + forwarder_env.UNKNOWN_AT_SYNTH_BYTES
    if needed > forwarder_env.LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        raise ConfigError(
            path,
            f"{len(suppressions)} suppressions "
            f"({len(environment[forwarder_env.SUPPRESSIONS].encode())} bytes of JSON)",
            f"the forwarder's environment would need about {needed} bytes, "
            f"over Lambda's {forwarder_env.LAMBDA_ENVIRONMENT_LIMIT_BYTES}-byte limit for all variables; "
            "shorten the reasons, remove expired "
            "suppressions, or merge them with wider patterns",
        )
    return suppressions


# ------------------------------------------------------------------------------ rollout from CI (issue 16)

#: The context key (outside "baseline") selecting one of baseline.rollout.targets for `cdk diff/deploy`.
ROLLOUT_TARGET_CONTEXT_KEY = "rolloutTarget"

#: Every region of the partitions CDK deploys to (commercial, China, GovCloud): the one list a configured
#: region is checked against. tests/infra/test_rollout_config.py compares it with botocore's endpoint data.
AWS_REGIONS: tuple[str, ...] = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
    "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
    "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
    "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1", "us-east-2",
    "us-west-1", "us-west-2",
    "cn-north-1", "cn-northwest-1",
    "us-gov-east-1", "us-gov-west-1",
)  # fmt: skip

# Organizations API patterns (AccountId, OrganizationalUnitId shapes).
_ACCOUNT_ID = re.compile(rf"^{_ACCOUNT}$")
_ORGANIZATIONAL_UNIT_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
# GitHub: owner 1-39 of letters, digits, '-'; repository 1-100 of letters, digits, '.', '_', '-'.
_GITHUB_REPOSITORY = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
# GitHub environment names: up to 255 characters; kept to what is safe unquoted in an OIDC `sub` claim.
_GITHUB_ENVIRONMENT = re.compile(r"^[A-Za-z0-9._-]{1,255}$")
_TARGET_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# `cdk bootstrap --qualifier`: the bootstrap resources' names embed it (cdk-<qualifier>-deploy-role-...).
_CDK_QUALIFIER = re.compile(r"^[A-Za-z0-9_-]{1,10}$")
_IAM_ROLE_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
_GITHUB_OIDC_PROVIDER_ARN = re.compile(
    rf"^arn:{_PARTITION}:iam::{_ACCOUNT}:oidc-provider/token\.actions\.githubusercontent\.com$"
)


def _account_id(value: Any, path: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        # JSON drops leading zeros: 012345678901 written as a number is no longer that account.
        raise ConfigError(
            path, value, "expected the account id as a string of 12 digits, e.g. '012345678901'"
        )
    return _str(
        value, path, _ACCOUNT_ID, "an AWS account id: a string of exactly 12 digits, e.g. '123456789012'"
    )


def _region(value: Any, path: str, or_else: str = "") -> str:
    if not isinstance(value, str) or value not in AWS_REGIONS:
        raise ConfigError(
            path,
            value,
            "expected an existing AWS region name such as 'eu-west-1' "
            + (or_else + " " if or_else else "")
            + "(one of stacks.config.AWS_REGIONS; a region launched after this release: add it there)",
        )
    return value


def _organizational_unit_id(value: Any, path: str) -> str:
    return _str(
        value,
        path,
        _ORGANIZATIONAL_UNIT_ID,
        "an organizational unit id 'ou-' + 4-32 lower-case letters or digits + '-' + 8-32 more, e.g. "
        "'ou-ab12-cd34ef56' (`aws organizations list-organizational-units-for-parent`; not the OU name)",
    )


def _unique(values: tuple[str, ...], path: str) -> tuple[str, ...]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ConfigError(f"{path}[{index}]", value, "listed twice; remove the duplicate")
    return values


def _deployment_target(value: Any, path: str) -> DeploymentTarget:
    keys = {"name", "account", "region", "environment"}
    if not isinstance(value, Mapping) or set(value) - keys or not {"name", "account", "region"} <= set(value):
        raise ConfigError(
            path,
            value,
            'expected {"name": "prod-eu", "account": "123456789012", "region": "eu-west-1", '
            '"environment": "production"} (environment optional, defaults to the name)',
        )
    name = _str(
        value["name"], f"{path}.name", _TARGET_NAME, "1-32 lower-case letters, digits or '-' (e.g. 'prod-eu')"
    )
    return DeploymentTarget(
        name=name,
        account=_account_id(value["account"], f"{path}.account"),
        region=_region(value["region"], f"{path}.region"),
        environment=_str(
            value.get("environment", name),
            f"{path}.environment",
            _GITHUB_ENVIRONMENT,
            "a GitHub environment name of letters, digits, '.', '_' or '-'",
        ),
    )


def _rollout(
    raw: Mapping[str, Any],
    *,
    home_region: str | None,
    organization_id: str | None,
    regional_keys: Mapping[str, str | None],
) -> RolloutSettings:
    """``regional_keys``: key path -> KMS key ARN (or None) of settings that tie a deployment to a region."""

    def path(*parts: str) -> str:
        return _path("rollout", *parts)

    github_repository = _optional(
        raw["githubRepository"],
        path("githubRepository"),
        lambda v, p: _str(
            v, p, _GITHUB_REPOSITORY, "'owner/repository' as on GitHub, or null (no deploy role)"
        ),
    )
    deploy_account = _optional(raw["deployAccount"], path("deployAccount"), _account_id)
    if github_repository is not None and deploy_account is None:
        raise ConfigError(
            path("deployAccount"),
            None,
            "the deploy role needs the account it lives in (the one GitHub's OIDC tokens are exchanged in): "
            "set baseline.rollout.deployAccount, or githubRepository=null",
        )
    existing_provider = _optional(
        raw["existingOidcProviderArn"],
        path("existingOidcProviderArn"),
        lambda v, p: _str(
            v,
            p,
            _GITHUB_OIDC_PROVIDER_ARN,
            "the ARN of GitHub's OIDC provider, 'arn:aws:iam::<deployAccount>:oidc-provider/"
            "token.actions.githubusercontent.com', or null to create it",
        ),
    )
    if existing_provider is not None and existing_provider.split(":")[4] != deploy_account:
        raise ConfigError(
            path("existingOidcProviderArn"),
            existing_provider,
            f"the provider must be in rollout.deployAccount ({deploy_account}), "
            "where the role trusting it lives",
        )
    targets = _list(raw["targets"], path("targets"), _deployment_target, "deployment targets")
    names = tuple(target.name for target in targets)
    _unique(names, path("targets"))
    places = tuple(f"{target.account}/{target.region}" for target in targets)
    _unique(places, path("targets"))
    if home_region is not None:
        for index, target in enumerate(targets):
            if target.region != home_region:
                raise ConfigError(
                    path(f"targets[{index}]", "region"),
                    target.region,
                    f"baseline.homeRegion pins every stack to {home_region}; deploy targets there, or set "
                    "homeRegion=null so each target's region is used",
                )
    for key_path, key_arn in regional_keys.items():
        key_region = None if key_arn is None else key_arn.split(":")[3]
        for index, target in enumerate(targets):
            if key_region is not None and target.region != key_region:
                raise ConfigError(
                    path(f"targets[{index}]", "region"),
                    target.region,
                    f"{key_path} is a KMS key of {key_region}, and KMS keys are regional: deploy this target "
                    f"in {key_region}, or give each region its own deployment and key",
                )
    if targets and github_repository is None:
        raise ConfigError(
            path("targets"),
            [target.name for target in targets],
            "the workflows deploy the targets through the GitHub OIDC deploy role: set "
            "baseline.rollout.githubRepository (and deployAccount), or targets=[]",
        )
    return RolloutSettings(
        github_repository=github_repository,
        deploy_account=deploy_account,
        existing_oidc_provider_arn=existing_provider,
        cdk_qualifier=_str(
            raw["cdkQualifier"],
            path("cdkQualifier"),
            _CDK_QUALIFIER,
            "the `cdk bootstrap --qualifier` of the target accounts: 1-10 letters, digits, '_' or '-' "
            "(CDK's default is 'hnb659fds')",
        ),
        deploy_role_name=_str(
            raw["deployRoleName"],
            path("deployRoleName"),
            _IAM_ROLE_NAME,
            "an IAM role name (1-64 of A-Za-z0-9+=,.@_-)",
        ),
        diff_role_name=_str(
            raw["diffRoleName"],
            path("diffRoleName"),
            _IAM_ROLE_NAME,
            "an IAM role name (1-64 of A-Za-z0-9+=,.@_-)",
        ),
        targets=targets,
        organization=_organization_rollout(raw["organization"], organization_id),
    )


def _organization_rollout(raw: Mapping[str, Any], organization_id: str | None) -> OrganizationRolloutSettings:
    def path(*parts: str) -> str:
        return _path("rollout", "organization", *parts)

    central = _optional(raw["centralAccount"], path("centralAccount"), _account_id)
    management = _optional(raw["managementAccount"], path("managementAccount"), _account_id)
    units = _unique(
        _list(
            raw["memberOrganizationalUnits"],
            path("memberOrganizationalUnits"),
            _organizational_unit_id,
            "organizational unit ids",
        ),
        path("memberOrganizationalUnits"),
    )
    members = _unique(
        _list(raw["memberAccounts"], path("memberAccounts"), _account_id, "account ids"),
        path("memberAccounts"),
    )
    regions = _unique(_list(raw["regions"], path("regions"), _region, "region names"), path("regions"))
    settings = OrganizationRolloutSettings(
        central_account=central,
        management_account=management,
        member_organizational_units=units,
        member_accounts=members,
        regions=regions,
    )
    configured = units or members or regions or management is not None
    if central is None:
        if configured:
            raise ConfigError(
                path("centralAccount"),
                None,
                "member OUs, accounts, regions and the management account describe a rollout to the "
                "central account that holds the trail and alerting stack: "
                "set baseline.rollout.organization.centralAccount",
            )
        return settings
    for index, member in enumerate(members):
        if member == central:
            raise ConfigError(
                path(f"memberAccounts[{index}]"),
                member,
                "this is the centralAccount: its own stacks receive the events, a member rule there would "
                "forward the bus to itself; remove it from memberAccounts",
            )
    if management is not None and management in members:
        raise ConfigError(
            path(f"memberAccounts[{members.index(management)}]"),
            management,
            "this is the managementAccount: StackSets never deploy to it (it gets its own regional stacks); "
            "remove it from memberAccounts",
        )
    if not (units or members):
        raise ConfigError(
            path("memberOrganizationalUnits"),
            [],
            "name the organizational units (ou-...) or memberAccounts whose events reach the central account",
        )
    if not regions:
        raise ConfigError(
            path("regions"), [], 'name the regions (e.g. ["eu-west-1", "us-east-1"]) the members use'
        )
    if organization_id is None:
        raise ConfigError(
            _path("organizationId"),
            None,
            "the central bus admits events only from the organization (aws:PrincipalOrgID), so the "
            "organization rollout needs baseline.organizationId (o-xxxxxxxxxx)",
        )
    return settings


__all__ = [
    "AWS_REGIONS",
    "CLOUDWATCH_RETENTION_DAYS",
    "DEFAULTS",
    "DEFAULT_ENABLED_REGIONS",
    "ROLLOUT_TARGET_CONTEXT_KEY",
    "AlarmOverride",
    "AlarmSettings",
    "AthenaSettings",
    "BaselineConfig",
    "ConfigError",
    "DataEventSettings",
    "DeploymentTarget",
    "DetectionSettings",
    "FastPathSettings",
    "ForwarderSettings",
    "HealthSettings",
    "InsightsSettings",
    "LifecycleSettings",
    "ObjectLockSettings",
    "OrganizationRolloutSettings",
    "PagerDutySettings",
    "RolloutSettings",
]
