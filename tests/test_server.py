"""The emulator served over SSH and telnet: login, prompts, echo, paging, real time, rude clients."""

from __future__ import annotations

import random
import re
import socket
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import paramiko
import pytest

from drivers.inventory import load_inventory
from emulator.config.loader import load_config
from emulator.frontends.login import clear_password, decode_type7, vty_policy
from emulator.frontends.pacer import Pacer
from emulator.frontends.server import LabServer
from emulator.frontends.telnet import DO, IAC, SB, SE, WILL, WONT, TelnetParser
from emulator.lab.labfile import Lab
from emulator.sim.clock import MS, SECOND, Simulator, to_seconds
from support import ROOT

DOC_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"

GATE_CONFIG = """\
hostname gate
enable secret 0 s3cret
username alice password 0 wonder
username bob password 7 0822455D0A16
no ip routing
interface Ethernet0
 ip address 10.9.9.1 255.255.255.0
line con 0
line vty 0 4
 login local
 transport input telnet
"""


# ---------------------------------------------------------------------------- helpers

class RawTelnet:
    """A minimal telnet client on a socket (telnetlib is gone from Python 3.13)."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = ""

    def _fill(self) -> bool:
        data = self.sock.recv(4096)
        if not data:
            return False
        # Drop option negotiation (IAC verb option); the server only sends those.
        data = re.sub(rb"\xff[\xfb-\xfe].", b"", data, flags=re.S)
        self.buffer += data.decode("latin-1")
        return True

    def read_until(self, pattern: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.buffer):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in {self.buffer!r}")
            if not self._fill():
                raise AssertionError(f"closed before {pattern!r}; got {self.buffer!r}")
        match = re.search(pattern, self.buffer)
        text, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
        return text

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("latin-1"))

    def closed(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            while self._fill():
                pass
            return True
        except socket.timeout:
            return False

    def close(self) -> None:
        self.sock.close()


def ssh_shell(port: int, username: str = "admin", password: str = "ww"):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect("127.0.0.1", port=port, username=username, password=password, timeout=5,
                       look_for_keys=False, allow_agent=False, banner_timeout=5, auth_timeout=5)
    except BaseException:
        client.close()              # a refused login must not keep its vty line busy for the next tests
        raise
    chan = client.invoke_shell()
    chan.settimeout(5)
    return client, chan


def chan_read_until(chan, pattern: str, timeout: float = 5.0) -> str:
    out = ""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, out):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {pattern!r} in {out!r}")
        data = chan.recv(65536)
        if not data:
            raise AssertionError(f"closed before {pattern!r}; got {out!r}")
        out += data.decode("latin-1")
    return out


@pytest.fixture(scope="module")
def served():
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab).start()
    try:
        yield SimpleNamespace(server=server, lab=lab, ep={e.device: e for e in server.endpoints},
                              hub=server.endpoints[[e.role for e in server.endpoints].index("hub")])
    finally:
        server.stop()
        lab.close()


@pytest.fixture(scope="module")
def gate(tmp_path_factory):
    """A one-device lab with login local, an enable secret and telnet-only vtys."""
    d = tmp_path_factory.mktemp("gate")
    (d / "gate.cfg").write_text(GATE_CONFIG)
    (d / "lab.yml").write_text("devices:\n  gate: {config: gate.cfg, role: hub}\nlinks: []\n")
    lab = Lab.from_file(d / "lab.yml")
    server = LabServer(lab).start()
    try:
        yield server.endpoints[0]
    finally:
        server.stop()


# ---------------------------------------------------------------------------- units

def test_pacer_follows_the_wall_clock_and_lets_it_catch_up():
    wall = [100.0]
    sim = Simulator(1)
    fired = []
    for t in (500 * MS, 1500 * MS, 12 * SECOND):
        sim.call_at(t, fired.append, t)
    pacer = Pacer(sim, clock=lambda: wall[0])
    assert pacer.step() == pytest.approx(100.5)         # next event due half a second from now
    wall[0] = 101.0
    pacer.step()
    assert fired == [500 * MS] and sim.now == 1 * SECOND
    sim.run_for(10 * SECOND)                            # a command waited 10 lab seconds at once
    assert fired == [500 * MS, 1500 * MS] and pacer.lead() == pytest.approx(10.0)
    wall[0] = 105.0
    assert pacer.step() == pytest.approx(112.0)         # nothing runs, no re-anchoring
    assert sim.now == 11 * SECOND and pacer.lead() == pytest.approx(6.0)
    wall[0] = 112.5
    pacer.step()
    assert fired == [500 * MS, 1500 * MS, 12 * SECOND] and sim.now == 12500 * MS and pacer.lead() == 0.0


def test_telnet_parser_answers_options_once_and_survives_junk():
    p = TelnetParser()
    data, replies = p.feed(b"ab" + bytes([IAC, IAC]) + b"c" + bytes([IAC, DO, 1, IAC, DO, 24, IAC, WILL, 31]))
    assert data == b"ab\xffc"
    assert replies == bytes([IAC, WONT, 24, IAC, 254, 31])   # ECHO already offered; TTYPE and NAWS refused
    assert p.feed(bytes([IAC, DO, 24, IAC, WILL, 31])) == (b"", b"")   # refused once only: no loops
    assert p.feed(bytes([IAC, SB, 31, 0, 80, 0, 24, IAC, SE]) + b"x") == (b"x", b"")
    data, _ = p.feed(bytes([IAC, SB]) + b"y" * 5000 + b"z")    # a subnegotiation that never ends
    assert p.oversized == 1 and data.endswith(b"z")
    rng = random.Random(7)
    for _ in range(200):
        p.feed(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))))
    assert p.feed(bytes([IAC, 246])) == (b"", b"\r\n[Yes]\r\n")   # Are You There


def test_login_rules_come_from_the_vty_configuration():
    config, errors = load_config(GATE_CONFIG + "line vty 5 9\n password pw\n login\n", "gate.cfg",
                                 ["Ethernet0", "Serial0", "Serial1"])
    assert errors == []
    router = SimpleNamespace(config=config)
    local = vty_policy(router, 0)
    assert local.mode == "local" and local.transports == {"telnet"}
    assert local.check("alice", "wonder") and local.check("bob", "cisco")      # type 0 and type 7
    assert not local.check("alice", "cisco") and not local.check("carol", "wonder")
    line = vty_policy(router, 7)
    assert line.mode == "line" and line.check("anyone", "pw") and not line.check("anyone", "ww")
    assert decode_type7("0822455D0A16") == "cisco" and clear_password("5 $1$abc") is None
    bare, _ = load_config("hostname h\nline vty 0 4\n login\n", "h.cfg", ["Ethernet0"])
    assert vty_policy(SimpleNamespace(config=bare), 0).mode == "unset"


# ---------------------------------------------------------------------------- telnet

def test_telnet_login_prompts_echo_and_exit(served):
    t = RawTelnet(served.hub.telnet_port)
    try:
        banner = t.read_until(r"Password: $")
        assert "User Access Verification" in banner and "Username" not in banner
        t.send("ww\r\n")
        assert t.read_until(r"sam-i-am>$").endswith("\r\nsam-i-am>")
        t.send("enable\r\n")
        assert t.read_until(r"Password: $") == "enable\r\nPassword: "      # echo, CR LF, the question
        t.send("lab\r\n")                                                # the lab's enable secret, not echoed
        assert t.read_until(r"sam-i-am#$").endswith("\r\nsam-i-am#")
        t.send("show clock\r\n")
        out = t.read_until(r"sam-i-am#$")
        assert re.match(r"show clock\r\n\*\d\d:\d\d:\d\d\.\d{3} UTC Mon Mar 1 1993\r\nsam-i-am#$", out), out
        t.send("exit\r\n")
        assert t.closed()
    finally:
        t.close()


def test_telnet_bad_password_three_times_is_refused(served):
    t = RawTelnet(served.hub.telnet_port)
    try:
        for _ in range(3):
            t.read_until(r"Password: $")
            t.send("nope\r\n")
        assert "% Bad passwords" in t.read_until(r"% Bad passwords\r\n")
        assert t.closed()
    finally:
        t.close()


def test_telnet_login_local_and_enable_secret(gate):
    t = RawTelnet(gate.telnet_port)
    try:
        t.read_until(r"Username: $")
        t.send("alice\r\nwrong\r\n")
        assert "% Login invalid" in t.read_until(r"Username: $")
        t.send("alice\r\n")
        t.read_until(r"Password: $")
        t.send("wonder\r\n")
        t.read_until(r"gate>$")
        t.send("enable\r\n")
        t.read_until(r"Password: $")
        t.send("s3cret\r\n")
        out = t.read_until(r"gate#$")
        assert "s3cret" not in out                                   # passwords are not echoed
    finally:
        t.close()


def test_transport_input_refuses_ssh(gate):
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        ssh_shell(gate.ssh_port, "alice", "wonder")


# ---------------------------------------------------------------------------- SSH

def test_ssh_prompt_paging_config_mode_and_ctrl_z(served):
    client, chan = ssh_shell(served.hub.ssh_port)
    try:
        assert chan_read_until(chan, r"sam-i-am>$").endswith("sam-i-am>")
        chan.send("enable\n")
        chan_read_until(chan, r"Password: $")
        chan.send("lab\n")
        chan_read_until(chan, r"sam-i-am#$")
        chan.send("show running-config\n")
        first = chan_read_until(chan, r" --More-- $")
        assert first.startswith("show running-config\r\nBuilding configuration...\r\n")
        assert first.count("\r\n") == 1 + 23                          # the echo, then 23 lines
        chan.send(" ")
        second = chan_read_until(chan, r" --More-- $")
        assert second.startswith("\b" * 10 + " " * 10 + "\b" * 10) and second.count("\r\n") == 23
        chan.send("q")
        chan_read_until(chan, r"sam-i-am#$")
        chan.send("terminal length 0\nshow running-config\n")
        out = chan_read_until(chan, r"\r\nend\r\nsam-i-am#$")
        assert "--More--" not in out and "crypto map rtptrans" in out
        chan.send("configure terminal\n")
        assert chan_read_until(chan, r"sam-i-am\(config\)#$").endswith(
            "Enter configuration commands, one per line.  End with CNTL/Z.\r\nsam-i-am(config)#")
        chan.send("interface Ethernet0\n")
        chan_read_until(chan, r"sam-i-am\(config-if\)#$")
        chan.send("\x1a")
        assert chan_read_until(chan, r"sam-i-am#$").endswith("^Z\r\nsam-i-am#")
        chan.send("terminal monitor\nconfigure terminal\nend\n")
        assert "%SYS-5-CONFIG_I: Configured from console by vty0 (127.0.0.1)" in \
            chan_read_until(chan, r"CONFIG_I[^\n]*\r\nsam-i-am#$")
        chan.send("exit\n")
        deadline = time.monotonic() + 5
        while not chan.exit_status_ready() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert chan.exit_status_ready()
    finally:
        client.close()


def test_ssh_bad_password_is_an_authentication_failure(served):
    with pytest.raises(paramiko.AuthenticationException):
        ssh_shell(served.hub.ssh_port, password="wrong")


def test_ssh_exec_request_runs_one_command(served):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=served.hub.ssh_port, username="u", password="ww", timeout=5,
                   look_for_keys=False, allow_agent=False)
    try:
        _, stdout, _ = client.exec_command("show version", timeout=5)
        assert "Cisco Internetwork Operating System Software" in stdout.read().decode()
    finally:
        client.close()


# ---------------------------------------------------------------------------- netmiko

def test_netmiko_over_ssh_and_telnet(served):
    from netmiko import ConnectHandler
    start = time.monotonic()
    conn = ConnectHandler(device_type="cisco_ios", host="127.0.0.1", port=served.hub.ssh_port,
                          username="admin", password="ww", secret="lab", conn_timeout=5)
    try:
        conn.enable()
        assert time.monotonic() - start < 5
        assert conn.find_prompt() == "sam-i-am#"
        assert "Cisco Internetwork Operating System Software" in conn.send_command("show version")
        out = conn.send_config_set(["access-list 196 permit ip any any"])
        assert "sam-i-am(config)#access-list 196 permit ip any any" in out and "% Invalid" not in out
        assert conn.send_command("show running-config | include access-list 196").strip() == \
            "access-list 196 permit ip any any"
    finally:
        conn.disconnect()
    conn = ConnectHandler(device_type="cisco_ios_telnet", host="127.0.0.1",
                          port=served.ep["dr_whoovie"].telnet_port, username="", password="ww", secret="lab",
                          conn_timeout=5)
    try:
        conn.enable()
        assert conn.find_prompt() == "dr_whoovie#"
        assert "crypto map rtp" in conn.send_command("show running-config")
    finally:
        conn.disconnect()


def test_netmiko_autodetect_finds_cisco_ios(served, monkeypatch):
    # netmiko's full autodetect then tries 14 other commands, 6 s each, on IOS as here: keep to the
    # device types it recognises from "show version" (one command), which must pick cisco_ios.
    from netmiko import SSHDetect, ssh_autodetect
    by_show_version = [(name, entry) for name, entry in ssh_autodetect.SSH_MAPPER_BASE
                       if entry.get("cmd") == "show version"]
    assert len(by_show_version) > 5 and "cisco_xe" in dict(by_show_version)
    monkeypatch.setattr(ssh_autodetect, "SSH_MAPPER_BASE", by_show_version)
    guesser = SSHDetect(device_type="autodetect", host="127.0.0.1", port=served.ep["isp"].ssh_port,
                        username="admin", password="ww", conn_timeout=5)
    try:
        assert guesser.autodetect() == "cisco_ios"
    finally:
        guesser.connection.disconnect()


# ---------------------------------------------------------------------------- time and rude clients

def test_lab_clock_runs_in_real_time_and_a_waiting_ping_takes_its_time(served):
    before_virtual, before_wall = served.lab.sim.now, time.monotonic()
    time.sleep(0.5)
    with served.server.lock:
        advanced = to_seconds(served.lab.sim.now - before_virtual)
    assert 0.3 < advanced < (time.monotonic() - before_wall) + 0.3
    t = RawTelnet(served.hub.telnet_port)
    try:
        t.read_until(r"Password: $")
        t.send("ww\r\n")
        t.read_until(r"sam-i-am>$")
        start = time.monotonic()
        t.send("ping 10.2.2.99 repeat 2 timeout 1\r\n")          # nobody has that address: two timeouts
        out = t.read_until(r"sam-i-am>$", timeout=10)
        assert "Success rate is 0 percent (0/2)" in out
        assert 1.8 < time.monotonic() - start < 4.0
        with served.server.lock:
            assert served.server.pacer.lead() < 0.5                # the lab did not stay ahead
    finally:
        t.close()


def test_rude_clients_do_not_break_the_server(served):
    hub = served.hub
    # Junk instead of an SSH banner, then gone.
    s = socket.create_connection(("127.0.0.1", hub.ssh_port), timeout=5)
    s.sendall(bytes(random.Random(1).randrange(256) for _ in range(3000)) + b"\r\n")
    s.close()
    # Binary junk, a half-finished negotiation and an over-long line on telnet.
    t = RawTelnet(hub.telnet_port)
    t.read_until(r"Password: $")
    t.send("ww\r\n")
    t.read_until(r"sam-i-am>$")
    t.sock.sendall(bytes(range(0x80, 0x100)) + b"\x00\x07")
    t.send("x" * 10000 + "\r\n")
    out = t.read_until(r"sam-i-am>$")
    assert "\a" in out and "Translating" in out                  # bell, then the cut line is run
    t.sock.sendall(bytes([IAC, SB, 24]) + b"never ends")
    t.sock.close()
    # Gone in the middle of --More--.
    client, chan = ssh_shell(hub.ssh_port)
    chan_read_until(chan, r">$")
    chan.send("enable\n")
    chan_read_until(chan, r"Password: $")
    chan.send("lab\nshow running-config\n")
    chan_read_until(chan, r"--More-- $")
    client.get_transport().sock.close()
    # A TCP connection that only connects and closes.
    socket.create_connection(("127.0.0.1", hub.telnet_port), timeout=5).close()
    time.sleep(0.2)
    client, chan = ssh_shell(hub.ssh_port)
    try:
        chan_read_until(chan, r"sam-i-am>$")
        chan.send("show clock\n")
        chan_read_until(chan, r"UTC.*\r\nsam-i-am>$")
    finally:
        client.close()
    assert all(thread.is_alive() for thread in served.server._threads)


def test_written_inventory_loads(served, tmp_path):
    path = tmp_path / "inventory.yml"
    served.server.write_inventory(path)
    inventory = load_inventory(path)
    hub = inventory.device_for_role("hub")
    assert (hub.name, hub.port, hub.transport, hub.password) == ("sam-i-am", served.hub.ssh_port, "ssh", "ww")
    assert set(inventory.roles()) == {"hub", "remote", "isp", "hub_host", "remote_host", "internet_host"}
    assert inventory.allow_disruptive is True
    telnet = tmp_path / "telnet.yml"
    served.server.write_inventory(telnet, transport="telnet")
    assert load_inventory(telnet).device_for_role("remote").device_type == "cisco_ios_telnet"


# ---------------------------------------------------------------------------- the serve command

def test_serve_command_prints_the_port_map_and_stops_on_sigterm(tmp_path):
    inventory = tmp_path / "inv.yml"
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--inventory-out", str(inventory)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        timer = threading.Timer(20, proc.kill)
        timer.start()
        for line in proc.stdout:
            lines.append(line)
            if len(lines) == 6:
                break
        timer.cancel()
        assert re.match(r"^sam-i-am ssh 127\.0\.0\.1:\d+ telnet 127\.0\.0\.1:\d+$", lines[0].strip()), lines
        assert load_inventory(inventory).device_for_role("hub").name == "sam-i-am"
        proc.terminate()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_command_errors_are_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "emulator", "serve", "--lab", str(tmp_path / "none.yml")],
                            cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'none.yml'}: cannot read lab file")
    assert "Traceback" not in result.stderr


def test_enable_without_a_password_is_refused_on_a_vty(served):
    t = RawTelnet(served.ep["isp"].telnet_port)     # the access server's configuration sets no enable secret
    try:
        t.read_until(r"Password: $")
        t.send("ww\r\n")
        t.read_until(r"isp>$")
        t.send("enable\r\n")
        assert t.read_until(r"isp>$") == "enable\r\n% No password set\r\nisp>"
    finally:
        t.close()


def test_written_inventory_has_the_enable_secrets(served, tmp_path):
    path = tmp_path / "inventory.yml"
    served.server.write_inventory(path)
    inventory = load_inventory(path)
    assert [(d.role, d.username, d.password, d.secret) for d in inventory.devices.values()
            if d.role in ("hub", "remote")] == [("hub", "admin", "ww", "lab"), ("remote", "admin", "ww", "lab")]
    assert inventory.device_for_role("isp").secret == ""           # the access server's config sets none


def test_serve_write_inventory_and_sigint(tmp_path):
    inventory = tmp_path / "served.yml"
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--write-inventory", str(inventory),
                             "--inventory-transport", "telnet"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(20, proc.kill)
    timer.start()
    try:
        first = proc.stdout.readline()
        assert first.startswith("sam-i-am ssh 127.0.0.1:"), first
        hub = load_inventory(inventory).device_for_role("hub")
        assert (hub.transport, hub.device_type, hub.secret) == ("telnet", "cisco_ios_telnet", "lab")
        assert f"telnet 127.0.0.1:{hub.port}" in first
        proc.send_signal(2)                                         # Ctrl-C
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_question_mark_and_tab_on_a_vty(served):
    t = RawTelnet(served.hub.telnet_port)
    try:
        t.read_until(r"Password: $")
        t.send("ww\r\n")
        t.read_until(r"sam-i-am>$")
        t.send("show ?")
        out = t.read_until(r"sam-i-am>show $")
        assert out.startswith("show ?\r\n  access-lists  List access lists\r\n")
        assert "  version       System hardware and software status\r\n\r\nsam-i-am>show " in out
        t.send("\x15sh\t")
        assert t.read_until(r"ow $") == "\b \b" * 5 + "show "        # Ctrl-U erased "show ", Tab completed
        t.send("cl\tfoo\x7f\x7f\x7f\r\n")                          # "show clock foo", three backspaces
        assert re.match(r"clock foo(\x08 \x08){3}\r\n\*\d\d:\d\d:\d\d\.\d{3} UTC", t.read_until(r"sam-i-am>$"))
    finally:
        t.close()


def test_many_sessions_at_once_on_one_device(served):
    errors, outputs = [], []

    def session(n):
        try:
            client, chan = ssh_shell(served.hub.ssh_port)
            try:
                chan_read_until(chan, r"sam-i-am>$")
                for _ in range(3):
                    chan.send("show clock\n")
                    outputs.append(chan_read_until(chan, r"UTC[^\n]*\r\nsam-i-am>$", timeout=10))
                chan.send("exit\n")
            finally:
                client.close()
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(f"session {n}: {err!r}")

    deadline = time.monotonic() + 5
    while served.server._vtys["sam-i-am"] and time.monotonic() < deadline:     # earlier tests' lines let go
        time.sleep(0.05)
    threads = [threading.Thread(target=session, args=(n,)) for n in range(5)]     # vty 0 4: all five lines
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(outputs) == 15
