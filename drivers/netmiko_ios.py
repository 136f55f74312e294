"""The netmiko driver: real IOS routers over SSH or telnet, listed in an inventory.

    pytest --driver=netmiko --inventory lab.yml        (format: drivers/inventory.py)

A device's session is opened when a suite first asks for its role
(``netmiko.ConnectHandler`` with the inventory's device_type, then
``enable()``), and opened again on the next command if it was lost.
``send`` returns what the device printed between the echo of the command and
the next prompt, as the emulated driver does; ``configure`` uses
``send_config_set`` and raises ConfigurationRejected when IOS printed an
error. The expected values are the scenario file (the document's, or the
inventory's ``scenario_file``) with the inventory's ``scenario:`` overrides.
Real devices offer none of the lab-control capabilities.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Iterable

from .base import CLI_ERROR, ConfigurationRejected, DeviceSession, Driver, DriverError, DriverUnavailable, register
from .inventory import Inventory, InventoryDevice, load_inventory
from .scenario import DEFAULT_SCENARIO, Scenario, ScenarioError, load_scenario

# A question IOS asks and waits for a line on: "[confirm]", "Destination filename [startup-config]? ",
# "Password: ", "Repeat count [5]: ". Only at the very end of what was read (no newline after it).
QUESTION = r"(?:\[confirm\]|[:?\]])[ \t]*\Z"


class NetmikoSession(DeviceSession):
    """A CLI session on one device of the inventory, in privileged EXEC mode."""

    def __init__(self, device: InventoryDevice, transcript: list):
        super().__init__(device.name, device.role, transcript)
        self.device = device
        self.conn = None
        self.prompt = ""

    @property
    def where(self) -> str:
        d = self.device
        return f"{d.name} ({d.role}) at {d.address} over {d.transport}"

    # ------------------------------------------------ connection
    def connect(self):
        if self.conn is not None:
            return self.conn
        try:
            from netmiko import ConnectHandler
            from netmiko.exceptions import NetmikoAuthenticationException
        except ImportError as err:
            raise DriverUnavailable(f"--driver=netmiko needs the netmiko package ({err})") from None
        try:
            conn = ConnectHandler(**self.device.netmiko_params())
        except NetmikoAuthenticationException:
            raise DriverError(f"{self.where}: cannot log in: authentication failed "
                              f"(check username and password)") from None
        except Exception as err:  # noqa: BLE001 - netmiko and the socket layer raise many kinds
            raise DriverError(f"{self.where}: cannot connect: {_reason(err, self.device)}") from None
        try:
            if not conn.check_enable_mode():
                conn.enable()
            self.prompt = conn.find_prompt()
        except Exception as err:  # noqa: BLE001
            _disconnect(conn)
            raise DriverError(f"{self.where}: cannot enter privileged EXEC with enable "
                              f"(check the secret): {_first_line(err)}") from None
        if not self.prompt.endswith("#"):
            _disconnect(conn)
            raise DriverError(f"{self.where}: enable left the prompt at {self.prompt!r} (check the secret)")
        self.conn = conn
        return conn

    def close(self) -> None:
        if self.conn is not None:
            _disconnect(self.conn)
            self.conn = None

    def _lost(self, command: str, err: Exception) -> DriverError:
        self.close()
        return DriverError(f"{self.where}: '{command}' failed: {_first_line(err)} (the session was closed; "
                           f"the next command opens a new one)")

    def _patterns(self, conn) -> tuple[str, str]:
        prompt = re.escape(conn.base_prompt) + r"[^\n]*[#>][ \t]*\Z"
        return prompt, f"{prompt}|{QUESTION}"

    # ------------------------------------------------ commands
    def send(self, command: str, answers: Iterable[str] = ()) -> str:
        conn = self.connect()
        prompt_re, either = self._patterns(conn)
        pending = list(answers)
        before = self.prompt
        timeout = self.device.read_timeout
        try:
            raw = conn.send_command(command, expect_string=either, read_timeout=timeout,
                                    strip_prompt=False, strip_command=False, cmd_verify=True)
            while not re.search(prompt_re, raw):
                question = raw.rsplit("\n", 1)[-1]
                if not pending:
                    output, _ = _split(command, raw)
                    self._record(before, command, output + question)
                    self.close()
                    raise DriverError(f"{self.name}: '{command}' asks {question.strip()!r}: give answers "
                                      f"(the session was closed to leave the question)")
                raw += conn.send_command(pending.pop(0), expect_string=either, read_timeout=timeout,
                                         strip_prompt=False, strip_command=False, cmd_verify=False)
        except DriverError:
            raise
        except Exception as err:  # noqa: BLE001 - timeouts, dropped connections
            raise self._lost(command, err) from None
        output, self.prompt = _split(command, raw)
        self._record(before, command, output)
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
            raise ConfigurationRejected(f"{self.name}: configuration refused: {bad.group(0)}...\n{text}")
        return text


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
    try:
        conn.disconnect()
    except Exception:  # noqa: BLE001 - already gone
        pass


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
    return _first_line(err)


@register
class NetmikoDriver(Driver):
    name = "netmiko"
    capabilities = frozenset()

    def __init__(self, inventory: str | Path | Inventory | None = None, scenario: Scenario | None = None):
        self.inventory = inventory if isinstance(inventory, Inventory) else load_inventory(inventory)
        try:
            base = scenario or load_scenario(self.inventory.scenario_file or DEFAULT_SCENARIO)
            super().__init__(base.overridden(self.inventory.scenario, str(self.inventory.path)))
        except ScenarioError as err:
            raise DriverError(f"{self.inventory.path}: scenario: {err}") from None
        self.allow_disruptive = self.inventory.allow_disruptive
        self._sessions: dict[str, NetmikoSession] = {}

    def roles(self) -> list[str]:
        return self.inventory.roles()

    def session(self, role: str) -> NetmikoSession:
        if role not in self._sessions:
            device = self.inventory.device_for_role(role)
            if device is None:
                raise DriverError(f"{self.inventory.path}: no device has the role {role!r} "
                                  f"(roles: {', '.join(self.roles())})")
            session = NetmikoSession(device, self.transcript)
            session.connect()
            self._sessions[role] = session
        return self._sessions[role]

    def describe(self) -> dict[str, str]:
        return {"driver": self.name, "inventory": str(self.inventory.path)}

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()


__all__ = ["NetmikoDriver", "NetmikoSession", "QUESTION"]
