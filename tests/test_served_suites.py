"""The conformance suites against the served emulator, over SSH and over telnet, give the emulated verdicts.

``python -m emulator serve --write-inventory FILE`` in a subprocess, then
``pytest suites --driver=netmiko --inventory FILE`` in another, as a person
would run them; the served lab is paced at SPEED lab seconds per wall second
to keep the runs short (every timer of the lab scales with it; only the
suites' own waits and the drivers' timeouts are in wall seconds, and they
only get more lab time).
"""

from __future__ import annotations

import re
import socket
import stat
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from drivers.base import DriverError
from drivers.netmiko_ios import NetmikoDriver
from emulator.frontends.server import LabServer
from emulator.lab.labfile import Lab
from support import ROOT
from support.leaks import artefact_texts, lab_secrets, leaks

DOC_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
VARIANT_LAB = ROOT / "fixtures" / "variant" / "lab.yml"
SPEED = 4
RUN_TIMEOUT = 150          # one run of the suites; it takes about 30 s


def _checked(junit: Path) -> set[str]:
    """The values the run checked, without where they came from (a lab file, or show running-config)."""
    return {p.get("value").split(" (from ", 1)[0] for p in ET.parse(junit).getroot().iter("property")
            if p.get("name") == "checked"}


def _outcomes(junit: Path) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Test name -> (outcome, claims) from a JUnit file written by the suites."""
    found = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        claims = tuple(p.get("value") for p in case.iter("property") if p.get("name") == "claim")
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        found[f"{case.get('classname')}::{case.get('name')}"] = (outcome, claims)
    return found


def _verdicts(outcomes: dict) -> dict[str, str]:
    """Claim -> verdict, as the report's claims matrix decides it."""
    per_claim: dict[str, set[str]] = {}
    for outcome, claims in outcomes.values():
        for claim in claims:
            per_claim.setdefault(claim, set()).add(outcome)
    return {claim: "FAIL" if "failed" in seen else "skipped" if seen == {"skipped"} else "PASS"
            for claim, seen in per_claim.items()}


def _run_suites(tmp: Path, *options: str) -> tuple[dict, float, subprocess.CompletedProcess]:
    junit, html = tmp / "junit.xml", tmp / "report.html"
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "suites", *options,
                             f"--junitxml={junit}", f"--html={html}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    elapsed = time.monotonic() - start
    assert junit.is_file(), result.stdout[-3000:] + result.stderr[-3000:]
    return _outcomes(junit), elapsed, result


def _processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def emulated(tmp_path_factory):
    """The emulated run of a lab (once per lab): outcomes and the values it checked."""
    runs: dict[Path, tuple[dict, set[str]]] = {}

    def run(lab: Path) -> tuple[dict, set[str]]:
        if lab not in runs:
            tmp = tmp_path_factory.mktemp("emulated")
            # Captures of its own: the default reports/captures is emptied by every run that uses it.
            outcomes, elapsed, result = _run_suites(tmp, "--driver=emulated", "--lab", str(lab),
                                                    f"--pcap-dir={tmp / 'captures'}")
            assert result.returncode == 0, result.stdout[-3000:]
            runs[lab] = (outcomes, _checked(tmp / "junit.xml"))
        return runs[lab]
    return run


# The document's lab over SSH; the variant (other names, addresses, key and algorithms, no scenario
# file) over telnet: its expectations are derived from show running-config through the driver.
@pytest.mark.parametrize("transport, lab", [("ssh", DOC_LAB), ("telnet", VARIANT_LAB)],
                         ids=["ssh", "telnet-variant"])
def test_the_suites_over_the_served_lab_give_the_emulated_verdicts(transport, lab, emulated, tmp_path,
                                                                   record_property):
    inventory = tmp_path / f"served-{transport}.yml"
    server = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--lab", str(lab),
                               "--write-inventory", str(inventory),
                               "--inventory-transport", transport, "--speed", str(SPEED), "--log-level", "WARNING"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(RUN_TIMEOUT + 30, server.kill)
    watchdog.start()
    try:
        port_map = [server.stdout.readline() for _ in range(6)]
        assert all(re.match(r"^\S+ ssh 127\.0\.0\.1:\d+ telnet 127\.0\.0\.1:\d+$", ln.strip()) for ln in port_map), \
            port_map + [server.stderr.read() if server.poll() is not None else ""]
        written = yaml.safe_load(inventory.read_text())
        assert stat.S_IMODE(inventory.stat().st_mode) == 0o600       # passwords in clear: the owner's only
        routers = {d["role"]: name for name, d in written["devices"].items()}
        for role in ("hub", "remote"):
            device = written["devices"][routers[role]]
            assert (device["transport"], device["password"], device["secret"]) == (transport, "ww", "lab")
        assert "scenario_file" not in written or lab == DOC_LAB
        outcomes, elapsed, result = _run_suites(tmp_path, "--driver=netmiko", "--inventory", str(inventory))
        record_property(f"{transport}_seconds", f"{elapsed:.1f}")
        print(f"\nsuites over {transport} (served at speed {SPEED}): {elapsed:.1f} s")
    finally:
        watchdog.cancel()
        server.terminate()
        try:
            code = server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
        server_log = server.stderr.read()
        server.stdout.close()
        server.stderr.close()
    assert code == 0                                         # SIGTERM stops it cleanly
    assert _processes_mentioning(str(inventory)) == []       # nothing left behind
    hub_port = written["devices"][routers["hub"]]["port"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", hub_port), timeout=2).close()

    assert result.returncode == 0, result.stdout[-4000:]
    # What the netmiko run wrote (the report with its transcripts, JUnit), its terminal and the server's log
    # hold none of the lab's secrets; only the inventory does.
    texts = artefact_texts(tmp_path, skip=[inventory])
    texts.update(stdout=result.stdout, stderr=result.stderr, server=server_log)
    # The transcripts were read into the report.
    assert f"{routers['hub']}#show running-config" in texts[str(tmp_path / "report.html")]
    assert any("crypto isakmp key <removed> address 0.0.0.0 0.0.0.0" in text for text in texts.values())
    assert leaks(texts, lab_secrets(lab) | {"cisco123", "ww", "lab"}) == []
    local, local_checked = emulated(lab)
    assert {name: o for name, (o, _) in outcomes.items()} == {name: o for name, (o, _) in local.items()}
    verdicts = _verdicts(outcomes)
    assert verdicts == _verdicts(local)
    assert verdicts and set(verdicts.values()) == ({"PASS"} if lab == DOC_LAB else {"PASS", "skipped"}), verdicts
    assert len(verdicts) >= 15
    # The same expectations, read from show running-config through the driver.
    served_checked = _checked(tmp_path / "junit.xml")
    assert served_checked == local_checked and len(served_checked) > 40
    if lab == VARIANT_LAB:
        assert "ipsec.transforms: expected esp-3des esp-sha-hmac" in served_checked
        assert "remotes.remote.negotiated_address: expected 198.51.100.7" in served_checked
        sources = " ".join(p.get("value") for p in ET.parse(tmp_path / "junit.xml").getroot().iter("property"))
        assert "(from hq-rtr show running-config (IOS default sha: not printed))" in sources


# ---------------------------------------------------------------------------- a device that stops answering

@pytest.fixture
def served_hub(tmp_path):
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab).start()
    path = tmp_path / "inventory.yml"
    server.write_inventory(path)
    data = yaml.safe_load(path.read_text())
    data["devices"]["sam-i-am"]["read_timeout"] = 2
    path.write_text(yaml.safe_dump(data))
    driver = NetmikoDriver(path)
    try:
        yield server, driver
    finally:
        driver.close()
        server.stop()
        lab.close()


def test_a_device_that_stops_answering_fails_send_within_read_timeout(served_hub):
    server, driver = served_hub
    hub = driver.session("hub")
    assert hub.send("show clock").endswith("UTC Mon Mar 1 1993\n")
    port = hub.device.port
    with server.lock:                                    # the router hangs: it echoes, and says no more
        start = time.monotonic()
        with pytest.raises(DriverError) as info:
            hub.send("show version")
        elapsed = time.monotonic() - start
    assert 1.9 < elapsed < 2 + 1.5, elapsed
    assert str(info.value) == (f"sam-i-am (hub) at 127.0.0.1:{port} over ssh: 'show version': no answer within 2 s "
                               f"(the device stopped answering, or the command needs a longer read_timeout); "
                               f"the session was closed, the next command opens a new one")
    assert hub.conn is None
    assert "Cisco Internetwork Operating System Software" in hub.send("show version")    # a new session


def test_a_device_that_goes_away_fails_send_at_once(served_hub):
    server, driver = served_hub
    hub = driver.session("hub")
    hub.send("show clock")
    server.stop()
    start = time.monotonic()
    with pytest.raises(DriverError, match=r"sam-i-am \(hub\) at 127\.0\.0\.1:\d+ over ssh: 'show clock': "
                                          r"(the connection was lost|no answer within 2 s)"):
        hub.send("show clock")
    assert time.monotonic() - start < 2 + 1.5
    with pytest.raises(DriverError, match=r"cannot connect: connection refused"):
        hub.send("show clock")

