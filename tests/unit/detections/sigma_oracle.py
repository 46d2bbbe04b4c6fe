"""An independent evaluator of Sigma rules: pySigma's SQLite backend, run by Python's sqlite3.

It shares nothing with the importer: the backend turns the Sigma YAML into SQL on its own, and SQLite
evaluates that SQL over records flattened to dotted column names (``userIdentity.type``), the field naming
the Sigma CloudTrail rules use. Nested objects become their leaves, arrays their indexed elements (``a.0``),
so a field naming an object or an array is absent for the oracle, as it is unmatchable for a filter pattern.
The backend's REGEXP is supplied here with Python's ``re.search`` (unanchored, as Sigma specifies).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from typing import Any

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.rule import SigmaRule


def flatten(record: object, prefix: str = "", out: dict[str, object] | None = None) -> dict[str, object]:
    out = {} if out is None else out
    if isinstance(record, dict):
        for key, value in record.items():
            flatten(value, f"{prefix}{key}.", out)
    elif isinstance(record, list):
        for index, value in enumerate(record):
            flatten(value, f"{prefix}{index}.", out)
    elif prefix:
        out[prefix[:-1]] = record
    return out


def _fields(node: object, found: set[str]) -> set[str]:
    if isinstance(node, ConditionFieldEqualsValueExpression):
        found.add(node.field)
    for arg in getattr(node, "args", ()) or ():
        _fields(arg, found)
    return found


def _regexp(pattern: str, value: object) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


class SigmaOracle:
    """``matches(records)`` -> one bool per record, as the Sigma rule (one rule per YAML text) decides."""

    def __init__(self, rule_yaml: str) -> None:
        collection = SigmaCollection.from_yaml(rule_yaml)
        (rule,) = collection.rules
        assert isinstance(rule, SigmaRule)
        (self.sql,) = sqliteBackend().convert(collection)
        self.columns = sorted(_fields(rule.detection.parsed_condition[0].parsed, set()))

    def matches(self, records: Sequence[dict[str, Any]]) -> list[bool]:
        connection = sqlite3.connect(":memory:")
        try:
            connection.create_function("regexp", 2, _regexp, deterministic=True)
            quoted = ", ".join(f'"{column}"' for column in ["_row", *self.columns])
            connection.execute(f"CREATE TABLE logs ({quoted})")
            rows = []
            for index, record in enumerate(records):
                flat = flatten(record)
                rows.append([index, *(_sqlite_value(flat.get(column)) for column in self.columns)])
            marks = ", ".join("?" for _ in range(len(self.columns) + 1))
            connection.executemany(f"INSERT INTO logs VALUES ({marks})", rows)
            cursor = connection.execute(self.sql)
            row_index = [d[0] for d in cursor.description].index("_row")
            hits = {row[row_index] for row in cursor.fetchall()}
        finally:
            connection.close()
        return [index in hits for index in range(len(records))]


def _sqlite_value(value: object) -> object:
    # sqlite3 stores bool as 0/1 already; anything else non-scalar cannot occur after flatten().
    return value
