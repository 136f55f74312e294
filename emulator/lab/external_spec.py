"""The ``external:`` section of a lab file: ports of emulated devices cabled to the outside.

Each entry names one port and what it is cabled to::

    external:
      - port: hub Serial0                       # a UDP pseudo-wire (Dynamips/GNS3 "UDP NIO")
        udp: {local: 127.0.0.1:40000, remote: 127.0.0.1:40001}
      - port: hub Serial1                       # a TUN device: Linux sees plain IP
        tun: iop0
        netns: iop                              # optional: the device is moved into this namespace
        address: 192.0.2.2/24                   # optional: the Linux side's address
        peer_address: 198.51.100.1              # PPP only: offered to the port by IPCP
      - port: hub Ethernet1                     # a TAP device: Linux shares the Ethernet segment
        tap: lab0
        netns: iop
        address: 10.9.9.50/24

One of ``udp``, ``tun`` (serial ports) or ``tap`` (Ethernet ports) per entry;
``bandwidth_kbps`` and ``delay_ms`` time the stretch of wire between the port
and the outside as on a link. A port is either on a link or external, not both.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ExternalSpec", "ExternalSpecError", "parse_external", "KINDS"]

KINDS = ("udp", "tun", "tap")
_KEYS = {"port", "udp", "tun", "tap", "netns", "address", "peer_address", "bandwidth_kbps", "delay_ms"}
_IFNAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")     # a Linux interface name (IFNAMSIZ - 1)
_NETNS = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ExternalSpecError(Exception):
    """An external port entry that cannot be used: the key within the entry and what is wrong."""

    def __init__(self, key: str, reason: str):
        super().__init__(reason)
        self.key, self.reason = key, reason


@dataclass(frozen=True)
class ExternalSpec:
    port: str                          # "DEVICE INTERFACE" as written (checked by the lab file)
    kind: str                          # udp | tun | tap
    local: tuple[str, int] | None = None      # udp: the address and port this process binds
    remote: tuple[str, int] | None = None     # udp: where its datagrams go
    ifname: str | None = None          # tun / tap: the Linux interface
    netns: str | None = None
    address: ipaddress.IPv4Interface | None = None
    peer_address: ipaddress.IPv4Address | None = None
    bandwidth_kbps: float | None = None
    delay_ms: float | None = None

    def describe(self) -> str:
        if self.kind == "udp":
            assert self.local is not None and self.remote is not None
            return f"UDP {self.local[0]}:{self.local[1]} -> {self.remote[0]}:{self.remote[1]}"
        where = f" in netns {self.netns}" if self.netns else ""
        return f"{self.kind.upper()} {self.ifname}{where}"


def _endpoint(key: str, value: Any) -> tuple[str, int]:
    """``HOST:PORT`` (a numeric IPv4 address; HOST may be left out for 127.0.0.1)."""
    text = str(value)
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text
    try:
        port = int(port_text)
        ipaddress.IPv4Address(host)
    except ValueError:
        raise ExternalSpecError(key, f"{text!r} must be written A.B.C.D:PORT") from None
    if not 0 <= port <= 65535:
        raise ExternalSpecError(key, f"{port} is not a UDP port (0-65535)")
    return host, port


def _udp(raw: Any) -> tuple[tuple[str, int], tuple[str, int]]:
    if not isinstance(raw, dict) or set(raw) != {"local", "remote"}:
        raise ExternalSpecError("udp", "must be a mapping {local: A.B.C.D:PORT, remote: A.B.C.D:PORT}")
    local, remote = _endpoint("udp.local", raw["local"]), _endpoint("udp.remote", raw["remote"])
    if remote[1] == 0:
        raise ExternalSpecError("udp.remote", "needs the far end's port, not 0")
    return local, remote


def _number(key: str, value: Any, minimum: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not minimum <= value < math.inf:
        raise ExternalSpecError(key, f"must be a number >= {minimum:g}, not {value!r}")
    return float(value)


def _linux(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The fields of a TUN or TAP port."""
    fields: dict[str, Any] = {}
    name = str(raw[kind])
    if not _IFNAME.match(name):
        raise ExternalSpecError(kind, f"{name!r} is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . -)")
    fields["ifname"] = name
    if "netns" in raw:
        netns = str(raw["netns"])
        if not _NETNS.match(netns):
            raise ExternalSpecError("netns", f"{netns!r} is not a network namespace name")
        fields["netns"] = netns
    if "address" in raw:
        try:
            fields["address"] = ipaddress.IPv4Interface(str(raw["address"]))
        except ValueError:
            raise ExternalSpecError("address", f"{raw['address']!r} must be A.B.C.D/LEN") from None
    if "peer_address" in raw:
        if kind != "tun":
            raise ExternalSpecError("peer_address", "applies to tun ports only (IPCP on a PPP serial line)")
        try:
            fields["peer_address"] = ipaddress.IPv4Address(str(raw["peer_address"]))
        except ValueError:
            raise ExternalSpecError("peer_address", f"{raw['peer_address']!r} must be A.B.C.D") from None
    return fields


def parse_external(raw: Any) -> ExternalSpec:
    """One entry of ``external:``; raises ``ExternalSpecError`` naming the key at fault."""
    if not isinstance(raw, dict):
        raise ExternalSpecError("", "must be a mapping such as {port: R1 Serial0, tun: iop0}")
    unknown = sorted(str(k) for k in set(raw) - _KEYS)
    if unknown:
        raise ExternalSpecError(unknown[0], f"unknown key (expected {', '.join(sorted(_KEYS))})")
    if "port" not in raw:
        raise ExternalSpecError("port", "missing: the 'DEVICE INTERFACE' cabled to the outside")
    kinds = [k for k in KINDS if k in raw]
    if len(kinds) != 1:
        raise ExternalSpecError("", "needs exactly one of 'udp', 'tun' or 'tap'")
    kind = kinds[0]
    fields: dict[str, Any] = {}
    if kind == "udp":
        fields["local"], fields["remote"] = _udp(raw["udp"])
        for key in ("netns", "address", "peer_address"):
            if key in raw:
                raise ExternalSpecError(key, "applies to tun and tap ports only")
    else:
        fields.update(_linux(kind, raw))
    if "bandwidth_kbps" in raw:
        fields["bandwidth_kbps"] = _number("bandwidth_kbps", raw["bandwidth_kbps"], 0.001)
    if "delay_ms" in raw:
        fields["delay_ms"] = _number("delay_ms", raw["delay_ms"], 0)
    return ExternalSpec(str(raw["port"]), kind, **fields)
