"""Shared infra fixtures: the whole app, synthesized ONCE per test session, in-process, as `cdk synth` would.

The app gets the context of cdk.json (feature flags and the "baseline" defaults), so the templates the
scanners read are the ones the CLI produces. cdk-nag runs on the same construct tree via ``validate_scope``
(cdk-nag v3 reports there, not through annotations); the plugins are not attached here so that a finding
fails the compliance test that lists it instead of erroring every test at synth.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import cx_api

from stacks import build_app, nag_packs
from stacks.alerting_stack import AlertingStack
from stacks.config import BaselineConfig
from stacks.trail_stack import AuditTrailStack

REPO = Path(__file__).resolve().parents[2]

#: Wall times measured during the session, printed in the terminal summary (never asserted).
TIMINGS: dict[str, float] = {}


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json: feature flags + the "baseline" defaults."""
    return dict(json.loads((REPO / "cdk.json").read_text())["context"])


@dataclass
class SynthesizedApp:
    app: cdk.App
    config: BaselineConfig
    trail_stack: AuditTrailStack
    alerting_stack: AlertingStack
    assembly: cx_api.CloudAssembly
    outdir: Path
    nag_reports: dict[str, Any] = field(default_factory=dict)  # pack name -> PolicyValidationPluginReport

    @property
    def template_paths(self) -> dict[str, Path]:
        """Stack name -> synthesized template file, for every stack in the cloud assembly."""
        return {stack.stack_name: Path(stack.template_full_path) for stack in self.assembly.stacks}


@pytest.fixture(scope="session")
def synthesized_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SynthesizedApp]:
    outdir = tmp_path_factory.mktemp("cdk.out")
    started = time.perf_counter()
    app = cdk.App(outdir=str(outdir), context=cdk_json_context())
    config = BaselineConfig.from_context(app.node)
    trail_stack, alerting_stack = build_app(app, config)
    assembly = app.synth()
    TIMINGS["in-process synth of the whole app (once per session)"] = time.perf_counter() - started

    started = time.perf_counter()
    reports = {pack.read_pack_name: pack.validate_scope(app) for pack in nag_packs(app)}
    TIMINGS["cdk-nag AwsSolutions + NIST 800-53 R5 (validate_scope)"] = time.perf_counter() - started
    yield SynthesizedApp(app, config, trail_stack, alerting_stack, assembly, outdir, reports)


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """cdk.json's context (feature flags!) for tests that build their own App: same behaviour as the CLI."""
    return cdk_json_context()


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    """Record a wall time (seconds) under a label; printed in the terminal summary, never asserted."""
    return TIMINGS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TIMINGS:
        terminalreporter.section("infra timings (seconds)")
        for label, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{seconds:7.2f}  {label}")
