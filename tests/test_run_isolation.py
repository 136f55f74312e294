"""Conformance runs that keep to themselves and tell the tooling's faults from the routers'.

Emulator faults are injected through a pytest plugin written into the test's
folder: an exception inside the emulator must come out as an emulator fault
(the claim NOT CHECKED, no network diagnosis), never as a failed claim.
"""

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from support import FIXTURES, ROOT


def pytest_run(*args, cwd=ROOT, env=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def _plugin(tmp_path: Path, body: str) -> dict:
    (tmp_path / "inject_fault.py").write_text(body)
    env = dict(os.environ)
    env["PYTHONPATH"] = f"{tmp_path}{os.pathsep}{env.get('PYTHONPATH', '')}"
    return env


COMMAND_FAULT = '''
from emulator.cli.session import CliSession

_execute = CliSession._execute


def _broken(self, line):
    if line.strip() == "show crypto ipsec sa":
        return {}["no such key"]      # a bug inside the emulator while it runs a command
    return _execute(self, line)


CliSession._execute = _broken
'''

COMPONENT_FAULT = '''
from emulator.sim.wires import SerialEnd

_deliver = SerialEnd._deliver


def _broken(self, *args):
    frame = args[0]
    if len(frame) > 120:               # the larger frames (IKE, ESP) make a lab component fail
        raise ZeroDivisionError("injected fault in a serial receiver")
    return _deliver(self, *args)


SerialEnd._deliver = _broken
'''


def _claims_matrix(html: str) -> dict[str, str]:
    rows = re.findall(r"<details class='claim [a-z]+' id='claim-[A-Z0-9-]+' data-claim='([A-Z0-9-]+)' "
                      r"data-verdict='([A-Z ]+)'", html)
    return dict(rows)


def test_an_exception_in_a_command_is_an_emulator_fault_not_a_failed_claim(tmp_path):
    env = _plugin(tmp_path, COMMAND_FAULT)
    html, junit = tmp_path / "r.html", tmp_path / "j.xml"
    result = pytest_run("-p", "inject_fault", f"--html={html}", f"--junitxml={junit}",
                        "suites/test_crypto_ipsec_sa.py", env=env)
    assert result.returncode == 1
    out = result.stdout
    assert "EMULATOR FAULT" in out and "not checked: failures of the tooling, not of the routers" in out
    assert "emulator fault in sam-i-am: 'show crypto ipsec sa': KeyError" in out
    assert "(at emulator/" not in out or "inject_fault" not in out.split("(at emulator/")[1][:80]
    matrix = _claims_matrix(html.read_text())
    assert matrix, "the report has its claims matrix"
    assert "FAIL" not in matrix.values()
    assert "NOT CHECKED" in matrix.values()
    properties = [(p.get("name"), p.get("value")) for p in ET.parse(junit).getroot().iter("property")]
    assert not [v for n, v in properties if n == "diagnosis"], "no network diagnosis for a fault of ours"
    assert any(n == "fault" and v.startswith("emulator-fault: ") for n, v in properties)


def test_a_failing_lab_component_is_an_emulator_fault_naming_it(tmp_path):
    env = _plugin(tmp_path, COMPONENT_FAULT)
    html = tmp_path / "r.html"
    result = pytest_run("-p", "inject_fault", f"--html={html}", "--junitxml", str(tmp_path / "j.xml"),
                        "suites/test_tunnel.py", env=env)
    assert result.returncode == 1
    out = result.stdout
    assert "emulator fault in" in out and "lab component at lab time" in out
    assert "ZeroDivisionError: injected fault in a serial receiver" in out
    matrix = _claims_matrix(html.read_text())
    assert "FAIL" not in matrix.values() and "NOT CHECKED" in matrix.values()
    assert "Not checked: failures of the test tooling" in html.read_text()


def test_boot_rejections_are_listed_with_the_documents_typo_explained(tmp_path):
    html = tmp_path / "r.html"
    result = pytest_run(f"--html={html}", "--junitxml", str(tmp_path / "j.xml"), "suites/test_running_config.py")
    assert result.returncode == 0, result.stdout[-2000:]
    text = html.read_text()
    assert "Configuration lines rejected at boot" in text
    assert "sam-i-am.cfg:5: service timestamps log up time" in text
    assert "A typo in the document&#x27;s hub configuration" in text or "typo in the document" in text


def test_two_runs_at_once_keep_their_own_captures(tmp_path):
    runs = []
    for name in ("a", "b"):
        cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               f"--html={tmp_path / (name + '.html')}", f"--junitxml={tmp_path / (name + '.xml')}"]
        runs.append(subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outputs = [p.communicate(timeout=300)[0] for p in runs]
    assert [p.returncode for p in runs] == [0, 0], "\n".join(o[-1500:] for o in outputs)
    folders = []
    for name in ("a", "b"):
        text = (tmp_path / f"{name}.html").read_text()
        found = set(re.findall(r"captures/(\d{8}-\d{6}-\d+)/", text))
        assert len(found) == 1, found
        folders.append(found.pop())
    assert folders[0] != folders[1]
    for folder in folders:
        pcaps = list((ROOT / "reports" / "captures" / folder).rglob("*.pcap"))
        assert pcaps, f"the captures of run {folder} are still there"


@pytest.mark.parametrize("args", [["--collect-only", "-q"], ["--help"],
                                  ["-q", "tests/test_lab.py::test_document_lab_loads"]])
def test_looking_never_rewrites_the_reports(args):
    """No report, no JUnit file and no capture folder of this run (other runs may write meanwhile)."""
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode in (0, 5), out[-1500:]
    assert "Generated html report" not in out and "generated xml file" not in out
    captures = ROOT / "reports" / "captures"
    mine = list(captures.glob(f"*-{proc.pid}")) if captures.exists() else []
    assert mine == []


@pytest.mark.parametrize("option", ["--lab", "--inventory"])
def test_option_paths_elsewhere_run_the_suites_with_the_projects_rootdir(tmp_path, option):
    lab_dir = tmp_path / "elsewhere"
    lab_dir.mkdir()
    for f in FIXTURES.glob("*"):
        (lab_dir / f.name).write_bytes(f.read_bytes())
    target = lab_dir / "lab.yml"
    extra = ["--driver=netmiko"] if option == "--inventory" else []
    if option == "--inventory":
        target = lab_dir / "inventory.yml"
        target.write_text((ROOT / "fixtures" / "inventory.example.yml").read_text())
    env = dict(os.environ, LAB_USERNAME="u", LAB_PASSWORD="p", LAB_ENABLE="e")
    result = pytest_run(*extra, option, str(target), "--collect-only", "-q", env=env)
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr
    collected = [line for line in result.stdout.splitlines() if "::" in line]
    assert collected, result.stdout[-1500:] + result.stderr
    assert all(line.startswith("suites/") for line in collected), collected[:5]
    assert len(collected) < 100
