"""A DuckDB stand-in for Athena's CloudTrail table: the same columns, each row built as the SerDe would.

Model of the Hive JSON SerDe used by AWS's documented table (an assumption written down, not measured on
Athena): keys match columns case-insensitively; a string column holds a JSON string's text, a number's or
boolean's JSON text, an object's or array's compact JSON text, and NULL for both a JSON null and an absent
key; a struct column is filled field by field the same way (NULL when the record's value is not an object);
the JSON-text columns (requestparameters, ...) hold the value's compact JSON text, NULL for null/absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb
import sqlglot

from detections.targets.sql import COLUMNS, CompiledDetection

TABLE = "cloudtrail_logs"


def duckdb_type(hive: str) -> str:
    """Hive DDL type (string, struct<a:string,...>, array<...>) as a DuckDB type."""
    hive = hive.strip()
    if hive == "string":
        return "VARCHAR"
    if hive.startswith("array<") and hive.endswith(">"):
        return duckdb_type(hive[6:-1]) + "[]"
    if hive.startswith("struct<") and hive.endswith(">"):
        fields = [f"{name} {duckdb_type(kind)}" for name, kind in _struct_fields(hive[7:-1])]
        return f"STRUCT({', '.join(fields)})"
    raise ValueError(f"no DuckDB type for Hive type {hive!r}")


def _struct_fields(body: str) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    depth, start = 0, 0
    for index, char in enumerate(body + ","):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            name, _, kind = body[start:index].partition(":")
            fields.append((name.strip(), kind.strip()))
            start = index + 1
    return fields


def _lookup(record: Mapping[str, Any], column: str) -> Any:
    for key, value in record.items():
        if key.lower() == column:
            return value
    return None


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _as_json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _cell(value: Any, hive: str, json_text: bool) -> Any:
    if hive.startswith("struct<"):
        if not isinstance(value, Mapping):
            return None
        return {name: _cell(_lookup(value, name), kind, False) for name, kind in _struct_fields(hive[7:-1])}
    if hive.startswith("array<"):
        if not isinstance(value, list):
            return None
        return [_cell(item, hive[6:-1], False) for item in value]
    return _as_json_text(value) if json_text else _as_text(value)


_JSON_TEXT_COLUMNS = frozenset(
    ("requestparameters", "responseelements", "additionaleventdata", "serviceeventdetails")
)


def serde_row(record: Mapping[str, Any]) -> list[Any]:
    return [_cell(_lookup(record, name), hive, name in _JSON_TEXT_COLUMNS) for name, hive in COLUMNS]


def load_table(records: Sequence[Mapping[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    columns = ", ".join(f"{name} {duckdb_type(hive)}" for name, hive in COLUMNS)
    connection.execute(f"CREATE TABLE {TABLE} (row_number INTEGER, {columns})")
    placeholders = ", ".join("?" for _ in range(len(COLUMNS) + 1))
    connection.executemany(
        f"INSERT INTO {TABLE} VALUES ({placeholders})",
        [[number, *serde_row(record)] for number, record in enumerate(records)],
    )
    return connection


def to_duckdb(trino_sql: str) -> str:
    return sqlglot.transpile(trino_sql, read="trino", write="duckdb")[0]


def sql_verdicts(
    connection: duckdb.DuckDBPyConnection, compiled: Iterable[CompiledDetection]
) -> dict[str, list[bool]]:
    """Per detection, the verdict for each row in row order, from the Trino SQL transpiled to DuckDB."""
    detections = list(compiled)
    selects = ", ".join(f"{to_duckdb(d.sql())} AS c{n}" for n, d in enumerate(detections))
    rows = connection.execute(f"SELECT {selects} FROM {TABLE} ORDER BY row_number").fetchall()
    return {d.detection_id: [bool(row[n]) for row in rows] for n, d in enumerate(detections)}
