"""IPv4 header (RFC 791 section 3.1, "Internet Header Format").

::

    0                   1                   2                   3
    |Version|  IHL  |Type of Service|          Total Length         |
    |         Identification        |Flags|      Fragment Offset    |
    |  Time to Live |    Protocol   |         Header Checksum       |
    |                       Source Address                          |
    |                    Destination Address                        |
    |                    Options                    |    Padding    |
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Self, TypeVar

from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.reader import Reader

__all__ = [
    "IPProto", "IPFlag",
    "PROTO_ICMP", "PROTO_TCP", "PROTO_UDP", "PROTO_GRE", "PROTO_ESP", "PROTO_AH",
    "FLAG_DF", "FLAG_MF", "HEADER_LEN", "MAX_OPTIONS_LEN",
    "IPv4Packet", "decrement_ttl", "address_of",
]


class IPProto(enum.IntEnum):
    """Protocol numbers: IANA "Assigned Internet Protocol Numbers" (RFC 790 / RFC 1700 lineage)."""

    ICMP = 1      # RFC 792
    IGMP = 2      # RFC 1112
    IPIP = 4      # IPv4 in IPv4 (RFC 2003); ESP's next header in tunnel mode (RFC 2406 section 2.6)
    TCP = 6       # RFC 793
    UDP = 17      # RFC 768
    GRE = 47      # RFC 2784
    ESP = 50      # RFC 4303
    AH = 51       # RFC 4302
    EIGRP = 88    # RFC 7868
    OSPF = 89     # RFC 2328
    PIM = 103     # RFC 7761


class IPFlag(enum.IntEnum):
    """Bits of the 3-bit Flags field (RFC 791 section 3.1): bit 0 reserved, bit 1 DF, bit 2 MF.

    An IntEnum, not an IntFlag: ``flags & FLAG_DF`` then stays plain int arithmetic.
    """

    MF = 0x1
    DF = 0x2


# Short names the rest of the emulator imports.
PROTO_ICMP = IPProto.ICMP
PROTO_TCP = IPProto.TCP
PROTO_UDP = IPProto.UDP
PROTO_GRE = IPProto.GRE
PROTO_ESP = IPProto.ESP
PROTO_AH = IPProto.AH
FLAG_DF = IPFlag.DF
FLAG_MF = IPFlag.MF

HEADER_LEN = 20
MAX_OPTIONS_LEN = 40  # IHL is 4 bits: at most 15 * 4 = 60 header bytes

_HDR = struct.Struct("!BBHHHBBH4s4s")
_P = TypeVar("_P", bound="IPv4Packet")


@dataclass(frozen=True)
class IPv4Packet:
    """An IPv4 datagram.

    ``fragment_offset`` is in 8-byte units as on the wire.  ``options`` is the
    raw option bytes; ``encode`` zero-pads them to a 4-byte boundary (the
    RFC 791 "Padding" field).  ``encode`` always computes total length and
    header checksum; ``checksum`` only reports what ``decode`` read and is
    ignored by equality.

    Not slotted: a frozen dataclass's ``__init__`` sets each of its twelve
    fields through ``object.__setattr__``, while the packets made per hop
    (``decode``, ``forwarded``, ``make``) get all of them in one assignment
    of their ``__dict__`` (half the work).
    """

    src: IPv4Address
    dst: IPv4Address
    protocol: int
    payload: bytes = b""
    ttl: int = 255
    tos: int = 0
    identification: int = 0
    flags: int = 0
    fragment_offset: int = 0
    options: bytes = b""
    checksum: int | None = field(default=None, compare=False)
    # The bytes a decoded packet came from, handed back by encode() while the packet is
    # unchanged: a router passes a packet through several stages. dataclasses.replace()
    # leaves it unset (init=False), so a changed packet is encoded anew.
    _wire: bytes | None = field(default=None, init=False, compare=False, repr=False)

    @property
    def header_length(self) -> int:
        """Header length in bytes, options padded (IHL * 4)."""
        return HEADER_LEN + ((len(self.options) + 3) & ~3)

    @property
    def total_length(self) -> int:
        return HEADER_LEN + ((len(self.options) + 3) & ~3) + len(self.payload)

    @property
    def df(self) -> bool:
        return bool(self.flags & FLAG_DF)

    @property
    def mf(self) -> bool:
        return bool(self.flags & FLAG_MF)

    @property
    def is_fragment(self) -> bool:
        """True if this is part of a fragmented datagram (MF set or offset non-zero)."""
        return bool(self.flags & FLAG_MF) or self.fragment_offset != 0

    @classmethod
    def make(cls, src: IPv4Address, dst: IPv4Address, protocol: int, payload: bytes = b"", *, ttl: int = 255,
             tos: int = 0, identification: int = 0, flags: int = 0) -> Self:
        """``IPv4Packet(src, dst, protocol, payload, ttl=..., tos=..., identification=..., flags=...)``,
        made the quick way: for a packet a device originates on the per-packet path (an echo, its reply)."""
        return _packet(cls, src, dst, protocol, payload, ttl, tos, identification, flags, 0, b"", None, None)

    def forwarded(self) -> "IPv4Packet":
        """This datagram one hop on: TTL lowered by one (the caller checked it is above 1). A decoded
        datagram keeps its wire form, the checksum patched incrementally (``decrement_ttl``)."""
        wire = self._wire
        return _packet(IPv4Packet, self.src, self.dst, self.protocol, self.payload, self.ttl - 1, self.tos,
                       self.identification, self.flags, self.fragment_offset, self.options, self.checksum,
                       decrement_ttl(wire) if wire is not None else None)

    def encode(self) -> bytes:
        if self._wire is not None:
            return self._wire
        opts = self.options
        if len(opts) & 3:
            opts = opts + bytes(4 - (len(opts) & 3))
        if len(opts) > MAX_OPTIONS_LEN:
            raise ValueError(f"ipv4: options too long ({len(opts)} bytes, maximum {MAX_OPTIONS_LEN})")
        hl = HEADER_LEN + len(opts)
        total = hl + len(self.payload)
        if total > 0xFFFF:
            raise ValueError(f"ipv4: datagram too long ({total} bytes)")
        if not 0 <= self.flags <= 7 or not 0 <= self.fragment_offset <= 0x1FFF:
            raise ValueError("ipv4: flags or fragment offset out of range")
        try:
            header = _HDR.pack(0x40 | (hl >> 2), self.tos, total, self.identification,
                               (self.flags << 13) | self.fragment_offset, self.ttl,
                               self.protocol, 0, self.src.packed, self.dst.packed) + opts
        except struct.error as exc:
            raise ValueError(f"ipv4: cannot encode: {exc}") from None
        ck = internet_checksum(header)
        wire = b"".join((header[:10], ck.to_bytes(2, "big"), header[12:], self.payload))
        self.__dict__["_wire"] = wire        # the packet is immutable: encode it once
        return wire

    @classmethod
    def decode(cls, data: bytes, *, verify: bool = True, allow_truncated: bool = False) -> Self:
        """Parse a datagram, dropping bytes beyond Total Length (link padding).

        ``verify=False`` skips the header checksum check.  ``allow_truncated``
        accepts a datagram shorter than its Total Length (e.g. the header and
        8 bytes quoted in an ICMP error); the payload is then what is present.
        """
        # Hot path: fields read in place; a Reader names what is missing when the header is cut short.
        n = len(data)
        if n < HEADER_LEN:
            Reader(data, "header", "ipv4").unpack(_HDR)       # raises the truncation error
        vihl, tos, total, ident, frag, ttl, proto, ck, src, dst = _HDR.unpack_from(data)
        if vihl >> 4 != 4:
            raise DecodeError("ipv4", f"bad version {vihl >> 4}")
        ihl = vihl & 0x0F
        if ihl < 5:
            raise DecodeError("ipv4", f"bad IHL {ihl} (minimum 5)")
        hl = ihl << 2
        if n < hl:
            r = Reader(data, "header", "ipv4")
            r.pos = HEADER_LEN
            r.take(hl - HEADER_LEN, f"options (IHL {ihl})")   # raises the truncation error
        options = bytes(data[HEADER_LEN:hl])
        if total < hl:
            raise DecodeError("ipv4", f"total length {total} smaller than header length {hl}")
        if total > n and not allow_truncated:
            raise DecodeError("ipv4", f"truncated packet: total length {total}, have {n} bytes")
        if verify and internet_checksum(data[:hl]) != 0:
            raise DecodeError("ipv4", "bad header checksum")
        addresses = _ADDRESSES
        try:
            src_a = addresses[src]
        except KeyError:
            src_a = _address(src)
        try:
            dst_a = addresses[dst]
        except KeyError:
            dst_a = _address(dst)
        return _packet(cls, src_a, dst_a, proto, bytes(data[hl:total]), ttl, tos, ident, frag >> 13, frag & 0x1FFF,
                       options, ck, bytes(data[:total]) if verify and total <= n else None)


_new_object = object.__new__
_set_attribute = object.__setattr__


def _packet(cls: type[_P], src: IPv4Address, dst: IPv4Address, protocol: int, payload: bytes, ttl: int, tos: int,
            identification: int, flags: int, fragment_offset: int, options: bytes, checksum: int | None,
            wire: bytes | None) -> _P:
    """A packet with all its fields, ``_wire`` included, set in one assignment of its ``__dict__`` (what
    the dataclass ``__init__`` does field by field)."""
    packet = _new_object(cls)
    _set_attribute(packet, "__dict__", {
        "src": src, "dst": dst, "protocol": protocol, "payload": payload, "ttl": ttl, "tos": tos,
        "identification": identification, "flags": flags, "fragment_offset": fragment_offset, "options": options,
        "checksum": checksum, "_wire": wire})
    return packet


# Addresses seen on the wire as ``IPv4Address`` objects, made once each: a lab sees few addresses
# and a packet crosses several decodes. Bounded; emptied when full.
_ADDRESSES: dict[bytes, IPv4Address] = {}
_ADDRESSES_MAX = 1 << 16


def address_of(packed: bytes) -> IPv4Address:
    """The ``IPv4Address`` of 4 packed bytes, made once per address (the cache ``decode`` uses)."""
    try:
        return _ADDRESSES[packed]
    except KeyError:
        return _address(bytes(packed))


def _address(packed: bytes) -> IPv4Address:
    if len(_ADDRESSES) >= _ADDRESSES_MAX:
        _ADDRESSES.clear()
    address = _ADDRESSES[packed] = IPv4Address(packed)
    return address


def decrement_ttl(packet: bytes) -> bytes:
    """Return an encoded datagram with TTL lowered by one and the checksum patched.

    Incremental update per RFC 1624 section 3 (eqn. 3): HC' = ~(~HC + ~m + m'),
    where m is the 16-bit word holding TTL and Protocol.  The result is
    identical to a full recomputation.  The caller checks TTL first (a router
    drops TTL <= 1 and sends Time Exceeded, RFC 1812 section 5.3.1); a TTL of 0
    raises ``ValueError``.
    """
    ttl = packet[8]
    if ttl == 0:
        raise ValueError("ipv4: TTL is already 0")
    # m' = m - 0x100, so ~m + m' is 0xFFFF - 0x100 = 0xFEFF whatever the word was.
    s = (~((packet[10] << 8) | packet[11]) & 0xFFFF) + 0xFEFF
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    s = ~s & 0xFFFF
    return packet[:8] + bytes((ttl - 1, packet[9], s >> 8, s & 0xFF)) + packet[12:]
