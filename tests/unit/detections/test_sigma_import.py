"""`python -m detections import-sigma`: conversion, refusals, rule files, and a differential test of every
converted rule against pySigma's SQLite backend (an independent evaluator of the same Sigma rule) on the
generated cases. The same comparison on the shared corpus is tests/corpus/test_sigma_differential.py."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from detections.__main__ import main
from detections.filter_pattern import MAX_PATTERN_LENGTH, compile_pattern
from detections.sigma_import import (
    SEVERITY_BY_LEVEL,
    ImportedRule,
    cloudwatch_regex,
    import_file,
    regex_sample,
)
from tests.unit.detections.sigma_oracle import SigmaOracle, flatten

REPO = Path(__file__).resolve().parents[3]
RULES = Path(__file__).resolve().parent / "sigma_rules"
CONVERTIBLE = sorted((RULES / "convertible").glob("*.yml"))
REFUSED = sorted((RULES / "refused").glob("*.yml"))

# Each refused test rule and the words its refusal must contain (the reason, not just "refused").
REFUSAL_REASONS = {
    "aggregation_count.yml": "aggregation in the condition",
    "cidr_ipv6.yml": "IPv6 ranges cannot be written",
    "cidr_not_octet_aligned.yml": "/12 is not on an octet boundary",
    "exists_true.yml": "errorCode|exists: true: a filter pattern has no 'exists' test",
    "keyword_search.yml": "keyword search (a value without a field)",
    "not_cloudtrail.yml": "only aws/cloudtrail rules",
    "not_a_cloudtrail_field.yml": "'status' is not a field of a CloudTrail record",
    "object_field_contains.yml": "'requestParameters' holds an object in CloudTrail records",
    "pattern_too_long.yml": f"the maximum is {MAX_PATTERN_LENGTH}",
    "regex_with_flag.yml": "with flags (ignorecase)",
    "regex_with_group.yml": "not supported in regular expressions (no groups)",
    "wildcard_inside_value.yml": "has a wildcard inside it",
}


def converted(path: Path) -> ImportedRule:
    (outcome,) = import_file(path)
    assert outcome.rule is not None, f"{path.name} was refused: {outcome.refusal}"
    return outcome.rule


def test_every_test_rule_is_either_convertible_or_has_a_pinned_refusal_reason() -> None:
    assert len(CONVERTIBLE) >= 10
    assert {p.name for p in REFUSED} == set(REFUSAL_REASONS)


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.stem)
def test_refusals_name_their_reason(path: Path) -> None:
    (outcome,) = import_file(path)
    assert outcome.rule is None
    assert outcome.refusal is not None and REFUSAL_REASONS[path.name] in outcome.refusal


@pytest.mark.parametrize("path", CONVERTIBLE, ids=lambda p: p.stem)
def test_converted_rule_file_carries_the_sigma_metadata_and_a_valid_pattern(path: Path) -> None:
    rule = converted(path)
    data = tomllib.loads(rule.toml())
    assert data["id"] == rule.rule_id and data["pattern"] == rule.pattern
    assert data["severity"] in SEVERITY_BY_LEVEL.values()
    assert data["resolve_policy"] == "manual" and data["controls"] == []
    assert all(m.startswith("T") for m in data["mitre_attack"]) and data["mitre_attack"]
    assert rule.sigma_id in data["description"] and rule.sigma_id in data["runbook"]
    assert data["runbook"].startswith("Imported Sigma rule (generic runbook")
    for reference in rule.references:
        assert reference in data["description"]
    assert data["sigma"]["id"] == rule.sigma_id and data["sigma"]["level"] == rule.level
    assert data["sigma"]["references"] == list(rule.references) and rule.references
    assert any(tag.startswith("attack.t") for tag in data["sigma"]["tags"])
    assert len(rule.pattern) <= MAX_PATTERN_LENGTH
    compile_pattern(rule.pattern)  # CloudWatch's rules, as the engine checks them


@pytest.mark.parametrize("path", CONVERTIBLE, ids=lambda p: p.stem)
def test_generated_cases_hold_for_our_pattern_and_for_the_independent_sigma_evaluator(path: Path) -> None:
    rule = converted(path)
    cases = [json.loads(line) for line in rule.cases_jsonl().splitlines()]
    positives = [c for c in cases if c["expect"] == "match"]
    near_misses = [c for c in cases if c["expect"] == "no-match"]
    assert positives, "a rule without a positive case proves nothing"
    assert near_misses, "a rule without near-misses cannot show it is not too broad"
    pattern = compile_pattern(rule.pattern)
    oracle = SigmaOracle(path.read_text(encoding="utf-8")).matches([c["record"] for c in cases])
    disagreements = [
        f"{c['case']}: expected {c['expect']}, filter pattern {ours}, Sigma/SQLite {theirs}"
        for c, theirs in zip(cases, oracle, strict=True)
        for ours in [pattern.matches_json(c["record"])]
        if ours != theirs or ours != (c["expect"] == "match")
    ]
    assert not disagreements, "\n".join(disagreements)


def test_near_misses_cover_every_condition_of_the_first_positive() -> None:
    rule = converted(RULES / "convertible" / "console_signin_token_from_cli.yml")
    cases = [json.loads(line) for line in rule.cases_jsonl().splitlines()]
    violated = sorted(c["case"] for c in cases if c["expect"] == "no-match")
    assert violated == [
        "near-miss: violates only 'errorCode is absent'",
        "near-miss: violates only 'eventName = \"GetSigninToken\"'",
        "near-miss: violates only 'eventSource = \"signin.amazonaws.com\"'",
        "near-miss: violates only 'not userAgent = \"*Jersey/${project.version}*\"'",
    ]


def test_not_becomes_not_equal_or_absent_because_sigma_not_holds_on_a_missing_field() -> None:
    rule = converted(RULES / "convertible" / "console_signin_token_from_cli.yml")
    assert '($.userAgent != "*Jersey/${project.version}*" || $.userAgent NOT EXISTS)' in rule.pattern
    record = {"eventSource": "signin.amazonaws.com", "eventName": "GetSigninToken"}  # no userAgent at all
    assert compile_pattern(rule.pattern).matches_json(record)
    oracle = SigmaOracle((RULES / "convertible" / "console_signin_token_from_cli.yml").read_text())
    assert oracle.matches([record]) == [True]


def test_null_cidr_and_lists_render_as_exact_filter_pattern_conditions() -> None:
    rule = converted(RULES / "convertible" / "console_login_from_office_range.yml")
    assert '($.sourceIPAddress = "198.51.*" || $.sourceIPAddress = "203.0.113.7")' in rule.pattern
    assert "($.errorMessage IS NULL || $.errorMessage NOT EXISTS)" in rule.pattern
    assert SEVERITY_BY_LEVEL["informational"] == rule.severity == "info"


def test_regex_keeps_cloudwatch_characters_and_rewrites_the_rest_exactly() -> None:
    assert cloudwatch_regex(r"^Boto3/1\.[0-9]+ x") == r"^Boto3/1\.[0-9]+\x20x"
    assert cloudwatch_regex(r"a\(b\)") == r"a\x28b\x29"
    assert (
        cloudwatch_regex("(a|b)") == "(a|b)"
    )  # a real group stays, so the engine refuses it with its reason
    assert regex_sample(r":assumed-role/[^/]+/i-[0-9a-f]+$") == ":assumed-role/a/i-0"


def test_booleans_become_is_true_and_their_negation_is_refused(tmp_path: Path) -> None:
    rule = converted(RULES / "convertible" / "catalogue_database_public_or_instance_exported.yml")
    assert "$.requestParameters.publiclyAccessible IS TRUE" in rule.pattern
    negated = tmp_path / "negated_bool.yml"
    negated.write_text(
        (RULES / "refused" / "exists_true.yml")
        .read_text()
        .replace(
            "    errorCode|exists: true\n  condition: selection",
            "  flag:\n    readOnly: true\n  condition: selection and not flag",
        )
    )
    (outcome,) = import_file(negated)
    assert outcome.refusal is not None and "cannot say 'anything but this boolean'" in outcome.refusal


def test_severity_mapping_covers_every_sigma_level() -> None:
    assert SEVERITY_BY_LEVEL == {
        "critical": "critical",
        "high": "error",
        "medium": "warning",
        "low": "info",
        "informational": "info",
    }


def test_flatten_gives_sigma_field_names() -> None:
    assert flatten({"userIdentity": {"type": "Root"}, "a": [{"b": 1}], "n": None}) == {
        "userIdentity.type": "Root",
        "a.0.b": 1,
        "n": None,
    }


# --- CLI --------------------------------------------------------------------------------------------------


def test_cli_writes_rule_files_reports_refusals_and_exits_0_when_something_converted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["import-sigma", str(RULES), "--out", str(tmp_path)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    refused = [line for line in out if line.startswith("refused ")]
    assert len(refused) == len(REFUSED)
    assert out[-1] == f"{len(CONVERTIBLE)} converted, {len(REFUSED)} refused"
    tomls = sorted(tmp_path.glob("*.toml"))
    assert len(tomls) == len(CONVERTIBLE)
    for path in tomls:
        rule_id = tomllib.loads(path.read_text())["id"]
        assert path.name == f"{rule_id}.toml" and (tmp_path / f"{rule_id}.cases.jsonl").is_file()


def test_cli_exits_1_when_nothing_converted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["import-sigma", str(RULES / "refused" / "keyword_search.yml"), "--out", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().out.endswith("0 converted, 1 refused\n")
    assert list(tmp_path.iterdir()) == []


def test_unreadable_or_invalid_files_are_refusals_not_crashes(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("title: [unclosed\n")
    (outcome,) = import_file(broken)
    assert outcome.rule is None and outcome.refusal
    (missing,) = import_file(tmp_path / "missing.yml")
    assert missing.refusal is not None and missing.refusal.startswith("cannot read the file")


def test_pysigma_stays_out_of_what_the_lambda_imports() -> None:
    # The forwarder imports the catalogue and the engine; neither may pull in pySigma (a CLI-only dependency).
    probe = "import sys, detections.catalogue, detections.filter_pattern, detections.__main__; " + (
        "print(sorted(m for m in sys.modules if m == 'sigma' or m.startswith('sigma.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
    lambda_sources = "\n".join(p.read_text() for p in (REPO / "lambdas").rglob("*.py"))
    assert "sigma" not in lambda_sources


# --- the catalogue's imported rules -----------------------------------------------------------------------

CATALOGUE_RULES = Path(__file__).resolve().parents[3] / "detections" / "rules"


def _imported_catalogue_rules() -> list[Path]:
    return sorted(p for p in CATALOGUE_RULES.glob("*.toml") if "sigma" in tomllib.loads(p.read_text()))


def test_the_catalogue_imports_sigma_rules_where_they_fit() -> None:
    # Five merged detections (one runbook each) come from Sigma; the built-ins' filter budget keeps them so.
    assert len(_imported_catalogue_rules()) == 5


@pytest.mark.parametrize("path", _imported_catalogue_rules(), ids=lambda p: p.stem)
def test_imported_catalogue_rule_is_what_the_importer_makes_of_its_sigma_source(path: Path) -> None:
    # The Sigma source (in sigma_rules/convertible, checked against the independent evaluator above and on the
    # corpus) must still convert into exactly this rule file and these cases: no hand edits drift from it.
    data = tomllib.loads(path.read_text())
    sources = {converted(p).sigma_id: p for p in CONVERTIBLE}
    rule = converted(sources[data["sigma"]["id"]])
    assert path.read_text() == rule.toml()
    assert path.with_name(f"{rule.rule_id}.cases.jsonl").read_text() == rule.cases_jsonl()


def test_cli_never_overwrites_a_rule_that_was_not_imported_from_the_same_sigma_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = RULES / "convertible" / "region_enabled.yml"
    rule = converted(source)
    hand_written = tmp_path / f"{rule.rule_id}.toml"
    hand_written.write_text('id = "opt-in-region-enabled"\n')
    assert main(["import-sigma", str(source), "--out", str(tmp_path)]) == 1
    assert "is already used by" in capsys.readouterr().out
    assert hand_written.read_text() == 'id = "opt-in-region-enabled"\n'
    hand_written.unlink()
    assert main(["import-sigma", str(source), "--out", str(tmp_path)]) == 0
    assert (
        main(["import-sigma", str(source), "--out", str(tmp_path)]) == 0
    )  # re-importing the same rule is fine
