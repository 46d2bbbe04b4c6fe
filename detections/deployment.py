"""Which detections a deployment runs: the one selection rule, and reading it from the project's cdk.json.

``select_detections`` is the rule itself (stacks/config.py's ``BaselineConfig.detections_in_use`` calls it).
``deployment_detections`` is what the command line uses: cdk.json's ``baseline`` settings, validated by the
same ``BaselineConfig`` the CDK app uses, then the same selection, plus any ``--rules-dir`` folders.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from detections.rule import REQUIREMENTS, Detection
from detections.rule_files import load_rules

REPO_ROOT = Path(__file__).resolve().parent.parent


class SelectionError(ValueError):
    """Two rules share an id; ``str(error)`` names both files and the fix."""


def select_detections(
    builtin: Iterable[Detection],
    user_rules: Iterable[Detection],
    disabled: Iterable[str],
    features: Iterable[str],
) -> tuple[Detection, ...]:
    """Built-ins and user rules, minus ``disabled``, minus those whose ``requires`` is not met; by id."""
    off = set(disabled)
    have = set(features)
    return tuple(
        sorted(
            (
                detection
                for detection in (*builtin, *user_rules)
                if detection.id not in off and (detection.requires is None or detection.requires in have)
            ),
            key=lambda detection: detection.id,
        )
    )


def baseline_config_module() -> Any:
    """stacks/config.py. It is pure Python, but importing it as ``stacks.config`` runs stacks/__init__.py,
    which imports aws_cdk and starts a jsii Node process (seconds, and a banner on stderr) - so it is loaded
    from its file unless the CDK app has already imported it."""
    if "stacks.config" in sys.modules:
        return sys.modules["stacks.config"]
    name = "_detections_baseline_config"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "stacks" / "config.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is created
        spec.loader.exec_module(module)
    return sys.modules[name]


def project_cdk_json() -> Path | None:
    """This directory's cdk.json, else the repository's (as `cdk` itself is run from the project folder)."""
    for candidate in (Path.cwd() / "cdk.json", REPO_ROOT / "cdk.json"):
        if candidate.is_file():
            return candidate
    return None


def project_config(cdk_json: Path | None = None) -> Any:
    """The validated ``BaselineConfig`` of ``cdk_json`` (default: ``project_cdk_json()``; none: defaults).

    ``rulesDir`` is relative to the project folder (where `cdk` runs), so it is made absolute against the
    folder of cdk.json before validation, whatever the current directory is.
    """
    config = baseline_config_module()
    cdk_json = cdk_json or project_cdk_json()
    if cdk_json is None:
        return config.BaselineConfig()
    raw = json.loads(cdk_json.read_text()).get("context", {}).get(config.CONTEXT_KEY, {})
    if isinstance(raw, dict) and isinstance(raw.get("detections"), dict):
        rules_dir = raw["detections"].get("rulesDir")
        if isinstance(rules_dir, str) and rules_dir.strip():
            raw = {**raw, "detections": {**raw["detections"], "rulesDir": str(cdk_json.parent / rules_dir)}}
    return config.BaselineConfig.from_mapping(raw)


def deployment_detections(
    *, extra_rules_dirs: Sequence[str | Path] = (), builtin_only: bool = False
) -> tuple[Detection, ...]:
    """The detections the deployment runs (cdk.json), plus the rules of ``extra_rules_dirs``.

    ``builtin_only``: ignore cdk.json - the whole built-in catalogue, including the detections that need an
    optional feature (``requires``), plus ``extra_rules_dirs``.
    Raises ConfigError (cdk.json), RuleFileError (a rule or cases file) or SelectionError (an id twice).
    """
    from detections.catalogue import CATALOGUE

    if builtin_only:
        user_rules: tuple[Detection, ...] = ()
        disabled: tuple[str, ...] = ()
        features: frozenset[str] = frozenset(REQUIREMENTS)
    else:
        settings = project_config()
        user_rules = settings.detections.user_rules
        disabled = settings.detections.disabled
        features = settings.features
    seen = {detection.id: detection.source or "built-in" for detection in (*CATALOGUE, *user_rules)}
    for folder in extra_rules_dirs:
        for detection in load_rules(folder):  # RuleFileError names the file, the field and the fix
            if detection.id in seen:
                raise SelectionError(
                    f"--rules-dir {folder}: rule id {detection.id!r} ({detection.source}) is already defined "
                    f"by {seen[detection.id]}; rename one of them (id and file name)"
                )
            seen[detection.id] = detection.source
            user_rules = (*user_rules, detection)
    return select_detections(CATALOGUE, user_rules, disabled, features)
