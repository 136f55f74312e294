"""Helpers shared by the suites: CLI text only, through the driver's sessions."""

from __future__ import annotations

import pytest

from suites.ios_config import RunningConfig


@pytest.fixture
def running_config():
    """Reads ``show running-config`` of a session, so each test's transcript shows its evidence."""
    def get(session) -> RunningConfig:
        return RunningConfig(session.send("show running-config"))
    return get
