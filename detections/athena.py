"""The backtest summary from Athena: one query over the CloudTrail table, restricted to some partitions.

The table (see detections/targets/sql.py for its row model) is partitioned by ``account``, ``region`` and
``timestamp`` (``yyyy/MM/dd``) with partition projection, for a single-account trail and an organization trail
alike (only the S3 location template differs). The query aggregates in Athena, so what comes back is one row
per (detection, principal, source IP, day), never one row per record. The client takes its boto3 client as an
argument; ``run_query`` owns the start/poll/paginate/cancel flow.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from detections.catalogue import Detection
from detections.summary import ReplaySummary
from detections.targets.sql import CompiledDetection, SqlRefusal, compile_catalogue

#: Athena's price for SQL queries: $5 per TB scanned, billed per query rounded up to the next MB with a 10 MB
#: minimum (https://aws.amazon.com/athena/pricing/). AWS does not say whether TB is 10^12 or 2^40 bytes; the
#: lower, 10^12, gives the higher (safer) estimate.
USD_PER_TB = 5.0
BYTES_PER_TB = 10**12
MINIMUM_BILLED_BYTES = 10 * 10**6

_RECORD = "#record"
_MATCHED_RECORD = "#matched-record"
_PRINCIPAL_SQL = (
    "COALESCE(NULLIF(useridentity.arn, ''), NULLIF(useridentity.username, ''), "
    "NULLIF(useridentity.principalid, ''), NULLIF(useridentity.invokedby, ''), "
    "NULLIF(useridentity.type, ''), "
    "'unknown')"
)


class AthenaQueryError(RuntimeError):
    """The query ended FAILED or CANCELLED; the message carries Athena's reason."""

    def __init__(self, state: str, reason: str, execution_id: str) -> None:
        self.state = state
        self.reason = reason
        self.execution_id = execution_id
        super().__init__(f"Athena query {execution_id} {state}: {reason}")


def billed_cost_usd(bytes_scanned: int) -> float:
    billed = max(MINIMUM_BILLED_BYTES, math.ceil(bytes_scanned / 10**6) * 10**6)
    return billed / BYTES_PER_TB * USD_PER_TB


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def partition_filter(
    since: date, until: date, accounts: Sequence[str] = (), regions: Sequence[str] = ()
) -> str:
    """Partition columns only, so projection reads just those prefixes (days inclusive)."""
    if until < since:
        raise ValueError(f"--until {until} is before --since {since}; swap them")
    parts = [
        f'"timestamp" BETWEEN {_quote(since.strftime("%Y/%m/%d"))} AND {_quote(until.strftime("%Y/%m/%d"))}'
    ]
    if accounts:
        parts.append(f"account IN ({', '.join(_quote(a) for a in accounts)})")
    if regions:
        parts.append(f"region IN ({', '.join(_quote(r) for r in regions)})")
    return " AND ".join(parts)


def summary_query(table: str, compiled: Sequence[CompiledDetection], where: str) -> str:
    """One pass over the table: per (detection, principal, source IP, day) counts and first/last eventTime.

    Each record also contributes one ``#record`` or ``#matched-record`` row, so totals need no second scan.
    """
    labels = ", ".join(f"IF({d.sql()}, {_quote(d.detection_id)})" for d in compiled)
    return (
        "WITH scoped AS (\n"
        f"  SELECT NULLIF(eventtime, '') AS eventtime, {_PRINCIPAL_SQL} AS principal,\n"
        "    COALESCE(NULLIF(sourceipaddress, ''), 'unknown') AS source_ip,\n"
        f"    filter(ARRAY[{labels}], x -> x IS NOT NULL) AS matched\n"
        f"  FROM {table}\n"
        f"  WHERE {where}\n"
        ")\n"
        "SELECT label, principal, source_ip, COALESCE(substr(eventtime, 1, 10), 'unknown') AS day,\n"
        "  count(*) AS n, min(eventtime) AS first_seen, max(eventtime) AS last_seen\n"
        "FROM scoped CROSS JOIN UNNEST(concat(ARRAY[IF(cardinality(matched) > 0, "
        f"{_quote(_MATCHED_RECORD)}, {_quote(_RECORD)})], matched)) AS t(label)\n"
        "GROUP BY 1, 2, 3, 4"
    )


#: What a saved query shows of each matching record: enough to triage, never the whole row.
_DETECTION_QUERY_COLUMNS = (
    "eventtime, eventsource, eventname, awsregion, account, sourceipaddress, "
    f"{_PRINCIPAL_SQL} AS principal, errorcode, eventid"
)


def detection_query(table: str, detection: CompiledDetection) -> str:
    """One detection's matching records: the saved (named) query the stack creates per detection.

    The two ``?`` are Athena execution parameters, the first and last day as 'yyyy/MM/dd' (inclusive), on the
    partition column, so the console asks for them and the query reads only those days' partitions.
    """
    return (
        f"SELECT {_DETECTION_QUERY_COLUMNS}\n"
        f"FROM {table}\n"
        'WHERE "timestamp" BETWEEN ? AND ?\n'
        f"  AND {detection.sql()}\n"
        "ORDER BY eventtime"
    )


def summary_from_rows(detection_ids: Sequence[str], rows: Iterator[Sequence[str | None]]) -> ReplaySummary:
    """Rebuild a ReplaySummary from the summary query's rows (label, principal, ip, day, n, first, last)."""
    summary = ReplaySummary(tuple(detection_ids))
    for label, principal, source_ip, day, count_text, first, last in rows:
        count = int(count_text or 0)
        if label in (_RECORD, _MATCHED_RECORD):
            summary.records += count
            if label == _MATCHED_RECORD:
                summary.matched_records += count
            continue
        assert label is not None
        summary.stats[label].add_group(
            count, first, last, principal or "unknown", source_ip or "unknown", day or "unknown"
        )
    return summary


@dataclass
class QueryOutcome:
    execution_id: str
    rows: list[list[str | None]]
    bytes_scanned: int
    polls: int

    @property
    def cost_usd(self) -> float:
        return billed_cost_usd(self.bytes_scanned)


def run_query(
    client: Any,
    sql: str,
    *,
    workgroup: str,
    database: str,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    max_bytes_scanned: int | None = None,
) -> QueryOutcome:
    """Start, poll until done, page through the results; stop the query on Ctrl-C or past the byte cutoff.

    The workgroup's own cutoff (BytesScannedCutoffPerQuery) is the hard limit; ``max_bytes_scanned`` lets a
    caller stop earlier and is checked against the running statistics at each poll.
    """
    started = client.start_query_execution(
        QueryString=sql, WorkGroup=workgroup, QueryExecutionContext={"Database": database}
    )
    execution_id: str = started["QueryExecutionId"]
    polls = 0
    try:
        while True:
            execution = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            polls += 1
            state = execution["Status"]["State"]
            scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0) or 0)
            if state in ("FAILED", "CANCELLED"):
                reason = execution["Status"].get("StateChangeReason", "no reason given")
                raise AthenaQueryError(state, reason, execution_id)
            if state == "SUCCEEDED":
                break
            if max_bytes_scanned is not None and scanned > max_bytes_scanned:
                client.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryError(
                    "CANCELLED",
                    f"stopped after {scanned:,} bytes (limit {max_bytes_scanned:,})",
                    execution_id,
                )
            sleep(poll_seconds)
    except KeyboardInterrupt:
        client.stop_query_execution(QueryExecutionId=execution_id)
        raise
    rows: list[list[str | None]] = []
    header_skipped = False
    for page in client.get_paginator("get_query_results").paginate(QueryExecutionId=execution_id):
        for row in page["ResultSet"]["Rows"]:
            if not header_skipped:
                header_skipped = True  # Athena's first row of a SELECT holds the column names
                continue
            rows.append([cell.get("VarCharValue") for cell in row["Data"]])
    return QueryOutcome(execution_id, rows, scanned, polls)


@dataclass
class AthenaBacktest:
    summary: ReplaySummary
    outcome: QueryOutcome
    refused: list[SqlRefusal] = field(default_factory=list)


def backtest_athena(
    client: Any,
    detections: Sequence[Detection],
    *,
    table: str,
    database: str,
    workgroup: str,
    where: str,
    **options: Any,
) -> AthenaBacktest:
    compiled, refused = compile_catalogue(detections)
    outcome = run_query(
        client, summary_query(table, compiled, where), workgroup=workgroup, database=database, **options
    )
    summary = summary_from_rows([d.detection_id for d in compiled], iter(outcome.rows))
    return AthenaBacktest(summary, outcome, refused)
