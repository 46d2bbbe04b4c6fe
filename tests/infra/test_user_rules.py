"""User rules and toggles through configuration and synth: ``baseline.detections.rulesDir`` and ``disabled``.

The issue's "done when": a user adds a rule file with its cases and switches off one built-in through
cdk.json alone; synth builds the filter and alarm for the new rule and none for the disabled one; a malformed
rule fails synth naming the file and the field.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from aws_cdk.assertions import Annotations, Match

from detections.rule_files import RuleFileError, load_rules
from stacks.config import BaselineConfig, ConfigError
from tests.infra.alarms_harness import SynthesizedAlerting, synth_alerting
from tests.infra.test_config import REPO, _cdk_env

EXAMPLE_RULES = "examples/rules"  # relative to the project folder, as a user writes it in cdk.json
USER_RULE = "iam-user-created"
DISABLED = "root-account-usage"


def detections_config(**detections: object) -> BaselineConfig:
    return BaselineConfig.from_mapping({"detections": detections})


@pytest.fixture(scope="module")
def user_synth() -> SynthesizedAlerting:
    config = detections_config(rulesDir=EXAMPLE_RULES, disabled=[DISABLED])
    return synth_alerting(config, use_real_trail_stack=False)


def metric_names(synth: SynthesizedAlerting, resource_type: str) -> set[str]:
    if resource_type == "AWS::Logs::MetricFilter":
        return {p["MetricTransformations"][0]["MetricName"] for _, p in synth.properties(resource_type)}
    return {p["MetricName"] for _, p in synth.properties(resource_type) if "MetricName" in p}


# ------------------------------------------------------------------------------------------------ synth


def test_synth_builds_the_users_filter_and_alarm_and_none_for_the_disabled_built_in(user_synth):
    filters = metric_names(user_synth, "AWS::Logs::MetricFilter")
    alarms = metric_names(user_synth, "AWS::CloudWatch::Alarm")

    assert USER_RULE in filters and USER_RULE in alarms
    assert DISABLED not in filters and DISABLED not in alarms
    assert "security-baseline-iam-user-created" in {
        p["AlarmName"] for _, p in user_synth.properties("AWS::CloudWatch::Alarm")
    }


def test_switching_off_a_security_hub_detection_warns_naming_the_controls(user_synth):
    warnings = Annotations.from_stack(user_synth.stack).find_warning(
        "*", Match.string_like_regexp(r"'root-account-usage' is switched off.*FAIL.*CloudWatch\.1")
    )
    assert len(warnings) == 1


def test_the_forwarder_package_carries_exactly_the_rules_in_use(user_synth):
    s3_key = next(p for _, p in user_synth.properties("AWS::Lambda::Function"))["Code"]["S3Key"]
    packaged = user_synth.outdir / f"asset.{s3_key.removesuffix('.zip')}" / "detections" / "rules"

    in_use = load_rules(packaged, require_cases=False)  # what the forwarder loads at cold start

    assert sorted(d.id for d in in_use) == sorted(user_synth.stack.alarms)
    assert USER_RULE in {d.id for d in in_use} and DISABLED not in {d.id for d in in_use}
    assert not list(packaged.glob("*.cases.jsonl"))


# ----------------------------------------------------------------------------------------------- config


def test_insights_detection_is_on_only_with_insights() -> None:
    insights_rule = "cloudtrail-insights-unusual-activity"
    assert insights_rule not in {d.id for d in BaselineConfig().detections_in_use}
    for switch in ("apiCallRate", "apiErrorRate"):
        config = BaselineConfig.from_mapping({"insights": {switch: True}})
        assert insights_rule in {d.id for d in config.detections_in_use}


def test_default_configuration_uses_every_built_in_that_needs_nothing() -> None:
    from detections.catalogue import CATALOGUE

    in_use = BaselineConfig().detections_in_use
    assert [d.id for d in in_use] == [d.id for d in CATALOGUE if d.requires is None]


@pytest.mark.parametrize(
    ("detections", "path", "message"),
    [
        ({"disabled": ["no-such-rule"]}, "baseline.detections.disabled[0]", "unknown detection id"),
        ({"disabled": [DISABLED, DISABLED]}, "baseline.detections.disabled[1]", "listed twice"),
        ({"disabled": DISABLED}, "baseline.detections.disabled", "expected a JSON array of detection ids"),
        ({"rulesDir": "no/such/folder"}, "baseline.detections.rulesDir", "no such folder"),
        ({"rulesDir": ""}, "baseline.detections.rulesDir", "a folder path"),
        ({"rulesDir": 3}, "baseline.detections.rulesDir", "a folder path"),
    ],
)
def test_bad_detection_settings_name_the_key_and_the_fix(detections, path, message) -> None:
    with pytest.raises(ConfigError) as raised:
        BaselineConfig.from_mapping({"detections": detections})
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)


def test_a_user_rule_may_be_disabled_and_overridden_by_its_id() -> None:
    config = BaselineConfig.from_mapping(
        {
            "detections": {"rulesDir": EXAMPLE_RULES, "disabled": [USER_RULE]},
            "alarms": {"overrides": {USER_RULE: {"periodSeconds": 300}}},
        }
    )
    assert USER_RULE not in {d.id for d in config.detections_in_use}
    assert config.detections.user_rules[0].id == USER_RULE


def test_a_user_rule_may_not_reuse_a_built_in_id(tmp_path: Path) -> None:
    for suffix in (".toml", ".cases.jsonl"):
        source = (REPO / "detections" / "rules" / f"{DISABLED}{suffix}").read_text()
        (tmp_path / f"{DISABLED}{suffix}").write_text(source)

    with pytest.raises(ConfigError, match=r"rule id 'root-account-usage' is already a built-in detection"):
        detections_config(rulesDir=str(tmp_path))


def test_a_malformed_user_rule_fails_config_naming_the_file_and_the_field(tmp_path: Path) -> None:
    shutil.copy(REPO / EXAMPLE_RULES / f"{USER_RULE}.cases.jsonl", tmp_path)
    text = (REPO / EXAMPLE_RULES / f"{USER_RULE}.toml").read_text().replace("mitre_attack", "mitre")
    (tmp_path / f"{USER_RULE}.toml").write_text(text)

    with pytest.raises(RuleFileError) as raised:
        detections_config(rulesDir=str(tmp_path))
    assert raised.value.path == str(tmp_path / f"{USER_RULE}.toml") and raised.value.field == "mitre"


@pytest.mark.skipif(
    not (REPO / "node_modules" / ".bin" / "cdk").exists(), reason="cdk CLI not installed (make setup)"
)
def test_cdk_synth_with_a_malformed_rule_exits_2_with_one_line_naming_file_and_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(REPO / EXAMPLE_RULES / f"{USER_RULE}.cases.jsonl", rules)
    text = (REPO / EXAMPLE_RULES / f"{USER_RULE}.toml").read_text().replace('"warning"', '"high"')
    (rules / f"{USER_RULE}.toml").write_text(text)

    result = subprocess.run(
        [
            "cdk",
            "synth",
            "--quiet",
            "--output",
            str(tmp_path / "cdk.out"),
            "-c",
            f"baseline.detections.rulesDir={rules}",
        ],
        cwd=REPO,
        env=_cdk_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode != 0
    assert (
        f"Rule file error: {rules / (USER_RULE + '.toml')}: severity: 'high' is not allowed; expected one of "
        "critical, error, warning, info" in result.stderr
    )
