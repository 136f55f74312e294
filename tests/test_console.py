"""python -m emulator console DEVICE: a device's console in a terminal, driven here through a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time

import pytest

from support import ROOT


class Terminal:
    """The console command on a pseudo-terminal that is its controlling terminal."""

    def __init__(self, *args: str, program: tuple[str, ...] = ("-m", "emulator")):
        self.master, slave = os.openpty()
        env = dict(os.environ, TERM="xterm", COLUMNS="120", LINES="40")
        env.pop("INPUTRC", None)
        self.proc = subprocess.Popen([sys.executable, *program, "console", *args], cwd=ROOT, env=env,
                                     stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                                     start_new_session=True, preexec_fn=_take_terminal)
        os.close(slave)
        self.buffer = b""

    def read_until(self, pattern: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.buffer):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} within {timeout} s in {self.buffer[-2000:]!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    data = os.read(self.master, 65536)
                except OSError:              # the other side is gone
                    data = b""
                if not data:
                    raise AssertionError(f"the console ended before {pattern!r}: {self.buffer[-2000:]!r}")
                self.buffer += data
        match = re.search(pattern, self.buffer)
        text, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
        return text

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode("latin-1"))

    def wait(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.buffer += os.read(self.master, 65536)
                except OSError:
                    pass
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


def _take_terminal():
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


@pytest.fixture
def hub_console():
    term = Terminal("sam-i-am")
    try:
        yield term
    finally:
        term.close()


def test_prompt_show_version_help_completion_and_exit(hub_console):
    t = hub_console
    t.read_until(rb"\r\nsam-i-am>$")
    t.send("show version\r")
    out = t.read_until(rb"Configuration register is 0x2102\r\nsam-i-am>")
    assert b"Cisco Internetwork Operating System Software" in out
    t.send("show ?")                                   # help at once, and the line comes back
    out = t.read_until(rb"sam-i-am>show $")
    assert re.search(rb"show \?\r\n  access-lists  List access lists\r\n  arp           ARP table\r\n"
                     rb"(  \S+ +\S.*\r\n)*  version       System hardware and software status\r\n\r\nsam-i-am>show $",
                     out), out
    t.send("\x15sh\t")                                  # Ctrl-U erases "show ", Tab makes "sh" "show "
    t.read_until(rb"show ")
    t.send("clock\r")
    assert re.search(rb"\*\d\d:\d\d:\d\d\.\d{3} UTC Mon Mar 1 1993\r\nsam-i-am>$", t.read_until(rb"sam-i-am>$"))
    t.send("\x10\x10")                                  # Ctrl-P twice: history, without the "show ?" line
    t.read_until(rb"version$")                           # (readline redraws only what differs)
    t.send("\x0e\r")                                    # Ctrl-N: forward to "show clock", and run it
    out = t.read_until(rb"sam-i-am>$")
    assert re.search(rb"clock(\x1b\[K)?\r\n\*\d\d:\d\d:\d\d\.\d{3} UTC Mon Mar 1 1993\r\nsam-i-am>$", out), out
    t.send("exit\r")
    assert t.wait() == 0


def test_tab_completes_a_keyword(hub_console):
    t = hub_console
    t.read_until(rb"sam-i-am>$")
    t.send("sh\t")
    assert t.read_until(rb"show ") == b"show "          # "sh" echoed, "ow " completed
    t.send("ver\t")
    assert t.read_until(rb"version ") == b"version "
    t.send("\r")
    assert b"Cisco Internetwork" in t.read_until(rb"0x2102\r\nsam-i-am>")
    t.send("exit\r")
    assert t.wait() == 0


def test_enable_dialog_configuration_and_ctrl_z(hub_console):
    t = hub_console
    t.read_until(rb"sam-i-am>$")
    t.send("enable\r")
    t.read_until(rb"Password: $")
    t.send("lab\r")                                     # not echoed
    assert t.read_until(rb"sam-i-am#$") == b"\r\nsam-i-am#"
    t.send("configure terminal\r")
    t.read_until(rb"sam-i-am\(config\)#$")
    t.send("interface Ethernet0\r")
    t.read_until(rb"sam-i-am\(config-if\)#$")
    t.send("description to the LAN\x1a")                # Ctrl-Z applies the line and leaves
    out = t.read_until(rb"sam-i-am#$")
    assert b"^Z\r\n" in out and b"%SYS-5-CONFIG_I: Configured from console by console" in out
    t.send("show running-config | include description\r")
    assert t.read_until(rb"sam-i-am#$").endswith(b" description to the LAN\r\nsam-i-am#")
    t.send("ping\r")                                    # the extended ping's questions, answered one by one
    for question, answer in ((rb"Protocol \[ip\]: $", ""), (rb"Target IP address: $", "10.2.2.3"),
                             (rb"Repeat count \[5\]: $", "2")):
        t.read_until(question)
        t.send(answer + "\r")
    for _ in range(4):
        t.read_until(rb"\]: $")
        t.send("\r")
    assert b"Success rate is 100 percent (2/2)" in t.read_until(rb"sam-i-am#$")
    t.send("exit\r")
    assert t.wait() == 0


def test_messages_appear_while_the_console_waits(tmp_path):
    t = Terminal("dr_whoovie")
    try:
        t.read_until(rb"dr_whoovie>$")
        t.send("enable\r")
        t.read_until(rb"Password: $")
        t.send("lab\r")
        t.read_until(rb"dr_whoovie#$")
        t.send("configure terminal\r")
        t.read_until(rb"\(config\)#$")
        t.send("interface Serial0\r")
        t.read_until(rb"\(config-if\)#$")
        t.send("shutdown\r")
        assert b"changed state to administratively down" in t.read_until(rb"\(config-if\)#$")
        t.send("no shutdown\r")
        # The line comes up at once; the line protocol when PPP has negotiated, a moment later.
        assert b"%LINK-3-UPDOWN: Interface Serial0, changed state to up" in t.read_until(rb"\(config-if\)#$")
        t.send("desc")                                      # typed, not entered: the message comes anyway
        t.read_until(rb"Line protocol on Interface Serial0, changed state to up\r\n"
                     rb"dr_whoovie\(config-if\)#desc", timeout=15)
        t.send("\x15\x1a")
        t.read_until(rb"dr_whoovie#$")
        t.send("\x04")                                      # Ctrl-D: end of input ends the console too
        assert t.wait() == 0
    finally:
        t.close()


def test_unknown_device_is_a_one_line_error():
    result = subprocess.run([sys.executable, "-m", "emulator", "console", "nowhere"], cwd=ROOT,
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert re.fullmatch(r"error: .*lab\.yml: no device 'nowhere' in the lab \(devices: sam-i-am, dr_whoovie, isp, "
                        r"hub-host, remote-host, internet-host\)", lines[0])


def test_piped_input_runs_like_a_script():
    script = "enable\nlab\nshow ip interface brief | include Ethernet0\nexit\n"
    result = subprocess.run([sys.executable, "-m", "emulator", "console", "sam-i-am"], cwd=ROOT, input=script,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "sam-i-am>enable\nPassword: \nsam-i-am#show ip interface brief | include Ethernet0\nEthernet0 " \
        in result.stdout
    assert "lab" not in result.stdout.replace("sam-i-am", "")


# ---------------------------------------------------------------------------- long commands and signals

@pytest.mark.parametrize("key", [b"\x1e", b"\x03"], ids=["ctrl-shift-6", "ctrl-c"])
def test_a_long_ping_streams_and_breaks_off_on_the_console(key):
    t = Terminal("sam-i-am", "--speed", "10")
    try:
        t.read_until(rb"sam-i-am>$")
        t.send("ping 10.99.99.99 repeat 1000\r")
        t.read_until(rb"Sending 1000, 100-byte ICMP Echos to 10.99.99.99, timeout is 2 seconds:\r\n")
        seen, times = b"", []
        for _ in range(3):                                   # one character per echo, as each echo ends
            seen += t.read_until(rb"[.U!]", timeout=2)
            times.append(time.monotonic())
        assert re.fullmatch(rb"[.U]{3}", seen) and times[2] - times[0] > 0.1
        start = time.monotonic()
        os.write(t.master, key)
        rest = t.read_until(rb"sam-i-am>$", timeout=2)
        assert time.monotonic() - start < 1.0
        assert re.search(rb"\r\nSuccess rate is 0 percent \(0/\d+\)\r\nsam-i-am>$", rest), rest
        t.send("show clock\r")                               # the keyboard is the console's again
        assert re.search(rb"show clock\r\n\*\d\d:\d\d:\d\d\.\d{3} UTC Mon Mar 1 1993\r\nsam-i-am>$",
                         t.read_until(rb"sam-i-am>$"))
        t.send("exit\r")
        assert t.wait() == 0
    finally:
        t.close()


def test_ctrl_c_at_the_prompt_abandons_the_line():
    t = Terminal("sam-i-am")
    try:
        t.read_until(rb"sam-i-am>$")
        t.send("show version\x03")
        assert t.read_until(rb"sam-i-am>$").endswith(b"show version^C\r\nsam-i-am>")
        assert t.proc.poll() is None
        t.send("exit\r")
        assert t.wait() == 0
    finally:
        t.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_console_within_2_s_while_a_ping_runs(sig):
    t = Terminal("sam-i-am")
    try:
        t.read_until(rb"sam-i-am>$")
        t.send("ping 10.2.2.10 repeat 1000000 timeout 0\r")
        t.read_until(rb"[.!]{3}")
        start = time.monotonic()
        t.proc.send_signal(sig)
        assert t.wait(timeout=5) == 0
        assert time.monotonic() - start < 2.0
    finally:
        t.close()


# The console with one more event in the lab, a second after it starts: a step that never ends.
STUCK = """\
import sys
from emulator.__main__ import main
from emulator.frontends.pacer import PacedLab
from emulator.sim.clock import SECOND

_start = PacedLab.start


def start(self):
    def forever():
        while True:
            pass
    self.lab.sim.call_later(SECOND, forever)
    return _start(self)


PacedLab.start = start
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_ends_the_console_within_2_s_with_the_simulator_stuck_in_a_step(tmp_path):
    script = tmp_path / "stuck_console.py"
    script.write_text(STUCK)
    t = Terminal("sam-i-am", program=(str(script),))
    try:
        t.read_until(rb"sam-i-am>$")
        time.sleep(1.5)                                      # the runaway step has begun
        t.send("show clock\r")                              # and this command waits for the lab
        time.sleep(0.2)
        start = time.monotonic()
        t.proc.send_signal(signal.SIGTERM)
        assert t.wait(timeout=5) == 0
        assert time.monotonic() - start < 2.0
    finally:
        t.close()
