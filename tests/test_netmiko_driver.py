"""The netmiko driver against the document's lab served over SSH and telnet, and the suites run through it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from drivers import driver_class
from drivers.base import Capability, ConfigurationRejected, DriverError
from drivers.netmiko_ios import NetmikoDriver, _split
from drivers.scenario import ScenarioError
from emulator.frontends.server import LabServer
from emulator.lab.labfile import Lab
from support import ROOT

DOC_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


@pytest.fixture(scope="module")
def server():
    lab = Lab.from_file(DOC_LAB)
    srv = LabServer(lab).start()
    try:
        yield srv
    finally:
        srv.stop()
        lab.close()


@pytest.fixture(scope="module")
def inventory(server, tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "inventory.yml"
    server.write_inventory(path)
    return path


@pytest.fixture(scope="module")
def driver(inventory):
    drv = NetmikoDriver(inventory)
    try:
        yield drv
    finally:
        drv.close()


def edited_inventory(inventory: Path, tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load(inventory.read_text())
    for key, value in changes.items():
        if key == "scenario":
            data["scenario"] = value
        else:
            data["devices"]["sam-i-am"][key] = value
    path = tmp_path / "edited.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_registered_with_no_lab_control_but_hosts(driver, inventory):
    assert driver_class("netmiko") is NetmikoDriver
    assert [c for c in Capability if driver.has(c)] == [Capability.HOSTS]    # the inventory lists the hosts
    assert driver.describe() == {"driver": "netmiko", "inventory": str(inventory)}
    assert {"hub", "remote"} <= set(driver.roles())
    assert driver.allow_disruptive is True
    assert driver.scenario["hub.crypto_map"] == "rtptrans"


def test_hub_running_config_over_ssh(driver):
    hub = driver.session("hub")
    assert driver.session("hub") is hub and hub.prompt == "sam-i-am#"
    out = hub.send("show running-config")
    assert out.startswith("Building configuration...\n") and out.endswith("\nend\n")
    assert "crypto map rtptrans 10 ipsec-isakmp dynamic rtpmap" in out
    exchange = driver.transcript[-1]
    # The suite gets the real text; the transcript shows every secret as <removed>: the line password,
    # the enable secret (kept hashed, type 5) and the pre-shared key, each command still readable.
    assert "enable secret 5 $1$" in out and " password ww\n" in out and "crypto isakmp key cisco123 " in out
    masked = re.sub(r"enable secret 5 \S+\n", "enable secret 5 <removed>\n", out)
    masked = masked.replace(" password ww\n", " password <removed>\n").replace(
        "crypto isakmp key cisco123 ", "crypto isakmp key <removed> ")
    assert (exchange.device, exchange.prompt, exchange.command, exchange.output) == \
        ("sam-i-am", "sam-i-am#", "show running-config", masked)


def test_output_matches_the_emulated_driver(driver):
    from drivers.emulated import EmulatedDriver
    emulated = EmulatedDriver()
    try:
        for command in ("show version", "show crypto map", "show ip interface brief"):
            local = emulated.session("remote").send(command)
            served = driver.session("remote").send(command)
            if "uptime" in command or command == "show version":
                local = "\n".join(ln for ln in local.splitlines() if " uptime is " not in ln)
                served = "\n".join(ln for ln in served.splitlines() if " uptime is " not in ln)
            assert served == local, command
    finally:
        emulated.close()


def test_configure_applies_and_refusals_raise(driver):
    hub = driver.session("hub")
    text = hub.configure(["access-list 195 permit ip any any"])
    assert "sam-i-am(config)#access-list 195 permit ip any any" in text
    assert hub.send("show running-config | include access-list 195") == "access-list 195 permit ip any any\n"
    with pytest.raises(ConfigurationRejected, match=r"sam-i-am: configuration refused: % Invalid input detected"):
        hub.configure(["interface Ethernet0", " ip adress 10.2.2.3 255.255.255.0"])
    assert hub.send("show running-config | include access-list 195") == "access-list 195 permit ip any any\n"
    hub.configure(["no access-list 195"])


def test_dialogs_take_answers_and_a_question_without_answer_is_an_error(driver):
    hub = driver.session("hub")
    out = hub.send("clear counters", answers=[""])
    assert out == 'Clear "show interface" counters on all interfaces [confirm]\n\n'
    with pytest.raises(DriverError, match=r"'clear counters' asks .*\[confirm\].*give answers"):
        hub.send("clear counters")
    assert hub.send("show clock").endswith("UTC Mon Mar 1 1993\n")      # a new session opened


def test_telnet_inventory(inventory, tmp_path, server):
    hub_telnet = next(e.telnet_port for e in server.endpoints if e.role == "hub")
    path = edited_inventory(inventory, tmp_path, transport="telnet", port=hub_telnet)
    drv = NetmikoDriver(path)
    try:
        hub = drv.session("hub")
        assert hub.device.device_type == "cisco_ios_telnet"
        assert "crypto map rtptrans" in hub.send("show running-config")
    finally:
        drv.close()


def test_unreachable_device_fails_fast_and_clearly(inventory, tmp_path):
    port = free_port()
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, port=port))
    start = time.monotonic()
    with pytest.raises(DriverError) as info:
        drv.session("hub")
    assert time.monotonic() - start < 5
    assert str(info.value) == (f"sam-i-am (hub) at 127.0.0.1:{port} over ssh: cannot connect: "
                               f"connection refused (nothing listens on that port)")


def test_wrong_password_and_unknown_role(inventory, tmp_path):
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, password="nope"))
    with pytest.raises(DriverError, match=r"sam-i-am \(hub\) at 127\.0\.0\.1:\d+ over ssh: cannot log in: "
                                          r"authentication failed"):
        drv.session("hub")
    with pytest.raises(DriverError, match=r"edited\.yml: no device has the role 'core' \(roles: .*hub"):
        drv.session("core")


def test_inventory_scenario_overrides_are_checked_against_the_devices(inventory, tmp_path):
    path = edited_inventory(inventory, tmp_path, scenario={"hub.lan_address": "10.9.9.1", "ping.count": 7})
    drv = NetmikoDriver(path)
    try:
        with pytest.raises(ScenarioError) as info:
            _ = drv.scenario
        assert str(info.value) == (f"{path} says hub.lan_address is '10.9.9.1'; the devices say '10.2.2.3' "
                                   "(from sam-i-am show running-config)")
    finally:
        drv.close()
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, scenario={"ping.count": 7}))
    try:
        assert drv.scenario["ping.count"] == 7 and drv.scenario["remote.lan_address"] == "10.1.1.1"
        assert drv.scenario.source_of("remote.lan_address") == "document, as dr_whoovie show running-config"
    finally:
        drv.close()


def test_split_takes_off_echo_and_prompt():
    assert _split("show clock", "show clock\n*00:00:01 UTC\nr1#") == ("*00:00:01 UTC\n", "r1#")
    assert _split("terminal length 0", "terminal length 0\nr1#") == ("", "r1#")


def test_suites_pass_against_the_served_emulator(tmp_path):
    """The end-to-end run: python -m emulator serve, then the suites with --driver=netmiko."""
    inventory, html, junit = tmp_path / "inventory.yml", tmp_path / "report.html", tmp_path / "junit.xml"
    server = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--inventory-out", str(inventory)],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(60, server.kill)
    watchdog.start()
    try:
        assert server.stdout.readline().startswith("sam-i-am ssh 127.0.0.1:"), server.stderr.read()
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                 "suites/test_running_config.py", "--driver=netmiko", "--inventory", str(inventory),
                                 f"--html={html}", f"--junitxml={junit}"],
                                cwd=ROOT, capture_output=True, text=True, timeout=50)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        suite = ET.parse(junit).getroot().find("testsuite")
        assert int(suite.get("failures")) == 0 and int(suite.get("errors")) == 0
        assert int(suite.get("tests")) >= 10 and int(suite.get("skipped")) == 0
        report = html.read_text()
        assert "CLI transcript" in report and str(inventory) in report      # the driver's describe()
        assert "sam-i-am#show running-config\nBuilding configuration..." in report     # transcripts inline
        # Real routers without allow_disruptive: the tests that clear SAs or flap the line are skipped, so
        # their claims are PARTIAL (never PASS) and so is the run; the lab is drawn from the inventory.
        careful = tmp_path / "careful.yml"
        data = yaml.safe_load(inventory.read_text())
        data["allow_disruptive"] = False
        careful.write_text(yaml.safe_dump(data))
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                                 "suites/test_ipcp_addressing.py", "--driver=netmiko", "--inventory", str(careful),
                                 f"--html={html}", f"--junitxml={junit}"],
                                cwd=ROOT, capture_output=True, text=True, timeout=50)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        report = html.read_text()
        assert "data-verdict='PARTIAL'" in report[:report.index("id='claims'")]      # the banner
        assert "data-claim='IPCP-AFTER' data-verdict='PARTIAL'" in report
        lab = report[report.index("id='lab'"):]
        assert "<svg" in lab and "sam-i-am" in lab[:lab.index("</svg>")]
    finally:
        watchdog.cancel()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ---------------------------------------------------------------------------- failures within the timeout

@pytest.fixture
def silent_port():
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize("transport", ["ssh", "telnet"])
def test_a_device_that_accepts_and_never_answers_fails_within_conn_timeout(inventory, tmp_path, silent_port,
                                                                           transport):
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, port=silent_port, transport=transport, conn_timeout=2))
    start = time.monotonic()
    with pytest.raises(DriverError) as info:
        drv.session("hub")
    elapsed = time.monotonic() - start
    assert elapsed < 2 + 1.5, elapsed
    assert str(info.value).startswith(f"sam-i-am (hub) at 127.0.0.1:{silent_port} over {transport}: cannot connect: "
                                      f"no answer within 2 s")


def test_wrong_password_over_telnet(inventory, tmp_path, server):
    hub_telnet = next(e.telnet_port for e in server.endpoints if e.role == "hub")
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, transport="telnet", port=hub_telnet, password="nope"))
    start = time.monotonic()
    with pytest.raises(DriverError) as info:
        drv.session("hub")
    assert time.monotonic() - start < 8
    assert str(info.value) == (f"sam-i-am (hub) at 127.0.0.1:{hub_telnet} over telnet: cannot log in: "
                               f"authentication failed (check username and password)")
    assert "nope" not in str(info.value)


def test_wrong_enable_secret_is_named(inventory, tmp_path):
    drv = NetmikoDriver(edited_inventory(inventory, tmp_path, secret="not-it"))
    start = time.monotonic()
    with pytest.raises(DriverError) as info:
        drv.session("hub")
    assert time.monotonic() - start < 5
    assert re.fullmatch(r"sam-i-am \(hub\) at 127\.0\.0\.1:\d+ over ssh: cannot enter privileged EXEC with enable "
                        r"\(check the secret\): the secret was refused \('% Bad secrets'\)", str(info.value))
    assert "not-it" not in str(info.value)


def test_enable_without_a_secret_on_the_device_is_explained(inventory, tmp_path, server):
    isp = next(e.ssh_port for e in server.endpoints if e.role == "isp")
    data = yaml.safe_load(inventory.read_text())
    data["devices"]["isp"]["role"] = "hub"
    data["devices"]["sam-i-am"]["role"] = "old-hub"
    path = tmp_path / "isp.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DriverError, match=rf"isp \(hub\) at 127\.0\.0\.1:{isp} over ssh: cannot enter privileged "
                                          r"EXEC .*'% No password set'"):
        NetmikoDriver(path).session("hub")


def test_hosts_without_a_secret_stay_in_user_exec(driver):
    host = driver.session("hub_host")
    assert host.prompt == "hub-host>"
    assert re.search(r"Success rate is [1-9]\d* percent", host.send("ping 10.2.2.3"))


# ---------------------------------------------------------------------------- secrets in transcripts

def test_a_secret_answer_stays_out_of_the_transcript(driver):
    hub = driver.session("hub")
    start = len(driver.transcript)
    assert hub.send("disable") == "" and hub.prompt == "sam-i-am>"
    hub.send("enable", answers=["lab"])
    assert hub.prompt == "sam-i-am#"
    text = "\n".join(e.render() for e in driver.transcript[start:])
    assert "sam-i-am>enable\nPassword: " in text and not re.search(r"\blab\b", text)


class _EchoingDevice:
    """A device that echoes everything, even what is typed at a password question (no IOS does)."""

    base_prompt = "r1"

    def __init__(self):
        self.sent = []

    def send_command(self, text, **_):
        self.sent.append(text)
        if text == "show run":
            return "show run\nusername ops password pw-9f3\nenable secret en-7c1\nr1#"
        if text == "copy x y":
            return "copy x y\nPassword: "
        if text == "boom":
            raise OSError("socket closed while typing pw-9f3")
        return f"{text}\nr1#"

    def disconnect(self):
        pass


def test_transcripts_and_errors_show_secrets_removed():
    from drivers.inventory import InventoryDevice
    from drivers.netmiko_ios import NetmikoSession
    transcript = []
    session = NetmikoSession(InventoryDevice("r1", "hub", "192.0.2.1", 22, "ssh", "ops", "pw-9f3", "en-7c1"),
                             transcript)
    session.conn, session.prompt = _EchoingDevice(), "r1#"
    out = session.send("show run")
    assert "password pw-9f3" in out                                    # the suites read the real text
    assert transcript[-1].output == "username ops password <removed>\nenable secret <removed>\n"
    session.send("copy x y", answers=["one-time-7"])
    assert session.conn.sent[-1] == "one-time-7"
    assert "one-time-7" not in transcript[-1].render() and "Password: <removed>" in transcript[-1].render()
    with pytest.raises(DriverError) as info:
        session.send("boom")
    assert "pw-9f3" not in str(info.value) and "<removed>" in str(info.value)
    assert "r1 (hub) at 192.0.2.1:22 over ssh: 'boom': the connection was lost" in str(info.value)
