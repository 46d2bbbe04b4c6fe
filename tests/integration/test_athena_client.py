"""The Athena client's flow (start, poll, paginate, failed and cancelled queries, the bytes cutoff) against
moto's Athena over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from detections.athena import AthenaQueryError, run_query, summary_from_rows
from testkit.moto_harness import MotoHarness

# --- The client's flow against moto's Athena over HTTP --------------------------------------------------


@pytest.fixture(scope="module")
def moto_athena() -> Iterator[tuple[MotoHarness, Any]]:
    with MotoHarness() as aws:
        client = aws.client("athena")
        client.create_work_group(Name="backtest", Configuration={})
        yield aws, client


@pytest.fixture
def running_for_two_polls(moto_athena) -> Iterator[None]:
    """moto's executions go QUEUED -> RUNNING -> SUCCEEDED, one step per two GetQueryExecution calls."""
    aws, _ = moto_athena
    model = {"model_name": "athena::execution"}
    aws.moto_api(
        "state-manager/set-transition", {**model, "transition": {"progression": "manual", "times": 2}}
    )
    yield
    aws.moto_api("state-manager/unset-transition", model)


def _queue_results(aws: MotoHarness, rows: list[list[str | None]]) -> None:
    aws.queue_athena_results(rows, columns=len(rows[0]))


def test_run_query_polls_until_succeeded_and_reads_every_row(moto_athena, running_for_two_polls):
    aws, client = moto_athena
    rows: list[list[str | None]] = [
        ["#record", "p", "1.2.3.4", "2026-01-02", "7", "2026-01-02T00:00:00Z", "2026-01-02T09:00:00Z"],
        [
            "#matched-record",
            "p",
            "1.2.3.4",
            "2026-01-02",
            "2",
            "2026-01-02T01:00:00Z",
            "2026-01-02T02:00:00Z",
        ],
        ["root-account-usage", "arn:aws:iam::1:root", None, "2026-01-02", "2", "2026-01-02T01:00:00Z", None],
    ]
    _queue_results(aws, rows)
    slept: list[float] = []
    outcome = run_query(client, "SELECT 1", workgroup="backtest", database="db", sleep=slept.append)
    assert outcome.rows == rows  # header row dropped, NULL cells as None
    assert outcome.polls >= 3 and len(slept) == outcome.polls - 1  # it waited while QUEUED/RUNNING
    summary = summary_from_rows(["root-account-usage"], iter(outcome.rows))
    assert (summary.records, summary.matched_records) == (9, 2)
    assert summary.stats["root-account-usage"].source_ips == {"unknown": 2}


def test_ctrl_c_stops_the_query(moto_athena, running_for_two_polls):
    _, client = moto_athena

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_query(client, "SELECT 1", workgroup="backtest", database="db", sleep=interrupt)
    executions = client.list_query_executions(WorkGroup="backtest")["QueryExecutionIds"]
    states = {
        client.get_query_execution(QueryExecutionId=e)["QueryExecution"]["Status"]["State"]
        for e in executions
    }
    assert "CANCELLED" in states  # StopQueryExecution reached moto


class _ScriptedAthena:
    """moto never reports FAILED nor any bytes scanned, so these two paths use a scripted client."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses
        self.stopped: list[str] = []

    def start_query_execution(self, **_: Any) -> dict[str, str]:
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        return {"QueryExecution": self.statuses.pop(0)}

    def stop_query_execution(self, QueryExecutionId: str) -> None:
        self.stopped.append(QueryExecutionId)


def test_failed_query_raises_with_athenas_reason():
    client = _ScriptedAthena([{"Status": {"State": "FAILED", "StateChangeReason": "SYNTAX_ERROR: line 1"}}])
    with pytest.raises(AthenaQueryError, match="FAILED: SYNTAX_ERROR"):
        run_query(client, "SELECT", workgroup="w", database="d", sleep=lambda _: None)


def test_bytes_cutoff_stops_the_query():
    running = {"Status": {"State": "RUNNING"}, "Statistics": {"DataScannedInBytes": 5_000}}
    client = _ScriptedAthena([running])
    with pytest.raises(AthenaQueryError, match="limit 1,000"):
        run_query(
            client, "SELECT", workgroup="w", database="d", sleep=lambda _: None, max_bytes_scanned=1_000
        )
    assert client.stopped == ["q-1"]
