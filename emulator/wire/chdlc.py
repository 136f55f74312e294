"""Cisco HDLC framing and SLARP, as captured with LINKTYPE_C_HDLC (104).

Cisco HDLC has no RFC.  Format and constants below were checked against
independent descriptions, which agree:

* tcpdump ``print-chdlc.c`` (``CHDLC_UNICAST 0x0f``, ``CHDLC_BCAST 0x80``
  bit, ``struct cisco_slarp``, ``SLARP_MIN_LEN 14``, ``SLARP_MAX_LEN 18`` with
  an optional 4-byte uptime stamp in milliseconds after a keepalive);
* Scapy ``scapy/contrib/chdlc.py`` (layers ``CHDLC`` and ``SLARP``), which
  cites William Westfield's note "cisco-hdlc.txt" (nethelp.no);
* the Wikipedia "Cisco HDLC" article and Nokia 7705 SAR documentation
  (address 0x0F unicast / 0x8F broadcast, control 0x00, protocol 0x0800 IP
  and 0x8035 SLARP);
* Wireshark's Cisco HDLC / SLARP dissectors (tshark 4.0 fields
  ``chdlc.address``, ``slarp.ptype``, ``slarp.mysequence``,
  ``slarp.reliability`` with the expert note "Reliability must be 0xFFFF"),
  exercised by the tests when tshark is installed.

Captured frame (no flags, no FCS)::

    address(1) control(1) protocol(2) information(...)

SLARP message (14 bytes, big-endian)::

    opcode(4) = 0 request | 1 reply:  address(4) mask(4) reserved(2)
    opcode(4) = 2 keepalive:          mysequence(4) yoursequence(4) reliability(2)
                                      [uptime in ms (4), optional]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Self

from emulator.wire.errors import DecodeError

__all__ = [
    "ADDRESS_UNICAST", "ADDRESS_BROADCAST", "CONTROL", "PROTO_IPV4", "PROTO_SLARP",
    "PROTO_IPV6", "PROTO_CDP", "HEADER_LEN",
    "SLARP_REQUEST", "SLARP_REPLY", "SLARP_KEEPALIVE", "SLARP_LEN", "SLARP_LEN_WITH_UPTIME",
    "RELIABILITY",
    "CHDLCFrame", "SlarpAddress", "SlarpKeepalive", "decode_slarp",
]

ADDRESS_UNICAST = 0x0F     # tcpdump CHDLC_UNICAST; Scapy CHDLC address "unicast"
ADDRESS_BROADCAST = 0x8F   # tcpdump CHDLC_BCAST (0x80) | unicast; Scapy "multicast"
CONTROL = 0x00             # always zero (tcpdump, Scapy default, Wikipedia)
# The protocol field carries an EtherType (tcpdump ``chdlc_print`` switch).
PROTO_IPV4 = 0x0800
PROTO_SLARP = 0x8035       # tcpdump CHDLC_TYPE_SLARP; Scapy bind_layers(CHDLC, SLARP, proto=0x8035)
PROTO_IPV6 = 0x86DD
PROTO_CDP = 0x2000         # tcpdump CHDLC_TYPE_CDP
HEADER_LEN = 4

SLARP_REQUEST = 0
SLARP_REPLY = 1
SLARP_KEEPALIVE = 2
SLARP_LEN = 14              # tcpdump SLARP_MIN_LEN
SLARP_LEN_WITH_UPTIME = 18  # tcpdump SLARP_MAX_LEN
RELIABILITY = 0xFFFF        # keepalive reliability (Scapy default; Wireshark: "must be 0xFFFF")

_HDR = struct.Struct("!BBH")
_SLARP_ADDR = struct.Struct("!I4s4sH")
_SLARP_KEEP = struct.Struct("!IIIH")
_UPTIME = struct.Struct("!I")
_VALID_ADDRESSES = (ADDRESS_UNICAST, ADDRESS_BROADCAST)


@dataclass(frozen=True, slots=True)
class CHDLCFrame:
    """A Cisco HDLC frame as captured (no flag bytes, no FCS)."""

    protocol: int
    payload: bytes = b""
    address: int = ADDRESS_UNICAST
    control: int = CONTROL

    def encode(self) -> bytes:
        try:
            return _HDR.pack(self.address, self.control, self.protocol) + self.payload
        except struct.error as exc:
            raise ValueError(f"chdlc: cannot encode: {exc}") from None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Parse a frame; address must be 0x0F or 0x8F and control 0x00."""
        if len(data) < HEADER_LEN:
            raise DecodeError("chdlc", f"frame too short: {len(data)} bytes, need at least {HEADER_LEN}")
        address, control, protocol = _HDR.unpack_from(data)
        if address not in _VALID_ADDRESSES:
            raise DecodeError("chdlc", f"bad address 0x{address:02x}")
        if control != CONTROL:
            raise DecodeError("chdlc", f"bad control 0x{control:02x}")
        return cls(protocol, bytes(data[HEADER_LEN:]), address, control)


@dataclass(frozen=True, slots=True)
class SlarpAddress:
    """SLARP address request (opcode 0; address and mask zero) or reply (opcode 1)."""

    opcode: int = SLARP_REQUEST
    address: IPv4Address = IPv4Address(0)
    mask: IPv4Address = IPv4Address(0)
    reserved: int = 0

    def encode(self) -> bytes:
        if self.opcode not in (SLARP_REQUEST, SLARP_REPLY):
            raise ValueError(f"slarp: opcode {self.opcode} is not an address request/reply")
        try:
            return _SLARP_ADDR.pack(self.opcode, self.address.packed, self.mask.packed, self.reserved)
        except struct.error as exc:
            raise ValueError(f"slarp: cannot encode: {exc}") from None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        msg = decode_slarp(data)
        if not isinstance(msg, cls):
            raise DecodeError("slarp", f"opcode {SLARP_KEEPALIVE} is not an address request/reply")
        return msg


@dataclass(frozen=True, slots=True)
class SlarpKeepalive:
    """SLARP keepalive (opcode 2).  ``uptime_ms`` is the optional trailing stamp."""

    my_sequence: int
    your_sequence: int
    reliability: int = RELIABILITY
    uptime_ms: int | None = None

    opcode = SLARP_KEEPALIVE  # class constant, not a field

    def encode(self) -> bytes:
        try:
            body = _SLARP_KEEP.pack(SLARP_KEEPALIVE, self.my_sequence, self.your_sequence, self.reliability)
            if self.uptime_ms is not None:
                body += _UPTIME.pack(self.uptime_ms)
        except struct.error as exc:
            raise ValueError(f"slarp: cannot encode: {exc}") from None
        return body

    @classmethod
    def decode(cls, data: bytes) -> Self:
        msg = decode_slarp(data)
        if not isinstance(msg, cls):
            raise DecodeError("slarp", f"opcode {msg.opcode} is not a keepalive")
        return msg


def decode_slarp(data: bytes) -> SlarpAddress | SlarpKeepalive:
    """Parse a SLARP message (the payload of a protocol 0x8035 frame)."""
    n = len(data)
    if n < SLARP_LEN:
        raise DecodeError("slarp", f"message too short: {n} bytes, need at least {SLARP_LEN}")
    opcode = int.from_bytes(data[0:4], "big")
    if opcode == SLARP_KEEPALIVE:
        _, mine, yours, rel = _SLARP_KEEP.unpack_from(data)
        uptime = _UPTIME.unpack_from(data, SLARP_LEN)[0] if n >= SLARP_LEN_WITH_UPTIME else None
        return SlarpKeepalive(mine, yours, rel, uptime)
    if opcode in (SLARP_REQUEST, SLARP_REPLY):
        _, addr, mask, reserved = _SLARP_ADDR.unpack_from(data)
        return SlarpAddress(opcode, IPv4Address(addr), IPv4Address(mask), reserved)
    raise DecodeError("slarp", f"unknown opcode {opcode}")
