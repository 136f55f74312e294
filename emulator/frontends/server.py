"""Serve each device of an emulated lab over SSH and telnet, as a vty of a real router.

    python -m emulator serve [--lab PATH] [--host 127.0.0.1] [--ssh-port N] [--telnet-port N]
                             [--write-inventory FILE] [--inventory-transport ssh|telnet] [--speed X]

Every device gets one SSH port and one telnet port (``--ssh-port N`` gives the
first device N, the next N+1, ...; 0 picks free ports). The port map is
printed as ``DEVICE ssh HOST:PORT telnet HOST:PORT`` lines and, with
``--write-inventory`` (or its older name ``--inventory-out``), written as an
inventory for ``pytest --driver=netmiko``, credentials and enable secrets
included (the lab's own, from its configurations), readable by its owner
only (mode 0600).

This module is the assembly: listening ports, one thread per connection, vty
lines, the inventory. The parts are beside it:

- ``pacer``: the lab on a real-time clock (one lock, bounded slices, jobs,
  the lab's fault, the stop signals);
- ``login``: who may use a vty, from the device's configuration;
- ``gate``: the way in: a vty line is taken at login; connections not
  logged in are bounded per device and timed out; login delay and
  ``login block-for`` quiet mode;
- ``terminal``: line editing, ``--More--``, commands shown as they run and
  broken off with Ctrl-Shift-6 or Ctrl-C;
- ``telnet`` and ``ssh``: the two transports.

Client misbehaviour (dropped connections, binary junk, over-long lines,
half-finished telnet negotiation, failed SSH handshakes) ends at most that
one connection and is logged; a dropped connection frees its vty line and
drops its running command at once.
"""

from __future__ import annotations

import collections
import ipaddress
import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import paramiko
import yaml

from emulator.cli.session import CliSession
from emulator.cli.telnet_server import used_vtys
from emulator.config.masking import Masker, secret_values
from emulator.frontends.gate import LoginGate, Prelogin
from emulator.frontends.login import LOGIN_TIMEOUT, enable_secret, vty_count, vty_policy
from emulator.frontends.pacer import Disconnected, PacedLab, Pacer
from emulator.frontends.ssh import serve_ssh
from emulator.frontends.telnet import serve_telnet
from emulator.frontends.terminal import Logout, close_socket
from emulator.lab.labfile import Lab, read_text
from emulator.lab.private import write_private

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64          # open TCP connections, all devices together
STOP_SECONDS = 0.6            # what stop() waits at most for the threads, all together


def lab_secrets_masker(lab: Lab) -> Masker:
    """A masker of the lab's secrets: those of its devices' configuration files and extra lines."""
    values: set[str] = set()
    for device in lab.spec.devices.values():
        values |= secret_values(read_text(device.config_path) + "\n" + "\n".join(device.extra_config))
    return Masker(values)


class MaskedLogFormatter(logging.Formatter):
    """Log lines (tracebacks included) with every secret masked: a line typed on a vty may hold one."""

    def __init__(self, masker: Masker, fmt: str | None = None):
        super().__init__(fmt)
        self.masker = masker

    def format(self, record: logging.LogRecord) -> str:
        return self.masker(super().format(record))


class ServerError(Exception):
    """The server cannot start as asked: what and where."""


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
    """Serves every device of ``lab`` on loopback ports; ``start()``, then ``stop()`` (or ``with``).

    With no ports (``ssh_port=None, telnet_port=None``) it is a lab on a real-time clock alone.
    """

    def __init__(self, lab: Lab, host: str = "127.0.0.1", ssh_port: int | None = 0,
                 telnet_port: int | None = 0, speed: float = 1.0, host_key: paramiko.PKey | None = None,
                 devices: list[str] | None = None):
        self.lab = lab
        self.host = host
        self.paced = PacedLab(lab, speed)
        self.host_key = host_key or paramiko.ECDSAKey.generate()
        self._threads: list[threading.Thread] = []
        self._listeners: list[tuple[socket.socket, Endpoint, str]] = []
        self._connections: dict[int, _Connection] = {}
        self._conn_lock = threading.Lock()
        self._vtys: dict[str, set[int]] = collections.defaultdict(set)     # the lines of logged-in users
        self._prelogin = Prelogin(LOGIN_TIMEOUT)                               # connections not logged in yet
        self._ids = iter(range(1, 1 << 62))
        names = devices if devices is not None else list(lab.devices)
        unknown = [n for n in names if n not in lab.devices]
        if unknown:
            raise ServerError(f"{lab.spec.path}: no device {unknown[0]!r} in the lab "
                              f"(devices: {', '.join(lab.devices)})")
        self.endpoints = [Endpoint(n, lab.spec.devices[n].role, host) for n in names]
        self._ports = {"ssh": ssh_port, "telnet": telnet_port}

    @property
    def lock(self) -> threading.RLock:
        """The lab lock: whoever touches the lab holds it."""
        return self.paced.lock

    @property
    def pacer(self) -> Pacer:
        return self.paced.pacer

    @property
    def stopping(self) -> threading.Event:
        return self.paced.stopping

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
        self.paced.start()
        if self.paced.thread is not None:
            self._threads.append(self.paced.thread)
        if self._listeners:
            thread = threading.Thread(target=self._accept_loop, name="lab-accept", daemon=True)
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

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Close every connection and stop the threads, waiting ``timeout`` seconds at most in all.

        Never waits for the lab lock: a simulator stuck in a step is left behind (its thread is a
        daemon), and the server stops all the same.
        """
        deadline = time.monotonic() + timeout
        self.paced.stopping.set()
        self.paced.wake()
        with self._conn_lock:
            connections = list(self._connections.values())
        for conn in connections:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        self.paced.stop(max(0.0, deadline - time.monotonic()))
        for thread in self._threads + [c.thread for c in connections if c.thread is not None]:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
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
        self.paced.wake()

    def run_lines(self, cli: CliSession, lines: list[str], where: str = "console") -> tuple[str, str, bool]:
        """Run typed lines on a CLI session to their ends: (output, next prompt, closed)."""
        return self.paced.run_lines(cli, lines, where)

    def new_messages(self, cli: CliSession) -> str:
        """Messages the device logged since ``cli`` last showed them (see ``PacedLab.new_messages``)."""
        return self.paced.new_messages(cli)

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
        # It holds the line passwords and enable secrets in clear: the owner's only (mode 0600).
        write_private(path, header + yaml.safe_dump(self.inventory(transport), sort_keys=False))

    # ------------------------------------------------ threads
    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        for sock, ep, kind in self._listeners:
            selector.register(sock, selectors.EVENT_READ, (ep, kind))
        try:
            while not self.stopping.is_set():
                self._end_expired_logins()
                for key, _ in selector.select(timeout=0.2):
                    try:
                        listener = key.fileobj
                        assert isinstance(listener, socket.socket)
                        conn, addr = listener.accept()
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
                close_socket(sock)
                return
            cid = next(self._ids)
            conn = _Connection(lambda: close_socket(sock))
            self._connections[cid] = conn
            evict = self._prelogin.add(ep.device, cid)
            evicted = self._connections.get(evict) if evict is not None else None
        if evicted is not None:
            log.info("%s: too many connections not logged in; the oldest goes", ep.device)
            evicted.close()
        thread = threading.Thread(target=self._serve, args=(cid, sock, addr, ep, kind),
                                  name=f"{ep.device}-{kind}-{cid}", daemon=True)
        conn.thread = thread
        thread.start()

    def _end_expired_logins(self) -> None:
        """Close the connections whose time to log in is over (IOS's ``timeout login response``)."""
        with self._conn_lock:
            expired = [self._connections[c] for c in self._prelogin.expired() if c in self._connections]
        for conn in expired:
            log.info("a connection did not log in within %.0f s; closed", LOGIN_TIMEOUT)
            conn.close()

    def _free_vty(self, device: str, take: bool = False, cid: int | None = None) -> int | None:
        """The lowest free vty line of ``device`` (taken for connection ``cid`` with ``take``)."""
        with self.lock:
            count = vty_count(self.lab.devices[device])
            in_lab = used_vtys(self.lab.devices[device])     # telnet from the lab's own devices
        with self._conn_lock:
            used = self._vtys[device]
            free = next((n for n in range(count) if n not in used and n not in in_lab), None)
            if take and free is not None:
                used.add(free)
                if cid is not None:
                    self._prelogin.done(device, cid)
            return free

    def _serve(self, cid: int, sock: socket.socket, addr, ep: Endpoint, kind: str) -> None:
        peer = str(addr[0])
        where = f"{ep.device} {kind} from {peer}:{addr[1]}"
        gate = None
        try:
            router = self.lab.devices[ep.device]
            with self.lock:
                quiet = router.logins.quiet()
                if quiet:
                    router.logins.refused()
            if quiet:
                log.info("%s: refused: login block-for quiet mode", where)
                return
            first = self._free_vty(ep.device)
            if first is None:
                log.info("%s: refused: all vty lines are busy", where)
                return
            with self.lock:
                policy = vty_policy(router, first)       # the rules of the line a login would take
            if kind not in policy.transports:
                log.info("%s: refused: transport input of vty %d does not allow %s", where, first, kind)
                return
            gate = LoginGate(self.paced, ep.device, peer, kind,
                             lambda: self._free_vty(ep.device, take=True, cid=cid))
            if kind == "telnet":
                serve_telnet(self.paced, sock, ep.device, peer, None, policy, gate)
            else:
                serve_ssh(self.paced, sock, self.host_key, ep.device, peer, None, policy, where,
                          lambda transport: self._closes_with(cid, transport.close), gate)
        except (Disconnected, Logout):
            pass
        except (OSError, EOFError, paramiko.SSHException) as err:
            if not self.stopping.is_set():
                log.info("%s: connection closed by the client (%s)", where, str(err) or type(err).__name__)
        except Exception:  # noqa: BLE001 - one connection's failure must not end the server
            log.exception("%s: connection failed", where)
        finally:
            close_socket(sock)
            with self._conn_lock:
                self._connections.pop(cid, None)
                self._prelogin.done(ep.device, cid)
                if gate is not None and gate.vty is not None:
                    self._vtys[ep.device].discard(gate.vty)
            log.debug("%s: closed", where)

    def _closes_with(self, cid: int, close: Callable[[], None]) -> None:
        """What closes connection ``cid`` from now on (its SSH transport)."""
        with self._conn_lock:
            if cid in self._connections:
                self._connections[cid].close = close


__all__ = ["LabServer", "Endpoint", "ServerError"]
