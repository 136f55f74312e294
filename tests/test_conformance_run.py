"""The conformance run as a user starts it: options, reports, and a lab that does not conform."""

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

from support import DOC_LAB, FIXTURES, ROOT
from support.leaks import artefact_texts, lab_secrets, leaks


def pytest_run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_unknown_driver_fails_at_start_with_the_list():
    result = pytest_run("--driver=telepathy")
    assert result.returncode == 4
    assert "--driver=telepathy: unknown driver (known drivers: emulated, netmiko)" in result.stderr


def test_netmiko_driver_names_a_missing_inventory():
    result = pytest_run("--driver=netmiko", "--inventory", "no-such-inventory.yml")
    assert result.returncode == 4
    assert "no-such-inventory.yml: cannot read inventory file (No such file or directory)" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_lab_file_is_one_line(tmp_path):
    lab = tmp_path / "lab.yml"
    lab.write_text("devices:\n  r1: {config: missing.cfg}\n")
    result = pytest_run("--lab", str(lab))
    assert result.returncode == 4
    assert f"{lab}: devices.r1.config: configuration file not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_user_html_path_wins_and_junit_is_written(tmp_path):
    html = tmp_path / "mine.html"
    junit = tmp_path / "j.xml"
    result = pytest_run(f"--html={html}", f"--junitxml={junit}", "suites/test_running_config.py")
    assert result.returncode == 0, result.stdout[-2000:]
    text = html.read_text()
    assert "Document 14131 conformance report" in text
    assert "CLI transcript" in text and "<th>Claims</th>" in text
    suite = ET.parse(junit).getroot().find("testsuite")
    assert int(suite.get("failures")) == 0 and int(suite.get("tests")) >= 10
    claims = {p.get("value") for p in ET.parse(junit).getroot().iter("property") if p.get("name") == "claim"}
    assert {"CFG-HUB-IKE", "CFG-HUB-DYNMAP", "CFG-REMOTE-MAP", "CFG-NAT", "CFG-ACL"} <= claims


def test_lab_without_the_hub_crypto_map_is_not_this_design(tmp_path):
    """Without the hub's crypto map no router is a hub: the preflight says so in a sentence,
    instead of 30 failing tests."""
    for f in FIXTURES.glob("*"):
        shutil.copy(f, tmp_path / f.name)
    hub = tmp_path / "sam-i-am.cfg"
    text = hub.read_text()
    # Remove the crypto map: its entry and its application to Serial0.
    text = text.replace("crypto map rtptrans 10 ipsec-isakmp dynamic rtpmap", "!")
    text = text.replace("\ncrypto map rtptrans\n", "\n!\n")
    hub.write_text(text)
    junit = tmp_path / "j.xml"
    result = pytest_run("--lab", str(tmp_path / "lab.yml"), f"--html={tmp_path / 'r.html'}",
                        f"--junitxml={junit}", "suites/test_running_config.py")
    assert result.returncode == 4, result.stdout[-2000:]
    assert ("preflight: this lab is not the hub-and-spoke design of Document 14131: no router has a dynamic "
            "crypto map bound to a crypto map on an interface") in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_project_tests_do_not_touch_the_conformance_report(tmp_path):
    result = pytest_run("--collect-only", "-q", "tests/test_lab.py")
    assert result.returncode == 0
    assert "conformance.html" not in result.stdout


def _verdicts(junit):
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        failed = case.find("failure") is not None or case.find("error") is not None
        out[f"{case.get('classname')}.{case.get('name')}"] = "failed" if failed else (
            "skipped" if case.find("skipped") is not None else "passed")
    return out


def test_parallel_run_gives_the_same_verdicts(tmp_path):
    serial, parallel = tmp_path / "serial.xml", tmp_path / "parallel.xml"
    a = pytest_run(f"--junitxml={serial}", f"--html={tmp_path / 's.html'}")
    b = pytest_run("-p", "xdist", "-n", "2", f"--junitxml={parallel}", f"--html={tmp_path / 'p.html'}")
    assert a.returncode == b.returncode == 0, a.stdout[-2000:] + b.stdout[-2000:]
    assert _verdicts(serial) == _verdicts(parallel)
    assert len(_verdicts(serial)) >= 30
    # The claims matrix is built from what the workers report, so it is complete in both.
    assert (tmp_path / "p.html").read_text().count(">PASS<") == (tmp_path / "s.html").read_text().count(">PASS<") >= 20
    # The workers mask their reports, the controller its claims matrix: no secret in either run's files.
    texts = artefact_texts(tmp_path)
    assert "sam-i-am#show running-config" in texts[str(tmp_path / "p.html")]      # the workers' transcripts
    assert leaks(texts, lab_secrets(DOC_LAB) | {"cisco123", "ww", "lab"}) == []


def test_every_claim_has_a_test_and_every_test_a_known_claim(tmp_path):
    junit = tmp_path / "j.xml"
    result = pytest_run(f"--junitxml={junit}", f"--html={tmp_path / 'r.html'}")
    assert result.returncode == 0, result.stdout[-2000:]
    claims = {c["id"] for c in yaml.safe_load((FIXTURES / "claims.yml").read_text())["claims"]}
    cases = list(ET.parse(junit).getroot().iter("testcase"))
    named = [{p.get("value") for p in case.iter("property") if p.get("name") == "claim"} for case in cases]
    assert all(named), "every conformance test names at least one claim"
    assert set().union(*named) == claims
    report = (tmp_path / "r.html").read_text()
    assert "not tested" not in report and "unknown claims" not in report
