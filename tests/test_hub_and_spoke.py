"""Any number of spokes: the lab generator, the 2522 access server, per-remote claims."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from drivers.emulated import EmulatedDriver
from emulator.__main__ import main
from emulator.lab.generate import MAX_SPOKES
from emulator.lab.labfile import Lab, load_lab
from support import ROOT

PER_REMOTE = {"CFG-REMOTE-IKE", "CFG-REMOTE-MAP", "CFG-REMOTE-IF", "IPCP-BEFORE", "IPCP-AFTER", "PING-LAN",
              "REMOTE-INITIATES", "SA-FIELDS", "SA-ESP-PAIR", "SA-COUNTERS"}
ROLES = ["remote", "remote2", "remote3"]


@pytest.fixture(scope="module")
def three(tmp_path_factory):
    out = tmp_path_factory.mktemp("three")
    assert main(["lab", "hub-and-spoke", "--spokes", "3", "--transform", "esp-3des", "esp-sha-hmac",
                 "--group", "2", str(out)]) == 0
    return out


def test_the_generated_lab_is_three_spokes_on_one_access_server(three):
    spec = load_lab(three / "lab.yml")
    assert [d.role for d in spec.devices.values()] == [
        "hub", "remote", "remote2", "remote3", "isp", "hub_host", "remote_host", "remote2_host", "remote3_host",
        "internet_host"]
    assert spec.devices["access-server"].platform == "2522"
    assert [link.ports for link in spec.links if link.kind == "serial"] == [
        [("hub", "Serial0"), ("access-server", "Serial0")], [("spoke1", "Serial0"), ("access-server", "Serial1")],
        [("spoke2", "Serial0"), ("access-server", "Serial2")], [("spoke3", "Serial0"), ("access-server", "Serial3")]]
    hub = (three / "hub.cfg").read_text()
    assert "crypto map vpn 10 ipsec-isakmp dynamic spokes" in hub and "set peer" not in hub
    assert "access-list 101 permit ip 172.16.0.0 0.0.0.255 172.16.3.0 0.0.0.255" in hub


def test_each_spoke_gets_the_address_of_its_line(three):
    drv = EmulatedDriver(three / "lab.yml")
    try:
        s = drv.scenario
        assert s.remote_roles() == ROLES
        assert [s[f"remotes.{r}.negotiated_address"] for r in ROLES] == ["198.51.100.6", "198.51.100.10",
                                                                          "198.51.100.14"]
        assert s.source_of("remotes.remote2.negotiated_address") == \
            "access-server configuration (access-server.cfg) (Serial2: pool SPOKE2)"
        assert [s[f"remotes.{r}.hostname"] for r in ROLES] == ["spoke1", "spoke2", "spoke3"]
        assert s["hosts.remote3_host"] == "172.16.3.10"
        assert s.render("{remote.lan_network}").startswith("172.16.1.0/24, 172.16.2.0/24, 172.16.3.0/24 [from")
    finally:
        drv.close()


def test_a_generated_three_spoke_lab_passes_with_every_per_remote_claim_per_remote(three, tmp_path):
    junit = tmp_path / "j.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--lab",
                             str(three / "lab.yml"), f"--junitxml={junit}", f"--html={tmp_path / 'r.html'}",
                             f"--pcap-dir={tmp_path / 'captures'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "66 passed, 1 skipped" in result.stdout
    per_claim: dict[str, set[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        assert case.find("failure") is None and case.find("error") is None
        param = re.search(r"\[(\w+)\]$", case.get("name"))
        for prop in case.iter("property"):
            if prop.get("name") == "claim":
                per_claim.setdefault(prop.get("value"), set()).add(param.group(1) if param else "")
    for claim in PER_REMOTE:
        assert set(ROLES) <= per_claim[claim], claim
    for claim in ("CFG-TRANSFORM", "CFG-NAT", "CFG-ACL", "CFG-ROUTE", "NAT-OVERLOAD", "NAT-EXEMPT"):
        assert per_claim[claim] == {"hub", *ROLES}, claim
    for claim in ("HUB-CANNOT-INITIATE", "IKE-SA", "SA-NO-AH", "SA-GOLDEN", "CFG-HUB-IKE"):
        assert per_claim[claim] == {""}, claim
    matrix = (tmp_path / "r.html").read_text()
    assert "test_hub_flow_fields[remote3]" in matrix
    assert "checked here: QM_IDLE between 203.0.113.1 and 198.51.100.6, 198.51.100.10, 198.51.100.14" in matrix


def test_the_hub_shows_one_phase_one_sa_and_one_flow_per_spoke(three):
    drv = EmulatedDriver(three / "lab.yml")
    try:
        for role in ROLES:
            lan = drv.scenario[f"remotes.{role}.lan_address"]
            drv.session(role).send(f"ping 172.16.0.1 source {lan}")
        hub = drv.session("hub")
        ike = hub.send("show crypto isakmp sa")
        assert sorted(re.findall(r"(198\.51\.100\.\d+)\s+QM_IDLE", ike)) == \
            ["198.51.100.10", "198.51.100.14", "198.51.100.6"], ike
        sa = hub.send("show crypto ipsec sa")
        assert sa.count("current_peer:") == 3 and sa.count("inbound esp sas:") == 3, sa
    finally:
        drv.close()


def test_the_2522_access_server_names_its_ports_as_ios_does(three):
    lab = Lab.from_file(three / "lab.yml")
    try:
        server = lab.devices["access-server"]
        assert server.platform.interfaces[:3] == ("Ethernet0", "Serial0", "Serial1")
        assert server.platform.interfaces[-1] == "BRI0" and len(server.platform.interfaces) == 12
        assert server.platform.serial_hardware("Serial1") == "HD64570"
        assert server.platform.serial_hardware("Serial2") == "CD2430 in sync mode"
    finally:
        lab.close()


@pytest.mark.parametrize("args, message", [
    (["--spokes", "0"], "--spokes 0: at least 1"),
    (["--spokes", str(MAX_SPOKES + 1)], f"--spokes {MAX_SPOKES + 1}: the address plan holds at most {MAX_SPOKES} "
                                        "spokes (729 access servers of 9 lines in 3 levels"),
    (["--transform", "esp-rot13"], "'esp-rot13' is none"),
    (["--group", "14"], "--group 1/2/5"),
])
def test_the_generator_refuses_what_makes_no_lab(args, message, tmp_path, capsys):
    assert main(["lab", "hub-and-spoke", str(tmp_path / "out"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failure_of_one_spoke_is_diagnosed_on_that_spoke(three, tmp_path):
    import shutil
    lab = tmp_path / "lab"
    shutil.copytree(three, lab)
    cfg = lab / "spoke2.cfg"
    cfg.write_text(cfg.read_text().replace("crypto isakmp key spoke-psk-2024", "crypto isakmp key not-the-hubs-key"))
    junit = tmp_path / "j.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--lab",
                             str(lab / "lab.yml"), f"--junitxml={junit}", f"--html={tmp_path / 'r.html'}",
                             f"--pcap-dir={tmp_path / 'captures'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    failed: dict[str, list[str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        if case.find("failure") is not None:
            failed[case.get("name")] = [p.get("value") for p in case.iter("property") if p.get("name") == "diagnosis"]
    per_remote = {name: d for name, d in failed.items() if re.search(r"\[remote\d?\]$", name)}
    # Only spoke2's own tests fail among the per-remote ones, and each names the key as the cause.
    assert per_remote and all(name.endswith("[remote2]") for name in per_remote), sorted(failed)
    for name, found in per_remote.items():
        assert any(d.startswith("phase1-psk-mismatch:") for d in found), (name, found)
