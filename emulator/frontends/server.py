"""Serve each device of an emulated lab over SSH and telnet, as a vty of a real router.

    python -m emulator serve [--lab PATH] [--host 127.0.0.1] [--ssh-port N] [--telnet-port N]
                             [--write-inventory FILE] [--inventory-transport ssh|telnet] [--speed X]

Every device gets one SSH port and one telnet port (``--ssh-port N`` gives the
first device N, the next N+1, ...; 0 picks free ports). The port map is
printed as ``DEVICE ssh HOST:PORT telnet HOST:PORT`` lines and, with
``--write-inventory`` (or its older name ``--inventory-out``), written as an
inventory for ``pytest --driver=netmiko``, credentials and enable secrets
included (the lab's own, from its configurations).

SSH is paramiko's server side: paramiko is already installed (netmiko is
built on it), so the emulator needs no further dependency, and its
thread-per-transport model fits the one-lock design below.

Login follows the device's ``line vty`` configuration: ``login local`` checks
the ``username`` table (``Username:`` then ``Password:`` on telnet);
``login`` with a line ``password`` takes any username with that password;
``login`` without a password refuses everyone ("Password required, but none
set"); no ``login`` at all lets everyone in. ``transport input`` limits the
protocols. Passwords of type 0 and 7 and type 5 secrets are checked.
The session starts in user EXEC; ``enable`` asks for the enable secret if
there is one. Input is echoed (not passwords), lines end in CR LF, output
longer than ``terminal length`` stops at ``--More--``; ``?`` lists what may
come next and Tab completes a keyword, as on IOS.

Real time: one lock owns the lab. A pacing thread runs the simulator so that
the lab clock follows the wall clock (``Pacer``), and every CLI line runs
under the same lock. A command that waits (ping) runs the simulator itself
and so moves the lab clock ahead of the wall clock; the pacer then does not
re-anchor (which would leave the lab ahead for good) but lets the wall clock
catch up, and the command's output is held back until it has, so a ping that
times out after 2 seconds takes 2 seconds, as on a router. ``run_lines`` is
that rule for any CLI session; a LabServer with no ports is a lab on a
real-time clock (``python -m emulator console``).

Client misbehaviour (dropped connections, binary junk, over-long lines,
half-finished telnet negotiation, failed SSH handshakes) ends at most that
one connection and is logged.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import paramiko
import yaml

from emulator.cli.session import CTRL_Z, CliSession, SessionClosed
from emulator.config.secrets import secret_matches
from emulator.lab.labfile import Lab
from emulator.sim.clock import seconds as lab_seconds, to_seconds

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 30.0          # IOS gives a vty 30 s to log in
DEFAULT_EXEC_TIMEOUT = 600.0  # exec-timeout 10 0
MAX_LINE = 4096               # characters kept of one input line
MAX_CONNECTIONS = 64          # open TCP connections, all devices together
DEFAULT_VTYS = 5              # vty 0 4
PACE_MAX_SLEEP = 0.25         # the pacer looks at the clock at least this often
MORE = " --More-- "
ERASE_MORE = "\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE)


class ServerError(Exception):
    """The server cannot start as asked: what and where."""


# ---------------------------------------------------------------------------- credentials

_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def decode_type7(text: str) -> str:
    """The clear text of a type-7 password (the reversible Vigenere-like IOS encoding)."""
    if len(text) < 4 or len(text) % 2 or not text[:2].isdigit():
        raise ValueError(f"not a type 7 password: {text!r}")
    offset = int(text[:2])
    pairs = [int(text[i:i + 2], 16) for i in range(2, len(text), 2)]
    return "".join(chr(b ^ ord(_TYPE7_KEY[(offset + i) % len(_TYPE7_KEY)])) for i, b in enumerate(pairs))


def clear_password(value: str | None) -> str | None:
    """The clear text of a configured password (``0 x``, ``7 hex`` or plain); None if unknowable."""
    if value is None:
        return None
    kind, _, rest = value.partition(" ")
    if rest and kind == "0":
        return rest
    if rest and kind == "7":
        try:
            return decode_type7(rest.strip())
        except ValueError:
            return None
    if rest and kind in ("4", "5", "8", "9"):
        return None
    return value


@dataclass(frozen=True)
class LoginPolicy:
    """How one vty line authenticates, from the device's configuration."""

    mode: str                             # none | line | local | unset (login, no password)
    password: str | None = None
    users: tuple[tuple[str, str | None], ...] = ()
    transports: frozenset[str] = frozenset({"ssh", "telnet"})
    exec_timeout: float | None = DEFAULT_EXEC_TIMEOUT   # None: never

    def check(self, username: str, password: str) -> bool:
        if self.mode == "none":
            return True
        if self.mode == "line":
            return self.password is not None and password == self.password
        if self.mode == "local":
            return any(name == username and pw is not None and _password_ok(pw, password) for name, pw in self.users)
        return False

    def credentials(self) -> tuple[str, str]:
        """A username and password that log in (for the generated inventory)."""
        if self.mode == "local":
            for name, pw in self.users:
                clear = clear_password(pw) if pw is not None else None
                if clear is not None:
                    return name, clear
            return (self.users[0][0] if self.users else "admin"), ""
        return "admin", self.password or ""


def _vty_lines(router) -> list:
    return [line for line in router.config.lines if line.kind == "vty"]


def vty_count(router) -> int:
    """How many vty lines the device has (at least 0-4, as on every IOS router)."""
    last = [line.last if line.last is not None else line.first for line in _vty_lines(router)]
    return max([DEFAULT_VTYS] + [n + 1 for n in last])


def vty_policy(router, index: int) -> LoginPolicy:
    """The login rules of ``line vty <index>``."""
    line = next((l for l in _vty_lines(router)
                 if l.first <= index <= (l.last if l.last is not None else l.first)), None)
    transports = frozenset({"ssh", "telnet"})
    timeout: float | None = DEFAULT_EXEC_TIMEOUT
    if line is not None and line.transport_input is not None:
        words = set(line.transport_input)
        transports = frozenset({"ssh", "telnet"}) if "all" in words else frozenset(words & {"ssh", "telnet"})
    if line is not None and line.exec_timeout is not None:
        minutes, seconds = line.exec_timeout
        timeout = (minutes * 60 + seconds) or None
    users = tuple((u.name, u.password) for u in router.config.users)   # as configured: clear, type 7 or 5
    if line is None or line.login is None:
        return LoginPolicy("none", transports=transports, exec_timeout=timeout)
    if line.login == "local":
        return LoginPolicy("local", users=users, transports=transports, exec_timeout=timeout)
    password = clear_password(line.password)
    if line.password is None:
        return LoginPolicy("unset", transports=transports, exec_timeout=timeout)
    return LoginPolicy("line", password=password, transports=transports, exec_timeout=timeout)


def _password_ok(stored: str, typed: str) -> bool:
    """A typed password against a configured one: clear text, type 7, or a type 5 (MD5-crypt) secret."""
    clear = clear_password(stored)
    if clear is not None:
        return typed == clear
    return secret_matches(stored, typed)


def enable_secret(router) -> str:
    """The clear enable secret (or enable password), "" when there is none or it cannot be known."""
    known = getattr(router, "operator_secrets", {}).get("enable")
    if known:
        return known   # typed in clear by the lab file; the device itself keeps only the hash
    config = router.config
    return clear_password(config.enable_secret or config.enable_password) or ""


# ---------------------------------------------------------------------------- real time

class Pacer:
    """Runs a simulator so that its clock follows a wall clock.

    Call ``step()`` with the lab lock held. The anchor (wall, virtual) is set
    once: when something ran the lab ahead of its schedule (a ping waiting
    inside a command), ``step`` runs nothing until the wall clock has caught
    up, instead of moving the anchor and leaving the lab ahead for good.
    """

    def __init__(self, sim, speed: float = 1.0, clock: Callable[[], float] = time.monotonic):
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        self.sim = sim
        self.speed = float(speed)
        self.clock = clock
        self.wall0 = clock()
        self.virt0 = sim.now

    def target(self, wall: float | None = None) -> int:
        """The lab time (ns) the wall clock (seconds) asks for: the one conversion of wall to lab time."""
        elapsed = ((self.clock() if wall is None else wall) - self.wall0) * self.speed
        return self.virt0 + lab_seconds(elapsed, allow_negative=True)

    def wall_at(self, virtual: int) -> float:
        """The wall time (seconds) at which the lab reaches ``virtual`` ns."""
        return self.wall0 + to_seconds(virtual - self.virt0) / self.speed

    def lead(self, wall: float | None = None) -> float:
        """Lab seconds the lab clock is ahead of the wall clock (0 when not ahead), for sleeping on."""
        return max(0.0, to_seconds(self.sim.now - self.target(wall)))

    def step(self, wall: float | None = None) -> float | None:
        """Run what is due; returns the wall time when the next event is due (None: idle)."""
        target = self.target(wall)
        if target > self.sim.now:
            self.sim.run_until(target)
        nxt = self.sim.next_event_time()
        return None if nxt is None else self.wall_at(max(nxt, self.sim.now))


# ---------------------------------------------------------------------------- telnet

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
AYT, NOP = 246, 241
OPT_ECHO, OPT_SGA = 1, 3
TELNET_GREETING = bytes([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA])
MAX_SUBNEGOTIATION = 1024


class TelnetParser:
    """Sans-I/O telnet option handling: ``feed(bytes) -> (data, replies)``.

    The server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD and refuses every
    other option, each at most once (so no negotiation can loop). It echoes
    even when a client says DONT ECHO, as IOS does (netmiko's telnet client
    refuses everything and still relies on the echo).
    """

    def __init__(self):
        self._state = "data"
        self._verb = 0
        self._sub = bytearray()
        self._refused: set[tuple[int, int]] = set()
        self.oversized = 0          # subnegotiations cut off for length

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        data, replies = bytearray(), bytearray()
        for b in chunk:
            state = self._state
            if state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    data.append(b)
            elif state == "iac":
                self._state = "data"
                if b == IAC:
                    data.append(IAC)
                elif b in (DO, DONT, WILL, WONT):
                    self._verb, self._state = b, "option"
                elif b == SB:
                    self._sub.clear()
                    self._state = "sb"
                elif b == AYT:
                    replies += b"\r\n[Yes]\r\n"
            elif state == "option":
                self._state = "data"
                replies += self._answer(self._verb, b)
            elif state == "sb":
                if b == IAC:
                    self._state = "sb-iac"
                elif len(self._sub) >= MAX_SUBNEGOTIATION:
                    self.oversized += 1
                    self._sub.clear()
                    self._state = "data"
                else:
                    self._sub.append(b)
            elif state == "sb-iac":
                self._state = "data" if b == SE else "sb"
        return bytes(data), bytes(replies)

    def _answer(self, verb: int, option: int) -> bytes:
        if verb == DO and option in (OPT_ECHO, OPT_SGA):
            return b""                      # already offered
        if verb in (DO, WILL) and (verb, option) not in self._refused:
            self._refused.add((verb, option))
            return bytes([IAC, WONT if verb == DO else DONT, option])
        return b""


# ---------------------------------------------------------------------------- channels

class Disconnected(Exception):
    """The client went away."""


class Channel(Protocol):
    def recv(self, timeout: float | None) -> bytes: ...    # b"" at end of stream; TimeoutError
    def send(self, text: str) -> None: ...
    def close(self) -> None: ...


def _encode(text: str) -> bytes:
    return text.encode("latin-1", errors="replace")


class TelnetChannel:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.parser = TelnetParser()

    def start(self) -> None:
        self.sock.sendall(TELNET_GREETING)

    def recv(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                return b""
            data, replies = self.parser.feed(chunk)
            if replies:
                self.sock.sendall(replies)
            if data:
                return data

    def send(self, text: str) -> None:
        self.sock.settimeout(LOGIN_TIMEOUT)
        self.sock.sendall(_encode(text).replace(b"\xff", b"\xff\xff"))

    def close(self) -> None:
        _close_socket(self.sock)


class SSHChannel:
    def __init__(self, chan: paramiko.Channel):
        self.chan = chan

    def recv(self, timeout: float | None) -> bytes:
        self.chan.settimeout(timeout)
        try:
            return self.chan.recv(4096)
        except socket.timeout:
            raise TimeoutError from None

    def send(self, text: str) -> None:
        self.chan.settimeout(LOGIN_TIMEOUT)
        self.chan.sendall(_encode(text))

    def close(self) -> None:
        try:
            self.chan.send_exit_status(0)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.chan.close()


def _close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


# ---------------------------------------------------------------------------- the terminal

class _Logout(Exception):
    pass


class Terminal:
    """What a vty does with the keys it receives: login, line editing, echo, paging, commands."""

    def __init__(self, server: "LabServer", device: str, channel: Channel, *, kind: str,
                 peer: str, vty: int, policy: LoginPolicy):
        self.server = server
        self.device = device
        self.router = server.lab.devices[device]
        self.channel = channel
        self.kind = kind
        self.peer = peer
        self.vty = vty
        self.policy = policy
        self.cli: CliSession | None = None
        self.where = f"{device} vty{vty} {kind} from {peer}"
        self._pending: collections.deque[str] = collections.deque()
        self._after_cr = False
        self._junk = 0

    # ------------------------------------------------ input
    def _key(self, timeout: float | None) -> str:
        """The next key; CR LF, CR NUL and a lone LF all read as one CR."""
        while True:
            while self._pending:
                ch = self._pending.popleft()
                if self._after_cr and ch in "\n\0":
                    self._after_cr = False
                    continue
                self._after_cr = ch == "\r"
                return "\r" if ch == "\n" else ch
            data = self.channel.recv(timeout)
            if not data:
                raise Disconnected
            self._pending.extend(data.decode("latin-1"))

    def _read_line(self, echo: bool = True, timeout: float | None = None,
                   editing: bool = False) -> tuple[str, str]:
        """A line and how it ended: ``enter``, ``ctrl-z`` or ``ctrl-c``.

        With ``editing`` (a command line, not a login or a dialog answer) ``?`` lists what may
        come next and gives the line back, and Tab completes the last keyword, as on IOS.
        """
        buf: list[str] = []
        overflow = False
        while True:
            ch = self._key(timeout)
            if ch == "\r":
                self.channel.send("\r\n")
                if overflow:
                    log.warning("%s: line longer than %d characters cut", self.where, MAX_LINE)
                return "".join(buf), "enter"
            if ch == "\x1a":
                return "".join(buf), "ctrl-z"
            if ch == "\x03":
                return "".join(buf), "ctrl-c"
            if ch in ("\x7f", "\x08"):
                if buf:
                    buf.pop()
                    if echo:
                        self.channel.send("\b \b")
            elif editing and ch == "?":
                text = "".join(buf)
                with self.server.lock:
                    shown = self.cli.help(text)
                    prompt = self.cli.prompt
                self.channel.send("?\r\n" + shown.replace("\n", "\r\n") + prompt + text)
            elif editing and ch == "\t":
                text = "".join(buf)
                with self.server.lock:
                    done = self.cli.complete(text)
                if done is None or done == text:
                    continue
                if done.startswith(text):
                    self.channel.send(done[len(text):])
                else:                                   # the typed part changes (case): retype it
                    pad = max(0, len(text) - len(done))
                    self.channel.send("\b" * len(text) + done + " " * pad + "\b" * pad)
                buf[:] = list(done)
            elif ch == "\x15":                      # Ctrl-U: erase the line
                if echo and buf:
                    self.channel.send("\b \b" * len(buf))
                buf.clear()
            elif " " <= ch <= "~":
                if len(buf) >= MAX_LINE:
                    if not overflow:
                        self.channel.send("\a")
                    overflow = True
                    continue
                buf.append(ch)
                if echo:
                    self.channel.send(ch)
            elif ch != "\t":
                self._junk += 1
                if self._junk == 1:
                    log.info("%s: ignoring control or non-ASCII input (0x%02x)", self.where, ord(ch))

    # ------------------------------------------------ login
    def login(self) -> bool:
        """Telnet login as IOS asks for it; False when the client must be sent away."""
        policy = self.policy
        if policy.mode == "none":
            return True
        if policy.mode == "unset":
            self.channel.send("\r\nPassword required, but none set\r\n")
            log.info("%s: refused: login without a password", self.where)
            return False
        self.channel.send("\r\n\r\nUser Access Verification\r\n\r\n")
        for _ in range(3):
            username = ""
            try:
                if policy.mode == "local":
                    self.channel.send("Username: ")
                    username, _ = self._read_line(echo=True, timeout=LOGIN_TIMEOUT)
                self.channel.send("Password: ")
                password, _ = self._read_line(echo=False, timeout=LOGIN_TIMEOUT)
            except TimeoutError:
                what = "Username" if policy.mode == "local" and not username else "Password"
                self.channel.send(f"\r\n% {what}:  timeout expired!\r\n")
                log.info("%s: login timed out", self.where)
                return False
            if policy.check(username, password):
                log.info("%s: logged in%s", self.where, f" as {username}" if username else "")
                return True
            log.info("%s: login failed%s", self.where, f" for {username!r}" if username else "")
            if policy.mode == "local":
                self.channel.send("% Login invalid\r\n\r\n")
        if policy.mode != "local":
            self.channel.send("% Bad passwords\r\n\r\n")
        return False

    # ------------------------------------------------ session
    def open_cli(self) -> None:
        with self.server.lock:
            self.cli = CliSession(self.router, privileged=False, line=f"vty{self.vty} ({self.peer})")

    def run_shell(self) -> None:
        self.open_cli()
        self.channel.send("\r\n" + self.cli.prompt)
        idle = self.policy.exec_timeout
        while True:
            secret = self.cli.in_dialog and re.search(r"ssword: ?$", self.cli.prompt)
            try:
                text, how = self._read_line(echo=not secret, timeout=idle, editing=not self.cli.in_dialog)
            except TimeoutError:
                log.info("%s: exec timeout, disconnecting", self.where)
                self.channel.send("\r\n")
                return
            if how == "enter":
                self._run([text])
            elif self.cli.config is not None:       # Ctrl-Z (or Ctrl-C) leaves configuration mode
                self.channel.send("^Z\r\n" if how == "ctrl-z" else "^C\r\n")
                self._run(([text] if text.strip() and how == "ctrl-z" else []) + [CTRL_Z])
            elif self.cli.in_dialog:
                self.channel.send("\a")
            else:
                self.channel.send(("^C" if how == "ctrl-c" else "") + "\r\n" + self.cli.prompt)

    def run_exec(self, command: str) -> None:
        """An SSH exec request (``ssh host show version``): one command, then the end."""
        self.open_cli()
        output = self._execute([command])[0]
        self.channel.send(output.replace("\r\n", "\n").replace("\n", "\r\n"))

    def _execute(self, lines: list[str]) -> tuple[str, str, bool]:
        return self.server.run_lines(self.cli, lines, self.where)

    def _run(self, lines: list[str]) -> None:
        output, prompt, closed = self._execute(lines)
        self._page(output)
        if closed:
            raise _Logout
        self.channel.send(prompt)

    def _page(self, text: str) -> None:
        if not text:
            return
        lines = text.replace("\r\n", "\n").split("\n")
        complete, tail = lines[:-1], lines[-1]
        length = self.cli.terminal_length if self.cli else 0
        if length <= 0 or len(complete) < length:
            self.channel.send("\r\n".join(lines))
            return
        page = max(length - 1, 1)
        room, i = page, 0
        while i < len(complete):
            chunk = complete[i:i + room]
            i += len(chunk)
            self.channel.send("\r\n".join(chunk) + "\r\n")
            if i >= len(complete):
                break
            self.channel.send(MORE)
            key = self._key(self.policy.exec_timeout)
            self.channel.send(ERASE_MORE)
            if key == " ":
                room = page
            elif key == "\r":
                room = 1
            else:
                return                                  # any other key ends the output
        if tail:
            self.channel.send(tail)


# ---------------------------------------------------------------------------- SSH server side

class _SSHAuth(paramiko.ServerInterface):
    def __init__(self, server: "LabServer", where: str, policy: LoginPolicy):
        self.server = server
        self.where = where
        self.policy = policy
        self.ready = threading.Event()
        self.command: str | None = None
        self.username: str | None = None
        self.failures = 0

    def get_allowed_auths(self, username):
        return "none,password" if self.policy.mode == "none" else "password"

    def check_auth_none(self, username):
        if self.policy.mode == "none":
            self.username = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        with self.server.lock:
            ok = self.policy.check(username, password)
        if ok:
            self.username = username
            log.info("%s: logged in as %s", self.where, username)
            return paramiko.AUTH_SUCCESSFUL
        self.failures += 1
        log.info("%s: authentication failed for %r (%d)", self.where, username, self.failures)
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight):
        return True

    def check_channel_shell_request(self, channel):
        self.ready.set()
        return True

    def check_channel_exec_request(self, channel, command):
        self.command = bytes(command).decode("latin-1", errors="replace")
        self.ready.set()
        return True


# ---------------------------------------------------------------------------- the server

@dataclass
class Endpoint:
    device: str
    role: str | None
    host: str
    ssh_port: int | None = None
    telnet_port: int | None = None

    def line(self) -> str:
        def where(port):
            return f"{self.host}:{port}" if port is not None else "-"
        return f"{self.device} ssh {where(self.ssh_port)} telnet {where(self.telnet_port)}"


@dataclass
class _Connection:
    close: Callable[[], None]
    thread: threading.Thread | None = None


class LabServer:
    """Serves every device of ``lab`` on loopback ports; ``start()``, then ``stop()`` (or ``with``)."""

    def __init__(self, lab: Lab, host: str = "127.0.0.1", ssh_port: int | None = 0,
                 telnet_port: int | None = 0, speed: float = 1.0, host_key: paramiko.PKey | None = None,
                 hold_output: bool = True, devices: list[str] | None = None):
        self.lab = lab
        self.host = host
        self.lock = threading.RLock()
        self.pacer = Pacer(lab.sim, speed)
        self.hold_output = hold_output
        self.host_key = host_key or paramiko.ECDSAKey.generate()
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listeners: list[tuple[socket.socket, Endpoint, str]] = []
        self._connections: dict[int, _Connection] = {}
        self._conn_lock = threading.Lock()
        self._vtys: dict[str, set[int]] = collections.defaultdict(set)
        self._ids = iter(range(1, 1 << 62))
        names = devices if devices is not None else list(lab.devices)
        unknown = [n for n in names if n not in lab.devices]
        if unknown:
            raise ServerError(f"{lab.spec.path}: no device {unknown[0]!r} in the lab "
                              f"(devices: {', '.join(lab.devices)})")
        self.endpoints = [Endpoint(n, lab.spec.devices[n].role, host) for n in names]
        self._ports = {"ssh": ssh_port, "telnet": telnet_port}

    # ------------------------------------------------ life cycle
    def start(self) -> "LabServer":
        try:
            for kind in ("ssh", "telnet"):
                base = self._ports[kind]
                if base is None:
                    continue
                for i, ep in enumerate(self.endpoints):
                    port = 0 if base == 0 else base + i
                    sock = self._listen(port, ep, kind)
                    setattr(ep, f"{kind}_port", sock.getsockname()[1])
                    self._listeners.append((sock, ep, kind))
        except ServerError:
            self._close_listeners()
            raise
        with self.lock:
            self.pacer = Pacer(self.lab.sim, self.pacer.speed)
        loops = [(self._pace_loop, "lab-pacer")] + ([(self._accept_loop, "lab-accept")] if self._listeners else [])
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("serving %d devices of %s", len(self.endpoints), self.lab.spec.path)
        return self

    def _listen(self, port: int, ep: Endpoint, kind: str) -> socket.socket:
        try:
            family = socket.AF_INET6 if ipaddress.ip_address(self.host).version == 6 else socket.AF_INET
        except ValueError:
            family = socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, port))
            sock.listen(16)
        except (OSError, OverflowError) as err:
            sock.close()
            raise ServerError(f"cannot listen on {self.host}:{port} for {ep.device} {kind}: "
                              f"{getattr(err, 'strerror', None) or err}") from None
        sock.setblocking(False)
        return sock

    def stop(self) -> None:
        self.stopping.set()
        self._wake.set()
        with self._conn_lock:
            connections = list(self._connections.values())
        for conn in connections:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        for thread in self._threads:
            thread.join(timeout=2)
        for conn in connections:
            if conn.thread is not None:
                conn.thread.join(timeout=2)
        self._close_listeners()

    def _close_listeners(self) -> None:
        for sock, _, _ in self._listeners:
            sock.close()
        self._listeners = []

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wake(self) -> None:
        """Tell the pacer that a command may have scheduled something sooner."""
        self._wake.set()

    def run_lines(self, cli: CliSession, lines: list[str], where: str = "console") -> tuple[str, str, bool]:
        """Run typed lines on a CLI session at the lab time of now: (output, next prompt, closed).

        A command that ran the lab clock ahead (a ping waiting for its echoes) returns when the
        wall clock has caught up, so that it takes as long as on a router. ``CTRL_Z`` leaves
        configuration mode (and is ignored outside it). Raises Disconnected if the server stops
        meanwhile.
        """
        out = []
        with self.lock:
            self.pacer.step()
            for line in lines:
                if line == CTRL_Z and cli.config is None:
                    continue
                try:
                    out.append(cli.execute(line))
                except SessionClosed:
                    break
                except Exception:  # noqa: BLE001 - an emulator bug must not end the server
                    log.exception("%s: %r failed", where, line)
                    out.append("% Internal error in the emulator (see the server log)\n")
            prompt, closed = cli.prompt, cli.closed
            lead = self.pacer.lead()
        self.wake()
        if lead > 0 and self.hold_output:
            if self.stopping.wait(lead / self.pacer.speed):
                raise Disconnected
        return "".join(out), prompt, closed

    def new_messages(self, cli: CliSession) -> str:
        """Messages the device logged since ``cli`` last showed them, for a terminal that monitors.

        What ``CliSession.execute`` appends after a command's output, taken while the terminal is
        idle at its prompt, as a console prints them when they happen.
        """
        with self.lock:
            buffer = cli.router.log_buffer
            seen = getattr(cli, "_log_seen", len(buffer))
            if seen >= len(buffer):
                return ""
            cli._log_seen = len(buffer)
            return "".join(m + "\n" for m in buffer[seen:]) if cli.monitor else ""

    # ------------------------------------------------ port map and inventory
    def port_map(self) -> str:
        return "".join(ep.line() + "\n" for ep in self.endpoints)

    def inventory(self, transport: str = "ssh") -> dict:
        """An inventory (drivers/inventory.py format) of the served devices."""
        if transport not in ("ssh", "telnet"):
            raise ServerError(f"inventory transport must be ssh or telnet, not {transport!r}")
        devices: dict[str, dict] = {}
        taken = {ep.role for ep in self.endpoints if ep.role}
        for ep in self.endpoints:
            port = ep.ssh_port if transport == "ssh" else ep.telnet_port
            if port is None:
                continue
            router = self.lab.devices[ep.device]
            with self.lock:
                username, password = vty_policy(router, 0).credentials()
                secret = enable_secret(router)
            role = ep.role or (ep.device if ep.device not in taken else None)
            if role is None:
                continue
            devices[ep.device] = {"role": role, "host": ep.host, "port": port, "transport": transport,
                                  "username": username, "password": password, "secret": secret}
        data: dict = {"allow_disruptive": True}
        beside = self.lab.spec.path.parent / "scenario.yml"
        if beside.is_file():
            data["scenario_file"] = str(beside.resolve())
        if self.lab.spec.scenario:
            data["scenario"] = self.lab.spec.scenario
        data["devices"] = devices
        return data

    def write_inventory(self, path: str | Path, transport: str = "ssh") -> None:
        header = (f"# The devices of {self.lab.spec.path}, served by python -m emulator serve.\n"
                  f"# Valid while that server runs: pytest --driver=netmiko --inventory {path}\n")
        Path(path).write_text(header + yaml.safe_dump(self.inventory(transport), sort_keys=False))

    # ------------------------------------------------ threads
    def _pace_loop(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                try:
                    due = self.pacer.step()
                except Exception:  # noqa: BLE001
                    log.exception("the lab simulation failed a step")
                    due = None
            delay = PACE_MAX_SLEEP if due is None else min(max(due - time.monotonic(), 0.0), PACE_MAX_SLEEP)
            if delay > 0 and self._wake.wait(delay):
                self._wake.clear()

    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        for sock, ep, kind in self._listeners:
            selector.register(sock, selectors.EVENT_READ, (ep, kind))
        try:
            while not self.stopping.is_set():
                for key, _ in selector.select(timeout=0.2):
                    try:
                        conn, addr = key.fileobj.accept()
                    except OSError:
                        continue
                    ep, kind = key.data
                    self._spawn(conn, addr, ep, kind)
        finally:
            selector.close()

    def _spawn(self, sock: socket.socket, addr, ep: Endpoint, kind: str) -> None:
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conn_lock:
            if len(self._connections) >= MAX_CONNECTIONS:
                log.warning("%s %s: too many connections, refusing %s", ep.device, kind, addr[0])
                _close_socket(sock)
                return
            cid = next(self._ids)
            conn = _Connection(lambda: _close_socket(sock))
            self._connections[cid] = conn
        thread = threading.Thread(target=self._serve, args=(cid, sock, addr, ep, kind),
                                  name=f"{ep.device}-{kind}-{cid}", daemon=True)
        conn.thread = thread
        thread.start()

    def _allocate_vty(self, device: str) -> int | None:
        with self.lock:
            count = vty_count(self.lab.devices[device])
        with self._conn_lock:
            used = self._vtys[device]
            free = next((n for n in range(count) if n not in used), None)
            if free is not None:
                used.add(free)
            return free

    def _serve(self, cid: int, sock: socket.socket, addr, ep: Endpoint, kind: str) -> None:
        peer = str(addr[0])
        where = f"{ep.device} {kind} from {peer}:{addr[1]}"
        vty = None
        try:
            vty = self._allocate_vty(ep.device)
            if vty is None:
                log.info("%s: refused: all vty lines are busy", where)
                return
            with self.lock:
                policy = vty_policy(self.lab.devices[ep.device], vty)
            if kind not in policy.transports:
                log.info("%s: refused: transport input of vty %d does not allow %s", where, vty, kind)
                return
            if kind == "telnet":
                self._serve_telnet(cid, sock, ep, peer, vty, policy)
            else:
                self._serve_ssh(cid, sock, ep, peer, vty, policy, where)
        except (Disconnected, _Logout):
            pass
        except (OSError, EOFError, paramiko.SSHException) as err:
            if not self.stopping.is_set():
                log.info("%s: connection closed by the client (%s)", where, str(err) or type(err).__name__)
        except Exception:  # noqa: BLE001 - one connection's failure must not end the server
            log.exception("%s: connection failed", where)
        finally:
            _close_socket(sock)
            with self._conn_lock:
                self._connections.pop(cid, None)
                if vty is not None:
                    self._vtys[ep.device].discard(vty)
            log.debug("%s: closed", where)

    def _serve_telnet(self, cid, sock, ep, peer, vty, policy) -> None:
        channel = TelnetChannel(sock)
        channel.start()
        term = Terminal(self, ep.device, channel, kind="telnet", peer=peer, vty=vty, policy=policy)
        if term.login():
            term.run_shell()
        if channel.parser.oversized:
            log.info("%s: %d over-long telnet subnegotiations dropped", term.where, channel.parser.oversized)

    def _serve_ssh(self, cid, sock, ep, peer, vty, policy, where) -> None:
        transport = paramiko.Transport(sock)
        with self._conn_lock:
            if cid in self._connections:
                self._connections[cid].close = transport.close
        try:
            transport.local_version = "SSH-2.0-Cisco-1.25"
            transport.add_server_key(self.host_key)
            auth = _SSHAuth(self, f"{ep.device} vty{vty} ssh from {peer}", policy)
            try:
                transport.start_server(server=auth)
            except (paramiko.SSHException, EOFError, OSError) as err:
                log.info("%s: SSH handshake failed (%s)", where, str(err) or type(err).__name__)
                return
            chan = self._wait(lambda: transport.accept(timeout=0.5), transport, LOGIN_TIMEOUT)
            if chan is None:
                log.info("%s: no session opened (authentication failures: %d)", where, auth.failures)
                return
            if not self._wait(lambda: auth.ready.wait(0.5) or None, transport, 10.0):
                log.info("%s: no shell or exec request", where)
                return
            channel = SSHChannel(chan)
            term = Terminal(self, ep.device, channel, kind="ssh", peer=peer, vty=vty, policy=policy)
            try:
                if auth.command is not None:
                    term.run_exec(auth.command)
                else:
                    term.run_shell()
            finally:
                channel.close()
        finally:
            transport.close()

    def _wait(self, poll, transport, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and transport.is_active() and not self.stopping.is_set():
            result = poll()
            if result is not None:
                return result
        return None


def load_host_key(path: str | Path) -> paramiko.PKey:
    """An SSH host key from a private key file (generated and saved there if it does not exist)."""
    path = Path(path)
    if not path.exists():
        key = paramiko.ECDSAKey.generate()
        try:
            key.write_private_key_file(str(path))
        except OSError as err:
            raise ServerError(f"{path}: cannot write the host key ({err.strerror})") from None
        return key
    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as err:
        raise ServerError(f"{path}: not a usable SSH private key ({err})") from None


__all__ = ["LabServer", "Endpoint", "Pacer", "TelnetParser", "LoginPolicy", "ServerError", "vty_policy",
           "clear_password", "decode_type7", "load_host_key"]
