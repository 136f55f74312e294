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

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Self

from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import EtherType
from emulator.wire.reader import Reader

__all__ = [
    "ChdlcAddress", "SlarpOpcode",
    "ADDRESS_UNICAST", "ADDRESS_BROADCAST", "CONTROL", "PROTO_IPV4", "PROTO_SLARP",
    "HEADER_LEN",
    "SLARP_REQUEST", "SLARP_REPLY", "SLARP_KEEPALIVE", "RELIABILITY",
    "CHDLCFrame", "SlarpAddress", "SlarpKeepalive", "decode_slarp",
]


class ChdlcAddress(enum.IntEnum):
    """The address byte of a frame."""

    UNICAST = 0x0F     # tcpdump CHDLC_UNICAST; Scapy CHDLC address "unicast"
    BROADCAST = 0x8F   # tcpdump CHDLC_BCAST (0x80) | unicast; Scapy "multicast"


class SlarpOpcode(enum.IntEnum):
    """The first word of a SLARP message."""

    REQUEST = 0
    REPLY = 1
    KEEPALIVE = 2


ADDRESS_UNICAST = ChdlcAddress.UNICAST
ADDRESS_BROADCAST = ChdlcAddress.BROADCAST
CONTROL = 0x00             # always zero (tcpdump, Scapy default, Wikipedia)
# The protocol field carries an EtherType (tcpdump ``chdlc_print`` switch).
PROTO_IPV4 = EtherType.IPV4
PROTO_SLARP = EtherType.SLARP  # Scapy bind_layers(CHDLC, SLARP, proto=0x8035)
HEADER_LEN = 4

SLARP_REQUEST = SlarpOpcode.REQUEST
SLARP_REPLY = SlarpOpcode.REPLY
SLARP_KEEPALIVE = SlarpOpcode.KEEPALIVE
RELIABILITY = 0xFFFF        # keepalive reliability (Scapy default; Wireshark: "must be 0xFFFF")

_HDR = struct.Struct("!BBH")
# Opcode and either body make 14 bytes (tcpdump SLARP_MIN_LEN); the optional
# uptime stamp after a keepalive makes 18 (SLARP_MAX_LEN).
_OPCODE = struct.Struct("!I")
_SLARP_ADDR = struct.Struct("!4s4sH")
_SLARP_KEEP = struct.Struct("!IIH")
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
        r = Reader(data, "header", "chdlc")
        address, control, protocol = r.unpack(_HDR)
        if address not in _VALID_ADDRESSES:
            raise r.error(f"bad address 0x{address:02x}")
        if control != CONTROL:
            raise r.error(f"bad control 0x{control:02x}")
        return cls(protocol, r.rest(), address, control)


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
            return _OPCODE.pack(self.opcode) + _SLARP_ADDR.pack(self.address.packed, self.mask.packed, self.reserved)
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
            body = _OPCODE.pack(SLARP_KEEPALIVE) + _SLARP_KEEP.pack(self.my_sequence, self.your_sequence,
                                                                    self.reliability)
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
    r = Reader(data, "message", "slarp")
    opcode = r.u32("opcode")
    if opcode == SLARP_KEEPALIVE:
        mine, yours, rel = r.unpack(_SLARP_KEEP, "keepalive")
        uptime = r.u32("uptime") if r.remaining >= _UPTIME.size else None
        return SlarpKeepalive(mine, yours, rel, uptime)
    if opcode in (SLARP_REQUEST, SLARP_REPLY):
        addr, mask, reserved = r.unpack(_SLARP_ADDR, "address")
        return SlarpAddress(opcode, IPv4Address(addr), IPv4Address(mask), reserved)
    raise r.error(f"unknown opcode {opcode}")
