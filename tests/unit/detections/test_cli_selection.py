"""list, match and backtest run the detections the deployment uses: cdk.json's rulesDir and disabled ids."""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import shutil
from pathlib import Path
from typing import Any

import pytest

from detections.__main__ import main
from detections.athena import summary_from_rows, summary_query
from detections.backtest import backtest_local
from detections.catalogue import CATALOGUE, get_detection
from detections.cli_backtest import register, run_athena
from detections.deployment import deployment_detections, project_config
from detections.replay import CatalogueMatcher
from detections.rule_files import load_cases
from detections.targets.sql import compile_catalogue
from tests.unit.detections.athena_table import load_table, to_duckdb

REPO = Path(__file__).resolve().parents[3]
USER_RULE = "iam-user-created"  # examples/rules/, copied into each test's project folder
DISABLED = "access-analyzer-removed"


def _match_records(detection_id: str, folder: Path) -> list[dict[str, Any]]:
    cases = load_cases(folder / f"{detection_id}.cases.jsonl")
    records = [case.record for case in cases if case.should_match]
    assert records
    return records


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder: cdk.json with rulesDir=my-rules (the example rule) and one built-in switched off."""
    rules = tmp_path / "my-rules"
    rules.mkdir()
    for name in (f"{USER_RULE}.toml", f"{USER_RULE}.cases.jsonl"):
        shutil.copy(REPO / "examples" / "rules" / name, rules / name)
    cdk = {"context": {"baseline": {"detections": {"rulesDir": "my-rules", "disabled": [DISABLED]}}}}
    (tmp_path / "cdk.json").write_text(json.dumps(cdk))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def trail(project: Path) -> Path:
    """Records the user rule matches and records only the disabled built-in matches, as JSON Lines."""
    records = _match_records(USER_RULE, project / "my-rules")
    records += _match_records(DISABLED, Path(get_detection(DISABLED).source).parent)
    path = project / "trail.jsonl"
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _summary_counts(summary: dict[str, Any]) -> dict[str, int]:
    return {entry["id"]: entry["count"] for entry in summary["detections"]}


def test_the_selection_is_the_stacks_detections_in_use(project: Path) -> None:
    # The CLI and the stack resolve the same cdk.json through the same function
    selection = deployment_detections()
    assert selection == project_config().detections_in_use
    ids = [d.id for d in selection]
    assert USER_RULE in ids and DISABLED not in ids
    assert ids == sorted(ids)


def test_rules_dir_is_relative_to_the_project_folder_not_the_current_one(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = project / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert USER_RULE not in [d.id for d in deployment_detections()]  # sub/ has no cdk.json: the repo's
    assert USER_RULE in [d.id for d in project_config(project / "cdk.json").detections_in_use]


def test_list_shows_user_rules_and_hides_disabled_ids(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(["list", "--format", "json"], capsys)
    ids = [entry["id"] for entry in json.loads(out)]
    assert code == 0 and USER_RULE in ids and DISABLED not in ids

    code, out, _ = _run(["list", "--builtin-only", "--format", "json"], capsys)
    assert code == 0 and [entry["id"] for entry in json.loads(out)] == [d.id for d in CATALOGUE]


def test_a_rule_needing_a_feature_the_deployment_lacks_is_not_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    needs_insights = [d.id for d in CATALOGUE if d.requires == "insights"]
    assert needs_insights
    assert not set(needs_insights) & {d.id for d in deployment_detections()}
    cdk = {"context": {"baseline": {"insights": {"apiCallRate": True}}}}
    (project / "cdk.json").write_text(json.dumps(cdk))
    assert set(needs_insights) <= {d.id for d in deployment_detections()}


def test_rules_dir_option_adds_a_folder_even_with_builtin_only(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = project / "extra"
    shutil.copytree(project / "my-rules", extra)
    (project / "cdk.json").write_text(json.dumps({"context": {"baseline": {}}}))
    code, out, _ = _run(["list", "--builtin-only", "--rules-dir", str(extra)], capsys)
    assert code == 0 and USER_RULE in out and DISABLED in out


def test_match_runs_user_rules_and_not_disabled_ones(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["match", str(trail), "--summary", "--format", "json"], capsys)
    counts = _summary_counts(json.loads(out))
    assert code == 0 and counts[USER_RULE] >= 1 and DISABLED not in counts

    code, out, _ = _run(["match", str(trail), "--summary", "--format", "json", "--builtin-only"], capsys)
    counts = _summary_counts(json.loads(out))
    assert code == 0 and counts[DISABLED] >= 1 and USER_RULE not in counts


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_backtest_workers_get_the_selection(trail: Path, start_method: str) -> None:
    # Several files, so the pool really starts (one file runs inline)
    lines = trail.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        (trail.parent / f"part-{number}.jsonl").write_text(line)
    paths = [str(trail.parent / f"part-{number}.jsonl") for number in range(len(lines))]
    selection = deployment_detections()
    result = backtest_local(
        paths, workers=2, detections=selection, mp_context=multiprocessing.get_context(start_method)
    )
    assert result.errors == []
    counts = {detection_id: stats.count for detection_id, stats in result.summary.stats.items()}
    assert counts[USER_RULE] == len(_match_records(USER_RULE, trail.parent / "my-rules"))
    assert DISABLED not in counts


def test_backtest_command_local_runs_the_selection(trail: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["backtest", str(trail), "--format", "json", "--workers", "2"], capsys)
    counts = _summary_counts(json.loads(out))
    assert code == 0 and counts[USER_RULE] >= 1 and DISABLED not in counts


def test_athena_summary_sql_runs_user_rules_like_the_local_matcher(trail: Path) -> None:
    # The Athena summary query for the selection, run by DuckDB over the SerDe-shaped table
    selection = deployment_detections()
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    compiled, _ = compile_catalogue(selection)
    assert USER_RULE in [d.detection_id for d in compiled]
    rows = (
        load_table(records).execute(to_duckdb(summary_query("cloudtrail_logs", compiled, "TRUE"))).fetchall()
    )
    athena = summary_from_rows(
        [d.detection_id for d in compiled], ([None if v is None else str(v) for v in row] for row in rows)
    )
    matcher = CatalogueMatcher([d for d in selection if d.id in {c.detection_id for c in compiled}])
    local = {i: sum(i in matcher.match(r) for r in records) for i in matcher.detection_ids}
    assert {i: athena.stats[i].count for i in athena.detection_ids} == local
    assert local[USER_RULE] >= 1 and DISABLED not in local


class _RecordingAthena:
    """Records the query text and answers with an empty result (the flow itself: test_athena_client)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def start_query_execution(self, QueryString: str, **_: Any) -> dict[str, str]:
        self.queries.append(QueryString)
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, **_: Any) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "Statistics": {"DataScannedInBytes": 1}}}

    def get_paginator(self, _: str) -> Any:
        class _Pages:
            def paginate(self, **__: Any) -> list[dict[str, Any]]:
                return [{"ResultSet": {"Rows": [{"Data": []}]}}]

        return _Pages()


def test_backtest_athena_queries_the_selection(project: Path) -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        ["backtest", "--engine", "athena", "--since", "2026-01-01", "--until", "2026-01-02"]
    )
    client = _RecordingAthena()
    out = io.StringIO()
    assert (
        run_athena(args, out=out, err=io.StringIO(), client=client, detections=deployment_detections()) == 0
    )
    assert f"'{USER_RULE}'" in client.queries[0] and f"'{DISABLED}'" not in client.queries[0]


def test_a_bad_user_rule_names_the_file_and_field(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule = project / "my-rules" / f"{USER_RULE}.toml"
    rule.write_text(rule.read_text().replace('severity = "warning"', 'severity = "loud"'))
    for argv in (["list"], ["match", str(project)], ["backtest", str(project)]):
        code, out, err = _run(argv, capsys)
        assert code == 2 and out == ""
        assert f"Rule file error: {rule}: severity: 'loud' is not allowed" in err


def test_an_unknown_disabled_id_names_the_cdk_json_key(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk = {"context": {"baseline": {"detections": {"rulesDir": None, "disabled": ["no-such-rule"]}}}}
    (project / "cdk.json").write_text(json.dumps(cdk))
    code, _, err = _run(["list"], capsys)
    assert code == 2
    assert "baseline.detections.disabled[0]: 'no-such-rule' is not allowed; unknown detection id" in err
    assert _run(["list", "--builtin-only"], capsys)[0] == 0  # --builtin-only does not read cdk.json


def test_a_rules_dir_id_clash_names_both_files(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["list", "--rules-dir", str(project / "my-rules")], capsys)
    assert code == 2
    assert f"rule id '{USER_RULE}'" in err and "already defined by" in err and "rename one" in err
