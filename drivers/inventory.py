"""Inventories: the real devices the netmiko driver reaches, as YAML.

    allow_disruptive: false          # optional: tests that change state may run on these devices
    defaults:                        # optional: applied to every device (a device's own keys win)
      username: lab
      password: ${LAB_PASSWORD}      # taken from the environment variable LAB_PASSWORD
      secret: ${ENV:LAB_ENABLE}      # the same, spelt out
    devices:
      sam-i-am:
        role: hub                    # the suites ask for devices by role (hub, remote, ...)
        host: 192.0.2.1
        port: 22                     # default 22 for ssh, 23 for telnet
        transport: ssh               # ssh | telnet (default ssh)
        device_type: cisco_ios       # optional; default cisco_ios, or cisco_ios_telnet over telnet
      dr_whoovie: {role: remote, host: 192.0.2.2, transport: telnet}
    scenario:                        # optional: overrides of the expected values (as in a lab file)
      hub.lan_address: 10.9.9.1
    scenario_file: scenario.yml      # optional: the expected values to start from (default: the document's)

Any string value may name environment variables as ``${NAME}`` or
``${ENV:NAME}``, so that passwords need not be written into the file; a
variable that is not set is an error; ``$${`` stands for a literal ``${``.
Optional per-device keys: ``conn_timeout`` (seconds to connect and log in,
default 8) and ``read_timeout`` (longest a command may take to answer,
default 60). Devices with the roles ``hub_host``, ``remote_host`` and
``internet_host`` (optional) are the hosts on each LAN and on the internet
side; the suites that need hosts run only when all three are listed.
``fixtures/inventory.example.yml`` is a commented example.

Every error names the file, the key and what is wrong, and never shows the
value of a password or secret.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .base import DriverError

TRANSPORTS = ("ssh", "telnet")
DEFAULT_PORTS = {"ssh": 22, "telnet": 23}
DEFAULT_DEVICE_TYPES = {"ssh": "cisco_ios", "telnet": "cisco_ios_telnet"}
DEVICE_KEYS = ("role", "host", "port", "transport", "username", "password", "secret", "device_type",
               "conn_timeout", "read_timeout")
DEFAULT_KEYS = tuple(k for k in DEVICE_KEYS if k != "role")
TOP_KEYS = ("devices", "defaults", "scenario", "scenario_file", "allow_disruptive", "description")
_ENV = re.compile(r"\$\$\{|\$\{(?:ENV:)?([^}]*)\}")
SECRET_KEYS = ("password", "secret")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class InventoryError(DriverError):
    """An inventory that cannot be used: ``file: key: reason``."""

    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        super().__init__(f"{path}: {key}: {reason}" if key else f"{path}: {reason}")


@dataclass(frozen=True)
class InventoryDevice:
    name: str
    role: str
    host: str
    port: int
    transport: str
    username: str = ""
    password: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    device_type: str = "cisco_ios"
    conn_timeout: float = 8.0
    read_timeout: float = 60.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def netmiko_params(self) -> dict[str, Any]:
        """Keyword arguments of ``netmiko.ConnectHandler``."""
        return {"device_type": self.device_type, "host": self.host, "port": self.port,
                "username": self.username, "password": self.password, "secret": self.secret,
                "conn_timeout": self.conn_timeout, "auth_timeout": self.conn_timeout,
                "banner_timeout": self.conn_timeout, "timeout": max(self.conn_timeout, 10.0),
                "use_keys": False, "allow_agent": False}


@dataclass
class Inventory:
    path: Path
    devices: dict[str, InventoryDevice]
    scenario: dict[str, Any] = field(default_factory=dict)
    scenario_file: Path | None = None
    allow_disruptive: bool = False

    def roles(self) -> list[str]:
        return [d.role for d in self.devices.values()]

    def device_for_role(self, role: str) -> InventoryDevice | None:
        return next((d for d in self.devices.values() if d.role == role), None)


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last silently)."""


def _construct_mapping(loader, node, deep=False):
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_inventory(path: str | Path | None, environ: Mapping[str, str] | None = None) -> Inventory:
    """Read and check an inventory file."""
    if path is None:
        raise InventoryError("--inventory", "", "the netmiko driver needs an inventory file "
                             "(pytest --driver=netmiko --inventory lab.yml)")
    path = Path(path)
    env = os.environ if environ is None else environ
    data = _read_yaml(path)
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise InventoryError(path, str(unknown[0]), f"unknown key (expected {', '.join(TOP_KEYS)})")
    allow = data.get("allow_disruptive", False)
    if not isinstance(allow, bool):
        raise InventoryError(path, "allow_disruptive", f"must be true or false, not {allow!r}")
    scenario = data.get("scenario") or {}
    if not isinstance(scenario, dict):
        raise InventoryError(path, "scenario", "must be a mapping of expected values (as in a lab file)")
    scenario_file = _scenario_file(path, data, env)
    defaults = _defaults(path, data)
    devices = _devices(path, data, defaults, env)
    return Inventory(path, devices, scenario, scenario_file, allow)


def _read_yaml(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as err:
        raise InventoryError(path, "", f"cannot read inventory file ({err.strerror})") from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InventoryError(path, "", f"malformed YAML: {where}{problem}") from None
    if not isinstance(data, dict):
        raise InventoryError(path, "", "an inventory is a mapping with 'devices' (and optional defaults, "
                             "scenario, allow_disruptive)")
    return data


def _scenario_file(path: Path, data: dict, env: Mapping[str, str]) -> Path | None:
    if data.get("scenario_file") is None:
        return None
    raw = _expand(path, "scenario_file", data["scenario_file"], env)
    if not isinstance(raw, str) or not raw:
        raise InventoryError(path, "scenario_file", f"must be a file name, not {raw!r}")
    scenario_file = (path.parent / raw).resolve()
    if not scenario_file.is_file():
        raise InventoryError(path, "scenario_file", f"scenario file not found: {scenario_file}")
    return scenario_file


def _defaults(path: Path, data: dict) -> dict:
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InventoryError(path, "defaults", "must be a mapping of device settings")
    for key in defaults:
        if key not in DEFAULT_KEYS:
            hint = " (a role belongs to one device)" if key == "role" else ""
            raise InventoryError(path, f"defaults.{key}",
                                 f"unknown key{hint} (expected {', '.join(DEFAULT_KEYS)})")
    return defaults


def _devices(path: Path, data: dict, defaults: dict, env: Mapping[str, str]) -> dict[str, InventoryDevice]:
    raw_devices = data.get("devices")
    if raw_devices is None:
        raise InventoryError(path, "devices", "missing: the devices to test, by name")
    if not isinstance(raw_devices, dict) or not raw_devices:
        raise InventoryError(path, "devices", "must be a mapping of device names to their settings")
    devices: dict[str, InventoryDevice] = {}
    roles: dict[str, str] = {}
    for name, spec in raw_devices.items():
        key = f"devices.{name}"
        if not isinstance(spec, dict):
            raise InventoryError(path, key, "must be a mapping with at least role and host")
        unknown = [k for k in spec if k not in DEVICE_KEYS]
        if unknown:
            raise InventoryError(path, f"{key}.{unknown[0]}", f"unknown key (expected {', '.join(DEVICE_KEYS)})")
        merged = {**defaults, **spec}
        device = _device(path, key, str(name), merged, spec, defaults, env)
        if device.role in roles:
            raise InventoryError(path, f"{key}.role", f"duplicate role {device.role!r} (also {roles[device.role]})")
        roles[device.role] = device.name
        devices[device.name] = device
    return devices


def _device(path: Path, key: str, name: str, merged: dict, own: dict, defaults: dict,
            env: Mapping[str, str]) -> InventoryDevice:
    def where(k: str) -> str:
        return f"defaults.{k}" if k in defaults and k not in own else f"{key}.{k}"

    values = {k: _expand(path, where(k), v, env) for k, v in merged.items()}

    role = _text(path, where("role"), values.get("role"), required="the role the suites know it by (hub, remote)")
    host = _text(path, where("host"), values.get("host"), required="the address or name to connect to")

    device_type = values.get("device_type")
    if device_type is not None:
        device_type = _text(path, where("device_type"), device_type)
    transport = values.get("transport")
    if transport is None:
        transport = "telnet" if device_type and device_type.endswith("_telnet") else "ssh"
    if transport not in TRANSPORTS:
        raise InventoryError(path, where("transport"), f"unknown transport {transport!r} (expected ssh or telnet)")
    if device_type is None:
        device_type = DEFAULT_DEVICE_TYPES[transport]
    elif device_type.endswith("_telnet") != (transport == "telnet"):
        raise InventoryError(path, where("device_type"),
                             f"{device_type!r} does not go with transport {transport!r} "
                             f"(netmiko telnet types end in _telnet)")
    else:
        _check_device_type(path, where("device_type"), device_type)

    port = values.get("port", DEFAULT_PORTS[transport])
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        raise InventoryError(path, where("port"), f"bad port {port!r} (a TCP port is 1-65535)")

    username = _text(path, where("username"), values.get("username", ""), allow_empty=True)
    password = _text(path, where("password"), values.get("password", ""), allow_empty=True)
    secret = _text(path, where("secret"), values.get("secret", ""), allow_empty=True)
    if transport == "ssh" and not username:
        raise InventoryError(path, f"{key}.username", "missing: SSH logins need a username")
    timeouts = {}
    for k, default in (("conn_timeout", 8.0), ("read_timeout", 60.0)):
        value = values.get(k, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise InventoryError(path, where(k), f"must be a positive number of seconds, not {value!r}")
        timeouts[k] = float(value)
    return InventoryDevice(name, role, host, port, transport, username, password, secret, device_type, **timeouts)


def _expand(path: Path, key: str, value: Any, env: Mapping[str, str]) -> Any:
    if not isinstance(value, str):
        return value

    def variable(match: re.Match) -> str:
        name = match.group(1)
        if name is None:                        # $${ : a literal ${
            return "${"
        if not _ENV_NAME.match(name):
            shown = "" if _is_secret(key) else f" in {value!r}"
            raise InventoryError(path, key, f"bad environment variable name {name!r}{shown}")
        if name not in env:
            raise InventoryError(path, key, f"environment variable {name} is not set")
        return env[name]

    return _ENV.sub(variable, value)


def _is_secret(key: str) -> bool:
    return key.rsplit(".", 1)[-1] in SECRET_KEYS


def _text(path: Path, key: str, value: Any, required: str = "", allow_empty: bool = False) -> str:
    if value is None or (value == "" and not allow_empty):
        raise InventoryError(path, key, f"missing: {required}" if required else "must not be empty")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        shown = f"a {type(value).__name__}" if _is_secret(key) and not isinstance(value, bool) else repr(value)
        raise InventoryError(path, key, f"must be a string, not {shown} (quote it in YAML)")
    return str(value)


def _check_device_type(path: Path, key: str, device_type: str) -> None:
    try:
        from netmiko.ssh_dispatcher import CLASS_MAPPER
    except ImportError:      # netmiko missing: the driver says so when it starts
        return
    if device_type not in CLASS_MAPPER:
        close = [t for t in CLASS_MAPPER if t.startswith("cisco_ios")]
        raise InventoryError(path, key, f"netmiko has no device_type {device_type!r} (Cisco IOS: {', '.join(close)})")
