"""Lab files: which devices run which configuration, and how their ports are wired.

A lab file is YAML::

    seed: 1
    devices:
      r1: {config: r1.cfg, role: remote}         # path relative to the lab file
      r2: {config: r2.cfg, role: hub, platform: "2501"}
    links:
      - serial: [r1 Serial0, isp Serial0]
        bandwidth_kbps: 1544
        delay_ms: 2
      - ethernet: [r2 Ethernet0, h2 Ethernet0]
    scenario:                                    # values the configurations cannot tell (hosts)
      hosts.hub_host: 10.9.9.10
    external:                                    # ports cabled to the outside (external_spec.py)
      - {port: r2 Serial1, udp: {local: 127.0.0.1:40000, remote: 127.0.0.1:40001}}

A lab with external ports runs on the wall clock only (the real-time runner,
``emulator.frontends.pacer``): it is not settled on the lab clock at start,
its links come up in real time.

One entry may stand for many devices or links: ``range: FIRST-LAST`` with
``{i}`` (an integer expression of i) in names, settings and ports, as
``ranges.py`` describes::

    devices:
      spoke{i}: {range: 2-1000, config: "spoke{i}.cfg", role: "remote{i}"}
    links:
      - {range: 1-1000, serial: ["spoke{i} Serial0", "as{(i-1)//9+1} Serial{(i-1)%9+1}"]}
      - ethernet: [sw Ethernet0, {range: 1-32, port: "h{i} Ethernet0"}]

A bad range is refused naming the key (``devices.spoke{i}.range``,
``links[3][i=5].serial``) and its line.

A lab file may change another: ``base: ../lab.yml`` takes that file's seed,
devices, links and scenario; this file's ``devices`` entries replace the keys
they name (``config:`` of one device, say), its ``links`` replace the list.

Every error names the file, the key and what is wrong. Lab and configuration
files are UTF-8 text. Beyond what YAML itself checks, a lab file may not
repeat a key in a mapping, hold a non-finite number (``.nan``, ``.inf``) or
nest deeper than ``MAX_NESTING`` levels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any, Hashable

import yaml
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from emulator.cli.console_log import ConsoleLog
from emulator.config.loader import ConfigLineError
from emulator.device.platform import DEFAULT_PLATFORM, PLATFORMS
from emulator.device.router import Router
from emulator.lab import budget
from emulator.lab.capture import LabCapture
from emulator.lab.external import ExternalPort, ExternalPortError, TunPort, open_external
from emulator.lab.external_spec import ExternalSpec, ExternalSpecError, parse_external
from emulator.lab.ranges import RangeError, expand_devices, expand_links
from emulator.sim import gcpolicy
from emulator.sim.clock import SECOND, Simulator, seconds
from emulator.sim.wires import EthernetSegment, SerialLink

SETTLE_TIMEOUT = 30 * SECOND   # lab time a booting lab gets for its links to come up
MAX_NESTING = 32               # levels of YAML collections a lab file may nest (it needs 4)


class LabError(Exception):
    """A lab file that cannot be used: ``file: key: reason``."""

    def __init__(self, path: str | Path, key: str, reason: str):
        self.path, self.key, self.reason = str(path), key, reason
        super().__init__(f"{path}: {key}: {reason}" if key else f"{path}: {reason}")


@dataclass
class DeviceSpec:
    name: str
    config_path: Path
    role: str | None
    platform: str
    extra_config: list[str] = field(default_factory=list)   # lines applied after the configuration file


@dataclass
class LinkSpec:
    kind: str                                  # serial | ethernet
    ports: list[tuple[str, str]]               # (device, interface)
    bandwidth_bps: int                         # the file's bandwidth_kbps, exactly
    delay_ns: int                              # the file's delay_ms, exactly (to the nanosecond)
    key: str                                   # where it is in the file, for messages


@dataclass
class LabSpec:
    path: Path
    seed: int
    devices: dict[str, DeviceSpec]
    links: list[LinkSpec]
    scenario: dict[str, Any] = field(default_factory=dict)
    external: list["ExternalLink"] = field(default_factory=list)

    def device_for_role(self, role: str) -> str | None:
        return next((d.name for d in self.devices.values() if d.role == role), None)


@dataclass
class ExternalLink:
    spec: ExternalSpec
    device: str
    iface: str
    link: LinkSpec                             # the stretch of wire between the port and the outside


DEFAULTS = {"serial": (1544, 1.0), "ethernet": (10000, 0.05)}


def load_lab(path: str | Path) -> LabSpec:
    """Read and check a lab file."""
    path = Path(path)
    try:
        text = read_text(path)
    except OSError as err:
        raise LabError(path, "", f"cannot read lab file ({err.strerror})") from None
    except ValueError as err:
        raise LabError(path, "", str(err)) from None
    lines: dict[str, int] = {}
    data = _parse_yaml(path, text, lines)
    if not isinstance(data, dict):
        raise LabError(path, "", "a lab file is a mapping with seed, devices and links")
    unknown = set(data) - {"seed", "devices", "links", "scenario", "description", "base", "external"}
    if unknown:
        raise LabError(path, sorted(unknown)[0],
                       "unknown key (expected base, seed, devices, links, scenario, external)")
    if "base" in data:
        data = _inherit(path, data, [path.resolve()])
    seed = data.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise LabError(path, "seed", f"must be an integer, not {seed!r}")
    def where(key: str) -> str:
        return f" (line {lines[key]})" if key in lines else ""
    try:
        raw_devices, labels = expand_devices(data.get("devices"), where)
        raw_links, link_keys = expand_links(data.get("links") or [], where)
    except RangeError as err:
        raise LabError(path, err.key, err.reason) from None
    devices = _devices(path, raw_devices, labels)
    links = _links(path, raw_links, devices, link_keys)
    scenario = data.get("scenario") or {}
    if not isinstance(scenario, dict):
        raise LabError(path, "scenario", "must be a mapping of expected values")
    external = _externals(path, data.get("external") or [], devices, links)
    return LabSpec(path, seed, devices, links, scenario, external)


def _inherit(path: Path, data: dict, chain: list[Path]) -> dict:
    """A lab file with ``base: OTHER.yml``: the base's seed, devices, links and scenario, with this file's
    own on top (a device's keys replace the base's for that device; ``links`` replace the base's list;
    ``scenario`` values are merged). Configuration paths stay relative to the file that names them."""
    base_ref = data.get("base")
    if not isinstance(base_ref, str) or not base_ref:
        raise LabError(path, "base", "must be the path of the lab file this one changes")
    base_path = (path.parent / base_ref).resolve()
    if base_path in chain:
        raise LabError(path, "base", f"inherits from itself ({' -> '.join(str(p) for p in chain + [base_path])})")
    try:
        base = _parse_yaml(base_path, read_text(base_path))
    except OSError as err:
        raise LabError(path, "base", f"cannot read lab file {base_path} ({err.strerror})") from None
    except ValueError as err:
        raise LabError(path, "base", f"{base_path}: {err}") from None
    if not isinstance(base, dict):
        raise LabError(path, "base", f"{base_path} is not a lab file (a mapping with devices and links)")
    if "base" in base:
        base = _inherit(base_path, base, chain + [base_path])
    merged = {k: v for k, v in base.items() if k != "base"}
    devices = {name: _absolute(base_path, spec) for name, spec in (base.get("devices") or {}).items()}
    for name, spec in (data.get("devices") or {}).items():
        if not isinstance(spec, dict) or not isinstance(devices.get(name), dict):
            devices[name] = spec
        else:
            devices[name] = {**devices[name], **spec}
    merged["devices"] = devices
    for key in ("seed", "links", "description", "external"):
        if key in data:
            merged[key] = data[key]
    if data.get("scenario"):
        merged["scenario"] = {**(base.get("scenario") or {}), **data["scenario"]}
    return merged


def _absolute(base_path: Path, spec: Any) -> Any:
    """A base file's device entry with its configuration path made absolute."""
    if isinstance(spec, dict) and isinstance(spec.get("config"), str):
        return {**spec, "config": str((base_path.parent / spec["config"]).resolve())}
    return spec


def read_text(path: Path) -> str:
    """A UTF-8 text file's contents, with newlines as text mode gives them.

    Raises OSError, or ValueError naming the first byte that is not UTF-8 and where it is.
    """
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(f"not UTF-8 text: byte 0x{data[err.start]:02x} at line {line}, column {column}") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _config_text(lab_path: Path, name: str, config_path: Path) -> str:
    try:
        return read_text(config_path)
    except OSError as err:
        raise LabError(lab_path, f"devices.{name}.config",
                       f"cannot read configuration file {config_path} ({err.strerror})") from None
    except ValueError as err:
        raise LabError(lab_path, f"devices.{name}.config", f"{config_path}: {err}") from None


# ---------------------------------------------------------------- YAML

class _TooDeep(Exception):
    def __init__(self, where: list[str | int], mark: Mark):
        super().__init__(where, mark)
        self.where, self.mark = where, mark


class _LabLoader(yaml.SafeLoader):
    """The safe loader, refusing collections nested deeper than ``MAX_NESTING``.

    PyYAML composes a document recursively, one call per level: deeper input
    would end in RecursionError instead of an answer.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._where: list[str | int] = []      # the keys and indexes down to the node being composed

    def compose_node(self, parent: Node | None, index: Node | int | None) -> Node | None:
        nested = parent is not None      # the document's root has no parent
        if nested:
            if len(self._where) >= MAX_NESTING:
                raise _TooDeep(list(self._where), self.peek_event().start_mark)
            self._where.append(index if isinstance(index, int) else
                               index.value if isinstance(index, ScalarNode) else "?")
        try:
            # The stub declares index an int; PyYAML passes a mapping's key node, a sequence index or None.
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            if nested:
                self._where.pop()


_NOT_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")   # "<<" and "=" keys


def _key_text(where: list[str | int], limit: int = 6) -> str:
    """``devices.r1.config``, ``links[0].serial``; past ``limit`` parts, an ellipsis."""
    text = ""
    for part in where[:limit]:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text + ("..." if len(where) > limit else "")


def _parse_yaml(path: Path, text: str, lines: dict[str, int] | None = None) -> Any:
    try:
        loader = _LabLoader(text)
    except ReaderError as err:       # a character YAML does not allow
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        raise LabError(path, "", f"malformed YAML: line {line}, column {column}: "
                                 f"character #x{err.character:04x} is not allowed") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_nodes(path, loader, root, lines)
        return loader.construct_document(root)
    except _TooDeep as err:
        where = f"line {err.mark.line + 1}, column {err.mark.column + 1}"
        raise LabError(path, _key_text(err.where), f"nested deeper than {MAX_NESTING} levels ({where})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise LabError(path, "", f"malformed YAML: {where}{problem}") from None
    finally:
        loader.dispose()


def _check_nodes(path: Path, loader: _LabLoader, root: Node, lines: dict[str, int] | None = None) -> None:
    """What YAML lets through: a key repeated in a mapping, a value its explicit tag cannot read
    (``!!int x``), a non-finite number. In document order. ``lines`` is given each node's line by key
    (``devices.r1.config``), for messages about what the file's values mean."""
    stack: list[tuple[Node, list[str | int]]] = [(root, [])]
    seen: set[int] = set()          # aliases share nodes: each is checked once
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if lines is not None and where:
            lines.setdefault(_key_text(where, MAX_NESTING), node.start_mark.line + 1)
        children: list[tuple[Node, list[str | int]]] = []
        if isinstance(node, MappingNode):
            first: dict[Hashable, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode) or key_node.tag in _NOT_KEYS:
                    children.append((value_node, where + ["?"]))
                    continue
                key, line = _scalar(path, loader, key_node, where + [key_node.value]), key_node.start_mark.line + 1
                if key in first:
                    raise LabError(path, _key_text(where + [key_node.value]),
                                   f"duplicate key (line {line}, first on line {first[key]})")
                first[key] = line
                children.append((value_node, where + [key_node.value]))
        elif isinstance(node, SequenceNode):
            children = [(item, where + [i]) for i, item in enumerate(node.value)]
        elif isinstance(node, ScalarNode):
            value = _scalar(path, loader, node, where)
            if isinstance(value, float) and not math.isfinite(value):
                raise LabError(path, _key_text(where), f"must be a finite number, not {node.value} "
                                                       f"(line {node.start_mark.line + 1})")
        stack.extend(reversed(children))


def _scalar(path: Path, loader: _LabLoader, node: ScalarNode, where: list[str | int]) -> Any:
    """The scalar's value (kept by the loader for the document), or the error naming its key."""
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        # What PyYAML's scalar constructors raise for a value their tag cannot read.
        kind = node.tag.rsplit(":", 1)[-1]
        raise LabError(path, _key_text(where), f"cannot read {node.value!r} as {kind} "
                                               f"(line {node.start_mark.line + 1})") from None


# ---------------------------------------------------------------- devices and links

def _devices(path: Path, raw: Any, labels: dict[str, str] | None = None) -> dict[str, DeviceSpec]:
    if not isinstance(raw, dict) or not raw:
        raise LabError(path, "devices", "must be a mapping of device names to their settings")
    devices: dict[str, DeviceSpec] = {}
    roles: dict[str, str] = {}
    for name, spec in raw.items():
        key = (labels or {}).get(str(name), f"devices.{name}")
        if str(name) in devices:
            raise LabError(path, key, f"duplicate device name {str(name)!r} (written once as text, once not)")
        if not isinstance(spec, dict):
            raise LabError(path, key, "must be a mapping with at least 'config'")
        unknown = set(spec) - {"config", "role", "platform", "extra_config"}
        if unknown:
            raise LabError(path, f"{key}.{sorted(unknown)[0]}",
                           "unknown key (expected config, role, platform, extra_config, range)")
        extra = spec.get("extra_config") or []
        if not isinstance(extra, list) or not all(isinstance(line, str) for line in extra):
            raise LabError(path, f"{key}.extra_config", "must be a list of configuration lines")
        if "config" not in spec:
            raise LabError(path, f"{key}.config", "missing: the device's configuration file")
        config_path = (path.parent / str(spec["config"])).resolve()
        if not config_path.is_file():
            raise LabError(path, f"{key}.config", f"configuration file not found: {config_path}")
        _config_text(path, str(name), config_path)      # readable and UTF-8, or the lab is refused now
        role = spec.get("role")
        if role is not None:
            role = str(role)
            if role in roles:
                raise LabError(path, f"{key}.role", f"duplicate role {role!r} (also {roles[role]})")
            roles[role] = str(name)
        platform = str(spec.get("platform", DEFAULT_PLATFORM))
        if platform not in PLATFORMS:
            raise LabError(path, f"{key}.platform",
                           f"unknown platform {platform!r} (known: {', '.join(sorted(PLATFORMS))})")
        devices[str(name)] = DeviceSpec(str(name), config_path, role, platform, list(extra))
    return devices


def _links(path: Path, raw: Any, devices: dict[str, DeviceSpec], keys: list[str] | None = None) -> list[LinkSpec]:
    if not isinstance(raw, list):
        raise LabError(path, "links", "must be a list of serial or ethernet links")
    used: dict[tuple[str, str], str] = {}
    links = []
    for i, item in enumerate(raw):
        key = keys[i] if keys else f"links[{i}]"
        if not isinstance(item, dict):
            raise LabError(path, key, "must be a mapping such as {serial: [A Serial0, B Serial0]}")
        kinds = [k for k in ("serial", "ethernet") if k in item]
        if len(kinds) != 1:
            raise LabError(path, key, "needs exactly one of 'serial' or 'ethernet'")
        kind = kinds[0]
        unknown = set(item) - {kind, "bandwidth_kbps", "delay_ms"}
        if unknown:
            raise LabError(path, f"{key}.{sorted(unknown)[0]}",
                           "unknown key (expected bandwidth_kbps, delay_ms, range)")
        ports_raw = item[kind]
        if not isinstance(ports_raw, list):
            raise LabError(path, f"{key}.{kind}", "must be a list of 'DEVICE INTERFACE' ports")
        if kind == "serial" and len(ports_raw) != 2:
            raise LabError(path, f"{key}.serial", f"a serial link joins exactly 2 ports, not {len(ports_raw)}")
        if kind == "ethernet" and len(ports_raw) < 1:
            raise LabError(path, f"{key}.ethernet", "an Ethernet segment needs at least one port")
        ports = []
        for port in ports_raw:
            dev, iface = _port(path, f"{key}.{kind}", port, devices, kind)
            if (dev, iface) in used:
                raise LabError(path, f"{key}.{kind}", f"port '{dev} {iface}' is already on {used[(dev, iface)]}")
            used[(dev, iface)] = key
            ports.append((dev, iface))
        bw_default, delay_default = DEFAULTS[kind]
        bandwidth = item.get("bandwidth_kbps", bw_default)
        delay = item.get("delay_ms", delay_default)
        if not isinstance(bandwidth, (int, float)) or isinstance(bandwidth, bool) or not 0 < bandwidth < math.inf:
            raise LabError(path, f"{key}.bandwidth_kbps", f"must be a positive number, not {bandwidth!r}")
        if not isinstance(delay, (int, float)) or isinstance(delay, bool) or not 0 <= delay < math.inf:
            raise LabError(path, f"{key}.delay_ms", f"must be a number of milliseconds >= 0, not {delay!r}")
        bps = round(Fraction(_as_typed(bandwidth)) * 1000)
        if bps <= 0:
            raise LabError(path, f"{key}.bandwidth_kbps", f"must be at least 1 bit per second, not {bandwidth!r}")
        links.append(LinkSpec(kind, ports, bps, seconds(_as_typed(delay) / 1000), key))
    return links


def _externals(path: Path, raw: Any, devices: dict[str, DeviceSpec], links: list[LinkSpec]) -> list[ExternalLink]:
    if not isinstance(raw, list):
        raise LabError(path, "external", "must be a list of external ports such as {port: R1 Serial0, tun: iop0}")
    cabled = {port: link.key for link in links for port in link.ports}
    out: list[ExternalLink] = []
    for i, item in enumerate(raw):
        key = f"external[{i}]"
        try:
            spec = parse_external(item)
        except ExternalSpecError as err:
            raise LabError(path, f"{key}.{err.key}" if err.key else key, err.reason) from None
        kind = {"tun": "serial", "tap": "ethernet"}.get(spec.kind)
        if kind is None:        # udp: a serial or Ethernet port, whichever the port is
            from emulator.config.grammar import canonical_interface
            parts = spec.port.split()
            ether = len(parts) == 2 and (canonical_interface(parts[1]) or "").startswith("Ethernet")
            kind = "ethernet" if ether else "serial"
        dev, iface = _port(path, f"{key}.port", spec.port, devices, kind)
        if (dev, iface) in cabled:
            raise LabError(path, f"{key}.port", f"port '{dev} {iface}' is already on {cabled[(dev, iface)]}")
        cabled[(dev, iface)] = key
        bw_default, delay_default = DEFAULTS[kind]
        bandwidth = spec.bandwidth_kbps if spec.bandwidth_kbps is not None else bw_default
        delay = spec.delay_ms if spec.delay_ms is not None else delay_default
        link = LinkSpec(kind, [(dev, iface)], max(1, round(Fraction(_as_typed(bandwidth)) * 1000)),
                        seconds(_as_typed(delay) / 1000), key)
        out.append(ExternalLink(spec, dev, iface, link))
    return out


def _as_typed(number: int | float) -> Decimal:
    """A number read from YAML as the decimal written in the file (a float by its shortest repr)."""
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _port(path: Path, key: str, port: Any, devices: dict[str, DeviceSpec], kind: str) -> tuple[str, str]:
    from emulator.config.grammar import canonical_interface
    parts = str(port).split()
    if len(parts) != 2:
        raise LabError(path, key, f"port {port!r} must be written 'DEVICE INTERFACE'")
    dev, iface_text = parts
    if dev not in devices:
        raise LabError(path, key, f"unknown device {dev!r} (devices: {', '.join(devices)})")
    iface = canonical_interface(iface_text)
    hardware = PLATFORMS[devices[dev].platform].interfaces
    if iface not in hardware:
        raise LabError(path, key, f"device {dev!r} has no interface {iface_text!r} (it has {', '.join(hardware)})")
    wanted = "Serial" if kind == "serial" else "Ethernet"
    if not iface.startswith(wanted):
        raise LabError(path, key, f"'{dev} {iface}' is not a{'n' if kind == 'ethernet' else ''} {kind} port")
    return dev, iface


class Lab:
    """A running lab: the simulator, the devices booted from their configurations, the wiring.

    With ``settle`` the lab clock runs until every link that can come up is up
    (PPP negotiated, HDLC keepalives exchanged), as after a real boot. A lab whose
    estimated memory (``budget.py``, measured per device) exceeds what the machine
    has available is refused before any device is built.
    """

    def __init__(self, spec: LabSpec, settle: bool = True, capture_dir: str | Path | None = None):
        try:
            budget.check(len(spec.devices))
        except budget.TooLarge as err:
            raise LabError(spec.path, "devices", str(err)) from None
        self.capture: LabCapture | None = None
        self.external: list[ExternalPort] = []
        gcpolicy.lab_opened()
        self._gc_held = True
        try:
            self._start(spec, settle, capture_dir)
        except BaseException:
            self.close()
            raise

    def _start(self, spec: LabSpec, settle: bool, capture_dir: str | Path | None) -> None:
        self.spec = spec
        self.sim = Simulator(spec.seed)
        self.devices: dict[str, Router] = {}
        for name, dev in spec.devices.items():
            text = _config_text(spec.path, name, dev.config_path)
            extra = (dev.extra_config, f"{spec.path.name}: devices.{name}.extra_config") if dev.extra_config else None
            self.devices[name] = Router(name, text, str(dev.config_path.name), PLATFORMS[dev.platform], spec.seed,
                                        clock=self.sim, console=ConsoleLog(), extra_config=extra)
        self.links = spec.links
        self.serial_links: list[tuple[LinkSpec, SerialLink]] = []
        self.segments: list[tuple[LinkSpec, EthernetSegment]] = []
        self._build_links()
        self._open_external()
        if capture_dir is not None:
            self.start_capture(capture_dir)
        self._boot()
        if settle and not self.external:
            self.settle()

    @property
    def realtime(self) -> bool:
        """Whether the lab has ports to the outside, and so runs on the wall clock only."""
        return bool(self.spec.external)

    @classmethod
    def from_file(cls, path: str | Path, settle: bool = True, capture_dir: str | Path | None = None) -> "Lab":
        return cls(load_lab(path), settle, capture_dir)

    def start_capture(self, directory: str | Path) -> LabCapture:
        """Write every link's frames to a pcap file in ``directory`` from now on."""
        if self.capture is None:
            self.capture = LabCapture(self, directory)
        return self.capture

    def close(self) -> None:
        if self.capture is not None:
            self.capture.close()
        for port in self.external:
            port.close()
        self.external = []
        if self._gc_held:
            self._gc_held = False
            gcpolicy.lab_closed()

    def device(self, name: str) -> Router:
        """A device by lab name or by hostname."""
        if name in self.devices:
            return self.devices[name]
        for router in self.devices.values():
            if router.hostname == name:
                return router
        raise KeyError(name)

    def device_for_role(self, role: str) -> Router | None:
        name = self.spec.device_for_role(role)
        return self.devices[name] if name else None

    def boot_errors(self) -> list[ConfigLineError]:
        return [e for r in self.devices.values() for e in r.boot_errors]

    def _build_links(self) -> None:
        for link in self.links:
            if link.kind == "serial":
                (d1, i1), (d2, i2) = link.ports
                serial = SerialLink(self.sim, link.bandwidth_bps, link.delay_ns,
                                    names=(f"{d1} {i1}", f"{d2} {i2}"))
                self.serial_links.append((link, serial))
                for (dev, iface), end in zip(link.ports, serial.ends, strict=True):
                    self.devices[dev].attach_serial(iface, end)
                serial.up = self._serial_carrier(link)
            else:
                segment = EthernetSegment(self.sim, link.bandwidth_bps, link.delay_ns)
                self.segments.append((link, segment))
                for dev, iface in link.ports:
                    self.devices[dev].attach_ethernet(iface, segment)
            for dev, iface in link.ports:
                up = link.kind == "ethernet" or self._serial_carrier(link)
                self.devices[dev].interface_state(iface).carrier = up

    def _open_external(self) -> None:
        """Cable each external port: a wire from the device's port to the outside."""
        for ext in self.spec.external:
            link, router = ext.link, self.devices[ext.device]
            try:
                if link.kind == "serial":
                    serial = SerialLink(self.sim, link.bandwidth_bps, link.delay_ns,
                                        names=(f"{ext.device} {ext.iface}", f"external {ext.spec.describe()}"))
                    self.serial_links.append((link, serial))
                    router.attach_serial(ext.iface, serial.a)
                    serial.up = router.interface_enabled(ext.iface)
                    router.interface_state(ext.iface).carrier = serial.up
                    port = open_external(ext.spec, self.sim, serial=serial.b, seed=self.spec.seed,
                                         port_config=router.interface_config(ext.iface))
                else:
                    segment = EthernetSegment(self.sim, link.bandwidth_bps, link.delay_ns)
                    self.segments.append((link, segment))
                    router.attach_ethernet(ext.iface, segment)
                    router.interface_state(ext.iface).carrier = True
                    port = open_external(ext.spec, self.sim, segment=segment)
            except ExternalPortError as err:
                raise LabError(self.spec.path, f"{link.key} ({ext.device} {ext.iface})", str(err)) from None
            self.external.append(port)

    def _boot(self) -> None:
        for router in self.devices.values():
            router.start_load_sampling()
            router.admin_listeners.append(self._admin_changed)
            router.boot_links()
        for port in self.external:
            if isinstance(port, TunPort):
                port.start()

    def _serial_carrier(self, link: LinkSpec) -> bool:
        """A serial line has carrier while neither end is shut down (DTR and DCD follow)."""
        return all(self.devices[d].interface_enabled(i) for d, i in link.ports)

    def _admin_changed(self, router: Router, iface: str, up: bool) -> None:
        for link, serial in self.serial_links:
            if (router.name, iface) in link.ports:
                carrier = self._serial_carrier(link)
                serial.set_up(carrier)
                # Both ends see DCD follow at once (the link's own notices then change nothing).
                for dev, port in link.ports:
                    self.devices[dev].carrier_changed(port, carrier)

    def links_up(self) -> bool:
        """Every link that can carry traffic has its line protocol up at both ends."""
        return not self._ports_down()

    def settle(self, timeout: int = SETTLE_TIMEOUT) -> bool:
        """Run the lab (at most ``timeout`` ns) until every link that can come up is up.

        Incremental: the ports not up yet are kept in a list, and after each event only the last of them is
        looked at (dropped when up); when the list is empty, one full check either ends the run or
        refills the list with the ports that went down meanwhile. Each event costs O(1), not O(links).
        """
        pending = self._ports_down()

        def all_up() -> bool:
            while pending:
                dev, iface = pending[-1]
                router = self.devices[dev]
                if router.interface_enabled(iface) and not router.protocol_up(iface):
                    return False
                pending.pop()
            pending.extend(self._ports_down())
            return not pending
        return self.sim.run_until(all_up, timeout)

    def _ports_down(self) -> list[tuple[str, str]]:
        """The ports that can come up and are not up, the first of the file last (it is looked at first)."""
        down = []
        for link in self.links:
            if link.kind == "serial" and not self._serial_carrier(link):
                continue
            for dev, iface in link.ports:
                router = self.devices[dev]
                if router.interface_enabled(iface) and not router.protocol_up(iface):
                    down.append((dev, iface))
        return down[::-1]

    def advance(self, duration: int) -> None:
        """Move the lab clock on by ``duration`` ns, running everything due on the way."""
        self.sim.run_for(duration)
