"""``investigate --source athena``: the investigate filters as one SQL query over the CloudTrail table.

The filters are the same compiled filter pattern(s) the other sources use (``Query.patterns``), turned into a
WHERE clause by the backtest's compiler (detections/targets/sql.py) from their parsed form; what that
compiler refuses (``--resource``'s wildcard selectors, raw-text patterns, ...) is refused here with its
reason. The time range is the same string test as ``TimeRange.contains_event_time``, and the day partitions
of the range bound what Athena reads. Each result row carries the fields ``row_of`` and the evidence summary
read, and is turned back into a (partial) CloudTrail record, so the output rows are the other sources' rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, TextIO

from detections.athena import AthenaQueryError, partition_filter, run_query
from detections.investigate import Query, UsageError
from detections.investigate_sources import Coverage, SourceStopped
from detections.targets.sql import SqlUnsupported, compile_expression

#: (SQL select expression, path of the CloudTrail record field it fills). Text columns hold the JSON
#: string's text; the JSON-text columns hold JSON, parsed back; resources is rebuilt from its ARNs.
_SELECTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("eventtime", ("eventTime",)),
    ("eventsource", ("eventSource",)),
    ("eventname", ("eventName",)),
    ("errorcode", ("errorCode",)),
    ("recipientaccountid", ("recipientAccountId",)),
    ("awsregion", ("awsRegion",)),
    ("sourceipaddress", ("sourceIPAddress",)),
    ("useragent", ("userAgent",)),
    ("useridentity.type", ("userIdentity", "type")),
    ("useridentity.arn", ("userIdentity", "arn")),
    ("useridentity.username", ("userIdentity", "userName")),
    ("useridentity.accesskeyid", ("userIdentity", "accessKeyId")),
    (
        "useridentity.sessioncontext.attributes.mfaauthenticated",
        ("userIdentity", "sessionContext", "attributes", "mfaAuthenticated"),
    ),
    (
        "useridentity.sessioncontext.sessionissuer.arn",
        ("userIdentity", "sessionContext", "sessionIssuer", "arn"),
    ),
    ("requestparameters", ("requestParameters",)),
    ("additionaleventdata", ("additionalEventData",)),
    ("array_join(transform(resources, r -> r.arn), ' ')", ("resources",)),
)
#: How many columns the investigate query returns.
SELECTED_COLUMNS = len(_SELECTED)

_JSON_TEXT = {("requestParameters",), ("additionalEventData",)}


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def filter_sql(query: Query) -> str:
    """The filters and the time range as one SQL condition; UsageError when the table cannot answer it."""
    alternatives = []
    for pattern in query.patterns:
        if pattern.kind == "all":
            alternatives.append("TRUE")
            continue
        if pattern.json_expression is None:
            raise UsageError(
                "--source athena",
                f"{pattern.source!r} is a {pattern.kind} pattern, which matches the record's raw JSON text; "
                "the table does not hold it. Use a JSON pattern, or --source files/s3/logs",
            )
        try:
            alternatives.append(compile_expression(pattern.json_expression))
        except SqlUnsupported as error:
            raise UsageError(
                "--source athena",
                f"the filters cannot be answered exactly by the CloudTrail table: {error}. Drop that filter "
                "(e.g. --resource), or use --source files/s3/logs",
            ) from None
    time = (
        f"substr(eventtime, 1, 19) || 'Z' BETWEEN {_sql_text(query.time.start_text)} "
        f"AND {_sql_text(query.time.end_text)}"
    )
    return f"COALESCE(({' OR '.join(f'({a})' for a in alternatives)}) AND {time}, FALSE)"


def investigate_sql(table: str, query: Query, limit: int) -> str:
    """The query: the filters, within the day partitions of the range (plus one day: CloudTrail files a
    record under the day it delivers it, which can be the day after the event), oldest first."""
    first = query.time.start.date()
    last = query.time.end.date() + timedelta(days=1)
    columns = ",\n  ".join(expression for expression, _ in _SELECTED)
    return (
        f"SELECT {columns}\n"
        f"FROM {table}\n"
        f"WHERE {partition_filter(first, last)}\n"
        f"  AND {filter_sql(query)}\n"
        "ORDER BY eventtime\n"
        f"LIMIT {limit}"
    )


def record_of_row(row: Sequence[str | None]) -> dict[str, object]:
    """A result row as the CloudTrail record fields ``row_of`` and ``summarize`` read (absent when NULL)."""
    record: dict[str, Any] = {}
    for (_, path), value in zip(_SELECTED, row, strict=True):
        if value is None:
            continue
        parsed: object = value
        if path in _JSON_TEXT:
            parsed = json.loads(value)
        elif path == ("resources",):
            parsed = [{"ARN": arn} for arn in value.split(" ") if arn]
        target = record
        for key in path[:-1]:
            target = target.setdefault(key, {})
        target[path[-1]] = parsed
    return record


def athena_records(
    client: Any,
    query: Query,
    coverage: Coverage,
    max_events: int,
    err: TextIO,
    *,
    database: str,
    table: str,
    workgroup: str,
    **options: Any,
) -> Iterator[dict[str, object]]:
    """The matching records, oldest first; bytes scanned and cost on ``err``."""
    sql = investigate_sql(f'"{database}"."{table}"', query, max_events + 1)  # UsageError before any call
    coverage.requests += 1
    try:
        outcome = run_query(client, sql, workgroup=workgroup, database=database, **options)
    except AthenaQueryError as error:
        coverage.stopped = str(error)
        raise SourceStopped from None
    err.write(
        f"athena: query {outcome.execution_id}: {outcome.bytes_scanned:,} bytes scanned, "
        f"about ${outcome.cost_usd:.6f}\n"
    )
    for number, row in enumerate(outcome.rows):
        if number == max_events:
            coverage.stopped = f"--max-events {max_events:,} reached"
            raise SourceStopped
        record = record_of_row(row)
        coverage.saw(record)
        yield record
