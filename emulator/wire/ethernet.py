"""Ethernet II framing (DIX Ethernet v2; IEEE 802.3 section 3.2 frame layout).

Frames are handled without preamble and FCS, as they appear in a
LINKTYPE_ETHERNET capture: destination MAC, source MAC, EtherType, payload.
"""

from __future__ import annotations

import enum
import re
import struct
from dataclasses import dataclass
from typing import Self

from emulator.wire.reader import Reader

__all__ = [
    "EtherType", "ETHERTYPE_IPV4", "ETHERTYPE_ARP", "BROADCAST", "HEADER_LEN", "MIN_FRAME_LEN",
    "EthernetFrame", "mac_to_str", "mac_from_str",
]


class EtherType(enum.IntEnum):
    """EtherType values: IEEE Registration Authority EtherType registry
    (also listed in RFC 7042 appendix B).  Cisco HDLC carries them in its
    protocol field too, with two values of its own."""

    CDP = 0x2000    # Cisco HDLC: Cisco Discovery Protocol (tcpdump CHDLC_TYPE_CDP)
    IPV4 = 0x0800
    ARP = 0x0806    # RFC 826
    SLARP = 0x8035  # Cisco HDLC: SLARP (tcpdump CHDLC_TYPE_SLARP); RARP's number on Ethernet
    VLAN = 0x8100   # IEEE 802.1Q
    IPV6 = 0x86DD   # RFC 8200 / RFC 2464


ETHERTYPE_IPV4 = EtherType.IPV4
ETHERTYPE_ARP = EtherType.ARP

BROADCAST = b"\xff" * 6
HEADER_LEN = 14
# Minimum frame is 64 bytes including the 4-byte FCS (IEEE 802.3 section
# 4.4.2, minFrameSize 512 bits); without FCS that leaves 60 bytes.
MIN_FRAME_LEN = 60

_HDR = struct.Struct("!6s6sH")
_PAD = bytes(MIN_FRAME_LEN)


@dataclass(frozen=True, slots=True)
class EthernetFrame:
    """An Ethernet II frame without FCS.

    ``decode`` keeps the payload as received, including any minimum-size
    padding; the network layer trims it (IPv4 by its total length).
    """

    dst: bytes
    src: bytes
    ethertype: int
    payload: bytes = b""

    def encode(self) -> bytes:
        """Serialise, zero-padding the frame to 60 bytes (64 with FCS)."""
        if len(self.dst) != 6 or len(self.src) != 6:
            raise ValueError("ethernet: MAC addresses must be 6 bytes")
        if not 0 <= self.ethertype <= 0xFFFF:
            raise ValueError(f"ethernet: ethertype {self.ethertype!r} out of range")
        frame = _HDR.pack(self.dst, self.src, self.ethertype) + self.payload
        if len(frame) < MIN_FRAME_LEN:
            frame += _PAD[len(frame):]
        return frame

    @classmethod
    def decode(cls, data: bytes) -> Self:
        """Parse a frame; only a frame shorter than the 14-byte header is rejected."""
        r = Reader(data, "header", "ethernet")
        dst, src, ethertype = r.unpack(_HDR)
        return cls(dst, src, ethertype, r.rest())

    @property
    def is_broadcast(self) -> bool:
        return self.dst == BROADCAST

    @property
    def is_multicast(self) -> bool:
        """True for group addresses (I/G bit, IEEE 802 section 8.2), broadcast included."""
        return bool(self.dst[0] & 0x01)


def mac_to_str(mac: bytes) -> str:
    """Format a MAC the way IOS shows it: ``0000.0c12.3456``."""
    if len(mac) != 6:
        raise ValueError(f"MAC address must be 6 bytes, got {len(mac)}")
    h = mac.hex()
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


_DOTTED = re.compile(r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}")
_SEPARATED = re.compile(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(?:\1[0-9A-Fa-f]{2}){4}")


def mac_from_str(text: str) -> bytes:
    """Parse ``0000.0c12.3456`` (IOS), ``00:00:0c:12:34:56`` or ``00-00-0C-12-34-56``."""
    s = text.strip()
    if _DOTTED.fullmatch(s):
        return bytes.fromhex(s.replace(".", ""))
    if _SEPARATED.fullmatch(s):
        return bytes.fromhex(s.replace(":", "").replace("-", ""))
    raise ValueError(f"invalid MAC address {text!r}")
