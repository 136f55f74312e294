"""ICMP for IPv4 (RFC 792).

Every message is type (1), code (1), checksum (2), a 4-byte "rest of header"
whose meaning depends on the type, and a payload.  The checksum covers the
whole ICMP message (RFC 792, "Checksum").
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Self

from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.reader import Reader

__all__ = [
    "ICMPType", "UnreachCode", "ExceededCode", "ERROR_TYPES", "QUERY_TYPES",
    "ECHO_REPLY", "DEST_UNREACHABLE", "SOURCE_QUENCH", "REDIRECT", "ECHO_REQUEST",
    "TIME_EXCEEDED", "PARAMETER_PROBLEM", "TIMESTAMP_REQUEST", "TIMESTAMP_REPLY",
    "UNREACH_PROTOCOL", "UNREACH_PORT", "UNREACH_FRAG_NEEDED", "EXCEEDED_TTL",
    "HEADER_LEN", "ICMPMessage", "quote_datagram", "encode_echo", "encode_echo_request",
]


class ICMPType(enum.IntEnum):
    """Types (RFC 792; IANA "ICMP Type Numbers")."""

    ECHO_REPLY = 0
    DEST_UNREACHABLE = 3
    SOURCE_QUENCH = 4
    REDIRECT = 5
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12
    TIMESTAMP_REQUEST = 13
    TIMESTAMP_REPLY = 14
    INFO_REQUEST = 15            # RFC 792 "Information Request"
    INFO_REPLY = 16
    ADDRESS_MASK_REQUEST = 17    # RFC 950 appendix I
    ADDRESS_MASK_REPLY = 18


class UnreachCode(enum.IntEnum):
    """Destination Unreachable codes: 0-5 RFC 792, 6-12 RFC 1122 section 3.2.2.1,
    13 RFC 1812 section 5.2.7.1."""

    NET = 0
    HOST = 1
    PROTOCOL = 2
    PORT = 3
    FRAG_NEEDED = 4          # "fragmentation needed and DF set"; MTU per RFC 1191 section 4
    SOURCE_ROUTE_FAILED = 5
    NET_UNKNOWN = 6
    HOST_UNKNOWN = 7
    NET_PROHIBITED = 9
    HOST_PROHIBITED = 10
    ADMIN_PROHIBITED = 13


class ExceededCode(enum.IntEnum):
    """Time Exceeded codes (RFC 792)."""

    TTL = 0
    REASSEMBLY = 1


# Error messages, which quote an offending datagram (RFC 1122 section 3.2.2).
ERROR_TYPES = frozenset((ICMPType.DEST_UNREACHABLE, ICMPType.SOURCE_QUENCH, ICMPType.REDIRECT,
                         ICMPType.TIME_EXCEEDED, ICMPType.PARAMETER_PROBLEM))
# Queries carrying an identifier (RFC 792: echo, timestamp, information; RFC 950: mask).
QUERY_TYPES = frozenset((ICMPType.ECHO_REPLY, ICMPType.ECHO_REQUEST, ICMPType.TIMESTAMP_REQUEST,
                         ICMPType.TIMESTAMP_REPLY, ICMPType.INFO_REQUEST, ICMPType.INFO_REPLY,
                         ICMPType.ADDRESS_MASK_REQUEST, ICMPType.ADDRESS_MASK_REPLY))

# Short names the rest of the emulator imports.
ECHO_REPLY = ICMPType.ECHO_REPLY
DEST_UNREACHABLE = ICMPType.DEST_UNREACHABLE
SOURCE_QUENCH = ICMPType.SOURCE_QUENCH
REDIRECT = ICMPType.REDIRECT
ECHO_REQUEST = ICMPType.ECHO_REQUEST
TIME_EXCEEDED = ICMPType.TIME_EXCEEDED
PARAMETER_PROBLEM = ICMPType.PARAMETER_PROBLEM
TIMESTAMP_REQUEST = ICMPType.TIMESTAMP_REQUEST
TIMESTAMP_REPLY = ICMPType.TIMESTAMP_REPLY
UNREACH_PROTOCOL = UnreachCode.PROTOCOL
UNREACH_PORT = UnreachCode.PORT
UNREACH_FRAG_NEEDED = UnreachCode.FRAG_NEEDED
EXCEEDED_TTL = ExceededCode.TTL

HEADER_LEN = 8
_ZERO4 = bytes(4)
_HDR = struct.Struct("!BBH4s")
_ID_SEQ = struct.Struct("!HH")


def quote_datagram(packet: bytes, data_bytes: int = 8) -> bytes:
    """The part of an offending datagram an ICMP error carries.

    RFC 792: "Internet Header + 64 bits of Original Data Datagram".  ``packet``
    is the encoded IPv4 datagram; its IHL decides where the header ends.
    Never raises: a short or odd ``packet`` is quoted as far as it goes.
    """
    if not packet:
        return b""
    hl = (packet[0] & 0x0F) * 4
    return bytes(packet[:hl + data_bytes])


def encode_echo(type_: int, rest: bytes, data: bytes) -> bytes:
    """An echo request or reply (``type_``, code 0) with ``rest`` (identifier and sequence, 4 bytes)
    and ``data``, encoded: the bytes ``ICMPMessage(type_, 0, rest, data).encode()`` gives, without
    the message object (one is sent for every echo)."""
    body = rest + data
    ck = internet_checksum(bytes((type_, 0, 0, 0)) + body)
    return bytes((type_, 0, ck >> 8, ck & 0xFF)) + body


def encode_echo_request(identifier: int, sequence: int, data: bytes = b"") -> bytes:
    """``ICMPMessage.echo_request(identifier, sequence, data).encode()``, without the message object."""
    return encode_echo(ECHO_REQUEST, _ID_SEQ.pack(identifier, sequence), data)


@dataclass(frozen=True)
class ICMPMessage:
    """A generic ICMP message; helpers build and read the common types.

    ``rest`` is the 4 bytes after the checksum: identifier + sequence for echo
    (RFC 792 "Echo or Echo Reply Message"), unused (zero) for Time Exceeded,
    unused + next-hop MTU for Destination Unreachable (RFC 1191 section 4).
    ``checksum`` reports what ``decode`` read; ``encode`` always computes it.

    Not slotted: ``decode`` (once per message received) sets the fields in one
    assignment of ``__dict__``, not one ``object.__setattr__`` each.
    """

    type: int
    code: int = 0
    rest: bytes = _ZERO4
    payload: bytes = b""
    checksum: int | None = field(default=None, compare=False)

    # --- builders -------------------------------------------------------
    @classmethod
    def echo_request(cls, identifier: int, sequence: int, data: bytes = b"") -> Self:
        return cls(ECHO_REQUEST, 0, _ID_SEQ.pack(identifier, sequence), data)

    @classmethod
    def echo_reply(cls, identifier: int, sequence: int, data: bytes = b"") -> Self:
        return cls(ECHO_REPLY, 0, _ID_SEQ.pack(identifier, sequence), data)

    @classmethod
    def dest_unreachable(cls, code: int, original: bytes, next_hop_mtu: int = 0) -> Self:
        """``original`` is the whole offending datagram; header + 8 bytes are quoted."""
        return cls(DEST_UNREACHABLE, code, _ID_SEQ.pack(0, next_hop_mtu), quote_datagram(original))

    @classmethod
    def time_exceeded(cls, code: int, original: bytes) -> Self:
        """``original`` is the whole offending datagram; header + 8 bytes are quoted."""
        return cls(TIME_EXCEEDED, code, _ZERO4, quote_datagram(original))

    def make_echo_reply(self) -> Self:
        """The reply to this echo request: same identifier, sequence and data (RFC 792)."""
        return type(self)(ECHO_REPLY, 0, self.rest, self.payload)

    # --- readers --------------------------------------------------------
    @property
    def identifier(self) -> int:
        """Echo identifier (first 16 bits of ``rest``)."""
        return (self.rest[0] << 8) | self.rest[1]

    @property
    def sequence(self) -> int:
        """Echo sequence number (last 16 bits of ``rest``)."""
        return (self.rest[2] << 8) | self.rest[3]

    @property
    def next_hop_mtu(self) -> int:
        """Next-hop MTU of a "fragmentation needed" unreachable (RFC 1191 section 4)."""
        return (self.rest[2] << 8) | self.rest[3]

    @property
    def is_error(self) -> bool:
        """True for error messages, which quote an offending datagram (RFC 1122 section 3.2.2)."""
        return self.type in ERROR_TYPES

    # --- codec ----------------------------------------------------------
    def encode(self) -> bytes:
        if len(self.rest) != 4:
            raise ValueError("icmp: rest of header must be 4 bytes")
        try:
            header = _HDR.pack(self.type, self.code, 0, self.rest)
        except struct.error as exc:
            raise ValueError(f"icmp: cannot encode: {exc}") from None
        ck = internet_checksum(header + self.payload)
        return header[:2] + ck.to_bytes(2, "big") + header[4:] + self.payload

    @classmethod
    def decode(cls, data: bytes, *, verify: bool = True) -> Self:
        """Parse a message (the IPv4 payload, already trimmed to total length)."""
        if len(data) < _HDR.size:
            Reader(data, "message", "icmp").unpack(_HDR)      # raises the truncation error
        t, c, ck, rest = _HDR.unpack_from(data)
        if verify and internet_checksum(data) != 0:
            raise DecodeError("icmp", "bad checksum")
        message = _new_object(cls)
        _set_attribute(message, "__dict__", {"type": t, "code": c, "rest": rest, "payload": bytes(data[_HDR.size:]),
                                             "checksum": ck})
        return message


_new_object = object.__new__
_set_attribute = object.__setattr__
