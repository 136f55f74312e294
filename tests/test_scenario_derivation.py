"""Expected values derived from the configurations: the variant lab, overrides, the preflight."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from drivers.derive import DesignError, Device, derive
from drivers.emulated import EmulatedDriver
from drivers.scenario import ScenarioError
from emulator.lab.labfile import LabError, load_lab
from support import DOC_LAB, ROOT
from support.leaks import artefact_texts, lab_secrets, leaks

VARIANT = ROOT / "fixtures" / "variant"


def pytest_run(*args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def devices(**configs):
    """Devices by role from configuration texts (role=text)."""
    return [Device(role, f"r-{role}", text, f"r-{role} configuration") for role, text in configs.items()]


@pytest.fixture(scope="module")
def variant():
    drv = EmulatedDriver(VARIANT / "lab.yml")
    yield drv
    drv.close()


def test_the_variant_scenario_comes_from_its_configurations(variant):
    s = variant.scenario
    assert (s["hub.hostname"], s["remote.hostname"]) == ("hq-rtr", "branch-rtr")
    assert (s["hub.wan_address"], s["hub.lan_network"], s["remote.lan_network"]) == (
        "203.0.113.1", "172.16.20.0/24", "192.168.50.0/24")
    assert (s["hub.crypto_map"], s["hub.crypto_map_seq"], s["hub.dynamic_map"], s["hub.crypto_acl"]) == (
        "hq-vpn", 20, "branches", "101")
    assert (s["remote.crypto_map"], s["remote.crypto_map_seq"], s["remote.peer"], s["remote.crypto_acl"]) == (
        "to-hq", 5, "203.0.113.1", "110")
    assert (s["hub.nat_route_map"], s["hub.nat_acl"], s["remote.nat_route_map"], s["remote.nat_acl"]) == (
        "no-nat-vpn", "102", "vpn-exempt", "111")
    assert (s["hub.transform_set"], s["remote.transform_set"], s["ipsec.transforms"]) == (
        "hq-ts", "br-ts", ["esp-3des", "esp-sha-hmac"])
    assert (s["ipsec.mode"], s["ipsec.iv_size"], s["ipsec.lifetime_seconds"]) == ("Tunnel", 8, 3600)
    # The policy with IOS's defaults made explicit: 'hash sha' and the lifetime are never printed.
    assert {k: s[f"isakmp.{k}"] for k in ("policy", "encryption", "hash", "authentication", "group", "lifetime")} == {
        "policy": 10, "encryption": "3des", "hash": "sha", "authentication": "pre-share", "group": 2,
        "lifetime": 86400}
    assert s.source_of("isakmp.hash") == "hq-rtr configuration (hq-rtr.cfg) (IOS default sha: not printed)"
    assert s.source_of("isakmp.group") == "hq-rtr configuration (hq-rtr.cfg)"
    assert (s["hub.isakmp_key"], s["hub.isakmp_key_address"], s["hub.isakmp_key_mask"]) == (
        "Br4nch-0ffice-Key", "0.0.0.0", "0.0.0.0")
    assert (s["remote.isakmp_key"], s["remote.isakmp_key_address"]) == ("Br4nch-0ffice-Key", "203.0.113.1")
    assert s["remote.negotiated_address"] == "198.51.100.7"
    assert s.source_of("remote.negotiated_address") == "isp configuration (isp.cfg) (Serial0: pool BRANCHES)"
    assert s["hosts"] == {"hub_host": "172.16.20.10", "remote_host": "192.168.50.10", "internet_host": "192.0.2.10"}
    assert s.source_of("ping.count") == "document (not in any configuration)"
    assert not s.document_values and "hub.hostname is 'hq-rtr', the document's 'sam-i-am'" in s.not_document
    # Reading the configurations leaves no trace in the transcript the report shows.
    assert variant.transcript == []


def test_the_document_lab_checks_the_document_values():
    drv = EmulatedDriver(DOC_LAB)
    try:
        s = drv.scenario
        assert s.document_values and s["hub.isakmp_key"] == "cisco123"
        assert s.source_of("hub.wan_address") == "document, as sam-i-am configuration (sam-i-am.cfg)"
        assert s.render("{hub.wan_address} {ipsec.transforms}").startswith("99.99.99.1 esp-des esp-md5-hmac [from")
    finally:
        drv.close()


@pytest.fixture(scope="module")
def variant_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("variant")
    result = pytest_run("--lab", str(VARIANT / "lab.yml"), f"--html={out / 'r.html'}", f"--junitxml={out / 'j.xml'}",
                        f"--pcap-dir={out / 'captures'}", "-rs")
    return result, out


def test_the_variant_passes_every_design_claim_without_a_scenario_file(variant_run):
    result, out = variant_run
    assert not (VARIANT / "scenario.yml").exists()
    assert result.returncode == 0, result.stdout[-3000:]
    assert "30 passed, 1 skipped" in result.stdout
    assert "not applicable: the document's sample holds its own addresses" in result.stdout
    report = (out / "r.html").read_text()
    matrix = report[report.index("Claims of Cisco Document 14131"):report.index("<h3>Run")]
    assert "data-claim='SA-GOLDEN' data-verdict='N/A'" in matrix
    assert matrix.count("data-verdict='PASS'") == 23 and "data-verdict='FAIL'" not in matrix
    # Beside the document's words, the values this run checked and where they came from.
    checked = " ".join(re.findall(r"checked here: ([^<]*)", matrix))
    for shown in ("crypto map hq-vpn 20 ipsec-isakmp dynamic branches", "ip address 203.0.113.1 255.255.255.0",
                  "esp-3des esp-sha-hmac", "Internet address is 198.51.100.7/32", "encryption 3des / hash sha",
                  "from hq-rtr configuration (hq-rtr.cfg)"):
        assert shown in checked, shown
    assert "99.99.99.1" not in checked and "cisco123" not in checked and "rtptrans" not in checked
    junit = ET.parse(out / "j.xml").getroot()
    props = {p.get("value") for p in junit.iter("property") if p.get("name") == "checked"}
    assert "isakmp.hash: expected sha (from hq-rtr configuration (hq-rtr.cfg) (IOS default sha: not printed))" in props
    assert "remotes.remote.negotiated_address: expected 198.51.100.7 " \
           "(from isp configuration (isp.cfg) (Serial0: pool BRANCHES))" in props
    assert "hub.isakmp_key: expected <removed> (from hq-rtr configuration (hq-rtr.cfg))" in props
    texts = artefact_texts(out)
    texts["stdout"] = result.stdout
    assert leaks(texts, lab_secrets(VARIANT / "lab.yml")) == []


def test_document_values_asked_for_on_the_variant_fail(tmp_path):
    result = pytest_run("--lab", str(VARIANT / "lab.yml"), "--document-values", f"--html={tmp_path / 'r.html'}",
                        f"--junitxml={tmp_path / 'j.xml'}", "suites/test_running_config.py")
    assert result.returncode == 1
    assert "interface Serial0: missing ['ip address 99.99.99.1 255.255.255.0'" in result.stdout


def _lab(tmp_path, text):
    path = tmp_path / "lab.yml"
    path.write_text(f"base: {VARIANT / 'lab.yml'}\n" + text)
    return path


def test_an_unknown_override_key_says_what_it_may_have_meant(tmp_path):
    lab = _lab(tmp_path, "scenario:\n  hub:\n    lan_adress: 172.16.20.1\n")
    with pytest.raises(ScenarioError, match=r"lab\.yml: unknown scenario key 'hub\.lan_adress'; "
                                            r"did you mean 'hub\.lan_address'\?"):
        EmulatedDriver(lab)
    result = pytest_run("--lab", str(lab), f"--html={tmp_path / 'r.html'}", f"--junitxml={tmp_path / 'j.xml'}")
    assert result.returncode == 4 and "did you mean 'hub.lan_address'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_override_that_contradicts_the_devices_names_both(tmp_path):
    lab = _lab(tmp_path, "scenario:\n  hub.hostname: sam-i-am\n  remote.lan_network: 192.168.50.0/24\n")
    drv = EmulatedDriver(lab)
    try:
        with pytest.raises(ScenarioError) as info:
            _ = drv.scenario
    finally:
        drv.close()
    assert str(info.value) == (f"{lab} says the hub is sam-i-am; the device answering as hub is hq-rtr "
                               "(from hq-rtr configuration (hq-rtr.cfg))")


def test_overrides_add_what_no_configuration_tells(tmp_path):
    lab = _lab(tmp_path, "scenario:\n  ping.count: 7\n  hosts: {hub_host: 172.16.20.10}\n")
    drv = EmulatedDriver(lab)
    try:
        assert drv.scenario["ping.count"] == 7 and drv.scenario.source_of("ping.count") == str(lab)
    finally:
        drv.close()


HUB = """hostname h
crypto isakmp policy 1
 authentication pre-share
crypto isakmp key k address 0.0.0.0 0.0.0.0
crypto ipsec transform-set t esp-des esp-md5-hmac
crypto dynamic-map d 10
 set transform-set t
 match address 101
crypto map m 10 ipsec-isakmp dynamic d
interface Ethernet0
 ip address 10.0.0.1 255.255.255.0
 ip nat inside
interface Serial0
 ip address 192.0.2.1 255.255.255.0
 crypto map m
"""
REMOTE = """hostname r
crypto map m 1 ipsec-isakmp
 set peer {peer}
 set transform-set t
 match address 101
interface Ethernet0
 ip address 10.1.0.1 255.255.255.0
 ip nat inside
interface Serial0
 ip address negotiated
 crypto map m
"""


def test_a_lab_that_is_not_this_design_is_named_in_a_sentence():
    derived = derive(devices(hub=HUB, remote=REMOTE.format(peer="192.0.2.1")))
    assert derived.data["hub"]["wan_address"] == "192.0.2.1" and derived.data["isakmp"]["hash"] == "sha"
    with pytest.raises(DesignError, match=r"^this lab has two hubs: r-hub \(hub\) and r-remote \(remote\) both"):
        derive(devices(hub=HUB, remote=HUB))
    with pytest.raises(DesignError, match=r"^r-remote's crypto map names the peer 192\.0\.2\.99, which matches no "
                                          r"hub: the hub r-hub has its crypto map on Serial0, 192\.0\.2\.1$"):
        derive(devices(hub=HUB, remote=REMOTE.format(peer="192.0.2.99")))
    with pytest.raises(DesignError, match=r"no router has a dynamic crypto map"):
        derive(devices(hub=REMOTE.format(peer="192.0.2.1"), remote=REMOTE.format(peer="192.0.2.1")))
    with pytest.raises(DesignError, match=r"^the lab gives the role hub to r-hub; the device configured as the "
                                          r"hub \(a dynamic crypto map on its WAN\) is r-remote, which has the role "
                                          r"remote"):
        derive(devices(hub=REMOTE.format(peer="192.0.2.1"), remote=HUB))
    with pytest.raises(DesignError, match=r"^no remote: no router has a crypto map whose peer is the hub"):
        derive(devices(hub=HUB))


def test_lab_files_inherit_and_name_a_bad_base(tmp_path):
    spec = load_lab(ROOT / "fixtures" / "variant-misconfigured" / "wrong-psk" / "lab.yml")
    assert spec.devices["branch-rtr"].config_path == (
        ROOT / "fixtures" / "variant-misconfigured" / "wrong-psk" / "branch-rtr.cfg")
    assert spec.devices["hq-rtr"].config_path == VARIANT / "hq-rtr.cfg" and spec.seed == 2024
    assert len(spec.links) == 5
    loop = tmp_path / "loop.yml"
    loop.write_text("base: loop.yml\n")
    with pytest.raises(LabError, match=r"loop\.yml: base: inherits from itself"):
        load_lab(loop)
    missing = tmp_path / "missing.yml"
    missing.write_text("base: nowhere.yml\n")
    with pytest.raises(LabError, match=r"missing\.yml: base: cannot read lab file .*nowhere\.yml"):
        load_lab(missing)
