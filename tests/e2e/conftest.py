"""One synthesized cloud assembly for the end-to-end tests (``cdk synth`` into a session temp directory).

Synthesizing once per session keeps the e2e tests to one ``cdk synth`` (about 20-30 s), and a temp
directory keeps them off the developer's own ``cdk.out``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from demo.cli import REPO_ROOT, synthesize


@pytest.fixture(scope="session")
def synthesized_cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reuse = os.environ.get("DEMO_E2E_CDK_OUT")  # iterate on the demo without re-synthesizing each run
    if reuse:
        return Path(reuse)
    missing = [name for name in ("app.py", "cdk.json") if not (REPO_ROOT / name).is_file()]
    if missing:
        pytest.skip(f"the CDK app is not wired yet ({', '.join(missing)} missing): nothing to synthesize")
    cdk_out = tmp_path_factory.mktemp("cdk.out")
    synthesize(cdk_out)
    return cdk_out
