"""ARP for IPv4 over Ethernet (RFC 826, "Packet format").

Hardware type 1 (Ethernet), protocol type 0x0800, hlen 6, plen 4; opcodes
1 request and 2 reply (RFC 826; IANA "ARP Parameters" registry).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Self

from emulator.wire.ethernet import EtherType
from emulator.wire.reader import Reader

__all__ = ["HardwareType", "ArpOp", "HTYPE_ETHERNET", "PTYPE_IPV4", "OP_REQUEST", "OP_REPLY",
           "ARP_LEN", "ZERO_MAC", "ARPPacket"]


class HardwareType(enum.IntEnum):
    """ar$hrd (RFC 826; IANA "Hardware Types")."""

    ETHERNET = 1


class ArpOp(enum.IntEnum):
    """ar$op (RFC 826; IANA "Operation Codes")."""

    REQUEST = 1   # ares_op$REQUEST
    REPLY = 2     # ares_op$REPLY


HTYPE_ETHERNET = HardwareType.ETHERNET
PTYPE_IPV4 = EtherType.IPV4   # RFC 826 ar$pro is the EtherType of the protocol
OP_REQUEST = ArpOp.REQUEST
OP_REPLY = ArpOp.REPLY
ARP_LEN = 28             # 8 fixed bytes + 2 * (6 + 4)
ZERO_MAC = bytes(6)      # target hardware address of a request (RFC 826: "don't care")

_FMT = struct.Struct("!HHBBH6s4s6s4s")


@dataclass(frozen=True, slots=True)
class ARPPacket:
    """An Ethernet/IPv4 ARP packet (28 bytes)."""

    op: int
    sender_mac: bytes
    sender_ip: IPv4Address
    target_mac: bytes
    target_ip: IPv4Address

    @classmethod
    def request(cls, sender_mac: bytes, sender_ip: IPv4Address, target_ip: IPv4Address) -> Self:
        return cls(OP_REQUEST, sender_mac, sender_ip, ZERO_MAC, target_ip)

    @classmethod
    def reply(cls, sender_mac: bytes, sender_ip: IPv4Address, target_mac: bytes, target_ip: IPv4Address) -> Self:
        return cls(OP_REPLY, sender_mac, sender_ip, target_mac, target_ip)

    @property
    def is_gratuitous(self) -> bool:
        """Sender and target protocol address equal (RFC 5227 section 3)."""
        return self.sender_ip == self.target_ip

    def encode(self) -> bytes:
        if len(self.sender_mac) != 6 or len(self.target_mac) != 6:
            raise ValueError("arp: MAC addresses must be 6 bytes")
        try:
            return _FMT.pack(HTYPE_ETHERNET, PTYPE_IPV4, 6, 4, self.op,
                             self.sender_mac, self.sender_ip.packed,
                             self.target_mac, self.target_ip.packed)
        except struct.error as exc:
            raise ValueError(f"arp: cannot encode: {exc}") from None

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Parse an ARP packet; trailing bytes (Ethernet padding) are ignored."""
        r = Reader(data, "packet", "arp")
        htype, ptype, hlen, plen, op, sha, spa, tha, tpa = r.unpack(_FMT)
        if htype != HTYPE_ETHERNET:
            raise r.error(f"unsupported hardware type {htype}")
        if ptype != PTYPE_IPV4:
            raise r.error(f"unsupported protocol type 0x{ptype:04x}")
        if hlen != 6 or plen != 4:
            raise r.error(f"bad address lengths hlen={hlen} plen={plen}")
        return cls(op, sha, IPv4Address(spa), tha, IPv4Address(tpa))
