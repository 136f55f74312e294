"""An emulated IOS device: its configuration, its interfaces and its console log.

Hosts are the same kind of device configured as hosts (``no ip routing`` and
``ip default-gateway``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Protocol

from emulator.config.commands import ConfigContext
from emulator.config.loader import load_config
from emulator.config.model import Interface
from emulator.device.ip import IPStack
from emulator.device.platform import PLATFORMS, Platform
from emulator.labtime import MS, SECOND


class Clock(Protocol):
    now: int    # lab time, integer nanoseconds


@dataclass
class Counters:
    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0
    broadcasts_in: int = 0
    input_errors: int = 0
    crc: int = 0
    runts: int = 0
    giants: int = 0
    output_errors: int = 0
    output_drops: int = 0
    input_drops: int = 0
    resets: int = 0
    carrier_transitions: int = 0
    last_input: int | None = None     # lab time (ns)
    last_output: int | None = None
    cleared: int | None = None
    # "5 minute input/output rate": exponentially decayed averages, sampled every LOAD_INTERVAL.
    in_bps: float = 0.0
    in_pps: float = 0.0
    out_bps: float = 0.0
    out_pps: float = 0.0
    sampled: tuple[int, int, int, int] = (0, 0, 0, 0)


LOAD_SECONDS = 5                              # IOS samples interface load every 5 seconds
LOAD_INTERVAL = LOAD_SECONDS * SECOND
LOAD_DECAY = math.exp(-LOAD_SECONDS / 300)    # ... into a 5-minute exponentially weighted average


@dataclass
class InterfaceState:
    """What an interface is doing now, beside what its configuration says."""

    name: str
    mac: bytes = b""
    carrier: bool = False          # cabled to a port that is not shut down
    line_protocol: bool = False    # set by the link layer (keepalives, LCP)
    negotiated: IPv4Address | None = None  # address learnt through IPCP
    address_method: str = "unset"  # NVRAM | manual | IPCP | unset
    lcp_state: str | None = None   # PPP: e.g. "Open", "REQsent"
    open_ncps: tuple[str, ...] = ()
    peer_address: IPv4Address | None = None  # the far end's address, from IPCP
    last_input_error: str | None = None
    counters: Counters = field(default_factory=Counters)


class Router(IPStack):
    """One emulated device, built from its configuration text."""

    def __init__(self, name: str, config_text: str, source: str = "<config>",
                 platform: Platform | None = None, clock: Clock | None = None, seed: int = 0):
        self.name = name
        self.platform = platform or PLATFORMS["2501"]
        self.clock = clock
        self.boot_time = clock.now if clock else 0
        self.seed = seed
        self.startup_config = config_text
        self.log_buffer: list[str] = []
        self.config, self.boot_errors = load_config(config_text, source, list(self.platform.interfaces))
        self.state: dict[str, InterfaceState] = {}
        self.debugs: set[str] = set()
        self.operator_secrets: dict[str, str] = {}
        IPStack.__init__(self)
        for iface in self.config.interfaces.values():
            st = self._state(iface.name)
            if iface.address is not None or iface.stated:
                st.address_method = "NVRAM"
            if iface.negotiated:
                st.address_method = "IPCP"

    # ------------------------------------------------------------ identity
    @property
    def hostname(self) -> str:
        return self.config.hostname

    @property
    def now(self) -> int:
        """Lab time, ns."""
        return self.clock.now if self.clock else 0

    @property
    def uptime(self) -> int:
        """Time since boot, ns."""
        return self.now - self.boot_time

    def _state(self, name: str) -> InterfaceState:
        if name not in self.state:
            digest = hashlib.sha256(f"{self.seed}/{self.name}/{name}".encode()).digest()
            # Cisco's OUI 00:00:0C, the rest fixed by the lab seed and the port.
            self.state[name] = InterfaceState(name, mac=b"\x00\x00\x0c" + digest[:3])
        return self.state[name]

    def interface_state(self, name: str) -> InterfaceState:
        return self._state(name)

    def start_load_sampling(self) -> None:
        """Keep the 5-minute rates of ``show interfaces`` on the lab clock."""
        if self.clock is not None and hasattr(self.clock, "call_later"):
            self.clock.call_later(LOAD_INTERVAL, self._sample_load)

    def _sample_load(self) -> None:
        for st in self.state.values():
            c = st.counters
            now = (c.bytes_in, c.packets_in, c.bytes_out, c.packets_out)
            d = [max(0, a - b) for a, b in zip(now, c.sampled)]
            c.sampled = now
            c.in_bps = c.in_bps * LOAD_DECAY + d[0] * 8 / LOAD_SECONDS * (1 - LOAD_DECAY)
            c.in_pps = c.in_pps * LOAD_DECAY + d[1] / LOAD_SECONDS * (1 - LOAD_DECAY)
            c.out_bps = c.out_bps * LOAD_DECAY + d[2] * 8 / LOAD_SECONDS * (1 - LOAD_DECAY)
            c.out_pps = c.out_pps * LOAD_DECAY + d[3] / LOAD_SECONDS * (1 - LOAD_DECAY)
        self.clock.call_later(LOAD_INTERVAL, self._sample_load)

    def clear_counters(self, name: str | None = None) -> None:
        for iface, st in self.state.items():
            if name is None or iface == name:
                st.counters = Counters(cleared=self.now)

    def processor_board_id(self) -> str:
        digest = hashlib.sha256(f"{self.seed}/{self.name}/board".encode()).digest()
        return f"{int.from_bytes(digest[:4], 'big') % 100000000:08d}"

    # ------------------------------------------------------------ configuration
    def config_context(self) -> ConfigContext:
        return ConfigContext(self.config, set(self.platform.interfaces), on_change=self._config_changed)

    def _config_changed(self, what: str, iface: Interface) -> None:
        st = self._state(iface.name)
        if what == "address":
            st.address_method = "IPCP" if iface.negotiated else ("manual" if iface.address else "unset")
            if not iface.negotiated:
                st.negotiated = None
            self.link_reconfigured(iface.name)
        elif what == "shutdown":
            if iface.shutdown:
                self.log(f"%LINK-5-CHANGED: Interface {iface.name}, changed state to administratively down")
            self.admin_changed(iface.name, not iface.shutdown)
        elif what in ("keepalive", "encapsulation"):
            self.link_reconfigured(iface.name)
        elif what == "crypto map" and iface.crypto_map:
            self.log(self.crypto.isakmp_on_message())
        self.invalidate_routes()

    def config_applied(self) -> None:
        """A configuration line was taken: derived state (routes) is recomputed when next needed,
        and the NAT timer follows any new translation timeout."""
        self.invalidate_routes()
        if self.clock is not None:
            self.nat_binding.poke()

    def apply_extra_config(self, lines: list[str], source: str) -> None:
        """Configuration a lab adds to the device's file (for automation: enable secret, users).

        The lab's operator knows the clear text of a secret it types here, which the device
        keeps only hashed: ``operator_secrets`` holds it for tools such as the served lab's inventory.
        """
        _, errors = load_config("\n".join(lines), source, list(self.platform.interfaces), cfg=self.config)
        self.boot_errors += errors
        for line in lines:
            words = line.split()
            if words[:2] == ["enable", "secret"] and len(words) in (3, 4) and (len(words) == 3 or words[2] == "0"):
                self.operator_secrets["enable"] = words[-1]

    def replace_startup(self, text: str) -> None:
        self.startup_config = text

    # ------------------------------------------------------------ interfaces
    def interface_address(self, name: str) -> IPv4Interface | None:
        """The primary address in use: configured, or learnt through IPCP (a /32)."""
        try:
            return self._addr_cache[name]
        except KeyError:
            value = self._addr_cache[name] = self._interface_address(name)
            return value

    def _interface_address(self, name: str) -> IPv4Interface | None:
        iface = self.config.interfaces.get(name)
        if iface is None:
            return None
        if iface.negotiated:
            st = self.state.get(name)
            return IPv4Interface(f"{st.negotiated}/32") if st and st.negotiated else None
        if iface.address is None:
            return None
        return IPv4Interface(f"{iface.address}/{iface.mask}")

    def link_status(self, name: str) -> str:
        """``up``, ``down`` or ``administratively down``, as IOS words the first column."""
        iface = self.config.interfaces[name]
        if iface.shutdown:
            return "administratively down"
        return "up" if self._state(name).carrier else "down"

    def protocol_up(self, name: str) -> bool:
        st = self._state(name)
        return self.link_status(name) == "up" and st.line_protocol

    # ------------------------------------------------------------ logging
    def log(self, message: str) -> None:
        """A console message, stamped as ``service timestamps log`` says."""
        self.log_buffer.append(self.timestamp("log") + message)

    def debug_log(self, message: str) -> None:
        """A debug message, stamped as ``service timestamps debug`` says."""
        self.log_buffer.append(self.timestamp("debug") + message)

    def timestamp(self, facility: str) -> str:
        ts = next((t for t in self.config.timestamps if t.facility == facility), None)
        if ts is None:
            return ""
        t = self.uptime
        if ts.format == "datetime":
            # IOS without a calendar starts at Mar 1 00:00:00 1993.
            secs = t // SECOND
            day = 1 + secs // 86400
            text = f"*Mar {day:2d} {secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
            if "msec" in ts.options:
                text += f".{t // MS % 1000:03d}"
            return text + ": "
        return format_uptime_stamp(t) + ": "


def format_uptime_stamp(ns: int) -> str:
    """IOS ``uptime`` time stamps of a duration in ns: hh:mm:ss for the first day, then 1d02h, then 1w2d."""
    s = ns // SECOND
    days, hours = s // 86400, s // 3600 % 24
    if days == 0:
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    if days < 7:
        return f"{days}d{hours:02d}h"
    return f"{days // 7}w{days % 7}d"


def format_uptime(ns: int) -> str:
    """``show version`` uptime of a duration in ns: ``1 week, 2 days, 3 hours, 4 minutes``."""
    minutes = ns // SECOND // 60
    parts = []
    for unit, size in (("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60)):
        if minutes >= size:
            n, minutes = divmod(minutes, size)
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return ", ".join(parts)
