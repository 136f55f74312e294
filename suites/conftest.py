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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failed claim, name the likely cause from what the routers show."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed or not list(item.iter_markers("claim")):
        return
    from drivers.pytest_plugin import DRIVER_KEY, tooling_fault
    if tooling_fault(call.excinfo) is not None:
        return   # the emulator or the transport failed: nothing to say about the routers
    from suites.diagnosis import diagnose
    drv = item.config.stash.get(DRIVER_KEY, None)
    if drv is None:
        return
    try:
        found = diagnose(drv, drv.scenario)
    except Exception as err:  # a diagnosis must never hide the failure it explains
        found = [("diagnosis-error", f"the diagnosis itself failed: {err}")]
    for code, text in found:
        # On the item for the JUnit file, and on this report, which already holds a copy of the item's list.
        item.user_properties.append(("diagnosis", f"{code}: {text}"))
        report.user_properties.append(("diagnosis", f"{code}: {text}"))
    report.diagnoses = found
    if found:
        report.sections.append(("Diagnosis", "\n".join(f"{code}: {text}" for code, text in found)))
