"""Limits an attacker of the served lab cannot exhaust.

Over SSH and telnet on the document's lab: catastrophic output filters while another session
keeps answering, sessions dropped during pings, idle connections that never log in, and
``login block-for``. Times are printed, not asserted.
"""

from __future__ import annotations

import re
import socket
import time
from types import SimpleNamespace

import paramiko
import pytest
from test_iosregex import CATASTROPHIC as CATASTROPHIC_LINES
from test_served_jobs import ECHO, PROMPT, SSHTerm, TelnetTerm, _idle
from test_server import RawTelnet

from emulator.cli.session import CliSession
from emulator.frontends.gate import PRELOGIN_PER_DEVICE, Prelogin
from emulator.frontends.server import LabServer
from emulator.lab.labfile import Lab
from support import ROOT

DOC_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
SPEED = 10
# (pattern, a pattern without nested multipliers that matches the same lines)
CATASTROPHIC = [(pattern, same) for pattern, _, _, same in CATASTROPHIC_LINES] + [
    ("(0|00)+$", "0$"), ("([0-9]+)+:", "[0-9]:"), ("(1|11)+[A-Z]", "1[A-Z]")]


def _serve():
    lab = Lab.from_file(DOC_LAB)
    server = LabServer(lab, speed=SPEED).start()
    hub = server.endpoints[[e.role for e in server.endpoints].index("hub")]
    return SimpleNamespace(server=server, lab=lab, hub=hub)


@pytest.fixture(scope="module")
def served():
    s = _serve()
    try:
        yield s
    finally:
        s.server.stop()
        s.lab.close()


def _ssh_login(port: int, password: str = "ww") -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect("127.0.0.1", port=port, username="u", password=password, timeout=5, banner_timeout=5,
                       auth_timeout=5, look_for_keys=False, allow_agent=False)
    except BaseException:
        client.close()
        raise
    return client


# ---------------------------------------------------------------------------- filters

def test_catastrophic_filters_answer_while_another_session_keeps_answering(served):
    _idle(served)
    attacker, other = SSHTerm(served.hub.ssh_port), SSHTerm(served.hub.ssh_port)
    try:
        took, others = {}, []
        for pattern, same in CATASTROPHIC:
            start = time.monotonic()
            attacker.send(f"show clock | include {pattern}\r\n".replace("?", "\x16?"))    # Ctrl-V before ?
            other.send("show clock\r\n")
            out = attacker.read_until(re.escape(pattern) + r"\r\n(.*\r\n)?" + PROMPT)
            took[pattern] = time.monotonic() - start
            start = time.monotonic()
            clock = other.read_until(r"UTC Mon Mar 1 1993\r\n" + PROMPT).split("\r\n")[-2]
            others.append(time.monotonic() - start)
            printed = out.split("\r\n")[1:-1]
            assert len(printed) == bool(re.search(same, clock)), (pattern, out, clock)
            assert all(re.search(same, line) for line in printed)
        long_line = "show clock | include " + "(.+)+!" * 40
        attacker.send(long_line + "\r\n")
        attacker.read_until(PROMPT)
        print("filters (ms):", {p: round(t * 1000, 1) for p, t in took.items()})
        print(f"the other session's answers after them (ms): max {max(others) * 1000:.1f}")
    finally:
        attacker.close()
        other.close()


# ---------------------------------------------------------------------------- dropped sessions

def test_five_sessions_dropped_during_pings_leave_all_five_lines_free(served):
    _idle(served)
    terms = [SSHTerm(served.hub.ssh_port) for _ in range(5)]
    for term in terms:
        term.send("ping 10.99.99.99 repeat 100000\r\n")
    for term in terms:
        term.read_until(r"timeout is 2 seconds:\r\n")
        term.read_until(ECHO, timeout=3)
    with served.server.lock:
        assert len(served.server.pacer.jobs) == 5
        assert served.server._vtys["sam-i-am"] == {0, 1, 2, 3, 4}
    for term in terms:
        term.client.get_transport().sock.close()        # gone without a word
    _idle(served, timeout=2.0)
    assert not served.lab.device("sam-i-am").echo_listeners
    again = SSHTerm(served.hub.ssh_port)                 # and the lines take new users
    again.send("show clock\r\n")
    again.read_until(r"UTC Mon Mar 1 1993\r\n" + PROMPT)
    again.close()


# ---------------------------------------------------------------------------- connections that never log in

def test_idle_connections_that_never_log_in_do_not_keep_a_user_out(served):
    _idle(served)
    idle = [socket.create_connection(("127.0.0.1", served.hub.ssh_port), timeout=5) for _ in range(5)]
    idle += [socket.create_connection(("127.0.0.1", served.hub.telnet_port), timeout=5) for _ in range(5)]
    try:
        time.sleep(0.3)
        ssh = SSHTerm(served.hub.ssh_port)
        ssh.send("show clock\r\n")
        ssh.read_until(r"UTC Mon Mar 1 1993\r\n" + PROMPT)
        telnet = TelnetTerm(served.hub.telnet_port)
        telnet.send("show clock\r\n")
        telnet.read_until(r"UTC Mon Mar 1 1993\r\n" + PROMPT)
        with served.server.lock:
            assert len(served.server._vtys["sam-i-am"]) == 2      # the two who logged in, no more
        ssh.close()
        telnet.close()
    finally:
        for sock in idle:
            sock.close()


def test_a_connection_that_does_not_log_in_in_time_is_closed(served):
    _idle(served)
    served.server._prelogin.timeout = 0.5
    try:
        raw = RawTelnet(served.hub.telnet_port)
        raw.read_until(r"Password: $")
        start = time.monotonic()
        assert raw.closed(timeout=3.0)
        print(f"closed {time.monotonic() - start:.2f} s after the password prompt (timeout 0.5 s)")
        raw.close()
    finally:
        served.server._prelogin.timeout = 30.0


def test_the_oldest_connection_not_logged_in_makes_room_for_a_new_one(served):
    _idle(served)
    first = RawTelnet(served.hub.telnet_port)
    first.read_until(r"Password: $")
    rest = [socket.create_connection(("127.0.0.1", served.hub.telnet_port), timeout=5)
            for _ in range(PRELOGIN_PER_DEVICE)]
    try:
        assert first.closed(timeout=3.0)
        term = TelnetTerm(served.hub.telnet_port)        # evicts another idle one, and logs in
        term.send("show clock\r\n")
        term.read_until(r"UTC Mon Mar 1 1993\r\n" + PROMPT)
        term.close()
    finally:
        first.close()
        for sock in rest:
            sock.close()


def test_prelogin_bookkeeping():
    pre = Prelogin(timeout=30.0, limit=2)
    assert pre.add("r", 1, now=0.0) is None
    assert pre.add("r", 2, now=1.0) is None
    assert pre.add("r", 3, now=2.0) == 1                 # the oldest goes
    assert pre.add("other", 4, now=1.5) is None          # per device
    pre.done("r", 2)
    assert pre.count("r") == 1
    assert pre.expired(now=31.9) == [4] and pre.expired(now=32.0) == [3]
    assert pre.count("r") == 0


# ---------------------------------------------------------------------------- login block-for

def test_login_block_for_refuses_logins_after_failures_and_lifts(caplog):
    s = _serve()
    try:
        console = CliSession(s.lab.device("sam-i-am"), privileged=True)
        out, _, _ = s.server.run_lines(console, ["configure terminal", "login block-for 60 attempts 3 within 60"])
        assert "% Invalid input detected at '^' marker." in out           # not in 12.2
        out, _, _ = s.server.run_lines(console, ["version 12.3", "login block-for 60 attempts 3 within 60",
                                                 "end", "show login"])
        assert ("     A default login delay of 1 seconds is applied.\n"
                "     No Quiet-Mode access list has been configured.\n\n"
                "     Router enabled to watch for login Attacks.\n"
                "     If more than 3 login failures occur in 60 seconds or less, logins will be disabled for "
                "60 seconds.\n\n"
                "     Router presently in Watch-Mode, will remain in Watch-Mode for 60 seconds.\n"
                "     Present login failure count 0.\n") in out
        for _ in range(3):
            start = time.monotonic()
            with pytest.raises(paramiko.AuthenticationException):
                _ssh_login(s.hub.ssh_port, password="wrong")
            assert time.monotonic() - start >= 1 / SPEED           # the login delay, in lab seconds
        out, _, _ = s.server.run_lines(console, ["show login"])
        left = re.search(r"     Router presently in Quiet-Mode, will remain in Quiet-Mode for (\d+) seconds\.\n"
                         r"     Denying logins from all sources\.\n", out)
        assert left and 0 < int(left.group(1)) <= 60, out            # lab seconds go 10 times as fast
        log = "\n".join(s.lab.device("sam-i-am").log_buffer)
        assert re.search(r"%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is \d+ secs, "
                         r"\[user: u\] \[Source: 127\.0\.0\.1\] \[localport: 22\] \[Reason: Login Authentication "
                         r"Failed\] \[ACL: sl_def_acl\] at \d\d:\d\d:\d\d UTC Mon Mar 1 1993", log), log
        with pytest.raises((paramiko.SSHException, EOFError, OSError)):
            _ssh_login(s.hub.ssh_port)                      # even the right password: refused
        raw = RawTelnet(s.hub.telnet_port)
        assert raw.closed(timeout=2.0)
        raw.close()
        deadline = time.monotonic() + 60 / SPEED + 3
        while time.monotonic() < deadline and "QUIET_MODE_OFF" not in "".join(s.lab.device("sam-i-am").log_buffer):
            time.sleep(0.1)
        assert re.search(r"%SEC_LOGIN-5-QUIET_MODE_OFF: Quiet Mode is OFF, because block period timed out at "
                         r"\d\d:\d\d:\d\d UTC Mon Mar 1 1993", "\n".join(s.lab.device("sam-i-am").log_buffer))
        _ssh_login(s.hub.ssh_port).close()                  # the quiet period is over
        watch = s.lab.device("sam-i-am").logins
        assert (watch.failed_total, watch.refused_total) == (3, 2)
    finally:
        s.server.stop()
        s.lab.close()
