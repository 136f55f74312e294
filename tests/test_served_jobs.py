"""The served lab always answers: long commands stream and break off, slices stay short, faults stop the clock.

Over SSH (paramiko), over telnet (a raw socket), and on the pacer itself.
"""

from __future__ import annotations

import re
import threading
import time
from types import SimpleNamespace

import paramiko
import pytest
from test_server import RawTelnet, chan_read_until, ssh_shell

from emulator.cli.session import CliSession
from emulator.frontends.pacer import BACKLOG, PacedLab, Pacer
from emulator.frontends.server import LabServer
from emulator.lab.labfile import Lab
from emulator.sim.clock import MS, SECOND, Simulator
from support import ROOT

DOC_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
SPEED = 10                    # an unanswered echo (2 s of lab time) ends every 0.2 s
ECHO = r"[.!U]"
PROMPT = r"sam-i-am>$"
MORE_ERASED = "\b" * 10 + " " * 10 + "\b" * 10


@pytest.fixture(scope="module")
def served():
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab, speed=SPEED).start()
    try:
        yield SimpleNamespace(server=server, lab=lab,
                              hub=server.endpoints[[e.role for e in server.endpoints].index("hub")])
    finally:
        server.stop()
        lab.close()


class TelnetTerm:
    def __init__(self, port: int):
        self.t = RawTelnet(port)
        self.t.read_until(r"Password: $")
        self.t.send("ww\r\n")
        self.t.read_until(PROMPT)

    def send(self, text: str) -> None:
        self.t.send(text)

    def read_until(self, pattern: str, timeout: float = 5.0) -> str:
        return self.t.read_until(pattern, timeout)

    def close(self) -> None:
        self.t.close()


class SSHTerm:
    def __init__(self, port: int):
        self.client, self.chan = ssh_shell(port)
        self.buffer = ""
        chan_read_until(self.chan, PROMPT)

    def send(self, text: str) -> None:
        self.chan.send(text.replace("\r\n", "\n"))

    def read_until(self, pattern: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.buffer):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} in {self.buffer!r}")
            self.chan.settimeout(left)
            data = self.chan.recv(65536)
            if not data:
                raise AssertionError(f"closed before {pattern!r}; got {self.buffer!r}")
            self.buffer += data.decode("latin-1")
        match = re.search(pattern, self.buffer)
        text, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
        return text

    def close(self) -> None:
        self.client.close()


def _open(kind: str, served):
    return TelnetTerm(served.hub.telnet_port) if kind == "telnet" else SSHTerm(served.hub.ssh_port)


def _idle(served, timeout: float = 3.0) -> None:
    """Wait until no command runs and no vty line is taken (earlier sessions let go)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with served.server.lock:
            busy = served.server.pacer.jobs or served.server._vtys["sam-i-am"]
        if not busy:
            return
        time.sleep(0.02)
    raise AssertionError(f"still busy: {served.server.pacer.jobs} {served.server._vtys['sam-i-am']}")


# ---------------------------------------------------------------------------- streaming and breaking off

@pytest.mark.parametrize("kind", ["ssh", "telnet"])
@pytest.mark.parametrize("key", ["\x1e", "\x03"], ids=["ctrl-shift-6", "ctrl-c"])
def test_a_long_ping_streams_and_breaks_off(served, kind, key):
    _idle(served)
    term = _open(kind, served)
    try:
        term.send("ping 10.99.99.99 repeat 1000\r\n")
        head = term.read_until(r"timeout is 2 seconds:\r\n")
        assert head.endswith("Type escape sequence to abort.\r\n"
                             "Sending 1000, 100-byte ICMP Echos to 10.99.99.99, timeout is 2 seconds:\r\n")
        seen, times = "", []
        for _ in range(3):                                   # one character per echo, as each echo ends
            seen += term.read_until(ECHO, timeout=2)
            times.append(time.monotonic())
        assert re.fullmatch(r"[.U]{3}", seen)
        assert times[2] - times[0] > 0.5 * 2 / SPEED         # they came as the echoes ended, not at once
        start = time.monotonic()
        term.send(key)
        rest = term.read_until(PROMPT, timeout=2)
        assert time.monotonic() - start < 1.0
        sent = len(seen) + len(re.sub(r"[^.U!]", "", rest.split("\r\n")[0]))
        assert rest.endswith(f"\r\nSuccess rate is 0 percent (0/{sent})\r\nsam-i-am>")
        assert "^C" not in rest
        term.send("show clock\r\n")
        assert re.search(r"UTC Mon Mar 1 1993\r\nsam-i-am>$", term.read_until(PROMPT))
    finally:
        term.close()


@pytest.mark.parametrize("kind", ["ssh", "telnet"])
def test_a_ping_without_timeout_to_a_reachable_address_breaks_off_within_a_second(served, kind):
    _idle(served)
    term = _open(kind, served)
    try:
        term.send("terminal length 0\r\n")                       # no --More-- to stop the stream
        term.read_until(PROMPT)
        term.send("ping 10.2.2.10 repeat 100000 timeout 0\r\n")
        term.read_until(r"timeout is 0 seconds:\r\n")
        term.read_until(ECHO, timeout=2)
        start = time.monotonic()
        term.send("\x1e")
        rest = term.read_until(PROMPT, timeout=2)
        assert time.monotonic() - start < 1.0
        assert re.search(r"\r\nSuccess rate is \d+ percent \(\d+/\d+\)(, round-trip .*)?\r\nsam-i-am>$", rest)
        sent = int(re.search(r"/(\d+)\)", rest).group(1))
        assert 0 < sent < 100000
    finally:
        term.close()


def test_a_long_ping_stops_at_more_and_any_key_there_drops_it(served):
    _idle(served)
    term = SSHTerm(served.hub.ssh_port)
    try:
        term.send("ping 10.2.2.10 repeat 100000 timeout 0\r\n")
        page = term.read_until(r" --More-- $", timeout=5)
        assert len(page.split("\r\n")) == 25                 # the command line, 23 lines, --More--
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:                   # the ping goes on until its output fills up
            with served.server.lock:
                (running,) = served.server.pacer.jobs
                held = running.backlog
            if held >= BACKLOG:
                break
            time.sleep(0.05)
        time.sleep(0.3)
        with served.server.lock:                             # the ping waits for its output to be read
            assert running.backlog == held and BACKLOG <= held < BACKLOG + 100 and not running.ended
        term.send("q")
        assert term.read_until(PROMPT).endswith(MORE_ERASED + "sam-i-am>")
        with served.server.lock:
            assert served.server.pacer.jobs == []                # the ping went with its output
    finally:
        term.close()


def test_the_repeat_1000_ping_without_timeout_streams_to_the_end(served):
    _idle(served)
    term = TelnetTerm(served.hub.telnet_port)
    try:
        term.send("ping 10.2.2.10 repeat 1000 timeout 0\r\n")
        out = term.read_until(PROMPT, timeout=10)
        dots = re.sub(r"[^.!]", "", out.split("seconds:\r\n")[1].split("Success")[0])
        assert len(dots) == 1000
        assert re.search(r"\r\nSuccess rate is \d+ percent \(\d+/1000\)", out)
    finally:
        term.close()


def test_a_dropped_session_frees_its_line_and_its_command_at_once(served):
    _idle(served)
    term = SSHTerm(served.hub.ssh_port)
    term.send("ping 10.99.99.99 repeat 1000\r\n")
    term.read_until(r"timeout is 2 seconds:\r\n")         # past the typed line, whose dots are no echoes
    term.read_until(ECHO, timeout=2)
    with served.server.lock:
        assert len(served.server.pacer.jobs) == 1 and served.server._vtys["sam-i-am"]
    term.client.get_transport().sock.close()                 # gone without a word
    start = time.monotonic()
    _idle(served, timeout=1.0)
    assert time.monotonic() - start < 1.0
    assert not served.lab.device("sam-i-am").echo_listeners


def test_a_long_command_does_not_hold_up_another_session(served):
    _idle(served)
    busy, other = TelnetTerm(served.hub.telnet_port), SSHTerm(served.hub.ssh_port)
    try:
        busy.send("ping 10.2.2.10 repeat 100000 timeout 0\r\n")
        busy.read_until(r"timeout is 0 seconds:\r\n")     # past the typed line, whose dots are no echoes
        busy.read_until(ECHO, timeout=2)
        delays = []
        for _ in range(5):
            start = time.monotonic()
            other.send("show clock\r\n")
            other.read_until(r"UTC Mon Mar 1 1993\r\nsam-i-am>$")
            delays.append(time.monotonic() - start)
        assert max(delays) < 0.5, delays
        busy.send("\x03")
        busy.read_until(PROMPT, timeout=2)
    finally:
        busy.close()
        other.close()


def test_an_exec_request_streams_the_whole_ping(served):
    _idle(served)
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect("127.0.0.1", port=served.hub.ssh_port, username="u", password="ww", timeout=5,
                   look_for_keys=False, allow_agent=False)
    try:
        _, stdout, _ = client.exec_command("ping 10.99.99.99 repeat 3", timeout=5)
        out = stdout.read().decode()
        assert out.startswith("Type escape sequence to abort.\r\n")
        assert re.search(r"\r\n[.U]{3}\r\nSuccess rate is 0 percent \(0/3\)\r\n$", out)
    finally:
        client.close()


# ---------------------------------------------------------------------------- the pacer's slices

def test_a_slice_is_bounded_in_events_and_in_wall_time():
    sim = Simulator()

    def busy():
        sim.call_later(1, busy)                  # an event every ns: more than any slice runs
    sim.call_soon(busy)
    wall = [0.0]
    pacer = Pacer(sim, clock=lambda: wall[0], slice_events=500, slice_seconds=10.0)
    wall[0] = 1.0
    assert pacer.step() == 1.0 and pacer.cut_short and sim.events_run == 500
    slow = Pacer(sim, clock=lambda: wall[0], slice_seconds=0.005)
    slow.sim.call_soon(lambda: time.sleep(0.003))
    wall[0] = 2.0
    start = time.perf_counter()
    slow.step()
    assert slow.cut_short and time.perf_counter() - start < 0.1


def test_a_paced_job_ends_at_the_lab_time_it_ends_in_process():
    """Stepped by the pacer, a ping's waits end where they end in process: same output, same lab time."""
    ran = Lab.from_file(DOC_LAB)
    command = "ping 10.2.2.3 source 10.1.1.1 repeat 12"
    expected = CliSession(ran.device("dr_whoovie"), privileged=True).execute(command)
    paced_lab = Lab.from_file(DOC_LAB)
    paced = PacedLab(paced_lab)
    wall = [0.0]
    paced.pacer = Pacer(paced_lab.sim, clock=lambda: wall[0], slice_events=50)
    running = paced.begin(CliSession(paced_lab.device("dr_whoovie"), privileged=True), command, "test")
    out = []
    while not running.ended:
        wall[0] += 0.001
        with paced.lock:
            paced.pacer.step()
        out.append(paced.take(running)[0])
    out.append(paced.take(running)[0])
    assert "".join(out) == expected


# ---------------------------------------------------------------------------- a fault stops the clock

def _spin(sim):
    def spin():
        sim.call_soon(spin)                      # re-armed at the instant it fires: no progress
    return spin


def test_a_simulator_fault_stops_the_clock_and_every_session_still_answers(tmp_path, caplog):
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab).start()
    try:
        hub = server.endpoints[[e.role for e in server.endpoints].index("hub")]
        term = TelnetTerm(hub.telnet_port)
        ssh = SSHTerm(hub.ssh_port)
        term.send("ping 10.99.99.99 repeat 1000\r\n")
        term.read_until(r"seconds:\r\n")
        with server.lock:
            lab.sim.call_soon(_spin(lab.sim))
        server.wake()
        out = term.read_until(PROMPT, timeout=3)
        line = re.search(r"% Emulator fault: no progress at lab time [\d.]+ s: 10000 events at the same instant, "
                         r"last by .*spin; the lab clock is stopped\r\n", out)
        assert line, out
        with server.lock:
            frozen = lab.sim.now
        for t in (term, ssh):
            t.send("show clock\r\n")
            assert t.read_until(PROMPT, timeout=2) == "show clock\r\n" + line.group(0) + "sam-i-am>"
        ssh.send("\r\n")
        assert ssh.read_until(PROMPT) == "\r\nsam-i-am>"
        time.sleep(0.3)
        with server.lock:
            assert lab.sim.now == frozen and server.paced.fault is not None
        term.send("exit\r\n")
        assert term.t.closed()
        assert any("the lab clock is stopped" in r.getMessage() for r in caplog.records)
        ssh.close()
    finally:
        start = time.monotonic()
        server.stop()
        assert time.monotonic() - start < 2.0
        lab.close()


def test_any_exception_of_the_simulator_is_a_fault_too(monkeypatch):
    lab = Lab.from_file(DOC_LAB)
    paced = PacedLab(lab)
    monkeypatch.setattr(paced.pacer, "step", lambda wall=None: 1 / 0)
    cli = CliSession(lab.device("sam-i-am"))
    with paced.lock:
        paced._slice()
    assert paced.fault == "ZeroDivisionError: division by zero"
    assert paced.run_lines(cli, ["show version"]) == \
        ("% Emulator fault: ZeroDivisionError: division by zero; the lab clock is stopped\n", "sam-i-am>", False)
    assert paced.run_lines(cli, ["logout"])[2] is True


def test_a_stuck_simulator_does_not_keep_the_server_from_stopping():
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab).start()
    release = threading.Event()
    with server.lock:
        lab.sim.call_soon(lambda: release.wait(30))          # a step that never ends (until released)
    server.wake()
    time.sleep(0.2)
    start = time.monotonic()
    server.stop()
    assert time.monotonic() - start < 2.0
    release.set()
    lab.close()


def test_slices_leave_the_lock_to_the_sessions():
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab).start()
    try:
        sim = lab.sim

        def busy():
            sim.call_later(10 * MS, busy)
            time.sleep(0.0005)                               # a lab that keeps the simulator busy
        with server.lock:
            for _ in range(200):
                sim.call_soon(busy)
        cli = CliSession(lab.device("sam-i-am"))
        delays = []
        for _ in range(10):
            start = time.monotonic()
            with server.lock:
                cli.execute("show clock")
            delays.append(time.monotonic() - start)
            time.sleep(0.01)
        assert max(delays) < 0.2, delays
        assert server.paced.fault is None and sim.now > 0 * SECOND
    finally:
        server.stop()
        lab.close()
