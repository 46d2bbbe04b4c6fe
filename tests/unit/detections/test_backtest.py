"""backtest: the process pool equals `match --summary`; the Athena query equals the local summary (DuckDB);
the Athena client's flow against moto's Athena over HTTP."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from benchmarks.replay_bench import generate_trail_files
from demo.moto_harness import FAKE_CREDENTIALS, MotoHarness
from detections.athena import (
    AthenaQueryError,
    billed_cost_usd,
    partition_filter,
    run_query,
    summary_from_rows,
    summary_query,
)
from detections.cli_backtest import run_local
from detections.cli_catalogue import replay
from detections.replay import CatalogueMatcher
from detections.summary import ReplaySummary, summary_to_dict
from detections.targets.sql import compile_catalogue
from tests.corpus.corpus import all_corpus_files, iter_corpus
from tests.unit.detections.athena_table import load_table, to_duckdb
from tests.unit.detections.test_sql_target import catalogue_case_records


def _match_summary(paths: list[str]) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    status = replay(paths, output_format="json", summary=True, out=out, err=err)
    return status, json.loads(out.getvalue())


def _backtest_summary(paths: list[str], workers: int) -> tuple[int, dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    status = run_local(paths, "json", workers, out=out, err=err)
    return status, json.loads(out.getvalue())


def test_backtest_local_equals_match_on_generated_trail_files(tmp_path: Path):
    generate_trail_files(tmp_path, 6_000)
    match = _match_summary([str(tmp_path)])
    assert match[1]["matches"] > 0
    assert _backtest_summary([str(tmp_path)], workers=2) == match
    assert _backtest_summary([str(tmp_path)], workers=1) == match


def test_backtest_local_reports_bad_files_like_match(tmp_path: Path):
    generate_trail_files(tmp_path, 500)
    (tmp_path / "broken.json").write_text('{"Records": [{"eventName": "X"}, {oops')
    missing = str(tmp_path / "absent.json.gz")
    status, data = _backtest_summary([str(tmp_path), missing], workers=2)
    assert (status, data) == _match_summary([str(tmp_path), missing])
    assert status == 1 and data["failedFiles"] == 2


@pytest.mark.corpus
def test_backtest_local_equals_match_on_the_corpus(tmp_path: Path):
    for path in all_corpus_files():
        lines = [json.dumps(item.event) for item in iter_corpus(path)]
        (tmp_path / f"{path.stem}.jsonl").write_text("\n".join(lines) + "\n")
    match = _match_summary([str(tmp_path)])
    assert match[1]["records"] > 1000
    assert _backtest_summary([str(tmp_path)], workers=2) == match


# --- The Athena summary query, run by DuckDB over the SerDe-shaped table, equals the local summary -------


def _comparable(summary: ReplaySummary) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(summary_to_dict(summary, top=10_000)))
    for entry in data["detections"]:  # SQL has no insertion order: ties among the top lists may differ
        entry["topPrincipals"] = sorted(entry["topPrincipals"], key=json.dumps)
        entry["topSourceIPs"] = sorted(entry["topSourceIPs"], key=json.dumps)
    data["detections"] = sorted(data["detections"], key=lambda e: e["id"])
    return data


def _athena_summary_via_duckdb(records: list[dict[str, Any]]) -> ReplaySummary:
    compiled, _ = compile_catalogue()
    sql = to_duckdb(summary_query("cloudtrail_logs", compiled, "TRUE"))
    rows = load_table(records).execute(sql).fetchall()
    text_rows = ([None if v is None else str(v) for v in row] for row in rows)
    return summary_from_rows([d.detection_id for d in compiled], text_rows)


def _local_summary(records: list[dict[str, Any]]) -> ReplaySummary:
    matcher = CatalogueMatcher()
    summary = ReplaySummary(matcher.detection_ids)
    for record in records:
        summary.add(record, matcher.match(record))
    return summary


def test_athena_summary_query_equals_local_summary_on_the_catalogue_cases():
    records = [record for _, record in catalogue_case_records()]
    local = _local_summary(records)
    assert local.total_matches > 50
    assert _comparable(_athena_summary_via_duckdb(records)) == _comparable(local)


@pytest.mark.corpus
def test_athena_summary_query_equals_local_summary_on_the_corpus():
    records = [item.event for path in all_corpus_files() for item in iter_corpus(path)]
    assert _comparable(_athena_summary_via_duckdb(records)) == _comparable(_local_summary(records))


def test_partition_filter_and_cost():
    from datetime import date

    where = partition_filter(date(2026, 1, 1), date(2026, 1, 31), ["111122223333"], ["eu-west-1"])
    assert where == (
        "\"timestamp\" BETWEEN '2026/01/01' AND '2026/01/31' AND account IN ('111122223333') "
        "AND region IN ('eu-west-1')"
    )
    with pytest.raises(ValueError, match="before --since"):
        partition_filter(date(2026, 2, 1), date(2026, 1, 1))
    assert billed_cost_usd(0) == pytest.approx(10e6 / 1e12 * 5)  # 10 MB minimum
    assert billed_cost_usd(10**12) == pytest.approx(5.0)


# --- The client's flow against moto's Athena over HTTP --------------------------------------------------


@pytest.fixture(scope="module")
def moto_athena() -> Iterator[tuple[MotoHarness, Any]]:
    with MotoHarness() as aws:
        client = boto3.client(
            "athena",
            endpoint_url=aws.endpoint_url,
            region_name=FAKE_CREDENTIALS["AWS_REGION"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        client.create_work_group(Name="backtest", Configuration={})
        yield aws, client


def _moto_api(aws: MotoHarness, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(
        f"{aws.endpoint_url}/moto-api/{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()


@pytest.fixture
def running_for_two_polls(moto_athena) -> Iterator[None]:
    """moto's executions go QUEUED -> RUNNING -> SUCCEEDED, one step per two GetQueryExecution calls."""
    aws, _ = moto_athena
    model = {"model_name": "athena::execution"}
    _moto_api(
        aws, "state-manager/set-transition", {**model, "transition": {"progression": "manual", "times": 2}}
    )
    yield
    _moto_api(aws, "state-manager/unset-transition", model)


def _queue_results(aws: MotoHarness, rows: list[list[str | None]]) -> None:
    header = {"Data": [{"VarCharValue": f"c{n}"} for n in range(len(rows[0]))]}
    data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    _moto_api(aws, "static/athena/query-results", {"results": [{"rows": [header, *data], "column_info": []}]})


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
