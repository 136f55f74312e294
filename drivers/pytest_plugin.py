"""pytest plugin of the conformance suite: options, the driver fixture, the report.

Loaded by the top-level conftest.py, and also declared as a pytest11 entry
point so that its options are known before pytest reads paths from the
command line (``--lab /elsewhere/lab.yml`` is then not taken for a test path).

    pytest                                   # the emulated lab of the document
    pytest --lab my-lab.yml                  # another emulated lab
    pytest --driver=netmiko --inventory lab.yml

Every run of the suites writes reports/conformance.html and reports/junit.xml
unless --html / --junitxml say otherwise; runs that only collect, show help or
run the project's own tests write nothing there. The conformance report is this
project's own page (drivers/report_html.py: verdict, claims with their evidence
inline, the lab and each test's exchange drawn), self-contained but for the
captures it links to; it takes pytest-html's --html option. Each run of the
emulated suites keeps its captures in a folder of its own (reports/captures/RUN),
so runs at the same time never share one.

Nothing the run writes shows a secret: every test report (failure text, captured
output, properties, the CLI transcript) is masked before pytest, pytest-html,
JUnit or pytest-xdist see it, with the secrets of the lab or inventory and those
the devices print (drivers/secrets.py).
"""

from __future__ import annotations

import fcntl
import html
import os
import shutil
import time
from pathlib import Path

import pytest

from drivers import DRIVERS, DriverError, driver_class
from drivers.base import Driver, EmulatorFaultError, TransportError, exchanges_so_far
from drivers.ladder import DirectionRecorder
from drivers.report import ConformanceRecord
from drivers.report_html import write_report
from drivers.scenario import ScenarioError
from drivers.secrets import Masker, masked_log_records, scrub_object, scrub_report

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports"
DRIVER_KEY = pytest.StashKey["object"]()
RECORD_KEY = pytest.StashKey[ConformanceRecord]()
ALLOW_DISRUPTIVE_KEY = pytest.StashKey[bool]()
SECRETS_KEY = pytest.StashKey[Masker]()
REMOTE_ROLES_KEY = pytest.StashKey[list]()    # the lab's or inventory's remote roles, for parametrizing
REPORT_PATH_KEY = pytest.StashKey[Path]()
DRIVER_MODULE_KEY = pytest.StashKey[str]()
MARKS_KEY = pytest.StashKey[dict]()       # test module -> lab time (s) the last test of it ended at
TITLE = "Document 14131 conformance report"
CAPTURE_RUNS_KEPT = 10          # finished runs whose captures stay beside the reports
WORKER_CAPTURE_KEY = "conformance_capture_dir"


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
    group.addoption("--document-values", action="store_true", default=False,
                    help="check the document's literal values (addresses, keys, transforms, its sample output) "
                         "even on a lab that is not the document's")


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
def pytest_load_initial_conftests(early_config, parser, args):
    """``pytest --lab /elsewhere/lab.yml`` runs the suites with this project's rootdir and settings.

    pytest picks its rootdir before plugins define their options, so the value of ``--lab`` or
    ``--inventory`` (space form) is taken for a path and the rootdir moves to its folder; with no
    test path of their own, such runs are rooted here again (the project's ini settings, testpaths).
    """
    ns = early_config.known_args_namespace
    project_ini = ROOT / "pyproject.toml"
    if early_config.inipath == project_ini or ns.file_or_dir or ns.rootdir or ns.inifilename:
        return
    if not (getattr(ns, "lab", None) or getattr(ns, "inventory", None)):
        return
    if Path(early_config.invocation_params.dir).resolve() != ROOT:
        return
    from _pytest.config.findpaths import locate_config  # the reader pytest itself uses for ini files
    rootdir, inipath, inicfg, _ = locate_config(ROOT, [ROOT])
    early_config._rootpath, early_config._inipath, early_config._inicfg = rootdir, inipath, inicfg
    early_config._parser.extra_info.update(rootdir=str(rootdir), inifile=str(inipath))
    ns.confcutdir = str(ROOT)


def _only_looks(config) -> bool:
    """True for runs that run no test: --help, --version, --collect-only, --fixtures, --markers."""
    option = config.option
    return any(getattr(option, flag, False) for flag in ("help", "version", "collectonly", "showfixtures",
                                                          "markers", "show_fixtures_per_test"))


def _capture_run_dir(config) -> Path:
    """This run's own capture folder under reports/captures, held with a lock while the run lasts.

    Folders of finished runs beyond the newest few are removed; a folder whose run still holds its
    lock is never touched (two runs at the same time each keep theirs).
    """
    parent = REPORTS / "captures"
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = parent / f"{stamp}-{os.getpid()}"
    run.mkdir(exist_ok=True)
    lock = open(run / ".lock", "w")   # noqa: SIM115 - held open until the run ends
    fcntl.flock(lock, fcntl.LOCK_EX)
    config.add_cleanup(lock.close)
    others = [d for d in parent.iterdir() if d.is_dir() and d != run]
    finished = [d for d in sorted(others, key=_mtime, reverse=True) if not _held(d)]
    for old in finished[CAPTURE_RUNS_KEPT - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    return run


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _held(run: Path) -> bool:
    """Whether a run may still be using a capture folder: its lock is held, or, without a lock file,
    the folder is less than a minute old (a run that is just creating it)."""
    try:
        with open(run / ".lock") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return False
    except FileNotFoundError:
        try:
            return time.time() - run.stat().st_mtime < 60
        except OSError:
            return False
    except OSError:
        return True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist: each worker writes into the controller's capture folder for this run."""
    capture = node.config.getoption("--pcap-dir")
    if capture:
        node.workerinput[WORKER_CAPTURE_KEY] = capture


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    name = config.getoption("--driver")
    if name not in DRIVERS:
        raise pytest.UsageError(f"--driver={name}: unknown driver (known drivers: {', '.join(sorted(DRIVERS))})")
    if not _runs_suites(config):
        return
    secrets = Masker()
    try:
        if name == "emulated":
            from drivers.emulated import lab_secrets
            from emulator.lab.labfile import LabError, load_lab
            try:
                spec = load_lab(config.getoption("--lab") or ROOT / "fixtures" / "doc14131" / "lab.yml")
                secrets.add(lab_secrets(spec))
            except (LabError, ScenarioError) as err:
                raise pytest.UsageError(str(err)) from None
            roles = [d.role for d in spec.devices.values() if d.role]
        elif name == "netmiko":
            probe = driver_class(name)(config.getoption("--inventory"), secrets=secrets)
            config.stash[ALLOW_DISRUPTIVE_KEY] = bool(getattr(probe, "allow_disruptive", False))
            roles = probe.roles()
        from drivers.derive import remote_roles
        config.stash[REMOTE_ROLES_KEY] = remote_roles(roles) or ["remote"]
    except DriverError as err:
        raise pytest.UsageError(str(err)) from None
    if _only_looks(config):
        return
    # The run's masker: the lab's or inventory's secrets; the drivers add those their devices print.
    config.stash[SECRETS_KEY] = secrets
    config.add_cleanup(masked_log_records(secrets))
    REPORTS.mkdir(exist_ok=True)
    record = config.stash[RECORD_KEY] = ConformanceRecord()
    record.mask = secrets
    if name == "emulated" and not config.getoption("--pcap-dir"):
        # Every emulated run keeps its captures and keys beside the report, in a folder of its own.
        worker = getattr(config, "workerinput", None)
        if worker is not None and WORKER_CAPTURE_KEY in worker:
            config.option.pcap_dir = worker[WORKER_CAPTURE_KEY]
        else:
            config.option.pcap_dir = str(_capture_run_dir(config))
    if name == "emulated":
        record.capture_root = Path(config.getoption("--pcap-dir"))
        lab = config.getoption("--lab") or ROOT / "fixtures" / "doc14131" / "lab.yml"
        record.target = {"driver": name, "lab": str(Path(lab).resolve())}
    else:
        record.target = {"driver": name, "inventory": str(Path(config.getoption("--inventory")).resolve())}
    config.stash[MARKS_KEY] = {}
    # The report is this plugin's own page; pytest-html's --html only says where it goes.
    config.stash[REPORT_PATH_KEY] = Path(getattr(config.option, "htmlpath", None) or REPORTS / "conformance.html")
    if getattr(config.option, "htmlpath", None) is not None:
        config.option.htmlpath = None
    if getattr(config.option, "xmlpath", None) is None:
        config.option.xmlpath = str(REPORTS / "junit.xml")


def _build_driver(config, module: str | None = None, before_settle=None):
    name = config.getoption("--driver")
    secrets = config.stash.get(SECRETS_KEY, None)
    try:
        if name == "emulated":
            capture = config.getoption("--pcap-dir")
            if capture and module:
                capture = str(Path(capture) / module)
            from drivers.emulated import EmulatedDriver
            drv: Driver = EmulatedDriver(config.getoption("--lab"), capture_dir=capture, secrets=secrets,
                                         before_settle=before_settle if capture else None)
        else:
            drv = driver_class(name)(config.getoption("--inventory"), secrets=secrets)
    except (DriverError, ScenarioError) as err:
        pytest.exit(f"cannot start the {name} driver: {err}", returncode=4)
    drv.document_values = bool(config.getoption("--document-values"))
    try:
        _ = drv.scenario        # the preflight: the design, the overrides against the devices
    except ScenarioError as err:
        drv.close()
        mask = secrets if secrets is not None else str
        pytest.exit(f"preflight: {mask(str(err))}", returncode=4)
    except DriverError as err:
        drv.close()
        pytest.exit(f"cannot read the devices' configurations: {err}", returncode=4)
    return drv


SHARED_KEY = pytest.StashKey["object"]()


@pytest.fixture(scope="module")
def driver(request):
    """The target: a fresh emulated lab per test module, or the shared connections to real devices."""
    config = request.config
    shared = config.stash.get(SHARED_KEY, None)
    recorders: list[DirectionRecorder] = []    # who sent each captured frame, for the report's ladders
    if shared is not None and not shared.fresh_per_module:
        drv = shared
    else:
        drv = _build_driver(config, request.module.__name__.rsplit(".", 1)[-1],
                            before_settle=lambda lab: recorders.append(DirectionRecorder(lab)))
        if not drv.fresh_per_module:
            config.stash[SHARED_KEY] = drv
    config.stash[DRIVER_KEY] = drv
    config.stash[DRIVER_MODULE_KEY] = request.module.__name__
    _note_facts(config, drv)
    try:
        from pytest_metadata.plugin import metadata_key
        config.stash[metadata_key].update({k.title(): v for k, v in drv.describe().items()})
    except (ImportError, KeyError):
        pass
    yield drv
    if drv.fresh_per_module:
        drv.close()
    for recorder in recorders:
        recorder.save(drv.lab.capture.directory)


def _note_facts(config, drv) -> None:
    """The run's facts for the report: the target and what each router says it runs."""
    record = config.stash.get(RECORD_KEY, None)
    if record is None or record.facts:
        return
    record.facts.update({k.title(): v for k, v in drv.describe().items()})
    from drivers.report import load_claims
    for cid, claim in load_claims(render=drv.scenario.render).items():
        if cid in record.claims:
            record.claims[cid].checked = claim.checked
    record.facts["Expected values"] = ("the document's values (the document's lab, or --document-values)"
                                       if drv.scenario.document_values else
                                       "derived from the configurations; " + drv.scenario.not_document)
    record.rejections = drv.boot_rejections()
    for role in ("hub", "remote"):
        try:
            text = drv.session(role).send("show version")
        except DriverError as err:
            record.facts[f"{role} show version"] = f"unavailable: {err}"
            continue
        lines = [ln.strip() for ln in text.splitlines()
                 if ("Version" in ln and not ln.startswith(("ROM", "BOOTLDR"))) or "uptime is" in ln]
        record.facts[f"{role} show version"] = " / ".join(lines[:2])


def pytest_sessionfinish(session):
    shared = session.config.stash.get(SHARED_KEY, None)
    if shared is not None:
        shared.close()
    config = session.config
    record = config.stash.get(RECORD_KEY, None)
    if record is None or hasattr(config, "workerinput"):
        return
    record.finished = time.time()
    path = config.stash[REPORT_PATH_KEY]
    write_report(record, path, TITLE)


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


NOT_APPLICABLE = "not applicable"       # a skip reason that starts so is an N/A verdict


def _properties(report, name: str) -> list[str]:
    """Values of the report's user properties named ``name`` (they survive pytest-xdist's transport)."""
    return [value for key, value in getattr(report, "user_properties", ()) if key == name]


def pytest_runtest_logreport(report):
    record = _record_of(report)
    if record is None:
        return
    record.add_report(report)
    extra = getattr(report, "conformance", None) or {}
    if extra.get("facts") and not record.facts:       # from a pytest-xdist worker
        record.facts.update(extra["facts"])
    if extra.get("rejections") is not None and record.rejections is None:
        record.rejections = extra["rejections"]
    claims = _properties(report, "claim")
    if not claims:
        return
    if report.when == "call" or report.failed or report.skipped:
        faults = _properties(report, "fault")
        outcome = ("error" if faults and report.failed else "failed" if report.failed
                   else "n/a" if report.skipped and NOT_APPLICABLE in str(report.longrepr)
                   else "skipped" if report.skipped else "passed")
        record.record(report.nodeid, claims, outcome)
        if faults:
            record.faults.setdefault(report.nodeid, faults[0])
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


def tooling_fault(excinfo) -> str | None:
    """``kind: text`` when a test stopped on the tooling (emulator fault, lost transport), else None."""
    if excinfo is None:
        return None
    err = excinfo.value
    if isinstance(err, EmulatorFaultError):
        return f"emulator-fault: {err}"
    if isinstance(err, TransportError):
        return f"transport: {err}"
    return None


def pytest_report_teststatus(report, config):
    """A test stopped by an emulator fault or a lost transport is an error of the tooling, not a failure."""
    if report.failed and _properties(report, "fault"):
        kind = _properties(report, "fault")[0].split(":", 1)[0]
        return "error", "E", "EMULATOR FAULT" if kind == "emulator-fault" else "TRANSPORT ERROR"
    return None


def pytest_terminal_summary(terminalreporter):
    config = terminalreporter.config
    record = config.stash.get(RECORD_KEY, None)
    if record is not None and not hasattr(config, "workerinput") and config.stash[REPORT_PATH_KEY].is_file():
        verdict, why = record.verdict()
        terminalreporter.write_sep("-", f"Generated html report: {config.stash[REPORT_PATH_KEY].resolve().as_uri()}")
        terminalreporter.line(f"conformance: {verdict}: {record.mask(why)}")
    if record is None or not record.faults:
        return
    terminalreporter.section("not checked: failures of the tooling, not of the routers")
    for nodeid, text in record.faults.items():
        terminalreporter.line(f"{nodeid}: {text}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Claims, faults and the CLI transcript on the report; then every secret masked in it (the
    outermost wrapper: the suites' diagnosis is in, and nothing reads the report before)."""
    outcome = yield
    report = outcome.get_result()
    _annotate(item, call, report)
    secrets = item.config.stash.get(SECRETS_KEY, None)
    if secrets is not None:
        scrub_report(report, secrets)
        if getattr(report, "conformance", None):
            report.conformance = scrub_object(report.conformance, secrets)
        item.user_properties[:] = [(name, secrets(v) if isinstance(v, str) else v)
                                   for name, v in item.user_properties]


def _annotate(item, call, report) -> None:
    fault = tooling_fault(call.excinfo) if report.failed else None
    if fault is not None:
        for properties in (item.user_properties, report.user_properties):
            properties.append(("fault", fault))
    report.claims = _claims(item)
    for claim in report.claims:
        for properties in (item.user_properties, report.user_properties):
            if ("claim", claim) not in properties:
                properties.append(("claim", claim))
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    record = item.config.stash.get(RECORD_KEY, None)
    if record is None:
        return
    extra: dict = {}
    if call.excinfo is not None and report.failed:
        from drivers.report import failure_message
        extra["message"] = failure_message(call.excinfo.exconly())
    drv = item.config.stash.get(DRIVER_KEY, None)
    if drv is not None and drv.fresh_per_module and item.config.stash.get(DRIVER_MODULE_KEY, None) != \
            item.module.__name__:
        drv = None      # this module's driver was never built: the one in the stash is an earlier module's
    if drv is not None:
        start = item.stash.get(DRIVER_KEY, 0)
        extra["exchanges"] = [[e.device, e.prompt, e.command, e.output] for e in drv.transcript if e.seq >= start]
        extra.update(_lab_window(item, drv))
    if record.facts:
        extra["facts"] = dict(record.facts)
    if record.rejections is not None:
        extra["rejections"] = record.rejections
    report.conformance = extra


def _lab_window(item, drv) -> dict:
    """The lab time this test ran in (from the end of the module's previous test) and its captures' folder."""
    lab = getattr(drv, "lab", None)
    capture = getattr(lab, "capture", None)
    if lab is None or capture is None:
        return {}
    now = lab.sim.now / 1e9
    marks = item.config.stash[MARKS_KEY]
    module = item.module.__name__
    start = marks.get(module, 0.0)
    marks[module] = now
    return {"window": [start, now], "capture": str(Path(capture.directory).resolve())}


def pytest_html_report_title(report):
    report.title = "Document 14131 conformance report"


def pytest_html_results_table_header(cells):
    cells.insert(2, "<th>Claims</th>")


def pytest_html_results_table_row(report, cells):
    claims = sorted(set(_properties(report, "claim")))
    cells.insert(2, f"<td>{html.escape(', '.join(claims))}</td>")

