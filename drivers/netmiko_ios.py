"""The netmiko driver: real IOS routers over SSH or telnet, listed in an inventory.

    pytest --driver=netmiko --inventory lab.yml        (format: drivers/inventory.py)

A device's session is opened when a suite first asks for its role
(``netmiko.ConnectHandler`` with the inventory's device_type, which turns
paging off, then ``enable`` with the secret), kept for the whole run, and
opened again on the next command if it was lost. Hosts (roles ``hub_host``,
``remote_host``, ``internet_host``) without a secret stay in user EXEC, where
IOS lets them ping; with all three listed the driver offers the ``hosts``
capability.

``send`` returns what the device printed between the echo of the command and
the next prompt, as the emulated driver does; a command that asks questions
(the extended ping, ``[confirm]``) is answered from ``answers`` as each
question appears, never after a guessed sleep. ``configure`` uses
``send_config_set`` and raises ConfigurationRejected when IOS printed an
error.

Time limits: opening a session (TCP connection, login, enable) must finish
within the device's ``conn_timeout``; a command must answer within its
``read_timeout``. Otherwise the driver raises DriverError naming the device,
its address and transport and what did not happen, and drops the session
without waiting on it.

Secrets: the inventory's password and secret, any answer given to a password
question, every IOS secret form the device prints (``crypto isakmp key``,
``password``, ``enable secret``...; see ``emulator/config/masking.py``) and the
values seen in them appear as ``<removed>`` in transcripts and error messages.

The expected values are derived from the devices themselves: ``show
running-config`` of the routers (an access server the suites cannot enter
is left out: the remotes' ``show ip interface brief`` tells their address),
``show ip interface brief`` of the hosts; the inventory's ``scenario_file``
and ``scenario:`` add what no configuration tells, and are checked against
the devices (drivers/scenario.py).
Real devices offer none of the other lab-control capabilities.
"""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from typing import Any, Iterable

from .base import (
    CLI_ERROR,
    Capability,
    ConfigurationRejected,
    DeviceSession,
    Driver,
    DriverError,
    DriverUnavailable,
    TransportError,
    register,
)
from .inventory import Inventory, InventoryDevice, load_inventory
from .scenario import ScenarioError, load_overrides
from .secrets import MASK, Masker

# A question IOS asks and waits for a line on: "[confirm]", "Destination filename [startup-config]? ",
# "Password: ", "Repeat count [5]: ". Only at the very end of what was read (no newline after it).
QUESTION = r"(?:\[confirm\]|[:?\]])[ \t]*\Z"
SECRET_QUESTION = re.compile(r"ssword|secret", re.I)
HOST_ROLES = ("hub_host", "remote_host", "internet_host")   # all three: the hosts capability
REMOTE_ROLE = re.compile(r"^remote\d*$")


class NetmikoSession(DeviceSession):
    """A CLI session on one device of the inventory, in privileged EXEC mode (user EXEC for hosts)."""

    def __init__(self, device: InventoryDevice, transcript: list, secrets: Masker | None = None):
        super().__init__(device.name, device.role, transcript, secrets)
        self.device = device
        self.conn: Any = None
        self.prompt = ""
        self._hidden = [s for s in (device.password, device.secret) if s]

    @property
    def where(self) -> str:
        d = self.device
        return f"{d.name} ({d.role}) at {d.address} over {d.transport}"

    # ------------------------------------------------ secrets
    def hide(self, text: str, also: Iterable[str] = ()) -> str:
        """``text`` with the device's password and secret (and ``also``), and the secrets the
        driver's masker knows, shown as <removed>."""
        for secret in sorted({*self._hidden, *(a for a in also if a)}, key=len, reverse=True):
            text = re.sub(rf"(?<![\w.]){re.escape(secret)}(?![\w.])", MASK, text)
        return self.secrets(text, learn=True)

    def _record(self, prompt: str, command: str, output: str, also: Iterable[str] = ()) -> None:
        super()._record(prompt, self.hide(command, also), self.hide(output, also))

    def _error(self, text: str, also: Iterable[str] = (), kind: type[DriverError] = DriverError) -> DriverError:
        return kind(self.hide(text, also))

    # ------------------------------------------------ connection
    def connect(self):
        if self.conn is not None:
            return self.conn
        try:
            from netmiko import ConnectHandler
        except ImportError as err:
            raise DriverUnavailable(f"--driver=netmiko needs the netmiko package ({err})") from None
        device = self.device
        try:
            conn = ConnectHandler(**device.netmiko_params(), auto_connect=False)
        except Exception as err:  # noqa: BLE001 - netmiko refusing its parameters
            raise self._error(f"{self.where}: cannot connect: {_first_line(err)}", kind=TransportError) from None
        # The session is opened in a worker so that a device that stops answering half-way through
        # the login cannot hold the run beyond conn_timeout: the sockets are closed under it.
        state: dict[str, Any] = {"stage": "connecting"}

        def open_session():
            try:
                conn._open()                       # netmiko's connect, login and session preparation
                state["stage"] = "enable"
                self._privileged(conn)
                state["stage"] = "prompt"
                state["prompt"] = conn.find_prompt()
            except BaseException as err:  # noqa: BLE001 - reported by the caller
                state["error"] = err
            finally:
                state["done"] = True
                if state.get("abandoned") and "error" not in state:
                    _drop(conn)

        worker = threading.Thread(target=open_session, name=f"netmiko-open-{device.name}", daemon=True)
        worker.start()
        worker.join(device.conn_timeout)
        if not state.get("done"):
            state["abandoned"] = True
            connected = _tcp_connected(conn)
            _drop(conn)
            worker.join(1.0)
            if state["stage"] == "connecting":
                login = "SSH handshake and login" if device.transport == "ssh" else "telnet login"
                what = (f"connected, but the {login} did not complete" if connected
                        else "no TCP connection (host down or filtered?)")
            else:
                what = {"enable": "enable did not return to a prompt",
                        "prompt": "the prompt did not come back"}[state["stage"]]
            raise self._error(f"{self.where}: cannot connect: no answer within {device.conn_timeout:g} s "
                              f"({what}; the device stopped answering)", kind=TransportError)
        error = state.get("error")
        if error is not None:
            _drop(conn)
            raise self._failure(error, state["stage"]) from None
        self.prompt = state["prompt"]
        if not self.prompt.endswith("#") and not self._user_exec_allowed():
            _drop(conn)
            raise self._error(f"{self.where}: enable left the prompt at {self.prompt!r} (check the secret)")
        # netmiko waits a fixed 10 s for a command's echo: keep that within read_timeout too.
        limit = device.read_timeout
        echo_read = conn.command_echo_read
        setattr(conn, "command_echo_read",   # noqa: B010 - replaces netmiko's method on this connection
                lambda cmd, read_timeout: echo_read(cmd, read_timeout=min(read_timeout, limit)))
        self.conn = conn
        return conn

    def _user_exec_allowed(self) -> bool:
        """Hosts without a secret stay in user EXEC (they only ping)."""
        return bool(re.match(r"^(hub|remote\d*|internet)_host$", self.device.role)) and not self.device.secret

    def _privileged(self, conn) -> None:
        """``enable`` with the secret, reading IOS's answers (a refused secret is asked for again)."""
        if conn.check_enable_mode() or self._user_exec_allowed():
            return
        prompt_re, either = self._patterns(conn)
        timeout = min(self.device.read_timeout, self.device.conn_timeout)
        raw = conn.send_command("enable", expect_string=either, read_timeout=timeout,
                                strip_prompt=False, strip_command=False, cmd_verify=True)
        tries = 0
        while not re.search(prompt_re, raw) and tries < 3:
            # "Password:": the secret once; asked again means refused: empty answers until IOS gives up.
            raw = conn.send_command(self.device.secret if tries == 0 else "", expect_string=either,
                                    read_timeout=timeout, strip_prompt=False, strip_command=False,
                                    cmd_verify=False)
            tries += 1
        text = raw.strip()
        if "No password set" in text:
            raise _EnableRefused("the device has no enable secret and IOS refuses enable on a vty "
                                 "('% No password set'): configure one and give it as secret")
        if tries > 1 or not re.search(prompt_re, raw) or not raw.rstrip().endswith("#"):
            last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip().startswith("%")), "")
            raise _EnableRefused(f"the secret was refused{f' ({last!r})' if last else ''}")

    def _failure(self, err: BaseException, stage: str) -> DriverError:
        from netmiko.exceptions import NetmikoAuthenticationException
        if isinstance(err, NetmikoAuthenticationException):
            text = str(err)
            why = ("the device asks for a password but has none set" if "none set" in text
                   else "authentication failed (check username and password)")
            return self._error(f"{self.where}: cannot log in: {why}")
        if stage == "enable":
            return self._error(f"{self.where}: cannot enter privileged EXEC with enable "
                               f"(check the secret): {_first_line(err)}", [self.device.secret])
        return self._error(f"{self.where}: cannot connect: {_reason(err, self.device)}", kind=TransportError)

    def close(self) -> None:
        if self.conn is not None:
            _disconnect(self.conn)
            self.conn = None

    def _lost(self, command: str, err: Exception, also: Iterable[str] = ()) -> TransportError:
        conn, self.conn = self.conn, None
        if conn is not None:
            _drop(conn)             # no goodbye: the device may not be answering
        if _is_read_timeout(err):
            what = (f"no answer within {self.device.read_timeout:g} s (the device stopped answering, "
                    f"or the command needs a longer read_timeout)")
        else:
            what = f"the connection was lost ({_first_line(err)})"
        return TransportError(self.hide(f"{self.where}: '{command}': {what}; the session was closed, the next "
                                        f"command opens a new one", also))

    def _patterns(self, conn) -> tuple[str, str]:
        prompt = re.escape(conn.base_prompt) + r"[^\n]*[#>][ \t]*\Z"
        return prompt, f"{prompt}|{QUESTION}"

    # ------------------------------------------------ commands
    def send(self, command: str, answers: Iterable[str] = ()) -> str:
        conn = self.connect()
        prompt_re, either = self._patterns(conn)
        pending = list(answers)
        secret_answers: list[str] = []
        before = self.prompt
        timeout = self.device.read_timeout
        try:
            raw = conn.send_command(command, expect_string=either, read_timeout=timeout,
                                    strip_prompt=False, strip_command=False, cmd_verify=True)
            while not re.search(prompt_re, raw):
                question = raw.rsplit("\n", 1)[-1]
                if not pending:
                    output, _ = _split(command, raw)
                    self._record(before, command, output + question, secret_answers)
                    self.close()
                    raise self._error(f"{self.name}: '{command}' asks {question.strip()!r}: give answers "
                                      f"(the session was closed to leave the question)", secret_answers)
                answer = pending.pop(0)
                if SECRET_QUESTION.search(question):
                    secret_answers.append(answer)
                    self.secrets.add([answer])
                raw += conn.send_command(answer, expect_string=either, read_timeout=timeout,
                                         strip_prompt=False, strip_command=False, cmd_verify=False)
        except DriverError:
            raise
        except Exception as err:  # noqa: BLE001 - timeouts, dropped connections
            raise self._lost(command, err, secret_answers) from None
        output, self.prompt = _split(command, raw)
        self._record(before, command, output, secret_answers)
        return output

    def configure(self, lines: Iterable[str]) -> str:
        lines = list(lines)
        conn = self.connect()
        before = self.prompt
        try:
            raw = conn.send_config_set(lines, read_timeout=self.device.read_timeout, cmd_verify=True)
        except Exception as err:  # noqa: BLE001
            raise self._lost("configure terminal", err) from None
        text, self.prompt = _split("configure terminal", raw)
        self._record(before, "configure terminal", text)
        bad = CLI_ERROR.search(text)
        if bad:
            raise ConfigurationRejected(self.hide(f"{self.name}: configuration refused: {bad.group(0)}...\n{text}"))
        return text


class _EnableRefused(Exception):
    """IOS did not take ``enable``: why, in its words."""


def _split(command: str, raw: str) -> tuple[str, str]:
    """(output, prompt): the echo of the command and the final prompt taken off."""
    first, sep, rest = raw.partition("\n")
    if sep and first.strip() == command.strip():
        raw = rest
    elif not sep and raw.strip() == command.strip():
        raw = ""
    body, sep, last = raw.rpartition("\n")
    return (body + sep, last.strip()) if sep else ("", last.strip())


def _disconnect(conn) -> None:
    """Leave politely (netmiko's disconnect says exit), bounded: a silent device is dropped."""
    worker = threading.Thread(target=_quietly, args=(conn.disconnect,), name="netmiko-disconnect", daemon=True)
    worker.start()
    worker.join(3.0)
    if worker.is_alive():
        _drop(conn)


def _quietly(call) -> None:
    try:
        call()
    except Exception:  # noqa: BLE001 - already gone
        pass


def _drop(conn) -> None:
    """Close a connection's sockets without a word to the device (it may not be answering)."""
    for attr in ("remote_conn", "remote_conn_pre"):
        part = getattr(conn, attr, None)
        if part is not None:
            _quietly(part.close)
    try:
        from netmiko.base_connection import log
        log.removeFilter(conn._secrets_filter)
    except Exception:  # noqa: BLE001 - netmiko's internals moved: only a log filter is left behind
        pass


def _tcp_connected(conn) -> bool:
    pre = getattr(conn, "remote_conn_pre", None)
    if pre is not None and getattr(pre, "get_transport", None) is not None:
        return pre.get_transport() is not None
    return getattr(conn, "remote_conn", None) is not None


def _is_read_timeout(err: BaseException) -> bool:
    try:
        from netmiko.exceptions import ReadTimeout
    except ImportError:
        return False
    return isinstance(err, (ReadTimeout, socket.timeout, TimeoutError))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else "") or type(err).__name__


def _reason(err: BaseException, device: InventoryDevice) -> str:
    """Why a connection failed, from the exception and what caused it."""
    seen = []
    node: BaseException | None = err
    while node is not None and node not in seen:
        seen.append(node)
        node = node.__cause__ or node.__context__
    for exc in seen:
        for sub in [exc, *getattr(exc, "errors", {}).values()]:
            if isinstance(sub, ConnectionRefusedError) or getattr(sub, "errno", None) == 111:
                return "connection refused (nothing listens on that port)"
            if isinstance(sub, socket.gaierror):
                return f"unknown host {device.host!r} ({sub.strerror or sub})"
            if isinstance(sub, (socket.timeout, TimeoutError)):
                return f"no answer within {device.conn_timeout:g} s (timed out)"
            if isinstance(sub, OSError) and sub.errno is not None:
                return sub.strerror or str(sub)
    text = " ".join(str(e) for e in seen).lower()
    if "refused" in text:
        return "connection refused (nothing listens on that port)"
    if "timed out" in text or "timeout" in text:
        return f"no answer within {device.conn_timeout:g} s (timed out)"
    if "closed" in text or "eof" in text:
        return f"the device closed the connection ({_first_line(err)})"
    return _first_line(err)


@register
class NetmikoDriver(Driver):
    name = "netmiko"
    capabilities = frozenset()

    def __init__(self, inventory: str | Path | Inventory | None = None, secrets: Masker | None = None):
        self.inventory = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
        overrides: list[tuple[dict, str]] = []
        try:
            if self.inventory.scenario_file:
                overrides.append((load_overrides(self.inventory.scenario_file), str(self.inventory.scenario_file)))
            if self.inventory.scenario:
                overrides.append((self.inventory.scenario, str(self.inventory.path)))
            super().__init__(overrides, secrets)
        except ScenarioError as err:
            raise DriverError(f"{self.inventory.path}: scenario: {err}") from None
        # The inventory's credentials, masked wherever they stand when long enough (in their forms always).
        self.secrets.add(s for d in self.inventory.devices.values() for s in (d.password, d.secret))
        self.allow_disruptive = self.inventory.allow_disruptive
        if all(self.inventory.device_for_role(role) for role in HOST_ROLES):
            self.capabilities = frozenset({Capability.HOSTS})
        self._sessions: dict[str, NetmikoSession] = {}

    def roles(self) -> list[str]:
        return self.inventory.roles()

    def session(self, role: str) -> NetmikoSession:
        if role not in self._sessions:
            device = self.inventory.device_for_role(role)
            if device is None:
                raise DriverError(f"{self.inventory.path}: no device has the role {role!r} "
                                  f"(roles: {', '.join(self.roles())})")
            session = NetmikoSession(device, self.transcript, self.secrets)
            session.connect()
            self._sessions[role] = session
        return self._sessions[role]

    def configurations(self):
        """``show running-config`` of the routers, ``show ip interface brief`` of the hosts (user EXEC)."""
        from .derive import HOST_ROLE, Device
        devices = []
        for device in self.inventory.devices.values():
            if HOST_ROLE.match(device.role):
                continue
            try:
                text = self.session(device.role).send("show running-config")
            except DriverError:
                if device.role == "hub" or REMOTE_ROLE.match(device.role):
                    raise
                continue        # an access server the suites cannot enter: the remotes show their addresses
            devices.append(Device(device.role, device.name, text, f"{device.name} show running-config"))
        for device in self.inventory.devices.values():
            if HOST_ROLE.match(device.role):
                address = _first_address(self.session(device.role).send("show ip interface brief"))
                text = f"hostname {device.name}\ninterface Host\n ip address {address} 255.255.255.255\n"
                devices.append(Device(device.role, device.name, text if address else "",
                                      f"{device.name} show ip interface brief"))

        def observe(role: str, interface: str) -> str | None:
            return _first_address(self.session(role).send("show ip interface brief"), interface)
        return devices, None, observe

    def describe(self) -> dict[str, str]:
        return {"driver": self.name, "inventory": str(self.inventory.path)}

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()


def _first_address(text: str, interface: str | None = None) -> str | None:
    """The address of ``interface`` (or the first addressed interface) in ``show ip interface brief``."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 1 and re.match(r"^\d+\.\d+\.\d+\.\d+$", parts[1]) and interface in (None, parts[0]):
            return parts[1]
    return None


__all__ = ["NetmikoDriver", "NetmikoSession", "QUESTION", "HOST_ROLES"]
