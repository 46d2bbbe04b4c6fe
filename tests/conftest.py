"""Fixtures shared by every test tier.

``synthesized_cdk_out`` is the cloud assembly exactly as a user gets it: the pinned ``cdk`` CLI runs
``cdk synth`` once per session into a temp directory (never the developer's own ``cdk.out``). The
integration tests run the forwarder from its synthesized asset and the end-to-end tests replay the demo
against the same templates, so what is tested is what would be deployed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testkit.synth import synthesize


@pytest.fixture(scope="session")
def synthesized_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("DEMO_E2E_CDK_OUT")  # iterate on the demo without re-synthesizing each run
    if reuse:
        return Path(reuse)
    cdk_out = tmp_path_factory.mktemp("cdk.out")
    synthesize(cdk_out)
    return cdk_out
