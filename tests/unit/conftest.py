"""Unit tests are pure: no network, not even loopback. Every test below tests/unit runs with Python's sockets
blocked (pytest-socket's ``disable_socket`` marker), so a unit test that reaches for moto's server, the
PagerDuty receiver or AWS fails at once with SocketBlockedError instead of quietly becoming an
integration test. Unix sockets stay allowed: the standard library uses socketpair() internally.
"""

from __future__ import annotations

from pathlib import Path

import pytest

UNIT_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest hook sees every collected item, not only this folder's: mark ours alone.
    for item in items:
        if UNIT_TESTS in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.disable_socket)
