"""``investigate --source athena``: the SQL's verdicts equal the local investigate's (DuckDB over the
SerDe-shaped table), and the command's flow and row mapping against moto's Athena over HTTP (moto returns
the rows we register: that part proves our client, not Athena's SQL)."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from detections.cli_investigate import add_arguments, build_query, investigate
from detections.investigate import UsageError, row_of
from detections.investigate_athena import SELECTED_COLUMNS, filter_sql, investigate_sql, record_of_row
from detections.naming import ATHENA_DATABASE, ATHENA_TABLE, ATHENA_WORKGROUP
from lambdas.forwarder.enrichment import summarize
from testkit.moto_harness import MotoHarness
from testkit.rule_cases import catalogue_case_records
from tests.investigate.trail_data import ACCOUNT, CULPRIT_ARN, CULPRIT_IP, REGION, Scenario, stamp
from tests.unit.detections.athena_table import load_table, to_duckdb

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """The Tuesday scenario (3,000 background events and the DeleteTable) plus every catalogue case record,
    moved into the week before NOW so the time filters see them."""
    from tests.investigate.trail_data import tuesday_scenario

    scenario: Scenario = tuesday_scenario(NOW)
    cases = []
    for number, (_, record) in enumerate(catalogue_case_records()):
        moved = dict(record)
        moved["eventTime"] = stamp(NOW - timedelta(days=2, minutes=number))
        cases.append(moved)
    return [*scenario.records, *cases]


@pytest.fixture(scope="module")
def table(records: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    connection = load_table(records)
    # The partition columns the table projects from the key layout (here: the day of the event)
    connection.execute(
        f"CREATE VIEW partitioned AS SELECT *, '{ACCOUNT}' AS account, '{REGION}' AS region, "
        "replace(substr(eventtime, 1, 10), '-', '/') AS \"timestamp\" FROM cloudtrail_logs"
    )
    return connection


def _athena_rows(table: duckdb.DuckDBPyConnection, argv: list[str], limit: int = 100_000) -> list[list[Any]]:
    query = build_query(_args(argv), NOW)
    rows = table.execute(to_duckdb(investigate_sql("partitioned", query, limit))).fetchall()
    return [[None if value is None else str(value) for value in row] for row in rows]


def _key(row: dict[str, str]) -> str:
    return json.dumps(row, sort_keys=True)


QUESTIONS = [
    ["--event-name", "DeleteTable", "--since", "8d"],
    ["--principal", CULPRIT_ARN, "--since", "8d"],
    ["--principal", "mallory", "--since", "8d"],
    ["--principal", "AKIAIOSFODNN7EXAMPLE", "--since", "30d"],
    ["--source-ip", CULPRIT_IP, "--source-ip", "198.51.100.*", "--since", "8d"],
    ["--account", ACCOUNT, "--region", REGION, "--event-name", "DescribeTable", "--since", "8d"],
    ["--detection", "root-account-usage", "--since", "30d"],
    ["--detection", "console-signin-without-mfa", "--detection", "unauthorized-api-calls", "--since", "30d"],
    [
        "--pattern",
        '{ $.errorCode = "AccessDenied" || $.errorCode = "*UnauthorizedOperation" }',
        "--since",
        "8d",
    ],
    ["--pattern", '{ $.requestParameters.tableName = "orders" }', "--since", "30d"],
    ["--since", "3d", "--until", "1d"],
    ["--detection", "iam-policy-changes", "--account", ACCOUNT, "--since", "30d"],
    ["--since", "30d"],
]


@pytest.mark.parametrize("argv", QUESTIONS, ids=lambda argv: " ".join(argv))
def test_the_sql_finds_what_the_local_investigate_finds(
    argv: list[str], records: list[dict[str, Any]], table: duckdb.DuckDBPyConnection
) -> None:
    # Given the records as table rows, when the investigate SQL runs (Trino text -> DuckDB)
    found = [record_of_row(row) for row in _athena_rows(table, argv)]
    # Then it returns the records the local investigate matches, as the same output rows and summary
    query = build_query(_args(argv), NOW)
    expected = [record for record in records if query.matches(record)]
    assert expected, "a question that matches nothing proves little"
    assert sorted(map(_key, map(row_of, found))) == sorted(map(_key, map(row_of, expected)))
    by_row = sorted(found, key=lambda r: _key(row_of(r)))
    local = sorted(expected, key=lambda r: _key(row_of(r)))
    assert {k: v for k, v in summarize(by_row).items() if k != "event_sources"} == {
        k: v for k, v in summarize(local).items() if k != "event_sources"
    }


def test_the_range_reads_only_its_day_partitions_plus_one() -> None:
    query = build_query(_args(["--since", "2026-11-20T10:00:00Z", "--until", "2026-11-21T23:00:00Z"]), NOW)
    sql = investigate_sql("t", query, 10)
    assert "\"timestamp\" BETWEEN '2026/11/20' AND '2026/11/22'" in sql
    assert "BETWEEN '2026-11-20T10:00:00Z' AND '2026-11-21T23:00:00Z'" in sql


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--resource", "orders"], "$.resources[*].ARN"),
        (["--pattern", "AccessDenied"], "raw JSON text"),
    ],
)
def test_filters_the_table_cannot_answer_are_refused_with_the_reason(argv: list[str], reason: str) -> None:
    with pytest.raises(UsageError) as refused:
        filter_sql(build_query(_args(argv), NOW))
    assert refused.value.option == "--source athena"
    assert reason in str(refused.value) and "--source files/s3/logs" in str(refused.value)


# --- The command against moto's Athena over HTTP ------------------------------------------------------------


@pytest.fixture(scope="module")
def athena() -> Iterator[tuple[MotoHarness, Any]]:
    with MotoHarness() as aws:
        client = aws.client("athena")
        client.create_work_group(Name=ATHENA_WORKGROUP, Configuration={})
        yield aws, client


def _queue_results(aws: MotoHarness, rows: list[list[str | None]]) -> None:
    aws.queue_athena_results(rows, columns=SELECTED_COLUMNS)


def _started_queries(client: Any) -> list[str]:
    ids = client.list_query_executions(WorkGroup=ATHENA_WORKGROUP)["QueryExecutionIds"]
    return [client.get_query_execution(QueryExecutionId=i)["QueryExecution"]["Query"] for i in ids]


def test_investigate_over_athena_prints_the_rows_and_the_cost(
    athena: tuple[MotoHarness, Any], records: list[dict[str, Any]], table: duckdb.DuckDBPyConnection
) -> None:
    aws, client = athena
    argv = ["--event-name", "DeleteTable", "--since", "8d"]
    rows = _athena_rows(table, argv)  # what Athena would return for this SQL (DuckDB's answer)
    _queue_results(aws, rows)
    out, err = io.StringIO(), io.StringIO()
    code = investigate(
        _args([*argv, "--source", "athena", "--format", "json"]),
        out=out,
        err=err,
        now=NOW,
        clients={"athena": client},
    )
    assert code == 0, err.getvalue()
    events = json.loads(out.getvalue())["events"]
    query = build_query(_args(argv), NOW)
    expected = sorted((r for r in records if query.matches(r)), key=lambda r: str(r["eventTime"]))
    assert events == [row_of(r) for r in expected] and len(events) == 1
    assert any(event["principal"] == CULPRIT_ARN and event["source_ip"] == CULPRIT_IP for event in events)
    assert "bytes scanned, about $" in err.getvalue()
    assert f"Athena {ATHENA_DATABASE}.{ATHENA_TABLE}: 1 events read in 1 requests" in err.getvalue()
    sent = _started_queries(client)[-1]
    assert "'DeleteTable'" in sent and '"timestamp" BETWEEN' in sent


def test_max_events_stops_and_says_so(
    athena: tuple[MotoHarness, Any], table: duckdb.DuckDBPyConnection
) -> None:
    aws, client = athena
    argv = ["--since", "8d"]
    rows = _athena_rows(table, argv, limit=4)  # the query asks for --max-events + 1 rows
    _queue_results(aws, rows)
    out, err = io.StringIO(), io.StringIO()
    code = investigate(
        _args([*argv, "--source", "athena", "--format", "jsonl", "--max-events", "3"]),
        out=out,
        err=err,
        now=NOW,
        clients={"athena": client},
    )
    assert code == 1
    assert len(out.getvalue().splitlines()) == 3
    assert "INCOMPLETE: --max-events 3 reached" in err.getvalue()
    assert "LIMIT 4" in _started_queries(client)[-1]


def test_a_refused_filter_starts_no_query(athena: tuple[MotoHarness, Any]) -> None:
    _, client = athena
    before = len(_started_queries(client))
    err = io.StringIO()
    code = investigate(
        _args(["--resource", "orders", "--source", "athena"]),
        out=io.StringIO(),
        err=err,
        now=NOW,
        clients={"athena": client},
    )
    assert code == 2 and "error: --source athena: " in err.getvalue()
    assert len(_started_queries(client)) == before


def test_athena_takes_no_paths(tmp_path: Any) -> None:
    err = io.StringIO()
    assert investigate(_args([str(tmp_path), "--source", "athena"]), out=io.StringIO(), err=err, now=NOW) == 2
    assert "--source athena reads no files" in err.getvalue()
