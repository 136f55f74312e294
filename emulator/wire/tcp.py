"""TCP segment header (RFC 793 section 3.1, "Header Format"; RFC 9293 section 3.1).

The checksum covers the IPv4 pseudo-header, the TCP header and the data
(RFC 793 section 3.1, "Checksum"); unlike UDP it is mandatory.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Self

from emulator.wire.checksum import internet_checksum, pseudo_header
from emulator.wire.ipv4 import PROTO_TCP
from emulator.wire.reader import Reader

__all__ = [
    "TCPFlag", "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR",
    "HEADER_LEN", "MAX_OPTIONS_LEN", "TCPSegment",
]


class TCPFlag(enum.IntEnum):
    """Control bits (RFC 793 section 3.1), low bits of byte 13; ECE/CWR from RFC 3168 section 23.2.

    An IntEnum, not an IntFlag: ``flags & ACK`` then stays plain int arithmetic.
    """

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80


FIN = TCPFlag.FIN
SYN = TCPFlag.SYN
RST = TCPFlag.RST
PSH = TCPFlag.PSH
ACK = TCPFlag.ACK
URG = TCPFlag.URG
ECE = TCPFlag.ECE
CWR = TCPFlag.CWR

HEADER_LEN = 20
MAX_OPTIONS_LEN = 40  # Data Offset is 4 bits: at most 60 header bytes

_HDR = struct.Struct("!HHIIBBHHH")


@dataclass(frozen=True, slots=True)
class TCPSegment:
    """A TCP segment.

    ``flags`` is the 8-bit control field (OR of FIN, SYN, ...).  ``options``
    is the raw option bytes; ``encode`` zero-pads them to 4 bytes (End of
    Option List).  ``checksum`` reports what ``decode`` read (ignored by
    equality); ``encode`` always computes it.
    """

    src_port: int
    dst_port: int
    seq: int = 0
    ack: int = 0
    flags: int = 0
    window: int = 65535
    urgent: int = 0
    options: bytes = b""
    payload: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    @property
    def data_offset(self) -> int:
        """Header length in 32-bit words."""
        return 5 + ((len(self.options) + 3) >> 2)

    def has(self, flag: int) -> bool:
        """True if all bits in ``flag`` are set."""
        return self.flags & flag == flag

    def encode(self, src: IPv4Address | bytes, dst: IPv4Address | bytes) -> bytes:
        opts = self.options
        if len(opts) & 3:
            opts = opts + bytes(4 - (len(opts) & 3))
        if len(opts) > MAX_OPTIONS_LEN:
            raise ValueError(f"tcp: options too long ({len(opts)} bytes, maximum {MAX_OPTIONS_LEN})")
        try:
            header = _HDR.pack(self.src_port, self.dst_port, self.seq, self.ack,
                               (5 + (len(opts) >> 2)) << 4, self.flags,
                               self.window, 0, self.urgent) + opts
        except struct.error as exc:
            raise ValueError(f"tcp: cannot encode: {exc}") from None
        length = len(header) + len(self.payload)
        ck = internet_checksum(pseudo_header(src, dst, PROTO_TCP, length) + header + self.payload)
        return header[:16] + ck.to_bytes(2, "big") + header[18:] + self.payload

    @classmethod
    def decode(cls, data: bytes, src: IPv4Address | bytes, dst: IPv4Address | bytes, verify: bool = True) -> Self:
        """Parse a segment (the IPv4 payload, already trimmed to total length)."""
        r = Reader(data, "header", "tcp")
        sport, dport, seq, ack, off, flags, window, ck, urgent = r.unpack(_HDR)
        offset = off >> 4
        if offset < 5:
            raise r.error(f"bad data offset {offset} (minimum 5)")
        options = r.take((offset - 5) << 2, f"options (data offset {offset})")
        if len(data) > 0xFFFF:
            raise r.error(f"segment of {len(data)} bytes exceeds what an IPv4 datagram carries")
        if verify and internet_checksum(pseudo_header(src, dst, PROTO_TCP, len(data)) + data) != 0:
            raise r.error("bad checksum")
        return cls(sport, dport, seq, ack, flags, window, urgent, options, r.rest(), ck)
