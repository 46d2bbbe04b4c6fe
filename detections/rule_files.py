"""Load and validate rule files: ``<id>.toml`` (one detection) with ``<id>.cases.jsonl`` beside it.

The same loader reads the built-in rules (``detections/rules/``), a user's ``baseline.detections.rulesDir``
at synth, and the rules packaged into the forwarder at cold start. Everything is checked when loading, and
the first problem raises :class:`RuleFileError` naming the file, the field, the value and the fix, so a bad
rule fails ``cdk synth`` (or the CLI), never a page.

Rule file fields (TOML; patterns as literal strings, '...', so a published text is copied byte for byte):

    id = "my-detection"            # required, equals the file name without .toml
    title, description, runbook    # required, non-empty strings
    severity                       # required: critical | error | warning | info
    pattern                        # required: a CloudWatch Logs filter pattern our engine accepts
    additional_patterns = [...]    # optional: more filters feeding the same metric (scanner variants)
    controls = [...]               # required (may be empty): compliance controls the detection satisfies
    mitre_attack = [...]           # required (may be empty): ATT&CK technique ids, T1234 or T1234.001
    resolve_policy                 # required: manual | resolve_on_ok
    summary_template               # required: page summary; {placeholders} from SUMMARY_FIELDS only
    fast_path = true|false         # optional: absent = default (on for critical/error where exact)
    requires = "insights"          # optional: switched on only when the deployment has that feature
    [sigma]                        # optional, for imported rules: id (required), level, tags, references

Cases (JSON Lines, one object a line): {"expect": "match" | "no-match", "case": "<why>", "record": {...}}
with the whole CloudTrail record, so a real record pastes in unchanged. At least one of each expectation.

Standard library only (``tomllib``), so the forwarder's asset needs no dependency for it.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from detections.filter_pattern import FilterPatternError, compile_pattern
from detections.rule import (
    REQUIREMENTS,
    RESOLVE_POLICIES,
    SEVERITIES,
    SUMMARY_FIELDS,
    Detection,
    SigmaMeta,
)

#: The rules shipped beside this code: in the repository the built-in rules; in the forwarder's asset,
#: exactly the rules the deployment uses (staged by the AlertForwarder construct).
PACKAGED_RULES_DIR = Path(__file__).resolve().parent / "rules"

RULE_SUFFIX = ".toml"
CASES_SUFFIX = ".cases.jsonl"

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_MAX_CHARS = 60
MITRE_ID = re.compile(r"^T\d{4}(?:\.\d{3})?$")

_REQUIRED_TEXT = ("id", "title", "description", "severity", "pattern", "runbook", "resolve_policy")
_FIELDS = (
    *_REQUIRED_TEXT,
    "summary_template",
    "controls",
    "mitre_attack",
    "additional_patterns",
    "fast_path",
    "requires",
    "sigma",
)
_REQUIRED = (*_REQUIRED_TEXT, "summary_template", "controls", "mitre_attack")
_SIGMA_FIELDS = ("id", "level", "tags", "references")
_CASE_FIELDS = ("expect", "case", "record")

Expectation = Literal["match", "no-match"]


class RuleFileError(ValueError):
    """A rule or cases file is not acceptable. ``str(error)`` is the whole, user-facing message."""

    def __init__(self, path: Path | str, field: str, value: object, fix: str) -> None:
        self.path = str(path)
        self.field = field
        self.value = value
        self.fix = fix
        super().__init__(f"Rule file error: {path}: {field}: {_show(value)} is not allowed; {fix}")


def _show(value: object) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


@dataclass(frozen=True)
class RuleCase:
    """One line of a cases file: a whole CloudTrail record and whether the detection must match it."""

    expect: Expectation
    case: str
    record: dict[str, Any]
    line: int

    @property
    def should_match(self) -> bool:
        return self.expect == "match"


# ------------------------------------------------------------------------------------------------ loading


def load_rules(directory: Path | str, *, require_cases: bool = True) -> tuple[Detection, ...]:
    """Every ``*.toml`` rule in ``directory``, validated, sorted by id.

    ``require_cases``: also check each rule's cases file (present, well formed); the forwarder, which ships
    without cases, passes False.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise RuleFileError(folder, "(directory)", str(folder), "expected a folder of <id>.toml rule files")
    rule_paths = sorted(folder.glob("*" + RULE_SUFFIX))
    if require_cases:
        stems = {path.stem for path in rule_paths}
        for cases_path in sorted(folder.glob("*" + CASES_SUFFIX)):
            detection_id = cases_path.name[: -len(CASES_SUFFIX)]
            if detection_id not in stems:
                raise RuleFileError(
                    cases_path,
                    "(file name)",
                    cases_path.name,
                    f"no rule file {detection_id}{RULE_SUFFIX} beside it; rename it to <id>{CASES_SUFFIX} "
                    "of an existing rule or add the rule",
                )
    detections = tuple(load_rule(path) for path in rule_paths)
    if require_cases:
        for detection in detections:
            load_cases(cases_path_of(Path(detection.source)))
    return detections


def cases_path_of(rule_path: Path) -> Path:
    return rule_path.with_name(rule_path.stem + CASES_SUFFIX)


def load_rule(path: Path | str) -> Detection:
    """One rule file, validated field by field."""
    rule_path = Path(path)
    try:
        data = tomllib.loads(rule_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise RuleFileError(
            rule_path, "(TOML syntax)", str(error), "fix the TOML syntax at that line and column"
        ) from None
    return _detection(rule_path, data)


def _detection(path: Path, data: Mapping[str, Any]) -> Detection:
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise RuleFileError(
            path, unknown[0], data[unknown[0]], "unknown field; allowed: " + ", ".join(_FIELDS)
        )
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        sigma = data.get("sigma")
        if isinstance(sigma, dict) and missing[0] in sigma:
            raise RuleFileError(
                path,
                missing[0],
                None,
                "it is inside the [sigma] table (in TOML every key after a [table] line belongs to that "
                "table); move [sigma] to the end of the file",
            )
        raise RuleFileError(path, missing[0], None, "required field is missing; add it (see README, rules)")
    for name in _REQUIRED_TEXT:
        _text(path, name, data[name])
    detection_id = data["id"]
    if detection_id != path.stem:
        raise RuleFileError(
            path, "id", detection_id, f"the id must equal the file name; use {path.stem!r} or rename the file"
        )
    if not ID_PATTERN.fullmatch(detection_id) or len(detection_id) > ID_MAX_CHARS:
        raise RuleFileError(
            path,
            "id",
            detection_id,
            f"use lower-case letters, digits and single hyphens (kebab-case), at most {ID_MAX_CHARS} "
            "characters, e.g. 'iam-user-created'",
        )
    _one_of(path, "severity", data["severity"], SEVERITIES)
    _one_of(path, "resolve_policy", data["resolve_policy"], RESOLVE_POLICIES)
    _pattern(path, "pattern", data["pattern"])
    additional = _strings(path, "additional_patterns", data.get("additional_patterns", []))
    for index, text in enumerate(additional):
        _pattern(path, f"additional_patterns[{index}]", text)
    controls = _strings(path, "controls", data["controls"])
    mitre = _strings(path, "mitre_attack", data["mitre_attack"])
    for index, technique in enumerate(mitre):
        if not MITRE_ID.fullmatch(technique):
            raise RuleFileError(
                path,
                f"mitre_attack[{index}]",
                technique,
                "expected an ATT&CK technique id like T1098 or T1098.003",
            )
    _summary_template(path, data["summary_template"])
    fast_path = data.get("fast_path")
    if fast_path is not None and not isinstance(fast_path, bool):
        raise RuleFileError(
            path, "fast_path", fast_path, "expected true or false (or leave it out for the default)"
        )
    requires = data.get("requires")
    if requires is not None:
        _one_of(path, "requires", requires, REQUIREMENTS)
    return Detection(
        id=detection_id,
        title=data["title"],
        description=data["description"],
        severity=data["severity"],
        pattern=data["pattern"],
        additional_patterns=additional,
        controls=controls,
        mitre_attack=mitre,
        runbook=data["runbook"],
        resolve_policy=data["resolve_policy"],
        summary_template=data["summary_template"],
        fast_path=fast_path,
        requires=requires,
        sigma=_sigma(path, data["sigma"]) if "sigma" in data else None,
        source=str(path),
    )


def _text(path: Path, name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleFileError(path, name, value, "expected a non-empty string")
    return value


def _one_of(path: Path, name: str, value: object, allowed: Iterable[str]) -> None:
    options = tuple(allowed)
    if value not in options:
        raise RuleFileError(path, name, value, "expected one of " + ", ".join(options))


def _strings(path: Path, name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise RuleFileError(path, name, value, 'expected a list of non-empty strings, e.g. ["a", "b"] or []')
    return tuple(value)


def _pattern(path: Path, name: str, text: object) -> None:
    if not isinstance(text, str):
        raise RuleFileError(path, name, text, "expected a filter pattern string (write it as '...')")
    try:
        compile_pattern(text)
    except FilterPatternError as error:
        raise RuleFileError(
            path,
            name,
            text,
            f"CloudWatch Logs would reject it at position {error.position}: {error.reason} (check it with "
            "`python -m detections test-metric-filter`)",
        ) from None


def _summary_template(path: Path, template: object) -> None:
    text = _text(path, "summary_template", template)
    allowed = "use only the placeholders " + ", ".join("{" + name + "}" for name in SUMMARY_FIELDS)
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as error:
        raise RuleFileError(
            path, "summary_template", text, f"{error}; write a literal brace as {{{{ or }}}}"
        ) from None
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in SUMMARY_FIELDS or spec or conversion:
            raise RuleFileError(path, "summary_template", text, f"unknown placeholder {{{name}}}; {allowed}")


def _sigma(path: Path, value: object) -> SigmaMeta:
    if not isinstance(value, dict):
        raise RuleFileError(path, "sigma", value, "expected a [sigma] table with id, level, tags, references")
    unknown = sorted(set(value) - set(_SIGMA_FIELDS))
    if unknown:
        raise RuleFileError(
            path, f"sigma.{unknown[0]}", value[unknown[0]], "allowed: " + ", ".join(_SIGMA_FIELDS)
        )
    sigma_id = _text(path, "sigma.id", value.get("id"))
    level = value.get("level")
    if level is not None:
        _text(path, "sigma.level", level)
    return SigmaMeta(
        id=sigma_id,
        level=level,
        tags=_strings(path, "sigma.tags", value.get("tags", [])),
        references=_strings(path, "sigma.references", value.get("references", [])),
    )


# -------------------------------------------------------------------------------------------------- cases


def load_cases(path: Path | str) -> tuple[RuleCase, ...]:
    """A rule's cases file: every line well formed, at least one ``match`` and one ``no-match``."""
    cases_path = Path(path)
    if not cases_path.is_file():
        raise RuleFileError(
            cases_path,
            "(file)",
            str(cases_path),
            "every rule needs its cases file: one JSON object a line, "
            '{"expect": "match" | "no-match", "case": "<why>", "record": {<CloudTrail record>}}',
        )
    cases: list[RuleCase] = []
    for number, line in enumerate(cases_path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            cases.append(_case(cases_path, number, line))
    for expectation in ("match", "no-match"):
        if not any(case.expect == expectation for case in cases):
            raise RuleFileError(
                cases_path,
                "expect",
                expectation,
                f'missing: add at least one case with "expect": "{expectation}" (a record the rule must '
                f"{'match' if expectation == 'match' else 'ignore: a near miss'})",
            )
    return tuple(cases)


def _case(path: Path, number: int, line: str) -> RuleCase:
    where = f"line {number}"
    try:
        entry = json.loads(line)
    except ValueError as error:
        raise RuleFileError(path, where, line, f"not JSON ({error}); one JSON object per line") from None
    if not isinstance(entry, dict):
        raise RuleFileError(path, where, entry, "expected a JSON object with expect, case and record")
    keys = set(entry)
    if keys != set(_CASE_FIELDS):
        extra = sorted(keys - set(_CASE_FIELDS))
        missing = sorted(set(_CASE_FIELDS) - keys)
        problem = f"unknown key {extra[0]!r}" if extra else f"missing key {missing[0]!r}"
        raise RuleFileError(
            path, where, sorted(keys), f"{problem}; the keys are exactly expect, case, record"
        )
    expect = entry["expect"]
    if expect not in ("match", "no-match"):
        raise RuleFileError(path, f"{where}: expect", expect, 'expected "match" or "no-match"')
    case_name = entry["case"]
    if not isinstance(case_name, str) or not case_name.strip():
        raise RuleFileError(path, f"{where}: case", case_name, "expected a non-empty string saying why")
    record = entry["record"]
    if not isinstance(record, dict):
        raise RuleFileError(
            path, f"{where}: record", record, "expected the whole CloudTrail record (an object)"
        )
    return RuleCase(expect=expect, case=case_name, record=record, line=number)


def case_failures(detection: Detection, cases: Iterable[RuleCase]) -> list[str]:
    """Each case whose outcome differs from its ``expect``, checked both ways CloudWatch sees a record: the
    parsed record and the one-line JSON message a metric filter reads. Empty list: every case passes."""
    patterns = [compile_pattern(text) for text in detection.all_patterns]
    failures = []
    for case in cases:
        message = json.dumps(case.record, separators=(",", ":"))
        as_record = any(pattern.matches_json(case.record) for pattern in patterns)
        as_message = any(pattern.matches(message) for pattern in patterns)
        if as_record != case.should_match or as_message != case.should_match:
            outcome = "matched" if as_record or as_message else "did not match"
            failures.append(
                f"{detection.id}: case on line {case.line} ({case.case!r}) expects {case.expect} but the "
                f"rule {outcome}"
            )
    return failures


# ------------------------------------------------------------------------------------------------- lookup


def detection_lookup(detections: Iterable[Detection]) -> Callable[[str], Detection]:
    """``get(id)`` over these detections: KeyError naming the known ids for an unknown one."""
    by_id = {detection.id: detection for detection in detections}

    def get(detection_id: str) -> Detection:
        try:
            return by_id[detection_id]
        except KeyError:
            known = ", ".join(by_id)
            raise KeyError(f"Unknown detection id {detection_id!r}. Known ids: {known}") from None

    return get
