"""``cdk synth`` with the pinned CLI and Node: the cloud assembly exactly as a user gets it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def synthesize(cdk_out: Path) -> None:
    """``cdk synth`` into ``cdk_out`` with the pinned CLI and Node (node_modules/.bin first on PATH)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join(
        [str(REPO_ROOT / "node_modules" / ".bin"), str(Path(sys.executable).parent), env["PATH"]]
    )
    env.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    env.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")
    cdk = shutil.which("cdk", path=env["PATH"])
    if cdk is None:
        raise SystemExit("cdk CLI not found: run `make setup` (npm ci installs it into node_modules/.bin)")
    subprocess.run(
        [cdk, "synth", "--quiet", "--no-notices", "--output", str(cdk_out)],
        cwd=REPO_ROOT,
        env=env,
        check=True,
    )
