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


def pytest_generate_tests(metafunc):
    """``spoke``: each remote of the lab (remote, remote2, ...); ``role``: the hub and each remote."""
    from drivers.pytest_plugin import REMOTE_ROLES_KEY
    spokes = metafunc.config.stash.get(REMOTE_ROLES_KEY, ["remote"])
    if "spoke" in metafunc.fixturenames:
        metafunc.parametrize("spoke", spokes)
    if "role" in metafunc.fixturenames:
        metafunc.parametrize("role", ["hub", *spokes])


@pytest.fixture
def expected(scenario, request):
    """An expected value by key, recorded on the test (user property ``checked``, as record_property does)
    as what it checked and where the value came from."""
    def get(key: str):
        value = scenario[key]
        note = ("checked", f"{key}: expected {scenario.shown(key)} (from {scenario.source_of(key)})")
        if note not in request.node.user_properties:
            request.node.user_properties.append(note)
        return value
    return get


@pytest.fixture
def value(scenario, expected):
    """A router's expected value by role: ``value("hub", "lan_address")``, ``value("remote2", "peer")``."""
    def get(role: str, name: str):
        return expected(f"hub.{name}" if role == "hub" else scenario.remote_key(role, name))
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
    # A per-remote test is diagnosed between the hub and its remote; the hub's own tests through the first.
    params = getattr(getattr(item, "callspec", None), "params", {})
    role = params.get("spoke") or params.get("role") or "remote"
    try:
        found = diagnose(drv, drv.scenario, "remote" if role == "hub" else role)
    except Exception as err:  # a diagnosis must never hide the failure it explains
        found = [("diagnosis-error", f"the diagnosis itself failed: {err}")]
    for code, text in found:
        # On the item for the JUnit file, and on this report, which already holds a copy of the item's list.
        item.user_properties.append(("diagnosis", f"{code}: {text}"))
        report.user_properties.append(("diagnosis", f"{code}: {text}"))
    report.diagnoses = found
    if found:
        report.sections.append(("Diagnosis", "\n".join(f"{code}: {text}" for code, text in found)))
