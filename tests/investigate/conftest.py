"""moto's server (HTTP on loopback) with LookupEvents taught to it, and the Tuesday scenario, per module."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testkit.lookup_events import EventHistory, lookup_events_emulation
from testkit.moto_harness import MotoHarness
from tests.investigate.trail_data import Scenario, tuesday_scenario, write_trail_files

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoHarness]:
    with MotoHarness() as harness:
        harness.reset()  # moto's backends live in this process: forget other modules' resources
        yield harness


@pytest.fixture(scope="module")
def history(aws: MotoHarness) -> Iterator[EventHistory]:
    with lookup_events_emulation(EventHistory()) as emulated:
        yield emulated


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return tuesday_scenario(datetime.now(UTC))


@pytest.fixture(scope="module")
def trail_folder(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trail_files(tmp_path_factory.mktemp("trail"), scenario.records)


def run_command(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m detections investigate ...`` in a fresh interpreter, as a user runs it."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    base["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance-metadata credential probing on a laptop/CI
    return subprocess.run(
        [sys.executable, "-m", "detections", "investigate", *argv],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
