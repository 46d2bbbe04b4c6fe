"""The rule-file loader refuses a malformed rule with one message naming the file, the field and the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detections.catalogue import CATALOGUE
from detections.rule_files import RuleFileError, load_cases, load_rule, load_rules

EXAMPLE_DIR = Path(__file__).resolve().parents[3] / "examples" / "rules"
GOOD_RULE = (EXAMPLE_DIR / "iam-user-created.toml").read_text()
GOOD_CASES = (EXAMPLE_DIR / "iam-user-created.cases.jsonl").read_text()


def write_rule(
    folder: Path, text: str = GOOD_RULE, cases: str | None = GOOD_CASES, stem: str = "iam-user-created"
) -> Path:
    path = folder / f"{stem}.toml"
    path.write_text(text)
    if cases is not None:
        (folder / f"{stem}.cases.jsonl").write_text(cases)
    return path


def test_the_example_rule_loads_with_every_field(tmp_path: Path) -> None:
    (detection,) = load_rules(EXAMPLE_DIR)
    assert detection.id == "iam-user-created"
    assert detection.severity == "warning" and detection.controls == () and detection.fast_path is None
    assert detection.source == str(EXAMPLE_DIR / "iam-user-created.toml")


def test_built_in_rules_are_sorted_by_id_and_patterns_are_byte_identical_to_the_files() -> None:
    assert [d.id for d in CATALOGUE] == sorted(d.id for d in CATALOGUE)
    root = next(d for d in CATALOGUE if d.id == "root-account-usage")
    assert f"pattern = '{root.pattern}'" in Path(root.source).read_text()


@pytest.mark.parametrize(
    ("old", "new", "field", "fix"),
    [
        (
            'severity = "warning"',
            'severity = "high"',
            "severity",
            "expected one of critical, error, warning, info",
        ),
        ('id = "iam-user-created"', 'id = "iam-user"', "id", "the id must equal the file name"),
        ('resolve_policy = "manual"', 'resolve_policy = "auto"', "resolve_policy", "expected one of"),
        ("controls = []", 'controls = "CIS 1.1"', "controls", "expected a list of non-empty strings"),
        (
            'mitre_attack = ["T1136.003"]',
            'mitre_attack = ["persistence"]',
            "mitre_attack[0]",
            "ATT&CK technique id",
        ),
        (
            "($.errorCode NOT EXISTS)}'",
            "($.errorCode NOT EXISTS)'",
            "pattern",
            "CloudWatch Logs would reject it at position",
        ),
        ("{count} event(s)", "{count} event(s) by {user}", "summary_template", "unknown placeholder {user}"),
        (
            'severity = "warning"',
            'severity = "warning"\nfast_path = "yes"',
            "fast_path",
            "expected true or false",
        ),
        (
            'severity = "warning"',
            'severity = "warning"\nrequires = "guardduty"',
            "requires",
            "expected one of insights",
        ),
        (
            'severity = "warning"',
            'severity = "warning"\nseverity_override = 1',
            "severity_override",
            "unknown field",
        ),
        ('severity = "warning"\n', "", "severity", "required field is missing"),
        ('title = "IAM user created"', 'title = ""', "title", "expected a non-empty string"),
        (
            'severity = "warning"',
            'severity = "warning"\n[sigma]\nid = "x"',
            "pattern",
            "inside the [sigma] table",
        ),
        ('session."\n', 'session."\n[sigma]\nlevel = "high"\n', "sigma.id", "non-empty string"),
        ('severity = "warning"', "severity = warning", "(TOML syntax)", "fix the TOML syntax"),
    ],
)
def test_a_malformed_rule_names_the_file_the_field_the_value_and_the_fix(
    tmp_path: Path, old: str, new: str, field: str, fix: str
) -> None:
    assert old in GOOD_RULE
    path = write_rule(tmp_path, GOOD_RULE.replace(old, new, 1))

    with pytest.raises(RuleFileError) as raised:
        load_rules(tmp_path)

    message = str(raised.value)
    assert message.startswith(f"Rule file error: {path}: {field}: "), message
    assert fix in message and raised.value.field == field


def test_a_sigma_table_is_read(tmp_path: Path) -> None:
    text = (
        GOOD_RULE
        + '\n[sigma]\nid = "0f7a3c2e-1111-4222-8333-944455556666"\nlevel = "medium"\n'
        + 'tags = ["attack.t1136.003"]\n'
    )
    detection = load_rule(write_rule(tmp_path, text))
    assert detection.sigma is not None and detection.sigma.level == "medium"
    assert detection.sigma.tags == ("attack.t1136.003",)


def case_line(expect: object = "match", case: object = "why", record: object = None, **extra: object) -> str:
    return json.dumps(
        {"expect": expect, "case": case, "record": {"eventName": "X"} if record is None else record, **extra}
    )


@pytest.mark.parametrize(
    ("lines", "field", "fix"),
    [
        (["{not json"], "line 1", "not JSON"),
        ([case_line(), "[1, 2]"], "line 2", "expected a JSON object"),
        ([case_line(), case_line(expect="yes")], "line 2: expect", 'expected "match" or "no-match"'),
        ([case_line(), case_line(expect="no-match", case="")], "line 2: case", "non-empty string"),
        (
            [case_line(), case_line(expect="no-match", record=[1])],
            "line 2: record",
            "whole CloudTrail record",
        ),
        ([case_line(), case_line(expect="no-match", note="x")], "line 2", "unknown key 'note'"),
        ([case_line(), case_line()], "expect", 'add at least one case with "expect": "no-match"'),
    ],
)
def test_a_malformed_cases_file_names_the_line_and_the_fix(
    tmp_path: Path, lines: list[str], field: str, fix: str
) -> None:
    path = tmp_path / "x.cases.jsonl"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(RuleFileError) as raised:
        load_cases(path)

    assert str(raised.value).startswith(f"Rule file error: {path}: {field}: ") and fix in str(raised.value)


def test_a_rule_without_its_cases_file_is_refused_unless_cases_are_not_required(tmp_path: Path) -> None:
    write_rule(tmp_path, cases=None)

    with pytest.raises(
        RuleFileError, match=r"iam-user-created\.cases\.jsonl: \(file\): .*every rule needs its cases"
    ):
        load_rules(tmp_path)
    assert [d.id for d in load_rules(tmp_path, require_cases=False)] == ["iam-user-created"]


def test_a_cases_file_without_its_rule_is_refused(tmp_path: Path) -> None:
    write_rule(tmp_path)
    (tmp_path / "orphan.cases.jsonl").write_text(GOOD_CASES)

    with pytest.raises(
        RuleFileError, match=r"orphan\.cases\.jsonl: \(file name\): .*no rule file orphan\.toml"
    ):
        load_rules(tmp_path)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"\(directory\).*expected a folder of <id>\.toml rule files"):
        load_rules(tmp_path / "nope")
