"""pytest plugin of the conformance suite: options, the driver fixture, the report.

Loaded by the top-level conftest.py, and also declared as a pytest11 entry
point so that its options are known before pytest reads paths from the
command line (``--lab /elsewhere/lab.yml`` is then not taken for a test path).

    pytest                                   # the emulated lab of the document
    pytest --lab my-lab.yml                  # another emulated lab
    pytest --driver=netmiko --inventory lab.yml

Every run of the suites writes reports/conformance.html (self-contained) and
reports/junit.xml unless --html / --junitxml say otherwise.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest

from drivers import DRIVERS, DriverError, driver_class
from drivers.base import exchanges_so_far
from drivers.report import ConformanceRecord
from drivers.scenario import ScenarioError

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
DRIVER_KEY = pytest.StashKey["object"]()
RECORD_KEY = pytest.StashKey[ConformanceRecord]()
ALLOW_DISRUPTIVE_KEY = pytest.StashKey[bool]()


def pytest_addoption(parser):
    group = parser.getgroup("conformance", "Document 14131 conformance")
    group.addoption("--driver", default="emulated",
                    help="target: emulated (the bundled emulator, default) or netmiko (real routers)")
    group.addoption("--lab", default=None,
                    help="lab file for the emulated driver (default: fixtures/doc14131/lab.yml)")
    group.addoption("--inventory", default=None, help="inventory file of real devices for the netmiko driver")
    group.addoption("--pcap-dir", default=None, metavar="DIR",
                    help="emulated driver: write one pcap per lab link into DIR")
    group.addoption("--allow-disruptive", action="store_true", default=False,
                    help="on real devices, also run tests that change state (clear SAs, flap links)")


def _runs_suites(config) -> bool:
    """True when the run collects the conformance suites (not only the project's own tests)."""
    args = [a.split("::")[0] for a in config.args]
    if not args:
        return True
    suites = (ROOT / "suites").resolve()
    for arg in args:
        path = (Path(config.invocation_params.dir) / arg).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    name = config.getoption("--driver")
    if name not in DRIVERS:
        raise pytest.UsageError(f"--driver={name}: unknown driver (known drivers: {', '.join(sorted(DRIVERS))})")
    if not _runs_suites(config):
        return
    try:
        if name == "emulated":
            from emulator.lab.labfile import LabError, load_lab
            try:
                load_lab(config.getoption("--lab") or ROOT / "fixtures" / "doc14131" / "lab.yml")
            except LabError as err:
                raise pytest.UsageError(str(err)) from None
        elif name == "netmiko":
            probe = driver_class(name)(config.getoption("--inventory"))
            config.stash[ALLOW_DISRUPTIVE_KEY] = bool(getattr(probe, "allow_disruptive", False))
    except DriverError as err:
        raise pytest.UsageError(str(err)) from None
    REPORTS.mkdir(exist_ok=True)
    record = config.stash[RECORD_KEY] = ConformanceRecord()
    if name == "emulated" and not config.getoption("--pcap-dir"):
        # Every emulated run keeps its captures and keys beside the report (this run's only).
        config.option.pcap_dir = str(REPORTS / "captures")
        if not hasattr(config, "workerinput"):   # the pytest-xdist controller, or a serial run
            shutil.rmtree(config.option.pcap_dir, ignore_errors=True)
    if name == "emulated":
        record.capture_root = Path(config.getoption("--pcap-dir"))
    if getattr(config.option, "htmlpath", None) is None and config.pluginmanager.hasplugin("html"):
        config.option.htmlpath = str(REPORTS / "conformance.html")
        config.option.self_contained_html = True
    if getattr(config.option, "xmlpath", None) is None:
        config.option.xmlpath = str(REPORTS / "junit.xml")


def _build_driver(config, module: str | None = None):
    name = config.getoption("--driver")
    try:
        if name == "emulated":
            capture = config.getoption("--pcap-dir")
            if capture and module:
                capture = str(Path(capture) / module)
            return driver_class(name)(config.getoption("--lab"), capture_dir=capture)
        return driver_class(name)(config.getoption("--inventory"))
    except (DriverError, ScenarioError) as err:
        pytest.exit(f"cannot start the {name} driver: {err}", returncode=4)


SHARED_KEY = pytest.StashKey["object"]()


@pytest.fixture(scope="module")
def driver(request):
    """The target: a fresh emulated lab per test module, or the shared connections to real devices."""
    config = request.config
    shared = config.stash.get(SHARED_KEY, None)
    if shared is not None and not shared.fresh_per_module:
        drv = shared
    else:
        drv = _build_driver(config, request.module.__name__.rsplit(".", 1)[-1])
        if not drv.fresh_per_module:
            config.stash[SHARED_KEY] = drv
    config.stash[DRIVER_KEY] = drv
    _note_facts(config, drv)
    try:
        from pytest_metadata.plugin import metadata_key
        config.stash[metadata_key].update({k.title(): v for k, v in drv.describe().items()})
    except (ImportError, KeyError):
        pass
    yield drv
    if drv.fresh_per_module:
        drv.close()


def _note_facts(config, drv) -> None:
    """The run's facts for the report: the target and what each router says it runs."""
    record = config.stash.get(RECORD_KEY, None)
    if record is None or record.facts:
        return
    record.facts.update({k.title(): v for k, v in drv.describe().items()})
    for role in ("hub", "remote"):
        try:
            text = drv.session(role).send("show version")
        except DriverError as err:
            record.facts[f"{role} show version"] = f"unavailable: {err}"
            continue
        lines = [l.strip() for l in text.splitlines()
                 if ("Version" in l and not l.startswith(("ROM", "BOOTLDR"))) or "uptime is" in l]
        record.facts[f"{role} show version"] = " / ".join(lines[:2])


def pytest_sessionfinish(session):
    shared = session.config.stash.get(SHARED_KEY, None)
    if shared is not None:
        shared.close()


@pytest.fixture(scope="module")
def scenario(driver):
    """The expected values (scenario file with the lab's or inventory's overrides)."""
    return driver.scenario


@pytest.fixture(scope="module")
def hub(driver):
    return driver.session("hub")


@pytest.fixture(scope="module")
def remote(driver):
    return driver.session("remote")


def pytest_collection_modifyitems(config, items):
    if (config.getoption("--driver") == "emulated" or config.getoption("--allow-disruptive")
            or config.stash.get(ALLOW_DISRUPTIVE_KEY, False)):
        return
    skip = pytest.mark.skip(reason="disruptive: changes device state; on real devices run with --allow-disruptive")
    for item in items:
        if item.get_closest_marker("disruptive"):
            item.add_marker(skip)


def pytest_runtest_setup(item):
    item.stash[DRIVER_KEY] = exchanges_so_far()


def _claims(item) -> list[str]:
    return [c for mark in item.iter_markers("claim") for c in mark.args]


def _properties(report, name: str) -> list[str]:
    """Values of the report's user properties named ``name`` (they survive pytest-xdist's transport)."""
    return [value for key, value in getattr(report, "user_properties", ()) if key == name]


def pytest_runtest_logreport(report):
    record = _record_of(report)
    claims = _properties(report, "claim")
    if record is None or not claims:
        return
    if report.when == "call" or report.failed or report.skipped:
        outcome = "failed" if report.failed else "skipped" if report.skipped else "passed"
        record.record(report.nodeid, claims, outcome)
        for value in _properties(report, "diagnosis"):
            codes = record.diagnoses.setdefault(report.nodeid, [])
            code = value.split(":", 1)[0]
            if code not in codes:
                codes.append(code)


_CURRENT_CONFIG: list = []


def _record_of(report):
    config = _CURRENT_CONFIG[0] if _CURRENT_CONFIG else None
    return config.stash.get(RECORD_KEY, None) if config is not None else None


def pytest_sessionstart(session):
    _CURRENT_CONFIG[:] = [session.config]


def pytest_html_results_summary(prefix, summary, postfix, session):
    record = session.config.stash.get(RECORD_KEY, None)
    if record is not None:
        report_dir = Path(session.config.option.htmlpath or REPORTS).parent
        prefix.append(record.summary_html(report_dir))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.claims = _claims(item)
    for claim in report.claims:
        for properties in (item.user_properties, report.user_properties):
            if ("claim", claim) not in properties:
                properties.append(("claim", claim))
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    drv = item.config.stash.get(DRIVER_KEY, None)
    html_plugin = item.config.pluginmanager.getplugin("html")
    if drv is None or html_plugin is None:
        return
    start = item.stash.get(DRIVER_KEY, 0)
    exchanges = [e for e in drv.transcript if e.seq >= start]
    if exchanges:
        text = "\n".join(e.render() for e in exchanges)
        extras = getattr(report, "extras", [])
        extras.append(html_plugin.extras.text(text, name="CLI transcript"))
        report.extras = extras


def pytest_html_report_title(report):
    report.title = "Document 14131 conformance report"


def pytest_html_results_table_header(cells):
    cells.insert(2, "<th>Claims</th>")


def pytest_html_results_table_row(report, cells):
    claims = sorted(set(_properties(report, "claim")))
    cells.insert(2, f"<td>{html.escape(', '.join(claims))}</td>")

