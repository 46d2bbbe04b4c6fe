"""The GitHub Actions workflows: actionlint accepts them (and rejects a broken one through the same make
step), every action is pinned to a commit, every job asks for its own least permissions, deploys go one at a
time through OIDC and GitHub environments, and the deployment matrix comes from cdk.json, not from YAML."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import BaselineConfig
from tools.rollout_matrix import main as rollout_matrix_main
from tools.rollout_matrix import rollout_outputs

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((REPO / ".github" / "actions").glob("*/action.yml"))
ACTIONLINT = REPO / ".venv" / "bin" / "actionlint"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
ROLLOUT: dict[str, Any] = {
    "githubRepository": "acme/security-baseline",
    "deployAccount": "111122223333",
    "targets": [
        {"name": "staging", "account": "222233334444", "region": "eu-west-1"},
        {"name": "prod-cn", "account": "333344445555", "region": "cn-north-1", "environment": "production"},
    ],
}


def _load(path: Path) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    return loaded


def _workflow(name: str) -> dict[Any, Any]:
    return _load(REPO / ".github" / "workflows" / name)


def _on(workflow: dict[Any, Any]) -> Any:
    return workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as True


def _make_lint(*workflows: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "lint-workflows", f"WORKFLOWS={' '.join(map(str, workflows))}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


pytestmark = pytest.mark.skipif(not ACTIONLINT.exists(), reason="actionlint not installed (make setup)")


def test_the_repository_has_both_workflows() -> None:
    assert [path.name for path in WORKFLOWS] == ["deploy.yml", "pull-request.yml"]


def test_make_lint_workflows_accepts_the_workflows() -> None:
    result = _make_lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("breakage", "old", "new", "message"),
    [
        ("unknown job in needs", "needs: [test, targets]", "needs: [test, target]", "needs"),
        ("undefined step output", "steps.targets.outputs.matrix", "steps.target.outputs.matrix", "target"),
        ("unknown permission", "id-token: write", "id-tokens: write", "id-tokens"),
        ("bad expression syntax", "${{ matrix.region }}", "${{ matrix.region }", "}}"),
    ],
)
def test_make_lint_workflows_fails_on_a_broken_workflow(
    tmp_path: Path, breakage: str, old: str, new: str, message: str
) -> None:
    # Given the deploy workflow with one mistake, in the repository (actionlint resolves ./.github/actions)
    original = (REPO / ".github" / "workflows" / "deploy.yml").read_text()
    assert old in original
    broken = REPO / ".github" / "workflows" / f"broken-{tmp_path.name}.yml"
    broken.write_text(original.replace(old, new, 1))
    try:
        result = _make_lint(broken)
    finally:
        broken.unlink()
    # Then the make step `make test` runs fails, and says where
    assert result.returncode != 0, f"{breakage}: actionlint accepted it"
    assert message in result.stdout, result.stdout


def _uses(path: Path) -> list[str]:
    return re.findall(r"^\s*-?\s*uses: (\S+.*)$", path.read_text(), flags=re.MULTILINE)


@pytest.mark.parametrize("path", [*WORKFLOWS, *ACTIONS], ids=lambda p: p.parent.name + "/" + p.name)
def test_every_remote_action_is_pinned_to_a_full_commit_with_its_version(path: Path) -> None:
    uses = _uses(path)
    assert uses
    remote = [use for use in uses if not use.startswith("./")]
    for use in remote:
        assert PINNED.match(use.split(" #")[0]), f"{path.name}: not pinned to a commit: {use}"
        assert VERSION_COMMENT.search("uses: " + use), f"{path.name}: no '# vX.Y.Z' comment: {use}"


def test_one_commit_per_action_across_files() -> None:
    # Two SHAs for one action would mean one file was bumped and the other forgotten.
    commits: dict[str, set[str]] = {}
    for path in [*WORKFLOWS, *ACTIONS]:
        for use in _uses(path):
            if not use.startswith("./"):
                action, commit = use.split(" #")[0].split("@")
                commits.setdefault(action, set()).add(commit)
    assert {action: len(shas) for action, shas in commits.items()} == dict.fromkeys(commits, 1)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_default_permissions_and_each_job_asks_for_its_own(path: Path) -> None:
    workflow = _load(path)
    assert workflow["permissions"] == {}
    for name, job in workflow["jobs"].items():
        permissions = job.get("permissions")
        assert isinstance(permissions, dict), f"{name} has no permissions block"
        assert "write-all" not in permissions.values()
        writes = {scope for scope, level in permissions.items() if level == "write"}
        assert writes <= {"id-token", "security-events", "pull-requests"}, (name, writes)
        # Only jobs that talk to AWS get an OIDC token.
        talks_to_aws = "configure-aws-credentials" in json.dumps(job.get("steps", []))
        assert ("id-token" in writes) == talks_to_aws, name


def test_pull_requests_run_make_test_scan_to_sarif_and_diff_every_target() -> None:
    workflow = _workflow("pull-request.yml")
    assert "pull_request" in _on(workflow)
    jobs = workflow["jobs"]
    assert {"run": "make test"} in jobs["test"]["steps"]
    scan_steps = json.dumps(jobs["scan"]["steps"])
    assert "--format sarif" in scan_steps and "--output sarif" in scan_steps
    assert scan_steps.count("github/codeql-action/upload-sarif@") == 2
    diff = jobs["diff"]
    assert diff["strategy"]["matrix"] == "${{ fromJSON(needs.targets.outputs.matrix) }}"
    diff_steps = json.dumps(diff["steps"])
    assert (
        "cdk diff --all" in diff_steps
        and "GITHUB_STEP_SUMMARY" in diff_steps
        and "gh pr comment" in diff_steps
    )
    assert "needs.targets.outputs.diff-role-arn" in diff_steps
    assert "github.event.pull_request.head.repo.full_name == github.repository" in diff["if"]


def test_main_deploys_each_target_in_order_through_oidc_and_its_environment_one_run_at_a_time() -> None:
    workflow = _workflow("deploy.yml")
    assert _on(workflow)["push"] == {"branches": ["main"]}
    assert workflow["concurrency"] == {"group": "deploy-security-baseline", "cancel-in-progress": False}
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == ["test", "targets"]
    assert deploy["strategy"] == {
        "max-parallel": 1,
        "fail-fast": True,
        "matrix": "${{ fromJSON(needs.targets.outputs.matrix) }}",
    }
    assert deploy["environment"] == "${{ matrix.environment }}"
    credentials = next(s for s in deploy["steps"] if "configure-aws-credentials" in s.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ needs.targets.outputs.deploy-role-arn }}"
    assert "cdk deploy --all" in json.dumps(deploy["steps"]) and "rolloutTarget=$TARGET" in json.dumps(deploy)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_stored_aws_keys_and_no_hand_written_accounts(path: Path) -> None:
    text = path.read_text()
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert not re.search(r"\b\d{12}\b", text), "account ids belong in baseline.rollout, not in the workflow"


# ----------------------------------------------------------------------------------------- rollout matrix


def test_the_matrix_lists_the_targets_in_order_with_the_role_arns() -> None:
    outputs = rollout_outputs(BaselineConfig.from_mapping({"rollout": ROLLOUT}).rollout)
    assert json.loads(outputs["matrix"]) == {
        "include": [
            {"name": "staging", "account": "222233334444", "region": "eu-west-1", "environment": "staging"},
            {
                "name": "prod-cn",
                "account": "333344445555",
                "region": "cn-north-1",
                "environment": "production",
            },
        ]
    }
    assert outputs["count"] == "2"
    assert outputs["deploy-role-arn"] == "arn:aws:iam::111122223333:role/security-baseline-github-deploy"
    assert outputs["diff-role-arn"] == "arn:aws:iam::111122223333:role/security-baseline-github-diff"


def test_the_script_appends_github_outputs_and_rejects_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"baseline": {"rollout": ROLLOUT}}}))
    github_output = tmp_path / "github_output"
    github_output.write_text("earlier=1\n")
    assert rollout_matrix_main(["--cdk-json", str(cdk_json), "--github-output", str(github_output)]) == 0
    lines = github_output.read_text().splitlines()
    assert lines[0] == "earlier=1" and lines[2] == "count=2" and lines[1].startswith('matrix={"include":')

    bad = {**ROLLOUT, "targets": [{"name": "prod", "account": "1234", "region": "eu-west-1"}]}
    cdk_json.write_text(json.dumps({"context": {"baseline": {"rollout": bad}}}))
    assert rollout_matrix_main(["--cdk-json", str(cdk_json)]) == 2
    assert "baseline.rollout.targets[0].account: '1234'" in capsys.readouterr().err


def test_the_shipped_cdk_json_has_no_targets_so_ci_deploys_nothing_until_configured() -> None:
    assert rollout_matrix_main(["--cdk-json", str(REPO / "cdk.json")]) == 0


# ---------------------------------------------------------------------------------------- SARIF outputs

CFN_LINT = REPO / ".venv" / "bin" / "cfn-lint"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
# A bucket with a bad property value: cfn-lint reports it (E3012), checkov fails checks on it.
FLAWED_TEMPLATE = {
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"ObjectLockEnabled": "sometimes"}}}
}


def _step_run(workflow: str, job: str, name: str) -> str:
    step = next(s for s in _workflow(workflow)["jobs"][job]["steps"] if s.get("name") == name)
    run: str = step["run"]
    return run


def test_the_cfn_lint_sarif_step_writes_sarif_with_the_findings(tmp_path: Path) -> None:
    # Given the scan job's command, run here on a flawed template (cfn-lint[sarif] extra installed)
    template = tmp_path / "Flawed.template.json"
    template.write_text(json.dumps(FLAWED_TEMPLATE))
    command = _step_run("pull-request.yml", "scan", "cfn-lint (SARIF)")
    command = command.replace(".venv/bin/cfn-lint", str(CFN_LINT)).replace(
        "cdk.out/*.template.json", str(template)
    )
    # shell=True: the workflow's own command line, redirection and `|| true` included
    subprocess.run(command, shell=True, cwd=tmp_path, check=True, timeout=300)
    sarif = json.loads((tmp_path / "cfn-lint.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    assert "E3012" in {result["ruleId"] for result in sarif["runs"][0]["results"]}


@pytest.mark.skipif(not CHECKOV.exists(), reason=f"checkov venv missing ({CHECKOV}); `make setup` creates it")
def test_the_checkov_sarif_step_writes_the_file_the_upload_step_names(tmp_path: Path) -> None:
    (tmp_path / "cdk.out").mkdir()
    (tmp_path / "cdk.out" / "Flawed.template.json").write_text(json.dumps(FLAWED_TEMPLATE))
    command = " ".join(_step_run("pull-request.yml", "scan", "checkov (SARIF)").split())
    command = command.replace(".venv-checkov/bin/checkov", str(CHECKOV))
    subprocess.run(command, shell=True, cwd=tmp_path, check=True, timeout=300)
    upload = next(
        s
        for s in _workflow("pull-request.yml")["jobs"]["scan"]["steps"]
        if s.get("with", {}).get("category") == "checkov"
    )
    sarif = json.loads((tmp_path / upload["with"]["sarif_file"]).read_text())
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
