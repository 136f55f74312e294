"""UDP (RFC 768).

Header: source port, destination port, length (header + data), checksum over
the IPv4 pseudo-header, the header and the data.  A transmitted checksum of 0
means "no checksum"; a computed 0 is sent as 0xFFFF (RFC 768, "Fields").
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Self

from emulator.wire.checksum import internet_checksum, pseudo_header
from emulator.wire.ipv4 import PROTO_UDP
from emulator.wire.reader import Reader

__all__ = ["UDPPort", "HEADER_LEN", "PORT_ISAKMP", "UDPDatagram"]

HEADER_LEN = 8


class UDPPort(enum.IntEnum):
    """Well-known ports the emulator serves (IANA "Service Name and Transport Protocol Port Number")."""

    ISAKMP = 500         # RFC 2408
    IPSEC_NAT_T = 4500   # RFC 3948 section 2 (UDP encapsulation of ESP), RFC 3947


PORT_ISAKMP = UDPPort.ISAKMP

_HDR = struct.Struct("!HHHH")


@dataclass(frozen=True, slots=True)
class UDPDatagram:
    """A UDP datagram; ``checksum`` reports what ``decode`` read (ignored by equality)."""

    src_port: int
    dst_port: int
    payload: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    @property
    def length(self) -> int:
        return HEADER_LEN + len(self.payload)

    def encode(self, src: IPv4Address | bytes, dst: IPv4Address | bytes, *, with_checksum: bool = True) -> bytes:
        """Serialise for the IPv4 ``src``/``dst`` pair.

        ``with_checksum=False`` sends checksum 0 ("none"), as RFC 3948 section
        3.1 recommends for UDP-encapsulated ESP.
        """
        length = HEADER_LEN + len(self.payload)
        if length > 0xFFFF:
            raise ValueError(f"udp: datagram too long ({length} bytes)")
        try:
            header = _HDR.pack(self.src_port, self.dst_port, length, 0)
        except struct.error as exc:
            raise ValueError(f"udp: cannot encode: {exc}") from None
        if not with_checksum:
            return header + self.payload
        ck = internet_checksum(pseudo_header(src, dst, PROTO_UDP, length) + header + self.payload) or 0xFFFF
        return header[:6] + ck.to_bytes(2, "big") + self.payload

    @classmethod
    def decode(cls, data: bytes, src: IPv4Address | bytes, dst: IPv4Address | bytes, verify: bool = True) -> Self:
        """Parse a datagram; bytes beyond the Length field are dropped.

        A checksum field of 0 is accepted without verification (RFC 768).
        """
        r = Reader(data, "header", "udp")
        sport, dport, length, ck = r.unpack(_HDR)
        if length < HEADER_LEN:
            raise r.error(f"bad length field {length} (minimum {HEADER_LEN})")
        n = len(data)
        if length > n:
            raise r.error(f"truncated datagram: length field {length}, have {n} bytes")
        if length != n:
            data = data[:length]
        if verify and ck and internet_checksum(pseudo_header(src, dst, PROTO_UDP, length) + data) != 0:
            raise r.error("bad checksum")
        return cls(sport, dport, bytes(data[HEADER_LEN:]), ck)
