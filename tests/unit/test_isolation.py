"""The unit tier stays pure: sockets are blocked, and the root conftest pulls in neither moto nor the demo."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_socket import SocketBlockedError

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_unit_test_cannot_open_a_network_socket() -> None:
    with pytest.raises(SocketBlockedError):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)


def test_the_root_conftest_imports_neither_moto_nor_the_demo() -> None:
    probe = (
        "import sys, tests.conftest; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('moto', 'demo')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
