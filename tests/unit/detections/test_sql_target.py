"""The catalogue as Athena SQL: parses as Trino, and (transpiled to DuckDB) agrees with the engine per record.

DuckDB is the independent SQL engine here; the table is built the way Athena's CloudTrail SerDe would build
it (tests/unit/detections/athena_table.py). Every disagreement fails the test and is listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import sqlglot

from detections.catalogue import CATALOGUE, Detection
from detections.filter_pattern import compile_pattern
from detections.targets.sql import (
    CompiledDetection,
    SqlRefusal,
    compile_catalogue,
    compile_detection,
    compile_pattern_text,
)
from testkit.rule_cases import catalogue_case_records
from tests.corpus.corpus import all_corpus_files, iter_corpus
from tests.unit.detections.athena_table import load_table, sql_verdicts, to_duckdb

Labelled = tuple[str, dict[str, Any]]


def engine_verdict(detection: Detection, record: dict[str, Any]) -> bool:
    return any(compile_pattern(text).matches_json(record) for text in detection.all_patterns)


def disagreements(records: Sequence[Labelled]) -> list[str]:
    compiled, _ = compile_catalogue()
    by_id = {d.id: d for d in CATALOGUE}
    verdicts = sql_verdicts(load_table([record for _, record in records]), compiled)
    found = []
    for detection_id, column in verdicts.items():
        for (label, record), sql_says in zip(records, column, strict=True):
            engine_says = engine_verdict(by_id[detection_id], record)
            if sql_says != engine_says:
                found.append(f"{detection_id} on [{label}]: engine {engine_says}, SQL {sql_says}")
    return found


def test_every_detection_compiles_or_is_refused_with_a_reason():
    compiled, refused = compile_catalogue()
    assert len(compiled) + len(refused) == len(CATALOGUE)
    assert all(r.reason for r in refused)
    # Only the Insights detection reads a field the documented table has no column for (insightDetails);
    # any other refusal would be a regression.
    assert {r.detection_id: r.reason for r in refused} == {
        detection_id: reason for detection_id, reason in EXPECTED_REFUSALS.items()
    }


EXPECTED_REFUSALS = {
    "cloudtrail-insights-unusual-activity": "pattern: $.insightDetails.state: the CloudTrail table has no "
    "text or JSON-text column for this path (or it is a struct, an array of structs or a non-string field)",
}


@pytest.mark.parametrize(
    "detection", [d for d in CATALOGUE if d.id not in EXPECTED_REFUSALS], ids=lambda d: d.id
)
def test_sql_parses_as_trino_and_transpiles_to_duckdb(detection: Detection):
    result = compile_detection(detection)
    assert isinstance(result, CompiledDetection)
    text = result.sql()
    assert sqlglot.parse_one(text, read="trino") is not None
    assert to_duckdb(text)


def test_sql_agrees_with_the_engine_on_the_catalogue_cases():
    records = list(catalogue_case_records())
    assert len(records) > 100
    assert disagreements(records) == []


@pytest.mark.corpus
def test_sql_agrees_with_the_engine_on_the_shared_corpus():
    records = [(item.record_id, item.event) for path in all_corpus_files() for item in iter_corpus(path)]
    assert len(records) > 1000
    assert disagreements(records) == []


# --- Semantics the catalogue does not exercise: generated records, one operator at a time ----------------

PROBES: list[dict[str, Any]] = [
    {"eventName": "X"},
    {"eventName": "X", "errorCode": "AccessDenied"},
    {"eventName": "X", "errorCode": "ThrottlingException"},
    {"eventName": "X", "requestParameters": None},
    {"eventName": "X", "requestParameters": {}},
    {"eventName": "X", "requestParameters": {"a": None}},
    {"eventName": "X", "requestParameters": {"a": "200"}},
    {"eventName": "X", "requestParameters": {"a": 200}},
    {"eventName": "X", "requestParameters": {"a": 200.5}},
    {"eventName": "X", "requestParameters": {"a": -3}},
    {"eventName": "X", "requestParameters": {"a": True}},
    {"eventName": "X", "requestParameters": {"a": False}},
    {"eventName": "X", "requestParameters": {"a": "true"}},
    {"eventName": "X", "requestParameters": {"a": {"b": "x"}}},
    {"eventName": "X", "requestParameters": {"a": ["x", "y"]}},
    {"eventName": "X", "requestParameters": {"a": [{"b": "abc"}, {"b": 1}]}},
    {"eventName": "X", "requestParameters": {"a": "ab\"c'd\\e"}},
    {"eventName": "X", "requestParameters": {"a": "ünïcode ✓"}},
    {"eventName": "X", "requestParameters": {"a-b": "dash", "a b": "space"}},
    {"eventName": "X", "requestParameters": {"a": "a%b_c"}},
    {"eventName": "X", "requestParameters": {"a": ""}},
    {"eventName": "X", "userIdentity": {"type": "Root"}},
    {"eventName": "X", "userIdentity": {"type": "Root", "invokedBy": "s3.amazonaws.com"}},
]

PROBE_PATTERNS = [
    '{ $.requestParameters.a = "200" }',
    "{ $.requestParameters.a = 200 }",
    "{ $.requestParameters.a != 200 }",
    "{ $.requestParameters.a >= 200.5 }",
    "{ $.requestParameters.a < 0 }",
    '{ $.requestParameters.a != "200" }',
    "{ $.requestParameters.a = * }",
    "{ $.requestParameters.a != * }",
    '{ $.requestParameters.a = "a*" }',
    '{ $.requestParameters.a = "*c" }',
    '{ $.requestParameters.a = "*b*" }',
    '{ $.requestParameters.a != "*b*" }',
    '{ $.requestParameters.a = "a%b_c" }',
    '{ $.requestParameters.a = "ab\\"c\'d\\\\e" }',
    '{ $.requestParameters.a = "ünïcode ✓" }',
    '{ $.requestParameters.a = "" }',
    '{ $.requestParameters.a = "*✓" }',
    "{ $.requestParameters.a IS NULL }",
    "{ $.requestParameters.a IS TRUE }",
    "{ $.requestParameters.a IS FALSE }",
    "{ $.requestParameters.a NOT EXISTS }",
    "{ $.requestParameters.a.b NOT EXISTS }",
    '{ $.requestParameters.a.b = "x" }',
    '{ $.requestParameters.a[0] = "x" }',
    "{ $.requestParameters.a[1].b = 1 }",
    "{ $.requestParameters.a[0].b = %^a\\w+$% }",
    "{ $.requestParameters.a != %b% }",
    "{ $.requestParameters.['a-b'] = \"dash\" }",
    "{ $.requestParameters.['a b'] = \"space\" }",
    '{ $.requestParameters.a = "true" }',
    '{ $.userIdentity.invokedBy NOT EXISTS && $.userIdentity.type = "Root" }',
    '{ $.errorCode = "Access*" || $.requestParameters.a = 200 }',
    '{ $.errorCode != "AccessDenied" }',
    "{ $.errorCode = * }",
    "{ $.errorCode = %Denied$% }",
]


@pytest.mark.parametrize("pattern", PROBE_PATTERNS)
def test_generated_records_agree_operator_by_operator(pattern: str):
    detection = Detection("probe", "t", "d", "info", pattern, (), (), "r", "manual", "s")
    compiled = compile_detection(detection)
    assert isinstance(compiled, CompiledDetection), compiled
    column = sql_verdicts(load_table(PROBES), [compiled])["probe"]
    engine = [engine_verdict(detection, record) for record in PROBES]
    assert column == engine
    # `!= *` is documented never to match; every other probe must match something, or it proves little.
    assert any(engine) or pattern == "{ $.requestParameters.a != * }"


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("{ $.errorCode IS NULL }", "holds text"),
        ("{ $.eventName = 5 }", "holds text"),
        ("{ $.requestParameters NOT EXISTS }", "NULL both when"),
        ("{ $.requestParameters.a[*] = 1 }", "wildcard"),
        ("{ $.readOnly IS TRUE }", "no text or JSON-text column"),
        ('{ $.sourceIpAddress = "1.2.3.4" }', "no text or JSON-text column"),
        ('{ $.userIdentity.sessionContext.foo = "x" }', "no text or JSON-text column"),
        ("ERROR -DEBUG", "raw JSON text"),
        ("{ $.requestParameters.a = 12345678901234567890 }", "2**53"),
    ],
)
def test_inexpressible_patterns_are_refused_with_the_reason(pattern: str, reason: str):
    detection = Detection("probe", "t", "d", "info", pattern, (), (), "r", "manual", "s")
    result = compile_detection(detection)
    assert isinstance(result, SqlRefusal)
    assert reason in result.reason


def test_several_patterns_are_or_ed():
    text = compile_pattern_text('{ $.eventName = "A" }')
    detection = Detection(
        "probe",
        "t",
        "d",
        "info",
        '{ $.eventName = "A" }',
        (),
        (),
        "r",
        "manual",
        "s",
        additional_patterns=('{ $.eventName = "B" }',),
    )
    compiled = compile_detection(detection)
    assert isinstance(compiled, CompiledDetection)
    assert text in compiled.sql()
    verdicts = sql_verdicts(load_table([{"eventName": n} for n in "ABC"]), [compiled])["probe"]
    assert verdicts == [True, True, False]
