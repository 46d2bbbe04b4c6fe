"""backtest: the process pool equals `match --summary`; the Athena query equals the local summary (DuckDB).
The Athena client's flow against moto's Athena over HTTP is in tests/integration/test_athena_client.py."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.replay_bench import generate_trail_files
from detections.athena import (
    billed_cost_usd,
    partition_filter,
    summary_from_rows,
    summary_query,
)
from detections.backtest import MAX_FILES_PER_TASK, MIN_TASKS_PER_WORKER, backtest_local, batches
from detections.catalogue import CATALOGUE
from detections.cli_backtest import run_local
from detections.cli_catalogue import replay
from detections.replay import CatalogueMatcher
from detections.summary import ReplaySummary, summary_to_dict
from detections.targets.sql import compile_catalogue
from testkit.rule_cases import catalogue_case_records
from tests.corpus.corpus import all_corpus_files, iter_corpus
from tests.unit.detections.athena_table import load_table, to_duckdb


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


@pytest.mark.parametrize(("files", "workers"), [(1, 2), (7, 2), (200, 2), (200, 8), (5_000, 2)])
def test_tasks_are_consecutive_runs_that_cover_every_file_once(files: int, workers: int):
    paths = [f"file-{number:05}.json.gz" for number in range(files)]
    tasks = batches(paths, workers)
    # In order, each file once: merging the task summaries in order is the sequential summary
    assert [path for task in tasks for path in task] == paths
    assert all(1 <= len(task) <= MAX_FILES_PER_TASK for task in tasks)
    # Enough tasks that one slow task at the end leaves the other workers idle only briefly
    assert len(tasks) >= min(files, workers * MIN_TASKS_PER_WORKER)


def test_progress_counts_files_up_to_the_total(tmp_path: Path):
    generate_trail_files(tmp_path, 40_000)
    reported: list[tuple[int, int]] = []
    result = backtest_local(
        [str(tmp_path)], workers=2, on_file_done=lambda done, total: reported.append((done, total))
    )
    assert result.files == 40
    assert [total for _, total in reported] == [40] * len(reported)
    done = [count for count, _ in reported]
    assert done == sorted(done) and done[-1] == 40 and len(done) > 1


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
    # The same detections the Athena query runs: those whose SQL compiles (test_sql_target pins the refusals).
    compiled_ids = {d.detection_id for d in compile_catalogue()[0]}
    matcher = CatalogueMatcher([d for d in CATALOGUE if d.id in compiled_ids])
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


def test_each_saved_detection_query_returns_the_engines_matches_in_its_days():
    # Given the catalogue cases as table rows, with the partition columns the table projects from the key
    # layout (here: derived from eventTime, as CloudTrail files records under the day of the event)
    from detections.athena import detection_query

    records = [record for _, record in catalogue_case_records()]
    connection = load_table(records)
    connection.execute(
        "CREATE VIEW partitioned AS SELECT *, '111122223333' AS account, 'eu-west-1' AS region, "
        "replace(substr(eventtime, 1, 10), '-', '/') AS \"timestamp\" FROM cloudtrail_logs"
    )
    compiled, _ = compile_catalogue()
    matcher = CatalogueMatcher()
    first, last = "2000/01/01", "2099/12/31"
    checked = 0
    for detection in compiled:
        # When its saved query runs (Trino text -> DuckDB) with the two day parameters
        sql = to_duckdb(detection_query("partitioned", detection))
        rows = connection.execute(sql, [first, last]).fetchall()
        # Then it returns exactly the records the engine matches that carry a day in range
        expected = sum(
            1
            for record in records
            if isinstance(record.get("eventTime"), str)
            and first <= record["eventTime"][:10].replace("-", "/") <= last
            and detection.detection_id in matcher.match(record)
        )
        assert len(rows) == expected, detection.detection_id
        checked += expected
    assert checked > 50
    # And the day parameters bound what it reads
    assert (
        connection.execute(
            to_duckdb(detection_query("partitioned", compiled[0])), ["1990/01/01", "1990/01/02"]
        ).fetchall()
        == []
    )
